"""Every read of 在线客服 for pages and polling.

Who sees what:
- the resident: their own conversations; a visitor: the conversations of their browser
  session (a keyed hash of its session key), and those the session remembers from before a
  login. Anyone else is told the conversation does not exist.
- helpdesk staff (在线客服) and city operators: the queue, the left messages and the
  conversations they hold. Any other post is refused.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from tongban.accounts.models import StaffAssignment, StaffRole, User
from tongban.catalog.models import Department
from tongban.common.crypto import lookup_hash
from tongban.helpdesk.errors import ConversationNotFound, HelpdeskNotAllowed
from tongban.helpdesk.models import (
    ConversationStatus,
    HelpConversation,
    HelpMessage,
)

STAFF_ROLES = (StaffRole.HELPDESK, StaffRole.CITY_OPERATOR)
POLL_LIMIT = 200


def _authed(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def visitor_key_hash(session_key: str | None) -> str:
    key = (session_key or "").strip()
    return lookup_hash(key, context="helpdesk.visitor") if key else ""


def safe_id(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**62 else None


def is_helpdesk_staff(user: User | None) -> bool:
    return (
        _authed(user) and StaffAssignment.objects.filter(user=user, role__in=STAFF_ROLES).exists()
    )


def require_helpdesk_staff(user: User | None) -> None:
    if not is_helpdesk_staff(user):
        raise HelpdeskNotAllowed()


def helpdesk_department_of(user: User) -> Department | None:
    """The department a helpdesk answer is made in (the 好差评 of it rates that department):
    the helpdesk post first, a city operator's post otherwise."""
    for role in STAFF_ROLES:
        post = (
            StaffAssignment.objects.filter(user=user, role=role)
            .select_related("department")
            .order_by("department__code")
            .first()
        )
        if post is not None:
            return post.department
    return None


def owns(
    conversation: HelpConversation,
    *,
    user: User | None,
    session_key: str | None,
    remembered_ids: tuple[int, ...] | list[int] = (),
) -> bool:
    """Is the reader the person served? A resident by account; a visitor by session, or by
    the ids their session remembered before they logged in (to carry a 留言 over)."""
    if conversation.resident_id is not None:
        return _authed(user) and conversation.resident_id == user.pk
    key = visitor_key_hash(session_key)
    if key and conversation.visitor_key_hash == key:
        return True
    return conversation.pk in set(remembered_ids or ())


def conversation_for_owner(
    *,
    user: User | None,
    session_key: str | None,
    conversation_id: Any,
    remembered_ids: tuple[int, ...] | list[int] = (),
) -> HelpConversation:
    pk = safe_id(conversation_id)
    conversation = (
        HelpConversation.objects.filter(pk=pk).select_related("department").first() if pk else None
    )
    if conversation is None or not owns(
        conversation, user=user, session_key=session_key, remembered_ids=remembered_ids
    ):
        raise ConversationNotFound()
    return conversation


def conversation_for_staff(*, user: User | None, conversation_id: Any) -> HelpConversation:
    require_helpdesk_staff(user)
    pk = safe_id(conversation_id)
    conversation = (
        HelpConversation.objects.filter(pk=pk)
        .select_related("resident", "assigned_to", "department")
        .first()
        if pk
        else None
    )
    if conversation is None:
        raise ConversationNotFound()
    return conversation


def messages_since(*, conversation: HelpConversation, since: Any = 0) -> list[HelpMessage]:
    """The conversation's messages after the cursor SINCE (a message id), oldest first. The
    caller has checked the reader; the (conversation, id) index answers it."""
    after = safe_id(since) or 0
    return list(
        HelpMessage.objects.filter(conversation=conversation, pk__gt=after).order_by("pk")[
            :POLL_LIMIT
        ]
    )


def message_json(message: HelpMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "role": message.author_role,
        "role_label": message.get_author_role_display(),
        "text": message.text,
        "link_url": message.link_url,
        "link_label": message.link_label,
        "at": message.created_at.isoformat(),
        "at_display": timezone.localtime(message.created_at).strftime("%m-%d %H:%M"),
    }


def queue_for(*, user: User | None) -> QuerySet[HelpConversation]:
    """排队中 conversations, longest waiting first."""
    require_helpdesk_staff(user)
    return HelpConversation.objects.filter(status=ConversationStatus.QUEUED).order_by(
        "created_at", "pk"
    )


def held_by(*, user: User | None) -> QuerySet[HelpConversation]:
    require_helpdesk_staff(user)
    return HelpConversation.objects.filter(
        status=ConversationStatus.ACTIVE, assigned_to=user
    ).order_by("claimed_at", "pk")


def messages_left(*, user: User | None) -> QuerySet[HelpConversation]:
    """留言 awaiting an answer. A visitor's stays out until they log in: the answer could
    reach nobody."""
    require_helpdesk_staff(user)
    return HelpConversation.objects.filter(
        status=ConversationStatus.MESSAGE_LEFT, resident__isnull=False
    ).order_by("created_at", "pk")


def recent_ended(*, user: User | None, limit: int = 20) -> list[HelpConversation]:
    require_helpdesk_staff(user)
    return list(
        HelpConversation.objects.filter(
            assigned_to=user,
            status__in=(ConversationStatus.CLOSED, ConversationStatus.ANSWERED),
        ).order_by("-pk")[:limit]
    )


def conversations_of(*, user: User | None) -> list[HelpConversation]:
    """我的咨询: the resident's own conversations, newest first."""
    if not _authed(user):
        return []
    return list(HelpConversation.objects.filter(resident=user).order_by("-created_at", "-pk")[:50])


def first_question(conversation: HelpConversation) -> str:
    """What the queue shows of a conversation: the resident's first words."""
    message = (
        HelpMessage.objects.filter(conversation=conversation, author_role="resident")
        .order_by("pk")
        .first()
    )
    return (message.text if message else "")[:80]


def drafts_of(*, user: User | None) -> list[dict[str, Any]]:
    """The resident's drafts (草稿) they may let a helpdesk staff member read: id and name."""
    if not _authed(user):
        return []
    from tongban.cases.models import Draft

    rows = []
    for draft in Draft.objects.filter(applicant=user).order_by("-updated_at", "pk"):
        rows.append({"id": draft.pk, "name": draft_name(draft.kind, draft.code)})
    return rows


def draft_name(kind: str, code: str) -> str:
    from tongban.catalog.selectors import bundle_definition, item_definition
    from tongban.common.errors import DomainError

    try:
        definition = bundle_definition(code) if kind == "bundle" else item_definition(code)
    except DomainError:
        return "办事草稿"
    return definition.name
