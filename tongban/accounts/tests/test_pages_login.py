import base64
import re
import time
from datetime import timedelta

import pyotp
import pytest

from tongban.accounts.models import LoginAttempt, User
from tongban.accounts.services import login_attempt_record
from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory, StaffFactory
from tongban.accounts.views import PENDING_LOGIN_KEY
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
CODE = "/accounts/login/code/"


def _login(client, username, password=TEST_PASSWORD, ip="127.0.0.1", **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra}, REMOTE_ADDR=ip)


def _logged_in_as(client):
    return client.session.get("_auth_user_id")


def _no_inline_code(html: str) -> bool:
    # The CSP forbids inline script and style; a page that needs them would break. Scripts
    # from the site's own files (<script src=…>) are allowed.
    inline_script = re.search(r"<script(?![^>]*\bsrc=)", html)
    return inline_script is None and " style=" not in html and "<style" not in html


class TestPasswordLogin:
    def test_login_page_labels_every_input(self, client):
        response = client.get(LOGIN)
        html = response.content.decode()
        assert response.status_code == 200
        assert '<label for="id_username">用户名</label>' in html
        assert '<label for="id_password">密码</label>' in html
        assert _no_inline_code(html)

    def test_resident_lands_on_own_page_and_success_is_recorded(self, client, resident):
        response = _login(client, resident.user.username, ip="10.0.0.7")
        assert (response.status_code, response["Location"]) == (302, "/me/")
        assert _logged_in_as(client) == str(resident.user.pk)
        attempt = LoginAttempt.objects.get()
        assert (attempt.username, attempt.ip_address, attempt.succeeded) == (
            resident.user.username,
            "10.0.0.7",
            True,
        )
        assert AuditEvent.objects.get().action == "auth.login"

    def test_staff_lands_on_workbench(self, client, reviewer):
        assert _login(client, "reviewer1")["Location"] == "/staff/"

    @pytest.mark.parametrize(
        ("next_url", "landing"),
        [
            ("/enterprise/", "/enterprise/"),
            ("https://evil.example/", "/me/"),
            ("//evil.example/x", "/me/"),
            ("javascript:alert(1)", "/me/"),
        ],
    )
    def test_next_is_followed_only_on_this_site(self, client, resident, next_url, landing):
        response = _login(client, resident.user.username, next=next_url)
        assert response["Location"] == landing

    def test_wrong_password_is_refused_without_saying_which_part(self, client, resident):
        response = _login(client, resident.user.username, password="wrong")
        assert response.status_code == 401
        assert "用户名或密码不正确" in response.content.decode()
        assert _logged_in_as(client) is None

    def test_sixth_try_waits_a_second_even_with_right_password(self, client, resident, clock):
        username = resident.user.username
        for _ in range(5):
            assert _login(client, username, password="wrong", ip="10.0.0.7").status_code == 401
        response = _login(client, username, ip="10.0.0.7")
        assert (response.status_code, response["Retry-After"]) == (429, "1")
        assert "登录失败次数较多，为防止密码被猜测，请1秒后再试" in response.content.decode()
        assert _logged_in_as(client) is None
        assert LoginAttempt.objects.filter(username=username, succeeded=True).count() == 0
        clock.advance(1)
        response = _login(client, username, ip="10.0.0.7")
        assert (response.status_code, response["Location"]) == (302, "/me/")
        assert not response.has_header("Retry-After")

    def test_failures_from_one_address_do_not_hold_the_owner_elsewhere(
        self, client, reviewer, clock
    ):
        # Someone guesses the reviewer's password fifteen times from 203.0.113.5.
        for _ in range(15):
            record = login_attempt_record(
                username="reviewer1", ip_address="203.0.113.5", succeeded=False
            )
            LoginAttempt.objects.filter(pk=record.pk).update(at=clock.at - timedelta(seconds=5))
        response = _login(client, "reviewer1", ip="203.0.113.5")
        assert (response.status_code, response["Retry-After"]) == (429, "895")
        assert "请于" in response.content.decode() and "（约15分钟后）" in response.content.decode()
        # The reviewer, at their desk, is not held for a moment.
        response = _login(client, "reviewer1", ip="10.1.1.1")
        assert (response.status_code, response["Location"]) == (302, "/staff/")

    def test_address_count_slows_other_accounts_from_that_address_only(self, client, clock):
        for i in range(25):
            login_attempt_record(username=f"guess{i}", ip_address="10.6.6.6", succeeded=False)
        victim = ResidentProfileFactory().user
        response = _login(client, victim.username, ip="10.6.6.6")
        assert (response.status_code, response["Retry-After"]) == (429, "32")
        assert "请32秒后再试" in response.content.decode()
        assert _login(client, victim.username, ip="10.6.6.7").status_code == 302

    def test_empty_form_is_a_400_with_messages(self, client):
        response = client.post(LOGIN, {"username": "", "password": ""})
        html = response.content.decode()
        assert response.status_code == 400
        assert "请输入用户名" in html and "请输入密码" in html
        assert LoginAttempt.objects.count() == 0


class TestLogout:
    def test_logout_is_post_only(self, client, resident):
        client.force_login(resident.user)
        assert client.get("/accounts/logout/").status_code == 405
        assert _logged_in_as(client) == str(resident.user.pk)
        response = client.post("/accounts/logout/")
        assert (response.status_code, response["Location"]) == (302, "/")
        assert _logged_in_as(client) is None


