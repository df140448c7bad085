"""Errors of registration, 实名认证, SMS codes, password reset and levels of assurance."""

from __future__ import annotations

from tongban.accounts.errors import _Throttled
from tongban.common.errors import Conflict, InvalidInput, PermissionDenied


class MobileInvalid(InvalidInput):
    code = "MOBILE_INVALID"
    message = "请输入11位手机号码，以1开头"


class NameRequired(InvalidInput):
    code = "NAME_REQUIRED"
    message = "请输入姓名"


class RealNameMismatch(InvalidInput):
    # One message for "not in the register" and "a different name": a guesser must not learn
    # which half was right.
    code = "REAL_NAME_MISMATCH"
    message = (
        "实名核验未通过：姓名与身份证号码不一致，或未查到该身份信息。"
        "请核对姓名（含生僻字）和身份证号码后重试；仍不通过的，请携带身份证到政务服务中心综合窗口办理。"
    )


class SmsCodeInvalid(InvalidInput):
    # Wrong, expired, used and used-up codes, and a code page opened without a challenge, all
    # answer alike.
    code = "SMS_CODE_INVALID"
    message = (
        "短信验证码不正确或已失效。请核对短信中的6位数字；已超过10分钟或输错5次的，请重新获取。"
    )


class SmsThrottled(_Throttled):
    code = "SMS_THROTTLED"
    message = "获取验证码过于频繁，请稍后再试"
    lead = "获取验证码过于频繁，为防止短信被滥用，"


class ResetThrottled(_Throttled):
    code = "RESET_THROTTLED"
    message = "找回密码尝试次数较多，请稍后再试"
    lead = "找回密码尝试次数较多，为保护账户安全，"


class MobileLimitReached(Conflict):
    code = "MOBILE_LIMIT_REACHED"
    message = (
        "该手机号码已验证过3个账户，不能再用于注册。请换一个手机号码，或携带身份证到综合窗口办理。"
    )


class AlreadyRegistered(Conflict):
    code = "ALREADY_REGISTERED"
    message = "该身份证号码已有账户，请直接登录；忘记密码的，请使用“找回密码”。"


class NoResidentProfile(Conflict):
    code = "NO_RESIDENT_PROFILE"
    message = "您的账户尚未关联居民档案，无法在线实名核验。请携带身份证到政务服务中心综合窗口办理。"


class AssuranceTooLow(PermissionDenied):
    code = "ASSURANCE_TOO_LOW"
    message = "办理该事项需要更高的身份核验等级"
