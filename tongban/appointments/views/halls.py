"""Pages of 大厅查找 (the public finder with the 15分钟服务圈), one hall's page, and the city
operator's 大厅数据 (综合窗口设置比例, 预约履约, 等候时长). Thin: the selectors hold the rules."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tongban.accounts.models import District
from tongban.appointments.models import LOCAL_TZ
from tongban.appointments.selectors import figures
from tongban.appointments.selectors import halls as selectors
from tongban.common.errors import DomainError
from tongban.portal.views import forbidden


@require_GET
def finder_view(request: HttpRequest) -> HttpResponse:
    """大厅查找 — choose an item (search, or ?item=CODE from the guide), a district or an
    address; the halls handling it nearest first, and the 15分钟服务圈 around the place."""
    q = request.GET.get("q", "").strip()[:100]
    item_code = request.GET.get("item", "").strip()[:64]
    district = request.GET.get("district", "").strip()
    if district not in District.values:
        district = ""
    address = request.GET.get("address", "").strip()[:200]
    context = {
        "q": q,
        "item_code": item_code,
        "district": district,
        "address": address,
        "districts": District.choices,
        "matches": selectors.items_search(q=q) if q and not item_code else [],
        "searched": bool(q) and not item_code,
        "result": None,
    }
    if item_code or district or address:
        context["result"] = selectors.hall_finder(
            item_code=item_code, district=district, address=address
        )
    return render(request, "appointments/halls_finder.html", context)


@require_GET
def detail_view(request: HttpRequest, code: str) -> HttpResponse:
    hall = selectors.hall_detail(code=code)
    if hall is None:
        raise Http404
    return render(request, "appointments/halls_detail.html", {"hall": hall})


def _date_or_none(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}分{rest:02d}秒" if minutes else f"{rest}秒"


def _for_people(data: dict) -> dict:
    """Percentages and durations as people read them, next to the raw values."""
    w = data["windows"]
    for row in [w["city"], *w["levels"], *w["halls"]]:
        row["ratio_text"] = _percent(row["ratio"])
    b = data["bookings"]
    for row in [b["city"], b["venues"], *b["halls"]]:
        row["kept_text"] = _percent(row["kept_rate"])
    waits = data["waits"]
    for row in [waits["city"], *waits["halls"], *waits["windows"]]:
        row["average_text"] = _duration(row["average_wait_seconds"])
        row["p90_text"] = _duration(row["p90_wait_seconds"])
    return data


@require_GET
def staff_figures_view(request: HttpRequest) -> HttpResponse:
    """大厅数据 — for the city operator and the system administrator."""
    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next={request.path}")
    if not figures.may_view_figures(request.user):
        return forbidden(request, "大厅数据仅限城市运营人员和系统管理员查看。")
    today = timezone.now().astimezone(LOCAL_TZ).date()
    start_text, end_text = request.GET.get("start", ""), request.GET.get("end", "")
    error = ""
    try:
        start, end = figures.figure_range(
            start=_date_or_none(start_text), end=_date_or_none(end_text), today=today
        )
    except ValueError:
        error = "日期格式须为“2026-12-01”"
    except DomainError as exc:
        error = exc.message
    if error:
        start, end = figures.figure_range(start=None, end=None, today=today)
    context = {
        "figures": _for_people(figures.hall_figures(start=start, end=end)),
        "error": error,
        "start_text": start_text if error else start.isoformat(),
        "end_text": end_text if error else end.isoformat(),
    }
    return render(request, "appointments/halls_figures.html", context, status=422 if error else 200)
