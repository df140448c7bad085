"""Writes of 接入管理: registering clients, residents' consents, and what each call leaves."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_refresh_token_model,
)

from tongban.accounts.models import ResidentProfile, StaffRole, User
from tongban.accounts.services import staff_assign
from tongban.catalog.models import Department
from tongban.common.errors import InvalidInput
from tongban.common.services import audit_record
from tongban.connect.errors import (
    ClientDisabled,
    ClientNotFound,
    ConsentNotFound,
    InvalidRedirectUri,
    InvalidScopes,
    LegalBasisRequired,
    NotConnectAdministrator,
    ServiceAccountRequired,
)
from tongban.connect.models import ClientDailyActivity, ClientKind, ConnectedClient, Consent
from tongban.connect.scopes import LEGAL_BASIS_SCOPES, RESIDENT_SCOPES, SCOPES, SERVICE_SCOPES
from tongban.connect.selectors import may_manage_clients

# The roles a department system's service account may hold: it works a department's queue,
# it never administers the platform or opens accounts at a counter.
SERVICE_ROLES = (StaffRole.ACCEPTOR, StaffRole.REVIEWER, StaffRole.ISSUER)


@dataclass(frozen=True)
class RegisteredClient:
    client: ConnectedClient
    client_id: str
    # Shown once, to the administrator who registered or rotated it; stored only hashed.
    client_secret: str


def _require_manager(actor: User | str) -> None:
    if isinstance(actor, str):
        # Only the platform's own processes (the demo city setup) name themselves.
        if not actor.startswith("system:"):
            raise ValueError(f"a system actor is named 'system:<process>', got {actor!r}")
        return
    if not may_manage_clients(actor):
        raise NotConnectAdministrator()


def _actor_fields(actor: User | str) -> dict:
    return {"actor_label": actor} if isinstance(actor, str) else {"actor": actor}


def _clean_redirect_uris(text: str, *, required: bool) -> list[str]:
    """Exact URIs, one a line: no wildcards, no fragments (RFC 6749 §3.1.2), https unless the
    platform itself runs on plain http for the demo and tests."""
    allowed = {"https"} if settings.HTTPS else {"https", "http"}
    uris = []
    for line in text.split():
        parts = urlsplit(line)
        if parts.scheme not in allowed or not parts.netloc or parts.fragment or "*" in line:
            raise InvalidRedirectUri()
        if line not in uris:
            uris.append(line)
    if required and not uris:
        raise InvalidRedirectUri("请至少填写一个回调地址")
    return uris


def _clean_scopes(kind: str, scopes: list[str], legal_basis: str) -> list[str]:
    wanted = [s for s in SCOPES if s in set(scopes)]
    if not wanted or len(wanted) != len(set(scopes)):
        raise InvalidScopes()
    if kind == ClientKind.DEPARTMENT_SYSTEM:
        if set(wanted) != set(SERVICE_SCOPES):
            raise InvalidScopes("部门系统只能申请“部门工作台”权限")
    else:
        if not set(wanted) <= RESIDENT_SCOPES:
            raise InvalidScopes("网站和移动应用不能申请“部门工作台”权限")
    if set(wanted) & LEGAL_BASIS_SCOPES and not legal_basis.strip():
        raise LegalBasisRequired()
    return wanted


def _secret() -> str:
    return secrets.token_urlsafe(36)


def client_register(
    *,
    actor: User | str,
    name: str,
    kind: str,
    confidential: bool,
    redirect_uris: str = "",
    post_logout_redirect_uris: str = "",
    scopes: list[str],
    legal_basis: str = "",
    department: Department | None = None,
    service_roles: list[str] | None = None,
    is_synthetic: bool = False,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> RegisteredClient:
    """登记接入应用. A website or app logs residents in (authorization code, PKCE required of
    a public one) and may only be sent to its exact redirect URIs; a department system is
    confidential, uses its own credentials (client credentials) and acts through a service
    account created here with the posts given in DEPARTMENT."""
    _require_manager(actor)
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("请填写应用名称（不超过100字）", code="CLIENT_NAME_REQUIRED")
    if kind not in ClientKind.values:
        raise InvalidScopes("应用类型无效")
    legal_basis = legal_basis.strip()
    wanted = _clean_scopes(kind, scopes, legal_basis)
    Application = get_application_model()
    is_system = kind == ClientKind.DEPARTMENT_SYSTEM
    if is_system:
        roles = [r for r in (service_roles or []) if r in SERVICE_ROLES]
        if department is None or not roles or len(roles) != len(set(service_roles or [])):
            raise ServiceAccountRequired()
        confidential = True
        uris: list[str] = []
        logout_uris: list[str] = []
        grant = Application.GRANT_CLIENT_CREDENTIALS
    else:
        uris = _clean_redirect_uris(redirect_uris, required=True)
        logout_uris = _clean_redirect_uris(post_logout_redirect_uris, required=False)
        grant = Application.GRANT_AUTHORIZATION_CODE
    # A given id and secret are for the demo city, whose secrets derive from SECRET_KEY.
    secret = (client_secret or _secret()) if confidential else ""
    with transaction.atomic():
        application = Application(
            name=name,
            client_type=(
                Application.CLIENT_CONFIDENTIAL if confidential else Application.CLIENT_PUBLIC
            ),
            authorization_grant_type=grant,
            redirect_uris=" ".join(uris),
            post_logout_redirect_uris=" ".join(logout_uris),
            algorithm=Application.RS256_ALGORITHM if not is_system else Application.NO_ALGORITHM,
            skip_authorization=False,
            hash_client_secret=True,
            client_secret=secret,
            **({"client_id": client_id} if client_id else {}),
        )
        application.save()
        service_account = None
        if is_system:
            service_account = User.objects.create(
                username=f"svc-{application.client_id[:12].lower()}",
                kind=User.Kind.STAFF,
                display_name=f"{name}（系统账户）",
            )
            service_account.set_unusable_password()
            service_account.save(update_fields=["password"])
            for role in roles:
                staff_assign(actor=actor, user=service_account, department=department, role=role)
        client = ConnectedClient.objects.create(
            application=application,
            kind=kind,
            allowed_scopes=" ".join(wanted),
            legal_basis=legal_basis,
            service_account=service_account,
            registered_by=None if isinstance(actor, str) else actor,
            is_synthetic=is_synthetic,
        )
        audit_record(
            **_actor_fields(actor),
            action="connect.client_register",
            object_type="connect_client",
            object_id=client.pk,
            data={
                "client_id": application.client_id,
                "name": name,
                "kind": kind,
                "confidential": confidential,
                "scopes": wanted,
                "redirect_uris": uris,
                **({"service_account_id": service_account.pk} if service_account else {}),
            },
        )
    return RegisteredClient(client=client, client_id=application.client_id, client_secret=secret)


def _locked_client(client_pk: int) -> ConnectedClient:
    client = (
        ConnectedClient.objects.select_for_update(of=("self",))
        .select_related("application")
        .filter(pk=client_pk)
        .first()
    )
    if client is None:
        raise ClientNotFound()
    return client


def _revoke_tokens(*, application, user: User | None = None) -> int:
    """Delete the client's live tokens and codes (for USER only, when given): DOT treats a
    token that is gone as revoked, so the next call with it is refused."""
    filters = {"application": application}
    if user is not None:
        filters["user"] = user
    refresh = get_refresh_token_model().objects.filter(**filters, revoked__isnull=True)
    refresh.update(revoked=timezone.now())
    count, _ = get_access_token_model().objects.filter(**filters).delete()
    get_grant_model().objects.filter(**filters).delete()
    return count


def client_rotate_secret(*, actor: User, client_pk: int) -> RegisteredClient:
    """A new secret for a confidential client; the old one stops working at once, and so do
    the tokens issued under it."""
    _require_manager(actor)
    with transaction.atomic():
        client = _locked_client(client_pk)
        application = client.application
        if application.client_type != get_application_model().CLIENT_CONFIDENTIAL:
            raise InvalidInput("公开客户端（移动应用）没有密钥", code="CLIENT_HAS_NO_SECRET")
        if not client.is_active:
            raise ClientDisabled()
        secret = _secret()
        application.client_secret = secret
        application.save()
        revoked = _revoke_tokens(application=application)
        audit_record(
            actor=actor,
            action="connect.client_rotate_secret",
            object_type="connect_client",
            object_id=client.pk,
            data={"client_id": application.client_id, "tokens_revoked": revoked},
        )
    return RegisteredClient(client=client, client_id=application.client_id, client_secret=secret)


def client_disable(*, actor: User, client_pk: int) -> ConnectedClient:
    """停用: the client can no longer log anyone in or call the API; its tokens are revoked."""
    _require_manager(actor)
    with transaction.atomic():
        client = _locked_client(client_pk)
        if not client.is_active:
            return client
        client.disabled_at = timezone.now()
        client.save(update_fields=["disabled_at"])
        revoked = _revoke_tokens(application=client.application)
        audit_record(
            actor=actor,
            action="connect.client_disable",
            object_type="connect_client",
            object_id=client.pk,
            data={"client_id": client.application.client_id, "tokens_revoked": revoked},
        )
    return client


def consent_grant(*, user: User, client: ConnectedClient, scopes: list[str]) -> Consent:
    """The resident allowed CLIENT to receive SCOPES: remembered, widened if it asked for more."""
    scopes = sorted(set(scopes))
    with transaction.atomic():
        consent = (
            Consent.objects.select_for_update()
            .filter(user=user, client=client, withdrawn_at__isnull=True)
            .first()
        )
        if consent is None:
            try:
                with transaction.atomic():
                    consent = Consent.objects.create(
                        user=user, client=client, scopes=" ".join(scopes), granted_at=timezone.now()
                    )
            except IntegrityError:
                # A second tab allowed at the same moment: widen the row it created.
                consent = Consent.objects.select_for_update().get(
                    user=user, client=client, withdrawn_at__isnull=True
                )
        merged = sorted(consent.scope_set | set(scopes))
        if merged != sorted(consent.scope_set):
            consent.scopes = " ".join(merged)
            consent.granted_at = timezone.now()
            consent.save(update_fields=["scopes", "granted_at"])
        audit_record(
            actor=user,
            action="connect.consent_grant",
            object_type="connect_consent",
            object_id=consent.pk,
            data={"client_id": client.application.client_id, "scopes": scopes},
        )
    return consent


def consent_withdraw(*, actor: User, consent_id: int) -> Consent:
    """撤销授权: the site gets nothing more; its tokens for the resident stop working now, and
    the next login there asks again."""
    with transaction.atomic():
        consent = (
            Consent.objects.select_for_update()
            .select_related("client__application")
            .filter(pk=consent_id, user=actor, withdrawn_at__isnull=True)
            .first()
        )
        if consent is None:
            # Someone else's consent is "not found" too: nothing tells whose it is.
            raise ConsentNotFound()
        consent.withdrawn_at = timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        revoked = _revoke_tokens(application=consent.client.application, user=actor)
        audit_record(
            actor=actor,
            action="connect.consent_withdraw",
            object_type="connect_consent",
            object_id=consent.pk,
            data={"client_id": consent.client.application.client_id, "tokens_revoked": revoked},
        )
    return consent


# Claims as 一人一档 names them, so 我的数据使用记录 labels them like any other read.
CLAIM_FIELDS = {"name": "name", "id_number": "id_number", "phone_number": "phone"}


def personal_data_release_record(
    *, client: ConnectedClient, user: User, claims: list[str], channel: str
) -> None:
    """Log that CLIENT received USER's personal data (a read, with its purpose: the
    resident's own login there). Shown in the resident's 我的数据使用记录."""
    fields = [CLAIM_FIELDS[c] for c in claims if c in CLAIM_FIELDS]
    if not fields:
        return
    profile_id = ResidentProfile.objects.filter(user=user).values_list("pk", flat=True).first()
    name = client.application.name
    audit_record(
        actor=None,
        actor_label=f"client:{client.application.client_id}"[:150],
        action="personal_data.read",
        object_type="connect_client",
        object_id=client.pk,
        subject_resident_id=profile_id,
        purpose=f"经您授权，登录「{name}」时提供"[:200],
        data={"fields": fields, "post": f"{name}（{client.get_kind_display()}）", "via": channel},
    )


def api_write_record(
    *, client: ConnectedClient, user: User, method: str, path: str, status: int
) -> None:
    """One audit row per write made with a token: who (the user or service account) asked,
    through which client, and what came of it."""
    audit_record(
        actor=user,
        action="connect.api_write",
        object_type="connect_client",
        object_id=client.pk,
        data={
            "client_id": client.application.client_id,
            "method": method,
            "path": path[:300],
            "status": status,
        },
    )


def activity_record(*, client_pk: int, error: bool, at=None) -> None:
    """Count one API call of a client for the administrator (calls, errors, last use). One
    UPDATE in the common case; the first call of a day inserts the row."""
    at = at or timezone.now()
    day = timezone.localdate(at)
    error_step = 1 if error else 0
    updated = ClientDailyActivity.objects.filter(client_id=client_pk, day=day).update(
        calls=F("calls") + 1, errors=F("errors") + error_step, last_call_at=at
    )
    if updated:
        return
    try:
        with transaction.atomic():
            ClientDailyActivity.objects.create(
                client_id=client_pk, day=day, calls=1, errors=error_step, last_call_at=at
            )
    except IntegrityError:
        ClientDailyActivity.objects.filter(client_id=client_pk, day=day).update(
            calls=F("calls") + 1, errors=F("errors") + error_step, last_call_at=at
        )
