"""The 我的消息 page and the unread count in the nav."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongban.notifications.services import notice_send

pytestmark = pytest.mark.django_db

PAGE = "/me/notices/"


def _badge(html):
    match = re.search(r'id="nav-unread-count">(\d+)<', html)
    return int(match.group(1)) if match else None


@pytest.fixture
def notices(resident):
    return [
        notice_send(recipient=resident.user, title=f"消息{i}", body="正文", link="/me/")
        for i in range(2)
    ]


def test_anonymous_is_sent_to_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_page_lists_notices_and_the_nav_shows_the_unread_count(client, resident, notices):
    client.force_login(resident.user)
    html = client.get(PAGE).content.decode()
    assert "<h1>我的消息</h1>" in html
    assert "您有 2 条未读消息。" in html
    assert html.index("消息1") < html.index("消息0")
    assert _badge(html) == 2
    assert _badge(client.get("/me/").content.decode()) == 2


def test_nav_has_no_badge_without_unread_notices(client, other_resident, notices):
    client.force_login(other_resident.user)
    html = client.get("/me/").content.decode()
    assert 'href="/me/notices/"' in html
    assert _badge(html) is None


def test_nav_count_costs_one_query(client, resident, notices):
    client.force_login(resident.user)
    with CaptureQueriesContext(connection) as ctx:
        client.get("/me/")
    counts = [q["sql"] for q in ctx.captured_queries if "notifications_notice" in q["sql"]]
    assert len(counts) == 1
    assert counts[0].startswith("SELECT COUNT(*)")


def test_mark_read_from_the_page(client, resident, notices):
    client.force_login(resident.user)
    response = client.post(f"/me/notices/{notices[0].pk}/read/")
    assert response.status_code == 302
    assert response["Location"] == PAGE
    notices[0].refresh_from_db()
    assert notices[0].read_at is not None
    assert "您有 1 条未读消息。" in client.get(PAGE).content.decode()


def test_open_marks_read_and_follows_the_link(client, resident, notices):
    client.force_login(resident.user)
    response = client.post(f"/me/notices/{notices[1].pk}/read/", {"open": "1"})
    assert response["Location"] == "/me/"
    notices[1].refresh_from_db()
    assert notices[1].read_at is not None


def test_another_residents_notice_is_404_and_stays_unread(client, other_resident, notices):
    client.force_login(other_resident.user)
    assert client.post(f"/me/notices/{notices[0].pk}/read/").status_code == 404
    notices[0].refresh_from_db()
    assert notices[0].read_at is None
    assert "消息0" not in client.get(PAGE).content.decode()


def test_anonymous_home_has_no_message_link(client):
    assert 'href="/me/notices/"' not in client.get("/").content.decode()
