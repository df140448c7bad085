"""一表申请, step by step (一页一事): a task list, one short page per person or subject, then
申请材料 (worked out with what the earlier pages say), 送达方式, 核对信息 and the one submit,
then a confirmation. Everything typed and every file chosen is kept with the draft at each
step. Every rule lives in the services; this module only arranges the pages. Works without
JavaScript.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tongban.accounts.models import Enterprise
from tongban.accounts.selectors import enterprises_for_agent, resident_profile_of
from tongban.appointments.selectors.booking import case_bookings
from tongban.cases import forms, selectors, services, steps
from tongban.cases.errors import (
    CaseDuplicateOpen,
    CaseFormInvalid,
    CaseMaterialsInvalid,
    CaseNotFound,
    DraftNotFound,
    DraftUploadNotFound,
    IdempotencyKeyReused,
    NotForApplicant,
    UploadRefused,
)
from tongban.cases.models import CaseStatus, Draft, DraftUpload, MaterialHow
from tongban.cases.receipt import receipt_display
from tongban.catalog import guide
from tongban.catalog.errors import BundleNotFound, GuideAnswersInvalid, ItemNotFound
from tongban.catalog.selectors import bundle_definition, item_definition
from tongban.common.errors import InvalidInput
from tongban.delegation.errors import DelegationNotValid
from tongban.delegation.models import Delegation
from tongban.delegation.selectors import (
    delegation_for_acting,
    delegations_received,
    principal_profile_read,
)
from tongban.identity.errors import AssuranceTooLow

KINDS = ("bundle", "item")


def guide_page(kind: str, code: str, answers: dict[str, str]) -> str:
    query = urlencode({"answered": "1", **answers})
    base = f"/bundles/{code}/" if kind == "bundle" else f"/items/{code}/"
    return f"{base}?{query}#guide"


def _for(url: str, acting) -> str:
    """URL with 为谁办理 (?for=) kept, when the form is filled in for a relative."""
    return url.replace("?", f"?for={acting.pk}&", 1) if acting is not None else url


def _base(kind: str, code: str) -> str:
    return f"/apply/{kind}/{code}/"


def _questions(kind: str, code: str) -> list[guide.GuideQuestion]:
    try:
        if kind == "bundle":
            return guide.bundle_questions(code=code)
        return guide.item_questions(code=code)
    except (BundleNotFound, ItemNotFound) as exc:
        raise Http404(exc.message) from exc


def _run_guide(
    request, kind, code, answers, enterprise=None, form_values=None, profile=None
) -> guide.GuideResult:
    run = guide.guide_for_bundle if kind == "bundle" else guide.guide_for_item
    return run(
        code=code,
        answers=answers,
        # 亲友代办: PROFILE is the 被代办人 (the authorisation checked by _acting).
        applicant=profile or resident_profile_of(request.user),
        enterprise=enterprise,
        form_values=form_values,
    )


@dataclass
class _Agent:
    """Which enterprise the applicant acts for (企业经办人): the choices they have and the one
    chosen. Only enterprise services offer the choice; 企业开办 may be applied for without one
    (it founds the enterprise)."""

    choices: list[dict[str, Any]]
    enterprise: Enterprise | None
    error: str = ""


def _agent(request, kind: str, result: guide.GuideResult, raw: str | None, draft) -> _Agent:
    definition = (
        bundle_definition(result.code, result.version)
        if kind == "bundle"
        else item_definition(result.code, result.version)
    )
    if definition.subject == "person":
        return _Agent([], None)
    # Only the enterprises whose authority covers this service (企业授权范围).
    choices = [
        e
        for e in enterprises_for_agent(user=request.user)
        if not e["my_items"] or result.code in e["my_items"]
    ]
    if raw is None:  # not chosen on this request: what the draft holds, if still allowed
        held = draft.enterprise_id if draft is not None else None
        raw = str(held) if held else ""
        if raw and str(raw) not in {str(e["id"]) for e in choices}:
            raw = ""
    if not raw:
        return _Agent(choices, None)
    wanted = {str(e["id"]): e for e in choices}.get(str(raw).strip())
    if wanted is None:
        return _Agent(choices, None, "所选企业不在您可代办的企业之中，请重新选择")
    return _Agent(choices, Enterprise.objects.get(pk=wanted["id"]))


def _acting(request: HttpRequest, code: str, delegation_id) -> Delegation | None:
    """亲友代办: the authorisation the form is filled in under (None: for oneself), checked
    live and covering CODE on every request (DELEGATION_NOT_VALID otherwise). The 被代办人's
    profile is read once per request, and that read is logged for them."""
    if not delegation_id:
        return None
    cache = request.__dict__.setdefault("_tongban_acting", {})
    key = (str(delegation_id), code)
    if key not in cache:
        found = delegation_for_acting(user=request.user, delegation_id=delegation_id, code=code)
        principal_profile_read(
            user=request.user,
            delegation=found,
            code=code,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        cache[key] = found
    return cache[key]


def _refused_if_not_delegated(view):
    """A page asked under an authorisation that is revoked, expired or out of scope: 403,
    with the way back to applying for oneself."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, kind: str, code: str, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, kind, code, *args, **kwargs)
        except DelegationNotValid as exc:
            context = {"message": exc.message, "self_url": f"{_base(kind, code)}?for="}
            return render(request, "cases/apply/acting_refused.html", context, status=403)

    return wrapper


