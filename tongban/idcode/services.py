"""随申码: issuing codes, registering scanners, scanning. Every write is here."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass, field
from typing import Any

import segno
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tongban.accounts.models import Enterprise, EnterpriseMembership, ResidentProfile, User
from tongban.common.errors import InvalidInput
from tongban.common.services import audit_record
from tongban.idcode import keys, qr
from tongban.idcode import token as t
from tongban.idcode.attributes import attributes_for
from tongban.idcode.errors import EnterpriseNotActive, EnterpriseNotFound, NoResidentProfile
from tongban.idcode.models import Pseudonym, ScanLog, Scanner
from tongban.idcode.registry import scenarios
from tongban.idcode.selectors import (
    Holder,
    holder_from_row,
    holder_of,
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


def _issue(*, kind: str, user: User, profile_id=None, enterprise_id=None, now=None) -> IssuedCode:
    now = now or timezone.now()
    ttl = ttl_seconds()
    iat = int(now.timestamp())
    subject = t.subject_text(secrets.token_bytes(t.SUBJECT_BYTES))
    key = keys.active_key()
    Pseudonym.objects.create(
        kind=kind,
        profile_id=profile_id,
        enterprise_id=enterprise_id,
        requested_by=user,
        value=subject,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=ttl),
    )
    claims = t.Claims(
        subject=subject,
        issued_at=iat,
        expires_at=iat + ttl,
        cti=secrets.token_bytes(t.NONCE_BYTES),
    )
    text = t.encode(claims, private_key=keys.private_key_of(key), kid=bytes.fromhex(key.kid))
    lead = min(REFRESH_LEAD_SECONDS, ttl // 2)
    return IssuedCode(
        text=text,
        svg=code_svg(text),
        expires_at=dt.datetime.fromtimestamp(claims.expires_at, tz=dt.UTC),
        refresh_after=max(1, ttl - lead),
    )


def idcode_issue(*, user: User, now: dt.datetime | None = None) -> IssuedCode:
    """A fresh personal 随申码. The Pseudonym row is the record of issue; no audit row per code,
    since the page asks for one every few minutes."""
    # The profile's id only: the whole row would be read and its encrypted fields decrypted,
    # the largest cost of issuing a code.
    profile_id = None
    if user is not None and user.is_authenticated:
        found = ResidentProfile.objects.filter(user=user).values_list("pk", flat=True)
        profile_id = found.first()
    if profile_id is None:
        raise NoResidentProfile()
    return _issue(kind=Pseudonym.Kind.PERSON, user=user, profile_id=profile_id, now=now)


def enterprise_for_agent(*, user: User, enterprise_id: int) -> Enterprise:
    if not 0 < enterprise_id < 2**31:  # beyond any id, and beyond what SQLite can bind
        raise EnterpriseNotFound()
    membership = (
        EnterpriseMembership.objects.filter(user=user, enterprise_id=enterprise_id)
        .select_related("enterprise")
        .first()
    )
    if membership is None:
        raise EnterpriseNotFound()
    return membership.enterprise


def enterprise_idcode_issue(
    *, user: User, enterprise_id: int, now: dt.datetime | None = None
) -> IssuedCode:
    """一企一码, for an agent of the enterprise; anyone else is told it does not exist."""
    enterprise = enterprise_for_agent(user=user, enterprise_id=enterprise_id)
    if enterprise.status != Enterprise.Status.ACTIVE:
        raise EnterpriseNotActive()
    return _issue(kind=Pseudonym.Kind.ENTERPRISE, user=user, enterprise_id=enterprise.pk, now=now)


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

    @property
    def message(self) -> str:
        return t.MESSAGES[self.result]


def _log(scanner, scenario, result, now, pseudonym_id=None, cti="") -> None:
    ScanLog.objects.create(
        scanner=scanner,
        scenario=scenario[:40],
        result=result,
        at=now,
        pseudonym_id=pseudonym_id,
        cti=cti,
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
    kinds = [k for k, names in ((PERSON, spec.person), (ENTERPRISE, spec.enterprise)) if names]
    holder, first = _holder_and_first_ok(scanner, scenario, now, claims.subject, cti, kinds)
    if holder is None or holder.subject is None:
        _log(scanner, scenario, t.SUBJECT_UNKNOWN, now, cti=cti)
        return ScanResult(t.SUBJECT_UNKNOWN)
    is_enterprise = holder.kind == ENTERPRISE
    names = spec.enterprise if is_enterprise else spec.person
    if not names:
        _log(scanner, scenario, t.NOT_APPLICABLE, now, holder.pseudonym_id, cti)
        return ScanResult(t.NOT_APPLICABLE)
    if not first:
        _log(scanner, scenario, t.REPLAYED, now, holder.pseudonym_id, cti)
        return ScanResult(t.REPLAYED)
    today = timezone.localdate(now)
    attributes = attributes_for(holder.subject, names, enterprise=is_enterprise, today=today)
    return ScanResult(t.OK, attributes)


PERSON, ENTERPRISE = Pseudonym.Kind.PERSON.value, Pseudonym.Kind.ENTERPRISE.value
_INSERT_OK = (
    "INSERT INTO {table} (scanner_id, scenario, result, at, pseudonym_id, cti) {values}"
    " ON CONFLICT (cti) WHERE result = 'ok' DO NOTHING RETURNING 1"
)


@functools.cache
def _first_ok_sql() -> str:
    return _INSERT_OK.format(
        table=ScanLog._meta.db_table, values="VALUES (%s, %s, 'ok', %s, %s, %s)"
    )


@functools.cache
def _holder_and_first_ok_sql() -> str:
    """PostgreSQL: the holder and the ok row in one statement (a data-modifying WITH), so a
    scan is one round trip; the row is written only for a holder of a kind in the scenario."""
    insert = _INSERT_OK.format(
        table=ScanLog._meta.db_table,
        values=(
            "SELECT %s, %s, 'ok', %s, h.ps_id, %s FROM h WHERE h.kind = ANY(%s)"
            " AND (h.pr_id IS NOT NULL OR h.en_id IS NOT NULL)"
        ),
    )
    holder = holder_query()[0]
    return (
        f"WITH h AS ({holder}), ins AS ({insert})"  # noqa: S608 (names from _meta)
        " SELECT h.*, (SELECT count(*) FROM ins) FROM h"
    )


def _holder_and_first_ok(
    scanner, scenario, now, pseudonym, cti, kinds
) -> tuple[Holder | None, bool]:
    """Who holds the code, and whether this scan logged its first ok scan (only for a holder
    whose kind the scenario serves). The unique index on ok scans' cti decides: a racing
    second scan waits for the first to commit, then does nothing. One statement per write,
    so outside a transaction each commits by itself (no BEGIN/COMMIT round trips), and inside
    one a replay does not break it."""
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = _holder_and_first_ok_sql()
            cursor.execute(sql, [pseudonym, scanner.pk, scenario[:40], at, cti, kinds])
            row = cursor.fetchone()
            return (None, False) if row is None else (holder_from_row(row), row[-1] > 0)
        holder = holder_of(pseudonym)
        if holder is None or holder.subject is None or holder.kind not in kinds:
            return holder, False
        cursor.execute(_first_ok_sql(), [scanner.pk, scenario[:40], at, holder.pseudonym_id, cti])
        return holder, cursor.fetchone() is not None


def _cti(verified: t.Verified) -> str:
    return verified.claims.cti.hex() if verified.claims else ""


def pseudonyms_sweep(*, now: dt.datetime | None = None) -> int:
    """Delete the pseudonyms of expired codes that were never scanned: nothing points at them
    and they would otherwise pile up at one row per code. Scanned ones stay, so the holder
    keeps seeing who scanned them. Returns how many were deleted."""
    now = now or timezone.now()
    with transaction.atomic():
        deleted, _ = Pseudonym.objects.filter(expires_at__lt=now, scans__isnull=True).delete()
        if deleted:
            audit_record(
                actor_label="system", action="idcode.pseudonyms_sweep", data={"deleted": deleted}
            )
    return deleted
