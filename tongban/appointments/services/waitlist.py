"""Writes of 轮候 (§十四 养老机构入住轮候 "快速响应、快速入住"; 公租房 reuses it).

An approved application joins its list with a priority class decided from the person's facts
by the definition's rules (the policy rule language); a freed place is offered to the first
waiting entry (priority rank, then when they joined), who accepts or declines by the
deadline; a decline or a lapse puts them back in their place and offers the place to the
next. Every move of an entry is one WaitingEvent with the position it left, written in the
move's own transaction, as are its notice and the place's new state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from tongban.accounts.models import District, ResidentProfile, User
from tongban.appointments.models import (
    EntryStatus,
    OfferStatus,
    PlaceStatus,
    WaitingEntry,
    WaitingEvent,
    WaitingList,
    WaitingOffer,
    WaitingPlace,
)
from tongban.appointments.schemas import CertificateFact, WaitingListDef
from tongban.appointments.selectors.waitlist import (
    ACTIVE,
    WAITING_LIST_KIND,
    acting_delegation,
    entry_position,
    may_keep,
    waiting_list_definition,
    waiting_lists_for_item,
)
from tongban.catalog.loader import (
    CatalogDefinitions,
    DefinitionProblem,
    DefinitionsLoadReport,
    Located,
    _parse,
    _yaml_files,
    element_info,
    versioned_definitions_apply,
)
from tongban.common.errors import Conflict, DomainError, InvalidInput, NotFound
from tongban.common.services import actor_label_for, audit_record
from tongban.notifications.services import notice_send
from tongban.policies.rules import ElementInfo, elements_used, evaluate, rule_problems

SYSTEM_WAITLIST = "system:waitlist"


class WaitingListsInvalid(DomainError):
    code = "WAITING_LISTS_INVALID"
    message = "轮候名单定义有误，未做任何更改"
    http_status = 422

    def __init__(self, problems: list[DefinitionProblem]):
        super().__init__(details=[p.as_dict() for p in problems])
        self.problems = problems


class WaitlistNotFound(NotFound):
    code = "WAITLIST_NOT_FOUND"
    message = "未找到该轮候记录"


# ---------------------------------------------------------------- definitions


def _notify(*, recipient, **notice) -> None:
    # The person reads the list through their own account; a person the department entered
    # who has no account yet is told by the department instead (their entry waits for them).
    if recipient is not None:
        notice_send(recipient=recipient, **notice)


def default_waiting_lists_directory() -> Path:
    return Path(settings.TONGBAN_CATALOG_DIR) / "waiting_lists"


def read_waiting_lists(path: Path | str) -> dict[str, Located[WaitingListDef]]:
    """Parse, validate and cross-check a folder of waiting lists against the catalog in the
    database (departments, items, data elements). Raises WaitingListsInvalid with every
    problem, each named by file, line and field."""
    from tongban.catalog.models import Department, ServiceItem
    from tongban.catalog.selectors import element_definitions

    root = Path(path)
    problems: list[DefinitionProblem] = []
    scratch = CatalogDefinitions()
    found: dict[str, Located[WaitingListDef]] = {}
    for file_path in _yaml_files(root):
        parsed = _parse(root, file_path, WaitingListDef, problems, scratch)
        if parsed is None:
            continue
        code = parsed.definition.code
        if code in found:
            message = f"轮候名单编码重复：{code}，已在 {found[code].file} 定义"
            problems.append(parsed.problem(("code",), message))
            continue
        found[code] = parsed
    if found:
        departments = set(Department.objects.filter(is_active=True).values_list("code", flat=True))
        items = set(ServiceItem.objects.filter(is_active=True).values_list("code", flat=True))
        for located in found.values():
            problems += _definition_problems(located, departments, items, element_definitions)
    if problems:
        raise WaitingListsInvalid(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return found


def _definition_problems(located, departments, items, element_definitions) -> list:
    d: WaitingListDef = located.definition
    problems = []
    if d.department not in departments:
        problems.append(
            located.problem(("department",), f"部门 {d.department} 不存在（请先加载事项库）")
        )
    if d.item not in items:
        problems.append(located.problem(("item",), f"事项 {d.item} 不存在"))
    fact_codes = {f.code for f in d.facts}
    used: set[str] = set()
    for c in d.priority_classes:
        if c.rule is not None:
            # A malformed rule: rule_problems below says what is wrong with it.
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                used |= elements_used(c.rule)
    catalog = element_definitions(used - fact_codes)
    for i, fact in enumerate(d.facts):
        if fact.code in element_definitions({fact.code}):
            message = f"{fact.code} 已是数据元，请直接在条件中使用"
            problems.append(located.problem(("facts", i, "code"), message))
    infos = {code: element_info(el) for code, el in catalog.items()} | _fact_infos(d.facts)
    for i, c in enumerate(d.priority_classes):
        if c.rule is None:
            continue
        for path, message in rule_problems(c.rule, infos, ("priority_classes", i, "rule")):
            problems.append(located.problem(path, message))
    # The class is decided from the person's 一人一档: an element it does not hold could
    # never be known, so nobody would ever be in that class.
    for code in sorted(used & set(catalog)):
        held = any(p.source == "profile" and not p.applicant_is for p in catalog[code].prefill)
        if not held:
            message = f"数据元 {code} 不在一人一档中，无法判定"
            problems.append(located.problem(("priority_classes",), message))
    return problems


def _fact_infos(facts: list[CertificateFact]) -> dict[str, ElementInfo]:
    return {f.code: ElementInfo(label=f.label, type=f.type, sensitivity=3) for f in facts}


def waiting_lists_load(
    *,
    directory: Path | str | None = None,
    actor_label: str = "system:catalog_load",
    dry_run: bool = False,
) -> DefinitionsLoadReport:
    """Validate the waiting-list folder and bring the lists in line, all or nothing. A
    changed definition gets a new immutable version (a catalog DefinitionVersion of kind
    `waiting_list`) and the list runs under it; entries keep the class they were given until
    they are re-ranked. A list that left the folder is deactivated, never deleted."""
    from tongban.catalog.models import DefinitionVersion, Department

    path = Path(directory) if directory is not None else default_waiting_lists_directory()
    definitions = read_waiting_lists(path)
    report = DefinitionsLoadReport(path=str(path), dry_run=dry_run)
    with transaction.atomic():
        departments = {d.code: d for d in Department.objects.all()}
        versioned_definitions_apply(
            definitions=definitions,
            version_model=DefinitionVersion,
            version_extra={"kind": WAITING_LIST_KIND},
            current_model=WaitingList,
            current_link=lambda version: {"definition_version": version.version},
            row_values=lambda d, _v: {
                "name": d.name,
                "item_code": d.item,
                "department": departments[d.department],
                "priority_classes": [
                    {"code": c.code, "label": c.label, "rank": rank, "description": c.description}
                    for rank, c in enumerate(d.priority_classes, start=1)
                ],
                "offer_days": d.offer_days,
            },
            report=report,
            actor_label=actor_label,
        )
        audit_record(
            actor_label=actor_label,
            action="appointments.waiting_lists_load",
            object_type="waiting_lists",
            object_id=path.name,
            data={"path": str(path), "dry_run": dry_run, "counts": report.as_dict()},
        )
        if dry_run:
            transaction.set_rollback(True)
    return report


# ---------------------------------------------------------------- priority


@dataclass(frozen=True)
class Priority:
    """The class a person is in on a list, and why (the conditions met)."""

    code: str
    label: str
    rank: int
    reason: str


def _certificate_fact(profile: ResidentProfile, fact: CertificateFact, now: dt.datetime) -> Any:
    from tongban.certificates.models import Certificate

    cert = (
        Certificate.objects.filter(
            holder_profile=profile, type__code=fact.certificate_type, revoked_at__isnull=True
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-issued_at", "-id")
        .first()
    )
    value = cert.claims.get(fact.claim) if cert is not None else None
    if value is None or value == "":
        return None
    try:
        if fact.type == "integer":
            return int(value)
        if fact.type == "boolean":
            return bool(value)
        if fact.type == "date":
            return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None  # a claim the rule cannot read is unknown, never taken as false
    return str(value)


def priority_of(
    *, waiting_list: WaitingList, profile: ResidentProfile, now: dt.datetime | None = None
) -> Priority:
    """The first class of the list's definition whose rule holds for PROFILE (the last one
    takes everyone). Unknown facts never put anyone in a class."""
    from tongban.policies.selectors import resident_facts

    now = now or timezone.now()
    today = timezone.localdate(now)
    definition = waiting_list_definition(waiting_list)
    fact_codes = {f.code for f in definition.facts}
    used: set[str] = set()
    for c in definition.priority_classes:
        if c.rule is not None:
            used |= elements_used(c.rule)
    facts, infos = resident_facts(profile, used - fact_codes)
    infos = {**infos, **_fact_infos(definition.facts)}
    for fact in definition.facts:
        if fact.code in used:
            facts[fact.code] = _certificate_fact(profile, fact, now)
    for rank, c in enumerate(definition.priority_classes, start=1):
        if c.rule is None:
            return Priority(c.code, c.label, rank, "")
        outcome = evaluate(c.rule, facts, infos, today)
        if outcome.holds:
            return Priority(c.code, c.label, rank, "；".join(outcome.met))
    raise AssertionError("the schema makes the last class take everyone")  # pragma: no cover


# ---------------------------------------------------------------- moves


def _label(actor: User | None, actor_label: str) -> str:
    return actor_label or (actor_label_for(actor) if actor is not None else SYSTEM_WAITLIST)


def _event(
    entry: WaitingEntry,
    kind: str,
    *,
    actor: User | None,
    actor_label: str,
    now: dt.datetime,
    data: dict | None = None,
) -> WaitingEvent:
    return WaitingEvent.objects.create(
        entry=entry,
        kind=kind,
        position=entry_position(entry),
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=_label(actor, actor_label),
        at=now,
        data=data or {},
    )


def _deadline_text(moment: dt.datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def _mine_link() -> str:
    return reverse("appointments:waitlist_mine")


def waitlist_join(
    *,
    waiting_list: WaitingList,
    profile: ResidentProfile,
    user: User | None,
    case=None,
    actor: User | None,
    actor_label: str = "",
    now: dt.datetime | None = None,
) -> WaitingEntry:
    """Put PROFILE on the list (USER: the account that follows the entry, the person's own
    where they have one). The class is decided now from their facts; one active entry per
    person and list (WAITLIST_ALREADY_ON_LIST). A place free with nobody to offer it to is
    offered at once."""
    now = now or timezone.now()
    if not waiting_list.is_active:
        raise InvalidInput("该轮候名单已停用", code="WAITLIST_INACTIVE")
    priority = priority_of(waiting_list=waiting_list, profile=profile, now=now)
    with transaction.atomic():
        try:
            with transaction.atomic():
                entry = WaitingEntry.objects.create(
                    waiting_list=waiting_list,
                    user=user,
                    profile=profile,
                    case=case,
                    priority_class=priority.code,
                    priority_rank=priority.rank,
                    joined_at=now,
                    status=EntryStatus.WAITING,
                )
        except IntegrityError:
            raise Conflict(
                "已在该轮候名单中，无需重复登记", code="WAITLIST_ALREADY_ON_LIST"
            ) from None
        event = _event(
            entry,
            "joined",
            actor=actor,
            actor_label=actor_label,
            now=now,
            data={
                "class": priority.code,
                "class_label": priority.label,
                "reason": priority.reason,
                **({"receipt_no": case.receipt_no} if case is not None else {}),
            },
        )
        _notify(
            recipient=profile.user,
            template="waitlist_joined",
            context={
                "list_name": waiting_list.name,
                "position": event.position,
                "class_label": priority.label,
            },
            link=_mine_link(),
        )
        free = WaitingPlace.objects.filter(waiting_list=waiting_list, status=PlaceStatus.FREE)
        for place in free.order_by("id"):
            if _offer_next(place=place, actor=actor, actor_label=actor_label, now=now) is None:
                break
    return entry


def _answerer(entry: WaitingEntry, actor: User | None, message: str = ""):
    """Who may answer for ENTRY: the person themself (None), or a relative acting under a
    live 亲友代办 authorisation covering the list (the row, locked for the write). Anyone
    else: WAITLIST_NOT_FOUND, the same answer whatever the reason."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise WaitlistNotFound(message or None)
    if entry.profile.user_id == actor.pk:
        return None
    delegation = acting_delegation(user=actor, entry=entry, lock=True)
    if delegation is None:
        raise WaitlistNotFound(message or None)
    return delegation


