"""Writes of 智能客服: ask (one question, one answer, remembered), hand over to a person
(转人工), and the retention sweep."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from dataclasses import dataclass, replace

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from tongban.assistant import answers as engine
from tongban.assistant import selectors
from tongban.assistant.errors import (
    AssistantConversationNotFound,
    AssistantHandoffUnavailable,
    AssistantQuestionEmpty,
    AssistantQuestionTooLong,
    AssistantThrottled,
)
from tongban.assistant.intents import read
from tongban.assistant.models import Conversation, Turn, TurnRole
from tongban.catalog.selectors import search_subject_for
from tongban.common.services import audit_record

QUESTION_MAX = 200
CLIENT_KEY_MAX = 64
# Per person (account or browser session): enough for anyone typing, not for a script.
THROTTLE_ASKS = 30
THROTTLE_WINDOW_SECONDS = 60
# 留存期限: a visitor's conversation is kept this long after its last turn, an account's a
# little longer so that it can be read back from one visit to the next.
VISITOR_RETENTION_DAYS = 30
OWNER_RETENTION_DAYS = 180
SYSTEM_ACTOR = "system:assistant"


@dataclass(frozen=True)
class Asked:
    conversation: Conversation
    answer: engine.Answer
    created: bool  # False when the same client key was answered before


def _throttle(*, user, session_key: str) -> None:
    who = f"u{user.pk}" if user is not None and user.is_authenticated else f"s{session_key}"
    window = int(time.time() // THROTTLE_WINDOW_SECONDS)
    key = f"assistant:ask:{selectors.key_hash(who)}:{window}"
    if cache.add(key, 1, THROTTLE_WINDOW_SECONDS + 1):
        return
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a new window
        cache.add(key, 1, THROTTLE_WINDOW_SECONDS + 1)
        return
    if count > THROTTLE_ASKS:
        left = THROTTLE_WINDOW_SECONDS - (time.time() % THROTTLE_WINDOW_SECONDS)
        raise AssistantThrottled(max(1, math.ceil(left)))


def _clean_question(question: str | None) -> str:
    text = " ".join((question or "").split())
    if len(text) > QUESTION_MAX:
        raise AssistantQuestionTooLong()
    return text


def _lock_conversation(*, user, session_key: str, conversation_id: int) -> Conversation:
    conversation = selectors.conversation_for(
        user=user, session_key=session_key, conversation_id=conversation_id
    )
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


def assistant_ask(
    *,
    user,
    session_key: str,
    question: str,
    conversation_id: int | None = None,
    answer_to: str = "",
    client_key: str = "",
    ip_address: str | None = None,
) -> Asked:
    """One question (or the choice of an ask-back option, ANSWER_TO) in a conversation of
    USER's (or, for a visitor, of SESSION_KEY's); a new conversation when none is named. The
    question and the answer become two turns; the conversation remembers what it is about.
    The same CLIENT_KEY asked twice is answered once."""
    text = _clean_question(question)
    answer_to = (answer_to or "").strip()[:64]
    client_key = (client_key or "").strip()[:CLIENT_KEY_MAX]
    if not text and not answer_to:
        raise AssistantQuestionEmpty()
    owner = user if user is not None and user.is_authenticated else None
    if owner is None and not session_key:
        raise AssistantConversationNotFound("会话已失效，请刷新页面后重试")
    _throttle(user=owner, session_key=session_key)
    known = None
    if conversation_id is not None:
        known = selectors.conversation_for(
            user=user, session_key=session_key, conversation_id=conversation_id
        )
        if client_key:
            again = _answered_before(known, client_key)
            if again is not None:
                return Asked(known, again, created=False)
    prefer = search_subject_for(user)
    # Composing reads the catalog and may search: done before the write transaction, so a
    # database that locks as a whole (SQLite) is held only for the few rows written. Under
    # the lock the conversation is checked again and the answer composed anew if another
    # turn came in between.
    composed = _compose(known, user=user, prefer=prefer, text=text, answer_to=answer_to)
    now = timezone.now()
    try:
        with transaction.atomic():
            if known is None:
                conversation = Conversation.objects.create(
                    owner=owner,
                    session_hash="" if owner else selectors.key_hash(session_key),
                    created_at=now,
                    updated_at=now,
                )
            else:
                conversation = _lock_conversation(
                    user=user, session_key=session_key, conversation_id=conversation_id
                )
                if conversation.turn_count != known.turn_count:
                    if client_key:
                        again = _answered_before(conversation, client_key)
                        if again is not None:
                            return Asked(conversation, again, created=False)
                    composed = _compose(
                        conversation, user=user, prefer=prefer, text=text, answer_to=answer_to
                    )
            words, answer, state = composed
            answer.actions = [
                replace(a, url=a.url.replace(HANDOFF_PLACEHOLDER, str(conversation.pk)))
                for a in answer.actions
            ]
            seq = conversation.turn_count
            Turn.objects.create(
                conversation=conversation,
                seq=seq + 1,
                role=TurnRole.RESIDENT,
                text=words or answer_to,
                client_key=client_key,
                created_at=now,
            )
            Turn.objects.create(
                conversation=conversation,
                seq=seq + 2,
                role=TurnRole.ASSISTANT,
                # As read back (by a helpdesk agent after 转人工): the sentences, and the
                # question asked back with its options, so that the reply after it makes sense.
                text=" ".join(
                    [s.text for s in answer.sentences]
                    + (
                        [
                            answer.asks.question
                            + "（"
                            + "、".join(o.label for o in answer.asks.options)
                            + "）"
                        ]
                        if answer.asks
                        else []
                    )
                ),
                answer=json.dumps(answer.as_dict(), ensure_ascii=False),
                aspect=answer.aspect[:40],
                kind=answer.kind,
                created_at=now,
            )
            conversation.turn_count = seq + 2
            conversation.state = json.dumps(state.as_dict(), ensure_ascii=False)
            conversation.target_kind = state.target.kind if state.target else ""
            conversation.target_code = state.target.code if state.target else ""
            conversation.updated_at = now
            conversation.save()
            # Codes only: what was asked about, never the words typed.
            audit_record(
                actor=owner,
                actor_label=None if owner else "visitor",
                action="assistant.started" if known is None else "assistant.asked",
                object_type="assistant_conversation",
                object_id=conversation.pk,
                ip_address=ip_address,
                data={
                    "kind": answer.kind,
                    "aspect": answer.aspect,
                    "target": conversation.target_code,
                },
            )
    except IntegrityError:
        # The same client key raced in twice: the first one's answer stands.
        if not client_key or conversation_id is None:
            raise
        conversation = selectors.conversation_for(
            user=user, session_key=session_key, conversation_id=conversation_id
        )
        again = _answered_before(conversation, client_key)
        if again is None:
            raise
        return Asked(conversation, again, created=False)
    return Asked(conversation, answer, created=True)


HANDOFF_PLACEHOLDER = "{conversation}"


def _compose(conversation: Conversation | None, *, user, prefer, text: str, answer_to: str):
    """(the person's words, the answer, the conversation's new state)."""
    state = engine.State.from_dict(
        json.loads(conversation.state) if conversation is not None and conversation.state else None
    )
    words = text
    if not words and state.pending:
        # A chosen option is recorded as the person's words: its label.
        words = next((o["label"] for o in state.pending["options"] if o["value"] == answer_to), "")
    pk = conversation.pk if conversation is not None else HANDOFF_PLACEHOLDER
    ctx = engine.Context(user=user, handoff_url=f"/assistant/{pk}/handoff/", prefer=prefer)
    answer = engine.compose(
        reading=read(words), question=words, answer_to=answer_to, state=state, ctx=ctx
    )
    return words, answer, state


def _answered_before(conversation: Conversation, client_key: str) -> engine.Answer | None:
    asked = Turn.objects.filter(conversation=conversation, client_key=client_key).first()
    if asked is None:
        return None
    reply = Turn.objects.filter(conversation=conversation, seq=asked.seq + 1).first()
    if reply is None or not reply.answer:
        return None
    return engine.answer_from_dict(json.loads(reply.answer))


def assistant_hand_over(
    *, user, session_key: str, conversation_id: int, ip_address: str | None = None
):
    """转人工: hand the conversation, with its whole history, to the helpdesk queue (在线客服).
    Returns the helpdesk conversation; handing over again returns the open one."""
    try:
        from tongban.helpdesk.services import conversation_hand_over
    except ImportError as exc:  # the helpdesk is not installed in this deployment
        raise AssistantHandoffUnavailable() from exc
    with transaction.atomic():
        conversation = _lock_conversation(
            user=user, session_key=session_key, conversation_id=conversation_id
        )
        transcript = [
            {
                "role": t.role,
                "text": t.text,
                "at": t.created_at.isoformat(),
            }
            for t in conversation.turns.order_by("seq")
        ]
        helpdesk = conversation_hand_over(
            user=user,
            session_key=session_key,
            transcript=transcript,
            item_code=conversation.target_code if conversation.target_kind == "item" else "",
            assistant_conversation_id=conversation.pk,
        )
        conversation.handed_over_at = conversation.handed_over_at or timezone.now()
        conversation.helpdesk_url = helpdesk.get_absolute_url()
        conversation.save(update_fields=["handed_over_at", "helpdesk_url"])
        owner = user if user is not None and user.is_authenticated else None
        audit_record(
            actor=owner,
            actor_label=None if owner else "visitor",
            action="assistant.handed_over",
            object_type="assistant_conversation",
            object_id=conversation.pk,
            ip_address=ip_address,
            data={"helpdesk": helpdesk.pk, "turns": len(transcript)},
        )
    return helpdesk


REMEMBERED_MAX = 20


def assistant_attach_remembered(
    *, user, remembered_ids: list[int] | tuple[int, ...], ip_address: str | None = None
) -> list[int]:
    """A visitor who logs in keeps what they asked: the conversations their browser session
    started (REMEMBERED_IDS, kept in the session's own data, which logging in carries over
    while it changes the session key) become the account's. Only conversations still
    without an owner are taken; returns the ids taken, one audit row for them."""
    if user is None or not user.is_authenticated:
        return []
    ids = [i for i in remembered_ids if isinstance(i, int) and not isinstance(i, bool)]
    ids = [i for i in ids if 0 < i < 2**62][-REMEMBERED_MAX:]
    if not ids:
        return []
    with transaction.atomic():
        taken = list(
            Conversation.objects.select_for_update()
            .filter(pk__in=ids, owner__isnull=True)
            .values_list("pk", flat=True)
        )
        if not taken:
            return []
        Conversation.objects.filter(pk__in=taken).update(owner=user, session_hash="")
        audit_record(
            actor=user,
            action="assistant.attached",
            object_type="assistant_conversation",
            object_id=taken[-1],
            ip_address=ip_address,
            data={"conversations": sorted(taken)},
        )
    return sorted(taken)


def assistant_purge(*, now: dt.datetime | None = None) -> int:
    """留存期限: delete conversations whose last turn is older than the retention period
    (a visitor's sooner than an account's). Idempotent; one audit row when any went."""
    now = now or timezone.now()
    with transaction.atomic():
        visitors = Conversation.objects.filter(
            owner__isnull=True, updated_at__lt=now - dt.timedelta(days=VISITOR_RETENTION_DAYS)
        )
        owned = Conversation.objects.filter(
            owner__isnull=False, updated_at__lt=now - dt.timedelta(days=OWNER_RETENTION_DAYS)
        )
        ids = list(visitors.values_list("pk", flat=True)) + list(owned.values_list("pk", flat=True))
        if not ids:
            return 0
        Turn.objects.filter(conversation_id__in=ids).delete()
        Conversation.objects.filter(pk__in=ids).delete()
        audit_record(
            actor_label=SYSTEM_ACTOR,
            action="assistant.purged",
            object_type="assistant_conversation",
            data={
                "count": len(ids),
                "visitor_days": VISITOR_RETENTION_DAYS,
                "owner_days": OWNER_RETENTION_DAYS,
            },
        )
    return len(ids)


def maintenance_sweep(now: dt.datetime, today: dt.date) -> dict[str, int]:
    """The maintenance tick's entry (tongban.cases.schedule)."""
    return {"purged": assistant_purge(now=now)}
