"""Applicant pages: 一表申请, the receipt and case page, 我的办件, 补正 and 容缺 in place."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.core.files.uploadedfile import SimpleUploadedFile

from tongban.accounts.tests.factories import EnterpriseFactory, ResidentProfileFactory
from tongban.cases import services
from tongban.cases.models import (
    Application,
    MaterialSubmission,
    SupplementRequest,
)
from tongban.cases.receipt import receipt_display
from tongban.cases.services import MaterialInput, Upload
from tongban.cases.tests.conftest import BIRTH_ANSWERS, PDF, PNG, birth_form, birth_materials
from tongban.notifications.models import Notice

APPLY = "/apply/bundle/birth/?" + urlencode(BIRTH_ANSWERS)
FIELDS = [
    "applicant.name",
    "applicant.id_number",
    "applicant.phone",
    "child.name",
    "child.birth_date",
    "child.sex",
    "marriage.certificate_no",
]


def submit(resident, *, key: str = "k-1", **kw) -> Application:
    return services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=kw.pop("materials", birth_materials()),
        idempotency_key=key,
        **kw,
    )


# ---------------------------------------------------------------- 一表申请


def test_apply_needs_answers_and_login(client, resident):
    assert client.get(APPLY)["Location"].startswith("/accounts/login/?next=/apply/bundle/birth/")
    client.force_login(resident.user)
    response = client.get("/apply/bundle/birth/")
    assert response.status_code == 302
    assert response["Location"] == "/bundles/birth/?answered=1#guide"
    response = client.get("/apply/bundle/birth/?born_in_city=maybe")
    assert response.status_code == 302
    assert response["Location"] == "/bundles/birth/?answered=1&born_in_city=maybe#guide"
    assert client.get("/apply/bundle/no_such_bundle/?x=1").status_code == 404
    assert client.get("/apply/thing/birth/").status_code == 404


def test_guide_result_offers_to_apply(client, resident):
    query = "?answered=1&" + urlencode(BIRTH_ANSWERS)
    html = client.get("/bundles/birth/" + query).content.decode()
    assert "登录后申请" in html and "在线申请" not in html
    assert "/accounts/login/?next=/apply/bundle/birth/%3Fanswered%3D1%26born_in_city%3Dyes" in html
    client.force_login(resident.user)
    html = client.get("/bundles/birth/" + query).content.decode()
    assert 'href="/apply/bundle/birth/?answered=1&amp;born_in_city=yes' in html
    assert "在线申请" in html


# ---------------------------------------------------------------- the case page


def test_case_page_is_the_applicants_alone(client, resident, other_resident):
    case = submit(resident)
    url = f"/me/cases/{case.receipt_no}/"
    assert client.get(url)["Location"].startswith("/accounts/login/")
    client.force_login(other_resident.user)
    assert client.get(url).status_code == 404
    missing = client.get("/me/cases/0000000000000/")
    assert missing.status_code == 404
    client.force_login(resident.user)
    assert client.get(url).status_code == 200
    # Dashes or spaces, as people copy the number, are fine.
    dashed = receipt_display(case.receipt_no).replace(" ", "-")
    assert client.get(f"/me/cases/{dashed}/").status_code == 200


def test_supplement_in_place(client, resident, other_resident, staff):
    case = submit(resident, materials=birth_materials(photo="deferred"))
    services.case_request_supplement(
        actor=staff.acceptor["police"],
        receipt_no=case.receipt_no,
        material_codes=["child_photo"],
        field_codes=["child.name"],
        reason="请补交证件照并核对姓名",
    )
    url = f"/me/cases/{case.receipt_no}/"
    client.force_login(resident.user)
    html = client.get(url).content.decode()
    assert "需要您补正" in html and "请补交证件照并核对姓名" in html
    assert 'name="field.child.name" value="张小宝"' in html
    assert 'name="file.child_photo"' in html
    # Another resident: not found, and nothing changed.
    client.force_login(other_resident.user)
    response = client.post(
        url + "supplement/",
        {"field.child.name": "李四", "file.child_photo": SimpleUploadedFile("p.pdf", PDF)},
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert (case.status, case.form_data["child.name"]) == ("supplement_requested", "张小宝")
    # The applicant without the file: told so, nothing changed.
    client.force_login(resident.user)
    response = client.post(url + "supplement/", {"field.child.name": "张大宝"})
    assert response.status_code == 200
    assert '<a href="#material-child_photo">请提交新生儿证件照</a>' in response.content.decode()
    case.refresh_from_db()
    assert (case.status, case.form_data["child.name"]) == ("supplement_requested", "张小宝")
    response = client.post(
        url + "supplement/",
        {"field.child.name": "张大宝", "file.child_photo": SimpleUploadedFile("p.pdf", PDF)},
    )
    assert response.status_code == 302 and response["Location"] == url
    case.refresh_from_db()
    assert (case.status, case.form_data["child.name"]) == ("submitted", "张大宝")
    assert SupplementRequest.objects.get(case=case).fulfilled_at is not None
    assert MaterialSubmission.objects.get(case=case, material_code="child_photo").how == "upload"
    html = client.get(url).content.decode()
    assert "需要您补正" not in html
    assert "申请人</strong>：提交补正" in html
    assert "市公安局受理人员</strong>：要求补正" in html


def test_deferred_material_follows(client, resident, staff):
    case = submit(resident, materials=birth_materials(photo="deferred"))
    services.case_accept(actor=staff.acceptor["police"], receipt_no=case.receipt_no)
    deferred = MaterialSubmission.objects.get(case=case, material_code="child_photo")
    assert deferred.how == "deferred" and deferred.due_date is not None
    url = f"/me/cases/{case.receipt_no}/"
    client.force_login(resident.user)
    html = client.get(url).content.decode()
    assert "待补交的容缺材料" in html
    assert f"{deferred.due_date.year}年{deferred.due_date.month}月{deferred.due_date.day}日" in html
    response = client.post(url + "deferred/child_photo/", {})
    assert response.status_code == 200
    assert "请上传新生儿证件照" in response.content.decode()
    assert MaterialSubmission.objects.get(case=case, material_code="child_photo").how == "deferred"
    response = client.post(
        url + "deferred/child_photo/", {"file.child_photo": SimpleUploadedFile("p.png", PNG)}
    )
    assert response.status_code == 302
    assert MaterialSubmission.objects.get(case=case, material_code="child_photo").how == "upload"
    assert "待补交的容缺材料" not in client.get(url).content.decode()


# ---------------------------------------------------------------- 我的办件


def test_my_cases_newest_first_paginated(client, resident, other_resident):
    cases = [submit(resident, key=f"k-{i}", acknowledge_duplicate=True) for i in range(26)]
    submit(other_resident, key="theirs")
    client.force_login(resident.user)
    first = client.get("/me/cases/").content.decode()
    receipts = re.findall(r'href="/me/cases/(\d{13})/"', first)
    assert len(receipts) == 25
    assert receipts[0] == cases[-1].receipt_no
    assert set(receipts) <= {c.receipt_no for c in cases}
    assert "第 1 页，共 2 页" in first
    second = client.get("/me/cases/?page=2").content.decode()
    assert re.findall(r'href="/me/cases/(\d{13})/"', second) == [cases[0].receipt_no]


def test_me_page_shows_three_latest_cases(client, resident):
    client.force_login(resident.user)
    assert "您还没有办件" in client.get("/me/").content.decode()
    cases = [submit(resident, key=f"k-{i}", acknowledge_duplicate=True) for i in range(4)]
    html = client.get("/me/").content.decode()
    shown = re.findall(r'href="/me/cases/(\d{13})/"', html)
    assert shown == [c.receipt_no for c in reversed(cases[1:])]
    assert 'href="/me/cases/">查看全部办件' in html


def test_enterprise_cases_are_labelled_for_its_agents(client, staff):
    applicant = ResidentProfileFactory()
    colleague = ResidentProfileFactory()
    company = EnterpriseFactory(agents=[applicant.user, colleague.user])
    case = services.case_submit(
        applicant=applicant.user,
        kind="item",
        code="seal_engraving",
        answers={},
        form_data={"enterprise.name": company.name, "enterprise.uscc": company.uscc},
        materials={"business_licence": MaterialInput(how="upload", files=(Upload("l.pdf", PDF),))},
        idempotency_key="e1",
        enterprise=company,
    )
    client.force_login(colleague.user)
    html = client.get("/me/cases/").content.decode()
    assert re.findall(r'href="/me/cases/(\d{13})/"', html) == [case.receipt_no]
    assert f'<span class="tag">企业办件：{company.name}</span>' in html
    assert client.get(f"/me/cases/{case.receipt_no}/").status_code == 200


def test_status_notices_link_to_the_case_page(client, resident):
    case = submit(resident)
    links = set(Notice.objects.filter(recipient=resident.user).values_list("link", flat=True))
    assert links == {f"/me/cases/{case.receipt_no}/"}
