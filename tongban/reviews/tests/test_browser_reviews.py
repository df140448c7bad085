"""In Chromium: a resident rates a concluded case; the public figures page; both pass axe."""

from __future__ import annotations

import pytest

from tongban.accounts.models import ResidentProfile
from tongban.reviews.models import Rating
from tongban.reviews.tests.conftest import make_case
from tongban.tests.test_accessibility import (
    _axe_violations,
    _log_in,
    demo_city,  # noqa: F401 — fixture
)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_rate_then_see_public_figures(demo_city, page):  # noqa: F811
    profile = ResidentProfile.objects.get(user__username="resident1")
    lead = profile.user  # the case's lead department only matters for the order
    case = make_case(
        profile, lead=_a_department(), tasks=(("demo_item", "示例事项", _a_department()),)
    )
    _log_in(page, lead.username)
    page.goto(f"/reviews/rate/{case.receipt_no}/")
    assert _axe_violations(page) == []
    page.get_by_label("满意", exact=True).first.check()
    page.get_by_label("意见和建议（可选，最多500字）").fill("很方便")
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_load_state()
    assert page.url.endswith("/me/reviews/")
    assert Rating.objects.get().level == 4
    assert _axe_violations(page) == []
    page.goto("/reviews/")
    assert page.locator("svg[role=img]").count() == 1
    assert page.get_by_role("table").count() == 1
    assert _axe_violations(page) == []


def _a_department() -> str:
    from tongban.catalog.models import Department

    return Department.objects.order_by("code").values_list("code", flat=True).first()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_case_page_leads_to_rating_and_an_empty_rating_is_explained(
    demo_city,  # noqa: F811
    page,
):
    profile = ResidentProfile.objects.get(user__username="resident1")
    case = make_case(
        profile, lead=_a_department(), tasks=(("demo_item", "示例事项", _a_department()),)
    )
    page.set_viewport_size({"width": 390, "height": 844})
    _log_in(page, profile.user.username)
    page.goto(f"/me/cases/{case.receipt_no}/")
    page.get_by_role("link", name="去评价").click()
    page.wait_for_load_state()
    # Nothing chosen: the form is sent (no browser bubble) and the site's summary explains.
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_load_state()
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert summary.get_by_role("link").all_inner_texts() == ["请选择总体满意程度"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert _axe_violations(page) == []
    assert Rating.objects.count() == 0
    summary.get_by_role("link").click()
    page.get_by_role("group", name="总体满意程度（必选）").get_by_label("非常满意").check()
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_load_state()
    assert "/me/reviews/" in page.url and "感谢您的评价。" in page.locator("main").inner_text()
    assert Rating.objects.get().level == 5
