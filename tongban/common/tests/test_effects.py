"""Effects decided in a transaction are recorded in it and performed after it, at least once
(tongban.common.effects): the notice's delivery, the case hooks (统一发证, 好差评 invitation,
政策 re-matching), and the outbox relay for a queue outside the database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks import task_backends
from django_tasks_db.models import DBTaskResult

from tongban.cases.models import CaseStatus
from tongban.cases.tests.conftest import birth_materials
from tongban.cases.tests.test_halls_handout import conclude, submit
from tongban.common import effects
from tongban.common.models import OutboxEntry
from tongban.notifications.models import Notice
from tongban.notifications.services import notice_send
from tongban.notifications.tasks import deliver_notice

HOOKS = "tongban.cases.tasks.case_hooks_task"


def _worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def test_a_rolled_back_transaction_queues_nothing(db, resident):
    with pytest.raises(RuntimeError), transaction.atomic():
        notice_send(recipient=resident.user, title="补正通知", body="请补充材料。")
        assert DBTaskResult.objects.filter(task_path__endswith="deliver_notice").count() == 1
        raise RuntimeError("the caller's change failed")
    assert Notice.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_process_that_dies_after_the_commit_leaves_the_hooks_to_the_worker(
    submitted_birth_case, staff, monkeypatch
):
    """The conclusion commits, and the process dies before its after-commit callbacks run
    (dropped here): the worker still invites the rating, once."""
    case = submitted_birth_case
    dropped = []
    with monkeypatch.context() as m:
        m.setattr(transaction, "on_commit", lambda func, *a, **k: dropped.append(func))
        conclude(case, staff)
    assert dropped  # what a dead process never ran
    case.refresh_from_db()
    assert case.status in (CaseStatus.CONCLUDED, CaseStatus.ARCHIVED)
    hooks = DBTaskResult.objects.get(task_path=HOOKS, args_kwargs__kwargs__stage="issuance")
    assert hooks.status == "READY"
    assert hooks.args_kwargs["kwargs"] == {"receipt_no": case.receipt_no, "stage": "issuance"}
    assert Notice.objects.filter(category="review_invite").count() == 0

    _worker()

    hooks.refresh_from_db()
    assert hooks.status == "SUCCESSFUL"
    invites = Notice.objects.filter(recipient=case.applicant, category="review_invite")
    assert invites.count() == 1
    # Their own deliveries were queued with the invitation and ran too.
    assert invites.get().delivered_at is not None
    # At least once means maybe twice: a second run invites nobody again.
    assert effects._backend_kind(deliver_notice) == "database"
    from tongban.cases.services._common import case_hooks_run

    case_hooks_run(receipt_no=case.receipt_no, stage="issuance")
    assert invites.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_committing_process_runs_the_hooks_at_once_and_the_worker_finds_nothing(
    submitted_birth_case, staff
):
    case = submitted_birth_case
    conclude(case, staff)  # autocommit: the after-commit callbacks run as in a real request
    hooks = DBTaskResult.objects.get(task_path=HOOKS, args_kwargs__kwargs__stage="issuance")
    assert (hooks.status, hooks.worker_ids) == ("SUCCESSFUL", [effects.INLINE_WORKER])
    assert Notice.objects.filter(recipient=case.applicant, category="review_invite").count() == 1
    before = DBTaskResult.objects.filter(status="SUCCESSFUL").count()
    _worker()
    hooks.refresh_from_db()
    assert hooks.worker_ids == [effects.INLINE_WORKER]  # not run a second time
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() >= before


def test_a_task_the_worker_claimed_first_is_not_run_inline(db, resident):
    notice = notice_send(recipient=resident.user, title="预约成功", body="")
    row = DBTaskResult.objects.get()
    row.claim("worker-1")
    effects._run_inline(str(row.pk))
    row.refresh_from_db()
    assert (row.status, row.worker_ids) == ("RUNNING", ["worker-1"])
    notice.refresh_from_db()
    assert notice.delivered_at is None


@pytest.fixture
def outside_queue(settings):
    """A queue outside the database: django-tasks' DummyBackend keeps what it is given."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "QUEUES": ["default"],
        }
    }
    return task_backends["default"]


def test_with_a_queue_outside_the_database_an_outbox_row_is_relayed_after_commit(
    db, resident, outside_queue, django_capture_on_commit_callbacks
):
    assert effects._backend_kind(deliver_notice) == "queue"
    with django_capture_on_commit_callbacks(execute=True):
        notice = notice_send(recipient=resident.user, title="补正通知", body="请补充材料。")
        entry = OutboxEntry.objects.get()
        assert (entry.task_path, entry.kwargs, entry.relayed_at) == (
            "tongban.notifications.tasks.deliver_notice",
            {"notice_id": notice.pk},
            None,
        )
        assert outside_queue.results == []
    entry.refresh_from_db()
    assert entry.relayed_at is not None
    [queued] = outside_queue.results
    assert (queued.task.module_path, queued.kwargs) == (
        "tongban.notifications.tasks.deliver_notice",
        {"notice_id": notice.pk},
    )
    assert entry.task_id == str(queued.id)


def test_the_tick_relays_what_a_dead_process_never_handed_to_the_queue(
    db, resident, outside_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        notice = notice_send(recipient=resident.user, title="补正通知", body="请补充材料。")
    entry = OutboxEntry.objects.get()
    now = timezone.now()
    # Too fresh: its own relay may still be on the way.
    assert effects.outbox_relay_sweep(now, now.date()) == {"relayed": 0, "forgotten": 0}
    later = now + effects.RELAY_GRACE + dt.timedelta(seconds=1)
    assert effects.outbox_relay_sweep(later, later.date()) == {"relayed": 1, "forgotten": 0}
    assert [r.kwargs for r in outside_queue.results] == [{"notice_id": notice.pk}]
    # Relayed once only, however often the tick comes.
    assert effects.outbox_relay_sweep(later, later.date()) == {"relayed": 0, "forgotten": 0}
    assert len(outside_queue.results) == 1
    # A week later the relayed row is forgotten.
    week = later + dt.timedelta(days=8)
    assert effects.outbox_relay_sweep(week, week.date()) == {"relayed": 0, "forgotten": 1}
    assert not OutboxEntry.objects.filter(pk=entry.pk).exists()


@pytest.fixture
def submitted_birth_case(catalog, resident, media):
    """出生一件事 filed online with every material, accepted at once (as the cases tests file
    it), results delivered online."""
    case = submit(resident, key="effects-1", materials=birth_materials())
    assert case.status == CaseStatus.ACCEPTED
    return case
