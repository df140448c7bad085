"""The demo city, through its pages (Django test client): a 民政 reviewer (mzj_reviewer) asks
the 公安局 about the applicant of a 临时救助申请; 公安 staff (ga_acceptor) answer from their
工作台; the answer is evidence on the reviewer's task page."""

from __future__ import annotations

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from tongban.accounts.models import User
from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.assistance.models import AssistanceRequest, AssistanceStatus
from tongban.cases import services as case_services
from tongban.cases.models import Task
from tongban.cases.tests.conftest import PDF
from tongban.cases.tests.samples import sample_form, sample_uploads
from tongban.catalog.guide import guide_for_item, item_questions
from tongban.catalog.services import catalog_load_directory
from tongban.demo.accounts import ensure_demo_accounts

DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"
ITEM = "SH-MZJ-0103"  # 临时救助申请（示例）


def _mzj_case():
    resident = ResidentProfileFactory()
    answers = {q.code: q.options[0].value for q in item_questions(code=ITEM)}
    guide = guide_for_item(code=ITEM, answers=answers, applicant=resident)
    case = case_services.case_submit(
        applicant=resident.user,
        kind="item",
        code=ITEM,
        answers=guide.answers,
        form_data=sample_form(guide),
        materials=sample_uploads(guide),
        idempotency_key="assistance-demo",
    )
    if case.status == "submitted":
        case_services.case_accept(
            actor=User.objects.get(username="mzj_acceptor"), receipt_no=case.receipt_no
        )
    return resident, Task.objects.get(case=case, item_code=ITEM)


def test_a_mzj_reviewer_asks_the_police_and_reads_the_answer(client, db, media):
    catalog_load_directory(path=DEMO)
    ensure_demo_accounts()
    resident, task = _mzj_case()
    assert task.status == "pending"
    reviewer = User.objects.get(username="mzj_reviewer")
    police = User.objects.get(username="ga_acceptor")

    client.force_login(reviewer)
    page = client.get(f"/staff/tasks/{task.pk}/").content.decode()
    assert "发起行政协助" in page
    form = client.get(f"/staff/assistance/tasks/{task.pk}/new/").content.decode()
    assert '<option value="SH-GA">示例市公安局</option>' in form
    response = client.post(
        f"/staff/assistance/tasks/{task.pk}/new/",
        {
            "target_department": "SH-GA",
            "subject_role": "applicant",
            "question": "请核实申请人近一年户籍迁移情况（示例）",
            "due_days": "5",
        },
    )
    assert response.status_code == 302
    r = AssistanceRequest.objects.get()
    assert (r.requesting_department.code, r.target_department.code) == ("SH-MZJ", "SH-GA")
    assert r.requested_by_label == "示例市民政局（审核岗）"
    assert "等待行政协助" in client.get(f"/staff/tasks/{task.pk}/").content.decode()

    client.force_login(police)
    home = client.get("/staff/").content.decode()
    assert "待答复 1" in home
    inbox = client.get("/staff/assistance/").content.decode()
    assert "示例市民政局" in inbox and f'href="/staff/assistance/{r.pk}/"' in inbox
    detail = client.get(f"/staff/assistance/{r.pk}/").content.decode()
    assert resident.id_number in detail
    upload = SimpleUploadedFile("户籍证明.pdf", PDF, content_type="application/pdf")
    response = client.post(
        f"/staff/assistance/{r.pk}/answer/",
        {"answer": "经查，申请人近一年无户籍迁移记录（示例）。", "file": upload},
    )
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.status == AssistanceStatus.ANSWERED
    assert r.answered_by_label == "示例市公安局（受理岗）"
    assert "待答复" not in client.get("/staff/").content.decode()

    client.force_login(reviewer)
    page = client.get(f"/staff/tasks/{task.pk}/").content.decode()
    assert "等待行政协助" not in page
    assert "经查，申请人近一年无户籍迁移记录（示例）。" in page
    assert "示例市公安局（受理岗）" in page
    response = client.get(f"/staff/assistance/{r.pk}/file/")
    assert response.status_code == 200

    client.force_login(resident.user)
    mine = client.get(f"/me/cases/{task.case.receipt_no}/").content.decode()
    assert "向示例市公安局核实有关情况，等待答复" in mine
    assert "收到行政协助答复" in mine
    assert "户籍迁移" not in mine
