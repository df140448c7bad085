"""统一预约 under contention: bookings per second with N residents at once fighting over a
few popular slots, and zero overbooking verified from the database afterwards.

    .venv/bin/python benchmarks/booking.py [--concurrency 50] [--seconds 20] [--workers 2]
        [--slots 5] [--capacity 10]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

A fresh data folder (migrate + a small city_setup), then N resident logins and SLOTS popular
slots of CAPACITY places each, tomorrow at one hall (SLOTS × CAPACITY places for N people).
gunicorn serves the app on loopback (WORKERS sync processes, so on SQLite the bookings of
different processes meet at the database lock, not only at the in-process queue); the load
generator is Python, one thread per resident on http.client. Each resident loops for SECONDS:
POST /api/v1/bookings for a random popular slot (a fresh Idempotency-Key each time); when it
gets a place (201) it cancels it at once (POST …/cancel), so places keep changing hands and
most attempts meet a full slot (409 BOOKING_SLOT_FULL) or, on SQLite, a busy database (409
BOOKING_BUSY). "bookings/s" counts 201s only.

Afterwards, from the database: for every popular slot, `booked` equals its active bookings
and never exceeds the capacity, and the bookings made equal the 201 responses.
With --postgres the database DBNAME is dropped and created first and dropped at the end (name
one that holds nothing else; "test" and "postgres" are refused).
Writes benchmarks/results/booking-<db>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from _client import Session
from _server import PY, RESULTS, ROOT, gunicorn, postgres_admin, prepared_env

BENCH_PREFIX = "bookbench"
BENCH_ITEM = "SH-BENCH-0001"  # a rule of its own, so the demo city's slots are not touched


# ---------------------------------------------------------------- inside the bench folder


def _inside(argv: list[str]) -> None:
    """Runs with the bench folder's environment; prints one JSON document."""
    import django

    django.setup()
    import datetime as dt

    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.db.models import Count, F, Q
    from django.utils import timezone

    from tongban.accounts.models import ResidentProfile, User
    from tongban.appointments.models import LOCAL_TZ, Booking, BookingRule, Hall, Slot
    from tongban.appointments.services.booking import booking_rule_ensure
    from tongban.demo.accounts import DEMO_PASSWORD

    if argv[0] == "setup":
        n, slots, capacity = int(argv[1]), int(argv[2]), int(argv[3])
        profiles = list(ResidentProfile.objects.filter(user__isnull=True).order_by("pk")[:n])
        if len(profiles) < n:
            sys.exit(f"only {len(profiles)} synthetic residents without a login; need {n}")
        password = make_password(DEMO_PASSWORD)
        hall = Hall.objects.get(code="SH-SMZX")
        rule = booking_rule_ensure(
            actor="system:bench", hall=hall, item_code=BENCH_ITEM, capacity=capacity, days_ahead=14
        )
        day = timezone.localdate() + dt.timedelta(days=1)
        ids = []
        with transaction.atomic():
            users = []
            for i, profile in enumerate(profiles):
                user = User.objects.create(
                    username=f"{BENCH_PREFIX}{i:05d}", password=password, kind=User.Kind.PERSON
                )
                profile.user = user
                profile.save(update_fields=["user"])
                users.append(user.username)
            for k in range(slots):
                starts = dt.datetime.combine(day, dt.time(10, 0), tzinfo=LOCAL_TZ)
                starts += dt.timedelta(minutes=30 * k)
                slot = Slot.objects.create(
                    rule=rule, hall=hall, item_code=BENCH_ITEM, day=day, starts_at=starts,
                    ends_at=starts + dt.timedelta(minutes=30), capacity=capacity,
                )  # fmt: skip
                ids.append(slot.pk)
        print(json.dumps({"users": users, "password": DEMO_PASSWORD, "slots": ids}))
    elif argv[0] == "verify":
        rule = BookingRule.objects.get(item_code=BENCH_ITEM)
        rows = Slot.objects.filter(rule=rule).annotate(
            active=Count("bookings", filter=Q(bookings__status__in=["booked", "checked_in"]))
        )
        over = rows.filter(booked__gt=F("capacity")).count()
        mismatched = sum(1 for s in rows if s.booked != s.active)
        made = Booking.objects.filter(slot__rule=rule).count()
        print(
            json.dumps(
                {
                    "slots": rows.count(),
                    "overbooked_slots": over,
                    "booked_not_matching_bookings": mismatched,
                    "bookings_made": made,
                    "places_held_now": sum(s.booked for s in rows),
                }
            )
        )


