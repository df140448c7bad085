"""Every guide says at the top how to apply: straight to the form when nothing needs
answering, else to the questions first (and says so), and counter-only items say where."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loaded")]


def _start(html: str) -> str:
    """The 如何办理 panel, which must come before the guide's details."""
    begin = html.index('id="apply-start"')
    assert begin < html.index('id="basics-title"' if 'id="basics-title"' in html else "guide")
    return html[begin : html.index("</section>", begin)]


def test_item_with_questions_sends_to_the_questions_first_and_says_so(client):
    html = client.get("/items/social_security_card/").content.decode()
    start = _start(html)
    assert "在线办理前，请先回答 1 个问题" in start
    assert '<a class="button" id="start-apply" href="#guide">开始办理：先回答问题</a>' in start
    assert 'id="guide"' in html


def test_once_answered_the_top_button_opens_the_form(client, resident):
    client.force_login(resident[1])
    query = "answered=1&card_delivery=mail"
    start = _start(client.get(f"/items/social_security_card/?{query}").content.decode())
    url = f"/apply/item/social_security_card/?{query}"
    shown = url.replace("&", "&amp;")
    assert f'<a class="button" id="start-apply" href="{shown}">在线办理</a>' in start
    assert client.get(url).status_code == 200


def test_item_without_questions_opens_the_form_from_the_top(client, resident):
    anonymous = _start(client.get("/items/seal_engraving/").content.decode())
    assert (
        '<a class="button" id="start-apply" '
        'href="/accounts/login/?next=%2Fapply%2Fitem%2Fseal_engraving%2F">登录后在线办理</a>'
    ) in anonymous
    client.force_login(resident[1])
    start = _start(client.get("/items/seal_engraving/").content.decode())
    assert 'href="/apply/item/seal_engraving/">在线办理</a>' in start
    assert client.get("/apply/item/seal_engraving/").status_code == 200


def test_counter_only_item_says_where_to_go(client):
    start = _start(client.get("/items/vaccination_certificate/").content.decode())
    assert "本事项暂不支持网上申请" in start
    assert "start-apply" not in start


def test_bundle_page_says_how_to_apply_at_the_top(client):
    html = client.get("/bundles/birth/").content.decode()
    start = html[html.index('id="apply-start"') : html.index('id="about-title"')]
    assert re.search(r"在线办理前，请先回答 \d+ 个问题", start)
    assert 'href="#guide">开始办理：先回答问题</a>' in start
