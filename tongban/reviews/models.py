"""Rows of 好差评: service encounters, ratings, 差评 rectification work orders, appeals.

The rater (`Rating.rater`) is stored so that one person rates once and can read the reply,
but no staff-facing selector ever returns it; staff and the public read `comment_public`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tongban.common.fields import EncryptedTextField


class RatingChannel(models.TextChoices):
    ONLINE = "online", "网上办事"
    IN_PERSON = "in_person", "现场服务"
    # 在线客服 conversations (tongban/helpdesk) rated like any other service: no case.
    CONSULTATION = "consultation", "咨询服务"


class EncounterKind(models.TextChoices):
    FILING = "filing", "窗口帮办受理"
    HANDOUT = "handout", "窗口出件"


LEVEL_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
INDICATORS = {
    RatingChannel.ONLINE: {
        "efficiency": "办事效率",
        "guide_accuracy": "指南准确",
        "convenience": "便捷程度",
        "usability": "平台易用",
    },
    RatingChannel.IN_PERSON: {
        "efficiency": "办事效率",
        "service_level": "服务水平",
        "attitude": "服务态度",
    },
    RatingChannel.CONSULTATION: {
        "response_speed": "响应速度",
        "answer_accuracy": "解答准确",
        "attitude": "服务态度",
    },
}


class ServiceEncounter(models.Model):
    """现场服务 — one counter service (帮办受理 or 出件) a person received: what 一次一评 rates.

    Derived from the case (filed_by/hall, handed_out_by/handed_out_at) the first time it is
    rated, so the case engine needs no knowledge of reviews."""

    case = models.ForeignKey("cases.Application", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=EncounterKind.choices)
    hall = models.ForeignKey(
        "appointments.Hall", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    window = models.ForeignKey(
        "appointments.Window", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "kind"], name="encounter_one_per_case_kind")
        ]


class Rating(models.Model):
    """评价 — one rating: 一事一评 (a concluded online case), 一次一评 (a counter service) or
    咨询服务 (one 在线客服 conversation, named by `reference` such as "helpdesk:12"; no case).

    `department` is the responsible department (the case's lead department online; the
    serving clerk's department in person); it receives the 差评 work order. Per-item and
    per-department figures read `RatingSubject`. `excluded` is set only by an approved
    appeal (申诉复核): the row stays, the figures leave it out."""

    channel = models.CharField(max_length=12, choices=RatingChannel.choices)
    case = models.ForeignKey(
        "cases.Application", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    encounter = models.OneToOneField(
        ServiceEncounter, null=True, blank=True, on_delete=models.PROTECT, related_name="rating"
    )
    # What a consultation rating rates ("helpdesk:<conversation id>"); empty for the others.
    reference = models.CharField(max_length=64, blank=True)
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField()
    indicators = models.JSONField(default=dict)
    comment = models.TextField(blank=True)
    comment_public = models.TextField(blank=True)  # anonymised: what staff and public read
    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")
    hall = models.ForeignKey(
        "appointments.Hall", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    window = models.ForeignKey(
        "appointments.Window", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    excluded = models.BooleanField(default=False)
    excluded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(channel="online"),
                name="rating_one_online_per_case",
            ),
            models.UniqueConstraint(
                fields=["rater", "reference"],
                condition=Q(channel="consultation"),
                name="rating_one_consultation_per_rater_ref",
            ),
            models.CheckConstraint(
                condition=Q(level__gte=1) & Q(level__lte=5), name="rating_level_1_to_5"
            ),
            # A consultation names its conversation; every other channel rates a case.
            models.CheckConstraint(
                condition=(Q(channel="consultation") & ~Q(reference=""))
                | (~Q(channel="consultation") & Q(case__isnull=False)),
                name="rating_case_or_reference",
            ),
        ]
        indexes = [
            models.Index(fields=["rater", "-created_at"], name="rating_rater_recent"),
            models.Index(fields=["created_at"], name="rating_created"),
            models.Index(fields=["excluded_at"], name="rating_excluded"),  # 服务指标
        ]

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS.get(self.level, "")


class RatingSubject(models.Model):
    """What a rating counts for: one row per (item, department). Online, one per decided task
    of the case, so every department that decided a task is attributed the rating; in person,
    the case's items with the responsible department."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="subjects")
    item_code = models.CharField(max_length=64)
    item_name = models.CharField(max_length=80)
    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rating", "item_code", "department"], name="rating_subject_unique"
            )
        ]
        indexes = [
            models.Index(fields=["item_code"], name="rating_subject_item"),
            models.Index(fields=["department"], name="rating_subject_dept"),
        ]


