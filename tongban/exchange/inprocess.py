"""Sources the platform answers itself, from records it keeps (transport `inprocess`).

居民经济状况核对系统: the household's economic situation as 一人一档 holds it — the members
of the subject's 户 (Household), their monthly incomes as the income 核对 reports them, and
the 低收入 / 低保 status the civil affairs bureau recorded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from tongban.accounts.models import ResidentProfile
from tongban.accounts.selectors import resident_id_number_hash

# Element codes the 居民经济状况核对系统 definition may declare (any subset).
HOUSEHOLD_ECONOMY_ELEMENTS = (
    "household_size",  # integer: members of the subject's 户 (1 without a household)
    "household_monthly_income",  # decimal: the members' monthly incomes summed
    "per_capita_monthly_income",  # decimal: that, per member
    "is_low_income",  # boolean: 低收入家庭
    "is_minimum_living_allowance",  # boolean: 最低生活保障对象
    "economy_checked",  # boolean: every member's income is known (核对完成)
)


def household_economy(*, key: str, elements: list[str], requester: dict[str, Any]) -> dict:
    """The answer body (as the HTTP wire protocol has it) for the person with 公民身份号码
    KEY: found false when no 一人一档 holds that number. An income nobody reported leaves the
    income elements out (the system does not hold them) and economy_checked false."""
    now = timezone.now().isoformat()
    profile = (
        ResidentProfile.objects.filter(id_number_hash=resident_id_number_hash(key.upper()))
        .select_related("household")
        .first()
    )
    if profile is None:
        return {"found": False, "values": {}, "as_of": now}
    members = (
        list(profile.household.members.all()) if profile.household_id is not None else [profile]
    )
    incomes = [m.monthly_income for m in members]
    known = all(i is not None for i in incomes)
    total = sum((i for i in incomes if i is not None), Decimal("0"))
    held: dict[str, Any] = {
        "household_size": len(members),
        "is_low_income": any(m.is_low_income for m in members),
        "is_minimum_living_allowance": any(m.is_minimum_living_allowance for m in members),
        "economy_checked": known,
    }
    if known:
        held["household_monthly_income"] = f"{total:.2f}"
        held["per_capita_monthly_income"] = f"{(total / len(members)):.2f}"
    return {
        "found": True,
        "values": {e: held[e] for e in elements if e in held},
        "as_of": now,
    }
