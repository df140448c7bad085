"""The demo seed: ratings that make the public figures page meaningful, idempotent."""

from __future__ import annotations

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.demo.reviews import COUNT, ensure_demo_reviews
from tongban.reviews.models import OrderStatus, Rating, WorkOrder
from tongban.reviews.selectors import review_stats


def test_demo_reviews_are_created_once(people):
    for _ in range(3):
        ResidentProfileFactory(is_synthetic=True)
    assert ensure_demo_reviews() == COUNT
    assert ensure_demo_reviews() == 0
    assert Rating.objects.count() == COUNT
    assert WorkOrder.objects.filter(status=OrderStatus.OPEN).count() >= 1
    assert review_stats()["total"]["count"] == COUNT
    assert WorkOrder.objects.count() == 5  # 3 rated 2 and 2 rated 1
    assert len(review_stats()["replies"]) == 1  # every department has an acceptor here


def test_demo_complaints_are_created_once(people):
    from tongban.demo.reviews import ensure_demo_complaints
    from tongban.reviews.models import Complaint
    from tongban.reviews.selectors import complaint_stats

    for _ in range(3):
        ResidentProfileFactory(is_synthetic=True)
    assert ensure_demo_complaints() == 4
    assert ensure_demo_complaints() == 0
    assert Complaint.objects.count() == 4
    assert Complaint.objects.filter(status="triage", source="hotline").count() == 1
    assert complaint_stats()["total"]["received"] == 4
    assert all("示例" in c.text for c in Complaint.objects.all())
