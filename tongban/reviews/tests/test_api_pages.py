"""API and pages of 好差评: shapes, codes, and that no staff or public answer names the rater."""

from __future__ import annotations

import json

import pytest

from tongban.reviews import services
from tongban.reviews.models import OrderStatus, Rating, WorkOrder
from tongban.reviews.tests.conftest import make_case


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_rate_by_api_then_double_submit_is_409(client, resident, people):
    case = make_case(resident)
    client.force_login(resident.user)
    body = {"receipt_no": case.receipt_no, "level": 1, "comment": "太慢了"}
    first = post(client, "/api/v1/reviews", body)
    assert first.status_code == 201
    assert first.json()["order_id"] == WorkOrder.objects.get().pk
    again = post(client, "/api/v1/reviews", body)
    assert (again.status_code, again.json()["code"]) == (409, "REVIEW_ALREADY_RATED")
    assert Rating.objects.count() == 1
    mine = client.get("/api/v1/me/reviews").json()
    assert [(m["level"], m["comment"]) for m in mine] == [(1, "太慢了")]


def test_anonymous_and_other_resident_cannot_rate(client, resident, other_resident, people):
    case = make_case(resident)
    body = {"receipt_no": case.receipt_no, "level": 5}
    assert post(client, "/api/v1/reviews", body).status_code == 401
    client.force_login(other_resident.user)
    r = post(client, "/api/v1/reviews", body)
    assert (r.status_code, r.json()["code"]) == (404, "REVIEW_NOTHING_TO_RATE")
    assert Rating.objects.count() == 0


def test_staff_flow_by_api_and_no_rater_identity_anywhere(client, resident, people):
    resident.user.display_name = "王小明"
    resident.user.save()
    # A name no generated staff name can contain (a random 王丽 is inside a random 王丽华).
    resident.name = "示例评价人甲"
    resident.save(update_fields=["name"])
    rating = services.rating_create(
        rater=resident.user,
        receipt_no=make_case(resident).receipt_no,
        level=1,
        comment=f"我是{resident.name}，身份证{resident.id_number}",
    )
    oid = rating.order.pk
    client.force_login(people.lead)
    for action, body in (
        ("verify", {"classification": "attitude", "finding": "属实"}),
        ("rectify", {"measures": "培训"}),
        ("reply", {"reply": "已整改"}),
    ):
        r = post(client, f"/api/v1/reviews/orders/{oid}/{action}", body)
        assert r.status_code == 200, r.content
    assert r.json()["status"] == OrderStatus.REPLIED
    secrets = [resident.user.username, resident.name, resident.id_number, "王小明"]
    pages = [
        client.get("/api/v1/reviews/orders").content,
        client.get(f"/api/v1/reviews/orders/{oid}").content,
        client.get("/staff/reviews/").content,
        client.get(f"/staff/reviews/orders/{oid}/").content,
    ]
    client.force_login(people.operator)
    pages += [client.get("/staff/reviews/").content, client.get("/api/v1/reviews/orders").content]
    client.logout()
    pages += [client.get("/api/v1/reviews/stats").content, client.get("/reviews/").content]
    for content in pages:
        text = content.decode()
        for secret in secrets:
            assert secret not in text
        assert f'"rater_id": {resident.user.pk}' not in text
    assert "匿名用户" in pages[-1].decode()


def test_other_department_cannot_see_or_act(client, resident, people):
    rating = services.rating_create(
        rater=resident.user, receipt_no=make_case(resident).receipt_no, level=2
    )
    client.force_login(people.other_lead)
    assert client.get("/api/v1/reviews/orders").json() == []
    assert client.get(f"/api/v1/reviews/orders/{rating.order.pk}").status_code == 404
    r = post(
        client,
        f"/api/v1/reviews/orders/{rating.order.pk}/verify",
        {"classification": "other", "finding": "x"},
    )
    assert r.status_code == 404
    assert client.get(f"/staff/reviews/orders/{rating.order.pk}/").status_code == 404
    assert WorkOrder.objects.get().status == OrderStatus.OPEN


