"""Types, keys, issuance, revocation, presentations, and the published trust and status lists."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zlib

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.catalog.models import Department
from tongban.certificates import cose, selectors, services
from tongban.certificates import verify as v
from tongban.certificates.errors import (
    CertificateNotFound,
    CertificateRevoked,
    CertificateTypesInvalid,
    CertificateTypeUnknown,
    ClaimNotDisclosable,
    ClaimsInvalid,
    HolderInvalid,
    RevocationReasonRequired,
)
from tongban.certificates.models import (
    STATUS_LIST_SIZE,
    Certificate,
    CertificateType,
    CertificateTypeVersion,
    IssuingKey,
    StatusList,
)
from tongban.certificates.tests.conftest import DEMO_TYPES, id_card_claims, license_claims
from tongban.common.errors import PermissionDenied
from tongban.common.models import AuditEvent


def issue_id_card(resident, **overrides):
    return services.certificate_issue(
        type_code="resident_id_card",
        holder_profile=resident,
        claims={**id_card_claims(resident), **overrides},
        actor_label="system:test",
    )


# ---------------------------------------------------------------- types


def test_demo_types_load_and_reload_without_new_versions(types):
    assert types.as_dict() == {"created": 29, "changed": 0, "unchanged": 0, "deactivated": 0}
    again = services.certificate_types_load(directory=DEMO_TYPES)
    assert again.as_dict() == {"created": 0, "changed": 0, "unchanged": 29, "deactivated": 0}
    assert CertificateTypeVersion.objects.count() == 29
    card = CertificateType.objects.get(code="resident_id_card")
    assert (card.name, card.department.code, card.current.version) == ("居民身份证", "SH-GA", 1)


def test_every_certificate_type_the_demo_items_name_is_defined(types):
    import re

    from django.conf import settings

    named = set()
    for path in (settings.TONGBAN_CATALOG_DIR / "items").glob("*.yaml"):
        named |= set(re.findall(r"certificate_type:\s*([a-z_]+)", path.read_text()))
    assert named
    assert named <= set(CertificateType.objects.values_list("code", flat=True))


def test_changed_type_gets_a_new_version_and_removed_type_is_deactivated(types, tmp_path):
    folder = tmp_path / "types"
    shutil.copytree(DEMO_TYPES, folder)
    path = folder / "resident_id_card.yaml"
    path.write_text(path.read_text().replace("validity_days: 7300", "validity_days: 3650"))
    (folder / "veteran_certificate.yaml").unlink()
    report = services.certificate_types_load(directory=folder)
    assert report.changed == ["resident_id_card"]
    assert report.deactivated == ["veteran_certificate"]
    card = CertificateType.objects.get(code="resident_id_card")
    assert card.current.version == 2 and card.current.content["validity_days"] == 3650
    assert CertificateType.objects.get(code="veteran_certificate").is_active is False
    assert AuditEvent.objects.filter(action="certificates.types_load").count() == 2


def test_invalid_type_files_are_reported_with_file_line_and_field(types, tmp_path):
    folder = tmp_path / "types"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        "code: a\nname: 甲\ndepartment: SH-NOPE\nholder: person\nclaims:\n"
        "  - {name: n, label: 名, type: money}\n"
        "disclosable: [x]\n",
        encoding="utf-8",
    )
    (folder / "b.yaml").write_text(
        "code: b\nname: 乙\ndepartment: SH-NOPE\nholder: person\n"
        "claims:\n  - {name: n, label: 名}\n",
        encoding="utf-8",
    )
    with pytest.raises(CertificateTypesInvalid) as caught:
        services.certificate_types_load(directory=folder)
    lines = [str(p) for p in caught.value.problems]
    assert lines == [
        "a.yaml:6: claims[0].type: 应为以下之一：string、date、integer",
        "b.yaml:3: department: 部门 SH-NOPE 不存在（请先加载事项库）",
    ]
    assert CertificateType.objects.filter(code__in=["a", "b"]).count() == 0


# ---------------------------------------------------------------- issuance


def test_issue_signs_stores_encrypted_and_audits(resident):
    cert = issue_id_card(resident)
    assert cert.holder_user == resident.user
    assert cert.claims["name"] == "张三"
    assert cert.expires_at - cert.issued_at == dt.timedelta(days=7300)
    key = IssuingKey.objects.get(department__code="SH-GA", state="active")
    assert cert.issuer_key == key
    assert 0 <= cert.status_index < STATUS_LIST_SIZE
    result = selectors.certificate_verify(cert.text)
    assert result.code == "valid"
    assert result.token.claims == cert.claims
    assert result.token.cti.hex() == cert.serial
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT claims_json, text FROM certificates_certificate WHERE id = %s", [cert.pk]
        )
        stored_claims, stored_text = cursor.fetchone()
    assert "张三" not in stored_claims and not stored_text.startswith("TB1:")
    event = AuditEvent.objects.get(action="certificates.issue")
    assert (event.object_id, event.subject_resident_id) == (cert.serial, resident.pk)
    assert event.data["kid"] == key.kid


def test_enterprise_certificate_and_wallet_lists(resident, enterprise):
    own = issue_id_card(resident)
    licence = services.certificate_issue(
        type_code="business_license",
        holder_enterprise=enterprise,
        claims=license_claims(enterprise),
        actor_label="system:test",
    )
    stranger = ResidentProfileFactory()
    issue_id_card(stranger)
    assert list(selectors.certificates_for(user=resident.user)) == [licence, own]
    assert selectors.certificate_for(user=resident.user, pk=licence.pk) == licence
    with pytest.raises(CertificateNotFound):
        selectors.certificate_for(user=stranger.user, pk=own.pk)
    view = selectors.certificate_json(licence)
    assert view["holder"] == {"kind": "enterprise", "name": "示例科技有限公司"}
    assert view["type"] == {"code": "business_license", "name": "营业执照", "version": 1}
    assert view["expires_at"] is None and view["state"] == "valid"
    assert view["claims"][0] == {
        "name": "uscc",
        "label": "统一社会信用代码",
        "type": "string",
        "value": enterprise.uscc,
    }
    assert selectors.certificate_verify(view["text"]).code == "valid"


def test_claims_are_validated_against_the_type(resident):
    with pytest.raises(ClaimsInvalid) as caught:
        issue_id_card(resident, birth_date="1990-02-30", name="", colour="red")
    assert caught.value.details == [
        {"field": "colour", "message": "本证照类型没有这一项"},
        {"field": "name", "message": "缺少必填项：姓名"},
        {"field": "birth_date", "message": "出生日期应为日期（YYYY-MM-DD）"},
    ]
    assert Certificate.objects.count() == 0
    assert AuditEvent.objects.filter(action="certificates.issue").count() == 0


def test_integer_claims_and_holder_kind_are_checked(resident, enterprise):
    claims = {
        "certificate_no": "31010419900101123451",
        "name": resident.name,
        "id_number": resident.id_number,
        "disability_category": "肢体残疾",
        "disability_grade": "二",
        "issued_on": "2024-01-01",
    }
    with pytest.raises(ClaimsInvalid) as caught:
        services.certificate_issue(
            type_code="disability_certificate",
            holder_profile=resident,
            claims=claims,
            actor_label="t",
        )
    assert caught.value.details == [{"field": "disability_grade", "message": "残疾等级应为整数"}]
    with pytest.raises(HolderInvalid):
        services.certificate_issue(
            type_code="business_license",
            holder_profile=resident,
            claims=license_claims(enterprise),
            actor_label="t",
        )
    with pytest.raises(CertificateTypeUnknown):
        services.certificate_issue(
            type_code="nope", holder_profile=resident, claims={}, actor_label="t"
        )


def test_backdated_certificate_can_be_issued_already_expired(resident):
    long_ago = timezone.now() - dt.timedelta(days=7301)
    cert = services.certificate_issue(
        type_code="resident_id_card",
        holder_profile=resident,
        claims=id_card_claims(resident),
        actor_label="system:demo",
        valid_from=long_ago,
    )
    assert selectors.certificate_verify(cert.text).code == "expired"
    assert selectors.certificate_json(cert)["state"] == "expired"


def test_status_indices_are_random_and_never_reused(resident):
    certs = [issue_id_card(resident) for _ in range(12)]
    indices = [c.status_index for c in certs]
    assert len(set(indices)) == 12
    assert indices != sorted(indices)  # 12 random draws in order: 1 in 479,001,600
    status_list = StatusList.objects.get()
    assert status_list.allocated_count == 12
    allocated = v.StatusBits(bytes(status_list.allocated))
    assert all(allocated.is_set(i) for i in indices)
    assert len(bytes(status_list.bits)) * 8 == STATUS_LIST_SIZE == 131_072


# ---------------------------------------------------------------- revocation


def test_revocation_flips_the_bit_is_audited_and_verification_refuses(resident, police_issuer):
    cert = issue_id_card(resident)
    services.certificate_revoke(certificate=cert, actor=police_issuer, reason="证件遗失补领")
    assert cert.revoked_at is not None and cert.revocation_reason == "证件遗失补领"
    bits = v.StatusBits(bytes(StatusList.objects.get().bits))
    assert bits.is_set(cert.status_index) is True
    event = AuditEvent.objects.get(action="certificates.revoke")
    assert event.actor == police_issuer
    assert event.purpose == "证件遗失补领"
    assert event.data["reason"] == "证件遗失补领"
    assert event.object_id == cert.serial
    result = selectors.certificate_verify(cert.text)
    assert (result.code, result.message) == ("revoked", "证照已被撤销。")
    with pytest.raises(CertificateRevoked):
        services.certificate_revoke(certificate=cert, actor=police_issuer, reason="再次")


def test_revocation_needs_a_reason_and_the_issuing_department(resident, police_issuer):
    cert = issue_id_card(resident)
    with pytest.raises(RevocationReasonRequired):
        services.certificate_revoke(certificate=cert, actor=police_issuer, reason="  ")
    other = StaffFactory(
        department=Department.objects.get(code="SH-MZJ"), role=StaffRole.DEPARTMENT_LEAD
    )
    reviewer = StaffFactory(
        department=Department.objects.get(code="SH-GA"), role=StaffRole.REVIEWER
    )
    for actor in (other, reviewer, resident.user):
        with pytest.raises(PermissionDenied):
            services.certificate_revoke(certificate=cert, actor=actor, reason="无权")
    cert.refresh_from_db()
    assert cert.revoked_at is None
    assert not AuditEvent.objects.filter(action="certificates.revoke").exists()
    assert v.StatusBits(bytes(StatusList.objects.get().bits)).is_set(cert.status_index) is False


# ---------------------------------------------------------------- keys


def test_rotation_keeps_old_certificates_valid_and_signs_new_ones_with_the_new_kid(resident):
    police = Department.objects.get(code="SH-GA")
    before = issue_id_card(resident)
    old_kid = before.issuer_key.kid
    new_key = services.issuing_key_rotate(department=police, actor=None)
    after = issue_id_card(ResidentProfileFactory())  # another holder: not a renewal
    assert after.issuer_key == new_key and new_key.kid != old_kid
    assert IssuingKey.objects.get(kid=old_kid).state == "retired"
    assert selectors.certificate_verify(before.text).code == "valid"
    assert selectors.certificate_verify(after.text).code == "valid"
    assert cose.sign1_decode(cose.decode_text(after.text)).kid.hex() == new_key.kid
    services.root_key_ensure()
    doc = json.loads(selectors.trust_list_document().body)["trust_list"]
    listed = {k["kid"]: k for k in doc["issuer_keys"]}
    assert listed[old_kid]["retired_at"] is not None
    assert listed[new_key.kid]["retired_at"] is None
    assert AuditEvent.objects.filter(action="certificates.key_rotate").count() == 1


def test_rotation_is_for_key_administrators(resident):
    police = Department.objects.get(code="SH-GA")
    issue_id_card(resident)
    reviewer = StaffFactory(department=police, role=StaffRole.REVIEWER)
    with pytest.raises(PermissionDenied):
        services.issuing_key_rotate(department=police, actor=reviewer)
    assert IssuingKey.objects.filter(department=police).count() == 1
    lead = StaffFactory(department=police, role=StaffRole.DEPARTMENT_LEAD)
    services.issuing_key_rotate(department=police, actor=lead)
    assert IssuingKey.objects.filter(department=police).count() == 2


def test_private_keys_are_encrypted_at_rest(resident):
    issue_id_card(resident)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_pem FROM certificates_issuingkey")
        (stored,) = cursor.fetchone()
    assert stored.startswith("v1:") and "PRIVATE KEY" not in stored


# ---------------------------------------------------------------- trust list and status list


def test_trust_list_is_signed_by_the_root_key_and_tampering_is_detected(resident):
    cert = issue_id_card(resident)
    root = services.root_key_ensure()
    published = selectors.trust_list_document()
    root_public = cose.load_public_pem(selectors.root_key_document()["public_key_pem"])
    trust = v.trust_list_from_document(published.body, root_public)
    assert v.verify_text(cert.text, trust, timezone.now(), lambda i, n: False).code == "valid"
    doc = json.loads(published.body)
    assert doc["signature"].split(".")[1] == ""  # detached payload
    assert doc["trust_list"]["root_keys"][0]["kid"] == root.kid
    doc["trust_list"]["issuer_keys"][0]["issuer"] = "SH-MZJ"
    with pytest.raises(ValueError, match="signature"):
        v.trust_list_from_document(json.dumps(doc).encode(), root_public)
    # The same content is served as the same bytes.
    assert selectors.trust_list_document() == published


def test_status_list_token_carries_the_revocation(resident, police_issuer):
    cert = issue_id_card(resident)
    services.root_key_ensure()
    services.certificate_revoke(certificate=cert, actor=police_issuer, reason="注销")
    selectors.status_cache_clear()
    token = services.status_list_token(list_id=cert.status_list_id)
    trust = selectors.trust_list_current()
    list_id, bits = v.status_list_from_token(token.body, trust, at=int(timezone.now().timestamp()))
    assert list_id == cert.status_list_id
    assert bits.is_set(cert.status_index) is True
    lookup = v.status_lookup({list_id: bits})
    assert v.verify_text(cert.text, trust, timezone.now(), lookup).code == "revoked"


# ---------------------------------------------------------------- presentations


def test_presentation_holds_only_chosen_claims_and_expires(resident):
    cert = issue_id_card(resident)
    shown = services.presentation_create(
        certificate=cert, holder_user=resident.user, claims=["name", "birth_date"], ttl_seconds=60
    )
    result = selectors.certificate_verify(shown.text)
    assert result.code == "valid"
    assert result.token.claims == {"name": "张三", "birth_date": resident.birth_date.isoformat()}
    assert result.token.presented_cti.hex() == cert.serial
    assert "id_number" not in result.token.claims
    later = timezone.now() + dt.timedelta(seconds=61)
    assert selectors.certificate_verify(shown.text, at=later).code == "expired"
    assert AuditEvent.objects.get(action="certificates.present").data["claims"] == [
        "name",
        "birth_date",
    ]


def test_presentation_refuses_undisclosable_claims_strangers_and_revoked(resident, police_issuer):
    cert = issue_id_card(resident)
    with pytest.raises(ClaimNotDisclosable) as caught:
        services.presentation_create(
            certificate=cert, holder_user=resident.user, claims=["name", "id_number"]
        )
    assert caught.value.code == "CERTIFICATE_CLAIM_NOT_DISCLOSABLE"
    assert caught.value.details == [{"field": "id_number", "message": "该项不允许单独出示"}]
    stranger = ResidentProfileFactory()
    with pytest.raises(CertificateNotFound):
        services.presentation_create(certificate=cert, holder_user=stranger.user, claims=["name"])
    shown = services.presentation_create(
        certificate=cert, holder_user=resident.user, claims=["name"]
    )
    services.certificate_revoke(certificate=cert, actor=police_issuer, reason="注销")
    assert selectors.certificate_verify(shown.text).code == "revoked"
    with pytest.raises(CertificateRevoked):
        services.presentation_create(certificate=cert, holder_user=resident.user, claims=["name"])
    assert AuditEvent.objects.filter(action="certificates.present").count() == 1


def test_qr_is_error_correction_q():
    import segno

    text = "TB1:" + "0" * 300
    svg = selectors.certificate_qr_svg(text)
    assert svg.startswith("<svg") and "电子证照二维码" in svg
    assert segno.make_qr(text, error="q", boost_error=False).error == "Q"


def test_verification_keeps_the_status_bits_in_process_and_rereads_them_by_version(
    resident, settings, django_assert_num_queries
):
    settings.TONGBAN_STATUS_REFRESH_SECONDS = 3600
    cert = issue_id_card(resident)
    assert selectors.certificate_verify(cert.text).code == "valid"
    with django_assert_num_queries(0):
        assert selectors.certificate_verify(cert.text).code == "valid"
    # Another process revokes: the bits and the version change in the database, not here.
    row = StatusList.objects.get(pk=cert.status_list_id)
    bits = bytearray(row.bits)
    v.set_bit(bits, cert.status_index)
    StatusList.objects.filter(pk=row.pk).update(bits=bytes(bits), version=row.version + 1)
    assert selectors.certificate_verify(cert.text).code == "valid"  # until the next check
    settings.TONGBAN_STATUS_REFRESH_SECONDS = 0
    with django_assert_num_queries(2):  # the versions held, then the changed list
        assert selectors.certificate_verify(cert.text).code == "revoked"
    with django_assert_num_queries(1):  # unchanged: the versions only
        assert selectors.certificate_verify(cert.text).code == "revoked"


def test_the_revoking_process_sees_its_revocation_at_once(resident, police_issuer, settings):
    settings.TONGBAN_STATUS_REFRESH_SECONDS = 3600
    cert = issue_id_card(resident)
    assert selectors.certificate_verify(cert.text).code == "valid"
    services.certificate_revoke(certificate=cert, actor=police_issuer, reason="注销")
    assert selectors.certificate_verify(cert.text).code == "revoked"
    assert StatusList.objects.get(pk=cert.status_list_id).version == 1


# ---------------------------------------------------------------- 换发


def test_a_renewed_card_ends_the_holders_earlier_one_and_no_one_elses(resident):
    other = ResidentProfileFactory()
    old = issue_id_card(resident)
    theirs = issue_id_card(other)
    new = issue_id_card(resident, valid_from="2026-12-01")

    old.refresh_from_db()
    assert old.revoked_at is not None
    assert old.revocation_reason == f"已换发新证（证照编号 {new.serial}）"
    assert selectors.status_lookup_db(old.status_list_id, old.status_index) is True
    assert selectors.certificate_verify(old.text).code == "revoked"
    assert selectors.certificate_verify(new.text).code == "valid"
    theirs.refresh_from_db()
    assert theirs.revoked_at is None and new.revoked_at is None
    [audit] = AuditEvent.objects.filter(action="certificates.revoke")
    assert (audit.object_id, audit.actor_label, audit.subject_resident_id) == (
        old.serial,
        "system:test",
        resident.pk,
    )


def test_a_type_a_holder_may_hold_several_of_keeps_them_all(resident):
    spouse = ResidentProfileFactory()
    claims = {
        "holder_name": resident.name,
        "holder_id_number": resident.id_number,
        "spouse_name": spouse.name,
        "spouse_id_number": spouse.id_number,
        "certificate_no": "J310104-2020-000123",
        "registered_on": "2020-05-20",
        "registry": "示例市徐汇区民政局",
    }
    first = services.certificate_issue(
        type_code="marriage_certificate", holder_profile=resident, claims=claims, actor_label="t"
    )
    services.certificate_issue(
        type_code="marriage_certificate", holder_profile=resident, claims=claims, actor_label="t"
    )
    first.refresh_from_db()
    assert first.revoked_at is None
    assert not AuditEvent.objects.filter(action="certificates.revoke").exists()


# ---------------------------------------------------------------- one certificate, one text

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _canonical_and_low_s(text: str) -> None:
    body = cose.decode_text(text)  # the deflate choice and stream checked
    sign1 = cose.sign1_decode(body)  # tag 18, deterministic CBOR, signature form checked
    assert cose.encode_text(body) == text
    assert len(sign1.signature) == 64
    assert int.from_bytes(sign1.signature[32:], "big") <= P256_ORDER // 2


def test_every_certificate_and_presentation_issued_is_canonical_and_low_s(resident):
    # A signer that does not normalise S writes a high S about half the time: 50 in a row
    # low would happen by chance once in 2^50.
    for _ in range(50):
        cert = issue_id_card(resident)
        _canonical_and_low_s(cert.text)
        assert selectors.certificate_verify(cert.text).code == "valid"
    for _ in range(10):
        shown = services.presentation_create(
            certificate=cert, holder_user=resident.user, claims=["name"], ttl_seconds=60
        )
        _canonical_and_low_s(shown.text)
    services.root_key_ensure()
    status = services.status_list_token(list_id=cert.status_list_id).body
    assert int.from_bytes(cose.sign1_decode(status).signature[32:], "big") <= P256_ORDER // 2


def test_the_migration_rewrites_stored_high_s_texts_to_the_canonical_form(resident):
    import importlib

    import base45
    import cbor2
    from django.apps import apps

    migration = importlib.import_module(
        "tongban.certificates.migrations.0003_certificate_text_low_s"
    )
    cert = issue_id_card(resident)
    body = cose.decode_text(cert.text)
    protected, _, payload, signature = cbor2.loads(body).value
    high = signature[:32] + (P256_ORDER - int.from_bytes(signature[32:], "big")).to_bytes(32, "big")
    old_cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, high]))
    deflated = zlib.compress(old_cose, 9)  # what the old encoder wrote, its deflate choice too
    old_body = deflated if len(deflated) < len(old_cose) else old_cose
    Certificate.objects.filter(pk=cert.pk).update(text="TB1:" + base45.b45encode(old_body).decode())
    cert.refresh_from_db()
    assert selectors.certificate_verify(cert.text).code == "malformed"
    untouched = issue_id_card(ResidentProfileFactory())  # another holder's: no renewal

    migration.certificates_low_s(apps, None)

    cert.refresh_from_db()
    _canonical_and_low_s(cert.text)
    assert selectors.certificate_verify(cert.text).code == "valid"
    assert cose.sign1_decode(cose.decode_text(cert.text)).payload == payload
    assert Certificate.objects.get(pk=untouched.pk).text == untouched.text
    event = AuditEvent.objects.get(action="certificates.texts_canonicalised")
    assert (event.actor_label, event.data) == ("system:migration", {"changed": 1, "unreadable": 0})
