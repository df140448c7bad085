"""Reads of 告知承诺事后核查 for pages and the API: the department's queue, one check, the
person's credit record, and the line a case page shows."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Value, When

from tongban.accounts.models import StaffAssignment, User
from tongban.accounts.selectors import MANAGER_ROLES, live_memberships, resident_profile_of
from tongban.commitment_checks.models import (
    CheckStage,
    CheckStatus,
    CommitmentCheck,
    CreditRecord,
    FollowUp,
    FollowUpStatus,
)
from tongban.commitment_checks.services import (
    VIEWER_ROLES,
    may_decide,
    may_revoke,
    may_view,
)

QUEUE_LIMIT = 200


def viewer_department_ids(user: User | None) -> list[int]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    return sorted(
        set(
            StaffAssignment.objects.filter(user=user, role__in=VIEWER_ROLES).values_list(
                "department_id", flat=True
            )
        )
    )


def _row(check: CommitmentCheck) -> dict[str, Any]:
    follow_up = getattr(check, "follow_up", None) if check.status == CheckStatus.FALSE else None
    return {
        "id": check.pk,
        "receipt_no": check.case.receipt_no,
        "case_name": check.case.name,
        "item_code": check.item_code,
        "item_name": check.item_name,
        "material_code": check.material_code,
        "material_name": check.material_name,
        "commitment_text": check.commitment_text,
        "department": check.department.name,
        "department_code": check.department.code,
        "reason": check.reason,
        "reason_label": check.get_reason_display(),
        "source_name": check.source_name,
        "status": check.status,
        "status_label": check.get_status_display(),
        "stage": check.stage if check.status == CheckStatus.PENDING else "",
        "stage_label": check.get_stage_display() if check.status == CheckStatus.PENDING else "",
        "attempts": check.attempts,
        "last_error": check.last_error,
        "checked_by": check.checked_by_label
        or (
            check.checked_by.display_name or check.checked_by.get_username()
            if check.checked_by
            else ""
        ),
        "checked_at": check.checked_at,
        "note": check.note,
        "evidence": dict(check.evidence or {}),
        "created_at": check.created_at,
        "follow_up": (
            {
                "id": follow_up.pk,
                "status": follow_up.status,
                "status_label": follow_up.get_status_display(),
                "closed_at": follow_up.closed_at,
                "revoked_serials": list(follow_up.revoked_serials),
                "note": follow_up.note,
            }
            if follow_up is not None
            else None
        ),
    }


def check_queue_for(*, user: User | None, status: str = "open") -> list[dict[str, Any]]:
    """The checks of USER's departments: open ones (a person's turn first, then those waiting
    on a source), or decided ones newest first. Nothing for anyone without a post there."""
    departments = viewer_department_ids(user)
    if not departments:
        return []
    rows = CommitmentCheck.objects.filter(department_id__in=departments).select_related(
        "case", "department", "checked_by", "follow_up"
    )
    if status == "open":
        rows = rows.filter(status=CheckStatus.PENDING).order_by(
            Case(
                When(stage=CheckStage.PERSON, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            "created_at",
            "pk",
        )
    elif status == "follow_up":
        rows = rows.filter(
            status=CheckStatus.FALSE, follow_up__status=FollowUpStatus.OPEN
        ).order_by("checked_at", "pk")
    else:
        rows = rows.exclude(status=CheckStatus.PENDING).order_by("-checked_at", "-pk")
    return [_row(c) for c in rows[:QUEUE_LIMIT]]


def check_for(*, user: User | None, check_id: int) -> dict[str, Any] | None:
    """One check, with what USER may do to it; None when it is not theirs to see."""
    check = (
        CommitmentCheck.objects.select_related("case", "department", "checked_by")
        .filter(pk=check_id)
        .first()
    )
    if check is None or not may_view(user, check.department_id):
        return None
    row = _row(check)
    row["may_decide"] = check.status == CheckStatus.PENDING and may_decide(
        user, check.department_id
    )
    follow_up = row["follow_up"]
    row["may_revoke"] = bool(
        follow_up
        and follow_up["status"] == FollowUpStatus.OPEN
        and may_revoke(user, check.department_id)
    )
    # 信用记录 of the same applicant, for the department's judgement.
    case = check.case
    records = CreditRecord.objects.select_related("department", "case")
    if case.enterprise_id:
        records = records.filter(enterprise_id=case.enterprise_id)
    elif case.applicant_profile_id:
        records = records.filter(profile_id=case.applicant_profile_id)
    else:
        records = records.none()
    row["credit_records"] = [_credit_row(r) for r in records.order_by("-recorded_on", "-pk")]
    return row


def follow_up_of_check(check_id: int) -> FollowUp | None:
    return FollowUp.objects.filter(check_row_id=check_id).first()


def _credit_row(record: CreditRecord) -> dict[str, Any]:
    return {
        "id": record.pk,
        "kind": record.kind,
        "kind_label": record.get_kind_display(),
        "recorded_on": record.recorded_on,
        "department": record.department.name,
        "receipt_no": record.case.receipt_no,
        "case_name": record.case.name,
        "reason": record.reason,
        "enterprise": record.enterprise.name if record.enterprise_id else "",
    }


def credit_records_for(*, user: User | None) -> list[dict[str, Any]]:
    """我的信用记录: the user's own entries and those of enterprises they manage."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    profile = resident_profile_of(user)
    enterprise_ids = list(
        live_memberships()
        .filter(user=user, role__in=MANAGER_ROLES)
        .values_list("enterprise_id", flat=True)
    )
    rows = CreditRecord.objects.select_related("department", "case", "enterprise")
    from django.db.models import Q

    q = Q(enterprise_id__in=enterprise_ids)
    if profile is not None:
        q |= Q(profile=profile)
    return [_credit_row(r) for r in rows.filter(q).order_by("-recorded_on", "-pk")]


def false_check_notice_for_case(*, user: User | None, receipt_no: str) -> dict[str, Any] | None:
    """The one line a case page shows its applicant when a commitment of the case was found
    false: which material, and where to read the record and how to object."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    check = (
        CommitmentCheck.objects.filter(
            case__receipt_no=receipt_no, case__applicant=user, status=CheckStatus.FALSE
        )
        .order_by("checked_at", "pk")
        .first()
    )
    if check is None:
        return None
    return {"material_name": check.material_name, "checked_at": check.checked_at}
