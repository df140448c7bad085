"""Reads of 好差评. Nothing returned to staff or the public names the rater: rows are built
from explicit field lists that never include `rater`, and comments are `comment_public`.

Figures (`review_stats`): ratings excluded by an approved appeal are left out of everything.
Per item and per department a rating counts once for every (item | department) it is
attributed to (see RatingSubject); per hall, in-person ratings by the hall they were given
at. Rates are exact fractions of integer counts, shown as Decimal rounded half-up to 4
places (0.6667), and None where the denominator is 0:
  satisfaction_rate = levels 4-5 / count        bad_rate = levels 1-2 / count
  rectification_rate = closed orders / orders   on_time_rate = closed on time / closed
Withdrawn orders belong to excluded ratings and so are never counted. Periods are local
(Asia/Shanghai) calendar months or years of the rating's time.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, F, Q
from django.utils import timezone

from tongban.accounts.models import StaffAssignment
from tongban.cases.models import Application
from tongban.cases.receipt import receipt_display
from tongban.common.calendar import LOCAL_TZ
from tongban.common.errors import InvalidInput
from tongban.reviews.models import (
    EXTERNAL_REF_LABELS,
    INDICATORS,
    LEVEL_LABELS,
    ORDER_ACTION_LABELS,
    Appeal,
    AppealStatus,
    Complaint,
    ComplaintAbout,
    ComplaintKind,
    ComplaintSource,
    ComplaintStatus,
    EncounterKind,
    OrderStatus,
    Rating,
    RatingChannel,
    RatingSubject,
    WorkOrder,
)
from tongban.reviews.services import (
    HANDLER_ROLES,
    SUBJECTS,
    is_city_operator,
    rate_link,
    safe_pk,
    subject_moment,
)

DIMENSIONS = ("item", "department", "hall", "channel")
SUBJECT_LABELS = {
    "online": "网上办事（一事一评）",
    EncounterKind.FILING: "窗口帮办受理（一次一评）",
    EncounterKind.HANDOUT: "窗口出件（一次一评）",
    RatingChannel.CONSULTATION: "在线客服咨询",
}
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def rate(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )


def period_bounds(period: str) -> tuple[dt.datetime, dt.datetime] | None:
    """(start, end) of a YYYY or YYYY-MM local period; None for "all"."""
    if period in ("", "all"):
        return None
    match = _PERIOD.match(period or "")
    if not match:
        raise InvalidInput(
            "统计周期格式应为 YYYY、YYYY-MM 或 all",
            code="REVIEW_PERIOD_INVALID",
            details=[{"field": "period", "message": str(period)[:20]}],
        )
    year, month = int(match.group(1)), match.group(2)
    if year < 2000 or year > 2100 or (month and not 1 <= int(month) <= 12):
        raise InvalidInput(
            "统计周期超出范围",
            code="REVIEW_PERIOD_INVALID",
            details=[{"field": "period", "message": str(period)[:20]}],
        )
    if month:
        m = int(month)
        start = dt.datetime(year, m, 1, tzinfo=LOCAL_TZ)
        end = dt.datetime(year + (m == 12), m % 12 + 1, 1, tzinfo=LOCAL_TZ)
    else:
        start = dt.datetime(year, 1, 1, tzinfo=LOCAL_TZ)
        end = dt.datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ)
    return start, end


def _aggregates(prefix: str, *, own_orders: bool = False) -> dict[str, Any]:
    """Counts per group. OWN_ORDERS (per department or item subject): a work order counts
    only for the department it was opened for — a case rated once touches several
    departments, but its 差评 order is one department's to rectify."""
    rid = f"{prefix}id" if prefix else "id"
    order = f"{prefix}order"
    mine = Q(**{f"{order}__department": F("department")}) if own_orders else Q()
    aggs: dict[str, Any] = {"count": Count(rid, distinct=True)}
    for level in range(1, 6):
        aggs[f"l{level}"] = Count(rid, distinct=True, filter=Q(**{f"{prefix}level": level}))
    aggs["orders"] = Count(f"{order}__id", distinct=True, filter=mine)
    aggs["closed"] = Count(
        f"{order}__id", distinct=True, filter=mine & Q(**{f"{order}__status": OrderStatus.CLOSED})
    )
    aggs["on_time"] = Count(
        f"{order}__id",
        distinct=True,
        filter=mine
        & Q(**{f"{order}__status": OrderStatus.CLOSED, f"{order}__closed_on_time": True}),
    )
    return aggs


