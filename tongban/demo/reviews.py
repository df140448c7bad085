"""示例好差评: a few dozen synthetic ratings so the public figures page is not empty.

Ratings are made with the real service (rating_create) over synthetic concluded online cases
written as rows (running the whole case engine for each would cost seconds). One 差评 order
is taken through to a published reply; the others stay open for the demo leads. Idempotent:
the cases are keyed by idempotency_key "demo-review-<n>", so a second run adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import ResidentProfile, StaffAssignment, StaffRole
from tongban.cases.models import Application, Task, TaskStatus
from tongban.cases.receipt import receipt_new
from tongban.catalog.models import ServiceItem
from tongban.common.calendar import add_working_days

COUNT = 36
KEY = "demo-review-"
COMMENTS = {
    5: ["办理很快，全程网办（示例）", "指南清楚，一次办成（示例）"],
    4: ["整体顺利（示例）", ""],
    3: ["等待时间略长（示例）", ""],
    2: ["材料要求说明不够清楚（示例）"],
    1: ["页面多次提交失败（示例）"],
}
LEVELS = [5] * 16 + [4] * 10 + [3] * 5 + [2] * 3 + [1] * 2


def ensure_demo_reviews(*, seed: int = 2026) -> int:
    """Create the demo ratings if missing; returns how many were created."""
    from tongban.reviews.services import order_rectify, order_reply, order_verify, rating_create

    if Application.objects.filter(idempotency_key__startswith=KEY).exists():
        return 0
    items = list(ServiceItem.objects.select_related("department").order_by("code")[:6])
    raters = list(
        ResidentProfile.objects.filter(user__isnull=False, is_synthetic=True)
        .select_related("user")
        .order_by("pk")[:COUNT]
    )
    if not items or not raters:
        return 0
    rng = random.Random(seed)
    now = timezone.now()
    created = 0
    with transaction.atomic():
        levels = list(LEVELS)
        rng.shuffle(levels)
        for n, level in enumerate(levels):
            item, profile = items[n % len(items)], raters[n % len(raters)]
            at = now - dt.timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 8))
            case = Application.objects.create(
                receipt_no=receipt_new(on=timezone.localdate(at)),
                kind="item",
                code=item.code,
                version=1,
                name=f"{item.name}（示例）"[:80],
                applicant=profile.user,
                applicant_profile=profile,
                lead_department=item.department,
                status="archived",
                outcome="approved",
                idempotency_key=f"{KEY}{n}",
                request_fingerprint="demo",
                submitted_at=at - dt.timedelta(days=2),
                accepted_at=at - dt.timedelta(days=2),
                concluded_at=at,
            )
            Task.objects.create(
                case=case,
                item_code=item.code,
                item_version=1,
                item_name=item.name[:80],
                department=item.department,
                status=TaskStatus.APPROVED,
                decided_at=at,
            )
            rating_create(
                rater=profile.user,
                receipt_no=case.receipt_no,
                level=level,
                comment=rng.choice(COMMENTS[level]),
                now=at,
            )
            created += 1
        # One 差评 answered in full, so the public page shows a published reply.
        first_bad = (
            Application.objects.filter(idempotency_key__startswith=KEY)
            .filter(pk__in=Task.objects.values("case_id"))
            .order_by("pk")
        )
        from tongban.reviews.models import WorkOrder

        order = WorkOrder.objects.filter(rating__case__in=first_bad).order_by("pk").first()
        lead = (
            StaffAssignment.objects.filter(
                department_id=order.department_id,
                role__in=[StaffRole.DEPARTMENT_LEAD, StaffRole.ACCEPTOR],
            ).first()
            if order
            else None
        )
        if order and lead:
            order_verify(
                actor=lead.user,
                order_id=order.pk,
                classification="materials",
                finding="办事指南对材料格式的说明不够具体（示例）",
            )
            order_rectify(
                actor=lead.user, order_id=order.pk, measures="已修订指南并增加样表（示例）"
            )
            order_reply(
                actor=lead.user,
                order_id=order.pk,
                reply="感谢您的反馈，我们已修订办事指南并增加填写样表（示例）。",
            )
    return created


COMPLAINT_KEY = "demo-complaint-"
DEMO_COMPLAINTS = [
    ("complaint", "窗口工作人员未一次性告知所需材料，来回跑了两次（示例）"),
    ("suggestion", "建议在周末增开一个综合窗口（示例）"),
    ("complaint", "网上申报页面上传材料时多次失败（示例）"),
]


def ensure_demo_complaints() -> int:
    """示例投诉建议: three filed online by synthetic residents about demo items, and one
    forwarded by the 12345 hotline and recorded by the demo city operator, so the figures
    and the staff queue are not empty. Idempotent by idempotency key."""
    from tongban.reviews.models import Complaint
    from tongban.reviews.services import complaint_file, complaint_record

    if Complaint.objects.filter(idempotency_key__startswith=COMPLAINT_KEY).exists():
        return 0
    items = list(ServiceItem.objects.order_by("code")[:3])
    raters = list(
        ResidentProfile.objects.filter(user__isnull=False, is_synthetic=True)
        .select_related("user")
        .order_by("pk")[:3]
    )
    if not items or not raters:
        return 0
    created = 0
    with transaction.atomic():
        for n, (kind, text) in enumerate(DEMO_COMPLAINTS):
            complaint_file(
                filer=raters[n % len(raters)].user,
                kind=kind,
                about="item",
                about_code=items[n % len(items)].code,
                text=text,
                idempotency_key=f"{COMPLAINT_KEY}{n}",
            )
            created += 1
        operator = StaffAssignment.objects.filter(role=StaffRole.CITY_OPERATOR).first()
        if operator is not None:
            complaint_record(
                actor=operator.user,
                kind="complaint",
                source="hotline",
                about="other",
                text="来电反映小区周边施工噪声扰民，希望有关部门处理（示例）",
                contact_name="示例来电人",
                contact_phone="13800000000",
                external_ref="DEMO-12345-0001",
                deadline=add_working_days(timezone.now(), 10),
                idempotency_key=f"{COMPLAINT_KEY}hotline",
            )
            created += 1
    return created
