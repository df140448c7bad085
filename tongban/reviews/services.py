"""Writes of 好差评: rate, invite, the 差评 work order's steps, appeals, the overdue sweep.

Rules stated once here (the API and pages call these):
- Who rates: the applicant of the case, only. Online (一事一评): a concluded case filed
  online, one rating per case. In person (一次一评): each counter service of the case — the
  counter filing (帮办, channel counter) and the hand-out at the window (出件) — one rating
  each. A double submit is REVIEW_ALREADY_RATED (409) and the first rating stands; the
  database constraints settle a race the same way.
- When: within TONGBAN_REVIEW_WINDOW_DAYS (30) calendar days of the conclusion or the
  counter service; later is REVIEW_WINDOW_CLOSED (422).
- Levels 1-2 (差评) open a work order for the responsible department with a deadline of
  TONGBAN_RECTIFICATION_DAYS (15) working days on the working-day calendar.
- Work order flow: open → verify (classification, finding) → verified → rectify (measures)
  → rectified → reply (published with the rating) → replied → the rater's verdict: 满意
  closes it; 不满意 the first time sends it back to verified for a second rectification; a
  second 不满意 closes it (the verdict is kept and published). If the rater says nothing
  for TONGBAN_REVIEW_VERDICT_DAYS after the reply, the department may close it.
  `closed_on_time`: closed on or before the deadline (local date).
- Who acts on an order: the department's 部门负责人 and 受理 posts. City operators read every
  order and decide appeals; they do not act on orders.
- Appeal (申诉复核): filed by the same people on a rating of their department; decided by a
  city operator. Approved → the rating is excluded from every figure (never deleted) and its
  open order is withdrawn; rejected → nothing changes. Both are audited.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tongban.accounts.models import StaffAssignment, StaffRole, User
from tongban.cases.models import Application, Channel, TaskStatus
from tongban.cases.receipt import receipt_normalise
from tongban.common.calendar import add_working_days
from tongban.common.errors import DomainError, InvalidInput
from tongban.common.services import audit_record
from tongban.notifications.models import Notice
from tongban.notifications.services import notice_send
from tongban.reviews.errors import (
    AlreadyRated,
    AppealDecided,
    AppealExists,
    AppealNotFound,
    CallbackNotApplicable,
    ComplaintAlreadyRouted,
    ComplaintExternalRefExists,
    ComplaintNotFound,
    NotCityOperator,
    NothingToRate,
    NotOrderHandler,
    NotYetRateable,
    OrderNotFound,
    OrderWrongState,
    RatingNotFound,
    WindowClosed,
)
from tongban.reviews.models import (
    EXTERNAL_REF_LABELS,
    FORWARDED_SOURCES,
    INDICATORS,
    Adoption,
    Appeal,
    AppealReason,
    AppealStatus,
    Classification,
    Complaint,
    ComplaintAbout,
    ComplaintKind,
    ComplaintSource,
    ComplaintStatus,
    EncounterKind,
    OrderEvent,
    OrderStatus,
    Rating,
    RatingChannel,
    RatingSubject,
    ServiceEncounter,
    Verdict,
    WorkOrder,
)

COMMENT_MAX = 500
TEXT_MAX = 1000
HANDLER_ROLES = (StaffRole.DEPARTMENT_LEAD, StaffRole.ACCEPTOR)
RATER_LABEL = "评价人"  # what staff see instead of the rater's account
SUBJECTS = ("online", EncounterKind.FILING, EncounterKind.HANDOUT)
INVITE_TITLE = "请您对本次办事服务进行评价"


def _now() -> dt.datetime:
    return timezone.now()


def _authed(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def safe_pk(value) -> int:
    """An id from a URL or a body as a key the database can hold; anything else matches no
    row (0), so a hostile number is "not found", never a database error."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**62:
        return 0
    return value


def rate_link(receipt_no: str, subject: str = "") -> str:
    return f"/reviews/rate/{receipt_no}/" + (f"?subject={subject}" if subject else "")


# ---------------------------------------------------------------- anonymising

# 11-digit mobiles, 15/18-character ID numbers, landlines: any run of 6+ digits (spaces and
# hyphens inside allowed) is masked; a short number ("3 次", "2 号窗口") is kept.
_LONG_NUMBER = re.compile(r"\d[\d\s-]{4,}[\dXx]")


def comment_anonymise(text: str, *, names: tuple[str, ...] = ()) -> str:
    masked = _LONG_NUMBER.sub(
        lambda m: "*" * 4 if sum(c.isdigit() for c in m.group()) >= 6 else m.group(), text
    )
    for name in names:
        if name and len(name) >= 2:
            masked = masked.replace(name, "**")
    return masked


def _rater_names(user: User) -> tuple[str, ...]:
    from tongban.accounts.models import ResidentProfile

    names = [user.username, user.display_name, user.get_full_name()]
    profile = ResidentProfile.objects.filter(user=user).only("name").first()
    if profile is not None:
        names.append(profile.name)
    return tuple(n for n in names if n)


# ---------------------------------------------------------------- what can be rated


def _window_days() -> int:
    return settings.TONGBAN_REVIEW_WINDOW_DAYS


def _staff_department(staff: User | None, hall_id: int | None, fallback_id: int) -> int:
    """The responsible department for a counter service: the post the clerk holds at that
    hall (or any post of theirs), else the case's lead department."""
    if staff is None:
        return fallback_id
    posts = StaffAssignment.objects.filter(user=staff)
    post = posts.filter(hall_id=hall_id).first() if hall_id else None
    post = post or posts.first()
    return post.department_id if post else fallback_id


def _staff_hall(staff: User | None) -> int | None:
    if staff is None:
        return None
    return (
        StaffAssignment.objects.filter(user=staff, hall__isnull=False)
        .values_list("hall_id", flat=True)
        .first()
    )


def subject_moment(case: Application, subject: str) -> dt.datetime | None:
    """When SUBJECT of CASE happened (the start of its rating window), or None if it did not."""
    if subject == "online":
        if case.channel != Channel.ONLINE:
            return None
        return case.concluded_at
    if subject == EncounterKind.FILING:
        return case.submitted_at if case.channel == Channel.COUNTER else None
    if subject == EncounterKind.HANDOUT:
        return case.handed_out_at if case.handed_out_by_id else None
    return None


