"""Finding services the way people ask for them: jieba words scored with BM25, plus character
bigrams so a partial word (出生登 → 出生登记) still finds something, plus the search lexicon
(tongban.catalog.lexicon): what people call each service, synonyms, common typos, filler words
and the words that ask for a whole life event. Every entry of the lexicon is data.

Before searching, a query is read the way a person meant it (see SearchIndex.correct):
- the lexicon's typos are corrected (户囗 → 户口);
- a stretch of characters the catalog does not know that sounds exactly like a word it does
  know, sharing a character with it, is taken for that word (上护口 → 上户口, 社宝卡 → 社保卡);
- letters are read as pinyin: the full pinyin of a name, alias or lexicon word (shebaoka),
  nearly all its syllables (shangshenghukou → 上户口), or its initials (shk → 上户口) when only
  one service is called so.

A score alone does not make a result. A hit is shown only above a relevance floor: it answers
the query, that is its name, an alias, a lexicon word or its department contains one of the
query's meaningful words (jieba's precise words, without filler words, single characters
beside longer words, or words so common in the catalog's names that they say nothing alone),
or its summary contains all of them; it answers as many of those words as any document does
(see _relevant); and it scores at least MIN_SHARE of the best such hit. So 家庭医生 does not
list 廉租住房 because one of its aliases says 困难家庭: 家庭医生 is one word, and no service
carries it. A name or alias written with a character or two in between (开个小吃店 for 开小吃店)
answers the words it spans.

When nothing answers, the index offers the closest services instead, in this order: services
whose definitions list the word among their related terms (退休 → 养老服务一件事: data, not
code), names and aliases that sound the same (shebaoka → 社保卡), and names and aliases that
differ by one character in four (出生证名 → 出生证明). Those are suggestions, never results.

The confident answer (SearchIndex.confident) is the one service a query points to, or None:
the best result must answer every meaningful word by itself, be for the asker (a resident is
not confidently sent to an enterprise-only service), and be clearly ahead of any unrelated
runner-up.

Everything a query needs is precomputed when the index is built: for every term, the
documents that contain it and that term's BM25 contribution to each. A query is then a few
dict look-ups and numpy additions. The index knows nothing of Django; selectors build it from
the catalog and rebuild it when the catalog changes.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
import unicodedata
from collections import ChainMap, Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import jieba
import numpy as np
from pypinyin import Style, lazy_pinyin, pinyin

# Names, aliases and lexicon words are what people type; summaries only support them.
FIELD_WEIGHTS = {
    "name": 3.0,
    "aliases": 3.0,
    "lexicon": 3.0,
    "synonyms": 2.0,
    "summary": 1.0,
    "department": 0.5,
}
# Bigrams rescue partial words but should not outrank a real word match.
GRAM_WEIGHT = 0.4
# Typing exactly a name or an alias (上户口) is the strongest signal there is.
EXACT_BONUS = 8.0
# A name, alias or lexicon word inside the query (买了房子办产证 holds 办产证) adds this much
# per character; written with a character in between (开个公司), half as much.
SPOT_WEIGHT = 1.0
GAPPED_SHARE = 0.5
# A bundle is listed before items when it scores at least this share of the best hit.
STRONG_BUNDLE_SHARE = 0.6
# Hits scoring below this share of the best one are noise from shared characters.
MIN_SHARE = 0.2
# A word found in the names, aliases or department of more than this share of the catalog
# (申请, 登记) does not make a document relevant on its own.
GENERIC_SHARE = 0.25
# A spelling suggestion must share at least this much of a name or alias, character for
# character (three characters of four): 出生证名 → 出生证明, never 家庭医生 → 困难家庭.
SIMILAR_RATIO = 0.75
# Pinyin suggestions need this many letters (shebaoka), so two letters match nothing.
MIN_PINYIN_LETTERS = 4
MAX_SUGGESTIONS = 5
# Letters read as syllables must match this share of a name's syllables, and of theirs.
PINYIN_RATIO = 0.75
# Initials are read only when this short (shk); longer runs of consonants are not pinyin.
MAX_INITIALS = 6
# The confident answer must score at least this many times an unrelated runner-up.
CONFIDENT_MARGIN = 1.15
K1 = 1.2
B = 0.75

# Words that carry no meaning in a request ("我要怎么上户口"); the lexicon adds more.
STOPWORDS = frozenset(
    [
        "我",
        "我要",
        "我想",
        "想",
        "要",
        "怎么",
        "怎样",
        "如何",
        "哪里",
        "在哪",
        "什么",
        "的",
        "了",
        "吗",
        "呢",
        "啊",
        "和",
        "与",
        "及",
        "或",
        "请问",
        "需要",
    ]
)
_NOT_WORD = re.compile(r"[^\w]+")
_LATIN = re.compile(r"[a-z]+")
_HAN = re.compile(r"[\u3400-\u9fff]")

_tokenizer: jieba.Tokenizer | None = None
_tokenizer_lock = threading.Lock()
_known_words: set[str] = set()
_dictionary: dict[str, int] = {}
_dictionary_total = 0


def _jieba() -> jieba.Tokenizer:
    """One tokenizer of our own, loaded on first use (about a second), so adding service names
    to its dictionary does not change how other modules' jieba splits text."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                # Words added later go to an overlay, so jieba's own dictionary stays as
                # shipped for the indexes' tokenizers (_own_tokenizer) to read.
                global _dictionary, _dictionary_total
                _dictionary, _dictionary_total = tokenizer.FREQ, tokenizer.total
                tokenizer.FREQ = ChainMap({}, _dictionary)
                _tokenizer = tokenizer
    return _tokenizer


