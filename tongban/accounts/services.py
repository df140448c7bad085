"""Every write to accounts, profiles, staff assignments and login state.

Conventions:
- Each service is keyword-only, runs in one transaction and appends exactly one audit row
  naming its actor. An actor is a `User`, or a string "system:<process>" for loaders and
  scheduled jobs that act on nobody's request.
- The back-office services here (profile, account, enterprise, membership, staff) do not
  decide *who* may call them: their callers (admin, data loaders, other apps' services) have
  already authorised the request. What they guarantee is that the data is valid and recorded.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from tongban.accounts.errors import (
    AccountAlreadyActive,
    ActivationInvalid,
    ActivationThrottled,
    EnterpriseExists,
    EnterpriseNotFound,
    InvalidCredentials,
    LoginThrottled,
    NotACounterClerk,
    PasswordTooWeak,
    ResidentAccountExists,
    ResidentExists,
    TotpAlreadyEnabled,
    TotpCodeMalformed,
    TotpInvalid,
    TotpNotEnrolled,
    TotpReplayed,
    TotpThrottled,
    UsernameTaken,
)
from tongban.accounts.models import (
    AccountActivationCode,
    AssuranceLevel,
    District,
    Enterprise,
    EnterpriseMembership,
    Household,
    HouseholdRelation,
    LoginAttempt,
    ResidentProfile,
    StaffAssignment,
    StaffRole,
    User,
)
from tongban.accounts.selectors import resident_id_number_hash
from tongban.accounts.validators import parse_credit_code, parse_id_number
from tongban.catalog.models import Department
from tongban.common.crypto import lookup_hash
from tongban.common.errors import InvalidInput
from tongban.common.models import AuditEvent
from tongban.common.services import audit_record

Actor = User | str

# The fields of 一人一档 that back-office maintenance may change. Identity (ID number and
# what is derived from it) is deliberately absent: a wrong ID number is a new profile.
RESIDENT_UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "phone",
        "hukou_district",
        "hukou_is_local",
        "residence_district",
        "residence_address",
        "marital_status",
        "disability_grade",
        "is_veteran",
        "is_low_income",
        "is_minimum_living_allowance",
        "has_residence_permit",
        "employment_status",
        "monthly_income",
    }
)

ENTERPRISE_UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "type",
        "legal_representative",
        "legal_representative_id_number",
        "registered_capital",
        "industry_code",
        "district",
        "address",
        "employees",
        "status",
        "size",
        "annual_revenue",
        "tax_credit_rating",
        "insured_headcount",
        "layoff_rate",
        "is_high_tech",
    }
)


def _audit(actor: Actor, **fields: Any) -> AuditEvent:
    if isinstance(actor, str):
        if not actor.startswith("system:"):
            # A bare string would let any caller write any name into the trail.
            raise ValueError(f"a system actor is named 'system:<process>', got {actor!r}")
        return audit_record(actor_label=actor, **fields)
    return audit_record(actor=actor, **fields)


def _check_district(value: str, field: str) -> None:
    if value and value not in District.values:
        raise InvalidInput(f"{field}的区代码{value}不是本市的区", code="INVALID_DISTRICT")


# --- 一人一档 -------------------------------------------------------------------------------


def resident_profile_create(
    *,
    actor: Actor,
    name: str,
    id_number: str,
    phone: str = "",
    hukou_district: str = "",
    hukou_is_local: bool = True,
    residence_district: str = "",
    residence_address: str = "",
    marital_status: str = ResidentProfile.MaritalStatus.UNMARRIED,
    disability_grade: int | None = None,
    is_veteran: bool = False,
    is_low_income: bool = False,
    is_minimum_living_allowance: bool = False,
    has_residence_permit: bool = False,
    employment_status: str = "",
    is_synthetic: bool = False,
    user: User | None = None,
) -> ResidentProfile:
    """Open a 居民档案. Birth date and sex come from the ID number, never from the caller."""
    facts = parse_id_number(id_number)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("姓名不能为空", code="NAME_REQUIRED")
    _check_district(hukou_district, "户籍所在区")
    _check_district(residence_district, "居住区")
    if disability_grade is not None and disability_grade not in (1, 2, 3, 4):
        raise InvalidInput("残疾等级应为1至4级", code="INVALID_DISABILITY_GRADE")
    number_hash = resident_id_number_hash(facts.number)
    with transaction.atomic():
        if ResidentProfile.objects.filter(id_number_hash=number_hash).exists():
            raise ResidentExists()
        try:
            # The savepoint keeps the outer transaction usable if a concurrent insert of the
            # same person wins the race to the unique index.
            with transaction.atomic():
                profile = ResidentProfile.objects.create(
                    user=user,
                    name=name,
                    id_number=facts.number,
                    id_number_hash=number_hash,
                    birth_date=facts.birth_date,
                    sex=facts.sex,
                    phone=(phone or "").strip(),
                    hukou_district=hukou_district,
                    hukou_is_local=hukou_is_local,
                    residence_district=residence_district,
                    residence_address=residence_address,
                    marital_status=marital_status,
                    disability_grade=disability_grade,
                    is_veteran=is_veteran,
                    is_low_income=is_low_income,
                    is_minimum_living_allowance=is_minimum_living_allowance,
                    has_residence_permit=has_residence_permit,
                    employment_status=employment_status,
                    is_synthetic=is_synthetic,
                )
        except IntegrityError as exc:
            raise ResidentExists() from exc
        _audit(
            actor,
            action="resident_profile.create",
            object_type="resident_profile",
            object_id=profile.pk,
            subject_resident_id=profile.pk,
        )
    return profile


# Apps that derive something from a profile (政策找人) append a callable here at start-up; it
# is called with the changed profile inside the change's transaction, so what it derives
# changes with the data. A plain list: accounts never imports them.
profile_changed_hooks: list[Callable[[ResidentProfile], None]] = []


def register_profile_changed_hook(hook: Callable[[ResidentProfile], None]) -> None:
    if hook not in profile_changed_hooks:
        profile_changed_hooks.append(hook)


def resident_profile_update(
    *, actor: Actor, profile: ResidentProfile, changes: dict[str, Any]
) -> ResidentProfile:
    """Change non-identity fields of a profile. The audit row names the fields, not values."""
    unknown = set(changes) - RESIDENT_UPDATABLE_FIELDS
    if unknown:
        raise InvalidInput(
            f"以下字段不可修改：{'、'.join(sorted(unknown))}", code="FIELD_NOT_UPDATABLE"
        )
    _check_district(changes.get("hukou_district", ""), "户籍所在区")
    _check_district(changes.get("residence_district", ""), "居住区")
    with transaction.atomic():
        updated = _apply_changes(
            actor,
            profile,
            changes,
            action="resident_profile.update",
            subject_resident_id=profile.pk,
        )
        for hook in list(profile_changed_hooks):
            hook(updated)
    return updated


def _apply_changes(actor: Actor, row, changes: dict, *, action: str, subject_resident_id=None):
    """Write only the fields whose value differs, with one audit row naming them; an update
    that changes nothing writes nothing."""
    changed = sorted(k for k, v in changes.items() if getattr(row, k) != v)
    if not changed:
        return row
    with transaction.atomic():
        for key in changed:
            setattr(row, key, changes[key])
        row.save(update_fields=[*changed, "updated_at"])
        _audit(
            actor,
            action=action,
            object_type=action.split(".")[0],
            object_id=row.pk,
            subject_resident_id=subject_resident_id,
            data={"fields": changed},
        )
    return row


def resident_account_create(
    *,
    actor: Actor,
    profile: ResidentProfile,
    username: str,
    password: str,
    email: str = "",
) -> User:
    """Open a login for a resident who already has a profile, and bind the two."""
    username = (username or "").strip()
    if not username:
        raise InvalidInput("用户名不能为空", code="USERNAME_REQUIRED")
    candidate = User(username=username, email=email, display_name=profile.name)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise PasswordTooWeak(
            "密码强度不足：" + "；".join(exc.messages),
            details=[{"field": "password", "message": m} for m in exc.messages],
        ) from exc
    with transaction.atomic():
        # Re-read under lock: two sign-ups for one profile must not both bind.
        profile = ResidentProfile.objects.select_for_update().get(pk=profile.pk)
        if profile.user_id is not None:
            raise ResidentAccountExists()
        if User.objects.filter(username=username).exists():
            raise UsernameTaken()
        candidate.kind = User.Kind.PERSON
        candidate.set_password(password)
        candidate.save()
        profile.user = candidate
        profile.save(update_fields=["user", "updated_at"])
        _audit(
            actor,
            action="resident_account.create",
            object_type="user",
            object_id=candidate.pk,
            subject_resident_id=profile.pk,
        )
    return candidate


WALK_IN_USERNAME_PREFIX = "walkin_"


def resident_account_open_at_counter(*, actor: Actor, profile: ResidentProfile) -> User:
    """Open a login-less account for a resident who came to the counter without one, so a
    case filed for them (帮办) has an applicant and they can follow it later.

    The password is unusable: nobody can sign in with it. The username is derived from the
    profile's keyed ID-number hash (never from the number itself), so it reveals nothing
    and the same person always gets the same name. The resident gets a login of their own
    later by setting a password on this account with an activation code a counter clerk
    issues (account_activation_issue / account_activate). A profile that already has an
    account returns that account."""
    with transaction.atomic():
        profile = ResidentProfile.objects.select_for_update().get(pk=profile.pk)
        if profile.user_id is not None:
            return profile.user
        base = f"{WALK_IN_USERNAME_PREFIX}{profile.id_number_hash[:12]}"
        username, n = base, 1
        while User.objects.filter(username=username).exists():
            n += 1
            username = f"{base}_{n}"
        # The clerk has the person and their 身份证 in front of them: 窗口当面核验.
        user = User(
            username=username,
            kind=User.Kind.PERSON,
            display_name=profile.name[:60],
            assurance_level=AssuranceLevel.IN_PERSON,
            assurance_at=timezone.now(),
        )
        user.set_unusable_password()
        user.save()
        profile.user = user
        profile.save(update_fields=["user", "updated_at"])
        _audit(
            actor,
            action="resident_account.open_at_counter",
            object_type="user",
            object_id=user.pk,
            subject_resident_id=profile.pk,
        )
    return user


# --- 一企一档 -------------------------------------------------------------------------------


def enterprise_create(
    *,
    actor: Actor,
    uscc: str,
    name: str,
    type: str,
    legal_representative: str,
    registered_capital: Decimal | int | str,
    industry_code: str,
    district: str,
    founded_on: dt.date,
    legal_representative_id_number: str = "",
    address: str = "",
    employees: int = 0,
    status: str = Enterprise.Status.ACTIVE,
    is_synthetic: bool = False,
) -> Enterprise:
    """Open a 企业档案 under a validated 统一社会信用代码."""
    facts = parse_credit_code(uscc)
    if legal_representative_id_number:
        legal_representative_id_number = parse_id_number(legal_representative_id_number).number
    if type not in Enterprise.Type.values:
        raise InvalidInput(f"企业类型{type}无效", code="INVALID_ENTERPRISE_TYPE")
    if not (name or "").strip():
        raise InvalidInput("企业名称不能为空", code="NAME_REQUIRED")
    _check_district(district, "登记区")
    if not district:
        raise InvalidInput("登记区不能为空", code="INVALID_DISTRICT")
    with transaction.atomic():
        if Enterprise.objects.filter(uscc=facts.code).exists():
            raise EnterpriseExists()
        try:
            with transaction.atomic():
                enterprise = Enterprise.objects.create(
                    uscc=facts.code,
                    name=name.strip(),
                    type=type,
                    legal_representative=legal_representative.strip(),
                    legal_representative_id_number=legal_representative_id_number,
                    registered_capital=Decimal(str(registered_capital)),
                    industry_code=industry_code,
                    district=district,
                    address=address,
                    founded_on=founded_on,
                    employees=employees,
                    status=status,
                    is_synthetic=is_synthetic,
                )
        except IntegrityError as exc:
            raise EnterpriseExists() from exc
        _audit(
            actor,
            action="enterprise.create",
            object_type="enterprise",
            object_id=enterprise.pk,
            data={"uscc": enterprise.uscc},
        )
    return enterprise


def enterprise_update(
    *, actor: Actor, enterprise: Enterprise, changes: dict[str, Any]
) -> Enterprise:
    """Change registration facts other than the 统一社会信用代码, which names the enterprise."""
    unknown = set(changes) - ENTERPRISE_UPDATABLE_FIELDS
    if unknown:
        raise InvalidInput(
            f"以下字段不可修改：{'、'.join(sorted(unknown))}", code="FIELD_NOT_UPDATABLE"
        )
    if "district" in changes:
        _check_district(changes["district"], "登记区")
    if changes.get("legal_representative_id_number"):
        number = parse_id_number(changes["legal_representative_id_number"]).number
        changes = {**changes, "legal_representative_id_number": number}
    with transaction.atomic():
        updated = _apply_changes(actor, enterprise, changes, action="enterprise.update")
        for hook in list(enterprise_changed_hooks):
            hook(updated)
    return updated


enterprise_changed_hooks: list[Callable[[Enterprise], None]] = []


def register_enterprise_changed_hook(hook: Callable[[Enterprise], None]) -> None:
    if hook not in enterprise_changed_hooks:
        enterprise_changed_hooks.append(hook)


def household_form(
    *,
    actor: Actor,
    number: str,
    district: str,
    members: list[tuple[ResidentProfile, str]],
    is_synthetic: bool = False,
) -> Household:
    """Record a 户 and its members with their relation to the head (exactly one 户主). A member
    of another household moves to this one. The members' policies are matched again."""
    number = (number or "").strip()
    if not number or len(number) > 20:
        raise InvalidInput("户号应为1至20个字符", code="HOUSEHOLD_NUMBER_INVALID")
    _check_district(district, "户籍所在区")
    relations = [relation for _, relation in members]
    if any(r not in HouseholdRelation.values for r in relations):
        raise InvalidInput("与户主关系无效", code="HOUSEHOLD_RELATION_INVALID")
    if relations.count(HouseholdRelation.HEAD) != 1:
        raise InvalidInput("一户应有且只有一位户主", code="HOUSEHOLD_HEAD_REQUIRED")
    if len({p.pk for p, _ in members}) != len(members):
        raise InvalidInput("同一人不能在一户中登记两次", code="HOUSEHOLD_MEMBER_REPEATED")
    with transaction.atomic():
        if Household.objects.filter(number=number).exists():
            raise InvalidInput(f"户号{number}已存在", code="HOUSEHOLD_EXISTS")
        household = Household.objects.create(
            number=number, district=district, is_synthetic=is_synthetic
        )
        for profile, relation in members:
            profile.household = household
            profile.household_relation = relation
            profile.save(update_fields=["household", "household_relation", "updated_at"])
            _audit(
                actor,
                action="household.join",
                object_type="household",
                object_id=household.pk,
                subject_resident_id=profile.pk,
                data={"relation": relation},
            )
        for profile, _ in members:
            for hook in list(profile_changed_hooks):
                hook(profile)
    return household


