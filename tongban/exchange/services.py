"""Writes of the data exchange: loading the registry (数据共享目录) and asking a source
(source_query), which records every question (数据核验记录) and every use of a person's or
an enterprise's data (数据使用记录)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tongban.catalog.loader import DefinitionsLoadReport, versioned_definitions_apply
from tongban.common.crypto import lookup_hash
from tongban.common.errors import InvalidInput
from tongban.common.services import audit_record
from tongban.exchange import adapters
from tongban.exchange.errors import SourceNotAllowed, SourceUnavailable, SourceUnknown
from tongban.exchange.loader import read_data_sources
from tongban.exchange.models import DataSource, DataSourceVersion, LookupOutcome, SourceLookup
from tongban.exchange.schemas import DataSourceDef
from tongban.exchange.selectors import data_source, data_source_version, recent_answer

KEY_HASH_CONTEXT = "exchange.lookup_key"
SYSTEM_EXCHANGE = "system:exchange"

# Why a source gave no answer, in words for the applicant and the reviewer.
UNAVAILABLE_REASONS = {
    "disabled": "数据共享交换未启用",
    "circuit_open": "该数据源近期多次无响应，暂停查询",
    "timeout": "该数据源响应超时",
    "connection": "无法连接该数据源",
    "malformed": "该数据源返回的数据格式有误",
    "signature_refused": "该数据源拒绝了平台的签名",
    "request_refused": "该数据源拒绝了查询请求",
    "endpoint_unknown": "未配置该数据源的接入地址",
    "error": "该数据源处理出错",
}


def unavailable_reason_text(reason: str) -> str:
    if reason.startswith("http_"):
        return f"该数据源返回错误（{reason[5:]}）"
    return UNAVAILABLE_REASONS.get(reason, "该数据源暂时无法核验")


# ---------------------------------------------------------------- registry


def default_sources_directory() -> Path:
    return Path(settings.TONGBAN_CATALOG_DIR) / "data_sources"


SourcesLoadReport = DefinitionsLoadReport


def data_sources_load(
    *,
    directory: Path | str | None = None,
    actor_label: str = "system:catalog_load",
    dry_run: bool = False,
) -> SourcesLoadReport:
    """Validate the data source folder and bring the registry in line, all or nothing. A
    changed definition gets a new version (look-ups keep the version they were asked under);
    one that left the folder is deactivated, never deleted."""
    path = Path(directory) if directory is not None else default_sources_directory()
    definitions = read_data_sources(path)
    report = SourcesLoadReport(path=str(path), dry_run=dry_run)
    with transaction.atomic():
        versioned_definitions_apply(
            definitions=definitions,
            version_model=DataSourceVersion,
            current_model=DataSource,
            row_values=lambda d, _v: {"name": d.name, "key": d.key, "department": d.department},
            report=report,
            actor_label=actor_label,
        )
        audit_record(
            actor_label=actor_label,
            action="exchange.sources_load",
            object_type="data_sources",
            object_id=path.name,
            data={"path": str(path), "dry_run": dry_run, "counts": report.as_dict()},
        )
        if dry_run:
            transaction.set_rollback(True)
    return report


# ---------------------------------------------------------------- asking a source


@dataclass(frozen=True)
class Requester:
    """Who asks, for what, under which law (every request carries it, signed)."""

    department: str
    purpose: str
    legal_basis: str
    item: str = ""
    receipt_no: str = ""
    consent: str = ""
    actor: Any = None
    actor_label: str = ""
    post: str = ""


@dataclass(frozen=True)
class SourceAnswer:
    source: str
    found: bool
    # Wire form, checked against the element types: text/choice str, integer int, decimal
    # str ("12.50"), date str ("YYYY-MM-DD"), boolean bool. An element the system does not
    # hold for this subject is absent.
    values: dict[str, Any]
    as_of: dt.datetime
    answered_at: dt.datetime
    value_hash: str
    lookup_id: int


def key_hash(key: str) -> str:
    """The keyed hash a look-up is recorded under: the record says whom it was about to
    whoever holds the key, and to nobody else."""
    return lookup_hash(normalise_key(key), context=KEY_HASH_CONTEXT)


def normalise_key(key: str) -> str:
    return (key or "").strip().upper()


def value_hash(values: dict[str, Any]) -> str:
    canonical = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _allowed(definition: DataSourceDef, elements: list[str], requester: Requester) -> None:
    """场景授权 and 法律依据, checked before anything is asked or written."""
    if not requester.department.strip() or not requester.purpose.strip():
        raise SourceNotAllowed("查询须写明请求部门和数据使用目的")
    if requester.legal_basis not in definition.legal_bases:
        raise SourceNotAllowed(f"「{definition.name}」不接受所述法律依据的查询")
    if requester.consent:
        outside = [e for e in elements if e not in definition.consentable]
        if outside:
            raise SourceNotAllowed(
                f"经授权可查询的「{definition.name}」数据项不含：{'、'.join(outside)}"
            )
    elif not requester.item or not definition.allows_item(requester.item):
        raise SourceNotAllowed(
            f"事项 {requester.item or '（未指明）'} 未获「{definition.name}」场景授权"
        )


def source_query(
    *,
    source: str,
    key: str,
    elements: Sequence[str],
    requester: Requester,
    subject_profile_id: int | None = None,
    subject_enterprise_id: int | None = None,
) -> SourceAnswer:
    """Ask SOURCE about KEY for ELEMENTS on REQUESTER's behalf. Refused (SourceNotAllowed,
    InvalidInput) before anything is sent or written; SourceUnavailable when the system gave
    no usable answer (one unavailable record is kept when a request actually went out);
    otherwise one SourceLookup and one data-use audit row, in one transaction."""
    definition = data_source(source)
    if definition is None:
        raise SourceUnknown(f"没有数据源 {source}")
    wanted = list(dict.fromkeys(elements))
    unknown = [e for e in wanted if definition.element(e) is None]
    if not wanted or unknown:
        raise InvalidInput(
            f"「{definition.name}」没有数据项：{'、'.join(unknown)}" if unknown else "请指明数据项",
            code="EXCHANGE_ELEMENTS_INVALID",
        )
    clean_key = normalise_key(key)
    if not clean_key:
        raise InvalidInput("请提供查询的标识", code="EXCHANGE_KEY_INVALID")
    _allowed(definition, wanted, requester)
    version = data_source_version(source) or 0
    wire_requester = {
        "department": requester.department,
        "item": requester.item,
        "receipt_no": requester.receipt_no,
        "purpose": requester.purpose,
        "legal_basis": requester.legal_basis,
        "consent": requester.consent,
    }
    started = time.monotonic()
    base = {
        "source": source,
        "source_version": version,
        "lookup_hash": key_hash(clean_key),
        "subject_profile_id": subject_profile_id,
        "subject_enterprise_id": subject_enterprise_id,
        "elements": wanted,
        "requester_department": requester.department,
        "requester_item": requester.item,
        "receipt_no": requester.receipt_no,
        "purpose": requester.purpose[:200],
        "legal_basis": requester.legal_basis[:200],
        "consent": requester.consent,
        "actor_label": requester.actor_label or SYSTEM_EXCHANGE,
    }
    try:
        raw = adapters.ask(definition, key=clean_key, elements=wanted, requester=wire_requester)
    except adapters.AdapterFailure as exc:
        lookup_id = 0
        if exc.attempts:  # a request went out: the record says so, and why it failed
            lookup_id = SourceLookup.objects.create(
                **base,
                outcome=LookupOutcome.REFUSED if exc.refused else LookupOutcome.UNAVAILABLE,
                error_code=exc.reason[:64],
                duration_ms=int((time.monotonic() - started) * 1000),
                attempts=exc.attempts,
            ).pk
        raise SourceUnavailable(
            f"{definition.name}暂时无法核验：{unavailable_reason_text(exc.reason)}",
            reason=exc.reason,
            lookup_id=lookup_id,
        ) from exc
    digest = value_hash(raw.values) if raw.found else ""
    with transaction.atomic():
        lookup = SourceLookup(
            **base,
            outcome=LookupOutcome.FOUND if raw.found else LookupOutcome.NOT_FOUND,
            value_hash=digest,
            as_of=raw.as_of,
            duration_ms=int((time.monotonic() - started) * 1000),
            attempts=raw.attempts,
        )
        lookup.values_text = json.dumps(raw.values, ensure_ascii=False) if raw.found else ""
        lookup.save()
        _data_use_record(definition, lookup, requester)
    return _answer(definition.code, lookup, raw.values)


def _data_use_record(definition: DataSourceDef, lookup: SourceLookup, requester: Requester) -> None:
    """数据使用记录: the subject can later read who asked which of their data, and why."""
    enterprise = definition.key == "uscc"
    audit_record(
        actor=requester.actor,
        actor_label=requester.actor_label or (None if requester.actor else SYSTEM_EXCHANGE),
        action="enterprise_data.read" if enterprise else "personal_data.read",
        object_type="source_lookup",
        object_id=lookup.pk,
        subject_resident_id=None if enterprise else lookup.subject_profile_id,
        subject_enterprise_id=lookup.subject_enterprise_id if enterprise else None,
        purpose=requester.purpose[:200],
        data={
            "fields": [f"source:{definition.code}.{e}" for e in lookup.elements],
            "source": definition.code,
            "source_name": definition.name,
            "legal_basis": requester.legal_basis,
            "receipt_no": requester.receipt_no,
            "item": requester.item,
            "post": requester.post,
            "channel": "consent" if requester.consent else "exchange",
            "consent": requester.consent,
            "outcome": lookup.outcome,
        },
    )


def _answer(code: str, lookup: SourceLookup, values: dict[str, Any]) -> SourceAnswer:
    return SourceAnswer(
        source=code,
        found=lookup.outcome == LookupOutcome.FOUND,
        values=dict(values),
        as_of=lookup.as_of or lookup.at,
        answered_at=lookup.at,
        value_hash=lookup.value_hash,
        lookup_id=lookup.pk,
    )


# A guide is rendered again at every step of the form; an answer this young is used again
# instead of asking the department system each time.
RECENT_ANSWER_SECONDS = 300


def source_answer_recent(
    *,
    source: str,
    key: str,
    elements: Sequence[str],
    item: str | None = None,
    now: dt.datetime | None = None,
) -> SourceAnswer | None:
    """A found/not-found answer of SOURCE about KEY covering ELEMENTS, younger than
    RECENT_ANSWER_SECONDS, or None. ITEM: only an answer asked for that item — another
    item's use of the data is a use of its own, to be asked (and recorded) as such."""
    since = (now or timezone.now()) - dt.timedelta(seconds=RECENT_ANSWER_SECONDS)
    row = recent_answer(
        source=source, lookup_hash=key_hash(key), elements=elements, since=since, item=item
    )
    if row is None:
        return None
    values = json.loads(row.values_text) if row.values_text else {}
    return _answer(source, row, values)


