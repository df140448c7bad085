"""在线客服 pages: the resident's (or visitor's) chat, the staff queue and chat, and the two
small JSON endpoints the pages poll every ~2 s (`since` cursor) so both sides update without
a reload. Without JavaScript each page shows the conversation and a 刷新 button.

Thin: parse the form, call the same services and selectors as everything else. A refusal is
a 4xx with the service's Chinese message, and nothing has changed.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tongban.common.errors import DomainError
from tongban.helpdesk import hours, selectors, services
from tongban.helpdesk.errors import ConversationNotFound, HelpdeskNotAllowed
from tongban.helpdesk.models import ConversationStatus, HelpConversation

SESSION_IDS = "helpdesk_ids"
SESSION_IDS_MAX = 20


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"message": message}, status=403)


def _session_key(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""


def _remembered(request: HttpRequest) -> list[int]:
    ids = request.session.get(SESSION_IDS, [])
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


def _remember(request: HttpRequest, conversation: HelpConversation) -> None:
    """A visitor's session remembers its conversations, so after logging in (which changes
    the session key but keeps its data) the 留言 carries over to the account."""
    if conversation.resident_id is not None:
        return
    ids = _remembered(request)
    if conversation.pk not in ids:
        request.session[SESSION_IDS] = [*ids, conversation.pk][-SESSION_IDS_MAX:]


def _json_error(exc: DomainError) -> JsonResponse:
    return JsonResponse({"code": exc.code, "message": exc.message}, status=exc.http_status)


def _item_name(code: str) -> str:
    if not code:
        return ""
    from tongban.catalog.selectors import item_definition

    try:
        return item_definition(code).name
    except DomainError:
        return ""


# ------------------------------------------------------------------ resident / visitor


def _owner_conversation(request: HttpRequest, conversation_id: int) -> HelpConversation:
    try:
        conversation = selectors.conversation_for_owner(
            user=request.user,
            session_key=request.session.session_key,
            conversation_id=conversation_id,
            remembered_ids=_remembered(request),
        )
    except ConversationNotFound as exc:
        raise Http404(exc.message) from exc
    _remember(request, conversation)
    if conversation.resident_id is None and request.user.is_authenticated:
        # The visitor has logged in: the conversation (and a 留言's answer) is now theirs.
        conversation = services.conversation_attach(
            user=request.user, conversation_id=conversation.pk, remembered_ids=_remembered(request)
        )
    return conversation


@require_GET
def home_view(request: HttpRequest) -> HttpResponse:
    """在线客服: service hours, a way to ask a person directly, and the resident's own
    conversations (我的咨询)."""
    context = {
        "hours_label": hours.hours_label(),
        "open_now": hours.is_open(),
        "conversations": selectors.conversations_of(user=request.user),
    }
    return render(request, "helpdesk/home.html", context)


@require_POST
def start_view(request: HttpRequest) -> HttpResponse:
    """Ask a person without going through the assistant: the question is the history."""
    text = request.POST.get("text", "").strip()
    if not text:
        context = {
            "hours_label": hours.hours_label(),
            "open_now": hours.is_open(),
            "conversations": selectors.conversations_of(user=request.user),
            "errors": ["请填写您要咨询的问题"],
        }
        return render(request, "helpdesk/home.html", context, status=422)
    try:
        conversation = services.conversation_hand_over(
            user=request.user,
            session_key=_session_key(request),
            transcript=[{"role": "resident", "text": text[: services.TEXT_MAX]}],
            item_code=request.POST.get("item", ""),
        )
    except DomainError as exc:
        context = {
            "hours_label": hours.hours_label(),
            "open_now": hours.is_open(),
            "conversations": selectors.conversations_of(user=request.user),
            "errors": [exc.message],
        }
        return render(request, "helpdesk/home.html", context, status=exc.http_status)
    _remember(request, conversation)
    return redirect(conversation.get_absolute_url())


def _chat_page(
    request: HttpRequest,
    conversation: HelpConversation,
    *,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    history = selectors.messages_since(conversation=conversation)
    is_resident = conversation.resident_id is not None
    context = {
        "c": conversation,
        "history": history,
        "cursor": history[-1].pk if history else 0,
        "hours_label": hours.hours_label(),
        "item_name": _item_name(conversation.item_code),
        "errors": errors or [],
        "is_resident": is_resident,
        "may_write": conversation.is_open
        and not (conversation.status == ConversationStatus.MESSAGE_LEFT and not is_resident),
        "may_close": conversation.status in (ConversationStatus.QUEUED, ConversationStatus.ACTIVE),
        "drafts": selectors.drafts_of(user=request.user)
        if is_resident and conversation.status == ConversationStatus.ACTIVE
        else [],
        "consent_draft_name": selectors.draft_name(
            conversation.consent_draft.kind, conversation.consent_draft.code
        )
        if conversation.consent_active and conversation.consent_draft
        else "",
        "may_rate": is_resident
        and conversation.status in (ConversationStatus.CLOSED, ConversationStatus.ANSWERED)
        and conversation.assigned_to_id is not None
        and conversation.rated_at is None,
        "login_url": reverse("accounts:login") + f"?next={conversation.get_absolute_url()}",
        "poll_url": reverse("helpdesk:poll", args=[conversation.pk]),
        "page_url": conversation.get_absolute_url(),
        "levels": [(5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意")],
    }
    return render(request, "helpdesk/chat.html", context, status=status)


@require_GET
def chat_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _chat_page(request, _owner_conversation(request, conversation_id))


@require_GET
def poll_view(request: HttpRequest, conversation_id: int) -> JsonResponse:
    try:
        conversation = selectors.conversation_for_owner(
            user=request.user,
            session_key=request.session.session_key,
            conversation_id=conversation_id,
            remembered_ids=_remembered(request),
        )
    except ConversationNotFound as exc:
        return _json_error(exc)
    return JsonResponse(_poll_body(conversation, request.GET.get("since")))


def _poll_body(conversation: HelpConversation, since) -> dict:
    rows = selectors.messages_since(conversation=conversation, since=since)
    return {
        "status": conversation.status,
        "status_label": conversation.get_status_display(),
        "consent_active": conversation.consent_active,
        "messages": [selectors.message_json(m) for m in rows],
        "cursor": rows[-1].pk if rows else (selectors.safe_id(since) or 0),
    }


def _owner_post(request: HttpRequest, conversation_id: int, call) -> HttpResponse:
    conversation = _owner_conversation(request, conversation_id)
    try:
        call(conversation)
    except ConversationNotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        conversation.refresh_from_db()
        return _chat_page(request, conversation, errors=[exc.message], status=exc.http_status)
    return redirect(conversation.get_absolute_url())


@require_POST
def say_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    def call(c: HelpConversation) -> None:
        services.message_post_resident(
            user=request.user,
            session_key=request.session.session_key,
            conversation_id=c.pk,
            text=request.POST.get("text", ""),
            remembered_ids=_remembered(request),
        )

    return _owner_post(request, conversation_id, call)


@require_POST
def close_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    def call(c: HelpConversation) -> None:
        services.conversation_close(
            actor=request.user,
            conversation_id=c.pk,
            session_key=request.session.session_key,
            remembered_ids=_remembered(request),
        )

    return _owner_post(request, conversation_id, call)


@require_POST
@login_required
def consent_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    def call(c: HelpConversation) -> None:
        if request.POST.get("action") == "revoke":
            services.consent_revoke(user=request.user, conversation_id=c.pk)
        else:
            services.consent_grant(
                user=request.user, conversation_id=c.pk, draft_id=request.POST.get("draft")
            )

    return _owner_post(request, conversation_id, call)


@require_POST
@login_required
def rate_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    def call(c: HelpConversation) -> None:
        services.conversation_rate(
            user=request.user,
            conversation_id=c.pk,
            level=selectors.safe_id(request.POST.get("level")),
            comment=request.POST.get("comment", ""),
        )
        messages.success(request, "感谢您的评价。")

    return _owner_post(request, conversation_id, call)


# ------------------------------------------------------------------ staff


def helpdesk_staff_page(view):
    """Anonymous → login; anyone but 在线客服 and 城市运营 → 403, before anything is read."""

    @functools.wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not selectors.is_helpdesk_staff(request.user):
            if request.headers.get("Accept", "").startswith("application/json"):
                return _json_error(HelpdeskNotAllowed())
            return _forbidden(request, HelpdeskNotAllowed.message)
        return view(request, *args, **kwargs)

    return wrapper


def _waited_minutes(conversation: HelpConversation, now) -> int:
    return max(0, int((now - conversation.created_at).total_seconds() // 60))


def _queue_rows(user) -> list[dict]:
    from django.utils import timezone

    now = timezone.now()
    return [
        {
            "c": c,
            "waited": _waited_minutes(c, now),
            "question": selectors.first_question(c),
            "item_name": _item_name(c.item_code),
        }
        for c in selectors.queue_for(user=user)[:100]
    ]


def _staff_context(user) -> dict:
    return {
        "queue": _queue_rows(user),
        "held": list(selectors.held_by(user=user)),
        "left": [
            {"c": c, "question": selectors.first_question(c)}
            for c in selectors.messages_left(user=user)[:100]
        ],
        "recent": selectors.recent_ended(user=user),
        "hours_label": hours.hours_label(),
    }


@require_GET
@helpdesk_staff_page
def staff_home_view(request: HttpRequest) -> HttpResponse:
    return render(request, "helpdesk/staff_home.html", _staff_context(request.user))


@require_GET
@helpdesk_staff_page
def staff_queue_fragment_view(request: HttpRequest) -> HttpResponse:
    """The queue table alone, for the staff page's poll."""
    return render(request, "helpdesk/_staff_queue.html", _staff_context(request.user))