def _on_behalf(entry: WaitingEntry, actor: User, delegation) -> dict[str, Any]:
    # 亲友代办: the relative acts; the event and the audit row name both (as cases do).
    if delegation is None:
        return {}
    return {"acted_by": actor.pk, "on_behalf_of": entry.profile_id, "delegation": delegation.pk}


def _answer_audit(
    entry: WaitingEntry,
    actor: User | None,
    delegation,
    *,
    action: str,
    purpose: str,
    data: dict,
    actor_label: str = "",
) -> None:
    audit_record(
        actor=actor,
        actor_label=actor_label or None,
        action=action,
        object_type="waiting_entry",
        object_id=entry.pk,
        subject_resident_id=entry.profile_id,
        purpose=f"亲友代办：{purpose}" if delegation is not None else purpose,
        data={"list": entry.waiting_list.code, **data, **_on_behalf(entry, actor, delegation)},
    )


def waitlist_withdraw(
    *, entry: WaitingEntry, actor: User, reason: str = "", now: dt.datetime | None = None
) -> WaitingEntry:
    """The person leaves the list. An offer they hold is withdrawn and its place goes to the
    next. The entry's own account or a relative acting for the person (亲友代办); anyone
    else: WAITLIST_NOT_FOUND, nothing changes."""
    now = now or timezone.now()
    with transaction.atomic():
        entry = (
            WaitingEntry.objects.select_for_update(of=("self",))
            .select_related("profile", "waiting_list")
            .filter(pk=entry.pk)
            .first()
        )
        if entry is None:
            raise WaitlistNotFound()
        delegation = _answerer(entry, actor)
        if entry.status not in ACTIVE:
            raise Conflict("该轮候已结束，无需撤回", code="WAITLIST_NOT_ACTIVE")
        offer = WaitingOffer.objects.filter(entry=entry, status=OfferStatus.OPEN).first()
        was = entry.status
        entry.status = EntryStatus.WITHDRAWN
        entry.closed_at = now
        entry.save(update_fields=["status", "closed_at"])
        data: dict[str, Any] = {"note": reason.strip()[:200]} if reason.strip() else {}
        if offer is not None:
            offer.status = OfferStatus.WITHDRAWN
            offer.responded_at = now
            offer.save(update_fields=["status", "responded_at"])
            data["offer"] = offer.pk
        on_behalf = _on_behalf(entry, actor, delegation)
        _event(entry, "withdrawn", actor=actor, actor_label="", now=now, data={**data, **on_behalf})
        _answer_audit(
            entry,
            actor,
            delegation,
            action="waitlist.withdraw",
            purpose="撤回轮候登记",
            data={"from": was, **data},
        )
        if offer is not None:
            place = _locked_place(offer.place_id)
            place.status = PlaceStatus.FREE
            place.save(update_fields=["status"])
            _offer_next(place=place, actor=actor, actor_label="", now=now)
    return entry


