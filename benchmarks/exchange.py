"""数据共享核验 through the HTTP adapter on loopback: look-ups per second and their latency,
the guide (一次告知) with data-source evidence, and the guide while one source is slow (2 s)
or failing (HTTP 500) — it must stay fast once the source's circuit is open.

    .venv/bin/python benchmarks/exchange.py [--seconds 4] [--postgres postgres://…/DBNAME]

One process. A fresh database (temporary SQLite, or the scratch PostgreSQL database DBNAME,
dropped and created first) is migrated and loaded with the demo catalog and a small registry
of test sources (tongban/exchange/tests/platform_fixtures.py); the demo department systems
(tongban.exchange.demo_sources) serve them on a free loopback port from a store of 5,000
synthetic people, in a thread of this process (so the figures include the server's own work).

- lookup: source_query back to back, each on a new person (one signed HTTP request, one
  SourceLookup row and one audit row each).
- guide_cold: guide_for_item 出生登记 for new parents each run (two look-ups: mother, father).
- guide_warm: the same parents again (the form re-rendered): answers younger than five
  minutes are reused, no request goes out.
- guide_off: the same guide with the exchange switched off (the floor).
- submit_sources / submit_certificates_only: case_submit of 出生登记 (the item of 出生一件事
  that asks for both parents' ID cards) by new applicants for new parents, with the exchange
  on (the parents' cards spared by 公安人口库, the look-ups recorded on the case) and off
  (only the profile and e-certificates spare anything; the cards are uploaded), alternating
  in the same run so both see the same database size.
- slow / failing: 公安人口库 answers after 2 s / with HTTP 500. The first runs wait for the
  timeout (0.5 s, one retry) until the circuit opens after 3 failures; every later run skips
  the source at once. Reported: the runs before the circuit opened, then p50/p95 after.

Writes benchmarks/results/exchange-<db>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import RESULTS, django_in_process

PEOPLE = 5000
SUBMITTERS = 150  # submits of each kind


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)


def summary(times: list[float]) -> dict:
    return {
        "runs": len(times),
        "per_second": round(len(times) / sum(times), 1) if times else 0,
        "p50_ms": pct(times, 0.5),
        "p95_ms": pct(times, 0.95),
    }


def timed(fn, seconds: float, limit: int = 100_000) -> list[float]:
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and len(times) < limit:
        started = time.perf_counter()
        fn(len(times))
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    vendor = django_in_process(prefix="tongban-bench-exchange-", postgres=args.postgres)

    from django.conf import settings

    from tongban.accounts.tests.factories import ResidentProfileFactory
    from tongban.accounts.validators import make_id_number
    from tongban.catalog.guide import guide_for_item
    from tongban.catalog.services import catalog_load_directory
    from tongban.exchange import breaker
    from tongban.exchange.demo_sources.dataset import write_records
    from tongban.exchange.demo_sources.server import start
    from tongban.exchange.services import Requester, data_sources_load, source_query
    from tongban.exchange.tests import platform_fixtures as pf

    catalog_load_directory(path=pf.DEMO_DEFINITIONS)
    scratch = Path(tempfile.mkdtemp(prefix="tongban-bench-sources-"))
    data_sources_load(directory=pf.write_sources(scratch / "data_sources"))
    numbers = [
        make_id_number("310104", dt.date(1960, 1, 1) + dt.timedelta(days=i // 400), i % 400 * 2)
        for i in range(PEOPLE)
    ]
    records = {"t_population": {n: {"name": "示例", "id_valid": True} for n in numbers}}
    write_records(scratch / "ds.sqlite3", records)
    defs = [d for d in pf.source_defs() if d.transport.kind == "http"]
    server = start(db=scratch / "ds.sqlite3", sources=defs)
    settings.TONGBAN_EXCHANGE_ENABLED = True
    settings.TONGBAN_EXCHANGE_ENDPOINTS = {"demo": server.url}
    applicant = ResidentProfileFactory()
    asker = Requester(
        department="SH-GA",
        purpose="基准测试（示例）",
        legal_basis=pf.POLICE_BASIS,
        item="SH-GA-0101",
    )
    cursor = {"next": 0}

    def person() -> str:
        cursor["next"] += 1
        return numbers[cursor["next"] % PEOPLE]

    def lookup(_i: int) -> None:
        source_query(source="t_population", key=person(), elements=["id_valid"], requester=asker)

    def guide(mother: str, father: str):
        return guide_for_item(
            code="SH-GA-0101",
            answers={"parents_marital": "married", "hukou_follows": "mother"},
            applicant=applicant,
            form_values={"mother.id_number": mother, "father.id_number": father},
        )

    def guide_cold(_i: int) -> None:
        g = guide(person(), person())
        assert next(m for m in g.materials if m.code == "mother_id_card").spared

    fixed = (numbers[0], numbers[1])
    guide(*fixed)

    def guide_warm(_i: int) -> None:
        guide(*fixed)

    results: dict = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "db": vendor,
        "lookup": summary(timed(lookup, args.seconds)),
        "guide_cold": summary(timed(guide_cold, args.seconds)),
        "guide_warm": summary(timed(guide_warm, args.seconds)),
    }
    settings.TONGBAN_EXCHANGE_ENABLED = False
    results["guide_off"] = summary(timed(guide_warm, args.seconds))
    settings.TONGBAN_EXCHANGE_ENABLED = True

    from tongban.cases import services as case_services
    from tongban.cases.tests.samples import sample_form, sample_uploads

    answers = {"parents_marital": "married", "hukou_follows": "mother"}
    applicants = [ResidentProfileFactory() for _ in range(2 * SUBMITTERS)]

    def submit(i: int) -> None:
        a = applicants.pop()
        parents = {"mother.id_number": person(), "father.id_number": person()}
        g = guide_for_item(code="SH-GA-0101", answers=answers, applicant=a, form_values=parents)
        case_services.case_submit(
            applicant=a.user,
            kind="item",
            code="SH-GA-0101",
            answers=answers,
            form_data={**sample_form(g), **parents},
            materials=sample_uploads(g),
            idempotency_key=f"bench-{len(applicants)}",
        )

    on: list[float] = []
    off: list[float] = []
    rounds = 0
    while applicants and rounds < 2 * SUBMITTERS:
        rounds += 1
        settings.TONGBAN_EXCHANGE_ENABLED = rounds % 2 == 1
        started = time.perf_counter()
        submit(rounds)
        (on if rounds % 2 == 1 else off).append(time.perf_counter() - started)
    settings.TONGBAN_EXCHANGE_ENABLED = True
    results["submit_sources"] = summary(on)
    results["submit_certificates_only"] = summary(off)

    for name, fault in (("slow", "slow:2"), ("failing", "error:500")):
        breaker.reset("t_population")
        server.set_fault("t_population", fault)
        before: list[float] = []
        while breaker.state("t_population") != "open" and len(before) < 10:
            started = time.perf_counter()
            guide(person(), person())
            before.append(time.perf_counter() - started)
        after = timed(lambda _i: guide(person(), person()), args.seconds)
        results[name] = {
            "fault": fault,
            "runs_until_open_ms": [round(t * 1000, 1) for t in before],
            "after_open": summary(after),
        }
        server.set_fault("t_population", None)
    server.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"exchange-{vendor}.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
