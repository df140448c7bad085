"""Errors of 告知承诺事后核查, with stable codes."""

from __future__ import annotations

from tongban.common.errors import Conflict, DomainError, InvalidInput, NotFound


class CheckNotFound(NotFound):
    """Also what staff of another department get: a check outside their department does
    not exist for them."""

    code = "COMMITMENT_CHECK_NOT_FOUND"
    message = "未找到该核查任务"


class CheckDecided(Conflict):
    code = "COMMITMENT_CHECK_DECIDED"
    message = "该核查任务已有结论"


class VerdictInvalid(InvalidInput):
    code = "COMMITMENT_CHECK_VERDICT_INVALID"
    message = "核查结论只能是属实、不实或无法核查"


class NoteRequired(InvalidInput):
    code = "COMMITMENT_CHECK_NOTE_REQUIRED"
    message = "请填写核查说明（认定不实或无法核查时必填）"


class NoteTooLong(InvalidInput):
    code = "COMMITMENT_CHECK_NOTE_TOO_LONG"
    message = "核查说明最多 500 个字"


class FollowUpNotFound(NotFound):
    code = "COMMITMENT_FOLLOWUP_NOT_FOUND"
    message = "未找到该失信处置"


class FollowUpClosed(Conflict):
    code = "COMMITMENT_FOLLOWUP_CLOSED"
    message = "该失信处置已办结"


class FollowUpNotAllowed(DomainError):
    code = "COMMITMENT_FOLLOWUP_NOT_ALLOWED"
    message = "撤销办理结果须由本部门出件人员或部门负责人操作"
    http_status = 403