def _own_tokenizer() -> jieba.Tokenizer:
    """A tokenizer reading jieba's dictionary through a ChainMap, so the words one index adds
    (its names, aliases, lexicon) stay its own: how a query is cut never depends on which
    catalogs this process indexed before."""
    _jieba()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = ChainMap({}, _dictionary)
    tokenizer.total = _dictionary_total
    tokenizer.initialized = True
    return tokenizer


def normalise(text: str) -> str:
    # NFKC folds full-width letters and digits (ＩＣＰ, １２３) into the forms indexed.
    return unicodedata.normalize("NFKC", text).lower().strip()


def add_words(words: Iterable[str]) -> None:
    """Keep service names and aliases whole when tokenizing (上户口 rather than 上 / 户口)."""
    tokenizer = _jieba()
    with _tokenizer_lock:
        for word in words:
            word = normalise(word)
            if len(word) >= 2 and word not in _known_words and not _NOT_WORD.search(word):
                tokenizer.add_word(word)
                _known_words.add(word)


def tokenize(
    text: str, filler: frozenset[str] = STOPWORDS, tokenizer: jieba.Tokenizer | None = None
) -> list[str]:
    """Search-mode tokens: a long word and the dictionary words inside it (出生一件事 →
    出生, 一件, 出生一件事), without punctuation or request filler words."""
    return [
        token
        for token in (tokenizer or _jieba()).cut_for_search(normalise(text))
        if token.strip() and not _NOT_WORD.fullmatch(token) and token not in filler
    ]


def words(text: str, filler: frozenset[str] = STOPWORDS) -> list[str]:
    """Precise-mode words without filler (家庭医生 stays one word, where search mode also
    yields 家庭 and 医生): the units a result must answer."""
    return [w for w, _ in _spans(text, filler)]


def _spans(
    text: str,
    filler: frozenset[str],
    hmm: bool = True,
    tokenizer: jieba.Tokenizer | None = None,
) -> list[tuple[str, int]]:
    """Precise-mode words without filler, each with its offset in normalise(TEXT). Without
    HMM, characters jieba does not know as a word stay single (前要 → 前, 要)."""
    return [
        (token, start)
        for token, start, _ in (tokenizer or _jieba()).tokenize(normalise(text), HMM=hmm)
        if token.strip() and not _NOT_WORD.fullmatch(token) and token not in filler
    ]


# Parts of speech that never say which service is wanted: pronouns (哪些), adverbs, prepositions,
# conjunctions, particles, interjections, numerals and measure words (第一次), 方位 and time
# words (以后, 明年), places in general (家里).
_FUNCTION_TAGS = frozenset(
    ["r", "rr", "rz", "d", "dg", "p", "c", "u", "uj", "ul", "uz", "ug", "ud", "uv", "y", "e", "o",
     "m", "mq", "q", "f", "t", "tg", "s"]
)  # fmt: skip
_function_words: frozenset[str] | None = None


def _function_word(word: str) -> bool:
    """Whether jieba's dictionary knows WORD only as a function word (its tag table is read
    once, on first use)."""
    global _function_words
    if _function_words is None:
        with _tokenizer_lock:
            if _function_words is None:
                import jieba.posseg

                table = jieba.posseg.dt.word_tag_tab
                _function_words = frozenset(w for w, tag in table.items() if tag in _FUNCTION_TAGS)
    return word in _function_words


def _pinyin(text: str) -> tuple[str, frozenset[int]]:
    """Toneless pinyin of TEXT joined (社保卡 → shebaoka) and the offsets where syllables
    start, so a query matches whole syllables only."""
    joined, starts = "", set()
    for syllable in lazy_pinyin(normalise(text), errors="ignore"):
        syllable = syllable.lower()
        if not _LATIN.fullmatch(syllable):
            continue
        starts.add(len(joined))
        joined += syllable
    return joined, frozenset(starts)


