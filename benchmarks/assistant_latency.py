"""智能客服 latency: p50/p95 of tongban.assistant.services.assistant_ask, in process.

    .venv/bin/python benchmarks/assistant_latency.py [--rounds 3]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

A fresh data folder, migrated, with the demo catalog and policies loaded. Measured, each
question timed on its own (the whole service call: reading the question, retrieval, the
guide's computation, composing, and writing the two turns and the audit row):
- every question of the search evaluation set (benchmarks/search_eval/questions.yaml, when
  present), each opening a new conversation, as a visitor;
- scripted conversations (follow-ups that rely on memory, ask-backs answered, a policy, a
  decline), as a visitor and as a logged-in resident with a 出生一件事 of their own (我的办件).
The first call (jieba's dictionary, the search index) is made before timing and reported
apart. The throttle is lifted: it would refuse a script.

With --postgres the database DBNAME is dropped and created first and dropped at the end.
Writes benchmarks/results/assistant-latency-<db>.json.
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
from _server import RESULTS, ROOT, django_in_process, postgres_admin

# The questions of one conversation each; whenever the assistant asks back (the guide's
# questions, which item, which policy), the next turn chooses its first option.
CONVERSATIONS: list[list[str]] = [
    ["出生登记要带什么材料", "那要多少钱？", "多久能办好"],
    ["上户口要多少钱", "要带什么材料"],
    ["我想开公司", "流程是什么", "电话多少"],
    ["老年综合津贴有什么条件", "待遇是多少"],
    ["办护照多少钱", "出生登记可以代办吗", "转人工"],
    ["居民身份证申领要多少钱", "在哪办", "要什么条件", "流程"],
    ["残疾人证怎么办理", "需要什么材料", "多长时间"],
    ["我的出生登记办到哪了", "我的办件进度", "出生一件事", "多少钱"],
    ["你好", "结婚登记要什么", "网上能办吗"],
]
MAX_ASK_BACKS = 8


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "max_ms": round(max(values), 2),
        "mean_ms": round(statistics.fmean(values), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    vendor = django_in_process(prefix="tongban-assistant-", postgres=args.postgres)
    try:
        results = measure(args.rounds)
    finally:
        if args.postgres:
            from django.db import connections

            connections.close_all()
            postgres_admin(args.postgres, create=False)
    results["database"] = vendor
    results["machine"] = {"python": platform.python_version(), "platform": platform.platform()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"assistant-latency-{vendor}.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {k: v for k, v in results.items() if k != "machine"}, ensure_ascii=False, indent=2
        )
    )
    print(f"written to {out.relative_to(ROOT)}")


def measure(rounds: int) -> dict:
    from django.contrib.auth.models import AnonymousUser

    from tongban.accounts.tests.factories import ResidentProfileFactory
    from tongban.assistant import services
    from tongban.assistant.tests.cases import birth_case
    from tongban.catalog.services import catalog_load_directory

    catalog_load_directory(path=ROOT / "tongban" / "demo" / "definitions")
    services.THROTTLE_ASKS = 10**9
    resident = ResidentProfileFactory()
    birth_case(resident, key="bench")
    visitor = AnonymousUser()

    def timed(user, session_key, question, answer_to, conversation_id):
        started = time.perf_counter()
        asked = services.assistant_ask(
            user=user,
            session_key=session_key,
            question=question,
            conversation_id=conversation_id,
            answer_to=answer_to,
        )
        return (time.perf_counter() - started) * 1000, asked

    first_ms, _ = timed(visitor, "warm", "出生登记要多少钱", "", None)

    single: list[float] = []
    questions_file = ROOT / "benchmarks" / "search_eval" / "questions.yaml"
    eval_questions: list[str] = []
    if questions_file.exists():
        import yaml

        eval_questions = [q["q"] for q in yaml.safe_load(questions_file.read_text())["questions"]]
    conversation_turns: list[float] = []
    resident_turns: list[float] = []
    for n in range(rounds):
        for i, q in enumerate(eval_questions):
            ms, _asked = timed(visitor, f"eval-{n}-{i}", q[:200], "", None)
            single.append(ms)
        for i, script in enumerate(CONVERSATIONS):
            for user, bucket, key in (
                (visitor, conversation_turns, f"conv-{n}-{i}"),
                (resident.user, resident_turns, ""),
            ):
                conversation_id = None
                for question in script:
                    ms, asked = timed(user, key, question, "", conversation_id)
                    conversation_id = asked.conversation.pk
                    bucket.append(ms)
                    for _ in range(MAX_ASK_BACKS):
                        if asked.answer.asks is None:
                            break
                        choice = asked.answer.asks.options[0].value
                        ms, asked = timed(user, key, "", choice, conversation_id)
                        bucket.append(ms)
    everything = single + conversation_turns + resident_turns
    return {
        "first_call_ms": round(first_ms, 1),
        "all": summary(everything),
        "evaluation_set_first_questions": summary(single) if single else None,
        "conversations_visitor": summary(conversation_turns),
        "conversations_resident": summary(resident_turns),
        "rounds": rounds,
        "evaluation_questions": len(eval_questions),
    }


if __name__ == "__main__":
    main()