def enterprise_membership_grant(
    *,
    actor: Actor,
    enterprise: Enterprise,
    user: User,
    role: str = EnterpriseMembership.Role.AGENT,
) -> EnterpriseMembership:
    """Let USER act for ENTERPRISE in ROLE, live at once and with the whole scope; granting
    again changes the role. For the back office and the platform's own processes (the
    founder after 企业开办, the demo, the admin site); a legal representative or
    administrator names agents with `enterprise_agent_grant`, which waits for acceptance."""
    if role not in EnterpriseMembership.Role.values:
        raise InvalidInput(f"经办角色{role}无效", code="INVALID_MEMBERSHIP_ROLE")
    with transaction.atomic():
        membership = (
            EnterpriseMembership.objects.select_for_update()
            .filter(
                user=user, enterprise=enterprise, revoked_at__isnull=True, declined_at__isnull=True
            )
            .first()
        )
        created = membership is None
        previous = None if created else membership.role
        if created:
            membership = EnterpriseMembership.objects.create(
                user=user, enterprise=enterprise, role=role, accepted_at=timezone.now()
            )
        else:
            if membership.role == role and membership.accepted_at is not None:
                return membership
            membership.role = role
            membership.accepted_at = membership.accepted_at or timezone.now()
            membership.save(update_fields=["role", "accepted_at"])
        _audit(
            actor,
            action="enterprise_membership.grant",
            object_type="enterprise",
            object_id=enterprise.pk,
            data={
                "membership_id": membership.pk,
                "user_id": user.pk,
                "role": role,
                "previous_role": previous,
            },
        )
    return membership


