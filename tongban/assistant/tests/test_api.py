"""POST /api/v1/assistant/ask: the answer's shape, memory by conversation_id, errors with
stable codes, CSRF for session calls, idempotency and the throttle."""

from __future__ import annotations

import pytest
from django.test import Client

from tongban.assistant import services
from tongban.assistant.models import Conversation, Turn

URL = "/api/v1/assistant/ask"


def post(client, body, **headers):
    return client.post(URL, body, content_type="application/json", headers=headers)


def test_a_fee_question_and_a_follow_up(client, demo):
    response = post(client, {"question": "出生登记要多少钱"})
    assert response.status_code == 200
    body = response.json()
    conversation_id = body["conversation_id"]
    assert body == {
        "conversation_id": conversation_id,
        "answer": {
            "kind": "answer",
            "sentences": [
                {
                    "text": "「出生登记」不收费。",
                    "source": {
                        "field": "fees.description",
                        "label": "收费",
                        "url": "/items/SH-GA-0101/#basics-title",
                    },
                }
            ],
            "asks": None,
            "actions": [
                {"label": "查看办事指南", "url": "/items/SH-GA-0101/", "method": "get"},
                {"label": "在线办理", "url": "/apply/item/SH-GA-0101/", "method": "get"},
            ],
        },
        "target": {"kind": "item", "code": "SH-GA-0101", "name": "出生登记"},
    }
    follow = post(client, {"question": "那要多久？", "conversation_id": conversation_id}).json()
    assert follow["conversation_id"] == conversation_id
    assert follow["answer"]["sentences"][0]["text"] == (
        "「出生登记」承诺3个工作日内办结（法定时限20个工作日）。"
    )


def test_an_ask_back_is_answered_with_answer_to(client, demo):
    first = post(client, {"question": "出生登记要带什么"}).json()
    assert first["answer"]["kind"] == "ask"
    assert first["answer"]["asks"] == {
        "question": "新生儿父母的婚姻状况？",
        "options": [
            {"value": "married", "label": "已登记结婚"},
            {"value": "unmarried", "label": "未登记结婚"},
        ],
        "help": "",
    }
    second = post(
        client, {"conversation_id": first["conversation_id"], "answer_to": "unmarried"}
    ).json()
    assert second["answer"]["asks"]["question"] == "新生儿户口随父亲还是随母亲申报？"
    turns = Turn.objects.filter(conversation_id=first["conversation_id"]).order_by("seq")
    # The chosen option is recorded as the person's words.
    assert [t.text for t in turns if t.role == "resident"] == ["出生登记要带什么", "未登记结婚"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"question": ""}, 422, "ASSISTANT_QUESTION_EMPTY"),
        ({"question": "  \n "}, 422, "ASSISTANT_QUESTION_EMPTY"),
        ({"question": "办" * 201}, 422, "ASSISTANT_QUESTION_TOO_LONG"),
        ({"question": "出生登记", "answer_to": "married"}, 422, "ASSISTANT_ANSWER_INVALID"),
        ({"question": "出生登记", "conversation_id": 0}, 422, "INVALID_INPUT"),
        (
            {"question": "出生登记", "conversation_id": 999999},
            404,
            "ASSISTANT_CONVERSATION_NOT_FOUND",
        ),
    ],
)
def test_bad_input_has_a_stable_code_and_stores_nothing(client, demo, body, status, code):
    response = post(client, body)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert Conversation.objects.count() == 0
    assert Turn.objects.count() == 0


def test_someone_elses_conversation_is_404_and_nothing_is_returned_or_added(client, demo, resident):
    mine = post(client, {"question": "出生登记要多少钱，孩子叫王小明"}).json()["conversation_id"]
    stranger = Client()
    logged_in = Client()
    logged_in.force_login(resident.user)
    for other in (stranger, logged_in):
        response = post(other, {"question": "那要多久？", "conversation_id": mine})
        assert response.status_code == 404
        assert response.json() == {
            "code": "ASSISTANT_CONVERSATION_NOT_FOUND",
            "message": "未找到该对话",
        }
        assert "王小明" not in response.content.decode()
    assert Turn.objects.filter(conversation_id=mine).count() == 2
    assert Conversation.objects.count() == 1


def test_a_session_call_needs_its_csrf_token(demo, resident):
    client = Client(enforce_csrf_checks=True)
    client.force_login(resident.user)
    refused = post(client, {"question": "出生登记要多少钱"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "CSRF_FAILED"
    assert Conversation.objects.count() == 0
    page = client.get("/assistant/")
    token = page.context["csrf_token"]
    allowed = post(client, {"question": "出生登记要多少钱"}, **{"X-CSRFToken": str(token)})
    assert allowed.status_code == 200
    assert Conversation.objects.get().owner == resident.user


def test_the_same_idempotency_key_is_answered_once(client, demo):
    first = post(client, {"question": "出生登记要多少钱"}).json()
    body = {"question": "那要多久", "conversation_id": first["conversation_id"]}
    once = post(client, body, **{"Idempotency-Key": "same"}).json()
    twice = post(client, body, **{"Idempotency-Key": "same"}).json()
    assert once == twice
    assert Turn.objects.count() == 4


def test_too_many_questions_wait(client, demo, monkeypatch):
    monkeypatch.setattr(services, "THROTTLE_ASKS", 1)
    post(client, {"question": "出生登记要多少钱"})
    response = post(client, {"question": "出生登记要多少钱"})
    assert response.status_code == 429
    assert response.json()["code"] == "ASSISTANT_THROTTLED"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Turn.objects.count() == 2