def _encounter_for(case: Application, kind: str) -> ServiceEncounter:
    """The encounter row of a counter service, made from the case the first time."""
    if kind == EncounterKind.FILING:
        staff, hall_id, at = case.filed_by, case.hall_id, case.submitted_at
    else:
        staff, at = case.handed_out_by, case.handed_out_at
        hall_id = case.hall_id or _staff_hall(staff)
    encounter, _ = ServiceEncounter.objects.get_or_create(
        case=case,
        kind=kind,
        defaults={
            "hall_id": hall_id,
            # The window that served the filing (三对应); a hand-out names none yet.
            "window_id": case.window_id if kind == EncounterKind.FILING else None,
            "staff": staff,
            "department_id": _staff_department(staff, hall_id, case.lead_department_id),
            "at": at,
        },
    )
    return encounter


def _clean_indicators(channel: str, raw: Any) -> dict[str, int]:
    if raw in (None, ""):
        return {}
    allowed = INDICATORS[channel]
    if not isinstance(raw, dict):
        raise InvalidInput("分项评价格式不正确", code="REVIEW_INDICATORS_INVALID")
    out: dict[str, int] = {}
    for key, value in raw.items():
        if key not in allowed:
            raise InvalidInput(
                f"不支持的分项：{str(key)[:40]}",
                code="REVIEW_INDICATORS_INVALID",
                details=[{"field": "indicators", "message": str(key)[:40]}],
            )
        if value in (None, ""):
            continue
        out[key] = _clean_level(value, field=f"indicators.{key}")
    return out


def _clean_level(value: Any, *, field: str = "level") -> int:
    if isinstance(value, bool):
        value = None
    try:
        level = int(value)
    except (TypeError, ValueError, OverflowError):
        level = 0
    if level < 1 or level > 5 or str(value).strip() not in {str(level), f"{level}.0"}:
        raise InvalidInput(
            "请选择 1 到 5 之间的满意程度",
            code="REVIEW_LEVEL_INVALID",
            details=[{"field": field, "message": "1-5"}],
        )
    return level


def _clean_text(
    text: Any, *, field: str, limit: int, required: bool, missing: str = "请填写内容"
) -> str:
    value = (text or "").strip() if isinstance(text, str) or text is None else None
    if value is None:
        raise InvalidInput("文字格式不正确", details=[{"field": field, "message": "文本"}])
    if required and not value:
        raise InvalidInput(
            missing, code="REVIEW_TEXT_REQUIRED", details=[{"field": field, "message": "必填"}]
        )
    if len(value) > limit:
        raise InvalidInput(
            f"不得超过{limit}字",
            code="REVIEW_TEXT_TOO_LONG",
            details=[{"field": field, "message": str(limit)}],
        )
    return value


def rating_create(
    *,
    rater: User,
    receipt_no: str,
    subject: str = "online",
    level: Any,
    indicators: Any = None,
    comment: Any = "",
    now: dt.datetime | None = None,
) -> Rating:
    """Rate one concluded online case (subject "online") or one counter service of it
    ("filing", "handout"). See the module docstring for who, when and uniqueness."""
    if subject not in SUBJECTS:
        raise InvalidInput(
            "评价对象不正确",
            code="REVIEW_SUBJECT_INVALID",
            details=[{"field": "subject", "message": str(subject)[:20]}],
        )
    channel = RatingChannel.ONLINE if subject == "online" else RatingChannel.IN_PERSON
    level = _clean_level(level)
    clean_indicators = _clean_indicators(channel, indicators)
    text = _clean_text(comment, field="comment", limit=COMMENT_MAX, required=False)
    now = now or _now()
    if not _authed(rater):
        raise NothingToRate()
    normalised = receipt_normalise(str(receipt_no))
    if normalised is None:
        raise NothingToRate()
    with transaction.atomic():
        case = (
            Application.objects.select_for_update()
            .filter(receipt_no=normalised, applicant=rater)
            .first()
        )
        if case is None:
            raise NothingToRate()
        at = subject_moment(case, subject)
        if subject == "online" and case.channel == Channel.ONLINE and at is None:
            raise NotYetRateable()
        if at is None:
            raise NothingToRate()
        if now > at + dt.timedelta(days=_window_days()):
            raise WindowClosed(f"已超过评价期限（服务后{_window_days()}日内可评价）")
        encounter = None
        if channel == RatingChannel.ONLINE:
            if Rating.objects.filter(case=case, channel=channel).exists():
                raise AlreadyRated()
            department_id, hall_id, staff_id = case.lead_department_id, None, None
        else:
            encounter = _encounter_for(case, subject)
            if Rating.objects.filter(encounter=encounter).exists():
                raise AlreadyRated()
            department_id, hall_id = encounter.department_id, encounter.hall_id
            staff_id = encounter.staff_id
        try:
            with transaction.atomic():
                rating = Rating.objects.create(
                    channel=channel,
                    case=case,
                    encounter=encounter,
                    rater=rater,
                    level=level,
                    indicators=clean_indicators,
                    comment=text,
                    comment_public=comment_anonymise(text, names=_rater_names(rater)),
                    department_id=department_id,
                    hall_id=hall_id,
                    window_id=encounter.window_id if encounter else None,
                    staff_id=staff_id,
                    created_at=now,
                )
        except IntegrityError:
            raise AlreadyRated() from None
        _subjects_create(rating, case)
        audit_record(
            actor=rater,
            action="review.rated",
            object_type="reviews.rating",
            object_id=rating.pk,
            data={"level": level, "channel": channel},
        )
        if level <= 2:
            _order_open(rating, now=now)
    return rating


REFERENCE_MAX = 64
CONSULTATION_ITEM = ("consultation", "在线咨询服务")  # the per-item figures' row for it