def _readings(text: str, limit: int = 16) -> list[list[str]]:
    """The syllables of TEXT (Chinese characters only), as read in context first, then as
    other readings of its characters allow (长护险: zhang-hu-xian, chang-hu-xian), at most
    LIMIT ways, so letters typed with either reading find it."""
    han = "".join(_HAN.findall(normalise(text)))
    if not han:
        return []
    first = [s.lower() for s in lazy_pinyin(han)]
    options = [
        [first[i], *(r for r in readings if r != first[i])]
        for i, readings in enumerate(pinyin(han, style=Style.NORMAL, heteronym=True))
    ]
    found = []
    for combo in itertools.islice(itertools.product(*options), limit):
        found.append(list(combo))
    return found


def _similarity(query: str, text: str) -> float:
    """How much of QUERY the closest stretch of TEXT of the same length spells (0 to 1)."""
    if len(text) <= len(query):
        return SequenceMatcher(None, query, text).ratio()
    return max(
        SequenceMatcher(None, query, text[i : i + len(query)]).ratio()
        for i in range(len(text) - len(query) + 1)
    )


def _common_run(a: list[str], b: list[str]) -> int:
    """How many syllables of A appear, in order, in B (longest common subsequence)."""
    row = [0] * (len(b) + 1)
    for x in a:
        previous = 0
        for j, y in enumerate(b):
            current = row[j + 1]
            row[j + 1] = previous + 1 if x == y else max(row[j + 1], row[j])
            previous = current
    return row[-1]


def char_bigrams(text: str) -> list[str]:
    grams: list[str] = []
    for run in _NOT_WORD.split(normalise(text)):
        grams += [run[i : i + 2] for i in range(len(run) - 1)]
    return grams


def _chars(text: str) -> list[str]:
    return [c for c in normalise(text) if not _NOT_WORD.match(c)]


@dataclass(frozen=True)
class SearchDoc:
    kind: str  # "item" or "bundle"
    code: str
    name: str
    aliases: tuple[str, ...] = ()
    summary: str = ""
    department: str = ""
    subject: str = ""  # "person", "enterprise" or "both"
    # Words that are not this service's name, but people who type them may want it (退休 →
    # 养老服务一件事). Only used to suggest when nothing answers the query.
    related: tuple[str, ...] = ()
    # For a bundle: the codes of its items (a bundle and its own item are never rivals).
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchLexicon:
    """The search lexicon as the index uses it (built by tongban.catalog.lexicon)."""

    words: dict[str, tuple[str, ...]] = field(default_factory=dict)  # code → what people say
    synonyms: tuple[tuple[str, ...], ...] = ()
    typos: dict[str, str] = field(default_factory=dict)  # wrong → right
    domain_words: tuple[str, ...] = ()
    filler: frozenset[str] = frozenset()
    life_event_words: frozenset[str] = frozenset()
    # Words naming who applies (公司, 单位 → enterprise): any service for them answers the word.
    subject_words: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    kind: str
    code: str
    score: float
    exact: bool  # the query is the name or one of the aliases
    # For a suggestion: why it is offered ("related", "pinyin" or "similar"); "" for a result.
    reason: str = ""


@dataclass(frozen=True)
class SearchAnswer:
    """What the index can say about a query: results above the floor; the query's words none
    of them answers (公积金提取 → 提取); and, when there is no result, suggestions. `query` is
    the query as read (typos corrected, pinyin read), `complete` the results that answer every
    word by themselves, `named` those answering by their name, an alias or a lexicon word
    (not only their summary), and `life_event` whether the query asks for a whole life
    event."""

    results: list[SearchHit]
    words: tuple[str, ...]
    missing: tuple[str, ...]
    suggestions: list[SearchHit]
    query: str = ""
    complete: frozenset[str] = frozenset()
    life_event: bool = False
    named: frozenset[str] = frozenset()  # results answering by what they are called


Postings = dict[str, tuple[np.ndarray, np.ndarray]]


def _bm25_postings(doc_terms: list[dict[str, float]]) -> Postings:
    """For each term, (document indexes, BM25 weight of the term in each). Term frequencies
    are field-weighted (a word in the name counts three times), BM25F-style."""
    n = len(doc_terms)
    lengths = [sum(terms.values()) for terms in doc_terms]
    average = (sum(lengths) / n) if n else 1.0
    df = Counter(term for terms in doc_terms for term in terms)
    lists: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for i, terms in enumerate(doc_terms):
        norm = K1 * (1 - B + B * lengths[i] / (average or 1.0))
        for term, tf in terms.items():
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            docs, weights = lists[term]
            docs.append(i)
            weights.append(idf * tf * (K1 + 1) / (tf + norm))
    return {
        term: (np.array(docs, dtype=np.int32), np.array(weights, dtype=np.float64))
        for term, (docs, weights) in lists.items()
    }