class TestTotpLogin:
    @pytest.fixture
    def staff(self, department):
        return StaffFactory(username="totpstaff", department=department, with_totp=True)

    def test_password_alone_does_not_log_in(self, client, staff):
        response = _login(client, "totpstaff")
        assert (response.status_code, response["Location"]) == (302, CODE)
        assert _logged_in_as(client) is None
        assert client.get("/staff/").status_code == 302  # still anonymous
        assert LoginAttempt.objects.count() == 0
        page = client.get(CODE)
        assert page.status_code == 200
        assert '<label for="id_code">6位动态验证码</label>' in page.content.decode()

    def test_right_code_logs_in_wrong_code_does_not(self, client, staff):
        _login(client, "totpstaff", next="/staff/")
        totp = pyotp.TOTP(staff.totp_secret)
        wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
        response = client.post(CODE, {"code": wrong})
        assert response.status_code == 401
        assert "动态验证码不正确" in response.content.decode()
        assert _logged_in_as(client) is None
        response = client.post(CODE, {"code": totp.now()})
        assert (response.status_code, response["Location"]) == (302, "/staff/")
        assert _logged_in_as(client) == str(staff.pk)
        assert PENDING_LOGIN_KEY not in client.session
        assert list(LoginAttempt.objects.order_by("id").values_list("succeeded", flat=True)) == [
            False,
            True,
        ]

    def test_replayed_code_is_refused(self, client, staff):
        code = pyotp.TOTP(staff.totp_secret).now()
        _login(client, "totpstaff")
        assert client.post(CODE, {"code": code}).status_code == 302
        client.post("/accounts/logout/")
        _login(client, "totpstaff")
        response = client.post(CODE, {"code": code})
        assert response.status_code == 401
        assert "该动态验证码已使用过" in response.content.decode()
        assert _logged_in_as(client) is None

    def test_wrong_codes_make_the_next_wait_with_retry_after(self, client, staff, clock):
        totp = pyotp.TOTP(staff.totp_secret)
        good = totp.at(clock.at)
        wrong = f"{(int(good) + 1) % 1_000_000:06d}"
        _login(client, "totpstaff")
        for _ in range(5):
            assert client.post(CODE, {"code": wrong}).status_code == 401
        response = client.post(CODE, {"code": good})
        assert (response.status_code, response["Retry-After"]) == (429, "1")
        html = response.content.decode()
        assert "动态验证码错误次数较多，为防止验证码被猜测，请1秒后再试" in html
        assert _logged_in_as(client) is None
        clock.advance(1)
        assert client.post(CODE, {"code": good})["Location"] == "/staff/"
        assert _logged_in_as(client) == str(staff.pk)

    def test_code_page_without_password_step_sends_back_to_login(self, client, staff):
        response = client.post(CODE, {"code": "123456"})
        assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
        assert _logged_in_as(client) is None

    def test_pending_login_expires(self, client, staff):
        _login(client, "totpstaff")
        session = client.session
        session[PENDING_LOGIN_KEY] = {**session[PENDING_LOGIN_KEY], "at": int(time.time()) - 301}
        session.save()
        response = client.post(CODE, {"code": pyotp.TOTP(staff.totp_secret).now()})
        assert response["Location"] == "/accounts/login/"
        assert _logged_in_as(client) is None


class TestTotpSetupPage:
    def test_anonymous_is_sent_to_login(self, client):
        response = client.get("/accounts/2fa/setup/")
        assert response["Location"] == "/accounts/login/?next=/accounts/2fa/setup/"

    def test_enrol_show_qr_confirm(self, client, reviewer):
        client.force_login(reviewer)
        first = client.get("/accounts/2fa/setup/")
        assert "开始设置" in first.content.decode()
        reviewer.refresh_from_db()
        assert reviewer.totp_secret == ""  # a GET writes nothing
        assert client.post("/accounts/2fa/setup/", {"action": "begin"}).status_code == 302
        reviewer.refresh_from_db()
        secret = reviewer.totp_secret
        page = client.get("/accounts/2fa/setup/")
        html = page.content.decode()
        assert 'src="data:image/svg+xml;base64,' in html
        grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        assert grouped in html
        assert _no_inline_code(html)

        wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"
        response = client.post("/accounts/2fa/setup/", {"action": "confirm", "code": wrong})
        assert response.status_code == 400
        assert "动态验证码不正确" in response.content.decode()
        reviewer.refresh_from_db()
        assert reviewer.totp_enabled is False

        code = pyotp.TOTP(secret).now()
        response = client.post("/accounts/2fa/setup/", {"action": "confirm", "code": code})
        assert (response.status_code, response["Location"]) == (302, "/staff/")
        reviewer.refresh_from_db()
        assert reviewer.totp_enabled is True
        assert "已启用双因素认证" in client.get("/accounts/2fa/setup/").content.decode()

        # From now on the password alone is not enough.
        client.post("/accounts/logout/")
        assert _login(client, "reviewer1")["Location"] == CODE
        assert _logged_in_as(client) is None

    def test_qr_encodes_the_provisioning_uri(self, client, reviewer):
        client.force_login(reviewer)
        client.post("/accounts/2fa/setup/", {"action": "begin"})
        html = client.get("/accounts/2fa/setup/").content.decode()
        data_uri = re.search(r'src="(data:image/svg\+xml;base64,[^"]+)"', html).group(1)
        svg = base64.b64decode(data_uri.split(",", 1)[1]).decode()
        assert svg.startswith("<svg")
        assert User.objects.get(pk=reviewer.pk).totp_enabled is False