def _link_suggestions(conversation: HelpConversation) -> list[dict]:
    """The links an agent most often pushes for the service talked about: its guide, its
    form, its booking, by the rules the guide page uses. The situations the person already
    answered in 智能客服 are carried, so that the form opens for their case."""
    from urllib.parse import urlencode

    from tongban.appointments.selectors.booking import booking_url_for_item
    from tongban.catalog.selectors import item_definition

    code = conversation.item_code
    try:
        item = item_definition(code) if code else None
    except DomainError:
        item = None
    if item is None:
        return []
    answers: dict[str, str] = {}
    if conversation.assistant_conversation_id:
        try:
            from tongban.assistant.selectors import conversation_situation
        except ImportError:  # 智能客服 is not installed in this deployment
            pass
        else:
            answers = conversation_situation(
                conversation_id=conversation.assistant_conversation_id, item_code=code
            )
    query = urlencode(answers)
    said = "（按咨询中的回答）" if answers else ""
    rows = [{"url": f"/items/{code}/", "label": f"办事指南：{item.name}"}]
    if "online" in item.channels:
        rows.append(
            {
                "url": f"/apply/item/{code}/" + (f"?{query}" if query else ""),
                "label": f"在线申请：{item.name}{said}",
            }
        )
    booking = booking_url_for_item(item)
    if booking and not booking.startswith("/apply/"):
        rows.append({"url": booking, "label": f"预约到厅：{item.name}"})
    return rows


