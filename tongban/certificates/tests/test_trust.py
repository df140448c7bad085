"""Trust list editions (sequence, expiry), compromised keys, honest signing times, and the
随申码 key in the trust list (docs/formats.md §4)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets

import pytest
from cryptography.hazmat.primitives.serialization import load_der_public_key
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.catalog.models import Department
from tongban.certificates import cose, selectors, services
from tongban.certificates import verify as v
from tongban.certificates.keys import signing_key
from tongban.certificates.models import Certificate, IssuingKey, TrustListIssue
from tongban.certificates.tests.test_services import issue_id_card
from tongban.common.errors import PermissionDenied
from tongban.common.models import AuditEvent


def published() -> dict:
    return json.loads(selectors.trust_list_document().body)["trust_list"]


def offline_trust(**kwargs) -> v.TrustList:
    """What a third-party verifier builds: the served document, checked with the root key."""
    root = cose.load_public_pem(selectors.root_key_document()["public_key_pem"])
    return v.trust_list_from_document(selectors.trust_list_document().body, root, **kwargs)


def forged(cert: Certificate, key: IssuingKey, **changes) -> str:
    """CERT's token with CHANGES, signed by KEY (as a thief holding KEY would)."""
    token = v.token_from_payload(cose.sign1_decode(cose.decode_text(cert.text)).payload)
    token = v.CertificateToken(**{**token.__dict__, **changes})
    signed = cose.sign1(
        v.token_payload(token), private_key=signing_key(key), kid=bytes.fromhex(key.kid)
    )
    return cose.encode_text(signed)


# ---------------------------------------------------------------- editions


def test_every_key_change_signs_a_new_edition_with_the_next_sequence(resident):
    issue_id_card(resident)  # the department's first key, and the root, each a new edition
    first = published()
    assert first["version"] == 2
    issued = dt.datetime.fromisoformat(first["issued_at"])
    assert dt.datetime.fromisoformat(first["expires_at"]) - issued == dt.timedelta(days=7)
    police = Department.objects.get(code="SH-GA")
    services.issuing_key_rotate(department=police, actor=None)
    second = published()
    assert second["sequence"] == first["sequence"] + 1
    assert TrustListIssue.objects.get(sequence=second["sequence"]).body == (
        selectors.trust_list_document().body
    )
    # Nothing changed: serving again signs nothing new.
    assert services.trust_list_publish().sequence == second["sequence"]
    assert published() == second
    publishes = AuditEvent.objects.filter(action="certificates.trust_list_publish").count()
    assert publishes == TrustListIssue.objects.count() == second["sequence"]


def test_a_list_past_half_its_life_is_signed_again_by_serving_and_by_the_tick(client, resident):
    issue_id_card(resident)
    before = services.trust_list_publish()
    later = timezone.now() + dt.timedelta(days=3, hours=12, minutes=1)
    again = services.trust_list_publish(now=later)
    assert again.sequence == before.sequence + 1
    assert again.expires_at == later.replace(microsecond=0) + dt.timedelta(days=7)
    from tongban.cases.schedule import _registered_sweeps

    counts = _registered_sweeps["trust_list"](later + dt.timedelta(days=4), later.date())
    assert counts == {"sequence": again.sequence + 1}
    body = client.get("/.well-known/tongban/trust-list").json()["trust_list"]
    assert body["sequence"] == again.sequence + 1


def test_an_expired_list_is_refused_with_its_own_result(resident):
    cert = issue_id_card(resident)
    trust = offline_trust()
    expires = trust.expires_at
    ok = v.verify_text(cert.text, trust, expires - 1, lambda i, n: False)
    assert ok.code == "valid"
    late = v.verify_text(cert.text, trust, expires, lambda i, n: False)
    assert (late.code, late.message) == (
        "trust_list_expired",
        "信任列表已过期，暂时无法核验证照，请更新信任列表后再试。",
    )
    assert late.token is None
    # The platform's own verifier holds the same edition and refuses the same way.
    at = dt.datetime.fromtimestamp(expires, tz=dt.UTC)
    assert selectors.certificate_verify(cert.text, at=at).code == "trust_list_expired"


