"""已超期 on the workbench: reviewers and 部门负责人 see their department's overdue tasks;
a lead reads the queue and works nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.cases import selectors, services
from tongban.cases.errors import TaskNotFound
from tongban.cases.models import MaterialSubmission, Task
from tongban.cases.tests.conftest import BIRTH_ANSWERS, birth_form, birth_materials
from tongban.catalog.models import Department


def _submit(resident, key, materials=None):
    return services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=materials or birth_materials(),
        idempotency_key=key,
        acknowledge_duplicate=True,  # resident applies twice for the same child on purpose
    )


@pytest.fixture
def queue(resident, other_resident, staff):
    """Three police tasks: one overdue, one due today, one overdue but already decided."""
    today = timezone.localdate()
    tasks = []
    for person, key in ((resident, "a"), (other_resident, "b"), (resident, "c")):
        case = _submit(person, key)
        tasks.append(Task.objects.get(case=case, item_code="birth_registration"))
    overdue, due_today, decided = tasks
    Task.objects.filter(pk=overdue.pk).update(due_date=today - dt.timedelta(days=1))
    Task.objects.filter(pk=due_today.pk).update(due_date=today)
    Task.objects.filter(pk=decided.pk).update(due_date=today - dt.timedelta(days=3))
    decided.refresh_from_db()
    services.task_decide(
        reviewer=staff.reviewer["police"],
        task_id=decided.pk,
        decision="approved",
        reason="",
        expected_row_version=decided.row_version,
    )
    return overdue, due_today, decided


@pytest.fixture
def lead(catalog):
    return StaffFactory(
        department=Department.objects.get(code="police"), role=StaffRole.DEPARTMENT_LEAD
    )


def test_the_overdue_filter_lists_exactly_the_open_tasks_past_due(queue, staff, lead):
    overdue, _, _ = queue
    for user in (staff.reviewer["police"], lead):
        rows = selectors.workbench_tasks(user=user, overdue=True)
        assert [(r["id"], r["status"]) for r in rows] == [(overdue.pk, "pending")]
    # Another department's reviewer and an acceptor see none of it.
    assert selectors.workbench_tasks(user=staff.reviewer["health"], overdue=True) == []
    assert selectors.workbench_tasks(user=staff.acceptor["police"], overdue=True) == []


def test_the_lead_reads_the_queue_but_cannot_work_it(client, queue, staff, lead):
    overdue, due_today, _ = queue
    client.force_login(lead)
    response = client.get("/staff/tasks/?status=overdue")
    assert response.status_code == 200
    rows = response.context["page"].object_list
    assert [(r["id"], r["reviewable"]) for r in rows] == [(overdue.pk, False)]
    body = response.content.decode()
    assert "已超期" in body
    assert f'href="/staff/tasks/{overdue.pk}/"' not in body
    everything = client.get("/staff/tasks/").context["page"].object_list
    assert [r["id"] for r in everything] == [overdue.pk, due_today.pk]
    api = client.get("/api/v1/workbench/tasks?overdue=true").json()
    assert [t["id"] for t in api] == [overdue.pk]

    version = Task.objects.get(pk=overdue.pk).row_version
    with pytest.raises(TaskNotFound):
        services.task_claim(reviewer=lead, task_id=overdue.pk)
    assert Task.objects.get(pk=overdue.pk).row_version == version
    assert client.get(f"/staff/tasks/{overdue.pk}/").status_code == 404


def test_a_reviewer_gets_links_and_the_filter(client, queue, staff):
    overdue, _, _ = queue
    client.force_login(staff.reviewer["police"])
    response = client.get("/staff/tasks/?status=overdue")
    assert [r["id"] for r in response.context["page"].object_list] == [overdue.pk]
    assert f'href="/staff/tasks/{overdue.pk}/"' in response.content.decode()


def test_an_acceptor_without_review_or_lead_post_is_refused(client, staff, catalog):
    client.force_login(staff.acceptor["police"])
    assert client.get("/staff/tasks/").status_code == 403


def test_an_overdue_deferred_material_is_flagged_for_reviewer_and_intake(client, resident, staff):
    case = _submit(resident, "d", materials=birth_materials(photo="deferred"))
    services.case_accept(actor=staff.acceptor["police"], receipt_no=case.receipt_no)
    photo = MaterialSubmission.objects.get(case=case, how="deferred")
    task = Task.objects.get(case=case, item_code="social_security_card")
    department = task.department.code

    client.force_login(staff.acceptor["police"])
    assert "容缺材料已逾期" not in client.get(f"/staff/intake/{case.receipt_no}/").content.decode()
    MaterialSubmission.objects.filter(pk=photo.pk).update(
        due_date=timezone.localdate() - dt.timedelta(days=1)
    )
    assert "容缺材料已逾期" in client.get(f"/staff/intake/{case.receipt_no}/").content.decode()
    client.force_login(staff.reviewer[department])
    body = client.get(f"/staff/tasks/{task.pk}/").content.decode()
    assert "容缺材料已逾期" in body
