"""Developers and their keys: registration, one live key at a time, revocation by its owner
only, and the per-key rate limit counted in the database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tongban.accounts.tests.factories import UserFactory
from tongban.common.models import AuditEvent
from tongban.opendata.errors import (
    ApiKeyInvalid,
    ApiKeyNotFound,
    ApiRateLimited,
    DeveloperAlreadyRegistered,
    DeveloperInputInvalid,
    DeveloperNotRegistered,
)
from tongban.opendata.models import ApiKey, ApiKeyDailyUsage, Developer
from tongban.opendata.selectors import api_key_for, usage_for
from tongban.opendata.services import (
    api_call_admit,
    api_key_create,
    api_key_revoke,
    developer_register,
)
from tongban.opendata.tests.conftest import register

pytestmark = pytest.mark.django_db

# 10:00:15 in Shanghai: 45 seconds of the minute are left.
AT = dt.datetime(2026, 11, 20, 10, 0, 15, tzinfo=dt.UTC) - dt.timedelta(hours=8)


def test_registration_gives_a_key_that_is_stored_only_as_a_hash(issued):
    developer = issued.key.developer
    assert (developer.app_name, developer.contact_email) == (
        "测试 公交换乘查询",
        "dev@example.test",
    )
    assert issued.secret.startswith("tbod_") and len(issued.secret) == 48
    stored = ApiKey.objects.get()
    assert stored.key_prefix == issued.secret[:12]
    assert issued.secret not in {stored.key_hash, stored.key_prefix}
    assert api_key_for(issued.secret) == stored
    audits = AuditEvent.objects.order_by("id")
    assert [(a.action, a.actor_id, a.object_id) for a in audits] == [
        ("opendata.developer_register", developer.user_id, str(developer.pk)),
        ("opendata.api_key_create", developer.user_id, str(stored.pk)),
    ]
    assert audits[1].data == {"developer_id": developer.pk, "key_prefix": stored.key_prefix}
    assert not any(issued.secret in str(a.data) for a in audits)


def test_a_second_registration_of_the_same_account_makes_nothing(issued):
    with pytest.raises(DeveloperAlreadyRegistered):
        register(user=issued.key.developer.user, app_name="另一个应用")
    assert (Developer.objects.count(), ApiKey.objects.count(), AuditEvent.objects.count()) == (
        1,
        1,
        2,
    )


def test_registration_without_name_purpose_or_a_valid_email_is_refused(db):
    user = UserFactory()
    with pytest.raises(DeveloperInputInvalid) as refused:
        developer_register(user=user, app_name=" ", purpose="", contact_email="not-an-address")
    assert refused.value.code == "DEVELOPER_INPUT_INVALID"
    assert refused.value.details == [
        {"field": "app_name", "message": "请填写应用名称（不超过100字）"},
        {"field": "purpose", "message": "请说明数据的用途（不超过500字）"},
        {"field": "contact_email", "message": "请填写有效的联系邮箱"},
    ]
    assert (Developer.objects.count(), ApiKey.objects.count(), AuditEvent.objects.count()) == (
        0,
        0,
        0,
    )


def test_a_new_key_replaces_the_live_one_in_the_same_transaction(issued):
    user = issued.key.developer.user
    fresh = api_key_create(actor=user)
    assert api_key_for(issued.secret) is None
    assert api_key_for(fresh.secret) == fresh.key
    old = ApiKey.objects.get(pk=issued.key.pk)
    assert old.revoked_at is not None and fresh.key.revoked_at is None
    assert list(AuditEvent.objects.order_by("id").values_list("action", "object_id"))[2:] == [
        ("opendata.api_key_revoke", str(old.pk)),
        ("opendata.api_key_create", str(fresh.key.pk)),
    ]


def test_the_database_holds_one_live_key_per_developer(issued):
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.create(
            developer=issued.key.developer, key_hash="0" * 64, key_prefix="x",
            created_at=timezone.now(),
        )  # fmt: skip


def test_an_account_that_never_registered_gets_no_key(db):
    with pytest.raises(DeveloperNotRegistered):
        api_key_create(actor=UserFactory())
    assert ApiKey.objects.count() == 0 and AuditEvent.objects.count() == 0


def test_only_the_owner_revokes_a_key(issued):
    other = register(app_name="别人的应用").key.developer.user
    audits = AuditEvent.objects.count()
    with pytest.raises(ApiKeyNotFound):
        api_key_revoke(actor=other, key_id=issued.key.pk)
    assert ApiKey.objects.get(pk=issued.key.pk).revoked_at is None
    assert api_key_for(issued.secret) == issued.key
    assert AuditEvent.objects.count() == audits

    owner = issued.key.developer.user
    revoked = api_key_revoke(actor=owner, key_id=issued.key.pk)
    assert revoked.revoked_at is not None and api_key_for(issued.secret) is None
    again = api_key_revoke(actor=owner, key_id=issued.key.pk)  # nothing more happens
    assert again.revoked_at == revoked.revoked_at
    assert AuditEvent.objects.filter(action="opendata.api_key_revoke").count() == 1


def test_the_call_over_the_limit_is_refused_until_the_minute_ends(issued, settings):
    settings.TONGBAN_OPENDATA_RATE_LIMIT = 3
    for _ in range(3):
        api_call_admit(key=issued.key, dataset_id="halls", now=AT)
    with pytest.raises(ApiRateLimited) as refused:
        api_call_admit(key=issued.key, dataset_id="halls", now=AT + dt.timedelta(seconds=5))
    assert refused.value.retry_after_seconds == 40
    assert refused.value.code == "API_RATE_LIMITED"
    assert refused.value.message == "调用过于频繁：每个密钥每分钟最多调用3次，请40秒后再试"
    # The next minute starts a new count.
    api_call_admit(key=issued.key, dataset_id="policies", now=AT + dt.timedelta(seconds=45))
    key = ApiKey.objects.get()
    assert (key.window_calls, key.last_used_at) == (1, AT + dt.timedelta(seconds=45))
    usage = ApiKeyDailyUsage.objects.order_by("dataset")
    assert list(usage.values_list("day", "dataset", "calls", "refused")) == [
        (dt.date(2026, 11, 20), "halls", 3, 1),
        (dt.date(2026, 11, 20), "policies", 1, 0),
    ]


def test_a_revoked_key_is_not_admitted_and_its_call_not_counted(issued):
    api_key_revoke(actor=issued.key.developer.user, key_id=issued.key.pk)
    with pytest.raises(ApiKeyInvalid):
        api_call_admit(key=issued.key, dataset_id="halls", now=AT)
    assert ApiKeyDailyUsage.objects.count() == 0


def test_usage_sums_every_key_of_the_developer_over_thirty_days(issued):
    developer = issued.key.developer
    second = api_key_create(actor=developer.user).key
    today = timezone.localdate()
    for key, day, dataset, calls, refused in [
        (issued.key, today, "halls", 5, 0),
        (second, today, "halls", 2, 1),
        (second, today - dt.timedelta(days=29), "policies", 7, 0),
        (second, today - dt.timedelta(days=30), "policies", 100, 0),  # too old
    ]:
        ApiKeyDailyUsage.objects.create(
            key=key, day=day, dataset=dataset, calls=calls, refused=refused
        )
    usage = usage_for(developer=developer)
    assert (usage["calls"], usage["refused"], usage["limit"]) == (14, 1, 60)
    assert usage["daily"] == [
        {"day": today, "dataset": "halls", "title": "政务服务大厅及开放时间", "calls": 7,
         "refused": 1},
        {"day": today - dt.timedelta(days=29), "dataset": "policies", "title": "惠企利民政策清单",
         "calls": 7, "refused": 0},
    ]  # fmt: skip