# --- 企业授权管理: the legal representative or an administrator names agents ---------------
#
# Every refusal happens before anything is written, and each change is one transaction with
# one audit row on the enterprise (object_type "enterprise"), which 企业专属网页 shows as the
# history of grants and revocations.

AGENT_NAME_MAX = 30


def _audit_agent_grant(
    actor: Actor, action: str, membership: EnterpriseMembership, **extra: Any
) -> AuditEvent:
    """One audit row on the enterprise for a change to an authority, with its scope."""
    return _audit(
        actor,
        action=action,
        object_type="enterprise",
        object_id=membership.enterprise_id,
        data=_agent_grant_data(membership, **extra),
    )


def _agent_grant_data(membership: EnterpriseMembership, **extra: Any) -> dict[str, Any]:
    return {
        "membership_id": membership.pk,
        "role": membership.role,
        "items": list(membership.items),
        "may_certificates": membership.may_certificates,
        "may_idcode": membership.may_idcode,
        "expires_on": membership.expires_on.isoformat() if membership.expires_on else None,
        **extra,
    }


def _agent_scope(
    *, role: str, items, may_certificates: bool, may_idcode: bool, expires_on, today: dt.date
) -> tuple[list[str], bool, bool]:
    from tongban.accounts.errors import AgentExpiryInvalid, AgentItemsInvalid

    if expires_on is not None and expires_on < today:
        raise AgentExpiryInvalid()
    if role == EnterpriseMembership.Role.ADMINISTRATOR:
        # An administrator runs the enterprise's account: a partial administrator is a
        # contradiction the pages would have to explain.
        return [], True, True
    from tongban.accounts.selectors import agent_service_choices

    known = {code for code, _ in agent_service_choices()}
    chosen: list[str] = []
    for code in items or ():
        code = str(code).strip()
        if code not in known:
            raise AgentItemsInvalid()
        if code not in chosen:
            chosen.append(code)
    return chosen, bool(may_certificates), bool(may_idcode)


def _locked_membership(membership_id: int) -> EnterpriseMembership:
    from tongban.accounts.errors import AgentGrantNotFound

    if not isinstance(membership_id, int) or not 0 < membership_id < 2**31:
        raise AgentGrantNotFound()
    found = EnterpriseMembership.objects.select_for_update().filter(pk=membership_id).first()
    if found is None:
        raise AgentGrantNotFound()
    return found


