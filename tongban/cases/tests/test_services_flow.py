"""出生一件事 through the services: submit, accept, tasks, decisions, conclusion, events."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from tongban.cases import services
from tongban.cases.errors import (
    CaseFormInvalid,
    CaseNotAcceptable,
    CaseNotFound,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    NotAnAcceptor,
    TaskConflict,
    TaskNotFound,
    UploadRefused,
)
from tongban.cases.models import (
    Application,
    CaseEvent,
    MaterialSubmission,
    SupplementRequest,
    Task,
    status_from_events,
)
from tongban.cases.receipt import damm_digit, receipt_display, receipt_new, receipt_normalise
from tongban.cases.services import MaterialInput, Upload
from tongban.cases.tests.conftest import BIRTH_ANSWERS, PDF, birth_form, birth_materials
from tongban.common.errors import InvalidInput
from tongban.common.models import AuditEvent


def submit(resident, key="k1", **kwargs):
    args = {
        "applicant": resident.user,
        "kind": "bundle",
        "code": "birth",
        "answers": BIRTH_ANSWERS,
        "form_data": birth_form(resident),
        "materials": birth_materials(),
        "idempotency_key": key,
    }
    args.update(kwargs)
    return services.case_submit(**args)


def tasks_of(case):
    return {t.item_code: t for t in Task.objects.filter(case=case)}


def assert_events_fold(case):
    case.refresh_from_db()
    assert status_from_events(case.events.order_by("seq")) == case.status
    seqs = list(case.events.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_receipt_numbers_are_13_digits_with_a_check_digit_that_catches_typos():
    import datetime as dt

    number = receipt_new(on=dt.date(2026, 11, 27))
    assert len(number) == 13 and number.isdigit() and number.startswith("261127")
    assert receipt_normalise(receipt_display(number)) == number
    assert receipt_display("2611270123456") == "2611 2701 2345 6"
    body = number[:-1]
    for i in range(12):  # every single-digit error is caught
        wrong = body[:i] + str((int(body[i]) + 1) % 10) + body[i + 1 :]
        assert receipt_normalise(wrong + number[-1]) is None
    for i in range(11):  # every adjacent swap of different digits is caught
        if body[i] != body[i + 1]:
            swapped = body[:i] + body[i + 1] + body[i] + body[i + 2 :]
            assert receipt_normalise(swapped + number[-1]) is None
    assert damm_digit("572") == "4"  # the published Damm example


def test_birth_bundle_end_to_end(resident, staff):
    case = submit(resident)
    # Every intake check is machine-verifiable and nothing was deferred: accepted at once.
    assert case.status == "accepted"
    assert case.receipt_no and receipt_normalise(case.receipt_no) == case.receipt_no
    tasks = tasks_of(case)
    assert {c: (t.department.code, t.status) for c, t in tasks.items()} == {
        "birth_registration": ("police", "pending"),
        "vaccination_certificate": ("health", "approved"),
        "medical_insurance_enrolment": ("medicare", "waiting"),
        "social_security_card": ("hrss", "waiting"),
    }
    vacc = tasks["vaccination_certificate"]
    assert vacc.decided_by is None and vacc.decided_by_label == "system:auto"
    assert vacc.auto_decision["all_hold"] is True
    assert [r["holds"] for r in vacc.auto_decision["rules"]] == [True]
    assert tasks["birth_registration"].due_date is not None
    assert tasks["medical_insurance_enrolment"].due_date is None

    reg = tasks["birth_registration"]
    services.task_claim(reviewer=staff.reviewer["police"], task_id=reg.pk)
    reg.refresh_from_db()
    services.task_decide(
        reviewer=staff.reviewer["police"],
        task_id=reg.pk,
        decision="approved",
        reason="",
        expected_row_version=reg.row_version,
    )
    tasks = tasks_of(case)
    # Releasing after 出生登记: 医保 auto-approves by its review points, 社保卡 needs a person.
    assert tasks["medical_insurance_enrolment"].status == "approved"
    assert tasks["medical_insurance_enrolment"].decided_by_label == "system:auto"
    assert [r["holds"] for r in tasks["medical_insurance_enrolment"].auto_decision["rules"]] == [
        True,
        True,
    ]
    card = tasks["social_security_card"]
    assert card.status == "pending"
    assert card.auto_decision == {"rules": [], "all_hold": False}
    case.refresh_from_db()
    assert case.status == "accepted"

    calls = []
    services.register_issuance_hook(calls.append)
    try:
        services.task_decide(
            reviewer=staff.reviewer["hrss"],
            task_id=card.pk,
            decision="approved",
            reason="照片合格",
            expected_row_version=card.row_version,
        )
    finally:
        services.issuance_hooks.remove(calls.append)
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("archived", "approved")
    actions = list(case.events.order_by("seq").values_list("action", flat=True))
    assert actions[:2] == ["submitted", "accepted_auto"]
    assert actions[-2:] == ["concluded", "archived"]
    assert actions.count("task_approved") == 4
    assert_events_fold(case)


def test_issuance_hook_runs_on_commit(resident, staff, django_capture_on_commit_callbacks):
    materials = birth_materials()
    del materials["child_photo"]
    answers = {**BIRTH_ANSWERS, "want_sscard": "no"}
    del answers["card_delivery"]
    case = submit(resident, materials=materials, answers=answers)
    reg = tasks_of(case)["birth_registration"]
    seen = []
    hook = lambda c: seen.append((c.receipt_no, c.outcome))  # noqa: E731
    services.register_issuance_hook(hook)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.task_decide(
                reviewer=staff.reviewer["police"],
                task_id=reg.pk,
                decision="approved",
                reason="",
                expected_row_version=reg.row_version,
            )
    finally:
        services.issuance_hooks.remove(hook)
    assert seen == [(case.receipt_no, "approved")]


def test_an_item_with_outputs_calls_the_item_hook_before_the_case_ends(
    resident, staff, django_capture_on_commit_callbacks
):
    """出生登记 issues a certificate: its approval calls the item hooks (统一发证 item by
    item) at once, while the case is still open; the conclusion hooks wait for the end."""
    case = submit(resident)
    reg = tasks_of(case)["birth_registration"]
    items, ends = [], []
    item_hook = lambda c: items.append((c.receipt_no, c.concluded_at))  # noqa: E731
    end_hook = lambda c: ends.append(c.receipt_no)  # noqa: E731
    services.register_item_approved_hook(item_hook)
    services.register_issuance_hook(end_hook)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.task_decide(
                reviewer=staff.reviewer["police"],
                task_id=reg.pk,
                decision="approved",
                reason="",
                expected_row_version=reg.row_version,
            )
    finally:
        services.item_approved_hooks.remove(item_hook)
        services.issuance_hooks.remove(end_hook)
    assert items == [(case.receipt_no, None)]
    assert ends == []


def test_denial_of_a_prerequisite_makes_the_case_partly_approved(resident, staff):
    case = submit(resident)
    reg = tasks_of(case)["birth_registration"]
    services.task_decide(
        reviewer=staff.reviewer["police"],
        task_id=reg.pk,
        decision="denied",
        reason="父母均非本市户籍",
        expected_row_version=reg.row_version,
    )
    tasks = tasks_of(case)
    assert tasks["medical_insurance_enrolment"].status == "denied"
    assert tasks["social_security_card"].status == "denied"
    case.refresh_from_db()
    # 预防接种证 was approved automatically; the rest denied.
    assert (case.status, case.outcome) == ("archived", "partly_approved")
    assert_events_fold(case)


def test_all_denied_outcome(resident, staff):
    # Born 40 days ago: 预防接种证's 30-day review point fails, so a person decides.
    case = submit(resident, form_data=birth_form(resident, born_days_ago=40))
    tasks = tasks_of(case)
    vacc = tasks["vaccination_certificate"]
    assert vacc.status == "pending"
    assert [r["holds"] for r in vacc.auto_decision["rules"]] == [False]
    services.task_decide(
        reviewer=staff.reviewer["health"],
        task_id=vacc.pk,
        decision="denied",
        reason="超期",
        expected_row_version=vacc.row_version,
    )
    reg = tasks["birth_registration"]
    services.task_decide(
        reviewer=staff.reviewer["police"],
        task_id=reg.pk,
        decision="denied",
        reason="不符",
        expected_row_version=reg.row_version,
    )
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("archived", "denied")
    assert_events_fold(case)


def test_idempotent_double_submit_is_one_case(resident, staff):
    first = submit(resident, key="same")
    second = submit(resident, key="same")
    assert first.pk == second.pk
    assert Application.objects.count() == 1
    assert MaterialSubmission.objects.filter(how="upload").count() == 2
    with pytest.raises(IdempotencyKeyReused):
        submit(resident, key="same", delivery="post")
    with pytest.raises(IdempotencyKeyRequired):
        submit(resident, key=" ")
    assert Application.objects.count() == 1


def test_the_same_key_from_another_applicant_is_another_case(resident, other_resident, staff):
    a = submit(resident, key="same")
    b = submit(other_resident, key="same", form_data=birth_form(other_resident))
    assert a.pk != b.pk


def test_form_errors_are_all_reported_at_once(resident, staff):
    form = birth_form(resident)
    form["applicant.id_number"] = "310101199001011230"
    form["child.birth_date"] = "2026-13-01"
    form["child.sex"] = "X"
    del form["child.name"]
    form["unasked.field"] = "x"
    with pytest.raises(CaseFormInvalid) as info:
        submit(resident, form_data=form, materials={})
    fields = sorted(d["field"] for d in info.value.details)
    assert fields == sorted(
        [
            "applicant.id_number",
            "child.birth_date",
            "child.sex",
            "child.name",
            "unasked.field",
            "birth_medical_certificate",
            "child_photo",
        ]
    )
    assert info.value.code == "CASE_FORM_INVALID"
    assert Application.objects.count() == 0


@pytest.mark.parametrize(
    "upload",
    [
        Upload("evil.pdf", b"MZ\x90\x00 not a pdf"),
        Upload("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024)),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(resident, staff, upload, media):
    materials = birth_materials()
    materials["birth_medical_certificate"] = MaterialInput(how="upload", files=(upload,))
    with pytest.raises(UploadRefused) as info:
        submit(resident, materials=materials)
    assert "PDF" in info.value.details[0]["message"] or "10MB" in info.value.details[0]["message"]
    assert Application.objects.count() == 0
    assert MaterialSubmission.objects.count() == 0
    assert list(media.rglob("*.*")) == []


def test_a_failure_mid_submit_leaves_no_rows_and_no_files(resident, staff, monkeypatch, media):

    def boom(case, *, actor):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.apply, "_after_submit", boom)  # where case_submit looks it up
    with pytest.raises(RuntimeError):
        submit(resident)
    assert Application.objects.count() == 0
    assert CaseEvent.objects.count() == 0
    assert MaterialSubmission.objects.count() == 0
    assert AuditEvent.objects.filter(action="case.submit").count() == 0
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_uploads_are_stored_with_their_digest(resident, staff):
    case = submit(resident)
    m = MaterialSubmission.objects.get(case=case, material_code="birth_medical_certificate")
    assert (m.content_type, m.size) == ("application/pdf", len(PDF))
    with default_storage.open(m.file.name) as f:
        assert f.read() == PDF


def test_form_data_is_encrypted_at_rest(resident, staff):
    from django.db import connection

    case = submit(resident)
    with connection.cursor() as cur:
        cur.execute("SELECT form_data_text FROM cases_application WHERE id = %s", [case.pk])
        raw = cur.fetchone()[0]
    assert resident.id_number not in raw and "张小宝" not in raw
    case.refresh_from_db()
    assert case.form_data["child.name"] == "张小宝"


def test_stale_row_version_is_a_conflict_and_changes_nothing(resident, staff):
    case = submit(resident)
    reg = tasks_of(case)["birth_registration"]
    stale = reg.row_version
    services.task_decide(
        reviewer=staff.reviewer["police"],
        task_id=reg.pk,
        decision="approved",
        reason="",
        expected_row_version=stale,
    )
    events = CaseEvent.objects.count()
    with pytest.raises(TaskConflict) as info:
        services.task_decide(
            reviewer=staff.reviewer["police"],
            task_id=reg.pk,
            decision="denied",
            reason="迟到",
            expected_row_version=stale,
        )
    assert info.value.code == "TASK_CONFLICT" and info.value.http_status == 409
    reg.refresh_from_db()
    assert reg.status == "approved"
    assert CaseEvent.objects.count() == events


def test_reviewer_of_another_department_cannot_decide(resident, staff):
    case = submit(resident)
    reg = tasks_of(case)["birth_registration"]
    before = (reg.status, reg.row_version, CaseEvent.objects.count())
    with pytest.raises(TaskNotFound):
        services.task_decide(
            reviewer=staff.reviewer["health"],
            task_id=reg.pk,
            decision="approved",
            reason="",
            expected_row_version=reg.row_version,
        )
    with pytest.raises(TaskNotFound):
        services.task_claim(reviewer=staff.acceptor["police"], task_id=reg.pk)
    reg.refresh_from_db()
    assert (reg.status, reg.row_version, CaseEvent.objects.count()) == before


def test_deferred_material_needs_a_person_and_gets_a_due_date(resident, staff):
    case = submit(resident, materials=birth_materials(photo="deferred"))
    assert case.status == "submitted"
    assert Task.objects.filter(case=case).count() == 0
    with pytest.raises(NotAnAcceptor):
        services.case_accept(actor=staff.acceptor["health"], receipt_no=case.receipt_no)
    case.refresh_from_db()
    assert case.status == "submitted"
    services.case_accept(actor=staff.acceptor["police"], receipt_no=case.receipt_no)
    case.refresh_from_db()
    assert case.status == "accepted"
    m = MaterialSubmission.objects.get(case=case, material_code="child_photo")
    assert m.how == "deferred" and m.due_date is not None
    event = case.events.get(action="accepted_deferred")
    assert event.data == {
        "deferred": [{"material": "child_photo", "due_date": m.due_date.isoformat()}],
        "post": "department",  # the lead department's acceptor, not a hall clerk
    }
    assert Task.objects.filter(case=case).count() == 4
    with pytest.raises(CaseNotAcceptable):
        services.case_accept(actor=staff.acceptor["police"], receipt_no=case.receipt_no)


def test_not_deferrable_material_cannot_be_deferred(resident, staff):
    materials = birth_materials()
    materials["birth_medical_certificate"] = MaterialInput(how="deferred")
    with pytest.raises(CaseFormInvalid) as info:
        submit(resident, materials=materials)
    assert info.value.details == [
        {"field": "birth_medical_certificate", "message": "出生医学证明不适用容缺受理"}
    ]


def test_supplement_loop(resident, staff):
    case = submit(resident, materials=birth_materials(photo="deferred"))
    # Filed online: intake is the lead department's (a counter clerk has no part in it).
    clerk = staff.acceptor["police"]
    request = services.case_request_supplement(
        actor=clerk,
        receipt_no=case.receipt_no,
        material_codes=["child_photo"],
        field_codes=["child.name"],
        reason="请补交证件照并核对姓名",
    )
    case.refresh_from_db()
    assert case.status == "supplement_requested"
    assert (request.material_codes, request.field_codes) == (["child_photo"], ["child.name"])
    # Fields not asked for are refused, and nothing changes.
    with pytest.raises(CaseFormInvalid):
        services.case_supplement(
            applicant=resident.user,
            receipt_no=case.receipt_no,
            form_data={"child.name": "张小宝", "child.sex": "M"},
            materials={},
        )
    case.refresh_from_db()
    assert case.status == "supplement_requested"
    services.case_supplement(
        applicant=resident.user,
        receipt_no=case.receipt_no,
        form_data={"child.name": "张大宝"},
        materials={"child_photo": MaterialInput(how="upload", files=(Upload("p.pdf", PDF),))},
    )
    case.refresh_from_db()
    assert case.status == "submitted"
    assert case.form_data["child.name"] == "张大宝"
    assert case.form_data["child.sex"] == "F"
    assert MaterialSubmission.objects.get(case=case, material_code="child_photo").how == "upload"
    assert SupplementRequest.objects.get(pk=request.pk).fulfilled_at is not None
    with pytest.raises(CaseNotAcceptable):  # once
        services.case_supplement(
            applicant=resident.user,
            receipt_no=case.receipt_no,
            form_data={"child.name": "张三宝"},
            materials={},
        )
    services.case_accept(actor=clerk, receipt_no=case.receipt_no)
    case.refresh_from_db()
    assert case.status == "accepted"
    assert_events_fold(case)


def test_intake_refusal(resident, staff):
    case = submit(resident, materials=birth_materials(photo="deferred"))
    services.case_refuse_intake(
        actor=staff.acceptor["police"], receipt_no=case.receipt_no, reason="非本市户籍"
    )
    case.refresh_from_db()
    assert case.status == "refused"
    assert case.events.get(action="refused").reason == "非本市户籍"
    assert Task.objects.filter(case=case).count() == 0
    with pytest.raises(CaseNotAcceptable):
        services.case_accept(actor=staff.acceptor["police"], receipt_no=case.receipt_no)
    assert_events_fold(case)


def test_counter_clerk_files_for_a_walk_in_resident(resident, staff):
    case = submit(resident, channel="counter", filed_by=staff.clerk)
    assert (case.channel, case.filed_by, case.applicant) == ("counter", staff.clerk, resident.user)
    assert case.events.get(seq=1).actor == staff.clerk
    with pytest.raises(NotAnAcceptor):
        submit(resident, key="k2", channel="counter", filed_by=staff.reviewer["police"])


def test_status_fold_helper():
    class E:
        def __init__(self, to):
            self.to_status = to

    assert status_from_events([E("submitted"), E(""), E("accepted"), E("")]) == "accepted"
    assert status_from_events([]) == ""


def test_draft_save_and_resume(resident, staff):
    from tongban.cases.models import Draft

    draft = services.draft_save(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers={"born_in_city": "yes"},
        form_data={"child.name": "张"},
    )
    again = services.draft_save(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers={"born_in_city": "yes"},
        form_data={"child.name": "张小宝"},
    )
    assert draft.pk == again.pk and Draft.objects.count() == 1
    assert Draft.objects.get().form_data == {"child.name": "张小宝"}


def test_enterprise_opening_accepted_by_hand_with_a_commitment(resident, staff):
    from tongban.cases.tests.conftest import PDF as pdf

    case = services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="enterprise_opening",
        answers={"need_invoice": "yes"},
        form_data={
            "enterprise.name": "示例开办科技有限公司",
            "enterprise.address": "示例路1号",
            "enterprise.registered_capital": "100",
            "enterprise.uscc": "91310115000000019M",
            "applicant.name": resident.name,
            "applicant.id_number": resident.id_number,
            "applicant.phone": "13912345678",
        },
        materials={
            "articles_of_association": MaterialInput(
                how="upload", files=(Upload("章程.pdf", pdf),)
            ),
            "premises_proof": MaterialInput(how="commitment"),
            "business_licence": MaterialInput(how="upload", files=(Upload("照.pdf", pdf),)),
        },
        idempotency_key="open",
        channel="counter",
        filed_by=staff.clerk,
    )
    # The items declare no intake checks: a person accepts.
    assert case.status == "submitted"
    commitment = MaterialSubmission.objects.get(case=case, material_code="premises_proof")
    assert (commitment.how, commitment.note) == ("commitment", "本人承诺对住所享有合法使用权。")
    with pytest.raises(NotAnAcceptor):
        services.case_accept(actor=staff.acceptor["police"], receipt_no=case.receipt_no)
    services.case_accept(actor=staff.acceptor["market"], receipt_no=case.receipt_no)
    tasks = tasks_of(case)
    assert {c: (t.department.code, t.status) for c, t in tasks.items()} == {
        "enterprise_establishment": ("market", "pending"),
        "seal_engraving": ("police", "waiting"),
        "invoice_application": ("tax", "waiting"),
    }
    est = tasks["enterprise_establishment"]
    services.task_decide(
        reviewer=staff.reviewer["market"],
        task_id=est.pk,
        decision="approved",
        reason="",
        expected_row_version=est.row_version,
    )
    tasks = tasks_of(case)
    # 即办件 whose review points hold (the credit code 设立登记 has just recorded) are decided
    # by the platform the moment they become due: 当场办结.
    assert {
        c: (t.status, t.decided_by_label)
        for c, t in tasks.items()
        if c != "enterprise_establishment"
    } == {
        "seal_engraving": ("approved", "system:auto"),
        "invoice_application": ("approved", "system:auto"),
    }
    case.refresh_from_db()
    assert (case.status, case.outcome, case.channel) == ("archived", "approved", "counter")
    assert_events_fold(case)


def test_reviewer_asks_for_a_supplement_through_the_case(resident, staff):
    case = submit(resident)
    reg = tasks_of(case)["birth_registration"]
    police = staff.reviewer["police"]
    # Only what 出生登记 needs may be asked: 社保卡's photo is not this reviewer's business.
    with pytest.raises(InvalidInput):
        services.task_request_supplement(
            reviewer=police,
            task_id=reg.pk,
            material_codes=["child_photo"],
            field_codes=[],
            reason="照片",
            expected_row_version=reg.row_version,
        )
    services.task_request_supplement(
        reviewer=police,
        task_id=reg.pk,
        material_codes=[],
        field_codes=["child.name"],
        reason="姓名与出生医学证明不一致",
        expected_row_version=reg.row_version,
    )
    reg.refresh_from_db()
    case.refresh_from_db()
    assert (reg.status, case.status) == ("supplement_requested", "supplement_requested")
    services.case_supplement(
        applicant=resident.user,
        receipt_no=case.receipt_no,
        form_data={"child.name": "张小贝"},
        materials={},
    )
    reg.refresh_from_db()
    case.refresh_from_db()
    assert (reg.status, reg.claimed_by, case.status) == ("claimed", police, "accepted")
    assert case.form_data["child.name"] == "张小贝"
    services.task_decide(
        reviewer=police,
        task_id=reg.pk,
        decision="approved",
        reason="",
        expected_row_version=reg.row_version,
    )
    assert tasks_of(case)["social_security_card"].status == "pending"
    assert_events_fold(case)


def test_deferred_material_follows_after_acceptance(resident, other_resident, staff):
    case = submit(resident, materials=birth_materials(photo="deferred"))
    services.case_accept(actor=staff.acceptor["police"], receipt_no=case.receipt_no)
    photo = (Upload("p.pdf", PDF),)
    with pytest.raises(CaseNotFound):
        services.case_deferred_material_submit(
            applicant=other_resident.user,
            receipt_no=case.receipt_no,
            material_code="child_photo",
            files=list(photo),
        )
    m = services.case_deferred_material_submit(
        applicant=resident.user,
        receipt_no=case.receipt_no,
        material_code="child_photo",
        files=list(photo),
    )
    assert (m.how, m.size) == ("upload", len(PDF))
    assert case.events.filter(action="deferred_material_submitted").get().data["late"] is False
    with pytest.raises(CaseNotAcceptable):
        services.case_deferred_material_submit(
            applicant=resident.user,
            receipt_no=case.receipt_no,
            material_code="child_photo",
            files=list(photo),
        )


def test_a_submitted_application_discards_its_draft_and_a_refused_one_keeps_it(resident, staff):
    from tongban.cases.models import Draft

    services.draft_save(
        applicant=resident.user, kind="bundle", code="birth", answers=BIRTH_ANSWERS,
        form_data={"child.name": "张小宝"},
    )  # fmt: skip
    with pytest.raises(InvalidInput):
        submit(resident, form_data={})
    assert Draft.objects.filter(applicant=resident.user, code="birth").count() == 1

    submit(resident)
    assert Draft.objects.filter(applicant=resident.user).count() == 0
