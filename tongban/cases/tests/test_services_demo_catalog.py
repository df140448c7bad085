"""出生一件事 on the demo city's catalog: seven items, some decided automatically."""

from __future__ import annotations

from pathlib import Path

from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.cases import services
from tongban.cases.models import Task
from tongban.cases.services import MaterialInput, Upload
from tongban.cases.tests.conftest import PDF
from tongban.catalog.guide import bundle_questions, guide_for_bundle
from tongban.catalog.models import Department
from tongban.catalog.selectors import element_definitions
from tongban.catalog.services import catalog_load_directory
from tongban.demo.form_samples import sample_value

DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"


def test_demo_birth_bundle_seven_items(db, media):
    catalog_load_directory(path=DEMO)
    resident = ResidentProfileFactory()
    answers = {q.code: q.options[0].value for q in bundle_questions(code="birth")}
    answers["born_in_city"] = "yes"
    answers["maternity_insured"] = "yes"
    guide = guide_for_bundle(code="birth", answers=answers, applicant=resident)
    answers = guide.answers
    assert len(guide.items) == 7
    elements = element_definitions([f.code for f in guide.fields])
    today = timezone.localdate()
    form = {
        f.code: sample_value(elements[f.code], n=i, today=today) for i, f in enumerate(guide.fields)
    }
    materials = {
        m.code: MaterialInput(how="upload", files=(Upload(f"{m.code}.pdf", PDF),))
        for m in guide.materials
        if not m.spared
    }
    case = services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=answers,
        form_data=form,
        materials=materials,
        idempotency_key="demo",
    )
    # Not every demo item's intake is machine-verifiable: the lead department accepts.
    assert case.status == "submitted"
    acceptor = StaffFactory(
        department=Department.objects.get(code="SH-WJW"), role=StaffRole.ACCEPTOR
    )
    services.case_accept(actor=acceptor, receipt_no=case.receipt_no)
    tasks = {t.item_code: t for t in Task.objects.filter(case=case)}
    assert {c: t.status for c, t in tasks.items()} == {
        "SH-WJW-0101": "pending",
        "SH-WJW-0102": "approved",  # review points hold: decided by system:auto
        "SH-GA-0101": "waiting",
        "SH-RSJ-0101": "waiting",
        "SH-YBZX-0101": "waiting",
        "SH-HSH-0101": "waiting",
        "SH-YBJ-0101": "waiting",
    }
    reviewers = {}
    for _round in range(7):
        open_tasks = Task.objects.filter(case=case, status="pending")
        if not open_tasks:
            break
        for t in open_tasks:
            dept = t.department
            reviewer = reviewers.setdefault(
                dept.code, StaffFactory(department=dept, role=StaffRole.REVIEWER)
            )
            services.task_decide(
                reviewer=reviewer,
                task_id=t.pk,
                decision="approved",
                reason="",
                expected_row_version=t.row_version,
            )
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("archived", "approved")
    auto = set(
        Task.objects.filter(case=case, decided_by_label="system:auto").values_list(
            "item_code", flat=True
        )
    )
    assert auto == {"SH-WJW-0102", "SH-YBZX-0101", "SH-HSH-0101"}
    # Seven items at six departments (卫健委 signs the birth certificate and the vaccination card).
    assert len({t.department_id for t in Task.objects.filter(case=case)}) == 6
