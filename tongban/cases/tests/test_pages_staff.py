"""Staff pages: intake (一口受理), the workbench (一网办理) and the counter (帮办), through
the HTML forms. Exact values and side effects; refusals change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.accounts.validators import make_id_number
from tongban.cases import services
from tongban.cases.models import Application, CaseEvent, SupplementRequest, Task
from tongban.cases.tests.conftest import BIRTH_ANSWERS, PDF, birth_form, birth_materials
from tongban.common.models import AuditEvent


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


def snapshot(case):
    """Everything a refused request must leave as it was."""
    case.refresh_from_db()
    return (
        case.status,
        case.events.count(),
        Task.objects.filter(case=case).count(),
        SupplementRequest.objects.filter(case=case).count(),
        list(Task.objects.filter(case=case).values_list("status", "row_version").order_by("pk")),
    )


@pytest.fixture
def submitted(resident, staff):
    return submit(resident)


@pytest.fixture
def accepted(resident, staff):
    case = submit(resident, materials=birth_materials())  # all machine-checkable: auto
    assert case.status == "accepted"
    return case


def police_task(case):
    return Task.objects.get(case=case, item_code="birth_registration")


# ---------------------------------------------------------------- intake


def test_intake_queue_lists_waiting_cases_oldest_first(client, resident, other_resident, staff):
    first = submit(resident)
    second = submit(other_resident, key="k2")
    # Auto-accepted: not listed. The same child again, acknowledged (仍然提交).
    submit(other_resident, key="k3", materials=birth_materials(), acknowledge_duplicate=True)
    client.force_login(staff.acceptor["police"])
    response = client.get("/staff/intake/")
    assert response.status_code == 200
    rows = response.context["page"].object_list
    assert [r["receipt_no"] for r in rows] == [first.receipt_no, second.receipt_no]
    assert rows[0]["items"] == [
        "出生登记",
        "预防接种证办理",
        "城乡居民医保参保登记",
        "社会保障卡申领",
    ]
    assert "出生一件事" in response.content.decode()
    # Online cases are the lead department's: no clerk sees them, nor another department.
    for other in (staff.clerk, staff.acceptor["health"]):
        client.force_login(other)
        assert list(client.get("/staff/intake/").context["page"].object_list) == []
    # A case filed at the counter: the lead department and that hall's clerks, no other hall.
    walk_in = submit(
        other_resident,
        key="k4",
        channel="counter",
        filed_by=staff.clerk,
        acknowledge_duplicate=True,
    )
    client.force_login(staff.clerk)
    rows = client.get("/staff/intake/").context["page"].object_list
    assert [(r["receipt_no"], r["hall"]) for r in rows] == [
        (walk_in.receipt_no, "市民中心（示例）")
    ]
    client.force_login(staff.other_clerk)
    assert list(client.get("/staff/intake/").context["page"].object_list) == []
    client.force_login(staff.acceptor["police"])
    assert len(client.get("/staff/intake/").context["page"].object_list) == 3


def test_intake_page_shows_applicant_through_the_audited_read(client, submitted, resident, staff):
    acceptor = staff.acceptor["police"]
    client.force_login(acceptor)
    response = client.get(f"/staff/intake/{submitted.receipt_no}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert resident.id_number in body  # acceptors check papers: full per accounts rules
    assert "容缺受理" in body  # the accept button names the deferral
    assert "张小宝" in body and "沪徐结字2020-001" in body
    audit = AuditEvent.objects.get(actor=acceptor, data__use="intake_review")
    assert (audit.action, audit.purpose, audit.subject_resident_id, audit.object_id) == (
        "personal_data.read",
        "受理审查：核对申请人身份",
        resident.pk,
        submitted.receipt_no,
    )


def test_accept_from_intake(client, submitted, staff):
    client.force_login(staff.acceptor["police"])
    response = client.post(
        f"/staff/intake/{submitted.receipt_no}/accept/", {"reason": "材料齐全，照片容缺"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/staff/intake/{submitted.receipt_no}/"
    submitted.refresh_from_db()
    assert submitted.status == "accepted"
    event = submitted.events.get(action="accepted_deferred")
    assert (event.actor, event.reason) == (staff.acceptor["police"], "材料齐全，照片容缺")
    assert Task.objects.filter(case=submitted).count() == 4
    page = client.get(response["Location"]).content.decode()
    assert "已受理，办件已分送各部门办理。" in page


def test_refuse_needs_a_reason_and_then_refuses(client, submitted, staff):
    client.force_login(staff.acceptor["police"])
    before = snapshot(submitted)
    response = client.post(f"/staff/intake/{submitted.receipt_no}/refuse/", {"reason": "  "})
    assert response.status_code == 422
    assert "请填写不予受理的理由" in response.content.decode()
    assert snapshot(submitted) == before
    # A reason alone asks for confirmation, showing the reason back; nothing changes yet.
    response = client.post(
        f"/staff/intake/{submitted.receipt_no}/refuse/", {"reason": "非本市户籍"}
    )
    assert response.status_code == 200
    assert response.templates[0].name == "cases/staff/intake_refuse_confirm.html"
    page = response.content.decode()
    assert '<dd id="refuse-reason">非本市户籍</dd>' in page
    assert '<input type="hidden" name="reason" value="非本市户籍">' in page
    assert snapshot(submitted) == before
    response = client.post(
        f"/staff/intake/{submitted.receipt_no}/refuse/",
        {"reason": "非本市户籍", "confirmed": "yes"},
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == "refused"
    assert submitted.events.get(action="refused").reason == "非本市户籍"
    assert Task.objects.filter(case=submitted).count() == 0


def test_supplement_request_from_intake(client, submitted, staff):
    client.force_login(staff.acceptor["police"])
    deadline = timezone.localdate() + dt.timedelta(days=10)
    url = f"/staff/intake/{submitted.receipt_no}/supplement/"
    before = snapshot(submitted)
    response = client.post(url, {"supplement-reason": "请补交"})
    assert response.status_code == 422
    assert "请至少选择一项需补正的材料或字段" in response.content.decode()
    assert snapshot(submitted) == before
    response = client.post(
        url,
        {
            "supplement-materials": ["child_photo"],
            "supplement-fields": ["child.name"],
            "supplement-deadline": deadline.isoformat(),
            "supplement-reason": "请补交证件照并核对姓名",
        },
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == "supplement_requested"
    request = SupplementRequest.objects.get(case=submitted)
    assert (request.material_codes, request.field_codes, request.deadline, request.reason) == (
        ["child_photo"],
        ["child.name"],
        deadline,
        "请补交证件照并核对姓名",
    )
    assert request.requested_by == staff.acceptor["police"]


def test_supplement_deadline_in_the_past_is_refused_by_the_service(client, submitted, staff):
    client.force_login(staff.acceptor["police"])
    before = snapshot(submitted)
    response = client.post(
        f"/staff/intake/{submitted.receipt_no}/supplement/",
        {
            "supplement-materials": ["child_photo"],
            "supplement-deadline": timezone.localdate().isoformat(),
            "supplement-reason": "请补交",
        },
    )
    assert response.status_code == 422
    assert "补正期限应晚于今天" in response.content.decode()
    assert snapshot(submitted) == before


def test_accepting_twice_is_a_clear_conflict(client, submitted, staff):
    client.force_login(staff.acceptor["police"])
    client.post(f"/staff/intake/{submitted.receipt_no}/accept/", {"reason": ""})
    before = snapshot(submitted)
    response = client.post(f"/staff/intake/{submitted.receipt_no}/accept/", {"reason": ""})
    assert response.status_code == 409
    assert "办件当前状态不允许此操作" in response.content.decode()
    assert snapshot(submitted) == before


@pytest.mark.parametrize(
    "who, expected",
    [("anonymous", 302), ("resident", 403), ("other_acceptor", 404), ("reviewer", 404)],
)
@pytest.mark.parametrize("action", ["", "accept/", "refuse/", "supplement/"])
def test_intake_refusals_change_nothing(client, submitted, resident, staff, who, expected, action):
    users = {
        "resident": resident.user,
        "other_acceptor": staff.acceptor["health"],
        "reviewer": staff.reviewer["police"],
    }
    if who in users:
        client.force_login(users[who])
    before = snapshot(submitted)
    audits = AuditEvent.objects.count()
    url = f"/staff/intake/{submitted.receipt_no}/{action}"
    data = {
        "reason": "x",
        "supplement-reason": "x",
        "supplement-materials": ["child_photo"],
    }
    response = client.post(url, data) if action else client.get(url)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/accounts/login/")
    assert snapshot(submitted) == before
    assert AuditEvent.objects.count() == audits  # not even a read was recorded


def test_intake_queue_refuses_residents_and_reviewers(client, resident, staff):
    assert client.get("/staff/intake/").status_code == 302
    client.force_login(resident.user)
    assert client.get("/staff/intake/").status_code == 403
    client.force_login(staff.reviewer["police"])
    assert client.get("/staff/intake/").status_code == 403


# ---------------------------------------------------------------- workbench


def test_workbench_lists_only_the_department_queue_with_filters(client, accepted, staff):
    client.force_login(staff.reviewer["police"])
    response = client.get("/staff/tasks/")
    assert response.status_code == 200
    rows = response.context["page"].object_list
    assert [(r["item_code"], r["status"]) for r in rows] == [("birth_registration", "pending")]
    assert rows[0]["overdue"] is False
    # Filters are a GET form: another status, another item, an early due date.
    assert client.get("/staff/tasks/?status=approved").context["page"].object_list == []
    assert client.get("/staff/tasks/?item=birth_registration").context["page"].paginator.count == 1
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert client.get(f"/staff/tasks/?due_before={yesterday}").context["page"].paginator.count == 0
    response = client.get("/staff/tasks/?due_before=not-a-date")
    assert response.status_code == 200
    assert "请按 YYYY-MM-DD 填写日期" in response.content.decode()
    # Another department's reviewer does not see it.
    client.force_login(staff.reviewer["hrss"])
    assert client.get("/staff/tasks/").context["page"].object_list == []


def test_overdue_is_marked_in_text(client, accepted, staff):
    task = police_task(accepted)
    Task.objects.filter(pk=task.pk).update(due_date=timezone.localdate() - dt.timedelta(days=2))
    client.force_login(staff.reviewer["police"])
    body = client.get("/staff/tasks/").content.decode()
    assert "已超期" in body
    assert "已超期" in client.get(f"/staff/tasks/{task.pk}/").content.decode()


def test_workbench_is_paginated(client, resident, staff):
    for n in range(21):
        submit(ResidentProfileFactory(), key=f"p{n}", materials=birth_materials())
    client.force_login(staff.reviewer["police"])
    first = client.get("/staff/tasks/")
    assert first.context["page"].paginator.count == 21
    assert len(first.context["page"].object_list) == 20
    assert "下一页" in first.content.decode()
    assert len(client.get("/staff/tasks/?page=2").context["page"].object_list) == 1


def test_task_page_shows_only_the_item_data(client, accepted, resident, staff):
    task = police_task(accepted)
    reviewer = staff.reviewer["police"]
    client.force_login(reviewer)
    response = client.get(f"/staff/tasks/{task.pk}/")
    assert response.status_code == 200
    view = response.context["task"]
    assert sorted(view["form"]) == sorted(
        f["code"] for f in accepted.plan["fields"] if "birth_registration" in f["items"]
    )
    body = response.content.decode()
    assert f'name="row_version" value="{task.row_version}"' in body
    audit = AuditEvent.objects.get(actor=reviewer, object_id=accepted.receipt_no)
    assert audit.purpose == "审核出生登记"


def test_task_page_shows_auto_approval_rule_results(client, accepted, staff):
    vacc = Task.objects.get(case=accepted, item_code="vaccination_certificate")
    client.force_login(staff.reviewer["health"])
    response = client.get(f"/staff/tasks/{vacc.pk}/")
    assert response.status_code == 200
    assert [r["holds"] for r in response.context["task"]["review_points"]] == [True]
    body = response.content.decode()
    assert "自动审查结果" in body and "满足" in body and "系统自动办理" in body
    assert "提交审核决定" not in body  # already decided


def test_claim_then_approve(client, accepted, staff):
    task = police_task(accepted)
    reviewer = staff.reviewer["police"]
    client.force_login(reviewer)
    response = client.post(f"/staff/tasks/{task.pk}/claim/", {"row_version": task.row_version})
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.claimed_by) == ("claimed", reviewer)
    response = client.post(
        f"/staff/tasks/{task.pk}/decide/",
        {"decision": "approved", "reason": "", "row_version": task.row_version},
    )
    assert response.status_code == 302 and response["Location"] == f"/staff/tasks/{task.pk}/"
    task.refresh_from_db()
    assert (task.status, task.decided_by) == ("approved", reviewer)
    # 医保 was released and decided automatically, 社保卡 waits for its reviewer.
    statuses = dict(Task.objects.filter(case=accepted).values_list("item_code", "status"))
    assert statuses["medical_insurance_enrolment"] == "approved"
    assert statuses["social_security_card"] == "pending"
    page = client.get(response["Location"]).content.decode()
    assert "审核决定已保存。" in page and "审核通过" in page


def test_deny_requires_a_reason(client, accepted, staff):
    task = police_task(accepted)
    client.force_login(staff.reviewer["police"])
    before = snapshot(accepted)
    response = client.post(
        f"/staff/tasks/{task.pk}/decide/",
        {"decision": "denied", "reason": "", "row_version": task.row_version},
    )
    assert response.status_code == 422
    assert "不通过时请填写理由" in response.content.decode()
    assert snapshot(accepted) == before
    response = client.post(
        f"/staff/tasks/{task.pk}/decide/",
        {"decision": "denied", "reason": "出生医学证明信息不符", "row_version": task.row_version},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.reason) == ("denied", "出生医学证明信息不符")
    # Its dependants cannot be done without it.
    assert Task.objects.get(case=accepted, item_code="social_security_card").status == "denied"


def test_stale_row_version_shows_the_conflict_and_changes_nothing(client, accepted, staff):
    task = police_task(accepted)
    stale = task.row_version
    other = StaffFactory(department=task.department, role=StaffRole.REVIEWER)
    services.task_claim(reviewer=other, task_id=task.pk)
    client.force_login(staff.reviewer["police"])
    before = snapshot(accepted)
    response = client.post(
        f"/staff/tasks/{task.pk}/decide/",
        {"decision": "approved", "reason": "", "row_version": stale},
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "该任务已被他人处理，请刷新" in body
    assert "该任务已由其他审核人员认领" in body
    assert snapshot(accepted) == before
    task.refresh_from_db()
    assert (task.status, task.claimed_by) == ("claimed", other)


def test_a_decision_without_the_version_it_saw_is_refused(client, accepted, staff):
    task = police_task(accepted)
    client.force_login(staff.reviewer["police"])
    before = snapshot(accepted)
    response = client.post(f"/staff/tasks/{task.pk}/decide/", {"decision": "approved"})
    assert response.status_code == 409
    assert "该任务已被他人处理，请刷新" in response.content.decode()
    assert snapshot(accepted) == before


def test_reviewer_asks_for_a_supplement_for_their_item(client, accepted, staff):
    task = police_task(accepted)
    client.force_login(staff.reviewer["police"])
    url = f"/staff/tasks/{task.pk}/supplement/"
    before = snapshot(accepted)
    # Only this item's own materials and fields are offered; anything else changes nothing.
    foreign = "enterprise.uscc"
    response = client.post(
        url,
        {
            "supplement-fields": [foreign],
            "supplement-reason": "x",
            "supplement-row_version": task.row_version,
        },
    )
    assert response.status_code == 422
    offered = sorted(dict(response.context["supplement_form"].fields["fields"].choices))
    assert foreign not in offered
    assert offered == sorted(
        f["code"] for f in accepted.plan["fields"] if "birth_registration" in f["items"]
    )
    assert snapshot(accepted) == before
    response = client.post(
        url,
        {
            "supplement-fields": ["child.name"],
            "supplement-reason": "请核对新生儿姓名",
            "supplement-row_version": task.row_version,
        },
    )
    assert response.status_code == 302
    task.refresh_from_db()
    accepted.refresh_from_db()
    assert (task.status, accepted.status) == ("supplement_requested", "supplement_requested")
    request = SupplementRequest.objects.get(case=accepted)
    assert (request.field_codes, request.material_codes) == (["child.name"], [])


@pytest.mark.parametrize("who, expected", [("anonymous", 302), ("resident", 403), ("other", 404)])
@pytest.mark.parametrize("action", ["", "claim/", "decide/", "supplement/"])
def test_task_refusals_change_nothing(client, accepted, resident, staff, who, expected, action):
    task = police_task(accepted)
    users = {"resident": resident.user, "other": staff.reviewer["hrss"]}
    if who in users:
        client.force_login(users[who])
    before = snapshot(accepted)
    audits = AuditEvent.objects.count()
    url = f"/staff/tasks/{task.pk}/{action}"
    data = {
        "decision": "approved",
        "row_version": task.row_version,
        "supplement-fields": ["child.name"],
        "supplement-reason": "x",
        "supplement-row_version": task.row_version,
    }
    response = client.post(url, data) if action else client.get(url)
    assert response.status_code == expected
    assert snapshot(accepted) == before
    assert AuditEvent.objects.count() == audits


def test_workbench_refuses_residents_and_non_reviewers(client, resident, staff):
    assert client.get("/staff/tasks/").status_code == 302
    client.force_login(resident.user)
    assert client.get("/staff/tasks/").status_code == 403
    client.force_login(staff.acceptor["police"])
    assert client.get("/staff/tasks/").status_code == 403


def test_nonexistent_task_and_case_are_404(client, staff):
    client.force_login(staff.reviewer["police"])
    assert client.get("/staff/tasks/999999/").status_code == 404
    client.force_login(staff.acceptor["police"])
    assert client.get("/staff/intake/2611270123456/").status_code == 404
    assert client.get("/staff/intake/nonsense/").status_code == 404


# ---------------------------------------------------------------- counter


def test_counter_identifies_the_resident_by_id_number(client, resident, staff):
    client.force_login(staff.clerk)
    response = client.post("/staff/counter/", {"id_number": "123"})
    assert response.status_code == 422
    assert "身份证号码应为18位" in response.content.decode()
    response = client.post("/staff/counter/", {"id_number": "110101199003070000"})
    assert response.status_code == 422
    assert response.context["form"].errors["id_number"]
    unknown = make_id_number("310104", dt.date(1955, 5, 5), 999)
    response = client.post("/staff/counter/", {"id_number": unknown})
    # Not found is no dead end: the clerk is offered to register the resident (tested below).
    assert response.status_code == 200
    assert "未找到该身份证号码对应的居民档案" in response.content.decode()
    assert response.context["register"]["id_number"].value() == unknown
    response = client.post("/staff/counter/", {"id_number": resident.id_number.lower()})
    assert response.status_code == 302
    page = client.get("/staff/counter/")
    assert page.context["resident"]["name"] == resident.name
    assert "出生一件事" in page.content.decode()
    assert AuditEvent.objects.filter(actor=staff.clerk, data__use="counter_identify").count() == 1


def test_counter_files_with_channel_counter_and_filed_by(client, resident, staff):
    client.force_login(staff.clerk)
    client.post("/staff/counter/", {"id_number": resident.id_number})
    url = reverse("cases_staff:counter_apply", args=["bundle", "birth"])
    answers = {f"answer.{k}": v for k, v in BIRTH_ANSWERS.items()}
    response = client.get(url, {"answered": "1", **answers})
    assert response.status_code == 200
    key = response.context["idempotency_key"]
    # The form starts from what the platform holds about the resident (一人一档).
    prefilled = {f.code: f.value for f in response.context["fields"] if f.prefilled}
    assert prefilled["applicant.name"] == resident.name
    assert prefilled["applicant.id_number"] == resident.id_number
    form = {f"field.{k}": v for k, v in birth_form(resident).items()}
    data = {
        "answered": "1",
        "idempotency_key": key,
        **answers,
        **form,
        "how.birth_medical_certificate": "upload",
        "file.birth_medical_certificate": SimpleUploadedFile(
            "出生证明.pdf", PDF, content_type="application/pdf"
        ),
        "how.child_photo": "deferred",
        "delivery": "counter",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Application.objects.get()
    assert response["Location"] == f"/staff/intake/{case.receipt_no}/"
    assert (case.channel, case.filed_by, case.applicant, case.delivery) == (
        "counter",
        staff.clerk,
        resident.user,
        "counter",
    )
    assert case.status == "submitted"  # 容缺 waits for a person
    assert CaseEvent.objects.get(case=case, seq=1).actor == staff.clerk
    # A double submit of the same form is the same case.
    data["file.birth_medical_certificate"] = SimpleUploadedFile(
        "出生证明.pdf", PDF, content_type="application/pdf"
    )
    assert client.post(url, data).status_code == 302
    assert Application.objects.count() == 1


def test_counter_form_errors_are_shown_and_nothing_is_filed(client, resident, staff):
    client.force_login(staff.clerk)
    client.post("/staff/counter/", {"id_number": resident.id_number})
    url = reverse("cases_staff:counter_apply", args=["bundle", "birth"])
    answers = {f"answer.{k}": v for k, v in BIRTH_ANSWERS.items()}
    response = client.post(url, {"answered": "1", "idempotency_key": "x1", **answers})
    assert response.status_code == 422
    body = response.content.decode()
    assert "申请表填写有误" in body
    errors = {f.code: f.errors for f in response.context["fields"]}
    assert errors["child.name"] == ["请填写新生儿姓名"]
    assert "请提交出生医学证明" in body
    assert Application.objects.count() == 0


def test_counter_needs_a_clerk_and_an_identified_resident(client, resident, staff):
    url = reverse("cases_staff:counter_apply", args=["bundle", "birth"])
    assert client.get("/staff/counter/").status_code == 302
    client.force_login(resident.user)
    assert client.get("/staff/counter/").status_code == 403
    client.force_login(staff.acceptor["police"])
    assert client.get("/staff/counter/").status_code == 403
    assert client.post(url, {"answered": "1"}).status_code == 403
    client.force_login(staff.clerk)
    assert client.get(url)["Location"] == "/staff/counter/"
    assert Application.objects.count() == 0


def test_staff_home_links_to_the_pages(client, staff):
    client.force_login(staff.clerk)
    body = client.get("/staff/").content.decode()
    for path in ("/staff/intake/", "/staff/handout/", "/staff/counter/"):
        assert f'href="{path}"' in body
    # A counter clerk reviews nothing: the department queue is not offered (it would be 403).
    assert 'href="/staff/tasks/"' not in body


def _upload(case, code):
    from tongban.cases.models import MaterialSubmission

    return MaterialSubmission.objects.get(case=case, material_code=code, how="upload")


def test_a_reviewer_opens_an_uploaded_material_of_their_item_and_the_read_is_audited(
    client, accepted, staff
):
    task = police_task(accepted)
    reviewer = staff.reviewer["police"]
    client.force_login(reviewer)
    submission = _upload(accepted, "birth_medical_certificate")
    assert f"/staff/tasks/{task.pk}/materials/{submission.pk}/" in (
        client.get(f"/staff/tasks/{task.pk}/").content.decode()
    )
    before = AuditEvent.objects.count()

    response = client.get(f"/staff/tasks/{task.pk}/materials/{submission.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"].startswith("sandbox")
    audit = AuditEvent.objects.latest("pk")
    assert AuditEvent.objects.count() == before + 1
    assert (audit.actor, audit.action, audit.purpose) == (
        reviewer,
        "personal_data.read",
        "查看材料：出生医学证明（审核出生登记）",
    )


def test_materials_outside_the_reviewers_item_or_department_are_not_found(
    client, accepted, resident, staff
):
    task = police_task(accepted)
    photo = _upload(accepted, "child_photo")  # needed by the card, not by 出生登记
    certificate = _upload(accepted, "birth_medical_certificate")
    before = AuditEvent.objects.count()

    client.force_login(staff.reviewer["police"])
    assert client.get(f"/staff/tasks/{task.pk}/materials/{photo.pk}/").status_code == 404
    client.force_login(staff.reviewer["health"])
    assert client.get(f"/staff/tasks/{task.pk}/materials/{certificate.pk}/").status_code == 404
    client.force_login(resident.user)
    assert client.get(f"/staff/tasks/{task.pk}/materials/{certificate.pk}/").status_code == 403
    client.logout()
    assert client.get(f"/staff/tasks/{task.pk}/materials/{certificate.pk}/").status_code == 302
    assert AuditEvent.objects.count() == before
