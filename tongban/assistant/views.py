"""智能客服 page: works as a plain form (POST, then the page with the whole conversation);
with JavaScript the same form posts to the API and answers are appended without a reload.

Thin: parse the form, call the same service as the API. Someone else's conversation is a
404 here and nothing is shown or written."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.accounts.http import safe_next
from tongban.assistant import selectors, services
from tongban.assistant.answers import greeting
from tongban.assistant.api import attach_remembered, remember_for_visitor, session_key_for
from tongban.assistant.errors import AssistantConversationNotFound
from tongban.cases.views_staff import staff_page
from tongban.common.errors import DomainError


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _page(request: HttpRequest, conversation, *, errors=(), question: str = "", status=200):
    turns = selectors.conversation_turns(conversation) if conversation else []
    pending = bool(conversation) and selectors.pending_options(conversation)
    context = {
        "conversation": conversation,
        "turns": turns,
        "greeting": greeting(),
        # The last answer's options are live only while the conversation still waits for them.
        "live_asks_seq": turns[-1]["seq"] if turns and pending else None,
        "errors": list(errors),
        "question": question,
        "key": uuid.uuid4().hex,
        "option_key": uuid.uuid4().hex,
        "max_length": services.QUESTION_MAX,
    }
    return render(request, "assistant/chat.html", context, status=status)


@require_http_methods(["GET", "POST"])
def chat_view(request: HttpRequest) -> HttpResponse:
    attach_remembered(request)
    session_key = request.session.session_key or ""
    if request.method == "GET":
        conversation = None
        if request.GET.get("c"):
            try:
                conversation = selectors.conversation_for(
                    user=request.user, session_key=session_key, conversation_id=request.GET["c"]
                )
            except AssistantConversationNotFound as exc:
                raise Http404(exc.message) from exc
        elif "new" not in request.GET:
            conversation = selectors.conversation_latest(
                user=request.user, session_key=session_key, now=timezone.now()
            )
        return _page(request, conversation)
    raw_id = request.POST.get("conversation", "").strip()
    question = request.POST.get("question", "")
    try:
        asked = services.assistant_ask(
            user=request.user,
            session_key=session_key_for(request),
            question=question,
            conversation_id=int(raw_id) if raw_id.isdigit() else None,
            answer_to=request.POST.get("answer_to", ""),
            client_key=request.POST.get("key", ""),
            ip_address=_ip(request),
        )
    except AssistantConversationNotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        conversation = None
        if raw_id.isdigit():
            conversation = selectors.conversation_for(
                user=request.user, session_key=session_key_for(request), conversation_id=raw_id
            )
        return _page(
            request, conversation, errors=[exc.message], question=question, status=exc.http_status
        )
    remember_for_visitor(request, asked.conversation)
    last = asked.conversation.turn_count
    return redirect(f"/assistant/?c={asked.conversation.pk}#t-{last}")


@require_POST
def handoff_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """转人工: the conversation and its history go to 在线客服."""
    try:
        helpdesk = services.assistant_hand_over(
            user=request.user,
            session_key=session_key_for(request),
            conversation_id=conversation_id,
            ip_address=_ip(request),
        )
    except AssistantConversationNotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        conversation = selectors.conversation_for(
            user=request.user,
            session_key=session_key_for(request),
            conversation_id=conversation_id,
        )
        return _page(request, conversation, errors=[exc.message], status=exc.http_status)
    return redirect(helpdesk.get_absolute_url())


# ---------------------------------------------------------------- 窗口智能辅助


@require_GET
@staff_page
def staff_assist_view(request: HttpRequest) -> HttpResponse:
    """/staff/assistant/?q=…&item=…: the guides answer a clerk's or reviewer's question; with
    an item, its 受理条件 and 审查要点 beside the answer. Reading only: a GET form."""
    question = request.GET.get("q", "")
    item_code = request.GET.get("item", "")[:64]
    errors: list[str] = []
    answer, token = None, ""
    if question.strip() or request.GET.get("answer_to"):
        try:
            answer, token = selectors.staff_assist_answer(
                question=question,
                item_code=item_code,
                state_token=request.GET.get("s", ""),
                answer_to=request.GET.get("answer_to", "")[:64],
            )
        except DomainError as exc:
            errors.append(exc.message)
    # Back to the task or counter page the clerk came from: a staff page of this site only.
    back = safe_next(request, request.GET.get("back", ""), "")
    context = {
        "question": question,
        "item_code": item_code,
        "guide": selectors.item_review_guide(item_code) if item_code else None,
        "answer": answer,
        "state_token": token,
        "errors": errors,
        "back": back if back.startswith("/staff/") else "",
    }
    return render(request, "assistant/staff_assist.html", context)
