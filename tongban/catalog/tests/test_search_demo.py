"""Search over the demo city's catalog (tongban/demo/definitions): what a resident who types
everyday words gets, including the dead ends the catalog cannot answer (退休, 公积金提取,
家庭医生), which end in the closest honest answer and the 12345 hotline, never in unrelated
services."""

from __future__ import annotations

from pathlib import Path

import pytest

from tongban.catalog.search import MIN_SHARE, normalise
from tongban.catalog.selectors import (
    BundleRef,
    Hotline,
    _current,
    catalog_search,
    catalog_search_outcome,
    item_list,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.test_pages import assert_headings_in_order

DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"
HOTLINE_NONE = Hotline(
    "12345", "12345 政务服务便民热线", "请换一种说法，或拨打 12345 政务服务便民热线咨询。"
)
HOTLINE_MORE = Hotline(
    "12345", "12345 政务服务便民热线", "都不是您要办的事？请拨打 12345 政务服务便民热线咨询。"
)


@pytest.fixture
def demo(db):
    return catalog_load_directory(path=DEMO)


def codes(rows) -> list[tuple[str, str]]:
    return [(r.kind, r.code) for r in rows]


@pytest.mark.usefixtures("demo")
def test_retirement_is_not_in_the_catalog_so_the_elderly_bundle_is_offered_then_12345():
    outcome = catalog_search_outcome(q="退休", prefer="person")
    assert (outcome.status, outcome.results, outcome.missing) == ("none", [], ("退休",))
    assert outcome.message == "未找到“退休”的事项，您可能要找："
    assert codes(outcome.suggestions) == [
        ("bundle", "elderly_care"),
        ("item", "SH-MZJ-0302"),
        ("item", "SH-MZJ-0303"),
    ]
    assert [s.name for s in outcome.suggestions] == [
        "养老服务一件事",
        "老年综合津贴申领",
        "老年人优待卡申领",
    ]
    assert {s.reason for s in outcome.suggestions} == {"related"}
    # The 一件事 each suggested item belongs to.
    assert [s.bundles for s in outcome.suggestions] == [
        (),
        (BundleRef("elderly_care", "养老服务一件事"),),
        (BundleRef("elderly_care", "养老服务一件事"),),
    ]
    assert outcome.hotline == HOTLINE_MORE
    # Suggestions are never passed off as results.
    assert catalog_search(q="退休") == []


@pytest.mark.usefixtures("demo")
def test_housing_fund_withdrawal_has_no_personal_item_so_it_says_so():
    outcome = catalog_search_outcome(q="公积金提取", prefer="person")
    assert outcome.status == "partial"
    assert (outcome.words, outcome.missing) == (("公积金", "提取"), ("提取",))
    assert codes(outcome.results) == [("item", "SH-GJJ-0101"), ("item", "SH-GJJ-0102")]
    assert [(r.name, r.subject_label) for r in outcome.results] == [
        ("单位公积金缴存登记", "法人事项"),
        ("公积金账户注销", "法人事项"),
    ]
    assert outcome.message == (
        "未找到“公积金提取”的事项，以下事项只与“公积金”相关，均为法人事项，没有相关的个人事项。"
    )
    assert [r.bundles for r in outcome.results] == [
        (BundleRef("enterprise_opening", "企业开办一件事"),),
        (BundleRef("enterprise_closing", "企业注销一件事"),),
    ]
    assert outcome.suggestions == []
    assert outcome.hotline == HOTLINE_MORE
    # The bundles that mention 公积金 only in their summary used to be listed: not any more.
    assert ("bundle", "enterprise_opening") not in codes(outcome.results)
    # A visitor (no known subject) gets the same items, without the subject sentence.
    visitor = catalog_search_outcome(q="公积金提取")
    assert codes(visitor.results) == codes(outcome.results)
    assert visitor.message == "未找到“公积金提取”的事项，以下事项只与“公积金”相关。"


@pytest.mark.usefixtures("demo")
def test_family_doctor_lists_nothing_unrelated_only_12345():
    outcome = catalog_search_outcome(q="家庭医生", prefer="person")
    assert outcome.status == "none"
    assert (outcome.words, outcome.missing) == (("家庭医生",), ("家庭医生",))
    # 廉租住房申请 (alias 困难家庭住房) and the 救助 items (家庭 in their summaries) were listed.
    assert outcome.results == [] and outcome.suggestions == []
    assert outcome.message == "未找到“家庭医生”的事项，也没有相近的服务。"
    assert outcome.hotline == HOTLINE_NONE
    assert item_list(q="家庭医生") == []


@pytest.mark.usefixtures("demo")
def test_registering_a_newborn_finds_the_bundle_then_the_item():
    outcome = catalog_search_outcome(q="上户口", prefer="person")
    assert outcome.status == "found"
    assert outcome.message == "找到 2 项结果。"
    assert codes(outcome.results) == [("bundle", "birth"), ("item", "SH-GA-0101")]
    assert [r.exact for r in outcome.results] == [True, True]
    assert outcome.results[1].bundles == (BundleRef("birth", "出生一件事"),)
    assert (outcome.suggestions, outcome.hotline) == ([], None)
    assert codes(catalog_search(q="我要怎么上户口")) == [
        ("bundle", "birth"),
        ("item", "SH-GA-0101"),
    ]


@pytest.mark.usefixtures("demo")
def test_nonsense_finds_nothing_and_offers_only_12345():
    for q in ["xyzzy", "！？", "嗯嗯嗯嗯"]:
        outcome = catalog_search_outcome(q=q, prefer="person")
        assert (outcome.status, outcome.results, outcome.suggestions) == ("none", [], [])
        assert outcome.message == f"未找到“{q}”的事项，也没有相近的服务。"
        assert outcome.hotline == HOTLINE_NONE


@pytest.mark.usefixtures("demo")
def test_an_empty_query_says_nothing():
    for q in ["", "   "]:
        outcome = catalog_search_outcome(q=q, prefer="person")
        assert (outcome.status, outcome.message, outcome.results) == ("empty", "", [])
        assert (outcome.suggestions, outcome.hotline) == ([], None)


@pytest.mark.usefixtures("demo")
def test_a_residents_search_puts_personal_services_first():
    assert codes(catalog_search(q="社保", prefer="person")) == [
        ("item", "SH-RSJ-0101"),  # 社会保障卡申领
        ("item", "SH-RSJ-0301"),  # 军人退役社会保险关系转移接续
        ("item", "SH-RSJ-0201"),  # 单位社保登记
        ("item", "SH-RSJ-0202"),  # 社会保险注销登记
    ]
    # 企业开办一件事 mentions 社保登记 only in its summary: not a result beside items called 社保.
    # By score alone, enterprise items come before the second personal one.
    anonymous = [code for _, code in codes(catalog_search(q="社保"))]
    assert anonymous.index("SH-RSJ-0201") < anonymous.index("SH-RSJ-0301")
    assert [i.code for i in item_list(q="社保", prefer="person")] == [
        "SH-RSJ-0101",
        "SH-RSJ-0301",
        "SH-RSJ-0201",
        "SH-RSJ-0202",
    ]


@pytest.mark.usefixtures("demo")
def test_a_homophone_or_pinyin_finds_the_service_it_sounds_like_and_says_so():
    # One service is called so: it is the result, and the page says how the words were read.
    for q in ["社宝卡", "shebaoka", "she bao ka"]:
        outcome = catalog_search_outcome(q=q)
        assert (outcome.status, outcome.read_as, outcome.suggestions) == ("found", "社保卡", []), q
        assert codes(outcome.results) == [("item", "SH-RSJ-0101")], q
        assert outcome.message == "已按“社保卡”查找，找到 1 项结果。", q
        assert outcome.results[0].bundles == (BundleRef("birth", "出生一件事"),)
        assert outcome.hotline is None


@pytest.mark.usefixtures("demo")
def test_words_answered_by_different_services_keep_the_most_specific_one():
    # 创业 is in one service's aliases (创业开公司), 补贴 in ten allowances for other people;
    # only the employer's 就业创业补贴申领 has both words, and it is the answer.
    outcome = catalog_search_outcome(q="创业补贴", prefer="person")
    assert codes(outcome.results)[0] == ("item", "SH-RSJ-0501")
    # 开饭店 is the 食品经营许可's word (the lexicon keeps it whole), 补贴 the allowances': no
    # service has both, and the answer says so, keeping the more specific one.
    outcome = catalog_search_outcome(q="开饭店补贴", prefer="person")
    assert codes(outcome.results) == [("item", "SH-SCJ-0201")]
    assert outcome.message == (
        "未找到“开饭店补贴”的事项，以下事项只与“开饭店”相关，均为法人事项，没有相关的个人事项。"
    )
    # Two syllables inside 公积金单位账户注销 (dan-WEI-ZHANG-hu) do not make 违章 sound like it.
    assert catalog_search_outcome(q="违章").suggestions == []


FLOOR_QUERIES = [
    "退休",
    "公积金提取",
    "家庭医生",
    "上户口",
    "社保",
    "医保",
    "户口",
    "老人",
    "出生登",
    "税",
]


@pytest.mark.usefixtures("demo")
def test_no_result_is_below_the_floor():
    """Every result scores at least MIN_SHARE of the best and holds one of the query's
    meaningful words in its name, aliases or department (or all of them in its summary)."""
    index = _current().search_index()
    by_code = {d.code: d for d in index.docs}
    for q in FLOOR_QUERIES:
        answer = index.answer(q)
        needed = index.meaningful_words(q)
        best = max((h.score for h in answer.results), default=0.0)
        for hit in answer.results:
            doc = by_code[hit.code]
            label = normalise(" ".join([doc.name, *doc.aliases, doc.department]))
            assert hit.score >= best * MIN_SHARE, (q, hit)
            assert any(w in label for w in needed) or all(
                w in normalise(doc.summary) for w in needed
            ), (q, hit.code)


# ---------------------------------------------------------------- the page and the API


def page_text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.usefixtures("demo")
def test_the_page_says_what_happened_offers_the_closest_services_and_12345_last(client, resident):
    _, user = resident
    client.force_login(user)
    html = page_text(client.get("/search", {"q": "退休"}))
    assert "未找到“退休”的事项，您可能要找：" in html
    links = [
        'href="/bundles/elderly_care/"',
        'href="/items/SH-MZJ-0302/"',
        'href="/items/SH-MZJ-0303/"',
    ]
    positions = [html.index(link) for link in links]
    assert positions == sorted(positions)
    # The items' 一件事 is listed first, so it is not named again under each item.
    assert html.count('href="/bundles/elderly_care/"') == 1
    assert html.index('href="tel:12345"') > positions[-1]
    assert "都不是您要办的事？请拨打 12345 政务服务便民热线咨询。" in html
    assert_headings_in_order(html)

    html = page_text(client.get("/search", {"q": "公积金提取"}))
    assert (
        "未找到“公积金提取”的事项，以下事项只与“公积金”相关，均为法人事项，没有相关的个人事项。"
        in html
    )
    assert html.count('<span class="tag">法人事项</span>') == 2
    assert 'href="/bundles/enterprise_opening/">企业开办一件事</a>' in html  # 一并办理
    assert 'href="tel:12345"' in html

    html = page_text(client.get("/search", {"q": "家庭医生"}))
    assert "未找到“家庭医生”的事项，也没有相近的服务。" in html
    assert 'href="/items/' not in html.split("<main", 1)[1]
    assert "请换一种说法，或拨打 12345 政务服务便民热线咨询。" in html

    html = page_text(client.get("/search", {"q": "上户口"}))
    assert "找到 2 项结果。" in html and 'href="tel:12345"' not in html
    assert html.count('href="/bundles/birth/"') == 1

    html = page_text(client.get("/search", {"q": "社宝卡"}))
    assert "已按“社保卡”查找，找到 1 项结果。" in html
    assert 'href="/items/SH-RSJ-0101/">社会保障卡申领</a>' in html
    assert '可在一件事中一并办理：<a href="/bundles/birth/">出生一件事</a>' in html


@pytest.mark.usefixtures("demo")
def test_the_api_keeps_its_shapes_and_adds_the_whole_answer(client, resident):
    base = "/api/v1/catalog"
    assert client.get(f"{base}/search", {"q": "家庭医生"}).json() == []
    assert client.get(f"{base}/items", {"q": "家庭医生"}).json() == []
    assert client.get(f"{base}/search", {"q": "退休"}).json() == []
    row = client.get(f"{base}/search", {"q": "上户口"}).json()[1]
    assert {k: row[k] for k in ("kind", "code", "name", "exact", "subject", "subject_label")} == {
        "kind": "item",
        "code": "SH-GA-0101",
        "name": "出生登记",
        "exact": True,
        "subject": "person",
        "subject_label": "个人事项",
    }
    assert row["bundles"] == [{"code": "birth", "name": "出生一件事"}]

    answer = client.get(f"{base}/search/answer", {"q": "退休"}).json()
    assert {k: answer[k] for k in ("q", "status", "message", "words", "missing", "results")} == {
        "q": "退休",
        "status": "none",
        "message": "未找到“退休”的事项，您可能要找：",
        "words": ["退休"],
        "missing": ["退休"],
        "results": [],
    }
    assert [(s["code"], s["reason"]) for s in answer["suggestions"]] == [
        ("elderly_care", "related"),
        ("SH-MZJ-0302", "related"),
        ("SH-MZJ-0303", "related"),
    ]
    assert answer["hotline"] == {
        "number": "12345",
        "name": "12345 政务服务便民热线",
        "text": "都不是您要办的事？请拨打 12345 政务服务便民热线咨询。",
    }
    assert client.get(f"{base}/search/answer", {"q": ""}).json()["status"] == "empty"

    # A visitor gets 社保 by score; a logged-in resident gets personal services first.
    visitor = [r["code"] for r in client.get(f"{base}/items", {"q": "社保"}).json()]
    assert visitor.index("SH-RSJ-0201") < visitor.index("SH-RSJ-0301")
    client.force_login(resident[1])
    mine = [r["code"] for r in client.get(f"{base}/items", {"q": "社保"}).json()]
    assert mine == ["SH-RSJ-0101", "SH-RSJ-0301", "SH-RSJ-0201", "SH-RSJ-0202"]
    enterprise = client.get(f"{base}/items", {"q": "社保", "subject": "enterprise"}).json()
    assert [r["code"] for r in enterprise] == ["SH-RSJ-0201", "SH-RSJ-0202"]
