"""Catalog writes. The only one is loading the definition folder: the YAML is the source of
truth, the database keeps every version that was ever loaded and an index of the current ones.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from pydantic import BaseModel

from tongban.catalog.lexicon import LEXICON_CODE, LEXICON_FOLDER, LexiconDef
from tongban.catalog.loader import (
    CatalogDefinitions,
    Located,
    definition_content,
    definition_sha256,
    read_definitions,
)
from tongban.catalog.models import (
    Bundle,
    CatalogRevision,
    DataElement,
    DefinitionVersion,
    Department,
    ServiceItem,
)
from tongban.catalog.schemas import BundleDef, DataElementDef, DepartmentDef, ServiceItemDef
from tongban.catalog.selectors import catalog_cache_clear
from tongban.common.services import audit_record
from tongban.policies.models import Policy
from tongban.policies.schemas import PolicyDef

Kind = DefinitionVersion.Kind


@dataclass
class KindCounts:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    deactivated: int = 0
    # Back in the folder with the same content as its last version: no new version needed.
    reactivated: int = 0

    @property
    def touched(self) -> int:
        return self.created + self.changed + self.deactivated + self.reactivated


@dataclass
class LoadReport:
    path: str
    dry_run: bool
    counts: dict[str, KindCounts] = field(
        # Waiting lists version through the same table but load by their own loader
        # (appointments.services.waitlist), so this report does not count them.
        default_factory=lambda: {
            k: KindCounts() for k in Kind.values if k not in (Kind.WAITING_LIST, Kind.LEXICON)
        }
    )
    # The search lexicon is one definition: "created", "changed", "unchanged", or "" when the
    # folder has none and never had.
    lexicon: str = ""

    @property
    def departments(self) -> KindCounts:
        return self.counts[Kind.DEPARTMENT]

    @property
    def elements(self) -> KindCounts:
        return self.counts[Kind.ELEMENT]

    @property
    def items(self) -> KindCounts:
        return self.counts[Kind.ITEM]

    @property
    def bundles(self) -> KindCounts:
        return self.counts[Kind.BUNDLE]

    @property
    def policies(self) -> KindCounts:
        return self.counts[Kind.POLICY]

    @property
    def changed_anything(self) -> bool:
        return any(c.touched for c in self.counts.values()) or self.lexicon in (
            "created",
            "changed",
        )

    def as_dict(self) -> dict[str, Any]:
        return {kind: asdict(c) for kind, c in self.counts.items()}


def catalog_load_directory(
    *, path: Path | str, actor_label: str = "system:catalog_load", dry_run: bool = False
) -> LoadReport:
    """Validate a definition folder and bring the database in line with it, all or nothing.

    Raises CatalogInvalid (every problem, with file, line and field) before writing anything.
    A changed definition gets a new version; an unchanged one none; one that left the folder
    has its index row deactivated, never deleted, because cases pin its versions. With
    `dry_run` the same work is done and rolled back, so the report says what would change.
    """
    definitions = read_definitions(path)
    report = LoadReport(path=str(path), dry_run=dry_run)
    with transaction.atomic():
        _Applier(definitions, report, actor_label).run()
        if report.changed_anything:
            CatalogRevision.objects.update_or_create(pk=1, defaults={"token": uuid.uuid4().hex})
        audit_record(
            actor_label=actor_label,
            action="catalog.load",
            object_type="catalog",
            object_id=Path(path).name,
            data={
                "path": str(path),
                "dry_run": dry_run,
                "counts": report.as_dict(),
                "lexicon": report.lexicon,
            },
        )
        if dry_run:
            transaction.set_rollback(True)
    # This process sees its own load at once; other processes within the refresh interval.
    catalog_cache_clear()
    return report


class _Applier:
    def __init__(self, definitions: CatalogDefinitions, report: LoadReport, actor_label: str):
        self.defs = definitions
        self.report = report
        self.actor_label = actor_label
        # The newest stored version of every definition, read once instead of per definition.
        self.latest: dict[tuple[str, str], DefinitionVersion] = {}
        for dv in DefinitionVersion.objects.order_by("kind", "code", "version").only(
            "id", "kind", "code", "version", "content_sha256"
        ):
            self.latest[(dv.kind, dv.code)] = dv

    def run(self) -> None:
        departments = self._sync(
            Kind.DEPARTMENT, Department, "definition", self.defs.departments, _department_fields
        )
        self._sync(Kind.ELEMENT, DataElement, "current", self.defs.elements, _element_fields)
        self._sync(
            Kind.ITEM,
            ServiceItem,
            "current",
            self.defs.items,
            lambda d: _item_fields(d, departments),
        )
        self._sync(
            Kind.BUNDLE,
            Bundle,
            "current",
            self.defs.bundles,
            lambda d: _bundle_fields(d, departments),
        )
        self._sync(
            Kind.POLICY,
            Policy,
            "current",
            self.defs.policies,
            lambda d: _policy_fields(d, departments),
        )
        self._sync_lexicon()

    def _sync_lexicon(self) -> None:
        """All lexicon files as one versioned definition: a changed word is a new version of
        the lexicon, never of the items it names. A folder whose lexicon was removed gets an
        empty version, so the words stop counting."""
        latest = self.latest.get((Kind.LEXICON, LEXICON_CODE))
        if not self.defs.lexicon and latest is None:
            return
        files = {name: lx.definition for name, lx in sorted(self.defs.lexicon.items())}
        lexicon = LexiconDef(files=files)
        located = Located(lexicon, LEXICON_FOLDER + "/", None)
        _, self.report.lexicon = self._version(Kind.LEXICON, located)

    def _version(self, kind: str, located: Located[Any]) -> tuple[DefinitionVersion, str]:
        """The version row for this definition, appending one only if its content changed."""
        dv, status = self._version_unsaved(kind, located)
        if dv.pk is None:
            dv.save()
        return dv, status

    def _version_unsaved(self, kind: str, located: Located[Any]) -> tuple[DefinitionVersion, str]:
        """As _version, but a new version is returned unsaved, for the caller to insert with
        others in one statement."""
        definition: BaseModel = located.definition
        code = definition.code
        sha = definition_sha256(definition)
        latest = self.latest.get((kind, code))
        if latest is not None and latest.content_sha256 == sha:
            return latest, "unchanged"
        dv = DefinitionVersion(
            kind=kind,
            code=code,
            version=latest.version + 1 if latest else 1,
            content=definition_content(definition),
            content_sha256=sha,
            source_file=located.file,
            loaded_by=self.actor_label,
        )
        return dv, "changed" if latest else "created"

    def _sync(self, kind, model, version_field, located_by_code, fields_for) -> dict[str, Any]:
        counts = self.report.counts[kind]
        rows = {row.code: row for row in model.objects.all()}
        # New versions and new index rows are inserted a kind at a time: a first load writes
        # some six hundred rows, and one statement per row was most of its time.
        versioned = {
            code: self._version_unsaved(kind, located) for code, located in located_by_code.items()
        }
        _insert_all(DefinitionVersion, [dv for dv, _ in versioned.values() if dv.pk is None])
        new_rows = []
        for code, located in located_by_code.items():
            dv, status = versioned[code]
            values = {**fields_for(located.definition), version_field: dv, "is_active": True}
            row = rows.get(code)
            if row is None:
                new_rows.append(model(code=code, **values))
                counts.created += 1
                continue
            if status == "unchanged":
                if row.is_active:
                    counts.unchanged += 1
                else:
                    counts.reactivated += 1
            elif status == "changed":
                counts.changed += 1
            else:
                counts.created += 1
            stale = [
                name
                for name, value in values.items()
                if _field_value(row, name) != _field_value_of(value)
            ]
            if stale:
                for name in stale:
                    setattr(row, name, values[name])
                row.save(update_fields=stale)
        for row in _insert_all(model, new_rows):
            rows[row.code] = row
        gone = [code for code, row in rows.items() if code not in located_by_code and row.is_active]
        if gone:
            counts.deactivated = model.objects.filter(code__in=gone).update(is_active=False)
        return rows


def _insert_all(model, rows: list) -> list:
    """ROWS inserted with their ids set: in one statement where the database returns the ids
    of a bulk insert (PostgreSQL, SQLite 3.35+), else one by one."""
    if connection.features.can_return_rows_from_bulk_insert:
        return model.objects.bulk_create(rows)
    for row in rows:
        row.save(force_insert=True)
    return rows


def _field_value(row, name: str) -> Any:
    # Compare foreign keys by id so an unchanged row costs no query and no write.
    field = row._meta.get_field(name)
    return getattr(row, field.attname)


def _field_value_of(value: Any) -> Any:
    return value.pk if hasattr(value, "_meta") else value


def _department_fields(d: DepartmentDef) -> dict[str, Any]:
    return {
        "name": d.name,
        "short_name": d.short_name,
        "region_code": d.region_code,
        "hotline": d.hotline,
        "address": d.address,
    }


def _element_fields(d: DataElementDef) -> dict[str, Any]:
    return {"label": d.label, "value_type": d.type, "sensitivity": d.sensitivity}


def _item_fields(d: ServiceItemDef, departments: dict[str, Department]) -> dict[str, Any]:
    return {
        "name": d.name,
        "item_type": d.type,
        "subject": d.subject,
        "department": departments[d.department],
        "handling": d.handling,
        "promised_days": d.time_limit.promised_days,
        "visits": d.visits,
        "online": "online" in d.channels,
        "search_text": " ".join([d.name, *d.aliases, d.summary]).strip(),
    }


def _policy_fields(d: PolicyDef, departments: dict[str, Department]) -> dict[str, Any]:
    return {
        "name": d.name,
        "subject": d.subject,
        "mode": d.mode,
        "department": departments[d.department],
        "valid_from": d.valid_from,
        "valid_until": d.valid_until,
    }


def _bundle_fields(d: BundleDef, departments: dict[str, Department]) -> dict[str, Any]:
    return {
        "name": d.name,
        "subject": d.subject,
        "lead_department": departments[d.lead_department],
        "promised_days": d.promised_days,
        "search_text": " ".join([d.name, *d.aliases, d.summary]).strip(),
    }
