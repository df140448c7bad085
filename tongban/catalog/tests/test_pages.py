from __future__ import annotations

import itertools
import re

import pytest

pytestmark = pytest.mark.django_db

FULL = (
    "/bundles/birth/?answered=1&born_in_city=no&want_sscard=yes"
    "&parents_married=no&card_delivery=mail"
)


def text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def no_inline_code(html: str) -> None:
    # The Content-Security-Policy refuses inline script and style (the site's own script
    # files, <script src=…>, are allowed).
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert "style=" not in html
    assert "<style" not in html


def headings(html: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])\b", html)]


def assert_headings_in_order(html: str) -> None:
    levels = headings(html)
    assert levels[0] == 1
    assert levels.count(1) == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, levels


@pytest.mark.usefixtures("loaded")
def test_home_page_lists_bundles_and_popular_items(client):
    html = text(client.get("/"))
    assert '<label for="search-q">搜索办事服务</label>' in html
    assert 'action="/search"' in html
    assert '<a href="/bundles/birth/">出生一件事</a>' in html
    assert '<a href="/bundles/enterprise_opening/">企业开办一件事</a>' in html
    assert "包含 4 个事项 · 承诺 10 个工作日内办结" in html
    assert "热门事项" in html
    assert '<a href="/items/birth_registration/">出生登记</a>' in html
    assert_headings_in_order(html)
    no_inline_code(html)


def test_home_page_without_a_catalog(client):
    html = text(client.get("/"))
    assert "事项库尚未加载" in html


@pytest.mark.usefixtures("loaded")
def test_search_page_puts_the_bundle_first(client):
    html = text(client.get("/search", {"q": "上户口"}))
    assert "找到 2 项结果" in html
    assert html.index('href="/bundles/birth/"') < html.index('href="/items/birth_registration/"')
    assert 'value="上户口"' in html
    assert_headings_in_order(html)
    assert text(client.get("/search/", {"q": "开公司"})).count("企业开办一件事") >= 1


@pytest.mark.usefixtures("loaded")
def test_search_page_without_results_or_query(client):
    html = text(client.get("/search", {"q": "xyzzy"}))
    assert "未找到“xyzzy”的事项，也没有相近的服务。" in html
    assert "请换一种说法，或拨打 12345 政务服务便民热线咨询。" in html
    html = text(client.get("/search"))
    assert "搜索结果" not in html
    assert text(client.get("/search", {"q": "上" * 5000})).startswith("<!doctype html>")


@pytest.mark.usefixtures("loaded")
def test_item_guide_page_shows_every_standard_element(client):
    html = text(client.get("/items/birth_registration/"))
    for expected in [
        '<h1>出生登记 <span class="example-badge">示例</span></h1>',
        "<dt>事项类型</dt><dd>行政确认</dd>",
        "<dt>实施部门</dt><dd>市公安局</dd>",
        "<dt>办件类型</dt><dd>承诺件</dd>",
        "<dt>法定办结时限</dt><dd>30 个工作日</dd>",
        "<dt>承诺办结时限</dt><dd>5 个工作日</dd>",
        "<dt>收费</dt><dd>不收费</dd>",
        "<dt>办理渠道</dt><dd>网上办理、窗口办理</dd>",
        "<dt>最多跑动次数</dt><dd>0 次</dd>",
        "<dt>办理地点</dt><dd>户籍所在地派出所</dd>",
        "<dt>咨询电话</dt><dd>021-00000110</dd>",
        "设定依据",
        "《中华人民共和国户口登记条例》第七条",
        "受理条件",
        "出生后一个月内申报",
        "申请材料",
        "可免提交：通过电子证照『出生医学证明』核验",
        "可免提交：由公安人口信息核验",
        "可签署告知承诺书代替",
        "仅当「孩子父母是否已登记结婚？」选择「已登记结婚」，且「结婚登记是否在本市办理？」"
        "选择「在外省市办理」时需要",
        "办理流程",
        "<strong>网上申请</strong>：填写申请表并上传材料",
        "办理结果",
        "居民户口簿（新生儿页）",
        "<legend>孩子父母是否已登记结婚？</legend>",
    ]:
        assert expected in html, expected
    assert_headings_in_order(html)
    no_inline_code(html)


@pytest.mark.usefixtures("loaded")
def test_instant_item_page(client):
    html = text(client.get("/items/vaccination_certificate/"))
    assert "<dt>办件类型</dt><dd>即办件</dd>" in html
    assert "<dt>承诺办结时限</dt><dd>即办（当场办结）</dd>" in html
    assert "<legend>" not in html  # no questions to ask


