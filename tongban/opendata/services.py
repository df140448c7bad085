"""Writes of 开放数据: registering developers, creating and revoking their API keys, and
admitting (or refusing) each call of the data API."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from tongban.accounts.models import User
from tongban.common.services import audit_record
from tongban.opendata.errors import (
    ApiKeyInvalid,
    ApiKeyNotFound,
    ApiRateLimited,
    DeveloperAlreadyRegistered,
    DeveloperInputInvalid,
    DeveloperNotRegistered,
)
from tongban.opendata.models import ApiKey, ApiKeyDailyUsage, Developer
from tongban.opendata.selectors import API_KEY_PREFIX, api_key_hash, rate_limit

WINDOW = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    # Shown once, to the developer who created it; stored only as a keyed hash.
    secret: str


def _clean(*, app_name: str, purpose: str, contact_email: str) -> tuple[str, str, str]:
    app_name, purpose, contact_email = app_name.strip(), purpose.strip(), contact_email.strip()
    details = []
    if not app_name or len(app_name) > 100:
        details.append({"field": "app_name", "message": "请填写应用名称（不超过100字）"})
    if not purpose or len(purpose) > 500:
        details.append({"field": "purpose", "message": "请说明数据的用途（不超过500字）"})
    try:
        validate_email(contact_email)
    except ValidationError:
        details.append({"field": "contact_email", "message": "请填写有效的联系邮箱"})
    if len(contact_email) > 200:
        details.append({"field": "contact_email", "message": "联系邮箱过长"})
    if details:
        raise DeveloperInputInvalid(details=details)
    return app_name, purpose, contact_email


def _issue(*, developer: Developer, actor: User, now: dt.datetime) -> IssuedKey:
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        developer=developer,
        key_hash=api_key_hash(secret),
        key_prefix=secret[:12],
        created_at=now,
    )
    audit_record(
        actor=actor,
        action="opendata.api_key_create",
        object_type="opendata_api_key",
        object_id=key.pk,
        data={"developer_id": developer.pk, "key_prefix": key.key_prefix},
    )
    return IssuedKey(key=key, secret=secret)


def developer_register(*, user: User, app_name: str, purpose: str, contact_email: str) -> IssuedKey:
    """登记为开发者: the account names its application, what it will do with the data and an
    address to reach it, and receives its first API key."""
    app_name, purpose, contact_email = _clean(
        app_name=app_name, purpose=purpose, contact_email=contact_email
    )
    now = timezone.now()
    try:
        with transaction.atomic():
            developer = Developer.objects.create(
                user=user,
                app_name=app_name,
                purpose=purpose,
                contact_email=contact_email,
                registered_at=now,
            )
            audit_record(
                actor=user,
                action="opendata.developer_register",
                object_type="opendata_developer",
                object_id=developer.pk,
                data={"app_name": app_name},
            )
            return _issue(developer=developer, actor=user, now=now)
    except IntegrityError:
        # Registered already (a second tab, a double submit): nothing new is made.
        raise DeveloperAlreadyRegistered() from None


def _revoke_live(*, developer: Developer, actor: User, now: dt.datetime) -> list[ApiKey]:
    revoked = list(
        ApiKey.objects.select_for_update().filter(developer=developer, revoked_at__isnull=True)
    )
    for key in revoked:
        key.revoked_at = now
        key.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="opendata.api_key_revoke",
            object_type="opendata_api_key",
            object_id=key.pk,
            data={"developer_id": developer.pk, "key_prefix": key.key_prefix},
        )
    return revoked


def _developer_locked(user: User) -> Developer:
    developer = Developer.objects.select_for_update().filter(user=user).first()
    if developer is None:
        raise DeveloperNotRegistered()
    return developer


def api_key_create(*, actor: User) -> IssuedKey:
    """A new key for the actor's developer registration. The key it held stops working in
    the same transaction: one live key per developer, so the rate limit cannot be multiplied
    by holding several."""
    now = timezone.now()
    with transaction.atomic():
        developer = _developer_locked(actor)
        _revoke_live(developer=developer, actor=actor, now=now)
        return _issue(developer=developer, actor=actor, now=now)


def api_key_revoke(*, actor: User, key_id: int) -> ApiKey:
    """撤销密钥: calls with it are refused from now on. Only the developer who holds it may;
    anyone else's key is "not found", so nothing tells whose it is."""
    with transaction.atomic():
        key = (
            ApiKey.objects.select_for_update()
            .filter(pk=key_id, developer__user=actor)
            .select_related("developer")
            .first()
        )
        if key is None:
            raise ApiKeyNotFound()
        if key.revoked_at is None:
            _revoke_live(developer=key.developer, actor=actor, now=timezone.now())
            key.refresh_from_db(fields=["revoked_at"])
    return key


def _count_use(*, key_id: int, day: dt.date, dataset: str, refused: bool) -> None:
    """One UPDATE in the common case; the first call of a day to a dataset inserts the row."""
    step = {"refused": F("refused") + 1} if refused else {"calls": F("calls") + 1}
    rows = ApiKeyDailyUsage.objects.filter(key_id=key_id, day=day, dataset=dataset)
    if rows.update(**step):
        return
    try:
        with transaction.atomic():
            ApiKeyDailyUsage.objects.create(
                key_id=key_id,
                day=day,
                dataset=dataset,
                calls=0 if refused else 1,
                refused=1 if refused else 0,
            )
    except IntegrityError:
        rows.update(**step)  # another process inserted it first


def api_call_admit(*, key: ApiKey, dataset_id: str, now: dt.datetime | None = None) -> None:
    """Count one call of KEY to DATASET_ID, or refuse it with ApiRateLimited once the key has
    made TONGBAN_OPENDATA_RATE_LIMIT calls in the current minute.

    The admission is one conditional UPDATE of the key's row: it starts a new minute, or adds
    one to this minute's calls while they are under the limit, and matches no row otherwise.
    The database applies it atomically (PostgreSQL locks the row and re-checks the condition
    after a concurrent update; SQLite writes one at a time), so however many app servers
    answer, a key never gets more than the limit in a minute. A refused call is counted too,
    for the developer's usage page."""
    now = now or timezone.now()
    window = now.replace(second=0, microsecond=0)
    limit = rate_limit()
    # Another server's clock may run a little ahead and have started a later minute; then
    # this call counts in that minute rather than winding it back.
    fresh = Q(window_start__isnull=True) | Q(window_start__lt=window)
    with transaction.atomic():
        admitted = (
            ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True)
            .filter(fresh | Q(window_calls__lt=limit))
            .update(
                window_calls=Case(When(fresh, then=Value(1)), default=F("window_calls") + 1),
                window_start=Case(
                    When(fresh, then=Value(window, output_field=models.DateTimeField())),
                    default=F("window_start"),
                ),
                last_used_at=now,
            )
        )
        state = None
        if not admitted:
            state = ApiKey.objects.filter(pk=key.pk).values("revoked_at", "window_start").first()
            if state is None or state["revoked_at"] is not None:
                raise ApiKeyInvalid()  # revoked since the key was read
        _count_use(
            key_id=key.pk, day=timezone.localdate(now), dataset=dataset_id, refused=not admitted
        )
    if state is not None:
        # The refusal is recorded above, committed; the caller is told when the minute ends.
        left = (state["window_start"] + WINDOW - now).total_seconds()
        raise ApiRateLimited(retry_after_seconds=min(60, max(1, math.ceil(left))), limit=limit)
