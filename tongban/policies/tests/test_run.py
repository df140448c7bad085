"""The batch run over the population: matches, 免申即享 grants once per period, notices within
the weekly limit, reviews instead of silent cuts, the two engines agreeing, a broken policy
stopping only itself."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.accounts.models import ResidentProfile
from tongban.accounts.tests.factories import ResidentProfileFactory, UserFactory
from tongban.catalog.services import catalog_load_directory
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice
from tongban.policies import services
from tongban.policies.errors import NothingToDecline
from tongban.policies.models import EligibilityReview, PolicyGrant, PolicyMatch, PolicyRun

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 3)


@pytest.fixture(autouse=True)
def demo_catalog(db, eight_policies):
    catalog_load_directory(path=eight_policies)


@pytest.fixture
def people(db):
    return {
        "elder": ResidentProfileFactory(
            user=UserFactory(), birth_date=dt.date(1950, 5, 1), hukou_is_local=True
        ),
        "elder_no_account": ResidentProfileFactory(
            user=None, birth_date=dt.date(1940, 5, 1), hukou_is_local=True
        ),
        "outsider": ResidentProfileFactory(
            user=UserFactory(), birth_date=dt.date(1950, 5, 1), hukou_is_local=False
        ),
        "disabled": ResidentProfileFactory(
            user=UserFactory(), birth_date=dt.date(1980, 1, 1), disability_grade=1,
            hukou_is_local=True, is_low_income=True,
        ),
    }  # fmt: skip


def _open(code: str) -> set[int]:
    return set(
        PolicyMatch.objects.filter(policy__code=code, ended_at__isnull=True).values_list(
            "profile_id", flat=True
        )
    )


def test_a_run_finds_grants_and_tells_once(people):
    run = services.policy_match_run(today=TODAY, triggered_by="test")
    assert run.status == PolicyRun.Status.DONE
    elder, disabled = people["elder"], people["disabled"]
    assert _open("SH-MZJ-P002") == {elder.pk}  # 70–79
    assert _open("SH-MZJ-P003") == {people["elder_no_account"].pk}  # 80–89
    assert _open("SH-MZJ-P005") == _open("SH-MZJ-P006") == {disabled.pk}
    assert run.counts["SH-MZJ-P002"] == {
        "eligible": 1, "new": 1, "ended": 0, "reviews": 0, "granted": 1, "told": 1, "error": "",
    }  # fmt: skip
    grants = PolicyGrant.objects.values_list("policy__code", "profile_id", "period")
    assert sorted(grants) == [
        ("SH-MZJ-P002", elder.pk, "2026-12"),
        ("SH-MZJ-P003", people["elder_no_account"].pk, "2026-12"),
    ]
    notices = sorted(Notice.objects.values_list("recipient_id", "category", "title"))
    assert notices == sorted(
        [
            (elder.user_id, "policy_granted", "已为您自动办理“老年综合津贴（70至79周岁）”"),
            (disabled.user_id, "policy_eligible", "您可能符合“困难残疾人生活补贴”"),
            (disabled.user_id, "policy_eligible", "您可能符合“重度残疾人护理补贴”"),
            (disabled.user_id, "policy_eligible", "您可能符合“低收入家庭医疗救助”"),
        ]
    )
    assert AuditEvent.objects.filter(action="policies.match").count() == 8

    # The same day again: nothing new, nothing granted twice, nobody told twice.
    again = services.policy_match_run(today=TODAY, triggered_by="test")
    assert {c["new"] + c["granted"] + c["told"] for c in again.counts.values()} == {0}
    assert PolicyGrant.objects.count() == 2 and Notice.objects.count() == 4
    # Next month: the monthly allowance is granted again, and only that.
    services.policy_match_run(today=dt.date(2027, 1, 4), triggered_by="test")
    assert PolicyGrant.objects.filter(period="2027-01").count() == 2
    assert Notice.objects.count() == 4


def test_pushes_are_limited_per_person_per_week(people, settings):
    settings.TONGBAN_POLICY_PUSHES_PER_WEEK = 2
    services.policy_match_run(today=TODAY, triggered_by="test")
    disabled = people["disabled"]
    assert Notice.objects.filter(recipient=disabled.user).count() == 2
    waiting = PolicyMatch.objects.filter(profile=disabled, told=False)
    assert waiting.count() == 1  # told by a later run, once the week allows
    Notice.objects.filter(recipient=disabled.user).update(
        created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    )
    services.policy_match_run(today=TODAY, triggered_by="test")
    assert Notice.objects.filter(recipient=disabled.user).count() == 3
    assert not waiting.exists()


def test_lost_eligibility_of_a_grant_is_reviewed_never_cut(people):
    services.policy_match_run(today=TODAY, triggered_by="test")
    elder = people["elder"]
    ResidentProfile.objects.filter(pk=elder.pk).update(hukou_is_local=False)
    run = services.policy_match_run(today=dt.date(2027, 1, 4), triggered_by="test")
    assert run.counts["SH-MZJ-P002"]["reviews"] == 1
    review = EligibilityReview.objects.get()
    assert (review.status, review.reason, review.match.profile_id) == (
        "pending",
        "差一项：本市户籍",
        elder.pk,
    )
    assert _open("SH-MZJ-P002") == {elder.pk}  # still paid while a person decides
    assert PolicyGrant.objects.filter(profile=elder, period="2027-01").exists()
    services.policy_match_run(today=dt.date(2027, 1, 5), triggered_by="test")
    assert EligibilityReview.objects.count() == 1


def test_push_matches_end_when_no_longer_eligible(people):
    services.policy_match_run(today=TODAY, triggered_by="test")
    disabled = people["disabled"]
    ResidentProfile.objects.filter(pk=disabled.pk).update(is_low_income=False)
    run = services.policy_match_run(today=TODAY, triggered_by="test")
    assert run.counts["SH-MZJ-P005"]["ended"] == 1
    assert _open("SH-MZJ-P005") == set() and _open("SH-MZJ-P006") == {disabled.pk}


def test_the_sql_engine_finds_the_same_people(people):
    for n in range(40):
        ResidentProfileFactory(
            birth_date=dt.date(1930 + n, 1 + n % 12, 1 + n % 28),
            hukou_is_local=n % 3 != 0,
            disability_grade=[None, 1, 2, 3, 4][n % 5],
            is_low_income=n % 4 == 0,
            is_minimum_living_allowance=n % 7 == 0,
            is_veteran=n % 6 == 0,
        )
    services.policy_match_run(today=TODAY, engine="polars", triggered_by="test")
    by_polars = {c: _open(c) for c in PolicyMatch.objects.values_list("policy__code", flat=True)}
    PolicyMatch.objects.all().update(ended_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    services.policy_match_run(today=TODAY, engine="sql", triggered_by="test")
    by_sql = {c: _open(c) for c in by_polars}
    assert by_sql == by_polars
    assert sum(len(v) for v in by_polars.values()) > 10


def test_a_policy_that_cannot_be_evaluated_stops_only_itself(people, monkeypatch):
    real = services.to_polars

    def broken(node, columns, today):
        if "resident.is_veteran" in repr(node):  # only 退役军人优待证 reads it
            raise services.NotCompilable("测试：无法比对")
        return real(node, columns, today)

    monkeypatch.setattr(services, "to_polars", broken)
    run = services.policy_match_run(today=TODAY, triggered_by="test")
    assert run.counts["SH-TYJ-P001"]["error"] == "测试：无法比对"
    assert run.counts["SH-MZJ-P002"]["eligible"] == 1
    assert run.status == PolicyRun.Status.DONE


def test_the_holder_may_decline_a_grant(people):
    services.policy_match_run(today=TODAY, triggered_by="test")
    elder = people["elder"]
    assert services.policy_grant_decline(user=elder.user, code="SH-MZJ-P002") == 1
    with pytest.raises(NothingToDecline):
        services.policy_grant_decline(user=elder.user, code="SH-MZJ-P002")
    with pytest.raises(NothingToDecline):
        services.policy_grant_decline(user=people["outsider"].user, code="SH-MZJ-P002")
    services.policy_match_run(today=dt.date(2027, 1, 4), triggered_by="test")
    assert not PolicyGrant.objects.filter(profile=elder, period="2027-01").exists()
    assert AuditEvent.objects.filter(action="policies.grant_decline").count() == 1


def test_one_person_is_rematched_when_their_profile_changes(people):
    from tongban.accounts.services import resident_profile_update

    services.policy_match_run(today=TODAY, triggered_by="test")
    outsider = people["outsider"]
    assert not PolicyMatch.objects.filter(profile=outsider).exists()
    before = AuditEvent.objects.filter(action="policies.match").count()
    resident_profile_update(actor="system:test", profile=outsider, changes={"hukou_is_local": True})
    # In the same transaction as the change: matched, granted, told.
    match = PolicyMatch.objects.get(profile=outsider, ended_at__isnull=True)
    assert (match.policy.code, match.told) == ("SH-MZJ-P002", True)
    assert PolicyGrant.objects.filter(profile=outsider).count() == 1
    assert Notice.objects.filter(recipient=outsider.user, category="policy_granted").count() == 1
    # One audit row for the one policy that changed, naming the person.
    rows = AuditEvent.objects.filter(action="policies.match").order_by("-id")
    assert rows.count() == before + 1
    assert rows[0].subject_resident_id == outsider.pk
    # Nobody else was touched.
    assert PolicyMatch.objects.count() == 6


def test_rematching_someone_whose_situation_did_not_change_writes_nothing(
    people, django_assert_max_num_queries
):
    services.policy_match_run(today=TODAY, triggered_by="test")
    runs = PolicyRun.objects.count()
    # Reads only: the profile, the policies in force, its matches, its grants, the catalog.
    with django_assert_max_num_queries(5):
        assert services.policy_match_person(profile_id=people["elder"].pk, today=TODAY) is None
    assert PolicyRun.objects.count() == runs


def test_whatif_previews_a_changed_rule_by_district_and_changes_nothing(
    people, tmp_path, eight_policies
):
    import shutil
    from io import StringIO

    from django.core.management import call_command

    services.policy_match_run(today=dt.date.today(), triggered_by="test")
    ResidentProfile.objects.filter(pk=people["elder"].pk).update(hukou_district="310104")
    folder = tmp_path / "defs"
    shutil.copytree(eight_policies, folder)
    # The 70–79 band opened to non-local residents with a 居住证.
    path = folder / "policies" / "SH-MZJ-P002.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "    - element: resident.hukou_is_local\n      op: is_true\n      text: 本市户籍\n",
            "    - any:\n"
            "        - element: resident.hukou_is_local\n          op: is_true\n"
            "          text: 本市户籍\n"
            "        - element: resident.has_residence_permit\n          op: is_true\n"
            "          text: 持有本市居住证\n",
        ),
        encoding="utf-8",
    )
    ResidentProfile.objects.filter(pk=people["outsider"].pk).update(
        has_residence_permit=True, hukou_district=""
    )
    matches_before = PolicyMatch.objects.count()
    report = services.policy_whatif(path=folder)
    assert report == [
        {
            "code": "SH-MZJ-P002",
            "name": "老年综合津贴（70至79周岁）",
            "subject": "resident",
            "is_new": False,
            "eligible_after": 2,
            "gained": 1,
            "lost": 0,
            "by_district": {"未登记户籍区": {"gained": 1, "lost": 0}},
        }
    ]
    assert PolicyMatch.objects.count() == matches_before
    out = StringIO()
    call_command("policies_whatif", str(folder), stdout=out)
    assert out.getvalue().splitlines() == [
        "SH-MZJ-P002 老年综合津贴（70至79周岁）：变更后符合 2 人，新增 1 人，不再符合 0 人",
        "  未登记户籍区：新增 1，不再符合 0",
    ]
    out = StringIO()
    call_command("policies_whatif", str(eight_policies), stdout=out)
    assert out.getvalue() == "没有资格条件发生变化的政策。\n"


def test_the_daily_sweep_runs_once_a_day_whatever_single_people_were_rematched(people):
    from django.utils import timezone

    from tongban.accounts.services import resident_profile_update

    resident_profile_update(
        actor="system:test", profile=people["outsider"], changes={"hukou_is_local": True}
    )
    today = timezone.localdate()
    assert PolicyRun.objects.filter(engine="person", evaluated_on=today).exists()
    now = dt.datetime.now(dt.UTC)
    assert services.daily_match_sweep(now, today)["runs"] == 1
    assert services.daily_match_sweep(now, today) == {"runs": 0}
    assert PolicyRun.objects.filter(engine="polars").count() == 1
