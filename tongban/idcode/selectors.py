"""Reads for the 随申码 pages and API."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q

from tongban.accounts.models import Enterprise, ResidentProfile, User
from tongban.common.crypto import lookup_hash
from tongban.idcode.attributes import ENTERPRISE_FIELDS, PERSON_FIELDS
from tongban.idcode.models import Pseudonym, ScanLog, Scanner
from tongban.idcode.registry import scenarios
from tongban.idcode.token import RESULT_LABELS

SCANNER_KEY_CONTEXT = "idcode.scanner_key"


@dataclass(frozen=True)
class Holder:
    """Whom a pseudonym stands for, with just the fields the scenario attributes read."""

    pseudonym_id: int
    kind: str
    subject: ResidentProfile | Enterprise | None


def _loaded(model, names: tuple[str, ...]) -> tuple[str, ...]:
    # In the model's field order: Model.from_db takes the values in that order.
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in {"id", *names})


@functools.cache
def holder_query() -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The SELECT of a pseudonym's holder (one parameter: the pseudonym), its columns named
    ps_id, kind, pr_id, en_id and c0, c1, … for the rest; and the fields loaded of each."""
    person = _loaded(ResidentProfile, PERSON_FIELDS)
    enterprise = _loaded(Enterprise, ENTERPRISE_FIELDS)
    names = iter(range(len(person) + len(enterprise)))

    def columns(model, alias, fields):
        return [
            f"{alias}.{model._meta.get_field(n).column} AS "
            + (f"{alias}_id" if n == "id" else f"c{next(names)}")
            for n in fields
        ]

    person_columns = columns(ResidentProfile, "pr", person)
    enterprise_columns = columns(Enterprise, "en", enterprise)
    selected = ", ".join(
        ["ps.id AS ps_id", "ps.kind AS kind", *person_columns, *enterprise_columns]
    )
    sql = (
        f"SELECT {selected} FROM {Pseudonym._meta.db_table} ps"  # noqa: S608 (names from _meta)
        f" LEFT JOIN {ResidentProfile._meta.db_table} pr ON pr.id = ps.profile_id"
        f" LEFT JOIN {Enterprise._meta.db_table} en ON en.id = ps.enterprise_id"
        " WHERE ps.value = %s"
    )
    return sql, person, enterprise


def holder_from_row(row: tuple) -> Holder:
    """A Holder from the first columns of a row of holder_query()."""
    _, person, enterprise = holder_query()
    values = row[2 : 2 + len(person) + len(enterprise)]
    subject: ResidentProfile | Enterprise | None = None
    if values[person.index("id")] is not None:
        subject = ResidentProfile.from_db(connection.alias, person, values[: len(person)])
    elif values[len(person) + enterprise.index("id")] is not None:
        subject = Enterprise.from_db(connection.alias, enterprise, values[len(person) :])
    return Holder(pseudonym_id=row[0], kind=row[1], subject=subject)


def holder_of(pseudonym: str) -> Holder | None:
    """One query: the ORM's select_related would load (and decrypt) every column of the
    profile and cost more to build than the query takes to run."""
    with connection.cursor() as cursor:
        cursor.execute(holder_query()[0], [pseudonym])
        row = cursor.fetchone()
    return None if row is None else holder_from_row(row)


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
        ScanLog.objects.filter(pseudonym__profile__user=user)
        .select_related("scanner")
        .order_by("-at", "-id")[:limit]
    )
    return _rows(logs)


def scans_of_enterprise(*, enterprise_id: int, limit: int = 20) -> list[dict[str, Any]]:
    logs = (
        ScanLog.objects.filter(Q(pseudonym__enterprise_id=enterprise_id))
        .select_related("scanner")
        .order_by("-at", "-id")[:limit]
    )
    return _rows(logs)
