"""咨询服务: an 在线客服 conversation rated through 好差评 — no case, one per rater and
conversation, a 差评 enters the same rectification loop, the figures count it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from tongban.catalog.models import Department
from tongban.common.calendar import add_working_days
from tongban.common.errors import DomainError
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice
from tongban.reviews import selectors, services
from tongban.reviews.errors import AlreadyRated
from tongban.reviews.models import OrderStatus, Rating, RatingChannel, WorkOrder
from tongban.reviews.tests.conftest import make_case

pytestmark = pytest.mark.django_db(transaction=False)


def consult(resident, people, level, ref="helpdesk:12", **kw):
    return services.consultation_rating_record(
        rater=resident.user,
        conversation_ref=ref,
        department=Department.objects.get(code="police"),
        staff=people.acceptor["police"],
        level=level,
        comment=kw.pop("comment", ""),
        **kw,
    )


def test_good_consultation_rating_has_no_case_and_no_order(resident, people):
    rating = consult(resident, people, 5, indicators={"response_speed": 5}, comment="很快")
    assert rating.channel == RatingChannel.CONSULTATION
    assert rating.case_id is None and rating.reference == "helpdesk:12"
    assert rating.indicators == {"response_speed": 5}
    assert rating.department.code == "police"
    assert rating.staff_id == people.acceptor["police"].pk
    assert list(rating.subjects.values_list("item_code", "item_name", "department__code")) == [
        ("consultation", "在线咨询服务", "police")
    ]
    assert not WorkOrder.objects.exists()
    assert (
        AuditEvent.objects.filter(
            action="review.rated", object_id=str(rating.pk), actor=resident.user
        ).count()
        == 1
    )
    mine = selectors.my_ratings(user=resident.user)
    assert [(m["receipt_no"], m["case_name"], m["subject"], m["level"]) for m in mine] == [
        ("", "咨询服务", "consultation", 5)
    ]


def test_indicators_may_be_empty_and_are_checked(resident, people):
    assert consult(resident, people, 4, indicators=None).indicators == {}
    with pytest.raises(DomainError) as exc:
        consult(resident, people, 4, ref="helpdesk:13", indicators={"efficiency": 4})
    assert exc.value.code == "REVIEW_INDICATORS_INVALID"
    assert Rating.objects.count() == 1


def test_bad_consultation_rating_opens_order_and_loop_works(resident, people):
    rating = consult(resident, people, 2, comment="答非所问")
    order = WorkOrder.objects.get(rating=rating)
    assert (order.department.code, order.status) == ("police", OrderStatus.OPEN)
    assert order.deadline == add_working_days(rating.created_at, 15)
    assert Notice.objects.filter(recipient=people.lead, category="review_order").count() == 1
    services.order_verify(
        actor=people.lead, order_id=order.pk, classification="attitude", finding="属实"
    )
    services.order_rectify(actor=people.lead, order_id=order.pk, measures="培训客服")
    services.order_reply(actor=people.lead, order_id=order.pk, reply="已加强培训")
    assert Notice.objects.filter(recipient=resident.user, category="review_reply").count() == 1
    services.order_verdict(rater=resident.user, rating_id=rating.pk, verdict="satisfied")
    order.refresh_from_db()
    assert (order.status, order.verdict) == (OrderStatus.CLOSED, "satisfied")
    # The staff pages read it without a case.
    row = selectors.order_for(user=people.lead, order_id=order.pk)
    assert (row["channel_label"], row["rater"], row["comment"]) == (
        "咨询服务",
        "匿名用户",
        "答非所问",
    )
    assert selectors.published_replies()[0]["reply"] == "已加强培训"
    # The overdue sweep and appeals take it like any other.
    assert services.overdue_sweep() == {"flagged": 0}
    appeal = services.appeal_file(
        actor=people.lead, rating_id=rating.pk, reason="mistaken", statement="误评"
    )
    assert appeal.department.code == "police"


def test_one_rating_per_rater_and_conversation(resident, other_resident, people):
    first = consult(resident, people, 5)
    with pytest.raises(AlreadyRated):
        consult(resident, people, 1)
    assert Rating.objects.count() == 1 and not WorkOrder.objects.exists()
    # The database holds the same rule if two requests race past the check.
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(
            channel="consultation",
            reference="helpdesk:12",
            rater=resident.user,
            level=3,
            department=first.department,
            created_at=first.created_at,
        )
    # Another person, or another conversation, rates separately.
    consult(other_resident, people, 4)
    consult(resident, people, 4, ref="helpdesk:99")
    assert Rating.objects.count() == 3


def test_check_constraint_case_or_reference(resident, people):
    police = Department.objects.get(code="police")
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(
            channel="online",
            rater=resident.user,
            level=3,
            department=police,
            created_at="2026-01-05T10:00:00+08:00",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(
            channel="consultation",
            reference="",
            rater=resident.user,
            level=3,
            department=police,
            created_at="2026-01-05T10:00:00+08:00",
        )
    assert Rating.objects.count() == 0


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"conversation_ref": ""}, "REVIEW_REFERENCE_INVALID"),
        ({"conversation_ref": "x" * 65}, "REVIEW_REFERENCE_INVALID"),
        ({"department": 0}, "REVIEW_DEPARTMENT_INVALID"),
        ({"level": 6}, "REVIEW_LEVEL_INVALID"),
    ],
)
def test_bad_input_is_refused(resident, people, kwargs, code):
    args = {
        "rater": resident.user,
        "conversation_ref": "helpdesk:1",
        "department": Department.objects.get(code="police"),
        "staff": None,
        "level": 3,
        "comment": "",
        **kwargs,
    }
    with pytest.raises(DomainError) as exc:
        services.consultation_rating_record(**args)
    assert exc.value.code == code
    assert Rating.objects.count() == 0


def test_figures_count_consultation_under_its_channel(resident, other_resident, people):
    case = make_case(resident)
    services.rating_create(rater=resident.user, receipt_no=case.receipt_no, level=5)
    consult(resident, people, 5)
    consult(other_resident, people, 1)
    stats = selectors.review_stats(by="channel")
    rows = {
        r["code"]: (r["name"], r["count"], r["satisfaction_rate"], r["orders"])
        for r in stats["rows"]
    }
    assert rows == {
        "consultation": ("咨询服务", 2, Decimal("0.5000"), 1),
        "online": ("网上办事", 1, Decimal("1.0000"), 0),
    }
    assert stats["total"]["count"] == 3
    by_dept = selectors.review_stats(by="department")
    assert [(r["code"], r["count"], r["orders"]) for r in by_dept["rows"]] == [("police", 3, 1)]
    by_item = selectors.review_stats(by="item", code="consultation")
    assert [(r["name"], r["count"]) for r in by_item["rows"]] == [("在线咨询服务", 2)]
