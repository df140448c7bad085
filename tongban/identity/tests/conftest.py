from __future__ import annotations

import re

import pytest

SENT: list[tuple[str, str]] = []


class CapturingSms:
    """Records (phone, text) instead of sending."""

    def send(self, phone: str, text: str) -> None:
        SENT.append((phone, text))


def send_at_once(monkeypatch) -> None:
    """The queued send runs inside the request's own transaction, and its after-commit hand-off
    to the adapter at once: the test's transaction never commits (test_tasks_worker runs the
    real queue)."""
    from django.db import transaction

    from tongban.identity import services

    monkeypatch.setattr(
        services,
        "_queue_send",
        lambda challenge_id: services.challenge_send(challenge_id=challenge_id),
    )
    monkeypatch.setattr(transaction, "on_commit", lambda fn, using=None, robust=False: fn())


def send_after_commit(monkeypatch) -> None:
    """For a live server, whose requests commit: the send runs as the request commits, as if
    the worker were instant."""
    from functools import partial

    from django.db import transaction

    from tongban.identity import services

    monkeypatch.setattr(
        services,
        "_queue_send",
        lambda challenge_id: transaction.on_commit(
            partial(services.challenge_send, challenge_id=challenge_id)
        ),
    )


@pytest.fixture
def sms(settings, monkeypatch):
    """SMS go to a list, sent as soon as each service asks."""
    settings.TONGBAN_SMS_ADAPTER = f"{__name__}.CapturingSms"
    send_at_once(monkeypatch)
    SENT.clear()
    yield SENT
    SENT.clear()


def code_in(text: str) -> str:
    found = re.search(r"验证码为(\d{6})", text)
    assert found, text
    return found.group(1)


class Clock:
    def __init__(self, at):
        self.at = at

    def advance(self, seconds: float) -> None:
        import datetime as dt

        self.at += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    """timezone.now held at one instant, moved only by advance(): rows stamped on save read
    the same clock, so code expiry and SMS intervals are exact."""
    from django.utils import timezone

    frozen = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", lambda: frozen.at)
    return frozen