def test_a_verifier_never_goes_back_to_an_older_edition(resident):
    issue_id_card(resident)
    services.issuing_key_rotate(department=Department.objects.get(code="SH-GA"), actor=None)
    newest = offline_trust()
    with pytest.raises(v.StaleTrustList):
        offline_trust(seen_sequence=newest.sequence + 1)
    # The platform's cache: a restored backup whose newest row is an older edition.
    assert selectors.trust_list_current().sequence == newest.sequence
    TrustListIssue.objects.filter(sequence=newest.sequence).delete()
    older = TrustListIssue.objects.get(sequence=newest.sequence - 1)
    older.content_sha256 = selectors.trust_list_content_sha256(
        selectors.trust_list_content(), older.root_kid
    )
    older.issued_at = timezone.now()
    older.save()
    assert selectors._trust_cache.reload().sequence == newest.sequence


# ---------------------------------------------------------------- compromised keys


def test_a_compromised_key_stops_vouching_and_the_department_gets_a_new_one(resident):
    police = Department.objects.get(code="SH-GA")
    before = issue_id_card(resident)
    stolen = before.issuer_key
    # Signed ten seconds before the cut-off (the cut-off is published to the second).
    earlier = before.issued_at - dt.timedelta(seconds=10)
    before.text = forged(before, stolen, issued_at=int(earlier.timestamp()))
    Certificate.objects.filter(pk=before.pk).update(text=before.text, issued_at=earlier)
    lead = StaffFactory(department=police, role=StaffRole.DEPARTMENT_LEAD)
    cut_off = timezone.now()
    marked = services.issuing_key_mark_compromised(
        key=stolen, cut_off=cut_off, actor=lead, reason="密钥文件外泄"
    )
    assert (marked.state, marked.compromised_at) == ("compromised", cut_off)
    replacement = IssuingKey.objects.get(department=police, state="active")
    assert replacement.kid != stolen.kid
    entry = {k["kid"]: k for k in published()["issuer_keys"]}[stolen.kid]
    assert (entry["state"], entry["compromised_at"]) == (
        "compromised",
        selectors.iso_time(cut_off),
    )
    event = AuditEvent.objects.get(action="certificates.key_compromised")
    assert (event.actor, event.object_id, event.purpose) == (lead, stolen.kid, "密钥文件外泄")
    assert event.data["replacement"] == replacement.kid

    # Signed at or after the cut-off: refused by everyone.
    after = forged(before, stolen, issued_at=int(cut_off.timestamp()) + 1, cti=b"x" * 16)
    result = selectors.certificate_verify(after)
    assert (result.code, result.message) == (
        "key_compromised",
        "签发印章已报告泄露，该证照不能再凭此印章确认，请向签发机构申请换发。",
    )
    # Signed before it: the platform's register vouches for the real one, not for a forgery
    # backdated by the thief.
    assert selectors.certificate_verify(before.text).code == "valid"
    backdated = forged(before, stolen, cti=secrets.token_bytes(16))
    assert selectors.certificate_verify(backdated).code == "key_compromised"
    # An offline verifier has no register: nothing the key signed is accepted.
    now = timezone.now()
    assert v.verify_text(before.text, offline_trust(), now, lambda i, n: False).code == (
        "key_compromised"
    )
    # New certificates are signed by the new key and verify.
    fresh = issue_id_card(ResidentProfileFactory())
    assert fresh.issuer_key == replacement
    assert selectors.certificate_verify(fresh.text).code == "valid"


def test_marking_a_key_compromised_is_for_key_administrators(resident):
    police = Department.objects.get(code="SH-GA")
    cert = issue_id_card(resident)
    reviewer = StaffFactory(department=police, role=StaffRole.REVIEWER)
    sequence = published()["sequence"]
    with pytest.raises(PermissionDenied):
        services.issuing_key_mark_compromised(
            key=cert.issuer_key, cut_off=timezone.now(), actor=reviewer
        )
    key = IssuingKey.objects.get(pk=cert.issuer_key_id)
    assert (key.state, key.compromised_at) == ("active", None)
    assert IssuingKey.objects.filter(department=police).count() == 1
    assert not AuditEvent.objects.filter(action="certificates.key_compromised").exists()
    assert published()["sequence"] == sequence


# ---------------------------------------------------------------- valid_from


