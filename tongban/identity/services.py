"""Registration with 实名认证, SMS one-time codes and password reset.

Rules kept here, for every page and client that calls these:
- Nothing tells a caller whether an ID number, a username or a mobile number has an account.
  Registration always creates a challenge and sends one SMS to the mobile typed: a code, or
  (the ID number already has an account with a password) a notice to log in or reset instead.
  Reset always creates a challenge; the code goes only to the account's confirmed mobile, and
  nowhere when nothing matches. Either way the answer and the next page are the same, and the
  work done is the same in the same order (look-ups, one challenge row, one SMS queued).
  Only the holder of the mobile learns what the SMS says.
- Codes: 6 digits, stored as a keyed hash bound to the challenge, 10 minutes, 5 tries, one use.
- SMS sending is throttled per mobile (one a minute, ten a day), per address and per (mobile,
  address) through the login throttle's counters (LoginAttempt kinds SMS_CODE and RESET).
- A mobile confirms at most MOBILE_ACCOUNT_CAP accounts. The cap is told only after the code
  is right, that is, only to the holder of the mobile.
- The request makes the challenge and queues its sending in one transaction (the database
  task queue); the worker draws the code, keeps only its hash and hands the text to the SMS
  adapter after its own commit (challenge_send). So a slow gateway never shows in the time a
  page takes, and the code is never written anywhere in clear (the demo outbox excepted, see
  tongban.identity.sms). A send lost to a crash costs the person one press of 重新获取.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from functools import partial

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from tongban.accounts.errors import LoginThrottled, PasswordTooWeak, UsernameTaken
from tongban.accounts.models import AssuranceLevel, LoginAttempt, ResidentProfile, User
from tongban.accounts.selectors import resident_id_number_hash
from tongban.accounts.services import (
    WALK_IN_USERNAME_PREFIX,
    login_attempt_check,
    resident_profile_create,
)
from tongban.accounts.validators import mask_phone, parse_id_number
from tongban.common.crypto import lookup_hash
from tongban.common.errors import InvalidInput
from tongban.common.services import audit_record
from tongban.identity.errors import (
    AlreadyRegistered,
    MobileLimitReached,
    NameRequired,
    NoResidentProfile,
    RealNameMismatch,
    ResetThrottled,
    SmsCodeInvalid,
    SmsThrottled,
)
from tongban.identity.models import SmsChallenge
from tongban.identity.selectors import mobile_hash, mobile_normalise
from tongban.identity.verifiers import real_name_verifier

logger = logging.getLogger(__name__)

CODE_TTL = dt.timedelta(minutes=10)
CODE_MAX_TRIES = 5
MOBILE_ACCOUNT_CAP = 3
SMS_RESEND_INTERVAL = dt.timedelta(seconds=60)
SMS_PER_MOBILE_PER_DAY = 10
SMS_PER_ADDRESS_PER_HOUR = 30
CODE_HASH_CONTEXT = "identity.sms_code"
RESET_KEY_CONTEXT = "identity.reset_identifier"
SYSTEM_ACTOR = "system:registration"

REGISTER_CODE_TEXT = (
    "【通办】您的注册验证码为{code}，10分钟内有效。请勿告诉他人，工作人员不会向您索要。"
)
REGISTERED_NOTICE_TEXT = (
    "【通办】该身份证号码已注册过通办账户，请直接登录；"
    "忘记密码可在登录页“找回密码”。如非本人操作请忽略。"
)
RESET_CODE_TEXT = (
    "【通办】您正在找回密码，验证码为{code}，10分钟内有效。如非本人操作，请勿告诉他人。"
)
VERIFY_CODE_TEXT = "【通办】您正在进行实名核验，验证码为{code}，10分钟内有效。请勿告诉他人。"
RESET_SEVERAL_TEXT = (
    "【通办】该手机号验证了多个通办账户，请在“找回密码”中改填用户名或身份证号码。"
    "如非本人操作请忽略。"
)


# ---------------------------------------------------------------- codes and SMS


def _new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _code_hash(challenge_id: int, code: str) -> str:
    # Bound to the row: a hash copied into another challenge matches nothing there.
    return lookup_hash(f"{challenge_id}:{code}", context=CODE_HASH_CONTEXT)


def _sms_key(number: str) -> str:
    # Throttle rows name the mobile by a prefix of its keyed hash, never the number itself.
    return "sms:" + mobile_hash(number)[:40]


def _send_after_commit(number: str, text: str) -> None:
    from tongban.notifications.sms import sms_adapter

    try:
        sms_adapter().send(number, text)
    except Exception as exc:  # the gateway's failure must not turn the page into a 500
        logger.warning("SMS to %s failed: %s: %s", mask_phone(number), type(exc).__name__, exc)


def _queue_send(challenge_id: int) -> None:
    # Inside the caller's transaction: the task row commits (or not) with the challenge.
    from tongban.identity.tasks import challenge_send_task

    challenge_send_task.enqueue(challenge_id=challenge_id)


_TEXTS = {
    (SmsChallenge.Purpose.REGISTER, SmsChallenge.Sends.CODE): REGISTER_CODE_TEXT,
    (SmsChallenge.Purpose.REGISTER, SmsChallenge.Sends.REGISTERED): REGISTERED_NOTICE_TEXT,
    (SmsChallenge.Purpose.RESET, SmsChallenge.Sends.CODE): RESET_CODE_TEXT,
    (SmsChallenge.Purpose.RESET, SmsChallenge.Sends.SEVERAL): RESET_SEVERAL_TEXT,
    (SmsChallenge.Purpose.VERIFY, SmsChallenge.Sends.CODE): VERIFY_CODE_TEXT,
}


def challenge_send(*, challenge_id: int, now: dt.datetime | None = None) -> str:
    """The worker's half (tongban.identity.tasks): draw the code, keep its hash, and after
    commit hand the text to the SMS adapter. Every challenge gets a code drawn, including
    those whose SMS says something else or goes nowhere, so all are verified alike. Run twice,
    it does nothing the second time. Returns what it did ("code", "registered", "several",
    "nothing", "already", "missing")."""
    now = now or timezone.now()
    with transaction.atomic():
        challenge = SmsChallenge.objects.select_for_update().filter(pk=challenge_id).first()
        if challenge is None:
            return "missing"
        if challenge.sent_at is not None:
            return "already"
        code = _new_code()
        challenge.code_hash = _code_hash(challenge.pk, code)
        challenge.sent_at = now
        challenge.save(update_fields=["code_hash", "sent_at"])
        text = _TEXTS.get((challenge.purpose, challenge.sends), "")
        if text and challenge.mobile and challenge.expires_at > now:
            message = text.format(code=code) if "{code}" in text else text
            transaction.on_commit(partial(_send_after_commit, challenge.mobile, message))
        return challenge.sends


def _mobile_wait(number: str, ip_address: str | None, now: dt.datetime) -> dt.datetime | None:
    """When the next SMS to NUMBER (from IP_ADDRESS) may go, or None if it may go now: one a
    minute and ten a day per mobile whatever the address, SMS_PER_ADDRESS_PER_HOUR per address."""
    sends = LoginAttempt.objects.filter(
        kind__in=(LoginAttempt.Kind.SMS_CODE, LoginAttempt.Kind.RESET), username__startswith="sms:"
    )
    to_mobile = sends.filter(username=_sms_key(number), at__gt=now - dt.timedelta(days=1))
    waits = []
    latest = to_mobile.order_by("-at").values_list("at", flat=True).first()
    if latest is not None and latest + SMS_RESEND_INTERVAL > now:
        waits.append(latest + SMS_RESEND_INTERVAL)
    if to_mobile.count() >= SMS_PER_MOBILE_PER_DAY:
        waits.append(to_mobile.aggregate(first=Min("at"))["first"] + dt.timedelta(days=1))
    if ip_address:
        from_address = sends.filter(ip_address=ip_address, at__gt=now - dt.timedelta(hours=1))
        if from_address.count() >= SMS_PER_ADDRESS_PER_HOUR:
            waits.append(from_address.aggregate(first=Min("at"))["first"] + dt.timedelta(hours=1))
    return max(waits) if waits else None


def _challenge_verify(
    *, challenge_id: int | None, purpose: str, code: str, ip_address: str | None, now
) -> SmsChallenge:
    """The live challenge if CODE is its code; else count a try (when the challenge is still
    live) and raise SmsCodeInvalid. Nothing is consumed here: the caller marks it used in the
    transaction that acts on it, so a refusal there (a taken username) leaves it usable."""
    typed = "".join(ch for ch in (code or "") if not ch.isspace())
    ok = False
    with transaction.atomic():
        challenge = (
            SmsChallenge.objects.select_for_update()
            .filter(pk=challenge_id or 0, purpose=purpose)
            .first()
        )
        if challenge is not None:
            live = (
                challenge.used_at is None
                and challenge.expires_at > now
                and challenge.tries < CODE_MAX_TRIES
            )
            ok = (
                live
                and len(typed) == 6
                and typed.isdigit()
                and hmac.compare_digest(challenge.code_hash, _code_hash(challenge.pk, typed))
            )
            if live and not ok:
                challenge.tries += 1
                challenge.save(update_fields=["tries"])
                audit_record(
                    actor_label="anonymous",
                    action="identity.sms_code_failed",
                    object_type="sms_challenge",
                    object_id=challenge.pk,
                    ip_address=ip_address or None,
                    data={"purpose": purpose, "tries": challenge.tries},
                )
    if not ok:
        raise SmsCodeInvalid()
    return challenge


def _check_new_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise PasswordTooWeak(
            "密码强度不足：" + "；".join(exc.messages),
            details=[{"field": "password", "message": m} for m in exc.messages],
        ) from exc


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not username:
        raise InvalidInput("请设置用户名", code="USERNAME_REQUIRED")
    if len(username) > 150:
        raise InvalidInput("用户名不能超过150个字符", code="USERNAME_INVALID")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise InvalidInput("用户名只能包含字母、数字和 @ . + - _", code="USERNAME_INVALID") from exc
    if username.lower().startswith(WALK_IN_USERNAME_PREFIX):
        raise InvalidInput(
            f"用户名不能以“{WALK_IN_USERNAME_PREFIX}”开头，请换一个", code="USERNAME_INVALID"
        )
    return username


# ---------------------------------------------------------------- registration


def registration_start(
    *,
    name: str,
    id_number: str,
    mobile: str,
    ip_address: str | None,
    now: dt.datetime | None = None,
) -> SmsChallenge:
    """注册第一步: check the name against the ID number (实名认证), then send one SMS to MOBILE —
    a code, or, when the ID number already has an account with a password, a notice to log in
    or reset. Returns the challenge the second step names (the same kind of row either way).

    Refused before anything is sent or created: a malformed name, ID number or mobile (said
    plainly), too many SMS (SMS_THROTTLED, 429) and a failed real-name check
    (REAL_NAME_MISMATCH, 422, which also counts against the address and the mobile)."""
    now = now or timezone.now()
    name = (name or "").strip()
    if not name:
        raise NameRequired()
    if len(name) > 60:
        raise InvalidInput("姓名不能超过60个字", code="NAME_INVALID")
    facts = parse_id_number(id_number)
    number = mobile_normalise(mobile)
    key = _sms_key(number)
    # Refused real-name checks are counted apart from sends ("rn:"), so a mistyped name does
    # not hold the corrected try to the one-a-minute SMS interval; both count per address.
    refusal_key = "rn:" + key[4:]
    try:
        for counted in (key, refusal_key):
            login_attempt_check(
                username=counted, ip_address=ip_address, kind=LoginAttempt.Kind.SMS_CODE, now=now
            )
    except LoginThrottled as exc:
        raise SmsThrottled(retry_at=exc.retry_at, now=now) from exc
    wait = _mobile_wait(number, ip_address, now)
    if wait is not None:
        raise SmsThrottled(retry_at=wait, now=now)

    if not real_name_verifier().verify(name=name, id_number=facts.number):
        with transaction.atomic():
            # Counted, so the register cannot be combed for who is in it.
            LoginAttempt.objects.create(
                username=refusal_key,
                ip_address=ip_address or None,
                kind=LoginAttempt.Kind.SMS_CODE,
            )
            audit_record(
                actor_label="anonymous",
                action="identity.real_name_refused",
                ip_address=ip_address or None,
                data={"mobile": mask_phone(number)},
            )
        raise RealNameMismatch()

    profile = (
        ResidentProfile.objects.select_related("user")
        .filter(id_number_hash=resident_id_number_hash(facts.number))
        .first()
    )
    registered = (
        profile is not None and profile.user is not None and profile.user.has_usable_password()
    )
    with transaction.atomic():
        challenge = SmsChallenge.objects.create(
            purpose=SmsChallenge.Purpose.REGISTER,
            sends=SmsChallenge.Sends.REGISTERED if registered else SmsChallenge.Sends.CODE,
            name=name,
            id_number=facts.number,
            mobile=number,
            mobile_hash=mobile_hash(number),
            created_at=now,
            expires_at=now + CODE_TTL,
            ip_address=ip_address or None,
        )
        _queue_send(challenge.pk)
        LoginAttempt.objects.create(
            username=key, ip_address=ip_address or None, kind=LoginAttempt.Kind.SMS_CODE
        )
        audit_record(
            actor_label="anonymous",
            action="identity.register_start",
            object_type="sms_challenge",
            object_id=challenge.pk,
            subject_resident_id=profile.pk if profile is not None else None,
            ip_address=ip_address or None,
            data={"mobile": mask_phone(number), "sends": challenge.sends},
        )
    return challenge


def _check_mobile_cap(number_hash: str, *, besides: User | None) -> None:
    """One mobile confirms at most MOBILE_ACCOUNT_CAP accounts (BESIDES: the one asking)."""
    others = User.objects.filter(mobile_hash=number_hash, mobile_confirmed_at__isnull=False)
    if besides is not None:
        others = others.exclude(pk=besides.pk)
    if others.count() >= MOBILE_ACCOUNT_CAP:
        raise MobileLimitReached()


def _confirm_real_name(user: User, number_hash: str, now: dt.datetime) -> None:
    """The name/ID pair passed the verifier and the mobile answered its code: 已实名核验 (a
    higher level, 窗口当面核验, is kept) with the mobile confirmed. The caller saves."""
    if user.assurance_level < AssuranceLevel.REAL_NAME:
        user.assurance_level = AssuranceLevel.REAL_NAME
        user.assurance_at = now
    user.mobile_hash, user.mobile_confirmed_at = number_hash, now


def registration_complete(
    *,
    challenge_id: int | None,
    code: str,
    username: str,
    password: str,
    ip_address: str | None,
    now: dt.datetime | None = None,
) -> User:
    """注册第二步: the SMS code, a username and a password. Returns the account, which is:

    - the login-less account a counter clerk opened for this person (claimed: it gets the
      username and password, and keeps its 窗口当面核验 level), or
    - a new account bound to the person's existing 居民档案, or
    - (a verifier outside the demo vouched for someone the register lacks) a new account with
      a new 居民档案.

    The account is recorded as real-name checked (at least), with the mobile confirmed; the
    mobile becomes the profile's phone. Username and password are checked before the code, so
    a weak password does not use up a try; a taken username leaves the code usable."""
    now = now or timezone.now()
    username = _check_username(username)
    _check_new_password(password, User(username=username))
    challenge = _challenge_verify(
        challenge_id=challenge_id,
        purpose=SmsChallenge.Purpose.REGISTER,
        code=code,
        ip_address=ip_address,
        now=now,
    )
    with transaction.atomic():
        challenge = SmsChallenge.objects.select_for_update().get(pk=challenge.pk)
        if challenge.used_at is not None:
            raise SmsCodeInvalid()
        number = challenge.mobile
        number_hash = mobile_hash(number)
        profile = (
            ResidentProfile.objects.select_for_update()
            .filter(id_number_hash=resident_id_number_hash(challenge.id_number))
            .first()
        )
        user = (
            User.objects.select_for_update().get(pk=profile.user_id)
            if profile is not None and profile.user_id is not None
            else None
        )
        if user is not None and user.has_usable_password():
            raise AlreadyRegistered()
        _check_mobile_cap(number_hash, besides=user)
        taken = User.objects.filter(username__iexact=username)
        if user is not None:
            taken = taken.exclude(pk=user.pk)
        if taken.exists():
            raise UsernameTaken()

        if profile is None:
            profile = resident_profile_create(
                actor=SYSTEM_ACTOR, name=challenge.name, id_number=challenge.id_number
            )
        claimed = user is not None
        if user is None:
            user = User(kind=User.Kind.PERSON, display_name=profile.name[:60])
        user.username = username
        user.set_password(password)
        _confirm_real_name(user, number_hash, now)
        user.save()
        profile.user = user
        profile.phone = number
        profile.save(update_fields=["user", "phone", "updated_at"])
        challenge.used_at = now
        challenge.save(update_fields=["used_at"])
        audit_record(
            actor=user,
            action="identity.register",
            object_type="user",
            object_id=user.pk,
            subject_resident_id=profile.pk,
            ip_address=ip_address or None,
            data={
                "claimed": claimed,
                "assurance_level": user.assurance_level,
                "mobile": mask_phone(number),
            },
        )
    return user


# ---------------------------------------------------------------- password reset


def _reset_target(identifier: str) -> tuple[User | None, bool]:
    """(the account IDENTIFIER names, several accounts share it as their mobile)."""
    raw = identifier.strip()
    people = User.objects.filter(is_active=True)
    try:
        number = parse_id_number(raw).number
    except InvalidInput:
        number = ""
    if number:
        profile = ResidentProfile.objects.filter(
            id_number_hash=resident_id_number_hash(number), user__isnull=False
        ).first()
        return (people.filter(pk=profile.user_id).first() if profile else None), False
    try:
        mobile = mobile_normalise(raw)
    except InvalidInput:
        mobile = ""
    if mobile:
        found = list(
            people.filter(mobile_hash=mobile_hash(mobile), mobile_confirmed_at__isnull=False)[:2]
        )
        if len(found) == 1:
            return found[0], False
        # A username may look like a mobile number too.
        by_name = people.filter(username__iexact=raw).first()
        return (by_name, False) if by_name else (None, len(found) > 1)
    return people.filter(username__iexact=raw).first(), False


def _confirmed_mobile(user: User | None) -> str:
    """The account's confirmed mobile number, or "" (none confirmed, or the profile's phone
    has changed since it was confirmed: a code never goes to an unconfirmed number)."""
    if user is None or not user.mobile_hash or user.mobile_confirmed_at is None:
        return ""
    profile = ResidentProfile.objects.filter(user=user).only("phone").first()
    phone = (profile.phone or "").strip() if profile is not None else ""
    if phone and hmac.compare_digest(mobile_hash(phone), user.mobile_hash):
        return phone
    return ""


def _several_mobile(identifier: str) -> str:
    try:
        return mobile_normalise(identifier)
    except InvalidInput:
        return ""


def password_reset_start(
    *, identifier: str, ip_address: str | None, now: dt.datetime | None = None
) -> SmsChallenge:
    """找回密码第一步: a username, ID number or mobile number. Sends a code to the account's
    confirmed mobile if one account matches and has one; nothing otherwise. The answer, the
    challenge returned and the next page are the same in every case.

    Throttled like login (RESET_THROTTLED, 429: per identifier and address, per address, per
    identifier), counted whether or not an account matched. A mobile that has had its share of
    SMS gets none, silently: refusing aloud would tell that an account is behind it."""
    now = now or timezone.now()
    raw = (identifier or "").strip()
    if not raw:
        raise InvalidInput("请输入用户名、身份证号码或手机号码", code="RESET_IDENTIFIER_REQUIRED")
    if len(raw) > 150:
        raise InvalidInput("输入内容过长，请检查", code="RESET_IDENTIFIER_INVALID")
    key = "reset:" + lookup_hash(raw.upper(), context=RESET_KEY_CONTEXT)[:40]
    try:
        login_attempt_check(
            username=key, ip_address=ip_address, kind=LoginAttempt.Kind.RESET, now=now
        )
    except LoginThrottled as exc:
        raise ResetThrottled(retry_at=exc.retry_at, now=now) from exc

    user, several = _reset_target(raw)
    number = _confirmed_mobile(user)
    sends = SmsChallenge.Sends.CODE if number else SmsChallenge.Sends.NOTHING
    if not number and several:
        number, sends = _several_mobile(raw), SmsChallenge.Sends.SEVERAL
    # Asked whether or not there is a number, so both paths do the same work.
    if _mobile_wait(number, ip_address, now) is not None:
        sends = SmsChallenge.Sends.NOTHING
    sending = sends != SmsChallenge.Sends.NOTHING
    with transaction.atomic():
        challenge = SmsChallenge.objects.create(
            purpose=SmsChallenge.Purpose.RESET,
            sends=sends,
            user=user if sends == SmsChallenge.Sends.CODE else None,
            mobile=number if sending else "",
            mobile_hash=mobile_hash(number) if sending else "",
            created_at=now,
            expires_at=now + CODE_TTL,
            ip_address=ip_address or None,
        )
        # Queued for every challenge, the decoys too: the worker sends nothing for those.
        _queue_send(challenge.pk)
        LoginAttempt.objects.create(
            username=key, ip_address=ip_address or None, kind=LoginAttempt.Kind.RESET
        )
        if sending:
            LoginAttempt.objects.create(
                username=_sms_key(number),
                ip_address=ip_address or None,
                kind=LoginAttempt.Kind.RESET,
            )
        audit_record(
            actor_label="anonymous",
            action="identity.reset_start",
            object_type="sms_challenge",
            object_id=challenge.pk,
            ip_address=ip_address or None,
            data={"sends": sends, "user_id": challenge.user_id},
        )
    return challenge


def password_reset_complete(
    *,
    challenge_id: int | None,
    code: str,
    password: str,
    ip_address: str | None,
    now: dt.datetime | None = None,
) -> User:
    """找回密码第二步: the code and a new password. Every session of the account ends (Django
    ties a session to the password hash, so a new hash signs out every other browser at its
    next request). The caller asks the person to log in again, TOTP included."""
    now = now or timezone.now()
    # The password is first checked without the account's attributes: "too similar to the
    # username" before the code is right would tell a stranger that the account exists.
    _check_new_password(password, User())
    challenge = _challenge_verify(
        challenge_id=challenge_id,
        purpose=SmsChallenge.Purpose.RESET,
        code=code,
        ip_address=ip_address,
        now=now,
    )
    with transaction.atomic():
        challenge = SmsChallenge.objects.select_for_update().get(pk=challenge.pk)
        if challenge.used_at is not None or challenge.user_id is None:
            raise SmsCodeInvalid()
        user = User.objects.select_for_update().get(pk=challenge.user_id)
        if not user.is_active:
            raise SmsCodeInvalid()
        _check_new_password(password, user)
        user.set_password(password)
        user.save(update_fields=["password"])
        challenge.used_at = now
        challenge.save(update_fields=["used_at"])
        audit_record(
            actor=user,
            action="identity.password_reset",
            object_type="user",
            object_id=user.pk,
            ip_address=ip_address or None,
            data={"challenge_id": challenge.pk},
        )
    return user


# ---------------------------------------------------------------- 实名核验 of an account


def _sms_throttle(number: str, ip_address: str | None, now: dt.datetime) -> None:
    try:
        login_attempt_check(
            username=_sms_key(number),
            ip_address=ip_address,
            kind=LoginAttempt.Kind.SMS_CODE,
            now=now,
        )
    except LoginThrottled as exc:
        raise SmsThrottled(retry_at=exc.retry_at, now=now) from exc
    wait = _mobile_wait(number, ip_address, now)
    if wait is not None:
        raise SmsThrottled(retry_at=wait, now=now)


def assurance_raise_start(
    *, user: User, mobile: str, ip_address: str | None, now: dt.datetime | None = None
) -> SmsChallenge:
    """在线实名核验 for a logged-in account below 已实名核验 (opened before registration
    checked names, or in the back office): the profile's name and ID number go to the
    real-name verifier, and a code to MOBILE. Refused: no 居民档案 (NO_RESIDENT_PROFILE, 409),
    a failed check (REAL_NAME_MISMATCH), too many SMS (SMS_THROTTLED)."""
    now = now or timezone.now()
    number = mobile_normalise(mobile)
    profile = ResidentProfile.objects.filter(user=user).first()
    if profile is None or user.kind != User.Kind.PERSON:
        raise NoResidentProfile()
    _sms_throttle(number, ip_address, now)
    if not real_name_verifier().verify(name=profile.name, id_number=profile.id_number):
        raise RealNameMismatch()
    with transaction.atomic():
        challenge = SmsChallenge.objects.create(
            purpose=SmsChallenge.Purpose.VERIFY,
            sends=SmsChallenge.Sends.CODE,
            user=user,
            mobile=number,
            mobile_hash=mobile_hash(number),
            created_at=now,
            expires_at=now + CODE_TTL,
            ip_address=ip_address or None,
        )
        _queue_send(challenge.pk)
        LoginAttempt.objects.create(
            username=_sms_key(number),
            ip_address=ip_address or None,
            kind=LoginAttempt.Kind.SMS_CODE,
        )
        audit_record(
            actor=user,
            action="identity.verify_start",
            object_type="sms_challenge",
            object_id=challenge.pk,
            subject_resident_id=profile.pk,
            ip_address=ip_address or None,
            data={"mobile": mask_phone(number)},
        )
    return challenge


def assurance_raise_complete(
    *,
    user: User,
    challenge_id: int | None,
    code: str,
    ip_address: str | None,
    now: dt.datetime | None = None,
) -> User:
    """The code from assurance_raise_start: the account becomes 已实名核验 (a higher level
    stays), its mobile confirmed and the profile's phone. Another account's challenge, and
    a mobile that has confirmed MOBILE_ACCOUNT_CAP other accounts, are refused."""
    now = now or timezone.now()
    challenge = _challenge_verify(
        challenge_id=challenge_id,
        purpose=SmsChallenge.Purpose.VERIFY,
        code=code,
        ip_address=ip_address,
        now=now,
    )
    with transaction.atomic():
        challenge = SmsChallenge.objects.select_for_update().get(pk=challenge.pk)
        if challenge.used_at is not None or challenge.user_id != user.pk:
            raise SmsCodeInvalid()
        user = User.objects.select_for_update().get(pk=user.pk)
        number = challenge.mobile
        number_hash = mobile_hash(number)
        _check_mobile_cap(number_hash, besides=user)
        previous = user.assurance_level
        _confirm_real_name(user, number_hash, now)
        user.save(
            update_fields=["assurance_level", "assurance_at", "mobile_hash", "mobile_confirmed_at"]
        )
        profile = ResidentProfile.objects.select_for_update().get(user=user)
        profile.phone = number
        profile.save(update_fields=["phone", "updated_at"])
        challenge.used_at = now
        challenge.save(update_fields=["used_at"])
        audit_record(
            actor=user,
            action="identity.verify",
            object_type="user",
            object_id=user.pk,
            subject_resident_id=profile.pk,
            ip_address=ip_address or None,
            data={
                "from": previous,
                "assurance_level": user.assurance_level,
                "mobile": mask_phone(number),
            },
        )
    return user


# ---------------------------------------------------------------- retention

CHALLENGE_KEEP = dt.timedelta(days=1)


def identity_purge_sweep(now: dt.datetime, today: dt.date) -> dict[str, int]:
    """Maintenance sweep: challenges older than a day decide nothing any more (a code lives
    10 minutes; the SMS counts live in LoginAttempt) and hold a name, an ID number and a
    mobile, so they go; so do 示例短信 older than a day. Idempotent."""
    from tongban.identity.models import DemoSms

    before = now - CHALLENGE_KEEP
    with transaction.atomic():
        challenges, _ = SmsChallenge.objects.filter(created_at__lt=before).delete()
        demo, _ = DemoSms.objects.filter(sent_at__lt=before).delete()
        if challenges or demo:
            audit_record(
                actor_label="system:maintenance",
                action="identity.purge",
                data={"challenges": challenges, "demo_sms": demo, "before": before.isoformat()},
            )
    return {"sms_challenges_purged": challenges, "demo_sms_purged": demo}
