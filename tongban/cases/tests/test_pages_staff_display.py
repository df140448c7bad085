"""Staff decide seeing what was submitted (issue 9, points 5 and 10): values with their labels
on pages and in the API, uploads opened at intake (audited), 不予受理 confirmed, internal notes
kept from the applicant, the newborn's ID number offered, and duplicate applications warned
and marked. Exact values; refusals change nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tongban.accounts.models import StaffRole
from tongban.accounts.selectors import id_number_unused
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.accounts.validators import parse_id_number
from tongban.cases import services
from tongban.cases.errors import CaseDuplicateOpen
from tongban.cases.models import Application, CaseEvent, Task
from tongban.cases.receipt import receipt_display
from tongban.cases.selectors import task_view_for_reviewer
from tongban.cases.tests.conftest import BIRTH_ANSWERS, PDF, PNG, birth_form, birth_materials
from tongban.cases.tests.samples import sample_uploads
from tongban.catalog.schemas import Choice, DataElementDef
from tongban.catalog.selectors import element_value_display
from tongban.catalog.services import catalog_load_directory
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice


def submit(resident, key="k1", **kwargs):
    args = {
        "applicant": resident.user,
        "kind": "bundle",
        "code": "birth",
        "answers": BIRTH_ANSWERS,
        "form_data": birth_form(resident),
        "materials": birth_materials(photo="deferred"),  # 容缺: waits for a person
        "idempotency_key": key,
    }
    args.update(kwargs)
    return services.case_submit(**args)


def born(resident) -> str:
    day = dt.date.fromisoformat(birth_form(resident)["child.birth_date"])
    return f"{day.year}年{day.month}月{day.day}日"


# ---------------------------------------------------------------- labels


def _element(kind: str, **extra) -> DataElementDef:
    return DataElementDef(code="x.y", label="项", type=kind, sensitivity=1, **extra)


def test_values_are_shown_by_their_element():
    choice = _element("choice", choices=[Choice(value="parent", label="父母")])
    assert element_value_display(choice, "parent") == "父母"
    assert element_value_display(choice, "gone") == "gone"  # no longer a choice: as given
    assert element_value_display(_element("district"), "310104") == "徐汇区"
    assert element_value_display(_element("boolean"), True) == "是"
    assert element_value_display(_element("boolean"), False) == "否"
    assert element_value_display(_element("date"), "2026-11-05") == "2026年11月5日"
    assert element_value_display(_element("text"), "张小宝") == "张小宝"
    assert element_value_display(_element("integer"), 3200) == "3200"
    assert element_value_display(_element("text"), None) == ""
    assert element_value_display(None, "M") == "M"


def test_template_filters_show_receipts_sizes_and_dates_as_people_read_them():
    from tongban.cases.templatetags.case_display import cn_date, file_kind, file_size, receipt

    assert receipt("2612030225824") == "2612 0302 2582 4"
    assert (file_kind("application/pdf"), file_kind("image/png"), file_kind("")) == (
        "PDF文件",
        "PNG图片",
        "文件",
    )
    assert (file_size(42), file_size(2048), file_size(3 * 1024 * 1024)) == (
        "42 字节",
        "2.0 KB",
        "3.0 MB",
    )
    assert (cn_date("1994-05-12"), cn_date(dt.date(2026, 1, 2)), cn_date("汉")) == (
        "1994年5月12日",
        "2026年1月2日",
        "汉",
    )


def test_intake_page_shows_labels_not_codes(client, resident, staff):
    case = submit(resident)
    client.force_login(staff.acceptor["police"])
    page = client.get(f"/staff/intake/{case.receipt_no}/").content.decode()
    assert '<tr><th scope="row">新生儿性别</th><td>女</td></tr>' in page
    assert f'<tr><th scope="row">新生儿出生日期</th><td>{born(resident)}</td></tr>' in page
    assert "<td>F</td>" not in page


def test_task_page_and_api_show_labels_beside_raw_values(client, resident, staff):
    case = submit(resident, materials=birth_materials())  # auto-accepted
    task = Task.objects.get(case=case, item_code="birth_registration")
    client.force_login(staff.reviewer["police"])
    page = client.get(f"/staff/tasks/{task.pk}/").content.decode()
    assert '<tr><th scope="row">新生儿性别</th><td>女</td></tr>' in page
    assert "出生医学证明：上传（PDF文件，42 字节）" in page  # not application/pdf
    body = client.get(f"/api/v1/workbench/tasks/{task.pk}").json()
    sex = next(f for f in body["fields"] if f["code"] == "child.sex")
    assert sex == {"code": "child.sex", "label": "新生儿性别", "value": "F", "display": "女"}
    assert body["form"]["child.sex"] == "F"  # the raw value stays
    assert body["form_display"]["child.sex"] == "女"
    assert body["form_display"]["child.birth_date"] == born(resident)
    assert {m["how_label"] for m in body["materials"]} == {"上传"}
    client.force_login(resident.user)
    detail = client.get(f"/api/v1/cases/{case.receipt_no}").json()
    assert (detail["channel_label"], detail["delivery_label"], detail["outcome_label"]) == (
        "网上申请",
        "网上领取",
        "",
    )
    assert [(e["action"], e["label"]) for e in detail["events"][:2]] == [
        ("submitted", "提交申请"),
        ("accepted_auto", "自动受理"),
    ]
    [row] = client.get("/api/v1/me/cases").json()
    assert (row["status"], row["status_label"]) == ("accepted", "已受理，办理中")


def test_resident_case_page_lists_their_answers_with_labels(client, resident, staff):
    case = submit(resident)
    client.force_login(resident.user)
    page = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert "<dt>新生儿性别</dt><dd>女</dd>" in page
    assert f"<dt>新生儿出生日期</dt><dd>{born(resident)}</dd>" in page
    # Staff who may see the case read its data on their own audited pages, not here.
    client.force_login(staff.acceptor["police"])
    page = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert 'id="answers"' not in page


def test_staff_lists_group_receipt_numbers_in_fours(client, resident, staff):
    case = submit(resident, materials=birth_materials())
    client.force_login(staff.reviewer["police"])
    page = client.get("/staff/tasks/").content.decode()
    assert f">{receipt_display(case.receipt_no)}</a>" in page
    assert f">{case.receipt_no}<" not in page


# ---------------------------------------------------------------- uploads opened at intake


def _upload(case):
    return case.materials.get(material_code="birth_medical_certificate")


def test_intake_opens_uploads_sandboxed_and_audited(client, resident, staff):
    case = submit(resident)
    upload = _upload(case)
    url = f"/staff/intake/{case.receipt_no}/materials/{upload.pk}/"
    client.force_login(staff.acceptor["police"])
    page = client.get(f"/staff/intake/{case.receipt_no}/").content.decode()
    assert f'<a href="{url}">出生证明.pdf</a>（PDF文件，' in page
    before = AuditEvent.objects.count()
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'; img-src 'self'"
    assert response["Cache-Control"] == "private, no-store"
    assert AuditEvent.objects.count() == before + 1
    read = AuditEvent.objects.latest("pk")
    assert (read.action, read.object_id, read.actor_id) == (
        "personal_data.read",
        case.receipt_no,
        staff.acceptor["police"].pk,
    )
    assert read.purpose == "查看材料：出生医学证明（受理审查）"
    assert read.subject_resident_id == resident.pk
    assert read.data == {
        "material": "birth_medical_certificate",
        "material_name": "出生医学证明",
        "submission": upload.pk,
        "post": "市公安局（受理岗）",  # whose post read it, as the resident is told
    }


def test_intake_uploads_are_not_for_anyone_else(client, resident, other_resident, staff):
    case = submit(resident)
    theirs = submit(other_resident, key="theirs")
    url = f"/staff/intake/{case.receipt_no}/materials/{_upload(case).pk}/"
    before = AuditEvent.objects.filter(action="personal_data.read").count()
    client.force_login(resident.user)  # the applicant is not staff
    assert client.get(url).status_code == 403
    client.force_login(staff.acceptor["health"])  # another department's acceptor
    assert client.get(url).status_code == 404
    client.force_login(staff.reviewer["police"])  # a reviewer, not at intake
    assert client.get(url).status_code == 404
    client.force_login(staff.acceptor["police"])  # another case's file under this case
    other = f"/staff/intake/{case.receipt_no}/materials/{_upload(theirs).pk}/"
    assert client.get(other).status_code == 404
    assert AuditEvent.objects.filter(action="personal_data.read").count() == before


# ---------------------------------------------------------------- 不予受理 confirmed


def test_each_reason_box_has_its_own_label(client, resident, staff):
    case = submit(resident)
    client.force_login(staff.acceptor["police"])
    page = client.get(f"/staff/intake/{case.receipt_no}/").content.decode()
    assert '<label for="id_reason">内部备注（选填）</label>' in page
    assert '<label for="refuse_reason">不予受理理由</label>' in page
    assert page.count('id="refuse_reason"') == 1
    assert page.count('id="id_reason"') == 1


def test_refusal_confirmation_is_not_for_anyone_else(client, resident, staff):
    case = submit(resident)
    url = f"/staff/intake/{case.receipt_no}/refuse/"
    for who, status in ((resident.user, 403), (staff.acceptor["health"], 404)):
        client.force_login(who)
        response = client.post(url, {"reason": "不符合条件", "confirmed": "yes"})
        assert response.status_code == status
        response = client.post(url, {"reason": "不符合条件"})
        assert response.status_code == status
    case.refresh_from_db()
    assert case.status == "submitted"
    assert not case.events.filter(action="refused").exists()


# ---------------------------------------------------------------- internal notes


def test_internal_notes_never_reach_the_applicant(client, resident, staff):
    case = submit(resident)
    services.case_accept(
        actor=staff.acceptor["police"], receipt_no=case.receipt_no, reason="内部：已电话核实"
    )
    task = Task.objects.get(case=case, item_code="birth_registration")
    services.task_decide(
        reviewer=staff.reviewer["police"],
        task_id=task.pk,
        decision="approved",
        reason="内部：户籍信息已核对",
        expected_row_version=task.row_version,
    )
    notes = ("内部：已电话核实", "内部：户籍信息已核对")
    # Staff read them on their pages.
    client.force_login(staff.acceptor["police"])
    page = client.get(f"/staff/intake/{case.receipt_no}/").content.decode()
    assert "：内部：已电话核实</li>" in page
    # The applicant's page, the API and their notices do not carry them.
    client.force_login(resident.user)
    page = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    body = client.get(f"/api/v1/cases/{case.receipt_no}").content.decode()
    for note in notes:
        assert note not in page
        assert note not in body
    texts = list(Notice.objects.filter(recipient=resident.user).values_list("title", "body"))
    assert texts and all(note not in str(texts) for note in notes)
    accepted = next(e for e in json.loads(body)["events"] if e["action"].startswith("accepted"))
    assert accepted["reason"] == ""
    approved = next(t for t in json.loads(body)["tasks"] if t["item_code"] == "birth_registration")
    assert approved["reason"] == ""
    # The notes are kept, for staff.
    assert case.events.get(action__startswith="accepted").reason == "内部：已电话核实"


def test_reasons_addressed_to_the_applicant_still_reach_them(client, resident, staff):
    case = submit(resident)
    services.case_refuse_intake(
        actor=staff.acceptor["police"], receipt_no=case.receipt_no, reason="非本市户籍"
    )
    client.force_login(resident.user)
    body = client.get(f"/api/v1/cases/{case.receipt_no}").json()
    assert next(e for e in body["events"] if e["action"] == "refused")["reason"] == "非本市户籍"
    assert "非本市户籍" in client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert Notice.objects.filter(recipient=resident.user, body__contains="非本市户籍").exists()


# ---------------------------------------------------------------- the newborn's ID number


def test_id_number_offered_is_valid_unused_and_matches_the_child(db):
    day = dt.date(2026, 11, 20)
    first = id_number_unused(region_code="310104", birth_date=day, sex="F", seed=7)
    facts = parse_id_number(first, today=dt.date(2026, 12, 1))  # check digit verified
    assert (facts.region_code, facts.birth_date, facts.sex) == ("310104", day, "F")
    assert first == id_number_unused(region_code="310104", birth_date=day, sex="F", seed=7)
    ResidentProfileFactory(id_number=first)  # now somebody holds it
    second = id_number_unused(region_code="310104", birth_date=day, sex="F", seed=7)
    assert second != first
    assert parse_id_number(second, today=dt.date(2026, 12, 1)).sex == "F"
    # A number given out on an open case but not yet on a profile is not offered again.
    third = id_number_unused(
        region_code="310104", birth_date=day, sex="F", seed=7, also_taken=frozenset({second})
    )
    assert third not in (first, second)
    boy = id_number_unused(region_code="310101", birth_date=day, sex="M", seed=7)
    assert parse_id_number(boy, today=dt.date(2026, 12, 1)).sex == "M"
    assert id_number_unused(region_code="31", birth_date=day, sex="M") == ""


def test_the_police_reviewer_is_offered_the_childs_id_number(client, db, media):
    from tongban.cases.tests.test_services_demo_catalog import (
        DEMO,
        _approve,
        _submitted_birth_case,
    )

    catalog_load_directory(path=DEMO)
    resident = ResidentProfileFactory()
    _guide, case = _submitted_birth_case(resident)
    _approve(case, "SH-WJW-0101")
    task = Task.objects.get(case=case, item_code="SH-GA-0101")
    reviewer = StaffFactory(department=task.department, role=StaffRole.REVIEWER)
    [offer] = task_view_for_reviewer(user=reviewer, task_id=task.pk)["produces"]
    facts = parse_id_number(offer["suggested"])
    form = case.form_data
    assert facts.birth_date.isoformat() == form["child.birth_date"]
    assert facts.sex == form["child.sex"]
    assert facts.region_code == form["child.hukou_district"]
    client.force_login(reviewer)
    page = client.get(f"/staff/tasks/{task.pk}/").content.decode()
    assert f'name="produced.child.id_number" value="{offer["suggested"]}"' in page
    assert "已按出生日期、性别和户口所在区编制一个尚未使用的号码" in page
    # Recorded as offered: the case now holds it.
    services.task_decide(
        reviewer=reviewer,
        task_id=task.pk,
        decision="approved",
        reason="",
        expected_row_version=task.row_version,
        produced={"child.id_number": offer["suggested"]},
    )
    case.refresh_from_db()
    assert case.form_data["child.id_number"] == offer["suggested"]
    # The number is on an open case, not yet on a profile: another case is not offered it.
    from tongban.cases.selectors import _numbers_given_out

    twin = services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=case.answers,
        form_data={k: v for k, v in case.form_data.items() if k != "child.id_number"},
        materials=sample_uploads(_guide),
        idempotency_key="twin",
        acknowledge_duplicate=True,
    )
    assert _numbers_given_out(twin, ["child.id_number"]) == frozenset({offer["suggested"]})


# ---------------------------------------------------------------- 重复申请


def test_a_second_open_case_for_the_same_child_is_refused_until_acknowledged(resident, staff):
    first = submit(resident)
    cases, events = Application.objects.count(), CaseEvent.objects.count()
    with pytest.raises(CaseDuplicateOpen) as exc:
        submit(resident, key="k2")
    assert exc.value.code == "CASE_DUPLICATE_OPEN"
    assert exc.value.http_status == 409
    assert [d["receipt_no"] for d in exc.value.details] == [first.receipt_no]
    assert receipt_display(first.receipt_no) in exc.value.message
    assert (Application.objects.count(), CaseEvent.objects.count()) == (cases, events)
    # The same key is the same case, as before.
    assert submit(resident).pk == first.pk
    # Another child is another case.
    other_child = {**birth_form(resident), "child.name": "张二宝"}
    assert submit(resident, key="k3", form_data=other_child).pk != first.pk
    second = submit(resident, key="k2", acknowledge_duplicate=True)
    assert second.pk != first.pk
    assert second.subject_key == first.subject_key != ""


def test_a_concluded_or_refused_case_is_no_duplicate(resident, staff):
    first = submit(resident)
    services.case_refuse_intake(
        actor=staff.acceptor["police"], receipt_no=first.receipt_no, reason="材料不全"
    )
    assert submit(resident, key="k2").pk != first.pk


def test_the_api_answers_409_unless_acknowledged(client, resident, staff):
    def post(key, **extra):
        body = {
            "kind": "bundle",
            "code": "birth",
            "answers": BIRTH_ANSWERS,
            "form_data": birth_form(resident),
            "materials": {"birth_medical_certificate": {"how": "upload"}},
            **extra,
        }
        files = {
            "material.birth_medical_certificate": SimpleUploadedFile("出生证明.pdf", PDF),
            "material.child_photo": SimpleUploadedFile("photo.png", PNG),
        }
        data = {"payload": json.dumps(body, ensure_ascii=False), **files}
        return client.post("/api/v1/cases", data=data, HTTP_IDEMPOTENCY_KEY=key)

    client.force_login(resident.user)
    first = post("a")
    assert first.status_code == 201
    again = post("b")
    assert again.status_code == 409
    assert again.json()["code"] == "CASE_DUPLICATE_OPEN"
    assert again.json()["details"][0]["receipt_no"] == first.json()["receipt_no"]
    assert Application.objects.count() == 1
    assert post("a").json()["receipt_no"] == first.json()["receipt_no"]  # same key: same case
    assert post("b", acknowledge_duplicate=True).status_code == 201
    assert Application.objects.count() == 2


def test_the_check_page_warns_with_a_link_and_an_explicit_choice(client, resident, staff, media):
    from tongban.cases.tests.test_pages_apply_steps import CHECK, draft_of, walk

    first = submit(resident)
    client.force_login(resident.user)
    walk(client, resident)
    key = draft_of(resident).idempotency_key
    response = client.post(CHECK, {"idempotency_key": key})
    assert response.status_code == 409
    page = response.content.decode()
    link = (
        f'<a href="/me/cases/{first.receipt_no}/">受理编号 {receipt_display(first.receipt_no)}</a>'
    )
    assert link in page
    assert 'name="acknowledge_duplicate" value="yes"' in page
    assert Application.objects.count() == 1
    response = client.post(CHECK, {"idempotency_key": key, "acknowledge_duplicate": "yes"})
    assert response.status_code == 302
    assert Application.objects.count() == 2


def test_intake_marks_duplicates_of_other_applicants_too(client, resident, staff):
    first = submit(resident)
    # The other parent applies for the same child: not warned (they cannot see the first
    # case, and learn nothing of it), but intake sees both marked.
    father = ResidentProfileFactory()
    form = {**birth_form(father), "child.name": birth_form(resident)["child.name"]}
    second = submit(father, key="f1", form_data=form)
    lone = submit(resident, key="k3", form_data={**birth_form(resident), "child.name": "李三"})
    client.force_login(staff.acceptor["police"])
    rows = {r["receipt_no"]: r for r in client.get("/staff/intake/").context["page"].object_list}
    assert [d["receipt_no"] for d in rows[first.receipt_no]["duplicates"]] == [second.receipt_no]
    assert [d["receipt_no"] for d in rows[second.receipt_no]["duplicates"]] == [first.receipt_no]
    assert rows[lone.receipt_no]["duplicates"] == []
    queue = client.get("/staff/intake/").content.decode()
    assert "疑似重复申请" in queue
    link = f'<a href="/staff/intake/{second.receipt_no}/">{receipt_display(second.receipt_no)}</a>'
    assert link in queue
    page = client.get(f"/staff/intake/{first.receipt_no}/").content.decode()
    assert f'<a href="/staff/intake/{second.receipt_no}/">受理编号 ' in page
    assert 'id="duplicates"' in page
    assert 'id="duplicates"' not in client.get(f"/staff/intake/{lone.receipt_no}/").content.decode()
    # The applicant's own pages do not show another person's application.
    client.force_login(father.user)
    assert first.receipt_no not in client.get(f"/me/cases/{second.receipt_no}/").content.decode()


def test_a_child_born_on_another_day_is_another_child(resident, staff):
    first = submit(resident)
    later = birth_form(resident, born_days_ago=1)
    assert submit(resident, key="k2", form_data=later).subject_key != first.subject_key


def test_the_counter_clerk_is_warned_and_asks_the_resident(client, resident, staff):
    from django.urls import reverse

    first = submit(resident)  # the resident applied online already
    client.force_login(staff.clerk)
    client.post("/staff/counter/", {"id_number": resident.id_number})
    url = reverse("cases_staff:counter_apply", args=["bundle", "birth"])

    def data(**extra):
        return {
            "answered": "1",
            "idempotency_key": "counter-1",
            **{f"answer.{k}": v for k, v in BIRTH_ANSWERS.items()},
            **{f"field.{k}": v for k, v in birth_form(resident).items()},
            "how.birth_medical_certificate": "upload",
            "file.birth_medical_certificate": SimpleUploadedFile(
                "出生证明.pdf", PDF, content_type="application/pdf"
            ),
            "how.child_photo": "deferred",
            "delivery": "counter",
            **extra,
        }

    response = client.post(url, data())
    assert response.status_code == 409
    page = response.content.decode()
    assert f"受理编号 {receipt_display(first.receipt_no)}。请与居民核实" in page
    assert 'name="acknowledge_duplicate" value="yes"' in page
    assert Application.objects.count() == 1
    response = client.post(url, data(acknowledge_duplicate="yes"))
    assert response.status_code == 302
    assert Application.objects.count() == 2
