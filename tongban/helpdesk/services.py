"""Every write of 在线客服: hand-over from the assistant (转人工), claim, chat, pushed links,
close, 留言 and its answer, 在线帮办 consent, and the rating through 好差评.

Each call is one transaction with one audit row naming the actor; a notice to the resident
joins the same transaction (tongban.notifications delivers it after commit). Staff posts
are checked here, not only in the views, so the API and the pages cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from tongban.accounts.models import ResidentProfile, User
from tongban.accounts.selectors import staff_post_label
from tongban.common.errors import DomainError
from tongban.common.services import audit_record
from tongban.helpdesk import hours, selectors
from tongban.helpdesk.errors import (
    ConsentNotActive,
    ConversationAlreadyClaimed,
    ConversationClosed,
    ConversationNotFound,
    ConversationNotYours,
    ConversationWrongState,
    HelpdeskInvalid,
    LinkNotAllowed,
    LoginRequiredToLeaveMessage,
    RatingNotAllowed,
)
from tongban.helpdesk.models import (
    ENDED_STATUSES,
    OPEN_STATUSES,
    ConversationStatus,
    HelpConversation,
    HelpMessage,
    MessageAuthor,
)
from tongban.notifications.services import notice_send

TEXT_MAX = 1000
HISTORY_TEXT_MAX = 4000
HISTORY_MAX = 60
LINK_LABEL_MAX = 40
COMMENT_MAX = 500

SYSTEM_QUEUED = "已为您转接人工客服，请稍候。客服接入后会在这里回复您。"
SYSTEM_LEFT_LOGGED_IN = (
    "现在是非服务时间，请在下方留言，客服上班后答复，答复会同时发送到您的消息中心。"
)
SYSTEM_LEFT_VISITOR = (
    "现在是非服务时间。请登录后留言，客服的答复将发送到您的消息中心；急事可拨打12345市民服务热线。"
)
SYSTEM_CLAIMED = "在线客服已接入，请问有什么可以帮您？"
SYSTEM_CLOSED = "本次咨询已结束，感谢您的耐心。"
SYSTEM_ANSWERED = "客服已答复您的留言。"
SYSTEM_CONSENT_GRANTED = "咨询人已授权客服在本次咨询中查看草稿“{name}”（只读）。"
SYSTEM_CONSENT_REVOKED = "咨询人已撤回查看草稿的授权。"


def _now() -> dt.datetime:
    return timezone.now()


def _authed(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def _profile_id(user_id: int | None) -> int | None:
    if user_id is None:
        return None
    return ResidentProfile.objects.filter(user_id=user_id).values_list("pk", flat=True).first()


def _text(value: Any, *, limit: int = TEXT_MAX, what: str = "内容") -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise HelpdeskInvalid(f"请填写{what}", code="HELPDESK_TEXT_REQUIRED")
    if len(text) > limit:
        raise HelpdeskInvalid(f"{what}不得超过{limit}字", code="HELPDESK_TEXT_TOO_LONG")
    return text


def _lock(conversation_id: Any) -> HelpConversation:
    pk = selectors.safe_id(conversation_id)
    conversation = (
        HelpConversation.objects.select_for_update().filter(pk=pk).first() if pk else None
    )
    if conversation is None:
        raise ConversationNotFound()
    return conversation


def _message(
    conversation: HelpConversation,
    *,
    role: str,
    text: str,
    author: User | None = None,
    link_url: str = "",
    link_label: str = "",
    at: dt.datetime | None = None,
) -> HelpMessage:
    return HelpMessage.objects.create(
        conversation=conversation,
        author_role=role,
        author=author if _authed(author) else None,
        text=text,
        link_url=link_url,
        link_label=link_label,
        created_at=at or _now(),
    )


def _audit(
    conversation: HelpConversation,
    *,
    actor: User | None,
    action: str,
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> None:
    audit_record(
        actor=actor if _authed(actor) else None,
        actor_label=None if _authed(actor) else "visitor",
        action=f"helpdesk.{action}",
        object_type="helpdesk.conversation",
        object_id=conversation.pk,
        ip_address=ip_address,
        data={"status": conversation.status, **(data or {})},
    )


def _history(transcript: Any) -> list[tuple[str, str, dt.datetime | None]]:
    if transcript is None:
        return []
    if not isinstance(transcript, list):
        raise HelpdeskInvalid("对话记录格式不正确", code="HELPDESK_TRANSCRIPT_INVALID")
    rows = []
    # A long chat hands over its latest turns: what the staff member needs to pick it up.
    for entry in transcript[-HISTORY_MAX:]:
        if (
            not isinstance(entry, dict)
            or entry.get("role") not in ("resident", "assistant")
            or not isinstance(entry.get("text"), str)
        ):
            raise HelpdeskInvalid("对话记录格式不正确", code="HELPDESK_TRANSCRIPT_INVALID")
        text = entry["text"].strip()[:HISTORY_TEXT_MAX]
        if not text:
            continue
        at = None
        if isinstance(entry.get("at"), str):
            try:
                at = dt.datetime.fromisoformat(entry["at"])
            except ValueError:
                at = None
            if at is not None and at.tzinfo is None:
                at = None
        role = MessageAuthor.RESIDENT if entry["role"] == "resident" else MessageAuthor.ASSISTANT
        rows.append((role, text, at))
    return rows


def conversation_hand_over(
    *,
    user,
    session_key: str,
    transcript: list[dict],
    item_code: str = "",
    assistant_conversation_id: int | None = None,
) -> HelpConversation:
    """转人工: the assistant hands a conversation, with its history, to the helpdesk. Within
    service hours it joins the queue (排队中); outside them it becomes a 留言, which a
    logged-in resident writes at once and a visitor only after logging in (the answer goes
    to the message centre: a visitor has none). Handing over the same assistant
    conversation again while one is open returns the open one."""
    resident = user if _authed(user) else None
    key_hash = "" if resident else selectors.visitor_key_hash(session_key)
    if resident is None and not key_hash:
        raise HelpdeskInvalid("会话已失效，请刷新页面后重试", code="HELPDESK_SESSION_REQUIRED")
    if assistant_conversation_id is not None and (
        isinstance(assistant_conversation_id, bool)
        or not isinstance(assistant_conversation_id, int)
        or not 0 < assistant_conversation_id < 2**62
    ):
        raise HelpdeskInvalid("对话编号不正确", code="HELPDESK_TRANSCRIPT_INVALID")
    code = item_code.strip()[:64] if isinstance(item_code, str) else ""
    history = _history(transcript)

    def _open_one() -> HelpConversation | None:
        if assistant_conversation_id is None:
            return None
        found = HelpConversation.objects.filter(
            assistant_conversation_id=assistant_conversation_id, status__in=OPEN_STATUSES
        ).first()
        if found is not None and not selectors.owns(found, user=user, session_key=session_key):
            # Someone else's assistant conversation id: never hand them another's chat.
            raise HelpdeskInvalid("对话编号不正确", code="HELPDESK_TRANSCRIPT_INVALID")
        return found

    existing = _open_one()
    if existing is not None:
        return existing
    now = _now()
    status = ConversationStatus.QUEUED if hours.is_open(now) else ConversationStatus.MESSAGE_LEFT
    try:
        with transaction.atomic():
            conversation = HelpConversation.objects.create(
                resident=resident,
                visitor_key_hash=key_hash,
                status=status,
                item_code=code,
                assistant_conversation_id=assistant_conversation_id,
                created_at=now,
            )
            for role, text, at in history:
                # History keeps its own times, but never later than the hand-over itself.
                _message(conversation, role=role, text=text, at=min(at or now, now))
            if status == ConversationStatus.QUEUED:
                note = SYSTEM_QUEUED
            else:
                note = SYSTEM_LEFT_LOGGED_IN if resident else SYSTEM_LEFT_VISITOR
            _message(conversation, role=MessageAuthor.SYSTEM, text=note, at=now)
            _audit(
                conversation,
                actor=resident,
                action="handed_over",
                data={
                    "item_code": code,
                    "history": len(history),
                    "assistant_conversation_id": assistant_conversation_id,
                    "visitor": resident is None,
                },
            )
    except IntegrityError:
        # Two 转人工 clicks raced: the unique constraint let one in; return that one.
        existing = _open_one()
        if existing is None:
            raise
        return existing
    return conversation


def conversation_attach(
    *, user: User, conversation_id: Any, remembered_ids: list[int] | tuple[int, ...]
) -> HelpConversation:
    """A visitor who logged in takes over the conversation their session started, so a 留言
    can be written and its answer reach their message centre."""
    if not _authed(user):
        raise LoginRequiredToLeaveMessage()
    with transaction.atomic():
        conversation = _lock(conversation_id)
        if conversation.resident_id == user.pk:
            return conversation
        if conversation.resident_id is not None or conversation.pk not in set(remembered_ids):
            raise ConversationNotFound()
        conversation.resident = user
        conversation.visitor_key_hash = ""
        conversation.save(update_fields=["resident", "visitor_key_hash"])
        _audit(conversation, actor=user, action="attached")
    return conversation


def message_post_resident(
    *,
    user,
    session_key: str | None,
    conversation_id: Any,
    text: Any,
    remembered_ids: list[int] | tuple[int, ...] = (),
) -> HelpMessage:
    """The resident writes: a chat line while queued or served, or their 留言."""
    body = _text(text)
    with transaction.atomic():
        conversation = _lock(conversation_id)
        if not selectors.owns(
            conversation, user=user, session_key=session_key, remembered_ids=remembered_ids
        ):
            raise ConversationNotFound()
        if conversation.status not in OPEN_STATUSES:
            raise ConversationClosed()
        if (
            conversation.status == ConversationStatus.MESSAGE_LEFT
            and conversation.resident_id is None
        ):
            raise LoginRequiredToLeaveMessage()
        message = _message(
            conversation,
            role=MessageAuthor.RESIDENT,
            text=body,
            author=user if _authed(user) else None,
        )
        _audit(conversation, actor=user, action="resident_wrote", data={"message": message.pk})
    return message


def conversation_claim(*, actor: User, conversation_id: Any) -> HelpConversation:
    """接入: one helpdesk staff member takes a queued conversation. Of two racing, the
    conditional update lets exactly one in; the other is told it is taken."""
    selectors.require_helpdesk_staff(actor)
    pk = selectors.safe_id(conversation_id)
    if pk is None or not HelpConversation.objects.filter(pk=pk).exists():
        raise ConversationNotFound()
    department = selectors.helpdesk_department_of(actor)
    now = _now()
    with transaction.atomic():
        won = HelpConversation.objects.filter(pk=pk, status=ConversationStatus.QUEUED).update(
            status=ConversationStatus.ACTIVE,
            assigned_to=actor,
            department=department,
            claimed_at=now,
        )
        if not won:
            raise ConversationAlreadyClaimed()
        conversation = HelpConversation.objects.get(pk=pk)
        _message(conversation, role=MessageAuthor.SYSTEM, text=SYSTEM_CLAIMED, at=now)
        _audit(
            conversation,
            actor=actor,
            action="claimed",
            data={"waited_seconds": int((now - conversation.created_at).total_seconds())},
        )
    return conversation


def _holder(conversation: HelpConversation, actor: User) -> None:
    if conversation.status != ConversationStatus.ACTIVE:
        if conversation.status in ENDED_STATUSES:
            raise ConversationClosed()
        raise ConversationWrongState()
    if conversation.assigned_to_id != actor.pk:
        raise ConversationNotYours()


# Paths staff may push: a guide, the one-form (prefilled by the guide's answers in the query,
# as the guide's own 在线申请 link does), or a booking page for an item.
_GUIDE = re.compile(r"^/(items|bundles)/([A-Za-z0-9_.-]{1,64})/$")
_APPLY = re.compile(r"^/apply/(item|bundle)/([A-Za-z0-9_.-]{1,64})/$")
_BOOKING = "/bookings/new/"
_QUERY_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_QUERY_MAX = 30


def _definition(kind: str, code: str):
    from tongban.catalog.selectors import bundle_definition, item_definition

    try:
        return (bundle_definition if kind == "bundle" else item_definition)(code)
    except DomainError:
        return None


def _definition_exists(kind: str, code: str) -> bool:
    return _definition(kind, code) is not None


def _situation_answers(kind: str, code: str) -> dict[str, set[str]]:
    """The guide's questions (情形) the apply page takes from its query, with their options:
    a pushed form may be prefilled with these answers and nothing else."""
    definition = _definition(kind, code)
    if definition is None:
        return {}
    situations = list(definition.situations)
    if kind == "bundle":
        for part in definition.items:
            item = _definition("item", part.item)
            situations += list(item.situations) if item is not None else []
    return {s.code: {str(o.value) for o in s.options} for s in situations}


def link_check(url: Any) -> str:
    """The normalised internal path of a link staff may push, or LinkNotAllowed: only this
    platform's guides, apply pages and booking page, for an item or bundle that exists."""
    raw = url.strip() if isinstance(url, str) else ""
    if not raw or len(raw) > 300 or any(c in raw for c in "\\\r\n\t "):
        raise LinkNotAllowed()
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or parts.fragment or not parts.path.startswith("/"):
        raise LinkNotAllowed()
    if raw.startswith("//"):
        raise LinkNotAllowed()
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise LinkNotAllowed() from None
    if len(query) > _QUERY_MAX or any(not _QUERY_KEY.match(k) or len(v) > 100 for k, v in query):
        raise LinkNotAllowed()
    if m := _GUIDE.match(parts.path):
        kind = "item" if m.group(1) == "items" else "bundle"
        if query or not _definition_exists(kind, m.group(2)):
            raise LinkNotAllowed()
        return parts.path
    if m := _APPLY.match(parts.path):
        if not _definition_exists(m.group(1), m.group(2)):
            raise LinkNotAllowed()
        answers = _situation_answers(m.group(1), m.group(2))
        if any(k not in answers or v not in answers[k] for k, v in query):
            raise LinkNotAllowed()
        return parts.path + (f"?{urlencode(query)}" if query else "")
    if parts.path == _BOOKING:
        keys = [k for k, _ in query]
        item = dict(query).get("item", "")
        if keys != ["item"] or not _definition_exists("item", item):
            raise LinkNotAllowed()
        return f"{_BOOKING}?{urlencode({'item': item})}"
    raise LinkNotAllowed()


