"""POST /api/v1/idcode/scan and GET …/idcode: scopes, results, logs, authentication."""

from __future__ import annotations

import datetime as dt

import base45
import cbor2
import pytest
from django.db import connection
from django.utils import timezone

from tongban.accounts.models import ResidentProfile
from tongban.accounts.tests.factories import ResidentProfileFactory, UserFactory
from tongban.idcode import keys, selectors, services, subject
from tongban.idcode import token as t
from tongban.idcode.models import ScanLog
from tongban.idcode.tests.conftest import scan

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 5, 1)


def _code(client, user):
    client.force_login(user)
    response = client.get("/api/v1/me/idcode")
    assert response.status_code == 200
    client.logout()
    return response.json()["text"]


@pytest.fixture
def veteran_senior(db):
    return ResidentProfileFactory(
        name="李建国",
        birth_date=dt.date(1950, 3, 1),
        is_veteran=True,
        hukou_is_local=False,
        has_residence_permit=False,
    )


EXPECTED = {
    "hall_checkin": {"display_name_masked": "王**", "is_resident": True},
    "veteran_benefit": {"is_veteran": False, "display_name": "王小明"},
    "library_card": {"library_eligible": True, "display_name_masked": "王**"},
    "metro": {"is_senior_free_ride": False},
    "kiosk_login": {"display_name_masked": "王**"},
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_scenario_returns_exactly_its_attributes(client, resident, make_scanner, scenario):
    _, key = make_scanner()
    response = scan(client, key, _code(client, resident.user), scenario)
    assert response.status_code == 200
    body = response.json()
    assert body == {"result": "ok", "message": "核验通过。", "attributes": EXPECTED[scenario]}
    log = ScanLog.objects.get()
    assert (log.scenario, log.result, log.profile, log.enterprise, log.requested_by) == (
        scenario,
        "ok",
        resident,
        None,
        resident.user,
    )


def test_attribute_values_follow_the_profile(client, veteran_senior, make_scanner):
    _, key = make_scanner()
    user = veteran_senior.user
    assert scan(client, key, _code(client, user), "veteran_benefit").json()["attributes"] == {
        "is_veteran": True,
        "display_name": "李建国",
    }
    assert scan(client, key, _code(client, user), "metro").json()["attributes"] == {
        "is_senior_free_ride": True
    }
    assert scan(client, key, _code(client, user), "hall_checkin").json()["attributes"] == {
        "display_name_masked": "李**",
        "is_resident": False,
    }


def test_a_scan_is_two_queries_and_reads_no_encrypted_column(
    resident, make_scanner, django_assert_num_queries
):
    scanner, _ = make_scanner(["hall_checkin"])
    warm = services.idcode_issue(user=resident.user).text  # the key's public half, cached
    assert services.code_scan(scanner=scanner, code=warm, scenario="hall_checkin").result == "ok"
    code = services.idcode_issue(user=resident.user).text
    # SQLite: who the holder is, then the ok log row. PostgreSQL: both in one statement.
    expected = 1 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(expected) as queries:
        result = services.code_scan(scanner=scanner, code=code, scenario="hall_checkin")
    assert (result.result, result.attributes) == ("ok", EXPECTED["hall_checkin"])
    assert "id_number" not in queries.captured_queries[0]["sql"]
    assert "phone" not in queries.captured_queries[0]["sql"]
    again = services.code_scan(scanner=scanner, code=code, scenario="hall_checkin")
    assert (again.result, again.attributes) == ("replayed", {})
    assert list(ScanLog.objects.order_by("id").values_list("result", flat=True)) == [
        "ok",
        "ok",
        "replayed",
    ]


def test_a_scenario_the_scanner_is_not_allowed_is_refused_and_logged(
    client, resident, make_scanner
):
    _, key = make_scanner(["hall_checkin"])
    code = _code(client, resident.user)
    response = scan(client, key, code, "veteran_benefit")
    assert response.status_code == 403
    assert response.json()["code"] == "IDCODE_SCENARIO_NOT_ALLOWED"
    assert response.json()["attributes"] == {}
    assert list(ScanLog.objects.values_list("scenario", "result", "profile", "cti")) == [
        ("veteran_benefit", "scenario_not_allowed", None, "")
    ]
    # The refusal did not use the code up.
    assert scan(client, key, code, "hall_checkin").json()["result"] == "ok"


def test_unregistered_scenario_is_refused(client, resident, make_scanner):
    _, key = make_scanner()
    response = scan(client, key, _code(client, resident.user), "bank_loan")
    assert response.status_code == 403
    assert ScanLog.objects.get().result == "scenario_not_allowed"


def test_second_scan_of_one_code_is_a_replay_for_any_scanner(client, resident, make_scanner):
    _, first_key = make_scanner(name="一号")
    _, second_key = make_scanner(name="二号")
    code = _code(client, resident.user)
    assert scan(client, first_key, code, "hall_checkin").json()["result"] == "ok"
    again = scan(client, first_key, code, "hall_checkin").json()
    other = scan(client, second_key, code, "library_card").json()
    assert again == {
        "result": "replayed",
        "message": "此二维码已被扫描过，请持码人刷新后重新出示。",
        "attributes": {},
    }
    assert other["result"] == "replayed" and other["attributes"] == {}
    assert list(ScanLog.objects.order_by("id").values_list("result", flat=True)) == [
        "ok",
        "replayed",
        "replayed",
    ]


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _high_s_copy(code: str) -> str:
    """The same signed code with s replaced by n - s: a second valid ECDSA signature that
    anyone holding the code can compute, no key needed."""
    raw = base45.b45decode(code[len(t.PREFIX) :])
    tag = cbor2.loads(raw)
    protected, unprotected, payload, signature = tag.value
    s = int.from_bytes(signature[32:], "big")
    twin = signature[:32] + (P256_ORDER - s).to_bytes(32, "big")
    copy = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, twin]))
    return t.PREFIX + base45.b45encode(copy).decode()