# ---------------------------------------------------------------- the form as it stands


@dataclass
class Flow:
    """One draft read through the guide: the steps with their state, the values (the
    applicant's records where nothing was typed), the materials with their files."""

    kind: str
    code: str
    draft: Draft
    agent: _Agent
    result: guide.GuideResult
    plan: dict[str, Any]
    prefill: dict[str, Any]
    values: dict[str, Any]
    steps: list[steps.Step]
    field_errors: dict[str, list[str]]
    material_errors: dict[str, list[str]]
    uploads: dict[str, list[DraftUpload]] = field(default_factory=dict)
    acting: Delegation | None = None  # 亲友代办: filled in for its 被代办人

    @property
    def base(self) -> str:
        return _base(self.kind, self.code)

    def step(self, slug: str) -> steps.Step | None:
        return next((s for s in self.steps if s.slug == slug), None)

    def url(self, step: steps.Step) -> str:
        return f"{self.base}step/{step.slug}/"

    def neighbours(self, slug: str) -> tuple[str, str]:
        """(back, next) URLs of a step: the task list before the first, 核对信息 after the
        last."""
        slugs = [s.slug for s in self.steps]
        n = slugs.index(slug)
        back = self.url(self.steps[n - 1]) if n > 0 else self.base
        ahead = self.url(self.steps[n + 1]) if n + 1 < len(slugs) else self.base + "check/"
        return back, ahead

    @property
    def errors(self) -> list[dict[str, str]]:
        return [e for s in self.steps for e in s.errors]

    def material_inputs(self) -> dict[str, services.MaterialInput]:
        """How the draft satisfies each material not spared: a way chosen (告知承诺, 容缺)
        wins; otherwise the files kept with it."""
        out: dict[str, services.MaterialInput] = {}
        for m in self.result.materials:
            if m.spared:
                continue
            how = self.draft.material_how.get(m.code, "")
            ids = tuple(u.pk for u in self.uploads.get(m.code, []))
            if how in (MaterialHow.COMMITMENT, MaterialHow.DEFERRED) or (
                # 平台稍后核验 only while the source is still down; back up, it spares or not.
                how == MaterialHow.SOURCE_RETRY and m.unavailable_source_code
            ):
                out[m.code] = services.MaterialInput(how=how)
            elif ids:
                out[m.code] = services.MaterialInput(how=MaterialHow.UPLOAD, draft_uploads=ids)
        return out

    def form_data(self) -> dict[str, Any]:
        return forms.form_data_from_values(self.values, self.result.fields)


