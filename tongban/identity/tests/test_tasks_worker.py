"""The code goes out through the real queue: the request queues, the `tasks_worker` command
draws the code and sends it. Commits for real (transaction=True), as `make run` does."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.identity.models import SmsChallenge
from tongban.identity.services import (
    password_reset_start,
    registration_complete,
    registration_start,
)
from tongban.identity.tests.conftest import SENT, code_in

pytestmark = pytest.mark.django_db(transaction=True)


def _run_worker():
    call_command("tasks_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def test_the_worker_draws_and_sends_the_code(settings):
    settings.TONGBAN_SMS_ADAPTER = "tongban.identity.tests.conftest.CapturingSms"
    SENT.clear()
    profile = ResidentProfileFactory(user=None, name="王小明")
    challenge = registration_start(
        name="王小明", id_number=profile.id_number, mobile="13912345678", ip_address="203.0.113.5"
    )
    # Queued, not sent: nothing about the code exists yet, in clear or hashed.
    assert SENT == []
    assert SmsChallenge.objects.get(pk=challenge.pk).code_hash == ""
    queued = DBTaskResult.objects.get()
    assert queued.args_kwargs["kwargs"] == {"challenge_id": challenge.pk}

    _run_worker()

    queued.refresh_from_db()
    assert (queued.status, queued.return_value) == ("SUCCESSFUL", "code")
    assert [phone for phone, _ in SENT] == ["13912345678"]
    user = registration_complete(
        challenge_id=challenge.pk,
        code=code_in(SENT[0][1]),
        username="wangxm",
        password="Kaimen-2026-qiu",
        ip_address="203.0.113.5",
    )
    assert user.username == "wangxm"
    SENT.clear()


def test_a_decoy_is_queued_too_and_sends_nothing(settings):
    settings.TONGBAN_SMS_ADAPTER = "tongban.identity.tests.conftest.CapturingSms"
    SENT.clear()
    challenge = password_reset_start(identifier="nobody", ip_address="203.0.113.5")
    assert DBTaskResult.objects.count() == 1
    _run_worker()
    assert DBTaskResult.objects.get().return_value == "nothing"
    assert SENT == []
    # A code was drawn all the same, so it is checked like any other.
    assert len(SmsChallenge.objects.get(pk=challenge.pk).code_hash) == 64
