"""Errors of 好差评, each with a stable code and a Chinese message."""

from __future__ import annotations

from tongban.common.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class NothingToRate(NotFound):
    code = "REVIEW_NOTHING_TO_RATE"
    message = "未找到可评价的办件或服务"


class AlreadyRated(Conflict):
    code = "REVIEW_ALREADY_RATED"
    message = "您已评价过本次服务（一事一评、一次一评）"


class WindowClosed(InvalidInput):
    code = "REVIEW_WINDOW_CLOSED"
    message = "已超过评价期限"


class NotYetRateable(InvalidInput):
    code = "REVIEW_NOT_YET_RATEABLE"
    message = "办件办结后方可评价"


class OrderNotFound(NotFound):
    code = "REVIEW_ORDER_NOT_FOUND"
    message = "未找到该整改工单"


class RatingNotFound(NotFound):
    code = "REVIEW_RATING_NOT_FOUND"
    message = "未找到该评价"


class AppealNotFound(NotFound):
    code = "REVIEW_APPEAL_NOT_FOUND"
    message = "未找到该申诉"


class NotOrderHandler(PermissionDenied):
    code = "REVIEW_NOT_ORDER_HANDLER"
    message = "只有责任部门的负责人或受理人员可以处理该工单"


class NotCityOperator(PermissionDenied):
    code = "REVIEW_NOT_CITY_OPERATOR"
    message = "只有城市运营人员可以复核申诉"


class OrderWrongState(Conflict):
    code = "REVIEW_ORDER_WRONG_STATE"
    message = "工单当前状态不允许此操作"


class AppealExists(Conflict):
    code = "REVIEW_APPEAL_EXISTS"
    message = "该评价已有待复核或已成立的申诉"


class AppealDecided(Conflict):
    code = "REVIEW_APPEAL_DECIDED"
    message = "该申诉已复核"


class ComplaintNotFound(NotFound):
    code = "COMPLAINT_NOT_FOUND"
    message = "未找到该投诉建议"


class ComplaintExternalRefExists(Conflict):
    code = "COMPLAINT_EXTERNAL_REF_EXISTS"
    message = "该转办编号已登记，请勿重复登记"


class ComplaintAlreadyRouted(Conflict):
    code = "COMPLAINT_ALREADY_ROUTED"
    message = "该投诉建议已分派责任部门"


class CallbackNotApplicable(Conflict):
    code = "COMPLAINT_CALLBACK_NOT_APPLICABLE"
    message = "网上提交的投诉建议由提交人本人评价，无需回访登记"
