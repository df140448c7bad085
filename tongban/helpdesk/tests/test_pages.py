"""在线客服 pages and polling: who sees what, and the no-JS path."""

from __future__ import annotations

import re

import pytest

from tongban.common.models import AuditEvent
from tongban.helpdesk import services
from tongban.helpdesk.models import HelpConversation, HelpMessage
from tongban.helpdesk.tests.conftest import SATURDAY_14, hand_over

pytestmark = pytest.mark.django_db


def _html(response) -> str:
    return response.content.decode()


def test_the_owner_sees_the_chat_with_history_and_a_refresh_button(client, clock, resident):
    conversation = hand_over(resident.user)
    client.force_login(resident.user)

    response = client.get(f"/helpdesk/{conversation.pk}/")

    assert response.status_code == 200
    html = _html(response)
    assert "新生儿落户要带什么？" in html
    assert "请参阅出生一件事办事指南。" in html
    assert "排队中" in html
    assert "人工服务时间" in html or "工作日 09:00–17:00" in html
    assert "刷新" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert f'data-poll-url="/helpdesk/{conversation.pk}/poll/"' in html


def test_another_resident_gets_404_and_nothing(client, clock, resident, other_resident):
    conversation = hand_over(resident.user)
    client.force_login(other_resident.user)

    page = client.get(f"/helpdesk/{conversation.pk}/")
    poll = client.get(f"/helpdesk/{conversation.pk}/poll/?since=0")
    said = client.post(f"/helpdesk/{conversation.pk}/say/", {"text": "插一句"})

    assert page.status_code == 404
    assert "新生儿落户" not in _html(page)
    assert poll.status_code == 404
    assert poll.json() == {"code": "HELPDESK_NOT_FOUND", "message": "未找到该咨询会话"}
    assert said.status_code == 404
    assert HelpMessage.objects.filter(conversation=conversation).count() == 4


def test_polling_returns_only_new_messages(client, clock, resident, agent):
    conversation = hand_over(resident.user)
    client.force_login(resident.user)
    first = client.get(f"/helpdesk/{conversation.pk}/poll/?since=0").json()
    assert [m["text"] for m in first["messages"]] == [
        "新生儿落户要带什么？",
        "请参阅出生一件事办事指南。",
        "我想问问人工",
        services.SYSTEM_QUEUED,
    ]
    assert first["status"] == "queued"
    cursor = first["cursor"]
    assert cursor == first["messages"][-1]["id"]

    nothing = client.get(f"/helpdesk/{conversation.pk}/poll/?since={cursor}").json()
    assert nothing["messages"] == []
    assert nothing["cursor"] == cursor

    services.conversation_claim(actor=agent, conversation_id=conversation.pk)
    services.message_post_staff(
        actor=agent,
        conversation_id=conversation.pk,
        text="您好，请看指南",
        link_url="/items/birth_registration/",
        link_label="出生登记指南",
    )
    new = client.get(f"/helpdesk/{conversation.pk}/poll/?since={cursor}").json()
    assert new["status"] == "active"
    assert new["status_label"] == "服务中"
    assert [(m["role"], m["text"], m["link_url"], m["link_label"]) for m in new["messages"]] == [
        ("system", services.SYSTEM_CLAIMED, "", ""),
        ("staff", "您好，请看指南", "/items/birth_registration/", "出生登记指南"),
    ]
    # A nonsense cursor is the start, never an error.
    assert len(client.get(f"/helpdesk/{conversation.pk}/poll/?since=abc").json()["messages"]) == 6


def test_a_visitor_follows_their_own_conversation_by_session(client, clock):
    client.get("/helpdesk/")  # a session like any visitor's
    response = client.post("/helpdesk/new/", {"text": "怎么预约？"})
    conversation = HelpConversation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/helpdesk/{conversation.pk}/"
    assert conversation.resident is None

    assert client.get(f"/helpdesk/{conversation.pk}/").status_code == 200
    poll = client.get(f"/helpdesk/{conversation.pk}/poll/?since=0").json()
    assert [m["text"] for m in poll["messages"]] == ["怎么预约？", services.SYSTEM_QUEUED]
    assert "访客无法评价" not in _html(client.get(f"/helpdesk/{conversation.pk}/"))

    client.cookies.clear()
    assert client.get(f"/helpdesk/{conversation.pk}/").status_code == 404


def test_a_visitor_outside_hours_is_asked_to_log_in_and_keeps_the_conversation(
    client, clock, resident
):
    clock.set(SATURDAY_14)
    client.get("/helpdesk/")
    client.post("/helpdesk/new/", {"text": "周末能办吗？"})
    conversation = HelpConversation.objects.get()
    html = _html(client.get(f"/helpdesk/{conversation.pk}/"))
    assert "请<a" in html and "登录</a>后留言" in html
    assert 'id="hd-say"' not in html

    client.force_login(resident.user)  # the session keeps its data, the key changes
    page = client.get(f"/helpdesk/{conversation.pk}/")
    assert page.status_code == 200
    conversation.refresh_from_db()
    assert conversation.resident == resident.user
    assert 'id="hd-say"' in _html(page)
    assert AuditEvent.objects.filter(action="helpdesk.attached").count() == 1


