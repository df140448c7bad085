"""证照即将到期: the maintenance sweep tells each holder once, within the configured window."""

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.cases.schedule import _registered_sweeps
from tongban.certificates.models import Certificate
from tongban.certificates.services import certificate_issue
from tongban.certificates.tests.conftest import id_card_claims, types  # noqa: F401
from tongban.notifications.models import Notice
from tongban.notifications.services import certificates_expiring_sweep

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)


def _card(resident, expires_at):
    cert = certificate_issue(
        type_code="resident_id_card",
        holder_profile=resident,
        claims=id_card_claims(resident),
        actor_label="system:test",
    )
    Certificate.objects.filter(pk=cert.pk).update(expires_at=expires_at)
    cert.refresh_from_db()
    return cert


def _sweep(now=NOW):
    return certificates_expiring_sweep(now, timezone.localdate(now))


def test_the_sweep_is_registered_with_the_maintenance_tick():
    assert _registered_sweeps["certificates_expiring"] is certificates_expiring_sweep


def test_holders_are_told_once_within_the_window(types, resident):  # noqa: F811
    soon = _card(resident, NOW + dt.timedelta(days=10))
    # Other people's cards (one person holds one 居民身份证 in force: a second would replace it).
    _card(ResidentProfileFactory(), NOW + dt.timedelta(days=31))  # outside the 30 days
    _card(ResidentProfileFactory(), NOW - dt.timedelta(days=1))  # already expired
    assert _sweep() == {"notified": 1}
    notice = Notice.objects.get(recipient=resident.user, category="certificate_expiring")
    assert notice.title == "您的居民身份证将于2026年11月11日到期"
    assert notice.body == (
        f"证照编号 {soon.serial[:8].upper()}，有效期至 2026年11月11日。"
        "如需继续使用，请及时办理换领。"
    )
    assert notice.link == f"/me/certificates/{soon.pk}/"
    assert notice.group == "certificate"
    # The next sweeps (the tick runs every 15 minutes) add nothing.
    assert _sweep() == {"notified": 0}
    assert Notice.objects.filter(category="certificate_expiring").count() == 1
    # Five days on, the 31-day card enters the window: it alone is announced, once.
    assert _sweep(NOW + dt.timedelta(days=5)) == {"notified": 1}
    assert _sweep(NOW + dt.timedelta(days=5)) == {"notified": 0}
    assert Notice.objects.filter(category="certificate_expiring").count() == 2


def test_the_window_follows_the_setting(types, resident, settings):  # noqa: F811
    _card(resident, NOW + dt.timedelta(days=10))
    settings.TONGBAN_CERTIFICATE_EXPIRY_NOTICE_DAYS = 7
    assert _sweep() == {"notified": 0}
    settings.TONGBAN_CERTIFICATE_EXPIRY_NOTICE_DAYS = 10
    assert _sweep() == {"notified": 1}


def test_revoked_certificates_are_not_announced(types, resident):  # noqa: F811
    cert = _card(resident, NOW + dt.timedelta(days=10))
    Certificate.objects.filter(pk=cert.pk).update(revoked_at=NOW - dt.timedelta(days=1))
    assert _sweep() == {"notified": 0}
    assert Notice.objects.filter(category="certificate_expiring").count() == 0
