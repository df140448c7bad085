"""Pages for applicants: the one form (一表申请), the receipt and case page, 我的办件,
补正 and 容缺后补 in place. They call the same services and selectors as the API; every rule
lives there. Everything works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tongban.accounts.selectors import enterprises_for_agent
from tongban.cases import forms, selectors, services
from tongban.cases.errors import (
    CaseFormInvalid,
    CaseMaterialsInvalid,
    CaseNotAcceptable,
    CaseNotFound,
    UploadRefused,
)
from tongban.cases.models import CaseOutcome, CaseStatus, MaterialHow, TaskStatus
from tongban.catalog.selectors import element_definitions
from tongban.common.errors import InvalidInput
from tongban.reviews.selectors import rating_invitations

KINDS = ("bundle", "item")
CASES_PER_PAGE = 25
# The selector caps one read at this many rows; 我的办件 pages through them.
CASES_READ_LIMIT = 200

# What each step of a case is called, for the applicant (and the API): one map, in selectors.
ACTION_LABELS = selectors.EVENT_LABELS


# ---------------------------------------------------------------- the case page


def _who(event: dict[str, Any], detail: dict[str, Any], departments: dict[str, str]) -> str:
    """Who did it, in words: the applicant, the system, or a department's post (never a
    member of staff's name)."""
    actor = event["actor"]
    if actor == "system:auto":
        return "系统自动办理"
    if actor == "system:policies":
        return "免申即享（系统自动核定）"
    if actor.startswith("system"):
        return "系统"
    if actor == "user":
        return "申请人"
    task = event.get("task")
    if task in departments:
        return f"{departments[task]}审核人员"
    if event["action"] in ("handed_out", "archived"):
        return "出件窗口工作人员"
    if event["action"] == "submitted" or event.get("post") == "counter":
        return "综合窗口工作人员"
    return f"{detail['lead_department']}受理人员"


def _case_context(request: HttpRequest, receipt_no: str) -> dict[str, Any]:
    try:
        case = selectors.case_for(user=request.user, receipt_no=receipt_no)
        detail = selectors.case_detail(user=request.user, receipt_no=receipt_no)
    except CaseNotFound as exc:
        raise Http404(exc.message) from exc
    plan = case.plan
    material_names = {m["code"]: m["name"] for m in plan.get("materials", [])}
    departments = {t["id"]: t["department_name"] for t in detail["tasks"]}
    item_names = {t["id"]: t["item_name"] for t in detail["tasks"]}
    events = [
        {
            **e,
            "who": _who(e, detail, departments),
            "what": e["label"] or ACTION_LABELS.get(e["action"], e["action"]),
            "item_name": item_names.get(e.get("task"), ""),
        }
        for e in reversed(detail["events"])
    ]
    supplement = detail["supplement"]
    supplement_view = None
    if supplement is not None and case.applicant_id == request.user.pk:
        supplement_view = supplement_form(case, supplement)
    # 容缺: what the case was accepted without, still to come, by when. Read through the case
    # the selector has already shown this user may see.
    deferred = [
        {
            "code": m.material_code,
            "name": material_names.get(m.material_code, m.material_code),
            "due_date": m.due_date,
            "id": forms.dom_id("deferred", m.material_code),
            "errors": [],
        }
        for m in case.materials.filter(how=MaterialHow.DEFERRED).order_by("pk")
    ]
    # 统一发证: the names of what was issued (serials and types only are logged) and why
    # anything could not be.
    issued_names: list[str] = []
    not_issued: list[dict] = []
    for data in case.events.filter(action="certificates_issued").values_list("data", flat=True):
        issued_names += [c.get("name") or c["type"] for c in data.get("certificates", [])]
        not_issued += data.get("skipped", [])
    invitation = rating_invitations(user=request.user, receipt_nos=[case.receipt_no])
    return {
        "case": detail,
        "result": _result_panel(detail),
        "rate": invitation.get(case.receipt_no),
        "events": events,
        "issued_names": list(dict.fromkeys(issued_names)),
        "not_issued": not_issued,
        "supplement": supplement_view,
        "deferred": deferred,
        "is_applicant": case.applicant_id == request.user.pk,
        "answers": selectors.case_answers_for_applicant(user=request.user, case=case),
        "accept": forms.ACCEPT,
        "delivery_label": dict(forms.DELIVERY_CHOICES).get(detail["delivery"], ""),
        "outcome_label": _outcome_label(detail["outcome"]),
        "is_supplement_requested": detail["status"] == CaseStatus.SUPPLEMENT_REQUESTED,
        "open_task_statuses": (TaskStatus.WAITING, TaskStatus.PENDING, TaskStatus.CLAIMED),
        "errors": [],
    }


