"""Pages of 好差评: the public figures, the rating form, 我的评价, the staff work orders.

Thin: parse a form, call the same service or selector as the API. Staff pages never prompt
a rating and never show the rater's identity (the selectors do not return it)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.cases.receipt import receipt_normalise
from tongban.common.errors import DomainError
from tongban.reviews import selectors, services
from tongban.reviews.models import LEVEL_LABELS, AppealReason, Classification

CHART_WIDTH = 400  # px of the longest bar in the SVG charts


def _errors(request, exc: DomainError) -> None:
    messages.error(request, exc.message)


def _chart(rows: list[dict]) -> list[dict]:
    """Bars for an SVG chart of satisfaction rates (0-100 %), drawn without inline style."""
    bars = []
    for i, row in enumerate(rows):
        rate = row["satisfaction_rate"]
        percent = float(rate * 100) if rate is not None else 0.0
        bars.append(
            {
                "y": i * 28,
                "label": row["name"],
                "width": round(CHART_WIDTH * percent / 100),
                "percent": f"{percent:.1f}%",
                "text_x": 130 + round(CHART_WIDTH * percent / 100) + 6,
            }
        )
    return bars


RATE_KEYS = ("satisfaction_rate", "bad_rate", "rectification_rate", "on_time_rate")


def _percent(rate) -> str:
    """0.7222 → "72.2%": people read percentages; the API keeps the exact fraction."""
    if rate is None:
        return "—"
    return f"{float(rate * 100):.1f}%"


def _shown(row: dict) -> dict:
    return {**row, **{f"{key}_text": _percent(row.get(key)) for key in RATE_KEYS}}


@require_GET
def stats_view(request: HttpRequest) -> HttpResponse:
    by = request.GET.get("by", "department")
    period = request.GET.get("period", "all") or "all"
    try:
        stats = selectors.review_stats(by=by, period=period)
    except DomainError as exc:
        _errors(request, exc)
        by, period = "department", "all"
        stats = selectors.review_stats(by=by, period=period)
    bars = _chart(stats["rows"])
    stats = {**stats, "rows": [_shown(r) for r in stats["rows"]], "total": _shown(stats["total"])}
    return render(
        request,
        "reviews/stats.html",
        {
            "stats": stats,
            "bars": bars,
            "chart_height": max(28, 28 * len(bars)),
            "dimensions": [("department", "部门"), ("item", "事项"), ("hall", "大厅")],
            "levels": [(str(k), v) for k, v in sorted(LEVEL_LABELS.items(), reverse=True)],
        },
    )


def _rate_errors(exc: DomainError, subject: dict) -> list[dict[str, str]]:
    """The rating form's problems for the error summary, each linked to its question."""
    labels = dict(subject["indicators"])
    out = []
    for detail in exc.details or [{"field": "", "message": ""}]:
        field = detail.get("field", "")
        if field == "level":
            out.append({"field": "level", "message": "请选择总体满意程度", "href": "#level-5"})
        elif field.startswith("indicators.") and field[11:] in labels:
            code = field[11:]
            out.append(
                {
                    "field": f"ind_{code}",
                    "message": f"请为“{labels[code]}”选择 1 到 5 之间的满意程度",
                    "href": f"#ind-{code}-5",
                }
            )
        elif field == "comment":
            out.append({"field": "comment", "message": exc.message, "href": "#comment"})
        else:
            out.append({"field": "", "message": exc.message, "href": ""})
    return out


@require_http_methods(["GET", "POST"])
@login_required
def rate_view(request: HttpRequest, receipt_no: str) -> HttpResponse:
    normalised = receipt_normalise(receipt_no)
    info = selectors.rateable_subjects(user=request.user, receipt_no=normalised or "")
    if info is None or not info["subjects"]:
        raise Http404
    subjects = {s["code"]: s for s in info["subjects"]}
    chosen = request.POST.get("subject") or request.GET.get("subject") or ""
    if chosen not in subjects:
        chosen = next((s["code"] for s in info["subjects"] if not s["rated"]), "")
        chosen = chosen or info["subjects"][0]["code"]
    subject = subjects[chosen]
    errors: list[dict[str, str]] = []
    posted: dict[str, str] = {}
    if request.method == "POST":
        indicators = {
            code: request.POST.get(f"ind_{code}")
            for code, _ in subject["indicators"]
            if request.POST.get(f"ind_{code}")
        }
        posted = {
            "level": request.POST.get("level", ""),
            "comment": request.POST.get("comment", ""),
            **{f"ind_{code}": value for code, value in indicators.items()},
        }
        try:
            services.rating_create(
                rater=request.user,
                receipt_no=info["receipt_no"],
                subject=chosen,
                level=request.POST.get("level"),
                indicators=indicators,
                comment=request.POST.get("comment", ""),
            )
        except DomainError as exc:
            errors = _rate_errors(exc, subject)
        else:
            messages.success(request, "感谢您的评价。")
            return redirect("reviews:mine")
    error_fields = {e["field"]: e["message"] for e in errors if e["field"]}
    questions = [
        {
            "name": "level",
            "id": "level",
            "legend": "总体满意程度",
            "required": True,
            "error": error_fields.get("level", ""),
            "value": posted.get("level", ""),
        }
    ] + [
        {
            "name": f"ind_{code}",
            "id": f"ind-{code}",
            "legend": label,
            "required": False,
            "error": error_fields.get(f"ind_{code}", ""),
            "value": posted.get(f"ind_{code}", ""),
        }
        for code, label in subject["indicators"]
    ]
    return render(
        request,
        "reviews/rate.html",
        {
            "info": info,
            "subject": subject,
            "chosen": chosen,
            "levels": [(str(k), v) for k, v in sorted(LEVEL_LABELS.items(), reverse=True)],
            "questions": questions,
            "comment": posted.get("comment", ""),
            "comment_error": error_fields.get("comment", ""),
            "errors": errors,
        },
        status=422 if errors else 200,
    )


