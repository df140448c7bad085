"""/api/v1/staff/assistance: the same services, stable error codes, nothing written on refusal."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from tongban.assistance.models import AssistanceRequest, AssistanceStatus
from tongban.cases.models import CaseEvent
from tongban.cases.tests.conftest import PDF
from tongban.common.calendar import add_working_days
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice

URL = "/api/v1/staff/assistance"


def _create(client, task, **extra):
    body = {
        "task_id": task.pk,
        "target_department": "health",
        "subject_role": "applicant",
        "question": "请核实（示例）",
        **extra,
    }
    return client.post(URL, body, content_type="application/json")


def _nothing():
    return (AssistanceRequest.objects.count(), CaseEvent.objects.count(), Notice.objects.count())


def test_create_list_answer_through_the_api(client, case, task, staff, resident):
    client.force_login(staff.reviewer["police"])
    response = _create(client, task, due_days=3, material_codes=["birth_medical_certificate"])
    assert response.status_code == 201
    body = response.json()
    r = AssistanceRequest.objects.get()
    assert body["id"] == r.pk
    assert body["receipt_no"] == case.receipt_no
    assert body["task_id"] == task.pk
    assert body["requesting_department"] == "市公安局"
    assert body["requested_by_label"] == "市公安局（审核岗）"
    assert body["target_department"] == "health"
    assert body["subject_label"] == f"申请人本人：{resident.name}"
    assert body["materials"] == [{"code": "birth_medical_certificate", "name": "出生医学证明"}]
    assert body["due_days"] == 3
    assert body["due_date"] == add_working_days(r.created_at, 3).isoformat()
    assert (body["status"], body["status_label"], body["overdue"]) == ("open", "待答复", False)
    assert "subject_identifier" not in body  # never in the API's shape

    sent = client.get(URL, {"box": "sent"}).json()
    assert [x["id"] for x in sent] == [r.pk]
    assert client.get(URL).json() == []  # nothing asked of 公安

    assert client.get(f"{URL}/{r.pk}").json()["subject_identifier"] == ""  # not the answerer

    client.force_login(staff.reviewer["health"])
    assert [x["id"] for x in client.get(URL, {"waiting": "true"}).json()] == [r.pk]
    reads = AuditEvent.objects.filter(action="personal_data.read").count()
    assert client.get(f"{URL}/{r.pk}").json()["subject_identifier"] == resident.id_number
    assert AuditEvent.objects.filter(action="personal_data.read").count() == reads + 1
    upload = SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf")
    answered = client.post(f"{URL}/{r.pk}/answer", {"answer": "已核实", "file": upload})
    assert answered.status_code == 200
    out = answered.json()
    assert (out["status"], out["answer"], out["has_file"]) == ("answered", "已核实", True)
    assert out["answered_by_label"] == "市卫生健康委员会（审核岗）"
    assert client.get(URL, {"waiting": "true"}).json() == []
    assert AuditEvent.objects.filter(action="personal_data.read").count() == reads + 1

    again = client.post(f"{URL}/{r.pk}/answer", {"answer": "再答"})
    assert again.status_code == 409
    assert again.json()["code"] == "ASSISTANCE_CLOSED"


def test_refusals_carry_stable_codes_and_write_nothing(client, task, staff, resident):
    before = _nothing()
    client.force_login(staff.reviewer["health"])
    response = _create(client, task, target_department="hrss")
    assert (response.status_code, response.json()["code"]) == (403, "ASSISTANCE_NOT_ALLOWED")

    client.force_login(staff.reviewer["police"])
    response = _create(client, task, target_department="police")
    assert (response.status_code, response.json()["code"]) == (400, "ASSISTANCE_SAME_DEPARTMENT")
    response = _create(client, task, due_days=21)
    assert (response.status_code, response.json()["code"]) == (422, "INVALID_INPUT")
    response = _create(client, task, subject_role="mother")
    assert (response.status_code, response.json()["code"]) == (422, "ASSISTANCE_SUBJECT_UNKNOWN")
    response = _create(client, task, task_id=2**62 + 5)
    assert response.status_code == 404

    client.force_login(resident.user)
    response = _create(client, task)
    assert (response.status_code, response.json()["code"]) == (403, "STAFF_ONLY")
    client.logout()
    response = _create(client, task)
    assert (response.status_code, response.json()["code"]) == (401, "AUTHENTICATION_REQUIRED")
    assert _nothing() == before


def test_withdraw_and_who_may_answer(client, task, staff):
    client.force_login(staff.reviewer["police"])
    r_id = _create(client, task).json()["id"]
    # The requester sees the request but does not answer it.
    response = client.post(f"{URL}/{r_id}/answer", {"answer": "自问自答"})
    assert (response.status_code, response.json()["code"]) == (403, "ASSISTANCE_NOT_ALLOWED")
    client.force_login(staff.reviewer["market"])
    response = client.get(f"{URL}/{r_id}")
    assert (response.status_code, response.json()["code"]) == (404, "ASSISTANCE_NOT_FOUND")
    client.force_login(staff.acceptor["health"])
    response = client.post(f"{URL}/{r_id}/answer", {"answer": ""})
    assert (response.status_code, response.json()["code"]) == (422, "ASSISTANCE_ANSWER_REQUIRED")
    bad = SimpleUploadedFile("a.pdf", b"<html>", content_type="application/pdf")
    response = client.post(f"{URL}/{r_id}/answer", {"answer": "有", "file": bad})
    assert (response.status_code, response.json()["code"]) == (422, "ASSISTANCE_FILE_REFUSED")
    assert AssistanceRequest.objects.get().status == AssistanceStatus.OPEN

    client.force_login(staff.reviewer["police"])
    response = client.post(
        f"{URL}/{r_id}/withdraw", {"reason": "不再需要"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    response = client.post(f"{URL}/{r_id}/withdraw", content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (409, "ASSISTANCE_CLOSED")