# ---------------------------------------------------------------- 平台稍后核验


# 容缺后补 period given when the platform could not verify a material after all.
SOURCE_NEEDED_WORKING_DAYS = 5


@dataclass
class RetryReport:
    verified: int = 0
    needed: int = 0
    still_down: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"verified": self.verified, "needed": self.needed, "still_down": self.still_down}


def case_source_retry(*, receipt_no: str, today: dt.date | None = None) -> RetryReport:
    """Ask again the sources a case's 平台稍后核验 materials wait for. Answered and proven:
    the material becomes 免提交 with the look-up as evidence; answered and not proven: the
    applicant is told to supply it (it becomes 容缺后补 with a due date, delivered through
    the usual page); still no answer: nothing changes, the next sweep asks again.

    The sources are asked outside any transaction; each material is then settled under the
    case's lock and only if it still waits, so concurrent or repeated runs settle it once."""
    from tongban.cases.models import Application, CaseStatus, MaterialHow
    from tongban.catalog.guide import persons_from_form
    from tongban.catalog.selectors import item_definition
    from tongban.exchange.evidence import provider

    report = RetryReport()
    case = (
        Application.objects.select_related("applicant_profile", "enterprise")
        .filter(receipt_no=receipt_no)
        .first()
    )
    if case is None or case.status in (
        CaseStatus.REFUSED,
        CaseStatus.CONCLUDED,
        CaseStatus.ARCHIVED,
    ):
        return report
    pending = set(
        case.materials.filter(how=MaterialHow.SOURCE_RETRY).values_list("material_code", flat=True)
    )
    if not pending:
        return report
    if not settings.TONGBAN_EXCHANGE_ENABLED:
        report.still_down = len(pending)
        return report
    placed = []
    versions: dict[str, int] = {}
    for item in case.plan.get("items", []):
        versions[item["code"]] = item["version"]
        for m in item_definition(item["code"], item["version"]).materials:
            if m.code in pending:
                placed.append((item["code"], m))
    bound = provider.bind(
        applicant=case.applicant_profile,
        enterprise=case.enterprise,
        persons=persons_from_form(case.form_data),
        materials=placed,
        receipt_no=case.receipt_no,
        item_versions=versions,
        fresh=True,
    )
    for code in sorted(pending):
        defs = [m for _item, m in placed if m.code == code]
        spared = next(
            (
                found
                for m in defs
                for w in m.waivable_by
                if (found := bound.spares(waiver=w, material=m, applicant=case.applicant_profile))
            ),
            None,
        )
        if spared is None and any(bound.unavailable(material=m) for m in defs):
            report.still_down += 1
            continue
        if _settle(case.pk, code, spared, today=today):
            if spared is not None:
                report.verified += 1
            else:
                report.needed += 1
    return report