@pytest.mark.usefixtures("loaded")
def test_item_page_guide_result(client):
    html = text(client.get("/items/birth_registration/", {"parents_married": "no"}))
    assert "您的一次告知清单" in html
    assert "非婚生育情况说明" in html


@pytest.mark.usefixtures("loaded")
def test_unknown_item_bundle_and_version_are_404_pages(client):
    for url in ["/items/nope/", "/bundles/nope/", "/items/birth_registration/?version=9"]:
        response = client.get(url)
        assert response.status_code == 404
        assert "未找到" in response.content.decode()
    assert client.get("/items/birth_registration/?version=abc").status_code == 404


@pytest.mark.usefixtures("loaded")
def test_bundle_page_asks_the_questions_as_a_get_form(client):
    html = text(client.get("/bundles/birth/"))
    assert '<form method="get" action="#guide"' in html
    assert html.count("<fieldset") == 5
    assert html.count("<legend>") == 5
    assert '<label for="q-born_in_city-1"><input type="radio" id="q-born_in_city-1"' in html
    assert "仅当「是否同时为孩子申领社会保障卡？」选择「申领」时回答" in html
    assert "您的一次告知清单" not in html
    assert 'role="alert"' not in html
    assert_headings_in_order(html)
    no_inline_code(html)


@pytest.mark.usefixtures("loaded")
def test_bundle_page_shows_the_exact_list(client):
    html = text(client.get(FULL))
    assert "您的一次告知清单" in html
    items = re.findall(r'<ol class="guide-items">(.*?)</ol>', html, re.S)[0]
    assert re.findall(r'<a href="/items/[^/]+/">([^<]+)</a>', items) == [
        "出生登记",
        "城乡居民医保参保登记",
        "社会保障卡申领",
    ]
    materials = re.findall(r'<table class="materials stack">(.*?)</table>', html, re.S)[0]
    assert re.findall(r'<th scope="row">([^<]+)', materials) == [
        "出生医学证明",
        "居民户口簿",
        "父母居民身份证",
        "非婚生育情况说明",
        "新生儿证件照",
    ]
    fields = re.findall(r'<table class="fields stack">(.*?)</table>', html, re.S)[0]
    assert re.findall(r'<th scope="row">([^<]+)', fields) == [
        "申请人姓名",
        "申请人身份证号码",
        "联系电话",
        "新生儿姓名",
        "新生儿出生日期",
        "新生儿性别",
        "邮寄地址",
    ]
    assert "10 个工作日（出生登记 → 社会保障卡申领）" in html
    assert "<dt>最多跑动次数</dt><dd>0 次</dd>" in html
    assert "社会保障卡申领：首次申领免费，补卡每张20元" in html
    assert "须在「出生登记」办结后办理" in html
    assert 'value="mail" checked' in html
    assert "（根据您的回答，本题无需回答）" in html  # marriage_local, parents not married
    assert_headings_in_order(html)


@pytest.mark.usefixtures("loaded")
def test_missing_answers_show_each_error_next_to_its_question(client):
    html = text(client.get("/bundles/birth/", {"answered": "1", "born_in_city": "<script>"}))
    assert "您的一次告知清单" not in html
    assert "还有 3 个问题需要处理" in html
    for code, message in [
        ("born_in_city", "所选答案无效，请重新选择：孩子是否在本市医疗机构出生？"),
        ("want_sscard", "请选择：是否同时为孩子申领社会保障卡？"),
        ("parents_married", "请选择：孩子父母是否已登记结婚？"),
    ]:
        assert f'<p class="error" role="alert" id="q-{code}-error">{message}</p>' in html
        assert f'<li><a href="#q-{code}-1">{message}</a></li>' in html
    assert "<script>" not in html
    no_inline_code(html)


@pytest.mark.usefixtures("loaded")
def test_unrelated_query_parameters_are_not_answers(client):
    html = text(client.get(FULL + "&utm_source=x"))
    assert "您的一次告知清单" in html


@pytest.mark.usefixtures("loaded")
def test_logged_in_resident_sees_spared_materials(client, resident):
    _, user = resident
    client.force_login(user)
    html = text(client.get(FULL))
    assert "已为您免提交：您的居民档案中已有户籍所在区，由公安人口信息核验，无需提交" in html
    assert "其中 <strong>2</strong> 份已为您免提交" in html
    assert "已从您的档案自动填入" in html


@pytest.mark.usefixtures("loaded")
def test_pages_answer_get_only(client):
    assert client.post("/bundles/birth/").status_code == 405
