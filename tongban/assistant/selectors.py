"""Reads of 智能客服: a conversation only for the person it belongs to — the account that
asked, or for a visitor the browser session that asked. To anyone else it does not exist
(404, never 403 that would confirm it does)."""

from __future__ import annotations

import json
from typing import Any

from tongban.assistant.answers import answer_from_dict
from tongban.assistant.errors import AssistantConversationNotFound
from tongban.assistant.models import Conversation, TurnRole
from tongban.common.crypto import lookup_hash

# A conversation opened again on the page within this long continues where it stopped.
RESUME_HOURS = 2


def key_hash(session_key: str) -> str:
    return lookup_hash(session_key, context="assistant.session")


def _mine(conversation: Conversation, *, user, session_key: str) -> bool:
    if user is not None and user.is_authenticated:
        return conversation.owner_id == user.pk
    return (
        conversation.owner_id is None
        and bool(session_key)
        and conversation.session_hash == key_hash(session_key)
    )


def conversation_for(*, user, session_key: str, conversation_id: Any) -> Conversation:
    try:
        pk = int(conversation_id)
    except (TypeError, ValueError):
        raise AssistantConversationNotFound() from None
    if not 0 < pk < 2**62:
        raise AssistantConversationNotFound()
    conversation = Conversation.objects.filter(pk=pk).first()
    if conversation is None or not _mine(conversation, user=user, session_key=session_key):
        raise AssistantConversationNotFound()
    return conversation


def conversation_latest(*, user, session_key: str, now) -> Conversation | None:
    """The person's conversation still going (a turn within RESUME_HOURS, not handed over)."""
    import datetime as dt

    rows = Conversation.objects.filter(
        updated_at__gte=now - dt.timedelta(hours=RESUME_HOURS), handed_over_at__isnull=True
    )
    if user is not None and user.is_authenticated:
        rows = rows.filter(owner=user)
    elif session_key:
        rows = rows.filter(owner__isnull=True, session_hash=key_hash(session_key))
    else:
        return None
    return rows.order_by("-updated_at", "-pk").first()


def conversation_turns(conversation: Conversation) -> list[dict[str, Any]]:
    """The turns as the page shows them: the question's words, or the answer's parts."""
    rows = []
    for t in conversation.turns.order_by("seq"):
        row: dict[str, Any] = {"seq": t.seq, "role": t.role, "text": t.text, "at": t.created_at}
        if t.role == TurnRole.ASSISTANT and t.answer:
            row["answer"] = answer_from_dict(json.loads(t.answer))
        rows.append(row)
    return rows


def conversation_situation(*, conversation_id: int, item_code: str) -> dict[str, str]:
    """The guide's situations the person answered in the conversation handed over to 在线客服
    (婚姻状况 …), when it is still about ITEM_CODE: the agent's links can carry them, as
    the assistant's own 在线办理 link does. Read for the agent serving that person only
    (the caller checks); {} when there is nothing."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None or not conversation.state:
        return {}
    state = json.loads(conversation.state)
    target = state.get("target") or {}
    if target.get("kind") != "item" or target.get("code") != item_code:
        return {}
    answers = state.get("answers") or {}
    return {str(k): str(v) for k, v in answers.items() if isinstance(v, str)}


def pending_options(conversation: Conversation) -> bool:
    """Whether the conversation waits for an ask-back answer."""
    if not conversation.state:
        return False
    return bool(json.loads(conversation.state).get("pending"))


# ---------------------------------------------------------------- 窗口智能辅助

STAFF_STATE_SALT = "tongban.assistant.staff_state"


def staff_assist_answer(
    *, question: str, item_code: str = "", state_token: str = "", answer_to: str = ""
) -> tuple[Any, str]:
    """A clerk's or reviewer's question over the guides (窗口智能辅助): the same reading and
    the same answers as the resident's assistant, about the service in front of them
    (ITEM_CODE) when the question names none. Nothing is stored and nothing personal is
    read: the answer is the guide's, for nobody in particular. The ask-back's state travels
    with the page, signed (STATE_TOKEN). Returns (answer, the next state token)."""
    from django.core import signing

    from tongban.assistant import answers as engine
    from tongban.assistant.intents import read
    from tongban.catalog.selectors import current_definitions

    try:
        data = signing.loads(state_token, salt=STAFF_STATE_SALT) if state_token else None
    except signing.BadSignature:
        data = None  # a stale or altered page starts afresh
    state = engine.State.from_dict(data)
    items, _bundles = current_definitions()
    if state.target is None and item_code in items:
        state.focus(engine.Target("item", item_code, items[item_code].name))
    words = question.strip()[:200]
    if not words and state.pending and answer_to:
        words = next((o["label"] for o in state.pending["options"] if o["value"] == answer_to), "")
    ctx = engine.Context(user=None, handoff_url="")
    if not words and not answer_to:
        answer = engine.greeting()
    else:
        answer = engine.compose(
            reading=read(words), question=words, answer_to=answer_to, state=state, ctx=ctx
        )
    # Staff are the person a resident is handed over to: no 转人工 for them.
    answer.actions = [a for a in answer.actions if a.method != "post"]
    token = signing.dumps(state.as_dict(), salt=STAFF_STATE_SALT, compress=True)
    return answer, token


def item_review_guide(item_code: str) -> dict[str, Any] | None:
    """What a desk checks for an item, from its definition: 受理条件, 受理审查 and the
    审查要点 a machine can check; None for an unknown item."""
    from tongban.catalog.selectors import current_definitions

    items, _bundles = current_definitions()
    item = items.get(item_code)
    if item is None:
        return None
    return {
        "code": item.code,
        "name": item.name,
        "conditions": list(item.conditions),
        "intake_checks": [{"check": c.check, "machine": c.machine} for c in item.intake_checks],
        "review_points": [p.label for p in item.review_points if p.label],
    }
