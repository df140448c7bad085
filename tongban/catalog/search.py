"""Finding services the way people ask for them: jieba words scored with BM25, plus character
bigrams so a partial word (出生登 → 出生登记) still finds something.

A score alone does not make a result. A hit is shown only above a relevance floor: it answers
the query, that is its name, an alias or its department contains one of the query's meaningful
words (jieba's precise words, without filler words, single characters beside longer words, or
words so common in the catalog's names that they say nothing alone), or its summary contains
all of them; it answers as many of those words as any document does (see _relevant); and it
scores at least MIN_SHARE of the best such hit. So 家庭医生 does not list 廉租住房 because one of
its aliases says 困难家庭: 家庭医生 is one word, and no service carries it.

When nothing answers, the index offers the closest services instead, in this order: services
whose definitions list the word among their related terms (退休 → 养老服务一件事: data, not
code), names and aliases that sound the same (社宝卡, shebaoka → 社保卡), and names and aliases
that differ by one character in four (出生证名 → 出生证明). Those are suggestions, never results.

Everything a query needs is precomputed when the index is built: for every term, the
documents that contain it and that term's BM25 contribution to each. A query is then a few
dict look-ups and numpy additions. The index knows nothing of Django; selectors build it from
the catalog and rebuild it when the catalog changes.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

import jieba
import numpy as np
from pypinyin import lazy_pinyin

# Names and aliases are what people type; summaries only support them.
FIELD_WEIGHTS = {"name": 3.0, "aliases": 3.0, "summary": 1.0, "department": 0.5}
# Bigrams rescue partial words but should not outrank a real word match.
GRAM_WEIGHT = 0.4
# Typing exactly a name or an alias (上户口) is the strongest signal there is.
EXACT_BONUS = 8.0
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
K1 = 1.2
B = 0.75

# Words that carry no meaning in a request ("我要怎么上户口").
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

_tokenizer: jieba.Tokenizer | None = None
_tokenizer_lock = threading.Lock()
_known_words: set[str] = set()


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
                _tokenizer = tokenizer
    return _tokenizer


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


def tokenize(text: str) -> list[str]:
    """Search-mode tokens: a long word and the dictionary words inside it (出生一件事 →
    出生, 一件, 出生一件事), without punctuation or request filler words."""
    return [
        token
        for token in _jieba().cut_for_search(normalise(text))
        if token.strip() and not _NOT_WORD.fullmatch(token) and token not in STOPWORDS
    ]


def words(text: str) -> list[str]:
    """Precise-mode words without filler (家庭医生 stays one word, where search mode also
    yields 家庭 and 医生): the units a result must answer."""
    return [
        token
        for token in _jieba().lcut(normalise(text))
        if token.strip() and not _NOT_WORD.fullmatch(token) and token not in STOPWORDS
    ]


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


def _similarity(query: str, text: str) -> float:
    """How much of QUERY the closest stretch of TEXT of the same length spells (0 to 1)."""
    if len(text) <= len(query):
        return SequenceMatcher(None, query, text).ratio()
    return max(
        SequenceMatcher(None, query, text[i : i + len(query)]).ratio()
        for i in range(len(text) - len(query) + 1)
    )


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
    of them answers (公积金提取 → 提取); and, when there is no result, suggestions."""

    results: list[SearchHit]
    words: tuple[str, ...]
    missing: tuple[str, ...]
    suggestions: list[SearchHit]


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
    def __init__(self, docs: Iterable[SearchDoc]):
        self.docs = list(docs)
        add_words(w for d in self.docs for w in (d.name, *d.aliases))
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
        for i, doc in enumerate(self.docs):
            terms: Counter[str] = Counter()
            fields = {
                "name": [doc.name],
                "aliases": list(doc.aliases),
                "summary": [doc.summary],
                "department": [doc.department],
            }
            for field, texts in fields.items():
                for text in texts:
                    for token in tokenize(text):
                        terms[token] += FIELD_WEIGHTS[field]
            words.append(dict(terms))
            texts = (doc.name, *doc.aliases, doc.department)
            grams.append(dict(Counter(g for t in texts for g in char_bigrams(t))))
            chars.append(dict(Counter(c for t in texts for c in _chars(t))))
            for phrase in {normalise(doc.name), *(normalise(a) for a in doc.aliases)}:
                self._exact[phrase].append(i)
                self._names.append((i, phrase, Counter(phrase)))
                joined, starts = _pinyin(phrase)
                if joined:
                    self._spoken.append((i, joined, starts))
            self._labels.append("\n".join(normalise(t) for t in texts))
            self._summaries.append(normalise(doc.summary))
            for term in doc.related:
                self._related[normalise(term)].append(i)
        self._words = _bm25_postings(words)
        self._grams = _bm25_postings(grams)
        # Single characters only answer one-character queries (税): anywhere else they would
        # match half the catalog.
        self._chars = _bm25_postings(chars)
        self._subjects = {(d.kind, d.code): d.subject for d in self.docs}
        kinds = np.array([d.kind for d in self.docs])
        self._kind_masks = {k: kinds == k for k in set(kinds.tolist())}

    def __len__(self) -> int:
        return len(self.docs)

    def _scores(self, query: str) -> tuple[np.ndarray, list[int]]:
        scores = np.zeros(len(self.docs))
        for term in set(tokenize(query)):
            posting = self._words.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1]
        grams = char_bigrams(query)
        postings = self._grams if grams else self._chars
        for gram in set(grams or _chars(query)):
            posting = postings.get(gram)
            if posting is not None:
                scores[posting[0]] += GRAM_WEIGHT * posting[1]
        exact = self._exact.get(normalise(query), [])
        if exact:
            scores[exact] += EXACT_BONUS
        return scores, exact

    def meaningful_words(self, query: str) -> tuple[str, ...]:
        """The words of QUERY a result must answer: no filler, no single character beside a
        longer word, and no word that a quarter of the catalog's names carry, unless nothing
        else is left."""
        found = list(dict.fromkeys(words(query)))
        if any(len(w) > 1 for w in found):
            found = [w for w in found if len(w) > 1]
        limit = GENERIC_SHARE * max(len(self.docs), 1)
        specific = [w for w in found if sum(w in label for label in self._labels) <= limit]
        return tuple(specific or found)

    def _answers(self, i: int, phrase: str, needed: tuple[str, ...]) -> tuple[frozenset, bool]:
        """The words of NEEDED that document I answers, and whether by what it is called.
        A document answers when its name, an alias or its department holds one of them (then
        its summary may answer more), or its summary holds every one. The whole query in a
        name (出生登 in 出生登记) answers all of them."""
        label, summary = self._labels[i], self._summaries[i]
        if phrase and phrase in label:
            return frozenset(needed), True
        in_label = {w for w in needed if w in label}
        in_summary = {w for w in needed if w in summary}
        if in_label:
            return frozenset(in_label | in_summary), True
        if needed and len(in_summary) == len(needed):
            return frozenset(needed), False
        return frozenset(), False

    def _relevant(
        self, scores: np.ndarray, phrase: str, needed: tuple[str, ...]
    ) -> dict[int, frozenset]:
        """The documents above the floor, each with the words it answers.

        - Documents that answer by what they are called come first; a document that has a
          query word only in its summary is kept only when no document is called by one.
        - Of those, the ones that answer every word some document answers; if none answers
          them all (创业补贴: 创业 in 企业开办一件事, 补贴 in the allowances), the ones answering
          the rarest of those words, the most specific thing asked (创业).
        - Of those, the ones scoring at least MIN_SHARE of the best of them."""
        found: dict[int, tuple[frozenset, bool]] = {}
        for i in np.flatnonzero(scores > 0):
            words_of, by_label = self._answers(int(i), phrase, needed)
            if words_of:
                found[int(i)] = (words_of, by_label)
        if not found:
            return {}
        tier = {i: w for i, (w, by_label) in found.items() if by_label}
        tier = tier or {i: w for i, (w, _) in found.items()}
        answerable = frozenset().union(*tier.values())
        chosen = {i: w for i, w in tier.items() if w >= answerable}
        if not chosen:
            counts = {w: sum(w in ws for ws in tier.values()) for w in answerable}
            rarest = {w for w, n in counts.items() if n == min(counts.values())}
            chosen = {i: w for i, w in tier.items() if w & rarest}
        best = max(scores[i] for i in chosen)
        return {i: w for i, w in chosen.items() if scores[i] >= best * MIN_SHARE}

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
        needed = self.meaningful_words(query)
        scores, exact = self._scores(query)
        if kind is not None:
            scores *= self._kind_masks.get(kind, False)
        phrase = normalise(query)
        relevant = self._relevant(scores, phrase, needed)
        answered = frozenset().union(*relevant.values())
        exact_set = set(exact)
        hits = [
            SearchHit(self.docs[i].kind, self.docs[i].code, float(scores[i]), i in exact_set)
            for i in relevant
        ]
        missing = tuple(w for w in needed if w not in answered)
        if not hits:
            return SearchAnswer([], needed, missing, self._suggest(query, kind=kind))
        hits.sort(key=lambda h: (-h.score, h.code))
        top = hits[0].score
        strong = [h for h in hits if h.kind == "bundle" and h.score >= top * STRONG_BUNDLE_SHARE]
        ordered = strong + [h for h in hits if h not in strong]
        if prefer:
            # sort() is stable: within each group the order above stands.
            ordered.sort(key=lambda h: self._subjects[(h.kind, h.code)] not in (prefer, "both"))
        return SearchAnswer(ordered[:limit], needed, missing, [])

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
        for word in words(query):
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
            letters_of = Counter(phrase)
            for i, name, name_letters in self._names:
                # The ratio can never exceed the share of the query's characters the name has.
                if sum((letters_of & name_letters).values()) < SIMILAR_RATIO * len(phrase):
                    continue
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
