"""窗口智能辅助: staff ask the guides from the counter, intake and the workbench; the answer
is the guide's, cited, with the item's 受理条件 and 审查要点; residents and visitors cannot."""

from __future__ import annotations

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.assistant import selectors
from tongban.assistant.models import Conversation
from tongban.catalog.models import Department
from tongban.catalog.selectors import item_definition


@pytest.fixture
def clerk(demo):
    return StaffFactory(department=Department.objects.get(code="SH-GA"), role=StaffRole.REVIEWER)


def test_a_question_about_the_item_in_front_of_the_clerk_is_answered_from_its_guide(demo):
    assert item_definition("SH-CL-0101").fees.description == "不收费"
    answer, token = selectors.staff_assist_answer(question="要收费吗", item_code="SH-CL-0101")
    assert answer.target.code == "SH-CL-0101"
    assert [(s.text, s.source.field, s.source.url) for s in answer.sentences] == [
        ("「残疾人证办理」不收费。", "fees.description", "/items/SH-CL-0101/#basics-title")
    ]
    assert [a.label for a in answer.actions] == ["查看办事指南", "在线办理"]  # no 转人工
    assert Conversation.objects.count() == 0  # nothing stored
    # Materials depend on the guide's question; the answer to it travels in the signed state.
    asked, token = selectors.staff_assist_answer(question="要带什么材料", item_code="SH-CL-0101")
    assert asked.asks.question == "由谁提出申请？"
    listed, _ = selectors.staff_assist_answer(
        question="", item_code="SH-CL-0101", state_token=token, answer_to="agent"
    )
    assert any("委托书或监护关系证明" in s.text for s in listed.sentences)
    alone, _ = selectors.staff_assist_answer(
        question="", item_code="SH-CL-0101", state_token=token, answer_to="self"
    )
    assert not any("委托书" in s.text for s in alone.sentences)
    assert alone.sentences[1].text == "办理「残疾人证办理」需要以下4份材料："
    assert {s.source.field for s in alone.sentences} == {"situations", "materials"}


def test_an_altered_state_starts_afresh_and_an_unknown_item_is_ignored(demo):
    answer, _ = selectors.staff_assist_answer(
        question="要收费吗", item_code="NO-SUCH", state_token="forged"
    )
    assert answer.kind == "clarify"


def test_the_page_shows_the_answer_and_the_review_points(client, clerk):
    client.force_login(clerk)
    page = client.get(
        "/staff/assistant/", {"q": "要带什么材料", "item": "SH-CL-0101", "back": "/staff/tasks/1/"}
    ).content.decode()
    assert '<h2 id="answer-title">回答：残疾人证办理</h2>' in page
    assert "<strong>由谁提出申请？</strong>" in page
    assert 'name="answer_to" value="agent"' in page
    assert "残疾人证办理：审查要点" in page
    assert "具有本市户籍" in page  # 受理条件 from the definition
    assert '<a href="/staff/tasks/1/">返回办件</a>' in page
    elsewhere = client.get("/staff/assistant/", {"q": "x", "back": "https://evil.example/"})
    assert "返回办件" not in elsewhere.content.decode()


def test_residents_and_visitors_cannot_use_it(client, resident):
    response = client.get("/staff/assistant/", {"q": "要带什么材料"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(resident.user)
    response = client.get("/staff/assistant/", {"q": "要带什么材料"})
    assert response.status_code == 403
    assert "回答" not in response.content.decode()
