"""Every write of 亲友代办: propose (本人网上授权), accept, decline, revoke (either side), and
the counter clerk's record for a resident present at a hall (综合窗口当面登记).

Each is one transaction with one audit row naming the actor, the 被代办人 (subject) and the
代办人 (by name, and by account once they accepted)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tongban.accounts.models import ResidentProfile, StaffAssignment, StaffRole, User
from tongban.accounts.selectors import resident_id_number_hash
from tongban.accounts.validators import parse_id_number
from tongban.appointments.models import Hall
from tongban.common.calendar import chinese_date
from tongban.common.errors import InvalidInput, PermissionDenied
from tongban.common.services import audit_record
from tongban.delegation.errors import (
    DelegationExists,
    DelegationInvalid,
    DelegationNotFound,
    DelegationNotPending,
    DelegationSelf,
)
from tongban.delegation.models import Delegation, DelegationState, RecordedVia
from tongban.delegation.selectors import today

# Long enough for an elderly parent not to return every year; short enough that an
# arrangement nobody remembers ends by itself.
MAX_VALID_YEARS = 3
NAME_MAX = 60
MAX_ITEMS = 50


def _max_until(on: dt.date) -> dt.date:
    try:
        return on.replace(year=on.year + MAX_VALID_YEARS)
    except ValueError:  # 29 February
        return on.replace(year=on.year + MAX_VALID_YEARS, day=28)


def _person_codes() -> set[str]:
    from tongban.catalog.selectors import bundle_list, item_list

    return {b.code for b in bundle_list(subject="person")} | {
        i.code for i in item_list(subject="person")
    }


def _clean(
    *, principal: ResidentProfile, agent_id_number: str, agent_name: str, items: Any, valid_until
) -> tuple[str, str, list[str], dt.date]:
    """All problems at once (DELEGATION_INVALID with details), or the clean values."""
    errors: list[dict[str, str]] = []
    agent_hash = ""
    try:
        agent_hash = resident_id_number_hash(parse_id_number(agent_id_number or "").number)
    except InvalidInput as exc:
        errors.append({"field": "agent_id_number", "message": exc.message})
    name = (agent_name or "").strip()
    if not name:
        errors.append({"field": "agent_name", "message": "请填写代办人姓名"})
    elif len(name) > NAME_MAX:
        errors.append({"field": "agent_name", "message": f"姓名不得超过{NAME_MAX}个字"})
    on = today()
    until = valid_until
    if isinstance(until, str):
        try:
            until = dt.date.fromisoformat(until.strip())
        except ValueError:
            until = None
    if not isinstance(until, dt.date):
        errors.append({"field": "valid_until", "message": "请按 YYYY-MM-DD 填写授权截止日期"})
    elif until < on:
        errors.append({"field": "valid_until", "message": "授权截止日期不能早于今天"})
    elif until > _max_until(on):
        errors.append(
            {"field": "valid_until", "message": f"授权期限最长{MAX_VALID_YEARS}年，到期可再次授权"}
        )
    codes: list[str] = []
    if not isinstance(items, Iterable) or isinstance(items, (str, bytes, dict)):
        errors.append({"field": "items", "message": "可代办事项应为事项编码列表"})
    else:
        codes = list(dict.fromkeys(str(c).strip() for c in items if str(c).strip()))
        known = _person_codes()
        unknown = [c for c in codes if c not in known]
        if unknown:
            errors.append(
                {"field": "items", "message": "所选事项不存在或不能由亲友代办，请重新选择"}
            )
        if len(codes) > MAX_ITEMS:
            errors.append({"field": "items", "message": f"最多选择{MAX_ITEMS}项，或选择全部事项"})
    if errors:
        raise DelegationInvalid(details=errors)
    if agent_hash == principal.id_number_hash:
        raise DelegationSelf()
    return agent_hash, name, codes, until


def delegation_problems(
    *, principal: ResidentProfile, agent_id_number: str, agent_name: str, valid_until: Any
) -> list[dict[str, str]]:
    """What propose would say of these values (nothing is written), so a form with a problem
    of its own can name every problem at once."""
    try:
        _clean(
            principal=principal,
            agent_id_number=agent_id_number,
            agent_name=agent_name,
            items=[],
            valid_until=valid_until,
        )
    except DelegationInvalid as exc:
        return list(exc.details)
    except DelegationSelf as exc:
        return [{"field": "agent_id_number", "message": exc.message}]
    return []


def _audit(actor: User, action: str, d: Delegation, **data: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="delegation",
        object_id=d.pk,
        subject_resident_id=d.principal_id,
        purpose="亲友代办授权",
        data={
            "principal": d.principal_id,
            "agent_name": d.agent_name,
            "agent_user": d.agent_user_id,
            **data,
        },
    )


def _notify(recipient: User | None, title: str, body: str, link: str) -> None:
    """An in-app notice in the caller's transaction (delivered after commit)."""
    if recipient is None:
        return
    from tongban.notifications.services import notice_send

    notice_send(recipient=recipient, title=title, body=body, link=link, category="delegation")


