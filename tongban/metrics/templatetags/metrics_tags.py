"""How figures read on the metrics pages: percentages and counts with separators."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def percent(rate) -> str:
    """0.7222 → "72.2%"; nothing to divide by → "—" (the API keeps the exact fraction)."""
    if rate is None or rate == "":
        return "—"
    return f"{float(Decimal(str(rate)) * 100):.1f}%"


@register.filter
def count(value) -> str:
    """12345 → "12,345"; a withheld figure → "—"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


@register.filter
def people(value) -> str:
    """Large counts as people read them: 13000000 → "1,300万"."""
    if value is None:
        return "—"
    value = int(value)
    if value >= 10000 and value % 10000 == 0:
        return f"{value // 10000:,}万"
    return f"{value:,}"


@register.filter
def days(value) -> str:
    if value is None:
        return "—"
    return f"{value}个工作日"
