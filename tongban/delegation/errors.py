"""Errors of 亲友代办. Codes are stable: clients and tests match on them."""

from __future__ import annotations

from tongban.common.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class DelegationNotValid(PermissionDenied):
    """Asked of an authorisation that is not (or no longer) live for this person and item."""

    code = "DELEGATION_NOT_VALID"
    message = "该代办授权已撤销、已过期或不包含此事项，不能代为办理"


class DelegationNotFound(NotFound):
    code = "DELEGATION_NOT_FOUND"
    message = "未找到该代办授权"


class DelegationInvalid(InvalidInput):
    code = "DELEGATION_INVALID"
    message = "代办授权填写有误，请检查后重新提交"


class DelegationSelf(InvalidInput):
    code = "DELEGATION_SELF"
    message = "不能授权本人为自己代办"


class DelegationExists(Conflict):
    code = "DELEGATION_EXISTS"
    message = "您已授权此人代办（或授权正待对方确认），如需调整范围请先撤销原授权"


class DelegationNotPending(Conflict):
    code = "DELEGATION_NOT_PENDING"
    message = "该授权已不在待确认状态"
