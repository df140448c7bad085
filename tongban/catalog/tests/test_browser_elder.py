"""养老服务一件事 in 长者版, as resident2 (80) does it on a phone: the simpler home, one
question per screen, her age and hukou never asked, to the list; big targets, nothing under
18 px, no sideways scrolling, no axe violations."""

from __future__ import annotations

import pytest

from tongban.tests.test_accessibility import _axe_violations, _log_in, demo_city  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every element that holds text itself, visible, with its computed font size in px.
SMALL_TEXT = """() => [...document.querySelectorAll('body *')].filter(el => {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  const box = el.getBoundingClientRect();
  return own && box.width > 0 && box.height > 0 && !el.closest('.sr-only')
    && parseFloat(getComputedStyle(el).fontSize) < 18;
}).map(el => el.tagName + '.' + el.className + ' ' + getComputedStyle(el).fontSize + ' '
  + el.textContent.trim().slice(0, 20))"""
HEIGHTS = (
    "(sel) => [...document.querySelectorAll(sel)].map(el => el.getBoundingClientRect().height)"
)
SIDEWAYS = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"


def _check_page(page, found: dict) -> None:
    found[page.url] = {
        "small": page.evaluate(SMALL_TEXT),
        "sideways": page.evaluate(SIDEWAYS),
        "short_targets": [
            h for h in page.evaluate(HEIGHTS, ".big-button, .big-choice, .elder-tile") if h < 56
        ],
        "axe": _axe_violations(page),
    }


def test_resident2_completes_elderly_care_questions_one_per_screen(demo_city, page):  # noqa: F811
    page.set_viewport_size({"width": 390, "height": 844})
    _log_in(page, "resident2")  # 长者版 is on her account
    found: dict = {}

    page.goto("/")
    assert page.locator("body").get_attribute("class") == "elder"
    assert page.locator(".tile-name").all_inner_texts() == [
        "养老服务一件事", "老年人优待卡申领", "老年综合津贴申领", "城乡居民医保参保登记",
        "社会保障卡申领", "残疾人服务一件事", "随申码", "我的办件", "拨打 12345 热线",
    ]  # fmt: skip
    # 退出长者版 is at the foot of the page, 退出登录 in the header.
    assert page.locator("header #elder-toggle").count() == 0
    assert page.locator("footer #elder-toggle").inner_text() == "退出长者版"
    _check_page(page, found)

    page.get_by_role("link", name="养老服务一件事").click()
    page.get_by_role("link", name="开始回答").click()
    assert page.locator("#step-count").inner_text() == "第 1 题，共 2 题"
    _check_page(page, found)
    page.get_by_role("button", name="下一步").click()  # nothing chosen
    assert page.get_by_role("alert").inner_text().endswith("请选择：由谁提出申请？")
    _check_page(page, found)
    page.get_by_text("本人申请").click()  # the whole box is the target, not only the dot
    page.get_by_role("button", name="下一步").click()

    assert page.locator("#step-count").inner_text() == "第 2 题，共 2 题"
    assert page.locator(".step-question").inner_text() == "老人是否生活不能完全自理、需要照护？"
    assert page.locator(".known-list li").all_inner_texts() == [
        "已根据您的居民档案确定：本市户籍",
        "已根据您的居民档案确定：年满65周岁",
    ]
    assert page.get_by_text("老人是否年满65周岁？").count() == 0
    _check_page(page, found)
    page.get_by_role("link", name="上一步").click()
    assert page.get_by_label("本人申请").is_checked()
    page.get_by_role("button", name="下一步").click()
    page.get_by_text("否", exact=True).click()
    page.get_by_role("button", name="下一步").click()

    assert page.get_by_role("heading", name="您的办理清单").is_visible()
    assert page.locator("#result-items > li").all_inner_texts() == [
        "老年人优待卡申领\n示例市民政局，10 个工作日内办好",
        "老年综合津贴申领\n示例市民政局，5 个工作日内办好",
    ]
    assert page.get_by_role("link", name="在线申请").get_attribute("href") == (
        "/apply/bundle/elderly_care/?answered=1&applicant_role=self&need_care=no"
    )
    _check_page(page, found)
    problems = {url: r for url, r in found.items() if any(r.values())}
    assert problems == {}