def consultation_rating_record(
    *,
    rater: User,
    conversation_ref: str,
    department,
    staff: User | None,
    level: Any,
    comment: Any = "",
    indicators: Any = None,
    now: dt.datetime | None = None,
) -> Rating:
    """咨询服务: rate one 在线客服 conversation (channel consultation, no case). The caller
    (tongban/helpdesk) has checked that RATER is the person served and names the conversation
    as CONVERSATION_REF ("helpdesk:12"), the answering DEPARTMENT (a Department or its id) and
    STAFF. One rating per rater and reference (REVIEW_ALREADY_RATED, 409, the first stands);
    levels 1-2 open a work order for DEPARTMENT like any 差评."""
    level = _clean_level(level)
    clean_indicators = _clean_indicators(RatingChannel.CONSULTATION, indicators)
    text = _clean_text(comment, field="comment", limit=COMMENT_MAX, required=False)
    reference = conversation_ref.strip() if isinstance(conversation_ref, str) else ""
    if not reference or len(reference) > REFERENCE_MAX:
        raise InvalidInput(
            "咨询记录编号不正确",
            code="REVIEW_REFERENCE_INVALID",
            details=[{"field": "conversation_ref", "message": str(conversation_ref)[:40]}],
        )
    from tongban.catalog.models import Department

    department_id = getattr(department, "pk", department)
    if (
        isinstance(department_id, bool)
        or not isinstance(department_id, int)
        or not Department.objects.filter(pk=safe_pk(department_id)).exists()
    ):
        raise InvalidInput(
            "未指明答复部门",
            code="REVIEW_DEPARTMENT_INVALID",
            details=[{"field": "department", "message": "必填"}],
        )
    if not _authed(rater):
        raise NothingToRate()
    now = now or _now()
    with transaction.atomic():
        if Rating.objects.filter(
            channel=RatingChannel.CONSULTATION, rater=rater, reference=reference
        ).exists():
            raise AlreadyRated()
        try:
            with transaction.atomic():
                rating = Rating.objects.create(
                    channel=RatingChannel.CONSULTATION,
                    case=None,
                    reference=reference,
                    rater=rater,
                    level=level,
                    indicators=clean_indicators,
                    comment=text,
                    comment_public=comment_anonymise(text, names=_rater_names(rater)),
                    department_id=department_id,
                    staff=staff if _authed(staff) else None,
                    created_at=now,
                )
        except IntegrityError:
            raise AlreadyRated() from None
        RatingSubject.objects.create(
            rating=rating,
            item_code=CONSULTATION_ITEM[0],
            item_name=CONSULTATION_ITEM[1],
            department_id=department_id,
        )
        audit_record(
            actor=rater,
            action="review.rated",
            object_type="reviews.rating",
            object_id=rating.pk,
            data={"level": level, "channel": RatingChannel.CONSULTATION, "reference": reference},
        )
        if level <= 2:
            _order_open(rating, now=now)
    return rating


def _subjects_create(rating: Rating, case: Application) -> None:
    tasks = list(case.tasks.values("item_code", "item_name", "department_id", "status"))
    rows = set()
    for task in tasks:
        if rating.channel == RatingChannel.ONLINE:
            if task["status"] not in (TaskStatus.APPROVED, TaskStatus.DENIED):
                continue
            department_id = task["department_id"]
        else:
            department_id = rating.department_id
        rows.add((task["item_code"], task["item_name"], department_id))
    if not rows:  # a case without tasks still counts for its lead department
        rows.add((case.code, case.name, rating.department_id))
    RatingSubject.objects.bulk_create(
        RatingSubject(rating=rating, item_code=c, item_name=n, department_id=d)
        for c, n, d in sorted(rows)
    )


# ---------------------------------------------------------------- invitations


def invite_after_conclusion(case: Application) -> None:
    """Issuance-hook: a concluded case invites its rating — online cases rate the case, cases
    filed at a counter rate the filing. Runs after commit, in its own transaction."""
    subject = "online" if case.channel == Channel.ONLINE else EncounterKind.FILING
    _invite(case, subject)


def invite_after_handout(case: Application) -> None:
    """Hand-out hook: results collected at the window invite a rating of that service."""
    _invite(case, EncounterKind.HANDOUT)


def _invite(case: Application, subject: str) -> None:
    link = rate_link(case.receipt_no, subject)
    with transaction.atomic():
        # Hooks run at least once (a dying process leaves them to the worker): invite once.
        if Notice.objects.filter(
            recipient=case.applicant, category="review_invite", link=link
        ).exists():
            return
        notice_send(
            recipient=case.applicant,
            title=INVITE_TITLE,
            body=f"您的办件“{case.name}”已办理。欢迎对本次服务作出评价（自愿）。",
            link=link,
            category="review_invite",
        )


# ---------------------------------------------------------------- work orders


def _order_event(order, *, actor, action, from_status="", note="", label=None) -> None:
    OrderEvent.objects.create(
        order=order,
        at=_now(),
        actor=actor if _authed(actor) and label is None else None,
        actor_label=label or (actor.get_username() if _authed(actor) else "system"),
        action=action,
        from_status=from_status,
        to_status=order.status if order.status != from_status else "",
        note=note,
    )
    audit_record(
        actor=actor if _authed(actor) else None,
        actor_label=None if _authed(actor) else "system",
        action=f"review.order.{action}",
        object_type="reviews.workorder",
        object_id=order.pk,
        data={"from": from_status, "to": order.status},
    )


def _order_open(
    rating: Rating | None = None,
    *,
    now: dt.datetime,
    complaint: Complaint | None = None,
    actor: User | None = None,
    action: str = "opened",
    note: str = "",
) -> WorkOrder:
    """Open the work order of a 差评 (deadline: TONGBAN_RECTIFICATION_DAYS working days) or of
    a routed complaint (its own deadline), and tell the department's handlers."""
    if complaint is not None:
        deadline, department_id = complaint.deadline, complaint.department_id
        title = f"收到{complaint.get_kind_display()}，请在期限内办理"
    else:
        deadline = add_working_days(now, settings.TONGBAN_RECTIFICATION_DAYS)
        department_id = rating.department_id
        title = "收到差评，请在期限内核实整改"
    order = WorkOrder.objects.create(
        rating=rating,
        complaint=complaint,
        department_id=department_id,
        deadline=deadline,
        created_at=now,
    )
    _order_event(order, actor=actor, action=action, note=note)
    for person in _department_handlers(department_id):
        notice_send(
            recipient=person,
            title=title,
            body=f"办理期限：{deadline:%Y年%m月%d日}。",
            link=f"/staff/reviews/orders/{order.pk}/",
            category="complaint_order" if complaint is not None else "review_order",
        )
    return order


