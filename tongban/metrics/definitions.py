"""The seed's targets (targets.yaml), validated like every other definition."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

TARGETS_FILE = Path(__file__).with_name("targets.yaml")
Indicator = Literal["monthly_active_users", "online_share", "comprehensive_window_share"]


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator: Indicator
    label: str = Field(min_length=2)
    clause: str = ""
    by_year: dict[int, float] = Field(min_length=1)

    def for_year(self, year: int) -> tuple[int, float] | None:
        """(the year the target was set for, the target) in force for YEAR."""
        years = [y for y in self.by_year if y <= year]
        if not years:
            return None
        chosen = max(years)
        return chosen, self.by_year[chosen]


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: list[Target]


@cache
def targets() -> dict[str, Target]:
    data = TargetsFile.model_validate(yaml.safe_load(TARGETS_FILE.read_text(encoding="utf-8")))
    return {t.indicator: t for t in data.targets}
