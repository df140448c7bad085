"""Scoring the evaluation set (questions.yaml) against the loaded catalog. Needs Django set up
and a catalog loaded; used by benchmarks/search_quality.py and by the test that keeps the
recorded figures from falling (tongban/catalog/tests/test_search_quality.py).

Measures, for each question:
- the confident answer, tongban.catalog.selectors.catalog_answer_target: right when it is one
  of the expected codes, or None where `none` is expected (declined correctly); wrong and
  confident when it names anything else;
- top-3: one of the expected codes among catalog_search_outcome(...).results[:3] (questions
  with an answer only);
- the time each of the two calls takes.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

QUESTIONS = Path(__file__).resolve().parent / "questions.yaml"
NONE = "none"
# Whose services are put first for each kind of asker (what the portal passes as `prefer`).
PREFER = {"person": "person", "enterprise": "enterprise", "anonymous": None}


@dataclass(frozen=True)
class Question:
    q: str
    expect: frozenset[str]
    asker: str
    tags: tuple[str, ...]
    heldout: bool

    @property
    def answerable(self) -> bool:
        return bool(self.expect - {NONE})

    @property
    def declinable(self) -> bool:
        return NONE in self.expect


@dataclass(frozen=True)
class Outcome:
    question: Question
    answer: str | None  # the confident answer's code, or None
    top3: tuple[str, ...]
    answer_ms: float
    search_ms: float

    @property
    def correct(self) -> bool:
        return (self.answer or NONE) in self.question.expect

    @property
    def wrong_confident(self) -> bool:
        return self.answer is not None and self.answer not in self.question.expect

    @property
    def in_top3(self) -> bool:
        return bool(self.question.expect & set(self.top3))


def questions(path: Path = QUESTIONS) -> list[Question]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    found = []
    for e in entries:
        expect = e["expect"] if isinstance(e["expect"], list) else [e["expect"]]
        if e["asker"] not in PREFER:
            raise ValueError(f"{e['q']}: unknown asker {e['asker']!r}")
        found.append(
            Question(e["q"], frozenset(expect), e["asker"], tuple(e.get("tags", ())),
                     bool(e.get("heldout", False)))
        )  # fmt: skip
    return found


def check_codes(items: list[Question]) -> None:
    """Every expected code names an active item or bundle: a renamed code fails loudly
    instead of silently lowering the figures."""
    from tongban.catalog.selectors import _current

    snapshot = _current()
    known = set(snapshot.items) | set(snapshot.bundles) | {NONE}
    unknown = sorted({c for q in items for c in q.expect} - known)
    if unknown:
        raise ValueError(f"questions.yaml expects codes the catalog does not have: {unknown}")


def run(items: list[Question]) -> list[Outcome]:
    from tongban.catalog.selectors import catalog_answer_target, catalog_search_outcome

    outcomes = []
    for question in items:
        prefer = PREFER[question.asker]
        started = time.perf_counter()
        target = catalog_answer_target(q=question.q, prefer=prefer)
        answered = time.perf_counter()
        outcome = catalog_search_outcome(q=question.q, prefer=prefer)
        searched = time.perf_counter()
        outcomes.append(
            Outcome(question, target.code if target else None,
                    tuple(r.code for r in outcome.results[:3]),
                    (answered - started) * 1000, (searched - answered) * 1000)
        )  # fmt: skip
    return outcomes


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1], 3)


def figures(outcomes: list[Outcome]) -> dict:
    """top1: confident answer right, of the questions that have an answer; top3: an expected
    code among the first three results, same questions; declined: no confident answer, of the
    questions whose only right answer is none; wrong_confident: a confident wrong answer, of
    all questions; correct: the confident answer (or declining) right, of all questions."""
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "top1": _share(sum(o.correct for o in answerable), len(answerable)),
        "top3": _share(sum(o.in_top3 for o in answerable), len(answerable)),
        "declined": _share(sum(o.answer is None for o in unanswerable), len(unanswerable)),
        "wrong_confident": _share(sum(o.wrong_confident for o in outcomes), len(outcomes)),
        "correct": _share(sum(o.correct for o in outcomes), len(outcomes)),
        "answer_ms_p50": _percentile([o.answer_ms for o in outcomes], 50),
        "answer_ms_p95": _percentile([o.answer_ms for o in outcomes], 95),
        "search_ms_p50": _percentile([o.search_ms for o in outcomes], 50),
        "search_ms_p95": _percentile([o.search_ms for o in outcomes], 95),
    }


def report(outcomes: list[Outcome]) -> dict:
    """Figures for the tuning set, the held-out set, all questions, and per tag (all)."""
    by_tag: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        for tag in o.question.tags:
            by_tag[tag].append(o)
    return {
        "all": figures(outcomes),
        "tuning": figures([o for o in outcomes if not o.question.heldout]),
        "heldout": figures([o for o in outcomes if o.question.heldout]),
        "tags": {tag: figures(found) for tag, found in sorted(by_tag.items())},
    }
