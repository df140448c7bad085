"""Items that require a 身份核验等级: refused online below it (ASSURANCE_TOO_LOW, nothing
created), met at the counter, shown on the guide and the form before anyone starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tongban.accounts.models import AssuranceLevel, StaffRole
from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory, StaffFactory
from tongban.appointments.tests.factories import HallFactory
from tongban.cases import services
from tongban.cases.models import Application
from tongban.cases.tests.samples import sample_form, sample_uploads
from tongban.catalog.guide import assurance_for, guide_for_bundle, guide_for_item
from tongban.catalog.services import catalog_load_directory
from tongban.common.models import AuditEvent
from tongban.identity.errors import AssuranceTooLow
from tongban.identity.selectors import assurance_require

DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"
ITEM = "SH-GHZY-0101"  # 不动产登记: real_name
ANSWERS = {"registration_type": "first"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(db):
    catalog_load_directory(path=DEMO)


def _submit(profile, **kwargs):
    guide = guide_for_item(code=ITEM, answers=ANSWERS, applicant=profile)
    args = {
        "applicant": profile.user,
        "kind": "item",
        "code": ITEM,
        "answers": guide.answers,
        "form_data": sample_form(guide),
        "materials": sample_uploads(guide),
        "idempotency_key": "k1",
    }
    args.update(kwargs)
    return services.case_submit(**args)


def test_the_demo_marks_real_fits(catalog):
    assert assurance_for(kind="item", code="SH-GHZY-0101") == ("real_name", ["不动产登记"])
    assert assurance_for(kind="item", code="SH-MZJ-0101") == ("real_name", ["最低生活保障申请"])
    assert assurance_for(kind="item", code="SH-TYJ-0103")[0] == "real_name"
    assert assurance_for(kind="bundle", code="birth") == ("", [])
    # A 一件事 needs the level only when the answers include the item that asks for it.
    assert assurance_for(kind="bundle", code="social_assistance") == (
        "real_name",
        ["最低生活保障申请"],
    )


@pytest.mark.parametrize("level", [AssuranceLevel.NONE, AssuranceLevel.SMS], ids=["none", "sms"])
def test_online_below_the_level_is_refused_and_nothing_is_created(catalog, level):
    profile = ResidentProfileFactory(user__assurance_level=level)
    guide = guide_for_item(code=ITEM, answers=ANSWERS, applicant=profile)
    audited = AuditEvent.objects.count()  # the guide's own reads of the profile
    with pytest.raises(AssuranceTooLow) as refused:
        _submit(profile, form_data=sample_form(guide), materials=sample_uploads(guide))
    assert (refused.value.code, refused.value.http_status) == ("ASSURANCE_TOO_LOW", 403)
    have = AssuranceLevel(level).label
    assert refused.value.message.startswith(
        f"网上办理“不动产登记”需要账户达到“已实名核验”等级，您的账户目前为“{have}”。"
    )
    assert "综合窗口" in refused.value.message
    assert Application.objects.count() == 0
    assert AuditEvent.objects.count() == audited


@pytest.mark.parametrize("level", [AssuranceLevel.REAL_NAME, AssuranceLevel.IN_PERSON])
def test_online_at_or_above_the_level_is_accepted(catalog, level):
    profile = ResidentProfileFactory(user__assurance_level=level)
    case = _submit(profile)
    assert case.channel == "online" and case.applicant_id == profile.user_id


def test_a_counter_filing_meets_any_level(catalog):
    walk_in = ResidentProfileFactory(user__assurance_level=AssuranceLevel.NONE)
    hall = HallFactory()
    clerk = StaffFactory(role=StaffRole.COUNTER_CLERK, hall=hall)
    case = _submit(walk_in, channel="counter", filed_by=clerk)
    assert (case.channel, case.applicant_id) == ("counter", walk_in.user_id)


def test_items_without_a_level_take_any_account(catalog):
    profile = ResidentProfileFactory(user__assurance_level=AssuranceLevel.NONE)
    guide = guide_for_bundle(
        code="birth",
        answers={"applicant_relation": "mother", "parents_marital": "married",
                 "born_in_city": "yes", "multiple_birth": "no", "hukou_follows": "mother",
                 "maternity_insured": "yes"},
        applicant=profile,
    )  # fmt: skip
    assert guide.assurance_level == ""
    assurance_require(user=profile.user, level_name=guide.assurance_level)


def test_the_guide_shows_the_level_before_starting(catalog):
    anonymous = Client().get(f"/items/{ITEM}/").content.decode()
    assert 'id="apply-start-assurance"' in anonymous
    assert "网上办理需要账户达到“已实名核验”等级" in anonymous
    assert "通过本平台注册的账户已完成实名核验" in anonymous

    low = ResidentProfileFactory(user__assurance_level=AssuranceLevel.NONE)
    client = Client()
    client.login(username=low.user.username, password=TEST_PASSWORD)
    html = client.get(f"/items/{ITEM}/").content.decode()
    assert "您的账户目前为“未核验”，暂不能网上提交" in html

    ok = ResidentProfileFactory(user__assurance_level=AssuranceLevel.REAL_NAME)
    client = Client()
    client.login(username=ok.user.username, password=TEST_PASSWORD)
    html = client.get(f"/items/{ITEM}/").content.decode()
    assert "您的账户为“已实名核验”，可以网上办理" in html

    # Items without a level say nothing about it.
    assert "apply-start-assurance" not in Client().get("/items/SH-GA-0101/").content.decode()
