"""The shape of catalog definitions (YAML), validated by pydantic.

A definition file holds one of: a list of departments, a list of data elements, one service
item, or one bundle. Every model forbids unknown keys so a typo in a definition is refused at
load time instead of being silently ignored.

Conditions (`when`) refer to situation answers: {situation_code: value or [values]}; every key
must hold. An empty or missing `when` always holds.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

CODE = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
Code = Annotated[str, Field(pattern=CODE, max_length=64)]


def _as_option_value(value: Any) -> Any:
    # YAML 1.1 reads a bare yes/no (and true/false) as a boolean; option values are the words
    # the author wrote.
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _normalise_when(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: [_as_option_value(x) for x in v] if isinstance(v, list) else _as_option_value(v)
            for k, v in value.items()
        }
    return value


# {situation_code: value or [values]}; booleans from YAML are turned into "yes"/"no" so stored
# definitions and API output carry the option values themselves.
When = Annotated[dict[str, str | list[str]], BeforeValidator(_normalise_when)]


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
    "address", "district", "email", "slot",
]  # fmt: skip


class Choice(Strict):
    value: str
    label: str

    @field_validator("value", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: object) -> object:
        return _as_option_value(value) if isinstance(value, bool) else value


# Whose document a material is (材料所属人). Evidence spares a material only when it belongs to
# that very person or body: the father's ID card is never spared by the mother's.
PersonRole = Literal[
    "applicant", "mother", "father", "child", "spouse", "guardian", "legal_representative",
    "enterprise", "investor", "other",
]  # fmt: skip
PERSON_ROLE_LABELS: dict[str, str] = {
    "applicant": "申请人本人",
    "mother": "母亲",
    "father": "父亲",
    "child": "子女",
    "spouse": "配偶",
    "guardian": "其他监护人",
    "legal_representative": "法定代表人",
    "enterprise": "企业",
    "investor": "股东（出资人）",
    "other": "其他人",
}
# Roles that are several people or bodies at once, and the data element in which the form lists
# each one's 公民身份号码 or 统一社会信用代码 (separated by spaces or commas): a data source can
# then verify every one of them, and the material is spared only when it answers for all.
ROLE_SUBJECTS: dict[str, str] = {"investor": "enterprise.shareholder_ids"}
# The data elements that say who a person of a role is (公民身份号码, 姓名). The applicant is
# known from their account and an enterprise from the one the agent acts for (or the credit
# code its registration produces); "other" (e.g. each investor) is never matched.
ROLE_IDENTITY: dict[str, tuple[str, str]] = {
    "mother": ("mother.id_number", "mother.name"),
    "father": ("father.id_number", "father.name"),
    "child": ("child.id_number", "child.name"),
    "spouse": ("spouse.id_number", "spouse.name"),
    "legal_representative": ("enterprise.legal_rep_id_number", "enterprise.legal_representative"),
}


class Prefill(Strict):
    """Where a value can be taken from instead of asking. `source` names a provider: `profile`
    (the applicant's 一人一档), `enterprise` (一企一档); later `certificate` and `data_source`."""

    source: Literal["profile", "enterprise", "certificate", "data_source"]
    field: str = Field(min_length=1)
    certificate_type: str = ""
    # source=data_source: the department system (its name, as waivers name it: 社保参保库)
    # whose element `field` the form may offer, asked about the applicant or their enterprise.
    data_source: str = ""
    # Only when the applicant is this person of the case (the service's `applicant_person_question`
    # question says who they are): the mother applying fills 母亲姓名 from her own profile,
    # and 父亲姓名 from her 结婚证; the father applying, the other way round.
    applicant_is: PersonRole | Literal[""] = ""


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
    # Who holds the true value (e.g. 助产机构 for a birth weight): the form says so, so the
    # applicant copies it from that body's record instead of guessing.
    supplied_by: str = Field(default="", max_length=30)
    # 示例值: what a real person would type here (synthetic). Demo cases, tests and
    # benchmarks fill forms with it, so that what staff read looks like a real application.
    example: str | int | None = None

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

    @model_validator(mode="after")
    def _example_fits(self) -> DataElementDef:
        value = self.example
        if value is None:
            return self
        if self.type not in ("text", "integer", "decimal"):
            raise ValueError("只有文本和数字类数据元可以给出示例值 example")
        text = str(value)
        if self.type in ("integer", "decimal"):
            try:
                number = int(text) if self.type == "integer" else float(text)
            except ValueError:
                raise ValueError(
                    f"示例值 {text} 不是{'整数' if self.type == 'integer' else '数字'}"
                ) from None
            if self.min_value is not None and number < self.min_value:
                raise ValueError(f"示例值 {text} 小于最小值 {self.min_value:g}")
            if self.max_value is not None and number > self.max_value:
                raise ValueError(f"示例值 {text} 大于最大值 {self.max_value:g}")
        if self.max_length is not None and len(text) > self.max_length:
            raise ValueError(f"示例值超过最大长度 {self.max_length}")
        if self.pattern and not re.search(self.pattern, text):
            raise ValueError(f"示例值 {text} 不符合格式 {self.pattern}")
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


# Facts of the applicant's 一人一档 a question may be answered from, and how each can be
# tested. `age` is whole years on the day the guide runs (from the birth date).
NUMBER_FACTS = ("age", "disability_grade")
YES_NO_FACTS = (
    "hukou_is_local", "is_veteran", "is_low_income", "is_minimum_living_allowance",
    "has_residence_permit",
)  # fmt: skip
TEXT_FACTS = (
    "sex", "hukou_district", "residence_district", "marital_status", "employment_status",
)  # fmt: skip
ProfileFact = Literal[
    "age", "disability_grade",
    "hukou_is_local", "is_veteran", "is_low_income", "is_minimum_living_allowance",
    "has_residence_permit",
    "sex", "hukou_district", "residence_district", "marital_status", "employment_status",
]  # fmt: skip


class KnownFrom(Strict):
    """An answer the platform already holds: one test on one fact of the applicant's 一人一档.
    When the test holds the answer is `then`, otherwise `otherwise` (empty: the question is
    asked). `when` names the answers under which the profile is the person the question is
    about (本人申请, not a family member). `says` is what the applicant is told, per answer:
    {yes: 年满65周岁} reads 「已根据您的居民档案确定：年满65周岁」.

    Declarative on purpose: exactly one test (a number range, a value, a set of values, or
    whether the fact is on record), never an expression."""

    profile: ProfileFact
    at_least: int | None = None
    at_most: int | None = None
    equals: bool | str | None = None
    one_of: list[str] | None = None
    is_set: bool | None = None
    then: str = "yes"
    otherwise: str = "no"
    when: When = Field(default_factory=dict)
    says: dict[str, str] = Field(min_length=1)

    @field_validator("then", "otherwise", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: object) -> object:
        if value is None:
            return ""
        return _as_option_value(value) if isinstance(value, bool) else value

    @field_validator("says", mode="before")
    @classmethod
    def _says_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            return {_as_option_value(k): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _one_test(self) -> KnownFrom:
        numeric = self.at_least is not None or self.at_most is not None
        tests = [numeric, self.equals is not None, self.one_of is not None, self.is_set is not None]
        if sum(tests) != 1:
            raise ValueError(
                "known_from 必须且只能给出一种判断：at_least/at_most、equals、one_of 或 is_set"
            )
        if numeric and self.profile not in NUMBER_FACTS:
            raise ValueError(f"档案项 {self.profile} 不是数值，不能用 at_least/at_most 判断")
        if self.equals is not None:
            if self.profile in NUMBER_FACTS:
                raise ValueError(f"档案项 {self.profile} 是数值，请用 at_least/at_most 判断")
            wanted = bool if self.profile in YES_NO_FACTS else str
            if not isinstance(self.equals, wanted):
                kind = "true 或 false" if wanted is bool else "文字"
                raise ValueError(f"档案项 {self.profile} 的 equals 应为{kind}")
        if self.one_of is not None and self.profile not in TEXT_FACTS:
            raise ValueError(f"档案项 {self.profile} 不能用 one_of 判断")
        for value in (self.then, self.otherwise):
            if value and value not in self.says:
                raise ValueError(f"says 缺少答案 {value} 的说明")
        extra = set(self.says) - {self.then, self.otherwise}
        if extra:
            raise ValueError(f"says 中的答案 {'、'.join(sorted(extra))} 不会由本规则得出")
        return self

    def answer(self, value: Any) -> str:
        """The answer this rule gives for the fact's VALUE (None when not on record); an
        empty string means the question is asked."""
        if self.is_set is not None:
            holds = (value is not None and value != "") == self.is_set
        elif value is None or value == "":
            holds = False
        elif self.at_least is not None or self.at_most is not None:
            holds = (self.at_least is None or value >= self.at_least) and (
                self.at_most is None or value <= self.at_most
            )
        elif self.equals is not None:
            holds = value == self.equals
        else:
            holds = value in (self.one_of or [])
        return self.then if holds else self.otherwise


def _as_rule_list(value: Any) -> Any:
    # One rule may be written without the list around it.
    return [value] if isinstance(value, dict) else value


class SituationDef(Strict):
    """A guided question. `when` makes it appear only after earlier answers (e.g. ask about
    twins only for a birth in this city). `known_from` lets the applicant's 一人一档 answer
    it (rules tried in order; the first that gives an answer wins)."""

    code: Code
    question: str = Field(min_length=2)
    help: str = ""
    options: list[SituationOption] = Field(min_length=2)
    when: When = Field(default_factory=dict)
    known_from: Annotated[list[KnownFrom], BeforeValidator(_as_rule_list)] = Field(
        default_factory=list
    )

    @model_validator(mode="after")
    def _unique_values(self) -> SituationDef:
        values = [o.value for o in self.options]
        if len(values) != len(set(values)):
            raise ValueError(f"情形 {self.code} 的选项值重复")
        for rule in self.known_from:
            for value in (rule.then, rule.otherwise):
                if value and value not in values:
                    raise ValueError(f"情形 {self.code} 的 known_from 答案 {value} 不是它的选项")
            if self.code in rule.when:
                raise ValueError(f"情形 {self.code} 的 known_from 条件不能引用自身")
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
    """申请材料. `code` is shared across items for one document, so a bundle asks for it once.
    `about` names whose document it is; a certificate spares it only when held by them."""

    code: Code
    name: str = Field(min_length=2)
    about: PersonRole = "applicant"
    form: Literal["原件", "复印件", "原件及复印件", "电子材料", "在线填写"] = "电子材料"
    copies: int = Field(default=1, ge=0, le=20)
    required: bool = True
    when: When = Field(default_factory=dict)
    waivable_by: list[Waiver] = Field(default_factory=list)
    source: str = ""  # 来源渠道: 申请人自备 / 政府部门核发 …
    note: str = ""
    # 容缺受理: a minor material the case may be accepted without, to follow within this many
    # working days of acceptance.
    deferrable: bool = False
    deferrable_days: int = Field(default=10, ge=1, le=60)
    # A material whose whole content is these form fields (在线填写 confirmations such as
    # 新生儿出生信息确认单): the form itself is the material, nothing is uploaded.
    satisfied_by_form: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _evidence_needs_a_person(self) -> MaterialDef:
        if self.about in ("other", "investor"):
            for i, w in enumerate(self.waivable_by):
                if w.kind == "certificate":
                    raise_located(
                        [
                            (
                                ("waivable_by", i, "kind"),
                                "材料不属于可识别的人（about: other），电子证照无法核验其持证人",
                            )
                        ],
                        title="MaterialDef",
                    )
        return self

    def certificate_types(self) -> list[str]:
        return [w.certificate_type for w in self.waivable_by if w.kind == "certificate"]


class ReviewPoint(Strict):
    """审查要点 a machine can check over form data (无人工干预自动办理). Declarative, never
    evaluated as code: `rule` names one of a fixed set of comparisons."""

    field: str = Field(min_length=1)
    rule: Literal["present", "equals", "in", "within_days_before_submission", "at_most", "at_least"]
    value: Any = None
    label: str = ""


class IntakeCheck(Strict):
    """受理审查 item: `machine` when the platform itself can verify it (e.g. the materials are
    e-certificates), else a person at intake must."""

    check: str = Field(min_length=1)
    machine: bool = False


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
            raise_located([(("promised_days",), "承诺时限不得长于法定时限")], title="TimeLimit")
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
    related_terms: list[str] = Field(
        default_factory=list,
        description="相关说法：不是本事项的名称或别称，但说这些话的人可能要找本事项；"
        "搜索没有结果时作为建议",
    )
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
    # The situation whose answer says which person of the case the applicant is (its option
    # values are roles: mother, father, …); element prefills marked `applicant_is` use it.
    applicant_person_question: str = ""
    # Data elements this item's decision creates (出生登记 gives the child an ID number). In a
    # 一件事, items that come after it read the value instead of asking the applicant.
    produces: list[str] = Field(default_factory=list)
    # 登记状态 the case's enterprise takes when this item is approved (企业注销登记 → 注销), in
    # the decision's own transaction: its 一企一档 and 一企一码 follow the registration.
    enterprise_status_on_approval: Literal["deregistered", "suspended", "revoked"] | None = None
    is_example: bool = Field(default=True, description="示例: demo content, not a real guide")
    # A case is accepted automatically only when every included item declares intake checks
    # and all of them are machine-verifiable; an item declaring none needs a person at intake.
    intake_checks: list[IntakeCheck] = Field(default_factory=list)
    review_points: list[ReviewPoint] = Field(default_factory=list)
    # 身份核验等级 an account needs to apply online (sms 手机号已验证, real_name 已实名核验,
    # in_person 窗口当面核验); none: any logged-in account. A counter filing meets it, the
    # clerk having checked the person there.
    assurance_level: Literal["sms", "real_name", "in_person"] | None = Field(
        default=None, description="网上办理所需的最低身份核验等级"
    )
    # 告知承诺事后核查: the share of this item's commitments drawn for a person to check
    # after the case concludes (commitments a data source can answer are all re-checked).
    commitment_check_share: float = Field(
        default=0.1, ge=0, le=1, description="告知承诺事后抽查比例（0至1）"
    )

    @model_validator(mode="after")
    def _consistency(self) -> ServiceItemDef:
        problems: list[Problem] = []
        if self.handling == "instant" and self.time_limit.promised_days != 0:
            problems.append((("time_limit", "promised_days"), "即办件的承诺时限应为0个工作日"))
        # 即办件 is a promise to conclude on the spot: only the platform can keep it, so what
        # is checked at intake and at review must be checkable by the platform.
        if self.handling == "instant" and (
            not self.intake_checks or not all(c.machine for c in self.intake_checks)
        ):
            problems.append(
                (
                    ("intake_checks",),
                    "即办件的受理条件须全部可由平台核验（machine: true），才能提交即办结",
                )
            )
        if self.handling == "instant" and not self.review_points:
            problems.append((("review_points",), "即办件须声明审查要点，全部满足的提交即办结"))
        problems += _duplicates("materials", [m.code for m in self.materials], "code", "材料编码")
        element_codes = [e if isinstance(e, str) else e.code for e in self.elements]
        problems += _duplicates("elements", element_codes, None, "数据元")
        problems += _duplicates("produces", self.produces, None, "产生的数据元")
        for i, code in enumerate(self.produces):
            if code in element_codes:
                problems.append(
                    (("produces", i), f"数据元 {code} 由本事项产生，不应同时向申请人收集")
                )
        located: list[tuple[Loc, When]] = [
            (("materials", i, "when"), m.when) for i, m in enumerate(self.materials)
        ]
        located += [
            (("elements", i, "when"), e.when)
            for i, e in enumerate(self.elements)
            if isinstance(e, ElementUse)
        ]
        problems += _condition_problems(self.situations, located)
        problems += _applicant_person_problems(self.applicant_person_question, self.situations)
        raise_located(problems, title="ServiceItemDef")
        return self

    def element_uses(self) -> list[ElementUse]:
        return [ElementUse(code=e) if isinstance(e, str) else e for e in self.elements]


# ---------------------------------------------------------------- bundles (一件事)


class BundleItem(Strict):
    item: str
    when: When = Field(default_factory=dict)
    after: list[str] = Field(default_factory=list, description="须在这些事项办结后再办理")
    # 减时间: inside a 一件事 a department may promise less than for the item on its own
    # (data arrives pre-checked, no queue at intake). Never more: the loader refuses that.
    promised_days: int | None = Field(
        default=None, ge=0, le=365, description="本一件事中该事项的承诺时限（工作日）"
    )


class BundleDef(Strict):
    code: Code
    name: str = Field(min_length=2, max_length=80)
    aliases: list[str] = Field(default_factory=list)
    related_terms: list[str] = Field(
        default_factory=list,
        description="相关说法：不是本事项的名称或别称，但说这些话的人可能要找本事项；"
        "搜索没有结果时作为建议",
    )
    subject: Literal["person", "enterprise"] = "person"
    summary: str = ""
    lead_department: str
    promised_days: int = Field(ge=0, le=365, description="一件事承诺办结时限（工作日）")
    situations: list[SituationDef] = Field(default_factory=list)
    items: list[BundleItem] = Field(min_length=2)
    is_example: bool = True
    # As on an item: the situation whose answer says which person of the case the applicant is.
    applicant_person_question: str = ""

    @model_validator(mode="after")
    def _consistency(self) -> BundleDef:
        codes = [b.item for b in self.items]
        problems = _duplicates("items", codes, "item", "事项")
        for i, b in enumerate(self.items):
            for j, a in enumerate(b.after):
                if a not in codes:
                    problems.append((("items", i, "after", j), f"after 引用了未包含的事项：{a}"))
        if not problems:
            cycle = _find_cycle({b.item: b.after for b in self.items})
            if cycle:
                i = codes.index(cycle[0])
                problems.append(
                    (("items", i, "after"), f"事项先后顺序存在循环：{' → '.join(cycle)}")
                )
        located = [(("items", i, "when"), b.when) for i, b in enumerate(self.items)]
        problems += _condition_problems(self.situations, located)
        problems += _applicant_person_problems(self.applicant_person_question, self.situations)
        raise_located(problems, title="BundleDef")
        return self


# ---------------------------------------------------------------- helpers


Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def raise_located(problems: list[Problem], *, title: str) -> None:
    """Raise every problem at once, each at its own location, so a loader can name the exact
    YAML line (`materials[2].when.twins`) instead of pointing at the top of the file."""
    if not problems:
        return
    details = [
        InitErrorDetails(
            type=PydanticCustomError("definition", "{detail}", {"detail": message}),
            loc=loc,
            input=None,
        )
        for loc, message in problems
    ]
    raise ValidationError.from_exception_data(title, details)


def _duplicates(field: str, codes: list[str], key: str | None, noun: str) -> list[Problem]:
    seen: set[str] = set()
    problems: list[Problem] = []
    for i, code in enumerate(codes):
        if code in seen:
            loc: Loc = (field, i, key) if key else (field, i)
            problems.append((loc, f"{noun}重复：{code}"))
        seen.add(code)
    return problems


def _condition_problems(
    situations: list[SituationDef], conditions: list[tuple[Loc, When]]
) -> list[Problem]:
    """Every `when` must name a situation defined here and one of its option values."""
    options = {s.code: {o.value for o in s.options} for s in situations}
    conditions = [
        *conditions,
        *((("situations", i, "when"), s.when) for i, s in enumerate(situations)),
        *(
            (("situations", i, "known_from", j, "when"), rule.when)
            for i, s in enumerate(situations)
            for j, rule in enumerate(s.known_from)
        ),
    ]
    problems: list[Problem] = []
    for loc, when in conditions:
        for key, expected in when.items():
            if key not in options:
                problems.append(((*loc, key), f"条件引用了未定义的情形：{key}"))
                continue
            values = expected if isinstance(expected, list) else [expected]
            for v in values:
                if v not in options[key]:
                    problems.append(((*loc, key), f"情形 {key} 的取值 {v} 不是它的选项"))
    return problems


def _applicant_person_problems(code: str, situations: list[SituationDef]) -> list[Problem]:
    if not code:
        return []
    situation = next((s for s in situations if s.code == code), None)
    if situation is None:
        return [
            (
                ("applicant_person_question",),
                f"applicant_person_question 引用了未定义的情形：{code}",
            )
        ]
    roles = set(PERSON_ROLE_LABELS)
    return [
        (("applicant_person_question",), f"情形 {code} 的选项 {o.value} 不是人员角色")
        for o in situation.options
        if o.value not in roles
    ]


def condition_holds(when: When, answers: dict[str, str]) -> bool:
    for key, expected in when.items():
        answer = answers.get(key)
        if answer != expected and not (isinstance(expected, list) and answer in expected):
            return False
    return True


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """The first dependency cycle found, as a path that returns to its start, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        if state.get(node) == 2:
            return None
        if state.get(node) == 1:
            return [*stack[stack.index(node) :], node]
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            found = visit(nxt)
            if found:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        found = visit(node)
        if found:
            return found
    return None


DEFINITION_KINDS = {
    "departments": DepartmentsFile,
    "elements": DataElementsFile,
    "item": ServiceItemDef,
    "bundle": BundleDef,
}
