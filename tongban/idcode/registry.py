"""The scenario registry (scenarios.yaml), validated once per process."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tongban.idcode.attributes import ENTERPRISE_ATTRIBUTES, PERSON_ATTRIBUTES

REGISTRY_FILE = Path(__file__).with_name("scenarios.yaml")


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    name: str = Field(min_length=1, max_length=40)
    legal_basis: str = Field(min_length=1, max_length=300)
    person: tuple[str, ...] = ()
    enterprise: tuple[str, ...] = ()

    @field_validator("person")
    @classmethod
    def _known_person(cls, value):
        unknown = set(value) - set(PERSON_ATTRIBUTES)
        if unknown:
            raise ValueError(f"未知的个人属性：{sorted(unknown)}")
        return value

    @field_validator("enterprise")
    @classmethod
    def _known_enterprise(cls, value):
        unknown = set(value) - set(ENTERPRISE_ATTRIBUTES)
        if unknown:
            raise ValueError(f"未知的企业属性：{sorted(unknown)}")
        return value


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenarios: list[Scenario]

    @field_validator("scenarios")
    @classmethod
    def _unique(cls, value):
        codes = [s.code for s in value]
        if len(codes) != len(set(codes)):
            raise ValueError("场景代码重复")
        if any(not (s.person or s.enterprise) for s in value):
            raise ValueError("场景至少应列出一类属性")
        return value


def parse_registry(text: str) -> dict[str, Scenario]:
    return {s.code: s for s in Registry.model_validate(yaml.safe_load(text)).scenarios}


@functools.cache
def scenarios() -> dict[str, Scenario]:
    return parse_registry(REGISTRY_FILE.read_text(encoding="utf-8"))
