"""The demo city's residents stand for people who registered: 已实名核验, mobile confirmed,
so a visitor can walk 找回密码 with them; staff carry no level (they never apply online)."""

from __future__ import annotations

import pytest
from django.conf import settings

from tongban.accounts.models import AssuranceLevel, User
from tongban.catalog.services import catalog_load_directory
from tongban.demo.accounts import ensure_demo_accounts
from tongban.identity.selectors import mobile_hash
from tongban.identity.services import password_reset_start

pytestmark = pytest.mark.django_db


def test_demo_residents_are_real_name_checked_with_their_mobile_confirmed(sms):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    resident1 = User.objects.get(username="resident1")
    assert resident1.assurance_level == AssuranceLevel.REAL_NAME
    assert resident1.assurance_at is not None
    assert resident1.mobile_hash == mobile_hash("13800000001")
    assert resident1.mobile_confirmed_at is not None
    agent1 = User.objects.get(username="agent1")
    assert (agent1.assurance_level, agent1.mobile_hash) == (
        AssuranceLevel.REAL_NAME,
        mobile_hash("13800000005"),
    )
    assert User.objects.get(username="counter").assurance_level == AssuranceLevel.NONE

    # A second run changes nothing (the time stays the first run's).
    first_at = resident1.assurance_at
    ensure_demo_accounts()
    resident1.refresh_from_db()
    assert resident1.assurance_at == first_at

    challenge = password_reset_start(identifier="resident1", ip_address="203.0.113.1")
    assert challenge.user_id == resident1.pk
    assert [phone for phone, _ in sms] == ["13800000001"]
