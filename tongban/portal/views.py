"""Personal pages: 市民主页, 企业专属网页, the staff 工作台 shell, and the 长者版 switch.

Every rule lives in accounts.selectors/services; these views choose a template.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tongban.accounts.errors import EnterpriseNotFound, NotEnterpriseManager
from tongban.accounts.http import safe_next
from tongban.accounts.selectors import (
    agent_invitations_for,
    data_access_for,
    enterprise_agents_for,
    enterprise_data_access_for,
    enterprise_for_agent,
    enterprises_for_agent,
    is_staff_member,
    resident_profile_for,
    resident_profile_of,
    staff_posts_of,
)
from tongban.accounts.services import user_set_elder_mode
from tongban.cases import selectors as cases_selectors
from tongban.cases.models import CaseStatus
from tongban.cases.selectors import cases_for_applicant
from tongban.catalog import selectors as catalog_selectors
from tongban.connect import selectors as connect_selectors
from tongban.delegation.selectors import (
    delegation_invitations,
    delegations_given,
    delegations_received,
)
from tongban.metrics.selectors import may_open_metrics
from tongban.passkeys.selectors import user_has_passkey
from tongban.policies import selectors as policies_selectors
from tongban.portal.agents import AgentGrantForm
from tongban.portal.context import ELDER_COOKIE, elder_mode_on
from tongban.reviews import selectors as reviews_selectors

# Remembered for a year: someone who needs large text needs it next time too.
ELDER_COOKIE_MAX_AGE = 365 * 24 * 3600
# The enterprise an agent last chose, so other pages know on whose behalf they act.
CURRENT_ENTERPRISE_KEY = "tongban_enterprise_id"


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"message": message}, status=403)


@require_GET
@login_required
def me_view(request: HttpRequest) -> HttpResponse:
    """市民主页 — one's own profile, masked, one's cases, certificates and 随申码, the policies
    one qualifies for (为您推荐), and the 一件事 a person can start. Only what works is shown."""
    profile = resident_profile_of(request.user)
    display = resident_profile_for(viewer=request.user, profile=profile) if profile else None
    recent = cases_for_applicant(user=request.user, limit=3)
    for row in recent:
        row["status_label"] = CaseStatus(row["status"]).label if row["status"] else ""
    eligible = policies_selectors.recommendations_for(profile=profile)[0] if profile else []
    context = {
        "profile": display,
        "recent_cases": recent,
        "bundles": catalog_selectors.bundle_list(subject="person"),
        "recommended": eligible[:3],
        "recommended_count": len(eligible),
        # 亲友代办: who may act for me (open ones), invitations, and for whom I may act.
        "who_may_act": [d for d in delegations_given(user=request.user) if d["open"]],
        "delegation_invitations": delegation_invitations(user=request.user),
        # 企业授权邀请: enterprises that named me an agent, waiting for my answer.
        "agent_invitations": agent_invitations_for(user=request.user),
        "acting_for": delegations_received(user=request.user, live_only=True),
    }
    return render(request, "portal/me.html", context)


@require_GET
@login_required
def data_access_view(request: HttpRequest) -> HttpResponse:
    """我的数据使用记录 — who (department and post) read the resident's personal data, when,
    which fields, for which case and why."""
    page = data_access_for(user=request.user, page=request.GET.get("page"))
    matching = policies_selectors.matching_uses()
    return render(request, "portal/data_access.html", {"page": page, "matching": matching})


@require_GET
@login_required
def enterprise_data_access_view(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    """企业数据使用记录 — for the enterprise's 法定代表人 or 管理员: who (department or
    institution and post) used the enterprise's data, when, which, why, under which basis."""
    try:
        page = enterprise_data_access_for(
            viewer=request.user, enterprise_id=enterprise_id, page=request.GET.get("page")
        )
    except EnterpriseNotFound as exc:
        raise Http404(exc.message) from exc
    except NotEnterpriseManager as exc:
        return forbidden(request, exc.message)
    enterprise = enterprise_for_agent(user=request.user, enterprise_id=enterprise_id)
    context = {"page": page, "enterprise": enterprise}
    return render(request, "portal/enterprise_data_access.html", context)


@require_GET
@login_required
def enterprise_view(request: HttpRequest) -> HttpResponse:
    """企业专属网页 — the enterprises one acts for; with several, the agent picks one."""
    return enterprise_page(request)


