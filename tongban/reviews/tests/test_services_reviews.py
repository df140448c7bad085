"""好差评: the closed loop, appeals, overdue, permissions, exact figures, anonymity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from tongban.cases.tests.conftest import birth_materials
from tongban.cases.tests.test_halls_handout import conclude, submit
from tongban.common.calendar import add_working_days
from tongban.common.errors import DomainError
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice
from tongban.reviews import selectors, services
from tongban.reviews.errors import AlreadyRated, RatingNotFound, WindowClosed
from tongban.reviews.models import (
    Appeal,
    OrderEvent,
    OrderStatus,
    Rating,
    ServiceEncounter,
    WorkOrder,
)
from tongban.reviews.tests.conftest import make_case

pytestmark = pytest.mark.django_db(transaction=False)


def rate(resident, case, level, subject="online", **kw):
    return services.rating_create(
        rater=resident.user, receipt_no=case.receipt_no, subject=subject, level=level, **kw
    )


def test_whole_loop_bad_rating_to_closed(resident, people):
    case = make_case(
        resident, tasks=(("item_a", "事项甲", "police"), ("item_b", "事项乙", "health"))
    )
    rating = rate(
        resident, case, 1, indicators={"efficiency": 1}, comment="等太久，电话13912345678"
    )
    order = WorkOrder.objects.get(rating=rating)
    assert order.department.code == "police"
    assert order.status == OrderStatus.OPEN
    assert order.deadline == add_working_days(rating.created_at, 15)
    assert rating.comment_public == "等太久，电话****"
    assert sorted(rating.subjects.values_list("item_code", "department__code")) == [
        ("item_a", "police"),
        ("item_b", "health"),
    ]
    assert Notice.objects.filter(recipient=people.lead, category="review_order").count() == 1

    services.order_verify(
        actor=people.lead, order_id=order.pk, classification="process", finding="排队时间过长属实"
    )
    services.order_rectify(actor=people.lead, order_id=order.pk, measures="增开窗口")
    services.order_reply(actor=people.lead, order_id=order.pk, reply="已增开窗口，感谢监督")
    assert Notice.objects.filter(recipient=resident.user, category="review_reply").count() == 1
    mine = selectors.my_ratings(user=resident.user)
    assert mine[0]["reply"] == "已增开窗口，感谢监督" and mine[0]["verdict_open"] is True

    # 不满意 reopens once; the second round ends with 满意.
    services.order_verdict(rater=resident.user, rating_id=rating.pk, verdict="unsatisfied")
    order.refresh_from_db()
    assert (order.status, order.reopened) == (OrderStatus.VERIFIED, 1)
    services.order_rectify(actor=people.lead, order_id=order.pk, measures="再次整改")
    services.order_reply(actor=people.lead, order_id=order.pk, reply="再次回复")
    services.order_verdict(rater=resident.user, rating_id=rating.pk, verdict="satisfied")
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED and order.closed_on_time is True
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
    # The rater's steps are labelled 评价人 in the log staff read.
    assert set(order.events.filter(action="verdict").values_list("actor_label", flat=True)) == {
        "评价人"
    }
    assert AuditEvent.objects.filter(action__startswith="review.").count() == 9


def test_second_unsatisfied_closes_with_verdict(resident, people):
    rating = rate(resident, make_case(resident), 2)
    oid = rating.order.pk
    for _ in range(2):
        if WorkOrder.objects.get(pk=oid).status == OrderStatus.OPEN:
            services.order_verify(
                actor=people.lead, order_id=oid, classification="attitude", finding="属实"
            )
        services.order_rectify(actor=people.lead, order_id=oid, measures="整改")
        services.order_reply(actor=people.lead, order_id=oid, reply="回复")
        services.order_verdict(rater=resident.user, rating_id=rating.pk, verdict="unsatisfied")
    order = WorkOrder.objects.get(pk=oid)
    assert (order.status, order.verdict) == (OrderStatus.CLOSED, "unsatisfied")


def test_good_rating_opens_no_order_and_double_submit_is_one_rating(resident, people):
    case = make_case(resident)
    rate(resident, case, 5)
    with pytest.raises(AlreadyRated):
        rate(resident, case, 1)
    assert Rating.objects.count() == 1 and WorkOrder.objects.count() == 0


def test_in_person_filing_and_handout_each_rated_once(resident, people):
    case = make_case(
        resident,
        channel="counter",
        filed_by=people.clerk,
        hall=people.hall,
        handed_out_by=people.issuer,
    )
    with pytest.raises(DomainError) as err:
        rate(resident, case, 5)  # a counter case has no online rating
    assert err.value.code == "REVIEW_NOTHING_TO_RATE"
    filing = rate(resident, case, 4, subject="filing", indicators={"attitude": 5})
    handout = rate(resident, case, 2, subject="handout")
    with pytest.raises(AlreadyRated):
        rate(resident, case, 3, subject="filing")
    assert (filing.hall, filing.staff, filing.department.code) == (
        people.hall,
        people.clerk,
        "police",
    )
    assert handout.staff == people.issuer and handout.order.department.code == "police"
    assert ServiceEncounter.objects.count() == 2
    with pytest.raises(DomainError) as err:
        rate(resident, case, 3, subject="filing", indicators={"usability": 3})
    assert err.value.code == "REVIEW_INDICATORS_INVALID"


def test_window_closes_after_30_days(resident, people):
    case = make_case(resident, concluded_at=timezone.now() - dt.timedelta(days=31))
    with pytest.raises(WindowClosed):
        rate(resident, case, 1)
    assert Rating.objects.count() == 0 and WorkOrder.objects.count() == 0


@pytest.mark.parametrize("level", [0, 6, "x", None, True, 2.5])
def test_bad_levels_are_refused(resident, people, level):
    with pytest.raises(DomainError) as err:
        rate(resident, make_case(resident), level)
    assert err.value.code == "REVIEW_LEVEL_INVALID"
    assert Rating.objects.count() == 0


def test_appeal_approved_removes_from_figures_rejected_does_not(resident, people):
    bad = rate(resident, make_case(resident), 1)
    worse = rate(resident, make_case(resident), 2)
    a1 = services.appeal_file(
        actor=people.lead, rating_id=bad.pk, reason="malicious", statement="与办件无关的恶意差评"
    )
    a2 = services.appeal_file(
        actor=people.lead, rating_id=worse.pk, reason="mistaken", statement="误评"
    )
    assert selectors.review_stats(by="department")["total"]["count"] == 2
    with pytest.raises(DomainError) as err:  # a lead cannot decide
        services.appeal_decide(actor=people.lead, appeal_id=a1.pk, approve=True, reason="x")
    assert err.value.code == "REVIEW_NOT_CITY_OPERATOR"
    services.appeal_decide(
        actor=people.operator, appeal_id=a1.pk, approve=True, reason="核实为恶意"
    )
    services.appeal_decide(actor=people.operator, appeal_id=a2.pk, approve=False, reason="不属误评")
    bad.refresh_from_db()
    worse.refresh_from_db()
    assert (bad.excluded, worse.excluded) == (True, False)
    assert Rating.objects.count() == 2  # never deleted
    assert WorkOrder.objects.get(rating=bad).status == OrderStatus.WITHDRAWN
    assert WorkOrder.objects.get(rating=worse).status == OrderStatus.OPEN
    stats = selectors.review_stats(by="department")
    assert stats["total"]["count"] == 1 and stats["total"]["distribution"]["2"] == 1
    assert set(
        AuditEvent.objects.filter(action__startswith="review.appeal").values_list(
            "action", flat=True
        )
    ) == {"review.appeal.filed", "review.appeal.approved", "review.appeal.rejected"}
    with pytest.raises(DomainError) as err:
        services.appeal_decide(actor=people.operator, appeal_id=a1.pk, approve=False, reason="x")
    assert err.value.code == "REVIEW_APPEAL_DECIDED"


def test_overdue_sweep_flags_once_with_frozen_today(resident, people):
    rating = rate(resident, make_case(resident), 1)
    order = rating.order
    assert services.overdue_sweep(today=order.deadline) == {"flagged": 0}
    day_after = order.deadline + dt.timedelta(days=1)
    assert services.overdue_sweep(today=day_after) == {"flagged": 1}
    assert services.overdue_sweep(today=day_after) == {"flagged": 0}
    order.refresh_from_db()
    assert order.overdue_flagged_at is not None
    assert Notice.objects.filter(category="review_overdue").count() == 2  # lead + operator
    rows = selectors.orders_for(user=people.lead, today=day_after)
    assert [r["overdue"] for r in rows] == [True]
    # Closed after the deadline: not on time.
    services.order_verify(actor=people.lead, order_id=order.pk, classification="other", finding="f")
    services.order_rectify(actor=people.lead, order_id=order.pk, measures="m")
    services.order_reply(actor=people.lead, order_id=order.pk, reply="r")
    late = timezone.make_aware(dt.datetime.combine(day_after, dt.time(10)))
    services.order_verdict(rater=resident.user, rating_id=rating.pk, verdict="satisfied", now=late)
    order.refresh_from_db()
    assert order.closed_on_time is False


def test_department_close_waits_for_the_verdict_period(resident, people):
    rating = rate(resident, make_case(resident), 1)
    oid = rating.order.pk
    services.order_verify(actor=people.lead, order_id=oid, classification="other", finding="f")
    services.order_rectify(actor=people.lead, order_id=oid, measures="m")
    services.order_reply(actor=people.lead, order_id=oid, reply="r")
    with pytest.raises(DomainError) as err:
        services.order_close(actor=people.lead, order_id=oid)
    assert err.value.code == "REVIEW_ORDER_WRONG_STATE"
    later = timezone.now() + dt.timedelta(days=8)
    services.order_close(actor=people.lead, order_id=oid, now=later)
    assert WorkOrder.objects.get(pk=oid).status == OrderStatus.CLOSED


# ---------------------------------------------------------------- permission matrix

ACTORS = [
    "anonymous",
    "rater",
    "other_resident",
    "lead",
    "acceptor",
    "reviewer",
    "other_lead",
    "operator",
]


def _actor(name, resident, other_resident, people):
    return {
        "anonymous": AnonymousUser(),
        "rater": resident.user,
        "other_resident": other_resident.user,
        "lead": people.lead,
        "acceptor": people.acceptor["police"],
        "reviewer": people.reviewer["police"],
        "other_lead": people.other_lead,
        "operator": people.operator,
    }[name]


def _state():
    return (
        Rating.objects.count(),
        list(WorkOrder.objects.values_list("status", "finding")),
        Appeal.objects.count(),
        list(Appeal.objects.values_list("status", flat=True)),
        OrderEvent.objects.count(),
    )


ALLOWED = {
    "rate": {"rater"},
    # Only the posts that handle orders read them: a reviewer of the department does not.
    "read": {"lead", "acceptor", "operator"},
    "act": {"lead", "acceptor"},
    "appeal": {"lead", "acceptor"},
    "decide": {"operator"},
}


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_permission_matrix(who, action, resident, other_resident, people):
    case = make_case(resident)
    rating = rate(resident, make_case(resident), 1)
    pending = (
        services.appeal_file(
            actor=people.lead, rating_id=rating.pk, reason="mistaken", statement="误评"
        )
        if action == "decide"
        else None
    )
    actor = _actor(who, resident, other_resident, people)
    before = _state()
    if action == "read":
        allowed = selectors.order_for(user=actor, order_id=rating.order.pk) is not None
        assert allowed == (who in ALLOWED["read"])
        assert (len(selectors.orders_for(user=actor)) == 1) == (who in ALLOWED["read"])
        return
    call = {
        "rate": lambda: services.rating_create(rater=actor, receipt_no=case.receipt_no, level=5),
        "act": lambda: services.order_verify(
            actor=actor, order_id=rating.order.pk, classification="other", finding="f"
        ),
        "appeal": lambda: services.appeal_file(
            actor=actor, rating_id=rating.pk, reason="mistaken", statement="s"
        ),
        "decide": lambda: services.appeal_decide(
            actor=actor, appeal_id=pending.pk, approve=True, reason="r"
        ),
    }[action]
    if who in ALLOWED[action]:
        call()
        assert _state() != before
    else:
        with pytest.raises(DomainError) as err:
            call()
        assert err.value.http_status in (401, 403, 404)
        assert _state() == before


# ---------------------------------------------------------------- figures


def test_statistics_exact_on_a_known_set(resident, other_resident, people):
    """Ratings: police-only cases rated 5, 4, 3, 2, 1; one two-department case (police item_a,
    health item_b) rated 5; one counter filing at the centre hall rated 1 (police clerk).
    Orders: three (the 2, the 1 and the hall 1); one closed on time.
    police: 7 ratings, dist 1:2 2:1 3:1 4:1 5:2, satisfaction 3/7, bad 3/7,
    rectification 1/3, on time 1/1. health: 1 rating (5). hall centre: 1 rating (1)."""
    for level in (5, 4, 3, 2, 1):
        r = rate(resident, make_case(resident), level)
    rate(
        other_resident,
        make_case(
            other_resident, tasks=(("item_a", "事项甲", "police"), ("item_b", "事项乙", "health"))
        ),
        5,
    )
    hall_case = make_case(resident, channel="counter", filed_by=people.clerk, hall=people.hall)
    rate(resident, hall_case, 1, subject="filing")
    oid = Rating.objects.get(level=2).order.pk
    services.order_verify(actor=people.lead, order_id=oid, classification="other", finding="f")
    services.order_rectify(actor=people.lead, order_id=oid, measures="m")
    services.order_reply(actor=people.lead, order_id=oid, reply="已整改")
    services.order_verdict(
        rater=resident.user, rating_id=Rating.objects.get(level=2).pk, verdict="satisfied"
    )
    assert r.level == 1

    by_dept = {row["code"]: row for row in selectors.review_stats(by="department")["rows"]}
    police = by_dept["police"]
    assert police["count"] == 7
    assert police["distribution"] == {"1": 2, "2": 1, "3": 1, "4": 1, "5": 2}
    assert police["satisfaction_rate"] == Decimal("0.4286")  # 3/7
    assert police["bad_rate"] == Decimal("0.4286")
    assert (police["orders"], police["closed"]) == (3, 1)
    assert police["rectification_rate"] == Decimal("0.3333")
    assert police["on_time_rate"] == Decimal("1.0000")
    health = by_dept["health"]
    assert (health["count"], health["satisfaction_rate"], health["bad_rate"]) == (
        1,
        Decimal("1.0000"),
        Decimal("0.0000"),
    )
    assert health["rectification_rate"] is None and health["on_time_rate"] is None
    by_hall = selectors.review_stats(by="hall")["rows"]
    assert [(h["code"], h["count"], h["distribution"]["1"]) for h in by_hall] == [("centre", 1, 1)]
    by_item = {row["code"]: row["count"] for row in selectors.review_stats(by="item")["rows"]}
    assert by_item == {"item_a": 7, "item_b": 1}
    total = selectors.review_stats(by="item")["total"]
    assert total["count"] == 7 and total["satisfaction_rate"] == Decimal("0.4286")
    this_month = timezone.localdate().strftime("%Y-%m")
    assert selectors.review_stats(period=this_month)["total"]["count"] == 7
    assert selectors.review_stats(period="2001-01")["total"]["count"] == 0
    replies = selectors.review_stats()["replies"]
    assert [(x["rater"], x["reply"]) for x in replies] == [("匿名用户", "已整改")]


@pytest.mark.parametrize("period", ["2026-13", "26", "abc", "2026-1"])
def test_bad_period_is_coded(period, db):
    with pytest.raises(DomainError) as err:
        selectors.review_stats(period=period)
    assert err.value.code == "REVIEW_PERIOD_INVALID"


# ---------------------------------------------------------------- invitations


def test_conclusion_and_handout_invite_a_rating(
    resident, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        online = conclude(submit(resident, key="o1", materials=birth_materials()), staff)
    invites = Notice.objects.filter(recipient=resident.user, category="review_invite")
    assert [n.link for n in invites] == [f"/reviews/rate/{online.receipt_no}/?subject=online"]
    with django_capture_on_commit_callbacks(execute=True):
        counter = conclude(
            submit(
                resident,
                key="c1",
                channel="counter",
                filed_by=staff.clerk,
                delivery="counter",
                materials=birth_materials(),
            ),
            staff,
        )
        from tongban.cases.services import case_hand_out

        case_hand_out(actor=staff.issuer, receipt_no=counter.receipt_no, note="本人领取")
    links = sorted(n.link for n in invites.exclude(link__contains=online.receipt_no))
    assert links == [
        f"/reviews/rate/{counter.receipt_no}/?subject=filing",
        f"/reviews/rate/{counter.receipt_no}/?subject=handout",
    ]


def test_a_case_rated_once_counts_its_order_only_for_the_department_it_belongs_to(resident, people):
    case = make_case(
        resident, tasks=(("item_a", "事项甲", "police"), ("item_b", "事项乙", "health"))
    )
    rate(resident, case, 1)
    stats = selectors.review_stats(by="department")
    rows = {r["code"]: (r["count"], r["orders"]) for r in stats["rows"]}
    # Both departments decided a task, so both carry the rating; only police owns the order.
    assert rows == {"health": (1, 0), "police": (1, 1)}
    assert (stats["total"]["count"], stats["total"]["orders"]) == (1, 1)
    items = {r["code"]: r["orders"] for r in selectors.review_stats(by="item")["rows"]}
    assert items == {"item_a": 1, "item_b": 0}


def test_order_views_never_carry_the_receipt_number(resident, people):
    """The staff who handle an order could look the case up at intake and learn the rater."""
    case = make_case(resident)
    rating = rate(resident, case, 1)
    rows = selectors.orders_for(user=people.lead)
    one = selectors.order_for(user=people.lead, order_id=rating.order.pk)
    assert case.receipt_no not in str(rows) + str(one)
    assert selectors.order_for(user=people.lead, order_id=10**30) is None


def test_a_hostile_rating_number_in_the_verdict_page_is_not_found(client, resident, people):
    """Was a 500 (the number overflowed the database integer)."""
    client.force_login(resident.user)
    response = client.post(
        "/me/reviews/99999999999999999999999/verdict/", {"verdict": "satisfied"}, follow=True
    )
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [str(RatingNotFound.message)]