def message_post_staff(
    *,
    actor: User,
    conversation_id: Any,
    text: Any = "",
    link_url: Any = "",
    link_label: Any = "",
) -> HelpMessage:
    """The staff member holding the conversation writes, and may push one internal link."""
    selectors.require_helpdesk_staff(actor)
    link = link_check(link_url) if (isinstance(link_url, str) and link_url.strip()) else ""
    label = link_label.strip() if isinstance(link_label, str) else ""
    if link and not label:
        label = "点击查看"
    if len(label) > LINK_LABEL_MAX:
        raise HelpdeskInvalid(f"链接说明不得超过{LINK_LABEL_MAX}字", code="HELPDESK_TEXT_TOO_LONG")
    body = text.strip() if isinstance(text, str) else ""
    if not link:
        body = _text(text)
    elif len(body) > TEXT_MAX:
        raise HelpdeskInvalid(f"内容不得超过{TEXT_MAX}字", code="HELPDESK_TEXT_TOO_LONG")
    with transaction.atomic():
        conversation = _lock(conversation_id)
        _holder(conversation, actor)
        message = _message(
            conversation,
            role=MessageAuthor.STAFF,
            text=body,
            author=actor,
            link_url=link,
            link_label=label if link else "",
        )
        _audit(
            conversation,
            actor=actor,
            action="staff_wrote",
            data={"message": message.pk, "link": link},
        )
    return message


