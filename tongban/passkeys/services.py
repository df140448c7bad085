"""Every write of passkeys (通行密钥): enrolment, removal, and the passkey step of a login.

A ceremony has two halves. `*_begin` makes the options the browser hands the authenticator,
with a fresh random challenge kept server-side in STORE (the person's session); the second
half takes that challenge out of STORE before it checks anything, so a challenge answers
once, right or wrong, and only within TONGBAN_WEBAUTHN_CHALLENGE_SECONDS. The `webauthn`
library checks the answer: challenge, origin, RP id hash, user presence, signature, counter.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import MutableMapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tongban.accounts.errors import LoginThrottled
from tongban.accounts.models import LoginAttempt, User
from tongban.accounts.services import login_attempt_check, login_attempt_record
from tongban.common.crypto import lookup_hash
from tongban.common.services import audit_record
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

REGISTER_STATE_KEY = "tongban_passkey_register"
LOGIN_STATE_KEY = "tongban_passkey_login"
MAX_PASSKEYS_PER_USER = 10
NAME_MAX_LENGTH = 30
# ES256 is what phones, Windows Hello and security keys make; EdDSA and RS256 cover the rest.
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
# What a malformed answer from a browser can raise inside the library's parsers (bad base64,
# bad CBOR, wrong JSON shapes) besides its own exceptions.
_MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, IndexError, AttributeError)


def _credential_hash(credential_id: str) -> str:
    return lookup_hash(credential_id, context="passkeys.credential_id")


def _user_handle(user: User) -> bytes:
    # Stable per account, so an authenticator replaces rather than piles up its credentials
    # for one account, and opaque, so it tells the authenticator nothing about the person.
    return bytes.fromhex(lookup_hash(str(user.pk), context="passkeys.user_handle"))


def _put_challenge(
    store: MutableMapping, key: str, challenge: bytes, *, rp: RelyingParty, now, **bound
) -> None:
    store[key] = {
        "challenge": bytes_to_base64url(challenge),
        "at": now.timestamp(),
        "rp_id": rp.id,
        **bound,
    }


def _take_challenge(store: MutableMapping, key: str, *, rp: RelyingParty, now, **bound) -> bytes:
    """The pending challenge, removed from STORE whatever happens next."""
    state = store.pop(key, None)
    if not isinstance(state, dict) or state.get("rp_id") != rp.id:
        raise PasskeyChallengeExpired()
    if any(state.get(name) != value for name, value in bound.items()):
        raise PasskeyChallengeExpired()
    age = now.timestamp() - float(state.get("at", 0))
    if not 0 <= age <= settings.TONGBAN_WEBAUTHN_CHALLENGE_SECONDS:
        raise PasskeyChallengeExpired()
    return base64url_to_bytes(state["challenge"])


def _timeout_ms() -> int:
    return settings.TONGBAN_WEBAUTHN_CHALLENGE_SECONDS * 1000


def _as_mapping(credential: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError:
            return {}
    return credential if isinstance(credential, dict) else {}


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    transports = []
    for value in passkey.transports or []:
        try:
            transports.append(AuthenticatorTransport(value))
        except ValueError:
            continue
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(passkey.credential_id), transports=transports or None
    )


def passkey_name_clean(name: str | None) -> str:
    """The name as it will be shown (trimmed); refused if empty, too long or with control
    characters, rather than cut or cleaned silently."""
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > NAME_MAX_LENGTH:
        raise PasskeyNameInvalid()
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise PasskeyNameInvalid()
    return cleaned


# --- enrolment ------------------------------------------------------------------------------


def passkey_registration_begin(
    *, user: User, rp: RelyingParty, store: MutableMapping, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Options for navigator.credentials.create(), as JSON; the challenge goes into STORE."""
    now = now or timezone.now()
    existing = list(Passkey.objects.filter(user=user))
    if len(existing) >= MAX_PASSKEYS_PER_USER:
        raise PasskeyLimitReached()
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=_user_handle(user),
        user_name=user.get_username(),
        user_display_name=user.display_name or user.get_username(),
        timeout=_timeout_ms(),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[_descriptor(p) for p in existing],
        supported_pub_key_algs=ALGORITHMS,
    )
    _put_challenge(store, REGISTER_STATE_KEY, options.challenge, rp=rp, now=now, user_id=user.pk)
    return options_to_json_dict(options)


def passkey_register(
    *,
    user: User,
    name: str,
    credential: str | dict[str, Any],
    rp: RelyingParty,
    store: MutableMapping,
    ip_address: str | None = None,
    now: dt.datetime | None = None,
) -> Passkey:
    """Check the authenticator's answer to the pending registration and keep the passkey."""
    now = now or timezone.now()
    challenge = _take_challenge(store, REGISTER_STATE_KEY, rp=rp, now=now, user_id=user.pk)
    name = passkey_name_clean(name)
    try:
        parsed = parse_registration_credential_json(_as_mapping(credential))
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            supported_pub_key_algs=ALGORITHMS,
        )
    except _MALFORMED as exc:
        raise PasskeyRegistrationFailed() from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    id_hash = _credential_hash(credential_id)
    with transaction.atomic():
        # The account row is the lock: two tabs adding at once cannot pass the limit together.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if Passkey.objects.filter(credential_id_hash=id_hash).exists():
            raise PasskeyAlreadyRegistered()
        if Passkey.objects.filter(user=user).count() >= MAX_PASSKEYS_PER_USER:
            raise PasskeyLimitReached()
        passkey = Passkey.objects.create(
            user=user,
            name=name,
            credential_id=credential_id,
            credential_id_hash=id_hash,
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
            transports=[t.value for t in parsed.response.transports or []],
            aaguid=verified.aaguid,
            backed_up=verified.credential_backed_up,
        )
        audit_record(
            actor=user,
            action="passkey.add",
            object_type="passkey",
            object_id=passkey.pk,
            ip_address=ip_address,
            data={"name": name, "user_id": user.pk},
        )
    return passkey


