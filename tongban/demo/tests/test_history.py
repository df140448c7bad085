"""示例办件历史: a year of past cases, written once, as the case engine would have left them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db.models import Sum
from django.utils import timezone

from tongban.accounts.models import User
from tongban.appointments.models import Booking, Ticket, WaitStat
from tongban.cases.models import (
    Application,
    CaseEvent,
    MaterialSubmission,
    Task,
    status_from_events,
)
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.models import Certificate
from tongban.certificates.services import certificate_types_load
from tongban.common.models import AuditEvent
from tongban.demo.accounts import ensure_demo_accounts
from tongban.demo.booking import ensure_demo_booking
from tongban.demo.certificates import ensure_demo_certificates
from tongban.demo.history import KEY, ensure_demo_history, month_plans
from tongban.demo.population import generate_enterprises, generate_residents
from tongban.exchange.services import data_sources_load
from tongban.metrics.models import DailyCaseFact, DailyHallFact, MonthlyCaseFact, RolledUpDay
from tongban.metrics.services import rollup_range
from tongban.reviews.models import Rating, WorkOrder

DEMO = Path(__file__).resolve().parents[1] / "definitions"
TODAY = dt.date(2026, 12, 5)  # history: 2025-12-01 to 2026-12-04
PER_MONTH = 20


@pytest.fixture
def city(db):
    catalog_load_directory(path=DEMO)
    data_sources_load(directory=DEMO / "data_sources", actor_label="test")
    certificate_types_load(directory=DEMO / "certificate_types")
    ensure_demo_accounts()
    ensure_demo_booking()
    generate_residents(count=120, seed=3, progress=False)
    generate_enterprises(count=12, seed=3, progress=False)
    ensure_demo_certificates(max_residents=60, max_enterprises=12)


def _history():
    return Application.objects.filter(idempotency_key__startswith=KEY)


def test_month_plans_rise_from_60_to_80_percent_online():
    plans = month_plans(today=TODAY, months=13, per_month=PER_MONTH)
    assert [(p.month, p.first, p.last) for p in (plans[0], plans[-1])] == [
        (dt.date(2025, 12, 1), dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        (dt.date(2026, 12, 1), dt.date(2026, 12, 1), dt.date(2026, 12, 4)),
    ]
    # Whole months file PER_MONTH; December 2026 has 4 of its 31 days so far.
    assert [p.cases for p in plans] == [20] * 12 + [3]
    assert [p.online for p in plans] == [12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15, 16, 2]
    assert plans[0].counter == 8


def test_history_is_written_once_as_the_engine_would_have_left_it(city):
    result = ensure_demo_history(per_month=PER_MONTH, today=TODAY)
    plans = month_plans(today=TODAY, months=13, per_month=PER_MONTH)

    assert result.cases == 243
    assert (result.first_day, result.last_day) == (dt.date(2025, 12, 1), dt.date(2026, 12, 4))
    assert result.by_channel == {"online": 168, "counter": 75}
    # Each month's channels are exactly the plan's: the online share rises month by month.
    seen = Counter(
        (timezone.localdate(c.submitted_at).replace(day=1), c.channel) for c in _history()
    )
    assert [(seen[(p.month, "online")], seen[(p.month, "counter")]) for p in plans] == [
        (p.online, p.counter) for p in plans
    ]
    assert AuditEvent.objects.filter(action="demo.history").count() == 1

    # 一件事 and items of the catalog, filed by synthetic residents with login-less accounts.
    cases = list(_history().prefetch_related("events", "tasks", "materials"))
    assert {c.kind for c in cases} == {"item", "bundle"}
    assert all(c.name.endswith("（示例）") for c in cases)
    applicants = User.objects.filter(pk__in={c.applicant_id for c in cases})
    assert all(
        u.username.startswith("demohist_") and not u.has_usable_password() for u in applicants
    )
    assert not _history().filter(applicant__username__in=["resident1", "agent1"]).exists()

    for c in cases:
        events = list(c.events.all())
        tasks = list(c.tasks.all())
        # The status is the events' and every task is decided, so no queue inherits work.
        assert c.status == status_from_events(events) == "archived"
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[0].action == "submitted" and events[0].at == c.submitted_at
        assert [e.at for e in events] == sorted(e.at for e in events)
        assert len(tasks) == len(c.plan["items"])
        assert {t.status for t in tasks} <= {"approved", "denied"}
        outcome = {
            frozenset({"approved"}): "approved",
            frozenset({"denied"}): "denied",
        }.get(frozenset(t.status for t in tasks), "partly_approved")
        assert c.outcome == outcome
        assert c.concluded_at == max(t.decided_at for t in tasks)
        assert {e.data["task"] for e in events if e.action.startswith("task_")} == {
            t.pk for t in tasks
        }
        assert c.submitted_at <= c.accepted_at <= c.concluded_at
        assert c.concluded_at.date() <= dt.date(2026, 12, 4)
        if c.channel == "counter":
            assert c.hall_id and c.filed_by_id and events[0].actor_id == c.filed_by_id
            assert Ticket.objects.filter(case=c, hall_id=c.hall_id).count() == 1
        if c.delivery != "online":
            assert c.handed_out_at and [e.action for e in events][-2:] == [
                "handed_out",
                "archived",
            ]
        spared = {m["code"] for m in c.plan["materials"] if m["spared"]}
        waived = {m.material_code for m in c.materials.all() if m.how == "waived"}
        assert waived == spared

    # Every upload is a file of its own in storage; every certificate waiver names a
    # certificate the applicant (or the enterprise) really holds.
    uploads = MaterialSubmission.objects.filter(case__in=_history(), how="upload")
    names = list(uploads.values_list("file", flat=True))
    assert len(names) > 50 and len(set(names)) == len(names)
    for m in uploads.select_related("case"):
        assert default_storage.exists(m.file.name)
        with default_storage.open(m.file.name, "rb") as fh:
            content = fh.read()
        assert content.startswith(b"%PDF-") and m.case.receipt_no.encode() in content
        assert len(content) == m.size
    by_certificate = MaterialSubmission.objects.filter(case__in=_history()).exclude(
        certificate_serial=""
    )
    assert by_certificate.exists()
    for m in by_certificate.select_related("case"):
        cert = Certificate.objects.get(serial=m.certificate_serial)
        assert (cert.holder_profile_id, cert.holder_enterprise_id) in {
            (m.case.applicant_profile_id, None),
            (None, m.case.enterprise_id),
        }
    hows = Counter(
        MaterialSubmission.objects.filter(case__in=_history()).values_list("how", flat=True)
    )
    assert hows["waived"] and hows["commitment"] and hows["upload"]
    by_source = MaterialSubmission.objects.filter(case__in=_history(), how="waived").exclude(
        source_code=""
    )
    assert by_source.exists() and not by_source.filter(source_answered_at=None).exists()
    assert not MaterialSubmission.objects.filter(
        case__in=_history(), how="waived", note=""
    ).exists()

    ratings = Rating.objects.filter(case__in=_history())
    assert ratings.exists() and all("示例" in r.comment or not r.comment for r in ratings)
    assert not WorkOrder.objects.filter(rating__in=ratings).exclude(status="closed").exists()
    assert Booking.objects.filter(status="completed").exists()
    assert Booking.objects.filter(status="no_show").exists()
    assert WaitStat.objects.filter(window__isnull=True).exists()

    counts = {
        "cases": Application.objects.count(),
        "events": CaseEvent.objects.count(),
        "tasks": Task.objects.count(),
        "materials": MaterialSubmission.objects.count(),
        "ratings": Rating.objects.count(),
        "tickets": Ticket.objects.count(),
        "bookings": Booking.objects.count(),
        "users": User.objects.count(),
    }
    again = ensure_demo_history(per_month=PER_MONTH, today=TODAY)
    assert again.cases == 0
    assert counts == {
        "cases": Application.objects.count(),
        "events": CaseEvent.objects.count(),
        "tasks": Task.objects.count(),
        "materials": MaterialSubmission.objects.count(),
        "ratings": Rating.objects.count(),
        "tickets": Ticket.objects.count(),
        "bookings": Booking.objects.count(),
        "users": User.objects.count(),
    }


def test_a_month_of_history_rolls_up_into_the_figures(city):
    ensure_demo_history(per_month=PER_MONTH, months=2, today=TODAY)
    november = [dt.date(2026, 11, 1) + dt.timedelta(days=n) for n in range(30)]

    rolled = rollup_range(start=november[0], end=november[-1])

    assert [r.day for r in rolled] == november
    assert RolledUpDay.objects.filter(day__in=november).count() == 30
    filed = _history().filter(
        submitted_at__date__gte=november[0], submitted_at__date__lte=november[-1]
    )
    month = MonthlyCaseFact.objects.filter(month=november[0])
    plan = month_plans(today=TODAY, months=2, per_month=PER_MONTH)[0]
    # Only history cases in November here: the figures are the plan's.
    assert filed.count() == plan.cases == 20
    assert {
        ch: month.filter(channel=ch).aggregate(n=Sum("submitted"))["n"]
        for ch in ("online", "counter")
    } == {"online": plan.online, "counter": plan.counter}
    assert DailyCaseFact.objects.filter(day__in=november).aggregate(n=Sum("submitted"))["n"] == 20
    uploads = MaterialSubmission.objects.filter(case__in=filed, how="upload").count()
    assert month.aggregate(n=Sum("materials_uploaded"))["n"] == uploads
    tickets = Ticket.objects.filter(day__in=november)
    hall_rows = DailyHallFact.objects.filter(day__in=november, window__isnull=True)
    assert hall_rows.aggregate(n=Sum("tickets"))["n"] == tickets.count()
    assert (
        hall_rows.aggregate(n=Sum("tickets_called"))["n"] == tickets.exclude(called_at=None).count()
    )
