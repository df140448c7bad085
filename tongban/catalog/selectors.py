"""Catalog reads for pages, the API and other apps.

Two caches make these cheap:
- parsed definitions, keyed by (kind, code, version, sha256): a version never changes, and the
  hash keeps a reused version number (a restored or test database) from serving old content;
- a snapshot of the active catalog (listing rows and the search index), keyed on the
  CatalogRevision token the loader changes, checked with one small query per call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from pydantic import BaseModel

from tongban.catalog.errors import BundleNotFound, ItemNotFound
from tongban.catalog.lexicon import LEXICON_CODE, LexiconDef, policy_words, search_lexicon
from tongban.catalog.models import (
    Bundle,
    CatalogRevision,
    DataElement,
    DefinitionVersion,
    Department,
    ServiceItem,
)
from tongban.catalog.schemas import BundleDef, DataElementDef, ServiceItemDef
from tongban.catalog.search import SearchDoc, SearchHit, SearchIndex, SearchLexicon, normalise

Kind = DefinitionVersion.Kind

_SCHEMAS: dict[str, type[BaseModel]] = {
    Kind.ITEM: ServiceItemDef,
    Kind.BUNDLE: BundleDef,
    Kind.ELEMENT: DataElementDef,
}


# ---------------------------------------------------------------- shapes


@dataclass(frozen=True)
class ItemSummary:
    code: str
    name: str
    type: str
    subject: str
    department: str
    department_name: str
    handling: str
    promised_days: int
    visits: int
    online: bool
    aliases: tuple[str, ...]
    summary: str
    version: int
    is_example: bool
    related_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class BundleSummary:
    code: str
    name: str
    subject: str
    summary: str
    aliases: tuple[str, ...]
    lead_department: str
    lead_department_name: str
    promised_days: int
    items: tuple[str, ...]
    item_names: tuple[str, ...]
    version: int
    is_example: bool
    related_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class BundleRef:
    code: str
    name: str


@dataclass(frozen=True)
class SearchResult:
    kind: str  # "item" or "bundle"
    code: str
    name: str
    summary: str
    department_name: str
    score: float
    exact: bool
    subject: str = ""  # "person", "enterprise" or "both"
    subject_label: str = ""  # 个人事项, 法人事项 …
    # For an item: the 一件事 it belongs to, where it can also be applied for.
    bundles: tuple[BundleRef, ...] = ()
    # For a suggestion: "related" (the definitions list the word), "pinyin" (sounds the
    # same) or "similar" (spelt nearly the same); "" for a result.
    reason: str = ""


@dataclass(frozen=True)
class Hotline:
    number: str
    name: str
    text: str


@dataclass(frozen=True)
class SearchOutcome:
    """Everything a search page says about a query (其中 status: found 找到, partial 只找到与部分
    词语相关的事项, none 没有找到, empty 没有输入).

    results never hold a service below the relevance floor (see tongban.catalog.search);
    suggestions are offered only when there is no result; the 12345 hotline comes last
    whenever the catalog cannot fully answer."""

    q: str
    status: str
    message: str
    words: tuple[str, ...]  # the words a result must answer
    missing: tuple[str, ...]  # words no result answers (公积金提取 → 提取)
    results: list[SearchResult]
    suggestions: list[SearchResult]
    hotline: Hotline | None
    # The query as the search read it (上护口 → 上户口, shebaoka → 社保卡); "" when as typed.
    read_as: str = ""


@dataclass(frozen=True)
class VersionInfo:
    version: int
    content_sha256: str
    source_file: str
    loaded_at: dt.datetime
    loaded_by: str
    is_current: bool


@dataclass(frozen=True)
class ItemDetail:
    definition: ServiceItemDef
    version: int
    latest_version: int
    department_name: str
    is_active: bool


@dataclass(frozen=True)
class BundleDetail:
    definition: BundleDef
    version: int
    lead_department_name: str
    item_names: dict[str, str]


@dataclass(frozen=True)
class _Ref:
    version: int
    sha: str
    id: int


@dataclass
class _Snapshot:
    key: tuple
    items: dict[str, ItemSummary]
    bundles: dict[str, BundleSummary]
    item_refs: dict[str, _Ref]
    bundle_refs: dict[str, _Ref]
    element_refs: dict[str, _Ref]
    department_names: dict[str, str]
    lexicon: LexiconDef | None = None
    policy_words: dict[str, tuple[str, ...]] | None = None
    _index: SearchIndex | None = None
    checked_at: float = 0.0
    # Anonymous guide results, which depend only on this snapshot and the answers; dropped
    # with the snapshot when the catalog changes.
    guide_memo: dict = field(default_factory=dict)
    _index_lock: threading.Lock = field(default_factory=threading.Lock)

    def search_index(self) -> SearchIndex:
        if self._index is None:
            with self._index_lock:
                if self._index is None:
                    docs = [
                        SearchDoc("bundle", b.code, b.name, b.aliases, b.summary,
                                  b.lead_department_name, b.subject, b.related_terms, b.items)
                        for b in self.bundles.values()
                    ]  # fmt: skip
                    docs += [
                        SearchDoc("item", i.code, i.name, i.aliases, i.summary,
                                  i.department_name, i.subject, i.related_terms)
                        for i in self.items.values()
                    ]  # fmt: skip
                    known = set(self.items) | set(self.bundles)
                    self._index = _index_for(docs, search_lexicon(self.lexicon, known))
        return self._index


# Built indexes by what went into them. A new snapshot of an unchanged catalog (another
# process's load of the same folder; each test's fresh database) reuses the index instead of
# reading every name again, which takes about half a second.
_indexes: dict[str, SearchIndex] = {}
_INDEXES_KEPT = 4


def _index_for(docs: list[SearchDoc], lexicon: SearchLexicon) -> SearchIndex:
    key = hashlib.sha256(repr((docs, lexicon)).encode()).hexdigest()
    index = _indexes.get(key)
    if index is None:
        index = SearchIndex(docs, lexicon)
        while len(_indexes) >= _INDEXES_KEPT:
            _indexes.pop(next(iter(_indexes)))
        _indexes[key] = index
    return index


# ---------------------------------------------------------------- definition cache

_definitions: dict[tuple[str, str, int, str], BaseModel] = {}
_definitions_lock = threading.Lock()


def _cached(kind: str, code: str, ref: _Ref) -> BaseModel:
    return _cached_many(kind, {code: ref})[code]


def _cached_many(kind: str, refs: dict[str, _Ref]) -> dict[str, Any]:
    """Parsed definitions for many refs; the ones not yet cached are read in one query."""
    found: dict[str, Any] = {}
    missing: dict[int, str] = {}
    for code, ref in refs.items():
        hit = _definitions.get((kind, code, ref.version, ref.sha))
        if hit is None:
            missing[ref.id] = code
        else:
            found[code] = hit
    if missing:
        schema = _SCHEMAS[kind]
        rows = DefinitionVersion.objects.filter(id__in=list(missing)).values_list("id", "content")
        with _definitions_lock:
            for dv_id, content in rows:
                code = missing[dv_id]
                ref = refs[code]
                definition = schema.model_validate(content)
                _definitions[(kind, code, ref.version, ref.sha)] = definition
                found[code] = definition
    return found


# ---------------------------------------------------------------- snapshot

_snapshot: _Snapshot | None = None
_snapshot_lock = threading.Lock()


def _catalog_key() -> tuple:
    """Changes whenever the loader changes anything. The newest version row is included too,
    for index rows written without the loader (test factories)."""
    revision = connection.ops.quote_name(CatalogRevision._meta.db_table)
    versions = connection.ops.quote_name(DefinitionVersion._meta.db_table)
    # Table names come from model metadata, never from input.
    sql = (
        f"SELECT (SELECT token FROM {revision} WHERE id = 1), "  # noqa: S608
        f"(SELECT id FROM {versions} ORDER BY id DESC LIMIT 1), "
        f"(SELECT content_sha256 FROM {versions} ORDER BY id DESC LIMIT 1)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


def _current() -> _Snapshot:
    """The active catalog. Asking the database whether it changed costs a round trip, which on
    PostgreSQL is most of a catalog read, so a process asks at most once per
    TONGBAN_CATALOG_REFRESH_SECONDS: a load elsewhere is seen that much later."""
    global _snapshot
    snapshot = _snapshot
    now = time.monotonic()
    if (
        snapshot is not None
        and now - snapshot.checked_at < settings.TONGBAN_CATALOG_REFRESH_SECONDS
    ):
        return snapshot
    key = _catalog_key()
    if snapshot is not None and snapshot.key == key:
        snapshot.checked_at = now
        return snapshot
    with _snapshot_lock:
        if _snapshot is None or _snapshot.key != key:
            _snapshot = _build_snapshot(key)
        _snapshot.checked_at = now
        return _snapshot


GUIDE_MEMO_LIMIT = 4096


def normalise_query(text: str) -> str:
    """TEXT folded and with the lexicon's typos corrected, as search reads a query."""
    return normalise(_current().search_index().correct(normalise(text)))


