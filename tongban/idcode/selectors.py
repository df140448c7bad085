"""Reads for the 随申码 pages and API."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.db import connection

from tongban.accounts.models import Enterprise, EnterpriseMembership, ResidentProfile, User
from tongban.accounts.selectors import MANAGER_ROLES, agent_today
from tongban.common.crypto import lookup_hash
from tongban.idcode.attributes import ENTERPRISE_FIELDS, PERSON_FIELDS
from tongban.idcode.models import ScanLog, Scanner
from tongban.idcode.registry import scenarios
from tongban.idcode.token import RESULT_LABELS

SCANNER_KEY_CONTEXT = "idcode.scanner_key"


@dataclass(frozen=True)
class Holder:
    """Whom a code stands for, with just the fields the scenario attributes read."""

    kind: str  # "person" or "enterprise"
    subject: ResidentProfile | Enterprise
    requested_by_id: int

    @property
    def log_ids(self) -> dict[str, int | None]:
        """The ScanLog columns naming this holder."""
        is_person = self.kind == PERSON
        return {
            "profile_id": self.subject.pk if is_person else None,
            "enterprise_id": None if is_person else self.subject.pk,
            "requested_by_id": self.requested_by_id,
        }


PERSON, ENTERPRISE = "person", "enterprise"


def _loaded(model, names: tuple[str, ...]) -> tuple[str, ...]:
    # In the model's field order: Model.from_db takes the values in that order.
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in {"id", *names})


@functools.cache
def holder_query(kind: str) -> tuple[str, tuple[str, ...]]:
    """The SELECT of a code's holder, with the parameters `holder_params` lists: the holder's
    id and the id of the account that asked for the code, which must still be the profile's
    own account (or, for an enterprise, hold a live authority covering its 随申码, checked
    as accounts.selectors.membership_live_q does, with today's date as a third parameter).
    Returns the SQL and the fields it loads, in column order."""
    model, wanted = (
        (ResidentProfile, PERSON_FIELDS) if kind == PERSON else (Enterprise, ENTERPRISE_FIELDS)
    )
    fields = _loaded(model, wanted)
    columns = ", ".join(f"h.{model._meta.get_field(n).column}" for n in fields)
    table = model._meta.db_table
    if kind == PERSON:
        owner = f"h.{ResidentProfile._meta.get_field('user').column} = %s"
    else:
        membership = EnterpriseMembership._meta

        def col(name: str) -> str:
            return "m." + membership.get_field(name).column

        managers = ", ".join(f"'{r}'" for r in sorted(MANAGER_ROLES))
        owner = (
            f"EXISTS (SELECT 1 FROM {membership.db_table} m"  # noqa: S608 (names from _meta)
            f" WHERE {col('enterprise')} = h.id"
            f" AND {col('user')} = %s"
            f" AND {col('accepted_at')} IS NOT NULL AND {col('revoked_at')} IS NULL"
            f" AND {col('declined_at')} IS NULL"
            f" AND ({col('expires_on')} IS NULL OR {col('expires_on')} >= %s)"
            f" AND ({col('may_idcode')} OR {col('role')} IN ({managers})))"
        )
    sql = f"SELECT {columns} FROM {table} h WHERE h.id = %s AND {owner}"  # noqa: S608
    return sql, fields


def holder_params(kind: str, holder_id: int, requested_by_id: int, today=None) -> list:
    """The parameters of holder_query(KIND), in order."""
    if kind == PERSON:
        return [holder_id, requested_by_id]
    return [holder_id, requested_by_id, today or agent_today()]


def holder_from_row(kind: str, row: tuple, requested_by_id: int) -> Holder:
    """A Holder from the first columns of a row of holder_query(KIND)."""
    _, fields = holder_query(kind)
    model = ResidentProfile if kind == PERSON else Enterprise
    instance = model.from_db(connection.alias, fields, row[: len(fields)])
    return Holder(kind=kind, subject=instance, requested_by_id=requested_by_id)


def holder_of(kind: str, holder_id: int, requested_by_id: int) -> Holder | None:
    """One query: the ORM would load (and decrypt) every column of the profile and cost more
    to build than the query takes to run."""
    with connection.cursor() as cursor:
        cursor.execute(holder_query(kind)[0], holder_params(kind, holder_id, requested_by_id))
        row = cursor.fetchone()
    return None if row is None else holder_from_row(kind, row, requested_by_id)


def scanner_key_hash(key: str) -> str:
    return lookup_hash(key, context=SCANNER_KEY_CONTEXT)


def scanner_for_key(key: str) -> Scanner | None:
    if not key or len(key) > 200:
        return None
    return Scanner.objects.filter(key_hash=scanner_key_hash(key), is_active=True).first()


def _rows(logs) -> list[dict[str, Any]]:
    known = scenarios()
    return [
        {
            "at": log.at,
            "scanner": str(log.scanner),
            "scenario": log.scenario,
            "scenario_name": known[log.scenario].name if log.scenario in known else log.scenario,
            "result": log.result,
            "result_label": RESULT_LABELS.get(log.result, "未读取"),
        }
        for log in logs
    ]


def scans_of_resident(*, user: User, limit: int = 20) -> list[dict[str, Any]]:
    """Who scanned this resident's codes: the DESIGN's "sees who read their data"."""
    logs = (
        ScanLog.objects.filter(profile__user=user)
        .select_related("scanner")
        .order_by("-at", "-id")[:limit]
    )
    return _rows(logs)


def scans_of_enterprise(*, enterprise_id: int, limit: int = 20) -> list[dict[str, Any]]:
    logs = (
        ScanLog.objects.filter(enterprise_id=enterprise_id)
        .select_related("scanner")
        .order_by("-at", "-id")[:limit]
    )
    return _rows(logs)