def _row(key: str, name: str, agg: dict[str, int]) -> dict[str, Any]:
    count = agg["count"]
    good = agg["l4"] + agg["l5"]
    bad = agg["l1"] + agg["l2"]
    return {
        "code": key,
        "name": name,
        "count": count,
        "distribution": {str(level): agg[f"l{level}"] for level in range(1, 6)},
        "satisfaction_rate": rate(good, count),
        "bad_rate": rate(bad, count),
        "orders": agg["orders"],
        "closed": agg["closed"],
        "rectification_rate": rate(agg["closed"], agg["orders"]),
        "on_time_rate": rate(agg["on_time"], agg["closed"]),
    }


def review_stats(*, by: str = "department", period: str = "all", code: str = "") -> dict:
    """The public figures; see the module docstring for what each number means."""
    if by not in DIMENSIONS:
        raise InvalidInput(
            "统计维度应为 item、department、hall 或 channel",
            code="REVIEW_DIMENSION_INVALID",
            details=[{"field": "by", "message": str(by)[:20]}],
        )
    code = (code or "").strip()[:64]
    bounds = period_bounds(period)
    ratings = Rating.objects.filter(excluded=False)
    if bounds:
        ratings = ratings.filter(created_at__gte=bounds[0], created_at__lt=bounds[1])
    rows: list[dict[str, Any]] = []
    if by == "hall":
        qs = ratings.filter(hall__isnull=False)
        if code:
            qs = qs.filter(hall__code=code)
        grouped = (
            qs.values("hall__code", "hall__name").annotate(**_aggregates("")).order_by("hall__code")
        )
        rows = [_row(g["hall__code"], g["hall__name"], g) for g in grouped]
    elif by == "channel":
        # Every rating counts once under the channel it came through (网上、现场、咨询).
        qs = ratings.filter(channel=code) if code else ratings
        grouped = qs.values("channel").annotate(**_aggregates("")).order_by("channel")
        labels = dict(RatingChannel.choices)
        rows = [_row(g["channel"], labels.get(g["channel"], ""), g) for g in grouped]
    else:
        subjects = RatingSubject.objects.filter(rating__in=ratings)
        if by == "item":
            if code:
                subjects = subjects.filter(item_code=code)
            grouped = subjects.values("item_code").annotate(
                **_aggregates("rating__", own_orders=True)
            )
            names = dict(subjects.values_list("item_code", "item_name"))
            rows = [_row(g["item_code"], names.get(g["item_code"], ""), g) for g in grouped]
        else:
            if code:
                subjects = subjects.filter(department__code=code)
            grouped = subjects.values("department__code", "department__name").annotate(
                **_aggregates("rating__", own_orders=True)
            )
            rows = [_row(g["department__code"], g["department__name"], g) for g in grouped]
        rows.sort(key=lambda r: r["code"])
    total = ratings.aggregate(**_aggregates(""))
    return {
        "by": by,
        "period": period or "all",
        "total": _row("", "全部", total),
        "rows": rows,
        "replies": published_replies(ratings=ratings),
    }


def published_replies(*, ratings=None, limit: int = 20) -> list[dict[str, Any]]:
    """评价、回复双公开: anonymised comments with the department's reply, newest first."""
    ratings = ratings if ratings is not None else Rating.objects.filter(excluded=False)
    orders = (
        WorkOrder.objects.filter(rating__in=ratings, replied_at__isnull=False)
        .select_related("rating", "department")
        .order_by("-replied_at", "-pk")[:limit]
    )
    return [
        {
            "rater": "匿名用户",
            "level": o.rating.level,
            "level_label": LEVEL_LABELS[o.rating.level],
            "comment": o.rating.comment_public,
            "department": o.department.name,
            "reply": o.reply,
            "replied_on": timezone.localdate(o.replied_at),
            "verdict": o.get_verdict_display() if o.verdict else "",
        }
        for o in orders
    ]


# ---------------------------------------------------------------- the rater


