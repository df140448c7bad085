"""Staff pages: intake (一口受理), the department workbench (一网办理), the counter (综合窗口帮办).

Thin, like the API: parse a form, call the same service or selector, choose a template. Who
may do what is decided by the services and selectors; a refusal there is a 403 or 404 here
and nothing has changed. Everything works without JavaScript (plain forms, POST-redirect-GET).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.accounts.models import ResidentProfile, StaffRole
from tongban.accounts.selectors import (
    is_staff_member,
    resident_profile_by_id_number,
    resident_profile_for_work,
    staff_roles_of,
)
from tongban.accounts.services import account_activation_issue
from tongban.appointments.selectors.queue import clerk_halls, clerk_window, counter_visit_for
from tongban.appointments.services.queue import resident_identify
from tongban.cases import forms as applicant_forms
from tongban.cases import selectors, services
from tongban.cases.errors import CaseNotFound
from tongban.cases.forms_staff import (
    OVERDUE_FILTER,
    DecisionForm,
    HandOutForm,
    ReasonForm,
    RefuseForm,
    ResidentLookupForm,
    ResidentRegisterForm,
    RowVersionForm,
    SupplementForm,
    TaskFilterForm,
    TaskSupplementForm,
)
from tongban.cases.models import MaterialHow, TaskStatus
from tongban.cases.receipt import receipt_display
from tongban.catalog import guide as catalog_guide
from tongban.catalog.errors import BundleNotFound, GuideAnswersInvalid, ItemNotFound
from tongban.catalog.selectors import bundle_list, item_definition, item_list
from tongban.common.errors import Conflict, DomainError, InvalidInput, NotFound
from tongban.policies import selectors as policy_selectors

PAGE_SIZE = 20
COUNTER_RESIDENT_KEY = "tongban_counter_resident"
CONFLICT_MESSAGE = "该任务已被他人处理，请刷新"
HOW_LABELS = dict(MaterialHow.choices)
EVENT_LABELS = {
    "submitted": "提交申请",
    "accepted": "受理",
    "accepted_auto": "系统自动受理",
    "granted_automatically": "免申即享：数据比对符合条件",
    "accepted_deferred": "容缺受理",
    "refused": "不予受理",
    "supplement_requested": "要求补正",
    "supplemented": "申请人已补正",
    "deferred_material_submitted": "容缺材料已补交",
    "task_released": "分送部门办理",
    "task_claimed": "审核人员认领",
    "task_approved": "审核通过",
    "task_denied": "审核不通过",
    "task_overdue": "任务超期",
    "supplement_reminder": "提醒申请人补正",
    "supplement_expired": "逾期未补正",
    "deferred_material_overdue": "容缺材料逾期",
    "concluded": "办结",
    "handed_out": "出件",
    "archived": "归档",
    "assistance_requested": "发起行政协助",
    "assistance_answered": "收到行政协助答复",
    "assistance_withdrawn": "撤回行政协助",
    "assistance_overdue": "行政协助逾期未答复",
}
ACTOR_LABELS = {
    "staff": "工作人员",
    "user": "申请人",
    "system:policies": "免申即享（系统自动核定）",
}


def _timeline(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **e,
            "label": EVENT_LABELS.get(e["action"], e["action"]),
            "actor_label": ACTOR_LABELS.get(e["actor"], "系统"),
        }
        for e in events
    ]


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"message": message}, status=403)


def staff_page(view):
    """Anonymous → login; a resident (no 岗位) → 403. Finer rules are the selectors'."""

    @functools.wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_staff_member(request.user):
            return _forbidden(request, "此页面仅限工作人员使用。")
        return view(request, *args, **kwargs)

    return wrapper


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _error_text(exc: DomainError) -> list[str]:
    return [exc.message, *[d.get("message", "") for d in exc.details if d.get("message")]]


# ---------------------------------------------------------------- 一口受理