def lexicon_policy_words() -> dict[str, tuple[str, ...]]:
    """The search lexicon's everyday words per policy code (智能客服 finds policies by them)."""
    snapshot = _current()
    if snapshot.policy_words is None:
        snapshot.policy_words = policy_words(snapshot.lexicon)
    return snapshot.policy_words


def guide_memo() -> dict:
    """The current snapshot's memo of anonymous guide results (bounded by GUIDE_MEMO_LIMIT)."""
    memo = _current().guide_memo
    if len(memo) >= GUIDE_MEMO_LIMIT:
        memo.clear()  # answer sets are few per bundle; a full memo means something odd is asked
    return memo


def catalog_cache_clear() -> None:
    """Forget the snapshot (tests that write index rows directly can call this)."""
    global _snapshot
    with _snapshot_lock:
        _snapshot = None


def _build_snapshot(key: tuple) -> _Snapshot:
    department_names = dict(Department.objects.values_list("code", "name"))
    item_rows = list(
        ServiceItem.objects.filter(is_active=True)
        .order_by("code")
        .values_list(
            "code", "name", "item_type", "subject", "department__code", "handling",
            "promised_days", "visits", "online", "current_id", "current__version",
            "current__content_sha256",
        )
    )  # fmt: skip
    item_refs = {r[0]: _Ref(r[10], r[11], r[9]) for r in item_rows}
    item_defs = _cached_many(Kind.ITEM, item_refs)
    items = {}
    for r in item_rows:
        d = item_defs[r[0]]
        items[r[0]] = ItemSummary(
            code=r[0], name=r[1], type=r[2], subject=r[3], department=r[4],
            department_name=department_names.get(r[4], r[4]), handling=r[5],
            promised_days=r[6], visits=r[7], online=r[8], aliases=tuple(d.aliases),
            summary=d.summary, version=r[10], is_example=d.is_example,
            related_terms=tuple(d.related_terms),
        )  # fmt: skip

    bundle_rows = list(
        Bundle.objects.filter(is_active=True)
        .order_by("code")
        .values_list("code", "current_id", "current__version", "current__content_sha256")
    )
    bundle_refs = {r[0]: _Ref(r[2], r[3], r[1]) for r in bundle_rows}
    bundle_defs = _cached_many(Kind.BUNDLE, bundle_refs)
    bundles = {}
    for code, ref in bundle_refs.items():
        d = bundle_defs[code]
        member_codes = tuple(b.item for b in d.items)
        bundles[code] = BundleSummary(
            code=code, name=d.name, subject=d.subject, summary=d.summary,
            aliases=tuple(d.aliases), lead_department=d.lead_department,
            lead_department_name=department_names.get(d.lead_department, d.lead_department),
            promised_days=d.promised_days, items=member_codes,
            item_names=tuple(items[c].name if c in items else c for c in member_codes),
            version=ref.version, is_example=d.is_example,
            related_terms=tuple(d.related_terms),
        )  # fmt: skip

    element_refs = {
        code: _Ref(version, sha, dv_id)
        for code, dv_id, version, sha in DataElement.objects.filter(is_active=True).values_list(
            "code", "current_id", "current__version", "current__content_sha256"
        )
    }
    # The search lexicon's newest version (the loader writes an empty one when it is removed).
    lexicon_row = (
        DefinitionVersion.objects.filter(kind=Kind.LEXICON, code=LEXICON_CODE)
        .order_by("-version")
        .values_list("content", flat=True)
        .first()
    )
    return _Snapshot(
        key=key,
        items=items,
        bundles=bundles,
        item_refs=item_refs,
        bundle_refs=bundle_refs,
        element_refs=element_refs,
        department_names=department_names,
        lexicon=LexiconDef.model_validate(lexicon_row) if lexicon_row is not None else None,
    )


