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


def pending_options(conversation: Conversation) -> bool:
    """Whether the conversation waits for an ask-back answer."""
    if not conversation.state:
        return False
    return bool(json.loads(conversation.state).get("pending"))
