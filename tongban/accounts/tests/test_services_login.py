import datetime as dt

import pyotp
import pytest
from django.utils import timezone

from tongban.accounts.errors import (
    InvalidCredentials,
    LoginThrottled,
    TotpCodeMalformed,
    TotpInvalid,
    TotpReplayed,
)
from tongban.accounts.models import LoginAttempt, User
from tongban.accounts.services import (
    login_attempt_check,
    login_attempt_record,
    login_password_step,
    login_totp_step,
    totp_enrol_begin,
    totp_enrol_confirm,
    totp_verify,
)
from tongban.accounts.tests.factories import TEST_PASSWORD, UserFactory
from tongban.common.errors import DomainError
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db

# A fixed instant in Shanghai afternoon; 2024-05-06 14:00:00 +08:00.
NOW = dt.datetime(2024, 5, 6, 6, 0, 0, tzinfo=dt.UTC)


def _fail(username, ip, at):
    attempt = login_attempt_record(username=username, ip_address=ip, succeeded=False)
    LoginAttempt.objects.filter(pk=attempt.pk).update(at=at)


@pytest.fixture
def limits(settings):
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900


class TestThrottle:
    def test_fifth_failure_blocks_the_sixth_try_with_a_retry_time(self, limits):
        for minute in range(5):
            _fail("alice", "10.0.0.1", NOW - dt.timedelta(minutes=10 - minute))
        with pytest.raises(LoginThrottled) as excinfo:
            login_attempt_check(username="alice", ip_address="10.0.0.1", now=NOW)
        error = excinfo.value
        assert (error.code, error.http_status) == ("LOGIN_THROTTLED", 429)
        # Oldest failure at 13:50 Shanghai + 15 minutes window = 14:05.
        assert error.retry_after_seconds == 300
        assert error.message == (
            "登录失败次数过多，为保护账户安全已暂停登录，请于14:05后再试（约5分钟后）"
        )

    def test_four_failures_still_allow_a_try(self, limits):
        for minute in range(4):
            _fail("alice", "10.0.0.1", NOW - dt.timedelta(minutes=minute))
        login_attempt_check(username="alice", ip_address="10.0.0.1", now=NOW)

    def test_failures_outside_the_window_do_not_count(self, limits):
        for minute in range(5):
            _fail("alice", "10.0.0.1", NOW - dt.timedelta(minutes=16 + minute))
        login_attempt_check(username="alice", ip_address="10.0.0.1", now=NOW)

    def test_account_count_follows_the_name_to_another_address(self, limits):
        for i in range(5):
            _fail("Alice", f"10.0.0.{i + 1}", NOW - dt.timedelta(minutes=1))
        with pytest.raises(LoginThrottled):
            login_attempt_check(username="alice", ip_address="192.168.1.9", now=NOW)

    def test_address_count_covers_other_names_but_not_other_addresses(self, limits):
        for i in range(5):
            _fail(f"victim{i}", "10.0.0.1", NOW - dt.timedelta(minutes=1))
        with pytest.raises(LoginThrottled):
            login_attempt_check(username="bob", ip_address="10.0.0.1", now=NOW)
        login_attempt_check(username="bob", ip_address="10.0.0.2", now=NOW)

    def test_success_clears_the_account_count_not_the_address_count(self, limits):
        for _ in range(4):
            _fail("alice", "10.0.0.1", NOW - dt.timedelta(minutes=5))
        ok = login_attempt_record(username="alice", ip_address="10.0.0.1", succeeded=True)
        LoginAttempt.objects.filter(pk=ok.pk).update(at=NOW - dt.timedelta(minutes=4))
        _fail("mallory", "10.0.0.1", NOW - dt.timedelta(minutes=3))
        # alice: 4 failures, then a success — her count is 0 again.
        login_attempt_check(username="alice", ip_address="10.0.0.2", now=NOW)
        # 10.0.0.1: still 5 failures in the window, whoever they were for.
        with pytest.raises(LoginThrottled):
            login_attempt_check(username="alice", ip_address="10.0.0.1", now=NOW)

    def test_right_password_is_refused_while_throttled_and_not_counted(self, limits):
        user = UserFactory(username="carol")
        for _ in range(5):
            with pytest.raises(InvalidCredentials):
                login_password_step(username="carol", password="wrong", ip_address="10.0.0.1")
        with pytest.raises(LoginThrottled):
            login_password_step(username="carol", password=TEST_PASSWORD, ip_address="10.0.0.1")
        assert LoginAttempt.objects.filter(username="carol").count() == 5
        assert not LoginAttempt.objects.filter(succeeded=True).exists()
        assert user.last_login is None
        assert AuditEvent.objects.filter(action="auth.login_failed").count() == 5

    def test_wrong_password_and_unknown_user_read_the_same(self, limits):
        UserFactory(username="dave")
        with pytest.raises(InvalidCredentials) as wrong:
            login_password_step(username="dave", password="nope", ip_address=None)
        with pytest.raises(InvalidCredentials) as unknown:
            login_password_step(username="nobody", password="nope", ip_address=None)
        assert wrong.value.message == unknown.value.message == "用户名或密码不正确"

    def test_success_record_is_audited_with_the_user(self):
        user = UserFactory()
        login_attempt_record(
            username=user.username, ip_address="10.0.0.1", succeeded=True, user=user
        )
        event = AuditEvent.objects.get()
        assert (event.action, event.actor_id, event.ip_address) == (
            "auth.login",
            user.pk,
            "10.0.0.1",
        )