def _end_consent(conversation: HelpConversation, now: dt.datetime) -> None:
    if conversation.consent_granted_at and not conversation.consent_revoked_at:
        conversation.consent_revoked_at = now


def conversation_close(
    *,
    actor: User | None,
    conversation_id: Any,
    session_key: str | None = None,
    remembered_ids: list[int] | tuple[int, ...] = (),
) -> HelpConversation:
    """结束: the staff member holding it, or the person served (who may also give up while
    still queued). A consent to read a draft ends with the conversation."""
    with transaction.atomic():
        conversation = _lock(conversation_id)
        as_owner = selectors.owns(
            conversation, user=actor, session_key=session_key, remembered_ids=remembered_ids
        )
        if not as_owner:
            selectors.require_helpdesk_staff(actor)
            _holder(conversation, actor)  # type: ignore[arg-type]
        elif conversation.status not in (ConversationStatus.QUEUED, ConversationStatus.ACTIVE):
            if conversation.status in ENDED_STATUSES:
                raise ConversationClosed()
            raise ConversationWrongState()
        now = _now()
        conversation.status = ConversationStatus.CLOSED
        conversation.closed_at = now
        _end_consent(conversation, now)
        conversation.save(update_fields=["status", "closed_at", "consent_revoked_at"])
        _message(conversation, role=MessageAuthor.SYSTEM, text=SYSTEM_CLOSED, at=now)
        _audit(
            conversation,
            actor=actor,
            action="closed",
            data={"by": "resident" if as_owner else "staff"},
        )
    return conversation


