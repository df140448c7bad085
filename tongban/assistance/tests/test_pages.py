"""行政协助 through the staff pages (Django test client): ask from the task page, the case
and the queue show 等待行政协助, the other department answers from its inbox, the answer is
evidence on the task page. Refusals write nothing."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from tongban.assistance.models import AssistanceRequest, AssistanceStatus
from tongban.cases.models import CaseEvent
from tongban.cases.receipt import receipt_display
from tongban.cases.tests.conftest import PDF
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice

QUESTION = "请核实申请人出生医学证明的签发记录（示例）"


def _ask(client, task, **extra):
    data = {
        "target_department": "health",
        "subject_role": "applicant",
        "question": QUESTION,
        "due_days": "5",
        **extra,
    }
    return client.post(f"/staff/assistance/tasks/{task.pk}/new/", data)


def test_ask_wait_answer_and_read_the_evidence(client, case, task, staff, resident):
    reviewer, answerer = staff.reviewer["police"], staff.acceptor["health"]
    client.force_login(reviewer)
    page = client.get(f"/staff/tasks/{task.pk}/").content.decode()
    assert "本办件尚未发起行政协助。" in page
    assert f'href="/staff/assistance/tasks/{task.pk}/new/"' in page

    form = client.get(f"/staff/assistance/tasks/{task.pk}/new/")
    assert form.status_code == 200
    body = form.content.decode()
    assert "市卫生健康委员会" in body
    assert '<option value="police">' not in body  # not one's own department
    assert f"申请人本人：{resident.name}" in body

    response = _ask(client, task, material_codes=["birth_medical_certificate"])
    assert response.status_code == 302
    assert response["Location"] == f"/staff/tasks/{task.pk}/"
    r = AssistanceRequest.objects.get()
    assert (r.target_department.code, r.due_days, r.question) == ("health", 5, QUESTION)

    page = client.get(f"/staff/tasks/{task.pk}/").content.decode()
    assert "等待行政协助" in page
    assert f"市卫生健康委员会（{r.due_date:%Y-%m-%d}前答复）" in page
    queue = client.get("/staff/tasks/").content.decode()
    assert '<strong class="tag">等待行政协助</strong>' in queue

    client.force_login(answerer)
    home = client.get("/staff/").content.decode()
    assert '<span class="tag" id="assistance-waiting-count">待答复 1</span>' in home
    inbox = client.get("/staff/assistance/")
    assert [row["id"] for row in inbox.context["inbox"]["waiting"]] == [r.pk]
    reads = AuditEvent.objects.filter(action="personal_data.read").count()
    detail = client.get(f"/staff/assistance/{r.pk}/").content.decode()
    assert resident.id_number in detail  # whom to look up, for the answerer only
    assert QUESTION in detail
    assert AuditEvent.objects.filter(action="personal_data.read").count() == reads + 1

    upload = SimpleUploadedFile("答复.pdf", PDF, content_type="application/pdf")
    response = client.post(
        f"/staff/assistance/{r.pk}/answer/", {"answer": "经核实，签发记录存在。", "file": upload}
    )
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.status == AssistanceStatus.ANSWERED
    assert r.answered_by == answerer

    client.force_login(reviewer)
    page = client.get(f"/staff/tasks/{task.pk}/").content.decode()
    assert "等待行政协助" not in page
    assert "审查依据：行政协助答复" in page
    assert "经核实，签发记录存在。" in page
    assert "市卫生健康委员会（受理岗）" in page
    assert f'href="/staff/assistance/{r.pk}/file/"' in page
    # The reviewer's detail page does not show the identifier (they have the case).
    assert resident.id_number not in client.get(f"/staff/assistance/{r.pk}/").content.decode()

    opened = AuditEvent.objects.filter(action="personal_data.read").count()
    response = client.get(f"/staff/assistance/{r.pk}/file/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Cache-Control"] == "private, no-store"
    audit = AuditEvent.objects.filter(action="personal_data.read").latest("pk")
    assert AuditEvent.objects.filter(action="personal_data.read").count() == opened + 1
    assert (audit.actor, audit.subject_resident_id) == (reviewer, resident.pk)

    # The applicant's page: the step and which department, never the question or a name.
    client.force_login(resident.user)
    mine = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert "发起行政协助" in mine
    assert "向市卫生健康委员会核实有关情况，等待答复" in mine
    assert "收到行政协助答复" in mine
    assert QUESTION not in mine and "经核实" not in mine
    assert reviewer.username not in mine and answerer.username not in mine
    assert receipt_display(case.receipt_no) in mine


def test_who_may_not_ask_gets_404_and_nothing_is_written(client, task, staff, resident):
    before = (AssistanceRequest.objects.count(), CaseEvent.objects.count(), Notice.objects.count())
    client.force_login(staff.reviewer["health"])  # another department's reviewer
    assert client.get(f"/staff/assistance/tasks/{task.pk}/new/").status_code == 404
    assert _ask(client, task, target_department="hrss").status_code == 404
    client.force_login(staff.acceptor["police"])  # the department, but not a reviewer
    assert _ask(client, task).status_code == 404
    client.force_login(resident.user)
    assert _ask(client, task).status_code == 403
    assert client.get("/staff/assistance/").status_code == 403
    client.logout()
    response = _ask(client, task)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert before == (
        AssistanceRequest.objects.count(),
        CaseEvent.objects.count(),
        Notice.objects.count(),
    )


def test_a_bad_form_is_shown_again_with_its_errors(client, task, staff):
    client.force_login(staff.reviewer["police"])
    response = _ask(client, task, due_days="30")
    assert response.status_code == 422
    assert "最多20个工作日" in response.content.decode()
    response = _ask(client, task, target_department="police")
    assert response.status_code == 422  # not offered: the choice itself is refused
    assert AssistanceRequest.objects.count() == 0


def test_the_answer_page_refuses_others_and_a_second_answer(client, task, staff):
    client.force_login(staff.reviewer["police"])
    _ask(client, task)
    r = AssistanceRequest.objects.get()
    client.force_login(staff.reviewer["market"])  # no task on this case: it does not exist
    assert client.get(f"/staff/assistance/{r.pk}/").status_code == 404
    assert client.post(f"/staff/assistance/{r.pk}/answer/", {"answer": "x"}).status_code == 404
    client.force_login(staff.reviewer["police"])  # sees the case, but may not answer
    assert client.post(f"/staff/assistance/{r.pk}/answer/", {"answer": "x"}).status_code == 403
    r.refresh_from_db()
    assert r.status == AssistanceStatus.OPEN
    client.force_login(staff.reviewer["health"])
    assert client.post(f"/staff/assistance/{r.pk}/answer/", {"answer": "已核实"}).status_code == 302
    again = client.post(f"/staff/assistance/{r.pk}/answer/", {"answer": "再次"})
    assert again.status_code == 409
    assert "该行政协助已答复或已撤回" in again.content.decode()
    r.refresh_from_db()
    assert r.answer == "已核实"


def test_the_requester_withdraws_from_the_detail_page(client, task, staff):
    client.force_login(staff.reviewer["police"])
    _ask(client, task)
    r = AssistanceRequest.objects.get()
    assert "撤回行政协助" in client.get(f"/staff/assistance/{r.pk}/").content.decode()
    response = client.post(f"/staff/assistance/{r.pk}/withdraw/", {"reason": "已无需核实"})
    assert response.status_code == 302
    r.refresh_from_db()
    assert (r.status, r.withdraw_reason) == (AssistanceStatus.WITHDRAWN, "已无需核实")
    assert "发起行政协助" in client.get(f"/staff/tasks/{task.pk}/").content.decode()
