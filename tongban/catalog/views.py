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
from tongban.catalog.errors import BundleNotFound, GuideAnswersInvalid, ItemNotFound

SUBJECT_LABELS = {"person": "个人", "enterprise": "法人", "both": "个人和法人"}
# A search box is not a place for essays; longer input is cut, never an error.
MAX_QUERY = 100


def _applicant(request: HttpRequest):
    return resident_profile_of(request.user)


def _answers_from(request: HttpRequest, questions: list[guide.GuideQuestion]) -> dict[str, str]:
    # Only names of questions on this page: other query parameters (answered=1, utm_…) are
    # not answers.
    return {q.code: request.GET[q.code] for q in questions if q.code in request.GET}


def _run_guide(request: HttpRequest, *, kind: str, code: str) -> dict:
    """The guide part of a page: the questions (with errors after a bad submission) and, once
    every applicable question is answered, the result."""
    questions_for = guide.bundle_questions if kind == "bundle" else guide.item_questions
    run = guide.guide_for_bundle if kind == "bundle" else guide.guide_for_item
    questions = questions_for(code=code)
    answers = _answers_from(request, questions)
    submitted = "answered" in request.GET or bool(answers)
    context = {"questions": questions, "result": None, "errors": [], "submitted": submitted}
    if not submitted and questions:
        return context
    try:
        result = run(code=code, answers=answers, applicant=_applicant(request))
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
    url = f"/apply/{kind}/{code}/" + (f"?{query.urlencode()}" if query else "")
    return {
        "enterprise": _acting_for(request),
        "online": True,
        "ready": ready,
        "questions": len(questions),
        "url": url,
        "login_url": f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': url})}",
    }


@require_GET
def home_view(request: HttpRequest) -> HttpResponse:
    context = {
        "bundles": selectors.bundle_list(),
        "popular": selectors.item_popular(limit=8),
        "subject_labels": SUBJECT_LABELS,
    }
    return render(request, "catalog/home.html", context)


@require_GET
def search_view(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:MAX_QUERY]
    results = selectors.catalog_search(q=q, limit=30) if q else []
    return render(request, "catalog/search.html", {"q": q, "results": results})


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