def _staff_chat_page(
    request: HttpRequest,
    conversation: HelpConversation,
    *,
    errors: list[str] | None = None,
    status: int = 200,
    draft: dict | None = None,
) -> HttpResponse:
    history = selectors.messages_since(conversation=conversation)
    holder = (
        conversation.status == ConversationStatus.ACTIVE
        and conversation.assigned_to_id == request.user.pk
    )
    context = {
        "c": conversation,
        "history": history,
        "cursor": history[-1].pk if history else 0,
        "item_name": _item_name(conversation.item_code),
        "holder": holder,
        "may_claim": conversation.status == ConversationStatus.QUEUED,
        "may_answer": conversation.status == ConversationStatus.MESSAGE_LEFT
        and conversation.resident_id is not None,
        "consent_visible": holder and conversation.consent_active,
        "draft": draft,
        "suggestions": _link_suggestions(conversation),
        "errors": errors or [],
        "poll_url": reverse("helpdesk_staff:poll", args=[conversation.pk]),
        "page_url": reverse("helpdesk_staff:chat", args=[conversation.pk]),
    }
    return render(request, "helpdesk/staff_chat.html", context, status=status)


def _staff_conversation(request: HttpRequest, conversation_id: int) -> HelpConversation:
    try:
        return selectors.conversation_for_staff(user=request.user, conversation_id=conversation_id)
    except ConversationNotFound as exc:
        raise Http404(exc.message) from exc