def _settle(case_pk: int, code: str, spared: Any, *, today: dt.date | None) -> bool:
    from tongban.cases.models import Application, MaterialHow
    from tongban.cases.receipt import receipt_display
    from tongban.cases.services._common import _event
    from tongban.common.calendar import add_working_days
    from tongban.notifications.services import notice_send

    with transaction.atomic():
        case = Application.objects.select_for_update().get(pk=case_pk)
        row = case.materials.filter(material_code=code, how=MaterialHow.SOURCE_RETRY).first()
        if row is None:  # settled by a concurrent or earlier run
            return False
        plan = next((m for m in case.plan.get("materials", []) if m["code"] == code), {})
        name = plan.get("name", code)
        source_name = plan.get("unavailable_source", "") or row.source_code
        if spared is not None:
            ev = spared.evidence
            row.how = MaterialHow.WAIVED
            row.note = spared.reason
            row.source_code = ev.get("source", "")
            row.source_lookup_id = ev.get("lookup_id")
            row.source_value_hash = ev.get("value_hash", "")
            row.source_answered_at = dt.datetime.fromisoformat(ev["answered_at"])
            row.save()
            data = {
                "material": code,
                "source": row.source_code,
                "lookup_id": row.source_lookup_id,
                "value_hash": row.source_value_hash,
            }
            _event(
                case,
                actor=None,
                actor_label=SYSTEM_EXCHANGE,
                action="material_source_verified",
                data=data,
            )
            audit_record(
                actor_label=SYSTEM_EXCHANGE,
                action="case.material_source_verified",
                object_type="case",
                object_id=case.receipt_no,
                subject_resident_id=case.applicant_profile_id,
                purpose="平台稍后核验申请材料",
                data=data,
            )
            return True
        due = add_working_days(today or timezone.localdate(), SOURCE_NEEDED_WORKING_DAYS)
        row.how = MaterialHow.DEFERRED
        row.due_date = due
        row.note = f"{source_name}未能核验，请补交该材料"
        row.save()
        data = {"material": code, "source": row.source_code, "due_date": due.isoformat()}
        _event(
            case,
            actor=None,
            actor_label=SYSTEM_EXCHANGE,
            action="material_source_not_verified",
            data=data,
        )
        audit_record(
            actor_label=SYSTEM_EXCHANGE,
            action="case.material_source_not_verified",
            object_type="case",
            object_id=case.receipt_no,
            subject_resident_id=case.applicant_profile_id,
            purpose="平台稍后核验申请材料",
            data=data,
        )
        notice_send(
            recipient=case.applicant,
            template="material_source_needed",
            context={
                "material": name,
                "source": source_name,
                "receipt": receipt_display(case.receipt_no),
                "due_date": due.isoformat(),
            },
            link=f"/me/cases/{case.receipt_no}/#deferred",
        )
        return True


def source_retry_due() -> list[str]:
    """Receipt numbers of open cases with a material waiting for 平台稍后核验."""
    from tongban.cases.models import CaseStatus, MaterialHow, MaterialSubmission

    return list(
        MaterialSubmission.objects.filter(
            how=MaterialHow.SOURCE_RETRY,
            case__status__in=[
                CaseStatus.SUBMITTED,
                CaseStatus.ACCEPTED,
                CaseStatus.SUPPLEMENT_REQUESTED,
            ],
        )
        .order_by("case__receipt_no")
        .values_list("case__receipt_no", flat=True)
        .distinct()
    )
