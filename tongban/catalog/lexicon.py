"""The search lexicon (检索词库): what people call the services, kept as data beside the catalog.

Layout: `lexicon/*.yaml` in the definition folder, any number of files (one per area is easiest
to maintain), each a LexiconFile:

- services: the everyday words and phrases people use for one item or bundle (上户口, 报户口 →
  出生登记; 开饭店 → 食品经营许可). They count like the service's own aliases;
- synonyms: groups of words that mean the same (产证, 房产证, 不动产权证书): a service carrying one
  answers a query holding another;
- typos: common miswritings and their correction (户囗 → 户口), applied to queries;
- domain_words: words the tokenizer must keep whole (公租房, 长护险);
- filler: words that say nothing about which service is wanted (怎么办, 去哪里);
- life_event_words: words that ask for everything a life event needs (要办哪些, 跑几个部门):
  when a 一件事 answers the query, it is preferred over its single items;
- subject_words: words naming who applies (公司, 单位 → enterprise): any service for that
  subject answers them (公司怎么开发票 → 新办纳税人涉税事项);
- policies: the everyday words for one policy (低保, 吃低保 → 最低生活保障; 生小孩 补贴 →
  育儿补贴), read by 智能客服 to find the policy a question is about. Words with spaces
  match when every part appears, in order (生小孩有补贴吗).

The catalog loader (tongban.catalog.loader.read_definitions) validates every file, and a word
pointing at a code that is neither an item nor a bundle of the same folder is a problem
naming file and line. The loader stores all files as one versioned definition (kind
"lexicon", code "lexicon"); the search index is built from the current version.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from tongban.catalog.schemas import Code, Strict
from tongban.catalog.search import SearchLexicon, normalise

LEXICON_CODE = "lexicon"
LEXICON_FOLDER = "lexicon"

Word = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class LexiconService(Strict):
    """词库条目: what people call one service."""

    code: Code = Field(description="事项编码或一件事编码")
    words: list[Word] = Field(min_length=1, description="群众的说法")


class TypoFix(Strict):
    """常见错别字: a miswriting and what was meant."""

    wrong: Word
    right: Word

    @model_validator(mode="after")
    def _differs(self) -> TypoFix:
        if normalise(self.wrong) == normalise(self.right):
            raise ValueError("错字与正字相同")
        return self


class LexiconFile(Strict):
    """检索词库文件."""

    description: str = ""
    is_example: bool = Field(default=True, description="示例: demo content")
    services: list[LexiconService] = Field(default_factory=list)
    synonyms: list[Annotated[list[Word], Field(min_length=2)]] = Field(default_factory=list)
    typos: list[TypoFix] = Field(default_factory=list)
    domain_words: list[Word] = Field(default_factory=list)
    filler: list[Word] = Field(default_factory=list)
    life_event_words: list[Word] = Field(default_factory=list)
    subject_words: dict[Literal["person", "enterprise"], list[Word]] = Field(default_factory=dict)
    policies: list[LexiconService] = Field(default_factory=list, description="政策的群众说法")


class LexiconDef(Strict):
    """The whole lexicon as stored: every file of the folder, by its path in the folder."""

    code: str = LEXICON_CODE
    files: dict[str, LexiconFile] = Field(default_factory=dict)


def policy_words(lexicon: LexiconDef | None) -> dict[str, tuple[str, ...]]:
    """Policy code → the everyday words for it (normalised, parts split on spaces kept as
    one string with single spaces)."""
    words: dict[str, list[str]] = {}
    for file in lexicon.files.values() if lexicon is not None else ():
        for entry in file.policies:
            words.setdefault(entry.code, []).extend(
                " ".join(normalise(w).split()) for w in entry.words
            )
    return {code: tuple(dict.fromkeys(ws)) for code, ws in words.items()}


def search_lexicon(lexicon: LexiconDef | None, known: set[str]) -> SearchLexicon:
    """The lexicon as the search index uses it, for the codes in KNOWN (the active items and
    bundles: a service deactivated since the load keeps no words)."""
    if lexicon is None:
        return SearchLexicon()
    words: dict[str, list[str]] = {}
    synonyms: list[tuple[str, ...]] = []
    typos: dict[str, str] = {}
    domain: list[str] = []
    filler: set[str] = set()
    life: set[str] = set()
    subjects: dict[str, list[str]] = {}
    for file in lexicon.files.values():
        for entry in file.services:
            if entry.code in known:
                words.setdefault(entry.code, []).extend(entry.words)
        synonyms += [tuple(group) for group in file.synonyms]
        typos.update({fix.wrong: fix.right for fix in file.typos})
        domain += file.domain_words
        filler |= set(file.filler)
        life |= set(file.life_event_words)
        for subject, found in file.subject_words.items():
            subjects.setdefault(subject, []).extend(found)
    return SearchLexicon(
        words={code: tuple(dict.fromkeys(ws)) for code, ws in words.items()},
        synonyms=tuple(synonyms),
        typos=typos,
        domain_words=tuple(domain),
        filler=frozenset(filler),
        life_event_words=frozenset(life),
        subject_words={subject: tuple(dict.fromkeys(ws)) for subject, ws in subjects.items()},
    )
