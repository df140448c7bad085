"""Every read of 亲友代办 for pages and the API, and the one rule "may X act for Y for item Z
now" (`delegation_for_acting`), which the guide, the form and case_submit all ask."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone

from tongban.accounts.models import ResidentProfile, User
from tongban.common.services import audit_record
from tongban.delegation.errors import DelegationNotFound, DelegationNotValid
from tongban.delegation.models import Delegation, DelegationState, RecordedVia

# What the form reads of the 被代办人 when a 代办人 fills it in: the purpose the principal
# reads on 我的数据使用记录.
ACTING_PURPOSE = "亲友代办：为被代办人填写申请"


def today() -> dt.date:
    return timezone.localdate()


def _active(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def _profile_of(user: User | None) -> ResidentProfile | None:
    if not _active(user):
        return None
    return ResidentProfile.objects.filter(user=user).first()


def _live(on: dt.date) -> Q:
    return Q(state=DelegationState.ACTIVE, valid_until__gte=on)


def delegation_for_acting(
    *,
    user: User | None,
    delegation_id: Any,
    code: str | None = None,
    on: dt.date | None = None,
    lock: bool = False,
) -> Delegation:
    """The authorisation USER holds to act for its 被代办人 — for CODE (an item or bundle)
    when given — now: accepted by USER, neither revoked nor past its end date. Anything else
    is DELEGATION_NOT_VALID (403), the same answer whatever the reason, so a probe learns
    nothing about authorisations that are not the caller's. LOCK takes the row for update:
    case_submit asks inside its transaction so a revocation cannot slip between check and
    write."""
    if not _active(user):
        raise DelegationNotValid()
    try:
        pk = int(str(delegation_id).strip())
    except (TypeError, ValueError):
        raise DelegationNotValid() from None
    rows = Delegation.objects.filter(_live(on or today()), pk=pk, agent_user=user)
    if lock:
        rows = rows.select_for_update(of=("self",))
    found = rows.select_related("principal", "principal__user").first()
    if found is None or (code is not None and not found.covers(code)):
        raise DelegationNotValid()
    return found


def may_act_for(
    *, user: User | None, principal: ResidentProfile, code: str, on: dt.date | None = None
) -> bool:
    """May USER act for PRINCIPAL for item or bundle CODE on ON (today)?"""
    if not _active(user):
        return False
    rows = Delegation.objects.filter(_live(on or today()), principal=principal, agent_user=user)
    return any(d.covers(code) for d in rows)


def principal_profile_read(
    *, user: User, delegation: Delegation, code: str, ip_address: str | None = None
) -> ResidentProfile:
    """The 被代办人's profile for the guide and the form's prefill, the read logged on their
    我的数据使用记录 with its purpose and the 代办人's name. The caller has checked the
    authorisation (delegation_for_acting)."""
    profile = delegation.principal
    audit_record(
        actor=user,
        action="personal_data.read",
        object_type="delegation",
        object_id=delegation.pk,
        subject_resident_id=profile.pk,
        purpose=ACTING_PURPOSE,
        ip_address=ip_address,
        data={
            "use": "delegation_prefill",
            "code": code,
            # What the form may prefill from 一人一档 (and the certificates' claims).
            "fields": ["name", "id_number", "phone", "sex", "birth_date", "residence_address"],
            "certificates": True,
            "post": f"代办人{delegation.agent_name}",
        },
    )
    return profile


def _label_items(codes: list[str]) -> list[str]:
    from tongban.catalog.selectors import bundle_list, item_list

    names = {b.code: b.name for b in bundle_list()} | {i.code: i.name for i in item_list()}
    return [names.get(c, c) for c in codes]


def _row(d: Delegation, on: dt.date, *, for_principal: bool) -> dict[str, Any]:
    state = d.state_now(on)
    agent_profile = (
        ResidentProfile.objects.filter(user_id=d.agent_user_id).first() if d.agent_user_id else None
    )
    return {
        "id": d.pk,
        "principal_name": d.principal.name,
        "agent_name": d.agent_name
        if for_principal
        else (agent_profile.name if agent_profile else d.agent_name),
        "scope_all": not d.items,
        "scope": _label_items(list(d.items)),
        "scope_text": "全部事项" if not d.items else "、".join(_label_items(list(d.items))),
        "valid_until": d.valid_until,
        "state": state,
        "state_label": DelegationState(state).label,
        "live": state == DelegationState.ACTIVE,
        "open": state in (DelegationState.ACTIVE, DelegationState.PROPOSED),
        "recorded_via_label": RecordedVia(d.recorded_via).label,
        "created_at": d.created_at,
        "accepted_at": d.accepted_at,
        "revoked_at": d.revoked_at,
    }


def delegations_given(*, user: User | None) -> list[dict[str, Any]]:
    """我的授权: whom the signed-in resident has authorised, newest first, every state."""
    profile = _profile_of(user)
    if profile is None:
        return []
    on = today()
    rows = Delegation.objects.filter(principal=profile).select_related("principal")
    return [_row(d, on, for_principal=True) for d in rows.order_by("-created_at", "-pk")]


def delegation_invitations(*, user: User | None) -> list[dict[str, Any]]:
    """Invitations waiting for the signed-in resident: rows naming their ID number and their
    name, neither past the end date nor answered."""
    profile = _profile_of(user)
    if profile is None:
        return []
    on = today()
    rows = Delegation.objects.filter(
        agent_id_hash=profile.id_number_hash,
        agent_name=profile.name,
        state=DelegationState.PROPOSED,
        valid_until__gte=on,
    ).exclude(principal=profile)
    return [
        _row(d, on, for_principal=False)
        for d in rows.select_related("principal").order_by("-created_at", "-pk")
    ]


def delegations_received(*, user: User | None, live_only: bool = False) -> list[dict[str, Any]]:
    """为谁办理: the people the signed-in resident has accepted to act for, live first."""
    if not _active(user):
        return []
    on = today()
    rows = Delegation.objects.filter(agent_user=user).select_related("principal")
    if live_only:
        rows = rows.filter(_live(on))
    out = [_row(d, on, for_principal=False) for d in rows.order_by("-accepted_at", "-pk")]
    out.sort(key=lambda r: not r["live"])
    return out


def delegation_for_party(*, user: User | None, delegation_id: Any) -> Delegation:
    """A row the signed-in resident is a party to (its 被代办人, or the 代办人 who accepted
    or is invited); anyone else is told it does not exist."""
    profile = _profile_of(user)
    try:
        pk = int(str(delegation_id))
    except (TypeError, ValueError):
        raise DelegationNotFound() from None
    if profile is None:
        raise DelegationNotFound()
    found = (
        Delegation.objects.filter(pk=pk)
        .filter(
            Q(principal=profile)
            | Q(agent_user=user)
            | Q(agent_id_hash=profile.id_number_hash, agent_name=profile.name, agent_user=None)
        )
        .select_related("principal")
        .first()
    )
    if found is None:
        raise DelegationNotFound()
    return found


def acting_name(user_id: int | None) -> str:
    """The 代办人 as the 被代办人's case list names them: the name on their 一人一档 (the
    person they chose, so nothing is hidden from them)."""
    if user_id is None:
        return ""
    profile = ResidentProfile.objects.filter(user_id=user_id).only("name").first()
    return profile.name if profile else ""


def delegations_of_principal(*, principal: ResidentProfile) -> list[dict[str, Any]]:
    """The authorisations of a resident identified at a counter (the clerk's caller checked
    that), newest first."""
    on = today()
    rows = Delegation.objects.filter(principal=principal).select_related("principal")
    return [_row(d, on, for_principal=True) for d in rows.order_by("-created_at", "-pk")]


def acting_overview(*, user: User, delegation: Delegation) -> dict[str, Any]:
    """为 X 办理: what USER may do for the 被代办人 under DELEGATION (checked live by the
    caller): the services in scope, each opening the form for them, and the cases USER filed
    for them under it. Nothing else of the 被代办人 is shown."""
    from tongban.cases.models import Application
    from tongban.catalog.selectors import bundle_list, item_list

    bundles = [b for b in bundle_list(subject="person") if delegation.covers(b.code)]
    items = [i for i in item_list(subject="person") if delegation.covers(i.code)]
    cases = (
        Application.objects.filter(acted_by=user, delegation=delegation)
        .order_by("-submitted_at", "-pk")
        .values("receipt_no", "name", "status", "submitted_at")[:50]
    )
    from tongban.cases.models import CaseStatus

    labels = dict(CaseStatus.choices)
    return {
        "delegation": _row(delegation, today(), for_principal=False),
        "bundles": [{"code": b.code, "name": b.name} for b in bundles],
        "items": [{"code": i.code, "name": i.name} for i in items],
        "cases": [{**c, "status_label": labels.get(c["status"], "")} for c in cases],
    }


def delegation_row(d: Delegation) -> dict[str, Any]:
    """One row as its parties read it (the caller found it with delegation_for_party)."""
    return _row(d, today(), for_principal=True)