def _department_handlers(department_id: int) -> list[User]:
    from tongban.cases.services import department_leads

    return department_leads(department_id)


def may_handle_order(user, department_id: int) -> bool:
    if not _authed(user):
        return False
    return StaffAssignment.objects.filter(
        user=user, department_id=department_id, role__in=HANDLER_ROLES
    ).exists()


def is_city_operator(user) -> bool:
    return (
        _authed(user)
        and StaffAssignment.objects.filter(user=user, role=StaffRole.CITY_OPERATOR).exists()
    )


def _lock_order(actor, order_id: int) -> WorkOrder:
    order = WorkOrder.objects.select_for_update().filter(pk=safe_pk(order_id)).first()
    if order is None:
        raise OrderNotFound()
    if not may_handle_order(actor, order.department_id):
        if is_city_operator(actor) or (
            _authed(actor)
            and StaffAssignment.objects.filter(
                user=actor, department_id=order.department_id
            ).exists()
        ):
            raise NotOrderHandler()
        raise OrderNotFound()  # another department's order does not exist for them
    return order


def _step(order: WorkOrder, *, expect: tuple[str, ...], to: str) -> str:
    if order.status not in expect:
        raise OrderWrongState()
    before = order.status
    order.status = to
    return before


def order_verify(*, actor: User, order_id: int, classification: str, finding: Any) -> WorkOrder:
    """核实: classify the 差评 and state what was found."""
    if classification not in Classification.values:
        raise InvalidInput(
            "请选择差评分类",
            code="REVIEW_CLASSIFICATION_INVALID",
            details=[{"field": "classification", "message": "必选"}],
        )
    text = _clean_text(finding, field="finding", limit=TEXT_MAX, required=True)
    with transaction.atomic():
        order = _lock_order(actor, order_id)
        before = _step(order, expect=(OrderStatus.OPEN,), to=OrderStatus.VERIFIED)
        order.classification, order.finding = classification, text
        order.save(update_fields=["status", "classification", "finding"])
        _order_event(order, actor=actor, action="verified", from_status=before, note=text)
    return order


def order_rectify(*, actor: User, order_id: int, measures: Any) -> WorkOrder:
    """整改: record the measures taken."""
    text = _clean_text(measures, field="measures", limit=TEXT_MAX, required=True)
    with transaction.atomic():
        order = _lock_order(actor, order_id)
        if _is_suggestion(order):
            raise OrderWrongState("建议不需整改，请直接答复是否采纳")
        before = _step(order, expect=(OrderStatus.VERIFIED,), to=OrderStatus.RECTIFIED)
        order.measures = text
        order.save(update_fields=["status", "measures"])
        _order_event(order, actor=actor, action="rectified", from_status=before, note=text)
    return order


def _is_suggestion(order: WorkOrder) -> bool:
    return order.complaint_id is not None and order.complaint.kind == ComplaintKind.SUGGESTION


def order_reply(*, actor: User, order_id: int, reply: Any, adoption: Any = "") -> WorkOrder:
    """回复: the reply to the rater, published with the rating (评价、回复双公开); or the reply
    to a complaint's filer (not published: a complaint is private). A suggestion is answered
    straight after 核实 with 采纳/暂不采纳 (ADOPTION) and the reasons in REPLY."""
    text = _clean_text(reply, field="reply", limit=TEXT_MAX, required=True)
    with transaction.atomic():
        order = _lock_order(actor, order_id)
        suggestion = _is_suggestion(order)
        if suggestion:
            if adoption not in Adoption.values:
                raise InvalidInput(
                    "请选择是否采纳该建议",
                    code="COMPLAINT_ADOPTION_INVALID",
                    details=[{"field": "adoption", "message": "adopted|not_adopted"}],
                )
            before = _step(order, expect=(OrderStatus.VERIFIED,), to=OrderStatus.REPLIED)
            order.adoption = adoption
        else:
            before = _step(order, expect=(OrderStatus.RECTIFIED,), to=OrderStatus.REPLIED)
        order.reply, order.replied_at = text, _now()
        order.save(update_fields=["status", "reply", "adoption", "replied_at"])
        note = f"{order.get_adoption_display()}：{text}" if suggestion else text
        _order_event(order, actor=actor, action="replied", from_status=before, note=note)
        if order.complaint_id is None:
            notice_send(
                recipient=order.rating.rater,
                title="您的评价已收到整改回复",
                body="请查看回复，并告诉我们您是否满意。",
                link="/me/reviews/",
                category="review_reply",
            )
        elif order.complaint.filer_id:
            complaint = order.complaint
            notice_send(
                recipient=complaint.filer,
                template="complaint_reply",
                context={
                    "kind": complaint.get_kind_display(),
                    "department": order.department.name,
                },
                link=f"/me/complaints/{complaint.pk}/",
            )
    return order


def _close(order: WorkOrder, now: dt.datetime) -> None:
    order.status = OrderStatus.CLOSED
    order.closed_at = now
    order.closed_on_time = timezone.localdate(now) <= order.deadline


def order_close(*, actor: User, order_id: int, now: dt.datetime | None = None) -> WorkOrder:
    """The department closes a replied order the rater has not judged within
    TONGBAN_REVIEW_VERDICT_DAYS; before that only the rater's verdict closes it."""
    now = now or _now()
    with transaction.atomic():
        order = _lock_order(actor, order_id)
        if order.status != OrderStatus.REPLIED:
            raise OrderWrongState()
        if now < order.replied_at + dt.timedelta(days=settings.TONGBAN_REVIEW_VERDICT_DAYS):
            raise OrderWrongState(
                f"回复后{settings.TONGBAN_REVIEW_VERDICT_DAYS}日内等待评价人确认，期满方可办结"
            )
        _close(order, now)
        order.save(update_fields=["status", "closed_at", "closed_on_time"])
        _order_event(order, actor=actor, action="closed", from_status=OrderStatus.REPLIED)
    return order


