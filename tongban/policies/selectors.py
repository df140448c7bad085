"""Reads: which policies a resident qualifies for, and why (政策找人, one person at a time).
The population-wide batch run comes later; this is what 为您推荐 and the API answer with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

from tongban.accounts.models import Enterprise, ResidentProfile
from tongban.catalog.loader import element_info
from tongban.catalog.models import ServiceItem
from tongban.catalog.selectors import element_definitions
from tongban.common.calendar import chinese_date
from tongban.common.errors import InvalidInput
from tongban.policies.compile import born_by
from tongban.policies.errors import PolicyNotFound
from tongban.policies.industries import SECTION_NAMES, section_of
from tongban.policies.models import PaymentBatch, Policy, PolicyGrant, PolicyMatch, PolicyRun
from tongban.policies.rules import (
    HOUSEHOLD,
    HOUSEHOLD_ANSWERS,
    ElementInfo,
    Outcome,
    condition_texts,
    elements_used,
    evaluate,
    formula_elements,
    formula_uses_household,
    formula_value,
    household_conditions,
    household_key,
    uses_household,
)
from tongban.policies.schemas import MODE_LABELS, SUBJECT_LABELS, PolicyDef


@dataclass(frozen=True)
class Evaluation:
    policy: Policy
    definition: PolicyDef
    outcome: Outcome
    amount: Decimal | None = None  # what the benefit comes to for them, where it says


# Where matching reads each subject's data: the prefill source of its record.
SOURCES = {"resident": "profile", "enterprise": "enterprise"}


# Versions never change once stored: each is parsed once per process. Keyed with its hash
# too, since ids come round again after a rolled-back test.
_parsed: dict[tuple[int, str], PolicyDef] = {}


def current_policies(*, subject: str | None = None) -> list[tuple[Policy, PolicyDef]]:
    """Active policies with their current definitions, by code."""
    # The definitions' JSON is read only for a version not parsed yet by this process:
    # decoding every policy's content on every call was most of one person's re-match.
    rows = (
        Policy.objects.filter(is_active=True)
        .select_related("current", "department")
        .defer("current__content")
    )
    if subject:
        rows = rows.filter(subject=subject)
    return [(row, current_definition(row)) for row in rows.order_by("code")]


def current_definition(policy: Policy) -> PolicyDef:
    """POLICY's current definition, parsed once per process."""
    key = (policy.current_id, policy.current.content_sha256)
    if key not in _parsed:
        _parsed[key] = PolicyDef.model_validate(policy.current.content)
    return _parsed[key]


def profile_fields_of(
    codes: set[str], subject: str = "resident"
) -> tuple[dict[str, str], dict[str, ElementInfo]]:
    """The field of the subject's record (一人一档 or 一企一档) holding each element."""
    definitions = element_definitions(codes)
    fields = {}
    for code, element in definitions.items():
        for prefill in element.prefill:
            if prefill.source == SOURCES[subject] and not prefill.applicant_is:
                fields[code] = prefill.field
                break
    return fields, {code: element_info(el) for code, el in definitions.items()}


def needs(policies: list[tuple[Policy, PolicyDef]]) -> tuple[set[str], bool]:
    """The elements these policies read (rules and amount formulas), and whether any counts
    over a household."""
    codes: set[str] = set()
    household = False
    for _, d in policies:
        codes |= elements_used(d.eligibility)
        if d.benefit.formula is not None:
            codes |= formula_elements(d.benefit.formula)
            household = household or formula_uses_household(d.benefit.formula)
        household = household or uses_household(d.eligibility)
    return codes, household


def amount_of(
    definition: PolicyDef, facts: dict, infos: dict | None = None, today: dt.date | None = None
) -> Decimal | None:
    if definition.benefit.formula is not None:
        return formula_value(definition.benefit.formula, facts, infos, today)
    if definition.benefit.amount is not None:
        return Decimal(str(definition.benefit.amount)).quantize(Decimal("0.01"))
    return None


def _as_element_value(info: ElementInfo, value: Any) -> Any:
    if value is None or value == "":
        return None
    if info.type == "boolean":
        return bool(value)
    if info.type in ("choice", "district", "text"):
        return str(value)
    return value


def record_facts(record, codes: set[str], subject: str = "resident") -> tuple[dict, dict]:
    """The values of these data elements for RECORD (a ResidentProfile or an Enterprise), read
    through each element's prefill from that record; an element with none is unknown (None)."""
    fields, infos = profile_fields_of(codes, subject)
    facts = {
        code: _as_element_value(infos[code], getattr(record, field, None))
        for code, field in fields.items()
    }
    return facts, infos


