"""At the counter (综合窗口): a resident without a phone (王磊, no login) has the clerk record
that his wife (李静, resident1) may act for him; she accepts. Walked at the counter's 1280 px;
every page fits 390 px too (Walk.look), speaks Chinese and has no axe findings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings

from tongban.cases.tests.walk import DESKTOP, Walk
from tongban.catalog.services import catalog_load_directory
from tongban.delegation.models import Delegation, DelegationState, RecordedVia
from tongban.demo.accounts import _FATHER, _MOTHER, ensure_demo_accounts


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_clerk_records_and_the_relative_accepts(page):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    walk = Walk(page, DESKTOP)
    try:
        clerk = walk.staff("counter")
        clerk.goto("/staff/counter/")
        clerk.get_by_label("居民身份证号码").fill(_FATHER.id_number)
        clerk.get_by_role("button", name="查找").click()
        clerk.get_by_role("link", name="为该居民登记或撤销亲友代办授权").click()
        clerk.wait_for_url("**/staff/delegations/")
        assert clerk.locator("#counter-principal").inner_text() == "王磊"
        walk.look(clerk, axe=True)
        # Sent on empty first: every problem named, nothing recorded.
        clerk.get_by_role("button", name="登记授权").click()
        assert "请填写代办人姓名" in clerk.locator("main").inner_text()
        walk.look(clerk, axe=True)
        his = Delegation.objects.filter(principal__name="王磊")
        assert his.count() == 0
        clerk.get_by_label("代办人姓名").fill("李静")
        clerk.get_by_label("代办人身份证号码").fill(_MOTHER.id_number)
        until = dt.date.today() + dt.timedelta(days=180)
        clerk.get_by_label("授权截止日期").fill(until.isoformat())
        clerk.get_by_label("全部事项").check()
        clerk.get_by_role("button", name="登记授权").click()
        clerk.wait_for_url("**/staff/delegations/")
        assert "已登记代办授权" in clerk.locator(".messages").inner_text()
        walk.look(clerk, axe=True)
        d = his.get()
        assert (d.principal.name, d.recorded_via, d.state) == (
            "王磊",
            RecordedVia.COUNTER,
            DelegationState.PROPOSED,
        )

        wife = walk.resident("resident1")
        wife.goto("/me/delegations/")
        walk.look(wife, axe=True)
        wife.locator(f"#accept-{d.pk}").click()
        wife.wait_for_url("**/me/delegations/")
        walk.look(wife, axe=True)
        assert wife.locator(f"#act-for-{d.pk}").inner_text() == "为王磊办理"
        d.refresh_from_db()
        assert d.state == DelegationState.ACTIVE
    finally:
        walk.close()
