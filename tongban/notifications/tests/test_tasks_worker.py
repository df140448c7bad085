"""Deliveries through the real queue: enqueue on commit, then the `tasks_worker` command runs them.

These tests commit for real (transaction=True): the worker claims tasks in its own
transactions, exactly as the separate worker process does in `make run`.
"""

import pytest
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from tongban.accounts.tests.factories import UserFactory
from tongban.notifications.services import notice_send
from tongban.notifications.tasks import deliver_notice

pytestmark = pytest.mark.django_db(transaction=True)


def _run_worker():
    call_command("tasks_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def test_worker_emails_a_user_with_an_address():
    user = UserFactory(username="mail_user", email="wang@example.org")
    # Autocommit: on_commit runs at once, as after any committed service call.
    notice = notice_send(
        recipient=user, title="办件已办结", body="您的出生一件事已办结。", link="/me/"
    )
    queued = DBTaskResult.objects.get()
    assert queued.status == "READY"

    _run_worker()

    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL"
    assert queued.return_value == "email"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "办件已办结"
    assert mail.outbox[0].to == ["wang@example.org"]
    assert mail.outbox[0].body == "您的出生一件事已办结。\n\n详情请登录通办查看：/me/"
    notice.refresh_from_db()
    assert notice.delivered_at is not None
    assert notice.read_at is None  # delivering elsewhere does not mean it was read


def test_worker_marks_delivery_without_email():
    user = UserFactory(username="no_mail_user", email="")
    notice = notice_send(recipient=user, title="预约成功", body="")
    _run_worker()
    assert DBTaskResult.objects.get().return_value == "none"
    assert mail.outbox == []
    notice.refresh_from_db()
    assert notice.delivered_at is not None


def test_delivery_is_idempotent():
    user = UserFactory(username="twice_user", email="twice@example.org")
    notice = notice_send(recipient=user, title="补正通知", body="请补充材料。")
    assert deliver_notice.call(notice_id=notice.pk) == "email"
    assert deliver_notice.call(notice_id=notice.pk) == "already-delivered"
    assert deliver_notice.call(notice_id=999_999) == "missing"
    assert len(mail.outbox) == 1


def test_a_rolled_back_sender_sends_nothing():
    from django.db import transaction

    user = UserFactory(username="rollback_user", email="rb@example.org")
    with pytest.raises(RuntimeError), transaction.atomic():
        notice_send(
            recipient=user,
            template="sla_escalation",
            context={"item_name": "出生登记", "receipt": "TB-1", "due_date": "2026-10-08"},
        )
        raise RuntimeError("the caller's change failed")
    _run_worker()
    assert DBTaskResult.objects.count() == 0
    assert mail.outbox == []