def message_answer(
    *, actor: User, conversation_id: Any, text: Any, link_url: Any = "", link_label: Any = ""
) -> HelpMessage:
    """答复留言: any helpdesk staff member answers a 留言; the answer is on the conversation
    page and reaches the resident's message centre."""
    selectors.require_helpdesk_staff(actor)
    body = _text(text, what="答复")
    link = link_check(link_url) if (isinstance(link_url, str) and link_url.strip()) else ""
    label = (link_label.strip() if isinstance(link_label, str) else "") or (
        "点击查看" if link else ""
    )
    if len(label) > LINK_LABEL_MAX:
        raise HelpdeskInvalid(f"链接说明不得超过{LINK_LABEL_MAX}字", code="HELPDESK_TEXT_TOO_LONG")
    with transaction.atomic():
        conversation = _lock(conversation_id)
        if conversation.status != ConversationStatus.MESSAGE_LEFT:
            if conversation.status == ConversationStatus.ANSWERED:
                raise ConversationClosed("该留言已答复", code="HELPDESK_ALREADY_ANSWERED")
            raise ConversationWrongState()
        if conversation.resident_id is None:
            # A visitor who never logged in: the answer would reach nobody.
            raise ConversationWrongState("访客未登录，无法答复该留言", code="HELPDESK_NO_RECIPIENT")
        now = _now()
        message = _message(
            conversation,
            role=MessageAuthor.STAFF,
            text=body,
            author=actor,
            link_url=link,
            link_label=label if link else "",
            at=now,
        )
        _message(conversation, role=MessageAuthor.SYSTEM, text=SYSTEM_ANSWERED, at=now)
        conversation.status = ConversationStatus.ANSWERED
        conversation.assigned_to = actor
        conversation.department = selectors.helpdesk_department_of(actor)
        conversation.answered_at = now
        conversation.closed_at = now
        conversation.save(
            update_fields=["status", "assigned_to", "department", "answered_at", "closed_at"]
        )
        notice_send(
            recipient=conversation.resident,
            template="helpdesk_answered",
            context={"number": str(conversation.pk), "answer": body[:200]},
            link=conversation.get_absolute_url(),
        )
        _audit(conversation, actor=actor, action="answered", data={"message": message.pk})
    return message


