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
        ("bundle", "enterprise_opening"),
        ("bundle", "enterprise_closing"),
    ]
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
def test_a_homophone_or_pinyin_is_offered_the_service_it_sounds_like():
    for q in ["社宝卡", "shebaoka", "she bao ka"]:
        outcome = catalog_search_outcome(q=q)
        assert outcome.status == "none", q
        assert [(s.kind, s.code, s.reason) for s in outcome.suggestions] == [
            ("item", "SH-RSJ-0101", "pinyin")
        ], q
        assert outcome.suggestions[0].bundles == (BundleRef("birth", "出生一件事"),)
        assert outcome.hotline == HOTLINE_MORE


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
