"""Retrieval quality: the evaluation set (benchmarks/search_eval/questions.yaml, people's own
words, with the expected service or none) over the demo catalog, in process.

    .venv/bin/python benchmarks/search_quality.py [--record-baseline] [--show-failures]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

Prints top-1 (catalog_answer_target right), top-3 (an expected code among the first three
search results), the share of no-answer questions declined, the share of confident wrong
answers, and p50/p95 latency per query (confident answer; search outcome), for all questions,
the tuning set, the held-out set and per tag. Writes benchmarks/search_eval/figures.json:
`current` always; `baseline` only with --record-baseline (the figures before tuning);
`recorded` only with --record: the figures tongban/catalog/tests/test_search_quality.py holds
search to (top-1, top-3 and declined no lower, wrong-confident no higher).

--show-failures lists the tuning questions answered wrongly; held-out questions are never
listed, so they stay unseen while tuning.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import django_in_process
from search_eval import evaluate

# In the repository (benchmarks/results/ is not): the test reads the recorded figures.
OUTPUT = Path(__file__).resolve().parent / "search_eval" / "figures.json"
ROWS = ("top1", "top3", "declined", "wrong_confident", "correct")


def line(name: str, f: dict) -> str:
    def pct(key: str) -> str:
        return "   -  " if f[key] is None else f"{100 * f[key]:5.1f}%"

    return (
        f"{name:<14} n={f['questions']:>3}  top1 {pct('top1')}  top3 {pct('top3')}  "
        f"declined {pct('declined')}  wrong {pct('wrong_confident')}  "
        f"answer p50/p95 {f['answer_ms_p50']}/{f['answer_ms_p95']} ms  "
        f"search p50/p95 {f['search_ms_p50']}/{f['search_ms_p95']} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a scratch database URL (dropped and recreated)")
    parser.add_argument("--record-baseline", action="store_true")
    parser.add_argument(
        "--record", action="store_true", help="make these the figures the test holds search to"
    )
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs; latency from the last")
    args = parser.parse_args()
    vendor = django_in_process(prefix="tongban-bench-search-", postgres=args.postgres)

    from django.conf import settings

    from tongban.catalog.services import catalog_load_directory

    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    items = evaluate.questions()
    evaluate.check_codes(items)
    outcomes = []
    for _ in range(max(args.repeat, 1)):  # the first run also builds the index and warms jieba
        outcomes = evaluate.run(items)
    result = evaluate.report(outcomes)

    print(line("all", result["all"]))
    print(line("tuning", result["tuning"]))
    print(line("held-out", result["heldout"]))
    for tag, f in result["tags"].items():
        print(line(f"  {tag}", f))
    if args.show_failures:
        print("\nTuning questions answered wrongly (expected → confident answer | top 3):")
        for o in outcomes:
            if not o.question.heldout and not o.correct:
                expect = "/".join(sorted(o.question.expect))
                print(f"  {o.question.q}  [{o.question.asker}]  {expect} → {o.answer} | {o.top3}")

    recorded = json.loads(OUTPUT.read_text(encoding="utf-8")) if OUTPUT.exists() else {}
    run_info = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": vendor,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "command": " ".join(["benchmarks/search_quality.py", *sys.argv[1:]]),
    }
    entry = {"run": run_info, **result}
    recorded["current"] = entry
    if args.record_baseline:
        recorded["baseline"] = entry
    if args.record:
        recorded["recorded"] = entry
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(recorded, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(
        f"\nwritten to {OUTPUT.relative_to(Path.cwd()) if OUTPUT.is_relative_to(Path.cwd()) else OUTPUT}"
    )


if __name__ == "__main__":
    main()