PLACE_FACILITY_MAX = WaitingPlace._meta.get_field("facility").max_length
PLACE_NAME_MAX = WaitingPlace._meta.get_field("name").max_length
CLOSE_REASON_MAX = 200


def place_add(
    *,
    waiting_list: WaitingList,
    facility: str,
    name: str,
    district: str = "",
    occupied: bool = True,
    actor: User | None,
    actor_label: str = "",
    now: dt.datetime | None = None,
) -> WaitingPlace:
    """新增床位/房源: a place the list allocates (a bed, a flat). One added free is offered
    at once. Staff who keep the list (anyone else: WAITLIST_NOT_FOUND, nothing written);
    ACTOR None with ACTOR_LABEL is the system's own path (the demo city)."""
    now = now or timezone.now()
    if actor is not None and not may_keep(actor, waiting_list):
        raise WaitlistNotFound("未找到该轮候名单")
    if not waiting_list.is_active:
        raise InvalidInput("该轮候名单已停用", code="WAITLIST_INACTIVE")
    facility, name, district = facility.strip(), name.strip(), (district or "").strip()
    if not facility or not name:
        raise InvalidInput("请填写机构和床位（房源）名称", code="WAITLIST_PLACE_NAME")
    if len(facility) > PLACE_FACILITY_MAX or len(name) > PLACE_NAME_MAX:
        raise InvalidInput(
            f"机构名称不超过{PLACE_FACILITY_MAX}字，床位（房源）名称不超过{PLACE_NAME_MAX}字",
            code="WAITLIST_PLACE_NAME",
        )
    if district and district not in District.values:
        raise InvalidInput("所在区不正确，请从列表中选择", code="WAITLIST_PLACE_DISTRICT")
    with transaction.atomic():
        try:
            with transaction.atomic():
                place, created = WaitingPlace.objects.get_or_create(
                    waiting_list=waiting_list,
                    facility=facility,
                    name=name,
                    defaults={
                        "district": district,
                        "status": PlaceStatus.OCCUPIED if occupied else PlaceStatus.FREE,
                    },
                )
        except IntegrityError:  # added by someone else a moment ago
            created = False
        if not created:
            raise Conflict("该床位（房源）已登记", code="WAITLIST_PLACE_EXISTS")
        audit_record(
            actor=actor,
            actor_label=_label(actor, actor_label),
            action="waitlist.place_add",
            object_type="waiting_place",
            object_id=place.pk,
            data={"list": waiting_list.code, "status": place.status},
        )
        if not occupied:
            _offer_next(place=place, actor=actor, actor_label=actor_label, now=now)
    return place


