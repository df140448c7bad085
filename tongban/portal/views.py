"""Personal pages: 市民主页, 企业专属网页, the staff 工作台 shell, and the 长者版 switch.

Every rule lives in accounts.selectors/services; these views choose a template.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tongban.accounts.errors import EnterpriseNotFound
from tongban.accounts.http import safe_next
from tongban.accounts.models import StaffRole
from tongban.accounts.selectors import (
    enterprise_for_agent,
    enterprises_for_agent,
    is_staff_member,
    resident_profile_for,
    resident_profile_of,
    staff_posts_of,
)
from tongban.accounts.services import user_set_elder_mode
from tongban.cases.models import CaseStatus
from tongban.cases.selectors import cases_for_applicant
from tongban.portal.context import ELDER_COOKIE, elder_mode_on

# Remembered for a year: someone who needs large text needs it next time too.
ELDER_COOKIE_MAX_AGE = 365 * 24 * 3600
# The enterprise an agent last chose, so other pages know on whose behalf they act.
CURRENT_ENTERPRISE_KEY = "tongban_enterprise_id"

# Sections of 市民主页 that other modules will fill; named here so the page shows the whole
# shape of the service from day one.
UPCOMING_SECTIONS = [
    ("my-cases", "我的办件", "查看已提交办件的进度、补正要求和办理结果。"),
    ("my-certificates", "我的证照", "集中查看和出示已签发的电子证照。"),
    ("my-idcode", "随申码", "出示个人随申码，用于场所核验和办事身份核验。"),
    ("for-you", "为您推荐", "根据您的情况推荐可享受的政策和可办理的事项。"),
]


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"message": message}, status=403)


@require_GET
@login_required
def me_view(request: HttpRequest) -> HttpResponse:
    """市民主页 — one's own profile, masked, and what the platform will offer here."""
    profile = resident_profile_of(request.user)
    display = resident_profile_for(viewer=request.user, profile=profile) if profile else None
    recent = cases_for_applicant(user=request.user, limit=3)
    for row in recent:
        row["status_label"] = CaseStatus(row["status"]).label if row["status"] else ""
    upcoming = [s for s in UPCOMING_SECTIONS if s[0] != "my-cases"]
    context = {"profile": display, "upcoming": upcoming, "recent_cases": recent}
    return render(request, "portal/me.html", context)


@require_GET
@login_required
def enterprise_view(request: HttpRequest) -> HttpResponse:
    """企业专属网页 — the enterprises one acts for; with several, the agent picks one."""
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
    context = {
        "enterprises": enterprises,
        "current": by_id.get(current_id),
        "upcoming": [
            ("e-cases", "企业办件", "查看企业开办、变更、注销等办件进度。"),
            ("e-policies", "惠企政策", "为本企业匹配可申报的政策和专项资金。"),
            ("e-licences", "企业证照", "集中管理营业执照和各类许可证。"),
        ],
    }
    return render(request, "portal/enterprise.html", context)


@require_GET
@login_required
def staff_view(request: HttpRequest) -> HttpResponse:
    """工作台 — the staff back-office shell: one's departments and posts."""
    if not is_staff_member(request.user):
        return forbidden(request, "工作台仅限工作人员使用。如您是工作人员，请联系管理员分配岗位。")
    posts = staff_posts_of(request.user)
    roles = {role["code"] for post in posts for role in post["roles"]}
    context = {
        "posts": posts,
        "totp_enabled": request.user.totp_enabled,
        # 统一窗口出件 is the hall's work: issuers and counter clerks.
        "hands_out": bool(roles & {StaffRole.ISSUER, StaffRole.COUNTER_CLERK}),
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
