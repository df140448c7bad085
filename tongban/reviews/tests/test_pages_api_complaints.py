"""投诉建议 pages and API: filing, own list and detail, verdict, staff recording, triage,
the contact read, public figures; permissions leave nothing behind."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from tongban.common.models import AuditEvent
from tongban.reviews import services
from tongban.reviews.models import Complaint, OrderStatus, WorkOrder

pytestmark = pytest.mark.django_db


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def replied(order, lead, reply: str) -> None:
    """The department verifies, rectifies and replies: the order is 已答复."""
    services.order_verify(actor=lead, order_id=order.pk, classification="process", finding="x")
    services.order_rectify(actor=lead, order_id=order.pk, measures="x")
    services.order_reply(actor=lead, order_id=order.pk, reply=reply)


def html(response) -> str:
    return response.content.decode()


FORM = {
    "kind": "complaint",
    "about": "item",
    "about_code_item": "birth_registration",
    "text": "材料说明不清楚",
    "idempotency_key": "page-key-1",
}


def test_file_by_page_double_submit_creates_one(client, resident, people):
    client.force_login(resident.user)
    page = html(client.get("/complaints/new/?item=birth_registration"))
    assert 'value="birth_registration" selected' in page and "出生登记" in page
    assert 'name="csrfmiddlewaretoken"' in page
    first = client.post("/complaints/new/", FORM)
    complaint = Complaint.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/me/complaints/{complaint.pk}/"
    again = client.post("/complaints/new/", FORM)
    assert again["Location"] == f"/me/complaints/{complaint.pk}/"
    assert Complaint.objects.count() == 1 and WorkOrder.objects.count() == 1
    detail = html(client.get(f"/me/complaints/{complaint.pk}/"))
    assert "材料说明不清楚" in detail and "市公安局" in detail and "待核实" in detail
    listing = html(client.get("/me/complaints/"))
    assert f'href="/me/complaints/{complaint.pk}/"' in listing


def test_page_errors_are_422_with_summary_and_nothing_filed(client, resident, people):
    client.force_login(resident.user)
    r = client.post("/complaints/new/", {**FORM, "about_code_item": "", "idempotency_key": "e"})
    assert r.status_code == 422
    page = html(r)
    assert "还有 1 个问题需要处理" in page and 'href="#about-code-item"' in page
    r = client.post("/complaints/new/", {**FORM, "text": "", "idempotency_key": "e2"})
    assert r.status_code == 422 and 'href="#text"' in html(r)
    assert Complaint.objects.count() == 0


def test_anonymous_is_sent_to_login(client, people):
    r = client.get("/complaints/new/")
    assert r.status_code == 302 and "/login" in r["Location"]
    assert client.post("/complaints/new/", FORM).status_code == 302
    assert Complaint.objects.count() == 0


def test_other_resident_gets_404_and_cannot_judge(client, resident, other_resident, people):
    complaint = services.complaint_file(
        filer=resident.user,
        kind="complaint",
        about="item",
        about_code="birth_registration",
        text="x",
    )
    order = complaint.order
    replied(order, people.lead, "已答复")
    client.force_login(other_resident.user)
    assert client.get(f"/me/complaints/{complaint.pk}/").status_code == 404
    r = client.post(f"/me/complaints/{complaint.pk}/verdict/", {"verdict": "satisfied"})
    assert r.status_code == 404
    assert client.get(f"/api/v1/me/complaints/{complaint.pk}").status_code == 404
    assert client.get("/api/v1/me/complaints").json() == []
    order.refresh_from_db()
    assert (order.status, order.verdict) == (OrderStatus.REPLIED, "")
    # The filer's own verdict by the page.
    client.force_login(resident.user)
    page = html(client.get(f"/me/complaints/{complaint.pk}/"))
    assert "已答复" in page and 'id="verdict-satisfied"' in page
    r = client.post(f"/me/complaints/{complaint.pk}/verdict/", {})
    assert r.status_code == 422 and 'href="#verdict-satisfied"' in html(r)
    r = client.post(f"/me/complaints/{complaint.pk}/verdict/", {"verdict": "satisfied"})
    assert r.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.verdict) == (OrderStatus.CLOSED, "satisfied")


def test_api_file_list_and_idempotency(client, resident, people):
    body = {
        "kind": "suggestion",
        "about": "item",
        "about_code": "birth_registration",
        "text": "建议",
    }
    assert post(client, "/api/v1/complaints", body).status_code == 401
    client.force_login(resident.user)
    first = post(client, "/api/v1/complaints", body, HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201
    data = first.json()
    assert (data["kind"], data["department"], data["status"], data["about_label"]) == (
        "suggestion",
        "市公安局",
        "open",
        "办事服务：出生登记",
    )
    again = post(client, "/api/v1/complaints", body, HTTP_IDEMPOTENCY_KEY="k1")
    assert again.json()["id"] == data["id"]
    assert Complaint.objects.count() == 1
    bad = post(client, "/api/v1/complaints", {**body, "about_code": "nope"})
    assert (bad.status_code, bad.json()["code"]) == (422, "COMPLAINT_ABOUT_UNKNOWN")
    mine = client.get("/api/v1/me/complaints").json()
    assert [m["id"] for m in mine] == [data["id"]]


def test_staff_record_by_page_and_api_operator_only(client, people):
    deadline = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    form = {
        "source": "hotline",
        "external_ref": "SH12345-0001",
        "deadline": deadline,
        "kind": "complaint",
        "about": "other",
        "text": "小区门口占道",
        "contact_name": "赵示例",
        "contact_phone": "13700000000",
        "idempotency_key": "s-1",
    }
    client.force_login(people.lead)
    assert client.get("/staff/complaints/new/").status_code == 404
    assert client.post("/staff/complaints/new/", form).status_code == 404
    api = post(
        client,
        "/api/v1/staff/complaints",
        {k: v for k, v in form.items() if k != "idempotency_key"},
    )
    assert (api.status_code, api.json()["code"]) == (403, "REVIEW_NOT_CITY_OPERATOR")
    assert Complaint.objects.count() == 0

    client.force_login(people.operator)
    assert 'id="external_ref"' in html(client.get("/staff/complaints/new/"))
    r = client.post("/staff/complaints/new/", form)
    assert r.status_code == 302 and r["Location"] == "/staff/complaints/"
    complaint = Complaint.objects.get()
    assert (complaint.status, complaint.deadline.isoformat()) == ("triage", deadline)
    dup = client.post("/staff/complaints/new/", {**form, "idempotency_key": "s-2"})
    assert dup.status_code == 422 and "已登记" in html(dup)
    queue = html(client.get("/staff/complaints/"))
    assert "小区门口占道" in queue and f'action="/staff/complaints/{complaint.pk}/assign/"' in queue
    r = client.post(f"/staff/complaints/{complaint.pk}/assign/", {"department": ""})
    assert r.status_code == 422
    r = client.post(f"/staff/complaints/{complaint.pk}/assign/", {"department": "police"})
    assert r.status_code == 302
    order = WorkOrder.objects.get(complaint=complaint)

    # The police lead handles it in the same queue as 差评, the caller anonymised.
    client.force_login(people.lead)
    listing = html(client.get("/staff/reviews/"))
    assert (
        f'href="/staff/reviews/orders/{order.pk}/"' in listing
        and "投诉（12345热线转办）" in listing
    )
    page = html(client.get(f"/staff/reviews/orders/{order.pk}/"))
    assert "SH12345-0001" in page and "来电人" in page and "13700000000" not in page
    shown = html(client.post(f"/staff/reviews/orders/{order.pk}/contact/"))
    assert "赵示例，13700000000" in shown
    assert (
        AuditEvent.objects.filter(
            action="personal_data.read", actor=people.lead, purpose="联系投诉建议人"
        ).count()
        == 1
    )
    # Another department's lead sees nothing and reads no contact.
    client.force_login(people.other_lead)
    assert client.get(f"/staff/reviews/orders/{order.pk}/").status_code == 404
    assert client.post(f"/staff/reviews/orders/{order.pk}/contact/").status_code == 404
    assert AuditEvent.objects.filter(action="personal_data.read").count() == 1


def test_public_figures_page_and_api(client, resident, people):
    services.complaint_file(
        filer=resident.user,
        kind="complaint",
        about="item",
        about_code="birth_registration",
        text="不应公开的内容甲",
    )
    page = html(client.get("/reviews/"))
    assert "投诉建议办理情况" in page and "合计收到 1 件" in page
    assert "不应公开的内容甲" not in page
    data = client.get("/api/v1/complaints/stats").json()
    assert data["total"]["received"] == 1
    assert [(r["name"], r["received"]) for r in data["by_source"]] == [("网上提交", 1)]
    assert client.get("/api/v1/complaints/stats?period=bad").status_code == 422
    channel = client.get("/api/v1/reviews/stats?by=channel").json()
    assert channel["rows"] == []


def test_item_page_links_to_complaint_form(client, people):
    page = html(client.get("/items/birth_registration/"))
    assert 'href="/complaints/new/?item=birth_registration"' in page


def test_transfer_from_the_order_page(client, resident, people):
    complaint = services.complaint_file(
        filer=resident.user, kind="complaint", about="item", about_code="birth_registration",
        text="窗口让我跑了三次",
    )  # fmt: skip
    order = complaint.order
    client.force_login(people.lead)
    page = html(client.get(f"/staff/reviews/orders/{order.pk}/"))
    assert "<summary>不属于本部门职责？转办其他部门</summary>" in page
    assert '<option value="health">' in page and '<option value="police">' not in page
    # No reason: the form again, 422, the message linked to the field, nothing moved.
    refused = client.post(f"/staff/reviews/orders/{order.pk}/transfer/", {"department": "health"})
    assert refused.status_code == 422
    assert 'href="#transfer_reason">请填写转办理由</a>' in html(refused)
    assert "<details open><summary>不属于本部门职责？转办其他部门</summary>" in html(refused)
    # Shown at …/transfer/, its forms still post to the order's own actions.
    assert f'action="/staff/reviews/orders/{order.pk}/transfer/"' in html(refused)
    assert f'action="/staff/reviews/orders/{order.pk}/verify/"' in html(refused)
    assert '<option value="health" selected>' in html(refused)
    order.refresh_from_db()
    assert order.department.code == "police"
    sent = client.post(
        f"/staff/reviews/orders/{order.pk}/transfer/",
        {"department": "health", "transfer_reason": "属卫健部门职责"},
    )
    assert (sent.status_code, sent["Location"]) == (302, "/staff/reviews/")
    order.refresh_from_db()
    assert order.department.code == "health"
    assert client.get(f"/staff/reviews/orders/{order.pk}/").status_code == 404
    # The filer reads the step in their complaint's log.
    client.force_login(resident.user)
    mine = html(client.get(f"/me/complaints/{complaint.pk}/"))
    assert "原办理部门：转办其他部门（由" in mine and "属卫健部门职责）" in mine


def test_an_enterprise_agent_files_in_the_enterprise_s_name(
    client, resident, other_resident, people
):
    from tongban.accounts.models import EnterpriseMembership
    from tongban.accounts.tests.factories import EnterpriseFactory, EnterpriseMembershipFactory

    firm = EnterpriseFactory(name="示例投诉科技有限公司")
    EnterpriseMembershipFactory(
        user=resident.user, enterprise=firm, role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    )
    client.force_login(resident.user)
    page = html(client.get("/complaints/new/"))
    assert '<label for="enterprise">以谁的名义提交</label>' in page
    assert f'<option value="{firm.pk}">示例投诉科技有限公司（企业诉求）</option>' in page
    sent = client.post("/complaints/new/", {**FORM, "enterprise": str(firm.pk)})
    complaint = Complaint.objects.get()
    assert sent.status_code == 302
    assert (complaint.enterprise_id, complaint.filer_id) == (firm.pk, resident.user.pk)
    assert "<dt>提交名义</dt><dd>示例投诉科技有限公司（企业诉求）</dd>" in html(
        client.get(f"/me/complaints/{complaint.pk}/")
    )
    # The department reads the enterprise, never the agent.
    client.force_login(people.lead)
    order_page = html(client.get(f"/staff/reviews/orders/{complaint.order.pk}/"))
    assert "示例投诉科技有限公司（企业经办人，匿名）" in order_page
    assert resident.name not in order_page
    # Someone without authority for it: 422 on the field, nothing filed; no select at all.
    client.force_login(other_resident.user)
    assert 'id="enterprise"' not in html(client.get("/complaints/new/"))
    refused = client.post(
        "/complaints/new/", {**FORM, "idempotency_key": "other-1", "enterprise": str(firm.pk)}
    )
    assert refused.status_code == 422
    assert 'href="#enterprise"' in html(refused)
    api = post(
        client,
        "/api/v1/complaints",
        {"kind": "complaint", "about": "item", "about_code": "birth_registration",
         "text": "材料说明不清楚", "enterprise_id": firm.pk},
    )  # fmt: skip
    assert (api.status_code, api.json()["code"]) == (422, "COMPLAINT_ENTERPRISE_INVALID")
    assert Complaint.objects.count() == 1


def test_the_enterprise_s_legal_representative_reads_what_an_agent_filed_in_its_name(
    client, resident, other_resident, people
):
    from tongban.accounts.models import EnterpriseMembership
    from tongban.accounts.tests.factories import (
        EnterpriseFactory,
        EnterpriseMembershipFactory,
        ResidentProfileFactory,
    )

    firm = EnterpriseFactory(name="示例投诉科技有限公司")
    EnterpriseMembershipFactory(user=resident.user, enterprise=firm)  # an agent files
    EnterpriseMembershipFactory(
        user=other_resident.user,
        enterprise=firm,
        role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE,
    )
    scoped = ResidentProfileFactory(name="周敏").user
    EnterpriseMembershipFactory(user=scoped, enterprise=firm, items=["birth_registration"])
    client.force_login(resident.user)
    client.post("/complaints/new/", {**FORM, "enterprise": str(firm.pk)})
    complaint = Complaint.objects.get()
    order = complaint.order
    replied(order, people.lead, "已改进说明")

    # The legal representative reads it, and who filed it only as 本企业其他经办人.
    client.force_login(other_resident.user)
    listed = html(client.get("/me/complaints/"))
    assert "以示例投诉科技有限公司名义由本企业其他经办人提交" in listed
    assert "请告诉我们您是否满意" not in listed
    detail = html(client.get(f"/me/complaints/{complaint.pk}/"))
    assert '<dd id="complaint-filer">本企业其他经办人（对答复是否满意由提交人评价）</dd>' in detail
    assert "已改进说明" in detail and resident.name not in detail
    assert 'action="/me/complaints/' not in detail
    mine = client.get(f"/api/v1/me/complaints/{complaint.pk}").json()
    assert (mine["filed_by_me"], mine["verdict_open"]) == (False, False)
    # The verdict stays the filer's: the representative's is refused and changes nothing.
    refused = client.post(f"/me/complaints/{complaint.pk}/verdict/", {"verdict": "satisfied"})
    assert refused.status_code == 404
    order.refresh_from_db()
    assert order.verdict == ""
    # An agent scoped to some services does not read the enterprise's complaints.
    client.force_login(scoped)
    assert client.get(f"/me/complaints/{complaint.pk}/").status_code == 404
    assert "示例投诉科技有限公司" not in html(client.get("/me/complaints/"))
    # The filer still rates it.
    client.force_login(resident.user)
    assert client.get(f"/api/v1/me/complaints/{complaint.pk}").json()["verdict_open"] is True
