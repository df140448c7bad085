"""政策找人 for one person, from the database, as the event-driven path runs it: a synthetic
population with households in a fresh database, every demo policy loaded and matched once,
then for each of N residents (twice each) the evaluation alone
(`tongban.policies.selectors.policies_for_resident`) and the re-match with its writes
(`tongban.policies.services.policy_match_person`, in a transaction), p50 / p95.

    .venv/bin/python benchmarks/policies_person.py [--residents 2000] [--sample 300]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

Writes benchmarks/results/policies_person.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import RESULTS, django_in_process, postgres_admin


def _quantiles(times: list[float]) -> dict:
    q = statistics.quantiles(times, n=20)
    return {"p50_ms": round(q[9], 2), "p95_ms": round(q[18], 2), "n": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    vendor = django_in_process(prefix="tongban-bench-person-", postgres=args.postgres)

    from django.conf import settings
    from django.db import transaction

    from tongban.accounts.models import ResidentProfile
    from tongban.catalog.services import catalog_load_directory
    from tongban.demo.population import generate_households, generate_residents
    from tongban.policies.selectors import policies_for_resident
    from tongban.policies.services import policy_match_person, policy_match_run

    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    generate_residents(count=args.residents, seed=7, progress=False)
    generate_households(seed=7, progress=False)
    policy_match_run(triggered_by="benchmark")
    ids = list(ResidentProfile.objects.order_by("id").values_list("id", flat=True)[: args.sample])

    evaluate, rematch = [], []
    for _ in range(2):
        for profile_id in ids:
            started = time.perf_counter()
            policies_for_resident(profile=ResidentProfile.objects.get(pk=profile_id))
            evaluate.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            with transaction.atomic():
                policy_match_person(profile_id=profile_id)
            rematch.append((time.perf_counter() - started) * 1000)
    out = {
        "benchmark": "policies_person",
        "database": vendor,
        "python": platform.python_version(),
        "residents": args.residents,
        "evaluate": _quantiles(evaluate),
        "rematch": _quantiles(rematch),
    }
    print(json.dumps(out, ensure_ascii=False), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "policies_person.json").write_text(
        json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    if args.postgres:
        postgres_admin(args.postgres, create=False)


if __name__ == "__main__":
    main()