def order_verdict(
    *, rater: User, rating_id: int, verdict: str, now: dt.datetime | None = None
) -> WorkOrder:
    """The rater's verdict on the reply: 满意 closes; 不满意 reopens once (back to verified),
    a second 不满意 closes with that verdict on record."""
    _check_verdict(verdict)
    now = now or _now()
    with transaction.atomic():
        order = None
        if _authed(rater):
            order = (
                WorkOrder.objects.select_for_update()
                .filter(rating_id=safe_pk(rating_id), rating__rater=rater)
                .first()
            )
        if order is None:
            raise RatingNotFound()
        _verdict_apply(order, verdict=verdict, now=now, actor=rater, label=RATER_LABEL)
    return order


def _check_verdict(verdict: Any) -> None:
    if verdict not in Verdict.values:
        raise InvalidInput(
            "请选择满意或不满意",
            code="REVIEW_VERDICT_INVALID",
            details=[{"field": "verdict", "message": "satisfied|unsatisfied"}],
        )


def _verdict_apply(
    order: WorkOrder,
    *,
    verdict: str,
    now: dt.datetime,
    actor: User,
    label: str,
    callback: bool = False,
    note: str = "",
) -> None:
    """One verdict on a replied order, whoever gives it (the rater, the filer, or staff
    recording a 回访): 满意 closes; the first 不满意 reopens (back to verified), a second
    closes with that verdict on record."""
    if order.status != OrderStatus.REPLIED:
        raise OrderWrongState()
    before = order.status
    order.verdict = verdict
    order.verdict_by_callback = callback
    if verdict == Verdict.UNSATISFIED and order.reopened == 0:
        order.reopened = 1
        order.status = OrderStatus.VERIFIED
    else:
        _close(order, now)
    order.save(
        update_fields=[
            "status",
            "verdict",
            "verdict_by_callback",
            "reopened",
            "closed_at",
            "closed_on_time",
        ]
    )
    verdict_label = dict(Verdict.choices)[verdict]
    OrderEvent.objects.create(
        order=order,
        at=now,
        # A callback names the operator who called; the filer's own verdict is anonymous.
        actor=actor if callback else None,
        actor_label=label,
        action="callback" if callback else "verdict",
        from_status=before,
        to_status=order.status,
        note=f"{verdict_label}。{note}" if note else verdict_label,
    )
    audit_record(
        actor=actor,
        action="review.order.callback" if callback else "review.order.verdict",
        object_type="reviews.workorder",
        object_id=order.pk,
        data={"verdict": verdict, "to": order.status},
    )


# ---------------------------------------------------------------- appeals


def appeal_file(*, actor: User, rating_id: int, reason: str, statement: Any) -> Appeal:
    """申诉: the responsible department asks that a rating be taken out of the figures."""
    if reason not in AppealReason.values:
        raise InvalidInput(
            "请选择申诉理由",
            code="REVIEW_APPEAL_REASON_INVALID",
            details=[{"field": "reason", "message": "mistaken|malicious"}],
        )
    text = _clean_text(statement, field="statement", limit=TEXT_MAX, required=True)
    with transaction.atomic():
        rating = Rating.objects.select_for_update().filter(pk=safe_pk(rating_id)).first()
        if rating is None:
            raise RatingNotFound()
        if not may_handle_order(actor, rating.department_id):
            if is_city_operator(actor):
                raise NotOrderHandler()
            raise RatingNotFound()
        if rating.appeals.filter(status__in=[AppealStatus.PENDING, AppealStatus.APPROVED]).exists():
            raise AppealExists()
        appeal = Appeal.objects.create(
            rating=rating,
            department_id=rating.department_id,
            reason=reason,
            statement=text,
            filed_by=actor,
            filed_at=_now(),
        )
        audit_record(
            actor=actor,
            action="review.appeal.filed",
            object_type="reviews.appeal",
            object_id=appeal.pk,
            data={"rating": rating.pk, "reason": reason},
        )
        for operator in _city_operators():
            notice_send(
                recipient=operator,
                title="有新的差评申诉待复核",
                body="",
                link="/staff/reviews/",
                category="review_appeal",
            )
    return appeal


def _city_operators() -> list[User]:
    ids = StaffAssignment.objects.filter(role=StaffRole.CITY_OPERATOR).values("user_id")
    return list(User.objects.filter(pk__in=ids, is_active=True))


def appeal_decide(*, actor: User, appeal_id: int, approve: Any, reason: Any) -> Appeal:
    """复核: a city operator approves (the rating leaves the figures, its open order is
    withdrawn) or rejects (nothing changes) an appeal, with a reason."""
    if not is_city_operator(actor):
        raise NotCityOperator()
    if not isinstance(approve, bool):
        raise InvalidInput(
            "请选择是否支持申诉",
            code="REVIEW_APPEAL_DECISION_INVALID",
            details=[{"field": "approve", "message": "true|false"}],
        )
    text = _clean_text(reason, field="reason", limit=TEXT_MAX, required=True)
    now = _now()
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().filter(pk=safe_pk(appeal_id)).first()
        if appeal is None:
            raise AppealNotFound()
        if appeal.status != AppealStatus.PENDING:
            raise AppealDecided()
        appeal.status = AppealStatus.APPROVED if approve else AppealStatus.REJECTED
        appeal.decided_by, appeal.decided_at, appeal.decision_reason = actor, now, text
        appeal.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        if approve:
            Rating.objects.filter(pk=appeal.rating_id).update(excluded=True, excluded_at=now)
            order = WorkOrder.objects.select_for_update().filter(rating_id=appeal.rating_id).first()
            if order is not None and order.status != OrderStatus.CLOSED:
                before = order.status
                order.status = OrderStatus.WITHDRAWN
                order.save(update_fields=["status"])
                _order_event(order, actor=actor, action="withdrawn", from_status=before, note=text)
        audit_record(
            actor=actor,
            action=f"review.appeal.{appeal.status}",
            object_type="reviews.appeal",
            object_id=appeal.pk,
            data={"rating": appeal.rating_id, "reason": text},
        )
    return appeal


# ---------------------------------------------------------------- overdue