def rateable_subjects(*, user, receipt_no: str, now: dt.datetime | None = None) -> dict | None:
    """For the rating page: the case (name, receipt) and each subject the user may rate, with
    whether it is already rated and whether the window is open. None if not theirs."""
    if not getattr(user, "is_authenticated", False):
        return None
    case = Application.objects.filter(receipt_no=receipt_no, applicant=user).first()
    if case is None:
        return None
    from django.conf import settings

    now = now or timezone.now()
    window = dt.timedelta(days=settings.TONGBAN_REVIEW_WINDOW_DAYS)
    subjects = []
    for subject in SUBJECTS:
        at = subject_moment(case, subject)
        if at is None:
            continue
        if subject == "online":
            done = Rating.objects.filter(case=case, channel=RatingChannel.ONLINE).exists()
            channel = RatingChannel.ONLINE
        else:
            done = Rating.objects.filter(case=case, encounter__kind=subject).exists()
            channel = RatingChannel.IN_PERSON
        subjects.append(
            {
                "code": subject,
                "label": SUBJECT_LABELS[subject],
                "rated": done,
                "open": now <= at + window,
                "indicators": list(INDICATORS[channel].items()),
            }
        )
    return {
        "receipt_no": case.receipt_no,
        "receipt_display": receipt_display(case.receipt_no),
        "name": case.name,
        "subjects": subjects,
    }


def rating_invitations(
    *, user, receipt_nos: list[str] | tuple[str, ...], now: dt.datetime | None = None
) -> dict[str, dict[str, Any]]:
    """For 我的办件 and the case page: per receipt number of USER's own cases, the first
    service still open for rating and not yet rated — {"url", "until"} — by the same window
    and subjects as rateable_subjects. Cases with nothing to rate are left out. Three
    queries for any number of cases."""
    if not getattr(user, "is_authenticated", False) or not receipt_nos:
        return {}
    from django.conf import settings

    now = now or timezone.now()
    window = dt.timedelta(days=settings.TONGBAN_REVIEW_WINDOW_DAYS)
    cases = list(Application.objects.filter(receipt_no__in=list(receipt_nos), applicant=user))
    rated = set(
        Rating.objects.filter(case__in=cases).values_list("case_id", "channel", "encounter__kind")
    )
    online_rated = {case_id for case_id, channel, _ in rated if channel == RatingChannel.ONLINE}
    encounter_rated = {(case_id, kind) for case_id, _, kind in rated if kind}
    out: dict[str, dict[str, Any]] = {}
    for case in cases:
        for subject in SUBJECTS:
            at = subject_moment(case, subject)
            if at is None or now > at + window:
                continue
            done = (
                case.pk in online_rated
                if subject == "online"
                else (case.pk, subject) in encounter_rated
            )
            if not done:
                out[case.receipt_no] = {
                    "url": rate_link(case.receipt_no, subject),
                    "until": timezone.localtime(at + window),
                }
                break
    return out


def my_ratings(*, user) -> list[dict[str, Any]]:
    """我的评价: the user's own ratings with the department's reply and the verdict form state."""
    if not getattr(user, "is_authenticated", False):
        return []
    qs = (
        Rating.objects.filter(rater=user)
        .select_related("case", "department", "encounter")
        .order_by("-created_at", "-pk")[:100]
    )
    orders = {o.rating_id: o for o in WorkOrder.objects.filter(rating__in=qs)}
    out = []
    for r in qs:
        order = orders.get(r.pk)
        if r.channel == RatingChannel.CONSULTATION:
            subject = RatingChannel.CONSULTATION
        else:
            subject = r.encounter.kind if r.encounter_id else "online"
        out.append(
            {
                "id": r.pk,
                # A consultation has no case: no receipt number, the service's name instead.
                "receipt_no": r.case.receipt_no if r.case_id else "",
                "case_name": r.case.name if r.case_id else "咨询服务",
                "subject": subject,
                "subject_label": SUBJECT_LABELS[subject],
                "level": r.level,
                "level_label": LEVEL_LABELS[r.level],
                "comment": r.comment,
                "created_at": r.created_at,
                "department": r.department.name,
                "order_status": order.status if order else "",
                "order_status_label": order.get_status_display() if order else "",
                "reply": order.reply if order else "",
                "verdict": order.verdict if order else "",
                "verdict_open": bool(order and order.status == OrderStatus.REPLIED),
            }
        )
    return out


# ---------------------------------------------------------------- staff


