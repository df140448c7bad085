"""政策查询 (public) and 为您推荐 (the resident's own). Thin: the selectors do the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.accounts.errors import EnterpriseNotFound
from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.selectors import (
    enterprise_for_agent,
    is_staff_member,
    live_memberships,
    resident_profile_of,
)
from tongban.catalog import selectors as catalog_selectors
from tongban.common.errors import DomainError
from tongban.policies import selectors, services
from tongban.policies.errors import PaymentNotYours, PolicyNotFound, ReviewNotFound
from tongban.policies.industries import SECTION_NAMES
from tongban.policies.schemas import SUBJECT_LABELS


@require_GET
def policy_list_view(request: HttpRequest) -> HttpResponse:
    """政策查询 — every policy in force, by subject and life event."""
    subject = request.GET.get("subject") or None
    life_event = request.GET.get("life_event") or None
    if subject is not None and subject not in SUBJECT_LABELS:
        raise Http404("没有这一类政策")
    bundles = {b.code: b.name for b in catalog_selectors.bundle_list()}
    if life_event is not None and life_event not in bundles:
        raise Http404("没有这件事")
    every = selectors.policy_cards()
    departments = sorted({(c.department_code, c.department_name) for c in every})
    department = request.GET.get("department") or None
    if department is not None and department not in dict(departments):
        raise Http404("没有这个部门的政策")
    industry = request.GET.get("industry") or None
    if industry is not None and industry not in SECTION_NAMES:
        raise Http404("没有这个行业门类")
    if industry is not None:
        subject = "enterprise"  # an industry is an enterprise's
    cards = selectors.policy_cards(
        subject=subject, life_event=life_event, department=department, industry=industry
    )
    events = sorted({e for c in every for e in c.life_events if e in bundles})
    context = {
        "departments": departments,
        "department": department,
        "department_name": dict(departments).get(department or "", ""),
        "industries": list(SECTION_NAMES.items()),
        "industry": industry,
        "industry_name": SECTION_NAMES.get(industry or "", ""),
        "cards": cards,
        "subject": subject,
        "life_event": life_event,
        "life_event_name": bundles.get(life_event or "", ""),
        "subjects": SUBJECT_LABELS,
        "subject_label": SUBJECT_LABELS.get(subject or "", ""),
        "events": [(code, bundles[code]) for code in events],
        "bundle_names": bundles,
    }
    return render(request, "policies/list.html", context)


@require_http_methods(["GET", "POST"])
def check_view(request: HttpRequest) -> HttpResponse:
    """我可能符合哪些政策 — anyone answers the few questions the rules need (each may be left
    as 不确定) and sees which policies they may qualify for, and why. Nothing is stored."""
    questions = selectors.check_questions()
    raw = {q.code: request.POST.get(q.code, "") for q in questions}
    context: dict = {"results": None, "error": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            answers = selectors.parse_check_answers(raw, questions)
        except DomainError as exc:
            errors = {d["field"]: d["message"] for d in exc.details}
            context["error"] = exc.message
            status = 422
        else:
            results = selectors.check_answers(answers)
            context["results"] = {
                "eligible": [(c, o) for c, o in results if o.holds],
                "unknown": [(c, o) for c, o in results if not o.holds and o.unknown],
            }
    context["rows"] = [
        {
            "q": q,
            "current": raw[q.code],
            "error": errors.get(q.code, ""),
            "options": [
                *((("yes", "是"), ("no", "否")) if q.kind == "boolean" else q.choices),
                ("", "不确定"),
            ],
        }
        for q in questions
    ]
    return render(request, "policies/check.html", context, status=status)


@require_GET
def policy_view(request: HttpRequest, code: str) -> HttpResponse:
    """One policy: who qualifies, what it gives, how it is received; and, for a signed-in
    resident, whether they qualify and why."""
    try:
        card = selectors.policy_card(code)
    except PolicyNotFound as exc:
        raise Http404(exc.message) from exc
    outcome = None
    profile = resident_profile_of(request.user) if request.user.is_authenticated else None
    if profile is not None and card.subject == "resident":
        outcome = selectors.outcome_for(profile=profile, code=code)
    bundles = {b.code: b.name for b in catalog_selectors.bundle_list()}
    policy, definition = next((p, d) for p, d in selectors.current_policies() if p.code == code)
    context = {
        "rounds": selectors.fund_rounds_of(policy, definition),
        "card": card,
        "outcome": outcome,
        "events": [(e, bundles[e]) for e in card.life_events if e in bundles],
    }
    return render(request, "policies/detail.html", context)


@require_GET
@login_required
def my_policies_view(request: HttpRequest) -> HttpResponse:
    """为您推荐 — the policies the signed-in resident qualifies for, and those one step away."""
    profile = resident_profile_of(request.user)
    eligible, nearly = (
        selectors.recommendations_for(profile=profile) if profile is not None else ([], [])
    )
    context = {"profile": profile, "eligible": eligible, "nearly": nearly}
    return render(request, "policies/mine.html", context)


@require_POST
@login_required
def decline_view(request: HttpRequest, code: str) -> HttpResponse:
    """放弃 a 免申即享 benefit granted to the signed-in resident."""
    try:
        services.policy_grant_decline(user=request.user, code=code)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已放弃此项待遇，今后不再自动发放。如需恢复，请联系实施部门。")
    return redirect("/me/policies/")


def _member_enterprise(request: HttpRequest, enterprise_id: int):
    """The enterprise the signed-in user acts for, and whether they are its legal
    representative; 404 for anyone else (whether or not it exists)."""
    try:
        enterprise = enterprise_for_agent(user=request.user, enterprise_id=enterprise_id)
    except EnterpriseNotFound as exc:
        raise Http404(exc.message) from exc
    represents = (
        live_memberships()
        .filter(
            user=request.user,
            enterprise=enterprise,
            role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE,
        )
        .exists()
    )
    return enterprise, represents


@require_GET
@login_required
def enterprise_policies_view(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    """惠企政策 — the policies an enterprise qualifies for, why, and what to do; and those one
    condition away. For its members only."""
    enterprise, represents = _member_enterprise(request, enterprise_id)
    eligible, nearly = selectors.recommendations_for_enterprise(enterprise=enterprise)
    context = {
        "enterprise": enterprise,
        "represents": represents,
        "eligible": eligible,
        "nearly": nearly,
    }
    return render(request, "policies/enterprise.html", context)


@require_POST
@login_required
def enterprise_decline_view(request: HttpRequest, enterprise_id: int, code: str) -> HttpResponse:
    """The legal representative declines a 免申即享 benefit granted to the enterprise."""
    enterprise, _ = _member_enterprise(request, enterprise_id)
    try:
        services.policy_grant_decline(user=request.user, code=code, enterprise_id=enterprise.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已放弃此项待遇，今后不再自动发放。如需恢复，请联系实施部门。")
    return redirect(f"/enterprise/{enterprise.pk}/policies/")


def _staff_page(request: HttpRequest, *, errors: dict | None = None, status: int = 200):
    from tongban.accounts.selectors import resident_profile_for_work

    reviews = []
    for review in selectors.pending_reviews_for(request.user):
        if review.match.enterprise_id:  # an enterprise: its record, no personal data
            reviews.append({"review": review, "enterprise": review.match.enterprise})
            continue
        person = resident_profile_for_work(
            viewer=request.user,
            profile=review.match.profile,
            use="eligibility_review",
            department=review.match.policy.department,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        reviews.append({"review": review, "person": person})
    context = {
        "figures": selectors.policy_figures_for(request.user),
        "reviews": reviews,
        "errors": errors or {},
    }
    return render(request, "policies/staff.html", context, status=status)


@require_GET
@login_required
def staff_policies_view(request: HttpRequest) -> HttpResponse:
    """政策兑现 for a department's staff: figures by policy, and the reviews of lost
    eligibility they decide."""
    if not is_staff_member(request.user):
        raise Http404("未找到页面")
    return _staff_page(request)


@require_POST
@login_required
def staff_review_decide_view(request: HttpRequest, review_id: int) -> HttpResponse:
    if not is_staff_member(request.user):
        raise Http404("未找到页面")
    try:
        services.eligibility_review_decide(
            actor=request.user,
            review_id=review_id,
            decision=request.POST.get("decision", ""),
            note=request.POST.get("note", ""),
        )
    except ReviewNotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        return _staff_page(request, errors={review_id: exc.message}, status=422)
    messages.success(request, "复核结论已记录。")
    return redirect("/staff/policies/")


@require_GET
@login_required
def staff_policy_view(request: HttpRequest, code: str) -> HttpResponse:
    """One policy's figures by 户籍区 and by month."""
    breakdown = selectors.policy_breakdown_for(request.user, code)
    if breakdown is None:
        raise Http404("未找到页面")
    return _staff_policy_page(request, code, breakdown)


