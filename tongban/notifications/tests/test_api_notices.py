"""/api/v1/me/notices: anonymous, owner, another resident; CSRF on the session POST."""

import pytest
from django.test import Client

from tongban.notifications.models import Notice
from tongban.notifications.services import notice_send

pytestmark = pytest.mark.django_db

LIST = "/api/v1/me/notices"


def _read(notice_id):
    return f"/api/v1/me/notices/{notice_id}/read"


@pytest.fixture
def notices(resident):
    return [
        notice_send(recipient=resident.user, title=f"消息{i}", body="正文", link="/me/")
        for i in range(3)
    ]


def test_anonymous_gets_401(client, notices):
    for response in (client.get(LIST), client.post(_read(notices[0].pk))):
        assert response.status_code == 401
        assert response.json() == {"code": "AUTHENTICATION_REQUIRED", "message": "请先登录"}
    assert Notice.objects.filter(read_at__isnull=False).count() == 0


def test_owner_lists_newest_first_with_exact_unread_count(client, resident, notices):
    client.force_login(resident.user)
    body = client.get(LIST).json()
    assert body["unread_count"] == 3
    assert [n["title"] for n in body["items"]] == ["消息2", "消息1", "消息0"]
    first = body["items"][0]
    assert set(first) == {
        "id",
        "title",
        "body",
        "link",
        "category",
        "group",
        "created_at",
        "read_at",
    }
    assert (first["link"], first["read_at"]) == ("/me/", None)


def test_owner_marks_read(client, resident, notices):
    client.force_login(resident.user)
    response = client.post(_read(notices[1].pk))
    assert response.status_code == 200
    assert response.json()["id"] == notices[1].pk
    assert response.json()["read_at"] is not None
    body = client.get(f"{LIST}?unread_only=true").json()
    assert body["unread_count"] == 2
    assert [n["title"] for n in body["items"]] == ["消息2", "消息0"]


def test_limit_is_bounded(client, resident, notices):
    client.force_login(resident.user)
    assert [n["title"] for n in client.get(f"{LIST}?limit=1").json()["items"]] == ["消息2"]
    assert client.get(f"{LIST}?limit=0").status_code == 422
    assert client.get(f"{LIST}?limit=201").status_code == 422


def test_other_resident_sees_nothing_and_cannot_mark_read(client, other_resident, notices):
    client.force_login(other_resident.user)
    assert client.get(LIST).json() == {"unread_count": 0, "items": []}
    response = client.post(_read(notices[0].pk))
    assert response.status_code == 404
    assert response.json() == {"code": "NOTICE_NOT_FOUND", "message": "未找到该消息"}
    notices[0].refresh_from_db()
    assert notices[0].read_at is None


def test_missing_notice_is_404(client, resident, notices):
    client.force_login(resident.user)
    assert client.post(_read(999_999)).json()["code"] == "NOTICE_NOT_FOUND"


def test_post_needs_the_csrf_token(resident, notices):
    client = Client(enforce_csrf_checks=True)
    client.force_login(resident.user)
    client.get("/me/notices/")  # sets the csrftoken cookie, as a page visit would
    refused = client.post(_read(notices[0].pk))
    assert refused.status_code == 403
    notices[0].refresh_from_db()
    assert notices[0].read_at is None
    token = client.cookies["csrftoken"].value
    accepted = client.post(_read(notices[0].pk), HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200