def place_close(
    *, place: WaitingPlace, actor: User, reason: str, now: dt.datetime | None = None
) -> WaitingPlace:
    """停用: the place leaves the allocation (a bed taken out of service, a flat sold); a
    closed place is never offered. A free or occupied place may be closed; one with an open
    offer is a Conflict (WAITLIST_PLACE_OFFERED: the person is answering); one already
    closed too. A reason is required. Only staff who keep the list (anyone else:
    WAITLIST_NOT_FOUND, nothing changes). place_reopen brings it back."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    with transaction.atomic():
        place = _locked_place(place.pk)
        if not may_keep(actor, place.waiting_list):
            raise WaitlistNotFound("未找到该床位")
        if place.status == PlaceStatus.OFFERED:
            raise Conflict(
                "该床位已发出入住通知，须等轮候人答复或逾期后才能停用",
                code="WAITLIST_PLACE_OFFERED",
            )
        if place.status == PlaceStatus.CLOSED:
            raise Conflict("该床位已停用", code="WAITLIST_PLACE_CLOSED")
        if not reason:
            raise InvalidInput("请填写停用原因", code="WAITLIST_CLOSE_REASON")
        if len(reason) > CLOSE_REASON_MAX:
            raise InvalidInput(f"停用原因不超过{CLOSE_REASON_MAX}字", code="WAITLIST_CLOSE_REASON")
        was = place.status
        place.status = PlaceStatus.CLOSED
        place.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="waitlist.place_close",
            object_type="waiting_place",
            object_id=place.pk,
            data={"list": place.waiting_list.code, "from": was, "reason": reason},
        )
    return place


def place_reopen(
    *, place: WaitingPlace, actor: User, now: dt.datetime | None = None
) -> WaitingOffer | None:
    """恢复启用: a closed place comes back free and is offered at once to the first waiting
    entry, as when a place is freed (None: nobody is waiting; it stays free). Only a closed
    place (else WAITLIST_PLACE_NOT_CLOSED); only staff who keep the list."""
    now = now or timezone.now()
    with transaction.atomic():
        place = _locked_place(place.pk)
        if not may_keep(actor, place.waiting_list):
            raise WaitlistNotFound("未找到该床位")
        if place.status != PlaceStatus.CLOSED:
            raise Conflict("该床位未停用，无需恢复", code="WAITLIST_PLACE_NOT_CLOSED")
        place.status = PlaceStatus.FREE
        place.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="waitlist.place_reopen",
            object_type="waiting_place",
            object_id=place.pk,
            data={"list": place.waiting_list.code, "from": PlaceStatus.CLOSED},
        )
        return _offer_next(place=place, actor=actor, actor_label="", now=now)


def place_free(
    *, place: WaitingPlace, actor: User, now: dt.datetime | None = None
) -> WaitingOffer | None:
    """床位空出: the place is free and offered to the first waiting entry (None: nobody is
    waiting; the place stays free and goes to the next who joins). Only staff who keep the
    list (anyone else: WAITLIST_NOT_FOUND, nothing changes); a place already offered is a
    Conflict."""
    now = now or timezone.now()
    with transaction.atomic():
        place = _locked_place(place.pk)
        if not may_keep(actor, place.waiting_list):
            raise WaitlistNotFound("未找到该床位")
        if place.status == PlaceStatus.OFFERED:
            raise Conflict("该床位已发出入住通知，等待答复", code="WAITLIST_PLACE_OFFERED")
        if place.status == PlaceStatus.CLOSED:
            raise Conflict("该床位已停用", code="WAITLIST_PLACE_CLOSED")
        was = place.status
        place.status = PlaceStatus.FREE
        place.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="waitlist.place_free",
            object_type="waiting_place",
            object_id=place.pk,
            data={"list": place.waiting_list.code, "from": was},
        )
        return _offer_next(place=place, actor=actor, actor_label="", now=now)


def offer_make(
    *, place: WaitingPlace, actor: User | None, actor_label: str = "", now=None
) -> WaitingOffer | None:
    """Offer a free PLACE to the first waiting entry that has not had it before."""
    now = now or timezone.now()
    with transaction.atomic():
        place = _locked_place(place.pk)
        if place.status != PlaceStatus.FREE:
            raise Conflict("该床位不是空闲状态", code="WAITLIST_PLACE_NOT_FREE")
        return _offer_next(place=place, actor=actor, actor_label=actor_label, now=now)


def _locked_place(pk: int) -> WaitingPlace:
    return WaitingPlace.objects.select_for_update().select_related("waiting_list").get(pk=pk)


def _offer_next(
    *, place: WaitingPlace, actor: User | None, actor_label: str, now: dt.datetime
) -> WaitingOffer | None:
    """Inside the caller's transaction, with PLACE locked and free. Entries another
    transaction is offering a place to right now are skipped (skip_locked), so two places
    freed at once go to two people; the unique open offer per entry backs that up."""
    wl = place.waiting_list
    candidates = (
        WaitingEntry.objects.filter(
            waiting_list_id=place.waiting_list_id, status=EntryStatus.WAITING
        )
        .exclude(pk__in=WaitingOffer.objects.filter(place=place).values("entry_id"))
        .order_by("priority_rank", "joined_at", "id")
    )
    for _attempt in range(3):
        entry = candidates.select_for_update(skip_locked=True).first()
        if entry is None:
            return None
        try:
            with transaction.atomic():
                offer = WaitingOffer.objects.create(
                    entry=entry,
                    place=place,
                    status=OfferStatus.OPEN,
                    offered_at=now,
                    respond_by=now + dt.timedelta(days=wl.offer_days),
                )
        except IntegrityError:
            continue  # taken by a concurrent offer a moment ago: the next one
        break
    else:
        return None
    entry.status = EntryStatus.OFFERED
    entry.save(update_fields=["status"])
    place.status = PlaceStatus.OFFERED
    place.save(update_fields=["status"])
    _event(
        entry,
        "offered",
        actor=actor,
        actor_label=actor_label,
        now=now,
        data={
            "offer": offer.pk,
            "facility": place.facility,
            "place": place.name,
            "respond_by": offer.respond_by.isoformat(),
        },
    )
    _notify(
        recipient=entry.profile.user,
        template="waitlist_offer",
        context={
            "list_name": wl.name,
            "facility": place.facility,
            "place": place.name,
            "deadline": _deadline_text(offer.respond_by),
        },
        link=_mine_link(),
    )
    return offer


def _open_offer_of(user: User | None, offer_id: int, system_label: str = ""):
    """The offer, locked, and who answers it (see _answerer). USER None with SYSTEM_LABEL is
    the system's own path (the demo city records answers people gave by telephone)."""
    offer = (
        WaitingOffer.objects.select_for_update(of=("self", "entry"))
        .select_related("entry__profile", "entry__waiting_list", "place")
        .filter(pk=offer_id)
        .first()
    )
    if offer is None:
        raise WaitlistNotFound("未找到该入住通知")
    if user is None and system_label:
        delegation = None
    else:
        delegation = _answerer(offer.entry, user, "未找到该入住通知")
    if offer.status != OfferStatus.OPEN:
        raise Conflict(
            f"该通知已{offer.get_status_display()}，不能再答复", code="WAITLIST_OFFER_CLOSED"
        )
    return offer, delegation


