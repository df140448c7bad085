"""Domain errors: a stable code for machines, a Chinese message for people, one HTTP status.

Services raise these; the API's exception handler and the pages turn them into a 4xx answer
of the shape {"code": ..., "message": ...}. Nothing here knows about HTTP beyond the number.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "DOMAIN_ERROR"
    message = "请求无法处理"
    http_status = 400

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ):
        self.message = message or self.message
        self.code = code or self.code
        self.details = details or []
        super().__init__(f"{self.code}: {self.message}")

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(DomainError):
    code = "INVALID_INPUT"
    message = "输入有误，请检查后重新提交"
    http_status = 422


class NotFound(DomainError):
    code = "NOT_FOUND"
    message = "未找到"
    http_status = 404


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"
    message = "无权进行此操作"
    http_status = 403


class AuthenticationRequired(DomainError):
    code = "AUTHENTICATION_REQUIRED"
    message = "请先登录"
    http_status = 401


class Conflict(DomainError):
    code = "CONFLICT"
    message = "数据已被他人修改，请刷新后重试"
    http_status = 409


class TooManyRequests(DomainError):
    code = "TOO_MANY_REQUESTS"
    message = "操作过于频繁，请稍后再试"
    http_status = 429
    # Whole seconds until a retry can succeed, when known; sent as the Retry-After header.
    retry_after_seconds: int | None = None


class AuditAppendOnly(DomainError):
    """The audit trail (审计日志, and with it 我的数据使用记录) is append-only: a row once
    written is never changed or removed, so what a resident was shown stays true."""

    code = "AUDIT_APPEND_ONLY"
    message = "审计日志只能追加，不能修改或删除"
    http_status = 409
