"""The policy definition (政策定义), validated like service items: one YAML file per policy,
versioned by the catalog loader. Eligibility is a rule tree (tongban.policies.rules) checked
against the data dictionary when the catalog is loaded."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from tongban.catalog.schemas import Strict

PolicyMode = Literal["push", "automatic", "on_application"]
MODE_LABELS = {
    "push": "精准推送",
    "automatic": "免申即享",
    "on_application": "依申请",
}
SUBJECT_LABELS = {"resident": "个人", "enterprise": "企业"}


class LegalBasis(Strict):
    document: str = Field(min_length=2, max_length=120)  # 文号 / 文件名
    article: str = Field(default="", max_length=60)


class Benefit(Strict):
    text: str = Field(min_length=2, max_length=200)  # what and how much, as a person reads it
    amount: float | None = Field(default=None, ge=0)
    # Or worked out for each person or enterprise: a formula over data elements
    # (tongban.policies.rules.formula_value), e.g. {min: [{mul: [{element: …}, 500]}, 1000000]}.
    formula: Any = None
    unit: str = Field(default="", max_length=20)  # 元/月, 元/次 …
    # How often a 免申即享 benefit is granted: once, or again every month or year.
    period: Literal["once", "monthly", "yearly"] = "once"

    @model_validator(mode="after")
    def _one_amount(self) -> Benefit:
        if self.amount is not None and self.formula is not None:
            raise ValueError("amount 与 formula 只能给出一个")
        return self


class FundRoundDef(Strict):
    """专项资金 申报批次: when enterprises apply (through the policy's item), how much there is,
    the most one project gets, and how long the published results stay open to objection."""

    code: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{1,2}$")]  # 2026-1
    name: str = Field(min_length=2, max_length=40)
    opens: dt.date
    closes: dt.date
    budget: int = Field(gt=0)  # 元
    max_award: int = Field(gt=0)  # 元 per application
    objection_days: int = Field(default=7, ge=1, le=30)

    @model_validator(mode="after")
    def _ordered(self) -> FundRoundDef:
        if self.closes < self.opens:
            raise ValueError("closes 早于 opens")
        if self.max_award > self.budget:
            raise ValueError("max_award 超过 budget")
        return self

    def open_on(self, today: dt.date) -> bool:
        return self.opens <= today <= self.closes

    @property
    def budget_label(self) -> str:
        return f"{self.budget:,}"

    @property
    def max_award_label(self) -> str:
        return f"{self.max_award:,}"


class ConcludeDef(Strict):
    """免申即享 自动办结: each person (enterprise) granted the benefit also gets a case of the
    policy's item, concluded by the platform at once — with what the item issues (its
    certificate) — and, where PAYS_TO is given, every period's amount becomes a payment order
    (发放指令) in the department's payment file for that account."""

    pays_to: str = Field(default="", max_length=40)  # 本人社会保障卡, 企业失业保险缴费账户 …


class PolicyDef(Strict):
    code: Annotated[str, Field(pattern=r"^[A-Z]{2}-[A-Z]{2,6}-P[0-9]{3}$")]
    name: str = Field(min_length=2, max_length=80)
    department: str
    legal_basis: LegalBasis
    subject: Literal["resident", "enterprise"]
    mode: PolicyMode
    summary: str = Field(min_length=4, max_length=400)
    benefit: Benefit
    life_events: list[str] = Field(default_factory=list)  # bundle codes it belongs with
    # The service item to apply through (精准推送, 依申请): one click into its prefilled form.
    item: str = ""
    # Answers to the item's questions (情形) that the policy already implies for the person it
    # found, e.g. applicant_role: self — so one click lands in the form, not in the questions.
    answers: dict[str, str] = Field(default_factory=dict)
    valid_from: dt.date
    valid_until: dt.date | None = None
    eligibility: dict[str, Any]
    # 专项资金: the rounds in which enterprises apply, are scored and published (on_application).
    fund_rounds: list[FundRoundDef] = Field(default_factory=list)
    # 免申即享 only: a case concluded automatically for each grant, with a payment order.
    conclude: ConcludeDef | None = None

    @field_validator("eligibility")
    @classmethod
    def _a_tree(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("资格条件不能为空")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PolicyDef:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until 早于 valid_from")
        if self.mode in ("push", "on_application") and not self.item:
            raise ValueError(f"{MODE_LABELS[self.mode]}的政策必须给出申请事项 item")
        if self.fund_rounds and (self.mode != "on_application" or self.subject != "enterprise"):
            raise ValueError("专项资金批次只用于依申请的惠企政策")
        if self.conclude is not None:
            if self.mode != "automatic":
                raise ValueError("自动办结（conclude）只用于免申即享的政策")
            if not self.item:
                raise ValueError("自动办结的政策必须给出办结所用的事项 item")
            if self.conclude.pays_to and self.benefit.amount is None and not self.benefit.formula:
                raise ValueError("发放账户（pays_to）需要待遇给出金额 amount 或 formula")
        if len({r.code for r in self.fund_rounds}) != len(self.fund_rounds):
            raise ValueError("专项资金批次编码重复")
        return self

    def fund_round(self, code: str) -> FundRoundDef | None:
        return next((r for r in self.fund_rounds if r.code == code), None)

    def in_force(self, today: dt.date) -> bool:
        return self.valid_from <= today and (self.valid_until is None or today <= self.valid_until)
