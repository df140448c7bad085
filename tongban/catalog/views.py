"""Public pages: the home page, search, 办事指南 and 一件事 with the guided 一次告知.

Every page works without JavaScript: the guide is a GET form whose answers come back in the
query string, so the result can be bookmarked, shared and reloaded.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render, resolve_url
from django.views.decorators.http import require_GET

from tongban.accounts.errors import EnterpriseNotFound
from tongban.accounts.selectors import enterprise_for_agent, resident_profile_of
from tongban.catalog import guide, selectors
from tongban.catalog.elder import elder_home_entries
from tongban.catalog.errors import BundleNotFound, GuideAnswersInvalid, ItemNotFound
from tongban.delegation.errors import DelegationNotValid
from tongban.delegation.selectors import (
    delegation_for_acting,
    delegations_given,
    principal_profile_read,
)
from tongban.portal.context import elder_mode_on

SUBJECT_LABELS = {"person": "个人", "enterprise": "法人", "both": "个人和法人"}
# A search box is not a place for essays; longer input is cut, never an error.
MAX_QUERY = 100


def _applicant(request: HttpRequest):
    # 亲友代办 (?for=): the guide answers for the 被代办人, from their record.
    delegation = _acting_relative(request)
    return delegation.principal if delegation is not None else resident_profile_of(request.user)


def _acting_relative(request: HttpRequest):
    """The authorisation the guide was opened under (为谁办理, ?for=), if the signed-in person
    holds it live for this service; the form checks the same again. The 被代办人's record
    read for it is logged for them, once per request."""
    raw = request.GET.get("for", "")
    code = request.resolver_match.kwargs.get("code", "") if request.resolver_match else ""
    if not raw.isdigit() or not request.user.is_authenticated or not code:
        return None
    cache = request.__dict__.setdefault("_tongban_guide_acting", {})
    if raw not in cache:
        try:
            found = delegation_for_acting(user=request.user, delegation_id=raw, code=code)
        except DelegationNotValid:
            found = None
        if found is not None:
            principal_profile_read(
                user=request.user,
                delegation=found,
                code=code,
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        cache[raw] = found
    return cache[raw]


def _answers_from(request: HttpRequest, questions: list[guide.GuideQuestion]) -> dict[str, str]:
    # Only names of questions on this page: other query parameters (answered=1, utm_…) are
    # not answers.
    return {q.code: request.GET[q.code] for q in questions if q.code in request.GET}


def _run_guide(request: HttpRequest, *, kind: str, code: str) -> dict:
    """The guide part of a page: the questions (with errors after a bad submission) and, once
    every applicable question is answered, the result."""
    questions_for = guide.bundle_questions if kind == "bundle" else guide.item_questions
    run = guide.guide_for_bundle if kind == "bundle" else guide.guide_for_item
    applicant = _applicant(request)
    questions = questions_for(code=code, applicant=applicant)
    answers = _answers_from(request, questions)
    submitted = "answered" in request.GET or bool(answers)
    context = {"questions": questions, "result": None, "errors": [], "submitted": submitted}
    context["asked_count"] = len(
        [q for q in questions if q.applies and not q.known and not q.known_if]
    )
    if not submitted and questions:
        return context
    try:
        result = run(code=code, answers=answers, applicant=applicant)
    except GuideAnswersInvalid as exc:
        context.update(questions=exc.questions, errors=exc.details)
        return context
    context.update(questions=result.questions, result=result)
    return context


def _acting_for(request: HttpRequest) -> str:
    """The name of the enterprise the guide was opened for (from 企业专属网页), if the
    person acts for it; the form checks the same again."""
    raw = request.GET.get("enterprise", "")
    if not raw.isdigit() or not request.user.is_authenticated:
        return ""
    try:
        return enterprise_for_agent(user=request.user, enterprise_id=int(raw)).name
    except EnterpriseNotFound:
        return ""


def _assurance_needed(*, kind: str, code: str, result) -> dict:
    """身份核验等级 the online form will ask of the account, shown before the person starts:
    from the answered list when there is one, else the most any item of it may need."""
    if result is not None:
        level = result.assurance_level
        names = [i.name for i in result.items if level and i.assurance_level == level]
    else:
        level, names = guide.assurance_for(kind=kind, code=code)
    return {"assurance_level": level, "assurance_items": names if kind == "bundle" else []}


def _apply_start(request: HttpRequest, *, kind: str, code: str, guide_context: dict) -> dict:
    """The 如何办理 panel at the top of a guide: straight to the form when nothing needs
    answering (or it has been answered), else to the questions first."""
    questions = guide_context.get("questions") or []
    ready = not questions or guide_context.get("result") is not None
    query = request.GET.copy()
    if not guide_context.get("result"):
        # Only the acting enterprise travels to the form; unanswered questions do not.
        query = QueryDict(mutable=True)
        if request.GET.get("enterprise"):
            query["enterprise"] = request.GET["enterprise"]
        if request.GET.get("for"):
            query["for"] = request.GET["for"]
    url = f"/apply/{kind}/{code}/" + (f"?{query.urlencode()}" if query else "")
    relative = _acting_relative(request)
    return {
        "enterprise": _acting_for(request),
        "relative": relative.principal.name if relative is not None else "",
        # ?for= naming no live authorisation of this person for this service: said, not hidden.
        "relative_refused": relative is None and bool(request.GET.get("for")),
        "online": True,
        "ready": ready,
        "questions": len(questions),
        "url": url,
        "login_url": f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': url})}",
        **_assurance_needed(kind=kind, code=code, result=guide_context.get("result")),
    }


@require_GET
def home_view(request: HttpRequest) -> HttpResponse:
    # 长者版 opens on the few services older people use first; 全部服务 is one link away.
    if elder_mode_on(request) and "full" not in request.GET:
        # 亲友代办: a signed-in elder sees, first, who may act for them.
        who = [d for d in delegations_given(user=request.user) if d["open"]]
        context = {"entries": elder_home_entries(), "who_may_act": who}
        return render(request, "catalog/home_elder.html", context)
    context = {
        "bundles": selectors.bundle_list(),
        "popular": selectors.item_popular(limit=8),
        "subject_labels": SUBJECT_LABELS,
    }
    return render(request, "catalog/home.html", context)


@require_GET
def search_view(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:MAX_QUERY]
    outcome = selectors.catalog_search_outcome(
        q=q, limit=30, prefer=selectors.search_subject_for(request.user)
    )
    # An item's 一件事 is named under it unless that 一件事 is listed on the page already.
    listed = {r.code for r in [*outcome.results, *outcome.suggestions] if r.kind == "bundle"}

    def rows(results: list[selectors.SearchResult]) -> list[dict]:
        return [
            {"r": r, "bundles": [b for b in r.bundles if b.code not in listed]} for r in results
        ]

    context = {
        "q": q,
        "outcome": outcome,
        "results": rows(outcome.results),
        "suggestions": rows(outcome.suggestions),
    }
    return render(request, "catalog/search.html", context)


@require_GET
def item_view(request: HttpRequest, code: str) -> HttpResponse:
    version_text = request.GET.get("version")
    version = None
    if version_text is not None:
        if not version_text.isdigit() or int(version_text) < 1:
            raise Http404("未找到该版本")
        version = int(version_text)
    try:
        detail = selectors.item_detail(code, version)
    except ItemNotFound as exc:
        raise Http404(exc.message) from exc
    item = detail.definition
    materials = [
        {
            "material": m,
            "condition": guide.when_text(m.when, item.situations),
            "waivers": [guide.waiver_text(w, m) for w in m.waivable_by],
        }
        for m in item.materials
    ]
    is_current = detail.is_active and detail.version == detail.latest_version
    context = {
        "detail": detail,
        "item": item,
        "materials": materials,
        "subject_label": SUBJECT_LABELS.get(item.subject, item.subject),
        "handling_label": guide.HANDLING_LABELS[item.handling],
        "channel_labels": [guide.CHANNEL_LABELS[c] for c in item.channels],
        "is_current": is_current,
    }
    # The guided list is for applying now, so only on the current version.
    if item.situations and is_current:
        context.update(_run_guide(request, kind="item", code=code))
    if is_current:
        start = _apply_start(request, kind="item", code=code, guide_context=context)
        start.update(online="online" in item.channels, place=item.place, hotline=item.hotline)
        context["start"] = start
    return render(request, "catalog/item.html", context)


@require_GET
def bundle_view(request: HttpRequest, code: str) -> HttpResponse:
    try:
        detail = selectors.bundle_detail(code)
    except BundleNotFound as exc:
        raise Http404(exc.message) from exc
    members = [
        {"code": e.item, "name": detail.item_names[e.item], "conditional": bool(e.when)}
        for e in detail.definition.items
    ]
    context = {
        "detail": detail,
        "bundle": detail.definition,
        "members": members,
        "subject_label": SUBJECT_LABELS.get(detail.definition.subject, ""),
    }
    context.update(_run_guide(request, kind="bundle", code=code))
    context["start"] = _apply_start(request, kind="bundle", code=code, guide_context=context)
    return render(request, "catalog/bundle.html", context)


@require_GET
def bundle_steps_view(request: HttpRequest, code: str) -> HttpResponse:
    try:
        name = selectors.bundle_detail(code).definition.name
    except BundleNotFound as exc:
        raise Http404(exc.message) from exc
    return _steps(request, kind="bundle", code=code, name=name)


@require_GET
def item_steps_view(request: HttpRequest, code: str) -> HttpResponse:
    try:
        detail = selectors.item_detail(code)
    except ItemNotFound as exc:
        raise Http404(exc.message) from exc
    if not detail.definition.situations:
        raise Http404("该事项无需回答问题")
    return _steps(request, kind="item", code=code, name=detail.definition.name)


def _steps(request: HttpRequest, *, kind: str, code: str, name: str) -> HttpResponse:
    """One question per screen (长者版, and anyone who prefers it): a GET form that carries
    the answers so far in hidden fields, so it works without JavaScript and can be reloaded.
    `q` shows a given question again (上一步, 修改); `at` names the question just submitted,
    so an empty submission is an error, not a skip. Questions the applicant's 一人一档
    answers are never shown as questions; once every other one is answered, the list."""
    base = f"/bundles/{code}/" if kind == "bundle" else f"/items/{code}/"
    questions_for = guide.bundle_questions if kind == "bundle" else guide.item_questions
    applicant = _applicant(request)
    given = _answers_from(request, questions_for(code=code, applicant=applicant))
    questions = questions_for(code=code, answers=given, applicant=applicant)
    known = [q for q in questions if q.applies and q.known]
    # A question the profile will answer once another is given (本人申请) comes after it.
    asked = sorted(
        (q for q in questions if q.applies and not q.known), key=lambda q: bool(q.known_if)
    )
    valid = {
        q.code: q.answer
        for q in asked
        if q.answer in {o.value for o in q.options} and given.get(q.code) == q.answer
    }
    codes = [q.code for q in asked]
    current = request.GET.get("q") if request.GET.get("q") in codes else None
    error = ""
    at = request.GET.get("at")
    if current is None and at in codes and at not in valid:
        current = at
        error = f"请选择：{asked[codes.index(at)].question}"
    if current is None:
        current = next((c for c in codes if c not in valid), None)
    context = {
        "kind": kind,
        "code": code,
        "name": name,
        "base": base,
        "known": known,
        "asked": asked,
        "steps_url": f"{base}steps/",
    }
    if current is not None:
        n = codes.index(current)
        previous = codes[n - 1] if n else None
        carried = {c: v for c, v in valid.items() if c != current}
        context.update(
            question=asked[n],
            number=n + 1,
            # Questions the profile may still answer (本人申请) count once they are asked.
            total=len([q for q in asked if not q.known_if or q.code in valid or q.code == current]),
            error=error,
            carried=carried,
            chosen=valid.get(current),
            back_url=(f"{base}steps/?{urlencode({**valid, 'q': previous})}" if previous else base),
        )
        return render(request, "catalog/steps.html", context, status=200)
    run = guide.guide_for_bundle if kind == "bundle" else guide.guide_for_item
    try:
        result = run(code=code, answers=valid, applicant=applicant)
    except GuideAnswersInvalid as exc:  # a definition changed under the person: ask again
        first = exc.details[0]["field"]
        query = urlencode({k: v for k, v in valid.items() if k != first})
        return render(
            request,
            "catalog/steps.html",
            {**context, "restart_url": f"{base}steps/?{query}"},
            status=200,
        )
    query = urlencode(valid)
    labels = {q.code: {o.value: o.label for o in q.options} for q in asked}
    context.update(
        result=result,
        to_submit=[m for m in result.materials if m.required and not m.spared],
        spared=[m for m in result.materials if m.spared],
        answered=[
            {
                "question": q.question,
                "label": labels[q.code][valid[q.code]],
                "change_url": f"{base}steps/?{urlencode({**valid, 'q': q.code})}",
            }
            for q in asked
        ],
        apply_url=f"/apply/{kind}/{code}/?{urlencode({'answered': '1', **valid})}",
        full_url=f"{base}?{urlencode({'answered': '1', **valid})}#guide",
        login_url="/accounts/login/?" + urlencode({"next": f"/apply/{kind}/{code}/?{query}"}),
    )
    return render(request, "catalog/steps.html", context)
