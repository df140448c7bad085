"""The 通行密钥 pages and JSON endpoints through Django's test client, with the software
authenticator answering as a browser would (origin http://testserver)."""

from __future__ import annotations

import json
import re

import pyotp
import pytest
from django.test import Client

from tongban.accounts.models import LoginAttempt
from tongban.accounts.tests.factories import (
    TEST_PASSWORD,
    ResidentProfileFactory,
    StaffFactory,
    UserFactory,
)
from tongban.common.models import AuditEvent
from tongban.passkeys import services
from tongban.passkeys.models import Passkey
from tongban.passkeys.tests.authenticator import SoftAuthenticator, enrol

pytestmark = pytest.mark.django_db

MANAGE = "/accounts/passkeys/"
LOGIN_STEP = "/accounts/passkeys/login/"


@pytest.fixture
def resident(db):
    return ResidentProfileFactory(name="王小明").user


def _password(client, user, password=TEST_PASSWORD, next_url=""):
    data = {"username": user.username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def _post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def _no_inline_code(html: str) -> bool:
    return re.search(r"<script(?![^>]*\bsrc=)", html) is None and " style=" not in html


class TestLoginWithPasskey:
    def test_resident_with_a_passkey_is_asked_for_it_after_the_password(self, client, resident):
        passkey, device = enrol(resident)
        response = _password(client, resident)
        assert (response.status_code, response["Location"]) == (302, LOGIN_STEP)
        assert "_auth_user_id" not in client.session
        page = client.get(LOGIN_STEP)
        html = page.content.decode()
        assert page.status_code == 200
        assert "<h1>使用通行密钥验证</h1>" in html
        assert '<script src="/static/passkeys/passkeys.js" defer></script>' in html
        assert "data-passkey-unsupported" in html
        assert 'id="use-totp"' not in html
        assert _no_inline_code(html)

        options = client.post("/accounts/passkeys/login/options/").json()
        answer = device.get(options)
        # The trail is append-only: look only at what the verify step writes.
        before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        done = _post_json(client, "/accounts/passkeys/login/verify/", {"credential": answer})
        assert (done.status_code, done.json()) == (200, {"redirect": "/me/"})
        assert client.session["_auth_user_id"] == str(resident.pk)
        # Recorded as a TOTP login is: one successful LOGIN try, one auth.login row.
        attempt = LoginAttempt.objects.get()
        assert (attempt.kind, attempt.succeeded, attempt.username) == (
            "login",
            True,
            resident.username,
        )
        written = AuditEvent.objects.filter(id__gt=before).order_by("id")
        assert list(written.values_list("action", flat=True)) == [
            "passkey.verify",
            "auth.login",
        ]
        passkey.refresh_from_db()
        assert passkey.sign_count == 1

    def test_next_is_kept_through_the_passkey_step(self, client, resident):
        _, device = enrol(resident)
        _password(client, resident, next_url="/me/cases/")
        options = client.post("/accounts/passkeys/login/options/").json()
        done = _post_json(
            client, "/accounts/passkeys/login/verify/", {"credential": device.get(options)}
        )
        assert done.json() == {"redirect": "/me/cases/"}

    def test_resident_without_a_passkey_logs_in_as_before(self, client, resident):
        response = _password(client, resident)
        assert (response.status_code, response["Location"]) == (302, "/me/")
        assert client.session["_auth_user_id"] == str(resident.pk)

    def test_staff_may_use_a_passkey_instead_of_the_code(self, client):
        staff = StaffFactory(with_totp=True)
        _, device = enrol(staff, name="办公室电脑")
        assert _password(client, staff)["Location"] == LOGIN_STEP
        html = client.get(LOGIN_STEP).content.decode()
        assert 'href="/accounts/login/code/" id="use-totp">改用手机上的动态验证码</a>' in html
        assert 'id="use-localhost"' not in html
        code_page = client.get("/accounts/login/code/").content.decode()
        assert 'href="/accounts/passkeys/login/" id="use-passkey">改用通行密钥验证</a>' in code_page
        options = client.post("/accounts/passkeys/login/options/").json()
        done = _post_json(
            client, "/accounts/passkeys/login/verify/", {"credential": device.get(options)}
        )
        assert done.json() == {"redirect": "/staff/"}
        assert client.session["_auth_user_id"] == str(staff.pk)
        staff.refresh_from_db()
        assert staff.totp_last_step == 0  # no code was spent

    def test_staff_with_a_passkey_may_still_type_the_code(self, client):
        staff = StaffFactory(with_totp=True)
        enrol(staff)
        _password(client, staff)
        code = pyotp.TOTP(staff.totp_secret).now()
        response = client.post("/accounts/login/code/", {"code": code})
        assert (response.status_code, response["Location"]) == (302, "/staff/")

    def test_staff_with_totp_only_see_no_passkey_link(self, client):
        staff = StaffFactory(with_totp=True)
        assert _password(client, staff)["Location"] == "/accounts/login/code/"
        assert "use-passkey" not in client.get("/accounts/login/code/").content.decode()
        # The passkey step sends them back to the code.
        assert client.get(LOGIN_STEP)["Location"] == "/accounts/login/code/"

    def test_the_code_page_sends_a_passkey_only_account_back_to_the_passkey(self, client, resident):
        enrol(resident)
        _password(client, resident)
        assert client.get("/accounts/login/code/")["Location"] == LOGIN_STEP
        response = client.post("/accounts/login/code/", {"code": "123456"})
        assert (response.status_code, response["Location"]) == (302, LOGIN_STEP)
        assert "_auth_user_id" not in client.session
        assert LoginAttempt.objects.count() == 0

    def test_a_bad_answer_is_refused_and_nobody_is_logged_in(self, client, resident):
        _, device = enrol(resident)
        _password(client, resident)
        options = client.post("/accounts/passkeys/login/options/").json()
        bad = device.get(options, tamper_signature=True)
        response = _post_json(client, "/accounts/passkeys/login/verify/", {"credential": bad})
        assert (response.status_code, response.json()) == (
            401,
            {
                "code": "PASSKEY_INVALID",
                "message": "通行密钥验证未通过，请重试，或改用其他验证方式",
            },
        )
        assert "_auth_user_id" not in client.session
        assert not LoginAttempt.objects.filter(succeeded=True).exists()
        # The password step still stands: a second try with a fresh challenge goes through.
        options = client.post("/accounts/passkeys/login/options/").json()
        ok = _post_json(
            client, "/accounts/passkeys/login/verify/", {"credential": device.get(options)}
        )
        assert ok.status_code == 200

    def test_the_step_without_a_password_first_is_refused(self, client, resident):
        enrol(resident)
        assert client.get(LOGIN_STEP)["Location"] == "/accounts/login/"
        response = client.post("/accounts/passkeys/login/options/")
        assert (response.status_code, response.json()["code"]) == (401, "LOGIN_EXPIRED")
        verify = _post_json(client, "/accounts/passkeys/login/verify/", {"credential": {}})
        assert verify.status_code == 401
        assert "_auth_user_id" not in client.session
        assert AuditEvent.objects.filter(action="passkey.verify").count() == 0

    def test_malformed_body_is_a_clear_error(self, client, resident):
        enrol(resident)
        _password(client, resident)
        response = client.post(
            "/accounts/passkeys/login/verify/", "{not json", content_type="application/json"
        )
        assert (response.status_code, response.json()["code"]) == (422, "INVALID_INPUT")

    def test_throttled_step_says_when_to_retry(self, client, resident):
        _, device = enrol(resident)
        LoginAttempt.objects.bulk_create(
            [LoginAttempt(username=resident.username, kind="passkey") for _ in range(5)]
        )
        _password(client, resident)
        options = client.post("/accounts/passkeys/login/options/").json()
        response = _post_json(
            client, "/accounts/passkeys/login/verify/", {"credential": device.get(options)}
        )
        assert (response.status_code, response["Retry-After"]) == (429, "1")
        assert response.json()["code"] == "PASSKEY_THROTTLED"
        assert "_auth_user_id" not in client.session

    def test_csrf_is_required(self, resident):
        enrol(resident)
        client = Client(enforce_csrf_checks=True)
        client.get("/accounts/login/")
        token = client.cookies["csrftoken"].value
        client.post(
            "/accounts/login/",
            {
                "username": resident.username,
                "password": TEST_PASSWORD,
                "csrfmiddlewaretoken": token,
            },
        )
        response = client.post("/accounts/passkeys/login/options/")
        assert response.status_code == 403
        assert services.LOGIN_STATE_KEY not in client.session
        ok = client.post("/accounts/passkeys/login/options/", HTTP_X_CSRFTOKEN=token)
        assert ok.status_code == 200


class TestManage:
    def test_anonymous_is_sent_to_log_in(self, client):
        response = client.get(MANAGE)
        assert (response.status_code, response["Location"]) == (
            302,
            "/accounts/login/?next=/accounts/passkeys/",
        )
        assert client.post("/accounts/passkeys/register/options/", {"name": "x"}).status_code == 302

    def test_lists_only_ones_own_passkeys(self, client, resident):
        enrol(resident, name="我的手机")
        enrol(ResidentProfileFactory().user, name="别人的电脑")
        client.force_login(resident)
        response = client.get(MANAGE)
        html = response.content.decode()
        assert response.status_code == 200
        assert '<td data-label="名称">我的手机</td>' in html
        assert "别人的电脑" not in html
        assert '<h2 id="about-title">什么是通行密钥</h2>' in html
        assert '<label for="id_name">通行密钥名称</label>' in html
        assert "data-passkey-register" in html
        assert _no_inline_code(html)

    def test_add_a_passkey_through_the_endpoints(self, client, resident):
        client.force_login(resident)
        options = client.post("/accounts/passkeys/register/options/", {"name": "我的手机"}).json()
        assert options["rp"]["id"] == "testserver"
        device = SoftAuthenticator()
        response = _post_json(
            client,
            "/accounts/passkeys/register/",
            {"name": "我的手机", "credential": device.create(options)},
        )
        assert (response.status_code, response.json()) == (200, {"redirect": MANAGE})
        passkey = Passkey.objects.get()
        assert (passkey.user_id, passkey.name) == (resident.pk, "我的手机")
        assert "已添加通行密钥“我的手机”" in client.get(MANAGE).content.decode()

    def test_a_bad_name_is_refused_before_the_ceremony(self, client, resident):
        client.force_login(resident)
        response = client.post("/accounts/passkeys/register/options/", {"name": " "})
        assert (response.status_code, response.json()["code"]) == (422, "PASSKEY_NAME_INVALID")
        assert services.REGISTER_STATE_KEY not in client.session

    def test_an_ip_address_cannot_hold_passkeys(self, client, resident):
        client.force_login(resident)
        html = client.get(MANAGE, HTTP_HOST="127.0.0.1:8000").content.decode()
        assert 'id="passkey-unavailable"' in html
        assert "data-passkey-register" not in html
        # On a developer's machine the page points to the same page at localhost.
        assert '<a href="http://localhost:8000/accounts/passkeys/">' in html
        response = client.post(
            "/accounts/passkeys/register/options/", {"name": "手机"}, HTTP_HOST="127.0.0.1"
        )
        assert (response.status_code, response.json()["code"]) == (400, "PASSKEY_UNAVAILABLE_HERE")

    def test_the_login_step_at_an_ip_address_points_to_localhost(self, client, resident):
        enrol(resident)
        _password(client, resident)
        html = client.get(LOGIN_STEP, HTTP_HOST="127.0.0.1:8000").content.decode()
        assert 'id="passkey-unavailable"' in html
        assert "data-passkey-login" not in html
        assert '<a href="http://localhost:8000/accounts/login/">改用本机域名重新登录</a>' in html

    def test_a_configured_site_offers_no_localhost_detour(self, client, resident, settings):
        settings.TONGBAN_WEBAUTHN_RP_ID = "example.gov.cn"
        client.force_login(resident)
        html = client.get(MANAGE, HTTP_HOST="127.0.0.1:8000").content.decode()
        assert 'id="passkey-unavailable"' in html
        assert 'id="use-localhost"' not in html

    def test_remove_needs_the_password(self, client, resident):
        passkey, _ = enrol(resident)
        client.force_login(resident)
        url = f"/accounts/passkeys/{passkey.pk}/remove/"
        page = client.get(url).content.decode()
        assert "<h1>删除通行密钥“我的手机”</h1>" in page
        assert 'id="last-passkey"' in page
        wrong = client.post(url, {"password": "wrong"})
        assert wrong.status_code == 403
        assert "登录密码不正确，通行密钥没有删除" in wrong.content.decode()
        assert Passkey.objects.filter(pk=passkey.pk).exists()
        right = client.post(url, {"password": TEST_PASSWORD})
        assert (right.status_code, right["Location"]) == (302, MANAGE)
        assert not Passkey.objects.exists()
        assert AuditEvent.objects.filter(action="passkey.remove", actor=resident).count() == 1

    def test_anothers_passkey_cannot_be_seen_or_removed(self, client, resident):
        theirs, _ = enrol(ResidentProfileFactory().user)
        client.force_login(resident)
        url = f"/accounts/passkeys/{theirs.pk}/remove/"
        assert client.get(url).status_code == 404
        assert client.post(url, {"password": TEST_PASSWORD}).status_code == 404
        assert Passkey.objects.filter(pk=theirs.pk).exists()
        assert not AuditEvent.objects.filter(action="passkey.remove").exists()

    def test_reached_from_my_page_and_the_workbench(self, client, resident):
        client.force_login(resident)
        assert (
            'href="/accounts/passkeys/" id="passkeys-link"' in client.get("/me/").content.decode()
        )
        staff = StaffFactory()
        client.force_login(staff)
        html = client.get("/staff/").content.decode()
        assert 'href="/accounts/passkeys/" id="passkeys-link">通行密钥</a>' in html
        assert "您尚未启用双因素认证" in html
        enrol(staff)
        assert "您尚未启用双因素认证" not in client.get("/staff/").content.decode()


class TestAdmin:
    def test_an_administrator_removes_a_lost_passkey_through_the_service(self, client, resident):
        passkey, _ = enrol(resident)
        admin = UserFactory(username="admin1", is_staff=True, is_superuser=True)
        client.force_login(admin)
        listing = client.get("/admin/passkeys/passkey/")
        assert listing.status_code == 200
        assert "我的手机" in listing.content.decode()
        response = client.post(
            "/admin/passkeys/passkey/",
            {"action": "remove_selected", "_selected_action": [passkey.pk]},
        )
        assert response.status_code == 302
        assert not Passkey.objects.exists()
        audit = AuditEvent.objects.get(action="passkey.remove")
        assert (audit.actor_id, audit.data["user_id"]) == (admin.pk, resident.pk)

    def test_the_credential_is_never_shown(self, client, resident):
        passkey, device = enrol(resident)
        client.force_login(UserFactory(username="admin2", is_staff=True, is_superuser=True))
        html = client.get(f"/admin/passkeys/passkey/{passkey.pk}/change/").content.decode()
        assert "我的手机" in html
        assert device.credential_id_b64 not in html
        assert passkey.public_key not in html
