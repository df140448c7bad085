"""Errors of 智能客服, each with a stable code, a Chinese message and one HTTP status."""

from __future__ import annotations

from tongban.common.errors import DomainError, InvalidInput, NotFound, TooManyRequests


class AssistantQuestionEmpty(InvalidInput):
    code = "ASSISTANT_QUESTION_EMPTY"
    message = "请输入您的问题"


class AssistantQuestionTooLong(InvalidInput):
    code = "ASSISTANT_QUESTION_TOO_LONG"
    message = "问题太长了，请用200字以内说明"


class AssistantAnswerInvalid(InvalidInput):
    code = "ASSISTANT_ANSWER_INVALID"
    message = "所选答案无效，请重新选择"


class AssistantConversationNotFound(NotFound):
    code = "ASSISTANT_CONVERSATION_NOT_FOUND"
    message = "未找到该对话"


class AssistantThrottled(TooManyRequests):
    code = "ASSISTANT_THROTTLED"
    message = "提问过于频繁，请稍后再试"

    def __init__(self, retry_after_seconds: int):
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"提问过于频繁，请{retry_after_seconds}秒后再试")


class AssistantCsrfFailed(DomainError):
    code = "CSRF_FAILED"
    message = "页面已过期，请刷新页面后重试"
    http_status = 403


class AssistantHandoffUnavailable(DomainError):
    code = "ASSISTANT_HANDOFF_UNAVAILABLE"
    message = "人工客服暂时无法接入，请拨打 12345 政务服务便民热线"
    http_status = 503
