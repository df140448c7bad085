"""Answers the platform already knows: a situation's `known_from` rules read the applicant's
一人一档 (age, 户籍, 残疾人证 …), so a logged-in person is not asked what the government holds.

The guide applies them at its entry points (guide.known_answers); pages show the statement
(「已根据您的居民档案确定：年满65周岁」) instead of the question.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tongban.catalog.schemas import SituationDef, condition_holds

KNOWN_PREFIX = "已根据您的居民档案确定："


@dataclass(frozen=True)
class KnownAnswer:
    value: str
    statement: str  # 「已根据您的居民档案确定：年满65周岁」


def profile_fact(applicant: Any, fact: str, *, today: dt.date | None = None) -> Any:
    """One fact of the applicant's profile; None (or "") when it is not on record."""
    if fact == "age":
        born = getattr(applicant, "birth_date", None)
        if born is None:
            return None
        today = today or timezone.localdate()
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return getattr(applicant, fact, None)


def known_answers(
    situations: list[SituationDef], given: dict[str, str], applicant: Any
) -> dict[str, KnownAnswer]:
    """Situation code → the answer the profile gives. A rule's `when` is read on the answers
    given plus those already known, so one known answer can unlock another; repeated until
    nothing changes. Without an applicant (anonymous visitor) nothing is known."""
    if applicant is None:
        return {}
    known: dict[str, KnownAnswer] = {}
    changed = True
    while changed:
        changed = False
        answers = {**given, **{code: k.value for code, k in known.items()}}
        for s in situations:
            if s.code in known:
                continue
            for rule in s.known_from:
                if not condition_holds(rule.when, answers):
                    continue
                value = rule.answer(profile_fact(applicant, rule.profile))
                if value:
                    known[s.code] = KnownAnswer(value, KNOWN_PREFIX + rule.says[value])
                    changed = True
                    break
    return known
