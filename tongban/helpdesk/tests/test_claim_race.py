"""Two helpdesk staff press 接入 at the same moment, each on its own database connection:
one owner. The claim is a conditional UPDATE (status still 排队中), so the second writer
finds no row to take. Runs on PostgreSQL and on a file SQLite test database; a shared-cache
memory database refuses concurrent writers outright instead of waiting, as in
tongban/appointments/tests/test_queue_concurrency.py."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tongban.helpdesk import services
from tongban.helpdesk.errors import ConversationAlreadyClaimed
from tongban.helpdesk.models import HelpConversation
from tongban.helpdesk.tests.conftest import hand_over


@pytest.fixture(autouse=True)
def _real_database():
    if connection.vendor == "sqlite" and connection.settings_dict["TEST"].get("NAME") in (
        None,
        "",
        ":memory:",
    ):
        pytest.skip("concurrent writers need PostgreSQL or a file SQLite test database")


@pytest.mark.django_db(transaction=True)
def test_simultaneous_claims_make_one_owner(clock, resident, agent, other_agent):
    conversation = hand_over(resident.user)
    start = threading.Barrier(2)
    outcome: dict[int, str] = {}
    errors: list[BaseException] = []

    def press(staff):
        try:
            start.wait(timeout=60)
            services.conversation_claim(actor=staff, conversation_id=conversation.pk)
            outcome[staff.pk] = "won"
        except ConversationAlreadyClaimed:
            outcome[staff.pk] = "lost"
        except BaseException as exc:  # reported below: a thread must not die silently
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press, args=(s,)) for s in (agent, other_agent)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    assert sorted(outcome.values()) == ["lost", "won"]
    winner = next(pk for pk, result in outcome.items() if result == "won")
    conversation = HelpConversation.objects.get(pk=conversation.pk)
    assert conversation.status == "active"
    assert conversation.assigned_to_id == winner
    assert conversation.messages.filter(author_role="system").count() == 2  # queued, claimed
