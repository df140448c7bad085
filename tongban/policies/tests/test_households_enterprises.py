"""政策找人 over households (counts and averages over a 户's members) and 惠企政策 over
enterprises (一企一档): the batch run, one record re-matched when its data changes, amounts by
formula, notices to an enterprise's members, declining, and the pages and API a member uses.

The policies here are written for the test (a copy of the demo catalog with only them), so
what is asserted does not move when the demo city's policies do."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.services import enterprise_update, household_form
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
    UserFactory,
)
from tongban.catalog.errors import CatalogInvalid
from tongban.catalog.services import catalog_load_directory
from tongban.notifications.models import Notice
from tongban.policies import services
from tongban.policies.errors import DeclineNeedsLegalRepresentative, NothingToDecline
from tongban.policies.models import EligibilityReview, PolicyGrant, PolicyMatch, PolicyRun
from tongban.policies.rules import age_reference

pytestmark = pytest.mark.django_db
DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"
# Today, as the hooks that match a household when it is recorded take it.
TODAY = timezone.localdate()
NEXT_AUGUST_31 = age_reference({"as_of": "08-31"}, TODAY)
SIX_BY_AUGUST = dt.date(NEXT_AUGUST_31.year - 6, 3, 15)  # six by the next 31 August
SEVEN_BY_AUGUST = dt.date(NEXT_AUGUST_31.year - 7, 8, 31)  # a year older: not starting school
ACTOR = "system:test"

HEADER = "# 示例 — 测试用政策。\n"
SCHOOL = """
code: SH-JW-P901
name: 入学提醒（测试）
department: SH-JW
legal_basis: {document: 示例教委规〔2026〕1号, article: 第三条}
subject: resident
mode: push
summary: 家中有明年8月31日前满6周岁的孩子，提醒父母办理入学信息登记。
benefit: {text: 提醒办理适龄儿童入学信息登记}
item: SH-JW-0102
valid_from: 2026-01-01
eligibility:
  all:
    - element: resident.household_relation
      op: in
      value: [head, spouse]
      text: 户主或其配偶
    - household:
        count: {age_of: applicant.birth_date, as_of: "08-31", op: eq, value: 6, text: 满6周岁}
      op: ge
      value: 1
      text: 家中有将满6周岁的孩子
"""
POOR = """
code: SH-MZJ-P901
name: 低收入家庭生活补助（测试）
department: SH-MZJ
legal_basis: {document: 示例民政规〔2026〕9号, article: 第二条}
subject: resident
mode: automatic
summary: 家庭人均月收入不高于1510元的本市户籍家庭，按月补助。
benefit: {text: 每月 300 元, amount: 300, unit: 元/月, period: monthly}
valid_from: 2026-01-01
eligibility:
  all:
    - element: resident.hukou_is_local
      op: is_true
      text: 本市户籍
    - household: {mean: resident.monthly_income}
      op: le
      value: 1510
      text: 家庭人均月收入不高于1510元
"""
KEEP_STAFF = """
code: SH-RSJ-P901
name: 稳岗返还（测试）
department: SH-RSJ
legal_basis: {document: 示例人社规〔2026〕9号, article: 第四条}
subject: enterprise
mode: automatic
summary: 上年度裁员率不高于5.5%的存续企业，按参保职工每人600元返还，最高5万元。
benefit:
  text: 按参保职工每人 600 元返还失业保险费，最高 5 万元
  formula: {min: [{mul: [{element: enterprise.insured_headcount}, 600]}, 50000]}
  unit: 元
  period: yearly
valid_from: 2026-01-01
eligibility:
  all:
    - element: enterprise.status
      op: eq
      value: active
      text: 登记状态为存续
    - element: enterprise.layoff_rate
      op: le
      value: 5.5
      text: 上年度裁员率不高于5.5%
      hint: 稳定就业岗位，来年可再核对
"""
HIGH_TECH = """
code: SH-KW-P901
name: 高新技术企业研发补贴（测试）
department: SH-SCJ
legal_basis: {document: 示例科委规〔2026〕9号, article: 第五条}
subject: enterprise
mode: push
summary: 本市高新技术企业可申请研发费用补贴。
benefit: {text: 按研发投入的10%补贴}
item: SH-SCJ-0101
valid_from: 2026-01-01
eligibility:
  all:
    - element: enterprise.is_high_tech
      op: is_true
      text: 高新技术企业
      hint: 先申请高新技术企业认定
    - age_of: enterprise.founded_on
      op: ge
      value: 1
      text: 成立满1年
