"""好差评 pages as people use them: the rating form (labels, errors in the site's summary),
the operator's appeal page, public figures as percentages, the work-order log in words."""

from __future__ import annotations

import re

import pytest

from tongban.reviews import services
from tongban.reviews.models import Appeal, AppealStatus, Rating, WorkOrder
from tongban.reviews.tests.conftest import (  # noqa: F401 — fixtures
    catalog,
    make_case,
    media,
    people,
    resident,
    staff,
)

pytestmark = pytest.mark.django_db


def _html(response) -> str:
    return response.content.decode()


def test_every_rating_radio_sits_inside_its_own_label(client, resident):  # noqa: F811
    case = make_case(resident)
    client.force_login(resident.user)
    html = _html(client.get(f"/reviews/rate/{case.receipt_no}/"))
    radios = re.findall(r'<input type="radio" id="([^"]+)"', html)
    assert len(radios) == 25  # 总体满意程度 and 4 indicators, 5 levels each
    for radio in radios:
        assert re.search(f'<label for="{radio}"><input type="radio" id="{radio}"', html), radio
    assert html.count("<fieldset") == 5 and html.count("<legend>") == 5
    assert "<legend>总体满意程度（必选）</legend>" in html
    assert '<form method="post" class="rate-form" novalidate>' in html
    assert " required" not in html
    # The receipt number is grouped as everywhere else.
    assert re.sub(r"(\d{4})(\d{4})(\d{4})(\d)", r"\1 \2 \3 \4", case.receipt_no) in html


def test_empty_rating_is_reported_in_the_sites_error_summary(client, resident):  # noqa: F811
    case = make_case(resident)
    client.force_login(resident.user)
    response = client.post(
        f"/reviews/rate/{case.receipt_no}/",
        {"subject": "online", "ind_efficiency": "4", "comment": "窗口很耐心"},
    )
    html = _html(response)
    assert response.status_code == 422
    assert '<div class="error-summary" role="alert"' in html
    assert '<li><a href="#level-5">请选择总体满意程度</a></li>' in html
    assert '<p class="error" id="level-error">请选择总体满意程度</p>' in html
    # What was entered is kept.
    assert 'id="ind-efficiency-4" name="ind_efficiency" value="4" checked' in html
    assert ">窗口很耐心</textarea>" in html
    assert Rating.objects.count() == 0


def test_operator_opens_the_appeal_page_and_decides_there(client, resident, people):  # noqa: F811
    rating = services.rating_create(
        rater=resident.user, receipt_no=make_case(resident).receipt_no, level=1
    )
    appeal = services.appeal_file(
        actor=people.lead, rating_id=rating.pk, reason="malicious", statement="与本办件无关"
    )
    client.force_login(people.operator)
    response = client.get("/staff/reviews/")
    html = _html(response)
    assert response.status_code == 200
    assert "<h2>待复核申诉</h2>" in html
    assert "评价：非常不满意" in html
    assert f'<label for="ap-{appeal.pk}-1"><input type="radio" id="ap-{appeal.pk}-1"' in html

    # Nothing chosen: the site's error summary, and the appeal still waits.
    response = client.post(f"/staff/reviews/appeals/{appeal.pk}/decision/", {"reason": "核实"})
    assert response.status_code == 422
    assert f'<li><a href="#ap-{appeal.pk}-1">请选择复核结论</a></li>' in _html(response)
    assert Appeal.objects.get().status == AppealStatus.PENDING

    response = client.post(
        f"/staff/reviews/appeals/{appeal.pk}/decision/", {"approve": "1", "reason": "申诉成立"}
    )
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert (appeal.status, appeal.decided_by_id) == (AppealStatus.APPROVED, people.operator.pk)
    assert Rating.objects.get().excluded is True


