"""Errors of passkey enrolment and the passkey login step. Codes are stable: tests match them."""

from __future__ import annotations

from tongban.accounts.errors import LoginThrottled
from tongban.common.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class PasskeyNameInvalid(InvalidInput):
    code = "PASSKEY_NAME_INVALID"
    message = "请为通行密钥起一个名称（1至30个字），例如“我的手机”"


class PasskeyChallengeExpired(DomainError):
    # Missing, used or too old: one message, since the remedy is the same.
    code = "PASSKEY_CHALLENGE_EXPIRED"
    message = "本次验证已超时或已使用，请重新点击按钮再试一次"
    http_status = 400


class PasskeyRegistrationFailed(DomainError):
    code = "PASSKEY_REGISTRATION_FAILED"
    message = "通行密钥未能添加：设备返回的信息未通过校验，请重试"
    http_status = 400


class PasskeyAlreadyRegistered(Conflict):
    code = "PASSKEY_ALREADY_REGISTERED"
    message = "这个通行密钥已经添加过，无需重复添加"


class PasskeyLimitReached(Conflict):
    code = "PASSKEY_LIMIT_REACHED"
    message = "每个账户最多添加10个通行密钥，请先删除不再使用的"


class PasskeyNotFound(NotFound):
    code = "PASSKEY_NOT_FOUND"
    message = "未找到该通行密钥，可能已被删除"


class PasskeyPasswordInvalid(PermissionDenied):
    code = "PASSKEY_PASSWORD_INVALID"
    message = "登录密码不正确，通行密钥没有删除"


class PasskeyInvalid(DomainError):
    # One message for an unknown key, a bad signature, a wrong site and a replay: an attacker
    # learns nothing from which check refused them.
    code = "PASSKEY_INVALID"
    message = "通行密钥验证未通过，请重试，或改用其他验证方式"
    http_status = 401


class PasskeyNotEnrolled(Conflict):
    code = "PASSKEY_NOT_ENROLLED"
    message = "该账户尚未添加通行密钥"


class PasskeyThrottled(LoginThrottled):
    code = "PASSKEY_THROTTLED"
    message = "通行密钥验证失败次数较多，请稍后再试"
    lead = "通行密钥验证失败次数较多，为保护您的账户，"


class PasskeyUnavailableHere(DomainError):
    code = "PASSKEY_UNAVAILABLE_HERE"
    message = "当前网址不能使用通行密钥，请从本平台的正式网址访问"
    http_status = 400
