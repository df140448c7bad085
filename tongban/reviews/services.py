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
from tongban.common.errors import InvalidInput
from tongban.common.services import audit_record
from tongban.notifications.services import notice_send
from tongban.reviews.errors import (
    AlreadyRated,
    AppealDecided,
    AppealExists,
    AppealNotFound,
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
    INDICATORS,
    Appeal,
    AppealReason,
    AppealStatus,
    Classification,
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


def _clean_text(text: Any, *, field: str, limit: int, required: bool) -> str:
    value = (text or "").strip() if isinstance(text, str) or text is None else None
    if value is None:
        raise InvalidInput("文字格式不正确", details=[{"field": field, "message": "文本"}])
    if required and not value:
        raise InvalidInput(
            "请填写内容", code="REVIEW_TEXT_REQUIRED", details=[{"field": field, "message": "必填"}]
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
    with transaction.atomic():
        notice_send(
            recipient=case.applicant,
            title=INVITE_TITLE,
            body=f"您的办件“{case.name}”已办理。欢迎对本次服务作出评价（自愿）。",
            link=rate_link(case.receipt_no, subject),
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


def _order_open(rating: Rating, *, now: dt.datetime) -> WorkOrder:
    deadline = add_working_days(now, settings.TONGBAN_RECTIFICATION_DAYS)
    order = WorkOrder.objects.create(
        rating=rating, department_id=rating.department_id, deadline=deadline, created_at=now
    )
    _order_event(order, actor=None, action="opened")
    for person in _department_handlers(rating.department_id):
        notice_send(
            recipient=person,
            title="收到差评，请在期限内核实整改",
            body=f"整改期限：{deadline:%Y年%m月%d日}。",
            link=f"/staff/reviews/orders/{order.pk}/",
            category="review_order",
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
        before = _step(order, expect=(OrderStatus.VERIFIED,), to=OrderStatus.RECTIFIED)
        order.measures = text
        order.save(update_fields=["status", "measures"])
        _order_event(order, actor=actor, action="rectified", from_status=before, note=text)
    return order


def order_reply(*, actor: User, order_id: int, reply: Any) -> WorkOrder:
    """回复: the reply to the rater, published with the rating (评价、回复双公开)."""
    text = _clean_text(reply, field="reply", limit=TEXT_MAX, required=True)
    with transaction.atomic():
        order = _lock_order(actor, order_id)
        before = _step(order, expect=(OrderStatus.RECTIFIED,), to=OrderStatus.REPLIED)
        order.reply, order.replied_at = text, _now()
        order.save(update_fields=["status", "reply", "replied_at"])
        _order_event(order, actor=actor, action="replied", from_status=before, note=text)
        notice_send(
            recipient=order.rating.rater,
            title="您的评价已收到整改回复",
            body="请查看回复，并告诉我们您是否满意。",
            link="/me/reviews/",
            category="review_reply",
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
    if verdict not in Verdict.values:
        raise InvalidInput(
            "请选择满意或不满意",
            code="REVIEW_VERDICT_INVALID",
            details=[{"field": "verdict", "message": "satisfied|unsatisfied"}],
        )
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
        if order.status != OrderStatus.REPLIED:
            raise OrderWrongState()
        before = order.status
        order.verdict = verdict
        if verdict == Verdict.UNSATISFIED and order.reopened == 0:
            order.reopened = 1
            order.status = OrderStatus.VERIFIED
        else:
            _close(order, now)
        order.save(update_fields=["status", "verdict", "reopened", "closed_at", "closed_on_time"])
        OrderEvent.objects.create(
            order=order,
            at=now,
            actor_label=RATER_LABEL,
            action="verdict",
            from_status=before,
            to_status=order.status,
            note=dict(Verdict.choices)[verdict],
        )
        audit_record(
            actor=rater,
            action="review.order.verdict",
            object_type="reviews.workorder",
            object_id=order.pk,
            data={"verdict": verdict, "to": order.status},
        )
    return order


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
                    title="差评整改工单已超期",
                    body=f"整改期限为{order.deadline:%Y年%m月%d日}。",
                    link=f"/staff/reviews/orders/{order.pk}/",
                    category="review_overdue",
                )
            flagged += 1
    return {"flagged": flagged}
