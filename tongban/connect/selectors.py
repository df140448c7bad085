"""Reads of 接入管理 for the pages, the API authentication and the OIDC validator."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max, Sum
from django.utils import timezone
from oauth2_provider.models import get_application_model

from tongban.accounts.models import StaffRole, User
from tongban.accounts.selectors import staff_posts_of, staff_roles_of
from tongban.connect.errors import ClientNotFound, NotConnectAdministrator
from tongban.connect.models import ClientDailyActivity, ConnectedClient, Consent
from tongban.connect.scopes import LEGAL_BASIS_SCOPES, SCOPES

_MANAGERS = {StaffRole.ADMINISTRATOR}
_READERS = {StaffRole.ADMINISTRATOR, StaffRole.CITY_OPERATOR}


def may_manage_clients(user: User | None) -> bool:
    """Registering, rotating and disabling clients is the city's system administrator's."""
    return bool(staff_roles_of(user) & _MANAGERS)


def may_view_clients(user: User | None) -> bool:
    """The city operator watches the clients' activity, read-only."""
    return bool(staff_roles_of(user) & _READERS)


def require_client_reader(user: User | None) -> None:
    if not may_view_clients(user):
        raise NotConnectAdministrator()


def client_of(application) -> ConnectedClient | None:
    """The city's record of APPLICATION (cached on it for the rest of the request)."""
    if application is None:
        return None
    cached = getattr(application, "_tongban_connected", None)
    if cached is None:
        cached = ConnectedClient.objects.filter(application=application).first()
        application._tongban_connected = cached
    return cached


def allowed_scopes_of(application) -> set[str]:
    """The scopes APPLICATION may ask for: none once disabled or never registered here; the
    ID number only while a legal basis is on record."""
    client = client_of(application)
    if client is None or not client.is_active:
        return set()
    scopes = client.scope_set & set(SCOPES)
    if not client.legal_basis.strip():
        scopes -= LEGAL_BASIS_SCOPES
    return scopes


def scope_labels(scopes) -> list[dict[str, str]]:
    """[{code, label}] in the order of the scope table, for the consent page and lists."""
    wanted = set(scopes)
    return [{"code": code, "label": label} for code, label in SCOPES.items() if code in wanted]


def consent_covering(*, user: User, application, scopes) -> Consent | None:
    """The resident's live consent to APPLICATION if it already covers SCOPES."""
    client = client_of(application)
    if client is None or not user.is_authenticated:
        return None
    consent = Consent.objects.filter(user=user, client=client, withdrawn_at__isnull=True).first()
    if consent is not None and set(scopes) <= consent.scope_set:
        return consent
    return None


def consents_for(*, user: User) -> list[dict[str, Any]]:
    """已授权的网站/应用: the sites and apps USER has allowed, newest first."""
    rows = (
        Consent.objects.filter(user=user, withdrawn_at__isnull=True)
        .select_related("client__application")
        .order_by("-granted_at", "-pk")
    )
    return [
        {
            "id": c.pk,
            "name": c.client.application.name,
            "kind_label": c.client.get_kind_display(),
            "granted_at": c.granted_at,
            "scopes": scope_labels(c.scope_set),
        }
        for c in rows
    ]


def _activity_summary(client: ConnectedClient, since: dt.date) -> dict[str, Any]:
    totals = client.activity.filter(day__gte=since).aggregate(
        calls=Sum("calls"), errors=Sum("errors")
    )
    last = client.activity.aggregate(last=Max("last_call_at"))["last"]
    return {"calls": totals["calls"] or 0, "errors": totals["errors"] or 0, "last_call_at": last}


def _client_row(client: ConnectedClient, since: dt.date) -> dict[str, Any]:
    app = client.application
    return {
        "id": client.pk,
        "name": app.name,
        "client_id": app.client_id,
        "kind": client.kind,
        "kind_label": client.get_kind_display(),
        "confidential": app.client_type == get_application_model().CLIENT_CONFIDENTIAL,
        "redirect_uris": app.redirect_uris.split(),
        "post_logout_redirect_uris": app.post_logout_redirect_uris.split(),
        "scopes": scope_labels(client.scope_set),
        "legal_basis": client.legal_basis,
        "service_posts": staff_posts_of(client.service_account) if client.service_account else [],
        "active": client.is_active,
        "disabled_at": client.disabled_at,
        "registered_at": client.registered_at,
        "is_synthetic": client.is_synthetic,
        "activity": _activity_summary(client, since),
    }


def clients_for(*, viewer: User, days: int = 30) -> list[dict[str, Any]]:
    """The registered clients with their activity over the last DAYS days."""
    require_client_reader(viewer)
    since = timezone.localdate() - dt.timedelta(days=days - 1)
    rows = ConnectedClient.objects.select_related("application", "service_account").order_by(
        "disabled_at", "application__name", "pk"
    )
    return [_client_row(c, since) for c in rows]


def client_for(*, viewer: User, client_pk: int, days: int = 14) -> dict[str, Any]:
    """One client and its activity per day over the last DAYS days (days without calls too)."""
    require_client_reader(viewer)
    client = (
        ConnectedClient.objects.select_related("application", "service_account")
        .filter(pk=client_pk)
        .first()
    )
    if client is None:
        raise ClientNotFound()
    today = timezone.localdate()
    since = today - dt.timedelta(days=days - 1)
    by_day = {a.day: a for a in ClientDailyActivity.objects.filter(client=client, day__gte=since)}
    daily = []
    for offset in range(days):
        day = today - dt.timedelta(days=offset)
        row = by_day.get(day)
        daily.append(
            {
                "day": day,
                "calls": row.calls if row else 0,
                "errors": row.errors if row else 0,
                "last_call_at": row.last_call_at if row else None,
            }
        )
    result = _client_row(client, since)
    result["daily"] = daily
    return result
