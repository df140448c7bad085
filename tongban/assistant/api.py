"""/api/v1/assistant: 智能客服. Thin: parse, call the same service as the page, shape.

Session based like the pages (a visitor's conversation is bound to the browser session), so
every call carrying the session cookie passes Django's CSRF check: a page on another site
cannot ask in someone's conversation."""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.utils import check_csrf

from tongban.assistant import services
from tongban.assistant.errors import AssistantCsrfFailed
from tongban.common.api_schemas import errors

router = Router(tags=["assistant"])


class AssistantAskIn(Schema):
    question: str = Field("", max_length=2000, description="问题原文，不超过200字")
    conversation_id: int | None = Field(
        None, ge=1, le=2**62, description="继续的对话；不填则开始新对话"
    )
    answer_to: str = Field(
        "", max_length=64, description="回答追问：所选选项的 value（此时 question 可为空）"
    )


class AssistantSourceOut(Schema):
    field: str = Field(..., description="出处：定义中的字段")
    label: str = Field(..., description="出处：字段的中文名称")
    url: str = Field(..., description="出处：办事指南或政策页面的相应部分")


class AssistantSentenceOut(Schema):
    text: str
    source: AssistantSourceOut | None = Field(None, description="固定话术（问候、无法回答）时为空")


class AssistantOptionOut(Schema):
    value: str
    label: str


class AssistantAsksOut(Schema):
    question: str
    options: list[AssistantOptionOut]
    help: str = ""


class AssistantActionOut(Schema):
    label: str
    url: str
    method: Literal["get", "post"] = "get"


class AssistantAnswerOut(Schema):
    kind: Literal["answer", "ask", "decline", "cases", "login", "greeting", "clarify", "handoff"]
    sentences: list[AssistantSentenceOut]
    asks: AssistantAsksOut | None = None
    actions: list[AssistantActionOut]


class AssistantTargetOut(Schema):
    kind: Literal["item", "bundle", "policy"]
    code: str
    name: str


class AssistantAskOut(Schema):
    conversation_id: int
    answer: AssistantAnswerOut
    target: AssistantTargetOut | None = None


SESSION_IDS = "assistant_ids"


def remember_for_visitor(request: HttpRequest, conversation) -> None:
    """A visitor's session remembers the conversations it started, so that logging in
    (which changes the session key but keeps the session's data) keeps them."""
    if conversation.owner_id is not None:
        return
    ids = request.session.get(SESSION_IDS, [])
    ids = [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []
    if conversation.pk not in ids:
        request.session[SESSION_IDS] = [*ids, conversation.pk][-services.REMEMBERED_MAX :]


def attach_remembered(request: HttpRequest) -> None:
    """Once the visitor has logged in, what they asked before becomes their account's."""
    if not request.user.is_authenticated or SESSION_IDS not in request.session:
        return
    ids = request.session.pop(SESSION_IDS)
    services.assistant_attach_remembered(
        user=request.user,
        remembered_ids=ids if isinstance(ids, list) else [],
        ip_address=request.META.get("REMOTE_ADDR"),
    )


def session_key_for(request: HttpRequest) -> str:
    """The browser session a visitor's conversation is bound to, started if there is none."""
    session = request.session
    if not session.session_key:
        session.save()
    return session.session_key or ""


@router.post(
    "assistant/ask",
    auth=None,
    response={200: AssistantAskOut, **errors(400, 403, 404, 422, 429)},
    summary="智能客服提问",
    description="用自己的话提问，回答只由办事指南和政策的字段组成，每句注明出处。需要按情形"
    "回答时返回追问（asks），用 answer_to 回答。可带请求头 Idempotency-Key，重复提交只回答一次。"
    "错误：问题为空 422 ASSISTANT_QUESTION_EMPTY，超过200字 422 ASSISTANT_QUESTION_TOO_LONG，"
    "不是本人的对话 404 ASSISTANT_CONVERSATION_NOT_FOUND，过于频繁 429 ASSISTANT_THROTTLED。",
)
def assistant_ask(request, body: AssistantAskIn):
    if (
        request.COOKIES.get(settings.SESSION_COOKIE_NAME) is not None
        and check_csrf(request) is not None
    ):
        raise AssistantCsrfFailed()
    attach_remembered(request)
    asked = services.assistant_ask(
        user=request.user,
        session_key=session_key_for(request),
        question=body.question,
        conversation_id=body.conversation_id,
        answer_to=body.answer_to,
        client_key=request.headers.get("Idempotency-Key", ""),
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    remember_for_visitor(request, asked.conversation)
    answer = asked.answer.as_dict()
    return {
        "conversation_id": asked.conversation.pk,
        "answer": answer,
        "target": answer.get("target"),
    }