# ---------------------------------------------------------------- public reads


def _version_ref(kind: str, code: str, version: int) -> _Ref | None:
    # Most pinned versions are today's: the snapshot already knows them, no query needed.
    current = _current()
    refs = current.item_refs if kind == Kind.ITEM else current.bundle_refs
    ref = refs.get(code)
    if ref is not None and ref.version == version:
        return ref
    row = (
        DefinitionVersion.objects.filter(kind=kind, code=code, version=version)
        .values_list("version", "content_sha256", "id")
        .first()
    )
    return _Ref(*row) if row else None


def item_definition(code: str, version: int | None = None) -> ServiceItemDef:
    """The item as defined now, or as it was at `version` (cases pin one). An item taken out of
    the catalog has no current definition but its versions stay readable."""
    if version is None:
        ref = _current().item_refs.get(code)
        if ref is None:
            raise ItemNotFound()
    else:
        ref = _version_ref(Kind.ITEM, code, version)
        if ref is None:
            raise ItemNotFound(f"未找到该事项的第 {version} 版")
    return _cached(Kind.ITEM, code, ref)  # type: ignore[return-value]


def bundle_definition(code: str, version: int | None = None) -> BundleDef:
    if version is None:
        ref = _current().bundle_refs.get(code)
        if ref is None:
            raise BundleNotFound()
    else:
        ref = _version_ref(Kind.BUNDLE, code, version)
        if ref is None:
            raise BundleNotFound(f"未找到该一件事的第 {version} 版")
    return _cached(Kind.BUNDLE, code, ref)  # type: ignore[return-value]


