"""The 随申码 pages: a large QR that refreshes itself before it expires."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tongban.accounts.errors import AgentMayNotShowIdcode
from tongban.idcode import selectors, services
from tongban.idcode.errors import EnterpriseNotFound, NoResidentProfile


@require_GET
@never_cache
@login_required
def my_idcode_page(request: HttpRequest) -> HttpResponse:
    try:
        issued = services.idcode_issue(user=request.user)
    except NoResidentProfile as exc:
        return render(request, "idcode/code.html", {"problem": exc.message}, status=404)
    return render(
        request,
        "idcode/code.html",
        {
            "title": "我的随申码",
            "issued": issued,
            "api_url": "/api/v1/me/idcode",
            "scans": selectors.scans_of_resident(user=request.user),
        },
    )


@require_GET
@never_cache
@login_required
def enterprise_idcode_page(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    try:
        enterprise = services.enterprise_for_agent(user=request.user, enterprise_id=enterprise_id)
        issued = services.enterprise_idcode_issue(user=request.user, enterprise_id=enterprise_id)
    except EnterpriseNotFound as exc:
        raise Http404 from exc
    except AgentMayNotShowIdcode as exc:
        # A live authority that leaves out the 随申码: say so, not "not found".
        return render(request, "portal/forbidden.html", {"message": exc.message}, status=403)
    return render(
        request,
        "idcode/code.html",
        {
            "title": f"企业随申码 · {enterprise.name}",
            "issued": issued,
            "api_url": f"/api/v1/enterprises/{enterprise.pk}/idcode",
            "scans": selectors.scans_of_enterprise(enterprise_id=enterprise.pk),
        },
    )