def resident_facts(
    profile: ResidentProfile, codes: set[str], *, household: bool = False
) -> tuple[dict, dict]:
    """PROFILE's facts from its 一人一档; with HOUSEHOLD, also every member's of its 户 (the
    person included), which household conditions count and sum over."""
    facts, infos = record_facts(profile, codes)
    if household:
        if profile.household_id is None:
            facts[HOUSEHOLD] = None
        else:
            members = ResidentProfile.objects.filter(household_id=profile.household_id)
            facts[HOUSEHOLD] = [record_facts(m, codes)[0] for m in members.order_by("id")]
    return facts, infos


def subject_facts(record, codes: set[str], subject: str, household: bool) -> tuple[dict, dict]:
    if subject == "resident":
        return resident_facts(record, codes, household=household)
    return record_facts(record, codes, subject)


def evaluations_for(record, subject: str, today: dt.date | None = None) -> list[Evaluation]:
    """Every policy of SUBJECT in force, evaluated for RECORD, eligible ones first."""
    today = today or timezone.localdate()
    policies = [(p, d) for p, d in current_policies(subject=subject) if d.in_force(today)]
    codes, household = needs(policies)
    facts, infos = subject_facts(record, codes, subject, household)
    matches = []
    for p, d in policies:
        outcome = evaluate(d.eligibility, facts, infos, today)
        amount = amount_of(d, facts, infos, today) if outcome.holds else None
        matches.append(Evaluation(p, d, outcome, amount))
    return sorted(matches, key=lambda m: (not m.outcome.holds, m.policy.code))


def policies_for_resident(
    *, profile: ResidentProfile, today: dt.date | None = None
) -> list[Evaluation]:
    """Every resident policy in force, evaluated for PROFILE, eligible ones first."""
    return evaluations_for(profile, "resident", today)


def policies_for_enterprise(*, enterprise: Enterprise, today: dt.date | None = None):
    """惠企政策: every enterprise policy in force, evaluated for ENTERPRISE."""
    return evaluations_for(enterprise, "enterprise", today)


@dataclass(frozen=True)
class PolicyCard:
    """One policy as lists and pages show it."""

    code: str
    name: str
    subject: str
    subject_label: str
    mode: str
    mode_label: str
    department_code: str
    department_name: str
    summary: str
    benefit: str
    unit: str
    life_events: tuple[str, ...]
    item: str
    item_online: bool
    answers: tuple[tuple[str, str], ...]
    conditions: tuple[str, ...]
    # 行业门类 an enterprise policy is limited to (letters); empty: any industry.
    industries: tuple[str, ...]
    # 专项资金: the round open for applications today, as a person reads it ("" if none).
    open_round: str
    legal_basis: str
    valid_from: dt.date
    valid_until: dt.date | None
    version: int

    @property
    def industry_names(self) -> str:
        return "、".join(SECTION_NAMES[letter] for letter in self.industries)

    @property
    def action_url(self) -> str:
        """Where one click takes an eligible person: the prefilled one-form when the item can
        be applied for online, else its guide."""
        if not self.item:
            return ""
        if not self.item_online:
            return f"/items/{self.item}/"
        query = urlencode(self.answers)
        return f"/apply/item/{self.item}/" + (f"?{query}" if query else "")


def _card(policy: Policy, definition: PolicyDef, online: dict[str, bool]) -> PolicyCard:
    basis = definition.legal_basis
    return PolicyCard(
        code=policy.code,
        name=definition.name,
        subject=definition.subject,
        subject_label=SUBJECT_LABELS[definition.subject],
        mode=definition.mode,
        mode_label=MODE_LABELS[definition.mode],
        department_code=policy.department.code,
        department_name=policy.department.name,
        summary=definition.summary,
        benefit=definition.benefit.text,
        unit=definition.benefit.unit,
        life_events=tuple(definition.life_events),
        item=definition.item,
        item_online=online.get(definition.item, False),
        answers=tuple(sorted(definition.answers.items())),
        conditions=tuple(condition_texts(definition.eligibility)),
        industries=tuple(sorted(industries_of(definition.eligibility))),
        open_round=_open_round(definition),
        legal_basis=f"{basis.document}{basis.article}",
        valid_from=definition.valid_from,
        valid_until=definition.valid_until,
        version=policy.current.version,
    )


def _open_round(definition: PolicyDef) -> str:
    today = timezone.localdate()
    for r in definition.fund_rounds:
        if r.open_on(today):
            return f"{r.name}正在申报，{r.closes.month}月{r.closes.day}日截止"
    return ""


INDUSTRY_ELEMENT = "enterprise.industry_code"


