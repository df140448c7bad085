"""/api/v1/staff/assistance: 行政协助 for a department's staff and systems. Thin: parse, call
the same service or selector as the pages, shape."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Router, Schema, Status

from tongban.accounts.apiauth import staff_auth
from tongban.assistance import selectors, services
from tongban.assistance.errors import AssistanceInvalid
from tongban.assistance.models import AssistanceStatus
from tongban.cases.services import MAX_UPLOAD_BYTES, Upload
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id

router = Router(tags=["assistance"])

AssistanceState = Literal[*AssistanceStatus.values]


class AssistanceOut(Schema):
    id: int
    receipt_no: str
    case_name: str
    task_id: int
    item_name: str
    requesting_department: str = Field(..., description="请求部门名称")
    requested_by_label: str = Field(..., description="发起岗位（部门和岗位，不含姓名）")
    target_department: str = Field(..., description="协助部门编码")
    target_department_name: str
    subject_role: str = Field(..., description="协助对象：applicant、mother、enterprise …")
    subject_label: str
    question: str
    materials: list[dict[str, Any]] = Field(..., description="代替的材料 [{code, name}]")
    due_days: int
    due_date: dt.date
    status: AssistanceState
    status_label: str
    overdue: bool
    answer: str
    answered_by_label: str
    answered_at: dt.datetime | None
    has_file: bool
    created_at: dt.datetime


class AssistanceDetailOut(AssistanceOut):
    subject_identifier: str = Field(
        ...,
        description="协助对象的证件号码或统一社会信用代码：仅协助部门可见（其他人为空），"
        "每次读取记入数据使用记录",
    )


class AssistanceCreateIn(Schema):
    task_id: Id = Field(..., description="发起协助的审核任务（本人所在部门的任务）")
    target_department: str = Field(..., max_length=64, description="协助部门编码")
    subject_role: str = Field(..., max_length=24)
    question: str = Field(..., max_length=services.QUESTION_MAX)
    due_days: int = Field(
        services.DUE_DAYS_DEFAULT, ge=services.DUE_DAYS_MIN, le=services.DUE_DAYS_MAX
    )
    material_codes: list[str] = Field([], max_length=50)


class AssistanceWithdrawIn(Schema):
    reason: str = Field("", max_length=services.WITHDRAW_REASON_MAX)


def _out(request, request_id: int) -> dict[str, Any]:
    # A write's answer does not repeat whom it is about: only a deliberate read shows (and
    # records) that.
    return selectors.assistance_detail(user=request.auth, request_id=request_id, reveal=False)


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


@router.get(
    "staff/assistance",
    auth=staff_auth,
    response={200: list[AssistanceOut], **errors(400, 401, 403, 422)},
    summary="行政协助列表",
    description="box=incoming：请求本部门协助的（默认）；box=sent：本部门审核人员发出的。"
    "waiting=true 只列待答复的，已逾期的在前。",
)
def assistance_list(request, box: Literal["incoming", "sent"] = "incoming", waiting: bool = False):
    return selectors.assistance_list(user=request.auth, box=box, waiting_only=waiting)


@router.post(
    "staff/assistance",
    auth=staff_auth,
    response={201: AssistanceOut, **errors(400, 401, 403, 404, 409, 422, 503)},
    summary="发起行政协助",
    description="仅任务所在部门的审核人员可发起（否则 403 ASSISTANCE_NOT_ALLOWED）；不能向本部门"
    "发起（400 ASSISTANCE_SAME_DEPARTMENT）；同一办件、同一对象向同一部门的请求未答复时 409 "
    "ASSISTANCE_ALREADY_OPEN。",
)
def assistance_create(request, body: AssistanceCreateIn):
    created = services.assistance_request(
        actor=request.auth,
        task_id=body.task_id,
        target_department=body.target_department,
        subject_role=body.subject_role,
        question=body.question,
        due_days=body.due_days,
        material_codes=body.material_codes,
        ip_address=_ip(request),
    )
    return Status(201, _out(request, created.pk))


@router.get(
    "staff/assistance/{request_id}",
    auth=staff_auth,
    response={200: AssistanceDetailOut, **errors(400, 401, 403, 404, 422)},
    summary="行政协助详情",
)
def assistance_get(request, request_id: Id):
    return selectors.assistance_detail(
        user=request.auth, request_id=request_id, ip_address=_ip(request)
    )


@router.post(
    "staff/assistance/{request_id}/answer",
    auth=staff_auth,
    response={200: AssistanceOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="答复行政协助",
    description="multipart/form-data：字段 `answer`（答复意见，必填）和可选文件 `file`（PDF、JPG、"
    "PNG，按内容识别，不超过10MB）。仅协助部门的受理、审核人员可答复；已答复或已撤回的返回 409 "
    "ASSISTANCE_CLOSED。",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["answer"],
                        "properties": {
                            "answer": {"type": "string", "maxLength": services.ANSWER_MAX},
                            "file": {"type": "string", "format": "binary"},
                        },
                    }
                }
            },
        }
    },
)
def assistance_answer(request, request_id: Id):
    upload = None
    f = request.FILES.get("file")
    if f is not None:
        if f.size > MAX_UPLOAD_BYTES:
            # Refused before reading it into memory.
            raise AssistanceInvalid("文件超过10MB，请压缩后上传", code="ASSISTANCE_FILE_REFUSED")
        upload = Upload(name=f.name or "", content=f.read())
    services.assistance_answer(
        actor=request.auth,
        request_id=request_id,
        answer=request.POST.get("answer", ""),
        file=upload,
        ip_address=_ip(request),
    )
    return _out(request, request_id)


@router.post(
    "staff/assistance/{request_id}/withdraw",
    auth=staff_auth,
    response={200: AssistanceOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="撤回行政协助",
)
def assistance_withdraw(request, request_id: Id, body: AssistanceWithdrawIn | None = None):
    services.assistance_withdraw(
        actor=request.auth,
        request_id=request_id,
        reason=body.reason if body else "",
        ip_address=_ip(request),
    )
    return _out(request, request_id)
