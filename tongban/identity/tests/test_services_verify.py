"""在线实名核验 of an existing account below 已实名核验: profile checked, mobile confirmed,
level raised (never lowered); refusals change nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from tongban.accounts.models import AssuranceLevel
from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory, UserFactory
from tongban.common.models import AuditEvent
from tongban.identity.errors import (
    MobileLimitReached,
    NoResidentProfile,
    RealNameMismatch,
    SmsCodeInvalid,
)
from tongban.identity.models import SmsChallenge
from tongban.identity.selectors import mobile_hash
from tongban.identity.services import assurance_raise_complete, assurance_raise_start
from tongban.identity.tests.conftest import code_in

IP = "203.0.113.11"
MOBILE = "13912340000"

pytestmark = pytest.mark.django_db


def test_an_old_account_reaches_real_name_online(sms, clock):
    profile = ResidentProfileFactory(phone="")
    user = profile.user
    assert user.assurance_level == AssuranceLevel.NONE
    challenge = assurance_raise_start(user=user, mobile=MOBILE, ip_address=IP)
    assert [phone for phone, _ in sms] == [MOBILE]
    clock.advance(20)
    assurance_raise_complete(
        user=user, challenge_id=challenge.pk, code=code_in(sms[0][1]), ip_address=IP
    )
    user.refresh_from_db()
    profile.refresh_from_db()
    assert (user.assurance_level, user.assurance_at) == (AssuranceLevel.REAL_NAME, clock.at)
    assert (user.mobile_hash, user.mobile_confirmed_at) == (mobile_hash(MOBILE), clock.at)
    assert profile.phone == MOBILE
    assert AuditEvent.objects.get(action="identity.verify").data["from"] == 0


def test_in_person_stays_in_person(sms):
    profile = ResidentProfileFactory(user__assurance_level=AssuranceLevel.IN_PERSON)
    challenge = assurance_raise_start(user=profile.user, mobile=MOBILE, ip_address=IP)
    user = assurance_raise_complete(
        user=profile.user, challenge_id=challenge.pk, code=code_in(sms[0][1]), ip_address=IP
    )
    assert user.assurance_level == AssuranceLevel.IN_PERSON


def test_refusals_change_nothing(sms, settings):
    no_profile = UserFactory()
    with pytest.raises(NoResidentProfile):
        assurance_raise_start(user=no_profile, mobile=MOBILE, ip_address=IP)
    profile = ResidentProfileFactory()
    # The identity authority no longer agrees with the profile.
    settings.TONGBAN_REAL_NAME_VERIFIER = "tongban.identity.tests.test_services_verify.Refuses"
    with pytest.raises(RealNameMismatch):
        assurance_raise_start(user=profile.user, mobile=MOBILE, ip_address=IP)
    assert sms == [] and SmsChallenge.objects.count() == 0
    profile.user.refresh_from_db()
    assert profile.user.assurance_level == AssuranceLevel.NONE


class Refuses:
    def verify(self, *, name: str, id_number: str) -> bool:
        return False


def test_another_accounts_challenge_and_the_mobile_cap(sms, clock):
    mine, theirs = ResidentProfileFactory(), ResidentProfileFactory()
    challenge = assurance_raise_start(user=mine.user, mobile=MOBILE, ip_address=IP)
    code = code_in(sms[0][1])
    with pytest.raises(SmsCodeInvalid):
        assurance_raise_complete(
            user=theirs.user, challenge_id=challenge.pk, code=code, ip_address=IP
        )
    for _ in range(3):
        UserFactory(mobile_hash=mobile_hash(MOBILE), mobile_confirmed_at=clock.at)
    with pytest.raises(MobileLimitReached):
        assurance_raise_complete(
            user=mine.user, challenge_id=challenge.pk, code=code, ip_address=IP
        )
    mine.user.refresh_from_db()
    theirs.user.refresh_from_db()
    assert mine.user.assurance_level == theirs.user.assurance_level == AssuranceLevel.NONE


def test_verify_pages_need_login_and_raise_the_level(sms):
    assert Client().get("/accounts/verify/")["Location"].startswith("/accounts/login/")
    profile = ResidentProfileFactory()
    client = Client()
    client.login(username=profile.user.username, password=TEST_PASSWORD)
    assert 'href="/accounts/verify/"' in client.get("/me/").content.decode()
    response = client.post("/accounts/verify/", {"mobile": MOBILE})
    assert (response.status_code, response["Location"]) == (302, "/accounts/verify/code/")
    response = client.post("/accounts/verify/code/", {"code": code_in(sms[0][1])})
    assert (response.status_code, response["Location"]) == (302, "/me/")
    me = client.get("/me/").content.decode()
    assert "身份核验等级：<strong>已实名核验</strong>" in me
    assert 'href="/accounts/verify/"' not in me
