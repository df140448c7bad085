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
from tongban.reviews.models import (
    LEVEL_LABELS,
    Adoption,
    AppealReason,
    Classification,
    ComplaintSource,
    Verdict,
)

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
    complaints = selectors.complaint_stats(period=period)
    complaints = {
        key: [_shown(r) for r in value] if isinstance(value, list) else value
        for key, value in complaints.items()
    }
    complaints["total"] = _shown(complaints["total"])
    return render(
        request,
        "reviews/stats.html",
        {
            "stats": stats,
            "complaints": complaints,
            "bars": bars,
            "chart_height": max(28, 28 * len(bars)),
            "dimensions": [
                ("department", "部门"),
                ("item", "事项"),
                ("hall", "大厅"),
                ("channel", "评价渠道"),
            ],
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


def _staff_order_page(
    request, order_id: int, *, errors=(), status=200, contact=None
) -> HttpResponse:
    order = selectors.order_for(user=request.user, order_id=order_id)
    if order is None:
        raise Http404
    operator = services.is_city_operator(request.user)
    return render(
        request,
        "reviews/staff_order.html",
        {
            "order": order,
            "may_act": services.may_handle_order(request.user, _dept_id(order_id)),
            # 回访: the city's operators call a forwarded complaint's filer back.
            "may_callback": operator
            and order.get("needs_callback")
            and order["status"] == "replied",
            "contact": contact,
            # 转办: a complaint not yet verified, by its department's handler or an operator.
            "may_transfer": order["kind"] == "complaint"
            and order["status"] == "open"
            and (operator or services.may_handle_order(request.user, _dept_id(order_id))),
            "departments": [
                (code, name)
                for code, name in selectors.department_choices()
                if code != order["department_code"]
            ],
            "classifications": Classification.choices,
            "appeal_reasons": AppealReason.choices,
            "adoptions": Adoption.choices,
            "verdicts": Verdict.choices,
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
    "adoption": "adoption-adopted",
    "verdict": "verdict-satisfied",
    "note": "note",
    "department": "department",
    "transfer_reason": "transfer_reason",
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
            actor=request.user,
            order_id=order_id,
            reply=p.get("reply", ""),
            adoption=p.get("adoption", ""),
        ),
        "callback": lambda: services.complaint_callback_record(
            actor=request.user,
            complaint_id=_complaint_id(order_id),
            verdict=p.get("verdict", ""),
            note=p.get("note", ""),
        ),
        "close": lambda: services.order_close(actor=request.user, order_id=order_id),
        "transfer": lambda: services.complaint_transfer(
            actor=request.user,
            order_id=order_id,
            department=p.get("department", ""),
            reason=p.get("transfer_reason", ""),
        ),
        "appeal": lambda: services.appeal_file(
            actor=request.user,
            rating_id=_rating_id(order_id),
            reason=p.get("reason", ""),
            statement=p.get("statement", ""),
        ),
    }
    if action == "contact":
        # A POST, not a link: reading a caller's contact is a recorded act with a purpose.
        purpose = "回访投诉建议人" if services.is_city_operator(request.user) else "联系投诉建议人"
        contact = selectors.complaint_contact(user=request.user, order_id=order_id, purpose=purpose)
        if contact is None:
            raise Http404
        return _staff_order_page(request, order_id, contact=contact)
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
    if action == "transfer":
        messages.success(request, "已转办，新的责任部门已收到通知。")
        if selectors.order_for(user=request.user, order_id=order_id) is None:
            # Sent on by its former department: the order is no longer theirs to open.
            return redirect("reviews_staff:orders")
        return redirect("reviews_staff:order", order_id=order_id)
    messages.success(request, "已保存。")
    return redirect("reviews_staff:order", order_id=order_id)


def _complaint_id(order_id: int) -> int:
    from tongban.reviews.models import WorkOrder

    row = WorkOrder.objects.filter(pk=order_id).values_list("complaint_id", flat=True).first()
    return row or 0


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


# ---------------------------------------------------------------- 投诉建议

COMPLAINT_FIELD_IDS = {
    "enterprise": "enterprise",
    "kind": "kind-complaint",
    "about": "about-item",
    "about_code": "about-code-item",
    "text": "text",
    "source": "source",
    "external_ref": "external_ref",
    "deadline": "deadline",
    "contact_name": "contact_name",
    "contact_phone": "contact_phone",
    "department": "department",
    "verdict": "verdict-satisfied",
    "adoption": "adoption-adopted",
    "note": "note",
}


def _field_errors(exc: DomainError) -> list[dict[str, str]]:
    fields = [d.get("field") for d in exc.details if d.get("field") in COMPLAINT_FIELD_IDS]
    return [
        {
            "field": f or "",
            "message": exc.message,
            "href": f"#{COMPLAINT_FIELD_IDS[f]}" if f else "",
        }
        for f in fields or [""]
    ]


def _about_code(post) -> str:
    """The form has one select per kind of subject; the chosen kind says which one counts."""
    about = post.get("about", "")
    return post.get(f"about_code_{about}", "") if about in ("item", "hall", "policy") else ""


@require_http_methods(["GET", "POST"])
@login_required
def complaint_new_view(request: HttpRequest) -> HttpResponse:
    import uuid

    from tongban.accounts.selectors import enterprises_for_agent

    errors: list[dict[str, str]] = []
    posted: dict[str, str] = {
        "kind": request.GET.get("kind", ""),
        "about": "item" if request.GET.get("item") else "",
        "about_code_item": request.GET.get("item", ""),
        "idempotency_key": uuid.uuid4().hex,
    }
    if request.method == "POST":
        posted = {k: request.POST.get(k, "") for k in request.POST if k != "csrfmiddlewaretoken"}
        try:
            complaint = services.complaint_file(
                filer=request.user,
                kind=request.POST.get("kind", ""),
                about=request.POST.get("about", ""),
                about_code=_about_code(request.POST),
                text=request.POST.get("text", ""),
                idempotency_key=request.POST.get("idempotency_key", ""),
                enterprise_id=request.POST.get("enterprise", ""),
            )
        except DomainError as exc:
            errors = _field_errors(exc)
            if any(e["field"] == "about_code" for e in errors):
                about = request.POST.get("about", "")
                for e in errors:
                    if e["field"] == "about_code":
                        e["href"] = f"#about-code-{about}" if about else "#about-item"
        else:
            messages.success(request, f"您的{complaint.get_kind_display()}已提交。")
            return redirect("reviews:complaint", complaint_id=complaint.pk)
    return render(
        request,
        "reviews/complaint_new.html",
        {
            "choices": selectors.complaint_about_choices(),
            # 以企业名义: the enterprises the person may act for, if any.
            "enterprises": [
                (str(e["id"]), e["name"]) for e in enterprises_for_agent(user=request.user)
            ],
            "posted": posted,
            "errors": errors,
            "error_fields": {e["field"]: e["message"] for e in errors if e["field"]},
        },
        status=422 if errors else 200,
    )


@require_GET
@login_required
def my_complaints_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reviews/complaints_mine.html",
        {"complaints": selectors.my_complaints(user=request.user)},
    )


def _my_complaint_page(request, complaint_id: int, *, errors=(), status=200) -> HttpResponse:
    complaint = selectors.my_complaint(user=request.user, complaint_id=complaint_id)
    if complaint is None:
        raise Http404
    return render(
        request,
        "reviews/complaint_detail.html",
        {"c": complaint, "errors": list(errors)},
        status=status,
    )


@require_GET
@login_required
def my_complaint_view(request: HttpRequest, complaint_id: int) -> HttpResponse:
    return _my_complaint_page(request, complaint_id)


@require_POST
@login_required
def complaint_verdict_view(request: HttpRequest, complaint_id: int) -> HttpResponse:
    try:
        services.complaint_verdict(
            filer=request.user,
            complaint_id=complaint_id,
            verdict=request.POST.get("verdict", ""),
        )
    except DomainError as exc:
        if exc.http_status == 404:
            raise Http404 from None
        errors = [
            {"message": "请选择您对答复是否满意", "href": "#verdict-satisfied"}
            if any(d.get("field") == "verdict" for d in exc.details)
            else {"message": exc.message, "href": ""}
        ]
        return _my_complaint_page(request, complaint_id, errors=errors, status=422)
    messages.success(request, "已收到您的意见。")
    return redirect("reviews:complaint", complaint_id=complaint_id)


# Staff: city operators record forwarded complaints and route the triage queue.


def _operator_only(request) -> None:
    if not services.is_city_operator(request.user):
        raise Http404


def _staff_complaints_page(request, *, errors=(), posted=None, status=200) -> HttpResponse:
    return render(
        request,
        "reviews/staff_complaints.html",
        {
            "queue": selectors.triage_queue(user=request.user),
            "departments": selectors.department_choices(),
            "errors": list(errors),
            "posted": posted or {},
        },
        status=status,
    )


@require_GET
@login_required
def staff_complaints_view(request: HttpRequest) -> HttpResponse:
    _operator_only(request)
    return _staff_complaints_page(request)


@require_POST
@login_required
def staff_complaint_assign_view(request: HttpRequest, complaint_id: int) -> HttpResponse:
    _operator_only(request)
    try:
        services.complaint_assign(
            actor=request.user,
            complaint_id=complaint_id,
            department=request.POST.get("department", ""),
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        if exc.http_status == 404:
            raise Http404 from None
        href = f"#dept-{complaint_id}" if exc.details else ""
        posted = {
            "id": complaint_id,
            **{k: request.POST.get(k, "") for k in ("department", "note")},
        }
        return _staff_complaints_page(
            request, errors=[{"message": exc.message, "href": href}], posted=posted, status=422
        )
    messages.success(request, "已分派责任部门。")
    return redirect("reviews_staff:complaints")


@require_http_methods(["GET", "POST"])
@login_required
def staff_complaint_new_view(request: HttpRequest) -> HttpResponse:
    import uuid

    _operator_only(request)
    errors: list[dict[str, str]] = []
    posted: dict[str, str] = {"idempotency_key": uuid.uuid4().hex, "source": "hotline"}
    if request.method == "POST":
        p = request.POST
        posted = {k: p.get(k, "") for k in p if k != "csrfmiddlewaretoken"}
        try:
            complaint = services.complaint_record(
                actor=request.user,
                kind=p.get("kind", ""),
                source=p.get("source", ""),
                about=p.get("about", ""),
                about_code=_about_code(p),
                text=p.get("text", ""),
                contact_name=p.get("contact_name", ""),
                contact_phone=p.get("contact_phone", ""),
                external_ref=p.get("external_ref", ""),
                deadline=p.get("deadline", ""),
                idempotency_key=p.get("idempotency_key", ""),
            )
        except DomainError as exc:
            errors = _field_errors(exc)
            for e in errors:
                if e["field"] == "about_code":
                    about = p.get("about", "")
                    e["href"] = f"#about-code-{about}" if about else "#about-item"
        else:
            if complaint.status == "triage":
                messages.success(request, "已登记，待分派责任部门。")
                return redirect("reviews_staff:complaints")
            messages.success(request, f"已登记，并已转{complaint.department.name}办理。")
            return redirect("reviews_staff:order", order_id=complaint.order.pk)
    return render(
        request,
        "reviews/staff_complaint_new.html",
        {
            "choices": selectors.complaint_about_choices(),
            "sources": [
                (v, label) for v, label in ComplaintSource.choices if v != ComplaintSource.ONLINE
            ],
            "posted": posted,
            "errors": errors,
            "error_fields": {e["field"]: e["message"] for e in errors if e["field"]},
        },
        status=422 if errors else 200,
    )
