"""服务指标 pages: the operator dashboard (/staff/metrics/), its exports, and the public
figures (/figures/). Thin: parse the filters, call the selectors, draw."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tongban.accounts.models import District
from tongban.appointments.models import Hall
from tongban.cases.models import Channel
from tongban.catalog.models import Department
from tongban.common.errors import DomainError
from tongban.metrics import charts, export, selectors
from tongban.portal.views import forbidden

FILTER_NAMES = ("start", "end", "department", "service", "hall", "district", "channel")


def _query(params: dict[str, str], **changes: str) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v}
    return "?" + urlencode(merged) if merged else "?"


def _choices(allowed) -> dict[str, Any]:
    departments = Department.objects.order_by("code")
    if allowed is not None:
        departments = departments.filter(id__in=allowed)
    items, bundles = selectors.current_definitions()
    services = sorted(
        [(c, f"{d.name}（一件事）") for c, d in bundles.items()]
        + [
            (c, d.name)
            for c, d in items.items()
            if allowed is None
            or Department.objects.filter(id__in=allowed, code=d.department).exists()
        ],
        key=lambda pair: pair[1],
    )
    return {
        "departments": [(d.code, d.name) for d in departments],
        "services": services,
        "halls": list(
            Hall.objects.filter(is_active=True).order_by("code").values_list("code", "name")
        ),
        "districts": list(District.choices),
        "channels": list(Channel.choices),
        "breakdowns": list(selectors.BREAKDOWNS.items()),
    }


def _scope_or_error(request, allowed) -> tuple[selectors.Scope, dict[str, str], str]:
    params = {k: (request.GET.get(k) or "").strip()[:64] for k in FILTER_NAMES}
    try:
        scope = selectors.scope_from(allowed=allowed, **params)
        return scope, params, ""
    except DomainError as exc:
        start, end = selectors.default_range()
        return selectors.Scope(start=start, end=end, departments=allowed), {}, exc.message


def _trail(scope: selectors.Scope, params: dict[str, str], choices: dict[str, Any]) -> list[dict]:
    """面包屑: 全市 → 区 → 大厅, 全市 → 部门 → 事项, each a link back up."""
    base = {k: params.get(k, "") for k in ("start", "end", "channel")}
    trail = [{"label": "全市" if scope.whole_city else "本部门", "href": _query(base)}]
    names = dict(choices["districts"])
    if params.get("district"):
        base = {**base, "district": params["district"]}
        trail.append({"label": names.get(params["district"], ""), "href": _query(base)})
    if params.get("hall"):
        base = {**base, "hall": params["hall"]}
        trail.append(
            {"label": dict(choices["halls"]).get(params["hall"], ""), "href": _query(base)}
        )
    if params.get("department"):
        base = {**base, "department": params["department"]}
        trail.append(
            {
                "label": dict(choices["departments"]).get(params["department"], ""),
                "href": _query(base),
            }
        )
    if params.get("service"):
        base = {**base, "service": params["service"]}
        trail.append(
            {"label": dict(choices["services"]).get(params["service"], ""), "href": _query(base)}
        )
    trail[-1]["current"] = True
    return trail


@require_GET
@login_required
def staff_metrics_view(request: HttpRequest) -> HttpResponse:
    allowed = selectors.metrics_access(request.user)
    if allowed is False:
        return forbidden(request, "服务指标仅限城市运营和部门负责人查看。")
    scope, params, error = _scope_or_error(request, allowed)
    by = request.GET.get("by", "")
    if by and by not in selectors.BREAKDOWNS:
        error, by = error or "分组方式不正确，已按默认方式显示", ""
    data = selectors.dashboard(scope=scope, by=by)
    choices = _choices(allowed)
    summary = data["summary"]
    online_target = summary["targets"]["online_share"]
    rows = data["breakdown"]["rows"]
    for row in rows:
        row["href"] = _query(params, **row["drill"]) if row["drill"] else ""
    params_for_export = {**params, "by": data["breakdown"]["by"]}
    return render(
        request,
        "metrics/staff_dashboard.html",
        {
            "error": error,
            "scope": scope,
            "params": params,
            "choices": choices,
            "data": data,
            "summary": summary,
            "rows": rows,
            "trail": _trail(scope, params, choices),
            "online_chart": charts.columns(
                data["trend"]["points"],
                value="online_share",
                target=online_target["value"] if online_target else None,
            ),
            "same_day_chart": charts.columns(data["trend"]["points"], value="same_day_rate"),
            "breakdown_chart": charts.bars(
                [{"name": r["name"], "rate": r["cases"]["online_share"]} for r in rows[:15]],
                value="rate",
            ),
            "export_csv": "export.csv" + _query(params_for_export),
            "export_xlsx": "export.xlsx" + _query(params_for_export),
            "whole_city": scope.whole_city,
        },
    )


@require_GET
@login_required
def staff_metrics_export_view(request: HttpRequest, extension: str) -> HttpResponse:
    allowed = selectors.metrics_access(request.user)
    if allowed is False:
        return forbidden(request, "服务指标仅限城市运营和部门负责人查看。")
    params = {k: (request.GET.get(k) or "").strip()[:64] for k in FILTER_NAMES}
    by = request.GET.get("by") or "item"
    try:
        scope = selectors.scope_from(allowed=allowed, **params)
        headers, rows = export.table(scope=scope, by=by)
    except DomainError as exc:
        return render(
            request, "metrics/export_error.html", {"message": exc.message}, status=exc.http_status
        )
    name = export.filename(scope=scope, by=by, extension=extension)
    if extension == "csv":
        body, content_type = export.as_csv(headers, rows), "text/csv; charset=utf-8"
    else:
        body = export.as_xlsx(headers, rows, title=f"按{selectors.BREAKDOWNS[by]}")
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
def public_figures_view(request: HttpRequest) -> HttpResponse:
    """公开指标: this year (or a chosen year) for anyone, on a phone too."""
    today = timezone.localdate()
    years = list(range(today.year, today.year - 3, -1))
    error = ""
    try:
        year = int(request.GET.get("year") or today.year)
    except ValueError:
        year, error = today.year, "年份格式不正确，已显示今年的数据"
    if year not in years:
        year, error = today.year, error or "只公开最近三年的数据，已显示今年的数据"
    start = dt.date(year, 1, 1)
    end = today if year == today.year else dt.date(year, 12, 31)
    figures = selectors.public_figures(start=start, end=end)
    target = figures["targets"]["online_share"]
    return render(
        request,
        "metrics/public_figures.html",
        {
            "error": error,
            "year": year,
            "years": years,
            "figures": figures,
            "online_chart": charts.columns(
                figures["trend"]["points"],
                value="online_share",
                target=target["value"] if target else None,
            ),
            "department_chart": charts.bars(
                [r for r in figures["departments"] if not r["withheld"]],
                value="satisfaction_rate",
            ),
        },
    )
