from __future__ import annotations

from typing import Any

from tongban.common.models import AuditEvent


def actor_label_for(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    return f"user:{user.pk}:{user.get_username()}"


def audit_record(
    *,
    actor=None,
    actor_label: str | None = None,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    subject_resident_id: int | None = None,
    subject_enterprise_id: int | None = None,
    purpose: str = "",
    ip_address: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row. Call inside the transaction of the change it records."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor_label or actor_label_for(actor),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        subject_resident_id=subject_resident_id,
        subject_enterprise_id=subject_enterprise_id,
        purpose=purpose,
        ip_address=ip_address,
        data=data or {},
    )