def industries_of(node: dict) -> set[str]:
    """The 行业门类 a rule limits an enterprise to: the sections of the industry codes a
    condition requires (in or eq, and every branch of an any); empty when it does not limit."""
    if "all" in node:
        limits = [found for c in node["all"] if (found := industries_of(c))]
        return set.intersection(*limits) if limits else set()
    if "any" in node:
        branches = [industries_of(c) for c in node["any"]]
        return set().union(*branches) if all(branches) else set()
    if node.get("element") == INDUSTRY_ELEMENT and node.get("op") in ("in", "eq"):
        values = node["value"] if node["op"] == "in" else [node["value"]]
        return {section_of(str(v)) for v in values} - {""}
    return set()


def _online_items(codes: set[str]) -> dict[str, bool]:
    return dict(
        ServiceItem.objects.filter(code__in=codes, is_active=True).values_list("code", "online")
    )


def policy_cards(
    *,
    subject: str | None = None,
    life_event: str | None = None,
    department: str | None = None,
    industry: str | None = None,
    today: dt.date | None = None,
) -> list[PolicyCard]:
    """政策查询: the policies in force, optionally of one subject, life event or department;
    with INDUSTRY (a 行业门类 letter), the enterprise policies open to that industry (those
    limited to it and those not limited)."""
    today = today or timezone.localdate()
    found = [(p, d) for p, d in current_policies(subject=subject) if d.in_force(today)]
    if life_event:
        found = [(p, d) for p, d in found if life_event in d.life_events]
    if department:
        found = [(p, d) for p, d in found if p.department.code == department]
    if industry:
        found = [
            (p, d)
            for p, d in found
            if d.subject == "enterprise"
            and (not (limits := industries_of(d.eligibility)) or industry in limits)
        ]
    online = _online_items({d.item for _, d in found if d.item})
    return [_card(p, d, online) for p, d in found]


def policy_card(code: str, *, today: dt.date | None = None) -> PolicyCard:
    """One policy in force, or PolicyNotFound (also for one not yet or no longer in force)."""
    today = today or timezone.localdate()
    for policy, definition in current_policies():
        if policy.code == code and definition.in_force(today):
            return _card(policy, definition, _online_items({definition.item}))
    raise PolicyNotFound()


@dataclass(frozen=True)
class GrantState:
    """The person's latest 免申即享 grant of a policy, as they read it."""

    period: str
    status: str
    period_label: str
    status_label: str
    receipt_no: str = ""  # 自动办结: the case the platform concluded for it
    payment: str = ""  # waiting | in_batch | paid, where the policy pays
    payment_label: str = ""  # 待发放 / 发放中 / 已发放（…）


@dataclass(frozen=True)
class Recommendation:
    card: PolicyCard
    outcome: Outcome
    grant: GrantState | None = None
    amount: Decimal | None = None

    @property
    def amount_label(self) -> str:
        """12,345.00 — the amount as a person reads it, "" when the policy gives none."""
        return "" if self.amount is None else f"{self.amount:,.2f}"


def _period_label(period: str) -> str:
    if period == "once":
        return ""
    if len(period) == 7:
        return f"{period[:4]}年{int(period[5:])}月"
    return f"{period}年"


def grants_of(record) -> dict[str, GrantState]:
    """The latest grant of each policy granted to RECORD, a resident's profile or an
    enterprise (declined ones included: also a benefit whose paid periods stay paid)."""
    found: dict[str, GrantState] = {}
    holder = "enterprise" if isinstance(record, Enterprise) else "profile"
    declined = set(
        PolicyMatch.objects.filter(
            **{holder: record}, ended_at__isnull=True, declined_at__isnull=False
        ).values_list("policy__code", flat=True)
    )
    rows = PolicyGrant.objects.filter(**{holder: record}).order_by("period", "id")
    columns = ("policy__code", "period", "status", "case__receipt_no", "batch_id",
               "batch__paid_at", "amount")  # fmt: skip
    for code, period, status, receipt_no, batch_id, paid_at, amount in rows.values_list(*columns):
        if code in declined:
            status = PolicyGrant.Status.DECLINED
        payment = label = ""
        if amount and receipt_no:
            if paid_at is not None:
                day = timezone.localtime(paid_at).date()
                payment, label = "paid", f"已发放（{chinese_date(day)}）"
            elif batch_id is not None:
                payment, label = "in_batch", "发放中"
            elif status == PolicyGrant.Status.GRANTED:
                payment, label = "waiting", "待发放"
        found[code] = GrantState(
            period,
            status,
            _period_label(period),
            PolicyGrant.Status(status).label,
            receipt_no or "",
            payment,
            label,
        )
    return found