def inside(env: dict[str, str], *args: str) -> dict:
    env = {**env, "DJANGO_SETTINGS_MODULE": "tongban.settings", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [PY, str(Path(__file__).resolve()), "_inside", *args],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode:
        sys.exit(f"_inside {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the load


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def resident_loop(base, username, password, slots, stop_at, barrier, out, lock):
    session = Session(base)
    session.login(username, password)
    headers = {**session.api_headers(), "Content-Type": "application/json"}
    latencies, codes, booked, cancelled = [], {}, 0, 0
    rng = random.Random(username)
    barrier.wait()
    while time.monotonic() < stop_at():
        body = json.dumps({"slot_id": rng.choice(slots)}).encode()
        started = time.perf_counter()
        status, data = session.request(
            "POST", "/api/v1/bookings", body, {**headers, "Idempotency-Key": uuid.uuid4().hex}
        )
        latencies.append((time.perf_counter() - started) * 1000)
        if status == 201:
            booked += 1
            ref = json.loads(data)["reference"]
            status2, data2 = session.request(
                "POST", f"/api/v1/bookings/{ref}/cancel", b"{}", headers
            )
            if status2 == 200:
                cancelled += 1
            else:
                codes[f"cancel {status2}"] = codes.get(f"cancel {status2}", 0) + 1
                print(f"  {username}: cancel {status2} {data2[:200]!r}", file=sys.stderr)
            continue
        try:
            code = f"{status} {json.loads(data).get('code', '')}"
        except ValueError:
            code = str(status)
        codes[code] = codes.get(code, 0) + 1
        if status >= 500 and codes[code] == 1:
            print(f"  {username}: {status} {data[:300]!r}", file=sys.stderr)
    with lock:
        out["latencies"] += latencies
        out["booked"] += booked
        out["cancelled"] += cancelled
        for k, v in codes.items():
            out["codes"][k] = out["codes"].get(k, 0) + v


def run_level(base: str, users: list[str], password: str, slots: list[int], seconds: int):
    out = {"latencies": [], "codes": {}, "booked": 0, "cancelled": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(len(users) + 1)
    window = {"stop": float("inf")}
    threads = [
        threading.Thread(
            target=resident_loop,
            args=(base, u, password, slots, lambda: window["stop"], barrier, out, lock),
        )
        for u in users
    ]
    for t in threads:
        t.start()
    barrier.wait()
    cpu0, wall0 = time.process_time(), time.monotonic()
    window["stop"] = wall0 + seconds
    for t in threads:
        t.join()
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    return {
        "concurrency": len(users),
        "seconds": round(wall, 2),
        "attempts": len(out["latencies"]),
        "booked": out["booked"],
        "cancelled": out["cancelled"],
        "refusals": out["codes"],
        "bookings_per_second": round(out["booked"] / wall, 1),
        "attempts_per_second": round(len(out["latencies"]) / wall, 1),
        "p50": round(percentile(out["latencies"], 50), 1),
        "p95": round(percentile(out["latencies"], 95), 1),
        "p99": round(percentile(out["latencies"], 99), 1),
        "client_cores": round(cpu / wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slots", type=int, default=3)
    parser.add_argument("--capacity", type=int, default=5)
    parser.add_argument("--postgres", default="", help="URL of a scratch database to recreate")
    args = parser.parse_args()

    if args.postgres:
        postgres_admin(args.postgres, create=True)
    env, data_dir = prepared_env(args.postgres or None, residents=max(100, 2 * args.concurrency))
    db = "PostgreSQL" if args.postgres else "SQLite"
    try:
        made = inside(env, "setup", str(args.concurrency), str(args.slots), str(args.capacity))
        with gunicorn(env, workers=args.workers) as base:
            warm = run_level(base, made["users"][:4], made["password"], made["slots"], 2)
            row = run_level(base, made["users"], made["password"], made["slots"], args.seconds)
        check = inside(env, "verify")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.postgres:
            postgres_admin(args.postgres, create=False)

    row["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\n统一预约 under contention — {db}, gunicorn {args.workers} sync workers, "
          f"{args.concurrency} residents (1 client thread each) for {args.seconds}s on "
          f"{args.slots} slots × {args.capacity} places; book then cancel at once; "
          f"{os.cpu_count()} cores shared with the client, Python {platform.python_version()}\n")  # fmt: skip
    print("| concurrency | DB | bookings/s | attempts/s | p50 ms | p95 ms | p99 ms | refusals |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    refusals = ", ".join(f"{k}: {v}" for k, v in sorted(row["refusals"].items())) or "—"
    print(f"| {row['concurrency']} | {db} | {row['bookings_per_second']:.1f} | "
          f"{row['attempts_per_second']:.1f} | {row['p50']:.0f} | {row['p95']:.0f} | "
          f"{row['p99']:.0f} | {refusals} |")  # fmt: skip
    # The warm-up's bookings count too: they are in the database.
    responses = warm["booked"] + row["booked"]
    ok = (
        check["bookings_made"] == responses
        and check["overbooked_slots"] == 0
        and check["booked_not_matching_bookings"] == 0
        and check["places_held_now"] == 0
    )
    print(f"\nfrom the database: {check['slots']} slots, {check['bookings_made']} bookings made, "
          f"overbooked slots {check['overbooked_slots']}, slots whose count differs from their "
          f"bookings {check['booked_not_matching_bookings']}, places still held "
          f"{check['places_held_now']}; 201 responses {responses} — {'OK' if ok else 'FAILED'}")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"booking-{db.lower()}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "统一预约 POST /api/v1/bookings under contention, then cancel",
                "command": "benchmarks/booking.py " + " ".join(sys.argv[1:]),
                "database": db,
                "args": {k: v for k, v in vars(args).items() if k != "postgres"},
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "row": row,
                "created_responses_incl_warmup": responses,
                "database_check": check,
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    )
    print(f"written: {out.relative_to(ROOT)}")
    if not ok:
        sys.exit("overbooking or a count mismatch found in the database")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_inside":
        _inside(sys.argv[2:])
    else:
        main()
