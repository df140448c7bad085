"""The form offers what a department system holds (`prefill: {source: data_source}`): 陈志强
applying for 最低生活保障 finds his household's size and per-head income filled in from 居民
经济状况核对系统, named as the source, and the look-up is on his data-use record."""

from __future__ import annotations

import pytest

from tongban.accounts.models import ResidentProfile
from tongban.accounts.selectors import resident_id_number_hash
from tongban.cases.selectors import form_prefill
from tongban.common.models import AuditEvent
from tongban.demo import accounts as demo
from tongban.demo.accounts import ensure_demo_accounts
from tongban.exchange.services import data_sources_load
from tongban.exchange.tests import platform_fixtures as pf

catalog = pf.catalog


@pytest.fixture
def chen(catalog):
    ensure_demo_accounts()
    data_sources_load(directory=pf.DEMO_DEFINITIONS / "data_sources")
    return ResidentProfile.objects.get(
        id_number_hash=resident_id_number_hash(demo._DISABLED.id_number)
    )


def _prefill(profile):
    return form_prefill(
        user=profile.user, kind="item", code="SH-MZJ-0101", answers={"has_disabled_member": "yes"}
    )


def test_household_figures_come_from_the_economy_check(chen, settings):
    settings.TONGBAN_EXCHANGE_ENABLED = True
    values = _prefill(chen)
    # His household: himself on 2,400 元 and his daughter on none — 1,200 元 a head.
    assert values["household.size"] == 2
    assert values["household.monthly_income_per_capita"] == "1200.00"
    assert values.sources["household.size"] == "居民经济状况核对系统（部门共享数据）"
    uses = AuditEvent.objects.filter(
        subject_resident_id=chen.pk, action="personal_data.read", data__source="mzj_economy_check"
    )
    assert [(u.purpose, u.data["channel"]) for u in uses] == [
        ("办理「最低生活保障申请」核验申请材料", "exchange")
    ]


def test_nothing_is_offered_from_sources_while_the_exchange_is_off(chen, settings):
    settings.TONGBAN_EXCHANGE_ENABLED = False
    values = _prefill(chen)
    assert "household.size" not in values
    assert "household.monthly_income_per_capita" not in values
    assert not AuditEvent.objects.filter(data__source="mzj_economy_check").exists()
