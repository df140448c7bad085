"""The /assistant/ page without JavaScript: a plain form, POST then the page with the whole
conversation; ask-back options as buttons; someone else's conversation is a 404."""

from __future__ import annotations

import re

from django.test import Client

from tongban.assistant.models import Conversation, Turn


def html(response) -> str:
    return response.content.decode()


def test_the_page_greets_and_the_header_links_to_it(client, demo):
    page = html(client.get("/assistant/"))
    assert "<h1>智能客服</h1>" in page
    assert "您好，我是智能客服。" in page
    assert '<label for="question">您的问题</label>' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert '<a href="/assistant/" aria-current="page">智能客服</a>' in page
    assert 'href="/assistant/">智能客服</a>' in html(client.get("/"))


def test_a_question_posted_without_javascript_shows_the_whole_conversation(client, demo):
    response = client.post("/assistant/", {"question": "出生登记要多少钱", "key": "a1"})
    conversation = Conversation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/assistant/?c={conversation.pk}#t-2"
    client.post(
        "/assistant/", {"question": "那要多久", "conversation": conversation.pk, "key": "a2"}
    )
    page = html(client.get(f"/assistant/?c={conversation.pk}"))
    assert '<p class="said">出生登记要多少钱</p>' in page
    assert '<p class="said">那要多久</p>' in page
    assert (
        '「出生登记」不收费。 <a class="source" href="/items/SH-GA-0101/#basics-title">'
        "出处：收费</a>" in page
    )
    assert "「出生登记」承诺3个工作日内办结（法定时限20个工作日）。" in page
    assert f'action="/assistant/{conversation.pk}/handoff/"' in page
    # The page opened again continues the same conversation.
    assert '<p class="said">那要多久</p>' in html(client.get("/assistant/"))
    assert '<p class="said">那要多久</p>' not in html(client.get("/assistant/?new=1"))


def test_ask_back_options_are_buttons_and_only_the_latest_are_live(client, demo):
    client.post("/assistant/", {"question": "出生登记要带什么材料", "key": "b1"})
    conversation = Conversation.objects.get()
    page = html(client.get(f"/assistant/?c={conversation.pk}"))
    assert "<strong>新生儿父母的婚姻状况？</strong>" in page
    assert re.findall(r'name="answer_to" value="(\w+)"', page) == ["married", "unmarried"]
    client.post(
        "/assistant/", {"answer_to": "married", "conversation": conversation.pk, "key": "b2"}
    )
    page = html(client.get(f"/assistant/?c={conversation.pk}"))
    assert re.findall(r'name="answer_to" value="(\w+)"', page) == ["father", "mother"]
    assert "可选：已登记结婚、未登记结婚" in page
    client.post(
        "/assistant/", {"answer_to": "father", "conversation": conversation.pk, "key": "b3"}
    )
    page = html(client.get(f"/assistant/?c={conversation.pk}"))
    assert "5. 结婚证（原件 1份）" in page
    # The five materials and the line before them cite the guide once, after the last.
    assert page.count("出处：申请材料（按您的情况）</a>") == 1
    assert 'name="answer_to"' not in page


def test_an_empty_question_is_shown_as_an_error_and_nothing_is_stored(client, demo):
    response = client.post("/assistant/", {"question": " ", "key": "c1"})
    assert response.status_code == 422
    assert "请输入您的问题" in html(response)
    assert Turn.objects.count() == 0


def test_another_sessions_conversation_is_404_and_shows_nothing(client, demo, resident):
    client.post("/assistant/", {"question": "出生登记要多少钱，孩子叫王小明", "key": "d1"})
    conversation = Conversation.objects.get()
    stranger = Client()
    logged_in = Client()
    logged_in.force_login(resident.user)
    for other in (stranger, logged_in):
        response = other.get(f"/assistant/?c={conversation.pk}")
        assert response.status_code == 404
        assert "王小明" not in html(response)
        posted = other.post(
            "/assistant/", {"question": "那要多久", "conversation": conversation.pk, "key": "d2"}
        )
        assert posted.status_code == 404
        handoff = other.post(f"/assistant/{conversation.pk}/handoff/")
        assert handoff.status_code == 404
    assert Turn.objects.filter(conversation=conversation).count() == 2
    # Nor does another's latest conversation open for them on /assistant/.
    assert "王小明" not in html(stranger.get("/assistant/"))


def test_the_elder_version_renders_the_same_conversation(client, demo):
    client.cookies["tongban_elder"] = "1"
    client.post("/assistant/", {"question": "出生登记在哪办", "key": "e1"})
    page = html(client.get("/assistant/"))
    assert '<body class="elder">' in page
    assert "办理地点：随迁一方户口所在地公安派出所户籍窗口（示例）。" in page


def test_handoff_hands_the_conversation_with_its_history_to_the_helpdesk(client, demo):
    from tongban.helpdesk.models import HelpConversation

    client.post("/assistant/", {"question": "办护照多少钱", "key": "f1"})
    conversation = Conversation.objects.get()
    response = client.post(f"/assistant/{conversation.pk}/handoff/")
    helpdesk = HelpConversation.objects.get(assistant_conversation_id=conversation.pk)
    assert response.status_code == 302
    assert response["Location"] == helpdesk.get_absolute_url()
    conversation.refresh_from_db()
    assert conversation.helpdesk_url == helpdesk.get_absolute_url()
    assert conversation.handed_over_at is not None
    # Again: the open one, not a second.
    client.post(f"/assistant/{conversation.pk}/handoff/")
    assert HelpConversation.objects.filter(assistant_conversation_id=conversation.pk).count() == 1


