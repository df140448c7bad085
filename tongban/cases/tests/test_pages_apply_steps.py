"""一表申请 step by step: the task list, one page per step (GET/POST, errors, draft kept, back
and 修改 links), files kept with the draft and removed, 核对信息, the one submit, the
confirmation, and nobody touching another person's draft or files."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tongban.accounts.tests.factories import EnterpriseFactory
from tongban.cases import services
from tongban.cases.errors import DraftUploadNotFound, NotForApplicant
from tongban.cases.models import Application, Draft, DraftUpload, MaterialSubmission
from tongban.cases.receipt import receipt_display
from tongban.cases.services import MaterialInput
from tongban.cases.tests.conftest import BIRTH_ANSWERS, PDF, PNG, birth_form
from tongban.common.files import staging_settle

START = "/apply/bundle/birth/?" + urlencode(BIRTH_ANSWERS)
BASE = "/apply/bundle/birth/"
STEP = BASE + "step/"
CHECK = BASE + "check/"
STEPS = ["applicant", "child", "parents", "materials", "delivery"]


def fields(resident, *codes) -> dict:
    form = birth_form(resident)
    return {f"field.{c}": form[c] for c in codes}


def walk(client, resident, *, photo: str = "upload", delivery: str = "post") -> None:
    """The whole form, step by step, as a person fills it in."""
    assert client.get(START).status_code == 200
    answers = {
        "applicant": fields(resident, "applicant.name", "applicant.id_number", "applicant.phone"),
        "child": fields(resident, "child.name", "child.birth_date", "child.sex"),
        "parents": fields(resident, "marriage.certificate_no"),
    }
    for slug, data in answers.items():
        response = client.post(STEP + slug + "/", {**data, "action": "next"})
        assert response.status_code == 302, response.content.decode()
    data = {
        "file.birth_medical_certificate": SimpleUploadedFile("出生证明.pdf", PDF),
        "how.child_photo": photo,
        "action": "next",
    }
    if photo == "upload":
        data["file.child_photo"] = SimpleUploadedFile("photo.png", PNG)
    response = client.post(STEP + "materials/", data)
    assert response["Location"] == STEP + "delivery/"
    response = client.post(STEP + "delivery/", {"delivery": delivery, "action": "next"})
    assert response["Location"] == CHECK


def draft_of(resident) -> Draft:
    return Draft.objects.get(applicant=resident.user, kind="bundle", code="birth")


# ---------------------------------------------------------------- the task list


def test_the_task_list_starts_a_draft_and_lists_each_step(client, resident):
    client.force_login(resident.user)
    response = client.get(START)
    assert response.status_code == 200
    html = response.content.decode()
    draft = draft_of(resident)
    assert draft.answers == BIRTH_ANSWERS and draft.idempotency_key
    assert re.findall(r'<a href="/apply/bundle/birth/step/([a-z_]+)/"', html) == STEPS
    assert re.findall(r'class="task-state" id="task-[a-z_]+-state">([^<]+)<', html) == [
        "未开始"
    ] * 5 + ["完成以上步骤后进行"]
    assert 'name="field.' not in html  # one thing per page: no field here
    assert 'href="/apply/bundle/birth/step/applicant/">开始填写</a>' in html
    # Coming back without the guide's answers resumes the draft.
    html = client.get(BASE).content.decode()
    assert 'id="draft-resumed"' in html
    assert Draft.objects.count() == 1


def test_each_step_asks_its_own_fields_prefilled_with_back_links(client, resident):
    client.force_login(resident.user)
    client.get(START)
    html = client.get(STEP + "applicant/").content.decode()
    assert re.findall(r'name="field\.([a-z_.]+)"', html) == [
        "applicant.name",
        "applicant.id_number",
        "applicant.phone",
    ]
    assert f'name="field.applicant.name" value="{resident.name}"' in html
    assert html.count("已从您的档案填入") == 3
    assert 'id="back-link">‹ 返回</a>' in html and f'href="{BASE}" id="back-link"' in html
    assert "第 1 步，共 6 步" in html
    html = client.get(STEP + "child/").content.decode()
    assert re.findall(r'name="field\.([a-z_.]+)"', html) == [
        "child.name",
        "child.birth_date",
        "child.sex",
    ]
    assert f'href="{STEP}applicant/" id="back-link"' in html
    assert '<input type="date" id="field-child-birth_date"' in html
    html = client.get(STEP + "parents/").content.decode()
    assert re.findall(r'name="field\.([a-z_.]+)"', html) == ["marriage.certificate_no"]
    assert client.get(STEP + "no_such_step/").status_code == 404


def test_a_step_post_keeps_the_draft_and_goes_on(client, resident):
    client.force_login(resident.user)
    client.get(START)
    response = client.post(
        STEP + "child/",
        {**fields(resident, "child.name", "child.birth_date", "child.sex"), "action": "next"},
    )
    assert (response.status_code, response["Location"]) == (302, STEP + "parents/")
    draft = draft_of(resident)
    assert draft.form_data["child.name"] == "张小宝"
    assert draft.form_data["child.sex"] == "F"
    # What the profile held is kept with it.
    assert draft.form_data["applicant.name"] == resident.name
    assert draft.steps_seen == ["child"]
    html = client.get(BASE).content.decode()
    states = re.findall(r'id="task-([a-z_]+)-state">([^<]+)<', html)
    assert states[:2] == [("applicant", "未开始"), ("child", "已完成")]


def test_step_errors_are_summarised_linked_and_typed_values_kept(client, resident):
    client.force_login(resident.user)
    client.get(START)
    response = client.post(
        STEP + "child/",
        {"field.child.name": "", "field.child.birth_date": "2020-13-40", "field.child.sex": "F"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="error-summary"' in html
    assert '<a href="#field-child-name">请填写新生儿姓名</a>' in html
    assert 'href="#field-child-birth_date"' in html
    assert '<option value="F" selected>' in html
    assert 'value="2020-13-40"' in html and 'aria-invalid="true"' in html
    assert "<title>错误：" in html
    # Nothing typed is lost: the draft has it, and the task list says the step has errors.
    assert draft_of(resident).form_data["child.birth_date"] == "2020-13-40"
    html = client.get(BASE).content.decode()
    assert 'id="task-child-state">有错误<' in html
    # Opened again later, the step shows its problems at once.
    assert "请填写新生儿姓名" in client.get(STEP + "child/").content.decode()
    assert Application.objects.count() == 0


def test_save_for_later_keeps_the_draft_without_checking(client, resident):
    client.force_login(resident.user)
    client.get(START)
    response = client.post(STEP + "applicant/", {"field.applicant.phone": "bad", "action": "save"})
    assert (response.status_code, response["Location"]) == (302, BASE + "?saved=1")
    assert draft_of(resident).form_data["applicant.phone"] == "bad"
    assert 'id="draft-saved"' in client.get(response["Location"]).content.decode()


# ---------------------------------------------------------------- materials and files


def test_files_survive_an_error_and_are_removed_with_删除(
    client, resident, media, django_capture_on_commit_callbacks
):
    client.force_login(resident.user)
    client.get(START)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            STEP + "materials/",
            {
                "file.birth_medical_certificate": SimpleUploadedFile("出生证明.pdf", PDF),
                "file.child_photo": SimpleUploadedFile("photo.txt", b"not an image"),
                "action": "next",
            },
        )
    assert response.status_code == 200
    # Committed: the file's staging note is gone with the commit, the file stays.
    assert list((media / "staging").iterdir()) == []
    html = response.content.decode()
    assert "文件“photo.txt”不是PDF、JPG或PNG格式" in html
    assert '<a href="#material-child_photo">' in html
    assert "请重新选择" not in html
    kept = DraftUpload.objects.get()
    assert (kept.material_code, kept.original_name, kept.size) == (
        "birth_medical_certificate",
        "出生证明.pdf",
        len(PDF),
    )
    assert kept.content_type == "application/pdf"
    assert kept.file.name.startswith(f"drafts/{resident.user.pk}/")
    assert (media / kept.file.name).read_bytes() == PDF
    assert '<span class="file-name">出生证明.pdf</span> <span class="muted">（1 KB）</span>' in html
    assert f'name="remove" value="{kept.pk}"' in html
    # Other steps come and go; the file stays.
    client.post(STEP + "child/", {"field.child.name": "张小宝", "action": "next"})
    assert "出生证明.pdf" in client.get(STEP + "materials/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(STEP + "materials/", {"remove": str(kept.pk)})
    assert response["Location"] == STEP + "materials/?done=removed#materials"
    assert DraftUpload.objects.count() == 0
    assert list(media.rglob("*.*")) == []
    assert "文件已删除" in client.get(response["Location"]).content.decode()


def test_nobody_touches_another_persons_draft_files(
    client, resident, other_resident, media, django_capture_on_commit_callbacks
):
    client.force_login(resident.user)
    client.get(START)
    client.post(
        STEP + "materials/",
        {"file.birth_medical_certificate": SimpleUploadedFile("出生证明.pdf", PDF)},
    )
    theirs = DraftUpload.objects.get()
    client.force_login(other_resident.user)
    client.get(START)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(STEP + "materials/", {"remove": str(theirs.pk)})
    assert response.status_code == 404
    assert DraftUpload.objects.filter(pk=theirs.pk).exists()
    assert (media / theirs.file.name).exists()
    # Nor can their file be handed in as one's own.
    with pytest.raises(DraftUploadNotFound):
        services.case_submit(
            applicant=other_resident.user,
            kind="bundle",
            code="birth",
            answers=BIRTH_ANSWERS,
            form_data=birth_form(other_resident),
            materials={
                "birth_medical_certificate": MaterialInput(
                    how="upload", draft_uploads=(theirs.pk,)
                ),
                "child_photo": MaterialInput(how="deferred"),
            },
            idempotency_key="steal",
        )
    assert Application.objects.count() == 0
    assert MaterialSubmission.objects.count() == 0
    assert DraftUpload.objects.filter(pk=theirs.pk).exists()
    with pytest.raises(DraftUploadNotFound):
        services.draft_upload_remove(applicant=other_resident.user, upload_id=theirs.pk)
    assert DraftUpload.objects.filter(pk=theirs.pk).exists()


def test_spared_materials_say_why_and_ask_nothing(client, resident):
    client.force_login(resident.user)
    client.get(START)
    html = client.get(STEP + "materials/").content.decode()
    # What needs nothing from her is listed apart, each with why.
    assert "无需您提交的材料（2 份）" in html
    assert html.count('<span class="spared">无需提交：') == 2
    assert re.findall(r'name="file\.([a-z_]+)"', html) == [
        "birth_medical_certificate",
        "child_photo",
    ]
    assert 'name="how.child_photo" value="deferred"' in html


def test_the_upload_button_keeps_the_file_and_stays_on_the_page(client, resident):
    client.force_login(resident.user)
    client.get(START)
    response = client.post(
        STEP + "materials/?from=check",
        {"file.child_photo": SimpleUploadedFile("photo.png", PNG), "action": "upload"},
    )
    assert response["Location"] == STEP + "materials/?from=check&done=uploaded#materials"
    assert DraftUpload.objects.get().material_code == "child_photo"
    html = client.get(response["Location"]).content.decode()
    assert "文件已保存" in html and '<span class="file-name">photo.png</span>' in html
    # A file over 10MB is refused before it is read, and named.
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (10 * 1024 * 1024))
    response = client.post(STEP + "materials/", {"file.child_photo": big, "action": "upload"})
    assert response.status_code == 200
    assert "文件“big.pdf”超过10MB，请压缩后上传" in response.content.decode()
    assert DraftUpload.objects.count() == 1


def test_the_delivery_step_asks_for_a_choice(client, resident):
    client.force_login(resident.user)
    client.get(START)
    response = client.post(STEP + "delivery/", {"action": "next"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<a href="#delivery-choice">请选择办理结果的送达方式</a>' in html
    assert f'href="{STEP}materials/" id="back-link"' in html
    response = client.post(STEP + "delivery/", {"delivery": "counter", "action": "next"})
    assert response["Location"] == CHECK
    assert draft_of(resident).delivery == "counter"
    assert 'id="delivery-counter" name="delivery" value="counter" checked' in (
        client.get(STEP + "delivery/").content.decode()
    )


# ---------------------------------------------------------------- 核对信息 and submit


def test_the_check_page_lists_every_answer_with_labels_and_change_links(client, resident):
    client.force_login(resident.user)
    walk(client, resident, photo="deferred")
    html = client.get(CHECK).content.decode()
    born = timezone.localdate() - dt.timedelta(days=3)
    assert "孩子是否在本市医疗机构出生？</dt><dd>是</dd>" in html
    assert "是否同时为孩子申领社会保障卡？</dt><dd>申领</dd>" in html
    assert "<dt>新生儿性别</dt><dd>女</dd>" in html  # the label, not F
    assert f"<dt>新生儿出生日期</dt><dd>{born.year}年{born.month}月{born.day}日</dd>" in html
    assert f"<dt>申请人姓名</dt><dd>{resident.name}</dd>" in html
    assert "<dt>结婚证字号</dt><dd>沪徐结字2020-001</dd>" in html
    assert "<dt>出生医学证明</dt><dd>已上传 出生证明.pdf（1 KB）</dd>" in html
    assert re.search(r"<dt>新生儿证件照</dt><dd>容缺：受理后 \d+ 个工作日内补交</dd>", html)
    assert html.count("<dd>免交：") == 2
    assert "<dt>送达方式</dt><dd>邮寄送达</dd>" in html
    changes = re.findall(r'href="([^"]+)" class="change-link"', html)
    assert changes[1:] == [f"{STEP}{s}/?from=check" for s in STEPS]
    assert changes[0].startswith("/bundles/birth/?answered=1")
    assert 'id="submit-application">提交申请</button>' in html
    # 修改 goes to the step and back to this page.
    html = client.get(STEP + "child/?from=check").content.decode()
    assert f'href="{CHECK}" id="back-link">‹ 返回核对信息</a>' in html
    assert "保存并返回核对信息" in html
    response = client.post(
        STEP + "child/?from=check",
        {**fields(resident, "child.birth_date", "child.sex"), "field.child.name": "张大宝"},
    )
    assert response["Location"] == CHECK
    assert "<dt>新生儿姓名</dt><dd>张大宝</dd>" in client.get(CHECK).content.decode()


def test_the_check_page_holds_back_the_submit_until_every_step_is_done(client, resident):
    client.force_login(resident.user)
    client.get(START)
    html = client.get(CHECK).content.decode()
    assert 'id="submit-application"' not in html
    # Steps not opened yet are one line each; the applicant's own step is complete already
    # (her 一人一档 filled it).
    summary = re.findall(r'<li><a href="([^"]+)">(请完成[^<]+)</a></li>', html)
    assert summary == [
        (f"{STEP}child/", "请完成「关于子女」"),
        (f"{STEP}parents/", "请完成「关于父母」"),
        (f"{STEP}materials/", "请完成「申请材料」"),
        (f"{STEP}delivery/", "请完成「送达方式」"),
    ]
    # Opened and left with problems: each problem, linked to its field.
    client.post(STEP + "child/", {"field.child.sex": "F"})
    html = client.get(CHECK).content.decode()
    assert f'<a href="{STEP}child/#field-child-name">请填写新生儿姓名</a>' in html
    response = client.post(CHECK, {"idempotency_key": draft_of(resident).idempotency_key})
    assert response.status_code == 200
    assert Application.objects.count() == 0


def test_submit_happens_only_from_the_check_page_and_once(
    client, resident, media, django_capture_on_commit_callbacks
):
    client.force_login(resident.user)
    walk(client, resident)
    # The old one-page POST no longer files anything.
    assert client.post(START, {"action": "submit"}).status_code == 405
    assert Application.objects.count() == 0
    key = draft_of(resident).idempotency_key
    assert f'name="idempotency_key" value="{key}"' in client.get(CHECK).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(CHECK, {"idempotency_key": key})
    case = Application.objects.get()
    assert first["Location"] == f"/me/cases/{case.receipt_no}/submitted/"
    assert (case.applicant, case.delivery, case.idempotency_key) == (resident.user, "post", key)
    assert case.form_data["child.name"] == "张小宝"
    assert sorted(
        MaterialSubmission.objects.values_list("material_code", "how", "original_name")
    ) == [
        ("birth_medical_certificate", "upload", "出生证明.pdf"),
        ("child_photo", "upload", "photo.png"),
        ("household_register", "waived", ""),
        ("parent_id_card", "waived", ""),
    ]
    stored = MaterialSubmission.objects.get(material_code="birth_medical_certificate")
    assert stored.file.read() == PDF
    # The draft became the case: it is gone with its files; no orphan is left behind.
    assert Draft.objects.count() == 0 and DraftUpload.objects.count() == 0
    # The walk's draft uploads committed outside the callbacks captured here, so their staging
    # notes still stand; settled, they keep the case's files and find nothing else to remove.
    assert staging_settle(now=timezone.now(), grace=dt.timedelta(0)) == {
        "notes_settled": 2,
        "orphans_removed": 0,
    }
    files = sorted(str(p.relative_to(media)) for p in media.rglob("*.*"))
    assert len(files) == 2 and all(f.startswith(f"cases/{case.receipt_no}/") for f in files)
    # Pressed again: the same case, nothing new.
    second = client.post(CHECK, {"idempotency_key": key})
    assert second["Location"] == first["Location"]
    assert Application.objects.count() == 1


def test_the_confirmation_reads_the_receipt_aloud_and_says_what_next(client, resident, staff):
    client.force_login(resident.user)
    walk(client, resident)
    response = client.post(CHECK, {"idempotency_key": draft_of(resident).idempotency_key})
    case = Application.objects.get()
    html = client.get(response["Location"]).content.decode()
    shown = receipt_display(case.receipt_no)
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d", shown)
    assert f'<p class="receipt-big" id="receipt-no" aria-label="受理编号 {shown}">{shown}</p>' in (
        html
    )
    assert "<h1>申请已提交</h1>" in html
    assert case.status == "accepted" and case.promised_date is not None
    day = case.promised_date
    assert f'<strong id="promised-date">{day.year}年{day.month}月{day.day}日</strong>' in html
    assert "办理结果的送达方式：邮寄送达" in html
    assert f'href="/me/cases/{case.receipt_no}/" id="case-link"' in html
    assert 'href="/me/cases/" id="my-cases-link"' in html
    client.force_login(staff.reviewer["police"])
    assert client.get(response["Location"]).status_code == 404


def test_the_confirmation_is_the_applicants_alone(client, resident, other_resident):
    client.force_login(resident.user)
    walk(client, resident)
    response = client.post(CHECK, {"idempotency_key": draft_of(resident).idempotency_key})
    client.force_login(other_resident.user)
    assert client.get(response["Location"]).status_code == 404
    # Nor can they press submit on it.
    response = client.post(CHECK, {"idempotency_key": Application.objects.get().idempotency_key})
    assert response.status_code == 302 and response["Location"] == BASE
    assert Application.objects.count() == 1


# ---------------------------------------------------------------- enterprise services


def test_an_item_without_questions_opens_its_task_list_directly(client, resident):
    client.force_login(resident.user)
    html = client.get("/apply/item/seal_engraving/").content.decode()
    assert re.findall(r'<a href="/apply/item/seal_engraving/step/([a-z_]+)/"', html) == [
        "enterprise",
        "materials",
        "delivery",
    ]
    html = client.get("/apply/item/seal_engraving/step/enterprise/").content.decode()
    assert re.findall(r'name="field\.([a-z_.]+)"', html) == ["enterprise.name", "enterprise.uscc"]


def test_an_agent_chooses_the_enterprise_and_its_record_fills_the_form(client, resident):
    company = EnterpriseFactory(agents=[resident.user])
    others = EnterpriseFactory()
    client.force_login(resident.user)
    html = client.get("/apply/item/seal_engraving/").content.decode()
    assert re.findall(r'<option value="(\d*)"', html) == ["", str(company.pk)]
    response = client.get(f"/apply/item/seal_engraving/?enterprise={company.pk}")
    assert response.status_code == 200
    draft = Draft.objects.get(code="seal_engraving")
    assert draft.enterprise == company
    html = client.get("/apply/item/seal_engraving/step/enterprise/").content.decode()
    assert f'name="field.enterprise.name" value="{company.name}"' in html  # from 一企一档
    # Someone else's enterprise is refused and nothing changes.
    response = client.get(f"/apply/item/seal_engraving/?enterprise={others.pk}")
    assert response.status_code == 422
    assert "所选企业不在您可代办的企业之中" in response.content.decode()
    draft.refresh_from_db()
    assert draft.enterprise == company
    # Saved on the step, then another enterprise chosen: the new one's record fills it.
    client.post(
        "/apply/item/seal_engraving/step/enterprise/",
        {"field.enterprise.name": company.name, "field.enterprise.uscc": company.uscc},
    )
    assert Draft.objects.get(code="seal_engraving").form_data["enterprise.name"] == company.name
    second = EnterpriseFactory(agents=[resident.user])
    client.get(f"/apply/item/seal_engraving/?enterprise={second.pk}")
    html = client.get("/apply/item/seal_engraving/step/enterprise/").content.decode()
    assert f'name="field.enterprise.name" value="{second.name}"' in html
    client.get(f"/apply/item/seal_engraving/?enterprise={company.pk}")
    draft.refresh_from_db()
    assert draft.enterprise == company
    with pytest.raises(NotForApplicant):
        services.draft_save(
            applicant=resident.user,
            kind="item",
            code="seal_engraving",
            answers={},
            form_data={},
            enterprise=others,
        )
    draft.refresh_from_db()
    assert draft.enterprise == company


def test_person_services_offer_no_enterprise_choice(client, resident):
    EnterpriseFactory(agents=[resident.user])
    client.force_login(resident.user)
    assert 'name="enterprise"' not in client.get(START).content.decode()
