"""/api/v1/ endpoints of the case engine. Thin: parse, call a service or selector, shape."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from ninja import Field, Form, Header, Router, Schema, Status

from tongban.accounts.apiauth import resident_auth, staff_auth
from tongban.accounts.models import Enterprise
from tongban.cases import selectors, services
from tongban.cases.errors import CaseNotFound, NotForApplicant
from tongban.cases.models import CaseKind, CaseStatus, Channel, Delivery, TaskStatus
from tongban.cases.receipt import receipt_normalise
from tongban.cases.services import MAX_UPLOAD_BYTES, MaterialInput, Upload, UploadRefused
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id
from tongban.common.errors import InvalidInput, NotFound

router = Router(tags=["cases"], auth=resident_auth)

# The values the models allow, so the document lists them and a client learns them there.
Kind = Literal[*CaseKind.values]
CaseState = Literal[*CaseStatus.values]
TaskState = Literal[*TaskStatus.values]
Decision = Literal[TaskStatus.APPROVED.value, TaskStatus.DENIED.value]

SUBMIT_DESCRIPTION = """一表申请。请求为 multipart/form-data：

- 字段 `payload`：JSON 文本 `{"kind": "bundle"|"item", "code": "...", "answers": {...},
  "form_data": {数据元编码: 值}, "materials": {材料编码: {"how": "upload"|"commitment"|"deferred"}},
  （指南中标明数据源暂时无法核验的材料，how 也可为 "source_retry"：由平台在审核前再次核验）
  "acknowledge_duplicate": true（可选：已有同一对象、同一事项的未办结申请时仍然提交；否则返回 409
  CASE_DUPLICATE_OPEN，details 中给出已有申请的 receipt_no）,
  "delivery": "online"|"counter"|"post", "enterprise_id": 可选,
  "resident_id_number": 综合窗口代办时必填, "resident_name", "resident_phone":
  该居民尚无档案时必填（为其建档并开通办件账号）, "delegation_id": 亲友代办时填写（为授权您
  代办的人申请，办件属于被代办人；授权已撤销、已过期或不含此事项时返回 403
  DELEGATION_NOT_VALID）}`
- 文件字段 `material.<材料编码>`：how 为 upload 的材料文件，可多个；只接受 PDF、JPG、PNG
  （按文件内容识别），单个不超过 10MB，每件最多 20 个。

