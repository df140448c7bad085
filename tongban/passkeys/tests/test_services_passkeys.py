"""Real WebAuthn ceremonies against the services: a P-256 key made in the test signs what a
browser would send, and the webauthn library checks it. Every refusal leaves the stored
passkey, its counter and the audit trail as they were."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from tongban.accounts.errors import LoginThrottled
from tongban.accounts.models import LoginAttempt
from tongban.accounts.services import login_attempt_check
from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory, StaffFactory
from tongban.common.crypto import lookup_hash
from tongban.common.models import AuditEvent
from tongban.passkeys import services
from tongban.passkeys.errors import (
    PasskeyAlreadyRegistered,
    PasskeyChallengeExpired,
    PasskeyInvalid,
    PasskeyLimitReached,
    PasskeyNameInvalid,
    PasskeyNotEnrolled,
    PasskeyNotFound,
    PasskeyPasswordInvalid,
    PasskeyRegistrationFailed,
    PasskeyThrottled,
)
from tongban.passkeys.models import Passkey
from tongban.passkeys.relying_party import RelyingParty
from tongban.passkeys.tests.authenticator import SoftAuthenticator, challenge_of

pytestmark = pytest.mark.django_db

RP = RelyingParty(id="testserver", name="一网通办", origins=("http://testserver",))
IP = "10.1.2.3"


@pytest.fixture
def user(db):
    return ResidentProfileFactory(name="王小明").user


def _register(user, device: SoftAuthenticator, *, name="我的手机", store=None) -> Passkey:
    store = {} if store is None else store
    options = services.passkey_registration_begin(user=user, rp=RP, store=store)
    return services.passkey_register(
        user=user, name=name, credential=device.create(options), rp=RP, store=store, ip_address=IP
    )


def _snapshot(passkey: Passkey) -> tuple:
    passkey.refresh_from_db()
    return passkey.sign_count, passkey.last_used_at, AuditEvent.objects.count()


class TestRegistration:
    def test_options_name_the_site_and_account_and_keep_the_challenge(self, user):
        store: dict = {}
        options = services.passkey_registration_begin(user=user, rp=RP, store=store)
        assert options["rp"] == {"name": "一网通办", "id": "testserver"}
        assert options["user"]["name"] == user.username
        assert options["user"]["displayName"] == user.display_name
        assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -8, -257]
        assert options["excludeCredentials"] == []
        assert options["attestation"] == "none"
        state = store[services.REGISTER_STATE_KEY]
        assert (state["challenge"], state["rp_id"], state["user_id"]) == (
            options["challenge"],
            "testserver",
            user.pk,
        )
        assert len(challenge_of(options)) == 64

    def test_a_real_attestation_is_verified_and_kept_encrypted(self, user):
        device = SoftAuthenticator()
        store: dict = {}
        passkey = _register(user, device, name="  我的手机 ", store=store)
        assert store == {}
        passkey.refresh_from_db()
        assert (passkey.user_id, passkey.name, passkey.sign_count) == (user.pk, "我的手机", 0)
        assert passkey.credential_id == device.credential_id_b64
        assert passkey.credential_id_hash == lookup_hash(
            device.credential_id_b64, context="passkeys.credential_id"
        )
        assert passkey.transports == ["internal"]
        assert passkey.aaguid == "00000000-0000-0000-0000-000000000000"
        assert passkey.last_used_at is None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT credential_id, public_key FROM passkeys_passkey WHERE id = %s", [passkey.pk]
            )
            stored_id, stored_key = cursor.fetchone()
        assert device.credential_id_b64 not in stored_id
        assert stored_key != passkey.public_key
        audit = AuditEvent.objects.get()
        assert (audit.action, audit.actor_id, audit.object_id, audit.ip_address) == (
            "passkey.add",
            user.pk,
            str(passkey.pk),
            IP,
        )
        assert audit.data == {"name": "我的手机", "user_id": user.pk}

    def test_the_same_answer_twice_is_refused_the_second_time(self, user):
        device = SoftAuthenticator()
        store: dict = {}
        options = services.passkey_registration_begin(user=user, rp=RP, store=store)
        answer = device.create(options)
        services.passkey_register(user=user, name="手机", credential=answer, rp=RP, store=store)
        with pytest.raises(PasskeyChallengeExpired):
            services.passkey_register(user=user, name="手机", credential=answer, rp=RP, store=store)
        assert (Passkey.objects.count(), AuditEvent.objects.count()) == (1, 1)

    @pytest.mark.parametrize(
        ("origin", "rp_id"),
        [("https://evil.example", None), ("http://testserver:8000", None), (None, "evil.example")],
        ids=["other-site", "other-port", "other-rp-id"],
    )
    def test_an_answer_made_for_another_site_is_refused(self, user, origin, rp_id):
        store: dict = {}
        options = services.passkey_registration_begin(user=user, rp=RP, store=store)
        answer = SoftAuthenticator().create(options, origin=origin, rp_id=rp_id)
        with pytest.raises(PasskeyRegistrationFailed) as raised:
            services.passkey_register(user=user, name="手机", credential=answer, rp=RP, store=store)
        assert (raised.value.code, raised.value.http_status) == ("PASSKEY_REGISTRATION_FAILED", 400)
        assert (Passkey.objects.count(), AuditEvent.objects.count(), store) == (0, 0, {})

    def test_an_answer_to_an_older_challenge_is_refused(self, user):
        store: dict = {}
        first = services.passkey_registration_begin(user=user, rp=RP, store=store)
        services.passkey_registration_begin(user=user, rp=RP, store=store)
        answer = SoftAuthenticator().create(first)
        with pytest.raises(PasskeyRegistrationFailed):
            services.passkey_register(user=user, name="手机", credential=answer, rp=RP, store=store)
        assert Passkey.objects.count() == 0

    def test_a_challenge_expires(self, user, settings):
        store: dict = {}
        begun = timezone.now()
        options = services.passkey_registration_begin(user=user, rp=RP, store=store, now=begun)
        answer = SoftAuthenticator().create(options)
        late = begun + dt.timedelta(seconds=settings.TONGBAN_WEBAUTHN_CHALLENGE_SECONDS + 1)
        with pytest.raises(PasskeyChallengeExpired):
            services.passkey_register(
                user=user, name="手机", credential=answer, rp=RP, store=store, now=late
            )
        assert (Passkey.objects.count(), store) == (0, {})

    def test_a_challenge_begun_for_another_account_is_refused(self, user):
        other = ResidentProfileFactory().user
        store: dict = {}
        options = services.passkey_registration_begin(user=other, rp=RP, store=store)
        answer = SoftAuthenticator().create(options)
        with pytest.raises(PasskeyChallengeExpired):
            services.passkey_register(user=user, name="手机", credential=answer, rp=RP, store=store)
        assert Passkey.objects.count() == 0

    @pytest.mark.parametrize("name", ["", "   ", "一" * 31, "手机\x07"])
    def test_a_bad_name_is_refused_not_cut(self, user, name):
        with pytest.raises(PasskeyNameInvalid):
            _register(user, SoftAuthenticator(), name=name)
        assert Passkey.objects.count() == 0

    @pytest.mark.parametrize(
        "credential",
        ["not json", {}, {"id": "x", "rawId": "x", "type": "public-key", "response": {}}, []],
    )
    def test_garbage_is_a_clear_refusal(self, user, credential):
        store: dict = {}
        services.passkey_registration_begin(user=user, rp=RP, store=store)
        with pytest.raises(PasskeyRegistrationFailed):
            services.passkey_register(
                user=user, name="手机", credential=credential, rp=RP, store=store
            )
        assert Passkey.objects.count() == 0

    def test_one_credential_is_registered_once(self, user):
        device = SoftAuthenticator()
        _register(user, device)
        store: dict = {}
        options = services.passkey_registration_begin(user=user, rp=RP, store=store)
        assert options["excludeCredentials"] == [
            {"id": device.credential_id_b64, "type": "public-key", "transports": ["internal"]}
        ]
        with pytest.raises(PasskeyAlreadyRegistered):
            services.passkey_register(
                user=user, name="again", credential=device.create(options), rp=RP, store=store
            )
        assert (Passkey.objects.count(), AuditEvent.objects.count()) == (1, 1)

    def test_at_most_ten_per_account(self, user):
        for n in range(services.MAX_PASSKEYS_PER_USER):
            _register(user, SoftAuthenticator(), name=f"设备{n}")
        with pytest.raises(PasskeyLimitReached):
            services.passkey_registration_begin(user=user, rp=RP, store={})
        assert Passkey.objects.filter(user=user).count() == 10


class TestLoginStep:
    def _login(self, user, device, store=None, **answer_kwargs):
        store = {} if store is None else store
        options = services.passkey_login_begin(user=user, rp=RP, store=store)
        answer = device.get(options, **answer_kwargs)
        return services.login_passkey_step(
            user=user, credential=answer, rp=RP, store=store, ip_address=IP
        )

    def test_options_allow_only_the_accounts_passkeys(self, user):
        device = SoftAuthenticator()
        _register(user, device)
        _register(ResidentProfileFactory().user, SoftAuthenticator())
        store: dict = {}
        options = services.passkey_login_begin(user=user, rp=RP, store=store)
        assert options["rpId"] == "testserver"
        assert options["allowCredentials"] == [
            {"id": device.credential_id_b64, "type": "public-key", "transports": ["internal"]}
        ]
        assert store[services.LOGIN_STATE_KEY]["user_id"] == user.pk

    def test_no_passkey_no_options(self, user):
        with pytest.raises(PasskeyNotEnrolled):
            services.passkey_login_begin(user=user, rp=RP, store={})

    def test_a_real_assertion_passes_and_moves_the_counter(self, user):
        device = SoftAuthenticator()
        passkey = _register(user, device)
        store: dict = {}
        used = self._login(user, device, store=store)
        assert used.pk == passkey.pk
        passkey.refresh_from_db()
        assert passkey.sign_count == 1
        assert passkey.last_used_at is not None
        assert store == {}
        audit = AuditEvent.objects.latest("id")
        assert (audit.action, audit.actor_id, audit.object_id, audit.ip_address) == (
            "passkey.verify",
            user.pk,
            str(passkey.pk),
            IP,
        )
        # The caller records the completed login (as after TOTP); the step itself counts none.
        assert LoginAttempt.objects.count() == 0

    def test_a_synced_passkey_that_always_says_zero_is_accepted(self, user):
        device = SoftAuthenticator()
        passkey = _register(user, device)
        self._login(user, device, sign_count=0)
        self._login(user, device, sign_count=0)
        passkey.refresh_from_db()
        assert passkey.sign_count == 0

    def _refused(self, user, passkey, store, answer):
        before = _snapshot(passkey)
        with pytest.raises(PasskeyInvalid) as raised:
            services.login_passkey_step(
                user=user, credential=answer, rp=RP, store=store, ip_address=IP
            )
        assert (raised.value.code, raised.value.http_status) == ("PASSKEY_INVALID", 401)
        # Only the failure's own audit row is added.
        sign_count, last_used, audits = _snapshot(passkey)
        assert (sign_count, last_used, audits) == (before[0], before[1], before[2] + 1)
        assert AuditEvent.objects.latest("id").action == "auth.passkey_failed"
        failure = LoginAttempt.objects.get()
        assert (failure.kind, failure.succeeded, failure.username, failure.ip_address) == (
            "passkey",
            False,
            user.username,
            IP,
        )
        assert store == {}

    def test_a_wrong_signature_is_refused(self, user):
        device = SoftAuthenticator()
        passkey = _register(user, device)
        store: dict = {}
        options = services.passkey_login_begin(user=user, rp=RP, store=store)
        self._refused(user, passkey, store, device.get(options, tamper_signature=True))

    @pytest.mark.parametrize(
        ("origin", "rp_id"),
        [("https://evil.example", None), (None, "evil.example")],
        ids=["phishing-origin", "other-rp-id"],
    )
    def test_an_assertion_for_another_site_is_refused(self, user, origin, rp_id):
        device = SoftAuthenticator()
        passkey = _register(user, device)
        store: dict = {}
        options = services.passkey_login_begin(user=user, rp=RP, store=store)
        self._refused(user, passkey, store, device.get(options, origin=origin, rp_id=rp_id))

    def test_a_counter_that_goes_back_is_refused(self, user):
        device = SoftAuthenticator(sign_count=5)
        passkey = _register(user, device)
        assert passkey.sign_count == 5
        store: dict = {}
        options = services.passkey_login_begin(user=user, rp=RP, store=store)
        self._refused(user, passkey, store, device.get(options, sign_count=3))
        passkey.refresh_from_db()
        assert passkey.sign_count == 5

    def test_another_accounts_passkey_is_refused(self, user):
        other = ResidentProfileFactory().user
        theirs = SoftAuthenticator()
        _register(other, theirs)
        mine = _register(user, SoftAuthenticator())
        store: dict = {}
        options = services.passkey_login_begin(user=user, rp=RP, store=store)
        options["allowCredentials"] = []  # a browser could be made to offer any credential
        self._refused(user, mine, store, theirs.get(options))

    def test_a_replayed_answer_is_refused_and_changes_nothing(self, user):
        device = SoftAuthenticator()
        passkey = _register(user, device)
        store: dict = {}
        options = services.passkey_login_begin(user=user, rp=RP, store=store)
        answer = device.get(options)
        services.login_passkey_step(user=user, credential=answer, rp=RP, store=store, ip_address=IP)
        before = _snapshot(passkey)
        with pytest.raises(PasskeyChallengeExpired):
            services.login_passkey_step(
                user=user, credential=answer, rp=RP, store=store, ip_address=IP
            )
        assert _snapshot(passkey) == before == (1, before[1], before[2])

    def test_an_old_challenge_is_refused(self, user, settings):
        device = SoftAuthenticator()
        passkey = _register(user, device)
        store: dict = {}
        begun = timezone.now()
        options = services.passkey_login_begin(user=user, rp=RP, store=store, now=begun)
        late = begun + dt.timedelta(seconds=settings.TONGBAN_WEBAUTHN_CHALLENGE_SECONDS + 1)
        before = _snapshot(passkey)
        with pytest.raises(PasskeyChallengeExpired):
            services.login_passkey_step(
                user=user,
                credential=device.get(options),
                rp=RP,
                store=store,
                ip_address=IP,
                now=late,
            )
        assert _snapshot(passkey) == before

    def test_failures_slow_the_account_down_then_even_a_good_answer_waits(self, user):
        device = SoftAuthenticator()
        passkey = _register(user, device)
        for _ in range(5):
            store: dict = {}
            options = services.passkey_login_begin(user=user, rp=RP, store=store)
            with pytest.raises(PasskeyInvalid):
                services.login_passkey_step(
                    user=user,
                    credential=device.get(options, tamper_signature=True),
                    rp=RP,
                    store=store,
                    ip_address=f"10.9.9.{_}",
                )
        before = _snapshot(passkey)
        store = {}
        options = services.passkey_login_begin(user=user, rp=RP, store=store)
        with pytest.raises(PasskeyThrottled) as raised:
            services.login_passkey_step(
                user=user, credential=device.get(options), rp=RP, store=store, ip_address=IP
            )
        assert (raised.value.code, raised.value.http_status) == ("PASSKEY_THROTTLED", 429)
        assert raised.value.retry_after_seconds == 1
        assert raised.value.message == "通行密钥验证失败次数较多，为保护您的账户，请1秒后再试"
        assert _snapshot(passkey) == before
        assert LoginAttempt.objects.filter(kind="passkey").count() == 5
        # The challenge is still there: the wait refused before anything was checked.
        assert services.LOGIN_STATE_KEY in store

    def test_passkey_failures_do_not_slow_the_password_or_totp_steps(self, user):
        LoginAttempt.objects.bulk_create(
            [LoginAttempt(username=user.username, ip_address=IP, kind="passkey") for _ in range(8)]
        )
        login_attempt_check(username=user.username, ip_address=IP)
        login_attempt_check(username=user.username, ip_address=IP, kind="totp")
        with pytest.raises(LoginThrottled):
            login_attempt_check(username=user.username, ip_address=IP, kind="passkey")


class TestRemoval:
    def test_the_owner_removes_with_the_password(self, user):
        passkey = _register(user, SoftAuthenticator())
        services.passkey_remove_by_owner(
            user=user, passkey_id=passkey.pk, password=TEST_PASSWORD, ip_address=IP
        )
        assert Passkey.objects.count() == 0
        audit = AuditEvent.objects.latest("id")
        assert (audit.action, audit.actor_id, audit.object_id, audit.data) == (
            "passkey.remove",
            user.pk,
            str(passkey.pk),
            {"name": "我的手机", "user_id": user.pk},
        )

    def test_a_wrong_password_removes_nothing_and_counts_as_a_failed_login(self, user):
        passkey = _register(user, SoftAuthenticator())
        with pytest.raises(PasskeyPasswordInvalid) as raised:
            services.passkey_remove_by_owner(
                user=user, passkey_id=passkey.pk, password="wrong", ip_address=IP
            )
        assert raised.value.http_status == 403
        assert Passkey.objects.filter(pk=passkey.pk).exists()
        failure = LoginAttempt.objects.get()
        assert (failure.kind, failure.succeeded, failure.ip_address) == ("login", False, IP)
        assert not AuditEvent.objects.filter(action="passkey.remove").exists()

    def test_nobody_removes_anothers_passkey(self, user):
        other = ResidentProfileFactory().user
        theirs = _register(other, SoftAuthenticator())
        with pytest.raises(PasskeyNotFound):
            services.passkey_remove_by_owner(
                user=user, passkey_id=theirs.pk, password=TEST_PASSWORD, ip_address=IP
            )
        assert Passkey.objects.filter(pk=theirs.pk).exists()
        assert not AuditEvent.objects.filter(action="passkey.remove").exists()

    def test_an_administrator_removes_for_someone_who_lost_their_phone(self, user):
        admin = StaffFactory()
        passkey = _register(user, SoftAuthenticator())
        services.passkey_remove(actor=admin, passkey=passkey)
        assert Passkey.objects.count() == 0
        audit = AuditEvent.objects.latest("id")
        assert (audit.action, audit.actor_id) == ("passkey.remove", admin.pk)
