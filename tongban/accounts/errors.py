"""Errors of accounts, profiles and login. Codes are stable: clients and tests match on them."""

from __future__ import annotations

import datetime as dt
import math

from django.utils import timezone

from tongban.common.errors import (
    AuthenticationRequired,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooManyRequests,
)


class ResidentExists(Conflict):
    code = "RESIDENT_EXISTS"
    message = "该身份证号码已建立居民档案，请勿重复登记"


class ResidentAccountExists(Conflict):
    code = "RESIDENT_ACCOUNT_EXISTS"
    message = "该居民档案已绑定账户"


class UsernameTaken(Conflict):
    code = "USERNAME_TAKEN"
    message = "该用户名已被使用，请换一个"


class PasswordTooWeak(InvalidInput):
    code = "PASSWORD_TOO_WEAK"
    message = "密码强度不足"


class EnterpriseExists(Conflict):
    code = "ENTERPRISE_EXISTS"
    message = "该统一社会信用代码已建立企业档案，请勿重复登记"


class ResidentProfileNotFound(NotFound):
    code = "RESIDENT_PROFILE_NOT_FOUND"
    message = "未找到居民档案"


class EnterpriseNotFound(NotFound):
    code = "ENTERPRISE_NOT_FOUND"
    message = "未找到企业档案"


class PurposeRequired(InvalidInput):
    code = "PURPOSE_REQUIRED"
    message = "查阅他人个人信息须说明用途"


class PurposeTooLong(InvalidInput):
    code = "PURPOSE_TOO_LONG"
    message = "用途说明不能超过200个字"


class StaffOnly(PermissionDenied):
    code = "STAFF_ONLY"
    message = "仅限工作人员访问"


class NotYourData(PermissionDenied):
    code = "PERMISSION_DENIED"
    message = "无权查看他人的信息"


class LoginRequired(AuthenticationRequired):
    code = "AUTHENTICATION_REQUIRED"
    message = "请先登录"


class InvalidCredentials(DomainError):
    # One message for "no such user" and "wrong password": the form must not reveal which
    # usernames exist.
    code = "INVALID_CREDENTIALS"
    message = "用户名或密码不正确"
    http_status = 401


def _wait_phrase(retry_after_seconds: int, retry_at: dt.datetime, now: dt.datetime) -> str:
    """How long to wait, as a person reads it: seconds for a short wait, the clock time (and
    about how many minutes) for a longer one."""
    if retry_after_seconds < 60:
        return f"请{retry_after_seconds}秒后再试"
    # Shown to the minute, rounded up: "14:05后" must not come before the retry is allowed.
    local = timezone.localtime(retry_at)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    same_day = timezone.localtime(now).date() == local.date()
    when = f"{local:%H:%M}" if same_day else f"{local:%m月%d日 %H:%M}"
    minutes = (retry_after_seconds + 59) // 60
    return f"请于{when}后再试（约{minutes}分钟后）"


class _Throttled(TooManyRequests):
    """A try refused for a while. Carries when it may be made again; the API and the pages
    send that as Retry-After with the 429. The wait is never a lock: it ends by itself."""

    lead = ""
    tail = ""

    def __init__(self, *, retry_at: dt.datetime, now: dt.datetime):
        self.retry_at = retry_at
        self.retry_after_seconds = max(1, math.ceil((retry_at - now).total_seconds()))
        wait = _wait_phrase(self.retry_after_seconds, retry_at, now)
        super().__init__(self.lead + wait + self.tail)


class LoginThrottled(_Throttled):
    code = "LOGIN_THROTTLED"
    message = "登录失败次数较多，请稍后再试"
    lead = "登录失败次数较多，为防止密码被猜测，"


class TotpThrottled(LoginThrottled):
    code = "TOTP_THROTTLED"
    message = "动态验证码错误次数较多，请稍后再试"
    lead = "动态验证码错误次数较多，为防止验证码被猜测，"


class TotpCodeMalformed(InvalidInput):
    code = "TOTP_CODE_MALFORMED"
    message = "请输入6位数字动态验证码"


class TotpInvalid(DomainError):
    code = "TOTP_INVALID"
    message = "动态验证码不正确，请核对手机上显示的最新验证码"
    http_status = 401


