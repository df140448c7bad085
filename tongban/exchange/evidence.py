"""减材料 by data-source look-up (数据共享核验): a material whose waiver names a data source
(`kind: data_source`, by its Chinese name) is spared when that source, asked about the person
or body the material is about, answers every element its `proves` entry for the material
names (present, and true for a boolean).

Whom the source is asked about, by `about`:
- applicant: the applicant's own 公民身份号码 (their 一人一档);
- enterprise: the 统一社会信用代码 of the enterprise the applicant acts for;
- legal_representative: the form's 法定代表人身份号码, else the enterprise's on record;
- mother, father, child, spouse: the 公民身份号码 the form gives for that role (and, when the
  form gives a name and 一人一档 knows the number, only if the name is theirs);
- anyone else: nobody, so nothing is spared.
Two sources may share a name (社保参保库 by ID number and by credit code): the key the
subject has picks one. The item whose material it is must be authorised by the source
(场景授权, `items`); the requester is the item's department, under the source's first legal
basis, for the purpose 办理「item」核验申请材料.

A guide run asks each (source, subject) once with every element that run needs, and uses an
answer younger than a few minutes instead of asking again (the form re-renders the guide at
every step). A source that does not answer (circuit open, timed out …) spares nothing; the
material then says so (GuideMaterial.unavailable_source), and the applicant may upload it or
let the platform check again before review (平台稍后核验, tasks.source_retry_sweep)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from tongban.accounts.models import Enterprise, ResidentProfile
from tongban.accounts.selectors import resident_id_number_hash
from tongban.accounts.validators import parse_credit_code, parse_id_number
from tongban.catalog.guide import ProfileEvidence, Spared, register_evidence_provider
from tongban.catalog.models import Department
from tongban.catalog.schemas import PERSON_ROLE_LABELS, ROLE_SUBJECTS, MaterialDef, Waiver
from tongban.catalog.selectors import item_definition
from tongban.common.errors import DomainError
from tongban.exchange.errors import SourceUnavailable
from tongban.exchange.schemas import DataSourceDef
from tongban.exchange.selectors import data_sources_named
from tongban.exchange.services import (
    Requester,
    SourceAnswer,
    source_answer_recent,
    source_query,
)

KIND = "data_source"
PERSON_ROLES = ("mother", "father", "child", "spouse")


@dataclass(frozen=True)
class Subject:
    role: str
    key_kind: str  # id_number / uscc
    key: str
    profile_id: int | None = None
    enterprise_id: int | None = None


@dataclass
class _Need:
    """One (source, subject) question of a run: the union of elements its materials need."""

    definition: DataSourceDef
    version: int
    subject: Subject
    item: str  # the first authorised item asking: names requester and purpose
    elements: list[str] = field(default_factory=list)
    answer: SourceAnswer | None = None
    unavailable: str = ""  # the reason, when the source did not answer


@dataclass(frozen=True)
class _Use:
    need_key: tuple[str, str]
    elements: tuple[str, ...]
    role: str


@dataclass(frozen=True)
class _AllOf:
    """A material about several subjects (每位股东): spared only when every one answers."""

    uses: tuple[_Use, ...]
    role: str


def source_names(data_source: str) -> list[str]:
    """A waiver may name two systems, one per kind of subject ("公安人口库、市场主体登记库":
    a person 股东 by ID number, an enterprise 股东 by credit code)."""
    return [n.strip() for n in data_source.split("、") if n.strip()]


def _listed_subjects(text: str) -> list[tuple[str, str]]:
    """(key kind, key) for each entry of a form's list, or [] when one entry is neither a valid
    公民身份号码 nor a valid 统一社会信用代码: all of them must be verifiable, or none is."""
    found: list[tuple[str, str]] = []
    for token in re.split(r"[\s,，、;；]+", (text or "").upper()):
        if not token:
            continue
        try:
            entry = ("id_number", parse_id_number(token).number)
        except DomainError:
            try:
                entry = ("uscc", parse_credit_code(token).code)
            except DomainError:
                return []
        if entry not in found:
            found.append(entry)
    return found


def _listed_subject(role: str, kind: str, key: str) -> Subject:
    """A listed subject, with its 一人一档/一企一档 row when the platform has one (so the look-up
    appears on their data-use record)."""
    if kind == "id_number":
        profile = (
            ResidentProfile.objects.filter(id_number_hash=resident_id_number_hash(key))
            .values_list("pk", flat=True)
            .first()
        )
        return Subject(role, kind, key, profile_id=profile)
    enterprise = Enterprise.objects.filter(uscc=key).values_list("pk", flat=True).first()
    return Subject(role, kind, key, enterprise_id=enterprise)


def _id_number(value: str) -> str:
    try:
        return parse_id_number(value or "").number
    except DomainError:
        return ""


def _subjects(
    applicant: Any, enterprise: Any, persons: dict[str, dict[str, str]]
) -> dict[str, Subject]:
    """Role → whom a source is asked about for a material about that role."""
    found: dict[str, Subject] = {}
    own = _id_number(str(getattr(applicant, "id_number", "") or ""))
    if own:
        found["applicant"] = Subject("applicant", "id_number", own, profile_id=applicant.pk)
    if enterprise is not None and getattr(enterprise, "pk", None) is not None:
        try:
            uscc = parse_credit_code(enterprise.uscc).code
        except (DomainError, AttributeError):
            uscc = ""
        if uscc:
            found["enterprise"] = Subject("enterprise", "uscc", uscc, enterprise_id=enterprise.pk)
    named = dict(persons)
    if "legal_representative" not in named and enterprise is not None:
        number = getattr(enterprise, "legal_representative_id_number", "")
        if number:
            named["legal_representative"] = {
                "id_number": number,
                "name": getattr(enterprise, "legal_representative", ""),
            }
    numbers: dict[str, tuple[str, str]] = {}
    for role in (*PERSON_ROLES, "legal_representative"):
        person = named.get(role)
        if person:
            number = _id_number(person.get("id_number", ""))
            if number:
                numbers[role] = (number, (person.get("name") or "").strip())
    if numbers:
        profiles = {
            p.id_number_hash: p
            for p in ResidentProfile.objects.filter(
                id_number_hash__in=[resident_id_number_hash(n) for n, _ in numbers.values()]
            ).only("pk", "name", "id_number_hash")
        }
        for role, (number, name) in numbers.items():
            profile = profiles.get(resident_id_number_hash(number))
            if profile is not None and name and name != profile.name:
                continue  # the form names someone else than the number's holder
            found[role] = Subject(
                role, "id_number", number, profile_id=profile.pk if profile else None
            )
    return found


class _Bound:
    """The provider for one guide run (or one retry): every answer, fetched once."""

    def __init__(self, needs: dict[tuple[str, str], _Need], uses: dict[int, list[_Use]]):
        self.needs = needs
        self.uses = uses  # id(MaterialDef) → the questions that could spare it
        self._departments: dict[str, str] | None = None

    def _department_name(self, code: str) -> str:
        if self._departments is None:
            codes = {n.definition.department for n in self.needs.values()}
            self._departments = dict(
                Department.objects.filter(code__in=codes).values_list("code", "name")
            )
        return self._departments.get(code, code)

    def spares(self, *, waiver: Waiver, material: MaterialDef, applicant: Any) -> Spared | None:
        if waiver.kind != KIND:
            return None
        for use in self.uses.get(id(material), []):
            if isinstance(use, _AllOf):
                spared = self._all_answer(use, waiver)
                if spared is not None:
                    return spared
                continue
            need = self.needs[use.need_key]
            if need.definition.name != waiver.data_source:
                continue
            answer = need.answer
            if answer is None or not answer.found:
                continue
            if not all(_holds(answer.values.get(e)) for e in use.elements):
                continue
            d = need.definition
            department = self._department_name(d.department)
            reason = f"由{d.name}核验（{department}），无需提交"
            if use.role not in ("applicant", "enterprise"):
                who = PERSON_ROLE_LABELS.get(use.role, "该人员")
                reason = f"已按{who}的身份信息{reason}"
            return Spared(
                reason=reason,
                evidence={
                    "kind": KIND,
                    "source": d.code,
                    "source_name": d.name,
                    "department": department,
                    "answered_at": answer.answered_at.isoformat(),
                    "value_hash": answer.value_hash,
                    "lookup_id": answer.lookup_id,
                    "holder_role": use.role,
                },
            )
        return None

    def _all_answer(self, group: _AllOf, waiver: Waiver) -> Spared | None:
        answers = []
        for use in group.uses:
            need = self.needs[use.need_key]
            if need.definition.name not in source_names(waiver.data_source):
                return None
            answer = need.answer
            if answer is None or not answer.found:
                return None
            if not all(_holds(answer.values.get(e)) for e in use.elements):
                return None
            answers.append((need.definition, answer))
        names = "、".join(dict.fromkeys(d.name for d, _a in answers))
        departments = "、".join(
            dict.fromkeys(self._department_name(d.department) for d, _a in answers)
        )
        who = PERSON_ROLE_LABELS.get(group.role, "有关人员")
        joined = "".join(a.value_hash for _d, a in answers).encode()
        return Spared(
            reason=f"已按全部{len(answers)}位{who}的证件号码由{names}核验（{departments}），无需提交",
            evidence={
                "kind": KIND,
                "source": answers[0][0].code,
                "sources": [d.code for d, _a in answers],
                "source_name": names,
                "department": departments,
                "answered_at": max(a.answered_at for _d, a in answers).isoformat(),
                # Each answer's hash, in order, hashed once more: what the case keeps.
                "value_hash": hashlib.sha256(joined).hexdigest(),
                "lookup_id": answers[0][1].lookup_id,
                "lookup_ids": [a.lookup_id for _d, a in answers],
                "holder_role": group.role,
            },
        )

    def unavailable(self, *, material: MaterialDef) -> tuple[str, str] | None:
        """(source code, source name) of a source that could have spared MATERIAL but did
        not answer, or None."""
        for use in self.uses.get(id(material), []):
            for one in use.uses if isinstance(use, _AllOf) else (use,):
                need = self.needs[one.need_key]
                if need.unavailable:
                    return need.definition.code, need.definition.name
        return None


def _holds(value: Any) -> bool:
    if value is None or value == "":
        return False
    return value is not False


class DataSourceEvidence:
    """The data-source evidence provider (registered by ExchangeConfig.ready)."""

    kind = KIND
    # The guide passes (item code, material) pairs to bind(): which item asks decides the
    # scenario authorisation and the requester.
    wants_materials = True

    def bind(
        self,
        *,
        applicant: Any,
        waivers: Any = (),
        enterprise: Any = None,
        persons: dict[str, dict[str, str]] | None = None,
        materials: list[tuple[str, MaterialDef]] | None = None,
        receipt_no: str = "",
        item_versions: dict[str, int] | None = None,
        fresh: bool = False,
    ) -> _Bound:
        """RECEIPT_NO and ITEM_VERSIONS: a retry for a submitted case, under the versions it
        pinned; FRESH asks again even when a recent answer is at hand."""
        needs: dict[tuple[str, str], _Need] = {}
        uses: dict[int, list[_Use]] = {}
        if not settings.TONGBAN_EXCHANGE_ENABLED or applicant is None or not materials:
            return _Bound(needs, uses)
        # What the applicant's own profile already spares (ProfileEvidence, asked first) is
        # not asked of a department again.
        profile = ProfileEvidence()
        wanted = [
            (item, m, w)
            for item, m in materials
            for w in m.waivable_by
            if w.kind == KIND
            and w.data_source
            and not profile.spares(waiver=w, material=m, applicant=applicant)
        ]
        if not wanted:
            return _Bound(needs, uses)
        subjects = _subjects(applicant, enterprise, dict(persons or {}))
        registry = data_sources_named(
            {n for _i, _m, w in wanted for n in source_names(w.data_source)}
        )
        for item, m, w in wanted:
            if m.about in ROLE_SUBJECTS:
                listed = (persons or {}).get(m.about, {}).get("subjects", "")
                group = self._several(needs, registry, item, m, w, _listed_subjects(listed))
                if group is not None and group not in uses.setdefault(id(m), []):
                    uses[id(m)].append(group)
                continue
            subject = subjects.get(m.about)
            if subject is None:
                continue
            found = registry.get((w.data_source, subject.key_kind))
            if found is None:
                continue
            definition, version = found
            proof = next((p for p in definition.proves if p.material == m.code), None)
            if proof is None or not definition.allows_item(item):
                continue
            key = (definition.code, subject.key)
            need = needs.get(key)
            if need is None:
                need = needs[key] = _Need(definition, version, subject, item)
            for e in proof.elements:
                if e not in need.elements:
                    need.elements.append(e)
            use = _Use(key, tuple(proof.elements), m.about)
            if use not in uses.setdefault(id(m), []):
                uses[id(m)].append(use)
        for need in needs.values():
            _ask(need, receipt_no=receipt_no, item_versions=item_versions or {}, fresh=fresh)
        return _Bound(needs, uses)

    @staticmethod
    def _several(needs, registry, item, m, w, listed) -> _AllOf | None:
        """The questions that together could spare M about every listed subject, or None when
        one of them cannot be asked (no source for its kind of key, no proof, no scenario)."""
        if not listed:
            return None
        group: list[_Use] = []
        for kind, key in listed:
            found = next(
                (registry[(n, kind)] for n in source_names(w.data_source) if (n, kind) in registry),
                None,
            )
            if found is None:
                return None
            definition, version = found
            proof = next((p for p in definition.proves if p.material == m.code), None)
            if proof is None or not definition.allows_item(item):
                return None
            need = needs.get((definition.code, key))
            if need is None:
                subject = _listed_subject(m.about, kind, key)
                need = needs[(definition.code, key)] = _Need(definition, version, subject, item)
            for e in proof.elements:
                if e not in need.elements:
                    need.elements.append(e)
            group.append(_Use((definition.code, key), tuple(proof.elements), m.about))
        return _AllOf(tuple(group), m.about)

    def spares(self, *, waiver: Waiver, material: MaterialDef, applicant: Any) -> None:
        # Without bind() the item asking is unknown, so no scenario can be authorised.
        return None

    def prefill(
        self,
        *,
        applicant: Any,
        wanted: list[tuple[str, str]],
        items: list[str],
        enterprise: Any = None,
    ) -> dict[tuple[str, str], Any]:
        """(source name, element) → the value the department system holds about the applicant
        (or, for a source keyed by credit code, the enterprise they act for), in wire form, for
        the form to offer (`prefill: {source: data_source}`). Asked under the first of ITEMS
        the source authorises, one question per (source, subject), reusing a recent answer;
        nothing when the exchange is off, no item is authorised or the source does not
        answer — the applicant then simply types the value."""
        if not settings.TONGBAN_EXCHANGE_ENABLED or applicant is None or not wanted:
            return {}
        subjects = _subjects(applicant, enterprise, {})
        registry = data_sources_named({name for name, _e in wanted})
        needs: dict[tuple[str, str], _Need] = {}
        for name, element in wanted:
            for key_kind, role in (("id_number", "applicant"), ("uscc", "enterprise")):
                found, subject = registry.get((name, key_kind)), subjects.get(role)
                if found is None or subject is None:
                    continue
                definition, version = found
                item = next((i for i in items if definition.allows_item(i)), None)
                if definition.element(element) is None or item is None:
                    continue
                need = needs.get((definition.code, subject.key))
                if need is None:
                    need = needs[(definition.code, subject.key)] = _Need(
                        definition, version, subject, item
                    )
                if element not in need.elements:
                    need.elements.append(element)
                break
        values: dict[tuple[str, str], Any] = {}
        for need in needs.values():
            _ask(need, receipt_no="", item_versions={}, fresh=False)
            if need.answer is None or not need.answer.found:
                continue
            for element in need.elements:
                value = need.answer.values.get(element)
                if value not in (None, ""):
                    values[(need.definition.name, element)] = value
        return values


def _ask(need: _Need, *, receipt_no: str, item_versions: dict[str, int], fresh: bool) -> None:
    d = need.definition
    if not fresh:
        recent = source_answer_recent(
            source=d.code, key=need.subject.key, elements=need.elements, item=need.item
        )
        if recent is not None:
            need.answer = recent
            return
    item = item_definition(need.item, item_versions.get(need.item))
    # Who asks, as the person is shown it: the department handling the item, through the
    # platform (never a staff member's name).
    asking = Department.objects.filter(code=item.department).values_list("name", flat=True)
    requester = Requester(
        department=item.department,
        purpose=f"办理「{item.name}」核验申请材料",
        legal_basis=d.legal_bases[0],
        item=need.item,
        receipt_no=receipt_no,
        actor_label="system:exchange",
        post=f"{asking.first() or item.department}（经一网通办平台数据共享核验）",
    )
    try:
        need.answer = source_query(
            source=d.code,
            key=need.subject.key,
            elements=need.elements,
            requester=requester,
            subject_profile_id=need.subject.profile_id,
            subject_enterprise_id=need.subject.enterprise_id,
        )
    except SourceUnavailable as exc:
        need.unavailable = exc.reason or "unavailable"
    except DomainError:
        # Refused by our own checks (an unknown element after a definition change …): the
        # material is simply not spared; nothing was asked.
        pass


provider = DataSourceEvidence()


def register() -> None:
    register_evidence_provider(provider)


def answered_at_display(evidence: dict[str, Any]) -> str:
    """When the source answered, in local time, for the staff page (YYYY-MM-DD HH:MM)."""
    raw = evidence.get("answered_at") or ""
    try:
        import datetime as dt

        at = dt.datetime.fromisoformat(raw)
    except ValueError:
        return ""
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")
