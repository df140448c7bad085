"""The source check through the real exchange (source_query), against the demo
居民经济状况核对系统, which the platform answers in process from 一人一档."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import yaml

from tongban.commitment_checks import services
from tongban.commitment_checks.models import CommitmentCheck
from tongban.commitment_checks.tests.conftest import DEMO, concluded_case
from tongban.common.models import AuditEvent

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def sources(demo, settings, tmp_path):
    """The demo source as registered, but proving the material by the elements its in-process
    answer holds (household size and per-capita income)."""
    from tongban.exchange.services import data_sources_load

    folder = tmp_path / "data_sources"
    folder.mkdir()
    data = yaml.safe_load((DEMO / "data_sources" / "mzj_economy_check.yaml").read_text("utf-8"))
    data["proves"] = [
        {
            "material": "household_income_proof",
            "elements": ["household_size", "per_capita_monthly_income"],
        }
    ]
    (folder / "mzj_economy_check.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
    )
    data_sources_load(directory=folder)
    settings.TONGBAN_EXCHANGE_ENABLED = True


def _check(profile) -> CommitmentCheck:
    case = concluded_case(profile)
    services.commitment_checks_select(case_id=case.pk, now=NOW)
    services.commitment_checks_source_due(now=NOW)
    return CommitmentCheck.objects.get(case=case)


def test_known_income_verifies_the_commitment_and_is_a_recorded_data_use(sources):
    from tongban.accounts.tests.factories import ResidentProfileFactory
    from tongban.exchange.models import SourceLookup

    profile = ResidentProfileFactory(monthly_income=Decimal("1200.00"))
    check = _check(profile)
    assert (check.status, check.checked_by_label) == ("true", "system:commitment_check")
    lookup = SourceLookup.objects.get(pk=check.evidence["lookup_id"])
    assert lookup.pk == check.evidence["lookup_id"]
    assert check.evidence["source"] == "mzj_economy_check"
    use = AuditEvent.objects.get(action="personal_data.read", subject_resident_id=profile.pk)
    assert use.purpose == "告知承诺事后核查：家庭收入和财产情况说明"
    assert use.data["source"] == "mzj_economy_check"
    assert use.data["receipt_no"] == check.case.receipt_no


def test_unknown_income_goes_to_a_person(sources):
    from tongban.accounts.tests.factories import ResidentProfileFactory

    profile = ResidentProfileFactory(monthly_income=None)
    check = _check(profile)
    assert (check.status, check.stage) == ("pending", "person")
    assert check.last_error == "数据源记录未能证明承诺事项，请人工核查"