def current_definitions() -> tuple[dict[str, ServiceItemDef], dict[str, BundleDef]]:
    """Every active item and bundle as defined now (code → definition)."""
    snap = _current()
    return (
        {code: item_definition(code) for code in sorted(snap.item_refs)},
        {code: bundle_definition(code) for code in sorted(snap.bundle_refs)},
    )


def element_definitions(codes: list[str] | tuple[str, ...] | set[str]) -> dict[str, DataElementDef]:
    """Current definitions of these data elements; unknown codes are left out."""
    refs = _current().element_refs
    return _cached_many(Kind.ELEMENT, {c: refs[c] for c in codes if c in refs})


def element_value_display(element: DataElementDef | None, value: Any) -> str:
    """VALUE as people read it, by its data element: a choice's label (男, not M), a
    district's name (徐汇区, not 310104), 是/否, a date in Chinese. Empty for no value; an
    unknown element or a value no longer among its choices shows as given."""
    if value is None or value == "":
        return ""
    kind = element.type if element is not None else ""
    if isinstance(value, bool) or kind == "boolean":
        return {True: "是", False: "否", "true": "是", "false": "否"}.get(value, str(value))
    if kind == "choice":
        return next((c.label for c in element.choices if c.value == str(value)), str(value))
    if kind == "district":
        from tongban.accounts.models import District

        return dict(District.choices).get(str(value), str(value))
    if kind == "date":
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return f"{day.year}年{day.month}月{day.day}日"
    return str(value)


def form_display(form: dict[str, Any]) -> dict[str, str]:
    """code → display text for every value of FORM (an application's answers), driven by the
    current data element definitions: the one place values get their labels, for every page
    and the API's `display` fields."""
    elements = element_definitions(list(form))
    return {code: element_value_display(elements.get(code), v) for code, v in form.items()}


def item_detail(code: str, version: int | None = None) -> ItemDetail:
    snapshot = _current()
    definition = item_definition(code, version)
    versions = item_versions(code)
    current = snapshot.item_refs.get(code)
    return ItemDetail(
        definition=definition,
        version=version or current.version,  # type: ignore[union-attr]
        latest_version=versions[-1].version,
        department_name=snapshot.department_names.get(definition.department, ""),
        is_active=current is not None,
    )


def bundle_detail(code: str, version: int | None = None) -> BundleDetail:
    snapshot = _current()
    definition = bundle_definition(code, version)
    return BundleDetail(
        definition=definition,
        version=version or snapshot.bundle_refs[code].version,
        lead_department_name=snapshot.department_names.get(definition.lead_department, ""),
        item_names={
            b.item: snapshot.items[b.item].name if b.item in snapshot.items else b.item
            for b in definition.items
        },
    )