def _invited_user(d: Delegation) -> User | None:
    """The account of the person the row names (ID number and name), if there is one: told
    only to that person, never to the 被代办人."""
    profile = (
        ResidentProfile.objects.filter(
            id_number_hash=d.agent_id_hash, name=d.agent_name, user__isnull=False
        )
        .select_related("user")
        .first()
    )
    return profile.user if profile is not None else None


def _create(
    *,
    actor: User,
    principal: ResidentProfile,
    agent_id_number: str,
    agent_name: str,
    items: Any,
    valid_until: Any,
    via: str,
    hall: Hall | None,
) -> Delegation:
    agent_hash, name, codes, until = _clean(
        principal=principal,
        agent_id_number=agent_id_number,
        agent_name=agent_name,
        items=items,
        valid_until=valid_until,
    )
    on = today()
    try:
        with transaction.atomic():
            open_rows = Delegation.objects.select_for_update().filter(
                principal=principal,
                agent_id_hash=agent_hash,
                state__in=[DelegationState.PROPOSED, DelegationState.ACTIVE],
            )
            for row in open_rows:
                if row.valid_until >= on:
                    raise DelegationExists()
                # Ended by its date already; stored as such so the new one may take its place.
                row.state = DelegationState.EXPIRED
                row.save(update_fields=["state"])
            d = Delegation.objects.create(
                principal=principal,
                agent_id_hash=agent_hash,
                agent_name=name,
                items=codes,
                valid_until=until,
                recorded_via=via,
                recorded_by=actor,
                hall=hall,
            )
            _audit(
                actor,
                "delegation.propose"
                if via == RecordedVia.ONLINE
                else "delegation.record_at_counter",
                d,
                items=codes,
                valid_until=until.isoformat(),
                **({"hall": hall.code} if hall is not None else {}),
            )
            scope = "全部事项" if not codes else f"{len(codes)}项事项"
            _notify(
                _invited_user(d),
                f"{principal.name}邀请您为其代办",
                f"{principal.name}授权您在网上为其办事（{scope}，至{chinese_date(until)}）。"
                "请确认是否接受。",
                "/me/delegations/#invitations",
            )
    except IntegrityError:  # the same pair proposed a moment ago
        raise DelegationExists() from None
    return d


def delegation_propose(
    *, principal_user: User, agent_id_number: str, agent_name: str, items: Any, valid_until: Any
) -> Delegation:
    """本人网上授权: the signed-in resident names a person by ID number and name. The row
    waits for that person to accept; the answer is the same whether or not anyone with that
    number has an account, so the form cannot be used to find out."""
    if principal_user is None or not principal_user.is_authenticated:
        raise PermissionDenied("请先登录")
    if principal_user.kind != User.Kind.PERSON:
        raise PermissionDenied("工作人员账号不能授权他人代办")
    principal = ResidentProfile.objects.filter(user=principal_user).first()
    if principal is None:
        raise PermissionDenied("您的账户尚未关联居民档案，不能授权他人代办")
    return _create(
        actor=principal_user,
        principal=principal,
        agent_id_number=agent_id_number,
        agent_name=agent_name,
        items=items,
        valid_until=valid_until,
        via=RecordedVia.ONLINE,
        hall=None,
    )


def _clerk_hall(clerk: User) -> Hall:
    halls = list(
        Hall.objects.filter(
            staff_assignments__user=clerk, staff_assignments__role=StaffRole.COUNTER_CLERK
        ).distinct()[:2]
    )
    if not halls:
        raise PermissionDenied("只有所在大厅的综合窗口人员可以登记代办授权")
    # A clerk in several halls records at the first; the row names it either way.
    return halls[0]


def delegation_record_at_counter(
    *,
    clerk: User,
    principal: ResidentProfile,
    agent_id_number: str,
    agent_name: str,
    items: Any,
    valid_until: Any,
) -> Delegation:
    """综合窗口当面登记: a counter clerk, having checked the 被代办人's identity card in person
    (the counter's 帮办 identification, which also gave them an account to be the applicant
    of cases filed for them), records the authorisation they state. It waits for the
    代办人's own acceptance like an online one: the clerk vouches for the 被代办人, but only
    the 代办人 can agree to act, and they must sign in to act anyway."""
    if (
        clerk is None
        or not clerk.is_authenticated
        or not StaffAssignment.objects.filter(user=clerk, role=StaffRole.COUNTER_CLERK).exists()
    ):
        raise PermissionDenied("只有综合窗口人员可以登记代办授权")
    hall = _clerk_hall(clerk)
    return _create(
        actor=clerk,
        principal=principal,
        agent_id_number=agent_id_number,
        agent_name=agent_name,
        items=items,
        valid_until=valid_until,
        via=RecordedVia.COUNTER,
        hall=hall,
    )