def _recommendations(matches: list[Evaluation], grants: dict[str, GrantState]):
    online = _online_items({m.definition.item for m in matches if m.definition.item})

    def row(m: Evaluation) -> Recommendation:
        card = _card(m.policy, m.definition, online)
        return Recommendation(card, m.outcome, grants.get(card.code), m.amount)

    return [row(m) for m in matches if m.outcome.holds], [
        row(m) for m in matches if m.outcome.nearly
    ]


def recommendations_for(
    *, profile: ResidentProfile, today: dt.date | None = None
) -> tuple[list[Recommendation], list[Recommendation]]:
    """为您推荐: the policies PROFILE qualifies for, and those missed by one condition the
    person could change (with what is missing)."""
    return _recommendations(policies_for_resident(profile=profile, today=today), grants_of(profile))


def recommendations_for_enterprise(
    *, enterprise: Enterprise, today: dt.date | None = None
) -> tuple[list[Recommendation], list[Recommendation]]:
    """惠企政策 on 企业专属网页: what ENTERPRISE qualifies for, and what it nearly does."""
    matches = policies_for_enterprise(enterprise=enterprise, today=today)
    return _recommendations(matches, grants_of(enterprise))


def outcome_for(*, profile: ResidentProfile, code: str) -> Outcome | None:
    """PROFILE's evaluation for one policy (None when it is not a resident policy in force)."""
    for match in policies_for_resident(profile=profile):
        if match.policy.code == code:
            return match.outcome
    return None


def explanations_for_task(*, viewer, task_id: int) -> list[dict[str, Any]]:
    """政策找人 on a reviewer's task page: for the policies applied for through the task's
    item, why the case's applicant (or enterprise) does or does not qualify — only for staff
    who hold the task (task_view_for_reviewer's rule), the read of a person's data logged
    with its purpose. Empty for anyone else, or where no policy uses the item."""
    from tongban.cases.models import Task
    from tongban.cases.selectors import reviewer_departments
    from tongban.common.services import audit_record

    task = Task.objects.select_related("case").filter(pk=task_id).first()
    if task is None or task.department_id not in reviewer_departments(viewer):
        return []
    case = task.case
    today = timezone.localdate()
    if case.enterprise_id is not None:
        subject, record = "enterprise", case.enterprise
    elif case.applicant_profile_id is not None:
        subject, record = "resident", case.applicant_profile
    else:
        return []
    wanted = [
        p.code
        for p, d in current_policies(subject=subject)
        if d.item == task.item_code and d.in_force(today)
    ]
    if not wanted:
        return []
    rows = [
        {
            "code": m.policy.code,
            "name": m.definition.name,
            "holds": m.outcome.holds,
            "explanation": m.outcome.explanation,
        }
        for m in evaluations_for(record, subject, today)
        if m.policy.code in wanted
    ]
    if subject == "resident":
        used = set().union(
            *(elements_used(d.eligibility) for p, d in current_policies() if p.code in wanted)
        )
        audit_record(
            actor=viewer,
            action="personal_data.read",
            object_type="case",
            object_id=case.receipt_no,
            subject_resident_id=record.pk,
            purpose=f"审核{task.item_name}：核对政策资格",
            data={"fields": sorted(used), "receipt_no": case.receipt_no},
        )
    return rows


# ---------------------------------------------------------------- 我可能符合哪些政策 (anonymous)


@dataclass(frozen=True)
class Question:
    """One question of the anonymous check: an element the resident policies read."""

    # The element's code; "age" stands for every age_of element, "household.<hex>" for one
    # household condition (rules.household_key).
    code: str
    label: str
    kind: str  # age | boolean | choice
    choices: tuple[tuple[str, str], ...] = ()


AGE = "age"


def _age_elements(node: dict) -> set[str]:
    if "all" in node or "any" in node:
        return set().union(*(_age_elements(c) for c in node.get("all") or node.get("any")))
    if "not" in node:
        return _age_elements(node["not"])
    return {node["age_of"]} if "age_of" in node else set()


def check_questions(*, today: dt.date | None = None) -> list[Question]:
    """The questions the resident policies in force need, and no others."""
    today = today or timezone.localdate()
    policies = [d for _, d in current_policies(subject="resident") if d.in_force(today)]
    if not policies:
        return []
    codes = set().union(*(elements_used(d.eligibility) for d in policies))
    ages = set().union(*(_age_elements(d.eligibility) for d in policies))
    infos = {code: element_info(el) for code, el in element_definitions(codes - ages).items()}
    questions = [Question(AGE, "您的年龄（周岁）", "age")] if ages else []
    for code in sorted(infos):
        info = infos[code]
        if info.type == "boolean":
            questions.append(Question(code, f"您是否为{info.label}？", "boolean"))
        elif info.choices:
            questions.append(Question(code, info.label, "choice", tuple(info.choices.items())))
    # What only the household can answer (家中有将满6周岁的孩子, 家庭人均月收入 …): asked as
    # the condition itself, since there are no members' records to count.
    seen: set[str] = set()
    for definition in policies:
        for node in household_conditions(definition.eligibility):
            key = household_key(node)
            if key not in seen:
                seen.add(key)
                questions.append(Question(key, f"家庭情况：{node['text']}？", "boolean"))
    return questions