class OrderStatus(models.TextChoices):
    OPEN = "open", "待核实"
    VERIFIED = "verified", "已核实，待整改"
    RECTIFIED = "rectified", "已整改，待回复"
    REPLIED = "replied", "已回复，待评价人确认"
    CLOSED = "closed", "已办结"
    WITHDRAWN = "withdrawn", "申诉成立，已撤销"


class Classification(models.TextChoices):
    ATTITUDE = "attitude", "服务态度"
    PROCESS = "process", "流程繁琐"
    MATERIALS = "materials", "材料要求"
    SYSTEM = "system", "系统问题"
    POLICY = "policy", "政策诉求"
    MISTAKEN = "mistaken", "误评"
    OTHER = "other", "其他"


class Verdict(models.TextChoices):
    SATISFIED = "satisfied", "满意"
    UNSATISFIED = "unsatisfied", "不满意"


class ComplaintKind(models.TextChoices):
    COMPLAINT = "complaint", "投诉"
    SUGGESTION = "suggestion", "建议"


class ComplaintSource(models.TextChoices):
    ONLINE = "online", "网上提交"
    HOTLINE = "hotline", "12345热线转办"
    STATE_COUNCIL = "state_council", "国务院办公厅转办"
    ON_SITE = "on_site", "现场"


# Forwarded complaints come with the forwarder's own number and deadline; the filer is reached
# by telephone, and their verdict is the 回访 (callback) staff record.
FORWARDED_SOURCES = (ComplaintSource.HOTLINE, ComplaintSource.STATE_COUNCIL)
EXTERNAL_REF_LABELS = {
    ComplaintSource.HOTLINE: "12345工单号",
    ComplaintSource.STATE_COUNCIL: "国办转办编号",
}


class ComplaintAbout(models.TextChoices):
    ITEM = "item", "办事服务"
    HALL = "hall", "政务服务大厅"
    POLICY = "policy", "政策"
    OTHER = "other", "其他"


class ComplaintStatus(models.TextChoices):
    TRIAGE = "triage", "待分派"
    ROUTED = "routed", "已分派"


