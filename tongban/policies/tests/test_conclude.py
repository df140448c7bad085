"""免申即享 自动办结: a grant concludes a case of the policy's item (once per person and policy,
however many periods and runs), its certificate follows through the issuance path every
concluded case takes, each period's amount is a payment order the department pays in
batches, and a person who declines keeps what was paid and gets nothing more."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command

from tongban.accounts.models import EnterpriseMembership, StaffAssignment
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
    UserFactory,
)
from tongban.cases.errors import CaseNotFound
from tongban.cases.models import Application, CaseStatus, Channel, TaskStatus
from tongban.cases.receipt import receipt_display
from tongban.cases.selectors import case_for, cases_for_applicant
from tongban.cases.services import case_submit
from tongban.cases.services.granted import AUTOMATIC_USERNAME
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.models import Certificate
from tongban.certificates.services import certificate_types_load
from tongban.common.errors import InvalidInput
from tongban.common.models import AuditEvent
from tongban.policies import services
from tongban.policies.errors import PaymentActionRefused, PaymentNotYours
from tongban.policies.models import PaymentBatch, PolicyGrant, PolicyMatch, PolicyRun
from tongban.policies.selectors import grants_of
from tongban.policies.tests.conftest import demo_definitions

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 3)
NEXT_MONTH = dt.date(2027, 1, 4)
ALLOWANCE = "SH-MZJ-P002"  # 老年综合津贴 70–79: 免申即享, monthly, pays to 社会保障卡
CARD = "SH-MZJ-P016"  # 老年人优待卡 for local elders: 免申即享 with a certificate
KEEP = "SH-RSJ-P004"  # 稳岗返还: an enterprise's, yearly, by formula


@pytest.fixture
def catalog(tmp_path):
    folder = demo_definitions(tmp_path / "definitions", keep={ALLOWANCE, CARD, KEEP})
    catalog_load_directory(path=folder)
    certificate_types_load(directory=folder / "certificate_types")


@pytest.fixture
def elder(catalog):
    return ResidentProfileFactory(
        user=UserFactory(), name="示例老人", birth_date=dt.date(1952, 5, 1), hukou_is_local=True
    )


@pytest.fixture
def lead(catalog):
    user = UserFactory()
    StaffAssignment.objects.create(
        user=user, department=Department.objects.get(code="SH-MZJ"), role="department_lead"
    )
    return user


def _run(today, capture):
    with capture(execute=True):
        services.policy_match_run(today=today, triggered_by="test")


def test_a_grant_concludes_one_case_the_person_reads_as_theirs(
    elder, django_capture_on_commit_callbacks
):
    stranger = UserFactory()
    _run(TODAY, django_capture_on_commit_callbacks)
    grant = PolicyGrant.objects.get(policy__code=ALLOWANCE)
    case = grant.case
    assert (grant.profile_id, grant.period, grant.amount) == (elder.pk, "2026-12", Decimal("150"))
    assert (case.code, case.channel, case.status, case.outcome) == (
        "SH-MZJ-0302",
        Channel.AUTOMATIC,
        CaseStatus.ARCHIVED,
        "approved",
    )
    assert case.applicant.username == AUTOMATIC_USERNAME
    assert case.applicant.is_active is False
    assert case.applicant_profile_id == elder.pk
    assert list(case.events.values_list("action", "to_status")) == [
        ("granted_automatically", "submitted"),
        ("accepted_auto", "accepted"),
        ("task_approved", ""),
        ("concluded", "concluded"),
        ("archived", "archived"),
    ]
    task = case.tasks.get()
    assert (task.item_code, task.status, task.department.code) == (
        "SH-MZJ-0302",
        TaskStatus.APPROVED,
        "SH-MZJ",
    )
    assert task.reason == (
        "依据《示例市老年综合津贴实施办法（示例民规〔2026〕1号）》第五条，"
        "经数据比对符合条件，免申即享，由系统自动核定办结"
    )
    # Theirs to read in 我的办件, nobody else's.
    mine = [r["receipt_no"] for r in cases_for_applicant(user=elder.user)]
    assert case.receipt_no in mine
    assert case_for(user=elder.user, receipt_no=case.receipt_no) == case
    with pytest.raises(CaseNotFound):
        case_for(user=stranger, receipt_no=case.receipt_no)
    assert cases_for_applicant(user=stranger) == []
    state = grants_of(elder)[ALLOWANCE]
    assert (state.receipt_no, state.payment_label) == (case.receipt_no, "待发放")


def test_runs_again_and_next_month_keep_one_case(elder, django_capture_on_commit_callbacks):
    _run(TODAY, django_capture_on_commit_callbacks)
    _run(TODAY, django_capture_on_commit_callbacks)
    _run(NEXT_MONTH, django_capture_on_commit_callbacks)
    grants = PolicyGrant.objects.filter(policy__code=ALLOWANCE).order_by("period")
    assert [g.period for g in grants] == ["2026-12", "2027-01"]
    assert len({g.case_id for g in grants}) == 1
    assert Application.objects.filter(code="SH-MZJ-0302").count() == 1
    assert AuditEvent.objects.filter(action="case.conclude_granted").count() == 2  # 津贴, 优待卡


def test_the_card_policy_issues_the_certificate_to_the_person(transactional_db, elder):
    # Committed for real, so the issuance is queued on commit and the worker runs it.
    services.policy_match_run(today=TODAY, triggered_by="test")
    call_command("tasks_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    case = PolicyGrant.objects.get(policy__code=CARD).case
    assert case.code == "SH-MZJ-0303"
    certificate = Certificate.objects.get(type__code="senior_preferential_card")
    assert (certificate.holder_profile_id, certificate.holder_user_id) == (elder.pk, elder.user_id)
    assert certificate.source_receipt_no == case.receipt_no
    assert certificate.claims["name"] == "示例老人"
    assert certificate.claims["card_no"] == f"{case.receipt_no}-SH-MZJ-0303"
    assert "certificates_issued" in list(case.events.values_list("action", flat=True))


def test_a_person_without_an_account_gets_the_case_and_sees_it_once_they_have_one(
    catalog, django_capture_on_commit_callbacks
):
    profile = ResidentProfileFactory(user=None, birth_date=dt.date(1950, 1, 1))
    _run(TODAY, django_capture_on_commit_callbacks)
    case = PolicyGrant.objects.get(policy__code=ALLOWANCE).case
    assert case.applicant_profile_id == profile.pk
    profile.user = UserFactory()
    profile.save(update_fields=["user"])
    assert case_for(user=profile.user, receipt_no=case.receipt_no) == case


def test_nobody_can_file_through_the_automatic_channel(elder):
    with pytest.raises(InvalidInput) as raised:
        case_submit(
            applicant=elder.user, kind="item", code="SH-MZJ-0302", answers={}, form_data={},
            materials={}, idempotency_key="k1", channel=Channel.AUTOMATIC,
        )  # fmt: skip
    assert raised.value.code == "CHANNEL_INVALID"
    assert not Application.objects.exists()


def test_the_lead_pays_a_period_in_one_batch_and_confirms_it(
    elder, lead, django_capture_on_commit_callbacks
):
    other = ResidentProfileFactory(user=None, name="示例乙", birth_date=dt.date(1955, 2, 2))
    _run(TODAY, django_capture_on_commit_callbacks)
    batch = services.payment_batch_create(actor=lead, code=ALLOWANCE, period="2026-12")
    assert (batch.number, batch.count, batch.total) == (
        f"{ALLOWANCE}-2026-12-01",
        2,
        Decimal("300.00"),
    )
    assert grants_of(elder)[ALLOWANCE].payment_label == "发放中"
    with pytest.raises(PaymentActionRefused) as raised:
        services.payment_batch_create(actor=lead, code=ALLOWANCE, period="2026-12")
    assert raised.value.code == "PAYMENT_NOTHING_TO_PAY"
    assert PaymentBatch.objects.count() == 1

    name, content = services.payment_batch_file(actor=lead, code=ALLOWANCE, number=batch.number)
    assert name == f"发放清单-{ALLOWANCE}-2026-12-01.csv"
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    receipts = dict(
        PolicyGrant.objects.filter(policy__code=ALLOWANCE).values_list(
            "profile_id", "case__receipt_no"
        )
    )
    assert rows == [
        ["序号", "姓名", "公民身份号码", "发放账户", "金额（元）", "所属期", "办件编号"],
        [
            "1",
            "示例老人",
            elder.id_number,
            "本人社会保障卡",
            "150.00",
            "2026-12",
            receipts[elder.pk],
        ],
        ["2", "示例乙", other.id_number, "本人社会保障卡", "150.00", "2026-12", receipts[other.pk]],
    ]
    # Each person in the file has the read in their data-use record, with its purpose.
    reads = AuditEvent.objects.filter(action="personal_data.read", object_id=batch.number)
    assert sorted(reads.values_list("subject_resident_id", "purpose", "actor_id")) == sorted(
        [(p, services.PAYMENT_FILE_PURPOSE, lead.pk) for p in (elder.pk, other.pk)]
    )

    services.payment_batch_confirm(actor=lead, code=ALLOWANCE, number=batch.number)
    assert grants_of(elder)[ALLOWANCE].payment_label.startswith("已发放（")
    with pytest.raises(PaymentActionRefused) as raised:
        services.payment_batch_confirm(actor=lead, code=ALLOWANCE, number=batch.number)
    assert raised.value.code == "PAYMENT_BATCH_PAID"


def test_only_the_departments_lead_pays_and_nothing_happens_otherwise(
    elder, lead, django_capture_on_commit_callbacks
):
    _run(TODAY, django_capture_on_commit_callbacks)
    reviewer = UserFactory()
    StaffAssignment.objects.create(
        user=reviewer, department=Department.objects.get(code="SH-MZJ"), role="reviewer"
    )
    for actor in (reviewer, elder.user):
        with pytest.raises(PaymentNotYours):
            services.payment_batch_create(actor=actor, code=ALLOWANCE, period="2026-12")
    with pytest.raises(PaymentNotYours):  # a policy that pays nothing has no batches
        services.payment_batch_create(actor=lead, code=CARD, period="once")
    assert not PaymentBatch.objects.exists()
    assert PolicyGrant.objects.filter(batch__isnull=False).count() == 0
    batch = services.payment_batch_create(actor=lead, code=ALLOWANCE, period="2026-12")
    with pytest.raises(PaymentNotYours):
        services.payment_batch_file(actor=reviewer, code=ALLOWANCE, number=batch.number)
    with pytest.raises(PaymentNotYours):
        services.payment_batch_confirm(actor=reviewer, code=ALLOWANCE, number=batch.number)
    assert not AuditEvent.objects.filter(action="personal_data.read").exists()
    batch.refresh_from_db()
    assert batch.paid_at is None


def test_declining_keeps_what_was_paid_and_stops_later_periods(
    elder, lead, django_capture_on_commit_callbacks
):
    _run(TODAY, django_capture_on_commit_callbacks)
    services.payment_batch_create(actor=lead, code=ALLOWANCE, period="2026-12")
    services.policy_grant_decline(user=elder.user, code=ALLOWANCE)
    paid = PolicyGrant.objects.get(policy__code=ALLOWANCE)
    assert paid.status == PolicyGrant.Status.GRANTED  # in the bank's file already
    assert PolicyMatch.objects.get(policy__code=ALLOWANCE).declined_at is not None
    assert grants_of(elder)[ALLOWANCE].status == PolicyGrant.Status.DECLINED
    _run(NEXT_MONTH, django_capture_on_commit_callbacks)
    assert list(PolicyGrant.objects.filter(policy__code=ALLOWANCE).values_list("period")) == [
        ("2026-12",)
    ]


def test_an_enterprises_grant_concludes_a_case_its_members_read(
    catalog, django_capture_on_commit_callbacks
):
    rep, outsider = UserFactory(), UserFactory()
    company = EnterpriseFactory(insured_headcount=12, layoff_rate=Decimal("1.0"))
    EnterpriseMembershipFactory(
        user=rep, enterprise=company, role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    )
    _run(TODAY, django_capture_on_commit_callbacks)
    grant = PolicyGrant.objects.get(policy__code=KEEP)
    assert (grant.enterprise_id, grant.amount) == (company.pk, Decimal("7200.00"))
    case = grant.case
    assert (case.code, case.enterprise_id, case.applicant_profile_id) == (
        "SH-RSJ-0502",
        company.pk,
        None,
    )
    assert case_for(user=rep, receipt_no=case.receipt_no) == case
    with pytest.raises(CaseNotFound):
        case_for(user=outsider, receipt_no=case.receipt_no)
    assert grants_of(company)[KEEP].payment_label == "待发放"
    lead = UserFactory()
    StaffAssignment.objects.create(
        user=lead, department=Department.objects.get(code="SH-RSJ"), role="department_lead"
    )
    batch = services.payment_batch_create(actor=lead, code=KEEP, period="2026")
    _, content = services.payment_batch_file(actor=lead, code=KEEP, number=batch.number)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][1:3] == ["单位名称", "统一社会信用代码"]
    assert rows[1][1:6] == [company.name, company.uscc, "企业失业保险缴费账户", "7200.00", "2026"]
    # No one's personal data in it: one audit row for the file, none in anyone's record.
    assert AuditEvent.objects.filter(action="policies.payment_file").count() == 1
    assert not AuditEvent.objects.filter(action="personal_data.read").exists()


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_pages_show_the_case_and_the_payment_and_the_lead_pays_from_the_policy_page(
    client, elder, lead, django_capture_on_commit_callbacks
):
    _run(TODAY, django_capture_on_commit_callbacks)
    receipt = PolicyGrant.objects.get(policy__code=ALLOWANCE).case.receipt_no
    client.force_login(elder.user)
    mine = _text(client.get("/me/policies/"))
    shown = receipt_display(receipt)
    assert f'<a href="/me/cases/{receipt}/" id="granted-case-{ALLOWANCE}">{shown}</a>' in mine
    assert "（已办结）；2026年12月发放：待发放" in mine
    assert "老年综合津贴申领" in _text(client.get("/me/cases/"))
    assert client.get(f"/me/cases/{receipt}/").status_code == 200

    # Residents and reviewers get no payment section or action, and nothing happens.
    assert client.post(f"/staff/policies/{ALLOWANCE}/payments/", {"action": "create",
                       "period": "2026-12"}).status_code == 404  # fmt: skip
    client.force_login(lead)
    page = _text(client.get(f"/staff/policies/{ALLOWANCE}/"))
    assert "待遇发放（免申即享）" in page and "本人社会保障卡" in page
    assert '<th scope="row" data-label="所属期">2026年12月</th><td data-label="笔数">1</td>' in page
    assert not PaymentBatch.objects.exists()
    made = client.post(
        f"/staff/policies/{ALLOWANCE}/payments/", {"action": "create", "period": "2026-12"}
    )
    assert made.status_code == 302
    batch = PaymentBatch.objects.get()
    again = client.post(
        f"/staff/policies/{ALLOWANCE}/payments/", {"action": "create", "period": "2026-12"}
    )
    assert again.status_code == 409
    assert "该期没有待发放的金额。" in _text(again)
    download = client.get(f"/staff/policies/{ALLOWANCE}/payments/{batch.number}.csv")
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in download["Content-Disposition"]
    assert elder.id_number in download.content.decode("utf-8-sig")
    confirmed = client.post(
        f"/staff/policies/{ALLOWANCE}/payments/", {"action": "confirm", "number": batch.number}
    )
    assert confirmed.status_code == 302
    assert "已发放（" in _text(client.get(f"/staff/policies/{ALLOWANCE}/"))
    client.force_login(elder.user)
    assert "2026年12月发放：已发放（" in _text(client.get("/me/policies/"))


def test_a_run_concludes_its_days_share_and_the_next_run_the_rest(
    catalog, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "AUTOMATIC_CASES_PER_RUN", 1)
    elders = [ResidentProfileFactory(birth_date=dt.date(1950, 1, n)) for n in (1, 2)]
    _run(TODAY, django_capture_on_commit_callbacks)
    allowance = PolicyGrant.objects.filter(policy__code=ALLOWANCE).order_by("profile_id")
    assert [g.case_id is not None for g in allowance] == [True, False]
    _run(TODAY, django_capture_on_commit_callbacks)  # the same day again: the rest
    assert all(g.case_id is not None for g in allowance.all())
    assert Application.objects.filter(code="SH-MZJ-0302").count() == 2
    assert sorted(allowance.values_list("profile_id", flat=True)) == [e.pk for e in elders]


def test_concluding_an_automatic_case_does_not_match_its_holder_again(
    elder, django_capture_on_commit_callbacks
):
    _run(TODAY, django_capture_on_commit_callbacks)
    case = PolicyGrant.objects.get(policy__code=ALLOWANCE).case
    # Something a re-match would redo: the card policy's match and grant gone.
    PolicyGrant.objects.filter(policy__code=CARD).delete()
    PolicyMatch.objects.filter(policy__code=CARD).delete()
    runs = PolicyRun.objects.count()
    services.rematch_after_conclusion(case)
    assert PolicyRun.objects.count() == runs
    assert not PolicyMatch.objects.filter(policy__code=CARD).exists()
