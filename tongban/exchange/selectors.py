"""Reads of the data exchange: the current registry (数据共享目录) and the look-up record."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable

from tongban.exchange.models import DataSource, DataSourceVersion, LookupOutcome, SourceLookup
from tongban.exchange.schemas import DataSourceDef

# Parsed definitions by (code, version): a stored version never changes, so one parse per
# process is enough. Which version is current is read from the database on every call (one
# small query), so a reload is seen at once by every process.
_parsed: dict[tuple[str, int], DataSourceDef] = {}
_parsed_lock = threading.Lock()


def _definition(version: DataSourceVersion) -> DataSourceDef:
    key = (version.code, version.version)
    found = _parsed.get(key)
    if found is None:
        found = DataSourceDef.model_validate(version.content)
        with _parsed_lock:
            _parsed[key] = found
    return found


def source_version_definition(*, code: str, version: int) -> DataSourceDef | None:
    row = DataSourceVersion.objects.filter(code=code, version=version).first()
    return _definition(row) if row is not None else None


def _current_rows(**filters) -> list[DataSource]:
    return list(
        DataSource.objects.filter(is_active=True, **filters)
        .select_related("current")
        .order_by("code")
    )


def data_sources() -> list[DataSourceDef]:
    """Every active source, as currently defined, by code."""
    return [_definition(r.current) for r in _current_rows()]


def data_source(code: str) -> DataSourceDef | None:
    """The active source CODE as currently defined, or None."""
    rows = _current_rows(code=code)
    return _definition(rows[0].current) if rows else None


def data_source_version(code: str) -> int | None:
    row = DataSource.objects.filter(code=code, is_active=True).values_list("current__version")
    found = row.first()
    return found[0] if found else None


def data_sources_named(names: Iterable[str]) -> dict[tuple[str, str], tuple[DataSourceDef, int]]:
    """(Chinese name, key kind) → (definition, version) for the active sources of these names,
    in one query: waivers name a source by name, the material's subject picks the key."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    return {
        (r.name, r.key): (_definition(r.current), r.current.version)
        for r in _current_rows(name__in=wanted)
    }


def recent_answer(
    *,
    source: str,
    lookup_hash: str,
    elements: Iterable[str],
    since: dt.datetime,
    item: str | None = None,
) -> SourceLookup | None:
    """The newest found/not-found look-up of this source about this key since SINCE that
    asked at least ELEMENTS (a not-found answer covers any elements)."""
    wanted = set(elements)
    rows = SourceLookup.objects.filter(
        source=source,
        lookup_hash=lookup_hash,
        at__gte=since,
        outcome__in=[LookupOutcome.FOUND, LookupOutcome.NOT_FOUND],
        **({"requester_item": item} if item is not None else {}),
    ).order_by("-at", "-id")[:5]
    for row in rows:
        if row.outcome == LookupOutcome.NOT_FOUND or wanted <= set(row.elements):
            return row
    return None


def lookups_for_case(receipt_no: str) -> list[SourceLookup]:
    return list(SourceLookup.objects.filter(receipt_no=receipt_no).order_by("at", "id"))