def test_iat_is_the_signing_time_and_a_key_vouches_for_nothing_before_it_existed(resident):
    first_issued = timezone.now() - dt.timedelta(days=1000)
    cert = services.certificate_issue(
        type_code="resident_id_card",
        holder_profile=resident,
        claims=id_card_claims_on(resident, "2024-03-02"),
        actor_label="system:demo",
        valid_from=first_issued,
    )
    token = v.token_from_payload(cose.sign1_decode(cose.decode_text(cert.text)).payload)
    assert token.issued_at >= int(cert.issuer_key.created_at.timestamp())
    assert cert.issued_at == dt.datetime.fromtimestamp(token.issued_at, tz=dt.UTC)
    assert cert.valid_from == first_issued.replace(microsecond=0)
    assert token.expires_at == int(first_issued.timestamp()) + 7300 * 86400
    assert selectors.certificate_verify(cert.text).code == "valid"
    # Backdated by the signer: the key did not exist then.
    key_from = int(cert.issuer_key.created_at.timestamp())
    backdated = forged(cert, cert.issuer_key, issued_at=key_from - 301)
    result = selectors.certificate_verify(backdated)
    assert (result.code, result.detail) == ("unknown_issuer", "印章启用前签发")


def id_card_claims_on(resident, day: str) -> dict:
    from tongban.certificates.tests.conftest import id_card_claims

    return {**id_card_claims(resident), "valid_from": day}


def test_the_migration_signs_backdated_certificates_again_now(resident):
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "tongban.certificates.migrations.0004_trust_list_editions_compromised_keys_valid_from"
    )
    cert = issue_id_card(resident)
    old_key = cert.issuer_key
    long_ago = int(old_key.created_at.timestamp()) - 86400 * 900
    backdated = forged(cert, old_key, issued_at=long_ago)
    Certificate.objects.filter(pk=cert.pk).update(
        text=backdated, issued_at=dt.datetime.fromtimestamp(long_ago, tz=dt.UTC)
    )
    assert selectors.certificate_verify(backdated).code == "unknown_issuer"
    new_key = services.issuing_key_rotate(department=old_key.department, actor=None)

    migration.certificates_signed_now(apps, None)

    cert.refresh_from_db()
    assert cert.issuer_key == new_key
    assert cert.valid_from == dt.datetime.fromtimestamp(long_ago, tz=dt.UTC)
    token = v.token_from_payload(cose.sign1_decode(cose.decode_text(cert.text)).payload)
    assert token.issued_at == int(cert.issued_at.timestamp()) >= int(new_key.created_at.timestamp())
    assert token.cti.hex() == cert.serial
    assert selectors.certificate_verify(cert.text).code == "valid"
    event = AuditEvent.objects.get(action="certificates.backdated_resigned")
    assert event.data == {"resigned": 1, "left": 0}


# ---------------------------------------------------------------- the 随申码 key


def test_the_idcode_key_is_published_for_scanners_and_trusted_by_no_certificate(resident):
    from tongban.idcode import keys as idcode_keys
    from tongban.idcode import token as t

    key = idcode_keys.active_key()
    [entry] = published()["idcode_keys"]
    assert (entry["kid"], entry["role"], entry["issuer"], entry["state"]) == (
        key.kid,
        "idcode",
        "tongban-idcode",
        "active",
    )
    public = load_der_public_key(base64.b64decode(entry["public_key_spki"]))
    now = int(timezone.now().timestamp())
    claims = t.Claims(subject="c3ViamVjdA", issued_at=now, expires_at=now + 300, cti=b"n" * 16)
    code = t.encode(claims, private_key=idcode_keys.private_key_of(key), kid=bytes.fromhex(key.kid))
    offline = t.verify(
        code, public_key_for=lambda kid: public if kid.hex() == entry["kid"] else None, now=now
    )
    assert (offline.result, offline.claims) == ("ok", claims)
    # A certificate signed with the 随申码 key is not a certificate.
    cert = issue_id_card(resident)
    token = v.token_from_payload(cose.sign1_decode(cose.decode_text(cert.text)).payload)
    signed = cose.sign1(
        v.token_payload(token),
        private_key=idcode_keys.private_key_of(key),
        kid=bytes.fromhex(key.kid),
    )
    text = cose.encode_text(signed)
    assert selectors.certificate_verify(text).code == "unknown_issuer"
    assert v.verify_text(text, offline_trust(), now, lambda i, n: False).code == "unknown_issuer"
