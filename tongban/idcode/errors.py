from __future__ import annotations

from tongban.common.errors import InvalidInput, NotFound


class NoResidentProfile(NotFound):
    code = "IDCODE_NO_PROFILE"
    message = "您的账户尚未关联居民档案，暂不能使用随申码。"


class EnterpriseNotFound(NotFound):
    code = "IDCODE_ENTERPRISE_NOT_FOUND"
    message = "未找到该企业，或您不是该企业的经办人。"


class EnterpriseNotActive(InvalidInput):
    code = "IDCODE_ENTERPRISE_NOT_ACTIVE"
    message = "该企业已注销或不在存续状态，不再签发一企一码。"
    http_status = 409


class UnknownScenario(InvalidInput):
    code = "IDCODE_UNKNOWN_SCENARIO"
    message = "场景代码不在登记表中。"
