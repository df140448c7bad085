"""What a question asks about (材料, 收费, 时限 …), read from the cue words in
definitions/intents.yaml: definitions are data, validated by pydantic when first used."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tongban.catalog.search import normalise, words

DEFINITIONS = Path(__file__).resolve().parent / "definitions" / "intents.yaml"

AspectCode = Literal[
    "progress", "materials", "benefit", "fee", "time", "place", "conditions", "process", "phone"
]  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _normalised_words(value: list[str], empty_message: str) -> list[str]:
    # Read as questions are read (full-width, case), so a word matches what people type.
    cleaned = [normalise(w) for w in value]
    if any(not w for w in cleaned):
        raise ValueError(empty_message)
    return cleaned


class AspectDef(_Strict):
    code: AspectCode
    label: str = Field(min_length=2, max_length=20)
    cues: list[str] = Field(min_length=1)

    @field_validator("cues")
    @classmethod
    def _cues_are_words(cls, value: list[str]) -> list[str]:
        return _normalised_words(value, "提示词不能为空")


class IntentsFile(_Strict):
    version: int = Field(ge=1)
    aspects: list[AspectDef] = Field(min_length=1)
    handoff_cues: list[str] = Field(min_length=1)
    fillers: list[str] = Field(default_factory=list)
    # Names that hold a cue without asking it: 研发费用 is what a tax credit is for, not a fee.
    not_cues: list[str] = Field(default_factory=list)

    @field_validator("not_cues")
    @classmethod
    def _not_cues_are_words(cls, value: list[str]) -> list[str]:
        return _normalised_words(value, "不作提示词的词语不能为空")

    @model_validator(mode="after")
    def _unique(self) -> IntentsFile:
        codes = [a.code for a in self.aspects]
        if len(codes) != len(set(codes)):
            raise ValueError("方面编码重复")
        seen: dict[str, str] = {}
        for a in self.aspects:
            for cue in a.cues:
                if cue in seen and seen[cue] != a.code:
                    raise ValueError(f"提示词“{cue}”同时属于 {seen[cue]} 和 {a.code}")
                seen[cue] = a.code
        return self


@dataclass(frozen=True)
class Reading:
    """How a question reads: the aspects asked (in the order of the file), whether the person
    asks for a person, and the words left that name what it is about ("" when none)."""

    aspects: tuple[str, ...]
    handoff: bool
    subject: str


@functools.cache
def intents() -> IntentsFile:
    return IntentsFile.model_validate(yaml.safe_load(DEFINITIONS.read_text(encoding="utf-8")))


@functools.cache
def _cue_table() -> tuple[tuple[str, str], ...]:
    # Longest first: 多少钱 is removed before 多少 could be, 办到哪了 before 办到哪.
    pairs = [(cue, a.code) for a in intents().aspects for cue in a.cues]
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def aspect_label(code: str) -> str:
    return next((a.label for a in intents().aspects if a.code == code), code)


def read(question: str) -> Reading:
    text = normalise(question)
    # A name holding a cue (研发费用) is not read for cues; it stays where it is, in the subject.
    names = sorted(intents().not_cues, key=len, reverse=True)
    parts = re.split("(" + "|".join(map(re.escape, names)) + ")", text) if names else [text]
    found: set[str] = set()
    for i in range(0, len(parts), 2):
        for cue, code in _cue_table():
            if cue in parts[i]:
                found.add(code)
                parts[i] = parts[i].replace(cue, " ")
    text = " ".join(parts)
    handoff = False
    for cue in intents().handoff_cues:
        if normalise(cue) in text:
            handoff = True
            text = text.replace(normalise(cue), " ")
    fillers = set(intents().fillers)
    left = [w for w in words(text) if w not in fillers]
    order = [a.code for a in intents().aspects]
    return Reading(
        aspects=tuple(c for c in order if c in found), handoff=handoff, subject="".join(left)
    )