def test_a_high_s_copy_of_an_unused_code_does_not_scan_and_does_not_use_it_up(
    client, resident, make_scanner
):
    _, key = make_scanner()
    code = _code(client, resident.user)
    copy = _high_s_copy(code)
    assert copy != code
    assert scan(client, key, copy, "hall_checkin").json() == {
        "result": "malformed",
        "message": "无法识别：这不是一个完整的随申码。",
        "attributes": {},
    }
    assert scan(client, key, code, "hall_checkin").json()["result"] == "ok"
    # Whatever form of the code comes next, the signed cti it carries was already used.
    assert scan(client, key, code, "metro").json()["result"] == "replayed"
    assert scan(client, key, copy, "metro").json()["result"] == "malformed"
    results = list(ScanLog.objects.order_by("id").values_list("result", "cti"))
    cti = results[1][1]
    assert len(cti) == 32
    assert results == [("malformed", ""), ("ok", cti), ("replayed", cti), ("malformed", "")]


@pytest.mark.parametrize("padded", ["{}\n", " {}", "{}\r\n"])
def test_the_scan_api_takes_the_code_exactly_as_sent(client, resident, make_scanner, padded):
    _, key = make_scanner()
    code = _code(client, resident.user)
    assert scan(client, key, padded.format(code), "metro").json()["result"] == "malformed"
    assert scan(client, key, code, "metro").json()["result"] == "ok"


def test_expired_code(client, resident, make_scanner):
    scanner, _ = make_scanner()
    issued = services.idcode_issue(
        user=resident.user, now=timezone.now() - dt.timedelta(seconds=301)
    )
    result = services.code_scan(scanner=scanner, code=issued.text, scenario="metro")
    assert (result.result, result.attributes) == ("expired", {})
    assert ScanLog.objects.get().result == "expired"


def test_forged_and_malformed_codes(client, resident, make_scanner):
    _, key = make_scanner()
    code = _code(client, resident.user)
    forged = code[:-3] + ("000" if code[-3:] != "000" else "111")
    assert scan(client, key, forged, "metro").json()["result"] in ("forged", "malformed")
    assert scan(client, key, "hello", "metro").json()["result"] == "malformed"
    assert scan(client, key, "SSM1:" + "A" * 300, "metro").json()["result"] == "malformed"
    assert ScanLog.objects.filter(result="ok").count() == 0
    assert ScanLog.objects.count() == 3


def test_subject_unknown_when_the_profile_is_no_longer_the_accounts(client, resident, make_scanner):
    _, key = make_scanner()
    code = _code(client, resident.user)
    ResidentProfile.objects.filter(pk=resident.pk).update(user=UserFactory())
    assert scan(client, key, code, "metro").json()["result"] == "subject_unknown"
    log = ScanLog.objects.get()
    assert (log.result, log.profile, log.requested_by) == ("subject_unknown", None, None)


def test_subject_unknown_when_the_profile_is_gone(client, resident, make_scanner):
    _, key = make_scanner()
    code = _code(client, resident.user)
    ResidentProfile.objects.filter(pk=resident.pk).delete()
    assert scan(client, key, code, "metro").json()["result"] == "subject_unknown"


def test_a_signed_code_whose_subject_was_not_sealed_by_the_platform_is_unknown(
    client, resident, make_scanner
):
    # What a thief of the signing key could make without the sealing key: a valid signature
    # over a subject aimed at someone. The subject does not open, so no one is named.
    _, key = make_scanner()
    signing = keys.active_key()
    now = int(timezone.now().timestamp())
    cti = bytes(range(16))
    aimed = subject.seal(
        subject.Subject(subject.PERSON, resident.pk, resident.user_id), cti=cti, key=b"k" * 32
    )
    claims = t.Claims(subject=t.subject_text(aimed), issued_at=now, expires_at=now + 60, cti=cti)
    text = t.encode(
        claims, private_key=keys.private_key_of(signing), kid=bytes.fromhex(signing.kid)
    )
    assert scan(client, key, text, "metro").json()["result"] == "subject_unknown"
    # Nor does a subject lifted from a real code into a code with another cti.
    real = t.decode_cose(_code(client, resident.user))
    lifted = t.Claims(
        subject=t.parse_payload(real.payload).subject,
        issued_at=now,
        expires_at=now + 60,
        cti=cti,
    )
    text = t.encode(
        lifted, private_key=keys.private_key_of(signing), kid=bytes.fromhex(signing.kid)
    )
    assert scan(client, key, text, "metro").json()["result"] == "subject_unknown"
    assert list(ScanLog.objects.values_list("result", "profile")) == [
        ("subject_unknown", None),
        ("subject_unknown", None),
    ]


