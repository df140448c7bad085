"""找回密码: a code to the confirmed mobile, whatever the account was named by; nothing told
about accounts that do not exist; throttled like login."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import authenticate

from tongban.accounts.errors import PasswordTooWeak
from tongban.accounts.models import LoginAttempt
from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory
from tongban.accounts.validators import make_id_number
from tongban.common.models import AuditEvent
from tongban.identity.errors import ResetThrottled, SmsCodeInvalid
from tongban.identity.models import SmsChallenge
from tongban.identity.selectors import mobile_hash
from tongban.identity.services import (
    RESET_SEVERAL_TEXT,
    password_reset_complete,
    password_reset_start,
)
from tongban.identity.tests.conftest import code_in

ID = "31010419900307123X"
MOBILE = "13912345678"
NEW = "Xin-mima-2026-dong"
IP = "203.0.113.9"

pytestmark = pytest.mark.django_db


@pytest.fixture
def resident(db, clock):
    profile = ResidentProfileFactory(
        name="王小明", id_number=ID, phone=MOBILE, user__username="wangxm"
    )
    user = profile.user
    user.mobile_hash, user.mobile_confirmed_at = mobile_hash(MOBILE), clock.at
    user.save()
    return user


def _complete(challenge, code, password=NEW):
    return password_reset_complete(
        challenge_id=challenge.pk, code=code, password=password, ip_address=IP
    )


@pytest.mark.parametrize("identifier", ["wangxm", "WangXM", ID, ID.lower(), MOBILE])
def test_reset_by_username_id_number_or_mobile(resident, sms, identifier):
    challenge = password_reset_start(identifier=identifier, ip_address=IP)
    assert [phone for phone, _ in sms] == [MOBILE]
    assert sms[0][1].startswith("【通办】您正在找回密码，验证码为")
    assert challenge.user_id == resident.pk
    user = _complete(challenge, code_in(sms[0][1]))
    assert user.pk == resident.pk
    assert authenticate(username="wangxm", password=NEW) == resident
    assert authenticate(username="wangxm", password=TEST_PASSWORD) is None
    assert list(AuditEvent.objects.order_by("pk").values_list("action", "actor_id")) == [
        ("identity.reset_start", None),
        ("identity.password_reset", resident.pk),
    ]


@pytest.mark.parametrize(
    "identifier", ["nobody", make_id_number("310104", dt.date(1990, 3, 7), 124), "13900000000"]
)
def test_no_account_no_sms_and_the_same_kind_of_challenge(resident, sms, identifier):
    challenge = password_reset_start(identifier=identifier, ip_address=IP)
    assert sms == []
    challenge.refresh_from_db()
    assert (challenge.purpose, challenge.user_id, len(challenge.code_hash)) == ("reset", None, 64)
    for guess in ("000000", "999999"):
        with pytest.raises(SmsCodeInvalid):
            _complete(challenge, guess)
    assert authenticate(username="wangxm", password=TEST_PASSWORD) == resident


def test_an_unconfirmed_or_changed_mobile_gets_no_code(sms, clock):
    unconfirmed = ResidentProfileFactory(phone=MOBILE, user__username="nomobile")
    password_reset_start(identifier="nomobile", ip_address=IP)
    changed = ResidentProfileFactory(phone="13700000000", user__username="changed")
    changed.user.mobile_hash, changed.user.mobile_confirmed_at = mobile_hash(MOBILE), clock.at
    changed.user.save()
    password_reset_start(identifier="changed", ip_address=IP)
    assert sms == []
    assert unconfirmed.user.has_usable_password()


def test_a_mobile_shared_by_several_accounts_is_asked_for_more(sms, clock):
    for name in ("a1", "a2"):
        p = ResidentProfileFactory(phone=MOBILE, user__username=name)
        p.user.mobile_hash, p.user.mobile_confirmed_at = mobile_hash(MOBILE), clock.at
        p.user.save()
    challenge = password_reset_start(identifier=MOBILE, ip_address=IP)
    assert sms == [(MOBILE, RESET_SEVERAL_TEXT)]
    assert challenge.user_id is None


def test_the_wrong_code_counts_and_the_right_one_works_once(resident, sms):
    challenge = password_reset_start(identifier="wangxm", ip_address=IP)
    code = code_in(sms[0][1])
    with pytest.raises(SmsCodeInvalid):
        _complete(challenge, "000000" if code != "000000" else "111111")
    assert SmsChallenge.objects.get(pk=challenge.pk).tries == 1
    _complete(challenge, code)
    with pytest.raises(SmsCodeInvalid):
        _complete(challenge, code, password="Another-2026-pass")
    assert authenticate(username="wangxm", password=NEW) == resident


def test_a_password_like_the_username_is_refused_only_after_the_code(resident, sms):
    """Before the code is right the password is judged without the account, so "too similar
    to the username" cannot tell a stranger that the account exists."""
    challenge = password_reset_start(identifier="wangxm", ip_address=IP)
    with pytest.raises(SmsCodeInvalid):
        _complete(challenge, "000001", password="wangxm2026")
    with pytest.raises(PasswordTooWeak) as weak:
        _complete(challenge, code_in(sms[0][1]), password="wangxm2026")
    assert "用户名" in weak.value.message
    assert SmsChallenge.objects.get(pk=challenge.pk).used_at is None


def test_reset_is_throttled_like_login_for_accounts_and_strangers_alike(resident, sms, clock):
    for identifier in ("wangxm", "nobody"):
        for n in range(5):
            if n:
                clock.advance(61)  # past the SMS interval, so each of the account's is sent
            password_reset_start(identifier=identifier, ip_address=IP)
        with pytest.raises(ResetThrottled) as throttled:
            password_reset_start(identifier=identifier, ip_address=IP)
        assert (throttled.value.code, throttled.value.http_status) == ("RESET_THROTTLED", 429)
        assert throttled.value.retry_after_seconds == 1  # then 2, 4 … up to 15 minutes
        clock.advance(1)
    # Only the account's five starts sent anything.
    assert len(sms) == 5
    assert LoginAttempt.objects.filter(kind="reset", username__startswith="reset:").count() == 10


def test_reset_sms_to_one_mobile_at_most_once_a_minute_silently(resident, sms, clock):
    first = password_reset_start(identifier="wangxm", ip_address=IP)
    second = password_reset_start(identifier=ID, ip_address="198.51.100.3")
    assert len(sms) == 1
    # The second answer is the same kind of challenge; it just cannot succeed.
    assert (first.user_id, second.user_id) == (resident.pk, None)
    clock.advance(60)
    password_reset_start(identifier=MOBILE, ip_address=IP)
    assert len(sms) == 2
