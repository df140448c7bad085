"""In Chromium, on a phone: a resident files a complaint and reads it; a city operator's
recording form and triage queue; every page passes axe and never scrolls sideways."""

from __future__ import annotations

import pytest

from tongban.accounts.models import ResidentProfile, StaffAssignment, StaffRole
from tongban.catalog.models import ServiceItem
from tongban.reviews.models import Complaint
from tongban.tests.test_accessibility import (
    _axe_violations,
    _log_in,
    demo_city,  # noqa: F401 — fixture
)


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_file_a_complaint_on_a_phone(demo_city, page):  # noqa: F811
    profile = ResidentProfile.objects.get(user__username="resident1")
    item = ServiceItem.objects.order_by("code").first()
    page.set_viewport_size({"width": 390, "height": 844})
    _log_in(page, profile.user.username)
    page.goto(f"/items/{item.code}/")
    page.get_by_role("link", name="对本事项提出投诉建议").click()
    page.wait_for_load_state()
    assert _fits(page) and _axe_violations(page) == []
    # Nothing chosen: the site's summary explains, nothing is filed.
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    assert page.locator("#error-summary").is_visible()
    assert _fits(page) and _axe_violations(page) == []
    assert Complaint.objects.count() == 0
    page.get_by_role("radio", name="投诉：服务有问题，希望纠正").check()
    page.get_by_role("radio", name="某项办事服务").check()
    page.get_by_label("办事服务（选择“某项办事服务”时填写）").select_option(item.code)
    page.get_by_label("具体内容（必填，最多2000字）").fill("窗口未一次告知材料（示例）")
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    complaint = Complaint.objects.get()
    assert page.url.endswith(f"/me/complaints/{complaint.pk}/")
    assert "窗口未一次告知材料（示例）" in page.locator("main").inner_text()
    assert _fits(page) and _axe_violations(page) == []
    page.goto("/me/complaints/")
    assert _fits(page) and _axe_violations(page) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_operator_pages_on_a_phone(demo_city, page):  # noqa: F811
    operator = StaffAssignment.objects.filter(role=StaffRole.CITY_OPERATOR).first().user
    page.set_viewport_size({"width": 390, "height": 844})
    _log_in(page, operator.username)
    for path in ("/staff/complaints/new/", "/staff/complaints/", "/reviews/"):
        page.goto(path)
        assert _fits(page), path
        assert _axe_violations(page) == [], path
