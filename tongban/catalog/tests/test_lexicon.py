"""The search lexicon (检索词库): validated with the catalog, stored as one versioned
definition, and read by the search index; and the index's reading of everyday words (typos,
homophones, pinyin, filler, life events, who applies) with a lexicon of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tongban.catalog.errors import CatalogInvalid
from tongban.catalog.models import CatalogRevision, DefinitionVersion
from tongban.catalog.search import SearchDoc, SearchIndex, SearchLexicon
from tongban.catalog.selectors import catalog_answer_target, catalog_search
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import line_of
from tongban.common.models import AuditEvent

LEXICON = """\
description: 测试词库（示例）
services:
  - code: birth_registration
    words: [入户, 囡囡报户口]
synonyms:
  - [孩子, 囡囡]
typos:
  - {wrong: 户囗, right: 户口}
"""


def write_lexicon(catalog_dir: Path, text: str = LEXICON, name: str = "family.yaml") -> Path:
    folder = catalog_dir / "lexicon"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def found(q: str) -> list[tuple[str, str]]:
    return [(r.kind, r.code) for r in catalog_search(q=q)]


def lexicon_versions() -> list[tuple[int, list[str]]]:
    return [
        (v.version, sorted(v.content["files"]))
        for v in DefinitionVersion.objects.filter(kind="lexicon", code="lexicon").order_by(
            "version"
        )
    ]


@pytest.mark.django_db
def test_a_word_for_a_code_the_catalog_does_not_have_is_refused_with_file_and_line(catalog_dir):
    path = write_lexicon(catalog_dir, LEXICON.replace("code: birth_registration", "code: no_such"))
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    line = line_of(path, "code: no_such")
    assert [str(p) for p in caught.value.problems] == [
        f"lexicon/family.yaml:{line}: services[0].code: "
        "词库指向的事项或一件事 no_such 未在 items 或 bundles 中定义"
    ]
    assert not DefinitionVersion.objects.exists()  # nothing loaded


@pytest.mark.django_db
def test_words_for_a_policy_the_catalog_does_not_have_are_refused(catalog_dir):
    path = write_lexicon(
        catalog_dir, LEXICON + "policies:\n  - {code: NO-SUCH-P1, words: [低保]}\n"
    )
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    line = line_of(path, "code: NO-SUCH-P1")
    assert [str(p) for p in caught.value.problems] == [
        f"lexicon/family.yaml:{line}: policies[0].code: "
        "词库指向的政策 NO-SUCH-P1 未在 policies 中定义"
    ]
    assert not DefinitionVersion.objects.exists()


@pytest.mark.django_db
def test_a_typo_that_corrects_nothing_and_an_unknown_key_are_refused(catalog_dir):
    write_lexicon(catalog_dir, "typos:\n  - {wrong: 户口, right: 户口}\nwords: [上户口]\n")
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    problems = [(p.file, p.field) for p in caught.value.problems]
    assert problems == [("lexicon/family.yaml", "typos[0]"), ("lexicon/family.yaml", "words")]
    assert "错字与正字相同" in caught.value.problems[0].message


@pytest.mark.django_db
def test_the_lexicon_is_one_versioned_definition_and_search_reads_the_current_one(catalog_dir):
    catalog_load_directory(path=catalog_dir)
    assert found("入户") == []
    assert lexicon_versions() == []  # no folder, never had one: nothing stored

    path = write_lexicon(catalog_dir)
    report = catalog_load_directory(path=catalog_dir)
    assert report.lexicon == "created"
    assert report.items.unchanged == 7  # words for an item do not version the item
    assert lexicon_versions() == [(1, ["lexicon/family.yaml"])]
    assert (
        AuditEvent.objects.filter(action="catalog.load").order_by("pk").last().data["lexicon"]
        == "created"
    )
    assert found("入户") == [("item", "birth_registration")]
    assert found("户囗") == found("户口")

    token = CatalogRevision.objects.get().token
    assert catalog_load_directory(path=catalog_dir).lexicon == "unchanged"
    assert CatalogRevision.objects.get().token == token
    assert len(lexicon_versions()) == 1

    path.write_text(LEXICON.replace(", 囡囡报户口", ""), encoding="utf-8")
    assert catalog_load_directory(path=catalog_dir).lexicon == "changed"
    assert found("入户") == [("item", "birth_registration")]

    path.unlink()
    assert catalog_load_directory(path=catalog_dir).lexicon == "changed"
    assert lexicon_versions() == [
        (1, ["lexicon/family.yaml"]),
        (2, ["lexicon/family.yaml"]),
        (3, []),
    ]
    assert found("入户") == []


@pytest.mark.django_db
def test_the_confident_answer_comes_from_the_lexicon_and_declines_what_it_cannot_answer(
    catalog_dir,
):
    write_lexicon(catalog_dir)
    catalog_load_directory(path=catalog_dir)
    target = catalog_answer_target(q="我家囡囡报户口", prefer="person")
    assert (target.kind, target.code, target.name) == ("item", "birth_registration", "出生登记")
    assert catalog_answer_target(q="上护口", prefer="person").code in (
        "birth",
        "birth_registration",
    )
    assert catalog_answer_target(q="户口迁移", prefer="person") is None
    assert catalog_answer_target(q="   ") is None


# ---------------------------------------------------------------- the index on its own

DOCS = [
    SearchDoc("bundle", "birth", "出生一件事", ("生孩子",), "新生儿出生后一次办理。", "公安局",
              "person", (), ("registration", "card")),
    SearchDoc("item", "registration", "出生登记", ("上户口",), "新生儿申报户口。", "公安局",
              "person"),
    SearchDoc("item", "card", "社会保障卡申领", ("社保卡",), "监护人代为申领。", "人社局",
              "person"),
    SearchDoc("item", "food", "食品经营许可", ("餐饮许可证",), "从事餐饮服务的经营者。",
              "市场监管局", "enterprise"),
    SearchDoc("item", "relief", "临时救助申请", ("临时救助",), "救助对象遇突发困难。", "民政局",
              "person"),
]  # fmt: skip
WORDS = SearchLexicon(
    words={"food": ("开饭店", "开餐馆"), "registration": ("报户口",)},
    synonyms=(("产证", "房产证"),),
    typos={"户囗": "户口"},
    filler=frozenset(["怎么办", "去哪里"]),
    life_event_words=frozenset(["要办哪些"]),
    subject_words={"enterprise": ("公司",)},
)


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex(DOCS, WORDS)


def codes(hits) -> list[str]:
    return [h.code for h in hits]


def test_typos_homophones_and_pinyin_are_read_as_the_words_meant(index):
    assert index.correct("报户囗") == "报户口"
    assert index.correct("社宝卡") == "社保卡"
    assert index.correct("shebaoka") == "社保卡"
    assert index.correct("she bao ka") == "社保卡"
    assert index.correct("shk") == "上户口"
    assert index.correct("shangshenghukou") == "上户口"
    assert index.correct("kaifandian") == "开饭店"
    # Unknown letters and ordinary words stay as typed.
    assert index.correct("xyz") == "xyz"
    assert index.correct("天气") == "天气"


def test_lexicon_words_find_their_service_and_filler_says_nothing(index):
    assert codes(index.search("开饭店怎么办")) == ["food"]
    assert codes(index.search("开个餐馆")) == ["food"]  # one character between
    assert index.meaningful_words("报户口去哪里") == ("报户口",)
    assert index.confident("开饭店去哪里").code == "food"


def test_a_life_event_question_gets_the_bundle_and_a_step_gets_the_item(index):
    assert index.confident("生孩子要办哪些").code == "birth"
    assert index.confident("上户口").code == "registration"
    assert codes(index.search("上户口")) == ["registration"]


def test_the_confident_answer_declines_rather_than_guess(index):
    # Enterprise-only for a resident; fine for an enterprise or a visitor.
    assert index.confident("开饭店", prefer="person") is None
    assert index.confident("开饭店", prefer="enterprise").code == "food"
    assert index.confident("开饭店").code == "food"
    # A word only a summary holds (救助对象) is no answer.
    assert codes(index.search("对象")) == ["relief"]
    assert index.confident("对象") is None
    # Part of the words answered: no answer.
    assert index.confident("社保卡提取") is None
    # Who applies: any enterprise service answers 公司.
    assert index.confident("公司开饭店").code == "food"
