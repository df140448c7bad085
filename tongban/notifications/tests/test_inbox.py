"""消息中心 for residents and staff: filters, mark all read, paging, the nav badge, the
preferences page, and the API (unread, unread-count, read-all, notice-preferences)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice, NoticePreference
from tongban.notifications.services import notice_send, notices_mark_all_read

pytestmark = pytest.mark.django_db

DEFAULTS = {
    "case": {"email": True, "sms": True},
    "certificate": {"email": True, "sms": False},
    "review": {"email": True, "sms": False},
    "system": {"email": True, "sms": False},
}


def _mixed(user):
    notice_send(recipient=user, title="甲办件", body="", category="case")
    notice_send(recipient=user, title="乙证照", body="", category="certificate")
    notice_send(recipient=user, title="丙提醒", body="", category="sla_reminder")


def test_mark_all_read_counts_and_touches_only_ones_own(resident, other_resident):
    _mixed(resident.user)
    _mixed(other_resident.user)
    first = Notice.objects.filter(recipient=resident.user).order_by("pk").first()
    first.read_at = first.created_at
    first.save(update_fields=["read_at"])
    assert notices_mark_all_read(user=resident.user) == 2
    assert Notice.objects.filter(recipient=resident.user, read_at__isnull=True).count() == 0
    assert Notice.objects.filter(recipient=other_resident.user, read_at__isnull=True).count() == 3
    first.refresh_from_db()
    assert first.read_at == first.created_at  # the first reading time is kept


def test_page_filters_by_group_and_unread(client, resident):
    _mixed(resident.user)
    client.force_login(resident.user)
    html = client.get("/me/notices/?group=certificate").content.decode()
    assert "乙证照" in html and "甲办件" not in html and "丙提醒" not in html
    html = client.get("/me/notices/?group=system&unread=1").content.decode()
    assert "丙提醒" in html and "乙证照" not in html
    # An unknown group shows everything rather than failing.
    assert "甲办件" in client.get("/me/notices/?group=nope").content.decode()


def test_page_marks_all_read(client, resident):
    _mixed(resident.user)
    client.force_login(resident.user)
    response = client.post("/me/notices/read-all/")
    assert response.status_code == 302 and response["Location"] == "/me/notices/"
    html = client.get("/me/notices/").content.decode()
    assert "已将 3 条消息标为已读。" in html
    assert "没有未读消息。" in html


def test_page_is_paged_twenty_at_a_time(client, resident):
    for i in range(25):
        notice_send(recipient=resident.user, title=f"第{i:02d}条", body="")
    client.force_login(resident.user)
    first = client.get("/me/notices/").content.decode()
    assert "第24条" in first and "第05条" in first and "第04条" not in first
    assert "第 1 页，共 2 页" in first
    second = client.get("/me/notices/?page=2").content.decode()
    assert "第04条" in second and "第05条" not in second


def test_staff_have_the_inbox_and_the_badge(client, reviewer):
    notice_send(
        recipient=reviewer,
        template="sla_reminder",
        context={"item_name": "出生登记", "receipt": "TB-1", "due_date": "2026-10-08"},
        link="/staff/tasks/1/",
    )
    client.force_login(reviewer)
    html = client.get("/me/notices/").content.decode()
    assert "任务即将到期：出生登记" in html
    assert "系统/工作提醒 · " in html
    staff_home = client.get("/staff/").content.decode()
    assert '消息中心<span class="sr-only">（1条未读）</span>' in staff_home


def test_badge_text_for_screen_readers_and_one_count_query(client, resident):
    _mixed(resident.user)
    client.force_login(resident.user)
    with CaptureQueriesContext(connection) as ctx:
        html = client.get("/me/").content.decode()
    # The link's name says the count in words; the coloured badge is hidden from readers.
    assert '消息中心<span class="sr-only">（3条未读）</span>' in html
    assert re.search(r'aria-hidden="true" id="nav-unread-count">3<', html)
    counts = [q["sql"] for q in ctx.captured_queries if "notifications_notice" in q["sql"]]
    assert len(counts) == 1 and counts[0].startswith("SELECT COUNT(*)")


def test_preferences_page_shows_defaults_and_saves_checkboxes(client, resident):
    client.force_login(resident.user)
    html = client.get("/me/notices/preferences/").content.decode()
    assert "<caption>各类消息的发送渠道</caption>" in html
    assert 'id="pref-case-sms" name="case.sms" checked' in html
    assert 'id="pref-review-sms" name="review.sms">' in html
    assert '<label for="pref-review-sms">评价：短信</label>' in html
    assert "补正通知（短信）" in html
    response = client.post("/me/notices/preferences/", {"case.email": "on", "review.sms": "on"})
    assert response.status_code == 302
    stored = {
        (p.group, p.channel): p.enabled for p in NoticePreference.objects.filter(user=resident.user)
    }
    assert len(stored) == 10  # five groups × two channels
    assert {k for k, on in stored.items() if on} == {("case", "email"), ("review", "sms")}
    assert (
        AuditEvent.objects.filter(action="notice_preferences_set", actor=resident.user).count() == 1
    )


def test_preferences_page_needs_login(client):
    response = client.get("/me/notices/preferences/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# ---------------------------------------------------------------- API


def test_api_unread_filter_count_and_read_all(client, resident, other_resident):
    _mixed(resident.user)
    _mixed(other_resident.user)
    client.force_login(resident.user)
    assert client.get("/api/v1/me/notices/unread-count").json() == {"unread_count": 3}
    body = client.get("/api/v1/me/notices?unread=true&group=system").json()
    assert [n["title"] for n in body["items"]] == ["丙提醒"]
    assert body["items"][0]["group"] == "system"
    assert [
        n["title"] for n in client.get("/api/v1/me/notices?offset=1&limit=1").json()["items"]
    ] == ["乙证照"]
    assert client.get("/api/v1/me/notices?group=nope").status_code == 422
    assert client.post("/api/v1/me/notices/read-all").json() == {
        "marked_read": 3,
        "unread_count": 0,
    }
    assert client.get("/api/v1/me/notices?unread=true").json()["items"] == []
    assert Notice.objects.filter(recipient=other_resident.user, read_at__isnull=True).count() == 3


def test_api_preferences_get_and_put(client, resident):
    client.force_login(resident.user)
    url = "/api/v1/me/notice-preferences"
    assert client.get(url).json() == DEFAULTS
    changed = {**DEFAULTS, "certificate": {"email": False, "sms": True}}
    response = client.put(url, changed, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == changed
    assert client.get(url).json() == changed


def test_api_preferences_refuse_bad_input_and_store_nothing(client, resident):
    client.force_login(resident.user)
    url = "/api/v1/me/notice-preferences"
    response = client.put(url, {"case": {"email": True}}, content_type="application/json")
    assert response.status_code == 422
    assert NoticePreference.objects.count() == 0


def test_api_anonymous_is_401_and_changes_nothing(client, resident):
    _mixed(resident.user)
    for response in (
        client.get("/api/v1/me/notices/unread-count"),
        client.post("/api/v1/me/notices/read-all"),
        client.get("/api/v1/me/notice-preferences"),
        client.put("/api/v1/me/notice-preferences", DEFAULTS, content_type="application/json"),
    ):
        assert response.status_code == 401
    assert Notice.objects.filter(read_at__isnull=True).count() == 3
    assert NoticePreference.objects.count() == 0


def test_service_refuses_unknown_groups_and_channels(resident):
    from tongban.common.errors import InvalidInput
    from tongban.notifications.services import notice_preferences_set

    with pytest.raises(InvalidInput) as info:
        notice_preferences_set(
            user=resident.user, choices={"case": {"fax": True}, "weather": {"sms": True}}
        )
    assert info.value.code == "NOTICE_PREFERENCE_INVALID"
    assert info.value.details == [
        {"field": "case.fax", "message": "未知的类别或渠道"},
        {"field": "weather", "message": "未知的类别或渠道"},
    ]
    assert NoticePreference.objects.count() == 0