@pytest.mark.parametrize("how", ["none", "wrong", "inactive", "session"])
def test_scanning_needs_an_active_scanner_key(client, resident, make_scanner, how):
    scanner, key = make_scanner()
    code = _code(client, resident.user)
    headers = {}
    if how == "wrong":
        headers = {"Authorization": "Bearer tbs_not-a-key"}
    elif how == "inactive":
        services.scanner_deactivate(scanner=scanner, actor_label="test")
        headers = {"Authorization": f"Bearer {key}"}
    elif how == "session":
        client.force_login(resident.user)
    response = client.post(
        "/api/v1/idcode/scan",
        data={"code": code, "scenario": "metro"},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_REQUIRED"
    assert ScanLog.objects.count() == 0


def test_enterprise_code_for_its_agent_only(client, agent_and_enterprise, make_scanner, resident):
    agent, enterprise = agent_and_enterprise
    _, key = make_scanner()
    client.force_login(resident.user)
    assert client.get(f"/api/v1/enterprises/{enterprise.pk}/idcode").status_code == 404
    client.force_login(agent)
    response = client.get(f"/api/v1/enterprises/{enterprise.pk}/idcode")
    assert response.status_code == 200
    code = response.json()["text"]
    assert enterprise.name not in code and enterprise.uscc not in code
    assert scan(client, key, code, "hall_checkin").json() == {
        "result": "ok",
        "message": "核验通过。",
        "attributes": {"enterprise_name": "示例数据科技有限公司", "enterprise_status": "存续"},
    }
    client.force_login(agent)
    code = client.get(f"/api/v1/enterprises/{enterprise.pk}/idcode").json()["text"]
    assert scan(client, key, code, "metro").json()["result"] == "not_applicable"


def test_my_idcode_needs_login_and_a_profile(client):
    assert client.get("/api/v1/me/idcode").status_code == 401
    client.force_login(UserFactory())
    response = client.get("/api/v1/me/idcode")
    assert response.status_code == 404
    assert response.json()["code"] == "IDCODE_NO_PROFILE"


def test_code_body_shape(client, resident):
    client.force_login(resident.user)
    body = client.get("/api/v1/me/idcode").json()
    assert set(body) == {"text", "svg", "expires_at", "refresh_after"}
    assert body["svg"].startswith("<svg") and body["refresh_after"] == 270


def test_short_ttl_setting_is_read_at_call_time(client, resident, settings):
    settings.TONGBAN_IDCODE_TTL_SECONDS = 8
    client.force_login(resident.user)
    assert client.get("/api/v1/me/idcode").json()["refresh_after"] == 4


@pytest.mark.parametrize("enterprise_id", ["0", "-1", "99999999999999999999"])
def test_out_of_range_enterprise_ids_are_not_found(client, resident, enterprise_id):
    client.force_login(resident.user)
    response = client.get(f"/api/v1/enterprises/{enterprise_id}/idcode")
    assert response.status_code in (404, 422)


def test_issuing_writes_nothing_and_the_holder_sees_every_scan_of_their_codes(
    client, resident, make_scanner, django_assert_num_queries
):
    _, key = make_scanner(["hall_checkin", "metro"])
    services.idcode_issue(user=resident.user)  # the key, and the profile id, now known
    with django_assert_num_queries(0):
        first = services.idcode_issue(user=resident.user)
        second = services.idcode_issue(user=resident.user)
    assert t.parse_payload(t.decode_cose(first.text).payload).subject != (
        t.parse_payload(t.decode_cose(second.text).payload).subject
    )
    assert scan(client, key, first.text, "hall_checkin").json()["result"] == "ok"
    assert scan(client, key, first.text, "metro").json()["result"] == "replayed"
    assert [row["result_label"] for row in selectors.scans_of_resident(user=resident.user)] == [
        "未读取：二维码已被扫描过",
        "已读取",
    ]
    assert selectors.scans_of_resident(user=UserFactory()) == []


def test_a_code_whose_text_holds_percent_00_scans(client, resident, make_scanner, monkeypatch):
    # Base45 texts may hold the three characters `%00`; they are text, not a NUL character.
    _, key = make_scanner()
    monkeypatch.setattr(services, "code_svg", lambda text: "")  # the picture is not scanned here
    for _ in range(30_000):  # about one code in 750 holds it
        issued = services.idcode_issue(user=resident.user)
        if "%00" in issued.text:
            break
    else:
        raise AssertionError("no issued code held %00")
    response = scan(client, key, issued.text, "metro")
    assert response.status_code == 200
    assert response.json()["result"] == "ok"
    assert ScanLog.objects.get().result == "ok"
