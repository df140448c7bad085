"""随申码: issuing codes, registering scanners, scanning. Every write is here."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import segno
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from tongban.accounts import selectors as accounts_selectors
from tongban.accounts.errors import EnterpriseNotFound as AccountsEnterpriseNotFound
from tongban.accounts.errors import LoginRequired
from tongban.accounts.models import Enterprise, ResidentProfile, User
from tongban.common.crypto import derived_key
from tongban.common.errors import InvalidInput
from tongban.common.services import audit_record
from tongban.idcode import keys, qr, subject
from tongban.idcode import token as t
from tongban.idcode.attributes import attributes_for
from tongban.idcode.errors import EnterpriseNotActive, EnterpriseNotFound, NoResidentProfile
from tongban.idcode.models import ScanLog, Scanner
from tongban.idcode.registry import scenarios
from tongban.idcode.selectors import (
    ENTERPRISE,
    PERSON,
    Holder,
    holder_from_row,
    holder_of,
    holder_params,
    holder_query,
    scanner_key_hash,
)

DEFAULT_TTL_SECONDS = 300
# The page asks for a new code this long before the old one expires (half the lifetime for
# very short lifetimes, as in tests), so a scanner never sees a code about to lapse.
REFRESH_LEAD_SECONDS = 30
SCANNER_KEY_PREFIX = "tbs_"


def ttl_seconds() -> int:
    """Read at call time, so a test (or an operator) can shorten it without a restart."""
    value = int(getattr(settings, "TONGBAN_IDCODE_TTL_SECONDS", DEFAULT_TTL_SECONDS))
    return max(2, min(value, t.MAX_LIFETIME_SECONDS))


@dataclass(frozen=True)
class IssuedCode:
    text: str
    svg: str
    expires_at: dt.datetime
    refresh_after: int  # seconds from now


def code_svg(text: str) -> str:
    """Level Q (a quarter of the symbol may be lost to glare or a cracked screen), version 11,
    a fixed mask, a 4-module quiet zone; the viewBox lets the page size the code to the screen
    instead of cropping it. See tongban.idcode.qr for why it is not segno's own drawing."""
    return qr.svg(text, scale=8, title="随申码")


def qr_version(text: str) -> int:
    if qr.fits(text):
        return qr.VERSION
    return segno.make_qr(text, error="q", boost_error=False).version


SUBJECT_KEY_LABEL = "idcode.subject"
# How long a resident's account → profile link is trusted without reading it again. Safe to
# keep: the scan checks that the profile still belongs to the account that asked for the code.
PROFILE_ID_CACHE_SECONDS = 300
_profile_ids: dict[int, tuple[int, float]] = {}
_PROFILE_ID_CACHE_MAX = 100_000