def item_versions(code: str) -> list[VersionInfo]:
    """Every loaded version of an item, oldest first."""
    current = _current().item_refs.get(code)
    rows = DefinitionVersion.objects.filter(kind=Kind.ITEM, code=code).order_by("version")
    versions = [
        VersionInfo(
            version=r.version,
            content_sha256=r.content_sha256,
            source_file=r.source_file,
            loaded_at=r.loaded_at,
            loaded_by=r.loaded_by,
            is_current=current is not None and current.version == r.version,
        )
        for r in rows.only("version", "content_sha256", "source_file", "loaded_at", "loaded_by")
    ]
    if not versions:
        raise ItemNotFound()
    return versions


def item_list(
    *,
    q: str | None = None,
    department: str | None = None,
    subject: str | None = None,
    prefer: str | None = None,
) -> list[ItemSummary]:
    """Active items, by relevance when `q` is given (only those above the relevance floor),
    else by code. `subject` "person" or "enterprise" includes items for both; `prefer` puts
    that subject's matches first without dropping the others."""
    snapshot = _current()
    if q and q.strip():
        hits = snapshot.search_index().search(
            q, kind="item", limit=len(snapshot.items), prefer=prefer
        )
        items = [snapshot.items[h.code] for h in hits]
    else:
        items = list(snapshot.items.values())
    if department:
        items = [i for i in items if i.department == department]
    if subject:
        items = [i for i in items if i.subject in (subject, "both")]
    return items


def bundle_list(*, subject: str | None = None) -> list[BundleSummary]:
    bundles = list(_current().bundles.values())
    if subject:
        bundles = [b for b in bundles if b.subject == subject]
    return bundles


def item_popular(*, limit: int = 8) -> list[ItemSummary]:
    """Items for the home page. Until cases exist to count, the items most 一件事 build on
    come first: they are the ones most people pass through."""
    snapshot = _current()
    uses = Counter(code for b in snapshot.bundles.values() for code in b.items)
    ranked = sorted(snapshot.items.values(), key=lambda i: (-uses[i.code], i.code))
    return ranked[:limit]


SUBJECT_LABELS = {"person": "个人事项", "enterprise": "法人事项", "both": "个人和法人事项"}
HOTLINE = "12345"
HOTLINE_NAME = "12345 政务服务便民热线"


def _result(snapshot: _Snapshot, hit: SearchHit) -> SearchResult:
    if hit.kind == "bundle":
        b = snapshot.bundles[hit.code]
        name, summary, dept, subject = b.name, b.summary, b.lead_department_name, b.subject
        bundles: tuple[BundleRef, ...] = ()
    else:
        i = snapshot.items[hit.code]
        name, summary, dept, subject = i.name, i.summary, i.department_name, i.subject
        bundles = tuple(
            BundleRef(b.code, b.name) for b in snapshot.bundles.values() if hit.code in b.items
        )
    return SearchResult(
        hit.kind, hit.code, name, summary, dept, hit.score, hit.exact,
        subject, SUBJECT_LABELS.get(subject, ""), bundles, hit.reason,
    )  # fmt: skip


def search_subject_for(user) -> str | None:
    """Whose services a user's search puts first: a resident's own ("person"); nobody's for
    an enterprise agent (who searches for the enterprise and for themself) or a visitor."""
    from tongban.accounts.selectors import live_memberships, resident_profile_of

    if user is None or not user.is_authenticated or resident_profile_of(user) is None:
        return None
    if live_memberships().filter(user=user).exists():
        return None
    return "person"


def catalog_search(*, q: str, limit: int = 20, prefer: str | None = None) -> list[SearchResult]:
    """Items and bundles for a search box, above the relevance floor; strongly matching
    bundles first, and with `prefer` that subject's services before the others."""
    return catalog_search_outcome(q=q, limit=limit, prefer=prefer).results


def _quoted(words: Iterable[str]) -> str:
    return "、".join(f"“{w}”" for w in words)