def _result_panel(detail: dict[str, Any]) -> dict[str, Any] | None:
    """The outcome at the top of the case page, in plain words, with the reasons that would
    otherwise sit in the log and what the applicant can do next. None while it is open."""
    guide_url = f"/{'bundles' if detail['kind'] == 'bundle' else 'items'}/{detail['code']}/"
    if detail["status"] == CaseStatus.REFUSED:
        refusal = next(
            (e for e in reversed(detail["events"]) if e["to_status"] == CaseStatus.REFUSED), None
        )
        return {
            "kind": "refused",
            "title": "您的申请不予受理",
            "reasons": [{"item": "", "reason": refusal["reason"] if refusal else ""}],
            "guide": guide_url,
        }
    if detail["outcome"] not in (CaseOutcome.DENIED, CaseOutcome.PARTLY_APPROVED):
        return None
    denied = [
        {"item": t["item_name"], "reason": t["reason"]}
        for t in detail["tasks"]
        if t["status"] == TaskStatus.DENIED
    ]
    if detail["outcome"] == CaseOutcome.DENIED:
        title = "您的申请不予办理"
        return {"kind": "denied", "title": title, "reasons": denied, "guide": guide_url}
    return {
        "kind": "partly",
        "title": "您的申请部分准予办理，以下事项不予办理",
        "reasons": denied,
        "guide": guide_url,
    }


def _outcome_label(outcome: str) -> str:
    from tongban.cases.models import CaseOutcome

    return dict(CaseOutcome.choices).get(outcome, "")


def supplement_form(case, supplement: dict[str, Any]) -> dict[str, Any]:
    """The 补正 form of CASE (the fields and materials SUPPLEMENT asks for), for the
    applicant's case page and the counter (窗口补正)."""
    plan = case.plan
    material_names = {m["code"]: m["name"] for m in plan.get("materials", [])}
    field_labels = {f["code"]: f for f in plan.get("fields", [])}
    elements = element_definitions(supplement["fields"])
    specs = forms.field_specs(
        [
            _FieldLike(
                code=c,
                label=field_labels.get(c, {}).get("label", c),
                required=True,
                element=elements.get(c),
            )
            for c in supplement["fields"]
        ],
        values={c: case.form_data.get(c, "") for c in supplement["fields"]},
        prefill={},
        errors={},
    )
    return {
        **supplement,
        "field_specs": specs,
        "material_rows": [
            {
                "code": c,
                "name": material_names.get(c, c),
                "id": forms.dom_id("material", c),
                "errors": [],
            }
            for c in supplement["materials"]
        ],
    }


def supplement_post(request: HttpRequest, supplement: dict[str, Any], submit) -> list[dict]:
    """Read a posted 补正 form and hand it to SUBMIT(form_data, materials); the problems to
    show (empty: done). The specs and rows of SUPPLEMENT are given what was typed back."""
    fields = supplement["field_specs"]
    form_data = forms.form_data_from_post(request.POST, fields)
    errors: list[dict[str, str]] = []
    materials: dict[str, services.MaterialInput] = {}
    for m in supplement["material_rows"]:
        try:
            uploads = forms.uploads_from_files(request.FILES, m["code"])
        except forms.UploadsTooLarge as exc:
            errors += exc.details
            continue
        if uploads:
            materials[m["code"]] = services.MaterialInput(
                how=MaterialHow.UPLOAD, files=tuple(uploads)
            )
    if not errors:
        try:
            submit(form_data, materials)
        except (CaseFormInvalid, CaseMaterialsInvalid, UploadRefused) as exc:
            errors = exc.details or [{"field": "", "message": exc.message}]
        except (CaseNotAcceptable, InvalidInput) as exc:
            errors = [{"field": "", "message": exc.message}]
        else:
            return []
    by_field = forms.errors_by_field(errors)
    typed = forms.typed_values_from_post(request.POST, fields)
    for spec in fields:
        spec.value = typed.get(spec.code, "")
        spec.errors = by_field.get(spec.code, [])
    for m in supplement["material_rows"]:
        m["errors"] = by_field.get(m["code"], [])
    return _summary(errors, fields, supplement["material_rows"])


