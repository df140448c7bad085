"""Chinese labels for catalog codes in templates: {{ f.type|element_type_label }}."""

from __future__ import annotations

from django import template

from tongban.catalog.guide import CHANNEL_LABELS

register = template.Library()

ELEMENT_TYPE_LABELS = {
    "text": "文字",
    "id_number": "身份证号码",
    "uscc": "统一社会信用代码",
    "date": "日期",
    "phone": "电话号码",
    "choice": "选项",
    "integer": "整数",
    "decimal": "数字",
    "boolean": "是/否",
    "address": "地址",
    "district": "行政区",
    "email": "电子邮箱",
    "slot": "预约时段",
}


@register.filter
def element_type_label(value: str) -> str:
    return ELEMENT_TYPE_LABELS.get(value, value)


@register.filter
def channel_label(value: str) -> str:
    return CHANNEL_LABELS.get(value, value)
