import datetime as dt

import pyotp
import pytest

from tongban.accounts.errors import (
    InvalidCredentials,
    LoginThrottled,
    TotpCodeMalformed,
    TotpInvalid,
    TotpReplayed,
    TotpThrottled,
)
from tongban.accounts.models import LoginAttempt, User
from tongban.accounts.services import (
    ACCOUNT_RULE,
    ADDRESS_RULE,
    PAIR_RULE,
    TOTP_RULE,
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


LOGIN = LoginAttempt.Kind.LOGIN
TOTP = LoginAttempt.Kind.TOTP
ACTIVATION = LoginAttempt.Kind.ACTIVATION


def _fail(username, ip, at, kind=LOGIN):
    attempt = login_attempt_record(username=username, ip_address=ip, succeeded=False, kind=kind)
    LoginAttempt.objects.filter(pk=attempt.pk).update(at=at)


def _succeed(username, ip, at, kind=LOGIN):
    attempt = login_attempt_record(username=username, ip_address=ip, succeeded=True, kind=kind)
    LoginAttempt.objects.filter(pk=attempt.pk).update(at=at)


def _wait(username, ip, kind=LOGIN, now=NOW):
    """Seconds the next try must wait (0: allowed now)."""
    try:
        login_attempt_check(username=username, ip_address=ip, kind=kind, now=now)
    except LoginThrottled as exc:
        return exc.retry_after_seconds
    return 0


SECOND = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def window(settings):
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 24 * 3600


class TestRules:
    def test_each_rule_waits_nothing_then_doubles_up_to_its_cap(self):
        def seconds(rule, counts):
            return [int(rule.delay(n).total_seconds()) for n in counts]

        assert seconds(PAIR_RULE, range(17)) == [
            0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900
        ]  # fmt: skip
        assert seconds(TOTP_RULE, range(17)) == seconds(PAIR_RULE, range(17))
        assert seconds(ADDRESS_RULE, range(19, 28)) == [0, 1, 2, 4, 8, 16, 32, 60, 60]
        assert seconds(ACCOUNT_RULE, range(9, 15)) == [0, 1, 2, 4, 5, 5]
        # No count, however long, builds anything beyond the cap.
        assert seconds(PAIR_RULE, [10_000]) == [900]


class TestThrottle:
    def test_the_wait_is_counted_from_the_latest_failure(self):
        for i in range(7):
            _fail("alice", "10.0.0.1", NOW - dt.timedelta(minutes=30) + i * SECOND)
        # Seven failures: 4 s after the last one, which was half an hour ago.
        assert _wait("alice", "10.0.0.1") == 0
        _fail("alice", "10.0.0.1", NOW - SECOND)
        # Eight: 8 s after NOW - 1 s.
        with pytest.raises(LoginThrottled) as excinfo:
            login_attempt_check(username="Alice", ip_address="10.0.0.1", now=NOW)
        error = excinfo.value
        assert (error.code, error.http_status, error.retry_after_seconds) == (
            "LOGIN_THROTTLED",
            429,
            7,
        )
        assert error.retry_at == NOW + 7 * SECOND
        assert error.message == "登录失败次数较多，为防止密码被猜测，请7秒后再试"
        assert _wait("alice", "10.0.0.1", now=NOW + 7 * SECOND) == 0

    def test_a_long_wait_names_the_clock_time(self):
        for _ in range(15):
            _fail("alice", "10.0.0.1", NOW - dt.timedelta(seconds=90))
        with pytest.raises(LoginThrottled) as excinfo:
            login_attempt_check(username="alice", ip_address="10.0.0.1", now=NOW)
        # 13:58:30 + 15 minutes = 14:13:30 Shanghai, shown rounded up to the minute.
        assert excinfo.value.retry_after_seconds == 810
        assert excinfo.value.message == (
            "登录失败次数较多，为防止密码被猜测，请于14:14后再试（约14分钟后）"
        )

    def test_failures_older_than_the_window_are_forgotten(self, settings):
        for _ in range(14):
            _fail("alice", "10.0.0.1", NOW - dt.timedelta(seconds=3601))
        _fail("alice", "10.0.0.1", NOW - SECOND)
        settings.LOGIN_FAILURE_WINDOW_SECONDS = 7200
        assert _wait("alice", "10.0.0.1") == 899  # 15 failures remembered
        settings.LOGIN_FAILURE_WINDOW_SECONDS = 3600
        assert _wait("alice", "10.0.0.1") == 0  # 1 failure remembered

    def test_a_strangers_failures_do_not_stop_staff_logging_in_elsewhere(self):
        staff = UserFactory(username="ga_reviewer")
        _succeed("ga_reviewer", "10.1.1.1", NOW - dt.timedelta(hours=3))  # the office desk
        # A stranger at 203.0.113.5 tries 40 passwords on the predictable name.
        for i in range(40):
            _fail("ga_reviewer", "203.0.113.5", NOW - (40 - i) * 59 * SECOND)
        # The stranger's own address is at the 15-minute ceiling.
        assert _wait("ga_reviewer", "203.0.113.5") == 900 - 59
        # The reviewer, from their desk or anywhere else, is not held at all.
        assert (
            login_password_step(
                username="ga_reviewer", password=TEST_PASSWORD, ip_address="10.1.1.1", now=NOW
            )
            == staff
        )
        assert (
            login_password_step(
                username="ga_reviewer", password=TEST_PASSWORD, ip_address="10.9.9.9", now=NOW
            )
            == staff
        )

    def test_rotating_addresses_slows_the_account_a_few_seconds_never_more(self):
        for i in range(40):
            _fail("ga_reviewer", f"198.51.100.{i}", NOW - SECOND)
        # Each address failed once: only the account-wide rule holds, capped at 5 s.
        assert _wait("ga_reviewer", "10.9.9.9") == 4
        assert _wait("ga_reviewer", "10.9.9.9", now=NOW + 4 * SECOND) == 0
        # Ten failures are free; the eleventh asks for 2 s.
        LoginAttempt.objects.filter(
            ip_address__in=[f"198.51.100.{i}" for i in range(10, 40)]
        ).delete()
        assert _wait("ga_reviewer", "10.9.9.9") == 0
        _fail("ga_reviewer", "198.51.100.99", NOW - SECOND)
        assert _wait("ga_reviewer", "10.9.9.9") == 1
        # From an address the account logged in from within the window, not even that.
        _succeed("ga_reviewer", "10.1.1.1", NOW - dt.timedelta(hours=20))
        assert _wait("ga_reviewer", "10.1.1.1") == 0
        assert _wait("ga_reviewer", "10.9.9.9") == 1

    def test_one_address_guessing_many_accounts_is_slowed_others_are_not(self):
        for i in range(25):
            _fail(f"user{i}", "10.6.6.6", NOW - SECOND)
        # 25 failures from the address: 32 s after the latest, whichever account is next.
        assert _wait("bob", "10.6.6.6") == 31
        assert _wait("user3", "10.6.6.6") == 31
        # Other addresses, and the accounts themselves elsewhere, are not held.
        assert _wait("bob", "10.6.6.7") == 0
        assert _wait("user3", "10.6.6.7") == 0

    def test_the_address_count_is_short_and_low_so_a_hall_is_not_shut(self):
        # A hall behind one NAT: 60 mistyped passwords by 60 residents over an hour.
        for i in range(60):
            _fail(f"resident{i}", "10.20.0.1", NOW - dt.timedelta(minutes=60) + i * 60 * SECOND)
        # Only the last 15 minutes count: 15 failures, under the 20 free.
        assert _wait("resident_next", "10.20.0.1") == 0
        # Even a burst only ever asks the hall to wait a minute at most.
        for _ in range(30):
            _fail("burst", "10.20.0.1", NOW)
        assert _wait("resident_next", "10.20.0.1") == 60

    def test_success_clears_the_pair_and_account_count_not_the_address_count(self):
        for _ in range(8):
            _fail("alice", "10.0.0.1", NOW - dt.timedelta(seconds=5))
        for i in range(13):
            _fail(f"victim{i}", "10.0.0.1", NOW - dt.timedelta(seconds=5))
        assert _wait("alice", "10.0.0.1") == 3  # pair: 8 failures, 8 s
        _succeed("alice", "10.0.0.1", NOW - dt.timedelta(seconds=4))
        # alice's own count is spent; the address's 21 failures still ask for 2 s from all.
        assert _wait("alice", "10.0.0.1") == 0
        _fail("mallory", "10.0.0.1", NOW - dt.timedelta(seconds=3))
        assert _wait("alice", "10.0.0.1") == 1  # 22 failures: 4 s after NOW - 3 s
        assert _wait("bob", "10.0.0.1") == 1

    def test_right_password_is_refused_while_throttled_and_not_counted(self):
        user = UserFactory(username="carol")
        for _ in range(5):
            with pytest.raises(InvalidCredentials):
                login_password_step(
                    username="carol", password="wrong", ip_address="10.0.0.1", now=NOW
                )
        LoginAttempt.objects.update(at=NOW - 0.5 * SECOND)
        with pytest.raises(LoginThrottled) as excinfo:
            login_password_step(
                username="carol", password=TEST_PASSWORD, ip_address="10.0.0.1", now=NOW
            )
        assert excinfo.value.retry_after_seconds == 1
        assert LoginAttempt.objects.filter(username="carol").count() == 5
        assert not LoginAttempt.objects.filter(succeeded=True).exists()
        assert User.objects.get(pk=user.pk).last_login is None
        assert AuditEvent.objects.filter(action="auth.login_failed").count() == 5
        # A second later it goes through.
        assert (
            login_password_step(
                username="carol", password=TEST_PASSWORD, ip_address="10.0.0.1", now=NOW + SECOND
            )
            == user
        )

    def test_activation_failures_and_login_failures_do_not_mix(self):
        for _ in range(30):
            _fail("activate:abc", "10.0.0.1", NOW - SECOND, kind=ACTIVATION)
        assert _wait("activate:abc", "10.0.0.1", kind=ACTIVATION) == 899
        # 30 activation failures from the address: no password login from it is held.
        assert _wait("alice", "10.0.0.1") == 0
        for i in range(30):
            _fail(f"user{i}", "10.0.0.2", NOW - SECOND)
        assert _wait("alice", "10.0.0.2") == 59
        assert _wait("activate:def", "10.0.0.2", kind=ACTIVATION) == 0
        # Neither do TOTP failures, which are only counted per account.
        for _ in range(10):
            _fail("alice", "10.0.0.3", NOW - SECOND, kind=TOTP)
        assert _wait("alice", "10.0.0.3") == 0
        assert _wait("alice", "10.0.0.4", kind=TOTP) == 31

    def test_wrong_password_and_unknown_user_read_the_same(self):
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

    def test_wrong_codes_at_login_are_throttled_per_account_from_any_address(self):
        user = UserFactory(username="eve", with_totp=True)
        good = pyotp.TOTP(user.totp_secret).at(NOW)
        wrong = f"{(int(good) + 500_000) % 1_000_000:06d}"
        for i in range(5):
            with pytest.raises(TotpInvalid):
                login_totp_step(user=user, code=wrong, ip_address=f"10.0.0.{i}", now=NOW)
        LoginAttempt.objects.update(at=NOW - 0.5 * SECOND)
        with pytest.raises(TotpThrottled) as excinfo:
            login_totp_step(user=user, code=good, ip_address="10.0.0.99", now=NOW)
        assert (excinfo.value.code, excinfo.value.retry_after_seconds) == ("TOTP_THROTTLED", 1)
        assert excinfo.value.message == "动态验证码错误次数较多，为防止验证码被猜测，请1秒后再试"
        assert list(LoginAttempt.objects.values_list("kind", "succeeded").distinct()) == [
            ("totp", False)
        ]
        assert AuditEvent.objects.filter(action="auth.totp_failed").count() == 5
        assert User.objects.get(pk=user.pk).totp_last_step == 0
        # The password step of the same account is not held by them.
        login_attempt_check(username="eve", ip_address="10.0.0.99", now=NOW)
        # The wait passes and the right code is taken.
        login_totp_step(user=user, code=good, ip_address="10.0.0.99", now=NOW + SECOND)

    def test_a_completed_login_clears_the_totp_count(self):
        for _ in range(9):
            _fail("eve", "10.0.0.1", NOW - dt.timedelta(seconds=10), kind=TOTP)
        assert _wait("eve", "10.0.0.1", kind=TOTP) == 6
        _succeed("eve", "10.0.0.1", NOW - dt.timedelta(seconds=9))
        assert _wait("eve", "10.0.0.1", kind=TOTP) == 0
