"""Applicant pages: 一表申请, the receipt and case page, 我的办件, 补正 and 容缺 in place."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

from django.core.files.uploadedfile import SimpleUploadedFile

from tongban.accounts.tests.factories import EnterpriseFactory, ResidentProfileFactory
from tongban.cases import services
from tongban.cases.models import (
    Application,
    Draft,
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


def form_post(resident, *, key: str | None = None, files: bool = True, **overrides) -> dict:
    data = {f"answer.{k}": v for k, v in BIRTH_ANSWERS.items()}
    data.update({f"field.{k}": v for k, v in birth_form(resident).items()})
    data.update(
        {
            "idempotency_key": key or str(uuid.uuid4()),
            "delivery": "post",
            "how.child_photo": "upload",
            "action": "submit",
        }
    )
    if files:
        data["file.birth_medical_certificate"] = SimpleUploadedFile("出生证明.pdf", PDF)
        data["file.child_photo"] = SimpleUploadedFile("photo.png", PNG)
    data.update(overrides)
    return data


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


def test_apply_page_asks_each_element_once_prefilled(client, resident):
    client.force_login(resident.user)
    response = client.get(APPLY)
    assert response.status_code == 200
    html = response.content.decode()
    for code in FIELDS:
        assert html.count(f'name="field.{code}"') == 1, code
        assert html.count(f'for="field-{code.replace(".", "-")}"') == 1, code
    assert re.findall(r'name="field\.([a-z_.]+)"', html) == FIELDS
    assert f'name="field.applicant.name" value="{resident.name}"' in html
    assert f'name="field.applicant.id_number" value="{resident.id_number}"' in html
    assert 'name="field.child.name" value=""' in html
    assert html.count("已从您的档案填入") == 3
    assert '<input type="date" id="field-child-birth_date"' in html
    assert '<input type="tel" id="field-applicant-phone"' in html
    assert '<select id="field-child-sex" name="field.child.sex"' in html
    # Materials: two spared (and why), one to upload, one that may follow (容缺).
    assert html.count('class="spared"') == 2
    assert html.count('accept=".pdf,.jpg,.jpeg,.png" multiple') == 2
    assert 'name="how.child_photo" value="deferred"' in html
    assert "稍后补交" in html
    assert 'name="how.birth_medical_certificate"' not in html  # nothing but an upload
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    assert uuid.UUID(key).version == 4
    assert html.count('name="delivery"') == 3


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


def test_submit_creates_one_case_and_shows_the_receipt(client, resident):
    client.force_login(resident.user)
    response = client.post(APPLY, form_post(resident))
    assert response.status_code == 302
    case = Application.objects.get()
    assert response["Location"] == f"/me/cases/{case.receipt_no}/"
    assert (case.applicant, case.delivery, case.status) == (resident.user, "post", "accepted")
    assert case.form_data["child.name"] == "张小宝"
    # What the profile proved is recorded as waived (减材料), not silently absent.
    assert sorted(MaterialSubmission.objects.values_list("material_code", "how")) == [
        ("birth_medical_certificate", "upload"),
        ("child_photo", "upload"),
        ("household_register", "waived"),
        ("parent_id_card", "waived"),
    ]
    html = client.get(response["Location"]).content.decode()
    assert '<p class="receipt-no" id="receipt-no"' in html
    assert receipt_display(case.receipt_no) in html
    assert re.search(r"\d{4} \d{4} \d{4} \d", receipt_display(case.receipt_no))
    assert '<dd id="case-status">已受理，办理中</dd>' in html
    assert "邮寄送达" in html
    assert '<th scope="row">出生登记</th>\n        <td>市公安局</td>' in html
    assert "系统自动办理</strong>：自动受理" in html
    assert "申请人</strong>：提交申请" in html
    assert "系统自动办理</strong>：准予办理（预防接种证办理）" in html


def test_double_submit_makes_one_case(client, resident):
    client.force_login(resident.user)
    first = client.post(APPLY, form_post(resident, key="same-key"))
    second = client.post(APPLY, form_post(resident, key="same-key"))
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Application.objects.count() == 1
    assert client.get(second["Location"]).status_code == 200


def test_invalid_form_shows_every_error_and_keeps_input(client, resident, media):
    client.force_login(resident.user)
    data = form_post(
        resident,
        **{"field.child.name": "", "field.applicant.phone": "12345", "field.child.sex": "F"},
    )
    data["file.child_photo"] = SimpleUploadedFile("photo.txt", b"not an image")
    response = client.post(APPLY, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert Application.objects.count() == 0
    assert list(media.rglob("*.*")) == []
    assert '<a href="#field-child-name">请填写新生儿姓名</a>' in html
    assert '<p class="error" role="alert" id="field-child-name-error">请填写新生儿姓名</p>' in html
    assert "联系电话：请填写11位手机号码或带区号的固定电话" in html
    assert '<a href="#material-child_photo">' in html
    assert "不是PDF、JPG或PNG格式" in html
    assert 'name="field.applicant.phone" value="12345"' in html
    assert '<option value="F" selected>' in html
    assert 'id="reselect-files"' in html
    assert 'aria-invalid="true"' in html


def test_missing_upload_is_named(client, resident):
    client.force_login(resident.user)
    response = client.post(APPLY, form_post(resident, files=False))
    html = response.content.decode()
    assert response.status_code == 200
    assert Application.objects.count() == 0
    assert '<a href="#material-birth_medical_certificate">请提交出生医学证明</a>' in html
    assert '<a href="#material-child_photo">请提交新生儿证件照</a>' in html


def test_draft_is_saved_and_resumed(client, resident):
    client.force_login(resident.user)
    data = form_post(resident, files=False, action="draft")
    data["field.child.name"] = "王小花"
    data["field.applicant.phone"] = "bad"
    response = client.post(APPLY, data)
    assert response.status_code == 302
    assert Application.objects.count() == 0
    draft = Draft.objects.get()
    assert (draft.applicant, draft.kind, draft.code) == (resident.user, "bundle", "birth")
    assert draft.answers == BIRTH_ANSWERS
    assert draft.form_data["child.name"] == "王小花"
    assert "草稿已保存" in client.get(response["Location"]).content.decode()
    # Reopened without the guide's answers: the draft's answers and values come back.
    html = client.get("/apply/bundle/birth/").content.decode()
    assert 'name="field.child.name" value="王小花"' in html
    assert 'name="field.applicant.phone" value="bad"' in html
    assert 'id="draft-resumed"' in html


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


def test_an_item_without_questions_opens_its_form_directly(client, resident):
    client.force_login(resident.user)
    response = client.get("/apply/item/seal_engraving/")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r'name="field\.([a-z_.]+)"', html) == ["enterprise.name", "enterprise.uscc"]
    assert 'name="file.business_licence"' in html


def test_an_agent_chooses_the_enterprise_and_its_record_fills_the_form(client, resident):
    company = EnterpriseFactory(agents=[resident.user])
    others = EnterpriseFactory()
    client.force_login(resident.user)
    html = client.get("/apply/item/seal_engraving/").content.decode()
    assert re.findall(r'<option value="(\d*)"', html) == ["", str(company.pk)]

    html = client.get(f"/apply/item/seal_engraving/?enterprise={company.pk}").content.decode()
    assert f'name="enterprise" value="{company.pk}"' in html
    assert f'value="{company.name}"' in html  # prefilled from 一企一档

    # Someone else's enterprise is refused and nothing is filed.
    response = client.get(f"/apply/item/seal_engraving/?enterprise={others.pk}")
    assert response.status_code == 422
    assert "所选企业不在您可代办的企业之中" in response.content.decode()
    post = {
        "idempotency_key": "agent-1",
        "enterprise": str(others.pk),
        "field.enterprise.name": others.name,
        "field.enterprise.uscc": others.uscc,
        "file.business_licence": SimpleUploadedFile("l.pdf", PDF, "application/pdf"),
    }
    response = client.post("/apply/item/seal_engraving/", post)
    assert response.status_code == 422
    assert Application.objects.count() == 0

    post = {
        **post,
        "enterprise": str(company.pk),
        "field.enterprise.name": company.name,
        "field.enterprise.uscc": company.uscc,
        "file.business_licence": SimpleUploadedFile("l.pdf", PDF, "application/pdf"),
    }
    response = client.post("/apply/item/seal_engraving/", post)
    assert response.status_code == 302
    case = Application.objects.get()
    assert (case.enterprise_id, case.applicant_id) == (company.pk, resident.user_id)


def test_person_services_offer_no_enterprise_choice(client, resident):
    EnterpriseFactory(agents=[resident.user])
    client.force_login(resident.user)
    html = client.get("/apply/bundle/birth/?" + urlencode(BIRTH_ANSWERS)).content.decode()
    assert 'name="enterprise"' not in html
