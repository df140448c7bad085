"""投诉建议: routing, triage, working-day deadlines, the shared work-order loop with verdicts
and reopen, hotline callbacks, duplicates, permissions (nothing happens), own data only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.catalog.models import DefinitionVersion, Department
from tongban.common.calendar import add_working_days
from tongban.common.errors import DomainError
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice
from tongban.policies.models import Policy
from tongban.reviews import selectors, services
from tongban.reviews.models import (
    Complaint,
    ComplaintStatus,
    OrderEvent,
    OrderStatus,
    WorkOrder,
)

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def policy(catalog):
    version = DefinitionVersion.objects.create(
        kind="policy", code="P-TEST", version=1, content={}, content_sha256="0" * 64
    )
    return Policy.objects.create(
        code="P-TEST",
        name="示例生育补贴（示例）",
        subject="person",
        mode="push",
        department=Department.objects.get(code="health"),
        valid_from=dt.date(2026, 1, 1),
        current=version,
    )


def file(resident, about="item", code="birth_registration", kind="complaint", **kw):
    return services.complaint_file(
        filer=resident.user,
        kind=kind,
        about=about,
        about_code=code,
        text=kw.pop("text", "窗口让我跑了三次，电话13912345678"),
        **kw,
    )


def record(operator, ref="GD20261204001", source="hotline", **kw):
    args = {
        "actor": operator,
        "kind": "complaint",
        "source": source,
        "about": "item",
        "about_code": "vaccination_certificate",
        "text": "接种证明迟迟不出",
        "contact_name": "李示例",
        "contact_phone": "13800000000",
        "external_ref": ref,
        "deadline": timezone.localdate() + dt.timedelta(days=10),
        **kw,
    }
    return services.complaint_record(**args)


# ---------------------------------------------------------------- routing and deadlines


def test_item_routes_to_its_department_with_working_day_deadline(resident, people):
    complaint = file(resident)
    assert complaint.department.code == "police"
    assert complaint.status == ComplaintStatus.ROUTED
    assert complaint.about_name == "出生登记"  # the name as it was when filed
    assert complaint.deadline == add_working_days(complaint.received_at, 15)
    order = WorkOrder.objects.get(complaint=complaint)
    assert (order.department.code, order.status, order.deadline, order.rating_id) == (
        "police",
        OrderStatus.OPEN,
        complaint.deadline,
        None,
    )
    assert Notice.objects.filter(recipient=people.lead, category="complaint_order").count() == 1
    assert (
        Notice.objects.filter(recipient=resident.user, category="complaint_received").count() == 1
    )
    assert (
        AuditEvent.objects.filter(
            action="complaint.filed", object_id=str(complaint.pk), actor=resident.user
        ).count()
        == 1
    )
    # The text is stored encrypted and read back as written.
    complaint.refresh_from_db()
    assert complaint.text == "窗口让我跑了三次，电话13912345678"


def test_policy_routes_to_its_department(resident, people, policy):
    complaint = file(resident, about="policy", code="P-TEST", kind="suggestion")
    assert (complaint.department.code, complaint.about_name) == ("health", "示例生育补贴（示例）")
    assert WorkOrder.objects.get(complaint=complaint).department.code == "health"


def test_hall_routes_to_the_department_running_it(resident, people):
    # The fixture's 综合窗口 clerk of `hall` is posted by the police department.
    complaint = file(resident, about="hall", code=people.hall.code)
    assert complaint.department.code == "police"
    assert complaint.about_name == people.hall.name


def test_hall_with_nobody_posted_goes_to_triage(resident, people):
    from tongban.appointments.tests.factories import HallFactory

    empty = HallFactory(code="empty", name="空大厅（示例）")
    complaint = file(resident, about="hall", code=empty.code)
    assert (complaint.status, complaint.department_id) == (ComplaintStatus.TRIAGE, None)
    assert not WorkOrder.objects.exists()


def test_unknown_code_is_refused_and_nothing_is_filed(resident, people):
    with pytest.raises(DomainError) as exc:
        file(resident, code="no_such_item")
    assert exc.value.code == "COMPLAINT_ABOUT_UNKNOWN" and exc.value.http_status == 422
    with pytest.raises(DomainError) as exc:
        file(resident, text="  ")
    assert exc.value.code == "REVIEW_TEXT_REQUIRED"
    assert Complaint.objects.count() == 0 and Notice.objects.count() == 0


def test_other_goes_to_triage_and_operator_assigns(resident, people):
    complaint = file(resident, about="other", code="")
    assert complaint.status == ComplaintStatus.TRIAGE and complaint.department_id is None
    assert (
        Notice.objects.filter(recipient=people.operator, category="complaint_triage").count() == 1
    )
    queue = selectors.triage_queue(user=people.operator)
    assert [(q["id"], q["about_label"], q["text"]) for q in queue] == [
        (complaint.pk, "其他", "窗口让我跑了三次，电话****")
    ]
    assert selectors.triage_queue(user=people.lead) == []

    # A department lead may not assign: nothing changes.
    with pytest.raises(DomainError) as exc:
        services.complaint_assign(actor=people.lead, complaint_id=complaint.pk, department="tax")
    assert exc.value.code == "REVIEW_NOT_CITY_OPERATOR"
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.TRIAGE and not WorkOrder.objects.exists()

    services.complaint_assign(
        actor=people.operator, complaint_id=complaint.pk, department="health", note="涉及医院"
    )
    complaint.refresh_from_db()
    assert (complaint.status, complaint.department.code) == (ComplaintStatus.ROUTED, "health")
    order = WorkOrder.objects.get(complaint=complaint)
    assert order.deadline == complaint.deadline  # the clock ran from receipt
    assert list(order.events.values_list("action", "actor_label", "note")) == [
        ("assigned", people.operator.get_username(), "市卫生健康委员会：涉及医院")
    ]
    assert (
        AuditEvent.objects.filter(
            action="complaint.assigned", actor=people.operator, object_id=str(complaint.pk)
        ).count()
        == 1
    )
    assert (
        Notice.objects.filter(recipient=people.other_lead, category="complaint_order").count() == 1
    )
    with pytest.raises(DomainError) as exc:
        services.complaint_assign(
            actor=people.operator, complaint_id=complaint.pk, department="tax"
        )
    assert exc.value.code == "COMPLAINT_ALREADY_ROUTED"
    assert selectors.triage_queue(user=people.operator) == []


# ---------------------------------------------------------------- the loop


def test_complaint_loop_with_reopen_and_filer_verdict(resident, people):
    complaint = file(resident)
    order = complaint.order
    services.order_verify(
        actor=people.lead, order_id=order.pk, classification="process", finding="属实"
    )
    services.order_rectify(actor=people.lead, order_id=order.pk, measures="一次告知")
    services.order_reply(actor=people.lead, order_id=order.pk, reply="已整改，感谢监督")
    assert Notice.objects.filter(recipient=resident.user, category="complaint_reply").count() == 1
    mine = selectors.my_complaint(user=resident.user, complaint_id=complaint.pk)
    assert (mine["status_label"], mine["reply"], mine["verdict_open"]) == (
        "已答复，待确认满意度",
        "已整改，感谢监督",
        True,
    )
    services.complaint_verdict(
        filer=resident.user, complaint_id=complaint.pk, verdict="unsatisfied"
    )
    order.refresh_from_db()
    assert (order.status, order.reopened) == (OrderStatus.VERIFIED, 1)
    services.order_rectify(actor=people.lead, order_id=order.pk, measures="再次整改")
    services.order_reply(actor=people.lead, order_id=order.pk, reply="再次答复")
    assert Notice.objects.filter(recipient=resident.user, category="complaint_reply").count() == 2
    services.complaint_verdict(filer=resident.user, complaint_id=complaint.pk, verdict="satisfied")
    order.refresh_from_db()
    assert (order.status, order.verdict, order.closed_on_time) == (
        OrderStatus.CLOSED,
        "satisfied",
        True,
    )
    assert list(order.events.values_list("action", flat=True)) == [
        "opened",
        "verified",
        "rectified",
        "replied",
        "verdict",
        "rectified",
        "replied",
        "verdict",
    ]
    mine = selectors.my_complaint(user=resident.user, complaint_id=complaint.pk)
    assert [e["actor"] for e in mine["events"]][1:4] == ["市公安局"] * 3
    assert (mine["events"][0]["actor"], mine["events"][4]["actor"]) == ("系统", "您")
    # The rating's verdict path does not reach a complaint's order.
    with pytest.raises(DomainError):
        services.order_verdict(rater=resident.user, rating_id=order.pk, verdict="satisfied")


def test_suggestion_is_answered_without_rectification(resident, people):
    complaint = file(resident, kind="suggestion", text="建议增加夜间办理")
    order = complaint.order
    services.order_verify(
        actor=people.lead, order_id=order.pk, classification="process", finding="已研究"
    )
    with pytest.raises(DomainError) as exc:
        services.order_rectify(actor=people.lead, order_id=order.pk, measures="x")
    assert exc.value.code == "REVIEW_ORDER_WRONG_STATE"
    with pytest.raises(DomainError) as exc:
        services.order_reply(actor=people.lead, order_id=order.pk, reply="谢谢")
    assert exc.value.code == "COMPLAINT_ADOPTION_INVALID"
    services.order_reply(
        actor=people.lead, order_id=order.pk, reply="周四延时至20点", adoption="adopted"
    )
    order.refresh_from_db()
    assert (order.status, order.adoption, order.measures) == (OrderStatus.REPLIED, "adopted", "")
    assert order.events.last().note == "采纳：周四延时至20点"
    mine = selectors.my_complaints(user=resident.user)[0]
    assert (mine["adoption_label"], mine["status_label"]) == ("采纳", "已答复，待确认满意度")


def test_hotline_complaint_with_staff_recorded_callback(resident, people):
    health = Department.objects.get(code="health")
    handler = StaffFactory(department=health, role=StaffRole.ACCEPTOR)
    complaint = record(people.operator)
    assert complaint.deadline == timezone.localdate() + dt.timedelta(days=10)
    assert (complaint.filer_id, complaint.department.code, complaint.external_ref) == (
        None,
        "health",
        "GD20261204001",
    )
    order = complaint.order
    row = selectors.order_for(user=handler, order_id=order.pk)
    assert (row["rater"], row["channel_label"], row["needs_callback"]) == (
        "来电人",
        "12345热线转办",
        True,
    )
    assert "13800000000" not in str(row) and "李示例" not in str(row)
    # Reading the contact is audited with its purpose.
    contact = selectors.complaint_contact(user=handler, order_id=order.pk, purpose="联系来电人")
    assert contact == {"name": "李示例", "phone": "13800000000"}
    assert (
        AuditEvent.objects.filter(
            action="personal_data.read", actor=handler, purpose="联系来电人"
        ).count()
        == 1
    )
    assert selectors.complaint_contact(user=people.lead, order_id=order.pk, purpose="x") is None

    services.order_verify(actor=handler, order_id=order.pk, classification="system", finding="属实")
    services.order_rectify(actor=handler, order_id=order.pk, measures="已补发")
    services.order_reply(actor=handler, order_id=order.pk, reply="已补发接种证明")
    assert Notice.objects.filter(category="complaint_reply").count() == 0  # nobody to notify
    # The department cannot record its own callback; nothing changes.
    with pytest.raises(DomainError) as exc:
        services.complaint_callback_record(
            actor=handler, complaint_id=complaint.pk, verdict="satisfied"
        )
    assert exc.value.code == "REVIEW_NOT_CITY_OPERATOR"
    order.refresh_from_db()
    assert order.status == OrderStatus.REPLIED
    services.complaint_callback_record(
        actor=people.operator, complaint_id=complaint.pk, verdict="satisfied", note="电话回访"
    )
    order.refresh_from_db()
    assert (order.status, order.verdict, order.verdict_by_callback) == (
        OrderStatus.CLOSED,
        "satisfied",
        True,
    )
    last = order.events.last()
    assert (last.action, last.actor_label, last.note, last.actor_id) == (
        "callback",
        "回访（城市运营）",
        "满意。电话回访",
        people.operator.pk,
    )


def test_online_complaint_has_no_callback(resident, people):
    complaint = file(resident)
    with pytest.raises(DomainError) as exc:
        services.complaint_callback_record(
            actor=people.operator, complaint_id=complaint.pk, verdict="satisfied"
        )
    assert exc.value.code in ("COMPLAINT_CALLBACK_NOT_APPLICABLE", "REVIEW_ORDER_WRONG_STATE")
    assert complaint.order.events.count() == 1


def test_duplicate_external_reference_refused(people):
    first = record(people.operator)
    with pytest.raises(DomainError) as exc:
        record(people.operator, text="另一件")
    assert (exc.value.code, exc.value.http_status) == ("COMPLAINT_EXTERNAL_REF_EXISTS", 409)
    # The same number from the other channel is a different complaint.
    record(people.operator, source="state_council")
    assert Complaint.objects.count() == 2 and WorkOrder.objects.count() == 2
    assert first.order.department.code == "health"


def test_forwarded_needs_reference_and_deadline(people):
    for kw, code in [
        ({"ref": ""}, "COMPLAINT_EXTERNAL_REF_INVALID"),
        ({"deadline": None}, "COMPLAINT_DEADLINE_INVALID"),
        ({"deadline": "2020-01-01"}, "COMPLAINT_DEADLINE_INVALID"),
        ({"contact_phone": "abc"}, "COMPLAINT_PHONE_INVALID"),
        ({"source": "online"}, "COMPLAINT_SOURCE_INVALID"),
    ]:
        with pytest.raises(DomainError) as exc:
            record(people.operator, **kw)
        assert exc.value.code == code
    assert Complaint.objects.count() == 0


def test_on_site_gets_working_day_deadline(people):
    complaint = record(people.operator, source="on_site", ref="", deadline=None)
    assert complaint.external_ref == ""
    assert complaint.deadline == add_working_days(complaint.received_at, 15)


def test_residents_cannot_record_forwarded(resident, people):
    with pytest.raises(DomainError):
        record(resident.user)
    assert Complaint.objects.count() == 0


def test_double_submit_creates_one(resident, people):
    first = file(resident, idempotency_key="k-1")
    second = file(resident, idempotency_key="k-1")
    assert first.pk == second.pk
    assert Complaint.objects.count() == 1 and WorkOrder.objects.count() == 1
    assert Notice.objects.filter(category="complaint_received").count() == 1
    again = record(people.operator, idempotency_key="r-1")
    assert record(people.operator, idempotency_key="r-1").pk == again.pk
    assert Complaint.objects.count() == 2


def test_another_departments_staff_cannot_act(resident, people):
    complaint = file(resident)  # police
    order = complaint.order
    events = OrderEvent.objects.count()
    for actor in (people.other_lead, people.operator, people.acceptor["health"]):
        with pytest.raises(DomainError) as exc:
            services.order_verify(
                actor=actor, order_id=order.pk, classification="process", finding="x"
            )
        assert exc.value.http_status in (403, 404)
    order.refresh_from_db()
    assert (order.status, order.finding) == (OrderStatus.OPEN, "")
    assert OrderEvent.objects.count() == events
    assert selectors.order_for(user=people.other_lead, order_id=order.pk) is None
    assert [o["id"] for o in selectors.orders_for(user=people.other_lead)] == []
    assert [o["id"] for o in selectors.orders_for(user=people.lead)] == [order.pk]


def test_staff_read_the_filer_anonymised(resident, people):
    complaint = file(resident, text=f"我是{resident.name}，电话13912345678")
    row = selectors.order_for(user=people.lead, order_id=complaint.order.pk)
    assert row["comment"] == "我是**，电话****"
    assert row["rater"] == "投诉建议人（匿名）"
    assert (
        selectors.complaint_contact(user=people.lead, order_id=complaint.order.pk, purpose="x")
        is None
    )


def test_resident_sees_only_their_own(resident, other_resident, people):
    complaint = file(resident)
    assert selectors.my_complaints(user=other_resident.user) == []
    assert selectors.my_complaint(user=other_resident.user, complaint_id=complaint.pk) is None
    services.order_verify(
        actor=people.lead, order_id=complaint.order.pk, classification="process", finding="x"
    )
    services.order_rectify(actor=people.lead, order_id=complaint.order.pk, measures="x")
    services.order_reply(actor=people.lead, order_id=complaint.order.pk, reply="x")
    with pytest.raises(DomainError) as exc:
        services.complaint_verdict(
            filer=other_resident.user, complaint_id=complaint.pk, verdict="satisfied"
        )
    assert exc.value.code == "COMPLAINT_NOT_FOUND"
    complaint.order.refresh_from_db()
    assert (complaint.order.status, complaint.order.verdict) == (OrderStatus.REPLIED, "")


def test_overdue_sweep_flags_complaint_orders(resident, people):
    complaint = file(resident)
    later = complaint.deadline + dt.timedelta(days=1)
    assert services.overdue_sweep(today=later) == {"flagged": 1}
    assert Notice.objects.filter(recipient=people.lead, title="投诉建议工单已超期").count() == 1
    assert services.overdue_sweep(today=later) == {"flagged": 0}


def test_public_figures(resident, other_resident, people):
    a = file(resident)
    file(other_resident, kind="suggestion")
    file(resident, about="other", code="")
    record(people.operator)
    order = a.order
    services.order_verify(
        actor=people.lead, order_id=order.pk, classification="process", finding="x"
    )
    services.order_rectify(actor=people.lead, order_id=order.pk, measures="x")
    services.order_reply(actor=people.lead, order_id=order.pk, reply="x")
    services.complaint_verdict(filer=resident.user, complaint_id=a.pk, verdict="satisfied")
    stats = selectors.complaint_stats()
    t = stats["total"]
    assert (t["received"], t["closed"], t["on_time"], t["judged"], t["satisfied"]) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert t["satisfaction_rate"] == Decimal("1.0000")
    assert [(r["name"], r["received"], r["closed"]) for r in stats["by_department"]] == [
        ("待分派", 1, 0),
        ("市卫生健康委员会", 1, 0),
        ("市公安局", 2, 1),
    ]
    assert [(r["code"], r["received"]) for r in stats["by_source"]] == [
        ("hotline", 1),
        ("online", 3),
    ]
    assert [(r["name"], r["received"]) for r in stats["by_kind"]] == [("投诉", 3), ("建议", 1)]


# ---------------------------------------------------------------- 转办


def test_a_department_that_is_not_responsible_transfers_the_complaint(resident, people):
    complaint = file(resident)  # police
    order = complaint.order
    deadline = order.deadline
    services.complaint_transfer(
        actor=people.lead, order_id=order.pk, department="health", reason="接种证明由卫健部门出具"
    )
    order.refresh_from_db()
    complaint.refresh_from_db()
    assert (order.department.code, complaint.department.code) == ("health", "health")
    assert (order.status, order.deadline) == (OrderStatus.OPEN, deadline)  # the filer's clock
    event = OrderEvent.objects.filter(order=order).order_by("-pk").first()
    police, health = (Department.objects.get(code=c).name for c in ("police", "health"))
    assert (event.action, event.actor_id, event.note) == (
        "transferred",
        people.lead.pk,
        f"由{police}转至{health}：接种证明由卫健部门出具",
    )
    audit = AuditEvent.objects.get(action="complaint.transferred")
    assert (audit.actor_id, audit.object_id, audit.data) == (
        people.lead.pk,
        str(complaint.pk),
        {"from": "police", "to": "health", "order": order.pk},
    )
    assert (
        Notice.objects.filter(recipient=people.other_lead, category="complaint_order").count() == 1
    )
    # Now the new department's: the former one neither reads nor works it.
    assert selectors.order_for(user=people.lead, order_id=order.pk) is None
    assert selectors.order_for(user=people.other_lead, order_id=order.pk)["id"] == order.pk
    with pytest.raises(DomainError):
        services.order_verify(
            actor=people.lead, order_id=order.pk, classification="process", finding="x"
        )


def test_a_transfer_is_refused_when_it_cannot_be_and_nothing_changes(resident, people):
    complaint = file(resident)  # police
    order = complaint.order
    events = OrderEvent.objects.count()
    cases = [
        (people.lead, "health", "", "REVIEW_TEXT_REQUIRED"),  # no reason
        (people.lead, "health", "   ", "REVIEW_TEXT_REQUIRED"),
        (people.lead, "nowhere", "理由", "COMPLAINT_DEPARTMENT_INVALID"),
        (people.lead, "", "", "COMPLAINT_DEPARTMENT_INVALID"),  # the first field first
        (people.lead, "police", "理由", "COMPLAINT_DEPARTMENT_SAME"),
        (people.other_lead, "health", "理由", "REVIEW_ORDER_NOT_FOUND"),  # not theirs
        (people.acceptor["health"], "health", "理由", "REVIEW_ORDER_NOT_FOUND"),
    ]
    for actor, department, reason, code in cases:
        with pytest.raises(DomainError) as exc:
            services.complaint_transfer(
                actor=actor, order_id=order.pk, department=department, reason=reason
            )
        assert exc.value.code == code, (actor, department)
        assert exc.value.http_status in (403, 404, 409, 422)
    services.order_verify(
        actor=people.lead, order_id=order.pk, classification="process", finding="核实"
    )
    with pytest.raises(DomainError) as exc:
        services.complaint_transfer(
            actor=people.operator, order_id=order.pk, department="health", reason="理由"
        )
    assert exc.value.code == "REVIEW_ORDER_WRONG_STATE"
    order.refresh_from_db()
    assert order.department.code == "police"
    assert OrderEvent.objects.count() == events + 1  # the verification only
    assert not AuditEvent.objects.filter(action="complaint.transferred").exists()


def test_a_city_operator_transfers_any_complaint_before_it_is_verified(resident, people):
    order = file(resident).order  # police
    services.complaint_transfer(
        actor=people.operator, order_id=order.pk, department="health", reason="分派有误"
    )
    order.refresh_from_db()
    assert order.department.code == "health"
