"""The shape of catalog definitions (YAML), validated by pydantic.

A definition file holds one of: a list of departments, a list of data elements, one service
item, or one bundle. Every model forbids unknown keys so a typo in a definition is refused at
load time instead of being silently ignored.

Conditions (`when`) refer to situation answers: {situation_code: value or [values]}; every key
must hold. An empty or missing `when` always holds.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CODE = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
Code = Annotated[str, Field(pattern=CODE, max_length=64)]
When = dict[str, str | bool | list[str | bool]]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- departments


class DepartmentDef(Strict):
    code: Code
    name: str = Field(min_length=2, max_length=80)
    short_name: str = Field(default="", max_length=30)
    region_code: str = Field(pattern=r"^\d{6}$")
    hotline: str = ""
    address: str = ""


class DepartmentsFile(Strict):
    departments: list[DepartmentDef] = Field(min_length=1)


# ---------------------------------------------------------------- data elements (数据元)

ElementType = Literal[
    "text", "id_number", "uscc", "date", "phone", "choice", "integer", "decimal", "boolean",
    "address", "district", "email",
]  # fmt: skip


class Choice(Strict):
    value: str
    label: str


class Prefill(Strict):
    """Where a value can be taken from instead of asking. `source` names a provider: `profile`
    (the applicant's 一人一档), `enterprise` (一企一档); later `certificate` and `data_source`."""

    source: Literal["profile", "enterprise", "certificate", "data_source"]
    field: str = Field(min_length=1)
    certificate_type: str = ""


class DataElementDef(Strict):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")]
    label: str = Field(min_length=1, max_length=60)
    type: ElementType
    sensitivity: int = Field(ge=1, le=4, description="1 公开, 2 内部, 3 敏感, 4 高度敏感")
    max_length: int | None = Field(default=None, ge=1, le=2000)
    pattern: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    choices: list[Choice] = Field(default_factory=list)
    prefill: list[Prefill] = Field(default_factory=list)
    help: str = ""

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"正则表达式无法编译：{exc}") from exc
        return value

    @model_validator(mode="after")
    def _choices_for_choice(self) -> DataElementDef:
        if self.type == "choice" and not self.choices:
            raise ValueError("type 为 choice 的数据元必须给出 choices")
        if self.type != "choice" and self.choices:
            raise ValueError("只有 type 为 choice 的数据元可以给出 choices")
        return self


class DataElementsFile(Strict):
    elements: list[DataElementDef] = Field(min_length=1)


# ---------------------------------------------------------------- situations (情形)


class SituationOption(Strict):
    value: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1)

    @field_validator("value", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: object) -> object:
        # YAML 1.1 reads a bare yes/no as a boolean; treat it as the word the author wrote.
        return _as_option_value(value) if isinstance(value, bool) else value


class SituationDef(Strict):
    """A guided question. `when` makes it appear only after earlier answers (e.g. ask about
    twins only for a birth in this city)."""

    code: Code
    question: str = Field(min_length=2)
    help: str = ""
    options: list[SituationOption] = Field(min_length=2)
    when: When = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_values(self) -> SituationDef:
        values = [o.value for o in self.options]
        if len(values) != len(set(values)):
            raise ValueError(f"情形 {self.code} 的选项值重复")
        return self


# ---------------------------------------------------------------- service items (事项)

ItemType = Literal["行政许可", "行政确认", "行政给付", "行政裁决", "公共服务", "其他"]


class Waiver(Strict):
    """How a material can be spared (减材料)."""

    kind: Literal["certificate", "data_source", "commitment"]
    certificate_type: str = ""  # kind=certificate: the e-certificate type code that proves it
    data_source: str = ""  # kind=data_source: the source queried (e.g. 公安人口库)
    profile_field: str = ""  # kind=data_source: the profile field that already holds the fact
    commitment_text: str = ""  # kind=commitment: the text signed (告知承诺)
    note: str = ""

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Waiver:
        needed = {
            "certificate": self.certificate_type,
            "data_source": self.data_source,
            "commitment": self.commitment_text,
        }[self.kind]
        if not needed:
            field = {
                "certificate": "certificate_type",
                "data_source": "data_source",
                "commitment": "commitment_text",
            }[self.kind]
            raise ValueError(f"kind 为 {self.kind} 的免提交方式必须给出 {field}")
        return self


class MaterialDef(Strict):
    """申请材料. `code` is shared across items for one document, so a bundle asks for it once."""

    code: Code
    name: str = Field(min_length=2)
    form: Literal["原件", "复印件", "原件及复印件", "电子材料", "在线填写"] = "电子材料"
    copies: int = Field(default=1, ge=0, le=20)
    required: bool = True
    when: When = Field(default_factory=dict)
    waivable_by: list[Waiver] = Field(default_factory=list)
    source: str = ""  # 来源渠道: 申请人自备 / 政府部门核发 …
    note: str = ""


class ElementUse(Strict):
    code: str
    required: bool = True
    when: When = Field(default_factory=dict)


class ProcessStep(Strict):
    step: str = Field(min_length=1)
    description: str = ""


class TimeLimit(Strict):
    statutory_days: int = Field(ge=0, le=365, description="法定办结时限（工作日）")
    promised_days: int = Field(ge=0, le=365, description="承诺办结时限（工作日）")

    @model_validator(mode="after")
    def _promise_within_law(self) -> TimeLimit:
        if self.statutory_days and self.promised_days > self.statutory_days:
            raise ValueError("承诺时限不得长于法定时限")
        return self