def test_appeal_by_api(client, resident, people):
    rating = services.rating_create(
        rater=resident.user, receipt_no=make_case(resident).receipt_no, level=1
    )
    client.force_login(people.lead)
    r = post(
        client,
        f"/api/v1/reviews/ratings/{rating.pk}/appeal",
        {"reason": "malicious", "statement": "无关内容"},
    )
    assert r.status_code == 201
    aid = r.json()["id"]
    denied = post(
        client, f"/api/v1/reviews/appeals/{aid}/decision", {"approve": True, "reason": "x"}
    )
    assert denied.status_code == 403
    client.force_login(people.operator)
    ok = post(
        client, f"/api/v1/reviews/appeals/{aid}/decision", {"approve": True, "reason": "成立"}
    )
    assert ok.json()["status"] == "approved"
    assert client.get("/api/v1/reviews/stats").json()["total"]["count"] == 0


@pytest.mark.parametrize(
    "query,code",
    # The dimensions are an enum of the document, so the framework refuses an unknown one.
    [("by=x", "INVALID_INPUT"), ("period=2026-99", "REVIEW_PERIOD_INVALID")],
)
def test_stats_bad_query_is_coded(client, db, query, code):
    r = client.get(f"/api/v1/reviews/stats?{query}")
    assert (r.status_code, r.json()["code"]) == (422, code)


def test_rating_page_and_verdict_form(client, resident, people):
    case = make_case(resident)
    client.force_login(resident.user)
    page = client.get(f"/reviews/rate/{case.receipt_no}/")
    assert page.status_code == 200 and "非常满意" in page.content.decode()
    r = client.post(
        f"/reviews/rate/{case.receipt_no}/",
        {"subject": "online", "level": "2", "ind_efficiency": "1", "comment": "慢"},
    )
    assert r.status_code == 302
    rating = Rating.objects.get()
    assert (rating.level, rating.indicators) == (2, {"efficiency": 1})
    assert "已评价" in client.get(f"/reviews/rate/{case.receipt_no}/").content.decode()
    oid = rating.order.pk
    for action, body in (
        ("verify", {"classification": "other", "finding": "f"}),
        ("rectify", {"measures": "m"}),
        ("reply", {"reply": "已改进"}),
    ):
        services_call = {
            "verify": services.order_verify,
            "rectify": services.order_rectify,
            "reply": services.order_reply,
        }[action]
        services_call(actor=people.lead, order_id=oid, **body)
    mine = client.get("/me/reviews/").content.decode()
    assert "已改进" in mine and "您对整改和回复是否满意" in mine
    client.post(f"/me/reviews/{rating.pk}/verdict/", {"verdict": "satisfied"})
    assert WorkOrder.objects.get().status == OrderStatus.CLOSED
    assert client.get("/reviews/rate/0000000000000/").status_code == 404


def test_staff_pages_act_through_forms(client, resident, people):
    rating = services.rating_create(
        rater=resident.user, receipt_no=make_case(resident).receipt_no, level=1
    )
    oid = rating.order.pk
    client.force_login(people.lead)
    assert "工单" in client.get("/staff/reviews/").content.decode()
    client.post(
        f"/staff/reviews/orders/{oid}/verify/", {"classification": "system", "finding": "f"}
    )
    assert WorkOrder.objects.get().status == OrderStatus.VERIFIED
    client.force_login(resident.user)
    assert client.get("/staff/reviews/").status_code == 404
    client.post(f"/staff/reviews/orders/{oid}/rectify/", {"measures": "m"})
    assert WorkOrder.objects.get().status == OrderStatus.VERIFIED


def test_public_page_renders_chart_and_table(client, resident, people):
    services.rating_create(rater=resident.user, receipt_no=make_case(resident).receipt_no, level=5)
    html = client.get("/reviews/?by=department&period=all").content.decode()
    assert "<svg" in html and "<table" in html and "100.0%" in html
    assert client.get("/reviews/?period=bad").status_code == 200
