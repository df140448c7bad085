"""The API and pages of 告知承诺事后核查: who sees and does what, and that refusals write
nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.commitment_checks import services
from tongban.commitment_checks.models import CommitmentCheck, CreditRecord, FollowUp
from tongban.commitment_checks.tests.conftest import concluded_case, issue_allowance
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def check(resident) -> CommitmentCheck:
    case = concluded_case(resident)
    services.commitment_checks_select(case_id=case.pk, now=NOW)
    row = CommitmentCheck.objects.get(case=case)
    CommitmentCheck.objects.filter(pk=row.pk).update(
        stage="person", last_error="数据源未查到相关记录，请人工核查"
    )
    row.refresh_from_db()
    return row


def _untouched(check: CommitmentCheck) -> None:
    check.refresh_from_db()
    assert check.status == "pending"
    assert not FollowUp.objects.exists() and not CreditRecord.objects.exists()
    assert not Notice.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="commitment_check.decide").exists()


# ---------------------------------------------------------------- API


def test_api_queue_and_decision(client, people, check, resident):
    cert = issue_allowance(check.case, resident)
    client.force_login(people.reviewer)
    listed = client.get("/api/v1/commitment-checks")
    assert listed.status_code == 200
    (row,) = listed.json()
    assert (row["id"], row["status"], row["stage"], row["material_code"]) == (
        check.pk,
        "pending",
        "person",
        "household_income_proof",
    )
    decided = client.post(
        f"/api/v1/commitment-checks/{check.pk}/decision",
        {"verdict": "false", "note": "有未申报收入"},
        content_type="application/json",
    )
    assert decided.status_code == 200
    body = decided.json()
    assert (body["status"], body["note"], body["follow_up"]["status"]) == (
        "false",
        "有未申报收入",
        "open",
    )
    again = client.post(
        f"/api/v1/commitment-checks/{check.pk}/decision",
        {"verdict": "true"},
        content_type="application/json",
    )
    assert (again.status_code, again.json()["code"]) == (409, "COMMITMENT_CHECK_DECIDED")
    # A reviewer may not revoke; a department lead may.
    refused = client.post(
        f"/api/v1/commitment-checks/{check.pk}/revoke", {}, content_type="application/json"
    )
    assert (refused.status_code, refused.json()["code"]) == (
        403,
        "COMMITMENT_FOLLOWUP_NOT_ALLOWED",
    )
    cert.refresh_from_db()
    assert cert.revoked_at is None
    client.force_login(people.lead)
    done = client.post(
        f"/api/v1/commitment-checks/{check.pk}/revoke",
        {"reason": "告知承诺不实，撤销低保认定"},
        content_type="application/json",
    )
    assert done.status_code == 200
    assert done.json()["follow_up"]["revoked_serials"] == [cert.serial]
    cert.refresh_from_db()
    assert cert.revocation_reason == "告知承诺不实，撤销低保认定"
    client.force_login(resident.user)
    mine = client.get("/api/v1/me/credit-records")
    assert mine.status_code == 200
    (record,) = mine.json()
    assert (record["kind"], record["receipt_no"], record["department"]) == (
        "commitment_false",
        check.case.receipt_no,
        "示例市民政局",
    )


def test_api_note_required_for_false(client, people, check):
    client.force_login(people.reviewer)
    r = client.post(
        f"/api/v1/commitment-checks/{check.pk}/decision",
        {"verdict": "false"},
        content_type="application/json",
    )
    assert (r.status_code, r.json()["code"]) == (422, "COMMITMENT_CHECK_NOTE_REQUIRED")
    _untouched(check)


@pytest.mark.parametrize(
    "who,status,code",
    [
        ("anonymous", 401, None),
        ("resident", 403, "STAFF_ONLY"),
        ("other_reviewer", 404, "COMMITMENT_CHECK_NOT_FOUND"),
        ("acceptor", 404, "COMMITMENT_CHECK_NOT_FOUND"),
    ],
)
def test_api_refusals_write_nothing(client, people, check, resident, who, status, code):
    user = {"anonymous": None, "resident": resident.user}.get(who) or getattr(people, who, None)
    if user is not None:
        client.force_login(user)
    r = client.post(
        f"/api/v1/commitment-checks/{check.pk}/decision",
        {"verdict": "false", "note": "不实"},
        content_type="application/json",
    )
    assert r.status_code == status
    if code:
        assert r.json()["code"] == code
    got = client.get(f"/api/v1/commitment-checks/{check.pk}")
    assert got.status_code == status
    listed = client.get("/api/v1/commitment-checks")
    if who in ("other_reviewer", "acceptor"):
        assert (listed.status_code, listed.json()) == (200, [])
    _untouched(check)


# ---------------------------------------------------------------- pages


def test_staff_pages_decide_and_show_the_follow_up(client, people, check):
    client.force_login(people.reviewer)
    queue = client.get("/staff/commitment-checks/")
    assert queue.status_code == 200
    assert f'href="/staff/commitment-checks/{check.pk}/"' in queue.content.decode()
    page = client.get(f"/staff/commitment-checks/{check.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'name="verdict"' in text and "数据源未查到相关记录，请人工核查" in text
    missing = client.post(f"/staff/commitment-checks/{check.pk}/decision/", {"verdict": "false"})
    assert missing.status_code == 422
    assert "请填写核查说明" in missing.content.decode()
    _untouched(check)
    done = client.post(
        f"/staff/commitment-checks/{check.pk}/decision/",
        {"verdict": "false", "note": "有未申报收入"},
    )
    assert done.status_code == 302
    after = client.get(f"/staff/commitment-checks/{check.pk}/").content.decode()
    assert 'id="follow-up"' in after and "撤销办理结果须由本部门出件人员或部门负责人操作" in after
    assert FollowUp.objects.get().status == "open"
    client.force_login(people.lead)
    lead_page = client.get(f"/staff/commitment-checks/{check.pk}/").content.decode()
    assert f'action="/staff/commitment-checks/{check.pk}/revoke/"' in lead_page
    closed = client.post(f"/staff/commitment-checks/{check.pk}/revoke/", {"reason": ""})
    assert closed.status_code == 302
    assert FollowUp.objects.get().status == "closed"


@pytest.mark.parametrize("who", ["other_reviewer", "resident"])
def test_staff_pages_are_not_found_for_others(client, people, check, resident, who):
    user = resident.user if who == "resident" else getattr(people, who)
    client.force_login(user)
    assert client.get(f"/staff/commitment-checks/{check.pk}/").status_code == 404
    posted = client.post(
        f"/staff/commitment-checks/{check.pk}/decision/", {"verdict": "false", "note": "不实"}
    )
    assert posted.status_code == 404
    if who == "resident":
        assert client.get("/staff/commitment-checks/").status_code == 404
    else:
        assert (
            f"/staff/commitment-checks/{check.pk}/"
            not in client.get("/staff/commitment-checks/").content.decode()
        )
    _untouched(check)


def test_person_reads_the_record_and_the_case_page_line(client, people, check, resident):
    client.force_login(resident.user)
    empty = client.get("/me/credit/").content.decode()
    assert 'id="no-credit-records"' in empty
    services.commitment_check_decide(
        actor=people.reviewer, check_id=check.pk, verdict="false", note="有未申报收入"
    )
    page = client.get("/me/credit/").content.decode()
    assert "告知承诺不实" in page and check.case.receipt_no in page and "有未申报收入" in page
    assert "提出异议" in page
    case_page = client.get(f"/me/cases/{check.case.receipt_no}/")
    assert case_page.status_code == 200
    assert 'id="commitment-false"' in case_page.content.decode()


def test_case_page_has_no_line_while_the_check_is_open(client, check, resident):
    client.force_login(resident.user)
    case_page = client.get(f"/me/cases/{check.case.receipt_no}/")
    assert case_page.status_code == 200
    assert 'id="commitment-false"' not in case_page.content.decode()