"""


def _catalog(tmp_path: Path, *policies: str) -> Path:
    folder = tmp_path / "definitions"
    shutil.copytree(DEMO, folder)
    for old in (folder / "policies").iterdir():
        old.unlink()
    (folder / "lexicon" / "policies.yaml").unlink()  # its words are for the demo's policies
    for text in policies:
        code = text.split("code: ")[1].split("\n")[0]
        (folder / "policies" / f"{code}.yaml").write_text(HEADER + textwrap.dedent(text))
    return folder


@pytest.fixture
def catalog(tmp_path):
    catalog_load_directory(path=_catalog(tmp_path, SCHOOL, POOR, KEEP_STAFF, HIGH_TECH))


def _open(code: str, field: str = "profile_id") -> set[int]:
    return set(
        PolicyMatch.objects.filter(policy__code=code, ended_at__isnull=True).values_list(
            field, flat=True
        )
    )


def _family(number: str, *, incomes=(9000, 6000, 0), child_born=SIX_BY_AUGUST):
    mother = ResidentProfileFactory(birth_date=dt.date(1992, 1, 1), monthly_income=incomes[0])
    father = ResidentProfileFactory(birth_date=dt.date(1990, 1, 1), monthly_income=incomes[1])
    child = ResidentProfileFactory(user=None, birth_date=child_born, monthly_income=incomes[2])
    household_form(
        actor=ACTOR,
        number=number,
        district="310104",
        members=[(mother, "head"), (father, "spouse"), (child, "child")],
    )
    return mother, father, child


def test_household_conditions_find_the_parents_and_the_poor_household(catalog):
    mother, father, child = _family("T1", incomes=(1500, 1200, 0))
    # Six on the next 31 August is born 1 September to 31 August six years earlier; this
    # child is a year older.
    other = _family("T2", child_born=SEVEN_BY_AUGUST)
    alone = ResidentProfileFactory(birth_date=dt.date(1960, 1, 1), monthly_income=900)

    services.policy_match_run(today=TODAY, triggered_by="test")

    assert _open("SH-JW-P901") == {mother.pk, father.pk}
    # 2,700 for three: 900 a head. The other family earns 5,000 a head; whoever has no
    # household recorded cannot be judged on a household's income.
    assert _open("SH-MZJ-P901") == {mother.pk, father.pk, child.pk}
    assert alone.pk not in _open("SH-MZJ-P901") and other[0].pk not in _open("SH-JW-P901")
    grants = PolicyGrant.objects.filter(policy__code="SH-MZJ-P901")
    assert sorted(grants.values_list("profile_id", "period", "amount")) == [
        (p.pk, TODAY.strftime("%Y-%m"), Decimal("300.00"))
        for p in sorted((mother, father, child), key=lambda p: p.pk)
    ]


def test_both_engines_agree_on_households_and_enterprises(catalog):
    _family("T1", incomes=(1500, 1200, 0))
    _family("T2")
    EnterpriseFactory(insured_headcount=10, layoff_rate=Decimal("5.5"), is_high_tech=True)
    EnterpriseFactory(insured_headcount=10, layoff_rate=Decimal("5.51"))
    first = services.policy_match_run(today=TODAY, engine="polars")
    PolicyGrant.objects.all().delete()
    PolicyMatch.objects.all().delete()
    second = services.policy_match_run(today=TODAY, engine="sql")
    assert (
        {c: v["eligible"] for c, v in first.counts.items()}
        == {c: v["eligible"] for c, v in second.counts.items()}
        == {"SH-JW-P901": 4, "SH-MZJ-P901": 3, "SH-RSJ-P901": 1, "SH-KW-P901": 1}
    )


def test_a_birthday_in_the_household_is_found_when_the_family_is_recorded(catalog):
    services.policy_match_run(today=TODAY)
    # Recorded after the run: the hook matches every member at once, and tells the parents.
    mother, father, _ = _family("T3")
    assert _open("SH-JW-P901") == {mother.pk, father.pk}
    titles = set(Notice.objects.values_list("recipient_id", "title"))
    assert (mother.user_id, "您可能符合“入学提醒（测试）”") in titles
    assert (father.user_id, "您可能符合“入学提醒（测试）”") in titles


def test_an_enterprise_is_granted_by_formula_and_its_members_are_told(catalog):
    rep, agent = UserFactory(), UserFactory()
    company = EnterpriseFactory(insured_headcount=12, layoff_rate=Decimal("2.00"))
    big = EnterpriseFactory(insured_headcount=400, layoff_rate=Decimal("0"))
    EnterpriseMembershipFactory(
        user=rep, enterprise=company, role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    )
    EnterpriseMembershipFactory(
        user=agent, enterprise=company, role=EnterpriseMembership.Role.AGENT
    )

    run = services.policy_match_run(today=TODAY, triggered_by="test")
    services.policy_match_run(today=TODAY, triggered_by="test again")

    assert _open("SH-RSJ-P901", "enterprise_id") == {company.pk, big.pk}
    grants = PolicyGrant.objects.filter(policy__code="SH-RSJ-P901")
    assert sorted(grants.values_list("enterprise_id", "period", "amount")) == sorted(
        [
            (company.pk, str(TODAY.year), Decimal("7200.00")),
            (big.pk, str(TODAY.year), Decimal("50000.00")),
        ]
    )
    assert run.counts["SH-RSJ-P901"]["told"] == 1  # the big one has no member to tell
    notices = sorted(Notice.objects.values_list("recipient_id", "category", "title", "link"))
    link = f"/enterprise/{company.pk}/policies/#policy-SH-RSJ-P901"
    title = f"已为{company.name}自动办理“稳岗返还（测试）”"
    assert notices == sorted(
        [
            (rep.pk, "policy_granted_enterprise", title, link),
            (agent.pk, "policy_granted_enterprise", title, link),
        ]
    )


def test_only_the_legal_representative_declines_for_the_enterprise(catalog):
    rep, agent, stranger = UserFactory(), UserFactory(), UserFactory()
    company = EnterpriseFactory(insured_headcount=5, layoff_rate=Decimal("0"))
    EnterpriseMembershipFactory(
        user=rep, enterprise=company, role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    )
    EnterpriseMembershipFactory(
        user=agent, enterprise=company, role=EnterpriseMembership.Role.AGENT
    )
    services.policy_match_run(today=TODAY)
    with pytest.raises(DeclineNeedsLegalRepresentative):
        services.policy_grant_decline(user=agent, code="SH-RSJ-P901", enterprise_id=company.pk)
    with pytest.raises(NothingToDecline):
        services.policy_grant_decline(user=stranger, code="SH-RSJ-P901", enterprise_id=company.pk)
    assert set(PolicyGrant.objects.values_list("status", flat=True)) == {"granted"}

    assert services.policy_grant_decline(user=rep, code="SH-RSJ-P901", enterprise_id=company.pk)
    assert set(PolicyGrant.objects.values_list("status", flat=True)) == {"declined"}


def test_an_enterprise_that_laid_off_staff_is_reviewed_not_cut(catalog, client):
    company = EnterpriseFactory(insured_headcount=30, layoff_rate=Decimal("1.00"))
    services.policy_match_run(today=TODAY)
    enterprise_update(actor=ACTOR, enterprise=company, changes={"layoff_rate": Decimal("9.00")})
    review = EligibilityReview.objects.get()
    assert review.match.enterprise_id == company.pk
    assert review.reason == "差一项：上年度裁员率不高于5.5%"
    assert _open("SH-RSJ-P901", "enterprise_id") == {company.pk}  # open until decided

    # The department's lead sees the enterprise (not a person) and stops it; its members
    # are told why.
    from tongban.accounts.models import StaffAssignment
    from tongban.catalog.models import Department

    rep = UserFactory()
    EnterpriseMembershipFactory(
        user=rep, enterprise=company, role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    )
    lead = UserFactory()
    StaffAssignment.objects.create(
        user=lead, department=Department.objects.get(code="SH-RSJ"), role="department_lead"
    )
    client.force_login(lead)
    page = client.get("/staff/policies/").content.decode()
    assert f"<dt>企业名称</dt><dd>{company.name}</dd>" in page
    answer = client.post(
        f"/staff/policies/reviews/{review.pk}/", {"decision": "stopped", "note": "上年度裁员率9%"}
    )
    assert answer.status_code == 302
    assert _open("SH-RSJ-P901", "enterprise_id") == set()
    notice = Notice.objects.get(recipient=rep, category="policy_stopped")
    assert "理由：上年度裁员率9%" in notice.body


def test_members_see_their_enterprise_policies_and_nobody_else_does(catalog, client):
    agent = UserFactory()
    company = EnterpriseFactory(
        insured_headcount=12, layoff_rate=Decimal("0"), is_high_tech=False, agents=[agent]
    )
    services.policy_match_run(today=TODAY)
    client.force_login(agent)
    body = client.get(f"/api/v1/enterprises/{company.pk}/policies").json()
    assert [(r["policy"]["code"], r["amount"]) for r in body["eligible"]] == [
        ("SH-RSJ-P901", "7200.00")
    ]
    assert body["eligible"][0]["explanation"] == (
        "符合：登记状态为存续（存续）；上年度裁员率不高于5.5%（0）"
    )
    assert [(r["policy"]["code"], r["hint"]) for r in body["nearly"]] == [
        ("SH-KW-P901", "先申请高新技术企业认定")
    ]
    page = client.get(f"/enterprise/{company.pk}/policies/").content.decode()
    assert "稳岗返还（测试）" in page and "核定金额：<strong>7,200.00 元</strong>" in page
    assert "可由法定代表人放弃" in page
    assert (
        f'href="/enterprise/{company.pk}/policies/"'
        in client.get(f"/enterprise/?enterprise={company.pk}").content.decode()
    )

    other = EnterpriseFactory()
    assert client.get(f"/api/v1/enterprises/{other.pk}/policies").status_code == 404
    assert client.get(f"/enterprise/{other.pk}/policies/").status_code == 404
    answer = client.post(f"/api/v1/enterprises/{company.pk}/policies/SH-RSJ-P901/decline")
    assert answer.status_code == 403
    assert answer.json()["code"] == "POLICY_DECLINE_LEGAL_REP_ONLY"


def test_a_rule_reading_what_the_subject_record_does_not_hold_is_refused(tmp_path):
    wrong = KEEP_STAFF.replace("SH-RSJ-P901", "SH-RSJ-P902").replace(
        "enterprise.layoff_rate", "resident.monthly_income"
    )
    with pytest.raises(CatalogInvalid) as raised:
        catalog_load_directory(path=_catalog(tmp_path, wrong))
    assert "数据元 resident.monthly_income 不在一企一档中，无法比对" in str(raised.value.details)


def test_a_policy_on_application_is_never_pushed(tmp_path):
    on_application = (
        SCHOOL.replace("SH-JW-P901", "SH-JW-P902")
        .replace("mode: push", "mode: on_application")
        .replace("入学提醒（测试）", "入学登记（测试）")
    )
    catalog_load_directory(path=_catalog(tmp_path, on_application))
    mother, father, _ = _family("T9")
    run = services.policy_match_run(today=TODAY)
    assert _open("SH-JW-P902") == {mother.pk, father.pk}
    assert not Notice.objects.exists() and run.counts["SH-JW-P902"]["told"] == 0
    # Matched again with nothing changed: nothing is written, not even a run.
    runs = PolicyRun.objects.count()
    assert services.policy_match_person(profile_id=mother.pk, today=TODAY) is None
    assert PolicyRun.objects.count() == runs


def test_the_minimum_living_allowance_is_worked_out_over_the_household(tmp_path):
    from tongban.policies.selectors import policies_for_resident
    from tongban.policies.tests.conftest import demo_definitions

    catalog_load_directory(path=demo_definitions(tmp_path / "d", keep={"SH-MZJ-P008"}))
    head = ResidentProfileFactory(birth_date=dt.date(1978, 9, 21), monthly_income=2000)
    daughter = ResidentProfileFactory(birth_date=dt.date(2008, 3, 1), monthly_income=400)
    household_form(
        actor=ACTOR, number="T9", district="310104", members=[(head, "head"), (daughter, "child")]
    )
    (found,) = [m for m in policies_for_resident(profile=head) if m.policy.code == "SH-MZJ-P008"]
    # 1,200 a head for two: (1,420 − 1,200) × 2.
    assert found.outcome.holds and found.amount == Decimal("440.00")
    (other,) = [
        m for m in policies_for_resident(profile=daughter) if m.policy.code == "SH-MZJ-P008"
    ]
    assert not other.outcome.holds and other.amount is None  # not the head
