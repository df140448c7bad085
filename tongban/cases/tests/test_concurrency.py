"""Two reviewers deciding one task at the same moment, on real separate connections."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tongban.cases import services
from tongban.cases.errors import TaskConflict
from tongban.cases.models import Task
from tongban.cases.tests.conftest import BIRTH_ANSWERS, birth_form, birth_materials


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_exactly_one_wins(resident, staff):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers for the whole database; row locks need PostgreSQL")
    second = type(staff.reviewer["police"]).objects.get(pk=staff.reviewer["police"].pk)
    from tongban.accounts.models import StaffRole
    from tongban.accounts.tests.factories import StaffFactory

    other = StaffFactory(
        department=second.staff_assignments.first().department, role=StaffRole.REVIEWER
    )
    case = services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=birth_materials(),
        idempotency_key="race",
    )
    task = Task.objects.get(case=case, item_code="birth_registration")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(reviewer, decision):
        try:
            barrier.wait(timeout=10)
            services.task_decide(
                reviewer=reviewer,
                task_id=task.pk,
                decision=decision,
                reason="并发测试",
                expected_row_version=task.row_version,
            )
            outcomes.append(decision)
        except TaskConflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=(second, "approved")),
        threading.Thread(target=decide, args=(other, "denied")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) in (["approved", "conflict"], ["conflict", "denied"])
    task.refresh_from_db()
    assert task.status == next(o for o in outcomes if o != "conflict")
    assert (
        case.events.filter(action__in=["task_approved", "task_denied"], data__task=task.pk).count()
        == 1
    )


@pytest.mark.django_db(transaction=True)
def test_a_double_submit_racing_on_two_connections_makes_one_case(resident, staff):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    from tongban.cases.models import Application

    barrier = threading.Barrier(2)
    receipts: list[str] = []
    errors: list[BaseException] = []

    def send():
        try:
            barrier.wait(timeout=10)
            case = services.case_submit(
                applicant=resident.user,
                kind="bundle",
                code="birth",
                answers=BIRTH_ANSWERS,
                form_data=birth_form(resident),
                materials=birth_materials(),
                idempotency_key="double",
            )
            receipts.append(case.receipt_no)
        except BaseException as exc:  # reported below; a thread must not die silently
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(receipts) == 2 and receipts[0] == receipts[1]
    assert Application.objects.count() == 1