class TotpReplayed(DomainError):
    code = "TOTP_REPLAYED"
    message = "该动态验证码已使用过，请等待手机上出现新的验证码后再输入"
    http_status = 401


class TotpNotEnrolled(Conflict):
    code = "TOTP_NOT_ENROLLED"
    message = "尚未开始设置双因素认证"


class TotpAlreadyEnabled(Conflict):
    code = "TOTP_ALREADY_ENABLED"
    message = "已启用双因素认证，无需重复设置"


class NotACounterClerk(PermissionDenied):
    code = "NOT_A_COUNTER_CLERK"
    message = "只有综合窗口人员可以开具账号激活码"


class AccountAlreadyActive(Conflict):
    code = "ACCOUNT_ALREADY_ACTIVE"
    message = "该居民的账号已设置登录密码，无需激活；忘记密码的，请按找回密码办理"


class ActivationInvalid(InvalidInput):
    # One message for a wrong, expired or used code and a non-matching ID number: the page
    # must not tell a guesser which part was right.
    code = "ACTIVATION_INVALID"
    message = (
        "身份证号码或激活码不正确，或激活码已失效。请核对回执上的激活码后重试；"
        "激活码丢失或超过72小时的，请到综合窗口重新开具。"
    )


class ActivationThrottled(_Throttled):
    code = "ACTIVATION_THROTTLED"
    message = "激活失败次数较多，请稍后再试"
    lead = "激活失败次数较多，为防止激活码被猜测，"
    tail = "；激活码遗失或已过期的，请携带身份证到综合窗口重新开具"


# --- 企业授权 (enterprise agents) ------------------------------------------------------------


class NotEnterpriseManager(PermissionDenied):
    code = "NOT_ENTERPRISE_MANAGER"
    message = "只有本企业的法定代表人或管理员可以管理授权"


class AdministratorGrantNeedsLegalRepresentative(PermissionDenied):
    code = "ADMIN_GRANT_NEEDS_LEGAL_REP"
    message = "只有法定代表人可以任命或撤销管理员"


class LegalRepresentativeProtected(PermissionDenied):
    code = "LEGAL_REP_PROTECTED"
    message = "法定代表人的授权随企业登记信息变更，不能在此撤销或修改"


class AgentAlreadyInvited(Conflict):
    code = "AGENT_ALREADY_INVITED"
    message = "该人员已有本企业的授权或待接受的邀请，如需调整请修改原授权"


class AgentGrantNotFound(NotFound):
    code = "AGENT_GRANT_NOT_FOUND"
    message = "未找到该授权"


class AgentGrantClosed(Conflict):
    code = "AGENT_GRANT_CLOSED"
    message = "该授权已撤销、已拒绝或已过期，不能再操作"


class InvitationNotFound(NotFound):
    # One message for "not yours", "already answered" and "withdrawn": nothing to probe.
    code = "INVITATION_NOT_FOUND"
    message = "未找到待您确认的企业授权邀请，可能已被撤回"


class AgentExpiryInvalid(InvalidInput):
    code = "AGENT_EXPIRY_INVALID"
    message = "授权截止日期不能早于今天"


class AgentItemsInvalid(InvalidInput):
    code = "AGENT_ITEMS_INVALID"
    message = "授权事项中有本平台没有的企业事项，请重新选择"


class AgentNameInvalid(InvalidInput):
    code = "AGENT_NAME_INVALID"
    message = "请填写被授权人姓名（1至30个字）"


class AgentRoleInvalid(InvalidInput):
    code = "AGENT_ROLE_INVALID"
    message = "授权身份只能是经办人或管理员"


class GrantToSelf(InvalidInput):
    code = "AGENT_GRANT_TO_SELF"
    message = "不能给自己授权"


class OutsideAgentScope(PermissionDenied):
    code = "OUTSIDE_AGENT_SCOPE"
    message = "您的企业授权不包括该事项，请联系本企业的法定代表人或管理员"


class AgentMayNotViewCertificates(PermissionDenied):
    code = "AGENT_MAY_NOT_VIEW_CERTIFICATES"
    message = "您的企业授权不包括查看企业证照"


class AgentMayNotShowIdcode(PermissionDenied):
    code = "AGENT_MAY_NOT_SHOW_IDCODE"
    message = "您的企业授权不包括出示企业随申码"