def _departments_of(user) -> set[int]:
    """Departments whose orders USER handles: only the posts that handle them (HANDLER_ROLES),
    not every member of the department."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    return set(
        StaffAssignment.objects.filter(user=user, role__in=HANDLER_ROLES).values_list(
            "department_id", flat=True
        )
    )


# How a complaint's order reads: the same steps as a 差评's, named for a complaint.
COMPLAINT_STATUS_LABELS = {
    OrderStatus.OPEN: "待核实",
    OrderStatus.VERIFIED: "已核实，待处理",
    OrderStatus.RECTIFIED: "已处理，待答复",
    OrderStatus.REPLIED: "已答复，待确认满意度",
    OrderStatus.CLOSED: "已办结",
    OrderStatus.WITHDRAWN: "已撤销",
}
SUGGESTION_STATUS_LABELS = {**COMPLAINT_STATUS_LABELS, OrderStatus.VERIFIED: "已核实，待答复"}
COMPLAINT_ACTION_LABELS = {
    **ORDER_ACTION_LABELS,
    "opened": "受理并分派责任部门",
    "rectified": "处理",
    "replied": "答复",
    "verdict": "投诉建议人表态",
}


def _order_row(o: WorkOrder, today: dt.date) -> dict[str, Any]:
    live = o.status not in (OrderStatus.CLOSED, OrderStatus.WITHDRAWN)
    common = {
        "id": o.pk,
        "department": o.department.name,
        "department_code": o.department.code,
        "status": o.status,
        "classification": o.classification,
        "classification_label": o.get_classification_display() if o.classification else "",
        "finding": o.finding,
        "measures": o.measures,
        "reply": o.reply,
        "adoption": o.adoption,
        "adoption_label": o.get_adoption_display() if o.adoption else "",
        "verdict": o.get_verdict_display() if o.verdict else "",
        "verdict_by_callback": o.verdict_by_callback,
        "deadline": o.deadline,
        "overdue": live and o.deadline < today,
        "closed_on_time": o.closed_on_time,
        "created_at": o.created_at,
    }
    if o.complaint_id:
        return {**common, **_complaint_order_fields(o)}
    r = o.rating
    return {
        **common,
        "kind": "rating",
        "kind_label": "差评",
        "complaint_id": None,
        "rating_id": r.pk,
        "status_label": o.get_status_display(),
        "level": r.level,
        "level_label": LEVEL_LABELS[r.level],
        "channel_label": r.get_channel_display(),
        "comment": r.comment_public,
        # Never the receipt number: the staff who handle an order could look the case up at
        # intake and so learn who rated (the rater is confidential).
        "rater": "匿名用户",
        "hall": r.hall.name if r.hall_id else "",
        "staff": r.staff.get_username() if r.staff_id else "",
        "about_label": "",
        "external_ref": "",
        "needs_callback": False,
    }


def _complaint_order_fields(o: WorkOrder) -> dict[str, Any]:
    """A complaint as the department reads it: the text with long numbers and the filer's
    names masked, the filer anonymous. A forwarded or 现场 complaint's contact is read only
    through complaint_contact (audited, with its purpose)."""
    c = o.complaint
    labels = (
        SUGGESTION_STATUS_LABELS if c.kind == ComplaintKind.SUGGESTION else COMPLAINT_STATUS_LABELS
    )
    status_label = labels[o.status]
    if o.status == OrderStatus.REPLIED and c.source != ComplaintSource.ONLINE:
        status_label = "已答复，待回访"
    return {
        "kind": "complaint",
        "kind_label": c.get_kind_display(),
        "complaint_id": c.pk,
        "complaint_kind": c.kind,
        "rating_id": None,
        "status_label": status_label,
        "level": None,
        "level_label": "",
        "channel_label": c.get_source_display(),
        "comment": _masked_text(c),
        "rater": (
            f"{c.enterprise.name}（企业经办人，匿名）"
            if c.enterprise_id
            else "投诉建议人（匿名）"
            if c.source == ComplaintSource.ONLINE
            else "来电人"
        ),
        "hall": c.about_name if c.about == ComplaintAbout.HALL else "",
        "staff": "",
        "about_label": _about_label(c),
        "external_ref": c.external_ref,
        "external_ref_label": EXTERNAL_REF_LABELS.get(c.source, ""),
        "needs_callback": c.source != ComplaintSource.ONLINE,
        "received_at": c.received_at,
    }


def _about_label(c: Complaint) -> str:
    if c.about == ComplaintAbout.OTHER:
        return "其他"
    return f"{c.get_about_display()}：{c.about_name or c.about_code}"


def _masked_text(c: Complaint) -> str:
    from tongban.reviews.services import _rater_names, comment_anonymise

    names = _rater_names(c.filer) if c.filer_id else (c.contact_name,)
    return comment_anonymise(c.text, names=names)


def _order_qs():
    return WorkOrder.objects.select_related(
        "rating",
        "rating__case",
        "rating__hall",
        "rating__staff",
        "complaint",
        "complaint__filer",
        "complaint__enterprise",
        "department",
    ).order_by("deadline", "pk")


def orders_for(*, user, today: dt.date | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """A department's work orders for its staff; every order for a city operator."""
    today = today or timezone.localdate()
    if is_city_operator(user):
        qs = _order_qs()
    else:
        departments = _departments_of(user)
        if not departments:
            return []
        qs = _order_qs().filter(department_id__in=departments)
    return [_order_row(o, today) for o in qs[:limit]]


