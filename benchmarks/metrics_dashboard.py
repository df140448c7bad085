"""服务指标 reads as the case table grows: /staff/metrics/, /figures/ and
GET /api/v1/metrics/summary over a year, at 1M and then 10M cases, and a year's export by item.

    .venv/bin/python benchmarks/metrics_dashboard.py [--sizes 1000000 10000000]
        [--days 365] [--requests 50] [--exports 3]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

A fresh database (a temporary SQLite file, or with --postgres the scratch database DBNAME,
dropped and created first and dropped at the end; "test" and "postgres" are refused) gets the
demo catalog, halls and staff (the city operator `operator` reads the dashboard). Then, for
each size in turn, cases are added until the cases table holds that many, spread evenly over
the year ending yesterday, inside the database with one INSERT … SELECT over a generated
series (no Python per row): every item and 一件事 of the catalog with the plan its guide
makes (the roll-up reads it), one in five filed at a counter (hall, window, clerk, and a
queue ticket each), concluded 0–10 days after filing; one in ten online cases rated (3–5),
with its rating subject. No materials, events or tasks: the roll-up and the pages never read
them for these figures (the 减材料 counters stay 0). Receipt numbers are placeholders
("B" and the row number), not valid 受理编号.

The facts are produced the way production produces them: `rollup_range` over the year's
365 days (timed and reported: at 10M it is the long part). DAYS shortens the year for a
quick run (the same cases, filed over fewer days). Then, through Django's test
client in this process (the whole stack: middleware, views, selectors, templates), REQUESTS
times each of:
- /staff/metrics/?start=…&end=… (the year) as the city operator;
- /figures/ (this year, anyone);
- GET /api/v1/metrics/summary?start=…&end=… as the city operator;
and EXPORTS times /staff/metrics/export.xlsx?by=item and export.csv over the year, with the
file size. Each request's SQL statements are counted: the pages read roll-up rows only, so
their cost must not follow the number of cases.

Writes benchmarks/results/metrics-dashboard-<db>.json; the data folder is removed at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import RESULTS, django_in_process, postgres_admin

APPLICANTS = 20_000  # accounts the cases are spread over (the cases' applicant is required)
PAGES = (
    ("staff dashboard /staff/metrics/", "/staff/metrics/", True),
    ("public /figures/", "/figures/", False),
    ("GET /api/v1/metrics/summary", "/api/v1/metrics/summary", True),
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def setup(days: int) -> dict:
    """The demo catalog, halls and staff, the applicants, and one row per service to draw
    cases from (its plan as the guide makes it)."""
    import datetime as dt

    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from tongban.accounts.models import User
    from tongban.demo import history
    from tongban.demo.accounts import ensure_demo_accounts
    from tongban.demo.population import generate_residents

    call_command("catalog_load", stdout=io.StringIO())
    call_command("certificate_types_load", stdout=io.StringIO())
    ensure_demo_accounts()
    generate_residents(count=100, seed=5, progress=False)
    today = timezone.localdate()
    last = today - dt.timedelta(days=1)
    first = last - dt.timedelta(days=days - 1)
    city = history.city_context(seed=5, since=first, today=today, residents=50, enterprises=5)
    password = make_password(None)
    User.objects.bulk_create(
        (User(username=f"benchd{i:06d}", kind=User.Kind.PERSON, password=password)
         for i in range(APPLICANTS)), batch_size=5000,
    )  # fmt: skip
    ids = sorted(User.objects.filter(username__startswith="benchd").values_list("pk", flat=True))
    if ids[-1] - ids[0] + 1 != len(ids):
        sys.exit("the applicants' ids are not consecutive; the INSERT … SELECT relies on it")
    rows = []
    for n, s in enumerate(city.services):
        hall = city.halls[s.counter_halls[0]] if s.counter_halls else None
        department = city.departments.get(
            next((i["department"] for i in s.plan["items"] if i["code"] == s.counter_item), "")
        )
        window = next(
            (w for w in hall.windows if w.serves(s.counter_item, department)), None
        ) if hall else None  # fmt: skip
        rows.append((
            n, s.kind, s.code, f"{s.name}（示例）"[:80], s.version, s.lead_department_id,
            json.dumps(s.plan, ensure_ascii=False), hall.hall.pk if hall else None,
            window.pk if window else None, hall.clerk.user_id if hall and hall.clerk else None,
        ))  # fmt: skip
    jsonb = "::jsonb" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_service (idx integer PRIMARY KEY, kind varchar(6), code varchar(64),"
            " name varchar(80), version integer, lead integer, plan "
            + ("jsonb" if jsonb else "text")
            + ", hall integer, win integer, clerk integer)"
        )
        cursor.executemany(
            f"INSERT INTO bench_service VALUES (%s, %s, %s, %s, %s, %s, %s{jsonb}, %s, %s, %s)",  # noqa: S608 - built from constants; values bound
            rows,
        )
    return {
        "first": first,
        "last": last,
        "days": days,
        "services": len(rows),
        "applicant0": ids[0],
    }


def _sql(vendor: str) -> dict[str, str]:
    """Per-vendor expressions: the row series, epoch seconds to a datetime and a local date.
    Every statement runs with parameters, so a literal % is written %%."""
    if vendor == "postgresql":
        return {
            "series": "generate_series(%(lo)s, %(hi)s) AS t(g)",
            "ts": "to_timestamp({})",
            "date": "(to_timestamp({}) AT TIME ZONE 'Asia/Shanghai')::date",
            "least": "LEAST",
            "pad": "lpad(({})::text, {}, '0')",
            "true": "true",
            "false": "false",
            "prefix": "",
        }
    return {
        "series": "seq",
        "ts": "datetime({}, 'unixepoch')",
        "date": "date({} + 28800, 'unixepoch')",
        "least": "MIN",
        "pad": "printf('%%0{1}d', {0})",
        "true": "1",
        "false": "0",
        "prefix": "WITH RECURSIVE seq(g) AS (SELECT %(lo)s UNION ALL SELECT g + 1 FROM seq "
        "WHERE g < %(hi)s) ",
    }


def add_cases(setup_info: dict, lo: int, hi: int, vendor: str) -> None:
    """Cases number LO..HI (row numbers), spread over the year, as one INSERT … SELECT."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from tongban.cases.models import Application

    x = _sql(vendor)
    first = dt.datetime.combine(
        setup_info["first"], dt.time(), tzinfo=timezone.get_current_timezone()
    )
    base = int(first.timestamp())
    end = int((first + dt.timedelta(days=setup_info["days"])).timestamp()) - 1800
    now = int(timezone.now().timestamp())
    # Filed between 08:00 and 18:00 local on day (g mod DAYS); concluded 0-10 days later
    # (never after yesterday); due 14 days after filing.
    days = setup_info["days"]
    submitted = f"({base} + (t.g %% {days}) * 86400 + 28800 + (t.g * 37) %% 36000)"
    concluded = f"{x['least']}({submitted} + ((t.g * 13) %% 11) * 86400 + t.g %% 3600, {end})"
    counter = "(t.g %% 5 = 0 AND s.hall IS NOT NULL)"
    columns = {
        "receipt_no": "'B' || " + x["pad"].format("t.g", 12),
        "kind": "s.kind",
        "code": "s.code",
        "version": "s.version",
        "name": "s.name",
        "applicant_id": f"{setup_info['applicant0']} + t.g %% {APPLICANTS}",
        "applicant_profile_id": "NULL",
        "enterprise_id": "NULL",
        "channel": f"CASE WHEN {counter} THEN 'counter' ELSE 'online' END",
        "filed_by_id": f"CASE WHEN {counter} THEN s.clerk END",
        "hall_id": f"CASE WHEN {counter} THEN s.hall END",
        "window_id": f"CASE WHEN {counter} THEN s.win END",
        "acted_by_id": "NULL",
        "delegation_id": "NULL",
        "lead_department_id": "s.lead",
        "status": "'archived'",
        "outcome": "CASE WHEN t.g %% 50 = 0 THEN 'denied' ELSE 'approved' END",
        "answers": "'{}'",
        "plan": "s.plan",
        "form_data_text": "''",
        "delivery": "'online'",
        "idempotency_key": "'bench-' || t.g",
        "request_fingerprint": "'bench'",
        "subject_key": "''",
        "promised_date": x["date"].format(f"{submitted} + 14 * 86400"),
        "submitted_at": x["ts"].format(submitted),
        "accepted_at": x["ts"].format(submitted),
        "concluded_at": x["ts"].format(concluded),
        "handed_out_at": "NULL",
        "handed_out_by_id": "NULL",
        "handout_note": "''",
        "updated_at": x["ts"].format(now),
    }
    wanted = [f.column for f in Application._meta.concrete_fields if not f.primary_key]
    missing = set(wanted) - set(columns)
    if missing:
        sys.exit(f"the benchmark does not fill cases_application columns {sorted(missing)}")
    names = ", ".join(connection.ops.quote_name(c) for c in wanted)
    values = ", ".join(columns[c] for c in wanted)
    count = "(SELECT count(*) FROM bench_service)"
    sql = (
        f"{x['prefix']}INSERT INTO cases_application ({names}) SELECT {values} "  # noqa: S608 - built from constants; values bound
        f"FROM {x['series']} JOIN bench_service s ON s.idx = t.g %% {count}"
    )
    if vendor != "postgresql":
        sql = sql.replace("FROM seq JOIN", "FROM seq AS t JOIN")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"lo": lo, "hi": hi})


