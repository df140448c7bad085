from __future__ import annotations

import time

import pytest

from tongban.catalog.search import SearchDoc, SearchIndex, char_bigrams, tokenize
from tongban.catalog.selectors import catalog_search, item_list
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import edit


def found(q: str) -> list[tuple[str, str]]:
    return [(r.kind, r.code) for r in catalog_search(q=q)]


@pytest.mark.usefixtures("loaded")
def test_how_people_say_it_finds_the_service():
    assert found("上户口") == [("bundle", "birth"), ("item", "birth_registration")]
    assert found("开公司") == [
        ("bundle", "enterprise_opening"),
        ("item", "enterprise_establishment"),
    ]
    assert found("我要怎么上户口")[:2] == [("bundle", "birth"), ("item", "birth_registration")]
    assert found("刻章") == [("item", "seal_engraving")]


@pytest.mark.usefixtures("loaded")
def test_exact_alias_match_is_marked():
    first = catalog_search(q="上户口")[0]
    assert (first.name, first.exact, first.department_name) == ("出生一件事", True, "市公安局")


@pytest.mark.usefixtures("loaded")
def test_items_only_search_puts_the_named_item_first():
    assert item_list(q="上户口")[0].code == "birth_registration"
    assert item_list(q="开公司")[0].code == "enterprise_establishment"
    assert item_list(q="社保卡")[0].code == "social_security_card"


@pytest.mark.usefixtures("loaded")
def test_partial_words_and_full_width_input_still_find_something():
    assert ("item", "birth_registration") in found("出生登")
    assert found("社保卡") == found("社保卡 ")
    assert found("医保")[0] == ("item", "medical_insurance_enrolment")
    assert ("item", "invoice_application") in found("税")  # via 市税务局


@pytest.mark.usefixtures("loaded")
def test_nonsense_and_empty_queries_find_nothing():
    assert found("xyzzy") == []
    assert found("   ") == []
    assert found("！？") == []


def test_index_follows_catalog_changes(db, catalog_dir):
    catalog_load_directory(path=catalog_dir)
    assert found("宝宝报到") == []
    edit(
        catalog_dir / "items/birth_registration.yaml",
        "aliases: [上户口,",
        "aliases: [宝宝报到, 上户口,",
    )
    (catalog_dir / "items/seal_engraving.yaml").unlink()
    edit(
        catalog_dir / "bundles/enterprise_opening.yaml",
        "  - item: seal_engraving\n    after: [enterprise_establishment]\n",
        "",
    )
    catalog_load_directory(path=catalog_dir)
    assert found("宝宝报到")[0] == ("item", "birth_registration")
    assert found("刻章") == []


def test_tokenizer_keeps_known_names_whole():
    SearchIndex([SearchDoc("item", "x", "新生儿落户", ("报户口",))])
    assert "报户口" in tokenize("我要报户口")
    assert "我要" not in tokenize("我要报户口")
    assert char_bigrams("出生登记") == ["出生", "生登", "登记"]


@pytest.mark.usefixtures("loaded")
def test_a_query_is_cheap():
    catalog_search(q="上户口")  # builds the index
    started = time.perf_counter()
    for _ in range(200):
        catalog_search(q="开公司")
    # Generous bound for a loaded CI machine; typically well under 1 ms per query.
    assert (time.perf_counter() - started) / 200 < 0.01
