"""Errors of 授权数据使用. Codes are stable: institutions' systems and tests match on them."""

from __future__ import annotations

from tongban.common.errors import InvalidInput, NotFound, PermissionDenied


class ConsentNotFound(NotFound):
    """Also what another institution (or another holder) is told: nothing says whose it is."""

    code = "CONSENT_NOT_FOUND"
    message = "未找到该数据授权"


class ConsentRevoked(PermissionDenied):
    code = "CONSENT_REVOKED"
    message = "该数据授权已被授权人撤销，不能再查询"


class ConsentExpired(PermissionDenied):
    code = "CONSENT_EXPIRED"
    message = "该数据授权已过期，不能再查询"


class ConsentInvalid(InvalidInput):
    code = "CONSENT_INVALID"
    message = "数据授权填写有误，请检查后重新提交"


class NotConsentHolder(PermissionDenied):
    """An enterprise's data is given only by its 法定代表人 or 管理员, not by an 经办人."""

    code = "NOT_CONSENT_HOLDER"
    message = "只有企业的法定代表人或管理员可以授权机构使用企业数据"


class ProfileRequired(PermissionDenied):
    code = "PROFILE_REQUIRED"
    message = "您的账户尚未关联居民档案，不能授权使用个人数据"


class InstitutionNotFound(NotFound):
    code = "INSTITUTION_NOT_FOUND"
    message = "未找到该授权使用机构"


class InstitutionInvalid(InvalidInput):
    code = "INSTITUTION_INVALID"
    message = "机构登记信息有误"


class NotPlatformAdministrator(PermissionDenied):
    code = "NOT_PLATFORM_ADMINISTRATOR"
    message = "只有平台系统管理员可以登记授权使用机构"
