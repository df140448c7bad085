"""智能客服 in Chromium on a phone: with JavaScript the answers are appended without a reload,
ask-back options are buttons, and nothing scrolls sideways at 390 px."""

from __future__ import annotations

import pytest

from tongban.assistant.tests.conftest import DEMO
from tongban.catalog.services import catalog_load_directory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_conversation_on_a_phone_without_reloading(page):
    catalog_load_directory(path=DEMO)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    page.get_by_role("link", name="智能客服").click()
    page.wait_for_url("**/assistant/")
    page.get_by_label("您的问题").fill("出生登记要带什么材料")
    page.get_by_role("button", name="发送").click()
    options = page.get_by_role("group", name="新生儿父母的婚姻状况？")
    options.get_by_role("button", name="已登记结婚").click()
    page.get_by_role("group", name="新生儿户口随父亲还是随母亲申报？").get_by_role(
        "button", name="随父亲"
    ).click()
    last = page.locator(".turn-assistant").last
    last.get_by_text("5. 结婚证（原件 1份）", exact=False).wait_for()
    assert page.url.endswith("/assistant/")  # no reload: the page never left
    assert last.locator("a.source").all_inner_texts() == [
        "出处：办理情形",
        "出处：申请材料（按您的情况）",
    ]
    # Answered ask-backs are no longer buttons.
    assert page.locator(".js-options button").count() == 0
    page.get_by_label("您的问题").fill("那要多少钱？")
    page.get_by_role("button", name="发送").click()
    page.locator(".turn-assistant").last.get_by_text("「出生登记」不收费。").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The same conversation, reloaded, is the plain page with every turn.
    page.reload()
    assert page.locator(".turn").count() == 8
    assert page.locator("#handoff-form").is_visible()