def _issue(*, kind: int, user: User, holder_id: int, now: dt.datetime | None = None) -> IssuedCode:
    """Sign a code for HOLDER_ID. Writes nothing: the holder travels sealed in the code (see
    tongban.idcode.subject), so a code shown and never scanned leaves no trace."""
    now = now or timezone.now()
    ttl = ttl_seconds()
    iat = int(now.timestamp())
    cti = secrets.token_bytes(t.NONCE_BYTES)
    sealed = subject.seal(
        subject.Subject(kind, holder_id, user.pk), cti=cti, key=derived_key(SUBJECT_KEY_LABEL)
    )
    key = keys.active_key()
    claims = t.Claims(subject=t.subject_text(sealed), issued_at=iat, expires_at=iat + ttl, cti=cti)
    text = t.encode(claims, private_key=keys.private_key_of(key), kid=bytes.fromhex(key.kid))
    lead = min(REFRESH_LEAD_SECONDS, ttl // 2)
    return IssuedCode(
        text=text,
        svg=code_svg(text),
        expires_at=dt.datetime.fromtimestamp(claims.expires_at, tz=dt.UTC),
        refresh_after=max(1, ttl - lead),
    )


def _profile_id_of(user: User) -> int | None:
    """The id of USER's 一人一档, remembered for a few minutes: a resident with the code open
    asks every few minutes, and the link does not change once made."""
    clock = time.monotonic()
    cached = _profile_ids.get(user.pk)
    if cached is not None and clock - cached[1] < PROFILE_ID_CACHE_SECONDS:
        return cached[0]
    # The id only: the whole row would be read and its encrypted fields decrypted.
    found = ResidentProfile.objects.filter(user=user).values_list("pk", flat=True).first()
    if found is not None:  # not remembered when absent: a profile may be opened any minute
        if len(_profile_ids) >= _PROFILE_ID_CACHE_MAX:
            _profile_ids.clear()
        _profile_ids[user.pk] = (found, clock)
    return found


def profile_id_cache_clear() -> None:
    _profile_ids.clear()


def idcode_issue(*, user: User, now: dt.datetime | None = None) -> IssuedCode:
    """A fresh personal 随申码. No audit row per code, since the page asks for one every few
    minutes; what is recorded is every scan (ScanLog), which is when data is released."""
    profile_id = None
    if user is not None and user.is_authenticated:
        profile_id = _profile_id_of(user)
    if profile_id is None:
        raise NoResidentProfile()
    return _issue(kind=subject.PERSON, user=user, holder_id=profile_id, now=now)


def enterprise_for_agent(*, user: User, enterprise_id: int) -> Enterprise:
    """The enterprise whose 随申码 USER may show: a live authority covering it. Without one,
    the enterprise "does not exist"; with one that leaves out the 随申码, a 403 saying so."""
    try:
        membership = accounts_selectors.enterprise_authority(
            user=user, enterprise_id=enterprise_id, need=accounts_selectors.NEED_IDCODE
        )
    except (AccountsEnterpriseNotFound, LoginRequired) as exc:
        raise EnterpriseNotFound() from exc
    return membership.enterprise


def enterprise_idcode_issue(
    *, user: User, enterprise_id: int, now: dt.datetime | None = None
) -> IssuedCode:
    """一企一码, for an agent of the enterprise; anyone else is told it does not exist."""
    enterprise = enterprise_for_agent(user=user, enterprise_id=enterprise_id)
    if enterprise.status != Enterprise.Status.ACTIVE:
        raise EnterpriseNotActive()
    return _issue(kind=subject.ENTERPRISE, user=user, holder_id=enterprise.pk, now=now)


# ---------------------------------------------------------------- scanners


def scanner_create(
    *,
    name: str,
    organisation: str,
    scenario_codes: list[str],
    actor_label: str,
    is_synthetic: bool = False,
    key: str | None = None,
) -> tuple[Scanner, str]:
    """Register a scanner; returns it and its API key, which is not stored and not shown
    again. KEY is for the demo city only, whose key must survive a rebuild."""
    known = scenarios()
    unknown = [c for c in scenario_codes if c not in known]
    if unknown or not scenario_codes:
        raise InvalidInput(f"未知的场景：{'、'.join(unknown) or '（空）'}")
    key = key or SCANNER_KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        scanner = Scanner.objects.create(
            name=name,
            organisation=organisation,
            scenarios=sorted(set(scenario_codes)),
            key_hash=scanner_key_hash(key),
            key_prefix=key[:10],
            is_synthetic=is_synthetic,
        )
        audit_record(
            actor_label=actor_label,
            action="idcode.scanner_create",
            object_type="idcode_scanner",
            object_id=scanner.pk,
            data={"scenarios": scanner.scenarios, "organisation": organisation},
        )
    return scanner, key


def scanner_deactivate(*, scanner: Scanner, actor_label: str) -> Scanner:
    with transaction.atomic():
        scanner.is_active = False
        scanner.save(update_fields=["is_active"])
        audit_record(
            actor_label=actor_label,
            action="idcode.scanner_deactivate",
            object_type="idcode_scanner",
            object_id=scanner.pk,
        )
    return scanner


# ---------------------------------------------------------------- scanning


@dataclass(frozen=True)
class ScanResult:
    result: str
    attributes: dict[str, Any] = field(default_factory=dict)
    # Whom an ok scan stood for. Never sent to a connected scanner (the API returns the
    # scenario's attributes only); the platform's own counters and kiosks use it to find
    # the person's booking or to log them in, the scan being logged either way.
    holder: Holder | None = field(default=None, repr=False, compare=False)

    @property
    def message(self) -> str:
        return t.MESSAGES[self.result]


def _log(scanner, scenario, result, now, holder: Holder | None = None, cti="") -> None:
    ScanLog.objects.create(
        scanner=scanner,
        scenario=scenario[:40],
        result=result,
        at=now,
        cti=cti,
        **(holder.log_ids if holder else {}),
    )


def code_scan(
    *, scanner: Scanner, code: str, scenario: str, now: dt.datetime | None = None
) -> ScanResult:
    """Check one scanned code for one scenario and log the scan, whatever the result.

    One successful scan per code: the first ok scan records the code's cti, and any later
    scan of the same code, by any scanner in any scenario, is `replayed`. A holder shows a
    fresh code to each counter. A scan refused for scope does not use the code up."""
    now = now or timezone.now()
    spec = scenarios().get(scenario)
    if spec is None or scenario not in scanner.scenarios:
        _log(scanner, scenario, t.SCENARIO_NOT_ALLOWED, now)
        return ScanResult(t.SCENARIO_NOT_ALLOWED)
    verified = t.verify(code, public_key_for=keys.public_key_for, now=int(now.timestamp()))
    if verified.result != t.OK:
        _log(scanner, scenario, verified.result, now, cti=_cti(verified))
        return ScanResult(verified.result)
    claims = verified.claims
    cti = claims.cti.hex()
    sealed = subject.unseal(
        t.subject_bytes(claims.subject), cti=claims.cti, key=derived_key(SUBJECT_KEY_LABEL)
    )
    if sealed is None:
        _log(scanner, scenario, t.SUBJECT_UNKNOWN, now, cti=cti)
        return ScanResult(t.SUBJECT_UNKNOWN)
    kind = subject.KINDS[sealed.kind]
    names = spec.enterprise if kind == ENTERPRISE else spec.person
    if names:
        holder, first = _holder_and_first_ok(scanner, scenario, now, sealed, cti)
    else:
        holder, first = holder_of(kind, sealed.holder_id, sealed.requested_by_id), False
    if holder is None:
        _log(scanner, scenario, t.SUBJECT_UNKNOWN, now, cti=cti)
        return ScanResult(t.SUBJECT_UNKNOWN)
    if not names:
        _log(scanner, scenario, t.NOT_APPLICABLE, now, holder, cti)
        return ScanResult(t.NOT_APPLICABLE)
    if not first:
        _log(scanner, scenario, t.REPLAYED, now, holder, cti)
        return ScanResult(t.REPLAYED)
    today = timezone.localdate(now)
    attributes = attributes_for(holder.subject, names, enterprise=kind == ENTERPRISE, today=today)
    return ScanResult(t.OK, attributes, holder)


_INSERT_OK = (
    "INSERT INTO {table} (scanner_id, scenario, result, at, cti,"
    " profile_id, enterprise_id, requested_by_id) {values}"
    " ON CONFLICT (cti) WHERE result = 'ok' DO NOTHING RETURNING 1"
)


@functools.cache
def _first_ok_sql() -> str:
    return _INSERT_OK.format(
        table=ScanLog._meta.db_table, values="VALUES (%s, %s, 'ok', %s, %s, %s, %s, %s)"
    )


@functools.cache
def _holder_and_first_ok_sql(kind: str) -> str:
    """PostgreSQL: the holder and the ok row in one statement (a data-modifying WITH), so a
    scan is one round trip; the row is written only if the holder is found."""
    holder = holder_query(kind)[0]
    ids = "h.id, NULL" if kind == PERSON else "NULL, h.id"
    insert = _INSERT_OK.format(
        table=ScanLog._meta.db_table,
        values=f"SELECT %s, %s, 'ok', %s, %s, {ids}, %s FROM h",  # noqa: S608 (no input)
    )
    return (
        f"WITH h AS ({holder}), ins AS ({insert})"  # noqa: S608 (names from _meta)
        " SELECT h.*, (SELECT count(*) FROM ins) FROM h"
    )


def _holder_and_first_ok(
    scanner, scenario, now, sealed: subject.Subject, cti: str
) -> tuple[Holder | None, bool]:
    """Who holds the code, and whether this scan logged its first ok scan. The unique index
    on ok scans' cti decides: a racing second scan waits for the first to commit, then does
    nothing. One statement per write, so outside a transaction each commits by itself (no
    BEGIN/COMMIT round trips), and inside one a replay does not break it."""
    kind = subject.KINDS[sealed.kind]
    db = connections[DEFAULT_DB_ALIAS]  # one look-up of the thread's connection, not five
    by = sealed.requested_by_id
    if db.vendor == "postgresql":
        params = holder_params(kind, sealed.holder_id, by, timezone.localdate(now))
        params += [scanner.pk, scenario[:40], now, cti, by]
        with db.cursor() as cursor:
            cursor.execute(_holder_and_first_ok_sql(kind), params)
            row = cursor.fetchone()
        return (None, False) if row is None else (holder_from_row(kind, row, by), row[-1] > 0)
    at = db.ops.adapt_datetimefield_value(now)
    holder = holder_of(kind, sealed.holder_id, by)
    if holder is None:
        return None, False
    ids = holder.log_ids
    params = [scanner.pk, scenario[:40], at, cti]
    params += [ids["profile_id"], ids["enterprise_id"], ids["requested_by_id"]]
    with connection.cursor() as cursor:
        cursor.execute(_first_ok_sql(), params)
        return holder, cursor.fetchone() is not None


def _cti(verified: t.Verified) -> str:
    return verified.claims.cti.hex() if verified.claims else ""
