"""Errors of 在线客服, each with a stable code, a Chinese message and one HTTP status."""

from __future__ import annotations

from tongban.common.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class ConversationNotFound(NotFound):
    code = "HELPDESK_NOT_FOUND"
    message = "未找到该咨询会话"


class HelpdeskNotAllowed(PermissionDenied):
    code = "HELPDESK_NOT_ALLOWED"
    message = "只有在线客服岗位的工作人员可以办理"


class ConversationAlreadyClaimed(Conflict):
    code = "HELPDESK_ALREADY_CLAIMED"
    message = "该咨询已由其他客服接入"


class ConversationNotYours(PermissionDenied):
    code = "HELPDESK_NOT_YOURS"
    message = "该咨询由其他客服接待，您不能回复"


class ConversationClosed(Conflict):
    code = "HELPDESK_CLOSED"
    message = "该咨询已结束"


class ConversationWrongState(Conflict):
    code = "HELPDESK_WRONG_STATE"
    message = "该咨询当前状态不能进行此操作，请刷新页面"


class LoginRequiredToLeaveMessage(PermissionDenied):
    code = "HELPDESK_LOGIN_REQUIRED"
    message = "非服务时间留言须先登录，答复将发送到您的消息中心"
    http_status = 401


class LinkNotAllowed(InvalidInput):
    code = "HELPDESK_LINK_NOT_ALLOWED"
    message = "只能推送本平台的办事指南、在线申请或预约页面"


class HelpdeskInvalid(InvalidInput):
    """Bad input to a message, a consent or a rating; the `code` names which (see services)."""

    code = "HELPDESK_INVALID"
    message = "填写有误，请检查后重新提交"


class ConsentNotActive(PermissionDenied):
    code = "HELPDESK_CONSENT_NOT_ACTIVE"
    message = "咨询人未授权查看草稿，或授权已撤回"


class RatingNotAllowed(PermissionDenied):
    code = "HELPDESK_RATING_NOT_ALLOWED"
    message = "登录后才能评价，且只能评价已结束的咨询"