def check_answers(
    answers: dict[str, Any], *, today: dt.date | None = None
) -> list[tuple[PolicyCard, Outcome]]:
    """Every resident policy in force against ANSWERS (validated by the caller against
    check_questions); what was not answered is unknown, never "no". Nothing is stored."""
    today = today or timezone.localdate()
    policies = [(p, d) for p, d in current_policies(subject="resident") if d.in_force(today)]
    if not policies:
        return []
    codes = set().union(*(elements_used(d.eligibility) for _, d in policies))
    infos = {code: element_info(el) for code, el in element_definitions(codes).items()}
    facts: dict[str, Any] = {code: answers.get(code) for code in codes}
    facts[HOUSEHOLD_ANSWERS] = {k: v for k, v in answers.items() if k.startswith("household.")}
    age = answers.get(AGE)
    for code in set().union(*(_age_elements(d.eligibility) for _, d in policies)):
        facts[code] = None if age is None else born_by(age, today)
    online = _online_items({d.item for _, d in policies if d.item})
    results = [
        (_card(p, d, online), evaluate(d.eligibility, facts, infos, today, told_age=True))
        for p, d in policies
    ]
    return sorted(results, key=lambda r: (not r[1].holds, r[1].unknown is False, r[0].code))


def parse_check_answers(raw: dict[str, Any], questions: list[Question]) -> dict[str, Any]:
    """Answers as the form or the API sends them ("" or absent: 不确定) to typed facts; a
    value that is not one of the question's is refused, naming the question."""
    known = {q.code: q for q in questions}
    problems = [
        {"field": code, "message": "没有这个问题"} for code in sorted(set(raw) - set(known))
    ]
    answers: dict[str, Any] = {}
    for code, question in known.items():
        value = raw.get(code)
        if value is None or value == "":
            continue
        if question.kind == "age":
            text = str(value).strip()
            if not text.isdigit() or not 0 <= int(text) <= 150:
                problems.append({"field": code, "message": "年龄应为 0 至 150 的整数"})
                continue
            answers[code] = int(text)
        elif question.kind == "boolean":
            if value not in ("yes", "no", True, False):
                problems.append({"field": code, "message": "请选择“是”“否”或“不确定”"})
                continue
            answers[code] = value in ("yes", True)
        elif str(value) in dict(question.choices):
            answers[code] = str(value)
        else:
            problems.append({"field": code, "message": "不是可选的值"})
    if problems:
        raise InvalidInput("部分回答无法识别，请检查后重试。", details=problems)
    return answers


# ---------------------------------------------------------------- staff

# Posts that decide a review of lost eligibility in the policy's department.
REVIEW_ROLES = {"department_lead", "reviewer"}


def staff_policy_departments(user) -> tuple[set[int], bool]:
    """The departments whose policies USER may see (any post there), and whether they see
    every department's (城市运营)."""
    from tongban.accounts.models import StaffAssignment

    posts = list(StaffAssignment.objects.filter(user=user).values_list("department_id", "role"))
    return {d for d, _ in posts}, any(r == "city_operator" for _, r in posts)


def policy_figures_for(user) -> list[dict[str, Any]]:
    """政策兑现情况 for the policies USER may see: aggregates only, no person."""
    from django.db.models import Count, Q

    departments, everywhere = staff_policy_departments(user)
    if not departments and not everywhere:
        return []
    rows = Policy.objects.filter(is_active=True).select_related("department").order_by("code")
    if not everywhere:
        rows = rows.filter(department_id__in=departments)
    rows = rows.annotate(
        eligible=Count("matches", filter=Q(matches__ended_at__isnull=True), distinct=True),
        told=Count(
            "matches",
            filter=Q(matches__ended_at__isnull=True, matches__told=True),
            distinct=True,
        ),
        pending=Count(
            "matches",
            filter=Q(matches__review__status="pending"),
            distinct=True,
        ),
    )
    grants = {
        (code, status): n
        for code, status, n in PolicyGrant.objects.values_list("policy__code", "status")
        .annotate(n=Count("profile", distinct=True))
        .values_list("policy__code", "status", "n")
    }
    applied = _applied_counts([p for p in rows])
    return [
        {
            "code": p.code,
            "name": p.name,
            "mode_label": Policy.Mode(p.mode).label,
            "department_name": p.department.name,
            "eligible": p.eligible,
            "told": p.told,
            "applied": applied.get(p.code, 0),
            "granted": grants.get((p.code, "granted"), 0),
            "declined": grants.get((p.code, "declined"), 0),
            "pending_reviews": p.pending,
        }
        for p in rows
    ]


