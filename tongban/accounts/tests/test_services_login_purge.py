"""Old login tries are removed: they no longer decide any throttle and are personal data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.models import LoginAttempt
from tongban.accounts.services import login_attempts_purge
from tongban.common.models import AuditEvent


def _attempt(username: str, at: dt.datetime) -> LoginAttempt:
    row = LoginAttempt.objects.create(username=username, ip_address="192.0.2.1")
    LoginAttempt.objects.filter(pk=row.pk).update(at=at)
    return row


def test_purge_removes_exactly_the_rows_before_the_cut_off(db):
    cut = timezone.now() - dt.timedelta(minutes=15)
    _attempt("old", cut - dt.timedelta(microseconds=1))
    _attempt("older", cut - dt.timedelta(days=30))
    _attempt("edge", cut)
    _attempt("new", cut + dt.timedelta(minutes=1))

    assert login_attempts_purge(before=cut) == 2
    assert sorted(LoginAttempt.objects.values_list("username", flat=True)) == ["edge", "new"]
    event = AuditEvent.objects.get(action="auth.login_attempts_purge")
    assert (event.actor_label, event.data) == (
        "system:maintenance",
        {"deleted": 2, "before": cut.isoformat()},
    )
    assert login_attempts_purge(before=cut) == 0
    assert AuditEvent.objects.filter(action="auth.login_attempts_purge").count() == 1


def test_purge_refuses_a_naive_cut_off(db):
    with pytest.raises(ValueError):
        login_attempts_purge(before=dt.datetime(2026, 1, 1))
    assert LoginAttempt.objects.count() == 0