class TestTotp:
    def test_enrol_then_confirm(self):
        user = UserFactory(username="staffer")
        enrolment = totp_enrol_begin(user=user)
        user.refresh_from_db()
        assert user.totp_secret == enrolment.secret
        assert user.totp_enabled is False
        assert enrolment.provisioning_uri.startswith("otpauth://totp/")
        assert "staffer" in enrolment.provisioning_uri
        code = pyotp.TOTP(enrolment.secret).at(NOW)
        totp_enrol_confirm(user=user, code=code, now=NOW)
        user.refresh_from_db()
        assert user.totp_enabled is True
        assert user.totp_last_step == int(NOW.timestamp()) // 30
        assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
            "totp.enrol_begin",
            "totp.enable",
        ]

    def test_wrong_code_does_not_enable(self):
        user = UserFactory()
        enrolment = totp_enrol_begin(user=user)
        wrong = f"{(int(pyotp.TOTP(enrolment.secret).at(NOW)) + 1) % 1_000_000:06d}"
        with pytest.raises(TotpInvalid):
            totp_enrol_confirm(user=user, code=wrong, now=NOW)
        user.refresh_from_db()
        assert (user.totp_enabled, user.totp_last_step) == (False, 0)

    def test_enrolling_twice_is_refused_once_enabled(self):
        user = UserFactory(with_totp=True)
        with pytest.raises(DomainError) as excinfo:
            totp_enrol_begin(user=user)
        assert excinfo.value.code == "TOTP_ALREADY_ENABLED"
        secret = user.totp_secret
        user.refresh_from_db()
        assert user.totp_secret == secret

    def test_verify_accepts_once_and_refuses_replay(self):
        user = UserFactory(with_totp=True)
        code = pyotp.TOTP(user.totp_secret).at(NOW)
        totp_verify(user=user, code=code, now=NOW)
        with pytest.raises(TotpReplayed) as excinfo:
            totp_verify(user=user, code=code, now=NOW + dt.timedelta(seconds=5))
        assert excinfo.value.code == "TOTP_REPLAYED"
        # The previous step's code is older than the spent one: also refused.
        previous = pyotp.TOTP(user.totp_secret).at(NOW - dt.timedelta(seconds=30))
        with pytest.raises(TotpReplayed):
            totp_verify(user=user, code=previous, now=NOW)
        # The next step's code is new.
        nxt = pyotp.TOTP(user.totp_secret).at(NOW + dt.timedelta(seconds=30))
        totp_verify(user=user, code=nxt, now=NOW + dt.timedelta(seconds=30))
        user.refresh_from_db()
        assert user.totp_last_step == int(NOW.timestamp()) // 30 + 1

    def test_one_step_of_clock_drift_is_tolerated_two_are_not(self):
        user = UserFactory(with_totp=True)
        totp = pyotp.TOTP(user.totp_secret)
        totp_verify(user=user, code=totp.at(NOW - dt.timedelta(seconds=30)), now=NOW)
        with pytest.raises(TotpInvalid):
            totp_verify(user=user, code=totp.at(NOW + dt.timedelta(seconds=90)), now=NOW)

    @pytest.mark.parametrize("code", ["12345", "abcdef", "", "1234567"])
    def test_malformed_codes(self, code):
        user = UserFactory(with_totp=True)
        with pytest.raises(TotpCodeMalformed) as excinfo:
            totp_verify(user=user, code=code, now=NOW)
        assert excinfo.value.message == "请输入6位数字动态验证码"
        assert AuditEvent.objects.count() == 0

    def test_wrong_codes_at_login_count_towards_the_throttle(self, limits):
        user = UserFactory(username="eve", with_totp=True)
        now = timezone.now()
        good = pyotp.TOTP(user.totp_secret).at(now)
        wrong = f"{(int(good) + 500_000) % 1_000_000:06d}"
        for _ in range(5):
            with pytest.raises(TotpInvalid):
                login_totp_step(user=user, code=wrong, ip_address="10.0.0.1", now=now)
        with pytest.raises(LoginThrottled):
            login_totp_step(user=user, code=good, ip_address="10.0.0.1", now=now)
        assert LoginAttempt.objects.filter(username="eve", succeeded=False).count() == 5
        assert User.objects.get(pk=user.pk).totp_last_step == 0