def test_resident_writes_through_the_page(client, clock, resident):
    conversation = hand_over(resident.user)
    client.force_login(resident.user)
    response = client.post(f"/helpdesk/{conversation.pk}/say/", {"text": "还在吗？"})
    assert response.status_code == 302
    assert HelpMessage.objects.filter(conversation=conversation).last().text == "还在吗？"
    empty = client.post(f"/helpdesk/{conversation.pk}/say/", {"text": "  "})
    assert empty.status_code == 422
    assert "请填写内容" in _html(empty)
    assert HelpMessage.objects.filter(conversation=conversation).count() == 5


def test_staff_queue_claim_and_chat_pages(client, clock, resident, agent, other_agent):
    conversation = hand_over(resident.user)
    client.force_login(agent)
    queue = _html(client.get("/staff/helpdesk/"))
    # Named by when it began, never by its id.
    assert f'<a href="/staff/helpdesk/{conversation.pk}/">12月2日 10:00 的咨询</a>' in queue
    assert f"咨询 {conversation.pk}" not in queue
    assert "新生儿落户要带什么？" in queue
    assert re.search(r"\d+ 分钟", queue)

    assert client.post(f"/staff/helpdesk/{conversation.pk}/claim/").status_code == 302
    client.force_login(other_agent)
    lost = client.post(f"/staff/helpdesk/{conversation.pk}/claim/")
    assert lost.status_code == 409
    assert "该咨询已由其他客服接入" in _html(lost)
    conversation.refresh_from_db()
    assert conversation.assigned_to == agent

    client.force_login(agent)
    sent = client.post(
        f"/staff/helpdesk/{conversation.pk}/say/",
        {"text": "请看", "link_url": "https://evil.example/", "link_label": "x"},
    )
    assert sent.status_code == 422
    assert "只能推送本平台的办事指南、在线申请或预约页面" in _html(sent)
    assert HelpMessage.objects.filter(conversation=conversation, author_role="staff").count() == 0
    ok = client.post(
        f"/staff/helpdesk/{conversation.pk}/say/",
        {"text": "", "suggested": "/bookings/new/?item=birth_registration"},
    )
    assert ok.status_code == 302
    message = HelpMessage.objects.filter(conversation=conversation, author_role="staff").get()
    assert (message.link_url, message.link_label) == (
        "/bookings/new/?item=birth_registration",
        "点击查看",
    )


def test_other_posts_get_403_and_nothing_happens(client, clock, resident, reviewer):
    conversation = hand_over(resident.user)
    before = AuditEvent.objects.count()
    client.force_login(reviewer)

    assert client.get("/staff/helpdesk/").status_code == 403
    assert client.get(f"/staff/helpdesk/{conversation.pk}/").status_code == 403
    assert client.post(f"/staff/helpdesk/{conversation.pk}/claim/").status_code == 403
    assert client.get(f"/staff/helpdesk/{conversation.pk}/draft/").status_code == 403
    poll = client.get(
        f"/staff/helpdesk/{conversation.pk}/poll/?since=0", HTTP_ACCEPT="application/json"
    )
    assert poll.status_code == 403
    assert poll.json()["code"] == "HELPDESK_NOT_ALLOWED"

    conversation.refresh_from_db()
    assert conversation.status == "queued"
    assert conversation.assigned_to is None
    assert AuditEvent.objects.count() == before
    # A resident is refused the staff pages too; anonymous is sent to log in.
    client.force_login(resident.user)
    assert client.get("/staff/helpdesk/").status_code == 403
    client.logout()
    assert client.get("/staff/helpdesk/").status_code == 302


def test_staff_page_shows_the_draft_only_while_consented(client, clock, resident, agent):
    from tongban.cases.models import Draft

    draft = Draft(applicant=resident.user, kind="bundle", code="birth", version=1)
    draft.form_data = {"child.name": "张小宝"}
    draft.save()
    conversation = hand_over(resident.user)
    services.conversation_claim(actor=agent, conversation_id=conversation.pk)

    client.force_login(resident.user)
    assert "同意客服查看" in _html(client.get(f"/helpdesk/{conversation.pk}/"))
    client.post(f"/helpdesk/{conversation.pk}/consent/", {"draft": draft.pk})

    client.force_login(agent)
    page = client.get(f"/staff/helpdesk/{conversation.pk}/draft/")
    assert page.status_code == 200
    assert "张小宝" in _html(page)
    assert AuditEvent.objects.filter(action="personal_data.read", purpose="在线帮办").count() == 1

    client.force_login(resident.user)
    client.post(f"/helpdesk/{conversation.pk}/consent/", {"action": "revoke"})
    client.force_login(agent)
    refused = client.get(f"/staff/helpdesk/{conversation.pk}/draft/")
    assert refused.status_code == 403
    assert "张小宝" not in _html(refused)
    assert AuditEvent.objects.filter(action="personal_data.read", purpose="在线帮办").count() == 1


def test_staff_home_card_for_helpdesk_only(client, clock, agent, reviewer):
    client.force_login(agent)
    assert 'href="/staff/helpdesk/"' in _html(client.get("/staff/"))
    client.force_login(reviewer)
    assert 'href="/staff/helpdesk/"' not in _html(client.get("/staff/"))