def overdue_sweep(now: dt.datetime | None = None, today: dt.date | None = None) -> dict[str, int]:
    """Flag open orders past their deadline, once each (idempotent: overdue_flagged_at), and
    tell the department's lead and the city operators."""
    now = now or _now()
    today = today or timezone.localdate(now)
    live = [OrderStatus.OPEN, OrderStatus.VERIFIED, OrderStatus.RECTIFIED, OrderStatus.REPLIED]
    flagged = 0
    ids = list(
        WorkOrder.objects.filter(
            status__in=live, deadline__lt=today, overdue_flagged_at__isnull=True
        ).values_list("pk", flat=True)
    )
    operators = _city_operators()
    for pk in ids:
        with transaction.atomic():
            order = WorkOrder.objects.select_for_update().get(pk=pk)
            if order.overdue_flagged_at is not None or order.status not in live:
                continue
            order.overdue_flagged_at = now
            order.save(update_fields=["overdue_flagged_at"])
            _order_event(order, actor=None, action="overdue")
            for person in {*_department_handlers(order.department_id), *operators}:
                notice_send(
                    recipient=person,
                    title="投诉建议工单已超期" if order.complaint_id else "差评整改工单已超期",
                    body=f"整改期限为{order.deadline:%Y年%m月%d日}。",
                    link=f"/staff/reviews/orders/{order.pk}/",
                    category="review_overdue",
                )
            flagged += 1
    return {"flagged": flagged}


# ---------------------------------------------------------------- 投诉建议
#
# Rules stated once here:
# - Who files: a signed-in resident or enterprise agent, online (source 网上提交), about a
#   service item, a hall, a policy or 其他. City operators record the others: 12345热线转办
#   and 国务院办公厅转办 with the forwarder's number (unique per source, else
#   COMPLAINT_EXTERNAL_REF_EXISTS, 409) and the deadline it came with; 现场 with the caller's
#   contact. A double submit with the same idempotency key returns the first complaint.
# - Routing: an item → its department; a policy → its department; a hall → the department
#   whose 综合窗口 staff are posted there (it runs the hall); 其他, or a hall nobody is posted
#   at → the triage queue (待分派), where a city operator assigns the department (audited).
# - Deadline: TONGBAN_COMPLAINT_DAYS (15) working days after the day it was received, on the
#   working-day calendar; a forwarded one keeps the deadline it came with.
# - Handling: one WorkOrder per routed complaint, the same steps as a 差评 (核实 → 整改 → 回复
#   → verdict, 不满意 reopens once, overdue sweep). A 建议 is answered after 核实 with 采纳 or
#   暂不采纳 and the reasons — a 12345 office does not "rectify" a suggestion, it studies it
#   and says whether and why it is taken up.
# - Verdict: the filer's own (网上提交); for a forwarded or 现场 complaint a city operator
#   records what the 回访 (callback) heard — the hotline centre calls back, not the
#   department that handled it, so a department never grades itself.

COMPLAINT_TEXT_MAX = 2000
CALLBACK_LABEL = "回访（城市运营）"
_PHONE = re.compile(r"^[0-9+\-\s]{7,20}$")
_EXTERNAL_REF = re.compile(r"^[0-9A-Za-z\-_]{4,40}$")


def complaint_days() -> int:
    return getattr(settings, "TONGBAN_COMPLAINT_DAYS", 15)


def complaint_route(*, about: str, about_code: Any) -> tuple[int | None, str, str]:
    """(department id or None for triage, the code, the name) of what a complaint is about.
    An unknown code is refused (COMPLAINT_ABOUT_UNKNOWN) rather than silently triaged."""
    from tongban.appointments.models import Hall
    from tongban.catalog.models import ServiceItem
    from tongban.policies.models import Policy

    if about not in ComplaintAbout.values:
        raise InvalidInput(
            "请选择投诉建议的对象",
            code="COMPLAINT_ABOUT_INVALID",
            details=[{"field": "about", "message": "item|hall|policy|other"}],
        )
    if about == ComplaintAbout.OTHER:
        return None, "", ""
    code = about_code.strip()[:64] if isinstance(about_code, str) else ""
    unknown = InvalidInput(
        f"未找到所选的{ComplaintAbout(about).label}",
        code="COMPLAINT_ABOUT_UNKNOWN",
        details=[{"field": "about_code", "message": code[:40] or "必选"}],
    )
    if not code:
        raise unknown
    if about == ComplaintAbout.ITEM:
        item = ServiceItem.objects.filter(code=code).only("name", "department_id").first()
        if item is None:
            raise unknown
        return item.department_id, code, item.name
    if about == ComplaintAbout.POLICY:
        policy = Policy.objects.filter(code=code).first()
        if policy is None:
            raise unknown
        return policy.department_id, code, policy.name
    hall = Hall.objects.filter(code=code).only("pk", "name").first()
    if hall is None:
        raise unknown
    runner = (
        StaffAssignment.objects.filter(hall=hall, role=StaffRole.COUNTER_CLERK)
        .order_by("pk")
        .values_list("department_id", flat=True)
        .first()
    )
    return runner, code, hall.name


def _complaint_kind(kind: Any) -> str:
    if kind not in ComplaintKind.values:
        raise InvalidInput(
            "请选择投诉或建议",
            code="COMPLAINT_KIND_INVALID",
            details=[{"field": "kind", "message": "complaint|suggestion"}],
        )
    return kind


def _idempotency(key: Any) -> str:
    key = key.strip() if isinstance(key, str) else ""
    if len(key) > 64:
        raise InvalidInput(
            "重复提交标识过长",
            code="COMPLAINT_IDEMPOTENCY_INVALID",
            details=[{"field": "idempotency_key", "message": "64"}],
        )
    return key


def _complaint_create(*, fields: dict[str, Any], actor: User, now: dt.datetime) -> Complaint:
    """Insert, audit, route or queue, notify — inside the caller's transaction."""
    complaint = Complaint.objects.create(**fields)
    audit_record(
        actor=actor,
        action="complaint.filed"
        if complaint.source == ComplaintSource.ONLINE
        else "complaint.recorded",
        object_type="reviews.complaint",
        object_id=complaint.pk,
        data={
            "kind": complaint.kind,
            "source": complaint.source,
            "about": complaint.about,
            "about_code": complaint.about_code,
            "department": complaint.department_id,
        },
    )
    if complaint.department_id:
        complaint.status = ComplaintStatus.ROUTED
        complaint.save(update_fields=["status"])
        _order_open(complaint=complaint, now=now, actor=None)
    else:
        for operator in _city_operators():
            notice_send(
                recipient=operator,
                title="有投诉建议待分派责任部门",
                body="",
                link="/staff/complaints/triage/",
                category="complaint_triage",
            )
    if complaint.filer_id:
        notice_send(
            recipient=complaint.filer,
            template="complaint_received",
            context={
                "kind": complaint.get_kind_display(),
                "deadline": f"{complaint.deadline:%Y年%m月%d日}",
            },
            link=f"/me/complaints/{complaint.pk}/",
        )
    return complaint


