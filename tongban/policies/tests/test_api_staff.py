"""What the staff pages of 政策兑现 do, through /api/v1: figures, 资格复核, 变更预览, a 专项资金
round from scoring to grant (and its public results and objections), 待遇发放. Residents and
other departments are refused and nothing happens."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tongban.accounts.models import ResidentProfile
from tongban.accounts.tests.factories import ResidentProfileFactory, UserFactory
from tongban.catalog.services import catalog_load_directory
from tongban.common.models import AuditEvent
from tongban.policies import services
from tongban.policies.models import (
    EligibilityReview,
    FundObjection,
    FundRound,
    FundScore,
    PaymentBatch,
    PolicyGrant,
)
from tongban.policies.tests.test_funds import CODE, ROUND, fund  # noqa: F401 (a fixture)
from tongban.policies.tests.test_staff import _staff

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 3)
JSON = "application/json"


@pytest.fixture
def elders(db, eight_policies):
    catalog_load_directory(path=eight_policies)
    elder = ResidentProfileFactory(
        user=UserFactory(), name="王示例", birth_date=dt.date(1950, 5, 1), hukou_is_local=True
    )
    services.policy_match_run(today=TODAY, triggered_by="test")
    return elder


def test_figures_reviews_and_the_decision(client, elders):
    ResidentProfile.objects.filter(pk=elders.pk).update(hukou_is_local=False)
    services.policy_match_run(today=dt.date(2027, 1, 4), triggered_by="test")
    review = EligibilityReview.objects.get()
    client.force_login(elders.user)  # a resident: not staff
    assert client.get("/api/v1/staff/policies").status_code == 403
    refused = client.post(
        f"/api/v1/staff/policies/reviews/{review.pk}/decision",
        {"decision": "stopped", "note": "已迁出本市"},
        content_type=JSON,
    )
    assert refused.status_code == 403
    review.refresh_from_db()
    assert review.status == EligibilityReview.Status.PENDING

    lead = _staff("SH-MZJ", "department_lead")
    client.force_login(lead)
    figures = {f["code"]: f for f in client.get("/api/v1/staff/policies").json()}
    assert figures["SH-MZJ-P002"]["granted"] == 1
    assert figures["SH-MZJ-P002"]["pending_reviews"] == 1
    assert "SH-TYJ-P001" not in figures  # another department's
    (row,) = client.get("/api/v1/staff/policies/reviews").json()
    assert (row["id"], row["policy_code"], row["reason"]) == (
        review.pk, "SH-MZJ-P002", "差一项：本市户籍"
    )  # fmt: skip
    assert row["person"]["name"] == "王示例" and "id_number" not in row["person"]
    assert AuditEvent.objects.filter(
        action="personal_data.read", subject_resident_id=elders.pk
    ).exists()
    missing = client.post(
        f"/api/v1/staff/policies/reviews/{review.pk}/decision",
        {"decision": "stopped"},
        content_type=JSON,
    )
    assert missing.status_code == 422
    decided = client.post(
        f"/api/v1/staff/policies/reviews/{review.pk}/decision",
        {"decision": "stopped", "note": "已迁出本市"},
        content_type=JSON,
    )
    assert decided.json() == {"id": review.pk, "status": "stopped"}
    breakdown = client.get("/api/v1/staff/policies/SH-MZJ-P002").json()
    assert breakdown["district_label"] == "户籍区"
    assert [m["month"] for m in breakdown["by_month"]] == ["2026年12月", "2027年1月"]
    client.force_login(_staff("SH-GA", "department_lead"))
    assert client.get("/api/v1/staff/policies/SH-MZJ-P002").status_code == 404


def test_whatif_through_the_api(client, elders):
    lead = _staff("SH-MZJ", "department_lead")
    client.force_login(lead)
    from tongban.policies.tests.conftest import DEMO

    text = (DEMO / "policies" / "SH-MZJ-P002.yaml").read_text(encoding="utf-8")
    changed = text.replace("value: 80\n", "value: 71\n")  # 70–70: the elder (76) drops out
    body = client.post(
        "/api/v1/staff/policies/SH-MZJ-P002/whatif", {"definition": changed}, content_type=JSON
    ).json()
    (row,) = [r for r in body if r["code"] == "SH-MZJ-P002"]
    assert (row["gained"], row["lost"], row["eligible_after"]) == (0, 1, 0)
    client.force_login(_staff("SH-GA", "department_lead"))
    other = client.post(
        "/api/v1/staff/policies/SH-MZJ-P002/whatif", {"definition": changed}, content_type=JSON
    )
    assert other.status_code == 404


def test_a_fund_round_from_scoring_to_grant(client, fund):  # noqa: F811
    people, cases = fund
    base = f"/api/v1/staff/policies/{CODE}/funds/{ROUND}"
    client.force_login(people["outsider"])
    assert client.get(f"{base}/applications").status_code == 404
    score = {"score": 90, "amount": "600000"}
    refused = client.post(
        f"{base}/applications/{cases['first'].pk}/score", score, content_type=JSON
    )
    assert refused.status_code == 404 and not FundScore.objects.exists()

    client.force_login(people["reviewer"])
    rows = client.get(f"{base}/applications").json()
    assert [r["enterprise_name"] for r in rows] == [
        "示例first科技有限公司",
        "示例second科技有限公司",
    ]
    too_much = {"score": 90, "amount": "700000"}
    over = client.post(
        f"{base}/applications/{cases['first'].pk}/score", too_much, content_type=JSON
    )
    assert over.status_code == 422
    for key, body in (("first", score), ("second", {"score": 55, "amount": "0", "note": "不足"})):
        saved = client.post(f"{base}/applications/{cases[key].pk}/score", body, content_type=JSON)
        assert saved.json() == {"done": 1}
    assert client.post(f"{base}/publish").status_code == 404  # the lead's
    client.force_login(people["lead"])
    assert client.post(f"{base}/publish").json() == {"done": 1}

    public = client.get(f"/api/v1/policies/{CODE}/funds/{ROUND}").json()
    assert public["status"] == "publicised"
    assert public["results"] == [
        {"enterprise_name": "示例first科技有限公司", "score": 90, "amount": "600000.00"},
        {"enterprise_name": "示例second科技有限公司", "score": 55, "amount": "0.00"},
    ]
    client.logout()
    objection = {"text": "我司项目已获两项发明专利，请复核。"}
    url = f"/api/v1/policies/{CODE}/funds/{ROUND}/objections"
    assert client.post(url, objection, content_type=JSON).status_code == 401
    client.force_login(people["second_rep"])
    raised = client.post(url, objection, content_type=JSON).json()
    assert FundObjection.objects.get().pk == raised["id"]

    client.force_login(people["lead"])
    FundRound.objects.update(objection_until=timezone.localdate() - dt.timedelta(days=1))
    assert client.post(f"{base}/grant").status_code == 409  # the objection is unanswered
    reply = {"reply": "经复核，维持原评审结果。"}
    answered = client.post(
        f"/api/v1/staff/policies/fund-objections/{raised['id']}/reply", reply, content_type=JSON
    )
    assert answered.json() == {"done": 1}
    assert client.post(f"{base}/grant").json() == {"done": 1}
    assert list(PolicyGrant.objects.values_list("enterprise__name", "amount")) == [
        ("示例first科技有限公司", Decimal("600000.00"))
    ]


def test_payments_through_the_api(client, elders):
    lead = _staff("SH-MZJ", "department_lead")
    reviewer = _staff("SH-MZJ", "reviewer")
    base = "/api/v1/staff/policies/SH-MZJ-P002/payments"
    client.force_login(reviewer)
    assert client.get(base).status_code == 404
    assert client.post(base, {"period": "2026-12"}, content_type=JSON).status_code == 404
    assert not PaymentBatch.objects.exists()

    client.force_login(lead)
    overview = client.get(base).json()
    assert overview["pays_to"] == "本人社会保障卡"
    assert overview["waiting"] == [
        {"period": "2026-12", "period_label": "2026年12月", "count": 1, "total": "150.00"}
    ]
    made = client.post(base, {"period": "2026-12"}, content_type=JSON).json()
    assert (made["number"], made["count"], made["total"], made["paid_at"]) == (
        "SH-MZJ-P002-2026-12-01", 1, "150.00", None
    )  # fmt: skip
    again = client.post(base, {"period": "2026-12"}, content_type=JSON)
    assert (again.status_code, again.json()["code"]) == (409, "PAYMENT_NOTHING_TO_PAY")
    csv_file = client.get(f"{base}/{made['number']}/file")
    assert csv_file["Content-Type"] == "text/csv; charset=utf-8"
    assert elders.id_number in csv_file.content.decode("utf-8-sig")
    paid = client.post(f"{base}/{made['number']}/paid").json()
    assert paid["paid_at"] is not None
    client.force_login(elders.user)
    mine = client.get("/api/v1/me/policies").json()
    (granted,) = [r for r in mine["eligible"] if r["policy"]["code"] == "SH-MZJ-P002"]
    grant = granted["grant"]
    assert (grant["status"], grant["payment"]) == ("granted", "paid")
    assert (
        grant["receipt_no"] == PolicyGrant.objects.get(policy__code="SH-MZJ-P002").case.receipt_no
    )


def test_the_owners_figures_count_each_step_by_district_and_month(client, elders):
    services.policy_grant_decline(user=elders.user, code="SH-MZJ-P002")
    client.force_login(_staff("SH-MZJ", "department_lead"))
    body = client.get("/api/v1/staff/policies/SH-MZJ-P002").json()
    district = dict(elders._meta.get_field("hukou_district").choices)[elders.hukou_district]
    assert body["by_district"] == [
        {"district": district, "eligible": 1, "told": 1, "applied": 0, "granted": 0,
         "declined": 1},
    ]  # fmt: skip
    totals = {k: sum(r[k] for r in body["by_month"]) for k in ("eligible", "told", "declined")}
    assert totals == {"eligible": 1, "told": 1, "declined": 1}
    # The grant declined before it was paid is no longer counted as granted.
    assert sum(r["granted"] for r in body["by_month"]) == 0