def offer_accept(
    *,
    offer_id: int,
    actor: User | None,
    now: dt.datetime | None = None,
    actor_label: str = "",
) -> WaitingOffer:
    """The person (or a relative acting for them, 亲友代办) takes the place: the place is
    occupied, the entry placed. After the deadline it is refused (WAITLIST_OFFER_EXPIRED);
    the sweep lapses it. ACTOR None with ACTOR_LABEL is the system's own path."""
    now = now or timezone.now()
    with transaction.atomic():
        offer, delegation = _open_offer_of(actor, offer_id, actor_label)
        if now > offer.respond_by:
            raise Conflict(
                "已超过答复期限，本次入住通知已失效，您仍在原位次轮候",
                code="WAITLIST_OFFER_EXPIRED",
            )
        offer.status = OfferStatus.ACCEPTED
        offer.responded_at = now
        offer.save(update_fields=["status", "responded_at"])
        entry = offer.entry
        entry.status = EntryStatus.PLACED
        entry.closed_at = now
        entry.save(update_fields=["status", "closed_at"])
        place = _locked_place(offer.place_id)
        place.status = PlaceStatus.OCCUPIED
        place.save(update_fields=["status"])
        data = {"offer": offer.pk, "facility": place.facility, "place": place.name}
        _event(
            entry,
            "accepted",
            actor=actor,
            actor_label=actor_label if actor is None else "",
            now=now,
            data={**data, **_on_behalf(entry, actor, delegation)},
        )
        _answer_audit(
            entry,
            actor,
            delegation,
            action="waitlist.offer_accept",
            purpose="确认入住",
            data=data,
            actor_label=actor_label if actor is None else "",
        )
    return offer