def order_for(*, user, order_id: int, today: dt.date | None = None) -> dict[str, Any] | None:
    today = today or timezone.localdate()
    order = _order_qs().filter(pk=safe_pk(order_id)).first()
    if order is None:
        return None
    if not is_city_operator(user) and order.department_id not in _departments_of(user):
        return None
    row = _order_row(order, today)
    row["events"] = _events(order)
    if order.complaint_id:
        row["appeals"] = []
        return row
    row["appeals"] = [
        {
            "id": a.pk,
            "reason": a.get_reason_display(),
            "status": a.status,
            "status_label": a.get_status_display(),
            "decision_reason": a.decision_reason,
        }
        for a in order.rating.appeals.order_by("pk")
    ]
    return row


def _events(order: WorkOrder) -> list[dict[str, Any]]:
    labels = COMPLAINT_ACTION_LABELS if order.complaint_id else ORDER_ACTION_LABELS
    return [
        {
            "at": e.at,
            "actor": "系统" if e.actor_label == "system" else e.actor_label,
            "action": e.action,
            "action_label": labels.get(e.action, "处理"),
            "to_status": e.to_status,
            "note": e.note,
        }
        for e in order.events.all()
    ]


def pending_appeals(*, user) -> list[dict[str, Any]]:
    if not is_city_operator(user):
        return []
    return [
        {
            "id": a.pk,
            "rating_id": a.rating_id,
            "department": a.department.name,
            "reason": a.get_reason_display(),
            "statement": a.statement,
            "level": a.rating.level,
            "level_label": LEVEL_LABELS[a.rating.level],
            "comment": a.rating.comment_public,
        }
        for a in Appeal.objects.filter(status=AppealStatus.PENDING)
        .select_related("department", "rating")
        .order_by("filed_at", "pk")
    ]


def department_overview(*, user, today: dt.date | None = None) -> list[dict[str, Any]]:
    """For a city operator: per department, live / overdue / closed orders."""
    if not is_city_operator(user):
        return []
    today = today or timezone.localdate()
    live = [OrderStatus.OPEN, OrderStatus.VERIFIED, OrderStatus.RECTIFIED, OrderStatus.REPLIED]
    rows = (
        WorkOrder.objects.values("department__code", "department__name")
        .annotate(
            live=Count("id", filter=Q(status__in=live)),
            overdue=Count("id", filter=Q(status__in=live, deadline__lt=today)),
            closed=Count("id", filter=Q(status=OrderStatus.CLOSED)),
        )
        .order_by("department__code")
    )
    return list(rows)


def is_reviews_staff(user) -> bool:
    """Who may open the 差评整改 pages: a department's handlers (their orders) and city
    operators (every order, and the appeals they decide). The staff shell shows the link on
    the same test."""
    return bool(_departments_of(user)) or is_city_operator(user)


# ---------------------------------------------------------------- 投诉建议


def _complaint_status_label(c: Complaint, order: WorkOrder | None) -> str:
    if order is None:
        return "已收到，待分派责任部门"
    labels = (
        SUGGESTION_STATUS_LABELS if c.kind == ComplaintKind.SUGGESTION else COMPLAINT_STATUS_LABELS
    )
    if order.status == OrderStatus.REPLIED and c.source != ComplaintSource.ONLINE:
        return "已答复，待回访"
    return labels[order.status]


