"""Reads: which policies a resident qualifies for, and why (政策找人, one person at a time).
The population-wide batch run comes later; this is what 为您推荐 and the API answer with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tongban.accounts.models import ResidentProfile
from tongban.catalog.loader import element_info
from tongban.catalog.selectors import element_definitions
from tongban.policies.models import Policy
from tongban.policies.rules import ElementInfo, Outcome, elements_used, evaluate
from tongban.policies.schemas import PolicyDef


@dataclass(frozen=True)
class PolicyMatch:
    policy: Policy
    definition: PolicyDef
    outcome: Outcome


# Versions never change once stored: each is parsed once per process. Keyed with its hash
# too, since ids come round again after a rolled-back test.
_parsed: dict[tuple[int, str], PolicyDef] = {}


def current_policies(*, subject: str | None = None) -> list[tuple[Policy, PolicyDef]]:
    """Active policies with their current definitions, by code."""
    rows = Policy.objects.filter(is_active=True).select_related("current", "department")
    if subject:
        rows = rows.filter(subject=subject)
    found = []
    for row in rows.order_by("code"):
        key = (row.current_id, row.current.content_sha256)
        if key not in _parsed:
            _parsed[key] = PolicyDef.model_validate(row.current.content)
        found.append((row, _parsed[key]))
    return found


def _profile_field_of(codes: set[str]) -> tuple[dict[str, str], dict[str, ElementInfo]]:
    definitions = element_definitions(codes)
    fields = {}
    for code, element in definitions.items():
        for prefill in element.prefill:
            if prefill.source == "profile" and not prefill.applicant_is:
                fields[code] = prefill.field
                break
    return fields, {code: element_info(el) for code, el in definitions.items()}


def _as_element_value(info: ElementInfo, value: Any) -> Any:
    if value is None or value == "":
        return None
    if info.type == "boolean":
        return bool(value)
    if info.type in ("choice", "district", "text"):
        return str(value)
    return value


def resident_facts(profile: ResidentProfile, codes: set[str]) -> tuple[dict, dict]:
    """The values of these data elements for PROFILE, read from its 一人一档 through each
    element's profile prefill; an element with none is unknown (None)."""
    fields, infos = _profile_field_of(codes)
    facts = {
        code: _as_element_value(infos[code], getattr(profile, field, None))
        for code, field in fields.items()
    }
    return facts, infos


def policies_for_resident(
    *, profile: ResidentProfile, today: dt.date | None = None
) -> list[PolicyMatch]:
    """Every resident policy in force, evaluated for PROFILE, eligible ones first."""
    today = today or dt.date.today()
    policies = [(p, d) for p, d in current_policies(subject="resident") if d.in_force(today)]
    codes = set().union(*(elements_used(d.eligibility) for _, d in policies)) if policies else set()
    facts, infos = resident_facts(profile, codes)
    matches = [PolicyMatch(p, d, evaluate(d.eligibility, facts, infos, today)) for p, d in policies]
    return sorted(matches, key=lambda m: (not m.outcome.holds, m.policy.code))