def _manager_of(actor: User, membership: EnterpriseMembership, today: dt.date):
    """The actor's live managing membership of MEMBERSHIP's enterprise. Someone without any
    authority there is told the grant does not exist; an agent that only managers may."""
    from tongban.accounts.errors import (
        AdministratorGrantNeedsLegalRepresentative,
        AgentGrantNotFound,
        LegalRepresentativeProtected,
    )
    from tongban.accounts.selectors import NEED_MANAGE, enterprise_authority

    try:
        mine = enterprise_authority(
            user=actor, enterprise_id=membership.enterprise_id, need=NEED_MANAGE, today=today
        )
    except EnterpriseNotFound as exc:
        raise AgentGrantNotFound() from exc
    if membership.role == EnterpriseMembership.Role.LEGAL_REPRESENTATIVE:
        raise LegalRepresentativeProtected()
    if (
        membership.role == EnterpriseMembership.Role.ADMINISTRATOR
        and mine.role != EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    ):
        raise AdministratorGrantNeedsLegalRepresentative()
    return mine


def enterprise_agent_grant(
    *,
    actor: User,
    enterprise_id: int,
    id_number: str,
    name: str,
    role: str = EnterpriseMembership.Role.AGENT,
    items: list[str] | tuple[str, ...] = (),
    may_certificates: bool = False,
    may_idcode: bool = False,
    expires_on: dt.date | None = None,
    today: dt.date | None = None,
) -> EnterpriseMembership:
    """授权: invite the person with ID_NUMBER and NAME to act for the enterprise in ROLE
    (经办人, or 管理员 when the legal representative appoints one), for the chosen ITEMS (none:
    all), the enterprise's certificates and 随申码, until EXPIRES_ON (inclusive; None: until
    revoked). The invitation waits for that person to accept: the answer is the same whether
    or not they have an account, and an account holding that ID number and name sees it."""
    from tongban.accounts.errors import (
        AdministratorGrantNeedsLegalRepresentative,
        AgentAlreadyInvited,
        AgentNameInvalid,
        AgentRoleInvalid,
        GrantToSelf,
    )
    from tongban.accounts.selectors import NEED_MANAGE, agent_today, enterprise_authority

    today = today or agent_today()
    mine = enterprise_authority(
        user=actor, enterprise_id=enterprise_id, need=NEED_MANAGE, today=today
    )
    if role not in (EnterpriseMembership.Role.AGENT, EnterpriseMembership.Role.ADMINISTRATOR):
        raise AgentRoleInvalid()
    if (
        role == EnterpriseMembership.Role.ADMINISTRATOR
        and mine.role != EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    ):
        raise AdministratorGrantNeedsLegalRepresentative()
    number = parse_id_number(id_number, today=today).number
    clean_name = " ".join((name or "").split())
    if not clean_name or len(clean_name) > AGENT_NAME_MAX:
        raise AgentNameInvalid()
    chosen, certificates, idcode = _agent_scope(
        role=role,
        items=items,
        may_certificates=may_certificates,
        may_idcode=may_idcode,
        expires_on=expires_on,
        today=today,
    )
    id_hash = resident_id_number_hash(number)
    own = ResidentProfile.objects.filter(user=actor).values_list("id_number_hash", flat=True)
    if id_hash in set(own):
        raise GrantToSelf()
    with transaction.atomic():
        # of=("self",): PostgreSQL cannot lock the nullable side of the join to the profile.
        open_rows = list(
            EnterpriseMembership.objects.select_for_update(of=("self",))
            .filter(enterprise_id=enterprise_id, revoked_at__isnull=True, declined_at__isnull=True)
            .filter(Q(invitee_id_hash=id_hash) | Q(user__resident_profile__id_number_hash=id_hash))
        )
        replaced = []
        for row in open_rows:
            if row.expires_on is not None and row.expires_on < today:
                # An expired authority is closed by the new grant, so there is one open row
                # per person and the list shows the new one.
                row.revoked_at = timezone.now()
                row.revoked_by = actor
                row.save(update_fields=["revoked_at", "revoked_by"])
                replaced.append(row.pk)
            else:
                raise AgentAlreadyInvited()
        try:
            with transaction.atomic():  # a concurrent grant to the same person loses here
                membership = EnterpriseMembership.objects.create(
                    user=None,
                    enterprise_id=enterprise_id,
                    role=role,
                    invitee_id_hash=id_hash,
                    invitee_name=clean_name,
                    items=chosen,
                    may_certificates=certificates,
                    may_idcode=idcode,
                    expires_on=expires_on,
                    granted_by=actor,
                )
        except IntegrityError as exc:
            raise AgentAlreadyInvited() from exc
        _audit_agent_grant(actor, "enterprise_agent.grant", membership, replaced=replaced)
        invitee = User.objects.filter(
            resident_profile__id_number_hash=id_hash,
            resident_profile__name=clean_name,
            is_active=True,
        ).first()
        if invitee is not None:
            from tongban.notifications.services import notice_send

            # Joins this transaction; nothing of it reaches the granter.
            notice_send(
                recipient=invitee,
                title=f"{mine.enterprise.name}邀请您作为{membership.get_role_display()}",
                body="请在“我的主页”查看授权范围，确认接受或拒绝。",
                link="/me/#agent-invitations",
                category="enterprise_agent",
            )
    return membership


def enterprise_agent_accept(
    *, user: User, membership_id: int, today: dt.date | None = None
) -> EnterpriseMembership:
    """接受授权: the invitee takes up the authority; it is live from now."""
    from tongban.accounts.errors import AgentAlreadyInvited
    from tongban.accounts.selectors import agent_invitation_for, agent_today

    today = today or agent_today()
    agent_invitation_for(user=user, membership_id=membership_id)
    with transaction.atomic():
        membership = _locked_membership(membership_id)
        # Checked again under the lock: a revoke may have come between.
        agent_invitation_for(user=user, membership_id=membership_id)
        if EnterpriseMembership.objects.filter(
            user=user,
            enterprise_id=membership.enterprise_id,
            revoked_at__isnull=True,
            declined_at__isnull=True,
        ).exists():
            raise AgentAlreadyInvited()
        membership.user = user
        membership.accepted_at = timezone.now()
        try:
            with transaction.atomic():  # another open row for this person, made concurrently
                membership.save(update_fields=["user", "accepted_at"])
        except IntegrityError as exc:
            raise AgentAlreadyInvited() from exc
        _audit_agent_grant(user, "enterprise_agent.accept", membership)
    return membership