def _staff_policy_page(request, code, breakdown, *, error: str = "", status: int = 200):
    policy, definition = next((p, d) for p, d in selectors.current_policies() if p.code == code)
    rounds = selectors.fund_rounds_of(policy, definition)
    scorer = selectors.may_score_funds(request.user, policy)
    context = {
        "b": breakdown,
        "rounds": rounds if scorer else [],
        "may_preview": scorer,
        "payments": selectors.payments_overview(request.user, policy, definition),
        "payment_error": error,
    }
    return render(request, "policies/staff_policy.html", context, status=status)


@require_POST
@login_required
def staff_payments_view(request: HttpRequest, code: str) -> HttpResponse:
    """待遇发放: make a payment file for a period, or confirm one paid."""
    action = request.POST.get("action", "")
    try:
        if action == "create":
            period = request.POST.get("period", "")
            batch = services.payment_batch_create(actor=request.user, code=code, period=period)
            messages.success(
                request,
                f"已生成发放批次 {batch.number}：{batch.count} 笔，{batch.total_label} 元。",
            )
        elif action == "confirm":
            number = request.POST.get("number", "")
            batch = services.payment_batch_confirm(actor=request.user, code=code, number=number)
            messages.success(request, f"发放批次 {batch.number} 已确认发放。")
        else:
            raise Http404("未找到页面")
    except PaymentNotYours as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        breakdown = selectors.policy_breakdown_for(request.user, code)
        if breakdown is None:
            raise Http404("未找到页面") from exc
        return _staff_policy_page(
            request, code, breakdown, error=exc.message, status=exc.http_status
        )
    return redirect(f"/staff/policies/{code}/#payments-title")


