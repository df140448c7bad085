from __future__ import annotations

from tongban.common.errors import InvalidInput, NotFound, PermissionDenied


class PolicyNotFound(NotFound):
    code = "POLICY_NOT_FOUND"
    message = "未找到该政策，或该政策不在有效期内。"


class NothingToDecline(InvalidInput):
    code = "POLICY_NOTHING_TO_DECLINE"
    message = "您没有可以放弃的该项政策待遇。"
    http_status = 409


class ReviewNotFound(NotFound):
    code = "POLICY_REVIEW_NOT_FOUND"
    message = "未找到该复核，或它已处理，或不属于您所在部门。"


class DeclineNeedsLegalRepresentative(PermissionDenied):
    code = "POLICY_DECLINE_LEGAL_REP_ONLY"
    message = "企业的政策待遇只能由法定代表人放弃。"


class FundActionRefused(InvalidInput):
    code = "FUND_ACTION_REFUSED"
    message = "专项资金批次当前不能进行此操作。"
    http_status = 409


class FundNotYours(NotFound):
    code = "FUND_NOT_FOUND"
    message = "未找到该专项资金批次，或您不是实施部门的评审人员。"


class PaymentActionRefused(InvalidInput):
    code = "PAYMENT_ACTION_REFUSED"
    message = "发放批次当前不能进行此操作。"
    http_status = 409


class PaymentNotYours(NotFound):
    code = "PAYMENT_NOT_FOUND"
    message = "未找到该政策的发放批次，或您不是实施部门的负责人。"