@require_GET
@staff_page
def intake_queue_view(request: HttpRequest) -> HttpResponse:
    if not selectors.may_open_intake(request.user):
        if _is_clerk(request):
            return _forbidden(request, "您的综合窗口岗位尚未指定所在大厅，请联系管理员。")
        return _forbidden(request, "受理队列仅限牵头部门受理人员和综合窗口人员使用。")
    rows = selectors.intake_queue(user=request.user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    halls, departments = selectors.intake_roles(request.user)
    context = {"page": page, "clerk": bool(halls), "departments": bool(departments)}
    return render(request, "cases/staff/intake_queue.html", context)


def _intake_page(
    request: HttpRequest,
    receipt_no: str,
    *,
    accept_form: ReasonForm | None = None,
    refuse_form: RefuseForm | None = None,
    supplement_form: SupplementForm | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        view = selectors.case_intake_view(
            user=request.user, receipt_no=receipt_no, ip_address=_ip(request)
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {
        "case": view,
        "timeline": _timeline(view["events"]),
        "accept_form": accept_form or ReasonForm(),
        "refuse_form": refuse_form or RefuseForm(),
        "supplement_form": supplement_form or _intake_supplement_form(view["plan"]),
        "errors": errors or [],
        "review_history": selectors.intake_review_history(
            kind=view["kind"], code=view["code"], names=_plan_names(view["plan"])
        ),
    }
    return render(request, "cases/staff/intake_case.html", context, status=status)


def _plan_names(plan: dict[str, Any]) -> dict[str, str]:
    names = {m["code"]: m["name"] for m in plan.get("materials", [])}
    return names | {f["code"]: f["label"] for f in plan.get("fields", [])}


def _intake_supplement_form(plan: dict[str, Any], data=None) -> SupplementForm:
    """Choices are the case's own materials and fields, as pinned in its plan."""
    return SupplementForm(
        data,
        materials={m["code"]: m["name"] for m in plan.get("materials", [])},
        fields={f["code"]: f["label"] for f in plan.get("fields", [])},
        prefix="supplement",
    )


def _case_or_404(request: HttpRequest, receipt_no: str):
    try:
        return selectors.case_for_intake(user=request.user, receipt_no=receipt_no)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_GET
@staff_page
def intake_case_view(request: HttpRequest, receipt_no: str) -> HttpResponse:
    return _intake_page(request, receipt_no)


@require_GET
@staff_page
def intake_material_view(request: HttpRequest, receipt_no: str, submission_id: int) -> HttpResponse:
    """Open an uploaded material of a case at intake (audited in the selector)."""
    try:
        submission = selectors.intake_material_file(
            user=request.user, receipt_no=receipt_no, submission_id=submission_id
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return _material_response(submission)


def _intake_action(request, receipt_no, call, *, forms: dict[str, Any], done: str) -> HttpResponse:
    case = _case_or_404(request, receipt_no)
    try:
        call(case.receipt_no)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except (InvalidInput, Conflict) as exc:
        return _intake_page(
            request, receipt_no, errors=_error_text(exc), status=exc.http_status, **forms
        )
    except DomainError as exc:
        return _forbidden(request, exc.message)
    messages.success(request, done)
    return redirect("cases_staff:intake_case", receipt_no=case.receipt_no)


@require_POST
@staff_page
def intake_accept_view(request: HttpRequest, receipt_no: str) -> HttpResponse:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        _case_or_404(request, receipt_no)
        return _intake_page(request, receipt_no, accept_form=form, status=422)
    return _intake_action(
        request,
        receipt_no,
        lambda number: services.case_accept(
            actor=request.user, receipt_no=number, reason=form.cleaned_data["reason"]
        ),
        forms={"accept_form": form},
        done="已受理，办件已分送各部门办理。",
    )


@require_POST
@staff_page
def intake_refuse_view(request: HttpRequest, receipt_no: str) -> HttpResponse:
    form = RefuseForm(request.POST)
    if not form.is_valid():
        _case_or_404(request, receipt_no)
        return _intake_page(request, receipt_no, refuse_form=form, status=422)
    if request.POST.get("confirmed") != "yes":
        # 不予受理 ends the application: a second page shows the reason the applicant will
        # read and asks to confirm; nothing has changed until it is confirmed.
        case = _case_or_404(request, receipt_no)
        context = {"case": case, "receipt_display": receipt_display(case.receipt_no), "form": form}
        return render(request, "cases/staff/intake_refuse_confirm.html", context)
    return _intake_action(
        request,
        receipt_no,
        lambda number: services.case_refuse_intake(
            actor=request.user, receipt_no=number, reason=form.cleaned_data["reason"]
        ),
        forms={"refuse_form": form},
        done="已作出不予受理决定，申请人将收到通知。",
    )


@require_POST
@staff_page
def intake_supplement_view(request: HttpRequest, receipt_no: str) -> HttpResponse:
    case = _case_or_404(request, receipt_no)
    form = _intake_supplement_form(case.plan, request.POST)
    if not form.is_valid():
        return _intake_page(request, receipt_no, supplement_form=form, status=422)
    data = form.cleaned_data
    return _intake_action(
        request,
        receipt_no,
        lambda number: services.case_request_supplement(
            actor=request.user,
            receipt_no=number,
            material_codes=data["materials"],
            field_codes=data["fields"],
            reason=data["reason"],
            deadline=data["deadline"],
        ),
        forms={"supplement_form": form},
        done="已发出补正通知。",
    )


# ---------------------------------------------------------------- 一网办理


def _reviewer_items(request: HttpRequest) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for department in selectors.workbench_department_codes(request.user):
        items += [(i.code, f"{i.name}（{i.code}）") for i in item_list(department=department)]
    return items


@require_GET
@staff_page
def tasks_view(request: HttpRequest) -> HttpResponse:
    # A 部门负责人 reads the queue (rows they cannot work are not links); reviewers work it.
    if not selectors.may_open_workbench(request.user):
        return _forbidden(request, "任务队列仅限部门审核人员和部门负责人使用。")
    form = TaskFilterForm(request.GET or None, items=_reviewer_items(request))
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    if filters.get("status") == OVERDUE_FILTER:
        del filters["status"]
        filters["overdue"] = True
    tasks = selectors.workbench_tasks(user=request.user, **filters)
    today = timezone.localdate()
    for t in tasks:
        t["overdue"] = bool(
            t["due_date"] and t["due_date"] < today and t["status"] not in ("approved", "denied")
        )
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "today": today,
        "limit": selectors.WORKBENCH_LIMIT,
    }
    return render(request, "cases/staff/tasks.html", context)


def _task_page(
    request: HttpRequest,
    task_id: int,
    *,
    decision_form: DecisionForm | None = None,
    supplement_form: TaskSupplementForm | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        task = selectors.task_view_for_reviewer(user=request.user, task_id=task_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    for m in task["materials"]:
        m["how_label"] = HOW_LABELS.get(m["how"], m["how"])
    is_open = task["status"] in (TaskStatus.PENDING, TaskStatus.CLAIMED)
    mine = task["status"] == TaskStatus.PENDING or task["claimed_by_me"]
    detail = selectors.case_detail(user=request.user, receipt_no=task["receipt_no"])
    # Case-level steps and this task's own; other departments' work is theirs.
    timeline = _timeline([e for e in detail["events"] if e["task"] in (None, task["id"])])
    today = timezone.localdate()
    initial = {"row_version": task["row_version"]}
    offered = {f"produced.{p['code']}": p["suggested"] for p in task["produces"] if p["suggested"]}
    context = {
        "task": task,
        "case_status": detail["status_label"],
        "timeline": timeline,
        "overdue": bool(is_open and task["due_date"] and task["due_date"] < today),
        "can_claim": task["status"] == TaskStatus.PENDING,
        "can_decide": is_open and mine,
        "claimed_by_other": task["status"] == TaskStatus.CLAIMED and not task["claimed_by_me"],
        "claim_form": RowVersionForm(initial=initial),
        "decision_form": decision_form
        or DecisionForm(initial={**initial, **offered}, produces=task["produces"]),
        "supplement_form": supplement_form or _task_supplement_form(task, None, initial=initial),
        "errors": errors or [],
        # 政策找人: why the applicant does (not) qualify for the policies of this item.
        "policy_explanations": policy_selectors.explanations_for_task(
            viewer=request.user, task_id=task["id"]
        ),
        # 窗口智能辅助: what this department refused and asked to supplement for the item.
        "review_history": selectors.task_review_history(user=request.user, task_id=task["id"]),
    }
    return render(request, "cases/staff/task.html", context, status=status)


def _task_supplement_form(task: dict[str, Any], data, **kwargs) -> TaskSupplementForm:
    return TaskSupplementForm(
        data,
        materials=task["material_names"],
        fields=task["field_labels"],
        prefix="supplement",
        **kwargs,
    )


@require_GET
@staff_page
def task_view(request: HttpRequest, task_id: int) -> HttpResponse:
    return _task_page(request, task_id)


@require_GET
@staff_page
def task_material_view(request: HttpRequest, task_id: int, submission_id: int) -> HttpResponse:
    """Open an uploaded material of the reviewer's own task (audited in the selector)."""
    try:
        submission = selectors.task_material_file(
            user=request.user, task_id=task_id, submission_id=submission_id
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return _material_response(submission)


def _material_response(submission) -> FileResponse:
    """An uploaded file as staff open it, from the intake page or a task page."""
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        submission.content_type, "bin"
    )
    response = FileResponse(
        submission.file.open("rb"),
        content_type=submission.content_type or "application/octet-stream",
        filename=f"{submission.material_code}.{extension}",
    )
    # Uploads were checked by their bytes on the way in; still, show them sandboxed, never
    # cached by a shared machine's browser or a proxy.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response["Cache-Control"] = "private, no-store"
    return response


def _task_action(request, task_id, call, *, forms: dict[str, Any], done: str) -> HttpResponse:
    try:
        call()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except Conflict as exc:
        text = CONFLICT_MESSAGE if exc.code == "TASK_CONFLICT" else exc.message
        return _task_page(request, task_id, errors=[text], status=409, **forms)
    except InvalidInput as exc:
        return _task_page(request, task_id, errors=_error_text(exc), status=422, **forms)
    except DomainError as exc:
        return _forbidden(request, exc.message)
    messages.success(request, done)
    return redirect("cases_staff:task", task_id=task_id)


def _visible_task_or_404(request: HttpRequest, task_id: int) -> dict[str, Any]:
    """404 before parsing anything, so another department learns nothing from form errors."""
    try:
        return selectors.task_view_for_reviewer(user=request.user, task_id=task_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_POST
@staff_page
def task_claim_view(request: HttpRequest, task_id: int) -> HttpResponse:
    form = RowVersionForm(request.POST)
    if not form.is_valid():
        _visible_task_or_404(request, task_id)
        return _task_page(request, task_id, errors=[CONFLICT_MESSAGE], status=409)
    return _task_action(
        request,
        task_id,
        lambda: services.task_claim(
            reviewer=request.user,
            task_id=task_id,
            expected_row_version=form.cleaned_data["row_version"],
        ),
        forms={},
        done="已认领该任务。",
    )


def _produced_from_post(post, decision: str) -> dict[str, str]:
    """`produced.<element>` inputs, sent only with an approval; the service checks them."""
    if decision != TaskStatus.APPROVED:
        return {}
    prefix = "produced."
    return {k[len(prefix) :]: v for k, v in post.items() if k.startswith(prefix)}


@require_POST
@staff_page
def task_decide_view(request: HttpRequest, task_id: int) -> HttpResponse:
    form = DecisionForm(request.POST, produces=selectors.task_produces(task_id=task_id))
    if not form.is_valid():
        _visible_task_or_404(request, task_id)
        if "row_version" in form.errors:  # a form that does not say what it saw
            return _task_page(request, task_id, errors=[CONFLICT_MESSAGE], status=409)
        return _task_page(request, task_id, decision_form=form, status=422)
    data = form.cleaned_data
    return _task_action(
        request,
        task_id,
        lambda: services.task_decide(
            reviewer=request.user,
            task_id=task_id,
            decision=data["decision"],
            reason=data["reason"],
            expected_row_version=data["row_version"],
            produced=_produced_from_post(request.POST, data["decision"]),
        ),
        forms={"decision_form": form},
        done="审核决定已保存。" if data["decision"] == "approved" else "已作出不予办理决定。",
    )


@require_POST
@staff_page
def task_supplement_view(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _visible_task_or_404(request, task_id)
    form = _task_supplement_form(task, request.POST)
    if not form.is_valid():
        return _task_page(request, task_id, supplement_form=form, status=422)
    data = form.cleaned_data
    return _task_action(
        request,
        task_id,
        lambda: services.task_request_supplement(
            reviewer=request.user,
            task_id=task_id,
            material_codes=data["materials"],
            field_codes=data["fields"],
            reason=data["reason"],
            expected_row_version=data["row_version"],
            deadline=data["deadline"],
        ),
        forms={"supplement_form": form},
        done="已发出补正通知。",
    )


# ---------------------------------------------------------------- 综合窗口帮办


def _is_clerk(request: HttpRequest) -> bool:
    return StaffRole.COUNTER_CLERK in staff_roles_of(request.user)


def _counter_resident(request: HttpRequest) -> ResidentProfile | None:
    return selectors.counter_resident(
        user=request.user, profile_id=request.session.get(COUNTER_RESIDENT_KEY)
    )


def _resident_display(request: HttpRequest, profile: ResidentProfile) -> dict[str, Any]:
    return resident_profile_for_work(
        viewer=request.user, profile=profile, use="counter_identify", ip_address=_ip(request)
    )


@require_http_methods(["GET", "POST"])
@staff_page
def counter_view(request: HttpRequest) -> HttpResponse:
    """Identify the walk-in resident by ID number (found through its keyed hash), then choose
    what to apply for on their behalf. A resident without a login gets a login-less account
    to file under; one the platform has no 一人一档 for is registered here with the name and
    phone the clerk types (services.counter_resident_register)."""
    if not selectors.may_open_counter(request.user):
        if _is_clerk(request):
            return _forbidden(request, "您的综合窗口岗位尚未指定所在大厅，请联系管理员。")
        return _forbidden(request, "综合窗口帮办仅限综合窗口人员使用。")
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "clear":
        request.session.pop(COUNTER_RESIDENT_KEY, None)
        return redirect("cases_staff:counter")
    if action == "activation":
        return _counter_activation(request)
    if action == "scan":
        return _counter_scanned(request)
    form: ResidentLookupForm = ResidentLookupForm(request.POST if action == "lookup" else None)
    register = ResidentRegisterForm(request.POST) if action == "register" else None
    status = 200
    if request.method == "POST" and action not in ("lookup", "register"):
        form = ResidentLookupForm(request.POST)  # a form posted without its button's name
        action = "lookup"
    if action == "lookup":
        if form.is_valid():
            number = form.cleaned_data["id_number"]
            try:
                profile = resident_profile_by_id_number(id_number=number)
            except InvalidInput as exc:
                form.add_error("id_number", exc.message)
            else:
                if profile is None:
                    # Not an error: the clerk completes the registration below.
                    register = ResidentRegisterForm(initial={"id_number": number.upper()})
                else:
                    return _counter_identified(request, number, profile.user_id is None)
        if not form.is_valid():
            status = 422
    elif action == "register" and register is not None:
        if register.is_valid():
            data = register.cleaned_data
            return _counter_identified(
                request,
                data["id_number"],
                True,
                name=data["name"],
                phone=data["phone"],
                form=register,
            )
        status = 422
    profile = _counter_resident(request)
    context = {
        "form": form,
        "register": register,
        "resident": _resident_display(request, profile) if profile else None,
        # A login-less account (opened here) can be given a password with an activation code.
        "needs_activation": bool(profile and not profile.user.has_usable_password()),
        # Their booking today at this hall and their ticket (取号叫号), if any.
        "visit": counter_visit_for(clerk=request.user, user=profile.user) if profile else None,
        # 窗口补正: their cases waiting for a 补正 (an original to be seen, typically).
        "supplements": (
            selectors.counter_supplement_cases(clerk=request.user, user_id=profile.user_id)
            if profile
            else []
        ),
        "bundles": bundle_list(subject="person") if profile else [],
        "items": item_list(subject="person") if profile else [],
    }
    return render(request, "cases/staff/counter.html", context, status=status)


@require_http_methods(["GET", "POST"])
@staff_page
def counter_supplement_view(request: HttpRequest, receipt_no: str) -> HttpResponse:
    """窗口补正: the clerk serving the applicant sees the originals, scans them and types
    any asked data; the case goes back to intake (services.case_supplement_at_counter)."""
    from tongban.cases.views import supplement_form, supplement_post

    try:
        case, open_request = selectors.counter_supplement_for(
            clerk=request.user,
            receipt_no=receipt_no,
            identified_profile_id=request.session.get(COUNTER_RESIDENT_KEY),
            ip_address=_ip(request),
        )
    except CaseNotFound as exc:
        raise Http404("请先叫号并接待该申请人，再为其办理窗口补正") from exc
    supplement = supplement_form(case, open_request)
    context = {
        "case": case,
        "receipt": receipt_display(case.receipt_no),
        "supplement": supplement,
        "seen": request.POST.get("originals_seen") == "yes",
        "errors": [],
    }
    status = 200
    if request.method == "POST":

        def submit(form_data, materials) -> None:
            services.case_supplement_at_counter(
                clerk=request.user,
                receipt_no=case.receipt_no,
                form_data=form_data,
                materials=materials,
                originals_seen=context["seen"],
                identified_profile_id=request.session.get(COUNTER_RESIDENT_KEY),
            )

        try:
            context["errors"] = supplement_post(request, supplement, submit)
        except CaseNotFound as exc:
            raise Http404("请先叫号并接待该申请人，再为其办理窗口补正") from exc
        if not context["errors"]:
            messages.success(
                request,
                f"已为受理编号 {receipt_display(case.receipt_no)} 完成窗口补正，办件已退回受理。",
            )
            return redirect("cases_staff:counter")
        status = 422
    return render(request, "cases/staff/counter_supplement.html", context, status=status)


def _counter_scanned(request: HttpRequest) -> HttpResponse:
    """Identify the resident by scanning their 随申码 instead of typing the ID number: the
    scan goes through the hall's scanner (scenario hall_checkin) and is logged there."""
    window = clerk_window(clerk=request.user)
    halls = [window.hall] if window is not None else clerk_halls(clerk=request.user)
    if len(halls) != 1:
        messages.error(request, "请先在叫号页面签到所在窗口，再扫码核验。")
        return redirect("cases_staff:counter")
    try:
        holder = resident_identify(hall=halls[0], code=request.POST.get("code", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("cases_staff:counter")
    request.session[COUNTER_RESIDENT_KEY] = holder.subject.pk
    return redirect("cases_staff:counter")


@never_cache
def _counter_activation(request: HttpRequest) -> HttpResponse:
    """账号激活码 for the resident identified at this counter: rendered once in the response
    to the POST (never redirected to, never kept in the session), for the clerk to print."""
    profile = _counter_resident(request)
    if profile is None:
        return redirect("cases_staff:counter")
    try:
        code = account_activation_issue(actor=request.user, profile=profile)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("cases_staff:counter")
    profile.user.refresh_from_db()
    row = profile.user.activation_codes.get(used_at__isnull=True, revoked_at__isnull=True)
    context = {
        "resident_name": profile.name,
        "username": profile.user.username,
        "code_display": f"{code[:4]} {code[4:]}",
        "expires_at": row.expires_at,
        "activate_url": request.build_absolute_uri(reverse("accounts:activate")),
    }
    return render(request, "accounts/activation_issued.html", context)


def _counter_identified(
    request: HttpRequest, id_number: str, opens: bool, *, name="", phone="", form=None
) -> HttpResponse:
    """Make the resident ready to file for (the service opens what is missing) and remember
    them for this counter session."""
    try:
        profile = services.counter_resident_register(
            clerk=request.user, id_number=id_number, name=name, phone=phone
        )
    except InvalidInput as exc:
        form = form or ResidentLookupForm({"id_number": id_number})
        form.is_valid()
        for detail in exc.details or [{"field": "id_number", "message": exc.message}]:
            field = detail.get("field") if detail.get("field") in form.fields else None
            form.add_error(field, detail.get("message") or exc.message)
        context = {"form": ResidentLookupForm(), "register": form, "resident": None}
        if not isinstance(form, ResidentRegisterForm):
            context = {"form": form, "register": None, "resident": None}
        return render(request, "cases/staff/counter.html", context, status=422)
    except DomainError as exc:
        return _forbidden(request, exc.message)
    request.session[COUNTER_RESIDENT_KEY] = profile.pk
    if opens:
        messages.info(
            request,
            "已为该居民开通办件账号（暂无登录密码，仅用于办件和接收通知）。"
            "如需网上登录，可为其生成账号激活码。",
        )
    return redirect("cases_staff:counter")


def _counter_answers(data, questions) -> dict[str, str]:
    return {q.code: data[f"answer.{q.code}"] for q in questions if data.get(f"answer.{q.code}")}


def _deferrable(result: catalog_guide.GuideResult) -> set[str]:
    """Materials every including item allows to follow later (容缺); only which options to
    offer — case_submit decides."""
    allowed: dict[str, bool] = {}
    for item in result.items:
        for m in item_definition(item.code, item.version).materials:
            allowed[m.code] = allowed.get(m.code, True) and m.deferrable
    return {code for code, ok in allowed.items() if ok}


@require_http_methods(["GET", "POST"])
@staff_page
def counter_apply_view(request: HttpRequest, kind: str, code: str) -> HttpResponse:
    """帮办: the guide's questions, then the one form for the resident at the counter, filed
    with channel=counter and the clerk as filed_by."""
    if not _is_clerk(request):
        return _forbidden(request, "综合窗口帮办仅限综合窗口人员使用。")
    if kind not in ("bundle", "item"):
        raise Http404("未找到该事项")
    profile = _counter_resident(request)
    if profile is None:
        messages.info(request, "请先核验办事群众的身份证号码。")
        return redirect("cases_staff:counter")
    try:
        questions = (
            # The resident's 一人一档 answers what it holds (known_from): the clerk asks the rest.
            catalog_guide.bundle_questions(code=code, applicant=profile)
            if kind == "bundle"
            else catalog_guide.item_questions(code=code, applicant=profile)
        )
    except (BundleNotFound, ItemNotFound) as exc:
        raise Http404(exc.message) from exc
    source = request.POST if request.method == "POST" else request.GET
    answers = _counter_answers(source, questions)
    answered = "answered" in source or not questions
    run = catalog_guide.guide_for_bundle if kind == "bundle" else catalog_guide.guide_for_item
    context: dict[str, Any] = {
        "kind": kind,
        "code": code,
        "resident": _resident_display(request, profile),
        "questions": questions,
        "guide_errors": [],
        "result": None,
        "fields": [],
        "material_errors": {},
        "errors": [],
        "idempotency_key": source.get("idempotency_key") or uuid.uuid4().hex,
    }
    status = 200
    if answered:
        try:
            result = run(code=code, answers=answers, applicant=profile)
        except GuideAnswersInvalid as exc:
            context.update(questions=exc.questions, guide_errors=exc.details)
            return render(request, "cases/staff/counter_apply.html", context, status=422)
        context.update(
            questions=result.questions,
            result=result,
            answers=result.answers,
            deferrable=_deferrable(result),
            commitments={
                m.code for m in result.materials if any(w.kind == "commitment" for w in m.waivers)
            },
        )
        # What the platform already holds about the resident (the profile the clerk has just
        # read, audited), so the clerk types only the rest.
        prefill = selectors.form_prefill(
            user=profile.user, kind=kind, code=code, answers=result.answers
        )
        values: dict[str, Any] = prefill
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            values = applicant_forms.typed_values_from_post(request.POST, result.fields)
            rows = [{"code": m.code, "spared": m.spared} for m in result.materials]
            try:
                case = services.case_submit(
                    applicant=profile.user,
                    kind=kind,
                    code=code,
                    answers=result.answers,
                    form_data=applicant_forms.form_data_from_post(request.POST, result.fields),
                    materials=applicant_forms.materials_from_post(
                        request.POST, request.FILES, rows
                    ),
                    idempotency_key=context["idempotency_key"],
                    channel="counter",
                    filed_by=request.user,
                    delivery=request.POST.get("delivery") or "counter",
                    acknowledge_duplicate=request.POST.get("acknowledge_duplicate") == "yes",
                )
            except applicant_forms.UploadsTooLarge as exc:
                errors = applicant_forms.errors_by_field(exc.details)
                context["errors"] = [d["message"] for d in exc.details]
                status = 422
            except (InvalidInput, Conflict) as exc:
                errors = applicant_forms.errors_by_field(exc.details)
                codes = {f.code for f in result.fields}
                context["errors"] = [
                    exc.message,
                    *[d["message"] for d in exc.details if d.get("field", "") not in codes],
                ]
                status = exc.http_status
                if exc.code == "CASE_DUPLICATE_OPEN":  # 重复申请: the clerk asks the resident
                    context["duplicates"] = [
                        {"receipt_display": receipt_display(d["receipt_no"])} for d in exc.details
                    ]
            except DomainError as exc:
                return _forbidden(request, exc.message)
            else:
                number = receipt_display(case.receipt_no)
                messages.success(request, f"已代为提交，受理编号 {number}。")
                return redirect(reverse("cases_staff:intake_case", args=[case.receipt_no]))
        context["fields"] = applicant_forms.field_specs(
            result.fields, values=values, prefill=prefill, errors=errors
        )
        context["material_errors"] = errors
    elif request.method == "POST":
        status = 422
    return render(request, "cases/staff/counter_apply.html", context, status=status)


# ---------------------------------------------------------------- 统一窗口出件


def _handout_staff(request: HttpRequest) -> bool:
    return selectors.may_open_handout(request.user)


@require_GET
@staff_page
def handout_queue_view(request: HttpRequest) -> HttpResponse:
    """出件队列: concluded cases awaiting counter pick-up or post that this person may hand
    out, oldest first."""
    if not _handout_staff(request):
        return _forbidden(request, "出件队列仅限大厅的出件和综合窗口人员使用。")
    rows = selectors.handout_queue(user=request.user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cases/staff/handout_queue.html", {"page": page})


def _handout_page(
    request: HttpRequest,
    receipt_no: str,
    *,
    form: HandOutForm | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        case = selectors.case_for(user=request.user, receipt_no=receipt_no)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not selectors.hand_out_may_handle(request.user, case):
        raise Http404("未找到该办件")
    detail = selectors.case_detail(user=request.user, receipt_no=case.receipt_no)
    applicant = None
    if case.applicant_profile is not None:
        # Checking who collects is a read of the resident's record, audited with its purpose.
        applicant = resident_profile_for_work(
            viewer=request.user,
            profile=case.applicant_profile,
            use="handout_identify",
            receipt_no=case.receipt_no,
            ip_address=_ip(request),
        )
    form = form or HandOutForm()
    # One note, named for what the clerk writes down for this way of handing out.
    if case.delivery == "post":
        form.fields["note"].label = "快递单号"
        form.fields["note"].help_text = "必填，申请人将在办件详情中看到。"
    else:
        form.fields["note"].label = "领取人"
        form.fields["note"].help_text = "本人领取可不填；受托人领取请填写其姓名。"
    context = {
        "case": detail,
        "applicant": applicant,
        "outcome_label": case.get_outcome_display(),
        "delivery_label": case.get_delivery_display(),
        "can_hand_out": detail["status"] == "concluded" and case.handed_out_at is None,
        "form": form,
        "errors": errors or [],
        "timeline": _timeline(detail["events"]),
    }
    return render(request, "cases/staff/handout_case.html", context, status=status)


@require_http_methods(["GET", "POST"])
@staff_page
def handout_case_view(request: HttpRequest, receipt_no: str) -> HttpResponse:
    if request.method == "GET":
        return _handout_page(request, receipt_no)
    form = HandOutForm(request.POST)
    if not form.is_valid():
        return _handout_page(request, receipt_no, form=form, status=422)
    try:
        case = selectors.case_for(user=request.user, receipt_no=receipt_no)
        services.case_hand_out(
            actor=request.user, receipt_no=case.receipt_no, note=form.cleaned_data["note"]
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except (InvalidInput, Conflict) as exc:
        return _handout_page(
            request, receipt_no, form=form, errors=_error_text(exc), status=exc.http_status
        )
    except DomainError as exc:
        # Someone who cannot hand it out learns nothing more than that it is not theirs.
        raise Http404(exc.message) from exc
    messages.success(request, f"已出件，办件 {receipt_display(case.receipt_no)} 已归档。")
    return redirect("cases_staff:handout_queue")
