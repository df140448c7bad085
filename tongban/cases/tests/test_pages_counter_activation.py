"""综合窗口: the button that gives a walk-in resident an activation code (账号激活码)."""

from __future__ import annotations

import datetime as dt

from tongban.accounts.models import AccountActivationCode
from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.accounts.validators import make_id_number
from tongban.common.models import AuditEvent

BUTTON = "为该居民生成账号激活码"


def test_counter_offers_and_shows_the_code_once(client, staff, catalog):
    number = make_id_number("310104", dt.date(1950, 6, 1), 31)
    profile = ResidentProfileFactory(user=None, id_number=number)
    client.force_login(staff.clerk)
    assert (
        client.post("/staff/counter/", {"action": "lookup", "id_number": number}).status_code == 302
    )
    page = client.get("/staff/counter/")
    assert BUTTON in page.content.decode()
    response = client.post("/staff/counter/", {"action": "activation"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "/accounts/activate/" in html and "72小时内有效" in html
    code = response.context["code_display"].replace(" ", "")
    assert len(code) == 8 and code in html.replace(" ", "")
    profile.refresh_from_db()
    row = AccountActivationCode.objects.get(user=profile.user)
    assert row.issued_by == staff.clerk and code not in row.code_hash
    assert (
        AuditEvent.objects.filter(
            action="account_activation.issue", actor=staff.clerk, subject_resident_id=profile.pk
        ).count()
        == 1
    )
    # The code is not kept anywhere the counter page could show it again.
    assert code not in client.get("/staff/counter/").content.decode()


def test_no_button_for_a_resident_who_has_a_password(client, staff, resident):
    client.force_login(staff.clerk)
    client.post("/staff/counter/", {"action": "lookup", "id_number": resident.id_number})
    assert BUTTON not in client.get("/staff/counter/").content.decode()
    response = client.post("/staff/counter/", {"action": "activation"})
    assert response.status_code == 302
    assert AccountActivationCode.objects.count() == 0


def test_a_reviewer_cannot_issue_through_the_counter(client, staff, resident):
    client.force_login(staff.reviewer["police"])
    response = client.post("/staff/counter/", {"action": "activation"})
    assert response.status_code == 403
    assert AccountActivationCode.objects.count() == 0
