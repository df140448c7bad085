"""The case API: submit by multipart, read, intake, workbench, decisions, and who may do what."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tongban.accounts.tests.factories import EnterpriseFactory, ResidentProfileFactory
from tongban.cases.models import Application, CaseEvent, Task, status_from_events
from tongban.cases.services import MaterialInput, Upload
from tongban.cases.tests.conftest import BIRTH_ANSWERS, PDF, PNG, birth_form


def payload(resident, **extra):
    body = {
        "kind": "bundle",
        "code": "birth",
        "answers": BIRTH_ANSWERS,
        "form_data": birth_form(resident),
        "materials": {
            "birth_medical_certificate": {"how": "upload"},
            "child_photo": {"how": "upload"},
        },
        "delivery": "post",
    }
    body.update(extra)
    return body


def post_case(client, body, *, key="key-1", files=None):
    data = {"payload": json.dumps(body, ensure_ascii=False)}
    if files is None:
        files = {
            "material.birth_medical_certificate": SimpleUploadedFile("出生证明.pdf", PDF),
            "material.child_photo": SimpleUploadedFile("photo.png", PNG),
        }
    data.update(files)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/cases", data=data, **headers)


def test_birth_bundle_through_the_api(client, resident, staff):
    client.force_login(resident.user)
    response = post_case(client, payload(resident))
    assert response.status_code == 201, response.content
    body = response.json()
    receipt = body["receipt_no"]
    assert body["status"] == "accepted" and body["delivery"] == "post"
    assert body["receipt_display"].replace(" ", "") == receipt
    assert [(t["item_code"], t["department_name"], t["status"]) for t in body["tasks"]] == [
        ("birth_registration", "市公安局", "pending"),
        ("vaccination_certificate", "市卫生健康委员会", "approved"),
        ("medical_insurance_enrolment", "市医疗保障局", "waiting"),
        ("social_security_card", "市人力资源和社会保障局", "waiting"),
    ]
    assert [e["action"] for e in body["events"]][:2] == ["submitted", "accepted_auto"]

    # Same key again: the same case, no second row.
    again = post_case(client, payload(resident))
    assert again.status_code == 201 and again.json()["receipt_no"] == receipt
    assert Application.objects.count() == 1
    assert client.get("/api/v1/me/cases").json()[0]["receipt_no"] == receipt

    police = staff.reviewer["police"]
    client.force_login(police)
    queue = client.get("/api/v1/workbench/tasks").json()
    assert [t["item_code"] for t in queue] == ["birth_registration"]
    task = queue[0]
    detail = client.get(f"/api/v1/workbench/tasks/{task['id']}").json()
    # Data minimisation: 出生登记 needs these elements, and only its own materials.
    assert sorted(detail["form"]) == [
        "applicant.id_number",
        "applicant.name",
        "applicant.phone",
        "child.birth_date",
        "child.name",
        "child.sex",
        "marriage.certificate_no",
    ]
    assert [m["code"] for m in detail["materials"]] == ["birth_medical_certificate"]
    claimed = client.post(
        f"/api/v1/workbench/tasks/{task['id']}/claim", content_type="application/json"
    )
    assert claimed.status_code == 200 and claimed.json()["status"] == "claimed"
    decided = client.post(
        f"/api/v1/workbench/tasks/{task['id']}/decision",
        data={"decision": "approved", "reason": "", "row_version": claimed.json()["row_version"]},
        content_type="application/json",
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"

    hrss = staff.reviewer["hrss"]
    client.force_login(hrss)
    card = client.get("/api/v1/workbench/tasks").json()[0]
    assert card["item_code"] == "social_security_card" and card["due_date"]
    hrss_view = client.get(f"/api/v1/workbench/tasks/{card['id']}").json()
    assert sorted(hrss_view["form"]) == ["applicant.name", "applicant.phone", "child.name"]
    assert [m["code"] for m in hrss_view["materials"]] == ["child_photo"]
    client.post(
        f"/api/v1/workbench/tasks/{card['id']}/decision",
        data={"decision": "approved", "reason": "ok", "row_version": card["row_version"]},
        content_type="application/json",
    )
    client.force_login(resident.user)
    final = client.get(f"/api/v1/cases/{receipt}").json()
    # Delivered by post: concluded, and the file stays open until the window posts it.
    assert (final["status"], final["outcome"]) == ("concluded", "approved")
    assert final["handout"] == {"done": False, "label": "待邮寄", "at": None, "note": "",
                                "hall": ""}  # fmt: skip
    assert all(t["status"] == "approved" for t in final["tasks"])
    assert sum(t["automatic"] for t in final["tasks"]) == 2
    # Filed online, so an issuer of any hall posts it (统一窗口出件).
    client.force_login(staff.other_issuer)
    assert [r["receipt_no"] for r in client.get("/api/v1/handout/cases").json()] == [receipt]
    posted = client.post(
        f"/api/v1/cases/{receipt}/handout",
        data={"note": "SF1234567890"},
        content_type="application/json",
    )
    assert posted.status_code == 200, posted.content
    assert (posted.json()["status"], posted.json()["handout"]["label"]) == ("archived", "已寄出")
    case = Application.objects.get()
    assert status_from_events(case.events.order_by("seq")) == case.status == "archived"
    assert (case.handed_out_by, case.handout_note) == (staff.other_issuer, "SF1234567890")


def test_missing_idempotency_key_is_400(client, resident, staff):
    client.force_login(resident.user)
    response = post_case(client, payload(resident), key=None)
    assert response.status_code == 400
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert Application.objects.count() == 0


def test_reused_key_with_other_payload_is_409(client, resident, staff):
    client.force_login(resident.user)
    assert post_case(client, payload(resident)).status_code == 201
    response = post_case(client, payload(resident, delivery="online"))
    assert response.status_code == 409 and response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Application.objects.count() == 1


def test_upload_by_name_only_is_refused(client, resident, staff, media):
    client.force_login(resident.user)
    files = {
        "material.birth_medical_certificate": SimpleUploadedFile("a.pdf", b"<html>not pdf</html>"),
        "material.child_photo": SimpleUploadedFile("photo.png", PNG),
    }
    response = post_case(client, payload(resident), files=files)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "UPLOAD_REFUSED"
    assert body["details"] == [
        {"field": "birth_medical_certificate", "message": "文件“a.pdf”不是PDF、JPG或PNG格式"}
    ]
    assert Application.objects.count() == 0
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_form_errors_come_back_per_field(client, resident, staff):
    client.force_login(resident.user)
    form = birth_form(resident)
    form["applicant.phone"] = "12345"
    response = post_case(client, payload(resident, form_data=form))
    assert response.status_code == 422
    assert response.json()["details"] == [
        {"field": "applicant.phone", "message": "联系电话：请填写11位手机号码或带区号的固定电话"}
    ]


def _case(resident):
    from tongban.cases.tests.conftest import birth_case

    return birth_case(resident, key="m")


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("applicant", 200),
        ("other_resident", 404),
        ("agent_of_other_enterprise", 404),
        ("reviewer_other_department", 404),
        ("reviewer_department", 200),
        ("acceptor_lead_department", 200),
        ("acceptor_other_department", 404),
    ],
)
def test_case_read_matrix(client, resident, staff, who, status):
    case = _case(resident)
    if who == "applicant":
        client.force_login(resident.user)
    elif who == "other_resident":
        client.force_login(ResidentProfileFactory().user)
    elif who == "agent_of_other_enterprise":
        agent = ResidentProfileFactory().user
        EnterpriseFactory(agents=[agent])
        client.force_login(agent)
    elif who == "reviewer_other_department":
        client.force_login(staff.reviewer["market"])
    elif who == "reviewer_department":
        client.force_login(staff.reviewer["health"])
    elif who == "acceptor_lead_department":
        client.force_login(staff.acceptor["police"])
    elif who == "acceptor_other_department":
        client.force_login(staff.acceptor["hrss"])
    response = client.get(f"/api/v1/cases/{case.receipt_no}")
    assert response.status_code == status
    if status == 404:
        assert response.json()["code"] == "CASE_NOT_FOUND"
    # A case that does not exist answers exactly the same.
    if status != 200:
        assert client.get("/api/v1/cases/2611270000000").status_code == status


def test_enterprise_agent_sees_their_enterprise_case(client, staff, catalog):
    from tongban.cases import services

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
    assert client.get(f"/api/v1/cases/{case.receipt_no}").status_code == 200
    assert [c["receipt_no"] for c in client.get("/api/v1/me/cases").json()] == [case.receipt_no]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("applicant", 403),  # STAFF_ONLY: residents never reach the workbench
        ("other_resident", 403),
        ("agent_of_other_enterprise", 403),
        ("reviewer_other_department", 404),
        ("acceptor_of_the_department", 404),
        ("reviewer_department", 200),
    ],
)
def test_task_decision_matrix(client, resident, staff, who, status):
    case = _case(resident)
    task = Task.objects.get(case=case, item_code="birth_registration")
    users = {
        "applicant": resident.user,
        "other_resident": ResidentProfileFactory().user,
        "reviewer_other_department": staff.reviewer["health"],
        "acceptor_of_the_department": staff.acceptor["police"],
        "reviewer_department": staff.reviewer["police"],
    }
    if who == "agent_of_other_enterprise":
        users[who] = ResidentProfileFactory().user
        EnterpriseFactory(agents=[users[who]])
    if who != "anonymous":
        client.force_login(users[who])
    events = CaseEvent.objects.count()
    response = client.post(
        f"/api/v1/workbench/tasks/{task.pk}/decision",
        data={"decision": "denied", "reason": "不符合条件", "row_version": task.row_version},
        content_type="application/json",
    )
    assert response.status_code == status
    task.refresh_from_db()
    if status == 200:
        assert task.status == "denied"
        assert CaseEvent.objects.count() > events
    else:
        assert task.status == "pending" and task.decided_by is None
        assert CaseEvent.objects.count() == events


def test_stale_decision_by_api_is_409(client, resident, staff):
    case = _case(resident)
    task = Task.objects.get(case=case, item_code="birth_registration")
    client.force_login(staff.reviewer["police"])
    url = f"/api/v1/workbench/tasks/{task.pk}/decision"
    body = {"decision": "approved", "reason": "", "row_version": task.row_version}
    assert client.post(url, data=body, content_type="application/json").status_code == 200
    second = client.post(
        url, data={**body, "decision": "denied", "reason": "x"}, content_type="application/json"
    )
    assert second.status_code == 409 and second.json()["code"] == "TASK_CONFLICT"


def test_supplement_and_refusal_by_api(client, resident, staff):
    from tongban.cases import services
    from tongban.cases.tests.conftest import birth_materials

    case = services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=birth_materials(photo="deferred"),
        idempotency_key="s",
    )
    url = f"/api/v1/cases/{case.receipt_no}"
    # The applicant cannot accept their own case; nothing changes.
    client.force_login(resident.user)
    assert client.post(f"{url}/accept", content_type="application/json").status_code == 403
    client.force_login(staff.acceptor["police"])
    response = client.post(
        f"{url}/supplement-request",
        data={"materials": ["child_photo"], "fields": [], "reason": "请上传证件照"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "supplement_requested"
    assert response.json()["supplement"]["materials"] == ["child_photo"]
    client.force_login(resident.user)
    response = client.post(
        f"{url}/supplement",
        data={
            "payload": json.dumps({"materials": {"child_photo": {"how": "upload"}}}),
            "material.child_photo": SimpleUploadedFile("p.jpg", b"\xff\xd8\xff\xe0" + b"0" * 32),
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted"
    client.force_login(staff.acceptor["police"])
    response = client.post(
        f"{url}/refuse", data={"reason": "材料不实"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["status"] == "refused"
    assert response.json()["events"][-1]["reason"] == "材料不实"


def test_prefill_comes_from_the_applicants_own_profile(client, resident, staff):
    client.force_login(resident.user)
    response = client.post(
        "/api/v1/me/form-prefill",
        data={"kind": "bundle", "code": "birth", "answers": BIRTH_ANSWERS},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "applicant.name": resident.name,
        "applicant.id_number": resident.id_number,
        "applicant.phone": resident.phone,
    }


def test_drafts_are_saved_and_resumed_only_by_their_owner(client, resident, other_resident, staff):
    client.force_login(resident.user)
    body = {
        "kind": "bundle",
        "code": "birth",
        "answers": {"born_in_city": "yes"},
        "form_data": {"child.name": "张小宝"},
    }
    assert (
        client.put("/api/v1/me/drafts", data=body, content_type="application/json").status_code
        == 200
    )
    got = client.get("/api/v1/me/drafts/bundle/birth").json()
    assert (got["answers"], got["form_data"]) == ({"born_in_city": "yes"}, {"child.name": "张小宝"})
    client.force_login(other_resident.user)
    assert client.get("/api/v1/me/drafts/bundle/birth").status_code == 404


def test_workbench_queries_stay_flat_with_more_cases(
    client, resident, staff, django_assert_max_num_queries
):
    from tongban.cases import services
    from tongban.cases.tests.conftest import birth_materials

    for i in range(3):
        services.case_submit(
            applicant=resident.user,
            kind="bundle",
            code="birth",
            answers=BIRTH_ANSWERS,
            form_data=birth_form(resident),
            materials=birth_materials(),
            idempotency_key=f"w{i}",
            acknowledge_duplicate=True,  # the same child on purpose: a queue of many
        )
    client.force_login(staff.reviewer["police"])
    # The day's first request also notes who was active (tongban.metrics: once a day, not
    # per request); it is made first so the count below is the queue's own.
    client.get("/api/v1/workbench/tasks")
    # One of these is the endpoint's staff check (StaffSessionAuth); the count stays flat.
    with django_assert_max_num_queries(7) as few:
        assert len(client.get("/api/v1/workbench/tasks").json()) == 3
    for i in range(3, 9):
        services.case_submit(
            applicant=resident.user,
            kind="bundle",
            code="birth",
            answers=BIRTH_ANSWERS,
            form_data=birth_form(resident),
            materials=birth_materials(),
            idempotency_key=f"w{i}",
            acknowledge_duplicate=True,  # the same child on purpose: a queue of many
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/api/v1/workbench/tasks").json()) == 9
    # Filters: by item and by due date.
    assert client.get("/api/v1/workbench/tasks", {"item": "social_security_card"}).json() == []
    assert client.get("/api/v1/workbench/tasks", {"due_before": "2000-01-01"}).json() == []


def test_counter_clerk_files_by_api_for_a_resident_identified_at_the_counter(
    client, resident, staff
):
    client.force_login(staff.clerk)
    response = post_case(client, payload(resident, resident_id_number=resident.id_number))
    assert response.status_code == 201, response.content
    case = Application.objects.get()
    assert (case.channel, case.filed_by, case.applicant) == ("counter", staff.clerk, resident.user)
    # A reviewer is no counter clerk: refused, nothing written.
    client.force_login(staff.reviewer["police"])
    response = post_case(
        client, payload(resident, resident_id_number=resident.id_number), key="key-2"
    )
    assert response.status_code == 403
    assert Application.objects.count() == 1


def test_a_resident_is_refused_the_queue_that_holds_their_own_task(client, resident, staff):
    client.force_login(resident.user)
    receipt = post_case(client, payload(resident)).json()["receipt_no"]
    task = Task.objects.get(case__receipt_no=receipt, item_code="birth_registration")
    before = (task.status, task.row_version, task.claimed_by_id)
    assert before[0] == "pending"
    events = CaseEvent.objects.count()
    refused = {"code": "STAFF_ONLY", "message": "仅限工作人员访问"}
    for method, url in (
        ("get", "/api/v1/workbench/tasks"),
        ("get", "/api/v1/handout/cases"),
        ("get", f"/api/v1/workbench/tasks/{task.pk}"),
        ("post", f"/api/v1/workbench/tasks/{task.pk}/claim"),
        ("post", f"/api/v1/cases/{receipt}/accept"),
    ):
        response = getattr(client, method)(url, content_type="application/json")
        assert (response.status_code, response.json()) == (403, refused), url
    task.refresh_from_db()
    assert (task.status, task.row_version, task.claimed_by_id) == before
    assert CaseEvent.objects.count() == events
    client.force_login(staff.reviewer["police"])
    assert [t["id"] for t in client.get("/api/v1/workbench/tasks").json()] == [task.pk]