def _flow(request: HttpRequest, kind: str, code: str, draft: Draft, raw_enterprise=None) -> Flow:
    acting = _acting(request, code, draft.delegation_id)
    principal = acting.principal if acting else None
    agent_probe = _run_guide(request, kind, code, draft.answers, profile=principal)
    agent = _agent(request, kind, agent_probe, raw_enterprise, draft)
    first = _run_guide(
        request, kind, code, agent_probe.answers, agent.enterprise, profile=principal
    )
    prefill = selectors.form_prefill(
        user=request.user,
        kind=kind,
        code=code,
        answers=first.answers,
        enterprise=agent.enterprise,
        for_profile=principal,
    )
    typed = draft.form_data
    values = {**prefill, **typed}
    # The persons the values name (the mother is the applicant) decide whose certificates
    # spare their documents.
    result = _run_guide(request, kind, code, first.answers, agent.enterprise, values, principal)
    asked = [f.code for f in result.fields]
    values = {c: values.get(c, "") for c in asked}
    plan = services.plan_from_guide(result)
    uploads: dict[str, list[DraftUpload]] = {}
    for u in selectors.draft_uploads_for(draft=draft):
        uploads.setdefault(u.material_code, []).append(u)
    flow = Flow(
        kind=kind,
        code=code,
        draft=draft,
        agent=agent,
        result=result,
        plan=plan,
        prefill=prefill,
        values=values,
        steps=steps.steps_for(result.fields, has_materials=bool(result.materials)),
        field_errors={},
        material_errors={},
        uploads=uploads,
        acting=acting,
    )
    try:
        services.form_validate(plan, flow.form_data())
        field_details: list[dict[str, str]] = []
    except CaseFormInvalid as exc:
        field_details = list(exc.details)
    material_details = services.materials_check(plan, flow.material_inputs())
    flow.field_errors = forms.errors_by_field(field_details)
    flow.material_errors = forms.errors_by_field(material_details)
    seen = set(draft.steps_seen)
    for s in flow.steps:
        href = flow.url(s)
        if s.slug == steps.MATERIALS:
            s.errors = [
                {"message": e["message"], "href": f"{href}#{forms.dom_id('material', e['field'])}"}
                if e.get("field")
                else {"message": e["message"], "href": href}
                for e in material_details
            ]
        else:
            codes = {f.code for f in s.fields}
            s.errors = [
                {"message": e["message"], "href": f"{href}#{forms.dom_id('field', e['field'])}"}
                for e in field_details
                if e.get("field") in codes
            ]
        if s.slug == steps.DELIVERY and not draft.delivery:
            s.errors.insert(
                0, {"message": "请选择办理结果的送达方式", "href": f"{href}#delivery-choice"}
            )
        s.state = "todo" if s.slug not in seen else ("error" if s.errors else "done")
    return flow


def _material_rows(flow: Flow) -> list[dict[str, Any]]:
    """Each material with what the applicant may do about it: nothing (an earlier item of
    this 一件事 produces it, or it is spared, and why), 告知承诺 (with the text they sign),
    容缺 (later), or upload — with the files already kept for it."""
    by_code = {m["code"]: m for m in flow.plan["materials"]}
    rows = []
    for m in flow.result.materials:
        planned = by_code[m.code]
        how = flow.draft.material_how.get(m.code, "")
        files = [
            {"id": u.pk, "name": u.original_name, "size": steps.size_text(u.size)}
            for u in flow.uploads.get(m.code, [])
        ]
        deferrable_days = services.deferrable_days_for(flow.plan["items"], m.code)
        if m.produced_by:
            state = m.spared_reason
        elif m.spared:
            state = f"免交：{m.spared_reason}"
        elif how == MaterialHow.COMMITMENT:
            state = f"告知承诺：{planned['commitment']}"
        elif how == MaterialHow.DEFERRED:
            state = f"容缺：受理后 {deferrable_days} 个工作日内补交"
        elif how == MaterialHow.SOURCE_RETRY and m.unavailable_source:
            state = f"由平台在审核前再次核验（{m.unavailable_source}）"
        elif files:
            state = "已上传 " + "、".join(f"{f['name']}（{f['size']}）" for f in files)
        elif m.required:
            state = "未提交"
        else:
            state = "未提交（非必需）"
        rows.append(
            {
                "code": m.code,
                "name": m.name,
                "required": m.required,
                "note": m.note,
                "item_names": m.item_names,
                "spared": m.spared,
                "spared_reason": m.spared_reason,
                "produced_by_name": m.produced_by_name,
                "about_label": m.about_label,
                "identify_by": m.identify_by,
                "waivers": [w.text for w in m.waivers if w.kind != "commitment"],
                "commitment": planned["commitment"],
                "deferrable_days": deferrable_days,
                # 公安人口库暂时无法核验: upload, or let the platform check again before review.
                "unavailable_source": m.unavailable_source,
                "how": how,
                "files": files,
                "state": state,
                "id": forms.dom_id("material", m.code),
                "errors": flow.material_errors.get(m.code, []),
            }
        )
    return rows


