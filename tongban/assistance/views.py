"""行政协助 pages for staff: ask from a task, the department's inbox, answer, withdraw.

Thin: parse a form, call the same service or selector as the API. A refusal there is a 403
or 404 here and nothing has changed. Plain forms, POST-redirect-GET, no JavaScript needed.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.assistance import selectors, services
from tongban.assistance.errors import AssistanceNotAllowed, AssistanceNotFound
from tongban.assistance.forms import AnswerForm, RequestForm, WithdrawForm
from tongban.cases.errors import TaskNotFound
from tongban.cases.models import Task
from tongban.cases.receipt import receipt_display
from tongban.cases.services import Upload
from tongban.cases.views_staff import staff_page
from tongban.common.errors import DomainError


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"message": message}, status=403)


@require_GET
@staff_page
def inbox_view(request: HttpRequest) -> HttpResponse:
    inbox = selectors.assistance_inbox(user=request.user)
    if not selectors.may_open_assistance(request.user) and not inbox["sent"]:
        return _forbidden(request, "行政协助仅限部门受理、审核人员使用。")
    return render(request, "assistance/inbox.html", {"inbox": inbox})


def _request_form(task: Task, data=None) -> RequestForm:
    return RequestForm(
        data,
        departments=[
            (d.code, d.name) for d in selectors.target_departments(exclude_id=task.department_id)
        ],
        subjects=[(s["role"], s["label"]) for s in selectors.subject_options(task.case)],
        materials=list(selectors.task_materials(task).items()),
    )


@require_http_methods(["GET", "POST"])
@staff_page
def request_view(request: HttpRequest, task_id: int) -> HttpResponse:
    """发起行政协助 from a task the user reviews."""
    task = Task.objects.select_related("case", "department").filter(pk=task_id).first()
    if task is None or not selectors.may_request_for(request.user, task):
        raise Http404("未找到该任务")
    form = _request_form(task, request.POST if request.method == "POST" else None)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.assistance_request(
                    actor=request.user,
                    task_id=task.pk,
                    target_department=data["target_department"],
                    subject_role=data["subject_role"],
                    question=data["question"],
                    due_days=data["due_days"],
                    material_codes=data.get("material_codes") or [],
                    ip_address=_ip(request),
                )
            except (TaskNotFound, AssistanceNotAllowed) as exc:
                raise Http404(exc.message) from exc
            except DomainError as exc:
                errors = [exc.message]
                status = exc.http_status
            else:
                messages.success(request, "已发起行政协助，协助部门将收到通知。")
                return redirect("cases_staff:task", task_id=task.pk)
        else:
            status = 422
    context = {
        "task": task,
        "receipt": receipt_display(task.case.receipt_no),
        "form": form,
        "errors": errors,
    }
    return render(request, "assistance/request.html", context, status=status)


def _detail_page(
    request: HttpRequest,
    request_id: int,
    *,
    answer_form: AnswerForm | None = None,
    withdraw_form: WithdrawForm | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        row = selectors.assistance_detail(
            user=request.user, request_id=request_id, ip_address=_ip(request)
        )
    except AssistanceNotFound as exc:
        raise Http404(exc.message) from exc
    context = {
        "r": row,
        "answer_form": answer_form or AnswerForm(),
        "withdraw_form": withdraw_form or WithdrawForm(),
        "errors": errors or [],
    }
    return render(request, "assistance/detail.html", context, status=status)


@require_GET
@staff_page
def detail_view(request: HttpRequest, request_id: int) -> HttpResponse:
    return _detail_page(request, request_id)


def _act(request, request_id, call, *, forms, done: str) -> HttpResponse:
    try:
        call()
    except AssistanceNotFound as exc:
        raise Http404(exc.message) from exc
    except AssistanceNotAllowed as exc:
        return _forbidden(request, exc.message)
    except DomainError as exc:
        return _detail_page(
            request, request_id, errors=[exc.message], status=exc.http_status, **forms
        )
    messages.success(request, done)
    return redirect("assistance_staff:detail", request_id=request_id)


@require_POST
@staff_page
def answer_view(request: HttpRequest, request_id: int) -> HttpResponse:
    form = AnswerForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail_page(request, request_id, answer_form=form, status=422)
    f = form.cleaned_data.get("file")
    upload = Upload(name=f.name or "", content=f.read()) if f else None
    return _act(
        request,
        request_id,
        lambda: services.assistance_answer(
            actor=request.user,
            request_id=request_id,
            answer=form.cleaned_data["answer"],
            file=upload,
            ip_address=_ip(request),
        ),
        forms={"answer_form": form},
        done="已答复，答复已列入该办件的审查依据。",
    )


@require_POST
@staff_page
def withdraw_view(request: HttpRequest, request_id: int) -> HttpResponse:
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, request_id, withdraw_form=form, status=422)
    return _act(
        request,
        request_id,
        lambda: services.assistance_withdraw(
            actor=request.user,
            request_id=request_id,
            reason=form.cleaned_data["reason"],
            ip_address=_ip(request),
        ),
        forms={"withdraw_form": form},
        done="已撤回行政协助。",
    )


@require_GET
@staff_page
def file_view(request: HttpRequest, request_id: int) -> HttpResponse:
    """The answer's file (audited in the selector), shown sandboxed and never cached."""
    try:
        r = selectors.answer_file(user=request.user, request_id=request_id, ip_address=_ip(request))
    except AssistanceNotFound as exc:
        raise Http404(exc.message) from exc
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        r.answer_file_type, "bin"
    )
    response = FileResponse(
        r.answer_file.open("rb"),
        content_type=r.answer_file_type or "application/octet-stream",
        filename=f"assistance-{r.pk}.{extension}",
    )
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response["Cache-Control"] = "private, no-store"
    return response
