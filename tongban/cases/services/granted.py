"""免申即享 自动办结: a case the platform opens and concludes itself, because a policy found
someone eligible without an application (主动服务). Nobody applied, nobody reviewed: the
case records the decision, names the policy and its legal basis as the reason, and is
concluded at once, so that what the item issues (a certificate through the issuance hooks)
follows the one path every concluded case takes, and the person reads it in 我的办件.

The applicant is the platform's own inactive account (免申即享); whom the case is for is the
`applicant_profile` (or the enterprise), which is how its holder sees it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import Enterprise, ResidentProfile, User
from tongban.cases.models import (
    Application,
    CaseEvent,
    CaseKind,
    CaseOutcome,
    CaseStatus,
    Channel,
    Delivery,
    Task,
    TaskStatus,
)
from tongban.cases.receipt import receipt_new
from tongban.cases.services._common import _hooks_after_commit, _now
from tongban.catalog.models import Department, ServiceItem
from tongban.catalog.selectors import item_definition
from tongban.common.services import audit_record

AUTOMATIC_USERNAME = "system-policies"
AUTOMATIC_LABEL = "system:policies"  # shown as 免申即享（系统自动核定）


@dataclass(frozen=True)
class GrantedSubject:
    """Whom one automatic case is for, and the key that makes it once only."""

    key: str  # e.g. "policy:SH-MZJ-P001:p42"; one case per key, however often runs overlap
    profile: ResidentProfile | None = None
    enterprise: Enterprise | None = None


def automatic_applicant() -> User:
    """The account that files 免申即享 cases: inactive, no password, never logs in."""
    user, _ = User.objects.get_or_create(
        username=AUTOMATIC_USERNAME,
        defaults={
            "is_active": False,
            "display_name": "免申即享",
            "password": make_password(None),
        },
    )
    return user


def cases_conclude_granted(
    *, item_code: str, subjects: list[GrantedSubject], reason: str, actor_label: str
) -> dict[str, Application]:
    """Open and conclude one case of ITEM_CODE for each of SUBJECTS that has none yet (by its
    key), approved with REASON. Returns every subject's case by key, old and new. Joins the
    caller's transaction; the issuance hooks run for the new cases once it commits."""
    if not subjects:
        return {}
    definition = item_definition(item_code)
    item = ServiceItem.objects.select_related("current").get(code=item_code)
    department = Department.objects.get(code=definition.department)
    applicant = automatic_applicant()
    keys = [s.key for s in subjects]
    with transaction.atomic():
        existing = _by_key(applicant, keys)
        todo = [s for s in subjects if s.key not in existing]
        created = 0
        now = _now()
        plan = {
            "items": [
                {
                    "code": item_code,
                    "name": definition.name,
                    "version": item.current.version,
                    "department": definition.department,
                    "after": [],
                    "promised_days": 0,
                }
            ],
            "materials": [],  # 零材料: nothing was asked of anyone
            "fields": [],
            "promised_days": 0,
            "produced": [],
            "granted": {"reason": reason},
        }
        # A receipt number is random within the day; the rare clash is retried, never lost.
        for _attempt in range(5):
            if not todo:
                break
            rows = []
            for s in todo:
                case = Application(
                    receipt_no=receipt_new(on=now.date()),
                    kind=CaseKind.ITEM,
                    code=item_code,
                    version=item.current.version,
                    name=definition.name,
                    applicant=applicant,
                    applicant_profile=s.profile,
                    enterprise=s.enterprise,
                    channel=Channel.AUTOMATIC,
                    lead_department=department,
                    status=CaseStatus.ARCHIVED,
                    outcome=CaseOutcome.APPROVED,
                    answers={},
                    plan=plan,
                    delivery=Delivery.ONLINE,
                    idempotency_key=s.key,
                    request_fingerprint=hashlib.sha256(s.key.encode()).hexdigest(),
                    promised_date=timezone.localdate(now),
                    submitted_at=now,
                    accepted_at=now,
                    concluded_at=now,
                )
                case.form_data = {}
                rows.append(case)
            Application.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
            found = _by_key(applicant, [s.key for s in todo])
            # Ours are those with the numbers drawn here; a run overlapping this one may have
            # made some of the others, with their events, first.
            drawn = {c.receipt_no for c in rows}
            ours = [c for c in found.values() if c.receipt_no in drawn]
            _record(ours, department, definition, item.current.version, reason, now)
            if definition.outputs:  # what it issues follows; nothing to issue, nothing to queue
                for case in ours:
                    _hooks_after_commit(case, "issuance")
            created += len(ours)
            existing |= found
            todo = [s for s in todo if s.key not in existing]
        if todo:
            raise RuntimeError("受理编号连续冲突，未能建立免申即享办件")
        if created:
            audit_record(
                actor_label=actor_label,
                action="case.conclude_granted",
                object_type="item",
                object_id=item_code,
                purpose="免申即享",
                data={"cases": created, "reason": reason[:200]},
            )
    return existing


def _by_key(applicant: User, keys: list[str]) -> dict[str, Application]:
    found: dict[str, Application] = {}
    for start in range(0, len(keys), 2000):
        for case in Application.objects.filter(
            applicant=applicant, idempotency_key__in=keys[start : start + 2000]
        ):
            found[case.idempotency_key] = case
    return found


def _record(cases, department, definition, version, reason, now) -> None:
    """Each new case's life in one go: opened for the grant, accepted, its one item approved,
    concluded, archived — all by the platform, with the policy as the reason."""
    events, tasks = [], []
    steps = (
        ("granted_automatically", CaseStatus.SUBMITTED, reason, {"channel": Channel.AUTOMATIC}),
        ("accepted_auto", CaseStatus.ACCEPTED, "", {}),
        ("task_approved", "", reason, {"item": definition.code, "auto": True}),
        ("concluded", CaseStatus.CONCLUDED, "", {"outcome": CaseOutcome.APPROVED}),
        ("archived", CaseStatus.ARCHIVED, "", {}),
    )
    for case in cases:
        status = ""
        for seq, (action, to_status, why, data) in enumerate(steps, start=1):
            events.append(
                CaseEvent(
                    case=case,
                    seq=seq,
                    at=now,
                    actor=None,
                    actor_label=AUTOMATIC_LABEL,
                    action=action,
                    from_status=status if to_status else "",
                    to_status=to_status,
                    reason=why,
                    data=data,
                )
            )
            status = to_status or status
        tasks.append(
            Task(
                case=case,
                item_code=definition.code,
                item_version=version,
                item_name=definition.name,
                department=department,
                status=TaskStatus.APPROVED,
                decided_by_label=AUTOMATIC_LABEL,
                reason=reason,
                promised_days=0,
                released_at=now,
                decided_at=now,
                auto_decision={"policy": True},
            )
        )
    CaseEvent.objects.bulk_create(events, batch_size=2000)
    Task.objects.bulk_create(tasks, batch_size=2000)
