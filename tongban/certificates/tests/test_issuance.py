"""统一发证 from concluded cases on the demo catalog."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.models import Enterprise, EnterpriseMembership, ResidentProfile, StaffRole
from tongban.accounts.selectors import resident_id_number_hash
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.accounts.validators import make_credit_code, make_id_number
from tongban.cases import services
from tongban.cases.models import Application, CaseEvent, Task
from tongban.cases.tests.samples import sample_form, sample_uploads
from tongban.cases.tests.test_services_demo_catalog import DEMO, _submitted_birth_case
from tongban.catalog.guide import bundle_questions, guide_for_bundle
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.issuance import case_certificates_issue, issuance_hook
from tongban.certificates.models import Certificate
from tongban.certificates.services import certificate_types_load
from tongban.certificates.tasks import case_certificates_issue_task
from tongban.notifications.models import Notice

CHILD_ID = make_id_number("310104", dt.date(2026, 11, 20), 2)


@pytest.fixture
def demo(db, media):
    catalog_load_directory(path=DEMO)
    certificate_types_load(directory=DEMO / "certificate_types")


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


def _decide_all(case: Application, *, deny: str = "", produced: dict | None = None) -> None:
    for _round in range(8):
        open_tasks = list(Task.objects.filter(case=case, status="pending"))
        if not open_tasks:
            break
        for t in open_tasks:
            reviewer = StaffFactory(department=t.department, role=StaffRole.REVIEWER)
            denied = t.item_code == deny
            services.task_decide(
                reviewer=reviewer,
                task_id=t.pk,
                decision="denied" if denied else "approved",
                reason="材料不符" if denied else "",
                expected_row_version=t.row_version,
                produced=(produced or {}).get(t.item_code) if not denied else None,
            )
    case.refresh_from_db()
    assert case.concluded_at is not None


def test_birth_bundle_issues_to_the_child_held_by_the_guardian(demo):
    parent = ResidentProfileFactory()
    _guide, case = _submitted_birth_case(parent)
    _decide_all(case, produced={"SH-GA-0101": {"child.id_number": CHILD_ID}})

    report = case_certificates_issue(receipt_no=case.receipt_no)

    issued = Certificate.objects.filter(source_receipt_no=case.receipt_no)
    codes = sorted(issued.values_list("type__code", flat=True))
    assert "household_register_entry" in codes
    entry = issued.get(type__code="household_register_entry")
    child = ResidentProfile.objects.get(pk=entry.holder_profile_id)
    assert (child.id_number, child.user_id) == (CHILD_ID, None)
    assert entry.holder_user_id == parent.user_id
    assert entry.claims["id_number"] == CHILD_ID
    assert entry.claims["name"] == case.form_data["child.name"]
    assert entry.claims["registered_on"] == timezone.localtime(case.concluded_at).date().isoformat()
    assert len(report.issued) == issued.count()
    event = CaseEvent.objects.get(case=case, action="certificates_issued")
    assert event.actor_label == "system:issuance"
    assert sorted(c["type"] for c in event.data["certificates"]) == codes
    assert CHILD_ID not in str(event.data)  # serials and types, never claims
    assert Notice.objects.filter(recipient=parent.user, category="certificate").count() == 1

    # Again, as the worker runs it: nothing new, no second event, no second notice.
    again = case_certificates_issue_task.call(receipt_no=case.receipt_no)
    assert again == {"issued": 0, "skipped": len(report.skipped), "already": len(report.issued)}
    assert Certificate.objects.filter(source_receipt_no=case.receipt_no).count() == len(codes)
    assert CaseEvent.objects.filter(case=case, action="certificates_issued").count() == 1
    assert Notice.objects.filter(recipient=parent.user, category="certificate").count() == 1


def test_the_case_page_shows_what_was_issued(demo, client):
    parent = ResidentProfileFactory()
    _guide, case = _submitted_birth_case(parent)
    _decide_all(case, produced={"SH-GA-0101": {"child.id_number": CHILD_ID}})
    case_certificates_issue(receipt_no=case.receipt_no)
    client.force_login(parent.user)
    page = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert "已发证" in page and "户口登记信息" in page
    assert 'href="/me/certificates/"' in page
    assert CHILD_ID not in page.split("已发证", 1)[1].split("办理记录", 1)[0]


def test_a_denied_item_issues_nothing(demo):
    parent = ResidentProfileFactory()
    _guide, case = _submitted_birth_case(parent)
    _decide_all(case, deny="SH-GA-0101", produced={"SH-GA-0101": {"child.id_number": CHILD_ID}})
    case_certificates_issue(receipt_no=case.receipt_no)
    codes = set(
        Certificate.objects.filter(source_receipt_no=case.receipt_no).values_list(
            "type__code", flat=True
        )
    )
    assert "household_register_entry" not in codes
    assert not Certificate.objects.filter(issuance_key__contains=":SH-GA-0101:").exists()
    # The number was never produced, so no profile was opened for the child.
    number_hash = resident_id_number_hash(CHILD_ID)
    assert not ResidentProfile.objects.filter(id_number_hash=number_hash).exists()


def test_hook_only_queues_a_task(demo, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    parent = ResidentProfileFactory()
    _guide, case = _submitted_birth_case(parent)
    before = DBTaskResult.objects.count()
    issuance_hook(case)
    assert DBTaskResult.objects.count() == before + 1
    assert not Certificate.objects.filter(source_receipt_no=case.receipt_no).exists()


def test_enterprise_opening_creates_the_enterprise_and_its_business_license(demo):
    founder = ResidentProfileFactory()
    answers = {q.code: q.options[0].value for q in bundle_questions(code="enterprise_opening")}
    guide = guide_for_bundle(code="enterprise_opening", answers=answers, applicant=founder)
    form = sample_form(guide)
    materials = sample_uploads(guide)
    case = services.case_submit(
        applicant=founder.user,
        kind="bundle",
        code="enterprise_opening",
        answers=guide.answers,
        form_data=form,
        materials=materials,
        idempotency_key="opening",
    )
    if case.status == "submitted":
        acceptor = StaffFactory(department=case.lead_department, role=StaffRole.ACCEPTOR)
        services.case_accept(actor=acceptor, receipt_no=case.receipt_no)
    uscc = make_credit_code(region="310104", seq=987654)
    _decide_all(case, produced={"SH-SCJ-0101": {"enterprise.uscc": uscc}})

    case_certificates_issue(receipt_no=case.receipt_no)
    case_certificates_issue(receipt_no=case.receipt_no)

    enterprise = Enterprise.objects.get(uscc=uscc)
    assert enterprise.name == form["enterprise.name"]
    assert EnterpriseMembership.objects.filter(
        enterprise=enterprise, user=founder.user, role="admin", accepted_at__isnull=False
    ).exists()
    license_ = Certificate.objects.get(
        source_receipt_no=case.receipt_no, type__code="business_license"
    )
    assert license_.holder_enterprise_id == enterprise.pk
    assert license_.claims["uscc"] == uscc
    assert license_.claims["registration_authority"] == Department.objects.get(code="SH-SCJ").name


def test_an_items_certificate_exists_for_the_items_after_it(demo):
    """出生登记 approved → the child's 户口登记信息 is issued at once (not at the case's end),
    and 社会保障卡申领's reviewer sees it, verified now, where the applicant was spared it.
    The 出生医学证明, approved earlier, waits for the child's ID number and is issued with it."""
    from tongban.cases.selectors import task_view_for_reviewer

    parent = ResidentProfileFactory()
    _guide, case = _submitted_birth_case(parent)

    def decide(item_code, **produced):
        task = Task.objects.get(case=case, item_code=item_code)
        services.task_decide(
            reviewer=StaffFactory(department=task.department, role=StaffRole.REVIEWER),
            task_id=task.pk,
            decision="approved",
            reason="",
            expected_row_version=task.row_version,
            produced=produced or None,
        )

    card = Task.objects.get(case=case, item_code="SH-RSJ-0101")
    reviewer = StaffFactory(department=card.department, role=StaffRole.REVIEWER)

    def spared(code):
        view = task_view_for_reviewer(user=reviewer, task_id=card.pk)
        return next(m for m in view["spared_materials"] if m["code"] == code)

    decide("SH-WJW-0101")
    # The child has no ID number yet: nothing can be issued to them, and nothing is reported.
    report = case_certificates_issue(receipt_no=case.receipt_no)
    assert (report.issued, report.skipped) == ([], [])
    assert not CaseEvent.objects.filter(case=case, action="certificates_issued").exists()
    before = spared("child_household_register_page")
    assert (before["produced_by"], before["produced_by_name"]) == ("SH-GA-0101", "出生登记")
    assert before["certificate"] is None

    decide("SH-GA-0101", **{"child.id_number": CHILD_ID})
    case.refresh_from_db()
    assert case.concluded_at is None
    report = case_certificates_issue(receipt_no=case.receipt_no)
    # With the number: the 出生医学证明 and 预防接种证 approved before, the 户口登记信息, and
    # what 少儿住院互助基金 decided by rule once 医保参保 was (system:auto) in the same breath.
    assert sorted(c["type"] for c in report.issued) == [
        "birth_medical_certificate",
        "child_mutual_fund_enrolment",
        "household_register_entry",
        "vaccination_certificate",
    ]
    entry = Certificate.objects.get(
        source_receipt_no=case.receipt_no, type__code="household_register_entry"
    )
    shown = spared("child_household_register_page")["certificate"]
    assert (shown["serial"], shown["verified"], shown["type_name"]) == (
        entry.serial,
        True,
        entry.type.name,
    )
    assert entry.claims["id_number"] == CHILD_ID