def offer_decline(
    *, offer_id: int, actor: User, reason: str = "", now: dt.datetime | None = None
) -> WaitingOffer:
    """The person (or a relative acting for them) lets this place go: back to their place
    on the list (declines + 1), and the place is offered to the next."""
    now = now or timezone.now()
    with transaction.atomic():
        offer, delegation = _open_offer_of(actor, offer_id)
        note = reason.strip()[:200]
        entry = offer.entry
        _answer_audit(
            entry,
            actor,
            delegation,
            action="waitlist.offer_decline",
            purpose="放弃入住通知",
            data={
                "offer": offer.pk,
                "facility": offer.place.facility,
                "place": offer.place.name,
                **({"note": note} if note else {}),
            },
        )
        _close_offer(
            offer,
            OfferStatus.DECLINED,
            kind="declined",
            actor=actor,
            actor_label="",
            now=now,
            note=note,
            extra=_on_behalf(entry, actor, delegation),
        )
    return offer


def _close_offer(
    offer: WaitingOffer,
    status: str,
    *,
    kind: str,
    actor: User | None,
    actor_label: str,
    now: dt.datetime,
    note: str = "",
    extra: dict | None = None,
) -> WaitingOffer | None:
    offer.status = status
    offer.responded_at = now
    offer.save(update_fields=["status", "responded_at"])
    entry = offer.entry
    entry.status = EntryStatus.WAITING
    entry.declines += 1
    entry.save(update_fields=["status", "declines"])
    place = _locked_place(offer.place_id)
    data = {"offer": offer.pk, "facility": place.facility, "place": place.name}
    _event(
        entry,
        kind,
        actor=actor,
        actor_label=actor_label,
        now=now,
        data={**data, **({"note": note} if note else {}), **(extra or {})},
    )
    place.status = PlaceStatus.FREE
    place.save(update_fields=["status"])
    return _offer_next(place=place, actor=actor, actor_label=actor_label, now=now)