def test_what_a_visitor_asked_is_theirs_after_logging_in(client, demo, resident, other_resident):
    from tongban.common.models import AuditEvent

    client.post("/assistant/", {"question": "出生登记要多少钱，孩子叫王小明", "key": "g1"})
    mine = Conversation.objects.get()
    # Another visitor's conversation, asked in another browser, stays theirs.
    stranger = Client()
    stranger.post("/assistant/", {"question": "办护照多少钱", "key": "g2"})
    theirs = Conversation.objects.exclude(pk=mine.pk).get()
    old_key = client.session.session_key
    client.force_login(resident.user)
    assert client.session.session_key != old_key
    page = html(client.get("/assistant/"))
    assert '<p class="said">出生登记要多少钱，孩子叫王小明</p>' in page
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.owner_id, mine.session_hash) == (resident.user.pk, "")
    assert theirs.owner_id is None
    event = AuditEvent.objects.get(action="assistant.attached")
    assert (event.actor_id, event.data) == (resident.user.pk, {"conversations": [mine.pk]})
    # It continues as the account's: the next question is a turn of the same conversation.
    client.post("/assistant/", {"question": "那要多久", "conversation": mine.pk, "key": "g3"})
    assert Turn.objects.filter(conversation=mine).count() == 4
    # Taken once: logging out and another person logging in on this browser finds nothing.
    client.logout()
    client.force_login(other_resident.user)
    assert "王小明" not in html(client.get("/assistant/"))
    assert client.get(f"/assistant/?c={mine.pk}").status_code == 404
    assert AuditEvent.objects.filter(action="assistant.attached").count() == 1


def test_a_remembered_id_never_takes_an_account_s_conversation(demo, resident, other_resident):
    from tongban.assistant.services import assistant_ask, assistant_attach_remembered

    asked = assistant_ask(user=other_resident.user, session_key="", question="办护照多少钱")
    taken = assistant_attach_remembered(
        user=resident.user, remembered_ids=[asked.conversation.pk, True, "7", -1]
    )
    assert taken == []
    asked.conversation.refresh_from_db()
    assert asked.conversation.owner_id == other_resident.user.pk


def test_the_agent_s_links_carry_what_the_person_answered_and_the_question_asked_back(
    client, demo, resident, settings, monkeypatch
):
    import datetime as dt

    from tongban.accounts.models import StaffRole
    from tongban.accounts.tests.factories import DepartmentFactory, StaffFactory
    from tongban.common.calendar import LOCAL_TZ
    from tongban.helpdesk import services as helpdesk_services
    from tongban.helpdesk.models import HelpConversation, HelpMessage

    # Inside service hours whatever the hour the suite runs at (a Wednesday, 10:00).
    settings.TONGBAN_HELPDESK_HOURS = "workday=09:00-17:00;weekend=09:00-12:00"
    monkeypatch.setattr(
        helpdesk_services, "_now", lambda: dt.datetime(2026, 12, 2, 10, 0, tzinfo=LOCAL_TZ)
    )
    client.force_login(resident.user)
    client.post("/assistant/", {"question": "出生登记要带什么材料", "key": "h1"})
    conversation = Conversation.objects.get()
    for n, value in enumerate(("married", "father"), 2):
        client.post(
            "/assistant/",
            {"answer_to": value, "conversation": conversation.pk, "key": f"h{n}"},
        )
    client.post(f"/assistant/{conversation.pk}/handoff/")
    helpdesk = HelpConversation.objects.get(assistant_conversation_id=conversation.pk)
    # The agent reads the question the person's 已登记结婚 answered.
    said = [m.text for m in HelpMessage.objects.filter(conversation=helpdesk).order_by("pk")]
    assert said[1:4] == [
        "材料清单要看您的情况，请先回答指南中的这个问题。 "
        "新生儿父母的婚姻状况？（已登记结婚、未登记结婚）",
        "已登记结婚",
        "材料清单要看您的情况，请先回答指南中的这个问题。 "
        "新生儿户口随父亲还是随母亲申报？（随父亲、随母亲）",
    ]
    centre = DepartmentFactory(code="demo-zwfw-x", name="示例市政务服务中心（测试）")
    agent = StaffFactory(department=centre, role=StaffRole.HELPDESK)
    desk = Client()
    desk.force_login(agent)
    assert desk.post(f"/staff/helpdesk/{helpdesk.pk}/claim/").status_code == 302
    page = html(desk.get(f"/staff/helpdesk/{helpdesk.pk}/"))
    options = re.findall(r'<option value="([^"]*)">([^<]*)</option>', page)
    assert options == [
        ("", "不推送"),
        ("/items/SH-GA-0101/", "办事指南：出生登记"),
        (
            "/apply/item/SH-GA-0101/?parents_marital=married&amp;hukou_follows=father",
            "在线申请：出生登记（按咨询中的回答）",
        ),
    ]
    # Pushed, it passes the same check as a typed link and reaches the person.
    desk.post(
        f"/staff/helpdesk/{helpdesk.pk}/say/",
        {"text": "请点链接继续", "suggested": options[2][0].replace("&amp;", "&")},
    )
    pushed = HelpMessage.objects.filter(conversation=helpdesk).order_by("-pk").first()
    assert pushed.link_url == (
        "/apply/item/SH-GA-0101/?parents_marital=married&hukou_follows=father"
    )