def _applications_after_found(item: str):
    """The cases of ITEM that the holder of the outer PolicyMatch filed after being found (not
    the one the platform concluded for a 免申即享 grant: nobody applied for that)."""
    from django.db.models import OuterRef, Q

    from tongban.cases.models import Application, Channel

    return (
        Application.objects.filter(kind="item", code=item, submitted_at__gte=OuterRef("since"))
        .exclude(channel=Channel.AUTOMATIC)
        .filter(
            Q(applicant_profile_id=OuterRef("profile_id"), applicant_profile__isnull=False)
            | Q(enterprise_id=OuterRef("enterprise_id"), enterprise__isnull=False)
        )
    )


def _applied_counts(policies: list[Policy]) -> dict[str, int]:
    """申请 per policy: those it found (match open or since ended) who then applied through
    its item, counted once each. 免申即享 policies without an item have none."""
    from django.db.models import Exists

    from tongban.policies.models import PolicyMatch

    items = {p.code: d.item for p, d in current_policies() if d.item}
    counts = {}
    for policy in policies:
        item = items.get(policy.code)
        if not item:
            continue
        found = PolicyMatch.objects.filter(policy=policy).filter(
            Exists(_applications_after_found(item))
        )
        counts[policy.code] = found.count()
    return counts


def pending_reviews_for(user) -> list:
    """Reviews of lost eligibility USER may decide: pending, in a department where they hold
    a deciding post. The rows carry the ids only; who the person is is read through
    resident_profile_for_work, which logs it."""
    from tongban.accounts.models import StaffAssignment
    from tongban.policies.models import EligibilityReview

    departments = set(
        StaffAssignment.objects.filter(user=user, role__in=REVIEW_ROLES).values_list(
            "department_id", flat=True
        )
    )
    return list(
        EligibilityReview.objects.filter(
            status=EligibilityReview.Status.PENDING,
            match__policy__department_id__in=departments,
        )
        .select_related("match__policy__department", "match__profile", "match__enterprise")
        .order_by("created_at", "id")
    )


def may_open_policies(user) -> bool:
    """Whether 政策兑现 has anything for USER: a post in a department with a policy, or 城市运营."""
    departments, everywhere = staff_policy_departments(user)
    return (
        everywhere or Policy.objects.filter(is_active=True, department_id__in=departments).exists()
    )


