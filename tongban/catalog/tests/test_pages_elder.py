"""长者版 pages: the simpler home, one question per screen through to the list, answers the
applicant's 一人一档 already gives never asked, and the exit away from 退出登录."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from tongban.accounts.models import User
from tongban.catalog.services import catalog_load_directory
from tongban.demo.accounts import ensure_demo_accounts

pytestmark = pytest.mark.django_db

ELDER_HOME = [
    ("/bundles/elderly_care/", "养老服务一件事"),
    ("/items/SH-MZJ-0303/", "老年人优待卡申领"),
    ("/items/SH-MZJ-0302/", "老年综合津贴申领"),
    ("/items/SH-YBZX-0101/", "城乡居民医保参保登记"),
    ("/items/SH-RSJ-0101/", "社会保障卡申领"),
    ("/bundles/disability_services/", "残疾人服务一件事"),
    ("/me/idcode/", "随申码"),
    ("/me/cases/", "我的办件"),
    ("tel:12345", "拨打 12345 热线"),
]
STEPS = "/bundles/elderly_care/steps/"


@pytest.fixture
def demo(db):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()


@pytest.fixture
def elder(client, demo):
    """resident2, the 80-year-old, logged in; 长者版 is on her account."""
    user = User.objects.get(username="resident2")
    assert user.elder_mode is True
    client.force_login(user)
    return client


def _html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def _tiles(html: str) -> list[tuple[str, str]]:
    return re.findall(
        r'<a class="elder-tile" href="([^"]+)"><span class="tile-name">([^<]+)</span>', html
    )


def _step(html: str) -> tuple[str, str]:
    count = re.search(r'<span class="step-count" id="step-count">([^<]+)</span>', html)
    question = re.search(r'<span class="step-question">([^<]+)</span>', html)
    return count.group(1), question.group(1)


class TestElderHome:
    def test_elder_home_lists_the_services_older_people_use_first(self, client, demo):
        client.cookies["tongban_elder"] = "1"
        html = _html(client.get("/"))
        assert _tiles(html) == ELDER_HOME
        assert "<h1>常用服务</h1>" in html
        for enterprise_word in ("企业", "注销", "开办"):
            assert enterprise_word not in html.split('<ul class="elder-tiles"')[1].split("</ul>")[0]
        assert '<a class="big-button secondary" href="/?full=1" id="all-services">' in html

    def test_full_list_is_one_link_away_and_normal_mode_keeps_the_full_home(self, client, demo):
        normal = _html(client.get("/"))
        assert "elder-tiles" not in normal and "企业注销一件事" in normal
        client.cookies["tongban_elder"] = "1"
        full = _html(client.get("/?full=1"))
        assert "elder-tiles" not in full and "企业注销一件事" in full

    def test_an_entry_whose_service_is_not_published_is_left_out(self, client, db):
        client.cookies["tongban_elder"] = "1"
        # No catalog loaded: only the personal pages and the hotline remain, no dead links.
        assert _tiles(_html(client.get("/"))) == ELDER_HOME[-3:]

    def test_exit_is_in_the_footer_not_next_to_logout(self, elder):
        html = _html(elder.get("/"))
        header = html.split("</header>")[0]
        footer = html.split('<footer class="site-footer">')[1]
        assert "退出登录" in header and "退出长者版" not in header
        assert (
            '<button type="submit" class="big-button secondary" id="elder-toggle">'
            "退出长者版</button>" in footer
        )
        assert '<input type="hidden" name="enabled" value="0">' in footer

    def test_standard_mode_offers_the_switch_in_the_header(self, client, demo):
        header = _html(client.get("/")).split("</header>")[0]
        assert '<button type="submit" class="linklike" id="elder-toggle">长者版</button>' in header


class TestOneQuestionPerScreen:
    def test_bundle_page_in_elder_mode_starts_the_steps_and_says_what_is_known(self, elder):
        html = _html(elder.get("/bundles/elderly_care/"))
        assert "每屏只问一个问题，共 2 题，答完即可看到您的办理清单。" in html
        assert '<a class="big-button" id="start-steps" href="/bundles/elderly_care/steps/">' in html
        assert 'class="guide-form"' not in html

    def test_resident2_answers_two_questions_and_gets_the_list(self, elder):
        first = _html(elder.get(STEPS))
        assert _step(first) == ("第 1 题，共 2 题", "由谁提出申请？")
        assert (
            '<a class="big-button secondary" id="step-back" href="/bundles/elderly_care/">' in first
        )

        second = _html(elder.get(STEPS, {"at": "applicant_role", "applicant_role": "self"}))
        assert _step(second) == ("第 2 题，共 2 题", "老人是否生活不能完全自理、需要照护？")
        # Her age and hukou come from her 一人一档: stated, never asked.
        assert re.findall(r"<li>(已根据您的居民档案确定：[^<]+)</li>", second) == [
            "已根据您的居民档案确定：本市户籍",
            "已根据您的居民档案确定：年满65周岁",
        ]
        assert "老人是否年满65周岁？" not in second
        assert "是否具有本市户籍？" not in second
        assert '<input type="hidden" name="applicant_role" value="self">' in second
        assert (
            'id="step-back" href="/bundles/elderly_care/steps/'
            '?applicant_role=self&amp;q=applicant_role"' in second
        )

        result = _html(
            elder.get(STEPS, {"applicant_role": "self", "at": "need_care", "need_care": "no"})
        )
        assert "step-count" not in result
        items = re.search(r'<ol class="big-list" id="result-items">(.*?)</ol>', result, re.S)
        assert re.findall(r"<li>([^<]+)<br>", items.group(1)) == [
            "老年人优待卡申领",
            "老年综合津贴申领",
        ]
        assert (
            '<a class="big-button" id="apply-online" '
            'href="/apply/bundle/elderly_care/?answered=1&amp;applicant_role=self&amp;need_care=no">'
            in result
        )
        assert re.findall(r"<dt>([^<]+)</dt><dd>([^<]+) <a", result) == [
            ("由谁提出申请？", "本人申请"),
            ("老人是否生活不能完全自理、需要照护？", "否"),
        ]

    def test_going_back_shows_the_earlier_answer_chosen(self, elder):
        html = _html(elder.get(STEPS, {"applicant_role": "self", "q": "applicant_role"}))
        assert _step(html) == ("第 1 题，共 2 题", "由谁提出申请？")
        assert 'name="applicant_role" value="self" checked>' in html
        assert 'type="hidden" name="applicant_role"' not in html

    def test_next_without_a_choice_is_an_error_on_the_same_question(self, elder):
        html = _html(elder.get(STEPS, {"applicant_role": "self", "at": "need_care"}))
        assert _step(html) == ("第 2 题，共 2 题", "老人是否生活不能完全自理、需要照护？")
        assert (
            '<a href="#step-need_care-1">请选择：老人是否生活不能完全自理、需要照护？</a>' in html
        )
        assert '<fieldset class="step has-error"' in html

    def test_a_family_member_applying_is_asked_about_the_elder(self, elder):
        html = _html(elder.get(STEPS, {"at": "applicant_role", "applicant_role": "agent"}))
        assert _step(html) == ("第 2 题，共 3 题", "是否具有本市户籍？")
        assert "已根据您的居民档案确定" not in html

    def test_anonymous_visitors_step_through_every_question(self, client, demo):
        html = _html(client.get(STEPS))
        assert _step(html) == ("第 1 题，共 3 题", "由谁提出申请？")
        result = _html(
            client.get(
                STEPS,
                {
                    "applicant_role": "self",
                    "hukou_local": "yes",
                    "age_65_plus": "yes",
                    "need_care": "no",
                },
            )
        )
        assert 'id="apply-login"' in result

    def test_item_steps_and_404s(self, elder):
        html = _html(elder.get("/items/SH-MZJ-0303/steps/"))
        assert _step(html) == ("第 1 题，共 1 题", "由谁提出申请？")
        assert elder.get("/items/SH-NOPE-0001/steps/").status_code == 404
        assert elder.get("/bundles/nope/steps/").status_code == 404
        assert elder.get("/items/SH-RSJ-0101/steps/").status_code == 404  # nothing to ask

    def test_normal_guide_also_skips_known_answers(self, client, demo):
        client.force_login(User.objects.get(username="resident2"))
        client.cookies["tongban_elder"] = "0"
        User.objects.filter(username="resident2").update(elder_mode=False)
        html = _html(
            client.get("/bundles/elderly_care/", {"applicant_role": "self", "need_care": "no"})
        )
        assert 'id="one-at-a-time"' in _html(client.get("/bundles/elderly_care/"))
        assert (
            '<p class="known" id="q-age_65_plus-known">已根据您的居民档案确定：年满65周岁</p>'
            in html
        )
        assert 'name="age_65_plus"' not in html
        assert 'id="result-title">您的一次告知清单</h2>' in html
