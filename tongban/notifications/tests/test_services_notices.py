"""notice_send, notice_mark_read and the selectors: exact counts, and nothing changed on refusal."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from tongban.common.errors import InvalidInput
from tongban.notifications.errors import NoticeNotFound
from tongban.notifications.models import Notice
from tongban.notifications.selectors import notices_for, unread_count
from tongban.notifications.services import notice_mark_read, notice_send

pytestmark = pytest.mark.django_db


def _send(user, title="办件已受理", **kwargs):
    return notice_send(recipient=user, title=title, body="您的办件已受理。", **kwargs)


def test_send_writes_the_notice_and_queues_its_delivery_in_the_same_transaction(
    resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notice = _send(resident.user, link="/me/", category="办件")
    # The task row is written with the notice (it commits or rolls back with it), so nothing
    # waits for an after-commit callback that a dying process would never run.
    assert callbacks == []
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "tongban.notifications.tasks.deliver_notice"
    assert queued.args_kwargs == {"args": [], "kwargs": {"notice_id": notice.pk}}
    assert queued.status == "READY"
    notice.refresh_from_db()
    assert (notice.title, notice.link, notice.category) == ("办件已受理", "/me/", "办件")
    assert notice.read_at is None and notice.delivered_at is None


def test_a_rolled_back_caller_leaves_no_notice_and_queues_nothing(
    resident, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _send(resident.user)
        raise RuntimeError("the caller's change failed")
    assert callbacks == []
    assert Notice.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "长" * 201}, "title"),
        ({"link": "https://example.com/"}, "link"),
        ({"link": "//example.com/x"}, "link"),
        ({"link": "/\\example.com"}, "link"),
        ({"link": "me/"}, "link"),
        ({"category": "类" * 41}, "category"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(
    resident, django_capture_on_commit_callbacks, kwargs, field
):
    args = {"recipient": resident.user, "title": "标题", "body": "", **kwargs}
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(InvalidInput) as info,
    ):
        notice_send(**args)
    assert info.value.details[0]["field"] == field
    assert callbacks == []
    assert Notice.objects.count() == 0


def test_mark_read_sets_read_at_once(resident):
    notice = _send(resident.user)
    first = notice_mark_read(user=resident.user, notice_id=notice.pk)
    assert first.read_at is not None
    again = notice_mark_read(user=resident.user, notice_id=notice.pk)
    assert again.read_at == first.read_at


def test_another_users_notice_is_not_found_and_stays_unread(resident, other_resident):
    notice = _send(resident.user)
    with pytest.raises(NoticeNotFound) as info:
        notice_mark_read(user=other_resident.user, notice_id=notice.pk)
    assert info.value.code == "NOTICE_NOT_FOUND"
    assert info.value.http_status == 404
    notice.refresh_from_db()
    assert notice.read_at is None


def test_missing_notice_is_not_found(resident):
    with pytest.raises(NoticeNotFound):
        notice_mark_read(user=resident.user, notice_id=999_999)


def test_unread_counts_are_exact_and_per_user(resident, other_resident):
    mine = [_send(resident.user, title=f"消息{i}") for i in range(3)]
    _send(other_resident.user)
    notice_mark_read(user=resident.user, notice_id=mine[0].pk)
    assert unread_count(user=resident.user) == 2
    assert unread_count(user=other_resident.user) == 1
    assert [n.title for n in notices_for(user=resident.user)] == ["消息2", "消息1", "消息0"]
    assert [n.title for n in notices_for(user=resident.user, unread_only=True)] == [
        "消息2",
        "消息1",
    ]


def test_anonymous_has_no_notices(resident):
    from django.contrib.auth.models import AnonymousUser

    _send(resident.user)
    assert unread_count(user=AnonymousUser()) == 0
    assert list(notices_for(user=AnonymousUser())) == []
