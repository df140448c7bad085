"""The self-scheduling maintenance tick on the real django-tasks database backend."""

from __future__ import annotations

import datetime as dt
import io

from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tongban.accounts.models import LoginAttempt
from tongban.cases import schedule
from tongban.cases.tasks import maintenance_tick

TICK = maintenance_tick.module_path


def _ticks():
    return DBTaskResult.objects.filter(task_path=TICK).order_by("enqueued_at")


def _worker():
    call_command("tasks_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def test_schedule_ensure_twice_queues_one_tick(db):
    out = io.StringIO()
    call_command("schedule_ensure", stdout=out)
    call_command("schedule_ensure", stdout=out)
    tick = _ticks().get()
    assert (tick.status, tick.args_kwargs) == ("READY", {"args": [], "kwargs": {}})
    assert out.getvalue().splitlines() == [
        f"maintenance tick queued {tick.pk} (every 900s)",
        "maintenance tick already scheduled (every 900s)",
    ]


def test_a_running_tick_counts_unless_it_is_stale(db):
    now = timezone.now()
    first = schedule.schedule_ensure(now=now)
    DBTaskResult.objects.filter(pk=first).update(status="RUNNING", started_at=now)
    assert schedule.schedule_ensure(now=now) is None
    # Its worker died an hour and more ago: the chain is restarted.
    later = now + schedule.RUNNING_STALE_AFTER + dt.timedelta(seconds=1)
    second = schedule.schedule_ensure(now=later)
    assert second is not None and second != first
    assert _ticks().filter(status="READY").count() == 1


def test_the_worker_runs_a_tick_which_queues_exactly_one_successor(transactional_db, settings):
    # Committed for real: the worker claims and runs in its own transactions, as in `make run`.
    settings.TONGBAN_SWEEP_INTERVAL_SECONDS = 600
    first = schedule.schedule_ensure()
    before = timezone.now()
    _worker()
    after = timezone.now()

    ticks = list(_ticks())
    assert len(ticks) == 2
    done, nxt = (ticks[0], ticks[1]) if str(ticks[0].pk) == first else (ticks[1], ticks[0])
    assert done.status == "SUCCESSFUL"
    assert nxt.status == "READY"
    assert before + dt.timedelta(seconds=600) <= nxt.run_after <= after + dt.timedelta(seconds=600)
    assert done.return_value == {
        "next": str(nxt.pk),
        "tasks_reminded": 0,
        "tasks_escalated": 0,
        "supplements_reminded": 0,
        "supplements_expired": 0,
        "deferred_overdue": 0,
        "login_attempts_purged": 0,
        "certificates_expiring_notified": 0,
        "reviews_overdue_flagged": 0,
        # Registration and reset challenges, and 示例短信, older than a day.
        "identity_sms_challenges_purged": 0,
        "identity_demo_sms_purged": 0,
        # The daily 政策找人 run (no policies are loaded here: it runs and finds no one).
        "policies_match_runs": 1,
        "policies_match_new": 0,
        # No trust list was published yet: the tick signs the first edition.
        "trust_list_sequence": 1,
        # 行政协助 reminders and overdue marks; 告知承诺事后核查; 平台稍后核验 retries.
        "assistance_overdue": 0,
        # 智能客服 conversations past their retention period.
        "assistant_purged": 0,
        # 在线客服 conversations still queued at closing time become 留言.
        "helpdesk_moved_to_message": 0,
        "assistance_reminded": 0,
        "commitment_checks_retry": 0,
        "commitment_checks_screened": 0,
        "commitment_checks_selected": 0,
        "commitment_checks_to_person": 0,
        "commitment_checks_verified": 0,
        "exchange_source_retry_failed": 0,
        "exchange_source_retry_needed": 0,
        "exchange_source_retry_still_down": 0,
        "exchange_source_retry_verified": 0,
        # 统一预约 slots ahead, reminders, no-shows; 取号叫号 day's end; 轮候 lapsed offers.
        "booking_generated": 0,
        "booking_no_show": 0,
        "booking_reminded": 0,
        "queue_sessions_closed": 0,
        "queue_tickets_cancelled": 0,
        "queue_wait_stats": 0,
        "waitlist_expired": 0,
        "waitlist_offered": 0,
        # 服务指标: today computed (nothing to count yet); no activity marks old enough to go.
        "metrics_days": 1,
        "metrics_activity_purged": 0,
        # Outbox relays a dead process never made; staging notes settled; the day's scan of
        # stored files (none yet) for ones no row names.
        "outbox_relayed": 0,
        "outbox_forgotten": 0,
        "files_notes_settled": 0,
        "files_orphans_removed": 0,
        "files_scanned": 0,
    }
    # The successor is not due yet: another worker pass runs nothing and adds nothing.
    _worker()
    assert _ticks().count() == 2


def test_a_tick_that_finds_another_queued_adds_none(db):
    now = timezone.now()
    waiting = maintenance_tick.using(run_after=now + dt.timedelta(minutes=5)).enqueue()
    result = schedule.tick_run(current_id=None, now=now)
    assert result.next_id is None
    assert [str(t.pk) for t in _ticks()] == [str(waiting.id)]
    # That one, when it runs, carries the chain on.
    nxt = schedule.schedule_next(current_id=str(waiting.id), now=now)
    assert nxt is not None
    assert _ticks().filter(status="READY").count() == 2


def test_the_tick_purges_login_tries_older_than_the_throttle_window(db, settings):
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900
    now = timezone.now()
    rows = [LoginAttempt.objects.create(username=f"u{i}") for i in range(3)]
    ages = [dt.timedelta(seconds=901), dt.timedelta(seconds=899), dt.timedelta(days=3)]
    for row, age in zip(rows, ages, strict=True):
        LoginAttempt.objects.filter(pk=row.pk).update(at=now - age)

    result = schedule.tick_run(current_id=None, now=now)
    assert result.failed == ()
    assert result.counts["login_attempts_purged"] == 2
    assert list(LoginAttempt.objects.values_list("username", flat=True)) == ["u1"]


def test_a_backend_that_cannot_defer_schedules_nothing(db, settings):
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default"],
        }
    }
    err = io.StringIO()
    call_command("schedule_ensure", stdout=io.StringIO(), stderr=err)
    assert "cannot defer" in err.getvalue()
    assert schedule.schedule_next(current_id=None) is None
    assert DBTaskResult.objects.count() == 0


def test_registered_sweeps_of_other_apps_run_in_the_tick_and_a_failure_stays_contained(
    db, monkeypatch
):
    calls = []

    def counting(now, today):
        calls.append((now, today))
        return {"done": 3}

    def broken(now, today):
        raise RuntimeError("boom")

    monkeypatch.setattr(schedule, "_registered_sweeps", {})
    schedule.register_maintenance_sweep("zz_counting", counting)
    schedule.register_maintenance_sweep("aa_broken", broken)
    now = timezone.now()
    result = schedule.tick_run(current_id=None, now=now, today=dt.date(2026, 10, 9))
    assert calls == [(now, dt.date(2026, 10, 9))]
    assert result.counts["zz_counting_done"] == 3
    assert result.failed == ("aa_broken",)