def test_only_operators_decide_appeals_from_the_page(client, resident, people):  # noqa: F811
    rating = services.rating_create(
        rater=resident.user, receipt_no=make_case(resident).receipt_no, level=1
    )
    appeal = services.appeal_file(
        actor=people.lead, rating_id=rating.pk, reason="malicious", statement="与本办件无关"
    )
    client.force_login(people.lead)
    assert "待复核申诉" not in _html(client.get("/staff/reviews/"))
    response = client.post(
        f"/staff/reviews/appeals/{appeal.pk}/decision/", {"approve": "1", "reason": "x"}
    )
    assert response.status_code == 404
    assert Appeal.objects.get().status == AppealStatus.PENDING
    client.force_login(people.reviewer["police"])
    assert client.get("/staff/reviews/").status_code == 404


def test_public_figures_are_percentages(client, resident, people):  # noqa: F811
    for level in (5, 4, 1):
        services.rating_create(
            rater=resident.user, receipt_no=make_case(resident).receipt_no, level=level
        )
    html = _html(client.get("/reviews/"))
    assert '满意率 <span id="total-satisfaction">66.7%</span>' in html
    assert '差评率 <span id="total-bad">33.3%</span>' in html
    assert (
        '<td data-label="满意率">66.7%</td><td data-label="差评率">33.3%</td>'
        '<td data-label="整改率">0.0%</td><td data-label="按期整改率">—</td>'
    ) in html
    assert "0.6667" not in html and "0.3333" not in html


def test_work_order_log_is_in_words(client, resident, people):  # noqa: F811
    rating = services.rating_create(
        rater=resident.user, receipt_no=make_case(resident).receipt_no, level=2
    )
    order = WorkOrder.objects.get(rating=rating)
    services.order_verify(
        actor=people.lead, order_id=order.pk, classification="attitude", finding="属实"
    )
    client.force_login(people.lead)
    html = _html(client.get(f"/staff/reviews/orders/{order.pk}/"))
    assert "系统：生成整改工单" in html
    assert f"{people.lead.get_username()}：核实（属实）" in html
    assert "：opened" not in html and "：verified" not in html


def test_verdict_without_a_choice_is_reported_in_the_summary(client, resident, people):  # noqa: F811
    rating = services.rating_create(
        rater=resident.user, receipt_no=make_case(resident).receipt_no, level=1
    )
    order = WorkOrder.objects.get(rating=rating)
    services.order_verify(
        actor=people.lead, order_id=order.pk, classification="system", finding="f"
    )
    services.order_rectify(actor=people.lead, order_id=order.pk, measures="m")
    services.order_reply(actor=people.lead, order_id=order.pk, reply="已整改")
    client.force_login(resident.user)
    html = _html(client.get("/me/reviews/"))
    assert f'<label for="v-{rating.pk}-s"><input type="radio" id="v-{rating.pk}-s"' in html
    assert " required" not in html
    response = client.post(f"/me/reviews/{rating.pk}/verdict/", {})
    assert response.status_code == 422
    assert f'<li><a href="#v-{rating.pk}-s">请选择您对整改和回复是否满意</a></li>' in _html(
        response
    )
    order.refresh_from_db()
    assert (order.status, order.verdict) == ("replied", "")


def test_work_order_form_errors_are_in_the_summary(client, resident, people):  # noqa: F811
    rating = services.rating_create(
        rater=resident.user, receipt_no=make_case(resident).receipt_no, level=1
    )
    order = WorkOrder.objects.get(rating=rating)
    client.force_login(people.lead)
    html = _html(client.get(f"/staff/reviews/orders/{order.pk}/"))
    assert (
        f'<form method="post" action="/staff/reviews/orders/{order.pk}/verify/" novalidate>'
        in (html)
        and " required" not in html
    )
    response = client.post(
        f"/staff/reviews/orders/{order.pk}/verify/", {"classification": "attitude", "finding": ""}
    )
    html = _html(response)
    assert response.status_code == 422
    assert '<li><a href="#finding">请填写内容</a></li>' in html
    assert '<option value="attitude" selected>' in html
    order.refresh_from_db()
    assert order.status == "open"