def enterprise_agent_decline(*, user: User, membership_id: int) -> EnterpriseMembership:
    """拒绝授权: the invitee refuses; the row stays for the record."""
    from tongban.accounts.selectors import agent_invitation_for

    agent_invitation_for(user=user, membership_id=membership_id)
    with transaction.atomic():
        membership = _locked_membership(membership_id)
        agent_invitation_for(user=user, membership_id=membership_id)
        membership.user = user
        membership.declined_at = timezone.now()
        membership.save(update_fields=["user", "declined_at"])
        _audit_agent_grant(user, "enterprise_agent.decline", membership)
    return membership


def enterprise_agent_revoke(
    *, actor: User, membership_id: int, today: dt.date | None = None
) -> EnterpriseMembership:
    """撤销授权 (or withdraw an invitation): ends the authority now. The legal representative
    cannot be removed here, and only the legal representative removes an administrator."""
    from tongban.accounts.errors import AgentGrantClosed
    from tongban.accounts.selectors import agent_today

    today = today or agent_today()
    with transaction.atomic():
        membership = _locked_membership(membership_id)
        _manager_of(actor, membership, today)
        if membership.revoked_at is not None or membership.declined_at is not None:
            raise AgentGrantClosed()
        membership.revoked_at = timezone.now()
        membership.revoked_by = actor
        membership.save(update_fields=["revoked_at", "revoked_by"])
        _audit_agent_grant(
            actor,
            "enterprise_agent.revoke",
            membership,
            was_accepted=membership.accepted_at is not None,
        )
    return membership


def enterprise_agent_update(
    *,
    actor: User,
    membership_id: int,
    items: list[str] | tuple[str, ...] = (),
    may_certificates: bool = False,
    may_idcode: bool = False,
    expires_on: dt.date | None = None,
    today: dt.date | None = None,
) -> EnterpriseMembership:
    """修改授权: a new scope or end date for an open authority (waiting, live or expired; an
    expired one given a later date holds again). The role is not changed here: revoke and
    grant anew."""
    from tongban.accounts.errors import AgentGrantClosed
    from tongban.accounts.selectors import agent_today

    today = today or agent_today()
    with transaction.atomic():
        membership = _locked_membership(membership_id)
        _manager_of(actor, membership, today)
        if membership.revoked_at is not None or membership.declined_at is not None:
            raise AgentGrantClosed()
        chosen, certificates, idcode = _agent_scope(
            role=membership.role,
            items=items,
            may_certificates=may_certificates,
            may_idcode=may_idcode,
            expires_on=expires_on,
            today=today,
        )
        before = _agent_grant_data(membership)
        membership.items = chosen
        membership.may_certificates = certificates
        membership.may_idcode = idcode
        membership.expires_on = expires_on
        membership.save(update_fields=["items", "may_certificates", "may_idcode", "expires_on"])
        after = _agent_grant_data(membership)
        _audit(
            actor,
            action="enterprise_agent.update",
            object_type="enterprise",
            object_id=membership.enterprise_id,
            data={**after, "previous": {k: v for k, v in before.items() if after[k] != v}},
        )
    return membership


def enterprise_agent_resign(
    *, user: User, membership_id: int, today: dt.date | None = None
) -> EnterpriseMembership:
    """放弃授权: an agent or administrator gives up their own authority. The legal
    representative's follows the enterprise's registration."""
    from tongban.accounts.errors import AgentGrantNotFound, LegalRepresentativeProtected

    with transaction.atomic():
        membership = _locked_membership(membership_id)
        if (
            user is None
            or not user.is_authenticated
            or membership.user_id != user.pk
            or membership.revoked_at is not None
            or membership.declined_at is not None
            or membership.accepted_at is None
        ):
            raise AgentGrantNotFound()
        if membership.role == EnterpriseMembership.Role.LEGAL_REPRESENTATIVE:
            raise LegalRepresentativeProtected()
        membership.revoked_at = timezone.now()
        membership.revoked_by = user
        membership.save(update_fields=["revoked_at", "revoked_by"])
        _audit_agent_grant(user, "enterprise_agent.resign", membership)
    return membership


# --- staff ----------------------------------------------------------------------------------


def staff_assign(
    *, actor: Actor, user: User, department: Department, role: str, hall=None
) -> StaffAssignment:
    """Give USER a 岗位 (ROLE in DEPARTMENT), sitting in HALL (an appointments.Hall) when it
    is a counter or hand-out post. Assigning an existing post changes nothing but its hall,
    and a changed hall is recorded."""
    if role not in StaffRole.values:
        raise InvalidInput(f"岗位角色{role}无效", code="INVALID_STAFF_ROLE")
    with transaction.atomic():
        assignment, created = StaffAssignment.objects.get_or_create(
            user=user, department=department, role=role, defaults={"hall": hall}
        )
        if not created:
            if hall is not None and assignment.hall_id != hall.pk:
                previous = assignment.hall_id
                assignment.hall = hall
                assignment.save(update_fields=["hall"])
                _audit(
                    actor,
                    action="staff.hall_set",
                    object_type="user",
                    object_id=user.pk,
                    data={"department_id": department.pk, "role": role, "hall_id": hall.pk,
                          "previous_hall_id": previous},
                )  # fmt: skip
            return assignment
        if user.kind != User.Kind.STAFF:
            user.kind = User.Kind.STAFF
            user.save(update_fields=["kind"])
        _audit(
            actor,
            action="staff.assign",
            object_type="user",
            object_id=user.pk,
            data={
                "department_id": department.pk,
                "role": role,
                **({"hall_id": hall.pk} if hall is not None else {}),
            },
        )
    return assignment


def staff_unassign(*, actor: Actor, assignment: StaffAssignment) -> None:
    """Take a post away (the person moves department or leaves)."""
    with transaction.atomic():
        _audit(
            actor,
            action="staff.unassign",
            object_type="user",
            object_id=assignment.user_id,
            data={"department_id": assignment.department_id, "role": assignment.role},
        )
        assignment.delete()


# --- preferences ----------------------------------------------------------------------------


def user_set_elder_mode(*, actor: Actor, user: User, enabled: bool) -> User:
    """Remember 长者版 on the account so it follows the person to every device."""
    if user.elder_mode == enabled:
        return user
    with transaction.atomic():
        user.elder_mode = enabled
        user.save(update_fields=["elder_mode"])
        _audit(
            actor,
            action="user.elder_mode_set",
            object_type="user",
            object_id=user.pk,
            data={"enabled": enabled},
        )
    return user


