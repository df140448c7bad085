"""Errors of 开放数据. Codes are stable: developers' programs match on them."""

from __future__ import annotations

from tongban.common.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidInput,
    NotFound,
    TooManyRequests,
)


class DatasetNotFound(NotFound):
    code = "DATASET_NOT_FOUND"
    message = "未找到该数据集"


class ApiKeyRequired(AuthenticationRequired):
    code = "API_KEY_REQUIRED"
    message = "请在请求头 X-API-Key 中提供接口密钥（登记为开发者后在“开放数据 · 开发者”页面获取）"


class ApiKeyInvalid(AuthenticationRequired):
    # One answer for a key that never existed and one revoked: a caller learns only that it
    # needs a new key.
    code = "API_KEY_INVALID"
    message = "接口密钥无效或已撤销，请在“开放数据 · 开发者”页面创建新密钥"


class ApiRateLimited(TooManyRequests):
    code = "API_RATE_LIMITED"

    def __init__(self, *, retry_after_seconds: int, limit: int):
        self.retry_after_seconds = retry_after_seconds
        super().__init__(
            f"调用过于频繁：每个密钥每分钟最多调用{limit}次，请{retry_after_seconds}秒后再试"
        )


class DeveloperNotRegistered(Conflict):
    code = "DEVELOPER_NOT_REGISTERED"
    message = "请先登记为开发者"


class DeveloperAlreadyRegistered(Conflict):
    code = "DEVELOPER_ALREADY_REGISTERED"
    message = "您已登记为开发者，可直接创建或撤销密钥"


class ApiKeyNotFound(NotFound):
    code = "API_KEY_NOT_FOUND"
    message = "未找到该密钥"


class DeveloperInputInvalid(InvalidInput):
    code = "DEVELOPER_INPUT_INVALID"
    message = "请填写应用名称、用途说明和有效的联系邮箱"