def _mine_row(c: Complaint, user) -> dict[str, Any]:
    order = getattr(c, "order", None)
    mine = c.filer_id == user.pk
    return {
        "id": c.pk,
        "kind": c.kind,
        "kind_label": c.get_kind_display(),
        "source_label": c.get_source_display(),
        "about_label": _about_label(c),
        "text": c.text,
        "received_at": c.received_at,
        "deadline": c.deadline,
        "department": c.department.name if c.department_id else "",
        "enterprise": c.enterprise.name if c.enterprise_id else "",
        "status": order.status if order else "triage",
        "status_label": _complaint_status_label(c, order),
        "reply": order.reply if order and order.replied_at else "",
        "adoption_label": order.get_adoption_display() if order and order.adoption else "",
        "replied_at": order.replied_at if order else None,
        "verdict": order.verdict if order else "",
        "verdict_label": order.get_verdict_display() if order and order.verdict else "",
        # The verdict is the filer's: the enterprise's managers read the complaint, not rate it.
        "filed_by_me": mine,
        "verdict_open": bool(
            mine
            and order
            and order.status == OrderStatus.REPLIED
            and c.source == ComplaintSource.ONLINE
        ),
    }


def _own_complaints(user):
    """The user's own complaints, and those filed in the name of an enterprise whose legal
    representative or administrator they are now: a complaint in its name is the
    enterprise's business, whichever of its agents typed it."""
    from tongban.accounts.selectors import NEED_MANAGE, enterprise_ids_with_authority

    if not getattr(user, "is_authenticated", False):
        return Complaint.objects.none()
    visible = Q(filer=user)
    managed = enterprise_ids_with_authority(user=user, need=NEED_MANAGE)
    if managed:
        visible |= Q(enterprise_id__in=managed)
    return (
        Complaint.objects.filter(visible)
        .select_related("department", "order", "enterprise")
        .order_by("-received_at", "-pk")
    )


def my_complaints(*, user) -> list[dict[str, Any]]:
    """我的投诉建议: the user's own complaints and suggestions (and their enterprises'),
    newest first."""
    return [_mine_row(c, user) for c in _own_complaints(user)[:100]]


def my_complaint(*, user, complaint_id: int) -> dict[str, Any] | None:
    """One of the user's complaints with its log; None for anyone else's."""
    c = _own_complaints(user).filter(pk=safe_pk(complaint_id)).first()
    if c is None:
        return None
    row = _mine_row(c, user)
    order = getattr(c, "order", None)
    # The filer reads who acted by role (the department, the city's operators, themselves),
    # never a staff account; internal flags (overdue) are the department's business.
    by_role = {
        "assigned": "城市运营",
        "transferred": "原办理部门",
        "callback": "回访",
        "verdict": "您" if row["filed_by_me"] else "提交人",
    }
    row["events"] = [
        {
            **e,
            "actor": by_role.get(e["action"])
            or ("系统" if e["actor"] == "系统" else row["department"]),
        }
        for e in (_events(order) if order else [])
        if e["action"] != "overdue"
    ]
    return row


def triage_queue(*, user) -> list[dict[str, Any]]:
    """待分派: complaints about 其他 (or a hall nobody runs) for a city operator to route."""
    if not is_city_operator(user):
        return []
    return [
        {
            "id": c.pk,
            "kind_label": c.get_kind_display(),
            "source_label": c.get_source_display(),
            "about_label": _about_label(c),
            "text": _masked_text(c),
            "external_ref": c.external_ref,
            "received_at": c.received_at,
            "deadline": c.deadline,
        }
        for c in Complaint.objects.filter(status=ComplaintStatus.TRIAGE)
        .select_related("filer")
        .order_by("deadline", "pk")
    ]