def add_ratings_and_tickets(after_id: int, vendor: str) -> None:
    """For the cases with id > AFTER_ID: a rating (3-5) for one online case in ten with its
    subject, and the queue ticket each counter case was filed from."""
    from django.db import connection

    x = _sql(vendor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM reviews_rating")
        last_rating = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO reviews_rating (channel, case_id, encounter_id, reference, rater_id, level,"  # noqa: S608 - built from constants; values bound
            " indicators, comment, comment_public, department_id, hall_id, window_id, staff_id,"
            " created_at, excluded, excluded_at)"
            " SELECT 'online', a.id, NULL, '', a.applicant_id,"
            " CASE WHEN a.id %% 7 = 0 THEN 3 WHEN a.id %% 3 = 0 THEN 4 ELSE 5 END,"
            f" '{{}}', '', '', a.lead_department_id, NULL, NULL, NULL, a.concluded_at,"
            f" {x['false']}, NULL"
            " FROM cases_application a WHERE a.id > %s AND a.channel = 'online' AND a.id %% 10 = 0",
            [after_id],
        )
        cursor.execute(
            "INSERT INTO reviews_ratingsubject (rating_id, item_code, item_name, department_id)"
            " SELECT r.id, a.code, a.name, r.department_id FROM reviews_rating r"
            " JOIN cases_application a ON a.id = r.case_id WHERE r.id > %s",
            [last_rating],
        )
        day = (
            "(a.submitted_at AT TIME ZONE 'Asia/Shanghai')::date"
            if vendor == "postgresql"
            else "date(a.submitted_at, '+8 hours')"
        )
        minus = (
            (lambda col, s: f"{col} - interval '{s} seconds'")
            if vendor == "postgresql"
            else (lambda col, s: f"datetime({col}, '-{s} seconds')")
        )
        cursor.execute(
            "INSERT INTO appointments_ticket (hall_id, day, number, sequence, item_code, source,"  # noqa: S608 - built from constants; values bound
            " booking_id, user_id, name_masked, status, slot_starts_at, window_id,"
            " transferred_to_id, clerk_id, case_id, taken_at, called_at, finished_at, calls,"
            " transferred_at, soon_notified_at, requeued_at)"
            f" SELECT a.hall_id, {day}, 'T' || {x['pad'].format('a.id %% 10000000', 7)}, a.id,"
            " a.code, 'kiosk', NULL, a.applicant_id, '', 'done', NULL, a.window_id, NULL,"
            f" a.filed_by_id, a.id, {minus('a.submitted_at', 900)}, {minus('a.submitted_at', 240)},"
            " a.submitted_at, 1, NULL, NULL, NULL"
            " FROM cases_application a WHERE a.id > %s AND a.channel = 'counter'",
            [after_id],
        )


def measure(args, info: dict) -> tuple[list[dict], list[dict]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tongban.accounts.models import User

    period = {"start": info["first"].isoformat(), "end": info["last"].isoformat()}
    staff, public = Client(), Client()
    staff.force_login(User.objects.get(username="operator"))
    rows = []
    for label, path, as_staff in PAGES:
        client = staff if as_staff else public
        params = period if as_staff else {}
        for _ in range(3):  # warm: templates, the catalog snapshot, connections
            response = client.get(path, params)
            if response.status_code != 200:
                sys.exit(f"{path}: {response.status_code} {response.content[:300]!r}")
        with CaptureQueriesContext(connection) as queries:
            client.get(path, params)
        statements = len(queries)  # now: a later request may reconnect and clear the log
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            client.get(path, params)
            times.append((time.perf_counter() - started) * 1000)
        rows.append({
            "endpoint": label, "requests": len(times), "p50_ms": round(pct(times, 50), 1),
            "p95_ms": round(pct(times, 95), 1), "mean_ms": round(statistics.fmean(times), 1),
            "sql_statements": statements, "bytes": len(response.content),
        })  # fmt: skip
    exports = []
    for extension in ("xlsx", "csv"):
        times, size = [], 0
        for _ in range(args.exports):
            started = time.perf_counter()
            response = staff.get(f"/staff/metrics/export.{extension}", {**period, "by": "item"})
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                sys.exit(f"export.{extension}: {response.status_code}")
            size = len(response.content)
        exports.append({"export": f"export.{extension}?by=item (the range)",
                        "median_ms": round(statistics.median(times), 1), "bytes": size})  # fmt: skip
    return rows, exports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--days", type=int, default=365, help="the range read, ending yesterday")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--exports", type=int, default=3)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    vendor = django_in_process(prefix="tongban-bench-metrics-dashboard-", postgres=args.postgres)
    data_dir = Path(os.environ["TONGBAN_DATA_DIR"])
    try:
        result = run(args, vendor)
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.postgres:
            postgres_admin(args.postgres, create=False)
    print_tables(result)


def run(args, vendor: str) -> dict:
    from django.db import connection

    from tongban.cases.models import Application
    from tongban.metrics.models import DailyCaseFact, MonthlyCaseFact
    from tongban.metrics.services import rollup_range

    info = setup(args.days)
    sizes, have = [], 0
    for size in sorted(args.sizes):
        log(f"… {vendor}: adding cases {have + 1:,}–{size:,}")
        before = Application.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        started = time.perf_counter()
        for lo in range(have + 1, size + 1, 1_000_000):  # a million rows a statement at most
            add_cases(info, lo, min(size, lo + 999_999), vendor)
            log(f"  {min(size, lo + 999_999):,}")
        add_ratings_and_tickets(before, vendor)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        insert_seconds = time.perf_counter() - started
        have = size
        log(f"… rolling up {info['first']} – {info['last']}")
        started = time.perf_counter()
        days = rollup_range(start=info["first"], end=info["last"])
        rollup_seconds = time.perf_counter() - started
        log(f"  {rollup_seconds:.0f} s; measuring")
        pages, exports = measure(args, info)
        sizes.append({
            "cases": Application.objects.count(),
            "insert_seconds": round(insert_seconds, 1),
            "rollup_days": len(days),
            "rollup_seconds": round(rollup_seconds, 1),
            "daily_case_rows": DailyCaseFact.objects.count(),
            "monthly_case_rows": MonthlyCaseFact.objects.count(),
            "pages": pages,
            "exports": exports,
            "load_avg": os.getloadavg(),
        })  # fmt: skip
        log(json.dumps(sizes[-1], ensure_ascii=False))
    result = {
        "benchmark": "metrics dashboard and public figures vs number of cases",
        "command": "benchmarks/metrics_dashboard.py "
        + " ".join(a for a in sys.argv[1:] if "://" not in a),
        "database": vendor,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "year": [info["first"].isoformat(), info["last"].isoformat()],
        "days": info["days"],
        "services": info["services"],
        "sizes": sizes,
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"metrics-dashboard-{vendor}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    return result


def print_tables(r: dict) -> None:
    print(f"\n服务指标 reads vs cases in the database — {r['database']}, a year "
          f"({r['year'][0]} – {r['year'][1]}), test client in process, "
          f"{r['machine']['cpus']} cores, Python {r['machine']['python']}\n")  # fmt: skip
    print("| cases | endpoint | p50 ms | p95 ms | SQL statements | bytes |")
    print("|---:|---|---:|---:|---:|---:|")
    for s in r["sizes"]:
        for p in s["pages"]:
            print(f"| {s['cases']:,} | {p['endpoint']} | {p['p50_ms']} | {p['p95_ms']} | "
                  f"{p['sql_statements']} | {p['bytes']:,} |")  # fmt: skip
        for e in s["exports"]:
            print(f"| {s['cases']:,} | {e['export']} | {e['median_ms']} (median) | | | "
                  f"{e['bytes']:,} |")  # fmt: skip
    print(
        f"\n| cases | inserted in s | roll-up of {r['days']} days, s | daily / monthly case fact rows |"
    )
    print("|---:|---:|---:|---|")
    for s in r["sizes"]:
        print(f"| {s['cases']:,} | {s['insert_seconds']} | {s['rollup_seconds']} | "
              f"{s['daily_case_rows']:,} / {s['monthly_case_rows']:,} |")  # fmt: skip
    small, large = r["sizes"][0], r["sizes"][-1]
    ratios = ", ".join(
        f"{a['endpoint'].split()[-1]} ×{b['p50_ms'] / a['p50_ms']:.2f}"
        for a, b in zip(small["pages"], large["pages"], strict=True)
    )
    statements = [
        (p["sql_statements"], q["sql_statements"])
        for p, q in zip(small["pages"], large["pages"], strict=True)
    ]
    print(f"\nSummary: from {small['cases']:,} to {large['cases']:,} cases the p50 changed "
          f"{ratios}; SQL statements per request {statements}.")  # fmt: skip


if __name__ == "__main__":
    main()
