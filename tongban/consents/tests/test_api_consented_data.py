"""The institution reads with a real client-credentials token and the consent id, through the
exchange and the demo department systems over HTTP: exact values, every read logged (授权查询
记录 + the holder's 数据使用记录), and refusals that read nothing."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.accounts.validators import mask_id_number
from tongban.catalog.models import Department
from tongban.common.models import AuditEvent
from tongban.connect.models import ClientKind
from tongban.connect.services import client_register
from tongban.consents.models import ConsentRead, DataConsent, ReadOutcome
from tongban.consents.selectors import Holder, today
from tongban.consents.services import consent_revoke, institution_deactivate
from tongban.consents.tests.conftest import (
    bearer,
    enterprise_consent,
    resident_consent,
    token_for,
)
from tongban.exchange.models import SourceLookup

pytestmark = pytest.mark.django_db


def _read(client, token, consent_id):
    return client.get(f"/api/v1/consented-data/{consent_id}", **bearer(token))


def test_bank_reads_enterprise_data_with_consent(client, sources, company, legal_rep, bank):
    consent = enterprise_consent(company, legal_rep, bank)
    token = token_for(client, bank)

    response = _read(client, token, consent.public_id)

    assert response.status_code == 200, response.content
    body = response.json()
    read = ConsentRead.objects.get(consent=consent)
    assert body == {
        "consent": consent.public_id,
        "purpose": "申请信易贷贷款",
        "valid_until": consent.valid_until.isoformat(),
        "holder": {
            "kind": "enterprise",
            "name": "示例餐饮有限公司",
            "id": mask_id_number(company.uscc),
        },
        "values": {
            "swj_tax.tax_credit_rating": "A",
            "swj_tax.last_year_tax_band": "50万至200万元",
            "rsj_unit_insurance.insured_headcount": 37,
            "credit_rating.public_credit_rating": "B",
        },
        "as_of": "2026-11-30T00:00:00+08:00",
        "read_at": body["read_at"],
    }
    # JSON carries milliseconds.
    assert dt.datetime.fromisoformat(body["read_at"]) == read.at.replace(
        microsecond=read.at.microsecond // 1000 * 1000
    )
    assert (read.outcome, read.elements) == (ReadOutcome.ANSWERED, consent.elements)
    lookups = SourceLookup.objects.filter(consent=consent.public_id).order_by("source")
    assert [(lk.source, lk.elements, lk.outcome) for lk in lookups] == [
        ("credit_rating", ["public_credit_rating"], "found"),
        ("rsj_unit_insurance", ["insured_headcount"], "found"),
        ("swj_tax", ["tax_credit_rating", "last_year_tax_band"], "found"),
    ]
    assert sorted(read.lookup_ids) == sorted(lk.pk for lk in lookups)
    # The enterprise's 数据使用记录: one row per source asked, naming the bank and the consent.
    uses = AuditEvent.objects.filter(action="enterprise_data.read").order_by("data__source")
    assert [
        (
            u.subject_enterprise_id,
            u.actor_label,
            u.purpose,
            u.data["source"],
            u.data["fields"],
            u.data["channel"],
            u.data["consent"],
            u.data["post"],
            u.data["legal_basis"],
        )
        for u in uses
    ] == [
        (
            company.pk,
            f"client:{bank.client_id}",
            "申请信易贷贷款",
            "credit_rating",
            ["source:credit_rating.public_credit_rating"],
            "consent",
            consent.public_id,
            "示例银行上海分行（银行，经授权查询）",
            "数据主体授权同意（《政务数据共享管理办法》第十四条（示例））",
        ),
        (
            company.pk,
            f"client:{bank.client_id}",
            "申请信易贷贷款",
            "rsj_unit_insurance",
            ["source:rsj_unit_insurance.insured_headcount"],
            "consent",
            consent.public_id,
            "示例银行上海分行（银行，经授权查询）",
            "数据主体授权同意（《政务数据共享管理办法》第十四条（示例））",
        ),
        (
            company.pk,
            f"client:{bank.client_id}",
            "申请信易贷贷款",
            "swj_tax",
            ["source:swj_tax.tax_credit_rating", "source:swj_tax.last_year_tax_band"],
            "consent",
            consent.public_id,
            "示例银行上海分行（银行，经授权查询）",
            "数据主体授权同意（《政务数据共享管理办法》第十四条（示例））",
        ),
    ]
    assert AuditEvent.objects.filter(action="consents.read", object_id=str(consent.pk)).count() == 1
    # A second read is a second logged read.
    assert _read(client, token, consent.public_id).status_code == 200
    assert ConsentRead.objects.filter(consent=consent).count() == 2
    assert AuditEvent.objects.filter(action="enterprise_data.read").count() == 6


def test_bank_reads_resident_data_and_the_consent_basis_is_used(client, sources, resident, bank):
    consent = resident_consent(resident, bank)
    response = _read(client, token_for(client, bank), consent.public_id)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["values"] == {"test_consent_person_tax.tax_paid_band": "1万至5万元"}
    assert body["holder"] == {
        "kind": "resident",
        "name": "李*",
        "id": mask_id_number(resident.id_number),
    }
    use = AuditEvent.objects.get(action="personal_data.read")
    assert (use.subject_resident_id, use.data["channel"], use.data["legal_basis"]) == (
        resident.pk,
        "consent",
        "数据主体授权同意（示例）",
    )
    assert ConsentRead.objects.filter(consent=consent, outcome=ReadOutcome.ANSWERED).count() == 1


def _nothing_read(consent) -> None:
    assert not SourceLookup.objects.exists()
    assert not ConsentRead.objects.filter(consent=consent).exists()
    assert not AuditEvent.objects.filter(
        action__in=["enterprise_data.read", "personal_data.read", "consents.read"]
    ).exists()


def test_read_after_revocation_is_refused_and_reads_nothing(
    client, sources, company, legal_rep, bank
):
    consent = enterprise_consent(company, legal_rep, bank)
    token = token_for(client, bank)
    consent_revoke(
        user=legal_rep.user,
        holder=Holder(kind="enterprise", enterprise=company),
        consent_id=consent.pk,
    )

    response = _read(client, token, consent.public_id)

    assert (response.status_code, response.json()) == (
        403,
        {"code": "CONSENT_REVOKED", "message": "该数据授权已被授权人撤销，不能再查询"},
    )
    _nothing_read(consent)
    refused = AuditEvent.objects.get(action="consents.read_refused")
    assert (refused.actor_label, refused.object_id, refused.data["code"]) == (
        f"client:{bank.client_id}",
        str(consent.pk),
        "CONSENT_REVOKED",
    )


def test_read_after_expiry_is_refused(client, sources, company, legal_rep, bank):
    consent = enterprise_consent(company, legal_rep, bank)
    DataConsent.objects.filter(pk=consent.pk).update(valid_until=today() - dt.timedelta(days=1))
    response = _read(client, token_for(client, bank), consent.public_id)
    assert (response.status_code, response.json()["code"]) == (403, "CONSENT_EXPIRED")
    _nothing_read(consent)


def test_the_last_day_is_still_valid(client, sources, company, legal_rep, bank):
    consent = enterprise_consent(company, legal_rep, bank)
    DataConsent.objects.filter(pk=consent.pk).update(valid_until=today())
    assert _read(client, token_for(client, bank), consent.public_id).status_code == 200


def test_another_institution_is_told_not_found(
    client, sources, company, legal_rep, bank, other_bank
):
    consent = enterprise_consent(company, legal_rep, bank)
    response = _read(client, token_for(client, other_bank), consent.public_id)
    assert (response.status_code, response.json()) == (
        404,
        {"code": "CONSENT_NOT_FOUND", "message": "未找到该数据授权"},
    )
    _nothing_read(consent)
    # An id that is nobody's reads the same.
    unknown = _read(client, token_for(client, other_bank), "c_" + "x" * 24)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "CONSENT_NOT_FOUND")
    assert AuditEvent.objects.filter(action="consents.read_refused").count() == 2


def test_source_down_is_503_and_nothing_is_handed_over(client, sources, company, legal_rep, bank):
    consent = enterprise_consent(company, legal_rep, bank, elements=["swj_tax.tax_credit_rating"])
    sources.set_fault("swj_tax", "error:500")
    response = _read(client, token_for(client, bank), consent.public_id)
    assert (response.status_code, response.json()["code"]) == (503, "EXCHANGE_SOURCE_UNAVAILABLE")
    read = ConsentRead.objects.get(consent=consent)
    assert (read.outcome, read.elements) == (ReadOutcome.UNAVAILABLE, [])
    assert not AuditEvent.objects.filter(action="enterprise_data.read").exists()


def test_only_an_institution_token_opens_the_endpoint(
    client, sources, company, legal_rep, bank, resident
):
    consent = enterprise_consent(company, legal_rep, bank)
    url = f"/api/v1/consented-data/{consent.public_id}"
    assert client.get(url).status_code == 401
    assert client.get(url, **bearer("not-a-token")).json()["code"] == "TOKEN_INVALID"
    # A department system's client-credentials token is not an institution's.
    department = Department.objects.create(code="SH-TEST", name="测试局", short_name="测试局")
    system = client_register(
        actor=StaffFactory(role=StaffRole.ADMINISTRATOR),
        name="测试 部门系统",
        kind=ClientKind.DEPARTMENT_SYSTEM,
        confidential=True,
        scopes=["workbench"],
        department=department,
        service_roles=[StaffRole.REVIEWER],
    )
    basic = base64.b64encode(f"{system.client_id}:{system.client_secret}".encode()).decode()
    system_token = client.post(
        "/oauth/token/",
        data={"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    ).json()["access_token"]
    assert client.get(url, **bearer(system_token)).json()["code"] == "TOKEN_INVALID"
    # The bank's token opens nothing else.
    bank_token = token_for(client, bank)
    assert client.get("/api/v1/me/cases", **bearer(bank_token)).json()["code"] == "TOKEN_INVALID"
    # A deactivated institution's token stops working.
    institution_deactivate(actor="system:test", institution_id=bank.institution.pk)
    assert client.get(url, **bearer(bank_token)).json()["code"] == "TOKEN_INVALID"
    # ... and it gets no new one.
    bank_basic = base64.b64encode(f"{bank.client_id}:{bank.client_secret}".encode()).decode()
    again = client.post(
        "/oauth/token/",
        data={"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=f"Basic {bank_basic}",
    )
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")
    _nothing_read(consent)