class _FieldLike:
    """A plan field with its data element, shaped like a GuideField for `field_specs`."""

    def __init__(self, *, code: str, label: str, required: bool, element) -> None:
        self.code = code
        self.label = label
        self.required = required
        self.type = element.type if element else "text"
        self.choices = element.choices if element else []
        self.help = element.help if element else ""


@login_required
@require_http_methods(["GET"])
def case_view(request: HttpRequest, receipt_no: str) -> HttpResponse:
    """受理回执 and the case page: status, timeline, departments, 补正 and 容缺 in place."""
    return render(request, "cases/case.html", _case_context(request, receipt_no))


@login_required
@require_POST
def supplement_view(request: HttpRequest, receipt_no: str) -> HttpResponse:
    """补正 in place: exactly the fields and materials asked for, once."""
    context = _case_context(request, receipt_no)
    supplement = context["supplement"]
    if supplement is None:
        return redirect("cases:case", receipt_no=context["case"]["receipt_no"])

    def submit(form_data, materials) -> None:
        try:
            services.case_supplement(
                applicant=request.user,
                receipt_no=context["case"]["receipt_no"],
                form_data=form_data,
                materials=materials,
            )
        except CaseNotFound as exc:
            raise Http404(exc.message) from exc

    errors = supplement_post(request, supplement, submit)
    if not errors:
        return redirect("cases:case", receipt_no=context["case"]["receipt_no"])
    context["errors"] = errors
    return render(request, "cases/case.html", context)


@login_required
@require_POST
def deferred_view(request: HttpRequest, receipt_no: str, material_code: str) -> HttpResponse:
    """容缺后补: deliver a material the case was accepted without."""
    context = _case_context(request, receipt_no)
    rows = {m["code"]: m for m in context["deferred"]}
    if material_code not in rows or not context["is_applicant"]:
        raise Http404("未找到该材料")
    errors: list[dict[str, str]] = []
    try:
        uploads = forms.uploads_from_files(request.FILES, material_code)
        services.case_deferred_material_submit(
            applicant=request.user,
            receipt_no=context["case"]["receipt_no"],
            material_code=material_code,
            files=uploads,
        )
    except forms.UploadsTooLarge as exc:
        errors = exc.details
    except CaseNotFound as exc:
        raise Http404(exc.message) from exc
    except (CaseMaterialsInvalid, UploadRefused) as exc:
        errors = exc.details or [{"field": material_code, "message": exc.message}]
    except (CaseNotAcceptable, InvalidInput) as exc:
        errors = [{"field": material_code, "message": exc.message}]
    else:
        return redirect("cases:case", receipt_no=context["case"]["receipt_no"])
    rows[material_code]["errors"] = [e["message"] for e in errors]
    context["errors"] = [
        {"message": e["message"], "href": "#" + rows[material_code]["id"]} for e in errors
    ]
    return render(request, "cases/case.html", context)


def _summary(errors, fields, material_rows) -> list[dict[str, str]]:
    ids = {f.code: f.id for f in fields} | {m["code"]: m["id"] for m in material_rows}
    return [
        {"message": e["message"], "href": "#" + ids[e["field"]] if e.get("field") in ids else ""}
        for e in errors
    ]


# ---------------------------------------------------------------- 我的办件


@login_required
@require_http_methods(["GET"])
def my_cases_view(request: HttpRequest) -> HttpResponse:
    rows = selectors.cases_for_applicant(user=request.user, limit=CASES_READ_LIMIT)
    enterprises = {e["id"]: e["name"] for e in enterprises_for_agent(user=request.user)}
    for row in rows:
        row["enterprise_name"] = enterprises.get(row.get("enterprise_id"), "")
        row["status_label"] = dict(CaseStatus.choices).get(row["status"], row["status"])
        row["outcome_label"] = _outcome_label(row["outcome"])
    page = Paginator(rows, CASES_PER_PAGE).get_page(request.GET.get("page"))
    invitations = rating_invitations(
        user=request.user, receipt_nos=[row["receipt_no"] for row in page.object_list]
    )
    for row in page.object_list:
        row["rate"] = invitations.get(row["receipt_no"])
    return render(
        request, "cases/my_cases.html", {"page": page, "capped": len(rows) >= CASES_READ_LIMIT}
    )