# --- TOTP 双因素认证 ------------------------------------------------------------------------

TOTP_ISSUER = "通办"
TOTP_INTERVAL = 30
# One step either side absorbs phone clocks that are a little off without widening the
# window an attacker can guess into by much.
TOTP_DRIFT_STEPS = 1


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    provisioning_uri: str


def totp_provisioning_uri(*, user: User, secret: str) -> str:
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(
        name=user.get_username(), issuer_name=TOTP_ISSUER
    )


def totp_enrol_begin(*, user: User) -> TotpEnrolment:
    """Generate a fresh secret, kept pending until the user proves their app has it."""
    if user.totp_enabled:
        raise TotpAlreadyEnabled()
    secret = pyotp.random_base32()
    with transaction.atomic():
        user.totp_secret = secret
        user.totp_last_step = 0
        user.save(update_fields=["totp_secret", "totp_last_step"])
        _audit(user, action="totp.enrol_begin", object_type="user", object_id=user.pk)
    return TotpEnrolment(
        secret=secret, provisioning_uri=totp_provisioning_uri(user=user, secret=secret)
    )


def _totp_matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    code = (code or "").replace(" ", "").strip()
    if len(code) != 6 or not code.isdigit():
        raise TotpCodeMalformed()
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    current = int(now.timestamp()) // TOTP_INTERVAL
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * TOTP_INTERVAL), code):
            return step
    return None


def _totp_accept(user: User, code: str, now: dt.datetime) -> tuple[User, int]:
    # Lock the row so two requests carrying the same code cannot both pass the replay check.
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.totp_secret:
        raise TotpNotEnrolled()
    step = _totp_matching_step(locked.totp_secret, code, now)
    if step is None:
        raise TotpInvalid()
    if step <= locked.totp_last_step:
        raise TotpReplayed()
    locked.totp_last_step = step
    return locked, step


def totp_enrol_confirm(*, user: User, code: str, now: dt.datetime | None = None) -> User:
    """Switch TOTP on once the user types a code from the pending secret."""
    now = now or timezone.now()
    if user.totp_enabled:
        raise TotpAlreadyEnabled()
    with transaction.atomic():
        locked, _ = _totp_accept(user, code, now)
        locked.totp_enabled = True
        locked.save(update_fields=["totp_enabled", "totp_last_step"])
        _audit(user, action="totp.enable", object_type="user", object_id=user.pk)
    user.totp_enabled = True
    user.totp_last_step = locked.totp_last_step
    return user


def totp_verify(*, user: User, code: str, now: dt.datetime | None = None) -> None:
    """Check a login's second factor. A code is good once: its time step is then spent."""
    now = now or timezone.now()
    if not user.totp_enabled:
        raise TotpNotEnrolled()
    with transaction.atomic():
        locked, step = _totp_accept(user, code, now)
        locked.save(update_fields=["totp_last_step"])
        _audit(user, action="totp.verify", object_type="user", object_id=user.pk)
    user.totp_last_step = step


def totp_disable(*, actor: Actor, user: User) -> User:
    """Switch TOTP off, e.g. when staff lose their phone (an administrator does this)."""
    if not user.totp_enabled and not user.totp_secret:
        return user
    with transaction.atomic():
        user.totp_enabled = False
        user.totp_secret = ""
        user.totp_last_step = 0
        user.save(update_fields=["totp_enabled", "totp_secret", "totp_last_step"])
        _audit(actor, action="totp.disable", object_type="user", object_id=user.pk)
    return user


# --- login throttling -----------------------------------------------------------------------
#
# Why growing waits instead of a lock (audit issue 10, "targeted lockout"): staff usernames are
# predictable (<dept>_reviewer), so any count that a stranger can fill and that then refuses the
# account everywhere is a switch that locks a department out; and a service hall sits behind one
# NAT address, so a hard limit per address refuses the whole hall. So every count here only ever
# delays the next try, measured from the latest failure, and each is keyed so that the person it
# slows is the one producing the failures:
#
# - (account, address): the real guessing defence. Five free failures, then 1, 2, 4 … seconds up
#   to 15 minutes. Only that pair is slowed: the owner elsewhere is untouched. A successful login
#   from the pair starts it afresh.
# - address: catches one address spraying many accounts. Counted over 15 minutes only and capped
#   at one minute, because a hall's residents share the address and mistype too.
# - account, from any address: keeps an attacker who rotates addresses slow, yet capped at a few
#   seconds so that a stranger cannot turn it into a lock. It does not apply from an address the
#   account logged in from inside the window, so staff at their own desks never feel it.
# - TOTP codes, per account from any address: here a full 15-minute ceiling is safe, because only
#   someone who already passed the password step can produce these failures.
#
# Activation tries (kind ACTIVATION) run the same three rules as logins on their own rows, keyed
# by the ID number, so neither kind of failure slows the other.


@dataclass(frozen=True)
class ThrottleRule:
    """FREE failures cost nothing; after that the next try waits 1, 2, 4 … seconds after the
    latest failure, never more than CAP. WINDOW is how far back failures count (None: the
    whole LOGIN_FAILURE_WINDOW_SECONDS)."""

    free: int
    cap: dt.timedelta
    window: dt.timedelta | None = None

    def delay(self, failures: int) -> dt.timedelta:
        if failures < self.free:
            return dt.timedelta(0)
        # The exponent is bounded so a long run of failures cannot build a huge number.
        seconds = 2 ** min(failures - self.free, 30)
        return min(self.cap, dt.timedelta(seconds=seconds))


PAIR_RULE = ThrottleRule(free=5, cap=dt.timedelta(minutes=15))
ADDRESS_RULE = ThrottleRule(free=20, cap=dt.timedelta(minutes=1), window=dt.timedelta(minutes=15))
ACCOUNT_RULE = ThrottleRule(free=10, cap=dt.timedelta(seconds=5))
TOTP_RULE = ThrottleRule(free=5, cap=dt.timedelta(minutes=15))


def _throttle_key(username: str) -> str:
    # Case-folded so "Alice" and "alice" share one counter.
    return (username or "").strip().lower()[:150]


def _rule_retry_at(rule: ThrottleRule, failures, since: dt.datetime) -> dt.datetime | None:
    """When RULE next allows a try, given the failure rows it counts (None: no wait)."""
    found = failures.filter(at__gt=since).aggregate(n=Count("pk"), last=Max("at"))
    wait = rule.delay(found["n"])
    return found["last"] + wait if wait else None