def _progress(flow: Flow, current: str = "") -> dict[str, Any]:
    n = next((i for i, s in enumerate(flow.steps) if s.slug == current), -1)
    return {
        "flow": flow,
        "result": flow.result,
        "kind": flow.kind,
        "code": flow.code,
        "base": flow.base,
        "all_steps": [
            {"slug": s.slug, "title": s.title, "state": s.state, "state_label": s.state_label}
            | {"url": flow.url(s), "current": s.slug == current}
            for s in flow.steps
        ],
        "step_number": n + 1,
        "step_count": len(flow.steps) + 1,  # and 核对信息
        "guide_url": _for(guide_page(flow.kind, flow.code, flow.result.answers), flow.acting),
        "enterprise_name": flow.agent.enterprise.name if flow.agent.enterprise else "",
        "acting_for_name": flow.acting.principal.name if flow.acting else "",
    }


def _draft_or_start(request: HttpRequest, kind: str, code: str) -> Draft | None:
    if kind not in KINDS:
        raise Http404("未找到该事项")
    _questions(kind, code)  # 404 for an unknown service
    return selectors.draft_for(user=request.user, kind=kind, code=code)


def _save(flow: Flow, request: HttpRequest, **changes) -> Draft:
    draft = flow.draft
    return services.draft_save(
        applicant=request.user,
        kind=flow.kind,
        code=flow.code,
        answers=draft.answers,
        form_data=changes.pop("form_data", draft.form_data),
        **changes,
    )


# ---------------------------------------------------------------- task list


