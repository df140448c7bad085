"""POST /api/v1/certificates/verify, the public verification page, and /.well-known/tongban/."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.utils import timezone

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.catalog.models import Department
from tongban.certificates import cose, selectors, services
from tongban.certificates import verify as v
from tongban.certificates.models import StatusList
from tongban.certificates.tests.conftest import id_card_claims

URL = "/api/v1/certificates/verify"


def issue(resident, **kwargs):
    return services.certificate_issue(
        type_code="resident_id_card",
        holder_profile=resident,
        claims=id_card_claims(resident),
        actor_label="system:test",
        **kwargs,
    )


def post(client, text):
    return client.post(URL, {"text": text}, content_type="application/json")


def test_verify_valid_anonymously(client, resident):
    cert = issue(resident)
    response = post(client, cert.text)
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "valid"
    assert body["message"] == "证照有效：签名正确，在有效期内，未被撤销。"
    assert body["issuer"] == {"code": "SH-GA", "name": "示例SH-GA"}
    assert body["type"] == {"code": "resident_id_card", "version": 1}
    assert body["claims"]["name"] == "张三"
    assert body["expires_at"] == int(cert.expires_at.timestamp())
    assert body["presentation"] is False


def test_verify_reports_every_reason(client, resident, police_issuer):
    revoked = issue(resident)
    services.certificate_revoke(certificate=revoked, actor=police_issuer, reason="遗失")
    # Each card its own holder's: a second card of one holder would be a renewal (换发).
    expired = issue(ResidentProfileFactory(), valid_from=timezone.now() - dt.timedelta(days=7301))
    stranger = cose.ES256.generate()
    stranger_kid = cose.kid_for(stranger.public_key())
    good = issue(ResidentProfileFactory())
    token = v.token_from_payload(cose.sign1_decode(cose.decode_text(good.text)).payload)
    unknown = cose.encode_text(
        cose.sign1(v.token_payload(token), private_key=stranger, kid=stranger_kid)
    )
    key_kid = bytes.fromhex(good.issuer_key.kid)
    bad = cose.encode_text(cose.sign1(v.token_payload(token), private_key=stranger, kid=key_kid))
    future = v.CertificateToken(**{**token.__dict__, "not_before": token.issued_at + 86400})
    from tongban.certificates.keys import signing_key

    not_yet = cose.encode_text(
        cose.sign1(v.token_payload(future), private_key=signing_key(good.issuer_key), kid=key_kid)
    )
    cases = {
        "valid": good.text,
        "revoked": revoked.text,
        "expired": expired.text,
        "unknown_issuer": unknown,
        "bad_signature": bad,
        "not_yet_valid": not_yet,
        "malformed": "HC1:not ours",
    }
    for expected, text in cases.items():
        body = post(client, text).json()
        assert body["result"] == expected, expected
        assert body["message"] == v.MESSAGES[expected]
        trusted = expected in {"valid", "revoked", "expired", "not_yet_valid"}
        assert (body.get("claims") is not None) is trusted, expected


def test_verify_bounds_the_body(client, db):
    response = post(client, "TB1:" + "0" * 9000)
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_INPUT"
    response = post(client, "TB1:" + "0" * 5000)
    assert response.json()["result"] == "malformed"
    assert client.post(URL, "not json", content_type="application/json").status_code in (400, 422)


def test_a_text_holding_percent_zero_zero_reaches_the_verifier(client, db):
    # "%", "0" are Base45 characters: several certificate texts in a thousand hold "%00".
    response = post(client, "TB1:%00")
    assert response.status_code == 200
    assert response.json()["result"] == "malformed"


@pytest.mark.parametrize("padded", ["{}\n", " {}", "\t{}\r\n"])
def test_the_api_takes_the_text_exactly_as_sent(client, resident, padded):
    cert = issue(resident)
    body = post(client, padded.format(cert.text)).json()
    assert (body["result"], body["message"]) == ("malformed", v.MESSAGES["malformed"])
    assert body["claims"] is None
    assert post(client, cert.text).json()["result"] == "valid"


def test_the_page_trims_what_a_person_pastes_before_verifying(client, resident):
    cert = issue(resident)
    pasted = client.post("/certificates/verify/", {"text": f"  {cert.text}\r\n"})
    assert 'data-result="valid"' in pasted.content.decode()


def test_verification_page(client, resident):
    page = client.get("/certificates/verify/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<label for="id_text">证照文本</label>' in html
    cert = issue(resident)
    result = client.post("/certificates/verify/", {"text": cert.text}).content.decode()
    assert "核验通过" in result and 'data-result="valid"' in result
    assert "<dt>姓名</dt><dd>张三</dd>" in result
    assert "居民身份证" in result
    refused = client.post("/certificates/verify/", {"text": "TB1:ZZZ"}).content.decode()
    assert "核验未通过" in refused and v.MESSAGES["malformed"] in refused
    assert "<dt>" not in refused


def test_trust_list_endpoint_is_cacheable_and_verifies(client, resident):
    cert = issue(resident)
    response = client.get("/.well-known/tongban/trust-list")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    etag = response["ETag"]
    assert client.get("/.well-known/tongban/trust-list", HTTP_IF_NONE_MATCH=etag).status_code == 304
    root = client.get("/.well-known/tongban/root-key").json()
    root_public = cose.load_public_pem(root["public_key_pem"])
    trust = v.trust_list_from_document(response.content, root_public)
    status = client.get(f"/.well-known/tongban/status/{cert.status_list_id}")
    assert status.status_code == 200 and status["Content-Type"] == "application/cwt"
    assert status["Cache-Control"] == "public, max-age=60"
    list_id, bits = v.status_list_from_token(
        status.content, trust, at=int(timezone.now().timestamp())
    )
    lookup = v.status_lookup({list_id: bits})
    assert v.verify_text(cert.text, trust, timezone.now(), lookup).code == "valid"
    assert client.get("/.well-known/tongban/status/999").status_code == 404
    # A rotation changes the list and its ETag.
    services.issuing_key_rotate(department=Department.objects.get(code="SH-GA"), actor=None)
    assert client.get("/.well-known/tongban/trust-list")["ETag"] != etag


def test_status_list_is_signed_once_per_change_and_served_alike_by_every_process(
    client, resident, police_issuer
):
    cert = issue(resident)
    path = f"/.well-known/tongban/status/{cert.status_list_id}"
    first = client.get(path)
    # Another worker: nothing of this process's caches, the same bytes and ETag from the row.
    selectors.trust_list_cache_clear()
    selectors.status_cache_clear()
    second = client.get(path)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content and second["ETag"] == first["ETag"]
    not_modified = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == first["ETag"]

    services.certificate_revoke(certificate=cert, actor=police_issuer, reason="注销")
    selectors.status_cache_clear()
    changed = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    trust = selectors.trust_list_current()
    _, bits = v.status_list_from_token(changed.content, trust, at=int(time.time()))
    assert bits.is_set(cert.status_index) is True
    assert client.get(path).content == changed.content
    row = StatusList.objects.get(pk=cert.status_list_id)
    assert (row.version, row.token_version, bytes(row.token)) == (1, 1, changed.content)


@pytest.mark.parametrize("path", ["/.well-known/tongban/trust-list"])
def test_published_documents_refuse_writes(client, db, path):
    assert client.post(path).status_code == 405


def test_openapi_describes_verify(client, db):
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/certificates/verify" in spec["paths"]
    json.dumps(spec)


def _signed_again_until(cert, needle: str) -> str:
    """The certificate's own token signed again by its issuing key until the text holds NEEDLE.
    ECDSA signatures are randomised, so each signing is a different, equally valid text; about
    one text in 250 holds `%00`, as any issued certificate may."""
    from tongban.certificates.keys import signing_key

    token = v.token_from_payload(cose.sign1_decode(cose.decode_text(cert.text)).payload)
    private = signing_key(cert.issuer_key)
    kid = bytes.fromhex(cert.issuer_key.kid)
    for _ in range(100_000):
        text = cose.encode_text(cose.sign1(v.token_payload(token), private_key=private, kid=kid))
        if needle in text:
            return text
    raise AssertionError(f"no signing produced {needle!r}")


def test_a_certificate_whose_text_holds_percent_00_verifies_on_api_and_page(client, resident):
    text = _signed_again_until(issue(resident), "%00")
    response = post(client, text)
    assert response.status_code == 200
    assert response.json()["result"] == "valid"
    assert response.json()["claims"]["name"] == "张三"
    page = client.post("/certificates/verify/", {"text": text}).content.decode()
    assert 'data-result="valid"' in page
