"""Pages for applicants: the one form (一表申请), the receipt and case page, 我的办件,
补正 and 容缺后补 in place. They call the same services and selectors as the API; every rule
lives there. Everything works without JavaScript.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tongban.accounts.models import Enterprise
from tongban.accounts.selectors import enterprises_for_agent, resident_profile_of
from tongban.cases import forms, selectors, services
from tongban.cases.errors import (
    CaseDuplicateOpen,
    CaseFormInvalid,
    CaseMaterialsInvalid,
    CaseNotAcceptable,
    CaseNotFound,
    IdempotencyKeyReused,
    NotForApplicant,
    UploadRefused,
)
from tongban.cases.models import CaseStatus, MaterialHow, TaskStatus
from tongban.cases.receipt import receipt_display
from tongban.catalog import guide
from tongban.catalog.errors import BundleNotFound, GuideAnswersInvalid, ItemNotFound
from tongban.catalog.selectors import bundle_definition, element_definitions, item_definition
from tongban.common.errors import InvalidInput

KINDS = ("bundle", "item")
CASES_PER_PAGE = 25
# The selector caps one read at this many rows; 我的办件 pages through them.
CASES_READ_LIMIT = 200

# What each step of a case is called, for the applicant (and the API): one map, in selectors.
ACTION_LABELS = selectors.EVENT_LABELS


def _guide_page(kind: str, code: str, answers: dict[str, str]) -> str:
    query = urlencode({"answered": "1", **answers})
    base = f"/bundles/{code}/" if kind == "bundle" else f"/items/{code}/"
    return f"{base}?{query}#guide"


def _questions(kind: str, code: str) -> list[guide.GuideQuestion]:
    try:
        if kind == "bundle":
            return guide.bundle_questions(code=code)
        return guide.item_questions(code=code)
    except (BundleNotFound, ItemNotFound) as exc:
        raise Http404(exc.message) from exc


def _run_guide(
    request: HttpRequest,
    kind: str,
    code: str,
    answers: dict[str, str],
    enterprise=None,
    known: dict[str, Any] | None = None,
):
    run = guide.guide_for_bundle if kind == "bundle" else guide.guide_for_item
    return run(
        code=code,
        answers=answers,
        applicant=resident_profile_of(request.user),
        enterprise=enterprise,
        known=known,
    )


def _material_rows(
    result: guide.GuideResult, plan: dict[str, Any], errors: dict[str, list[str]], post=None
) -> list[dict[str, Any]]:
    """Each material with what the applicant may do about it: spared (and why), 告知承诺
    (with the text they sign), 容缺 (later), or upload. The offers come from the plan the
    service itself builds, so the page never offers what the service would refuse."""
    by_code = {m["code"]: m for m in plan["materials"]}
    rows = []
    for m in result.materials:
        planned = by_code[m.code]
        deferrable_days = services.deferrable_days_for(plan["items"], m.code)
        rows.append(
            {
                "code": m.code,
                "name": m.name,
                "form": m.form,
                "required": m.required,
                "note": m.note,
                "item_names": m.item_names,
                "spared": m.spared,
                "spared_reason": m.spared_reason,
                "about": m.about,
                "about_label": m.about_label,
                "identify_by": m.identify_by,
                "waivers": [w.text for w in m.waivers if w.kind != "commitment"],
                "commitment": planned["commitment"],
                "deferrable_days": deferrable_days,
                "how": (post.get(forms.HOW_PREFIX + m.code, "") if post is not None else ""),
                "id": forms.dom_id("material", m.code),
                "errors": errors.get(m.code, []),
            }
        )
    return rows


def _apply_context(
    request: HttpRequest,
    *,
    kind: str,
    code: str,
    result: guide.GuideResult,
    values: dict[str, Any],
    errors: list[dict[str, str]],
    key: str,
    delivery: str,
    agent: _Agent,
    post=None,
    resumed=None,
) -> dict[str, Any]:
    prefill = selectors.form_prefill(
        user=request.user,
        kind=kind,
        code=code,
        answers=result.answers,
        enterprise=agent.enterprise,
    )
    by_field = forms.errors_by_field(errors)
    plan = services.plan_from_guide(result)
    fields = forms.field_specs(result.fields, values=values, prefill=prefill, errors=by_field)
    materials = _material_rows(result, plan, by_field, post)
    known = {f.code for f in fields} | {m["code"] for m in materials}
    summary = [
        {
            "message": e["message"],
            "href": "#"
            + (
                forms.dom_id("field", e["field"])
                if e["field"] in {f.code for f in fields}
                else forms.dom_id("material", e["field"])
            )
            if e.get("field") in known
            else "",
        }
        for e in errors
    ]
    return {
        "kind": kind,
        "code": code,
        "result": result,
        "answers": result.answers,
        "fields": fields,
        "materials": materials,
        "errors": summary,
        "general_errors": by_field.get("", []),
        "had_files": bool(post is not None and request.FILES),
        "idempotency_key": key,
        "delivery": delivery,
        "delivery_choices": forms.DELIVERY_CHOICES,
        "accept": forms.ACCEPT,
        "guide_url": _guide_page(kind, code, result.answers),
        "resumed": resumed,
        "enterprises": agent.choices,
        "enterprise_id": agent.enterprise.pk if agent.enterprise else None,
    }


@dataclass
class _Agent:
    """Which enterprise the applicant acts for (企业经办人): the choices they have and the one
    chosen. Only enterprise services offer the choice; 企业开办 may be applied for without one
    (it founds the enterprise)."""

    choices: list[dict[str, Any]]
    enterprise: Enterprise | None
    error: str = ""


def _agent(request: HttpRequest, kind: str, result: guide.GuideResult, raw: str | None) -> _Agent:
    definition = (
        bundle_definition(result.code, result.version)
        if kind == "bundle"
        else item_definition(result.code, result.version)
    )
    if definition.subject == "person":
        return _Agent([], None)
    choices = enterprises_for_agent(user=request.user)
    if not raw:
        return _Agent(choices, None)
    wanted = {str(e["id"]): e for e in choices}.get(str(raw).strip())
    if wanted is None:
        return _Agent(choices, None, "所选企业不在您可代办的企业之中，请重新选择")
    return _Agent(choices, Enterprise.objects.get(pk=wanted["id"]))


@login_required
@require_http_methods(["GET", "POST"])
def apply_view(request: HttpRequest, kind: str, code: str) -> HttpResponse:
    """一表申请. GET: the guide's answers in the query string (or a saved draft's) → one merged
    form. POST: 保存草稿 (draft_save) or 提交申请 (case_submit)."""
    if kind not in KINDS:
        raise Http404("未找到该事项")
    questions = _questions(kind, code)
    draft = selectors.draft_for(user=request.user, kind=kind, code=code)
    if request.method == "POST":
        answers = forms.answers_from_post(request.POST)
    else:
        answers = {q.code: request.GET[q.code] for q in questions if q.code in request.GET}
        if not answers and draft is not None:
            answers = dict(draft.answers)
        if not answers and questions:
            return redirect(_guide_page(kind, code, {}))
    try:
        result = _run_guide(request, kind, code, answers)
    except GuideAnswersInvalid:
        return redirect(_guide_page(kind, code, answers))
    except (BundleNotFound, ItemNotFound) as exc:
        raise Http404(exc.message) from exc

    source = request.POST if request.method == "POST" else request.GET
    agent = _agent(request, kind, result, source.get("enterprise"))
    if agent.enterprise is not None:
        # What the enterprise already holds (its 营业执照) spares materials too.
        result = _run_guide(request, kind, code, result.answers, agent.enterprise)
    if request.method == "GET":
        prefill = selectors.form_prefill(
            user=request.user,
            kind=kind,
            code=code,
            answers=result.answers,
            enterprise=agent.enterprise,
        )
        values = dict(prefill)
        resumed = None
        if draft is not None and draft.answers == result.answers:
            asked = {f.code for f in result.fields}
            values.update({k: v for k, v in draft.form_data.items() if k in asked and v != ""})
            resumed = draft.updated_at
        # The persons the values name (the mother is the applicant) decide whose certificates
        # spare their documents.
        result = _run_guide(request, kind, code, result.answers, agent.enterprise, values)
        context = _apply_context(
            request,
            kind=kind,
            code=code,
            result=result,
            values=values,
            errors=[],
            key=str(uuid.uuid4()),
            delivery="online",
            agent=agent,
            resumed=resumed,
        )
        if agent.error:
            context["errors"] = [{"message": agent.error, "href": "#enterprise-choice"}]
            return render(request, "cases/apply.html", context, status=422)
        return render(request, "cases/apply.html", context)

    typed = forms.typed_values_from_post(request.POST, result.fields)
    result = _run_guide(request, kind, code, result.answers, agent.enterprise, typed)
    key = request.POST.get("idempotency_key", "")
    delivery = request.POST.get("delivery", "online")

    def again(
        errors: list[dict[str, str]], status: int = 200, duplicates: list | None = None
    ) -> HttpResponse:
        context = _apply_context(
            request,
            kind=kind,
            code=code,
            result=result,
            values=typed,
            errors=errors,
            key=key or str(uuid.uuid4()),
            delivery=delivery,
            agent=agent,
            post=request.POST,
        )
        context["duplicates"] = duplicates or []
        if duplicates:  # the summary leads to the warning and its 仍然提交 choice
            context["errors"] = [{**e, "href": "#duplicate-warning"} for e in context["errors"]]
        return render(request, "cases/apply.html", context, status=status)

    if agent.error:
        return again([{"field": "", "message": agent.error}], status=422)

    if request.POST.get("action") == "draft":
        try:
            services.draft_save(
                applicant=request.user,
                kind=kind,
                code=code,
                answers=result.answers,
                form_data=typed,
            )
        except InvalidInput as exc:
            return again([{"field": "", "message": exc.message}])
        query = urlencode(result.answers)
        return redirect(f"/apply/{kind}/{code}/?{query}&saved=1")

    try:
        materials = forms.materials_from_post(
            request.POST,
            request.FILES,
            _material_rows(result, services.plan_from_guide(result), {}),
        )
    except forms.UploadsTooLarge as exc:
        return again(exc.details)
    try:
        case = services.case_submit(
            applicant=request.user,
            kind=kind,
            code=code,
            answers=result.answers,
            form_data=forms.form_data_from_post(request.POST, result.fields),
            materials=materials,
            idempotency_key=key,
            delivery=delivery,
            enterprise=agent.enterprise,
            acknowledge_duplicate=request.POST.get("acknowledge_duplicate") == "yes",
        )
    except CaseDuplicateOpen as exc:
        # 重复申请: the earlier case, linked, and an explicit 仍然提交 to go on.
        earlier = [
            {"receipt_no": d["receipt_no"], "receipt_display": receipt_display(d["receipt_no"])}
            for d in exc.details
        ]
        return again(
            [{"message": exc.message, "href": "#duplicate-warning"}], status=409, duplicates=earlier
        )
    except (CaseFormInvalid, CaseMaterialsInvalid, UploadRefused) as exc:
        return again(exc.details or [{"field": "", "message": exc.message}])
    except IdempotencyKeyReused:
        return again(
            [{"field": "", "message": "这份申请已经提交过。如需再次申请，请重新打开申请页面。"}],
            status=409,
        )
    except NotForApplicant as exc:
        return render(request, "portal/forbidden.html", {"message": exc.message}, status=403)
    except InvalidInput as exc:
        return again([{"field": "", "message": exc.message}])
    return redirect("cases:case", receipt_no=case.receipt_no)


# ---------------------------------------------------------------- the case page


def _who(event: dict[str, Any], detail: dict[str, Any], departments: dict[str, str]) -> str:
    """Who did it, in words: the applicant, the system, or a department's post (never a
    member of staff's name)."""
    actor = event["actor"]
    if actor == "system:auto":
        return "系统自动办理"
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
    field_labels = {f["code"]: f for f in plan.get("fields", [])}
    departments = {t["id"]: t["department_name"] for t in detail["tasks"]}
    item_names = {t["id"]: t["item_name"] for t in detail["tasks"]}
    events = [
        {
            **e,
            "who": _who(e, detail, departments),
            "what": ACTION_LABELS.get(e["action"], e["action"]),
            "item_name": item_names.get(e.get("task"), ""),
        }
        for e in reversed(detail["events"])
    ]
    supplement = detail["supplement"]
    supplement_view = None
    if supplement is not None and case.applicant_id == request.user.pk:
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
        supplement_view = {
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
    return {
        "case": detail,
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


def _outcome_label(outcome: str) -> str:
    from tongban.cases.models import CaseOutcome

    return dict(CaseOutcome.choices).get(outcome, "")


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
            services.case_supplement(
                applicant=request.user,
                receipt_no=context["case"]["receipt_no"],
                form_data=form_data,
                materials=materials,
            )
        except CaseNotFound as exc:
            raise Http404(exc.message) from exc
        except (CaseFormInvalid, CaseMaterialsInvalid, UploadRefused) as exc:
            errors = exc.details or [{"field": "", "message": exc.message}]
        except (CaseNotAcceptable, InvalidInput) as exc:
            errors = [{"field": "", "message": exc.message}]
        else:
            return redirect("cases:case", receipt_no=context["case"]["receipt_no"])
    by_field = forms.errors_by_field(errors)
    typed = forms.typed_values_from_post(request.POST, fields)
    for spec in fields:
        spec.value = typed.get(spec.code, "")
        spec.errors = by_field.get(spec.code, [])
    for m in supplement["material_rows"]:
        m["errors"] = by_field.get(m["code"], [])
    context["errors"] = _summary(errors, fields, supplement["material_rows"])
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
    return render(
        request, "cases/my_cases.html", {"page": page, "capped": len(rows) >= CASES_READ_LIMIT}
    )