@login_required
@require_http_methods(["GET"])
@_refused_if_not_delegated
def apply_view(request: HttpRequest, kind: str, code: str) -> HttpResponse:
    """The start of 一表申请 and its task list. The guide's answers in the query string (or
    a saved draft's) start or resume the draft; each step's state is shown."""
    if kind not in KINDS:
        raise Http404("未找到该事项")
    questions = _questions(kind, code)
    draft = selectors.draft_for(user=request.user, kind=kind, code=code)
    answers = {q.code: request.GET[q.code] for q in questions if q.code in request.GET}
    resumed = None
    if not answers and draft is not None:
        answers = dict(draft.answers)
    # 为谁办理: ?for=<authorisation> acts for a relative, ?for= (empty) for oneself; without
    # it the draft's choice stands (checked again, like everything the draft holds).
    raw_for = request.GET.get("for")
    acting = _acting(
        request, code, raw_for if raw_for is not None else getattr(draft, "delegation_id", None)
    )
    if not answers and questions:
        # The guide asks first; whom it is for travels with it.
        page = _for(guide_page(kind, code, {}), acting)
        return redirect(page)
    try:
        result = _run_guide(
            request, kind, code, answers, profile=acting.principal if acting else None
        )
    except GuideAnswersInvalid:
        return redirect(guide_page(kind, code, answers))
    except (BundleNotFound, ItemNotFound) as exc:
        raise Http404(exc.message) from exc
    agent = _agent(request, kind, result, request.GET.get("enterprise"), draft)
    if agent.error:
        context = {
            "result": result,
            "kind": kind,
            "code": code,
            "agent": agent,
            "flow": None,
            "guide_url": guide_page(kind, code, result.answers),
            "errors": [{"message": agent.error, "href": "#enterprise-select"}],
        }
        return render(request, "cases/apply/tasks.html", context, status=422)
    if draft is not None and draft.answers == result.answers:
        resumed = draft.updated_at if not request.GET.get("saved") else None
    wants_enterprise = "enterprise" in request.GET
    switched = draft is not None and draft.delegation_id != getattr(acting, "pk", None)
    if (
        draft is None
        or draft.answers != result.answers
        or (wants_enterprise and draft.enterprise_id != getattr(agent.enterprise, "pk", None))
        or switched
    ):
        form_data = draft.form_data if draft is not None else {}
        if switched:
            # Another person: nothing typed or prefilled for one may land in the other's case.
            form_data = {}
        if draft is not None and draft.enterprise_id != getattr(agent.enterprise, "pk", None):
            # Another enterprise: what the former one's 一企一档 filled in goes, so the new
            # one's record fills the form (what was typed over it stays).
            former = selectors.form_prefill(
                user=request.user,
                kind=kind,
                code=code,
                answers=draft.answers,
                enterprise=draft.enterprise,
            )
            form_data = {k: v for k, v in form_data.items() if former.get(k, object()) != v}
        draft = services.draft_save(
            applicant=request.user,
            kind=kind,
            code=code,
            answers=result.answers,
            form_data=form_data,
            enterprise=agent.enterprise,
            delegation=acting,
        )
    flow = _flow(request, kind, code, draft)
    first_open = next((s for s in flow.steps if s.state != "done"), None)
    context = {
        **_progress(flow),
        "agent": flow.agent,
        "errors": [],
        "resumed": resumed,
        "start_url": flow.url(first_open) if first_open else flow.base + "check/",
        "started": bool(draft.steps_seen),
        "all_done": all(s.state == "done" for s in flow.steps),
        "principals": delegations_received(user=request.user, live_only=True),
    }
    return render(request, "cases/apply/tasks.html", context)


# ---------------------------------------------------------------- one step


def _field_specs(flow: Flow, step: steps.Step, errors: dict[str, list[str]]):
    return forms.field_specs(step.fields, values=flow.values, prefill=flow.prefill, errors=errors)


def _render_step(request, flow: Flow, step: steps.Step, *, show_errors: bool, extra=()):
    back, _ahead = flow.neighbours(step.slug)
    from_check = request.GET.get("from") == "check"
    errors = list(extra) + (step.errors if show_errors else [])
    # On its own page an error links to the field itself.
    summary = [{"message": e["message"], "href": "#" + e["href"].split("#", 1)[-1]} for e in errors]
    context = {
        **_progress(flow, step.slug),
        "step": step,
        "errors": summary,
        "back_url": flow.base + "check/" if from_check else back,
        "from_check": from_check,
        "status_message": {
            "uploaded": "文件已保存。",
            "removed": "文件已删除。",
        }.get(request.GET.get("done", ""), ""),
    }
    field_errors = flow.field_errors if show_errors else {}
    if step.slug == steps.MATERIALS:
        rows = _material_rows(flow)
        if not show_errors:
            for r in rows:
                r["errors"] = []
        for e in extra:
            code = e.get("field", "")
            for r in rows:
                if r["code"] == code:
                    r["errors"] = [*r["errors"], e["message"]]
        context.update(
            materials=rows,
            to_give=[r for r in rows if not r["spared"]],
            spared=[r for r in rows if r["spared"]],
            accept=forms.ACCEPT,
        )
        template = "cases/apply/step_materials.html"
    elif step.slug == steps.DELIVERY:
        context.update(
            fields=_field_specs(flow, step, field_errors),
            delivery=flow.draft.delivery,
            delivery_choices=forms.DELIVERY_CHOICES,
            delivery_error=show_errors and not flow.draft.delivery,
        )
        template = "cases/apply/step_delivery.html"
    else:
        specs = {f.code: f for f in _field_specs(flow, step, field_errors)}
        context.update(
            fields=list(specs.values()),
            sections=[
                {"legend": legend, "fields": [specs[f.code] for f in fs]}
                for legend, fs in step.sections()
            ],
            produced=[p for p in flow.result.produced if steps.step_of(p.code)[0] == step.slug],
        )
        template = "cases/apply/step_fields.html"
    return render(request, template, context)


