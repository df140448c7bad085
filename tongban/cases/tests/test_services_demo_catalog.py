"""出生一件事 on the demo city's catalog: seven items, some decided automatically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.accounts.validators import make_id_number, parse_id_number
from tongban.cases import services
from tongban.cases.models import CaseEvent, Task
from tongban.cases.selectors import task_view_for_reviewer
from tongban.cases.tests.samples import sample_form, sample_uploads
from tongban.catalog.guide import bundle_questions, guide_for_bundle
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory

DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"
CHILD_ID = make_id_number("310104", dt.date(2026, 11, 20), 2)
BAD_CHECK_DIGIT = CHILD_ID[:-1] + ("0" if CHILD_ID[-1] != "0" else "1")


def test_demo_birth_bundle_seven_items(db, media):
    catalog_load_directory(path=DEMO)
    resident = ResidentProfileFactory()
    answers = {q.code: q.options[0].value for q in bundle_questions(code="birth")}
    answers["born_in_city"] = "yes"
    answers["maternity_insured"] = "yes"
    guide = guide_for_bundle(code="birth", answers=answers, applicant=resident)
    answers = guide.answers
    assert len(guide.items) == 7
    form = sample_form(guide)
    materials = sample_uploads(guide)
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
        # After 出生医学证明签发: the certificate it needs is issued there, not asked for.
        "SH-WJW-0102": "waiting",
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
                produced={"child.id_number": CHILD_ID} if t.item_code == "SH-GA-0101" else None,
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


def _submitted_birth_case(resident):
    answers = {q.code: q.options[0].value for q in bundle_questions(code="birth")}
    answers["born_in_city"] = "yes"
    answers["maternity_insured"] = "no"
    guide = guide_for_bundle(code="birth", answers=answers, applicant=resident)
    form = sample_form(guide)
    materials = sample_uploads(guide)
    case = services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=guide.answers,
        form_data=form,
        materials=materials,
        idempotency_key="produced",
    )
    acceptor = StaffFactory(
        department=Department.objects.get(code="SH-WJW"), role=StaffRole.ACCEPTOR
    )
    services.case_accept(actor=acceptor, receipt_no=case.receipt_no)
    return guide, case


def _approve(case, item_code, **kwargs):
    task = Task.objects.get(case=case, item_code=item_code)
    reviewer = StaffFactory(department=task.department, role=StaffRole.REVIEWER)
    return reviewer, services.task_decide(
        reviewer=reviewer,
        task_id=task.pk,
        decision="approved",
        reason="",
        expected_row_version=task.row_version,
        **kwargs,
    )


def test_the_childs_id_number_is_produced_by_birth_registration_not_asked(db, media):
    """出生登记 creates the child's ID number; 社保卡, 医保 and 少儿互助基金 read it from the case
    instead of asking the parent for a number the child does not have yet."""
    catalog_load_directory(path=DEMO)
    resident = ResidentProfileFactory()
    guide, case = _submitted_birth_case(resident)
    assert "child.id_number" not in {f.code for f in guide.fields}
    assert [(p.code, p.by_item, p.items) for p in guide.produced] == [
        ("child.id_number", "SH-GA-0101", ["SH-RSJ-0101", "SH-YBZX-0101", "SH-HSH-0101"])
    ]
    assert case.plan["produced"][0]["by_item"] == "SH-GA-0101"
    assert "child.id_number" not in case.form_data
    _approve(case, "SH-WJW-0101")
    ga = Task.objects.get(case=case, item_code="SH-GA-0101")
    assert ga.status == "pending"
    reviewer = StaffFactory(department=ga.department, role=StaffRole.REVIEWER)
    view = task_view_for_reviewer(user=reviewer, task_id=ga.pk)
    [offer] = view["produces"]
    assert (offer["code"], offer["label"]) == ("child.id_number", "子女公民身份号码")
    # Offered, not invented by the reviewer: the child's birth date and sex, a valid number.
    facts = parse_id_number(offer["suggested"])
    assert facts.birth_date.isoformat() == case.form_data["child.birth_date"]
    assert facts.sex == case.form_data["child.sex"]

    # Approving without the number, with a bad one, or with data it does not produce: refused,
    # and nothing changed.
    events = CaseEvent.objects.filter(case=case).count()
    for produced, field in (
        ({}, "child.id_number"),
        ({"child.id_number": BAD_CHECK_DIGIT}, "child.id_number"),
        ({"child.id_number": CHILD_ID, "child.name": "改名"}, "child.name"),
    ):
        with pytest.raises(services.CaseFormInvalid) as exc:
            services.task_decide(
                reviewer=reviewer,
                task_id=ga.pk,
                decision="approved",
                reason="",
                expected_row_version=ga.row_version,
                produced=produced,
            )
        assert field in {d["field"] for d in exc.value.details}
        ga.refresh_from_db()
        case.refresh_from_db()
        assert ga.status == "pending"
        assert "child.id_number" not in case.form_data
        assert CaseEvent.objects.filter(case=case).count() == events

    services.task_decide(
        reviewer=reviewer,
        task_id=ga.pk,
        decision="approved",
        reason="",
        expected_row_version=ga.row_version,
        produced={"child.id_number": CHILD_ID},
    )
    case.refresh_from_db()
    assert case.form_data["child.id_number"] == CHILD_ID
    approved = CaseEvent.objects.get(case=case, action="task_approved", data__item="SH-GA-0101")
    # The log names what was created, never the number itself.
    assert approved.data["produced"] == ["child.id_number"]
    assert CHILD_ID not in str(approved.data)
    rsj = Task.objects.get(case=case, item_code="SH-RSJ-0101")
    assert rsj.status == "pending"
    rsj_reviewer = StaffFactory(department=rsj.department, role=StaffRole.REVIEWER)
    rsj_view = task_view_for_reviewer(user=rsj_reviewer, task_id=rsj.pk)
    assert rsj_view["form"]["child.id_number"] == CHILD_ID
    assert rsj_view["produces"] == []


def test_a_denial_produces_nothing(db, media):
    catalog_load_directory(path=DEMO)
    resident = ResidentProfileFactory()
    _guide, case = _submitted_birth_case(resident)
    _approve(case, "SH-WJW-0101")
    ga = Task.objects.get(case=case, item_code="SH-GA-0101")
    reviewer = StaffFactory(department=ga.department, role=StaffRole.REVIEWER)
    with pytest.raises(services.InvalidInput) as exc:
        services.task_decide(
            reviewer=reviewer,
            task_id=ga.pk,
            decision="denied",
            reason="材料不符",
            expected_row_version=ga.row_version,
            produced={"child.id_number": CHILD_ID},
        )
    assert exc.value.code == "PRODUCED_INVALID"
    ga.refresh_from_db()
    assert ga.status == "pending"


def test_an_approved_deregistration_closes_the_enterprise_and_its_code(db, media):
    """企业注销登记 approved: the enterprise's 一企一档 says 注销 in that same decision, with an
    audit row naming the reviewer, and its 一企一码 is no longer issued."""
    from tongban.accounts.models import Enterprise
    from tongban.accounts.tests.factories import EnterpriseFactory
    from tongban.catalog.guide import guide_for_item, item_questions
    from tongban.common.models import AuditEvent
    from tongban.idcode.errors import EnterpriseNotActive
    from tongban.idcode.services import enterprise_idcode_issue

    catalog_load_directory(path=DEMO)
    agent = ResidentProfileFactory()
    company = EnterpriseFactory(agents=[agent.user])
    enterprise_idcode_issue(user=agent.user, enterprise_id=company.pk)  # while it exists
    answers = {q.code: q.options[0].value for q in item_questions(code="SH-SCJ-0102")}
    guide = guide_for_item(code="SH-SCJ-0102", answers=answers, applicant=agent, enterprise=company)
    case = services.case_submit(
        applicant=agent.user,
        kind="item",
        code="SH-SCJ-0102",
        answers=guide.answers,
        form_data=sample_form(guide),
        materials=sample_uploads(guide),
        idempotency_key="closing",
        enterprise=company,
    )
    market = Department.objects.get(code="SH-SCJ")
    if case.status == "submitted":
        acceptor = StaffFactory(department=market, role=StaffRole.ACCEPTOR)
        services.case_accept(actor=acceptor, receipt_no=case.receipt_no)
    task = Task.objects.get(case=case)
    reviewer = StaffFactory(department=market, role=StaffRole.REVIEWER)
    company.refresh_from_db()
    assert company.status == Enterprise.Status.ACTIVE  # nothing before the decision
    services.task_decide(
        reviewer=reviewer,
        task_id=task.pk,
        decision="approved",
        reason="",
        expected_row_version=task.row_version,
    )
    company.refresh_from_db()
    assert company.status == Enterprise.Status.DEREGISTERED
    change = AuditEvent.objects.get(action="enterprise.update", object_id=str(company.pk))
    assert change.actor_id == reviewer.pk
    with pytest.raises(EnterpriseNotActive):
        enterprise_idcode_issue(user=agent.user, enterprise_id=company.pk)


def test_an_instant_item_whose_review_points_hold_concludes_at_submission(db, media):
    """即办件: 公积金账户注销 applied for alone by the enterprise's agent is accepted and decided
    by the platform within the submission, and the guide's 当场办结 is what happens."""
    from tongban.accounts.tests.factories import EnterpriseFactory
    from tongban.catalog.guide import guide_for_item, item_questions

    catalog_load_directory(path=DEMO)
    agent = ResidentProfileFactory()
    company = EnterpriseFactory(agents=[agent.user])
    answers = {q.code: q.options[0].value for q in item_questions(code="SH-GJJ-0102")}
    guide = guide_for_item(code="SH-GJJ-0102", answers=answers, applicant=agent, enterprise=company)
    assert [i.handling for i in guide.items] == ["instant"]
    case = services.case_submit(
        applicant=agent.user,
        kind="item",
        code="SH-GJJ-0102",
        answers=guide.answers,
        form_data=sample_form(guide),
        materials=sample_uploads(guide),
        idempotency_key="instant",
        enterprise=company,
    )
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("archived", "approved")
    task = Task.objects.get(case=case)
    assert (task.status, task.decided_by_label) == ("approved", "system:auto")
    actions = list(
        CaseEvent.objects.filter(case=case).order_by("pk").values_list("action", flat=True)
    )
    assert actions[:2] == ["submitted", "accepted_auto"] and "concluded" in actions