@require_GET
@login_required
def staff_payment_file_view(request: HttpRequest, code: str, number: str) -> HttpResponse:
    """发放清单 of one batch, for the paying bank."""
    try:
        name, content = services.payment_batch_file(actor=request.user, code=code, number=number)
    except PaymentNotYours as exc:
        raise Http404(exc.message) from exc
    return csv_attachment(name, content)


def csv_attachment(name: str, content: bytes) -> HttpResponse:
    """A 发放清单 to save, never cached (it carries full ID numbers); the page and the API."""
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- 专项资金


def _fund_or_404(code: str, round_code: str):
    try:
        return selectors.fund_round(code, round_code)
    except PolicyNotFound as exc:
        raise Http404(exc.message) from exc


def _fund_public_page(request, code, round_code, *, error: str = "", text: str = "", status=200):
    found = _fund_or_404(code, round_code)
    results = selectors.fund_results(found)
    context = {
        "f": found,
        "results": results,
        "awarded_total": f"{sum(r.amount for r in results if r.awarded):,.2f}",
        "card": selectors.policy_card(code),
        "error": error,
        "text": text,
    }
    return render(request, "policies/fund.html", context, status=status)


@require_http_methods(["GET", "POST"])
def fund_round_view(request: HttpRequest, code: str, round_code: str) -> HttpResponse:
    """专项资金 one round: dates, budget, where it stands; after publication the results (结果
    公示) and, within the period, an objection form for anyone signed in."""
    if request.method == "GET":
        return _fund_public_page(request, code, round_code)
    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next=/policies/{code}/funds/{round_code}/")
    text = request.POST.get("text", "")
    try:
        services.fund_object(user=request.user, code=code, round_code=round_code, text=text)
    except PolicyNotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        return _fund_public_page(
            request, code, round_code, error=exc.message, text=text, status=exc.http_status
        )
    messages.success(request, "异议已提交，实施部门将在公示期满前答复，答复会通过消息中心告知您。")
    return redirect(f"/policies/{code}/funds/{round_code}/")