def _material_uploads(request, flow: Flow) -> list[dict[str, str]]:
    """Keep the files chosen on the 申请材料 page with the draft; what cannot be kept is
    named (the rest is kept)."""
    refused: list[dict[str, str]] = []
    for m in flow.result.materials:
        if m.spared:
            continue
        uploads = []
        for f in request.FILES.getlist(forms.FILE_PREFIX + m.code):
            if f.size > services.MAX_UPLOAD_BYTES:
                refused.append(
                    {"field": m.code, "message": f"文件“{f.name[:60]}”超过10MB，请压缩后上传"}
                )
                continue
            uploads.append(services.Upload(name=f.name or "", content=f.read()))
        if uploads:
            kept = services.draft_upload_add(
                applicant=request.user,
                kind=flow.kind,
                code=flow.code,
                material_code=m.code,
                files=uploads,
            )
            refused += [{**r, "href": "#" + forms.dom_id("material", m.code)} for r in kept.refused]
    for r in refused:
        r.setdefault("href", "#" + forms.dom_id("material", r["field"]))
    return refused


@login_required
@require_http_methods(["GET", "POST"])
@_refused_if_not_delegated
def step_view(request: HttpRequest, kind: str, code: str, slug: str) -> HttpResponse:
    """One step. POST keeps what was given with the draft (always), then shows the step
    again with its problems, or goes on to the next step (or back to 核对信息)."""
    draft = _draft_or_start(request, kind, code)
    if draft is None:
        return redirect(_base(kind, code))
    try:
        flow = _flow(request, kind, code, draft)
    except GuideAnswersInvalid:
        return redirect(guide_page(kind, code, draft.answers))
    step = flow.step(slug)
    if step is None:
        raise Http404("未找到该步骤")
    if request.method == "GET":
        return _render_step(request, flow, step, show_errors=slug in draft.steps_seen)

    action = request.POST.get("action", "next")
    seen = [*draft.steps_seen, slug]
    refused: list[dict[str, str]] = []
    try:
        if slug == steps.MATERIALS:
            how = dict(draft.material_how)
            for m in flow.result.materials:
                chosen = request.POST.get(forms.HOW_PREFIX + m.code)
                if not m.spared and (
                    chosen in ("upload", "commitment", "deferred")
                    or (chosen == MaterialHow.SOURCE_RETRY and m.unavailable_source_code)
                ):
                    how[m.code] = chosen
            if request.POST.get("remove"):
                services.draft_upload_remove(
                    applicant=request.user, upload_id=request.POST["remove"]
                )
                _save(flow, request, material_how=how, steps_seen=seen)
                return redirect(f"{flow.url(step)}?{_keep_from(request)}done=removed#materials")
            refused = _material_uploads(request, flow)
            _save(flow, request, material_how=how, steps_seen=seen)
            if action == "upload" and not refused:
                return redirect(f"{flow.url(step)}?{_keep_from(request)}done=uploaded#materials")
        else:
            typed = forms.typed_values_from_post(request.POST, step.fields)
            changes: dict[str, Any] = {
                "form_data": {**flow.values, **typed},
                "steps_seen": seen,
            }
            if slug == steps.DELIVERY:
                changes["delivery"] = (
                    request.POST.get("delivery", "")
                    if request.POST.get("delivery", "") in dict(forms.DELIVERY_CHOICES)
                    else ""
                )
            _save(flow, request, **changes)
    except DraftUploadNotFound as exc:
        raise Http404(exc.message) from exc
    except DraftNotFound:
        return redirect(_base(kind, code))
    except InvalidInput as exc:
        flow = _flow(
            request, kind, code, selectors.draft_for(user=request.user, kind=kind, code=code)
        )
        return _render_step(
            request,
            flow,
            flow.step(slug),
            show_errors=True,
            extra=[{"field": "", "message": exc.message, "href": "#main"}],
        )
    if action == "save":
        return redirect(f"{_base(kind, code)}?saved=1")
    draft = selectors.draft_for(user=request.user, kind=kind, code=code)
    flow = _flow(request, kind, code, draft)
    step = flow.step(slug)
    if step is None:  # the answers no longer ask for it
        return redirect(flow.base)
    if refused or step.errors:
        return _render_step(request, flow, step, show_errors=True, extra=refused)
    if request.GET.get("from") == "check":
        return redirect(flow.base + "check/")
    return redirect(flow.neighbours(slug)[1])


