"""政策查询, 为您推荐 and the policies API, as a resident and as anyone."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from tongban.accounts.tests.factories import ResidentProfileFactory, UserFactory
from tongban.catalog.services import catalog_load_directory
from tongban.policies.models import PolicyGrant


@pytest.fixture(autouse=True)
def demo_catalog(db, eight_policies):
    catalog_load_directory(path=eight_policies)


def _years_ago(years: int, extra_days: int = 0) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - dt.timedelta(days=extra_days)


@pytest.fixture
def disabled_resident(db):
    return ResidentProfileFactory(
        user=UserFactory(),
        birth_date=_years_ago(40),
        hukou_is_local=True,
        disability_grade=3,
        is_minimum_living_allowance=False,
        is_low_income=False,
    )


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_public_list_filters_by_subject_and_life_event(client):
    html = _text(client.get("/policies/"))
    assert "全部政策（8项）" in html and "示例" in html
    assert 'href="/policies/SH-MZJ-P005/"' in html
    html = _text(client.get("/policies/?life_event=disability_services"))
    assert "残疾人服务" in html or "相关政策（2项）" in html
    assert "相关政策（2项）" in html
    assert "困难残疾人生活补贴" in html and "老年综合津贴" not in html
    assert "企业政策（0项）" in _text(client.get("/policies/?subject=enterprise"))
    assert client.get("/policies/?subject=x").status_code == 404
    assert client.get("/policies/?life_event=nothing").status_code == 404


def test_a_policy_page_says_who_qualifies_and_how_to_receive_it(client):
    html = _text(client.get("/policies/SH-MZJ-P006/"))
    assert "<li>残疾等级为一级或二级</li>" in html and "<li>本市户籍</li>" in html
    assert "每月 300 元" in html and "示例市民政局" in html
    assert "精准推送" in html and 'href="/items/SH-MZJ-0202/"' in html
    assert "登录</a>后可查看您是否符合" in html
    assert client.get("/policies/NOPE/").status_code == 404


def test_the_resident_sees_why_on_the_policy_page(client, disabled_resident):
    client.force_login(disabled_resident.user)
    html = _text(client.get("/policies/SH-MZJ-P006/"))
    assert "您暂不符合这项政策" in html and "差一项：残疾等级为一级或二级" in html
    html = _text(client.get("/policies/SH-MZJ-P005/"))
    assert "差一项：最低生活保障对象或低收入家庭成员" in html


def test_recommended_lists_eligible_and_nearly_met_policies(client, disabled_resident):
    client.force_login(disabled_resident.user)
    html = _text(client.get("/me/policies/"))
    assert "您符合的政策（0项）" in html
    # 困难残疾人生活补贴 is one condition away (低保 or 低收入), which can be applied for;
    # 护理补贴 is one away too, but a disability grade is nothing to act on: not listed.
    assert "还差一项条件的政策" in html
    assert "差一项：最低生活保障对象或低收入家庭成员" in html
    assert "建议：如家庭经济困难，可通过“社会救助一件事”申请最低生活保障或低收入家庭认定" in html
    assert "差一项：残疾等级为一级或二级" not in html
    disabled_resident.is_low_income = True
    disabled_resident.save(update_fields=["is_low_income"])
    html = _text(client.get("/me/policies/"))
    assert "您符合的政策（2项）" in html
    assert "符合：持有残疾人证（一至四级）；低收入家庭成员；本市户籍" in html
    assert "符合：低收入家庭成员；未享受最低生活保障（低保对象另按低保医疗救助）" in html
    home = _text(client.get("/me/"))
    assert '<h2 id="recommended-title">为您推荐</h2>' in home
    assert 'href="/policies/SH-MZJ-P005/">困难残疾人生活补贴</a>' in home


def test_an_elder_is_granted_without_applying(client):
    elder = ResidentProfileFactory(
        user=UserFactory(), birth_date=_years_ago(91), hukou_is_local=True
    )
    client.force_login(elder.user)
    html = _text(client.get("/me/policies/"))
    assert "老年综合津贴（90周岁及以上）" in html
    assert "无需申请，符合条件即自动享受，将在下一次核定时为您办理。" in html
    assert "老年综合津贴（65至69周岁）" not in html  # an age band passed is not "nearly"


def test_recommended_needs_login_and_a_profile(client):
    response = client.get("/me/policies/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(UserFactory())
    assert "尚未关联居民档案" in _text(client.get("/me/policies/"))


def test_the_api(client, disabled_resident):
    listed = client.get("/api/v1/policies?subject=resident").json()
    assert [p["code"] for p in listed][:2] == ["SH-MZJ-P001", "SH-MZJ-P002"]
    assert len(listed) == 8
    one = client.get("/api/v1/policies/SH-MZJ-P005").json()
    assert (one["mode"], one["apply_url"], one["version"]) == (
        "push",
        "/apply/item/SH-MZJ-0201/?applicant_role=self",
        1,
    )
    assert one["conditions"] == [
        "持有残疾人证（一至四级）",
        "最低生活保障对象或低收入家庭成员",
        "本市户籍",
    ]
    missing = client.get("/api/v1/policies/NOPE")
    assert (missing.status_code, missing.json()["code"]) == (404, "POLICY_NOT_FOUND")
    assert client.get("/api/v1/policies?subject=x").status_code == 422
    assert client.get("/api/v1/me/policies").status_code == 401
    client.force_login(disabled_resident.user)
    mine = client.get("/api/v1/me/policies").json()
    assert mine["eligible"] == []
    # 低收入家庭医疗救助 is one condition away for nearly everyone: its author gave no hint,
    # so it is not pushed at people who are not its target.
    assert [(r["policy"]["code"], r["explanation"], r["hint"]) for r in mine["nearly"]] == [
        (
            "SH-MZJ-P005",
            "差一项：最低生活保障对象或低收入家庭成员",
            "如家庭经济困难，可通过“社会救助一件事”申请最低生活保障或低收入家庭认定",
        ),
    ]


def test_a_granted_elder_sees_it_and_may_decline(client):
    from tongban.common.models import AuditEvent
    from tongban.policies.services import policy_match_run

    elder = ResidentProfileFactory(
        user=UserFactory(), birth_date=_years_ago(72), hukou_is_local=True
    )
    other = ResidentProfileFactory(
        user=UserFactory(), birth_date=_years_ago(75), hukou_is_local=True
    )
    policy_match_run(triggered_by="test")
    period = timezone.localdate()
    client.force_login(elder.user)
    html = _text(client.get("/me/policies/"))
    label = f"{period.year}年{period.month}月"
    assert f'id="granted-SH-MZJ-P002">已为您自动办理（{label}），无需申请。' in html
    mine = client.get("/api/v1/me/policies").json()
    receipt = PolicyGrant.objects.get(profile=elder).case.receipt_no
    assert mine["eligible"][0]["grant"] == {
        "period": period.strftime("%Y-%m"),
        "status": "granted",
        "receipt_no": receipt,
        "payment": "waiting",
        "payment_label": "待发放",
    }
    # Declining needs the form's CSRF token like any write.
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(elder.user)
    assert strict.post("/me/policies/SH-MZJ-P002/decline/").status_code == 403
    assert PolicyGrant.objects.get(profile=elder).status == "granted"
    response = client.post("/me/policies/SH-MZJ-P002/decline/", follow=True)
    html = _text(response)
    assert "已放弃此项待遇，今后不再自动发放。" in html
    assert "您已放弃此项待遇。如需恢复，请联系示例市民政局。" in html
    again = client.post("/api/v1/me/policies/SH-MZJ-P002/decline")
    assert (again.status_code, again.json()["code"]) == (409, "POLICY_NOTHING_TO_DECLINE")
    # Someone else's grant is untouched.
    assert PolicyGrant.objects.get(profile=other).status == "granted"
    assert AuditEvent.objects.filter(action="policies.grant_decline").count() == 1
    client.force_login(other.user)
    assert client.post("/api/v1/me/policies/SH-MZJ-P002/decline").json() == {"declined": 1}


def test_the_data_use_record_says_what_matching_reads_and_under_which_basis(
    client, disabled_resident
):
    from tongban.policies.services import policy_match_run

    policy_match_run(triggered_by="test")
    client.force_login(disabled_resident.user)
    html = _text(client.get("/me/data-access/"))
    assert '<h2 id="matching-title">政策找人：平台对档案的自动比对</h2>' in html
    assert (
        '<td data-label="读取的信息">残疾等级、本市户籍</td>'
        '<td data-label="依据">示例市重度残疾人护理补贴办法（示例民规〔2026〕4号）第三条</td>'
    ) in html.replace("</td> <td", "</td><td")
