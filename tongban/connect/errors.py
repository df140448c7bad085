"""Errors of 接入管理. Codes are stable: connected systems and tests match on them."""

from __future__ import annotations

from tongban.common.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)


class TokenInvalid(AuthenticationRequired):
    # One answer for unknown, revoked and expired tokens, and for a disabled client: a caller
    # learns only that it must obtain a new token.
    code = "TOKEN_INVALID"
    message = "访问令牌无效、已过期或已被撤销，请重新获取授权"


class ScopeMissing(PermissionDenied):
    code = "SCOPE_MISSING"
    message = "该应用未获得执行此操作的授权"


class NotConnectAdministrator(PermissionDenied):
    code = "NOT_CONNECT_ADMINISTRATOR"
    message = "只有系统管理员可以登记和管理接入应用"


class ClientNotFound(NotFound):
    code = "CLIENT_NOT_FOUND"
    message = "未找到该接入应用"


class ConsentNotFound(NotFound):
    code = "CONSENT_NOT_FOUND"
    message = "未找到该授权记录"


class InvalidRedirectUri(InvalidInput):
    code = "INVALID_REDIRECT_URI"
    message = "回调地址须为完整的网址（以 https:// 开头，不含 # 片段），每行一个"


class InvalidScopes(InvalidInput):
    code = "INVALID_SCOPES"
    message = "所选权限范围与应用类型不符"


class LegalBasisRequired(InvalidInput):
    code = "LEGAL_BASIS_REQUIRED"
    message = "申请获取身份证号码须填写法律依据"


class ServiceAccountRequired(InvalidInput):
    code = "SERVICE_ACCOUNT_REQUIRED"
    message = "部门系统须指定所属部门和岗位"


class ClientDisabled(Conflict):
    code = "CLIENT_DISABLED"
    message = "该接入应用已停用"
