"""告知承诺事后核查: selection, source checks, a person's verdict, the follow-up."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.certificates.models import Certificate
from tongban.commitment_checks import services
from tongban.commitment_checks.errors import (
    CheckDecided,
    CheckNotFound,
    FollowUpNotAllowed,
    FollowUpNotFound,
    NoteRequired,
    VerdictInvalid,
)
from tongban.commitment_checks.models import (
    CaseScreening,
    CommitmentCheck,
    CreditRecord,
    FollowUp,
)
from tongban.commitment_checks.tests.conftest import (
    MZJ,
    SFJ,
    concluded_case,
    issue_allowance,
)
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def _share(monkeypatch, share: float) -> None:
    real = services.item_definition

    def with_share(code, version=None):
        return real(code, version).model_copy(update={"commitment_check_share": share})

    monkeypatch.setattr(services, "item_definition", with_share)


def _sfj_case(profile, **kw):
    return concluded_case(profile, item=SFJ, material="economic_difficulty_statement", **kw)


# ---------------------------------------------------------------- the draw


def test_draw_is_fixed_by_case_and_material():
    assert services.draw("2612010000001", "premises_proof") == services.draw(
        "2612010000001", "premises_proof"
    )
    assert services.draw("2612010000001", "premises_proof") != services.draw(
        "2612010000002", "premises_proof"
    )
    assert 0 <= services.draw("x", "y") < 1


def test_draw_respects_the_share():
    receipts = [f"26120100{n:05d}" for n in range(2000)]
    assert sum(services.is_sampled(r, "m", 0.0) for r in receipts) == 0
    assert sum(services.is_sampled(r, "m", 1.0) for r in receipts) == 2000
    # sha256 is fixed, so this count is too: about a tenth, and the same on every run.
    drawn = sum(services.is_sampled(r, "m", 0.1) for r in receipts)
    assert drawn == sum(services.draw(r, "m") < 0.1 for r in receipts)
    assert 160 <= drawn <= 240


def test_item_share_defaults_to_a_tenth_and_is_bounded():
    from pydantic import ValidationError

    from tongban.catalog.schemas import ServiceItemDef

    field = ServiceItemDef.model_fields["commitment_check_share"]
    assert field.default == 0.1
    data = {
        "code": "X-1",
        "name": "示例事项",
        "type": "公共服务",
        "department": "d",
        "legal_basis": ["示例"],
        "conditions": ["示例"],
        "process": [{"step": "申请"}],
        "time_limit": {"statutory_days": 5, "promised_days": 5},
        "handling": "promised",
        "channels": ["online"],
        "visits": 0,
    }
    assert (
        ServiceItemDef.model_validate({**data, "commitment_check_share": 1}).commitment_check_share
        == 1
    )
    with pytest.raises(ValidationError):
        ServiceItemDef.model_validate({**data, "commitment_check_share": 1.5})


# ---------------------------------------------------------------- selection


def test_share_zero_selects_none(resident, monkeypatch):
    _share(monkeypatch, 0.0)
    case = _sfj_case(resident)
    assert services.commitment_checks_select(case_id=case.pk, now=NOW) == 0
    assert CommitmentCheck.objects.count() == 0
    assert CaseScreening.objects.get(case=case).selected == 0
    assert not AuditEvent.objects.filter(action="commitment_check.select").exists()


def test_share_one_selects_every_commitment_for_a_person(resident, monkeypatch):
    _share(monkeypatch, 1.0)
    case = _sfj_case(resident)
    assert services.commitment_checks_select(case_id=case.pk, now=NOW) == 1
    check = CommitmentCheck.objects.get()
    assert (check.case_id, check.material_code, check.item_code) == (
        case.pk,
        "economic_difficulty_statement",
        SFJ,
    )
    assert (check.reason, check.status, check.stage, check.source_name) == (
        "sampled",
        "pending",
        "person",
        "",
    )
    assert check.department.code == "SH-SFJ"
    assert check.commitment_text == case.materials.get().note != ""
    event = AuditEvent.objects.get(action="commitment_check.select")
    assert (event.actor_label, event.object_id) == ("system:commitment_check", case.receipt_no)


def test_a_commitment_a_source_can_answer_is_always_checked(resident, monkeypatch):
    _share(monkeypatch, 0.0)
    case = concluded_case(resident)
    assert services.commitment_checks_select(case_id=case.pk, now=NOW) == 1
    check = CommitmentCheck.objects.get()
    assert (check.reason, check.stage, check.source_name, check.next_attempt_at) == (
        "source",
        "source",
        "居民经济状况核对系统",
        NOW,
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"outcome": "denied", "task_status": "denied"},
        {"outcome": "partly_approved", "task_status": "denied"},
        {"status": "accepted", "outcome": ""},
    ],
)
def test_cases_not_concluded_with_the_item_approved_are_not_checked(resident, monkeypatch, kw):
    _share(monkeypatch, 1.0)
    case = _sfj_case(resident, **kw)
    assert services.commitment_checks_select(case_id=case.pk, now=NOW) == 0
    assert CommitmentCheck.objects.count() == 0


def test_sweep_is_idempotent(resident, monkeypatch, settings):
    _share(monkeypatch, 1.0)
    settings.TONGBAN_EXCHANGE_ENABLED = False
    first = _sfj_case(resident)
    second = concluded_case(resident)
    counts = services.commitment_checks_sweep(NOW, NOW.date())
    assert counts == {"screened": 2, "selected": 2, "verified": 0, "to_person": 0, "retry": 1}
    again = services.commitment_checks_sweep(NOW, NOW.date())
    # Nothing new to screen; the source check is not due again yet (it waits to retry).
    assert again == {"screened": 0, "selected": 0, "verified": 0, "to_person": 0, "retry": 0}
    assert sorted(CommitmentCheck.objects.values_list("case_id", flat=True)) == sorted(
        [first.pk, second.pk]
    )
    assert AuditEvent.objects.filter(action="commitment_check.select").count() == 2


def test_sweep_is_registered_with_the_maintenance_tick():
    from tongban.cases import schedule

    assert schedule._registered_sweeps["commitment_checks"] is services.commitment_checks_sweep


# ---------------------------------------------------------------- asking the source


def _source_check(profile) -> CommitmentCheck:
    case = concluded_case(profile)
    services.commitment_checks_select(case_id=case.pk, now=NOW)
    return CommitmentCheck.objects.get(case=case)


def test_source_found_is_true_without_a_person(resident, exchange):
    check = _source_check(resident)
    exchange.answers[("household_economy", resident.id_number)] = {"checked": True}
    assert services.commitment_checks_source_due(now=NOW) == {
        "verified": 1,
        "to_person": 0,
        "retry": 0,
    }
    check.refresh_from_db()
    assert (check.status, check.checked_by_id, check.checked_by_label, check.checked_at) == (
        "true",
        None,
        "system:commitment_check",
        NOW,
    )
    assert check.evidence["lookup_id"] == 1 and check.evidence["value_hash"] == "h" * 64
    assert check.evidence["found"] is True and check.evidence["source"] == "household_economy"
    (call,) = exchange.calls
    assert (call["source"], call["key"], call["elements"]) == (
        "household_economy",
        resident.id_number,
        ["checked"],
    )
    assert call["subject_profile_id"] == resident.pk
    req = call["req"]
    assert (req.department, req.item, req.receipt_no, req.legal_basis) == (
        "SH-MZJ",
        MZJ,
        check.case.receipt_no,
        "《社会救助暂行办法》（示例）",
    )
    assert req.purpose == "告知承诺事后核查：家庭收入和财产情况说明"
    assert (req.post, req.actor, req.actor_label) == (
        "示例市民政局 告知承诺核查",
        None,
        "system:commitment_check",
    )
    assert (
        AuditEvent.objects.filter(
            action="commitment_check.source_verified", object_id=str(check.pk)
        ).count()
        == 1
    )
    assert not FollowUp.objects.exists() and not Notice.objects.exists()


def test_source_without_a_record_goes_to_a_person(resident, exchange):
    check = _source_check(resident)
    assert services.commitment_checks_source_due(now=NOW)["to_person"] == 1
    check.refresh_from_db()
    # "No record" is not proof of a false commitment: still pending, now a person's turn.
    assert (check.status, check.stage) == ("pending", "person")
    assert check.last_error == "数据源未查到相关记录，请人工核查"
    assert check.evidence["found"] is False
    assert not CreditRecord.objects.exists()


def test_source_not_confirming_goes_to_a_person(resident, exchange):
    check = _source_check(resident)
    exchange.answers[("household_economy", resident.id_number)] = {"checked": False}
    services.commitment_checks_source_due(now=NOW)
    check.refresh_from_db()
    assert (check.status, check.stage, check.last_error) == (
        "pending",
        "person",
        "数据源记录未能证明承诺事项，请人工核查",
    )


def test_unavailable_source_is_retried_with_backoff(resident, exchange):
    check = _source_check(resident)
    exchange.unavailable = True
    assert services.commitment_checks_source_due(now=NOW)["retry"] == 1
    check.refresh_from_db()
    assert (check.status, check.stage, check.attempts) == ("pending", "source", 1)
    assert check.next_attempt_at == NOW + dt.timedelta(minutes=5)
    assert check.last_error == "数据源暂时无法核验，请稍后再试"
    # Not due yet: not asked again.
    assert services.commitment_checks_source_due(now=NOW + dt.timedelta(minutes=4))["retry"] == 0
    assert len(exchange.calls) == 1
    later = NOW + dt.timedelta(minutes=5)
    services.commitment_checks_source_due(now=later)
    check.refresh_from_db()
    assert (check.attempts, check.next_attempt_at) == (2, later + dt.timedelta(minutes=10))
    # Back: the next due attempt settles it.
    exchange.unavailable = False
    exchange.answers[("household_economy", resident.id_number)] = {"checked": True}
    services.commitment_checks_source_due(now=later + dt.timedelta(minutes=10))
    check.refresh_from_db()
    assert (check.status, check.attempts) == ("true", 3)


def test_source_not_registered_yet_waits(resident, exchange):
    exchange.sources.clear()
    check = _source_check(resident)
    assert services.commitment_checks_source_due(now=NOW)["retry"] == 1
    check.refresh_from_db()
    assert check.last_error == "数据源“居民经济状况核对系统”尚未接入"
    assert exchange.calls == []


def test_exchange_off_asks_nothing(resident, exchange, settings):
    settings.TONGBAN_EXCHANGE_ENABLED = False
    check = _source_check(resident)
    services.commitment_checks_source_due(now=NOW)
    check.refresh_from_db()
    assert (check.status, check.stage, check.attempts) == ("pending", "source", 1)
    assert exchange.calls == []


# ---------------------------------------------------------------- a person decides


def _person_check(profile, monkeypatch) -> CommitmentCheck:
    """A sampled 最低生活保障 commitment waiting for a person (the source never answered)."""
    check = _source_check(profile)
    CommitmentCheck.objects.filter(pk=check.pk).update(stage="person", next_attempt_at=None)
    check.refresh_from_db()
    return check


def test_false_opens_follow_up_credit_record_and_notice(resident, people, monkeypatch):
    check = _person_check(resident, monkeypatch)
    cert = issue_allowance(check.case, resident)
    services.commitment_check_decide(
        actor=people.reviewer,
        check_id=check.pk,
        verdict="false",
        note="经入户调查，申请人家庭有未申报的经营收入",
    )
    check.refresh_from_db()
    assert (check.status, check.checked_by, check.note) == (
        "false",
        people.reviewer,
        "经入户调查，申请人家庭有未申报的经营收入",
    )
    follow_up = FollowUp.objects.get()
    assert (follow_up.check_row, follow_up.status, follow_up.department.code) == (
        check,
        "open",
        "SH-MZJ",
    )
    record = CreditRecord.objects.get()
    assert (record.profile, record.enterprise, record.kind, record.case, record.department) == (
        resident,
        None,
        "commitment_false",
        check.case,
        check.department,
    )
    assert record.recorded_on == timezone.localdate()
    assert "经入户调查，申请人家庭有未申报的经营收入" in record.reason
    notice = Notice.objects.get()
    assert (notice.recipient, notice.category, notice.link) == (
        resident.user,
        "commitment_check_false",
        "/me/credit/",
    )
    assert "理由：经入户调查，申请人家庭有未申报的经营收入" in notice.body
    assert "提出异议" in notice.body and "行政复议" in notice.body
    audit = AuditEvent.objects.get(action="commitment_check.decide")
    assert (audit.actor, audit.object_id) == (people.reviewer, str(check.pk))
    assert audit.data["verdict"] == "false"
    assert audit.data["follow_up"] == follow_up.pk and audit.data["credit_record"] == record.pk
    # The result is not revoked by the verdict alone: the follow-up does it, one action.
    cert.refresh_from_db()
    assert cert.revoked_at is None
    services.followup_revoke(actor=people.lead, follow_up_id=follow_up.pk)
    cert.refresh_from_db()
    assert cert.revoked_at is not None
    assert cert.revocation_reason == (
        f"告知承诺不实（受理编号 {check.case.receipt_no}，{check.material_name}），依法撤销"
    )
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.closed_by, follow_up.revoked_serials) == (
        "closed",
        people.lead,
        [cert.serial],
    )
    assert (
        AuditEvent.objects.filter(action="certificates.revoke", object_id=cert.serial).count() == 1
    )
    assert AuditEvent.objects.filter(action="commitment_check.follow_up_close").count() == 1


def test_follow_up_without_certificates_closes(resident, people, monkeypatch):
    check = _person_check(resident, monkeypatch)
    services.commitment_check_decide(
        actor=people.lead, check_id=check.pk, verdict="false", note="承诺不实"
    )
    follow_up = services.followup_revoke(
        actor=people.issuer, follow_up_id=FollowUp.objects.get().pk
    )
    assert (follow_up.status, follow_up.revoked_serials, follow_up.note) == (
        "closed",
        [],
        "本办件未发放电子证照，无须撤销",
    )


def test_true_and_unverifiable(resident, people, monkeypatch):
    check = _person_check(resident, monkeypatch)
    services.commitment_check_decide(actor=people.reviewer, check_id=check.pk, verdict="true")
    check.refresh_from_db()
    assert (check.status, check.note) == ("true", "")
    with pytest.raises(CheckDecided):
        services.commitment_check_decide(
            actor=people.reviewer, check_id=check.pk, verdict="false", note="改主意"
        )
    other = _person_check(ResidentProfileFactory(), monkeypatch)
    with pytest.raises(NoteRequired):
        services.commitment_check_decide(
            actor=people.reviewer, check_id=other.pk, verdict="unverifiable"
        )
    services.commitment_check_decide(
        actor=people.reviewer, check_id=other.pk, verdict="unverifiable", note="申请人已迁出本市"
    )
    other.refresh_from_db()
    assert other.status == "unverifiable"
    assert not FollowUp.objects.exists() and not CreditRecord.objects.exists()
    assert not Notice.objects.exists()


def test_verdict_must_be_one_of_three(resident, people, monkeypatch):
    check = _person_check(resident, monkeypatch)
    with pytest.raises(VerdictInvalid):
        services.commitment_check_decide(
            actor=people.reviewer, check_id=check.pk, verdict="pending", note="x"
        )
    check.refresh_from_db()
    assert check.status == "pending"


def _nothing_happened(check: CommitmentCheck) -> None:
    check.refresh_from_db()
    assert (check.status, check.checked_by_id) == ("pending", None)
    assert not FollowUp.objects.exists()
    assert not CreditRecord.objects.exists()
    assert not Notice.objects.exists()
    assert not AuditEvent.objects.filter(action="commitment_check.decide").exists()


@pytest.mark.parametrize("who", ["other_reviewer", "acceptor", "issuer", "resident", "anonymous"])
def test_only_case_handling_staff_of_the_department_decide(resident, people, monkeypatch, who):
    from django.contrib.auth.models import AnonymousUser

    check = _person_check(resident, monkeypatch)
    actor = {
        "resident": resident.user,
        "anonymous": AnonymousUser(),
    }.get(who) or getattr(people, who)
    with pytest.raises(CheckNotFound):
        services.commitment_check_decide(
            actor=actor, check_id=check.pk, verdict="false", note="不实"
        )
    _nothing_happened(check)


def test_only_revokers_of_the_department_close_the_follow_up(resident, people, monkeypatch):
    check = _person_check(resident, monkeypatch)
    cert = issue_allowance(check.case, resident)
    services.commitment_check_decide(
        actor=people.reviewer, check_id=check.pk, verdict="false", note="不实"
    )
    follow_up = FollowUp.objects.get()
    with pytest.raises(FollowUpNotAllowed):
        services.followup_revoke(actor=people.reviewer, follow_up_id=follow_up.pk)
    with pytest.raises(FollowUpNotFound):
        services.followup_revoke(actor=people.other_reviewer, follow_up_id=follow_up.pk)
    with pytest.raises(FollowUpNotFound):
        services.followup_revoke(actor=resident.user, follow_up_id=follow_up.pk)
    cert.refresh_from_db()
    follow_up.refresh_from_db()
    assert cert.revoked_at is None and follow_up.status == "open"
    assert not AuditEvent.objects.filter(
        action__in=["certificates.revoke", "commitment_check.follow_up_close"]
    ).exists()


def test_enterprise_case_records_the_enterprise(resident, people, monkeypatch):
    from tongban.accounts.tests.factories import EnterpriseFactory

    enterprise = EnterpriseFactory(agents=[resident.user])
    case = concluded_case(resident, enterprise=enterprise)
    services.commitment_checks_select(case_id=case.pk, now=NOW)
    check = CommitmentCheck.objects.get()
    CommitmentCheck.objects.filter(pk=check.pk).update(stage="person")
    services.commitment_check_decide(
        actor=people.reviewer, check_id=check.pk, verdict="false", note="不实"
    )
    record = CreditRecord.objects.get()
    assert (record.profile, record.enterprise) == (None, enterprise)


def test_certificates_of_other_cases_are_untouched(resident, people, monkeypatch):
    check = _person_check(resident, monkeypatch)
    other_case = concluded_case(resident)
    mine = issue_allowance(check.case, resident)
    theirs = issue_allowance(other_case, resident)
    services.commitment_check_decide(
        actor=people.reviewer, check_id=check.pk, verdict="false", note="不实"
    )
    services.followup_revoke(actor=people.lead, follow_up_id=FollowUp.objects.get().pk)
    assert set(
        Certificate.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)
    ) == {mine.pk}
    assert theirs.pk != mine.pk