def _invitation(user: User, delegation_id: Any) -> Delegation:
    profile = ResidentProfile.objects.filter(user=user).first() if user.is_authenticated else None
    try:
        pk = int(str(delegation_id))
    except (TypeError, ValueError):
        raise DelegationNotFound() from None
    if profile is None:
        raise DelegationNotFound()
    d = (
        Delegation.objects.select_for_update()
        .filter(pk=pk, agent_id_hash=profile.id_number_hash, agent_name=profile.name)
        .exclude(principal=profile)
        .first()
    )
    if d is None:
        raise DelegationNotFound()
    if d.state_now(today()) != DelegationState.PROPOSED:
        raise DelegationNotPending()
    return d


def delegation_accept(*, user: User, delegation_id: Any) -> Delegation:
    """The invited person (their ID number and name are the ones named) agrees to act."""
    with transaction.atomic():
        d = _invitation(user, delegation_id)
        d.state = DelegationState.ACTIVE
        d.agent_user = user
        d.accepted_at = timezone.now()
        d.save(update_fields=["state", "agent_user", "accepted_at"])
        _audit(user, "delegation.accept", d)
        _notify(
            d.principal.user,
            f"{d.agent_name}已接受您的代办授权",
            f"{d.agent_name}现在可以为您办事，至{chinese_date(d.valid_until)}。您可以随时撤销。",
            "/me/delegations/#given",
        )
    return d


def delegation_decline(*, user: User, delegation_id: Any) -> Delegation:
    with transaction.atomic():
        d = _invitation(user, delegation_id)
        d.state = DelegationState.DECLINED
        d.declined_at = timezone.now()
        d.save(update_fields=["state", "declined_at"])
        _audit(user, "delegation.decline", d)
        _notify(
            d.principal.user,
            f"{d.agent_name}拒绝了您的代办邀请",
            "如仍需家人代办，可以授权其他人，或到政务服务中心综合窗口咨询。",
            "/me/delegations/#given",
        )
    return d


def _revoke(actor: User, d: Delegation, action: str, **data: Any) -> Delegation:
    if d.state not in (DelegationState.PROPOSED, DelegationState.ACTIVE):
        raise DelegationNotPending("该授权已结束，无需撤销")
    d.state = DelegationState.REVOKED
    d.revoked_at = timezone.now()
    d.revoked_by = actor
    d.save(update_fields=["state", "revoked_at", "revoked_by"])
    _audit(actor, action, d, **data)
    # The other side learns it at once: the 代办人 that they may no longer act, the
    # 被代办人 that their helper stepped back.
    if data.get("side") == "agent":
        _notify(
            d.principal.user,
            f"{d.agent_name}已不再为您代办",
            f"{d.agent_name}放弃了您的代办授权，即刻生效。",
            "/me/delegations/#given",
        )
    else:
        _notify(
            d.agent_user,
            f"{d.principal.name}已撤销对您的代办授权",
            f"您不能再为{d.principal.name}办事，即刻生效。",
            "/me/delegations/#received",
        )
    return d


def delegation_revoke(*, user: User, delegation_id: Any) -> Delegation:
    """Either side ends it at once: the 被代办人, or the 代办人 who accepted it. From this
    moment every request made with it is refused (DELEGATION_NOT_VALID)."""
    if user is None or not user.is_authenticated:
        raise DelegationNotFound()
    profile = ResidentProfile.objects.filter(user=user).first()
    try:
        pk = int(str(delegation_id))
    except (TypeError, ValueError):
        raise DelegationNotFound() from None
    with transaction.atomic():
        d = Delegation.objects.select_for_update().filter(pk=pk).first()
        if d is None or not (
            (profile is not None and d.principal_id == profile.pk) or d.agent_user_id == user.pk
        ):
            raise DelegationNotFound()
        side = "principal" if profile is not None and d.principal_id == profile.pk else "agent"
        return _revoke(user, d, "delegation.revoke", side=side)


def delegation_revoke_at_counter(
    *, clerk: User, principal: ResidentProfile, delegation_id: Any
) -> Delegation:
    """The 被代办人, present at a counter, asks the clerk to end an authorisation."""
    if (
        clerk is None
        or not clerk.is_authenticated
        or not StaffAssignment.objects.filter(user=clerk, role=StaffRole.COUNTER_CLERK).exists()
    ):
        raise PermissionDenied("只有综合窗口人员可以登记代办授权")
    hall = _clerk_hall(clerk)
    try:
        pk = int(str(delegation_id))
    except (TypeError, ValueError):
        raise DelegationNotFound() from None
    with transaction.atomic():
        d = Delegation.objects.select_for_update().filter(pk=pk, principal=principal).first()
        if d is None:
            raise DelegationNotFound()
        return _revoke(clerk, d, "delegation.revoke_at_counter", side="principal", hall=hall.code)
