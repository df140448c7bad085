"""消息模板: the Chinese wording of templated notices, from templates.yaml, checked at load."""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tongban.common.errors import InvalidInput

TEMPLATES_FILE = Path(__file__).with_name("templates.yaml")
# One GSM/UCS-2 SMS segment holds 70 Chinese characters; longer texts are billed twice.
SMS_MAX = 70
# Categories that callers used before templates existed, and where they belong.
LEGACY_GROUPS = {
    "case": "case",
    "supplement_reminder": "case",
    "deferred_overdue": "case",
    "certificate": "certificate",
    "sla_reminder": "system",
    "sla_escalation": "system",
}

ChannelName = Literal["email", "sms"]
GroupName = Literal["case", "certificate", "review", "policy", "system"]


def _placeholders(text: str) -> set[str]:
    names = set()
    for _literal, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        # Plain names only: "{a.b}" or "{a[0]}" would let a context object leak attributes.
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"占位符只能是简单名称：{{{field}}}")
        names.add(field)
    return names


class MessageTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    name: str = Field(min_length=1, max_length=40)
    group: GroupName
    channels: list[ChannelName] = Field(default_factory=list)
    required: list[ChannelName] = Field(default_factory=list)
    title: str = Field(min_length=1, max_length=200)
    body: str = ""
    sms: str = Field(min_length=1, max_length=SMS_MAX)

    @field_validator("title", "body", "sms")
    @classmethod
    def _simple_placeholders(cls, value: str) -> str:
        _placeholders(value)
        return value

    @model_validator(mode="after")
    def _required_are_allowed(self) -> MessageTemplate:
        extra = set(self.required) - set(self.channels)
        if extra:
            raise ValueError(f"{self.code}: 强制渠道 {sorted(extra)} 不在允许的渠道中")
        return self

    @property
    def mandatory(self) -> bool:
        """A mandatory notice (e.g. 补正 deadlines) cannot be switched off on its channels."""
        return bool(self.required)

    def render(self, context: dict) -> tuple[str, str, str]:
        """(title, body, sms) with the context filled in; a missing value is InvalidInput."""
        needed = _placeholders(self.title) | _placeholders(self.body) | _placeholders(self.sms)
        missing = sorted(needed - set(context))
        if missing:
            raise InvalidInput(
                f"消息模板“{self.name}”缺少内容：{'、'.join(missing)}",
                code="NOTICE_TEMPLATE_CONTEXT_MISSING",
                details=[{"field": f"context.{name}", "message": "必填"} for name in missing],
            )
        values = {name: str(context[name]) for name in needed}
        sms = self.sms.format_map(values)
        if len(sms) > SMS_MAX:
            # A long case name must not fail the caller's change: shorten to one segment.
            sms = sms[: SMS_MAX - 1] + "…"
        return self.title.format_map(values).strip(), self.body.format_map(values).strip(), sms


def load_templates(path: Path = TEMPLATES_FILE) -> dict[str, MessageTemplate]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    templates: dict[str, MessageTemplate] = {}
    for row in rows:
        template = MessageTemplate.model_validate(row)
        if template.code in templates:
            raise ValueError(f"消息模板重复：{template.code}")
        templates[template.code] = template
    return templates


@cache
def templates() -> dict[str, MessageTemplate]:
    return load_templates()


def template_get(code: str) -> MessageTemplate:
    template = templates().get(code)
    if template is None:
        raise InvalidInput(
            "没有这个消息模板",
            code="NOTICE_TEMPLATE_UNKNOWN",
            details=[{"field": "template", "message": code}],
        )
    return template


def group_of(category: str) -> str:
    """The group a category belongs to; unknown categories are 系统/工作提醒."""
    if category in templates():
        return templates()[category].group
    if category in LEGACY_GROUPS:
        return LEGACY_GROUPS[category]
    for prefix in ("case", "certificate", "review"):
        if category.startswith(prefix):
            return prefix
    return "system"