def catalog_search_outcome(*, q: str, limit: int = 20, prefer: str | None = None) -> SearchOutcome:
    """What a search page shows: results, or what the catalog comes closest to, and the
    12345 hotline when the catalog cannot fully answer. Messages are plain Chinese."""
    q = q.strip()
    if not q:
        return SearchOutcome(q, "empty", "", (), (), [], [], None)
    snapshot = _current()
    answer = snapshot.search_index().answer(q, limit=limit, prefer=prefer)
    results = [_result(snapshot, h) for h in answer.results]
    suggestions = [_result(snapshot, h) for h in answer.suggestions]
    read_as = answer.query if answer.query and answer.query != normalise(q) else ""
    hotline_text = f"都不是您要办的事？请拨打 {HOTLINE_NAME}咨询。"
    # Say how the query was read when it was corrected (社宝卡 → 社保卡, shebaoka → 社保卡).
    read_note = f"已按“{read_as}”查找，" if read_as else ""
    if results:
        other = prefer is not None and all(r.subject not in (prefer, "both") for r in results)
        found = [w for w in answer.words if w not in answer.missing]
        if answer.missing:
            status = "partial"
            message = f"未找到“{q}”的事项，以下事项只与{_quoted(found)}相关"
        else:
            status = "found"
            message = f"找到 {len(results)} 项结果"
        if other:
            theirs = SUBJECT_LABELS[results[0].subject if results[0].subject else "enterprise"]
            mine = SUBJECT_LABELS[prefer or "person"]
            message += f"，均为{theirs}，没有相关的{mine}"
        message = read_note + message + "。"
        hotline = (
            Hotline(HOTLINE, HOTLINE_NAME, hotline_text) if (other or answer.missing) else None
        )
        return SearchOutcome(
            q, status, message, answer.words, answer.missing, results, [], hotline, read_as
        )
    if suggestions:
        message = f"未找到“{q}”的事项，您可能要找："
    else:
        message = f"未找到“{q}”的事项，也没有相近的服务。"
        hotline_text = f"请换一种说法，或拨打 {HOTLINE_NAME}咨询。"
    return SearchOutcome(
        q, "none", message, answer.words, answer.missing, [], suggestions,
        Hotline(HOTLINE, HOTLINE_NAME, hotline_text), read_as,
    )  # fmt: skip


def catalog_answer_target(*, q: str, prefer: str | None = None) -> SearchResult | None:
    """The one item or bundle the words point to, or None when the catalog has no confident
    answer (the assistant then declines and offers a person). Never a partial match (only
    some of the words answered), a service that does not answer every word by itself, an
    enterprise-only service for a resident, or one barely ahead of an unrelated other (see
    tongban.catalog.search.SearchIndex.confident)."""
    q = q.strip()
    if not q:
        return None
    snapshot = _current()
    hit = snapshot.search_index().confident(q, prefer=prefer)
    return _result(snapshot, hit) if hit is not None else None


@dataclass(frozen=True)
class GuideSources:
    """What the guide computes from, read from one snapshot so it is consistent."""

    kind: str
    code: str
    name: str
    version: int
    is_example: bool
    promised_days: int
    bundle: BundleDef | None
    items: dict[str, ServiceItemDef]  # in the bundle's order
    summaries: dict[str, ItemSummary]


def guide_sources(*, kind: str, code: str) -> GuideSources:
    snapshot = _current()
    if kind == Kind.BUNDLE:
        ref = snapshot.bundle_refs.get(code)
        if ref is None:
            raise BundleNotFound()
        bundle: BundleDef = _cached(Kind.BUNDLE, code, ref)  # type: ignore[assignment]
        if any(b.item not in snapshot.item_refs for b in bundle.items):
            # The loader keeps bundles and their items consistent; rows edited by hand may not
            # be, and an incomplete list would be worse than none.
            raise BundleNotFound("该一件事包含的事项已停止办理")
        refs = {b.item: snapshot.item_refs[b.item] for b in bundle.items}
        items = _cached_many(Kind.ITEM, refs)
        return GuideSources(
            kind=kind, code=code, name=bundle.name, version=ref.version,
            is_example=bundle.is_example, promised_days=bundle.promised_days, bundle=bundle,
            items={c: items[c] for c in refs}, summaries={c: snapshot.items[c] for c in refs},
        )  # fmt: skip
    ref = snapshot.item_refs.get(code)
    if ref is None:
        raise ItemNotFound()
    item: ServiceItemDef = _cached(Kind.ITEM, code, ref)  # type: ignore[assignment]
    return GuideSources(
        kind=kind, code=code, name=item.name, version=ref.version, is_example=item.is_example,
        promised_days=item.time_limit.promised_days, bundle=None, items={code: item},
        summaries={code: snapshot.items[code]},
    )  # fmt: skip
