"""注册 with 实名认证: who gets an account, what is recorded, and what is refused (with nothing
created)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import authenticate

from tongban.accounts.errors import PasswordTooWeak, UsernameTaken
from tongban.accounts.models import AssuranceLevel, LoginAttempt, ResidentProfile, User
from tongban.accounts.services import resident_account_open_at_counter
from tongban.accounts.tests.factories import ResidentProfileFactory, UserFactory
from tongban.accounts.validators import make_id_number
from tongban.common.errors import InvalidInput
from tongban.common.models import AuditEvent
from tongban.identity.errors import (
    MobileLimitReached,
    RealNameMismatch,
    SmsCodeInvalid,
    SmsThrottled,
)
from tongban.identity.models import SmsChallenge
from tongban.identity.selectors import mobile_hash
from tongban.identity.services import (
    REGISTERED_NOTICE_TEXT,
    registration_complete,
    registration_start,
)
from tongban.identity.tests.conftest import code_in

ID = "31010419900307123X"
PASSWORD = "Kaimen-2026-qiu"
IP = "203.0.113.7"

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(db):
    """In the population register, never registered."""
    return ResidentProfileFactory(user=None, name="王小明", id_number=ID, phone="")


def _start(mobile="13912345678", name="王小明", id_number=ID, ip=IP, **kw):
    return registration_start(name=name, id_number=id_number, mobile=mobile, ip_address=ip, **kw)


def _complete(challenge, code, username="wangxm", password=PASSWORD, **kw):
    return registration_complete(
        challenge_id=challenge.pk,
        code=code,
        username=username,
        password=password,
        ip_address=IP,
        **kw,
    )


def test_register_binds_a_new_account_to_the_profile_with_levels_recorded(person, sms, clock):
    challenge = _start()
    assert [phone for phone, _ in sms] == ["13912345678"]
    code = code_in(sms[0][1])
    # Only a keyed hash is kept, bound to the row.
    challenge.refresh_from_db()
    assert len(challenge.code_hash) == 64 and code not in challenge.code_hash
    assert challenge.expires_at == clock.at + dt.timedelta(minutes=10)

    clock.advance(30)
    user = _complete(challenge, code)

    person.refresh_from_db()
    assert person.user_id == user.pk
    assert person.phone == "13912345678"
    assert (user.username, user.kind, user.display_name) == ("wangxm", "person", "王小明")
    assert user.assurance_level == AssuranceLevel.REAL_NAME
    assert user.assurance_at == clock.at
    assert user.mobile_hash == mobile_hash("13912345678")
    assert user.mobile_confirmed_at == clock.at
    assert authenticate(username="wangxm", password=PASSWORD) == user
    assert SmsChallenge.objects.get(pk=challenge.pk).used_at == clock.at
    assert list(AuditEvent.objects.order_by("pk").values_list("action", "actor_id")) == [
        ("identity.register_start", None),
        ("identity.register", user.pk),
    ]
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "name,id_number",
    [("李四", ID), ("王小明", make_id_number("310104", dt.date(1990, 3, 7), 124))],
    ids=["different-name", "not-in-register"],
)
def test_failed_real_name_check_is_refused_and_creates_nothing(person, sms, name, id_number):
    with pytest.raises(RealNameMismatch) as refused:
        _start(name=name, id_number=id_number)
    assert refused.value.http_status == 422
    assert refused.value.message.startswith("实名核验未通过：姓名与身份证号码不一致，或未查到")
    assert sms == []
    assert SmsChallenge.objects.count() == 0
    assert User.objects.count() == 0
    assert ResidentProfile.objects.count() == 1
    # It still counts against the address and the mobile.
    assert LoginAttempt.objects.filter(kind="sms_code").count() == 1
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [
        "identity.real_name_refused"
    ]


def test_malformed_input_is_told_plainly(person, sms):
    with pytest.raises(InvalidInput) as bad_id:
        _start(id_number="31010419900307123")
    assert bad_id.value.code == "INVALID_ID_NUMBER"
    with pytest.raises(InvalidInput) as bad_mobile:
        _start(mobile="2391234567")
    assert (bad_mobile.value.code, bad_mobile.value.http_status) == ("MOBILE_INVALID", 422)
    with pytest.raises(InvalidInput) as no_name:
        _start(name="  ")
    assert no_name.value.code == "NAME_REQUIRED"
    assert sms == [] and SmsChallenge.objects.count() == 0


def test_a_counter_opened_account_is_claimed_not_duplicated(person, sms, clock):
    walk_in = resident_account_open_at_counter(actor="system:test", profile=person)
    assert walk_in.assurance_level == AssuranceLevel.IN_PERSON
    opened_at = walk_in.assurance_at
    challenge = _start()
    user = _complete(challenge, code_in(sms[0][1]))
    assert user.pk == walk_in.pk
    assert User.objects.count() == 1
    user.refresh_from_db()
    assert user.username == "wangxm"
    assert user.has_usable_password()
    # Registration never lowers a level: 窗口当面核验 stays, with its time.
    assert (user.assurance_level, user.assurance_at) == (AssuranceLevel.IN_PERSON, opened_at)
    assert user.mobile_confirmed_at == clock.at
    claim = AuditEvent.objects.get(action="identity.register")
    assert claim.data["claimed"] is True


def test_an_already_registered_person_gets_a_notice_not_a_code(sms):
    registered = ResidentProfileFactory(name="王小明", id_number=ID)
    challenge = _start()
    assert sms == [("13912345678", REGISTERED_NOTICE_TEXT)]
    challenge.refresh_from_db()
    # The same kind of row as for anyone else; no code typed against it can succeed.
    assert challenge.purpose == "register" and len(challenge.code_hash) == 64
    for guess in ("000000", "123456"):
        with pytest.raises(SmsCodeInvalid):
            _complete(challenge, guess)
    registered.user.refresh_from_db()
    assert registered.user.username != "wangxm"
    assert User.objects.count() == 1


def test_a_mobile_confirms_at_most_three_accounts(person, sms, clock):
    for _ in range(3):
        UserFactory(mobile_hash=mobile_hash("13912345678"), mobile_confirmed_at=clock.at)
    challenge = _start()
    with pytest.raises(MobileLimitReached) as refused:
        _complete(challenge, code_in(sms[0][1]))
    assert refused.value.http_status == 409
    person.refresh_from_db()
    assert person.user_id is None
    assert User.objects.count() == 3
    assert SmsChallenge.objects.get(pk=challenge.pk).used_at is None


def test_a_code_expires_after_ten_minutes(person, sms, clock):
    challenge = _start()
    clock.advance(600)
    with pytest.raises(SmsCodeInvalid):
        _complete(challenge, code_in(sms[0][1]))
    assert User.objects.count() == 0


def test_five_wrong_codes_use_it_up(person, sms):
    challenge = _start()
    code = code_in(sms[0][1])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(SmsCodeInvalid):
            _complete(challenge, wrong)
    assert SmsChallenge.objects.get(pk=challenge.pk).tries == 5
    with pytest.raises(SmsCodeInvalid):
        _complete(challenge, code)
    assert User.objects.count() == 0


def test_a_code_is_used_once(person, sms):
    challenge = _start()
    code = code_in(sms[0][1])
    _complete(challenge, code)
    with pytest.raises(SmsCodeInvalid):
        _complete(challenge, code, username="other")
    assert User.objects.count() == 1


def test_a_weak_password_or_taken_username_does_not_spend_the_code(person, sms):
    UserFactory(username="taken")
    challenge = _start()
    code = code_in(sms[0][1])
    with pytest.raises(PasswordTooWeak):
        _complete(challenge, code, password="12345678")
    with pytest.raises(UsernameTaken):
        _complete(challenge, code, username="TAKEN")
    row = SmsChallenge.objects.get(pk=challenge.pk)
    assert (row.tries, row.used_at) == (0, None)
    assert _complete(challenge, code).username == "wangxm"


def test_sms_to_one_mobile_once_a_minute_and_ten_a_day(person, sms, clock):
    _start()
    with pytest.raises(SmsThrottled) as throttled:
        _start()
    assert (throttled.value.http_status, throttled.value.retry_after_seconds) == (429, 60)
    assert len(sms) == 1
    sent = 1
    for _ in range(9):
        clock.advance(61 * 60)
        _start(ip=f"198.51.100.{sent}")  # other addresses: the mobile's own cap still holds
        sent += 1
    assert len(sms) == 10
    clock.advance(61 * 60)
    with pytest.raises(SmsThrottled):
        _start(ip="198.51.100.99")
    assert len(sms) == 10


def test_sms_from_one_address_is_throttled_across_mobiles(sms, clock):
    people = [ResidentProfileFactory(user=None) for _ in range(22)]

    def start(p, n, ip=IP):
        return registration_start(
            name=p.name, id_number=p.id_number, mobile=f"139000000{n:02d}", ip_address=ip
        )

    for n, p in enumerate(people[:20]):
        start(p, n)
    assert len(sms) == 20
    with pytest.raises(SmsThrottled) as throttled:
        start(people[20], 20)
    assert throttled.value.retry_after_seconds == 1
    assert len(sms) == 20
    start(people[21], 21, ip="198.51.100.1")
    assert len(sms) == 21


def test_a_corrected_name_is_not_held_to_the_sms_interval(person, sms):
    with pytest.raises(RealNameMismatch):
        _start(name="王晓明")
    _start()
    assert len(sms) == 1


def test_repeated_real_name_refusals_are_throttled(person, sms):
    for _ in range(5):
        with pytest.raises(RealNameMismatch):
            _start(name="王晓明")
    with pytest.raises(SmsThrottled) as throttled:
        _start()  # even the right name waits: the pair has failed five times
    assert throttled.value.retry_after_seconds == 1
    assert sms == []


def test_old_challenges_and_demo_sms_are_purged(person, sms, clock):
    from tongban.identity.models import DemoSms
    from tongban.identity.services import identity_purge_sweep

    old = _start()
    DemoSms.objects.create(phone_hash="x", phone_masked="139****5678", text="old")
    clock.advance(24 * 3600 + 1)
    new = _start()
    counts = identity_purge_sweep(clock.at, clock.at.date())
    assert counts == {"sms_challenges_purged": 1, "demo_sms_purged": 1}
    assert list(SmsChallenge.objects.values_list("pk", flat=True)) == [new.pk]
    assert not SmsChallenge.objects.filter(pk=old.pk).exists()
    assert identity_purge_sweep(clock.at, clock.at.date()) == {
        "sms_challenges_purged": 0,
        "demo_sms_purged": 0,
    }