def matching_uses(*, today: dt.date | None = None) -> dict[str, Any]:
    """What 政策找人 reads of every resident's 一人一档, under which legal basis, and when it
    last ran — for 我的数据使用记录. The same for everyone: the whole population is compared,
    so one line per policy says more than a row per person per day."""
    today = today or timezone.localdate()
    policies = [d for _, d in current_policies(subject="resident") if d.in_force(today)]
    codes = set().union(*(elements_used(d.eligibility) for d in policies)) if policies else set()
    labels = {code: el.label for code, el in element_definitions(codes).items()}
    last = (
        PolicyRun.objects.filter(status=PolicyRun.Status.DONE)
        .filter(engine__in=("polars", "sql"))
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return {
        "last_run": last,
        "uses": [
            {
                "policy": d.name,
                "code": d.code,
                "basis": f"{d.legal_basis.document}{d.legal_basis.article}",
                "fields": [labels[c] for c in sorted(elements_used(d.eligibility)) if c in labels],
            }
            for d in policies
        ],
    }


BREAKDOWN_MEASURES = ("eligible", "told", "applied", "granted", "declined")


def policy_breakdown_for(user, code: str) -> dict[str, Any] | None:
    """One policy's figures — found eligible, told, applied (after being found), granted
    (免申即享) and declined — by 户籍区 (enterprises: 登记区) and by month, for staff who may
    see the policy (a post in its department, or 城市运营); None for anyone else. Aggregates
    only. By district the figures are today's (eligible: open matches); by month, what
    happened in that month."""
    from collections import Counter

    from django.db.models import Count, Exists, Subquery
    from django.db.models.functions import TruncMonth

    from tongban.accounts.models import District
    from tongban.policies.models import PolicyMatch

    departments, everywhere = staff_policy_departments(user)
    policy = Policy.objects.filter(code=code, is_active=True).select_related("department").first()
    if policy is None or not (everywhere or policy.department_id in departments):
        return None
    item = next((d.item for p, d in current_policies() if p.code == code), "")
    matches = PolicyMatch.objects.filter(policy=policy)
    open_matches = matches.filter(ended_at__isnull=True)
    grants = PolicyGrant.objects.filter(policy=policy, status=PolicyGrant.Status.GRANTED)
    labels = dict(District.choices)
    # Residents by 户籍区; enterprises by 登记区.
    field = "enterprise__district" if policy.subject == "enterprise" else "profile__hukou_district"
    holder = "enterprise" if policy.subject == "enterprise" else "profile"
    missing = "未登记" if policy.subject == "enterprise" else "未登记户籍区"

    def grouped(rows, key, counted="id") -> dict:
        distinct = counted != "id"
        found = rows.values_list(key).annotate(n=Count(counted, distinct=distinct))
        return {k: n for k, n in found.values_list(key, "n")}

    applied = matches.none()
    if item:
        applied = matches.filter(Exists(_applications_after_found(item)))
    districts = {
        "eligible": grouped(open_matches, field),
        "told": grouped(open_matches.filter(told=True), field),
        "applied": grouped(applied, field),
        "granted": grouped(grants, field, holder),
        "declined": grouped(matches.filter(declined_at__isnull=False), field),
    }
    by_district = [
        {"district": labels.get(d, missing) if d else missing}
        | {m: districts[m].get(d, 0) for m in BREAKDOWN_MEASURES}
        for d in sorted(set().union(*districts.values()), key=lambda d: d or "")
    ]

    def monthly(rows, moment) -> dict[str, int]:
        found = grouped(rows.annotate(month=TruncMonth(moment)), "month")
        return {m.strftime("%Y-%m"): n for m, n in found.items() if m}

    first_applied = matches.none()
    if item:
        first = _applications_after_found(item).order_by("submitted_at").values("submitted_at")
        first_applied = matches.annotate(first=Subquery(first[:1])).filter(first__isnull=False)
    months = {
        "eligible": monthly(matches, "since"),
        "told": monthly(matches.filter(told_at__isnull=False), "told_at"),
        "applied": monthly(first_applied, "first"),
        # A monthly benefit counts in the month it is for; a yearly or one-off one when made.
        "granted": dict(
            Counter(monthly(grants.exclude(period__regex=r"^\d{4}-\d{2}$"), "granted_at"))
            + Counter(grouped(grants.filter(period__regex=r"^\d{4}-\d{2}$"), "period"))
        ),
        "declined": monthly(matches.filter(declined_at__isnull=False), "declined_at"),
    }
    return {
        "code": policy.code,
        "name": policy.name,
        "department_name": policy.department.name,
        "subject": policy.subject,
        "mode": policy.mode,
        "district_label": "登记区" if policy.subject == "enterprise" else "户籍区",
        "district_heading": (
            "按登记区：当前企业数" if policy.subject == "enterprise" else "按户籍区：当前人数"
        ),
        "by_district": by_district,
        "by_month": [
            {"month": f"{m[:4]}年{int(m[5:])}月"}
            | {k: months[k].get(m, 0) for k in BREAKDOWN_MEASURES}
            for m in sorted(set().union(*months.values()))
        ],
    }


# ---------------------------------------------------------------- 专项资金


@dataclass(frozen=True)
class FundRoundState:
    """A 专项资金 round as pages show it: its definition, where it stands, and its row (None
    until the department first scores or publishes)."""

    policy: Policy
    definition: PolicyDef
    round: Any  # FundRoundDef
    state: Any  # FundRound | None
    status: str
    status_label: str


FUND_STATUS = {
    "upcoming": "未开始",
    "open": "申报中",
    "scoring": "评审中",
    "publicised": "结果公示中",
    "publicity_over": "公示期满，待下达",
    "granted": "资助已下达",
}


def _fund_status(rdef, state, today: dt.date) -> str:
    if state is not None and state.granted_at:
        return "granted"
    if state is not None and state.published_at:
        return "publicised" if today <= state.objection_until else "publicity_over"
    if today < rdef.opens:
        return "upcoming"
    return "open" if today <= rdef.closes else "scoring"


def fund_rounds_of(policy: Policy, definition: PolicyDef, today: dt.date | None = None):
    from tongban.policies.models import FundRound

    today = today or timezone.localdate()
    states = {r.code: r for r in FundRound.objects.filter(policy=policy)}
    found = []
    for rdef in definition.fund_rounds:
        state = states.get(rdef.code)
        status = _fund_status(rdef, state, today)
        found.append(FundRoundState(policy, definition, rdef, state, status, FUND_STATUS[status]))
    return found


def fund_round(code: str, round_code: str, today: dt.date | None = None) -> FundRoundState:
    """One round of a 专项资金 policy in force, or PolicyNotFound."""
    for policy, definition in current_policies(subject="enterprise"):
        if policy.code == code and definition.fund_round(round_code) is not None:
            for found in fund_rounds_of(policy, definition, today):
                if found.round.code == round_code:
                    return found
    raise PolicyNotFound()


def fund_applications(found: FundRoundState) -> list:
    """The round's applications: cases of the policy's item filed for an enterprise within the
    round's dates (withdrawn ones excluded), each with its score if it has one."""
    from tongban.cases.models import Application

    start = dt.datetime.combine(
        found.round.opens, dt.time.min, tzinfo=timezone.get_current_timezone()
    )
    end = dt.datetime.combine(
        found.round.closes + dt.timedelta(days=1),
        dt.time.min,
        tzinfo=timezone.get_current_timezone(),
    )
    return list(
        Application.objects.filter(
            kind="item",
            code=found.definition.item,
            enterprise__isnull=False,
            submitted_at__gte=start,
            submitted_at__lt=end,
        )
        .exclude(status="refused")
        .select_related("enterprise", "fund_score")
        .order_by("submitted_at", "id")
    )


def fund_results(found: FundRoundState) -> list:
    """The published results (公示): every scored application, awarded ones first. Empty until
    the department publishes."""
    from tongban.policies.models import FundScore

    if found.state is None or found.state.published_at is None:
        return []
    scores = FundScore.objects.filter(round=found.state).select_related("enterprise")
    return sorted(scores, key=lambda s: (not s.awarded, -s.score, s.enterprise.name))


def payments_overview(user, policy: Policy, definition: PolicyDef) -> dict[str, Any] | None:
    """待遇发放 on the owner's page, for the department's lead: each period's amounts waiting
    to be paid, and the payment files made so far. None where the policy pays nothing or
    USER may not pay it."""
    from django.db.models import Count, Sum

    if definition.conclude is None or not definition.conclude.pays_to:
        return None
    if not may_decide_funds(user, policy):
        return None
    waiting = (
        PolicyGrant.objects.filter(
            policy=policy, status=PolicyGrant.Status.GRANTED, batch__isnull=True, amount__gt=0
        )
        .values("period")
        .annotate(count=Count("id"), total=Sum("amount"))
        .order_by("-period")
    )
    return {
        "pays_to": definition.conclude.pays_to,
        "waiting": [
            {
                "period": w["period"],
                "period_label": _period_label(w["period"]) or "一次性",
                "count": w["count"],
                "total": w["total"],
                "total_label": f"{w['total']:,.2f}",
            }
            for w in waiting
        ],
        "batches": [
            {
                "number": b.number,
                "period": b.period,
                "total": b.total,
                "period_label": _period_label(b.period) or "一次性",
                "count": b.count,
                "total_label": b.total_label,
                "created_at": b.created_at,
                "paid_at": b.paid_at,
            }
            for b in PaymentBatch.objects.filter(policy=policy)[:60]
        ],
    }


def may_score_funds(user, policy: Policy) -> bool:
    from tongban.accounts.models import StaffAssignment

    return StaffAssignment.objects.filter(
        user=user, department_id=policy.department_id, role__in=REVIEW_ROLES
    ).exists()


def may_decide_funds(user, policy: Policy) -> bool:
    from tongban.accounts.models import StaffAssignment

    return StaffAssignment.objects.filter(
        user=user, department_id=policy.department_id, role="department_lead"
    ).exists()


def may_preview_policy(user, policy: Policy) -> bool:
    """变更预览 is for the policy's owners: a deciding post in its department."""
    return may_score_funds(user, policy)


def policy_for_preview(user, code: str) -> Policy | None:
    """The active policy CODE if USER may preview changes to it, else None."""
    policy = Policy.objects.filter(code=code, is_active=True).select_related("current").first()
    return policy if policy is not None and may_preview_policy(user, policy) else None


def policy_source_text(policy: Policy) -> str:
    """The version in force as YAML, to start a new version from."""
    import yaml

    def pruned(value):  # what is left at its default is left out, as an author writes it
        if isinstance(value, dict):
            return {k: pruned(v) for k, v in value.items() if v not in (None, [], {})}
        if isinstance(value, list):
            return [pruned(v) for v in value]
        return value

    content = pruned(policy.current.content)
    return yaml.safe_dump(content, allow_unicode=True, sort_keys=False, width=100)
