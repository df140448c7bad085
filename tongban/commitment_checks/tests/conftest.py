"""Fixtures for 告知承诺事后核查: the demo catalog and certificate types, and concluded cases
built row by row (the case engine's own flow is tested in cases/; here only its end state
matters: concluded, approved tasks, a commitment signed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.cases.models import Application, MaterialSubmission, Task
from tongban.cases.receipt import receipt_new
from tongban.catalog.models import Department
from tongban.catalog.selectors import item_definition, item_versions
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.models import Certificate
from tongban.certificates.services import certificate_issue, certificate_types_load

DEMO = Path(__file__).resolve().parents[3] / "tongban" / "demo" / "definitions"

# 最低生活保障: household_income_proof may be committed to, and 居民经济状况核对系统 can
# answer for it. 法律援助: economic_difficulty_statement only by commitment, no source.
MZJ = "SH-MZJ-0101"
SFJ = "SH-SFJ-0101"


@pytest.fixture
def demo(db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    catalog_load_directory(path=DEMO)
    certificate_types_load(directory=DEMO / "certificate_types")


def concluded_case(
    profile,
    *,
    item: str = MZJ,
    material: str = "household_income_proof",
    status: str = "archived",
    outcome: str = "approved",
    task_status: str = "approved",
    receipt_no: str | None = None,
    enterprise=None,
) -> Application:
    definition = item_definition(item)
    version = max(v.version for v in item_versions(item))
    department = Department.objects.get(code=definition.department)
    mdef = next(m for m in definition.materials if m.code == material)
    text = next(w.commitment_text for w in mdef.waivable_by if w.kind == "commitment")
    now = timezone.now()
    case = Application.objects.create(
        receipt_no=receipt_no or receipt_new(on=now.date()),
        kind="item",
        code=item,
        version=version,
        name=definition.name,
        applicant=profile.user,
        applicant_profile=profile,
        enterprise=enterprise,
        lead_department=department,
        status=status,
        outcome=outcome,
        plan={
            "items": [
                {
                    "code": item,
                    "name": definition.name,
                    "version": version,
                    "department": definition.department,
                    "after": [],
                    "promised_days": 5,
                }
            ],
            "materials": [
                {
                    "code": material,
                    "name": mdef.name,
                    "items": [item],
                    "spared": False,
                    "about": mdef.about,
                    "required": True,
                    "commitment": text,
                }
            ],
        },
        idempotency_key=f"k-{now.timestamp()}-{profile.pk}",
        request_fingerprint="x",
        submitted_at=now - dt.timedelta(days=3),
        concluded_at=now - dt.timedelta(hours=1),
    )
    case.form_data = {"applicant.name": profile.name, "applicant.id_number": profile.id_number}
    case.save()
    Task.objects.create(
        case=case,
        item_code=item,
        item_version=version,
        item_name=definition.name,
        department=department,
        status=task_status,
    )
    MaterialSubmission.objects.create(
        case=case, material_code=material, how="commitment", note=text
    )
    return case


def issue_allowance(case: Application, profile) -> Certificate:
    """The 最低生活保障证 the case issued, keyed as 统一发证 keys it."""
    cert = certificate_issue(
        type_code="minimum_living_allowance_certificate",
        holder_profile=profile,
        claims={
            "certificate_no": case.receipt_no,
            "name": profile.name,
            "id_number": profile.id_number,
            "household_size": 2,
            "valid_from": timezone.localdate().isoformat(),
        },
        actor_label="system:test",
        source_case=case,
    )
    key = f"case:{case.receipt_no}:{MZJ}:minimum_living_allowance_certificate:p{profile.pk}"
    Certificate.objects.filter(pk=cert.pk).update(issuance_key=key)
    return cert


@pytest.fixture
def resident(demo):
    return ResidentProfileFactory(name="李示例")


@dataclass
class People:
    reviewer: Any
    lead: Any
    issuer: Any
    acceptor: Any
    other_reviewer: Any


@pytest.fixture
def people(demo):
    mzj = Department.objects.get(code="SH-MZJ")
    other = Department.objects.get(code="SH-GA")
    return People(
        reviewer=StaffFactory(department=mzj, role=StaffRole.REVIEWER),
        lead=StaffFactory(department=mzj, role=StaffRole.DEPARTMENT_LEAD),
        issuer=StaffFactory(department=mzj, role=StaffRole.ISSUER),
        acceptor=StaffFactory(department=mzj, role=StaffRole.ACCEPTOR),
        other_reviewer=StaffFactory(department=other, role=StaffRole.REVIEWER),
    )


@dataclass(frozen=True)
class FakeRequester:
    department: str
    purpose: str
    legal_basis: str
    item: str = ""
    receipt_no: str = ""
    consent: str = ""
    actor: Any = None
    actor_label: str = ""
    post: str = ""


@dataclass
class FakeExchange:
    """Stands in for tongban.exchange (its contract: source_query, Requester, data_sources),
    answering from `answers` keyed by (source code, key); `unavailable` raises."""

    answers: dict = field(default_factory=dict)
    unavailable: bool = False
    calls: list = field(default_factory=list)
    sources: list = field(default_factory=list)

    def modules(self):
        from tongban.exchange.errors import SourceUnavailable

        def source_query(*, source, key, elements, requester, **subject):
            self.calls.append(
                {"source": source, "key": key, "elements": list(elements), "req": requester,
                 **subject}
            )  # fmt: skip
            if self.unavailable:
                raise SourceUnavailable(reason="timeout")
            values = self.answers.get((source, key))
            return SimpleNamespace(
                source=source,
                found=values is not None,
                values=values or {},
                as_of=timezone.now(),
                answered_at=timezone.now(),
                value_hash="h" * 64,
                lookup_id=len(self.calls),
            )

        services = SimpleNamespace(Requester=FakeRequester, source_query=source_query)
        selectors = SimpleNamespace(data_sources=lambda: list(self.sources))
        return services, selectors


def income_source():
    from tongban.exchange.schemas import DataSourceDef

    return DataSourceDef.model_validate(
        {
            "code": "household_economy",
            "name": "居民经济状况核对系统",
            "department": "SH-MZJ",
            "key": "id_number",
            "sensitivity": 3,
            "elements": [
                {"code": "checked", "label": "已核对", "type": "boolean", "sensitivity": 2},
                {"code": "monthly_income", "label": "月收入", "type": "decimal", "sensitivity": 3},
            ],
            "proves": [{"material": "household_income_proof", "elements": ["checked"]}],
            "legal_bases": ["《社会救助暂行办法》（示例）"],
            "items": ["*"],
            "transport": {"kind": "inprocess", "callable": "tests.fake:answer"},
        }
    )


@pytest.fixture
def exchange(monkeypatch, settings):
    from tongban.commitment_checks import services

    settings.TONGBAN_EXCHANGE_ENABLED = True
    fake = FakeExchange(sources=[income_source()])
    monkeypatch.setattr(services, "_exchange", fake.modules)
    return fake