请求头 `Idempotency-Key` 必填：同一申请人、同一键重复提交返回同一办件；键相同而内容不同返回
409 IDEMPOTENCY_KEY_REUSED。"""


# The files' field names carry the material code, so the body is described by hand.
MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["payload"],
                    "properties": {"payload": {"type": "string", "description": "JSON 文本"}},
                    "additionalProperties": {
                        "type": "string",
                        "format": "binary",
                        "description": "material.<材料编码>",
                    },
                }
            }
        },
    }
}


FILES_ONLY_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "string",
                        "format": "binary",
                        "description": "material.<材料编码>",
                    },
                }
            }
        },
    }
}


class EventOut(Schema):
    seq: int
    at: dt.datetime
    action: str
    label: str  # the step in words (受理, 要求补正 …)
    from_status: str
    to_status: str
    reason: str
    actor: str


class TaskOut(Schema):
    id: int
    receipt_no: str
    item_code: str
    item_name: str
    department: str
    department_name: str
    status: TaskState
    status_label: str
    due_date: dt.date | None
    decided_at: dt.datetime | None
    reason: str
    automatic: bool
    row_version: int


class SupplementOut(Schema):
    materials: list[str]
    fields: list[str]
    reason: str
    deadline: dt.date


class HandoutOut(Schema):
    done: bool
    label: str
    at: dt.datetime | None
    note: str
    hall: str


class MaterialCountsOut(Schema):
    required: int
    submitted: int
    waived: int
    committed: int
    deferred: int
    source_retry: int = Field(description="平台稍后核验：等待部门系统恢复后核验的材料份数")


class CaseOut(Schema):
    receipt_no: str
    receipt_display: str
    kind: Kind
    code: str
    version: int
    name: str
    status: CaseState
    status_label: str
    outcome: str
    outcome_label: str
    channel: Literal[*Channel.values]
    channel_label: str
    delivery: Literal[*Delivery.values]
    delivery_label: str
    lead_department: str
    submitted_at: dt.datetime
    accepted_at: dt.datetime | None
    concluded_at: dt.datetime | None
    promised_date: dt.date | None
    hall: str
    handout: HandoutOut | None
    events: list[EventOut]
    tasks: list[TaskOut]
    supplement: SupplementOut | None
    # 减材料, counted: required, submitted (uploaded), waived, committed, deferred.
    material_counts: MaterialCountsOut
    # 亲友代办: the relative who filed it (to the 被代办人), or for whom (to the relative).
    acted_by_name: str = ""
    acted_for_name: str = ""


class CaseRowOut(Schema):
    receipt_no: str
    name: str
    kind: Kind
    code: str
    status: CaseState
    status_label: str
    outcome: str
    outcome_label: str
    submitted_at: dt.datetime
    promised_date: dt.date | None
    acted_by_name: str = ""  # 由 X 代办
    acted_for_name: str = ""  # 为 X 代办


def _uploads(request) -> dict[str, list[Upload]]:
    files: dict[str, list[Upload]] = {}
    for key in request.FILES:
        if not key.startswith("material."):
            raise UploadRefused(
                details=[{"field": key[:100], "message": "文件字段应为 material.<材料编码>"}]
            )
        for f in request.FILES.getlist(key):
            if f.size > MAX_UPLOAD_BYTES:
                # Refused before reading it into memory.
                raise UploadRefused(
                    details=[{"field": key[9:109], "message": "文件超过10MB，请压缩后上传"}]
                )
            files.setdefault(key[9:], []).append(Upload(name=f.name or "", content=f.read()))
    return files


def _materials(raw: Any, files: dict[str, list[Upload]]) -> dict[str, MaterialInput]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput("materials 应为对象")
    out: dict[str, MaterialInput] = {}
    for code, spec in raw.items():
        how = spec.get("how") if isinstance(spec, dict) else None
        if not isinstance(how, str):
            raise InvalidInput(
                "每项材料须给出 how", details=[{"field": str(code)[:100], "message": "缺少 how"}]
            )
        out[code] = MaterialInput(how=how, files=tuple(files.pop(code, [])))
    for code, uploads in files.items():  # a file without a declared material: an upload
        out[code] = MaterialInput(how="upload", files=tuple(uploads))
    return out


def _payload(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidInput("payload 不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("payload 应为 JSON 对象")
    return data


@router.post(
    "/cases",
    summary="提交申请（一表申请）",
    description=SUBMIT_DESCRIPTION,
    openapi_extra=MULTIPART_BODY,
    response={201: CaseOut, **errors(400, 401, 403, 404, 409, 422, 503)},
)
def case_submit(
    request,
    payload: Form[str],
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    key = idempotency_key or ""
    if not key.strip():
        raise services.IdempotencyKeyRequired()
    data = _payload(payload)
    files = _uploads(request)
    enterprise = None
    if data.get("enterprise_id") is not None:
        eid = data["enterprise_id"]
        if not isinstance(eid, int) or isinstance(eid, bool) or not 0 < eid < 2**62:
            raise NotForApplicant("您不是该企业的经办人")
        enterprise = Enterprise.objects.filter(pk=eid).first()
        if enterprise is None:
            raise NotForApplicant("您不是该企业的经办人")
    applicant, channel, filed_by = request.user, "online", None
    if data.get("resident_id_number") is not None:
        # 综合窗口帮办: the clerk files for a resident identified at the counter; one without
        # a login (or without a profile) is made ready by the same service as the page.
        texts = [data.get(k) for k in ("resident_id_number", "resident_name", "resident_phone")]
        if not all(isinstance(t, str) or t is None for t in texts):
            raise InvalidInput("居民身份证号码、姓名和电话应为文字")
        profile = services.counter_resident_register(
            clerk=request.user,
            id_number=texts[0],
            name=texts[1] or "",
            phone=texts[2] or "",
        )
        applicant, channel, filed_by = profile.user, "counter", request.user
    for name in ("kind", "code"):
        if not isinstance(data.get(name), str):
            raise InvalidInput(f"缺少 {name}")
    case = services.case_submit(
        applicant=applicant,
        kind=data["kind"],
        code=data["code"],
        answers=data.get("answers") or {},
        form_data=data.get("form_data") or {},
        materials=_materials(data.get("materials"), files),
        idempotency_key=key,
        channel=channel,
        filed_by=filed_by,
        enterprise=enterprise,
        delivery=data.get("delivery") or "online",
        # 重复申请: without it, a second open case for the same person is 409 CASE_DUPLICATE_OPEN.
        acknowledge_duplicate=data.get("acknowledge_duplicate") is True,
        on_behalf=data.get("delegation_id"),
    )
    viewer = request.user
    return Status(201, selectors.case_detail(user=viewer, receipt_no=case.receipt_no))


@router.get(
    "/cases/{receipt_no}", response={200: CaseOut, **errors(400, 401, 404)}, summary="办件详情"
)
def case_get(request, receipt_no: str):
    return selectors.case_detail(user=request.user, receipt_no=receipt_no)


@router.get("/me/cases", response={200: list[CaseRowOut], **errors(401)}, summary="我的办件")
def my_cases(request):
    return selectors.cases_for_applicant(user=request.user)


def _receipt(receipt_no: str) -> str:
    number = receipt_normalise(receipt_no)
    if number is None:
        raise CaseNotFound()
    return number


def _visible(request, receipt_no: str) -> str:
    # Refusals answer 404 to anyone who cannot see the case, so its existence does not leak.
    return selectors.case_for(user=request.user, receipt_no=receipt_no).receipt_no


class ReasonIn(Schema):
    reason: str = ""


@router.post(
    "/cases/{receipt_no}/accept",
    auth=staff_auth,
    response={200: CaseOut, **errors(400, 401, 403, 404, 409, 422, 503)},
    summary="受理",
)
def case_accept(request, receipt_no: str, body: ReasonIn | None = None):
    number = _visible(request, receipt_no)
    services.case_accept(actor=request.user, receipt_no=number, reason=body.reason if body else "")
    return selectors.case_detail(user=request.user, receipt_no=number)


@router.post(
    "/cases/{receipt_no}/refuse",
    auth=staff_auth,
    response={200: CaseOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="不予受理",
)
def case_refuse(request, receipt_no: str, body: ReasonIn):
    number = _visible(request, receipt_no)
    services.case_refuse_intake(actor=request.user, receipt_no=number, reason=body.reason)
    return selectors.case_detail(user=request.user, receipt_no=number)


class SupplementRequestIn(Schema):
    materials: list[str] = []
    fields: list[str] = []
    reason: str
    deadline: dt.date | None = None


@router.post(
    "/cases/{receipt_no}/supplement-request",
    auth=staff_auth,
    response={200: CaseOut, **errors(400, 401, 403, 404, 409, 422, 503)},
    summary="要求补正",
)
def case_supplement_request(request, receipt_no: str, body: SupplementRequestIn):
    number = _visible(request, receipt_no)
    services.case_request_supplement(
        actor=request.user,
        receipt_no=number,
        material_codes=body.materials,
        field_codes=body.fields,
        reason=body.reason,
        deadline=body.deadline,
    )
    return selectors.case_detail(user=request.user, receipt_no=number)


@router.post(
    "/cases/{receipt_no}/supplement",
    response={200: CaseOut, **errors(400, 401, 403, 404, 409, 422, 503)},
    summary="补正（multipart：payload 为 {form_data, materials}，文件字段 material.<编码>）",
    openapi_extra=MULTIPART_BODY,
)
def case_supplement(request, receipt_no: str, payload: Form[str]):
    number = _visible(request, receipt_no)
    data = _payload(payload)
    services.case_supplement(
        applicant=request.user,
        receipt_no=number,
        form_data=data.get("form_data") or {},
        materials=_materials(data.get("materials"), _uploads(request)),
    )
    return selectors.case_detail(user=request.user, receipt_no=number)


@router.get(
    "/workbench/tasks",
    response={200: list[TaskOut], **errors(400, 401, 403, 422)},
    summary="部门任务队列",
    auth=staff_auth,
)
def workbench(
    request,
    status: TaskState | None = None,
    due_before: dt.date | None = None,
    item: str | None = None,
    overdue: bool = False,
):
    return selectors.workbench_tasks(
        user=request.user, status=status, due_before=due_before, item=item, overdue=overdue
    )


class ClaimIn(Schema):
    row_version: int | None = None


class TaskDecisionIn(Schema):
    decision: Decision
    reason: str = ""
    row_version: int
    # Approving an item that creates data for later items (e.g. child.id_number) records it.
    produced: dict[str, Any] = {}


class FieldOut(Schema):
    code: str
    label: str
    value: Any = None
    # The value as people read it: a choice's label (男 for M), 是/否, a date in Chinese.
    display: str


class TaskDetailOut(TaskOut):
    form: dict[str, Any]
    form_display: dict[str, str]
    fields: list[FieldOut]
    materials: list[dict[str, Any]]
    spared_materials: list[dict[str, Any]]
    review_points: list[dict[str, Any]]
    conditions: list[str]
    produces: list[dict[str, Any]]


@router.get(
    "/workbench/tasks/{task_id}",
    auth=staff_auth,
    response={200: TaskDetailOut, **errors(400, 401, 403, 404, 422)},
    summary="任务详情（仅本事项所需数据）",
)
def task_get(request, task_id: Id):
    return selectors.task_view_for_reviewer(user=request.user, task_id=task_id)


@router.post(
    "/workbench/tasks/{task_id}/claim",
    auth=staff_auth,
    response={200: TaskOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="认领任务",
)
def task_claim(request, task_id: Id, body: ClaimIn | None = None):
    task = services.task_claim(
        reviewer=request.user,
        task_id=task_id,
        expected_row_version=body.row_version if body else None,
    )
    return _task_out(request, task.pk)


@router.post(
    "/workbench/tasks/{task_id}/decision",
    auth=staff_auth,
    response={200: TaskOut, **errors(400, 401, 403, 404, 409, 422, 503)},
    summary="审核决定",
)
def task_decision(request, task_id: Id, body: TaskDecisionIn):
    task = services.task_decide(
        reviewer=request.user,
        task_id=task_id,
        decision=body.decision,
        reason=body.reason,
        expected_row_version=body.row_version,
        produced=body.produced,
    )
    return _task_out(request, task.pk)


def _task_out(request, task_id: Id) -> dict[str, Any]:
    from tongban.cases.models import Task

    task = Task.objects.select_related("case", "department").get(pk=task_id)
    return selectors._task_row(task)


class PrefillIn(Schema):
    kind: Kind
    code: str
    answers: dict[str, str] = {}
    enterprise_id: int | None = None


@router.post(
    "/me/form-prefill",
    response={200: dict[str, Any], **errors(400, 401, 403, 404, 422)},
    summary="表单预填（来自居民档案、企业档案）",
)
def form_prefill(request, body: PrefillIn):
    enterprise = None
    if body.enterprise_id is not None and 0 < body.enterprise_id < 2**62:
        enterprise = Enterprise.objects.filter(pk=body.enterprise_id).first()
    return selectors.form_prefill(
        user=request.user,
        kind=body.kind,
        code=body.code,
        answers=body.answers,
        enterprise=enterprise,
    )


class DraftIn(Schema):
    kind: Kind
    code: str
    answers: dict[str, str] = {}
    form_data: dict[str, Any] = {}


class DraftOut(Schema):
    kind: Kind
    code: str
    version: int
    answers: dict[str, Any]
    form_data: dict[str, Any]
    updated_at: dt.datetime


@router.put(
    "/me/drafts", response={200: DraftOut, **errors(400, 401, 403, 404, 422)}, summary="保存草稿"
)
def draft_put(request, body: DraftIn):
    return services.draft_save(
        applicant=request.user,
        kind=body.kind,
        code=body.code,
        answers=body.answers,
        form_data=body.form_data,
    )


@router.get(
    "/me/drafts/{kind}/{code}",
    response={200: DraftOut, **errors(400, 401, 404, 422)},
    summary="读取草稿",
)
def draft_get(request, kind: Kind, code: str):
    draft = selectors.draft_for(user=request.user, kind=kind, code=code)
    if draft is None:
        raise NotFound("没有该事项的草稿", code="DRAFT_NOT_FOUND")
    return draft


class TaskSupplementIn(Schema):
    materials: list[str] = []
    fields: list[str] = []
    reason: str
    row_version: int
    deadline: dt.date | None = None


@router.post(
    "/workbench/tasks/{task_id}/supplement-request",
    auth=staff_auth,
    response={200: TaskOut, **errors(400, 401, 403, 404, 409, 422, 503)},
    summary="审核中要求补正（仅限本事项所需材料和字段）",
)
def task_supplement_request(request, task_id: Id, body: TaskSupplementIn):
    services.task_request_supplement(
        reviewer=request.user,
        task_id=task_id,
        material_codes=body.materials,
        field_codes=body.fields,
        reason=body.reason,
        expected_row_version=body.row_version,
        deadline=body.deadline,
    )
    return _task_out(request, task_id)


@router.post(
    "/cases/{receipt_no}/deferred-materials/{material_code}",
    response={200: CaseOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="容缺材料后补（multipart：文件字段 material.<编码>）",
    openapi_extra=FILES_ONLY_BODY,
)
def case_deferred_material(request, receipt_no: str, material_code: str):
    number = _visible(request, receipt_no)
    files = _uploads(request).get(material_code, [])
    services.case_deferred_material_submit(
        applicant=request.user, receipt_no=number, material_code=material_code, files=files
    )
    return selectors.case_detail(user=request.user, receipt_no=number)


class HandoutRowOut(Schema):
    receipt_no: str
    receipt_display: str
    name: str
    applicant: str
    outcome: str
    outcome_label: str
    delivery: Literal[*Delivery.values]
    delivery_label: str
    hall: str
    concluded_at: dt.datetime | None


@router.get(
    "/handout/cases",
    response={200: list[HandoutRowOut], **errors(401, 403)},
    summary="出件队列（统一窗口出件）",
    auth=staff_auth,
)
def handout_cases(request):
    return selectors.handout_queue(user=request.user)


class HandOutIn(Schema):
    note: str = ""


@router.post(
    "/cases/{receipt_no}/handout",
    auth=staff_auth,
    response={200: CaseOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="出件（窗口领取登记领取人；邮寄送达须填快递单号）",
)
def case_hand_out(request, receipt_no: str, body: HandOutIn | None = None):
    number = _visible(request, receipt_no)
    services.case_hand_out(actor=request.user, receipt_no=number, note=body.note if body else "")
    return selectors.case_detail(user=request.user, receipt_no=number)