def _mine_page(request, *, errors=(), status=200) -> HttpResponse:
    return render(
        request,
        "reviews/mine.html",
        {"ratings": selectors.my_ratings(user=request.user), "errors": list(errors)},
        status=status,
    )


@require_GET
@login_required
def mine_view(request: HttpRequest) -> HttpResponse:
    return _mine_page(request)


@require_POST
@login_required
def verdict_view(request: HttpRequest, rating_id: int) -> HttpResponse:
    try:
        services.order_verdict(
            rater=request.user, rating_id=rating_id, verdict=request.POST.get("verdict", "")
        )
    except DomainError as exc:
        if exc.http_status == 404:
            _errors(request, exc)
            return redirect("reviews:mine")
        fields = {d.get("field") for d in exc.details}
        error = (
            {"message": "请选择您对整改和回复是否满意", "href": f"#v-{rating_id}-s"}
            if "verdict" in fields
            else {"message": exc.message, "href": ""}
        )
        return _mine_page(request, errors=[error], status=422)
    messages.success(request, "已收到您的意见。")
    return redirect("reviews:mine")


def _staff_only(request) -> bool:
    return selectors.is_reviews_staff(request.user)


def _staff_orders_page(request, *, errors=(), posted=None, status=200) -> HttpResponse:
    return render(
        request,
        "reviews/staff_orders.html",
        {
            "orders": selectors.orders_for(user=request.user),
            "overview": selectors.department_overview(user=request.user),
            "appeals": selectors.pending_appeals(user=request.user),
            "errors": list(errors),
            "posted": posted or {},
        },
        status=status,
    )


@require_GET
@login_required
def staff_orders_view(request: HttpRequest) -> HttpResponse:
    if not _staff_only(request):
        raise Http404
    return _staff_orders_page(request)


def _staff_order_page(request, order_id: int, *, errors=(), status=200) -> HttpResponse:
    order = selectors.order_for(user=request.user, order_id=order_id)
    if order is None:
        raise Http404
    return render(
        request,
        "reviews/staff_order.html",
        {
            "order": order,
            "may_act": services.may_handle_order(request.user, _dept_id(order_id)),
            "classifications": Classification.choices,
            "appeal_reasons": AppealReason.choices,
            "errors": list(errors),
            "posted": request.POST if errors else {},
        },
        status=status,
    )


@require_GET
@login_required
def staff_order_view(request: HttpRequest, order_id: int) -> HttpResponse:
    return _staff_order_page(request, order_id)


# The field each order form sends, for the error summary's link.
ORDER_FIELD_IDS = {
    "classification": "classification",
    "finding": "finding",
    "measures": "measures",
    "reply": "reply",
    "reason": "reason",
    "statement": "statement",
}


def _dept_id(order_id: int) -> int:
    from tongban.reviews.models import WorkOrder

    return WorkOrder.objects.values_list("department_id", flat=True).get(pk=order_id)


@require_POST
@login_required
def staff_order_action_view(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    p = request.POST
    calls = {
        "verify": lambda: services.order_verify(
            actor=request.user,
            order_id=order_id,
            classification=p.get("classification", ""),
            finding=p.get("finding", ""),
        ),
        "rectify": lambda: services.order_rectify(
            actor=request.user, order_id=order_id, measures=p.get("measures", "")
        ),
        "reply": lambda: services.order_reply(
            actor=request.user, order_id=order_id, reply=p.get("reply", "")
        ),
        "close": lambda: services.order_close(actor=request.user, order_id=order_id),
        "appeal": lambda: services.appeal_file(
            actor=request.user,
            rating_id=_rating_id(order_id),
            reason=p.get("reason", ""),
            statement=p.get("statement", ""),
        ),
    }
    if action not in calls:
        raise Http404
    try:
        calls[action]()
    except DomainError as exc:
        if exc.http_status == 404:
            raise Http404 from None
        fields = [d.get("field") for d in exc.details if d.get("field") in ORDER_FIELD_IDS]
        errors = [
            {"message": exc.message, "href": f"#{ORDER_FIELD_IDS[f]}" if f else ""}
            for f in fields or [""]
        ]
        return _staff_order_page(request, order_id, errors=errors, status=422)
    messages.success(request, "已保存。")
    return redirect("reviews_staff:order", order_id=order_id)


def _rating_id(order_id: int) -> int:
    from tongban.reviews.models import WorkOrder

    row = WorkOrder.objects.filter(pk=order_id).values_list("rating_id", flat=True).first()
    return row or 0


@require_POST
@login_required
def staff_appeal_decide_view(request: HttpRequest, appeal_id: int) -> HttpResponse:
    raw = request.POST.get("approve")
    try:
        services.appeal_decide(
            actor=request.user,
            appeal_id=appeal_id,
            # Neither box ticked is a missing answer, not a "no": the service says so.
            approve={"1": True, "0": False}.get(raw or "", raw),
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        if exc.http_status in (403, 404):
            raise Http404 from None
        fields = {d.get("field") for d in exc.details}
        if "approve" in fields:
            href, message = f"#ap-{appeal_id}-1", "请选择复核结论"
        elif "reason" in fields:
            href, message = f"#ap-{appeal_id}-reason", "请填写复核理由"
        else:
            href, message = "", exc.message
        posted = {"id": appeal_id, "approve": raw or "", "reason": request.POST.get("reason", "")}
        return _staff_orders_page(
            request,
            errors=[{"message": message, "href": href}],
            posted=posted,
            status=422,
        )
    messages.success(request, "已复核。")
    return redirect("reviews_staff:orders")