def passkey_remove(*, actor: User | str, passkey: Passkey, ip_address: str | None = None) -> None:
    """Delete a passkey. The caller has authorised ACTOR (the owner after re-entering the
    password, or an administrator for someone who lost their phone)."""
    with transaction.atomic():
        audit_kwargs = {"actor_label": actor} if isinstance(actor, str) else {"actor": actor}
        if isinstance(actor, str) and not actor.startswith("system:"):
            raise ValueError(f"a system actor is named 'system:<process>', got {actor!r}")
        audit_record(
            **audit_kwargs,
            action="passkey.remove",
            object_type="passkey",
            object_id=passkey.pk,
            ip_address=ip_address,
            data={"name": passkey.name, "user_id": passkey.user_id},
        )
        passkey.delete()


def passkey_remove_by_owner(
    *, user: User, passkey_id: int, password: str, ip_address: str | None
) -> None:
    """The owner removes one of their passkeys, proving it is them with the password.

    The password try goes through the login throttle: a borrowed, unlocked session must not
    become a free password-guessing oracle."""
    passkey = Passkey.objects.filter(pk=passkey_id, user=user).first()
    if passkey is None:
        raise PasskeyNotFound()
    login_attempt_check(username=user.get_username(), ip_address=ip_address)
    if not user.check_password(password or ""):
        login_attempt_record(username=user.get_username(), ip_address=ip_address, succeeded=False)
        raise PasskeyPasswordInvalid()
    passkey_remove(actor=user, passkey=passkey, ip_address=ip_address)


# --- login ----------------------------------------------------------------------------------


def passkey_login_begin(
    *, user: User, rp: RelyingParty, store: MutableMapping, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Options for navigator.credentials.get() for USER, who has passed the password step."""
    now = now or timezone.now()
    passkeys = list(Passkey.objects.filter(user=user))
    if not passkeys:
        raise PasskeyNotEnrolled()
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=_timeout_ms(),
        allow_credentials=[_descriptor(p) for p in passkeys],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _put_challenge(store, LOGIN_STATE_KEY, options.challenge, rp=rp, now=now, user_id=user.pk)
    return options_to_json_dict(options)


def _verify_assertion(
    *, user: User, credential: dict[str, Any], challenge: bytes, rp: RelyingParty, now
) -> Passkey:
    try:
        parsed = parse_authentication_credential_json(credential)
    except _MALFORMED as exc:
        raise PasskeyInvalid() from exc
    id_hash = _credential_hash(bytes_to_base64url(parsed.raw_id))
    # Locked so two answers racing cannot both be checked against the same counter.
    passkey = (
        Passkey.objects.select_for_update().filter(user=user, credential_id_hash=id_hash).first()
    )
    if passkey is None:
        raise PasskeyInvalid()
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
        )
    except _MALFORMED as exc:
        raise PasskeyInvalid() from exc
    passkey.sign_count = verified.new_sign_count
    passkey.backed_up = verified.credential_backed_up
    passkey.last_used_at = now
    passkey.save(update_fields=["sign_count", "backed_up", "last_used_at"])
    return passkey


def login_passkey_step(
    *,
    user: User,
    credential: str | dict[str, Any],
    rp: RelyingParty,
    store: MutableMapping,
    ip_address: str | None,
    now: dt.datetime | None = None,
) -> Passkey:
    """Second step of a login with a passkey (instead of, or where there is none, as well as
    a TOTP code). Failures count as PASSKEY tries of the account from any address, with the
    same ceiling as TOTP codes. The caller records the completed login, as after TOTP."""
    now = now or timezone.now()
    kind = LoginAttempt.Kind.PASSKEY
    try:
        login_attempt_check(username=user.get_username(), ip_address=ip_address, kind=kind, now=now)
    except LoginThrottled as exc:
        raise PasskeyThrottled(retry_at=exc.retry_at, now=now) from exc
    challenge = _take_challenge(store, LOGIN_STATE_KEY, rp=rp, now=now, user_id=user.pk)
    try:
        with transaction.atomic():
            passkey = _verify_assertion(
                user=user, credential=_as_mapping(credential), challenge=challenge, rp=rp, now=now
            )
            audit_record(
                actor=user,
                action="passkey.verify",
                object_type="passkey",
                object_id=passkey.pk,
                ip_address=ip_address,
                data={"name": passkey.name, "sign_count": passkey.sign_count},
            )
    except PasskeyInvalid:
        login_attempt_record(
            username=user.get_username(),
            ip_address=ip_address,
            succeeded=False,
            user=user,
            kind=kind,
        )
        raise
    return passkey