def consent_grant(*, user: User, conversation_id: Any, draft_id: Any) -> HelpConversation:
    """在线帮办: the resident lets the staff member serving them read one of their drafts,
    read-only, for this conversation only. Granting another draft replaces the first."""
    if not _authed(user):
        raise ConversationNotFound()
    from tongban.cases.models import Draft

    with transaction.atomic():
        conversation = _lock(conversation_id)
        if conversation.resident_id != user.pk:
            raise ConversationNotFound()
        if conversation.status != ConversationStatus.ACTIVE:
            raise ConversationWrongState("客服接入后才能授权查看草稿", code="HELPDESK_WRONG_STATE")
        pk = selectors.safe_id(draft_id)
        draft = Draft.objects.filter(pk=pk, applicant=user).first() if pk else None
        if draft is None:
            raise HelpdeskInvalid("请选择您自己的草稿", code="HELPDESK_DRAFT_UNKNOWN")
        now = _now()
        conversation.consent_draft = draft
        conversation.consent_granted_at = now
        conversation.consent_revoked_at = None
        conversation.save(
            update_fields=["consent_draft", "consent_granted_at", "consent_revoked_at"]
        )
        name = selectors.draft_name(draft.kind, draft.code)
        _message(
            conversation,
            role=MessageAuthor.SYSTEM,
            text=SYSTEM_CONSENT_GRANTED.format(name=name),
            at=now,
        )
        audit_record(
            actor=user,
            action="helpdesk.consent_granted",
            object_type="helpdesk.conversation",
            object_id=conversation.pk,
            subject_resident_id=_profile_id(user.pk),
            purpose="在线帮办",
            data={
                "draft": draft.pk,
                "kind": draft.kind,
                "code": draft.code,
                "staff": conversation.assigned_to_id,
            },
        )
    return conversation


