"""服务指标 roll-up of one city day: rollup_day over 140,000 cases, and the sweep that computes
the day again after 1% of it changed late.

    .venv/bin/python benchmarks/metrics_rollup.py [--cases 140000] [--people 50000]
        [--rated 0.10] [--late 0.01] [--online 0.8]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

The seed's city files about 140,000 cases a day. A fresh database (a temporary SQLite file,
or with --postgres the scratch database DBNAME, dropped and created first and dropped at the
end; "test" and "postgres" are refused) gets the demo catalog, halls, staff and a small
population, then one past working day D of CASES synthetic cases written by the demo
history's own row builders (tongban/demo/history.py HistoryWriter: plans from the guide,
materials waived, committed, deferred or uploaded — each upload a small PDF of its own in
storage —, tasks, ratings of a RATED share with their subjects, the counter cases' tickets
and the hall's walk-ins and bookings), filed by PEOPLE login-less accounts, ONLINE of them
online. The event log is not written (the roll-up never reads it). Every case concludes on D
too, so D holds what a steady day holds: CASES filed and CASES concluded.

Measured, in process:
- rollup_day(D): reads the day's cases (plans included), materials, ratings and work
  orders, bookings and tickets, writes its fact rows and sums its month again;
- rollup_sweep, first: no watermark yet, so it reads every case's dates once and computes
  D (and today) again — what the first maintenance tick after an import does;
- rollup_sweep after LATE of D's cases changed (saved again later: a note added to the
  hand-out record) and as many of D's ratings were excluded on appeal: it finds D from the changes alone (by the
  watermarks) and computes it again.

Writes benchmarks/results/metrics-rollup-<db>.json; the data folder is removed at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import RESULTS, django_in_process, postgres_admin

CHUNK = 5000
POPULATION = 200  # synthetic residents with profiles and certificates (the rest: accounts)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(args) -> dict:
    """The city and day D; returns what was written and how long it took."""
    import datetime as dt

    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from tongban.accounts.models import User
    from tongban.cases.models import Channel
    from tongban.demo import history
    from tongban.demo.accounts import ensure_demo_accounts
    from tongban.demo.booking import ensure_demo_booking
    from tongban.demo.certificates import ensure_demo_certificates
    from tongban.demo.population import generate_enterprises, generate_residents
    from tongban.metrics.models import ActivityChannel, Audience
    from tongban.metrics.services import activity_record

    started = time.perf_counter()
    # As city_setup loads them: the catalog with its data sources, then certificate types.
    call_command("catalog_load", stdout=io.StringIO())
    call_command("certificate_types_load", stdout=io.StringIO())
    ensure_demo_accounts()
    ensure_demo_booking()
    generate_residents(count=POPULATION, seed=11, progress=False)
    generate_enterprises(count=POPULATION // 10, seed=11, progress=False)
    ensure_demo_certificates(max_residents=POPULATION, max_enterprises=POPULATION // 10)
    today = timezone.localdate()
    day = today - dt.timedelta(days=1)
    while not history.works(day):
        day -= dt.timedelta(days=1)
    city = history.city_context(seed=11, since=day, today=today, residents=POPULATION)
    password = make_password(None)
    for start in range(0, args.people, CHUNK):
        User.objects.bulk_create(
            User(username=f"benchp{i:07d}", kind=User.Kind.PERSON, password=password)
            for i in range(start, min(args.people, start + CHUNK))
        )
    people = User.objects.filter(username__startswith="benchp").values_list("pk", "username")
    city.residents += [
        history.Person(pk, name, None, f"示例{name[-3:]}") for pk, name in people.iterator()
    ]
    setup_seconds = time.perf_counter() - started
    log(f"… city ready in {setup_seconds:.0f} s; writing {args.cases:,} cases for {day}")

    started = time.perf_counter()
    writer = history.HistoryWriter(city, seed=11, last_day=day)
    rng = random.Random(11)
    counts: dict[str, int] = {}
    counter_cases, online_people = [], set()
    for start in range(0, args.cases, CHUNK):
        n = min(CHUNK, args.cases - start)
        channels = [
            Channel.ONLINE if rng.random() < args.online else Channel.COUNTER for _ in range(n)
        ]
        cases = [c for c in (writer.draw(day, ch) for ch in channels) if c is not None]
        with transaction.atomic():
            for k, v in (
                writer.write(cases, log=False) | writer.rate(cases, share=args.rated)
            ).items():
                counts[k] = counts.get(k, 0) + v
        for c in cases:
            if c.channel == Channel.COUNTER:
                c.plan, c.materials = {}, []  # the tickets need the rest only
                counter_cases.append(c)
            else:
                online_people.add(c.applicant.user_id)
        log(f"  {start + n:,} cases ({time.perf_counter() - started:.0f} s)")
    with transaction.atomic():
        writer.hall_day(day, counter_cases)
        counts.update(writer.write_halls())
        people = sorted(online_people)
        half = len(people) // 2
        for ids, channel in (
            (people[:half], ActivityChannel.WEB),
            (people[half:], ActivityChannel.MOBILE),
        ):
            activity_record(user_ids=ids, channel=channel, audience=Audience.RESIDENT, day=day)
    counts["active_online"] = len(online_people)
    return {
        "day": day,
        "counts": counts,
        "setup_seconds": round(setup_seconds, 1),
        "write_seconds": round(time.perf_counter() - started, 1),
    }


def late_changes(day, share: float) -> dict[str, int]:
    """SHARE of DAY's cases changed afterwards, and as many of its ratings excluded."""
    from django.db.models import F, Value
    from django.db.models.functions import Concat
    from django.utils import timezone

    from tongban.cases.models import Application
    from tongban.metrics.services import day_bounds
    from tongban.reviews.models import Rating

    start, end = day_bounds(day)
    now = timezone.now()
    filed = Application.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
    ids = list(filed.order_by("pk").values_list("pk", flat=True))
    changed = ids[:: max(1, round(1 / share))] if share > 0 else []
    # queryset.update leaves auto_now alone: set updated_at as the services' save() would.
    Application.objects.filter(pk__in=changed).update(
        handout_note=Concat(F("handout_note"), Value("（补录，示例）")), updated_at=now
    )
    ratings = list(
        Rating.objects.filter(created_at__gte=start, created_at__lt=end, excluded=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    excluded = ratings[:: max(1, round(1 / share))] if share > 0 and ratings else []
    Rating.objects.filter(pk__in=excluded).update(excluded=True, excluded_at=now)
    return {"cases_changed": len(changed), "ratings_excluded": len(excluded)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=140_000)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--rated", type=float, default=0.10)
    parser.add_argument("--late", type=float, default=0.01)
    parser.add_argument("--online", type=float, default=0.8)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    vendor = django_in_process(prefix="tongban-bench-metrics-rollup-", postgres=args.postgres)
    data_dir = Path(os.environ["TONGBAN_DATA_DIR"])
    try:
        result = run(args, vendor, data_dir)
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.postgres:
            postgres_admin(args.postgres, create=False)
    print_table(result)


def run(args, vendor: str, data_dir: Path) -> dict:
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from tongban.metrics.models import DailyCaseFact, DailyHallFact, DailyReviewFact
    from tongban.metrics.services import rollup_day, rollup_sweep

    built = build(args)
    day = built["day"]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics, as autovacuum would have
    log(f"… rollup_day({day})")
    started = time.perf_counter()
    first = rollup_day(day=day)
    day_seconds = time.perf_counter() - started
    facts = {
        "case_rows": DailyCaseFact.objects.filter(day=day).count(),
        "review_rows": DailyReviewFact.objects.filter(day=day).count(),
        "hall_rows": DailyHallFact.objects.filter(day=day).count(),
    }
    log("… first sweep")
    now = timezone.now()
    started = time.perf_counter()
    sweep_first = rollup_sweep(now=now)
    sweep_first_seconds = time.perf_counter() - started
    changes = late_changes(day, args.late)
    log(f"… sweep after {changes}")
    started = time.perf_counter()
    sweep_late = rollup_sweep(now=now + dt.timedelta(minutes=1))
    sweep_late_seconds = time.perf_counter() - started
    size = (
        sum(f.stat().st_size for f in data_dir.glob("*.sqlite3*")) if vendor == "sqlite" else None
    )
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            size = cursor.fetchone()[0]
    result = {
        "benchmark": "metrics roll-up of one day",
        "command": "benchmarks/metrics_rollup.py " + " ".join(a for a in sys.argv[1:] if "://" not in a),
        "database": vendor,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_avg_after": os.getloadavg(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "day": day.isoformat(),
        "written": built["counts"],
        "setup_seconds": built["setup_seconds"],
        "write_seconds": built["write_seconds"],
        "database_bytes": size,
        "rollup_day": {"seconds": round(day_seconds, 2), "cases": first.cases, **facts},
        "sweep_first": {"seconds": round(sweep_first_seconds, 2), **sweep_first},
        "late_changes": changes,
        "sweep_after_late_changes": {"seconds": round(sweep_late_seconds, 2), **sweep_late},
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"metrics-rollup-{vendor}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str) + "\n")
    return result


def print_table(r: dict) -> None:
    w = r["written"]
    day = r["rollup_day"]
    print(
        f"\n服务指标 roll-up — {r['database']}, {r['machine']['cpus']} cores, "
        f"Python {r['machine']['python']}, load after {r['load_avg_after'][0]:.1f}\n"
    )
    print(f"day {r['day']}: {w['cases']:,} cases filed and concluded, {w['materials']:,} materials "
          f"({w['uploads']:,} uploads, each its own file), {w['ratings']:,} ratings, "
          f"{w['tickets']:,} tickets, {w['bookings']:,} bookings; written in {r['write_seconds']:.0f} s "
          f"(city set up in {r['setup_seconds']:.0f} s)\n")  # fmt: skip
    print("| step | seconds | result |")
    print("|---|---:|---|")
    print(f"| rollup_day | {day['seconds']:.2f} | {day['cases']:,} cases → {day['case_rows']:,} case, "
          f"{day['review_rows']:,} review, {day['hall_rows']:,} hall fact rows |")  # fmt: skip
    print(f"| rollup_sweep, first (no watermarks) | {r['sweep_first']['seconds']:.2f} | "
          f"{r['sweep_first']['days']} days computed |")  # fmt: skip
    late = r["late_changes"]
    print(f"| rollup_sweep after {late['cases_changed']:,} cases changed and "
          f"{late['ratings_excluded']:,} ratings excluded | {r['sweep_after_late_changes']['seconds']:.2f} | "
          f"{r['sweep_after_late_changes']['days']} day computed |")  # fmt: skip
    print(f"\nSummary: rolling up a day of {w['cases']:,} cases took {day['seconds']:.1f} s on "
          f"{r['database']}; after {late['cases_changed']:,} late changes the sweep computed "
          f"{r['sweep_after_late_changes']['days']} day again in "
          f"{r['sweep_after_late_changes']['seconds']:.1f} s.")  # fmt: skip


if __name__ == "__main__":
    main()
