"""Runs inside a prepared bench folder (TONGBAN_DATA_DIR, DATABASE_URL, and
DJANGO_SETTINGS_MODULE=tongban.settings set by the caller); prints one JSON document.

    python benchmarks/_cases_setup.py applicants N   # N resident logins + a valid 出生一件事 each
    python benchmarks/_cases_setup.py seed ADD       # ADD more (older) cases, bulk through the ORM
    python benchmarks/_cases_setup.py explain REVIEWER RESIDENT  # plans of the two reads
    python benchmarks/_cases_setup.py totp_secret USERNAME  # a demo staff login's TOTP secret
    python benchmarks/_cases_setup.py count          # cases in the database

Not a management command on purpose: benchmarks must not add code to the app.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import time

import django

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from tongban.accounts.models import Enterprise, ResidentProfile, User  # noqa: E402
from tongban.cases.models import Application, CaseEvent, Task  # noqa: E402
from tongban.cases.receipt import damm_digit  # noqa: E402
from tongban.catalog.guide import bundle_questions, guide_for_bundle  # noqa: E402
from tongban.catalog.models import Department  # noqa: E402
from tongban.catalog.selectors import element_definitions  # noqa: E402
from tongban.demo.accounts import DEMO_PASSWORD  # noqa: E402
from tongban.demo.form_samples import sample_value  # noqa: E402

BENCH_PREFIX = "bench"


def applicants(n: int) -> dict:
    """N resident logins, each linked to a synthetic profile, with a birth payload of its own."""
    # Mothers applying for their own child's birth: the guide spares what it holds of her (her
    # 居民身份证 among them) only when the form names her as the mother.
    profiles = list(ResidentProfile.objects.filter(user__isnull=True, sex="F").order_by("pk")[:n])
    if len(profiles) < n:
        sys.exit(f"only {len(profiles)} synthetic women without a login; need {n}")
    password = make_password(DEMO_PASSWORD)
    answers = {q.code: q.options[0].value for q in bundle_questions(code="birth")}
    answers.update(applicant_relation="mother", born_in_city="yes", maternity_insured="yes")
    today = timezone.localdate()
    out = []
    first = User.objects.filter(username__startswith=BENCH_PREFIX).count()
    with transaction.atomic():
        for i, profile in enumerate(profiles, start=first):
            user = User.objects.create(
                username=f"{BENCH_PREFIX}{i:05d}", password=password, kind=User.Kind.PERSON
            )
            profile.user = user
            profile.save(update_fields=["user"])
            guide = guide_for_bundle(code="birth", answers=answers, applicant=profile)
            elements = element_definitions([f.code for f in guide.fields])
            form = {
                f.code: sample_value(elements[f.code], n=j, today=today)
                for j, f in enumerate(guide.fields)
            }
            for prefix in ("applicant", "mother"):
                form[f"{prefix}.name"] = profile.name
                form[f"{prefix}.id_number"] = profile.id_number
            uploads = [m.code for m in guide.materials if m.required and not m.spared]
            payload = {
                "kind": "bundle",
                "code": "birth",
                "answers": guide.answers,
                "form_data": form,
                "materials": {code: {"how": "upload"} for code in uploads},
                "delivery": "online",
                # One mother submitting the same birth again and again: each is meant.
                "acknowledge_duplicate": True,
            }
            out.append({"username": user.username, "payload": payload, "uploads": uploads})
    return {"password": DEMO_PASSWORD, "applicants": out}


def _receipt(n: int, on: dt.date) -> str:
    body = on.strftime("%y%m%d") + f"{n % 10**6:06d}"
    return body + damm_digit(body)


OPEN_CASES = 3000  # the live backlog: the same at every size (throughput x SLA, not history)
TASKS_PER_CASE = 3
EVENTS_PER_CASE = 2
CASES_PER_APPLICANT = 5
SPACING = dt.timedelta(seconds=60)  # one case a minute: 1M cases span ~1.9 years
RESIDENT_CASES = (0, 700, 1500, 2200, 2900)  # resident1's 5 cases, among the newest 3000


def seed(add: int, batch: int = 5000) -> dict:
    """ADD more cases, older than every case already seeded, so the database grows in history
    while the live part stays the same. Case k (k = 0 newest) was submitted k minutes before
    the first seeding. The newest OPEN_CASES are accepted with 3 open tasks each; the rest are
    concluded with 3 approved tasks. Tasks spread over 15 departments (one holds ~1/15), cases
    over ADD/5 new synthetic applicants (5 cases each), one in ten for one of the demo
    enterprises; resident1 holds 5 of the newest."""
    started = time.perf_counter()
    rng = random.Random(2026 + add)
    departments = list(
        Department.objects.exclude(code__in=["SH-ZWFW", "SH-PD-ZWFW", "SH-YH", "SH-HSH"])
        .order_by("code")
        .values_list("pk", flat=True)
    )[:15]
    lead = Department.objects.get(code="SH-WJW").pk
    resident = User.objects.get(username="resident1").pk
    enterprises = list(Enterprise.objects.order_by("pk").values_list("pk", flat=True))
    first_k = Application.objects.filter(idempotency_key__startswith="seed-").count()
    oldest = (
        Application.objects.filter(idempotency_key="seed-0").values_list("submitted_at", flat=True)
    ).first() or timezone.now()
    first_user = User.objects.filter(username__startswith="synth").count()
    n_users = max(1, add // CASES_PER_APPLICANT)
    for start in range(first_user, first_user + n_users, batch):
        User.objects.bulk_create(
            User(username=f"synth{i:07d}", password="!", kind=User.Kind.PERSON)  # noqa: S106
            for i in range(start, min(first_user + n_users, start + batch))
        )
    user_ids = list(
        User.objects.filter(username__startswith="synth")
        .order_by("-pk")
        .values_list("pk", flat=True)[:n_users]
    )
    today = timezone.localdate()
    form = "{}"
    for start in range(first_k, first_k + add, batch):
        rows = []
        for k in range(start, min(first_k + add, start + batch)):
            at = oldest - SPACING * k
            open_ = k < OPEN_CASES
            rows.append(
                Application(
                    receipt_no=_receipt(k, at.date()),
                    kind="bundle",
                    code="birth",
                    version=1,
                    name="出生一件事",
                    applicant_id=resident if k in RESIDENT_CASES else user_ids[k % n_users],
                    # One case in ten is an enterprise's (so the planner sees a real mix).
                    enterprise_id=enterprises[(k // 10) % len(enterprises)]
                    if k % 10 == 9 and enterprises
                    else None,
                    lead_department_id=lead,
                    status="accepted" if open_ else "concluded",
                    outcome="" if open_ else "approved",
                    answers={},
                    plan={},
                    form_data_text=form,
                    idempotency_key=f"seed-{k}",
                    request_fingerprint="0" * 64,
                    promised_date=at.date() + dt.timedelta(days=20),
                    submitted_at=at,
                    accepted_at=at,
                    concluded_at=None if open_ else at + dt.timedelta(days=5),
                )
            )
        with transaction.atomic():
            Application.objects.bulk_create(rows)
            events, tasks = [], []
            for app in rows:
                case_id = app.pk  # SQLite 3.35+ and PostgreSQL return the ids
                open_ = app.status == "accepted"
                events.append(
                    CaseEvent(case_id=case_id, seq=1, at=app.submitted_at, actor_label="seed",
                              action="submitted", to_status="submitted")
                )  # fmt: skip
                events.append(
                    CaseEvent(case_id=case_id, seq=2, at=app.submitted_at, actor_label="seed",
                              action="accepted", from_status="submitted", to_status=app.status)
                )  # fmt: skip
                for n, dept in enumerate(rng.sample(departments, TASKS_PER_CASE)):
                    status = rng.choice(("pending", "claimed")) if open_ else "approved"
                    due = today + dt.timedelta(days=rng.randint(-3, 20)) if open_ else None
                    tasks.append(
                        Task(case_id=case_id, item_code=f"SEED-{n}", item_version=1,
                             item_name="示例事项", department_id=dept, status=status,
                             promised_days=10, due_date=due or app.submitted_at.date())
                    )  # fmt: skip
            CaseEvent.objects.bulk_create(events)
            Task.objects.bulk_create(tasks)
    seed_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics, as autovacuum would have
    return {
        "added": add,
        "cases": Application.objects.count(),
        "tasks": Task.objects.count(),
        "events": CaseEvent.objects.count(),
        "seconds": round(seed_seconds, 2),
        "cases_per_second": round(add / seed_seconds),
        "analyze_seconds": round(time.perf_counter() - started - seed_seconds, 2),
    }


def explain(reviewer: str, resident: str) -> dict:
    """The plans of the SQL the two endpoints run, captured from the selectors themselves."""
    from django.test.utils import CaptureQueriesContext

    from tongban.cases import selectors

    plans = {}
    for label, call in (
        ("workbench", lambda: selectors.workbench_tasks(user=User.objects.get(username=reviewer))),
        ("my_cases", lambda: selectors.cases_for_applicant(user=User.objects.get(username=resident))),
    ):  # fmt: skip
        with CaptureQueriesContext(connection) as captured:
            call()
        sqls = [q["sql"] for q in captured.captured_queries if '"cases_' in q["sql"]]
        out = []
        for sql in sqls:
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    out.append({"sql": sql, "plan": [r[0] for r in cursor.fetchall()]})
                else:
                    cursor.execute("EXPLAIN QUERY PLAN " + sql)
                    out.append({"sql": sql, "plan": [r[-1] for r in cursor.fetchall()]})
        plans[label] = out
    return plans


def main() -> None:
    what = sys.argv[1]
    if what == "applicants":
        result = applicants(int(sys.argv[2]))
    elif what == "seed":
        result = seed(int(sys.argv[2]))
    elif what == "explain":
        result = explain(sys.argv[2], sys.argv[3])
    elif what == "totp_secret":
        from tongban.demo.accounts import demo_totp_secret

        result = {"secret": demo_totp_secret(sys.argv[2]), "password": DEMO_PASSWORD}
    elif what == "count":
        result = {"cases": Application.objects.count()}
    else:
        sys.exit(f"unknown: {what}")
    print(json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
