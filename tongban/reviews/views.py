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
    if request.method == "POST":
        indicators = {
            code: request.POST.get(f"ind_{code}")
            for code, _ in subject["indicators"]
            if request.POST.get(f"ind_{code}")
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
            _errors(request, exc)
        else:
            messages.success(request, "感谢您的评价。")
            return redirect("reviews:mine")
    return render(
        request,
        "reviews/rate.html",
        {
            "info": info,
            "subject": subject,
            "chosen": chosen,
            "levels": sorted(LEVEL_LABELS.items(), reverse=True),
        },
    )


@require_GET
@login_required
def mine_view(request: HttpRequest) -> HttpResponse:
    return render(
        request, "reviews/mine.html", {"ratings": selectors.my_ratings(user=request.user)}
    )


@require_POST
@login_required
def verdict_view(request: HttpRequest, rating_id: int) -> HttpResponse:
    try:
        services.order_verdict(
            rater=request.user, rating_id=rating_id, verdict=request.POST.get("verdict", "")
        )
    except DomainError as exc:
        _errors(request, exc)
    else:
        messages.success(request, "已收到您的意见。")
    return redirect("reviews:mine")


def _staff_only(request) -> bool:
    return selectors.is_reviews_staff(request.user)


@require_GET
@login_required
def staff_orders_view(request: HttpRequest) -> HttpResponse:
    if not _staff_only(request):
        raise Http404
    return render(
        request,
        "reviews/staff_orders.html",
        {
            "orders": selectors.orders_for(user=request.user),
            "overview": selectors.department_overview(user=request.user),
            "appeals": selectors.pending_appeals(user=request.user),
        },
    )


@require_GET
@login_required
def staff_order_view(request: HttpRequest, order_id: int) -> HttpResponse:
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
        },
    )


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
        _errors(request, exc)
    else:
        messages.success(request, "已保存。")
    return redirect("reviews_staff:order", order_id=order_id)


def _rating_id(order_id: int) -> int:
    from tongban.reviews.models import WorkOrder

    row = WorkOrder.objects.filter(pk=order_id).values_list("rating_id", flat=True).first()
    return row or 0


@require_POST
@login_required
def staff_appeal_decide_view(request: HttpRequest, appeal_id: int) -> HttpResponse:
    try:
        services.appeal_decide(
            actor=request.user,
            appeal_id=appeal_id,
            approve=request.POST.get("approve") == "1",
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        if exc.http_status in (403, 404):
            raise Http404 from None
        _errors(request, exc)
    else:
        messages.success(request, "已复核。")
    return redirect("reviews_staff:orders")