def login_attempt_check(
    *,
    username: str,
    ip_address: str | None,
    kind: str = LoginAttempt.Kind.LOGIN,
    now: dt.datetime | None = None,
) -> None:
    """Refuse a try before the password (code) is looked at while any rule above still asks
    this (account, address) to wait; LoginThrottled carries when it may try again. KIND is
    the counter: LOGIN (password step), TOTP or PASSKEY (second step) or ACTIVATION."""
    now = now or timezone.now()
    key = _throttle_key(username)
    ip_address = ip_address or None
    horizon = now - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginAttempt.objects.filter(at__gt=horizon)
    failures = recent.filter(kind=kind, succeeded=False)
    # A TOTP (or passkey) failure is made good by the login it belongs to completing.
    second_step = kind in (LoginAttempt.Kind.TOTP, LoginAttempt.Kind.PASSKEY)
    success_kind = LoginAttempt.Kind.LOGIN if second_step else kind
    last = recent.filter(username=key, kind=success_kind, succeeded=True).aggregate(
        account=Max("at"), pair=Max("at", filter=Q(ip_address=ip_address))
    )
    account_since = max(horizon, last["account"] or horizon)
    candidates: list[dt.datetime | None] = []
    if second_step:
        candidates.append(_rule_retry_at(TOTP_RULE, failures.filter(username=key), account_since))
    else:
        pair_since = max(horizon, last["pair"] or horizon)
        by_pair = failures.filter(username=key, ip_address=ip_address)
        candidates.append(_rule_retry_at(PAIR_RULE, by_pair, pair_since))
        if ip_address:
            # A success does not clear the address's count: one real account must not let an
            # attacker wipe the count of the address they guess other accounts from.
            address_since = max(horizon, now - ADDRESS_RULE.window)
            by_address = failures.filter(ip_address=ip_address)
            candidates.append(_rule_retry_at(ADDRESS_RULE, by_address, address_since))
        if last["pair"] is None:
            by_account = failures.filter(username=key)
            candidates.append(_rule_retry_at(ACCOUNT_RULE, by_account, account_since))
    waits = [at for at in candidates if at is not None and at > now]
    if waits:
        error = TotpThrottled if kind == LoginAttempt.Kind.TOTP else LoginThrottled
        raise error(retry_at=max(waits), now=now)


_FAILED_ACTIONS = {
    LoginAttempt.Kind.LOGIN: "auth.login_failed",
    LoginAttempt.Kind.TOTP: "auth.totp_failed",
    LoginAttempt.Kind.PASSKEY: "auth.passkey_failed",
    LoginAttempt.Kind.ACTIVATION: "account_activation.failed",
}


def login_attempt_record(
    *,
    username: str,
    ip_address: str | None,
    succeeded: bool,
    user: User | None = None,
    kind: str = LoginAttempt.Kind.LOGIN,
) -> LoginAttempt:
    """Count one try of KIND. A LOGIN success is the moment the person is logged in (after
    TOTP); it is audited as auth.login, failures as auth.login_failed, auth.totp_failed or
    account_activation.failed."""
    key = _throttle_key(username)
    with transaction.atomic():
        attempt = LoginAttempt.objects.create(
            username=key, ip_address=ip_address or None, kind=kind, succeeded=succeeded
        )
        audit_record(
            actor=user if succeeded else None,
            actor_label=None if succeeded and user is not None else "anonymous",
            action="auth.login" if succeeded else _FAILED_ACTIONS[kind],
            object_type="user" if user is not None else "",
            object_id=user.pk if user is not None else "",
            ip_address=ip_address or None,
            data={"username": key},
        )
    return attempt


def login_attempts_purge(*, before: dt.datetime, actor: Actor = "system:maintenance") -> int:
    """Delete login tries made before BEFORE; returns how many went.

    The throttle only reads tries inside LOGIN_FAILURE_WINDOW_SECONDS (and the last success
    inside it), so a caller passes `now - window` or earlier: older rows decide nothing and
    are only personal data (name, address) kept for no purpose. The sign-ins themselves stay
    in the audit trail (auth.login / auth.login_failed)."""
    if before.tzinfo is None:
        raise ValueError("login_attempts_purge needs a timezone-aware datetime")
    with transaction.atomic():
        deleted, _ = LoginAttempt.objects.filter(at__lt=before).delete()
        if deleted:
            _audit(
                actor,
                action="auth.login_attempts_purge",
                object_type="login_attempt",
                data={"deleted": deleted, "before": before.isoformat()},
            )
    return deleted


def login_password_step(
    *, username: str, password: str, ip_address: str | None, now: dt.datetime | None = None
) -> User:
    """First step of a login: throttle, then the password. Returns the user on success.

    A wrong password is counted here; a success is not, because the person is not logged in
    yet if TOTP follows. The caller records the success when the session starts.
    """
    login_attempt_check(username=username, ip_address=ip_address, now=now)
    user = authenticate(username=(username or "").strip(), password=password or "")
    if user is None:
        login_attempt_record(username=username, ip_address=ip_address, succeeded=False)
        raise InvalidCredentials()
    return user


def login_totp_step(
    *, user: User, code: str, ip_address: str | None, now: dt.datetime | None = None
) -> None:
    """Second step for accounts with TOTP. Wrong, malformed and replayed codes all count as
    TOTP failures of the account, from whatever address (see TOTP_RULE), so the 6-digit code
    cannot be guessed by spreading tries over many addresses."""
    kind = LoginAttempt.Kind.TOTP
    login_attempt_check(username=user.get_username(), ip_address=ip_address, kind=kind, now=now)
    try:
        totp_verify(user=user, code=code, now=now)
    except (TotpInvalid, TotpReplayed, TotpCodeMalformed):
        login_attempt_record(
            username=user.get_username(),
            ip_address=ip_address,
            succeeded=False,
            user=user,
            kind=kind,
        )
        raise


# --- 账号激活 (walk-in residents get a login of their own) -------------------------------------

# No 0/O or 1/I: the code is read off paper, often by older people, and typed by hand.
ACTIVATION_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
ACTIVATION_CODE_LENGTH = 8
ACTIVATION_TTL = dt.timedelta(hours=72)
ACTIVATION_HASH_CONTEXT = "accounts.activation_code"
ACTIVATION_THROTTLE_PREFIX = "activate:"


def _activation_code_hash(user_id: int, code: str) -> str:
    # Keyed and bound to the account, so a hash copied from one row matches no other account.
    return lookup_hash(f"{user_id}:{code}", context=ACTIVATION_HASH_CONTEXT)


