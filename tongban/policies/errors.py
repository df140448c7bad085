from __future__ import annotations

from tongban.common.errors import NotFound


class PolicyNotFound(NotFound):
    code = "POLICY_NOT_FOUND"
    message = "未找到该政策，或该政策不在有效期内。"