def enterprise_page(request: HttpRequest, *, grant_form=None, status: int = 200) -> HttpResponse:
    """The page, with the 授权管理 section for its legal representative or an administrator
    (GRANT_FORM: a refused grant form to show again, with STATUS)."""
    enterprises = enterprises_for_agent(user=request.user)
    chosen_id = request.GET.get("enterprise")
    if chosen_id is not None:
        if not chosen_id.isdigit():
            raise Http404("未找到企业")
        try:
            enterprise_for_agent(user=request.user, enterprise_id=int(chosen_id))
        except EnterpriseNotFound as exc:
            raise Http404(exc.message) from exc
        request.session[CURRENT_ENTERPRISE_KEY] = int(chosen_id)
    by_id = {e["id"]: e for e in enterprises}
    current_id = request.session.get(CURRENT_ENTERPRISE_KEY)
    if current_id not in by_id:
        current_id = enterprises[0]["id"] if len(enterprises) == 1 else None
    current = by_id.get(current_id)
    policies = []
    agents = None
    if current is not None:
        enterprise = enterprise_for_agent(user=request.user, enterprise_id=current["id"])
        policies = policies_selectors.recommendations_for_enterprise(enterprise=enterprise)[0]
        if current["may_manage"]:
            agents = enterprise_agents_for(viewer=request.user, enterprise_id=current["id"])
            grant_form = grant_form or AgentGrantForm(is_legal_rep=agents["is_legal_rep"])
    # What an enterprise can start here: its 一件事 and its items, each opened with the
    # chosen enterprise so the form files on its behalf; an agent limited to some services
    # (授权范围) is offered only those.
    scope = set(current["my_items"]) if current else set()
    bundles = catalog_selectors.bundle_list(subject="enterprise") if current else []
    items = catalog_selectors.item_list(subject="enterprise") if current else []
    if scope:
        bundles = [b for b in bundles if b.code in scope]
        items = [i for i in items if i.code in scope]
    context = {
        "policies": policies,
        "enterprises": enterprises,
        "current": current,
        "bundles": bundles,
        "items": items,
        "agents": agents,
        "grant_form": grant_form if agents else None,
        # Someone acting for no enterprise yet may have an invitation waiting on their home.
        "agent_invitations": [] if enterprises else agent_invitations_for(user=request.user),
    }
    return render(request, "portal/enterprise.html", context, status=status)


@require_GET
@login_required
def staff_view(request: HttpRequest) -> HttpResponse:
    """工作台 — the staff back-office shell: one's departments and posts."""
    if not is_staff_member(request.user):
        return forbidden(request, "工作台仅限工作人员使用。如您是工作人员，请联系管理员分配岗位。")
    user = request.user
    context = {
        "posts": staff_posts_of(user),
        # A passkey is a second factor for staff as good as TOTP: either silences the nudge.
        "totp_enabled": user.totp_enabled or user_has_passkey(user=user),
        # Each card only for whoever its page lets in: the pages' own gates, asked here.
        "may_open": {
            "intake": cases_selectors.may_open_intake(user),
            "workbench": cases_selectors.may_open_workbench(user),
            "handout": cases_selectors.may_open_handout(user),
            "counter": cases_selectors.may_open_counter(user),
            "reviews": reviews_selectors.is_reviews_staff(user),
            "policies": policies_selectors.may_open_policies(user),
            "connect": connect_selectors.may_view_clients(user),
            "metrics": may_open_metrics(user),
        },
    }
    return render(request, "portal/staff.html", context)


@require_POST
def elder_mode_view(request: HttpRequest) -> HttpResponse:
    """长者版 switch. The form says which state it wants ("1"/"0") so a double click does not
    flip it back; without that field it toggles."""
    wanted = request.POST.get("enabled")
    enabled = wanted == "1" if wanted in ("0", "1") else not elder_mode_on(request)
    if request.user.is_authenticated:
        user_set_elder_mode(actor=request.user, user=request.user, enabled=enabled)
    response = redirect(safe_next(request, request.POST.get("next"), "/"))
    response.set_cookie(
        ELDER_COOKIE,
        "1" if enabled else "0",
        max_age=ELDER_COOKIE_MAX_AGE,
        samesite="Lax",
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response