def _enterprise_of_agent(filer: User, enterprise_id: Any):
    if enterprise_id in (None, ""):
        return None
    from tongban.accounts.selectors import enterprise_for_agent

    refused = InvalidInput(
        "您没有以该企业名义办事的有效授权",
        code="COMPLAINT_ENTERPRISE_INVALID",
        details=[{"field": "enterprise", "message": "无有效授权"}],
    )
    try:
        pk = int(enterprise_id)
    except (TypeError, ValueError):
        raise refused from None
    try:
        return enterprise_for_agent(user=filer, enterprise_id=pk)
    except DomainError:
        raise refused from None


def complaint_file(
    *,
    filer: User,
    kind: Any,
    about: Any,
    about_code: Any = "",
    text: Any,
    idempotency_key: Any = "",
    enterprise_id: Any = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """网上提交: a signed-in resident files a complaint or suggestion, in their own name or, as
    an enterprise's agent, in the name of ENTERPRISE_ID (one they hold live authority for)."""
    from tongban.common.errors import AuthenticationRequired

    if not _authed(filer):
        raise AuthenticationRequired()
    enterprise = _enterprise_of_agent(filer, enterprise_id)
    kind = _complaint_kind(kind)
    department_id, code, name = complaint_route(about=about, about_code=about_code)
    body = _clean_text(text, field="text", limit=COMPLAINT_TEXT_MAX, required=True)
    key = _idempotency(idempotency_key)
    now = now or _now()
    deadline = add_working_days(now, complaint_days())
    with transaction.atomic():
        if key:
            first = Complaint.objects.filter(filer=filer, idempotency_key=key).first()
            if first is not None:
                return first
        try:
            with transaction.atomic():
                return _complaint_create(
                    fields={
                        "kind": kind,
                        "source": ComplaintSource.ONLINE,
                        "about": about,
                        "about_code": code,
                        "about_name": name,
                        "text": body,
                        "filer": filer,
                        "enterprise": enterprise,
                        "department_id": department_id,
                        "deadline": deadline,
                        "received_at": now,
                        "idempotency_key": key,
                    },
                    actor=filer,
                    now=now,
                )
        except IntegrityError:
            first = (
                Complaint.objects.filter(filer=filer, idempotency_key=key).first() if key else None
            )
            if first is None:
                raise
            return first


def _parse_date(value: Any, *, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return timezone.localdate(value)
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(
            "日期格式应为 年-月-日（如 2026-12-31）",
            code="COMPLAINT_DEADLINE_INVALID",
            details=[{"field": field, "message": str(value)[:20]}],
        ) from None


def complaint_record(
    *,
    actor: User,
    kind: Any,
    source: Any,
    about: Any,
    about_code: Any = "",
    text: Any,
    contact_name: Any = "",
    contact_phone: Any = "",
    external_ref: Any = "",
    deadline: Any = None,
    idempotency_key: Any = "",
    now: dt.datetime | None = None,
) -> Complaint:
    """A city operator records a complaint forwarded by 12345 or the State Council's
    channel (its number and deadline required), or one made in person (现场)."""
    if not is_city_operator(actor):
        raise NotCityOperator("只有城市运营人员可以登记转办的投诉建议")
    kind = _complaint_kind(kind)
    if source not in ComplaintSource.values or source == ComplaintSource.ONLINE:
        raise InvalidInput(
            "请选择来源渠道",
            code="COMPLAINT_SOURCE_INVALID",
            details=[{"field": "source", "message": "hotline|state_council|on_site"}],
        )
    department_id, code, name = complaint_route(about=about, about_code=about_code)
    body = _clean_text(text, field="text", limit=COMPLAINT_TEXT_MAX, required=True)
    name_text = _clean_text(contact_name, field="contact_name", limit=40, required=True)
    phone = _clean_text(contact_phone, field="contact_phone", limit=20, required=True)
    if not _PHONE.match(phone):
        raise InvalidInput(
            "联系电话格式不正确",
            code="COMPLAINT_PHONE_INVALID",
            details=[{"field": "contact_phone", "message": "电话"}],
        )
    key = _idempotency(idempotency_key)
    now = now or _now()
    forwarded = source in FORWARDED_SOURCES
    ref = external_ref.strip() if isinstance(external_ref, str) else ""
    if forwarded and not _EXTERNAL_REF.match(ref):
        raise InvalidInput(
            f"请填写{EXTERNAL_REF_LABELS[source]}（4-40位字母、数字或连字符）",
            code="COMPLAINT_EXTERNAL_REF_INVALID",
            details=[{"field": "external_ref", "message": "必填"}],
        )
    if not forwarded:
        ref = ""
    given = _parse_date(deadline, field="deadline")
    if forwarded and given is None:
        raise InvalidInput(
            "请填写转办时给定的办理期限",
            code="COMPLAINT_DEADLINE_INVALID",
            details=[{"field": "deadline", "message": "必填"}],
        )
    if given is not None and given < timezone.localdate(now):
        raise InvalidInput(
            "办理期限不能早于今天",
            code="COMPLAINT_DEADLINE_INVALID",
            details=[{"field": "deadline", "message": given.isoformat()}],
        )
    final_deadline = given or add_working_days(now, complaint_days())
    with transaction.atomic():
        if key:
            first = Complaint.objects.filter(recorded_by=actor, idempotency_key=key).first()
            if first is not None:
                return first
        if ref and Complaint.objects.filter(source=source, external_ref=ref).exists():
            raise ComplaintExternalRefExists(
                f"{EXTERNAL_REF_LABELS[source]} {ref} 已登记，请勿重复登记"
            )
        try:
            with transaction.atomic():
                return _complaint_create(
                    fields={
                        "kind": kind,
                        "source": source,
                        "about": about,
                        "about_code": code,
                        "about_name": name,
                        "text": body,
                        "contact_name": name_text,
                        "contact_phone": phone,
                        "external_ref": ref,
                        "department_id": department_id,
                        "deadline": final_deadline,
                        "received_at": now,
                        "recorded_by": actor,
                        "idempotency_key": key,
                    },
                    actor=actor,
                    now=now,
                )
        except IntegrityError:
            first = (
                Complaint.objects.filter(recorded_by=actor, idempotency_key=key).first()
                if key
                else None
            )
            if first is not None:
                return first
            raise ComplaintExternalRefExists() from None


def _department_chosen(department: Any, message: str):
    from tongban.catalog.models import Department

    code = department.strip() if isinstance(department, str) else ""
    target = Department.objects.filter(code=code).first() if code else None
    if target is None:
        raise InvalidInput(
            message,
            code="COMPLAINT_DEPARTMENT_INVALID",
            details=[{"field": "department", "message": code[:40] or "必选"}],
        )
    return target


def complaint_assign(
    *, actor: User, complaint_id: int, department: Any, note: Any = ""
) -> Complaint:
    """分派: a city operator names the responsible department of a complaint in triage."""

    if not is_city_operator(actor):
        raise NotCityOperator("只有城市运营人员可以分派投诉建议")
    text = _clean_text(note, field="note", limit=TEXT_MAX, required=False)
    target = _department_chosen(department, "请选择责任部门")
    now = _now()
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update().filter(pk=safe_pk(complaint_id)).first()
        if complaint is None:
            raise ComplaintNotFound()
        if complaint.status != ComplaintStatus.TRIAGE:
            raise ComplaintAlreadyRouted()
        complaint.department = target
        complaint.status = ComplaintStatus.ROUTED
        complaint.save(update_fields=["department", "status"])
        audit_record(
            actor=actor,
            action="complaint.assigned",
            object_type="reviews.complaint",
            object_id=complaint.pk,
            data={"department": target.code, "note": text},
        )
        _order_open(
            complaint=complaint,
            now=now,
            actor=actor,
            action="assigned",
            note=f"{target.name}：{text}" if text else target.name,
        )
    return complaint


def complaint_transfer(*, actor: User, order_id: int, department: Any, reason: Any) -> WorkOrder:
    """转办: a complaint routed to a department that is not responsible goes to the one that
    is — sent on by that department's handler, who says why, or by a city operator — while
    its order is still 待核实. The filer's deadline runs on; the new department is told."""

    target = _department_chosen(department, "请选择转办的责任部门")
    text = _clean_text(
        reason, field="transfer_reason", limit=TEXT_MAX, required=True, missing="请填写转办理由"
    )
    with transaction.atomic():
        if is_city_operator(actor):
            order = WorkOrder.objects.select_for_update().filter(pk=safe_pk(order_id)).first()
            if order is None:
                raise OrderNotFound()
        else:
            order = _lock_order(actor, order_id)
        if order.complaint_id is None:
            raise InvalidInput("差评工单不能转办，请按申诉办理", code="ORDER_NOT_COMPLAINT")
        if order.status != OrderStatus.OPEN:
            raise OrderWrongState()
        if order.department_id == target.pk:
            raise InvalidInput(
                "该工单已由这个部门办理，请选择其他部门",
                code="COMPLAINT_DEPARTMENT_SAME",
                details=[{"field": "department", "message": target.name}],
            )
        before = order.department
        complaint = Complaint.objects.select_for_update().get(pk=order.complaint_id)
        complaint.department = target
        complaint.status = ComplaintStatus.ROUTED
        complaint.save(update_fields=["department", "status"])
        order.department = target
        order.save(update_fields=["department"])
        note = f"由{before.name}转至{target.name}：{text}"
        _order_event(order, actor=actor, action="transferred", note=note)
        audit_record(
            actor=actor,
            action="complaint.transferred",
            object_type="reviews.complaint",
            object_id=complaint.pk,
            data={"from": before.code, "to": target.code, "order": order.pk},
        )
        for person in _department_handlers(target.pk):
            notice_send(
                recipient=person,
                title=f"收到转办的{complaint.get_kind_display()}，请在期限内办理",
                body=f"由{before.name}转来。办理期限：{order.deadline:%Y年%m月%d日}。",
                link=f"/staff/reviews/orders/{order.pk}/",
                category="complaint_order",
            )
    return order


def complaint_verdict(
    *, filer: User, complaint_id: int, verdict: Any, now: dt.datetime | None = None
) -> WorkOrder:
    """The filer's own verdict on the reply to a complaint filed online."""
    _check_verdict(verdict)
    now = now or _now()
    with transaction.atomic():
        order = None
        if _authed(filer):
            order = (
                WorkOrder.objects.select_for_update()
                .filter(complaint_id=safe_pk(complaint_id), complaint__filer=filer)
                .first()
            )
        if order is None:
            raise ComplaintNotFound()
        _verdict_apply(order, verdict=verdict, now=now, actor=filer, label="投诉建议人")
    return order


def complaint_callback_record(
    *,
    actor: User,
    complaint_id: int,
    verdict: Any,
    note: Any = "",
    now: dt.datetime | None = None,
) -> WorkOrder:
    """回访: a city operator records the verdict a forwarded or 现场 complaint's filer gave by
    telephone; it is labelled as a callback wherever it is shown."""
    if not is_city_operator(actor):
        raise NotCityOperator("只有城市运营人员可以登记回访结果")
    _check_verdict(verdict)
    text = _clean_text(note, field="note", limit=TEXT_MAX, required=False)
    now = now or _now()
    with transaction.atomic():
        order = (
            WorkOrder.objects.select_for_update()
            .filter(complaint_id=safe_pk(complaint_id))
            .select_related("complaint")
            .first()
        )
        if order is None:
            raise ComplaintNotFound()
        if order.complaint.source == ComplaintSource.ONLINE:
            raise CallbackNotApplicable()
        _verdict_apply(
            order,
            verdict=verdict,
            now=now,
            actor=actor,
            label=CALLBACK_LABEL,
            callback=True,
            note=text,
        )
    return order
