"""Template filters for case pages."""

import datetime as dt
import re

from django import template

from tongban.cases.receipt import receipt_display

register = template.Library()


@register.filter
def receipt(value: str) -> str:
    """受理编号 in groups of four, as people read it aloud: 2611 2701 2345 6."""
    return receipt_display(str(value or ""))


_FILE_KINDS = {"application/pdf": "PDF文件", "image/jpeg": "JPG图片", "image/png": "PNG图片"}


@register.filter
def file_kind(content_type: str) -> str:
    """What kind of file an upload is, in words (uploads are checked to be one of these)."""
    return _FILE_KINDS.get(content_type or "", "文件")


@register.filter
def file_size(size: int | None) -> str:
    """An upload's size in Chinese units (filesizeformat says "bytes" whatever the locale)."""
    n = int(size or 0)
    if n < 1024:
        return f"{n} 字节"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@register.filter
def cn_date(value) -> str:
    """A date value (ISO text, as certificate claims carry them) as people write it:
    2026年11月5日. Anything that is not a date is shown as given."""
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    match = _ISO_DATE.match(str(value if value is not None else ""))
    if not match:
        return "" if value is None else str(value)
    year, month, day = (int(g) for g in match.groups())
    return f"{year}年{month}月{day}日"


@register.filter
def for_staff(text: str) -> str:
    """A reason written to the applicant (您已有电子证照…) as staff read it (申请人已有…)."""
    text = str(text or "")
    return "申请人" + text[1:] if text.startswith("您") else text