def offers_lapse(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Offers past their deadline lapse (逾期未答复): the entry goes back to its place, the
    place to the next. One transaction per offer; run again, it finds nothing."""
    now = now or timezone.now()
    due = list(
        WaitingOffer.objects.filter(status=OfferStatus.OPEN, respond_by__lt=now)
        .order_by("respond_by", "id")
        .values_list("pk", flat=True)
    )
    expired = offered = 0
    for pk in due:
        with transaction.atomic():
            offer = (
                WaitingOffer.objects.select_for_update()
                .select_related("entry__waiting_list", "entry__profile", "place")
                .filter(pk=pk, status=OfferStatus.OPEN, respond_by__lt=now)
                .first()
            )
            if offer is None:
                continue
            _notify(
                recipient=offer.entry.profile.user,
                template="waitlist_offer_expired",
                context={
                    "list_name": offer.entry.waiting_list.name,
                    "facility": offer.place.facility,
                    "place": offer.place.name,
                },
                link=_mine_link(),
            )
            following = _close_offer(
                offer,
                OfferStatus.EXPIRED,
                kind="expired",
                actor=None,
                actor_label=SYSTEM_WAITLIST,
                now=now,
            )
            expired += 1
            offered += following is not None
    return {"expired": expired, "offered": offered}


def waitlist_rerank(
    *,
    entry: WaitingEntry,
    actor: User | None = None,
    actor_label: str = "",
    now: dt.datetime | None = None,
) -> WaitingEntry:
    """Decide the entry's class again from the person's facts now (they became 低保, an
    assessment raised their 照护等级); a change is one `reranked` event with the new
    position. No change, no event. The place in time (joined_at) is kept."""
    now = now or timezone.now()
    with transaction.atomic():
        entry = (
            WaitingEntry.objects.select_for_update()
            .select_related("waiting_list", "profile")
            .get(pk=entry.pk)
        )
        if entry.status not in ACTIVE:
            return entry
        priority = priority_of(waiting_list=entry.waiting_list, profile=entry.profile, now=now)
        if (priority.code, priority.rank) == (entry.priority_class, entry.priority_rank):
            return entry
        before = {"class": entry.priority_class, "position": entry_position(entry)}
        entry.priority_class = priority.code
        entry.priority_rank = priority.rank
        entry.save(update_fields=["priority_class", "priority_rank"])
        _event(
            entry,
            "reranked",
            actor=actor,
            actor_label=actor_label,
            now=now,
            data={
                "from_class": before["class"],
                "from_position": before["position"],
                "class": priority.code,
                "class_label": priority.label,
                "reason": priority.reason,
            },
        )
    return entry


# ---------------------------------------------------------------- hooks and sweep


def join_after_conclusion(case) -> None:
    """Issuance hook (a case concluded, after commit): an approved task of a list's item
    puts the applicant's person on that list; their other entries are re-ranked, since the
    case may have changed their facts (a 低保 granted)."""
    if not case.applicant_profile_id:
        return
    profile = case.applicant_profile
    approved = set(case.tasks.filter(status="approved").values_list("item_code", flat=True))
    for wl in waiting_lists_for_item_codes(approved):
        if WaitingEntry.objects.filter(
            waiting_list=wl, profile=profile, status__in=ACTIVE
        ).exists():
            continue
        # Joined a moment ago by another path: nothing to do.
        with contextlib.suppress(Conflict):
            waitlist_join(
                waiting_list=wl,
                profile=profile,
                user=profile.user or case.applicant,
                case=case,
                actor=None,
                actor_label="system:case_concluded",
            )
    rerank_person(profile)


def waiting_lists_for_item_codes(codes: set[str]) -> list[WaitingList]:
    lists: list[WaitingList] = []
    for code in sorted(codes):
        lists += list(waiting_lists_for_item(code))
    return lists


def rerank_person(profile: ResidentProfile) -> None:
    """Profile-changed hook: re-rank the person's active entries (inside the change's own
    transaction, so the class changes with the data)."""
    for entry in WaitingEntry.objects.filter(profile=profile, status__in=ACTIVE):
        waitlist_rerank(entry=entry, actor_label="system:profile_changed")


def waitlist_sweep(now: dt.datetime, today: dt.date) -> dict[str, int]:
    return offers_lapse(now=now)


SWEEPS = {"waitlist": waitlist_sweep}