class SearchIndex:
    def __init__(self, docs: Iterable[SearchDoc], lexicon: SearchLexicon | None = None):
        self.docs = list(docs)
        lx = self.lexicon = lexicon or SearchLexicon()
        self._filler = STOPWORDS | {normalise(w) for w in (*lx.filler, *lx.life_event_words)}
        self._life = tuple(sorted({normalise(w) for w in lx.life_event_words}, key=len))[::-1]
        # Filler phrases are blanked out of a query before its words are read, longest first
        # (要办哪些手续 goes whole, not as 要办 / 哪些 / 手续).
        self._blanks = tuple(
            sorted({w for w in self._filler if len(w) >= 2}, key=lambda w: (-len(w), w))
        )
        self._subject_words = {
            subject: frozenset(normalise(w) for w in found)
            for subject, found in lx.subject_words.items()
        }
        self._typos = sorted(
            ((normalise(wrong), normalise(right)) for wrong, right in lx.typos.items()),
            key=lambda pair: -len(pair[0]),
        )
        groups = [tuple(dict.fromkeys(normalise(w) for w in group)) for group in lx.synonyms]
        said = {d.code: tuple(normalise(w) for w in lx.words.get(d.code, ())) for d in self.docs}
        kept_whole = list(
            itertools.chain(
                (w for d in self.docs for w in (d.name, *d.aliases, *said[d.code])),
                lx.domain_words,
                (w for group in groups for w in group),
            )
        )
        # The shared tokenizer learns them too, for callers of the module's words().
        add_words(kept_whole)
        self._tok = _own_tokenizer()
        for word in dict.fromkeys(normalise(w) for w in kept_whole):
            if len(word) >= 2 and not _NOT_WORD.search(word):
                self._tok.add_word(word)
        words: list[dict[str, float]] = []
        grams: list[dict[str, float]] = []
        chars: list[dict[str, float]] = []
        self._exact: dict[str, list[int]] = defaultdict(list)
        # What a result must contain a query word in: the texts people name a service by.
        self._labels: list[str] = []
        self._summaries: list[str] = []
        # (document, joined pinyin, syllable starts) of every name and alias.
        self._spoken: list[tuple[int, str, frozenset[int]]] = []
        self._names: list[tuple[int, str, Counter[str]]] = []
        self._related: dict[str, list[int]] = defaultdict(list)
        # Names, aliases and lexicon words, by first character, for spotting them in a query.
        self._phrases: dict[str, list[tuple[str, list[int]]]] = defaultdict(list)
        for i, doc in enumerate(self.docs):
            label = "\n".join(normalise(t) for t in (doc.name, *doc.aliases, *said[doc.code]))
            synonyms = [
                w for group in groups if any(m in label for m in group) for w in group
            ]  # fmt: skip
            fields = {
                "name": [doc.name],
                "aliases": list(doc.aliases),
                "lexicon": list(said[doc.code]),
                "synonyms": [w for w in synonyms if w not in label],
                "summary": [doc.summary],
                "department": [doc.department],
            }
            terms: Counter[str] = Counter()
            for name, texts in fields.items():
                for text in texts:
                    for token in tokenize(text, self._filler, self._tok):
                        terms[token] += FIELD_WEIGHTS[name]
            words.append(dict(terms))
            texts = (doc.name, *doc.aliases, *said[doc.code], doc.department)
            grams.append(dict(Counter(g for t in texts for g in char_bigrams(t))))
            chars.append(dict(Counter(c for t in texts for c in _chars(t))))
            for phrase in {normalise(doc.name), *(normalise(a) for a in doc.aliases),
                           *said[doc.code]}:  # fmt: skip
                self._exact[phrase].append(i)
                self._names.append((i, phrase, Counter(phrase)))
                joined, starts = _pinyin(phrase)
                if joined:
                    self._spoken.append((i, joined, starts))
            self._labels.append("\n".join([label, normalise(doc.department), *synonyms]))
            self._summaries.append(normalise(doc.summary))
            for term in doc.related:
                self._related[normalise(term)].append(i)
        for phrase, found in self._exact.items():
            if len(phrase) >= 2:
                self._phrases[phrase[0]].append((phrase, found))
        self._words = _bm25_postings(words)
        self._grams = _bm25_postings(grams)
        # Single characters only answer one-character queries (税): anywhere else they would
        # match half the catalog.
        self._chars = _bm25_postings(chars)
        self._subjects = {(d.kind, d.code): d.subject for d in self.docs}
        self._position = {(d.kind, d.code): i for i, d in enumerate(self.docs)}
        self._members = {i: set(d.members) for i, d in enumerate(self.docs) if d.kind == "bundle"}
        items = {d.code: i for i, d in enumerate(self.docs) if d.kind == "item"}
        self._member_docs = {
            i: [items[c] for c in d.members if c in items]
            for i, d in enumerate(self.docs)
            if d.kind == "bundle"
        }
        kinds = np.array([d.kind for d in self.docs])
        self._kind_masks = {k: kinds == k for k in set(kinds.tolist())}
        self._build_sounds(groups)

    def _build_sounds(self, groups: list[tuple[str, ...]]) -> None:
        """What the catalog's words sound like: for reading letters as pinyin (full, by
        syllables, by initials) and for catching homophone typos in Chinese."""
        vocabulary: set[str] = set(self._exact)
        vocabulary |= {w for group in groups for w in group}
        vocabulary |= {normalise(w) for w in self.lexicon.domain_words}
        for phrase in list(self._exact):
            vocabulary |= {t for t in tokenize(phrase, frozenset(), self._tok) if len(t) >= 2}
        self._vocabulary = {w for w in vocabulary if len(w) >= 2 and not _NOT_WORD.search(w)}
        # Every stretch of two or more characters of a catalog word: already right as typed.
        self._pieces = {
            w[a:b]
            for w in self._vocabulary
            for a in range(len(w))
            for b in range(a + 2, len(w) + 1)
        }
        self._by_sound: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for word in self._vocabulary:
            if len(_HAN.findall(word)) == len(word):
                for reading in _readings(word, limit=8):
                    self._by_sound[tuple(reading)].add(word)
        # Letters: phrases that name services only.
        self._by_letters: dict[str, set[str]] = defaultdict(set)
        self._by_initials: dict[str, set[str]] = defaultdict(set)
        self._syllables_of: list[tuple[str, tuple[str, ...]]] = []
        self._syllable_set: set[str] = set()
        for phrase in self._exact:
            for reading in dict.fromkeys(tuple(r) for r in _readings(phrase)):
                if len(reading) != len(phrase):
                    continue
                self._by_letters["".join(reading)].add(phrase)
                self._by_initials["".join(s[0] for s in reading)].add(phrase)
                self._syllables_of.append((phrase, reading))
                self._syllable_set |= set(reading)
        # Which readings hold each syllable, so reading letters compares only those sharing some.
        self._with_syllable: dict[str, list[int]] = defaultdict(list)
        for n, (_, reading) in enumerate(self._syllables_of):
            for syllable in set(reading):
                self._with_syllable[syllable].append(n)
        # Which names hold each character (with how many), for spelling suggestions.
        self._with_char: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for n, (_, _, letters) in enumerate(self._names):
            for char, count in letters.items():
                self._with_char[char].append((n, count))

    def __len__(self) -> int:
        return len(self.docs)

    # ---------------------------------------------------------------- reading the query

    def correct(self, query: str) -> str:
        """QUERY as meant: typos corrected, homophones of catalog words taken for them, and
        letters read as the pinyin of a service's name (see the module docstring)."""
        text = normalise(query)
        for wrong, right in self._typos:
            text = text.replace(wrong, right)
        letters = re.sub(r"[\s']+", "", text)
        if letters and _LATIN.fullmatch(letters):
            return self._from_letters(letters) or text
        return self._homophones(text)

    def _one_service(self, phrases: Iterable[str]) -> str | None:
        """The phrase to read PHRASES as, when all of them name one service (or a bundle and
        its own items); None when they name different services."""
        phrases = sorted(phrases, key=lambda p: (-len(self._exact[p]), p))
        if not phrases:
            return None
        docs = {i for p in phrases for i in self._exact[p]}
        return phrases[0] if self._one_family(docs) else None

    def _one_family(self, docs: set[int]) -> bool:
        if len(docs) <= 1:
            return True
        codes = {self.docs[i].code for i in docs}
        return any(
            codes - {self.docs[b].code} <= members
            for b, members in self._members.items()
            if b in docs
        )

    def _from_letters(self, letters: str) -> str | None:
        found = self._by_letters.get(letters)
        if found:
            return self._one_service(found)
        if 2 <= len(letters) <= MAX_INITIALS:
            found = self._by_initials.get(letters)
            if found:
                return self._one_service(found)
        syllables = self._split_syllables(letters)
        if len(syllables) < 2:
            return None
        best: dict[str, float] = {}
        shared: Counter[int] = Counter()
        for syllable in set(syllables):
            shared.update(self._with_syllable.get(syllable, ()))
        for n, count in shared.items():
            phrase, reading = self._syllables_of[n]
            if count < PINYIN_RATIO * len(set(reading)):
                continue
            common = _common_run(list(reading), syllables)
            if common < PINYIN_RATIO * len(reading) or common < PINYIN_RATIO * len(syllables):
                continue
            score = common - 0.01 * abs(len(reading) - len(syllables))
            best[phrase] = max(best.get(phrase, 0.0), score)
        if not best:
            return None
        top = max(best.values())
        return self._one_service(p for p, s in best.items() if s == top)

    def _split_syllables(self, letters: str) -> list[str]:
        """LETTERS cut into the catalog's syllables, longest first (shangshenghukou → shang,
        sheng, hu, kou); [] when they cannot be."""
        longest = max((len(s) for s in self._syllable_set), default=0)
        # Fewest syllables by dynamic programming, so greedy mistakes (xian|g) are avoided.
        best: list[list[str] | None] = [None] * (len(letters) + 1)
        best[0] = []
        for end in range(1, len(letters) + 1):
            for size in range(1, min(longest, end) + 1):
                before = best[end - size]
                piece = letters[end - size : end]
                if before is not None and piece in self._syllable_set:
                    candidate = [*before, piece]
                    if best[end] is None or len(candidate) < len(best[end]):
                        best[end] = candidate
        return best[-1] or []

    def _homophones(self, text: str) -> str:
        """Stretches of TEXT the catalog does not know that sound exactly like a catalog word
        and share a character with it (社宝卡 → 社保卡), replaced by that word."""
        if not self._by_sound:
            return text
        runs = [(m.start(), m.group()) for m in re.finditer(r"[\u3400-\u9fff]+", text)]
        pieces = list(text)
        freq = self._tok.FREQ
        for start, run in runs:
            sounds = [s.lower() for s in lazy_pinyin(run)]
            if len(sounds) != len(run):
                continue
            taken = [False] * len(run)
            for size in range(min(len(run), 8), 1, -1):
                for at in range(len(run) - size + 1):
                    if any(taken[at : at + size]):
                        continue
                    span = run[at : at + size]
                    # Already a catalog word, or part of one; or a common two-character word
                    # meant as itself (工作 is not 公作…): nothing to correct.
                    if span in self._pieces or (size == 2 and freq.get(span, 0) >= 100):
                        continue
                    candidates = [
                        w
                        for w in self._by_sound.get(tuple(sounds[at : at + size]), ())
                        if len(w) == size
                        and 0
                        < sum(a != b for a, b in zip(w, span, strict=True))
                        <= max(1, size // 2)
                    ]
                    if len(candidates) != 1:
                        continue
                    for k, char in enumerate(candidates[0]):
                        pieces[start + at + k] = char
                        taken[at + k] = True
        return "".join(pieces)

    def _life_event(self, text: str) -> bool:
        return any(w in text for w in self._life)

    # ---------------------------------------------------------------- scoring

    def _blank(self, text: str) -> str:
        """TEXT with its filler phrases (怎么办, 跑几个部门) turned into spaces, offsets kept."""
        for blank in self._blanks:
            if blank in text:
                text = text.replace(blank, " " * len(blank))
        return text

    def _scores(self, query: str, whole: str) -> tuple[np.ndarray, list[int]]:
        """BM25 of QUERY (filler blanked) and the exact bonus for WHOLE (as read)."""
        scores = np.zeros(len(self.docs))
        for term in set(tokenize(query, self._filler, self._tok)):
            posting = self._words.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1]
        grams = char_bigrams(query)
        postings = self._grams if grams else self._chars
        for gram in set(grams or _chars(query)):
            posting = postings.get(gram)
            if posting is not None:
                scores[posting[0]] += GRAM_WEIGHT * posting[1]
        exact = self._exact.get(whole, [])
        if exact:
            scores[exact] += EXACT_BONUS
        return scores, exact

    def _spot(self, text: str) -> tuple[dict[int, list[tuple[int, int]]], dict[int, float]]:
        """Names, aliases and lexicon words found in TEXT, whole or with one character between
        two of theirs (开个公司 for 开公司): for each document, the stretches of TEXT they cover,
        and the score they add."""
        covered: dict[int, list[tuple[int, int]]] = defaultdict(list)
        bonus: dict[int, float] = defaultdict(float)
        present = set(text)
        for first in present:
            for phrase, docs in self._phrases.get(first, ()):
                if not set(phrase) <= present:
                    continue
                at = text.find(phrase)
                if at >= 0:
                    span, weight = (at, at + len(phrase)), SPOT_WEIGHT * len(phrase)
                else:
                    pattern = ".?".join(re.escape(c) for c in phrase)
                    match = re.search(pattern, text)
                    if match is None:
                        continue
                    span, weight = match.span(), SPOT_WEIGHT * GAPPED_SHARE * len(phrase)
                for i in docs:
                    covered[i].append(span)
                    bonus[i] += weight
        return covered, bonus

    def meaningful_words(self, query: str) -> tuple[str, ...]:
        """The words of QUERY a result must answer: no filler, no single character beside a
        longer word, and no word that a quarter of the catalog's names carry, unless nothing
        else is left."""
        return tuple(dict.fromkeys(w for w, _ in self._meaningful(normalise(query))))

    def _meaningful(self, text: str) -> list[tuple[str, int]]:
        found = _spans(self._blank(text), self._filler, hmm=False, tokenizer=self._tok)
        if any(len(w) > 1 for w, _ in found):
            found = [(w, at) for w, at in found if len(w) > 1]
        counts = {w: sum(w in lb for lb in self._labels) for w, _ in found}
        found = [(w, at) for w, at in found if counts[w] or not _function_word(w)] or found
        limit = GENERIC_SHARE * max(len(self.docs), 1)
        specific = [(w, at) for w, at in found if counts[w] <= limit]
        return specific or found

    def _answers(
        self, i: int, phrase: str, needed: list[tuple[str, int]], spans: list[tuple[int, int]]
    ) -> tuple[frozenset, bool]:
        """The words of NEEDED that document I answers, and whether by what it is called.
        A document answers when its name, an alias, a lexicon word or its department holds
        one of them, or one of those is spotted in the query over the word (then its summary
        may answer more), or its summary holds every one. The whole query in a name (出生登 in
        出生登记) answers all of them."""
        words_needed = frozenset(w for w, _ in needed)
        label, summary = self._labels[i], self._summaries[i]
        if phrase and phrase in label:
            return words_needed, True
        subject = self.docs[i].subject
        who = self._subject_words.get(subject, frozenset())
        if subject == "both":
            who = frozenset().union(*self._subject_words.values())
        in_label = {
            w
            for w, at in needed
            if w in label or w in who or any(s <= at and at + len(w) <= e for s, e in spans)
        }
        in_summary = {w for w in words_needed if w in summary}
        if in_label:
            return frozenset(in_label | in_summary), True
        if words_needed and len(in_summary) == len(words_needed):
            return words_needed, False
        return frozenset(), False

    def _relevant(
        self,
        scores: np.ndarray,
        phrase: str,
        needed: list[tuple[str, int]],
        spotted: dict[int, list[tuple[int, int]]],
    ) -> tuple[dict[int, frozenset], set[int]]:
        """The documents above the floor, each with the words it answers, and which of them
        answer by what they are called.

        - Documents that answer by what they are called come first; a document that has a
          query word only in its summary is kept only when no document is called by one.
        - Of those, the ones that answer every word some document answers; if none answers
          them all (创业补贴: 创业 in 企业开办一件事, 补贴 in the allowances), the ones answering
          the rarest of those words, the most specific thing asked (创业).
        - Of those, the ones scoring at least MIN_SHARE of the best of them."""
        found: dict[int, tuple[frozenset, bool]] = {}
        for i in np.flatnonzero(scores > 0):
            words_of, by_label = self._answers(int(i), phrase, needed, spotted.get(int(i), []))
            if words_of:
                found[int(i)] = (words_of, by_label)
        if not found:
            return {}, set()
        named = {i for i, (_, by_label) in found.items() if by_label}
        tier = {i: w for i, (w, by_label) in found.items() if by_label}
        tier = tier or {i: w for i, (w, _) in found.items()}
        answerable = frozenset().union(*tier.values())
        chosen = {i: w for i, w in tier.items() if w >= answerable}
        if not chosen:
            counts = {w: sum(w in ws for ws in tier.values()) for w in answerable}
            rarest = {w for w, n in counts.items() if n == min(counts.values())}
            chosen = {i: w for i, w in tier.items() if w & rarest}
        best = max(scores[i] for i in chosen)
        return {i: w for i, w in chosen.items() if scores[i] >= best * MIN_SHARE}, named

    # ---------------------------------------------------------------- answering

    def search(
        self, query: str, *, limit: int = 20, kind: str | None = None, prefer: str | None = None
    ) -> list[SearchHit]:
        """Best matches above the floor first; bundles that match strongly come before items,
        because a life event (出生一件事) is what someone asking about one of its steps usually
        needs. With PREFER ("person" or "enterprise"), services for that subject (or for both)
        come before the others."""
        return self.answer(query, limit=limit, kind=kind, prefer=prefer).results

    def answer(
        self, query: str, *, limit: int = 20, kind: str | None = None, prefer: str | None = None
    ) -> SearchAnswer:
        if not self.docs or not query.strip():
            return SearchAnswer([], (), (), [])
        phrase = self.correct(query)
        life = self._life_event(phrase)
        needed = self._meaningful(phrase)
        words_needed = tuple(dict.fromkeys(w for w, _ in needed))
        scores, exact = self._scores(self._blank(phrase), phrase)
        spotted, bonus = self._spot(phrase)
        for i, extra in bonus.items():
            scores[i] += extra
        if kind is not None:
            scores *= self._kind_masks.get(kind, False)
        relevant, named = self._relevant(scores, phrase, needed, spotted)
        answered = frozenset().union(*relevant.values())
        exact_set = set(exact)
        hits = [
            SearchHit(self.docs[i].kind, self.docs[i].code, float(scores[i]), i in exact_set)
            for i in relevant
        ]
        # A bundle answers what its own items answer (生了二胎报户口: 出生一件事).
        full = frozenset(words_needed)
        complete_codes = set()
        for i, answers in relevant.items():
            for j in self._member_docs.get(i, ()):
                if answers >= full:
                    break
                answers = answers | self._answers(j, phrase, needed, spotted.get(j, []))[0]
            if answers >= full:
                complete_codes.add(self.docs[i].code)
        complete = frozenset(complete_codes)
        missing = tuple(w for w in words_needed if w not in answered)
        if not hits:
            suggestions = self._suggest(phrase, kind=kind)
            return SearchAnswer([], words_needed, missing, suggestions, phrase, frozenset(), life)
        hits.sort(key=lambda h: (-h.score, h.code))
        top = hits[0].score
        # Asking for a whole life event (要办哪些) puts every answering bundle first.
        share = 0.0 if life else STRONG_BUNDLE_SHARE
        strong = [h for h in hits if h.kind == "bundle" and h.score >= top * share]
        ordered = strong + [h for h in hits if h not in strong]
        if prefer:
            # sort() is stable: within each group the order above stands.
            ordered.sort(key=lambda h: self._subjects[(h.kind, h.code)] not in (prefer, "both"))
        named_codes = frozenset(self.docs[i].code for i in relevant if i in named)
        return SearchAnswer(
            ordered[:limit], words_needed, missing, [], phrase, complete, life, named_codes
        )

    def confident(self, query: str, *, prefer: str | None = None) -> SearchHit | None:
        """The one service QUERY points to, or None: the best result that answers every
        meaningful word by itself and by what it is called, is for a resident's own subject
        (or both) when PREFER is "person", and scores CONFIDENT_MARGIN times any runner-up that
        is not its own bundle or item. Asked for a whole life event, the best bundle."""
        found = self.answer(query, prefer=prefer, limit=len(self.docs))
        if not found.results or found.missing:
            return None
        # A word only in a summary (我想找个对象: 救助对象) is never a confident answer.
        candidates = [
            h for h in found.results if h.code in found.complete and h.code in found.named
        ]
        if prefer == "person":
            # A resident is not sent to a service only enterprises can apply for.
            candidates = [
                h for h in candidates if self._subjects[(h.kind, h.code)] in ("person", "both")
            ]
        if not candidates:
            return None
        bundles = [h for h in candidates if h.kind == "bundle"]
        if found.life_event and bundles:
            # Asked for everything a life event needs: the bundle, measured against bundles.
            top, candidates = bundles[0], bundles
        else:
            top = max(candidates, key=lambda h: h.score)
        mine = self._position[(top.kind, top.code)]
        for rival in candidates:
            if rival is top:
                continue
            theirs = self._position[(rival.kind, rival.code)]
            if self._one_family({mine, theirs}):
                continue
            if rival.score * CONFIDENT_MARGIN > top.score and not top.exact:
                return None
        return top

    def _suggest(self, query: str, *, kind: str | None) -> list[SearchHit]:
        """The closest services when nothing answers QUERY: related terms from the
        definitions, then the same sound, then a one-in-four spelling difference."""
        phrase = normalise(query)
        found: dict[int, tuple[float, str]] = {}

        def offer(i: int, score: float, reason: str) -> None:
            if kind is not None and self.docs[i].kind != kind:
                return
            if i not in found or found[i][0] < score:
                found[i] = (score, reason)

        for i in self._related.get(phrase, []):
            offer(i, 3.0, "related")
        for word, _ in _spans(query, self._filler, tokenizer=self._tok):
            for i in self._related.get(word, []):
                offer(i, 2.5, "related")
        letters = "".join(_LATIN.findall(phrase))
        spoken = letters if letters and len(letters) == len(re.sub(r"\W", "", phrase)) else ""
        if not spoken:
            spoken, _ = _pinyin(phrase)
            spoken = spoken if len(phrase) >= 2 else ""
        if len(spoken) >= MIN_PINYIN_LETTERS:
            for i, joined, starts in self._spoken:
                at = joined.find(spoken)
                while at != -1:
                    end = at + len(spoken)
                    whole = at in starts and (end == len(joined) or end in starts)
                    # Half the name at least: 违章 (weizhang) is not 单位账户 (dan-wei-zhang-hu).
                    covered = sum(at <= start < end for start in starts)
                    if whole and 2 * covered >= len(starts):
                        offer(i, 2.0, "pinyin")
                        break
                    at = joined.find(spoken, at + 1)
        if len(phrase) >= 3:
            # The ratio can never exceed the share of the query's characters a name has.
            shared: Counter[int] = Counter()
            for char, wanted in Counter(phrase).items():
                for n, count in self._with_char.get(char, ()):
                    shared[n] += min(wanted, count)
            for n, common in shared.items():
                if common < SIMILAR_RATIO * len(phrase):
                    continue
                i, name, _ = self._names[n]
                ratio = _similarity(phrase, name)
                if ratio >= SIMILAR_RATIO:
                    offer(i, ratio, "similar")
        ranked = sorted(
            found.items(),
            key=lambda e: (-e[1][0], self.docs[e[0]].kind != "bundle", self.docs[e[0]].code),
        )
        return [
            SearchHit(self.docs[i].kind, self.docs[i].code, score, False, reason)
            for i, (score, reason) in ranked[:MAX_SUGGESTIONS]
        ]
