"""我的证照: the wallet pages, its API, selective disclosure, the PDF and staff revocation."""

from __future__ import annotations

import re

import pytest

from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.certificates import pdf as pdf_module
from tongban.certificates.models import Certificate
from tongban.certificates.pdf import certificate_pdf
from tongban.certificates.services import certificate_issue
from tongban.certificates.tests.conftest import id_card_claims, license_claims
from tongban.common.models import AuditEvent


@pytest.fixture
def card(resident):
    return certificate_issue(
        type_code="resident_id_card",
        holder_profile=resident,
        claims=id_card_claims(resident),
        actor_label="system:test",
    )


@pytest.fixture
def stranger(types):
    return ResidentProfileFactory(name="李四")


def _audits(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def test_wallet_list_and_detail_for_the_holder(client, resident, card, enterprise):
    license_ = certificate_issue(
        type_code="business_license",
        holder_enterprise=enterprise,
        claims=license_claims(enterprise),
        actor_label="system:test",
    )
    client.force_login(resident.user)
    page = client.get("/me/certificates/").content.decode()
    assert f'href="/me/certificates/{card.pk}/"' in page
    assert f'href="/me/certificates/{license_.pk}/"' in page  # the enterprise they act for
    assert "居民身份证" in page and "营业执照" in page and "有效" in page
    detail = client.get(f"/me/certificates/{card.pk}/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert resident.id_number in body  # display: name, id_number, valid_until
    assert "<svg" in body and 'data-result="valid"' in body
    assert card.text in body


def test_another_persons_certificate_is_not_found(client, card, stranger):
    client.force_login(stranger.user)
    presents = _audits("certificates.present")
    for path in ("", "pdf", "share"):
        assert client.get(f"/me/certificates/{card.pk}/{path}").status_code == 404
    assert client.post(f"/me/certificates/{card.pk}/share", {"claims": ["name"]}).status_code == 404
    assert card.pk not in [c["id"] for c in client.get("/api/v1/me/certificates").json()]
    assert client.get(f"/api/v1/me/certificates/{card.pk}").status_code == 404
    response = client.post(
        f"/api/v1/me/certificates/{card.pk}/presentations",
        {"claims": ["name"]},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert _audits("certificates.present") == presents


def test_anonymous_is_sent_to_login(client, card):
    assert client.get("/me/certificates/").status_code == 302
    assert client.get("/api/v1/me/certificates").status_code == 401


def test_share_shows_only_the_chosen_claims(client, resident, card):
    client.force_login(resident.user)
    form = client.get(f"/me/certificates/{card.pk}/share").content.decode()
    assert 'value="name"' in form and 'value="id_number"' not in form
    shown = client.post(f"/me/certificates/{card.pk}/share", {"claims": ["name", "sex"]})
    assert shown.status_code == 200
    text = re.search(r'id="presentation-text"[^>]*>([^<]+)<', shown.content.decode()).group(1)
    verified = client.post(
        "/api/v1/certificates/verify", {"text": text}, content_type="application/json"
    ).json()
    assert verified["result"] == "valid"
    assert verified["claims"] == {"name": resident.name, "sex": "男"}
    refused = client.post(f"/me/certificates/{card.pk}/share", {"claims": ["id_number"]})
    assert refused.status_code == 422
    assert (
        "不允许单独出示" in refused.content.decode() and "公民身份号码" in refused.content.decode()
    )


def test_api_wallet(client, resident, card):
    client.force_login(resident.user)
    listed = client.get("/api/v1/me/certificates").json()
    assert [(c["id"], c["type"]["code"], c["state"]) for c in listed] == [
        (card.pk, "resident_id_card", "valid")
    ]
    detail = client.get(f"/api/v1/me/certificates/{card.pk}").json()
    assert detail["serial"] == card.serial and detail["text"] == card.text
    made = client.post(
        f"/api/v1/me/certificates/{card.pk}/presentations",
        {"claims": ["birth_date"]},
        content_type="application/json",
    )
    assert made.status_code == 200
    assert set(made.json()) == {"text", "expires_at"}
    bad = client.post(
        f"/api/v1/me/certificates/{card.pk}/presentations",
        {"claims": ["id_number"]},
        content_type="application/json",
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "CERTIFICATE_CLAIM_NOT_DISCLOSABLE")


def test_pdf_embeds_the_font_and_names_the_serial(client, resident, card):
    raw = certificate_pdf(card, verify_url="http://testserver/certificates/verify/", compress=False)
    assert raw.startswith(b"%PDF")
    assert b"WenQuanYi" in raw or b"wqy" in raw.lower()
    assert b"/FontFile2" in raw  # embedded, not merely named
    # fpdf2 writes text as glyph ids of the embedded (subset) font; the serial is also the
    # document title, written as text.
    assert card.serial.encode() in raw or card.serial in _title(raw)
    client.force_login(resident.user)
    response = client.get(f"/me/certificates/{card.pk}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def _title(raw: bytes) -> str:
    found = re.search(rb"/Title \(([^)]*)\)", raw) or re.search(rb"/Title <([0-9A-Fa-f]+)>", raw)
    if found is None:
        return ""
    value = found.group(1)
    try:
        return bytes.fromhex(value.decode()).decode("utf-16")
    except ValueError:
        return value.decode("latin-1")


def test_pdf_without_the_font_is_a_503(client, resident, card, monkeypatch):
    monkeypatch.setattr(pdf_module, "font_path", lambda: None)
    client.force_login(resident.user)
    response = client.get(f"/me/certificates/{card.pk}/pdf")
    assert response.status_code == 503
    assert "中文字体" in response.content.decode()


def test_staff_revocation_api(client, resident, card, police_issuer, stranger):
    url = f"/api/v1/certificates/{card.serial}/revoke"
    client.force_login(stranger.user)
    assert client.post(url, {"reason": "x"}, content_type="application/json").status_code == 403
    other_dept = StaffFactory(role="issuer")
    client.force_login(other_dept)
    assert client.post(url, {"reason": "x"}, content_type="application/json").status_code == 403
    missing = "/api/v1/certificates/" + "0" * 32 + "/revoke"
    client.force_login(police_issuer)
    assert client.post(missing, {"reason": "x"}, content_type="application/json").status_code == 404
    card.refresh_from_db()
    assert card.revoked_at is None
    done = client.post(url, {"reason": "证件遗失"}, content_type="application/json")
    assert (done.status_code, done.json()["state"]) == (200, "revoked")
    assert Certificate.objects.get(pk=card.pk).revocation_reason == "证件遗失"


def test_the_holders_certificate_pages_and_api_are_not_stored_by_caches(client, resident, card):
    client.force_login(resident.user)
    for path in (
        f"/me/certificates/{card.pk}/",
        f"/me/certificates/{card.pk}/pdf",
        "/me/certificates/",
        f"/api/v1/me/certificates/{card.pk}",
        "/api/v1/me/certificates",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert directives == {"no-store", "private"}, path  # the PDF sets its own, the same