def _keep_from(request: HttpRequest) -> str:
    return "from=check&" if request.GET.get("from") == "check" else ""


# ---------------------------------------------------------------- 核对信息 and submit


def _check_context(request: HttpRequest, flow: Flow) -> dict[str, Any]:
    result = flow.result
    situations = []
    for q in result.questions:
        if q.code not in result.answers:
            continue
        label = next((o.label for o in q.options if o.value == result.answers[q.code]), "")
        situations.append({"question": q.question, "answer": label or result.answers[q.code]})
    groups = []
    for s in flow.steps:
        if s.slug == steps.MATERIALS:
            continue
        rows = [
            {
                "label": f.label,
                "value": steps.display_value(f, flow.values.get(f.code, "")),
                "supplied_by": f.supplied_by,
            }
            for _legend, fs in s.sections()
            for f in fs
        ]
        if s.slug == steps.DELIVERY:
            rows.insert(
                0,
                {"label": "送达方式", "value": steps.delivery_label(flow.draft.delivery)},
            )
        groups.append(
            {
                "slug": s.slug,
                "title": s.title,
                "rows": rows,
                "change_url": f"{flow.url(s)}?from=check",
                "has_errors": bool(s.errors),
            }
        )
    materials_step = flow.step(steps.MATERIALS)
    return {
        **_progress(flow, "check"),
        "situations": situations,
        "groups": groups,
        "materials": _material_rows(flow) if materials_step else [],
        "materials_change_url": f"{flow.url(materials_step)}?from=check" if materials_step else "",
        "errors": _check_errors(flow),
        "idempotency_key": flow.draft.idempotency_key,
        "agent": flow.agent,
        "step_number": len(flow.steps) + 1,
    }


def _check_errors(flow: Flow) -> list[dict[str, str]]:
    """What stands between the check page and the submit: a step not yet opened is one line
    (请完成「…」), a step opened with problems lists each, linked to its field."""
    out: list[dict[str, str]] = []
    for s in flow.steps:
        if not s.errors:
            continue
        if s.state == "todo":
            out.append({"message": f"请完成「{s.title}」", "href": flow.url(s)})
        else:
            out += s.errors
    return out


