"""窗口智能辅助: the reviewer's and the intake desk's view of what went wrong before for the
same service — counts, the materials asked for most, reasons written repeatedly; a reason
written once is counted and never shown."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.cases import selectors, services
from tongban.cases.errors import TaskNotFound
from tongban.cases.models import CaseEvent, Task
from tongban.cases.tests.conftest import birth_materials
from tongban.cases.tests.test_services_flow import submit, tasks_of


def refuse_registration(resident, staff, key: str, reason: str) -> Task:
    case = submit(ResidentProfileFactory(), key=key)
    reg = tasks_of(case)["birth_registration"]
    services.task_decide(
        reviewer=staff.reviewer["police"],
        task_id=reg.pk,
        decision="denied",
        reason=reason,
        expected_row_version=reg.row_version,
    )
    return reg


def ask_name_again(resident, staff, key: str, reason: str) -> Task:
    case = submit(ResidentProfileFactory(), key=key)
    reg = tasks_of(case)["birth_registration"]
    services.task_request_supplement(
        reviewer=staff.reviewer["police"],
        task_id=reg.pk,
        material_codes=[],
        field_codes=["child.name"],
        reason=reason,
        expected_row_version=reg.row_version,
    )
    return reg


def test_the_reviewer_sees_repeated_reasons_and_the_most_asked_fields(resident, staff):
    refuse_registration(resident, staff, "d1", "父母双方均非本市户籍")
    refuse_registration(resident, staff, "d2", "父母双方均非本市户籍")
    refuse_registration(resident, staff, "d3", "张三的出生医学证明编号与医院记录不符")
    ask_name_again(resident, staff, "s1", "姓名与出生医学证明不一致")
    current = ask_name_again(resident, staff, "s2", "姓名与出生医学证明不一致")
    history = selectors.task_review_history(user=staff.reviewer["police"], task_id=current.pk)
    assert history == {
        "days": 90,
        "decided": 3,
        "denied": 3,
        "denial_reasons": [{"text": "父母双方均非本市户籍", "count": 2}],
        # The one-off reason names a person: counted, never shown.
        "denials_unlisted": 1,
        "supplements": 2,
        "supplement_asks": [{"text": "新生儿姓名", "count": 2}],
        "supplement_reasons": [{"text": "姓名与出生医学证明不一致", "count": 2}],
        "empty": False,
    }


def test_older_than_ninety_days_and_other_items_do_not_count(resident, staff):
    old = refuse_registration(resident, staff, "d1", "父母双方均非本市户籍")
    Task.objects.filter(pk=old.pk).update(decided_at=timezone.now() - dt.timedelta(days=91))
    CaseEvent.objects.filter(case=old.case).update(at=timezone.now() - dt.timedelta(days=91))
    current = tasks_of(submit(ResidentProfileFactory(), key="now"))["birth_registration"]
    history = selectors.task_review_history(user=staff.reviewer["police"], task_id=current.pk)
    assert (history["decided"], history["denied"], history["supplements"]) == (0, 0, 0)
    assert history["empty"] is True
    # The health department's automatic approvals are another item's history.
    card = tasks_of(current.case)["vaccination_certificate"]
    health = selectors.task_review_history(user=staff.reviewer["health"], task_id=card.pk)
    assert (health["decided"], health["denied"]) == (2, 0)  # both cases' 接种证, approved


def test_another_departments_reviewer_gets_not_found(resident, staff):
    reg = refuse_registration(resident, staff, "d1", "父母双方均非本市户籍")
    with pytest.raises(TaskNotFound):
        selectors.task_review_history(user=staff.reviewer["health"], task_id=reg.pk)
    with pytest.raises(TaskNotFound):
        selectors.task_review_history(user=staff.acceptor["police"], task_id=reg.pk)


def test_the_intake_desk_sees_refusals_and_case_level_supplements(resident, staff):
    for key in ("r1", "r2"):
        case = submit(
            ResidentProfileFactory(), key=key, materials=birth_materials(photo="deferred")
        )
        services.case_refuse_intake(
            actor=staff.acceptor["police"], receipt_no=case.receipt_no, reason="非本市户籍"
        )
    asked = submit(resident, key="s1", materials=birth_materials(photo="deferred"))
    services.case_request_supplement(
        actor=staff.acceptor["police"],
        receipt_no=asked.receipt_no,
        material_codes=["child_photo"],
        field_codes=[],
        reason="照片不清晰",
    )
    # A reviewer's supplement belongs to the item's history, not intake's.
    ask_name_again(resident, staff, "t1", "姓名与出生医学证明不一致")
    names = {m["code"]: m["name"] for m in asked.plan["materials"]}
    history = selectors.intake_review_history(kind=asked.kind, code=asked.code, names=names)
    assert (history["denied"], history["supplements"]) == (2, 1)
    assert history["denial_reasons"] == [{"text": "非本市户籍", "count": 2}]
    assert history["supplement_asks"] == [{"text": names["child_photo"], "count": 1}]
    assert history["supplement_reasons"] == []  # written once


def test_the_task_page_shows_the_aid_to_its_reviewer(client, resident, staff):
    refuse_registration(resident, staff, "d1", "父母双方均非本市户籍")
    refuse_registration(resident, staff, "d2", "父母双方均非本市户籍")
    current = tasks_of(submit(ResidentProfileFactory(), key="now"))["birth_registration"]
    client.force_login(staff.reviewer["police"])
    page = client.get(f"/staff/tasks/{current.pk}/").content.decode()
    assert "审核辅助：常见不予办理和补正原因" in page
    assert "办结 2 件，其中不予办理 2 件；要求补正 0 次。" in page
    assert "<li>父母双方均非本市户籍（2 次）</li>" in page
