"""授权数据使用 pages: a resident grants (form, confirmation with the password), sees the
consent and its reads, revokes; an enterprise's 法定代表人 does the same for it; an 经办人, a
stranger and another resident see and change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory
from tongban.consents.models import ConsentRead, DataConsent, ReadOutcome
from tongban.consents.selectors import today
from tongban.consents.tests.conftest import enterprise_consent, resident_consent

pytestmark = pytest.mark.django_db


def _form(bank, **overrides):
    data = {
        "step": "check",
        "institution": str(bank.institution.pk),
        "elements": ["test_consent_person_tax.tax_paid_band"],
        "purpose": "申请个人消费贷款",
        "valid_until": (today() + dt.timedelta(days=60)).isoformat(),
    }
    data.update(overrides)
    return data


def test_resident_grants_after_confirming_with_password(client, registry, resident, bank):
    client.force_login(resident.user)
    page = client.get("/me/consents/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "上年度个税缴纳档次（测试个人纳税信息）" in html
    assert "示例银行上海分行（银行）" in html
    assert "目前没有生效中的授权" in html

    check = client.post("/me/consents/new/", _form(bank))
    assert check.status_code == 200
    assert "确认授权" in check.content.decode() and "申请个人消费贷款" in check.content.decode()
    assert not DataConsent.objects.exists()  # shown back, not yet given

    wrong = client.post("/me/consents/new/", _form(bank, step="confirm", password="wrong"))
    assert wrong.status_code == 422
    assert "密码不正确" in wrong.content.decode()
    assert not DataConsent.objects.exists()

    done = client.post("/me/consents/new/", _form(bank, step="confirm", password=TEST_PASSWORD))
    assert (done.status_code, done["Location"]) == (302, "/me/consents/")
    consent = DataConsent.objects.get()
    assert (
        consent.holder_profile_id,
        consent.elements,
        consent.purpose,
        consent.created_by_id,
    ) == (
        resident.pk,
        ["test_consent_person_tax.tax_paid_band"],
        "申请个人消费贷款",
        resident.user.pk,
    )
    listed = client.get("/me/consents/").content.decode()
    assert consent.public_id in listed and "生效中" in listed and "共 0 次" in listed


def test_form_errors_are_shown_and_nothing_is_made(client, registry, resident, bank):
    client.force_login(resident.user)
    response = client.post("/me/consents/new/", _form(bank, elements=[], purpose=""))
    assert response.status_code == 422
    html = response.content.decode()
    assert "请至少勾选一项授权查询的数据" in html and "请写明使用目的" in html
    assert not DataConsent.objects.exists()


def test_reads_are_listed_and_revocation_takes_effect(client, registry, resident, bank):
    consent = resident_consent(resident, bank)
    ConsentRead.objects.create(
        consent=consent, elements=consent.elements, outcome=ReadOutcome.ANSWERED
    )
    client.force_login(resident.user)
    html = client.get("/me/consents/").content.decode()
    assert "共 1 次" in html and "查询了上年度个税缴纳档次" in html

    response = client.post(f"/me/consents/{consent.pk}/revoke/")
    assert (response.status_code, response["Location"]) == (302, "/me/consents/")
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    html = client.get("/me/consents/").content.decode()
    assert "已撤销的授权" in html and f'id="revoke-{consent.pk}"' not in html


def test_revocation_needs_the_csrf_token(registry, resident, bank):
    consent = resident_consent(resident, bank)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(resident.user)
    assert browser.post(f"/me/consents/{consent.pk}/revoke/").status_code == 403
    consent.refresh_from_db()
    assert consent.revoked_at is None


def test_another_resident_neither_sees_nor_revokes(client, registry, resident, bank):
    consent = resident_consent(resident, bank)
    other = ResidentProfileFactory()
    client.force_login(other.user)
    assert consent.public_id not in client.get("/me/consents/").content.decode()
    assert client.post(f"/me/consents/{consent.pk}/revoke/").status_code == 404
    consent.refresh_from_db()
    assert consent.revoked_at is None
    # Nor through the API.
    assert client.get("/api/v1/me/consents").json() == []


def test_enterprise_page_for_its_legal_rep_only(client, registry, company, legal_rep, agent, bank):
    consent = enterprise_consent(company, legal_rep, bank)
    client.force_login(legal_rep.user)
    home = client.get(f"/enterprise/?enterprise={company.pk}").content.decode()
    assert f'href="/enterprise/{company.pk}/consents/"' in home
    html = client.get(f"/enterprise/{company.pk}/consents/").content.decode()
    assert consent.public_id in html and "纳税信用等级（税务征收信息）" in html

    client.force_login(agent.user)
    home = client.get(f"/enterprise/?enterprise={company.pk}").content.decode()
    assert "/consents/" not in home
    assert client.get(f"/enterprise/{company.pk}/consents/").status_code == 403
    refused = client.post(f"/enterprise/{company.pk}/consents/{consent.pk}/revoke/")
    assert refused.status_code == 403
    made = client.post(
        f"/enterprise/{company.pk}/consents/new/",
        {
            "step": "confirm",
            "institution": str(bank.institution.pk),
            "elements": ["swj_tax.tax_credit_rating"],
            "purpose": "申请信易贷贷款",
            "valid_until": (today() + dt.timedelta(days=30)).isoformat(),
            "password": TEST_PASSWORD,
        },
    )
    assert made.status_code == 403
    assert DataConsent.objects.count() == 1

    client.force_login(ResidentProfileFactory().user)
    assert client.get(f"/enterprise/{company.pk}/consents/").status_code == 404

    client.force_login(legal_rep.user)
    response = client.post(f"/enterprise/{company.pk}/consents/{consent.pk}/revoke/")
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_at is not None


def test_me_page_links_to_consents(client, registry, resident):
    client.force_login(resident.user)
    assert 'href="/me/consents/"' in client.get("/me/").content.decode()


def test_elder_mode_page_renders(client, registry, resident, bank):
    resident_consent(resident, bank)
    resident.user.elder_mode = True
    resident.user.save(update_fields=["elder_mode"])
    client.force_login(resident.user)
    response = client.get("/me/consents/")
    assert response.status_code == 200
    assert 'class="elder"' in response.content.decode()