@login_required
@require_http_methods(["GET", "POST"])
@_refused_if_not_delegated
def check_view(request: HttpRequest, kind: str, code: str) -> HttpResponse:
    """核对信息: every answer, field, material and the delivery, each with 修改; the only
    place 提交申请 is pressed. A second press of the same page shows the same case."""
    if request.method == "POST":
        done = selectors.case_receipt_for_key(
            user=request.user, idempotency_key=request.POST.get("idempotency_key", "")
        ) or selectors.case_receipt_acted_for_key(
            user=request.user, idempotency_key=request.POST.get("idempotency_key", "")
        )
        if done is not None:
            return redirect("cases:submitted", receipt_no=done)
    draft = _draft_or_start(request, kind, code)
    if draft is None:
        return redirect(_base(kind, code))
    try:
        flow = _flow(request, kind, code, draft)
    except GuideAnswersInvalid:
        return redirect(guide_page(kind, code, draft.answers))
    if request.method == "GET":
        return render(request, "cases/apply.html", _check_context(request, flow))

    if _check_errors(flow):
        context = _check_context(request, flow)
        return render(request, "cases/apply.html", context, status=200)
    try:
        case = services.case_submit(
            applicant=request.user,
            kind=kind,
            code=code,
            answers=flow.result.answers,
            form_data=flow.form_data(),
            materials=flow.material_inputs(),
            idempotency_key=draft.idempotency_key,
            delivery=draft.delivery,
            enterprise=flow.agent.enterprise,
            acknowledge_duplicate=request.POST.get("acknowledge_duplicate") == "yes",
            on_behalf=flow.acting,
        )
    except CaseDuplicateOpen as exc:
        # 重复申请: shown on the check page with the earlier case and an explicit choice.
        context = _check_context(request, flow)
        context["duplicates"] = [
            {"receipt_no": d["receipt_no"], "receipt_display": receipt_display(d["receipt_no"])}
            for d in exc.details or []
            if d.get("receipt_no")
        ]
        context["errors"] = []
        return render(request, "cases/apply.html", context, status=409)
    except (CaseFormInvalid, CaseMaterialsInvalid, UploadRefused, InvalidInput) as exc:
        context = _check_context(request, flow)
        context["errors"] = [
            {"message": d.get("message", ""), "href": ""}
            for d in (exc.details or [{"message": exc.message}])
        ]
        return render(request, "cases/apply.html", context)
    except AssuranceTooLow as exc:
        # 身份核验等级: said on the check page, with how to reach the level; nothing was saved.
        context = _check_context(request, flow)
        context["errors"] = [{"message": exc.message, "href": ""}]
        return render(request, "cases/apply.html", context, status=exc.http_status)
    except IdempotencyKeyReused:
        context = _check_context(request, flow)
        context["errors"] = [
            {"message": "这份申请已经提交过。如需再次申请，请重新打开申请页面。", "href": ""}
        ]
        return render(request, "cases/apply.html", context, status=409)
    except NotForApplicant as exc:
        return render(request, "portal/forbidden.html", {"message": exc.message}, status=403)
    except DraftUploadNotFound as exc:
        raise Http404(exc.message) from exc
    return redirect("cases:submitted", receipt_no=case.receipt_no)


# ---------------------------------------------------------------- confirmation


@login_required
@require_http_methods(["GET"])
def submitted_view(request: HttpRequest, receipt_no: str) -> HttpResponse:
    """申请已提交: the 受理编号 to read aloud, what happens next and by when."""
    try:
        case = selectors.case_for(user=request.user, receipt_no=receipt_no)
    except CaseNotFound as exc:
        raise Http404(exc.message) from exc
    if case.applicant_id != request.user.pk and case.acted_by_id != request.user.pk:
        raise Http404("未找到该办件")
    plan = case.plan
    deferred = list(
        case.materials.filter(how=MaterialHow.DEFERRED).values_list("material_code", flat=True)
    )
    names = {m["code"]: m["name"] for m in plan.get("materials", [])}
    context = {
        "case": case,
        "receipt": receipt_display(case.receipt_no),
        "accepted": case.status == CaseStatus.ACCEPTED,
        "status_label": dict(CaseStatus.choices).get(case.status, ""),
        "promised_days": plan.get("promised_days", 0),
        "items": [i["name"] for i in plan.get("items", [])],
        "deferred": [names.get(c, c) for c in deferred],
        "delivery_label": steps.delivery_label(case.delivery),
        "lead_department": case.lead_department.name,
        "concluded": case.status in (CaseStatus.CONCLUDED, CaseStatus.ARCHIVED),
        # 婚姻登记预约, 银行开户预约: the place booked with the case, to come at that time.
        "bookings": case_bookings(case=case),
    }
    return render(request, "cases/apply/submitted.html", context)
