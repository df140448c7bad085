"""专项资金: a round's applications (cases of the policy's item filed for an enterprise within
its dates) scored by the department, published for 公示 with an objection period, objections
answered, then granted — and nobody outside the department's deciding posts doing any of it.

The round's dates are set around today, since the pages act on today."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from tongban.accounts.models import EnterpriseMembership, StaffAssignment, User
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    UserFactory,
)
from tongban.cases.models import Application
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice
from tongban.policies.models import FundObjection, FundRound, FundScore, PolicyGrant
from tongban.policies.tests.conftest import demo_definitions

pytestmark = pytest.mark.django_db
CODE = "SH-SCJ-P001"
ROUND = "2026-9"


@pytest.fixture
def fund(tmp_path):
    folder = demo_definitions(tmp_path / "definitions", keep={CODE})
    today = timezone.localdate()
    path = folder / "policies" / f"{CODE}.yaml"
    text = path.read_text(encoding="utf-8")
    rounds = (
        "fund_rounds:\n"
        f'  - code: "{ROUND}"\n'
        "    name: 测试批次\n"
        f"    opens: {today - dt.timedelta(days=30)}\n"
        f"    closes: {today - dt.timedelta(days=1)}\n"
        "    budget: 1000000\n"
        "    max_award: 600000\n"
        "    objection_days: 7\n"
    )
    text = re.sub(r"fund_rounds:\n(?:  .*\n)+", rounds, text)
    path.write_text(text, encoding="utf-8")
    catalog_load_directory(path=folder)
    department = Department.objects.get(code="SH-SCJ")
    people = {}
    for name, role in (("reviewer", "reviewer"), ("lead", "department_lead")):
        people[name] = UserFactory()
        StaffAssignment.objects.create(user=people[name], department=department, role=role)
    people["outsider"] = UserFactory()
    StaffAssignment.objects.create(
        user=people["outsider"], department=Department.objects.get(code="SH-MZJ"),
        role="department_lead",
    )  # fmt: skip
    cases = {}
    for key, days_ago in (("first", 10), ("second", 3), ("late", 0)):
        rep = UserFactory()
        company = EnterpriseFactory(name=f"示例{key}科技有限公司")
        EnterpriseMembershipFactory(
            user=rep, enterprise=company, role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
        )
        people[f"{key}_rep"] = rep
        cases[key] = Application.objects.create(
            receipt_no=f"F{len(cases):012d}", kind="item", code="SH-SCJ-0301", version=1,
            name="中小企业发展专项资金项目申报", applicant=rep, enterprise=company,
            lead_department=department, status="accepted", idempotency_key=key,
            request_fingerprint="f",
            submitted_at=timezone.now() - dt.timedelta(days=days_ago),
        )  # fmt: skip
    return people, cases


def _url(action: str = "", target: int | None = None) -> str:
    url = f"/staff/policies/{CODE}/funds/{ROUND}/"
    if action:
        url += f"{action}/"
    if target:
        url += f"{target}/"
    return url


def _login(client, user: User):
    client.force_login(user)


def test_scoring_publishing_objecting_and_granting(client, fund):
    people, cases = fund
    _login(client, people["reviewer"])
    page = client.get(_url()).content.decode()
    # Filed within the round's dates: the two; the one filed today (after it closed) is not.
    assert "示例first科技有限公司" in page and "示例second科技有限公司" in page
    assert "示例late科技有限公司" not in page and "评审中" in page

    refused = client.post(_url("score", cases["first"].pk), {"score": "90", "amount": "700000"})
    assert refused.status_code == 422 and "单个项目最高资助 600,000 元" in refused.content.decode()
    refused = client.post(_url("score", cases["first"].pk), {"score": "150", "amount": "1"})
    assert refused.status_code == 422 and "评审得分应为 0 至 100 的整数" in refused.content.decode()
    late = client.post(_url("score", cases["late"].pk), {"score": "80", "amount": "1"})
    assert late.status_code == 409
    assert not FundScore.objects.exists()

    saved = client.post(_url("score", cases["first"].pk), {"score": "90", "amount": "600000"})
    assert saved.status_code == 302
    # A reviewer may not publish; it is the lead's.
    assert client.post(_url("publish")).status_code == 404
    _login(client, people["lead"])
    unscored = client.post(_url("publish"))
    assert (
        unscored.status_code == 409 and "还有申报未评审：F000000000001" in unscored.content.decode()
    )
    client.post(
        _url("score", cases["second"].pk), {"score": "55", "amount": "0", "note": "创新性不足"}
    )
    assert client.post(_url("publish")).status_code == 302

    state = FundRound.objects.get()
    assert state.objection_until == timezone.localdate() + dt.timedelta(days=7)
    told = sorted(Notice.objects.filter(category="fund_result").values_list("recipient_id", "body"))
    assert [r for r, _ in told] == sorted([people["first_rep"].pk, people["second_rep"].pk])
    assert any("评审结果：拟资助 600,000.00 元" in body for _, body in told)
    assert any("评审结果：未获资助" in body for _, body in told)
    # Scores are final once published.
    again = client.post(_url("score", cases["second"].pk), {"score": "99", "amount": "1"})
    assert again.status_code == 409

    # 结果公示: public, with the objection form for whoever is signed in.
    client.logout()
    public = client.get(f"/policies/{CODE}/funds/{ROUND}/").content.decode()
    assert "结果公示中" in public and "拟资助 600,000.00 元" in public and "未获资助" in public
    assert (
        client.post(f"/policies/{CODE}/funds/{ROUND}/", {"text": "异议内容充分"}).status_code == 302
    )
    assert not FundObjection.objects.exists()
    _login(client, people["second_rep"])
    short = client.post(f"/policies/{CODE}/funds/{ROUND}/", {"text": "不服"})
    assert short.status_code == 422 and "5至1000字" in short.content.decode()
    client.post(
        f"/policies/{CODE}/funds/{ROUND}/", {"text": "我司项目已获两项发明专利，请复核创新性评分。"}
    )
    objection = FundObjection.objects.get()

    # Granting waits for the period and for the answer.
    _login(client, people["lead"])
    early = client.post(_url("grant"))
    assert early.status_code == 409 and "公示期满后才能下达资助" in early.content.decode()
    FundRound.objects.update(objection_until=timezone.localdate() - dt.timedelta(days=1))
    unanswered = client.post(_url("grant"))
    assert unanswered.status_code == 409 and "还有异议未答复" in unanswered.content.decode()
    client.post(
        _url("reply", objection.pk), {"reply": "经复核，专利未在项目中实施，维持原评审结果。"}
    )
    answered = Notice.objects.get(recipient=people["second_rep"], category="fund_objection_reply")
    assert answered.body == "实施部门答复：经复核，专利未在项目中实施，维持原评审结果。"
    assert client.post(_url("grant")).status_code == 302

    grants = PolicyGrant.objects.values_list("enterprise__name", "period", "amount")
    assert list(grants) == [("示例first科技有限公司", ROUND, Decimal("600000.00"))]
    assert (
        Notice.objects.filter(recipient=people["first_rep"], category="fund_granted").count() == 1
    )
    assert client.post(_url("grant")).status_code == 409  # granted once
    assert PolicyGrant.objects.count() == 1
    actions = list(
        AuditEvent.objects.filter(action__startswith="policies.fund").values_list(
            "action", flat=True
        )
    )
    assert sorted(set(actions)) == [
        "policies.fund_grant", "policies.fund_object", "policies.fund_objection_reply",
        "policies.fund_publish", "policies.fund_score",
    ]  # fmt: skip


def test_awards_over_the_budget_are_not_published(client, fund):
    people, cases = fund
    _login(client, people["lead"])
    for key in ("first", "second"):
        client.post(_url("score", cases[key].pk), {"score": "80", "amount": "600000"})
    refused = client.post(_url("publish"))
    assert refused.status_code == 409
    assert "拟资助合计 1,200,000.00 元，超过本批次预算 1,000,000 元" in refused.content.decode()
    assert FundRound.objects.get().published_at is None


def test_nobody_outside_the_department_sees_or_scores(client, fund):
    people, cases = fund
    for who in ("outsider", "first_rep"):
        _login(client, people[who])
        assert client.get(_url()).status_code == 404
        scored = client.post(_url("score", cases["first"].pk), {"score": "1", "amount": "0"})
        assert scored.status_code == 404
    assert not FundScore.objects.exists()
    # The round is listed on the policy's public page with where it stands.
    page = client.get(f"/policies/{CODE}/").content.decode()
    assert f'href="/policies/{CODE}/funds/{ROUND}/"' in page and "评审中" in page
