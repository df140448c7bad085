"""授权数据使用 fixtures: the demo department systems over real HTTP (a1's server) answering
for one enterprise and one resident, registered institutions, and the holders."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
)
from tongban.accounts.validators import make_credit_code
from tongban.catalog.loader import definition_content
from tongban.consents.models import InstitutionKind
from tongban.consents.selectors import Holder, today
from tongban.consents.services import consent_grant, institution_register
from tongban.exchange import breaker
from tongban.exchange.demo_sources.dataset import write_records
from tongban.exchange.demo_sources.server import start
from tongban.exchange.models import DataSource, DataSourceVersion
from tongban.exchange.schemas import DataSourceDef

# The demo city's own definitions of the three sources a 信易贷 consent names.
DEMO_SOURCES = ("swj_tax", "rsj_unit_insurance", "credit_rating")
# The demo city has no person-keyed source with consentable elements; this one stands in for
# one (个人纳税信息) so the resident's consent is exercised end to end.
PERSON_SOURCE = {
    "code": "test_consent_person_tax",
    "name": "测试个人纳税信息",
    "department": "SH-SWJ",
    "key": "id_number",
    "sensitivity": 3,
    "elements": [
        {"code": "tax_paid_band", "label": "上年度个税缴纳档次", "type": "choice",
         "choices": ["1万元以下", "1万至5万元", "5万元以上"], "sensitivity": 3},
        {"code": "employer_name", "label": "任职单位", "type": "text", "sensitivity": 2},
    ],
    "legal_bases": ["《中华人民共和国个人所得税法》第十五条（示例）", "数据主体授权同意（示例）"],
    "items": ["*"],
    "consentable": ["tax_paid_band"],
    "transport": {"kind": "http", "endpoint": "demo", "path": "/test/person-tax"},
}  # fmt: skip
AS_OF = "2026-11-30T00:00:00+08:00"


def _definitions() -> list[DataSourceDef]:
    import yaml

    folder = Path(django_settings.TONGBAN_CATALOG_DIR) / "data_sources"
    found = [
        DataSourceDef.model_validate(yaml.safe_load((folder / f"{code}.yaml").read_text()))
        for code in DEMO_SOURCES
    ]
    return [*found, DataSourceDef.model_validate(PERSON_SOURCE)]


@pytest.fixture
def registry(db):
    """The sources in the platform's registry (rows as data_sources_load writes them; the
    loader's cross-checks against the whole catalog are the exchange's to test)."""
    definitions = _definitions()
    for d in definitions:
        version = DataSourceVersion.objects.create(
            code=d.code,
            version=1,
            content=definition_content(d),
            content_sha256="0" * 64,
        )
        DataSource.objects.create(
            code=d.code, name=d.name, key=d.key, department=d.department, current=version
        )
    breaker.reset(codes=[d.code for d in definitions])
    yield definitions
    breaker.reset(codes=[d.code for d in definitions])


@pytest.fixture
def company(db):
    return EnterpriseFactory(name="示例餐饮有限公司")


@pytest.fixture
def resident(db):
    return ResidentProfileFactory(name="李静")


@pytest.fixture
def sources(registry, company, resident, tmp_path, settings):
    """The department systems, over HTTP, knowing the company and the resident."""
    db = tmp_path / "demo_sources.sqlite3"
    write_records(
        db,
        {
            "swj_tax": {
                company.uscc: {
                    "tax_credit_rating": "A",
                    "last_year_tax_band": "50万至200万元",
                    "statement_year": 2025,
                }
            },
            "rsj_unit_insurance": {company.uscc: {"insured_headcount": 37}},
            "credit_rating": {
                company.uscc: {
                    "public_credit_rating": "B",
                    "rated_on": "2026-06-30",
                    "dishonest_listed": False,
                }
            },
            "test_consent_person_tax": {
                resident.id_number: {"tax_paid_band": "1万至5万元", "employer_name": "示例公司"}
            },
        },
        as_of=AS_OF,
    )
    server = start(db=db, sources=registry)
    settings.TONGBAN_EXCHANGE_ENABLED = True
    settings.TONGBAN_EXCHANGE_ENDPOINTS = {"demo": server.url}
    yield server
    server.stop()


@pytest.fixture
def bank(db):
    return institution_register(
        actor="system:test",
        name="示例银行上海分行",
        kind=InstitutionKind.BANK,
        uscc=make_credit_code(region="310101", seq=88_000_001),
    )


@pytest.fixture
def other_bank(db):
    return institution_register(
        actor="system:test",
        name="另一家示例银行",
        kind=InstitutionKind.BANK,
        uscc=make_credit_code(region="310101", seq=88_000_002),
    )


def member(company, role, **kwargs):
    """A resident who holds ROLE in COMPANY (live)."""
    person = ResidentProfileFactory(**kwargs)
    EnterpriseMembershipFactory(user=person.user, enterprise=company, role=role)
    return person


@pytest.fixture
def legal_rep(company):
    return member(company, EnterpriseMembership.Role.LEGAL_REPRESENTATIVE, name="周明")


@pytest.fixture
def agent(company):
    return member(company, EnterpriseMembership.Role.AGENT, name="吴芳")


ENTERPRISE_ELEMENTS = [
    "swj_tax.tax_credit_rating",
    "swj_tax.last_year_tax_band",
    "rsj_unit_insurance.insured_headcount",
    "credit_rating.public_credit_rating",
]


def enterprise_consent(company, legal_rep, institution, *, elements=None, days=180):
    return consent_grant(
        user=legal_rep.user,
        holder=Holder(kind="enterprise", enterprise=company),
        institution_id=institution.institution.pk,
        elements=list(elements or ENTERPRISE_ELEMENTS),
        purpose="申请信易贷贷款",
        valid_until=today() + dt.timedelta(days=days),
    )


def resident_consent(resident, institution, *, days=30):
    return consent_grant(
        user=resident.user,
        holder=Holder(kind="resident", profile=resident),
        institution_id=institution.institution.pk,
        elements=["test_consent_person_tax.tax_paid_band"],
        purpose="申请个人消费贷款",
        valid_until=today() + dt.timedelta(days=days),
    )


def token_for(client, registered) -> str:
    """A real client-credentials token from /oauth/token."""
    basic = base64.b64encode(f"{registered.client_id}:{registered.client_secret}".encode()).decode()
    response = client.post(
        "/oauth/token/",
        data={"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["scope"] == "consented_data"
    return body["access_token"]


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
