"""一次告知: from a few answers to the exact list — which items apply, in what order, which
materials (and which of them the applicant is spared), which form fields, how long, how many
visits. The API and the pages serialise the same GuideResult.

Evidence that spares a material comes from providers (EvidenceProvider). The applicant's
profile (一人一档) is one; e-certificates and data-source look-ups plug in the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tongban.catalog import known as known_rules
from tongban.catalog import selectors
from tongban.catalog.errors import GuideAnswersInvalid
from tongban.catalog.schemas import (
    PERSON_ROLE_LABELS,
    ROLE_IDENTITY,
    ROLE_SUBJECTS,
    MaterialDef,
    SituationDef,
    Waiver,
    condition_holds,
)

CHANNEL_LABELS = {
    "online": "网上办理",
    "counter": "窗口办理",
    "mobile": "移动端办理",
    "kiosk": "自助终端",
}
PREFILL_LABELS = {
    "profile": "居民档案（一人一档）",
    "enterprise": "企业档案（一企一档）",
    "certificate": "电子证照",
    "data_source": "部门共享数据",
}
HANDLING_LABELS = {"instant": "即办件", "promised": "承诺件"}


# ---------------------------------------------------------------- result shape


@dataclass
class GuideOption:
    value: str
    label: str


@dataclass
class GuideQuestion:
    code: str
    question: str
    help: str
    options: list[GuideOption]
    # Whether the question must be answered given the answers so far.
    applies: bool
    # Shown next to a question that only sometimes applies, so a form without JavaScript can
    # list every question and still say which ones to skip.
    condition: str
    asked_for: list[str]  # "bundle" and/or item codes whose definitions ask it
    answer: str | None = None
    error: str = ""
    # The applicant's 一人一档 answers it (known_from): the statement shown instead of asking.
    known: str = ""
    # It will be answered from the profile once these answers are given (本人申请 …).
    known_if: str = ""


@dataclass
class GuideItem:
    code: str
    name: str
    version: int
    type: str
    department: str
    department_name: str
    handling: str
    handling_label: str
    promised_days: int  # inside this bundle, where it promises less than the item alone
    standalone_promised_days: int
    statutory_days: int
    visits: int
    channels: list[str]
    after: list[str]  # included items that must be concluded first
    after_names: list[str]
    stage: int  # 1 = can start at once; n = after stage n-1 is done
    fee_free: bool
    fee_description: str
    assurance_level: str = ""  # 网上办理所需的身份核验等级 (sms / real_name / in_person)


@dataclass
class GuideWaiver:
    kind: str  # certificate / data_source / commitment
    text: str  # 可免提交：…, in Chinese for the applicant
    certificate_type: str = ""
    data_source: str = ""
    profile_field: str = ""


@dataclass
class GuideMaterial:
    code: str
    name: str
    form: str
    copies: int
    required: bool
    source: str
    note: str
    items: list[str]
    item_names: list[str]
    waivers: list[GuideWaiver]
    spared: bool = False
    spared_reason: str = ""
    # What spared it, for the case to record ({"kind": "certificate", "type": …, "serial": …};
    # {"kind": "produced", "item": …, "certificate_type": …} for what an earlier item of the
    # same case issues); empty for evidence that names nothing (the profile).
    evidence: dict[str, Any] = field(default_factory=dict)
    # Whose document it is (材料所属人) and, in words, whom it belongs to.
    about: str = "applicant"
    about_label: str = "申请人本人"
    # An earlier item of this 一件事 issues it: never asked of the applicant.
    produced_by: str = ""
    produced_by_name: str = ""
    # Not spared yet because the person it is about is not identified yet: what to fill in
    # (e.g. 父亲公民身份号码) so their e-certificate can be checked.
    identify_by: str = ""
    # A data source that could spare it did not answer (公安人口库暂时无法核验): the applicant
    # may upload it, or let the platform check again before review (平台稍后核验).
    unavailable_source: str = ""
    unavailable_source_code: str = ""


@dataclass
class GuideChoice:
    value: str
    label: str


@dataclass
class GuideField:
    code: str
    label: str
    type: str
    required: bool
    choices: list[GuideChoice]
    help: str
    items: list[str]
    prefill_from: list[str]  # where a value could come from (居民档案 …)
    prefill_available: bool  # the applicant's own records hold a value for it
    supplied_by: str = ""  # the body that holds the true value (助产机构)


@dataclass
class GuideProducedField:
    """A data element the applicant is not asked for: an earlier item of the same 一件事
    creates it when it is approved (出生登记 → the child's ID number for 社保卡)."""

    code: str
    label: str
    by_item: str
    by_item_name: str
    items: list[str]  # the items that read it


@dataclass
class GuideFee:
    item: str
    item_name: str
    description: str


@dataclass
class GuideResult:
    kind: str  # "bundle" or "item"
    code: str
    name: str
    version: int
    is_example: bool
    answers: dict[str, str]  # the answers that counted (questions that apply)
    questions: list[GuideQuestion]
    items: list[GuideItem]
    materials: list[GuideMaterial]
    fields: list[GuideField]
    promised_days: int  # the bundle's (or item's) own promise
    critical_path_days: int  # longest chain of item promises along `after`
    critical_path: list[str]
    critical_path_names: list[str]
    max_visits: int
    fees: list[GuideFee]  # items that charge
    all_free: bool
    channels: list[str]  # ways the whole set can be applied for
    materials_total: int
    materials_required: int
    materials_spared: int
    materials_to_submit: int  # required and not spared
    materials_waivable: int  # not spared, but a waiver could spare it
    applicant_considered: bool
    produced: list[GuideProducedField] = field(default_factory=list)
    # The highest 身份核验等级 an included item needs to be applied for online ("": none).
    assurance_level: str = ""


# ---------------------------------------------------------------- evidence providers


@dataclass(frozen=True)
class Spared:
    """A provider's answer when it wants the case to record what spared the material (which
    certificate), not only why. A plain string reason remains a valid answer."""

    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class EvidenceProvider(Protocol):
    """Something that can tell whether the government already holds the evidence a waiver
    names for this applicant. Returns the reason shown to the applicant (a str, or a Spared
    carrying the evidence too), or None.

    A provider may also define `bind(*, applicant, waivers) -> EvidenceProvider`: called once
    per guide run with every waiver of the run, it returns the provider to ask for that run,
    so a provider can fetch all it needs in one query instead of one per material. When the
    applicant acts for an enterprise (企业经办人), `bind` also receives `enterprise=`: the
    enterprise's own evidence (its 营业执照) then counts too; when the form names other
    persons (the father's 公民身份号码 and name), it receives `persons=` ({role: {"id_number",
    "name"}}). A provider must spare a material only with evidence held by the person or body
    the material is about (`material.about`)."""

    def spares(
        self, *, waiver: Waiver, material: MaterialDef, applicant: Any
    ) -> str | Spared | None: ...


class ProfileEvidence:
    """A data-source waiver whose `profile_field` already holds a value on the applicant's
    profile: the department reads it from the shared record instead of asking."""

    def spares(self, *, waiver: Waiver, material: MaterialDef, applicant: Any) -> str | None:
        if waiver.kind != "data_source" or not waiver.profile_field or applicant is None:
            return None
        if material.about != "applicant":  # the applicant's record says nothing of others
            return None
        if not _has_value(applicant, waiver.profile_field):
            return None
        label = _field_label(applicant, waiver.profile_field)
        return f"您的居民档案中已有{label}，由{waiver.data_source}核验，无需提交"


_providers: list[EvidenceProvider] = [ProfileEvidence()]
_providers_lock = threading.Lock()


def register_evidence_provider(provider: EvidenceProvider) -> None:
    """Called by other apps at start-up (AppConfig.ready), e.g. certificates for e-certificate
    waivers. Registering the same provider twice has no effect."""
    with _providers_lock:
        if provider not in _providers:
            _providers.append(provider)


def evidence_providers() -> list[EvidenceProvider]:
    return list(_providers)


def _has_value(obj: Any, path: str) -> bool:
    value: Any = obj
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return False
    # False and "" mean the fact is not on record (no residence permit, no address).
    return value is not False and value != ""


def _field_label(obj: Any, name: str) -> str:
    try:
        return str(obj._meta.get_field(name.split(".")[0]).verbose_name)
    except Exception:  # not a model field: the name itself is the best label there is
        return name


# ---------------------------------------------------------------- entry points


def guide_for_bundle(
    *,
    code: str,
    answers: dict[str, str],
    applicant: Any = None,
    providers: Sequence[EvidenceProvider] | None = None,
    enterprise: Any = None,
    form_values: dict[str, Any] | None = None,
) -> GuideResult:
    """The exact list for a 一件事. Asks the bundle's questions and the included items' own
    (once per situation code). Raises GuideAnswersInvalid naming every missing, invalid or
    unknown answer. `providers` replaces the registered evidence providers (tests).
    FORM_VALUES: the form's values so far; they say who the persons materials are about are (the
    father's 公民身份号码), so their own e-certificates can spare their documents."""
    return _run_knowing(
        kind="bundle",
        code=code,
        answers=answers,
        applicant=applicant,
        providers=providers,
        enterprise=enterprise,
        form_values=form_values,
    )


def guide_for_item(
    *,
    code: str,
    answers: dict[str, str],
    applicant: Any = None,
    providers: Sequence[EvidenceProvider] | None = None,
    enterprise: Any = None,
    form_values: dict[str, Any] | None = None,
) -> GuideResult:
    """The exact list for one item, from its own questions (ENTERPRISE: the one the applicant
    acts for, whose own evidence then counts too; FORM_VALUES as for guide_for_bundle)."""
    return _run_knowing(
        kind="item",
        code=code,
        answers=answers,
        applicant=applicant,
        providers=providers,
        enterprise=enterprise,
        form_values=form_values,
    )


def _run_knowing(*, kind: str, code: str, answers: dict[str, str], applicant: Any, **rest):
    """_run with what the applicant's 一人一档 already answers filled in and marked."""
    with known_answers(kind=kind, code=code, answers=answers, applicant=applicant) as k:
        return k.mark(_run(kind=kind, code=code, answers=k.answers, applicant=applicant, **rest))


def _run(
    *,
    kind: str,
    code: str,
    answers: dict[str, str],
    applicant: Any,
    providers,
    enterprise=None,
    form_values: dict[str, Any] | None = None,
) -> GuideResult:
    # Without an applicant no provider is consulted, so the result depends only on the catalog
    # snapshot and the answers: most visitors browse anonymously, and the same few answer sets
    # recur. Callers only read a GuideResult, so one object can serve them all.
    memo = selectors.guide_memo() if applicant is None and providers is None else None
    key = (kind, code, tuple(sorted(answers.items())))
    if memo is not None and key in memo:
        return memo[key]
    result = _Guide(selectors.guide_sources(kind=kind, code=code), providers).run(
        answers,
        applicant,
        enterprise=enterprise if applicant is not None else None,
        persons=persons_from_form(form_values or {}) if applicant is not None else {},
    )
    if memo is not None:
        memo[key] = result
    return result


# 身份核验等级 names, lowest first (accounts.AssuranceLevel SMS, REAL_NAME, IN_PERSON).
ASSURANCE_ORDER = ("sms", "real_name", "in_person")


def highest_assurance(levels: Sequence[str | None]) -> str:
    """The most demanding of LEVELS ("" when none asks for any)."""
    named = [lv for lv in levels if lv in ASSURANCE_ORDER]
    return max(named, key=ASSURANCE_ORDER.index) if named else ""


def assurance_for(*, kind: str, code: str) -> tuple[str, list[str]]:
    """Before any question is answered: the highest level any item of this service may need
    online, and the names of the items that need it (for a 一件事, those the answers may
    include)."""
    items = selectors.guide_sources(kind=kind, code=code).items
    level = highest_assurance([i.assurance_level for i in items.values()])
    return level, [i.name for i in items.values() if level and i.assurance_level == level]


def applicant_person(*, kind: str, code: str, answers: dict[str, str]) -> str:
    """Which person of the case the applicant is (mother, father, …), from the answer to the
    service's `applicant_person_question`; "" when the service does not ask."""
    sources = selectors.guide_sources(kind=kind, code=code)
    definition = sources.bundle if sources.bundle is not None else sources.items.get(code)
    question = getattr(definition, "applicant_person_question", "")
    return answers.get(question, "") if question else ""


def bundle_questions(
    *, code: str, answers: dict[str, str] | None = None, applicant: Any = None
) -> list[GuideQuestion]:
    """Every question a bundle may ask, marked with whether it applies to `answers` (and, for
    an APPLICANT, which ones the profile answers); for showing the form before anything is
    submitted."""
    with known_answers(kind="bundle", code=code, answers=answers or {}, applicant=applicant) as k:
        sources = selectors.guide_sources(kind="bundle", code=code)
        return k.mark_questions(_Guide(sources).questions(k.answers)[0])


def item_questions(
    *, code: str, answers: dict[str, str] | None = None, applicant: Any = None
) -> list[GuideQuestion]:
    with known_answers(kind="item", code=code, answers=answers or {}, applicant=applicant) as k:
        sources = selectors.guide_sources(kind="item", code=code)
        return k.mark_questions(_Guide(sources).questions(k.answers)[0])


# ---------------------------------------------------------------- answers already known


class _KnownAnswers:
    """What the applicant's 一人一档 answers (known_from), applied around one guide run: the
    known answers replace whatever was given for them, and every question they answer is
    marked with its statement instead of being asked (also on GuideAnswersInvalid)."""

    def __init__(self, situations: list[SituationDef], answers: dict[str, str], applicant: Any):
        self.situations = situations
        self.applicant = applicant
        self.known = known_rules.known_answers(situations, answers, applicant)
        self.answers = {**answers, **{c: k.value for c, k in self.known.items()}}

    def __enter__(self) -> _KnownAnswers:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if isinstance(exc, GuideAnswersInvalid):
            self.mark_questions(exc.questions)

    def mark(self, result: GuideResult) -> GuideResult:
        self.mark_questions(result.questions)
        return result

    def mark_questions(self, questions: list[GuideQuestion]) -> list[GuideQuestion]:
        by_code = {s.code: s for s in self.situations}
        for q in questions:
            found = self.known.get(q.code)
            if found is not None:
                q.known, q.answer = found.statement, found.value
            elif self.applicant is not None and by_code.get(q.code) is not None:
                # Only rules still waiting for an answer their condition names, and that would
                # then answer for this applicant.
                rules = [
                    r
                    for r in by_code[q.code].known_from
                    if any(k not in self.answers for k in r.when)
                    and r.answer(known_rules.profile_fact(self.applicant, r.profile))
                ]
                conditions = list(dict.fromkeys(when_text(r.when, self.situations) for r in rules))
                if conditions:
                    q.known_if = f"如{'或'.join(conditions)}，本题无需回答，将根据您的居民档案确定"
        return questions


def known_answers(
    *, kind: str, code: str, answers: dict[str, str], applicant: Any
) -> _KnownAnswers:
    """The answers the applicant's profile gives for this bundle or item (empty without an
    applicant); use as a context manager around a guide run."""
    if applicant is None:
        return _KnownAnswers([], answers, None)
    sources = selectors.guide_sources(kind=kind, code=code)
    return _KnownAnswers([s for s, _o, _a in _Guide(sources)._situations], answers, applicant)


# ---------------------------------------------------------------- the computation


class _Guide:
    def __init__(
        self,
        sources: selectors.GuideSources,
        providers: Sequence[EvidenceProvider] | None = None,
    ):
        self.sources = sources
        self.bundle = sources.bundle
        self.members = sources.items
        self.providers = providers
        # (situation, item that asks it or None for the bundle, who defines it), once per
        # code; the bundle's own definition wins over an item's.
        by_code: dict[str, tuple[SituationDef, str | None, list[str]]] = {}
        if self.bundle is not None:
            for s in self.bundle.situations:
                by_code[s.code] = (s, None, ["bundle"])
        for item_code, item in self.members.items():
            for s in item.situations:
                if s.code in by_code:
                    by_code[s.code][2].append(item_code)
                else:
                    by_code[s.code] = (s, item_code, [item_code])
        self._situations = list(by_code.values())

    def _included(self, answers: dict[str, str]) -> list[str]:
        if self.bundle is None:
            return list(self.members)
        return [b.item for b in self.bundle.items if condition_holds(b.when, answers)]

    def questions(self, given: dict[str, str]) -> tuple[list[GuideQuestion], dict[str, str]]:
        """Which questions apply, and the answers that count. A question applies when its
        item is included and its own `when` holds on the answers that count so far; repeat
        until nothing changes, since one answer can make further questions apply."""
        effective: dict[str, str] = {}
        applies: set[str] = set()
        while True:
            included = set(self._included(effective))
            now = {
                s.code
                for s, owner, asked_for in self._situations
                if (owner is None or any(code in included for code in asked_for))
                and condition_holds(s.when, effective)
            }
            valid = {
                s.code: given[s.code]
                for s, _, _ in self._situations
                if s.code in now and given.get(s.code) in {o.value for o in s.options}
            }
            if now == applies and valid == effective:
                break
            applies, effective = now, valid
        titles = {s.code: s.question for s, _, _ in self._situations}
        labels = {s.code: {o.value: o.label for o in s.options} for s, _, _ in self._situations}
        result = []
        for s, owner, asked_for in self._situations:
            result.append(
                GuideQuestion(
                    code=s.code,
                    question=s.question,
                    help=s.help,
                    options=[GuideOption(o.value, o.label) for o in s.options],
                    applies=s.code in applies,
                    condition=self._condition_text(s, owner, asked_for, titles, labels),
                    asked_for=asked_for,
                    answer=given.get(s.code),
                )
            )
        return result, effective

    def _condition_text(self, s: SituationDef, owner, asked_for, titles, labels) -> str:
        parts = []
        if owner is not None and self.bundle is not None:
            entries = [b for b in self.bundle.items if b.item in asked_for]
            if all(e.when for e in entries):
                if len(entries) == 1:
                    parts += _when_parts(entries[0].when, titles, labels)
                else:
                    names = "或".join(f"「{self.members[e.item].name}」" for e in entries)
                    parts.append(f"需要办理{names}")
        parts += _when_parts(s.when, titles, labels)
        return f"仅当{'，且'.join(parts)}时回答" if parts else ""

    def run(
        self,
        given: dict[str, str],
        applicant: Any,
        *,
        enterprise: Any = None,
        persons: dict[str, dict[str, str]] | None = None,
    ) -> GuideResult:
        questions, answers = self.questions(given)
        known = {q.code: q for q in questions}
        details = []
        for code, value in given.items():
            q = known.get(code)
            if q is None:
                details.append({"field": code, "message": f"没有名为 {code} 的问题"})
                continue
            if value not in {o.value for o in q.options}:
                q.error = f"所选答案无效，请重新选择：{q.question}"
                details.append({"field": code, "message": q.error})
        for q in questions:
            if q.applies and not q.error and q.code not in given:
                q.error = f"请选择：{q.question}"
                details.append({"field": q.code, "message": q.error})
        # In the order the questions are asked, unknown names last: the order a person fixes them.
        order = {q.code: n for n, q in enumerate(questions)}
        details.sort(key=lambda d: order.get(d["field"], len(order)))
        if details:
            raise GuideAnswersInvalid(details=details, questions=questions)

        included = self._included(answers)
        items = self._items(included)
        fields, produced = self._fields(included, answers, applicant, items)
        persons = dict(persons or {})
        role = self._role(answers)
        if applicant is not None and role in ROLE_IDENTITY and role not in persons:
            # The applicant said who they are (the mother): until the form says otherwise,
            # that person is the applicant, and their own certificates count for that role.
            persons[role] = {
                "id_number": str(getattr(applicant, "id_number", "") or ""),
                "name": str(getattr(applicant, "name", "") or ""),
            }
        materials = self._materials(included, answers, applicant, enterprise, items, persons)
        _spare_form_materials(materials, self.members, fields, included)
        critical_days, critical_path = _critical_path(items)
        channels = [
            c for c in CHANNEL_LABELS if all(c in self.members[i.code].channels for i in items)
        ]
        fees = [GuideFee(i.code, i.name, i.fee_description) for i in items if not i.fee_free]
        required = [m for m in materials if m.required]
        spared = [m for m in materials if m.spared]
        src = self.sources
        return GuideResult(
            kind=src.kind,
            code=src.code,
            name=src.name,
            version=src.version,
            is_example=src.is_example,
            answers=answers,
            questions=questions,
            items=items,
            materials=materials,
            fields=fields,
            promised_days=src.promised_days,
            critical_path_days=critical_days,
            critical_path=critical_path,
            critical_path_names=[self.members[c].name for c in critical_path],
            max_visits=max((i.visits for i in items), default=0),
            fees=fees,
            all_free=not fees,
            channels=channels,
            materials_total=len(materials),
            materials_required=len(required),
            materials_spared=len(spared),
            materials_to_submit=len([m for m in required if not m.spared]),
            materials_waivable=len([m for m in materials if m.waivers and not m.spared]),
            applicant_considered=applicant is not None,
            produced=produced,
            assurance_level=highest_assurance([i.assurance_level for i in items]),
        )

    def _role(self, answers: dict[str, str]) -> str:
        definition = self.bundle if self.bundle is not None else next(iter(self.members.values()))
        question = definition.applicant_person_question
        return answers.get(question, "") if question else ""

    def _items(self, included: list[str]) -> list[GuideItem]:
        declared = {b.item: b.after for b in self.bundle.items} if self.bundle else {}
        in_bundle_days = (
            {b.item: b.promised_days for b in self.bundle.items if b.promised_days is not None}
            if self.bundle
            else {}
        )

        def waits_for(code: str) -> list[str]:
            # An item left out still passes on its own prerequisites: if C waits for B and B
            # for A, C waits for A when B is not needed.
            found: list[str] = []
            for a in declared.get(code, []):
                for dep in [a] if a in included else waits_for(a):
                    if dep not in found:
                        found.append(dep)
            return found

        after = {code: waits_for(code) for code in included}
        stage: dict[str, int] = {}

        def stage_of(code: str) -> int:
            if code not in stage:
                stage[code] = 1 + max((stage_of(a) for a in after.get(code, [])), default=0)
            return stage[code]

        items = []
        for code in included:
            item = self.members[code]
            summary = self.sources.summaries[code]
            items.append(
                GuideItem(
                    code=code,
                    name=item.name,
                    version=summary.version,
                    type=item.type,
                    department=item.department,
                    department_name=summary.department_name,
                    handling=item.handling,
                    handling_label=HANDLING_LABELS[item.handling],
                    promised_days=in_bundle_days.get(code, item.time_limit.promised_days),
                    standalone_promised_days=item.time_limit.promised_days,
                    statutory_days=item.time_limit.statutory_days,
                    visits=item.visits,
                    channels=list(item.channels),
                    after=after.get(code, []),
                    after_names=[self.members[a].name for a in after.get(code, [])],
                    stage=stage_of(code),
                    fee_free=item.fees.free,
                    fee_description=item.fees.description,
                    assurance_level=item.assurance_level or "",
                )
            )
        # Stable within a stage: the definition's order is the order an officer expects.
        items.sort(key=lambda i: i.stage)
        return items

    def _materials(
        self,
        included: list[str],
        answers: dict[str, str],
        applicant: Any,
        enterprise: Any = None,
        items: list[GuideItem] | None = None,
        persons: dict[str, dict[str, str]] | None = None,
    ) -> list[GuideMaterial]:
        providers = list(self.providers) if self.providers is not None else evidence_providers()
        by_code: dict[str, GuideMaterial] = {}
        sources: dict[str, list[MaterialDef]] = {}
        placed: list[tuple[str, MaterialDef]] = []  # (item code, material), for data sources
        for code in included:
            item = self.members[code]
            for m in item.materials:
                if not condition_holds(m.when, answers):
                    continue
                entry = by_code.get(m.code)
                if entry is None:
                    entry = by_code[m.code] = GuideMaterial(
                        code=m.code,
                        name=m.name,
                        form=m.form,
                        copies=m.copies,
                        required=m.required,
                        source=m.source,
                        note=m.note,
                        items=[],
                        item_names=[],
                        waivers=[],
                        about=m.about,
                        about_label=PERSON_ROLE_LABELS[m.about],
                    )
                    sources[m.code] = []
                # One document asked by several departments: the most demanding form of the
                # request is the one the applicant has to meet.
                entry.required = entry.required or m.required
                entry.copies = max(entry.copies, m.copies)
                entry.items.append(code)
                entry.item_names.append(item.name)
                sources[m.code].append(m)
                placed.append((code, m))
                for w in m.waivable_by:
                    waiver = _waiver(w, m)
                    if waiver not in entry.waivers:
                        entry.waivers.append(waiver)
        # What an earlier item of this case issues is never asked of the applicant.
        made = _made_in_case(included, self.members, items or [])
        for code, entry in by_code.items():
            for m in sources[code]:
                by = next(
                    (
                        made[(t, m.about)]
                        for t in m.certificate_types()
                        if (t, m.about) in made
                        and all(made[(t, m.about)] in _earlier(u, items or []) for u in entry.items)
                    ),
                    None,
                )
                if by is not None:
                    t = next(t for t in m.certificate_types() if made.get((t, m.about)) == by)
                    name = self.members[by].name
                    entry.spared = True
                    entry.spared_reason = f"由本次办理的「{name}」办结后生成，无需提交"
                    entry.evidence = {"kind": "produced", "item": by, "certificate_type": t}
                    entry.produced_by, entry.produced_by_name = by, name
                    break
        if applicant is not None and by_code:
            waivers = [w for ms in sources.values() for m in ms for w in m.waivable_by]
            extra: dict[str, Any] = {"enterprise": enterprise} if enterprise is not None else {}
            if persons:
                extra["persons"] = persons
            providers = [
                p.bind(
                    applicant=applicant,
                    waivers=waivers,
                    **extra,
                    **({"materials": placed} if getattr(p, "wants_materials", False) else {}),
                )
                if hasattr(p, "bind")
                else p
                for p in providers
            ]
        for code, entry in by_code.items():
            if applicant is None or entry.spared:
                continue
            for m in sources[code]:
                found = _spared_by(m, applicant, providers)
                if found is not None:
                    entry.spared, entry.spared_reason = True, found.reason
                    entry.evidence = dict(found.evidence)
                    break
        for code, entry in by_code.items():
            if entry.spared:
                continue
            for p in providers:
                down = getattr(p, "unavailable", None)
                if down is None:
                    continue
                hit = next((h for m in sources[code] if (h := down(material=m))), None)
                if hit:
                    entry.unavailable_source_code, entry.unavailable_source = hit
                    break
        for code, entry in by_code.items():
            identity = ROLE_IDENTITY.get(entry.about)
            if entry.spared or identity is None or (persons or {}).get(entry.about):
                continue
            if any(m.certificate_types() for m in sources[code]):
                label = selectors.element_definitions([identity[0]]).get(identity[0])
                entry.identify_by = label.label if label else identity[0]
        return list(by_code.values())

    def _fields(
        self, included: list[str], answers: dict[str, str], applicant: Any, items: list[GuideItem]
    ) -> tuple[list[GuideField], list[GuideProducedField]]:
        uses: dict[str, tuple[bool, list[str]]] = {}
        for code in included:
            for use in self.members[code].element_uses():
                if not condition_holds(use.when, answers):
                    continue
                required, users = uses.get(use.code, (False, []))
                uses[use.code] = (required or use.required, [*users, code])
        elements = selectors.element_definitions(list(uses))
        producers = _producers(included, self.members, items)
        fields = []
        produced = []
        for code, (required, users) in uses.items():
            el = elements.get(code)
            by = producers.get(code)
            if by is not None and all(by in _earlier(u, items) for u in users):
                produced.append(
                    GuideProducedField(
                        code=code,
                        label=el.label if el else code,
                        by_item=by,
                        by_item_name=self.members[by].name,
                        items=users,
                    )
                )
                continue
            el = elements.get(code)
            prefill = el.prefill if el else []
            role = self._role(answers)
            available = applicant is not None and any(
                p.source == "profile"
                and (not p.applicant_is or p.applicant_is == role)
                and _has_value(applicant, p.field)
                for p in prefill
            )
            fields.append(
                GuideField(
                    code=code,
                    label=el.label if el else code,
                    type=el.type if el else "text",
                    required=required,
                    choices=[GuideChoice(c.value, c.label) for c in el.choices] if el else [],
                    help=el.help if el else "",
                    items=users,
                    prefill_from=list(dict.fromkeys(PREFILL_LABELS[p.source] for p in prefill)),
                    prefill_available=available,
                    supplied_by=el.supplied_by if el else "",
                )
            )
        # What an item creates is recorded at its approval even when nothing after it in this
        # case reads it: its own certificate (营业执照 carries the new credit code) does.
        listed = {p.code for p in produced} | {f.code for f in fields}
        own = [(c, e) for c in included for e in self.members[c].produces if e not in listed]
        if own:
            labels = selectors.element_definitions([e for _c, e in own])
            for c, e in own:
                listed.add(e)
                produced.append(
                    GuideProducedField(
                        code=e,
                        label=labels[e].label if e in labels else e,
                        by_item=c,
                        by_item_name=self.members[c].name,
                        items=[],
                    )
                )
        return fields, produced


def _producers(
    included: list[str], members: dict[str, Any], items: list[GuideItem]
) -> dict[str, str]:
    """Element code → the included item that creates it, in a 一件事 only: an item applied
    for alone cannot wait for another department's result."""
    if len(items) < 2:
        return {}
    producers: dict[str, str] = {}
    for code in included:
        for element in members[code].produces:
            producers.setdefault(element, code)
    return producers


def _spare_form_materials(
    materials: list[GuideMaterial],
    members: dict[str, Any],
    fields: list[GuideField],
    included: list[str],
) -> None:
    """A material whose content is form fields (`satisfied_by_form`) is the form itself when
    the form asks all of them: nothing to upload."""
    asked = {f.code: f.label for f in fields}
    for entry in materials:
        if entry.spared:
            continue
        for code in included:
            m = next((m for m in members[code].materials if m.code == entry.code), None)
            if m is None or not m.satisfied_by_form:
                continue
            if all(e in asked for e in m.satisfied_by_form):
                labels = "、".join(asked[e] for e in m.satisfied_by_form[:4])
                more = "等" if len(m.satisfied_by_form) > 4 else ""
                entry.spared = True
                entry.spared_reason = f"已在本申请表中在线填写（{labels}{more}），无需另行提交"
                entry.evidence = {"kind": "form", "elements": list(m.satisfied_by_form)}
                break


def _made_in_case(
    included: list[str], members: dict[str, Any], items: list[GuideItem]
) -> dict[tuple[str, str], str]:
    """(certificate type, holder role) → the included item that issues it, in a 一件事 only
    (an item applied for alone cannot wait for another department's result)."""
    if len(items) < 2:
        return {}
    made: dict[tuple[str, str], str] = {}
    for code in included:
        for output in members[code].outputs:
            made.setdefault((output.certificate_type, output.holder), code)
    return made


def persons_from_form(form_values: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Role → {"id_number", "name"} as typed on the form, for the roles it identifies."""
    persons: dict[str, dict[str, str]] = {}
    for role, (id_element, name_element) in ROLE_IDENTITY.items():
        number = str(form_values.get(id_element) or "").strip().upper()
        if number:
            persons[role] = {
                "id_number": number,
                "name": str(form_values.get(name_element) or "").strip(),
            }
    # Several at once (each 股东): {"subjects": the form's list}; no id_number, so evidence that
    # looks for one person (e-certificates) passes them by.
    for role, element in ROLE_SUBJECTS.items():
        listed = str(form_values.get(element) or "").strip()
        if listed:
            persons[role] = {"subjects": listed}
    return persons


def _earlier(code: str, items: list[GuideItem]) -> set[str]:
    """Every item CODE waits for, directly or through others (`after` is acyclic)."""
    after = {i.code: i.after for i in items}
    seen: set[str] = set()
    todo = list(after.get(code, []))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(after.get(current, []))
    return seen


def _when_parts(when, titles, labels) -> list[str]:
    parts = []
    # In the order the questions are asked, not the dict's: PostgreSQL's jsonb does not keep
    # the key order the author wrote, and a reader follows the questions anyway.
    position = {code: n for n, code in enumerate(titles)}
    for key in sorted(when, key=lambda k: (position.get(k, len(position)), k)):
        expected = when[key]
        values = expected if isinstance(expected, list) else [expected]
        chosen = "或".join(f"「{labels.get(key, {}).get(v, v)}」" for v in values)
        parts.append(f"「{titles.get(key, key)}」选择{chosen}")
    return parts


def when_text(when: dict, situations: Sequence[SituationDef]) -> str:
    """A condition in words: 「孩子父母是否已登记结婚？」选择「已登记结婚」，且…; empty when
    the condition always holds."""
    titles = {s.code: s.question for s in situations}
    labels = {s.code: {o.value: o.label for o in s.options} for s in situations}
    return "，且".join(_when_parts(when, titles, labels))


def waiver_text(w: Waiver, material: MaterialDef) -> str:
    """How a material can be spared, as the applicant reads it."""
    return _waiver(w, material).text


def _waiver(w: Waiver, material: MaterialDef) -> GuideWaiver:
    if w.kind == "certificate":
        # Certificate types get names when the certificates app defines them; until then the
        # material's own name is what the certificate proves.
        text = f"可免提交：通过电子证照『{material.name}』核验"
    elif w.kind == "data_source":
        text = f"可免提交：由{w.data_source}核验"
    else:
        text = "可签署告知承诺书代替"
    if w.note:
        text += f"（{w.note}）"
    return GuideWaiver(
        kind=w.kind,
        text=text,
        certificate_type=w.certificate_type,
        data_source=w.data_source,
        profile_field=w.profile_field,
    )


def _spared_by(
    material: MaterialDef, applicant: Any, providers: Sequence[EvidenceProvider]
) -> Spared | None:
    for waiver in material.waivable_by:
        for provider in providers:
            found = provider.spares(waiver=waiver, material=material, applicant=applicant)
            if isinstance(found, Spared) and found.reason:
                return found
            if isinstance(found, str) and found:
                return Spared(reason=found)
    return None


def _critical_path(items: list[GuideItem]) -> tuple[int, list[str]]:
    """The longest chain of promised days through `after`: items without an order between
    them run in parallel, so this, not the sum, is how long the set takes."""
    best: dict[str, tuple[int, list[str]]] = {}
    # Items are sorted by stage, so every dependency is computed before its dependants.
    for i in items:
        before = max((best[a] for a in i.after), key=lambda t: t[0], default=(0, []))
        best[i.code] = (before[0] + i.promised_days, [*before[1], i.code])
    if not best:
        return 0, []
    return max(best.values(), key=lambda t: t[0])