def consent_revoke(*, user: User, conversation_id: Any) -> HelpConversation:
    """撤回授权: from now on the staff member sees nothing of the draft."""
    if not _authed(user):
        raise ConversationNotFound()
    with transaction.atomic():
        conversation = _lock(conversation_id)
        if conversation.resident_id != user.pk:
            raise ConversationNotFound()
        if conversation.consent_granted_at is None or conversation.consent_revoked_at is not None:
            raise ConsentNotActive("没有正在生效的授权", code="HELPDESK_CONSENT_NOT_ACTIVE")
        now = _now()
        conversation.consent_revoked_at = now
        conversation.save(update_fields=["consent_revoked_at"])
        _message(conversation, role=MessageAuthor.SYSTEM, text=SYSTEM_CONSENT_REVOKED, at=now)
        audit_record(
            actor=user,
            action="helpdesk.consent_revoked",
            object_type="helpdesk.conversation",
            object_id=conversation.pk,
            subject_resident_id=_profile_id(user.pk),
            purpose="在线帮办",
            data={"draft": conversation.consent_draft_id},
        )
    return conversation


def consent_draft_read(
    *, actor: User, conversation_id: Any, ip_address: str | None = None
) -> dict[str, Any]:
    """What the staff member sees of the consented draft: its filled fields, read-only, ID
    numbers and phone numbers masked (helping fill a form needs no more). Every read is a
    `personal_data.read` audit row with purpose 在线帮办, shown in the resident's 我的数据使用记录.
    Without a live consent (none, revoked, conversation ended, another staff member) it
    raises and writes nothing."""
    from tongban.accounts.validators import mask_id_number, mask_phone
    from tongban.catalog.selectors import element_definitions, form_display

    selectors.require_helpdesk_staff(actor)
    with transaction.atomic():
        conversation = _lock(conversation_id)
        if conversation.assigned_to_id != actor.pk or not conversation.consent_active:
            raise ConsentNotActive()
        draft = conversation.consent_draft
        if draft is None or draft.applicant_id != conversation.resident_id:
            raise ConsentNotActive()
        form = draft.form_data
        elements = element_definitions(list(form))
        display = form_display(form)
        rows = []
        for code in form:
            value = display.get(code, "")
            if not value:
                continue
            element = elements.get(code)
            kind = getattr(element, "type", "")
            if kind == "id_number":
                value = mask_id_number(str(form[code]))
            elif kind == "phone":
                value = mask_phone(str(form[code]))
            rows.append(
                {"code": code, "label": getattr(element, "label", "") or code, "display": value}
            )
        audit_record(
            actor=actor,
            action="personal_data.read",
            object_type="helpdesk.conversation",
            object_id=conversation.pk,
            subject_resident_id=_profile_id(conversation.resident_id),
            purpose="在线帮办",
            ip_address=ip_address,
            data={
                "use": "helpdesk_draft",
                "draft": draft.pk,
                "fields": [r["code"] for r in rows],
                "post": staff_post_label(actor, conversation.department),
            },
        )
    return {
        "name": selectors.draft_name(draft.kind, draft.code),
        "kind": draft.kind,
        "code": draft.code,
        "rows": rows,
    }