def _fund_staff_page(request, code, round_code, *, errors=None, status=200):
    found = _fund_or_404(code, round_code)
    if not selectors.may_score_funds(request.user, found.policy):
        raise Http404("未找到页面")
    applications = selectors.fund_applications(found)
    errors = dict(errors or {})
    for application in applications:  # a score refused is shown by its form
        application.error = errors.pop(f"score-{application.pk}", "")
    scored = [a.fund_score for a in applications if hasattr(a, "fund_score")]
    context = {
        "f": found,
        "applications": applications,
        "scored": len(scored),
        "proposed_total": f"{sum(s.amount for s in scored):,.2f}",
        "objections": list(found.state.objections.order_by("raised_at")) if found.state else [],
        "lead": selectors.may_decide_funds(request.user, found.policy),
        "errors": errors,
    }
    return render(request, "policies/staff_fund.html", context, status=status)


@require_GET
@login_required
def staff_fund_view(request: HttpRequest, code: str, round_code: str) -> HttpResponse:
    """专项资金评审 for the policy's department: the round's applications with their scores,
    publishing the results, answering objections, granting."""
    if not is_staff_member(request.user):
        raise Http404("未找到页面")
    return _fund_staff_page(request, code, round_code)


@require_POST
@login_required
def staff_fund_action_view(
    request: HttpRequest, code: str, round_code: str, action: str, target: int = 0
) -> HttpResponse:
    from tongban.policies.errors import FundNotYours

    if not is_staff_member(request.user):
        raise Http404("未找到页面")
    post = request.POST
    try:
        if action == "score":
            services.fund_score(
                actor=request.user,
                code=code,
                round_code=round_code,
                application_id=target,
                score=post.get("score", ""),
                amount=post.get("amount", ""),
                note=post.get("note", ""),
            )
            done = "评审结果已保存。"
        elif action == "publish":
            services.fund_publish(actor=request.user, code=code, round_code=round_code)
            done = "评审结果已公示，已告知各申报企业。"
        elif action == "reply":
            services.fund_objection_reply(
                actor=request.user, objection_id=target, reply=post.get("reply", "")
            )
            done = "答复已记录。"
        elif action == "grant":
            granted = services.fund_grant(actor=request.user, code=code, round_code=round_code)
            done = f"已向 {granted} 家企业下达资助。"
        else:
            raise Http404("未找到页面")
    except (PolicyNotFound, FundNotYours) as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        key = f"{action}-{target}" if target else action
        message = exc.message + "".join(f"{d['message']}。" for d in exc.details)
        return _fund_staff_page(
            request, code, round_code, errors={key: message}, status=exc.http_status
        )
    messages.success(request, done)
    return redirect(f"/staff/policies/{code}/funds/{round_code}/")


@require_http_methods(["GET", "POST"])
@login_required
def staff_whatif_view(request: HttpRequest, code: str) -> HttpResponse:
    """变更预览 — the policy's owner pastes a new version of its definition and sees, before
    it is published, how many would newly qualify and how many would no longer, by district."""
    policy = selectors.policy_for_preview(request.user, code)
    if not is_staff_member(request.user) or policy is None:
        raise Http404("未找到页面")
    context = {"policy": policy, "report": None, "problems": [], "error": ""}
    status = 200
    if request.method == "POST":
        text = request.POST.get("definition", "")
        try:
            context["report"] = services.policy_whatif_text(
                actor=request.user, code=code, text=text
            )
        except DomainError as exc:
            context["error"] = exc.message
            context["problems"] = [d["message"] for d in exc.details]
            status = exc.http_status
    else:
        text = selectors.policy_source_text(policy)
    context["text"] = text
    return render(request, "policies/staff_whatif.html", context, status=status)
