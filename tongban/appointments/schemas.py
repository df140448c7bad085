"""The shape of a waiting-list definition (轮候名单, YAML in `definitions/waiting_lists/`),
validated by pydantic.

A waiting list allocates scarce places (养老机构床位, 公租房房源) by position: which item's
approved applications join it, which department keeps it, its priority classes best first —
each decided from the person's facts in the policy rule language (`tongban.policies.rules`:
all / any / not over data elements, every condition with its own text), so "优先 from the
policy" is literal — and how many days an offer stays open. The last class takes everyone
else and has no rule. Facts the data dictionary does not hold (the 照护等级 of a 长护险
assessment) are declared under `facts`, read from the person's valid e-certificate.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from tongban.catalog.schemas import Code, Strict

FactCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", max_length=64)]
ClassCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=32)]


class CertificateFact(Strict):
    """A fact the classes read from a claim of the person's newest valid certificate of a
    type (not revoked, not expired); unknown when they hold none or the claim is empty."""

    code: FactCode
    label: str = Field(min_length=1, max_length=40)
    type: Literal["integer", "boolean", "text", "date"]
    certificate_type: Code
    claim: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class PriorityClassDef(Strict):
    """One priority class (优先类别). `rule` in the policy rule language; the last class has
    none (一般轮候: everyone not in a class above)."""

    code: ClassCode
    label: str = Field(min_length=1, max_length=30)
    description: str = Field("", max_length=200)
    rule: dict[str, Any] | None = None


class WaitingListDef(Strict):
    """轮候名单 — one list as its department defines it."""

    code: Code
    name: str = Field(min_length=2, max_length=80)
    item: Code
    department: Code
    summary: str = Field("", max_length=400)
    place_label: str = Field("床位", min_length=1, max_length=10)  # 床位 / 房源
    facts: list[CertificateFact] = Field(default_factory=list)
    priority_classes: list[PriorityClassDef] = Field(min_length=1, max_length=12)
    offer_days: int = Field(ge=1, le=30)
    is_example: bool = False

    @field_validator("priority_classes")
    @classmethod
    def _classes(cls, classes: list[PriorityClassDef]) -> list[PriorityClassDef]:
        codes = [c.code for c in classes]
        if len(set(codes)) != len(codes):
            raise ValueError("优先类别编码重复")
        if classes[-1].rule is not None:
            raise ValueError("最后一个类别收纳其余所有人，不写 rule")
        if any(c.rule is None for c in classes[:-1]):
            raise ValueError("除最后一个类别外，每个类别都要写明 rule（如何判定）")
        return classes

    @model_validator(mode="after")
    def _facts_unique(self) -> WaitingListDef:
        codes = [f.code for f in self.facts]
        if len(set(codes)) != len(codes):
            raise ValueError("facts 中的事实编码重复")
        return self