def conversation_rate(
    *, user: User, conversation_id: Any, level: Any, comment: Any = ""
) -> HelpConversation:
    """评价: the resident rates an ended conversation through 好差评 (咨询服务); a 差评 opens
    the department's rectification work order there. Visitors cannot rate."""
    if not _authed(user):
        raise RatingNotAllowed()
    from tongban.reviews.services import consultation_rating_record

    with transaction.atomic():
        conversation = _lock(conversation_id)
        if conversation.resident_id != user.pk:
            raise ConversationNotFound()
        if (
            conversation.status not in ENDED_STATUSES
            or conversation.assigned_to_id is None
            or conversation.department_id is None
        ):
            raise RatingNotAllowed("客服答复并结束后才能评价", code="HELPDESK_RATING_NOT_ALLOWED")
        text = comment.strip() if isinstance(comment, str) else ""
        if len(text) > COMMENT_MAX:
            raise HelpdeskInvalid(f"评价内容不得超过{COMMENT_MAX}字", code="HELPDESK_TEXT_TOO_LONG")
        rating = consultation_rating_record(
            rater=user,
            conversation_ref=f"helpdesk:{conversation.pk}",
            department=conversation.department,
            staff=conversation.assigned_to,
            level=level,
            comment=text,
        )
        conversation.rated_at = _now()
        conversation.save(update_fields=["rated_at"])
        _audit(conversation, actor=user, action="rated", data={"rating": rating.pk})
    return conversation


SYSTEM_QUEUE_CLOSED = (
    "服务时间已结束，您的咨询已转为留言。客服上班后答复，答复会发送到您的消息中心。"
)


def queue_close_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """At closing time nobody is left to claim the queue: each conversation still 排队中
    becomes a 留言 (a visitor is told to log in so the answer can reach them). Idempotent;
    meant for the maintenance tick (tongban.cases.schedule) — see the report for wiring."""
    now = now or _now()
    if hours.is_open(now):
        return {"moved_to_message": 0}
    moved = 0
    for pk in HelpConversation.objects.filter(status=ConversationStatus.QUEUED).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            # Conditional: a staff member claiming at the last minute keeps the conversation.
            if not HelpConversation.objects.filter(pk=pk, status=ConversationStatus.QUEUED).update(
                status=ConversationStatus.MESSAGE_LEFT
            ):
                continue
            conversation = HelpConversation.objects.get(pk=pk)
            note = SYSTEM_QUEUE_CLOSED if conversation.resident_id else SYSTEM_LEFT_VISITOR
            _message(conversation, role=MessageAuthor.SYSTEM, text=note, at=now)
            audit_record(
                actor_label="system:helpdesk",
                action="helpdesk.moved_to_message",
                object_type="helpdesk.conversation",
                object_id=conversation.pk,
                data={"status": conversation.status},
            )
            moved += 1
    return {"moved_to_message": moved}