class Complaint(models.Model):
    """投诉建议 — a complaint (投诉) or suggestion (建议) about a service, a hall or a policy,
    filed online by a resident or an enterprise agent, or recorded by a city operator from
    the 12345 hotline (12345热线转办), the State Council's channel (国务院办公厅转办, 国办督查
    平台) or in person (现场). Routed to the responsible department — by what it is about, or
    by a city operator from the triage queue (待分派) — and handled by one `WorkOrder`."""

    kind = models.CharField(max_length=10, choices=ComplaintKind.choices)
    source = models.CharField(max_length=14, choices=ComplaintSource.choices)
    about = models.CharField(max_length=8, choices=ComplaintAbout.choices)
    about_code = models.CharField(max_length=64, blank=True)
    about_name = models.CharField(max_length=120, blank=True)  # as it was called when filed
    text = EncryptedTextField("内容", context="reviews.complaint.text")
    filer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # 企业诉求: filed by an agent in the name of an enterprise they hold live authority for.
    # The department reads the enterprise's name (not personal data); the agent stays anonymous.
    enterprise = models.ForeignKey(
        "accounts.Enterprise", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Someone with no account (a hotline caller): how the department and the callback reach
    # them. Encrypted: a name and a telephone number.
    contact_name = EncryptedTextField(blank=True, default="", context="reviews.complaint.name")
    contact_phone = EncryptedTextField(blank=True, default="", context="reviews.complaint.phone")
    external_ref = models.CharField("外部编号", max_length=40, blank=True)
    department = models.ForeignKey(
        "catalog.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    deadline = models.DateField("办理期限")
    status = models.CharField(
        max_length=8, choices=ComplaintStatus.choices, default=ComplaintStatus.TRIAGE
    )
    received_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_ref"],
                condition=~Q(external_ref=""),
                name="complaint_external_ref_unique",
            ),
            models.UniqueConstraint(
                fields=["filer", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="complaint_filer_idempotency",
            ),
            models.UniqueConstraint(
                fields=["recorded_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="complaint_recorder_idempotency",
            ),
            models.CheckConstraint(
                condition=Q(status="triage") | Q(department__isnull=False),
                name="complaint_routed_has_department",
            ),
        ]
        indexes = [
            models.Index(fields=["filer", "-received_at"], name="complaint_filer_recent"),
            models.Index(fields=["status", "received_at"], name="complaint_queue"),
        ]

    @property
    def is_forwarded(self) -> bool:
        return self.source in FORWARDED_SOURCES


class Adoption(models.TextChoices):
    ADOPTED = "adopted", "采纳"
    NOT_ADOPTED = "not_adopted", "暂不采纳"


class WorkOrder(models.Model):
    """整改工单 — the handling of one 差评 (levels 1-2) or one 投诉建议 by the responsible
    department: the same steps, deadline and verdict for both. Exactly one of `rating` and
    `complaint` is set. A suggestion's order skips 整改: it is answered 采纳/暂不采纳
    (`adoption`) with reasons."""

    rating = models.OneToOneField(
        Rating, null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    complaint = models.OneToOneField(
        Complaint, null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    classification = models.CharField(max_length=10, choices=Classification.choices, blank=True)
    finding = models.TextField("核实情况", blank=True)
    measures = models.TextField("整改措施", blank=True)
    reply = models.TextField("回复评价人", blank=True)
    adoption = models.CharField(max_length=12, choices=Adoption.choices, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=12, choices=Verdict.choices, blank=True)
    # Set when the verdict is what a 回访 (callback by telephone) heard, recorded by staff.
    verdict_by_callback = models.BooleanField(default=False)
    reopened = models.PositiveSmallIntegerField(default=0)
    deadline = models.DateField("整改期限")
    created_at = models.DateTimeField()
    overdue_flagged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_on_time = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(rating__isnull=False) & Q(complaint__isnull=True))
                | (Q(rating__isnull=True) & Q(complaint__isnull=False)),
                name="order_rating_xor_complaint",
            )
        ]
        indexes = [
            models.Index(fields=["department", "status", "deadline"], name="order_queue"),
            # 服务指标: the orders opened and closed on a day.
            models.Index(fields=["created_at"], name="order_created"),
            models.Index(fields=["closed_at"], name="order_closed"),
        ]


# What each step of a work order is called where people read the log.
ORDER_ACTION_LABELS = {
    "opened": "生成整改工单",
    "verified": "核实",
    "rectified": "整改",
    "replied": "回复评价人",
    "closed": "办结",
    "verdict": "评价人表态",
    "withdrawn": "申诉成立，撤销工单",
    "overdue": "超过整改期限",
    "assigned": "分派责任部门",
    "transferred": "转办其他部门",
    "callback": "回访",
}


class OrderEvent(models.Model):
    """工单记录 — one step of a work order. The rater's own steps are labelled 评价人 here
    (staff read this log); the audit trail names the account."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["order", "at", "pk"]


class AppealReason(models.TextChoices):
    MISTAKEN = "mistaken", "误评"
    MALICIOUS = "malicious", "恶意差评"


class AppealStatus(models.TextChoices):
    PENDING = "pending", "待复核"
    APPROVED = "approved", "申诉成立"
    REJECTED = "rejected", "申诉不成立"


class Appeal(models.Model):
    """申诉复核 — a department's claim that a rating is mistaken or malicious, decided by a
    city operator. Only an approved appeal takes the rating out of the figures."""

    rating = models.ForeignKey(Rating, on_delete=models.PROTECT, related_name="appeals")
    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=10, choices=AppealReason.choices)
    statement = models.TextField()
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=AppealStatus.choices, default=AppealStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            # One open or upheld appeal per rating; a rejected one may be followed by another.
            models.UniqueConstraint(
                fields=["rating"],
                condition=Q(status__in=["pending", "approved"]),
                name="appeal_one_live_per_rating",
            )
        ]
