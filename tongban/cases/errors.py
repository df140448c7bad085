"""Case errors: stable codes, Chinese messages."""

from __future__ import annotations

from tongban.common.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class CaseNotFound(NotFound):
    code = "CASE_NOT_FOUND"
    message = "未找到该办件"


class DraftNotFound(NotFound):
    code = "DRAFT_NOT_FOUND"
    message = "未找到您的草稿，请从办事指南重新开始申请"


class DraftUploadNotFound(NotFound):
    code = "DRAFT_UPLOAD_NOT_FOUND"
    message = "未找到该文件"


class TaskNotFound(NotFound):
    code = "TASK_NOT_FOUND"
    message = "未找到该任务"


class CaseFormInvalid(InvalidInput):
    code = "CASE_FORM_INVALID"
    message = "申请表填写有误，请按提示修改"


class CaseMaterialsInvalid(InvalidInput):
    code = "CASE_MATERIALS_INVALID"
    message = "申请材料不符合要求，请按提示修改"


class UploadRefused(InvalidInput):
    code = "UPLOAD_REFUSED"
    message = "上传的文件不符合要求"


class IdempotencyKeyRequired(DomainError):
    code = "IDEMPOTENCY_KEY_REQUIRED"
    message = "提交申请须带 Idempotency-Key 请求头"
    http_status = 400


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    message = "该幂等键已用于另一份不同的申请"


class CaseNotAcceptable(Conflict):
    code = "CASE_NOT_ACCEPTABLE"
    message = "办件当前状态不允许此操作"


class NotAnAcceptor(PermissionDenied):
    code = "NOT_AN_ACCEPTOR"
    message = "只有牵头部门的受理人员或本大厅综合窗口人员可以办理受理"


class CounterHallRequired(PermissionDenied):
    code = "COUNTER_HALL_REQUIRED"
    message = "您的综合窗口岗位尚未指定所在大厅，无法代为提交，请联系管理员"


class NotAnIssuer(PermissionDenied):
    code = "NOT_AN_ISSUER"
    message = "只有办件所在大厅的出件或综合窗口人员可以出件"


class CaseNotAwaitingHandout(Conflict):
    code = "CASE_NOT_AWAITING_HANDOUT"
    message = "该办件尚未办结或无需窗口出件"


class CaseAlreadyHandedOut(Conflict):
    code = "CASE_ALREADY_HANDED_OUT"
    message = "该办件已出件"


class NotTheApplicant(PermissionDenied):
    code = "NOT_THE_APPLICANT"
    message = "只有申请人本人可以补正"


class NotAReviewer(PermissionDenied):
    code = "NOT_A_REVIEWER"
    message = "只有该部门的审核人员可以办理此任务"


class TaskConflict(Conflict):
    code = "TASK_CONFLICT"
    message = "该任务已被他人处理或修改，请刷新后重试"


class TaskNotOpen(Conflict):
    code = "TASK_NOT_OPEN"
    message = "该任务当前不可办理"


class NotForApplicant(PermissionDenied):
    code = "APPLICANT_NOT_ELIGIBLE"
    message = "当前账号不能以该身份申请"


class MaterialFileNotFound(NotFound):
    code = "MATERIAL_NOT_FOUND"
    message = "未找到该材料"


class CaseDuplicateOpen(Conflict):
    """重复申请: the applicant already has an open case for the same person and service."""

    code = "CASE_DUPLICATE_OPEN"
    message = "您已有一件相同的申请正在办理，如确需再次申请，请确认后提交"