@require_GET
@helpdesk_staff_page
def staff_chat_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _staff_chat_page(request, _staff_conversation(request, conversation_id))


@require_GET
@helpdesk_staff_page
def staff_poll_view(request: HttpRequest, conversation_id: int) -> JsonResponse:
    try:
        conversation = selectors.conversation_for_staff(
            user=request.user, conversation_id=conversation_id
        )
    except DomainError as exc:
        return _json_error(exc)
    return JsonResponse(_poll_body(conversation, request.GET.get("since")))


@require_GET
@helpdesk_staff_page
def staff_draft_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """在线帮办: the consented draft, read-only; every view is audited (purpose 在线帮办)."""
    conversation = _staff_conversation(request, conversation_id)
    try:
        draft = services.consent_draft_read(
            actor=request.user, conversation_id=conversation.pk, ip_address=_ip(request)
        )
    except DomainError as exc:
        return _staff_chat_page(request, conversation, errors=[exc.message], status=exc.http_status)
    return _staff_chat_page(request, conversation, draft=draft)


def _staff_post(request: HttpRequest, conversation_id: int, call, done: str = "") -> HttpResponse:
    conversation = _staff_conversation(request, conversation_id)
    try:
        call(conversation)
    except ConversationNotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        conversation.refresh_from_db()
        return _staff_chat_page(request, conversation, errors=[exc.message], status=exc.http_status)
    if done:
        messages.success(request, done)
    return redirect("helpdesk_staff:chat", conversation_id=conversation.pk)


@require_POST
@helpdesk_staff_page
def staff_claim_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _staff_post(
        request,
        conversation_id,
        lambda c: services.conversation_claim(actor=request.user, conversation_id=c.pk),
        "已接入该咨询。",
    )


@require_POST
@helpdesk_staff_page
def staff_say_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _staff_post(
        request,
        conversation_id,
        lambda c: services.message_post_staff(
            actor=request.user,
            conversation_id=c.pk,
            text=request.POST.get("text", ""),
            link_url=request.POST.get("link_url", "") or request.POST.get("suggested", ""),
            link_label=request.POST.get("link_label", ""),
        ),
    )


@require_POST
@helpdesk_staff_page
def staff_close_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _staff_post(
        request,
        conversation_id,
        lambda c: services.conversation_close(actor=request.user, conversation_id=c.pk),
        "咨询已结束。",
    )


@require_POST
@helpdesk_staff_page
def staff_answer_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _staff_post(
        request,
        conversation_id,
        lambda c: services.message_answer(
            actor=request.user,
            conversation_id=c.pk,
            text=request.POST.get("text", ""),
            link_url=request.POST.get("link_url", "") or request.POST.get("suggested", ""),
            link_label=request.POST.get("link_label", ""),
        ),
        "已答复，答复已发送到咨询人的消息中心。",
    )