class Fee(Strict):
    free: bool = True
    description: str = "不收费"


class OutputDef(Strict):
    """办理结果: a certificate type issued to a holder when the item is approved."""

    certificate_type: str
    name: str
    holder: Literal["applicant", "child", "enterprise", "spouse", "other"] = "applicant"


class ServiceItemDef(Strict):
    code: Code
    name: str = Field(min_length=2, max_length=80)
    aliases: list[str] = Field(default_factory=list, description="群众常用说法，用于搜索")
    type: ItemType
    department: str
    subject: Literal["person", "enterprise", "both"] = "person"
    summary: str = ""
    legal_basis: list[str] = Field(min_length=1)
    conditions: list[str] = Field(min_length=1)
    materials: list[MaterialDef] = Field(default_factory=list)
    process: list[ProcessStep] = Field(min_length=1)
    time_limit: TimeLimit
    handling: Literal["instant", "promised"]  # 即办件 / 承诺件
    fees: Fee = Field(default_factory=Fee)
    channels: list[Literal["online", "counter", "mobile", "kiosk"]] = Field(min_length=1)
    visits: int = Field(ge=0, le=5, description="最多跑动次数")
    place: str = ""
    hotline: str = ""
    situations: list[SituationDef] = Field(default_factory=list)
    elements: list[str | ElementUse] = Field(default_factory=list)
    outputs: list[OutputDef] = Field(default_factory=list)
    is_example: bool = Field(default=True, description="示例: demo content, not a real guide")

    @field_validator("elements")
    @classmethod
    def _normalise_elements(cls, value: list[str | ElementUse]) -> list[str | ElementUse]:
        codes = [v if isinstance(v, str) else v.code for v in value]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"数据元重复：{', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _consistency(self) -> ServiceItemDef:
        if self.handling == "instant" and self.time_limit.promised_days != 0:
            raise ValueError("即办件的承诺时限应为0个工作日")
        material_codes = [m.code for m in self.materials]
        dupes = sorted({c for c in material_codes if material_codes.count(c) > 1})
        if dupes:
            raise ValueError(f"材料编码重复：{', '.join(dupes)}")
        _check_conditions(self.situations, [m.when for m in self.materials])
        _check_conditions(
            self.situations, [e.when for e in self.elements if isinstance(e, ElementUse)]
        )
        return self

    def element_uses(self) -> list[ElementUse]:
        return [ElementUse(code=e) if isinstance(e, str) else e for e in self.elements]


# ---------------------------------------------------------------- bundles (一件事)


class BundleItem(Strict):
    item: str
    when: When = Field(default_factory=dict)
    after: list[str] = Field(default_factory=list, description="须在这些事项办结后再办理")


class BundleDef(Strict):
    code: Code
    name: str = Field(min_length=2, max_length=80)
    aliases: list[str] = Field(default_factory=list)
    subject: Literal["person", "enterprise"] = "person"
    summary: str = ""
    lead_department: str
    promised_days: int = Field(ge=0, le=365, description="一件事承诺办结时限（工作日）")
    situations: list[SituationDef] = Field(default_factory=list)
    items: list[BundleItem] = Field(min_length=2)
    is_example: bool = True

    @model_validator(mode="after")
    def _consistency(self) -> BundleDef:
        codes = [b.item for b in self.items]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"事项重复：{', '.join(dupes)}")
        for b in self.items:
            unknown = [a for a in b.after if a not in codes]
            if unknown:
                raise ValueError(f"事项 {b.item} 的 after 引用了未包含的事项：{', '.join(unknown)}")
        _check_acyclic({b.item: b.after for b in self.items})
        _check_conditions(self.situations, [b.when for b in self.items])
        return self


# ---------------------------------------------------------------- helpers


def _check_conditions(situations: list[SituationDef], conditions: list[When]) -> None:
    """Every `when` must name a situation defined here and one of its option values."""
    options = {s.code: {o.value for o in s.options} for s in situations}
    for s in situations:
        conditions = [*conditions, s.when]
    for when in conditions:
        for key, expected in when.items():
            if key not in options:
                raise ValueError(f"条件引用了未定义的情形：{key}")
            values = expected if isinstance(expected, list) else [expected]
            for v in values:
                text = _as_option_value(v)
                if text not in options[key]:
                    raise ValueError(f"条件中情形 {key} 的取值 {text} 不是它的选项")


def _as_option_value(value: str | bool) -> str:
    # YAML reads yes/no/true/false as booleans; option values are strings.
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def condition_holds(when: When, answers: dict[str, str]) -> bool:
    for key, expected in when.items():
        values = expected if isinstance(expected, list) else [expected]
        if answers.get(key) not in {_as_option_value(v) for v in values}:
            return False
    return True


def _check_acyclic(graph: dict[str, list[str]]) -> None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            raise ValueError(f"事项先后顺序存在循环：{' → '.join([*path, node])}")
        state[node] = 1
        for nxt in graph.get(node, []):
            visit(nxt, [*path, node])
        state[node] = 2

    for node in graph:
        visit(node, [])


DEFINITION_KINDS = {
    "departments": DepartmentsFile,
    "elements": DataElementsFile,
    "item": ServiceItemDef,
    "bundle": BundleDef,
}
