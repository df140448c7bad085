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
