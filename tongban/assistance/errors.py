"""Errors of 行政协助, each with a stable code, a Chinese message and one HTTP status."""

from __future__ import annotations

from tongban.common.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class AssistanceNotFound(NotFound):
    code = "ASSISTANCE_NOT_FOUND"
    message = "未找到该行政协助请求"


class AssistanceNotAllowed(PermissionDenied):
    code = "ASSISTANCE_NOT_ALLOWED"
    message = "您的岗位不能办理该行政协助"


class AssistanceClosed(Conflict):
    code = "ASSISTANCE_CLOSED"
    message = "该行政协助已答复或已撤回，不能再办理"


class AssistanceAlreadyOpen(Conflict):
    code = "ASSISTANCE_ALREADY_OPEN"
    message = "已就同一对象向该部门发起行政协助，正在等待答复"


class AssistanceTaskNotOpen(Conflict):
    code = "ASSISTANCE_TASK_NOT_OPEN"
    message = "该任务已办结，不能再发起行政协助"


class AssistanceSameDepartment(InvalidInput):
    code = "ASSISTANCE_SAME_DEPARTMENT"
    message = "不能向本部门发起行政协助"
    http_status = 400


class AssistanceInvalid(InvalidInput):
    """Bad input to a request or an answer; the `code` names which (see services)."""

    code = "ASSISTANCE_INVALID"
    message = "行政协助信息有误，请检查后重新提交"