def complaint_contact(*, user, order_id: int, purpose: str) -> dict[str, str] | None:
    """The name and telephone of a forwarded or 现场 complaint's caller, for its handlers
    (to contact them) or a city operator (回访). Every read is audited with its purpose;
    online filers are never revealed (they are answered through the platform)."""
    from tongban.common.services import audit_record

    order = (
        WorkOrder.objects.select_related("complaint")
        .filter(pk=safe_pk(order_id), complaint__isnull=False)
        .first()
    )
    if order is None or order.complaint.source == ComplaintSource.ONLINE:
        return None
    if not is_city_operator(user) and order.department_id not in _departments_of(user):
        return None
    c = order.complaint
    audit_record(
        actor=user,
        action="personal_data.read",
        object_type="reviews.complaint",
        object_id=c.pk,
        purpose=purpose,
        data={"fields": ["contact_name", "contact_phone"], "order": order.pk},
    )
    return {"name": c.contact_name, "phone": c.contact_phone}


def complaint_about_choices() -> dict[str, Any]:
    """What a complaint can be about, for the form: service items grouped by department,
    halls, policies — names people recognise, never codes."""
    from tongban.appointments.models import Hall
    from tongban.catalog.models import ServiceItem
    from tongban.policies.models import Policy

    groups: dict[str, list[tuple[str, str]]] = {}
    for code, name, dept in ServiceItem.objects.order_by("department__name", "name").values_list(
        "code", "name", "department__name"
    ):
        groups.setdefault(dept, []).append((code, name))
    return {
        "items": list(groups.items()),
        "halls": list(
            Hall.objects.filter(is_active=True).order_by("name").values_list("code", "name")
        ),
        "policies": list(
            Policy.objects.filter(is_active=True).order_by("name").values_list("code", "name")
        ),
    }


def department_choices() -> list[tuple[str, str]]:
    from tongban.catalog.models import Department

    return list(Department.objects.order_by("name").values_list("code", "name"))


def _complaint_row(key: str, name: str, agg: dict[str, int]) -> dict[str, Any]:
    return {
        "code": key,
        "name": name,
        "received": agg["received"],
        "closed": agg["closed"],
        "on_time": agg["on_time"],
        "on_time_rate": rate(agg["on_time"], agg["closed"]),
        "judged": agg["judged"],
        "satisfied": agg["satisfied"],
        "satisfaction_rate": rate(agg["satisfied"], agg["judged"]),
    }


COMPLAINT_AGGREGATES = {
    "received": Count("id", distinct=True),
    "closed": Count("order__id", filter=Q(order__status=OrderStatus.CLOSED)),
    "on_time": Count(
        "order__id", filter=Q(order__status=OrderStatus.CLOSED, order__closed_on_time=True)
    ),
    # Only a closed order's verdict is final (a first 不满意 reopens it).
    "judged": Count(
        "order__id", filter=Q(order__status=OrderStatus.CLOSED) & ~Q(order__verdict="")
    ),
    "satisfied": Count(
        "order__id", filter=Q(order__status=OrderStatus.CLOSED, order__verdict="satisfied")
    ),
}


def complaint_stats(*, period: str = "all") -> dict[str, Any]:
    """Public figures of 投诉建议, by department and by source: received, closed, closed on
    time (on_time_rate = on time / closed), and the filers' satisfaction (satisfaction_rate
    = 满意 verdicts / verdicts given, the final verdict of each). Complaints still in triage
    count as received under 待分派. No text and no filer is ever part of them."""
    bounds = period_bounds(period)
    qs = Complaint.objects.all()
    if bounds:
        qs = qs.filter(received_at__gte=bounds[0], received_at__lt=bounds[1])
    total = qs.aggregate(**COMPLAINT_AGGREGATES)
    by_department = [
        _complaint_row(g["department__code"] or "", g["department__name"] or "待分派", g)
        for g in qs.values("department__code", "department__name")
        .annotate(**COMPLAINT_AGGREGATES)
        # 待分派 (no department) first on every database.
        .order_by(F("department__code").asc(nulls_first=True))
    ]
    sources = dict(ComplaintSource.choices)
    by_source = [
        _complaint_row(g["source"], sources[g["source"]], g)
        for g in qs.values("source").annotate(**COMPLAINT_AGGREGATES).order_by("source")
    ]
    kinds = dict(ComplaintKind.choices)
    by_kind = [
        _complaint_row(g["kind"], kinds[g["kind"]], g)
        for g in qs.values("kind").annotate(**COMPLAINT_AGGREGATES).order_by("kind")
    ]
    return {
        "period": period or "all",
        "total": _complaint_row("", "全部", total),
        "by_department": by_department,
        "by_source": by_source,
        "by_kind": by_kind,
    }