def activation_code_normalise(code: str) -> str:
    """What the resident typed, as issued: spaces and hyphens dropped, upper case."""
    return "".join(ch for ch in (code or "") if ch not in " -\u3000").upper()


def account_activation_issue(*, actor: User, profile: ResidentProfile) -> str:
    """Issue a one-time 账号激活码 for a resident whose account has no usable password (one
    opened at the counter), opening that account first if the profile has none. Returns the
    code: shown once to the clerk to print and hand over, stored only as a keyed hash, good
    for 72 hours; issuing again revokes the previous code. Only a counter clerk may; anyone
    else is refused before anything is written."""
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not actor.is_active
        or not StaffAssignment.objects.filter(user=actor, role=StaffRole.COUNTER_CLERK).exists()
    ):
        raise NotACounterClerk()
    code = "".join(secrets.choice(ACTIVATION_ALPHABET) for _ in range(ACTIVATION_CODE_LENGTH))
    now = timezone.now()
    with transaction.atomic():
        profile = ResidentProfile.objects.select_for_update().get(pk=profile.pk)
        if profile.user_id is None:
            user = resident_account_open_at_counter(actor=actor, profile=profile)
        else:
            user = User.objects.select_for_update().get(pk=profile.user_id)
        if user.has_usable_password() or user.kind != User.Kind.PERSON:
            raise AccountAlreadyActive()
        revoked = AccountActivationCode.objects.filter(
            user=user, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        row = AccountActivationCode.objects.create(
            user=user,
            code_hash=_activation_code_hash(user.pk, code),
            issued_by=actor,
            expires_at=now + ACTIVATION_TTL,
        )
        _audit(
            actor,
            action="account_activation.issue",
            object_type="user",
            object_id=user.pk,
            subject_resident_id=profile.pk,
            data={"code_id": row.pk, "expires_at": row.expires_at.isoformat(),
                  "revoked_previous": revoked},
        )  # fmt: skip
        # Lazy: notifications is a separate app and this is the only call into it from here.
        from tongban.notifications.services import notice_send

        # The notice says a code was issued, never the code: the in-app copy and the SMS
        # may be read by others, and a code issued to an impostor must alert the resident.
        notice_send(
            recipient=user,
            template="account_activation",
            context={"expires_at": f"{timezone.localtime(row.expires_at):%m月%d日 %H:%M}"},
        )
    return code


def _activation_failed(key: str, ip_address: str | None) -> ActivationInvalid:
    login_attempt_record(
        username=key, ip_address=ip_address, succeeded=False, kind=LoginAttempt.Kind.ACTIVATION
    )
    return ActivationInvalid()


def account_activate(
    *,
    id_number: str,
    code: str,
    username: str = "",
    password: str,
    ip_address: str | None,
    now: dt.datetime | None = None,
) -> User:
    """The resident sets their own password (and optionally a username) with the code they
    were handed at the counter. A wrong code, an expired, used or revoked one, an ID number
    that does not match and an account that already has a password all give one error, and
    count as activation failures (per ID number and address, per address, per ID number; the
    same rules as logins but their own counts), so the code cannot be guessed and a mistyped
    code does not slow the person's password login. Returns the activated user; the caller
    logs them in."""
    now = now or timezone.now()
    number = (id_number or "").strip().upper()
    key = ACTIVATION_THROTTLE_PREFIX + resident_id_number_hash(number)[:32]
    try:
        login_attempt_check(
            username=key, ip_address=ip_address, kind=LoginAttempt.Kind.ACTIVATION, now=now
        )
    except LoginThrottled as exc:
        raise ActivationThrottled(retry_at=exc.retry_at, now=now) from exc

    # Checks that reveal nothing about the code run first, so a weak password or a taken
    # name is told plainly and does not count as a failed guess.
    username = (username or "").strip()
    if username:
        if len(username) > 150:
            raise InvalidInput("用户名不能超过150个字符", code="USERNAME_INVALID")
        try:
            UnicodeUsernameValidator()(username)
        except ValidationError as exc:
            raise InvalidInput(
                "用户名只能包含字母、数字和 @ . + - _", code="USERNAME_INVALID"
            ) from exc
        # walkin_ names are the platform's own; a resident keeping theirs leaves the box empty.
        if username.lower().startswith(WALK_IN_USERNAME_PREFIX):
            raise InvalidInput(
                f"用户名不能以“{WALK_IN_USERNAME_PREFIX}”开头；保留原用户名请留空",
                code="USERNAME_INVALID",
            )
    try:
        validate_password(password, User(username=username))
    except ValidationError as exc:
        raise PasswordTooWeak(
            "密码强度不足：" + "；".join(exc.messages),
            details=[{"field": "password", "message": m} for m in exc.messages],
        ) from exc

    typed = activation_code_normalise(code)
    profile = ResidentProfile.objects.filter(
        id_number_hash=resident_id_number_hash(number), user__isnull=False
    ).first()
    if profile is None or len(typed) != ACTIVATION_CODE_LENGTH:
        raise _activation_failed(key, ip_address)
    with transaction.atomic():
        row = (
            AccountActivationCode.objects.select_for_update()
            .filter(user_id=profile.user_id, used_at__isnull=True, revoked_at__isnull=True)
            .first()
        )
        user = User.objects.select_for_update().get(pk=profile.user_id)
        ok = (
            row is not None
            and row.expires_at > now
            and hmac.compare_digest(row.code_hash, _activation_code_hash(user.pk, typed))
            and not user.has_usable_password()
            and user.is_active
        )
        if ok:
            if username and username != user.username:
                if User.objects.filter(username__iexact=username).exclude(pk=user.pk).exists():
                    raise UsernameTaken()
                previous = user.username
                user.username = username
            else:
                previous = user.username
            user.set_password(password)
            user.save(update_fields=["username", "password"])
            row.used_at = now
            row.save(update_fields=["used_at"])
            LoginAttempt.objects.create(
                username=key,
                ip_address=ip_address or None,
                kind=LoginAttempt.Kind.ACTIVATION,
                succeeded=True,
            )
            _audit(
                user,
                action="account_activation.complete",
                object_type="user",
                object_id=user.pk,
                subject_resident_id=profile.pk,
                data={"code_id": row.pk, "username_changed": previous != user.username},
            )
    if not ok:
        raise _activation_failed(key, ip_address)
    return user
