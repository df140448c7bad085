"""Finding services the way people ask for them: jieba words scored with BM25, plus character
bigrams so a partial word (出生登 → 出生登记) still finds something.

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

import jieba
import numpy as np

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


@dataclass(frozen=True)
class SearchHit:
    kind: str
    code: str
    score: float
    exact: bool  # the query is the name or one of the aliases


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
        self._words = _bm25_postings(words)
        self._grams = _bm25_postings(grams)
        # Single characters only answer one-character queries (税): anywhere else they would
        # match half the catalog.
        self._chars = _bm25_postings(chars)
        kinds = np.array([d.kind for d in self.docs])
        self._kind_masks = {k: kinds == k for k in set(kinds.tolist())}

    def __len__(self) -> int:
        return len(self.docs)

    def search(self, query: str, *, limit: int = 20, kind: str | None = None) -> list[SearchHit]:
        """Best matches first; bundles that match strongly come before items, because a life
        event (出生一件事) is what someone asking about one of its steps usually needs."""
        if not self.docs or not query.strip():
            return []
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
        if kind is not None:
            scores *= self._kind_masks.get(kind, False)
        best = float(scores.max())
        if best <= 0:
            return []
        candidates = np.flatnonzero(scores >= best * MIN_SHARE)
        exact_set = set(exact)
        hits = [
            SearchHit(self.docs[i].kind, self.docs[i].code, float(scores[i]), i in exact_set)
            for i in candidates
        ]
        hits.sort(key=lambda h: (-h.score, h.code))
        strong = [h for h in hits if h.kind == "bundle" and h.score >= best * STRONG_BUNDLE_SHARE]
        rest = [h for h in hits if not (h.kind == "bundle" and h in strong)]
        return (strong + rest)[:limit]
