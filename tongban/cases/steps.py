"""The 一表申请 as short steps (一页一事): which step each field belongs to, derived from the
data element's prefix (the person or thing it is about), never written per service; and how
an answer reads back on the 核对信息 page. Presentation only: the services decide what is
valid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tongban.accounts.models import District
from tongban.cases.models import Delivery

MATERIALS = "materials"
DELIVERY = "delivery"

# Data element prefix → (step, its title). Several prefixes may share a step (the parents,
# and the marriage that makes them a family). Order here is the order of the steps.
STEP_OF_PREFIX: dict[str, tuple[str, str]] = {
    "applicant": ("applicant", "申请人信息"),
    "agent": ("agent", "经办人信息"),
    "enterprise": ("enterprise", "企业信息"),
    "legal_rep": ("legal_rep", "法定代表人信息"),
    "child": ("child", "关于子女"),
    "mother": ("parents", "关于父母"),
    "father": ("parents", "关于父母"),
    "marriage": ("parents", "关于父母"),
    "spouse": ("spouse", "关于配偶"),
    "household": ("household", "户籍信息"),
    "residence": ("residence", "居住信息"),
    "elderly": ("elderly", "老年人情况"),
    "care": ("care", "照护服务"),
    "disability": ("disability", "残疾情况"),
    "rehabilitation": ("rehabilitation", "康复服务"),
    "assistive_device": ("assistive_device", "辅助器具"),
    "medical": ("medical", "医疗保障"),
    "maternity": ("maternity", "生育保险"),
    "vaccination": ("vaccination", "预防接种"),
    "school": ("school", "入学信息"),
    "veteran": ("veteran", "退役军人信息"),
    "legal_aid": ("legal_aid", "法律援助"),
    "property": ("property", "房屋信息"),
    "housing": ("housing", "住房情况"),
    "housing_fund": ("housing_fund", "住房公积金"),
    "social_insurance": ("social_insurance", "社会保险"),
    "social_security_card": ("social_security_card", "社会保障卡"),
    "seal": ("seal", "印章刻制"),
    "tax": ("tax", "税务信息"),
    "invoice": ("invoice", "发票申领"),
    "bank": ("bank", "银行开户"),
    "food": ("food", "食品经营"),
    "deregistration": ("deregistration", "注销信息"),
    "points": ("points", "积分信息"),
    "appointment": ("appointment", "预约信息"),
    "emergency": ("emergency", "紧急联系人"),
    "payment": ("payment", "待遇发放账户"),
}
OTHER = ("other", "其他信息")
STEP_ORDER = list(dict.fromkeys(key for key, _title in STEP_OF_PREFIX.values()))

# Within a step shared by several people, each person's fields stand together under a heading.
SECTION_OF_PREFIX = {"mother": "母亲", "father": "父亲", "marriage": "父母婚姻登记"}

STATE_LABELS = {"todo": "未开始", "done": "已完成", "error": "有错误"}


@dataclass
class Step:
    slug: str
    title: str
    fields: list[Any] = field(default_factory=list)  # GuideFields
    state: str = "todo"
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    def sections(self) -> list[tuple[str, list[Any]]]:
        """The step's fields by person, in the order each person first appears: (heading,
        fields); one section without a heading when the step is about one person."""
        by_prefix: dict[str, list[Any]] = {}
        for f in self.fields:
            by_prefix.setdefault(f.code.split(".", 1)[0], []).append(f)
        if len(by_prefix) < 2:
            return [("", list(self.fields))]
        return [(SECTION_OF_PREFIX.get(p, ""), fs) for p, fs in by_prefix.items()]


def step_of(code: str) -> tuple[str, str]:
    """The step (slug, title) a data element belongs on. 送达 elements (邮寄地址 …) go with
    the choice of 送达方式."""
    prefix = code.split(".", 1)[0]
    if prefix == "delivery":
        return DELIVERY, "送达方式"
    return STEP_OF_PREFIX.get(prefix, OTHER)


def steps_for(fields: list[Any], *, has_materials: bool = True) -> list[Step]:
    """The steps of one form: the field groups that have fields, in a fixed order (people
    first, so their certificates can spare materials), then 申请材料 and 送达方式."""
    groups: dict[str, Step] = {}
    for f in fields:
        slug, title = step_of(f.code)
        if slug == DELIVERY:
            continue
        groups.setdefault(slug, Step(slug, title)).fields.append(f)
    order = {slug: n for n, slug in enumerate([*STEP_ORDER, OTHER[0]])}
    steps = sorted(groups.values(), key=lambda s: order[s.slug])
    if has_materials:
        steps.append(Step(MATERIALS, "申请材料"))
    steps.append(Step(DELIVERY, "送达方式", [f for f in fields if step_of(f.code)[0] == DELIVERY]))
    return steps


def _date_text(value: str) -> str:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return value
    return f"{day.year}年{day.month}月{day.day}日"


def display_value(f: Any, value: Any) -> str:
    """An answer as a person reads it: a choice's label (never its code), 是/否, a district's
    name, a date in Chinese; blank is 未填写."""
    text = "" if value is None else str(value).strip()
    if isinstance(value, bool):
        text = "true" if value else "false"
    if not text:
        return "未填写"
    if f.type == "boolean":
        return {"true": "是", "false": "否"}.get(text, text)
    if f.type == "choice":
        return next((c.label for c in f.choices if c.value == text), text)
    if f.type == "district":
        return dict(District.choices).get(text, text)
    if f.type == "date":
        return _date_text(text)
    if f.type == "slot":
        from tongban.appointments.selectors.booking import slot_text

        return slot_text(text)
    return text


def delivery_label(value: str) -> str:
    return dict(Delivery.choices).get(value, "未选择")


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"
