"""账号激活: a counter clerk issues a one-time code, the resident sets their own password."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import authenticate
from django.utils import timezone

from tongban.accounts.errors import (
    AccountAlreadyActive,
    ActivationInvalid,
    ActivationThrottled,
    NotACounterClerk,
    PasswordTooWeak,
    UsernameTaken,
)
from tongban.accounts.models import AccountActivationCode, LoginAttempt, StaffRole, User
from tongban.accounts.services import (
    ACTIVATION_ALPHABET,
    account_activate,
    account_activation_issue,
    resident_account_open_at_counter,
)
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.accounts.validators import make_id_number
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice

ID = "31010419900307123X"
NEW_PASSWORD = "Shanghai-Tongban-2026"
GENERIC = ActivationInvalid.message


@pytest.fixture
def clerk(department):
    return StaffFactory(username="clerk1", department=department, role=StaffRole.COUNTER_CLERK)


@pytest.fixture
def walk_in(db):
    """A profile whose account was opened at the counter: no usable password."""
    profile = ResidentProfileFactory(user=None, name="李阿婆", id_number=ID)
    resident_account_open_at_counter(actor="system:test", profile=profile)
    profile.refresh_from_db()
    return profile


def _activate(code, *, id_number=ID, username="", password=NEW_PASSWORD, ip="10.0.0.1", **kw):
    return account_activate(
        id_number=id_number, code=code, username=username, password=password, ip_address=ip, **kw
    )


def test_issue_then_activate_then_log_in(clerk, walk_in, django_capture_on_commit_callbacks):
    # The trail is append-only: look only at what issuing writes.
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with django_capture_on_commit_callbacks(execute=False):
        code = account_activation_issue(actor=clerk, profile=walk_in)
    assert len(code) == 8 and set(code) <= set(ACTIVATION_ALPHABET)
    row = AccountActivationCode.objects.get()
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert row.user_id == walk_in.user_id and row.issued_by == clerk
    assert row.expires_at - row.issued_at == pytest.approx(
        dt.timedelta(hours=72), abs=dt.timedelta(seconds=5)
    )
    issue = AuditEvent.objects.get(id__gt=before)
    assert (issue.action, issue.actor, issue.subject_resident_id) == (
        "account_activation.issue", clerk, walk_in.pk,
    )  # fmt: skip
    assert code not in str(issue.data)
    notice = Notice.objects.get(recipient=walk_in.user)
    assert notice.template == "account_activation"
    assert code not in notice.title + notice.body + notice.sms_text
    assert "综合窗口已为您开具账号激活码" in notice.sms_text

    user = _activate(f"{code[:4].lower()} {code[4:]}", id_number=ID.lower(), username="li_apo")
    user.refresh_from_db()
    assert user.username == "li_apo" and user.pk == walk_in.user_id
    assert authenticate(username="li_apo", password=NEW_PASSWORD) == user
    row.refresh_from_db()
    assert row.used_at is not None
    done = AuditEvent.objects.get(action="account_activation.complete")
    assert (done.actor, done.subject_resident_id) == (user, walk_in.pk)
    assert done.data["username_changed"] is True
    # Used once: the same code again is the generic refusal and changes nothing.
    with pytest.raises(ActivationInvalid):
        _activate(code, password="Another-Password-99")
    assert authenticate(username="li_apo", password=NEW_PASSWORD) == user


def test_blank_username_keeps_the_walk_in_name(clerk, walk_in):
    code = account_activation_issue(actor=clerk, profile=walk_in)
    user = _activate(code)
    assert user.username == walk_in.user.username and user.username.startswith("walkin_")
    assert user.check_password(NEW_PASSWORD)


def test_a_profile_without_an_account_gets_one_opened(clerk, db):
    profile = ResidentProfileFactory(user=None, id_number=ID)
    code = account_activation_issue(actor=clerk, profile=profile)
    profile.refresh_from_db()
    assert profile.user.username.startswith("walkin_")
    assert not profile.user.has_usable_password()
    assert _activate(code).check_password(NEW_PASSWORD)


def _assert_unchanged(walk_in, row_count=1):
    walk_in.user.refresh_from_db()
    assert not walk_in.user.has_usable_password()
    assert walk_in.user.username.startswith("walkin_")
    assert AccountActivationCode.objects.filter(used_at__isnull=False).count() == 0
    assert AccountActivationCode.objects.count() == row_count
    assert not AuditEvent.objects.filter(action="account_activation.complete").exists()


@pytest.mark.parametrize("case", ["wrong_code", "wrong_id", "unknown_id", "malformed", "expired"])
def test_bad_codes_get_one_message_and_change_nothing(clerk, walk_in, case):
    code = account_activation_issue(actor=clerk, profile=walk_in)
    other = ResidentProfileFactory(id_number=make_id_number("310104", dt.date(1960, 1, 2), 7))
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    kwargs = {
        "wrong_code": {"code": wrong},
        "wrong_id": {"code": code, "id_number": other.id_number},
        "unknown_id": {"code": code, "id_number": make_id_number("310104", dt.date(1961, 3, 4), 9)},
        "malformed": {"code": code[:6]},
        "expired": {"code": code, "now": timezone.now() + dt.timedelta(hours=72, seconds=1)},
    }[case]
    with pytest.raises(ActivationInvalid) as info:
        _activate(**kwargs)
    assert info.value.message == GENERIC
    _assert_unchanged(walk_in)
    failed = AuditEvent.objects.get(action="account_activation.failed")
    assert failed.actor is None and failed.actor_label == "anonymous"
    assert LoginAttempt.objects.filter(succeeded=False).count() == 1


def test_an_account_that_already_has_a_password_is_refused_generically(clerk, walk_in):
    code = account_activation_issue(actor=clerk, profile=walk_in)
    walk_in.user.set_password("Set-By-Admin-123")
    walk_in.user.save()
    with pytest.raises(ActivationInvalid):
        _activate(code)
    walk_in.user.refresh_from_db()
    assert walk_in.user.check_password("Set-By-Admin-123")
    with pytest.raises(AccountAlreadyActive):
        account_activation_issue(actor=clerk, profile=walk_in)


def test_issuing_again_invalidates_the_first_code(clerk, walk_in):
    first = account_activation_issue(actor=clerk, profile=walk_in)
    second = account_activation_issue(actor=clerk, profile=walk_in)
    assert AccountActivationCode.objects.filter(revoked_at__isnull=False).count() == 1
    assert AccountActivationCode.objects.filter(revoked_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action="account_activation.issue").count() == 2
    if first != second:
        with pytest.raises(ActivationInvalid):
            _activate(first)
        _assert_unchanged(walk_in, row_count=2)
    assert _activate(second).check_password(NEW_PASSWORD)


def test_failures_make_the_next_try_wait_per_id_and_address(clerk, walk_in, clock):
    code = account_activation_issue(actor=clerk, profile=walk_in)
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    for _ in range(5):
        with pytest.raises(ActivationInvalid):
            _activate(wrong, ip="10.0.0.1")
    clock.advance(1)  # five failures ask for 1 s
    with pytest.raises(ActivationInvalid):
        _activate(wrong, ip="10.0.0.1")
    with pytest.raises(ActivationThrottled) as info:
        _activate(code, ip="10.0.0.1")  # even the right code waits: 2 s after the sixth
    assert (info.value.http_status, info.value.retry_after_seconds) == (429, 2)
    _assert_unchanged(walk_in)
    # Activation rows are their own kind: the ID's count does not touch password logins.
    assert set(LoginAttempt.objects.values_list("kind", flat=True)) == {"activation"}
    # From another address only the ID-wide rule applies, and six is under its ten free.
    assert _activate(code, ip="10.0.0.9").check_password(NEW_PASSWORD)


def test_rotating_addresses_waits_seconds_not_a_lock(clerk, walk_in, clock):
    code = account_activation_issue(actor=clerk, profile=walk_in)
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    for i in range(10):
        with pytest.raises(ActivationInvalid):
            _activate(wrong, ip=f"10.0.1.{i}")
    clock.advance(1)  # ten failures for the ID ask for 1 s
    with pytest.raises(ActivationInvalid):
        _activate(wrong, ip="10.0.1.10")
    with pytest.raises(ActivationThrottled) as info:
        _activate(code, ip="10.0.0.9")
    assert info.value.retry_after_seconds == 2  # eleven: 2 s, never more than 5
    _assert_unchanged(walk_in)
    clock.advance(2)
    assert _activate(code, ip="10.0.0.9").check_password(NEW_PASSWORD)


@pytest.mark.parametrize("who", ["resident", "reviewer", "anonymous", "inactive_clerk"])
def test_only_a_counter_clerk_may_issue(who, walk_in, department, reviewer):
    from django.contrib.auth.models import AnonymousUser

    actor = {
        "resident": lambda: ResidentProfileFactory().user,
        "reviewer": lambda: reviewer,
        "anonymous": AnonymousUser,
        "inactive_clerk": lambda: StaffFactory(
            department=department, role=StaffRole.COUNTER_CLERK, is_active=False
        ),
    }[who]()
    before = AuditEvent.objects.count()
    with pytest.raises(NotACounterClerk):
        account_activation_issue(actor=actor, profile=walk_in)
    assert AccountActivationCode.objects.count() == 0
    assert Notice.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_password_and_username_problems_are_told_and_do_not_count(clerk, walk_in):
    code = account_activation_issue(actor=clerk, profile=walk_in)
    with pytest.raises(PasswordTooWeak):
        _activate(code, password="12345678")
    ResidentProfileFactory(user__username="taken")
    with pytest.raises(UsernameTaken):
        _activate(code, username="taken")
    with pytest.raises(Exception) as info:
        _activate(code, username="walkin_mine")
    assert info.value.code == "USERNAME_INVALID"
    assert LoginAttempt.objects.count() == 0
    _assert_unchanged(walk_in)
    assert User.objects.filter(username="taken").count() == 1
