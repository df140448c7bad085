"""政策找人 over the whole population: the batch run, its matches, 免申即享 grants, notices
and reviews of lost eligibility. Every write is here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from tongban.accounts.models import Enterprise, EnterpriseMembership, ResidentProfile, User
from tongban.accounts.selectors import live_memberships
from tongban.common.calendar import chinese_date
from tongban.common.errors import InvalidInput
from tongban.common.fields import EncryptedTextField
from tongban.common.models import AuditEvent
from tongban.common.services import actor_label_for, audit_record
from tongban.notifications.models import Notice
from tongban.notifications.services import notice_send
from tongban.policies.compile import (
    HOUSEHOLD_KEY,
    Column,
    NotCompilable,
    eligible_ids,
    to_polars,
    to_sql_query,
)
from tongban.policies.models import (
    EligibilityReview,
    PaymentBatch,
    Policy,
    PolicyGrant,
    PolicyMatch,
    PolicyRun,
)
from tongban.policies.rules import (
    ElementInfo,
    elements_used,
    evaluate,
    formula_elements,
    formula_uses_household,
    formula_value,
    uses_household,
)
from tongban.policies.schemas import PolicyDef
from tongban.policies.selectors import (
    amount_of,
    current_definition,
    current_policies,
    needs,
    profile_fields_of,
    subject_facts,
)

NOTICE_CATEGORIES = (
    "policy_eligible",
    "policy_granted",
    "policy_eligible_enterprise",
    "policy_granted_enterprise",
)
DEFAULT_PUSHES_PER_WEEK = 3
BATCH_ENGINES = ("polars", "sql")  # PolicyRun.engine of a whole-population run


def pushes_per_week() -> int:
    return int(getattr(settings, "TONGBAN_POLICY_PUSHES_PER_WEEK", DEFAULT_PUSHES_PER_WEEK))


# ---------------------------------------------------------------- the population table


@dataclass(frozen=True)
class Subject:
    """Who a policy is for, and where matching reads them: residents from 一人一档, enterprises
    from 一企一档. FK is the field of PolicyMatch and PolicyGrant that names them."""

    name: str
    model: type[models.Model]
    fk: str

    @property
    def fk_id(self) -> str:
        return f"{self.fk}_id"


RESIDENTS = Subject("resident", ResidentProfile, "profile")
ENTERPRISES = Subject("enterprise", Enterprise, "enterprise")
SUBJECTS = {s.name: s for s in (RESIDENTS, ENTERPRISES)}

_POLARS_TYPES: dict[type, pl.DataType] = {
    models.DateField: pl.Date(),
    models.BooleanField: pl.Boolean(),
    models.PositiveSmallIntegerField: pl.Int64(),
    models.SmallIntegerField: pl.Int64(),
    models.IntegerField: pl.Int64(),
    models.BigIntegerField: pl.Int64(),
    models.DecimalField: pl.Float64(),
    models.ForeignKey: pl.Int64(),  # the household key
    models.CharField: pl.String(),
}


def _column(field_name: str, info: ElementInfo, subject: Subject = RESIDENTS) -> Column | None:
    """Where a record's field sits in the population table, or None for a field that cannot
    be compared in bulk (encrypted, or of a type the frame does not hold)."""
    field = subject.model._meta.get_field(field_name)
    if isinstance(field, EncryptedTextField) or not isinstance(field, tuple(_POLARS_TYPES)):
        return None
    as_text = isinstance(field, models.IntegerField) and info.type in ("choice", "district", "text")
    return Column(field.column, info, as_text=as_text)


def population_columns(codes: Iterable[str], subject: Subject = RESIDENTS) -> dict[str, Column]:
    """The columns of 一人一档 (or 一企一档) that hold these elements, through each element's
    prefill. Encrypted fields are left out: they cannot be compared in bulk, and a rule that
    needs one is refused for that policy."""
    fields, infos = profile_fields_of(set(codes), subject.name)
    found = {code: _column(name, infos[code], subject) for code, name in fields.items()}
    return {code: column for code, column in found.items() if column is not None}


def _polars_type(column_name: str, subject: Subject) -> pl.DataType:
    for field in subject.model._meta.concrete_fields:
        if field.column == column_name:
            for kind, polars_type in _POLARS_TYPES.items():
                if isinstance(field, kind):
                    return polars_type
    raise KeyError(column_name)


def population_frame(columns: dict[str, Column], subject: Subject = RESIDENTS) -> pl.DataFrame:
    """Every resident's (enterprise's) id and the columns the rules read, as one frame; for
    residents also the household key, which household conditions group by."""
    names = sorted({c.name for c in columns.values()})
    if subject is RESIDENTS and HOUSEHOLD_KEY not in names:
        names.append(HOUSEHOLD_KEY)
    attnames = {f.column: f.attname for f in subject.model._meta.concrete_fields}
    rows = subject.model.objects.values_list("id", *(attnames[n] for n in names))
    schema = {"id": pl.Int64(), **{n: _polars_type(n, subject) for n in names}}
    decimals = [i + 1 for i, n in enumerate(names) if schema[n] == pl.Float64()]
    data = rows.iterator(chunk_size=20_000)
    if decimals:  # Decimal → float, which the frame holds
        data = (_floats(row, decimals) for row in data)
    return pl.DataFrame(list(data), schema=schema, orient="row")


def _floats(row: tuple, positions: list[int]) -> tuple:
    row = list(row)
    for i in positions:
        if row[i] is not None:
            row[i] = float(row[i])
    return tuple(row)


def _eligible_sql(definition: PolicyDef, columns, today, subject: Subject = RESIDENTS) -> set[int]:
    table = subject.model._meta.db_table
    query, params = to_sql_query(definition.eligibility, columns, today, table)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {row[0] for row in cursor.fetchall()}


# ---------------------------------------------------------------- the run


@dataclass
class PolicyOutcome:
    eligible: int = 0
    new: int = 0
    ended: int = 0
    reviews: int = 0
    granted: int = 0
    told: int = 0
    error: str = ""


def _period(definition: PolicyDef, today: dt.date) -> str:
    if definition.benefit.period == "monthly":
        return today.strftime("%Y-%m")
    if definition.benefit.period == "yearly":
        return today.strftime("%Y")
    return "once"


def policy_match_run(
    *,
    today: dt.date | None = None,
    engine: str = "polars",
    triggered_by: str = "system",
    progress: Callable[[str], None] | None = None,
) -> PolicyRun:
    """Evaluate every policy in force over every resident and every enterprise, and bring
    matches, grants, notices and reviews in line with the result, one policy at a time (each
    in its own transaction, so a run that dies keeps what it finished and a rerun finishes the
    rest without duplicates). A policy whose rule cannot be evaluated is reported in the run's
    counts and skipped; the others go on."""
    if engine not in ("polars", "sql"):
        raise ValueError(engine)
    today = today or timezone.localdate()
    run = PolicyRun.objects.create(
        started_at=timezone.now(), evaluated_on=today, engine=engine, triggered_by=triggered_by[:60]
    )
    counts: dict[str, dict] = {}
    for subject in (RESIDENTS, ENTERPRISES):
        policies = [(p, d) for p, d in current_policies(subject=subject.name) if d.in_force(today)]
        if not policies:
            continue
        codes, _ = needs(policies)
        columns = population_columns(codes, subject)
        found: dict[str, Any] = {}
        if engine == "polars":
            # Every rule compiled, then all evaluated in one pass over the frame.
            frame = population_frame(columns, subject)
            expressions = {}
            for _, definition in policies:
                try:
                    expressions[definition.code] = to_polars(definition.eligibility, columns, today)
                except NotCompilable as exc:
                    found[definition.code] = exc
            found |= eligible_ids(frame, expressions)
            del frame
        for policy, definition in policies:
            outcome = PolicyOutcome()
            try:
                eligible = found.get(definition.code)
                if engine == "sql":
                    eligible = _eligible_sql(definition, columns, today, subject)
                if isinstance(eligible, Exception):
                    raise eligible
            except (NotCompilable, pl.exceptions.PolarsError) as exc:
                outcome.error = str(exc)[:200]
            else:
                _apply(run, policy, definition, eligible, today, outcome, subject=subject)
            counts[policy.code] = outcome.__dict__
            if progress:
                progress(policy.code)
    run.counts = counts
    run.finished_at = timezone.now()
    run.status = PolicyRun.Status.DONE
    run.save(update_fields=["counts", "finished_at", "status"])
    return run


def _apply(
    run: PolicyRun,
    policy: Policy,
    definition: PolicyDef,
    eligible: set[int],
    today: dt.date,
    outcome: PolicyOutcome,
    scope: set[int] | None = None,
    subject: Subject = RESIDENTS,
) -> None:
    """Bring POLICY's matches in line with ELIGIBLE (ids of SUBJECT's records): for everyone,
    or only for those in SCOPE (one person or enterprise re-evaluated)."""
    now = timezone.now()
    automatic = definition.mode == "automatic"
    fk_id = subject.fk_id
    with transaction.atomic():
        current = PolicyMatch.objects.filter(policy=policy, ended_at__isnull=True)
        current = current.filter(**{f"{fk_id}__isnull": False})
        if scope is not None:
            current = current.filter(**{f"{fk_id}__in": scope})
        open_matches = dict(current.values_list(fk_id, "id"))
        new = eligible - set(open_matches)
        gone = set(open_matches) - eligible
        PolicyMatch.objects.bulk_create(
            [
                PolicyMatch(
                    policy=policy,
                    version_id=policy.current_id,
                    since=now,
                    found_by=run,
                    **{fk_id: record_id},
                )
                for record_id in sorted(new)
            ],
            batch_size=2000,
            ignore_conflicts=True,  # a run overlapping this one found them first
        )
        if automatic:
            outcome.reviews = _queue_reviews(definition, gone, open_matches, today, now, subject)
            outcome.granted = _grant(run, policy, definition, today, now, scope, subject)
        elif gone:
            outcome.ended = PolicyMatch.objects.filter(
                id__in=[open_matches[p] for p in gone]
            ).update(ended_at=now, ended_by=run)
        if definition.mode != "on_application":  # 依申请: listed and checkable, never pushed
            outcome.told = _tell(policy, definition, now, scope, subject)
        _record_matching_use(run, policy, definition, subject, new, gone, open_matches, now)
        outcome.eligible = len(eligible)
        outcome.new = len(new)
        changed = outcome.new or outcome.ended or outcome.reviews or outcome.granted
        if scope is not None and not changed:
            return  # one record re-evaluated and nothing changed: nothing to record
        person = min(scope) if scope and subject is RESIDENTS else None
        audit_record(
            actor_label=run.triggered_by,
            action="policies.match",
            object_type="policy",
            object_id=policy.code,
            purpose="政策找人" if subject is RESIDENTS else "惠企政策匹配",
            subject_resident_id=person,
            data={
                "run": run.pk,
                **outcome.__dict__,
                **({"enterprise": min(scope)} if scope and subject is ENTERPRISES else {}),
            },
        )


MATCHING_USE_ACTIONS = {"resident": "personal_data.match", "enterprise": "enterprise_data.match"}


def _record_matching_use(run, policy, definition, subject, new, gone, open_matches, now) -> None:
    """我的/企业数据使用记录 for 政策找人: one row per person (or enterprise) whose match this
    comparison created, ended or sent to review, naming the policy, the elements it read and
    its legal basis. Not one per record compared: that is the whole population every day
    (25 million rows a run for the city) and tells no one anything the page's standing notice
    (selectors.matching_uses) does not; the changed ones number the new and ended matches,
    which the run writes anyway."""
    changed = dict.fromkeys(sorted(new), "new")
    if gone and definition.mode == "automatic":
        # The benefit goes on until a person decides; recorded when the review is queued,
        # not again on every run while it waits.
        queued = EligibilityReview.objects.filter(
            match_id__in=[open_matches[r] for r in gone], created_at=now
        ).values_list(f"match__{subject.fk}", flat=True)
        changed |= dict.fromkeys(sorted(queued), "review")
    elif gone:
        changed |= dict.fromkeys(sorted(gone), "ended")
    if not changed:
        return
    department = policy.department.name
    what = "政策找人" if subject is RESIDENTS else "惠企政策匹配"
    basis = f"{definition.legal_basis.document}{definition.legal_basis.article}"
    fields = sorted(elements_used(definition.eligibility))
    key = "subject_resident_id" if subject is RESIDENTS else "subject_enterprise_id"
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_label=run.triggered_by,
                action=MATCHING_USE_ACTIONS[subject.name],
                object_type="policy",
                object_id=policy.code,
                purpose=f"{what}：{policy.name}",
                data={
                    "channel": "matching",
                    "fields": fields,
                    "legal_basis": basis,
                    "post": f"{department}（{what}系统比对）",
                    "policy": policy.code,
                    "run": run.pk,
                    "change": change,
                },
                **{key: record_id},
            )
            for record_id, change in changed.items()
        ],
        batch_size=2000,
    )


def _queue_reviews(definition, gone, open_matches, today, now, subject=RESIDENTS) -> int:
    """Who gets an ongoing benefit but no longer qualifies: a person decides, with the reason
    in front of them. Their match stays open (the benefit goes on) until then."""
    if not gone:
        return 0
    already = set(
        EligibilityReview.objects.filter(match_id__in=[open_matches[p] for p in gone]).values_list(
            "match_id", flat=True
        )
    )
    codes = elements_used(definition.eligibility)
    household = uses_household(definition.eligibility)
    reviews = []
    for record in subject.model.objects.filter(pk__in=gone):
        match_id = open_matches[record.pk]
        if match_id in already:
            continue
        facts, infos = subject_facts(record, codes, subject.name, household)
        reason = evaluate(definition.eligibility, facts, infos, today).explanation
        reviews.append(EligibilityReview(match_id=match_id, reason=reason[:200], created_at=now))
    EligibilityReview.objects.bulk_create(reviews, ignore_conflicts=True)
    return len(reviews)


def _amounts(
    definition: PolicyDef, ids: list[int], subject: Subject, today: dt.date
) -> dict[int, Decimal | None]:
    """Each grant's amount: the benefit's fixed sum, or its formula over each one's data."""
    formula = definition.benefit.formula
    if formula is None:
        fixed = amount_of(definition, {})
        return dict.fromkeys(ids, fixed)
    codes = formula_elements(formula)
    found: dict[int, Decimal | None] = dict.fromkeys(ids)
    if formula_uses_household(formula):
        # Over the household's members: each holder's facts with their household's.
        for start in range(0, len(ids), 2000):
            for record in subject.model.objects.filter(pk__in=ids[start : start + 2000]):
                facts, infos = subject_facts(record, codes, subject.name, True)
                found[record.pk] = formula_value(formula, facts, infos, today)
        return found
    fields, _ = profile_fields_of(codes, subject.name)
    names = [fields[c] for c in sorted(fields)]
    for start in range(0, len(ids), 5000):
        rows = subject.model.objects.filter(pk__in=ids[start : start + 5000])
        for row in rows.values_list("id", *names):
            facts = dict(zip(sorted(fields), row[1:], strict=True))
            found[row[0]] = formula_value(formula, facts)
    return found


def _grant(run, policy, definition, today, now, scope=None, subject=RESIDENTS) -> int:
    """This period's grant for everyone with an open match, except who declined it."""
    period = _period(definition, today)
    fk_id = subject.fk_id
    holding = PolicyMatch.objects.filter(
        policy=policy, ended_at__isnull=True, **{f"{fk_id}__isnull": False}
    ).exclude(review__status=EligibilityReview.Status.STOPPED)
    holding = holding.filter(declined_at__isnull=True)
    if scope is not None:
        holding = holding.filter(**{f"{fk_id}__in": scope})
    holders = set(holding.values_list(fk_id, flat=True))
    grants = PolicyGrant.objects.filter(policy=policy, **{f"{fk_id}__isnull": False})
    have = set(grants.filter(period=period).values_list(fk_id, flat=True))
    declined = set(grants.filter(status=PolicyGrant.Status.DECLINED).values_list(fk_id, flat=True))
    todo = sorted(holders - have - declined)
    amounts = _amounts(definition, todo, subject, today)
    PolicyGrant.objects.bulk_create(
        [
            PolicyGrant(
                policy=policy,
                version_id=policy.current_id,
                period=period,
                amount=amounts[record_id],
                granted_at=now,
                granted_by=run,
                **{fk_id: record_id},
            )
            for record_id in todo
        ],
        batch_size=2000,
        ignore_conflicts=True,
    )
    if definition.conclude is not None:
        _conclude(run, policy, definition, subject, scope)
    return len(todo)


# A day has a million receipt numbers (YYMMDD + six random digits): a policy's first run over
# a city concludes at most this many cases, and the next days' runs conclude the rest.
AUTOMATIC_CASES_PER_RUN = 100_000


def _conclude(run, policy: Policy, definition: PolicyDef, subject, scope=None) -> None:
    """免申即享 自动办结: every holder granted without a case yet (granted now, or left by a
    run that reached its day's share) gets the policy's item concluded as a case — once: a
    monthly benefit's later grants point to the first one's case."""
    from tongban.cases.services.granted import GrantedSubject, cases_conclude_granted

    fk_id = subject.fk_id
    prefix = "p" if subject is RESIDENTS else "e"
    basis = definition.legal_basis
    reason = (
        f"依据《{basis.document}》{basis.article}，经数据比对符合条件，免申即享，由系统自动核定办结"
    )
    open_grants = PolicyGrant.objects.filter(
        policy=policy, case__isnull=True, status=PolicyGrant.Status.GRANTED
    ).filter(**{f"{fk_id}__isnull": False})
    if scope is not None:
        open_grants = open_grants.filter(**{f"{fk_id}__in": scope})
    ids = sorted(set(open_grants.values_list(fk_id, flat=True)))[:AUTOMATIC_CASES_PER_RUN]
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        grants = PolicyGrant.objects.filter(policy=policy, **{f"{fk_id}__in": chunk})
        cases = dict(grants.filter(case__isnull=False).values_list(fk_id, "case_id"))
        records = subject.model.objects.in_bulk([i for i in chunk if i not in cases])
        made = cases_conclude_granted(
            item_code=definition.item,
            subjects=[
                GrantedSubject(
                    key=f"policy:{policy.code}:{prefix}{i}",
                    **({"profile": r} if subject is RESIDENTS else {"enterprise": r}),
                )
                for i, r in sorted(records.items())
            ],
            reason=reason,
            actor_label=run.triggered_by,
        )
        for key, case in made.items():
            cases[int(key.rsplit(":", 1)[1][1:])] = case.pk
        waiting = list(grants.filter(case__isnull=True))
        for grant in waiting:
            grant.case_id = cases[getattr(grant, fk_id)]
        PolicyGrant.objects.bulk_update(waiting, ["case"], batch_size=2000)


def _recipients(matches: list[tuple[int, int]], subject: Subject) -> dict[int, list[int]]:
    """Who is told of each match (match id → user ids): the person with an account, or every
    member of the enterprise (法定代表人, 管理员, 经办人)."""
    if subject is RESIDENTS:
        users = dict(
            ResidentProfile.objects.filter(
                pk__in=[r for _, r in matches], user__isnull=False
            ).values_list("id", "user_id")
        )
        return {m: [users[r]] for m, r in matches if r in users}
    members: dict[int, list[int]] = {}
    for enterprise_id, user_id in (
        live_memberships()
        .filter(enterprise_id__in=[r for _, r in matches])
        .values_list("enterprise_id", "user_id")
    ):
        members.setdefault(enterprise_id, []).append(user_id)
    return {m: sorted(members[r]) for m, r in matches if r in members}


def _tell(policy: Policy, definition: PolicyDef, now, scope=None, subject=RESIDENTS) -> int:
    """Tell the newly found, at most pushes_per_week() policy notices per person per week;
    whoever is over the limit (or has no account yet) is told by a later run."""
    untold = PolicyMatch.objects.filter(
        policy=policy, ended_at__isnull=True, told=False, **{f"{subject.fk_id}__isnull": False}
    )
    if scope is not None:
        untold = untold.filter(**{f"{subject.fk_id}__in": scope})
    waiting = list(untold.values_list("id", subject.fk_id))
    recipients = _recipients(waiting, subject)
    record_of = dict(waiting)
    if not recipients:
        return 0
    everyone = {u for users in recipients.values() for u in users}
    week_ago = now - dt.timedelta(days=7)
    recent: dict[int, int] = {}
    for user_id in Notice.objects.filter(
        recipient_id__in=everyone,
        category__in=NOTICE_CATEGORIES,
        created_at__gte=week_ago,
    ).values_list("recipient_id", flat=True):
        recent[user_id] = recent.get(user_id, 0) + 1
    limit = pushes_per_week()
    template = "policy_granted" if definition.mode == "automatic" else "policy_eligible"
    users = User.objects.in_bulk(everyone)
    names = {}
    if subject is ENTERPRISES:
        names = dict(
            Enterprise.objects.filter(pk__in=set(record_of.values())).values_list("id", "name")
        )
    told = []
    for match_id, user_ids in sorted(recipients.items()):
        ready = [u for u in user_ids if recent.get(u, 0) < limit]
        if not ready:
            continue
        link = f"/policies/{policy.code}/"
        context = {"policy_name": definition.name, "benefit": definition.benefit.text}
        kind = template
        if subject is ENTERPRISES:
            link = f"/enterprise/{record_of[match_id]}/policies/#policy-{policy.code}"
            context["enterprise_name"] = names[record_of[match_id]]
            kind = f"{template}_enterprise"
        for user_id in ready:
            notice_send(recipient=users[user_id], template=kind, context=context, link=link)
            recent[user_id] = recent.get(user_id, 0) + 1
        told.append(match_id)
    PolicyMatch.objects.filter(id__in=told).update(told=True, told_at=now)
    return len(told)


def policy_grant_decline(*, user: User, code: str, enterprise_id: int | None = None) -> int:
    """The person declines a 免申即享 benefit: this period's grant and every later one; with
    ENTERPRISE_ID, the enterprise's, which only its legal representative may decline. A grant
    already in a payment file (发放批次) has been paid out and stays as it was. Returns how
    many grants were declined; nothing left to decline is refused."""
    from tongban.policies.errors import DeclineNeedsLegalRepresentative, NothingToDecline

    now = timezone.now()
    with transaction.atomic():
        grants = PolicyGrant.objects.select_for_update().filter(
            policy__code=code, status=PolicyGrant.Status.GRANTED
        )
        matches = PolicyMatch.objects.filter(
            policy__code=code, ended_at__isnull=True, declined_at__isnull=True
        )
        if enterprise_id is None:
            grants = grants.filter(profile__user=user)
            matches = matches.filter(profile__user=user)
        else:
            membership = live_memberships().filter(user=user, enterprise_id=enterprise_id).first()
            if membership is None:
                raise NothingToDecline()  # not theirs: nothing said of the enterprise
            if membership.role != EnterpriseMembership.Role.LEGAL_REPRESENTATIVE:
                raise DeclineNeedsLegalRepresentative()
            grants = grants.filter(enterprise_id=enterprise_id)
            matches = matches.filter(enterprise_id=enterprise_id)
        if not grants.exists():
            raise NothingToDecline()
        profile_ids = set(grants.values_list("profile_id", flat=True)) - {None}
        declined = grants.filter(batch__isnull=True).update(
            status=PolicyGrant.Status.DECLINED, declined_at=now
        )
        stopped = PolicyMatch.objects.filter(pk__in=list(matches.values_list("pk", flat=True)))
        stopped = stopped.update(declined_at=now)
        if not declined and not stopped:
            raise NothingToDecline()
        audit_record(
            actor=user,
            action="policies.grant_decline",
            object_type="policy",
            object_id=code,
            subject_resident_id=min(profile_ids) if profile_ids else None,
            data={
                "declined": declined,
                "matches": stopped,
                **({"enterprise": enterprise_id} if enterprise_id else {}),
            },
        )
    return declined


def policy_match_person(
    *, profile_id: int, today: dt.date | None = None, triggered_by: str = "system"
) -> PolicyRun | None:
    """政策找人 for one person whose data just changed (a profile update, a concluded case):
    every resident policy evaluated for them alone, with the batch run's effects. Joins the
    caller's transaction, so the matches change with the data that changed them. Returns the
    run, or None when nothing had to change (then nothing is written)."""
    return _match_one(RESIDENTS, profile_id, today, triggered_by)


def policy_match_enterprise(
    *, enterprise_id: int, today: dt.date | None = None, triggered_by: str = "system"
) -> PolicyRun | None:
    """惠企政策 for one enterprise whose data just changed, as policy_match_person."""
    return _match_one(ENTERPRISES, enterprise_id, today, triggered_by)


def _match_one(
    subject: Subject, record_id: int, today: dt.date | None, triggered_by: str
) -> PolicyRun | None:
    today = today or timezone.localdate()
    record = subject.model.objects.get(pk=record_id)
    run: PolicyRun | None = None
    policies = [(p, d) for p, d in current_policies(subject=subject.name) if d.in_force(today)]
    codes, household = needs(policies)
    facts, infos = subject_facts(record, codes, subject.name, household)
    if subject is RESIDENTS:
        reachable = record.user_id is not None
    else:
        reachable = live_memberships().filter(enterprise_id=record_id).exists()
    # What is already recorded for them, in two queries, so that the policies where nothing
    # can change (most of them) cost no query at all.
    mine = {subject.fk_id: record_id}
    settled = dict(
        PolicyMatch.objects.filter(ended_at__isnull=True, **mine).values_list(
            "policy__code", "told"
        )
    )
    granted = set(PolicyGrant.objects.filter(**mine).values_list("policy__code", "period"))
    counts = {}
    for policy, definition in policies:
        outcome = PolicyOutcome()
        holds = evaluate(definition.eligibility, facts, infos, today).holds
        if holds and policy.code in settled:
            told = settled[policy.code] or not reachable or definition.mode == "on_application"
            paid = definition.mode != "automatic" or (
                (policy.code, _period(definition, today)) in granted
            )
            if told and paid:
                continue
        if not holds and policy.code not in settled:
            continue
        eligible = {record_id} if holds else set()
        if run is None:
            run = PolicyRun.objects.create(
                started_at=timezone.now(),
                evaluated_on=today,
                engine="person" if subject is RESIDENTS else "enterprise",
                triggered_by=triggered_by[:60],
            )
        _apply(run, policy, definition, eligible, today, outcome, {record_id}, subject)
        if outcome.new or outcome.ended or outcome.reviews or outcome.granted:
            counts[policy.code] = outcome.__dict__
    if run is not None:
        run.counts = counts
        run.finished_at = timezone.now()
        run.status = PolicyRun.Status.DONE
        run.save(update_fields=["counts", "finished_at", "status"])
    return run


def rematch_after_change(profile: ResidentProfile) -> None:
    """Hook for 一人一档 changes (accounts) and concluded cases (cases). The person's household
    is matched again too: a child's birthday or a spouse's income changes what the others
    qualify for."""
    ids = [profile.pk]
    if profile.household_id is not None:
        members = ResidentProfile.objects.filter(household_id=profile.household_id)
        ids += sorted(members.exclude(pk=profile.pk).values_list("id", flat=True))
    for profile_id in ids:
        policy_match_person(profile_id=profile_id, triggered_by="system:data_changed")


def rematch_enterprise_after_change(enterprise: Enterprise) -> None:
    """Hook for 一企一档 changes (accounts): 惠企政策 matched again for that enterprise."""
    policy_match_enterprise(enterprise_id=enterprise.pk, triggered_by="system:data_changed")


def rematch_after_conclusion(case) -> None:
    """A concluded case may change what its applicant (or the enterprise it was filed for)
    qualifies for: a 低保 granted, a licence issued. Not a case the platform concluded for a
    免申即享 grant: matching made it, and matching the holder again in the middle of a run
    would do the run's work one person at a time."""
    from tongban.cases.models import Channel

    if case.channel == Channel.AUTOMATIC:
        return
    with transaction.atomic():
        if case.applicant_profile_id:
            policy_match_person(
                profile_id=case.applicant_profile_id, triggered_by="system:case_concluded"
            )
        if case.enterprise_id:
            policy_match_enterprise(
                enterprise_id=case.enterprise_id, triggered_by="system:case_concluded"
            )


def daily_match_sweep(now: dt.datetime, today: dt.date) -> dict[str, int]:
    """The schedule's daily run: nothing if a run for TODAY has already finished."""
    # Only a whole-population run counts: one person re-matched today is not one.
    batch = PolicyRun.objects.filter(
        evaluated_on=today, status=PolicyRun.Status.DONE, engine__in=BATCH_ENGINES
    )
    if batch.exists():
        return {"runs": 0}
    run = policy_match_run(today=today, triggered_by="system:schedule")
    return {"runs": 1, "new": sum(c["new"] for c in run.counts.values())}


def eligibility_review_decide(
    *, actor: User, review_id: int, decision: str, note: str = ""
) -> EligibilityReview:
    """资格复核: a deciding post of the policy's department continues the benefit or stops it
    (the match ends; no later period is granted). Anyone else is told it does not exist."""
    from tongban.accounts.models import StaffAssignment
    from tongban.policies.errors import ReviewNotFound
    from tongban.policies.selectors import REVIEW_ROLES

    if decision not in ("continued", "stopped"):
        raise InvalidInput("复核结论只能是继续享受或停止享受", code="REVIEW_DECISION_INVALID")
    note = (note or "").strip()
    if decision == "stopped" and not note:
        raise InvalidInput(
            "停止享受须写明理由，理由会告知本人。",
            code="REVIEW_REASON_REQUIRED",
            details=[{"field": "note", "message": "必填"}],
        )
    if len(note) > 500:
        raise InvalidInput("理由最多500字", details=[{"field": "note", "message": "最多500字"}])
    now = timezone.now()
    with transaction.atomic():
        review = (
            # Only the review's row is locked: its match may name a person or an enterprise
            # (an outer join, which PostgreSQL does not lock).
            EligibilityReview.objects.select_for_update(of=("self",))
            .select_related("match__policy", "match__profile", "match__enterprise")
            .filter(pk=review_id, status=EligibilityReview.Status.PENDING)
            .first()
        )
        allowed = (
            review is not None
            and StaffAssignment.objects.filter(
                user=actor, department_id=review.match.policy.department_id, role__in=REVIEW_ROLES
            ).exists()
        )
        if not allowed:
            raise ReviewNotFound()
        review.status = decision
        review.decided_at = now
        review.decided_by = actor_label_for(actor)
        review.note = note
        review.save(update_fields=["status", "decided_at", "decided_by", "note"])
        match = review.match
        if decision == "stopped":
            match.ended_at = now
            match.save(update_fields=["ended_at"])
            context = {"policy_name": match.policy.name, "reason": note}
            if match.enterprise_id:
                link = f"/enterprise/{match.enterprise_id}/policies/"
                _tell_enterprise(match.enterprise, "policy_stopped", context, link)
            elif match.profile.user_id:
                notice_send(
                    recipient=match.profile.user,
                    template="policy_stopped",
                    context=context,
                    link=f"/policies/{match.policy.code}/",
                )
        audit_record(
            actor=actor,
            action="policies.review_decide",
            object_type="eligibility_review",
            object_id=review.pk,
            subject_resident_id=match.profile_id,
            data={
                "decision": decision,
                "policy": match.policy.code,
                **({"enterprise": match.enterprise_id} if match.enterprise_id else {}),
            },
        )
    return review


# ---------------------------------------------------------------- what-if (变更预览)


def _columns_from(defs, codes: set[str], subject: Subject = RESIDENTS) -> dict[str, Column]:
    """population_columns for definitions not loaded yet (a candidate folder)."""
    from tongban.catalog.loader import element_info
    from tongban.policies.selectors import SOURCES

    columns = {}
    for code in codes:
        element = defs.elements[code].definition
        prefill = next(
            (
                f
                for f in element.prefill
                if f.source == SOURCES[subject.name] and not f.applicant_is
            ),
            None,
        )
        column = prefill and _column(prefill.field, element_info(element), subject)
        if column:
            columns[code] = column
    return columns


def policy_whatif(*, path, today: dt.date | None = None, only: str = "") -> list[dict]:
    """变更预览: for every policy in the definition folder PATH (or only the one coded ONLY)
    whose rules differ from the version in force (or that is new), who would newly qualify
    and who would no longer, in total and by 户籍区 (enterprises: 登记区) — before anything is
    loaded. Reads only."""
    from tongban.catalog.loader import definition_sha256, read_definitions

    today = today or timezone.localdate()
    defs = read_definitions(path)
    current = {p.code: (p, d) for p, d in current_policies()}
    changed: dict[str, list] = {"resident": [], "enterprise": []}
    for code, located in sorted(defs.policies.items()):
        candidate = located.definition
        if only and code != only:
            continue
        before = current.get(code)
        if before is not None and definition_sha256(before[1]) == definition_sha256(candidate):
            continue
        changed[candidate.subject].append((code, candidate, before))
    report = []
    for subject in (RESIDENTS, ENTERPRISES):
        if changed[subject.name]:
            report += _whatif(defs, changed[subject.name], subject, today)
    return sorted(report, key=lambda r: r["code"])


def _whatif(defs, changed: list, subject: Subject, today: dt.date) -> list[dict]:
    codes = set().union(*(elements_used(c.eligibility) for _, c, _ in changed))
    columns = _columns_from(defs, codes, subject)
    # Where everyone is, to say where the change lands.
    field = "hukou_district" if subject is RESIDENTS else "district"
    district = Column(field, ElementInfo("区", "choice", 2))
    frame = population_frame({**columns, "_district": district}, subject)
    districts = dict(zip(frame["id"].to_list(), frame[field].to_list(), strict=True))
    labels = dict(subject.model._meta.get_field(field).choices or [])
    missing = "未登记户籍区" if subject is RESIDENTS else "未登记"
    # The candidates evaluated as a run evaluates them: one query over the frame.
    found = eligible_ids(
        frame,
        {
            code: to_polars(candidate.eligibility, columns, today)
            for code, candidate, _ in changed
            if candidate.in_force(today)
        },
    )
    report = []
    for code, candidate, before in changed:
        after = found.get(code, set())
        if isinstance(after, Exception):
            raise after
        now_matched = set(
            PolicyMatch.objects.filter(policy__code=code, ended_at__isnull=True).values_list(
                subject.fk_id, flat=True
            )
        )
        gained, lost = after - now_matched, now_matched - after
        by_district: dict[str, dict[str, int]] = {}
        for ids, key in ((gained, "gained"), (lost, "lost")):
            for record_id in ids:
                name = labels.get(districts.get(record_id) or "", missing)
                by_district.setdefault(name, {"gained": 0, "lost": 0})[key] += 1
        report.append(
            {
                "code": code,
                "name": candidate.name,
                "subject": subject.name,
                "is_new": before is None,
                "eligible_after": len(after),
                "gained": len(gained),
                "lost": len(lost),
                "by_district": dict(sorted(by_district.items())),
            }
        )
    return report


# ---------------------------------------------------------------- 专项资金


def _fund_round_for_staff(actor: User, code: str, round_code: str, today, *, lead: bool):
    """The round and its state row (created on first use), for staff of the policy's
    department who may act on it (a deciding post; the lead for publishing and granting)."""
    from tongban.policies.errors import FundNotYours
    from tongban.policies.models import FundRound
    from tongban.policies.selectors import fund_round, may_decide_funds, may_score_funds

    found = fund_round(code, round_code, today)
    allowed = may_decide_funds if lead else may_score_funds
    if not allowed(actor, found.policy):
        raise FundNotYours()
    state, _ = FundRound.objects.select_for_update().get_or_create(
        policy=found.policy, code=round_code
    )
    return found, state


def fund_score(
    *,
    actor: User,
    code: str,
    round_code: str,
    application_id: int,
    score: str | int,
    amount: str | int,
    note: str = "",
    today: dt.date | None = None,
):
    """评审: a deciding post of the department scores one application of a closed round and
    proposes an amount (0: not funded). Again before publication replaces the score."""
    from tongban.policies.errors import FundActionRefused
    from tongban.policies.models import FundScore
    from tongban.policies.selectors import fund_applications

    today = today or timezone.localdate()
    problems = []
    try:
        score = int(str(score).strip())
        if not 0 <= score <= 100:
            raise ValueError
    except ValueError:
        problems.append({"field": "score", "message": "评审得分应为 0 至 100 的整数"})
    try:
        amount = Decimal(str(amount).strip() or "x")
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise ArithmeticError
    except ArithmeticError:
        problems.append({"field": "amount", "message": "拟资助金额应为不小于 0 的金额（元）"})
    note = (note or "").strip()
    if len(note) > 300:
        problems.append({"field": "note", "message": "评审意见最多300字"})
    if problems:
        raise InvalidInput("评审结果有误，请检查后重新提交。", details=problems)
    with transaction.atomic():
        found, state = _fund_round_for_staff(actor, code, round_code, today, lead=False)
        if found.status != "scoring":
            raise FundActionRefused("只能在申报截止后、结果公示前评审。")
        if amount > found.round.max_award:
            raise InvalidInput(
                f"单个项目最高资助 {found.round.max_award:,} 元。",
                details=[{"field": "amount", "message": "超过单项最高资助额"}],
            )
        application = next((a for a in fund_applications(found) if a.pk == application_id), None)
        if application is None:
            raise FundActionRefused("该申报不属于本批次。")
        row, _ = FundScore.objects.update_or_create(
            application=application,
            defaults={
                "round": state,
                "enterprise_id": application.enterprise_id,
                "score": score,
                "amount": amount,
                "note": note,
                "scored_by": actor_label_for(actor),
                "scored_at": timezone.now(),
            },
        )
        audit_record(
            actor=actor,
            action="policies.fund_score",
            object_type="fund_round",
            object_id=f"{code}/{round_code}",
            data={"application": application.receipt_no, "score": score, "amount": str(amount)},
        )
    return row


def fund_publish(*, actor: User, code: str, round_code: str, today: dt.date | None = None):
    """结果公示: the lead publishes a round once every application is scored and the awards
    fit the budget; each applicant is told; objections may be raised until the period ends."""
    from tongban.policies.errors import FundActionRefused
    from tongban.policies.selectors import fund_applications

    today = today or timezone.localdate()
    with transaction.atomic():
        found, state = _fund_round_for_staff(actor, code, round_code, today, lead=True)
        if found.status != "scoring":
            raise FundActionRefused("只能在申报截止后、尚未公示时公示结果。")
        applications = fund_applications(found)
        unscored = [a.receipt_no for a in applications if not hasattr(a, "fund_score")]
        if not applications or unscored:
            raise FundActionRefused(
                "还有申报未评审：" + "、".join(unscored) if unscored else "本批次没有申报。"
            )
        total = sum(a.fund_score.amount for a in applications)
        if total > found.round.budget:
            raise FundActionRefused(
                f"拟资助合计 {total:,.2f} 元，超过本批次预算 {found.round.budget:,} 元。"
            )
        state.published_at = timezone.now()
        state.published_by = actor_label_for(actor)
        state.objection_until = today + dt.timedelta(days=found.round.objection_days)
        state.save(update_fields=["published_at", "published_by", "objection_until"])
        link = f"/policies/{code}/funds/{round_code}/"
        for application in applications:
            result = application.fund_score
            text = f"拟资助 {result.amount:,.2f} 元" if result.awarded else "未获资助"
            _tell_enterprise(
                application.enterprise,
                "fund_result",
                {
                    "policy_name": found.definition.name,
                    "round_name": found.round.name,
                    "enterprise_name": application.enterprise.name,
                    "result": text,
                    "objection_until": chinese_date(state.objection_until),
                },
                link,
            )
        audit_record(
            actor=actor,
            action="policies.fund_publish",
            object_type="fund_round",
            object_id=f"{code}/{round_code}",
            data={"applications": len(applications), "total": str(total)},
        )
    return state


def _tell_enterprise(enterprise: Enterprise, template: str, context: dict, link: str) -> None:
    for membership in live_memberships().filter(enterprise=enterprise).select_related("user"):
        notice_send(recipient=membership.user, template=template, context=context, link=link)


def fund_object(*, user: User, code: str, round_code: str, text: str, today: dt.date | None = None):
    """公示异议: anyone signed in raises an objection to published results, within the period."""
    from tongban.policies.errors import FundActionRefused
    from tongban.policies.models import FundObjection
    from tongban.policies.selectors import fund_round

    today = today or timezone.localdate()
    text = (text or "").strip()
    if not 5 <= len(text) <= 1000:
        raise InvalidInput(
            "请写明异议的对象和理由（5至1000字）。",
            details=[{"field": "text", "message": "5至1000字"}],
        )
    with transaction.atomic():
        found = fund_round(code, round_code, today)
        if found.status != "publicised":
            raise FundActionRefused("只能在结果公示期内提出异议。")
        objection = FundObjection.objects.create(
            round=found.state, raised_by=user, text=text, raised_at=timezone.now()
        )
        audit_record(
            actor=user,
            action="policies.fund_object",
            object_type="fund_round",
            object_id=f"{code}/{round_code}",
            data={"objection": objection.pk},
        )
    return objection


def fund_objection_reply(*, actor: User, objection_id: int, reply: str):
    """The lead answers an objection; the person who raised it is told."""
    from tongban.policies.errors import FundNotYours
    from tongban.policies.models import FundObjection
    from tongban.policies.selectors import may_decide_funds

    reply = (reply or "").strip()
    if not 2 <= len(reply) <= 1000:
        raise InvalidInput(
            "请填写答复（2至1000字）。", details=[{"field": "reply", "message": "必填"}]
        )
    with transaction.atomic():
        objection = (
            FundObjection.objects.select_for_update(of=("self",))
            .select_related("round__policy", "raised_by")
            .filter(pk=objection_id, replied_at__isnull=True)
            .first()
        )
        if objection is None or not may_decide_funds(actor, objection.round.policy):
            raise FundNotYours()
        objection.reply = reply
        objection.replied_by = actor_label_for(actor)
        objection.replied_at = timezone.now()
        objection.save(update_fields=["reply", "replied_by", "replied_at"])
        round_def = current_definition(objection.round.policy).fund_round(objection.round.code)
        notice_send(
            recipient=objection.raised_by,
            template="fund_objection_reply",
            context={
                "policy_name": objection.round.policy.name,
                "round_name": round_def.name if round_def else objection.round.code,
                "reply": reply,
            },
            link=f"/policies/{objection.round.policy.code}/funds/{objection.round.code}/",
        )
        audit_record(
            actor=actor,
            action="policies.fund_objection_reply",
            object_type="fund_objection",
            object_id=objection.pk,
        )
    return objection


def fund_grant(*, actor: User, code: str, round_code: str, today: dt.date | None = None) -> int:
    """资助下达: after the objection period, with every objection answered, the lead grants the
    awards (one grant per enterprise and round, with its amount) and each awardee is told."""
    from tongban.policies.errors import FundActionRefused

    today = today or timezone.localdate()
    with transaction.atomic():
        found, state = _fund_round_for_staff(actor, code, round_code, today, lead=True)
        if found.status != "publicity_over":
            raise FundActionRefused("公示期满后才能下达资助。")
        if state.objections.filter(replied_at__isnull=True).exists():
            raise FundActionRefused("还有异议未答复。")
        awarded = list(state.scores.filter(amount__gt=0).select_related("enterprise"))
        now = timezone.now()
        run = PolicyRun.objects.create(
            started_at=now,
            finished_at=now,
            evaluated_on=today,
            engine="fund",
            status=PolicyRun.Status.DONE,
            triggered_by=actor_label_for(actor)[:60],
            counts={code: {"granted": len(awarded)}},
        )
        PolicyGrant.objects.bulk_create(
            [
                PolicyGrant(
                    policy=found.policy,
                    version_id=found.policy.current_id,
                    enterprise_id=score.enterprise_id,
                    period=round_code,
                    amount=score.amount,
                    granted_at=now,
                    granted_by=run,
                )
                for score in awarded
            ],
            ignore_conflicts=True,
        )
        for score in awarded:
            _tell_enterprise(
                score.enterprise,
                "fund_granted",
                {
                    "policy_name": found.definition.name,
                    "round_name": found.round.name,
                    "enterprise_name": score.enterprise.name,
                    "amount": f"{score.amount:,.2f}",
                },
                f"/policies/{code}/funds/{round_code}/",
            )
        state.granted_at = now
        state.granted_by = actor_label_for(actor)
        state.save(update_fields=["granted_at", "granted_by"])
        audit_record(
            actor=actor,
            action="policies.fund_grant",
            object_type="fund_round",
            object_id=f"{code}/{round_code}",
            data={"granted": len(awarded)},
        )
    return len(awarded)


# ---------------------------------------------------------------- 待遇发放 (payment orders)


def _paying_policy(actor: User, code: str, *, lock: bool = False) -> tuple[Policy, PolicyDef]:
    """The policy CODE if it pays (自动办结 with a 发放账户) and ACTOR leads its department."""
    from tongban.policies.errors import PaymentNotYours
    from tongban.policies.selectors import may_decide_funds

    rows = Policy.objects.filter(code=code, is_active=True)
    policy = (rows.select_for_update() if lock else rows).first()
    if policy is None or not may_decide_funds(actor, policy):
        raise PaymentNotYours()
    definition = current_definition(policy)
    if definition.conclude is None or not definition.conclude.pays_to:
        raise PaymentNotYours()
    return policy, definition


def payment_batch_create(*, actor: User, code: str, period: str) -> PaymentBatch:
    """生成发放批次: every granted, not yet paid amount of CODE for PERIOD goes into one new
    payment file; a grant declined meanwhile is not in it, and none is in two."""
    from tongban.policies.errors import PaymentActionRefused

    with transaction.atomic():
        policy, _ = _paying_policy(actor, code, lock=True)  # one batch at a time per policy
        waiting = PolicyGrant.objects.filter(
            policy=policy,
            period=period,
            status=PolicyGrant.Status.GRANTED,
            batch__isnull=True,
            amount__gt=0,
        )
        if not waiting.exists():
            raise PaymentActionRefused("该期没有待发放的金额。", code="PAYMENT_NOTHING_TO_PAY")
        n = PaymentBatch.objects.filter(policy=policy, period=period).count() + 1
        batch = PaymentBatch.objects.create(
            policy=policy,
            period=period,
            number=f"{code}-{period}-{n:02d}",
            count=0,
            total=Decimal(0),
            created_at=timezone.now(),
            created_by=actor,
        )
        waiting.update(batch=batch)
        totals = PolicyGrant.objects.filter(batch=batch).aggregate(
            count=models.Count("id"), total=models.Sum("amount")
        )
        batch.count, batch.total = totals["count"], totals["total"]
        batch.save(update_fields=["count", "total"])
        audit_record(
            actor=actor,
            action="policies.payment_batch",
            object_type="payment_batch",
            object_id=batch.number,
            data={"count": batch.count, "total": str(batch.total)},
        )
    return batch


def payment_batch_confirm(*, actor: User, code: str, number: str) -> PaymentBatch:
    """确认已发放: the bank paid the file; every grant in it reads 已发放 from now on."""
    from tongban.policies.errors import PaymentActionRefused, PaymentNotYours

    with transaction.atomic():
        policy, _ = _paying_policy(actor, code, lock=True)
        batch = PaymentBatch.objects.filter(policy=policy, number=number).first()
        if batch is None:
            raise PaymentNotYours()
        if batch.paid_at is not None:
            raise PaymentActionRefused("该批次已确认发放。", code="PAYMENT_BATCH_PAID")
        batch.paid_at = timezone.now()
        batch.paid_by = actor
        batch.save(update_fields=["paid_at", "paid_by"])
        audit_record(
            actor=actor,
            action="policies.payment_paid",
            object_type="payment_batch",
            object_id=batch.number,
            data={"count": batch.count, "total": str(batch.total)},
        )
    return batch


PAYMENT_FILE_PURPOSE = "待遇发放：生成发放清单交代发银行"


def payment_batch_file(*, actor: User, code: str, number: str) -> tuple[str, bytes]:
    """发放清单 of one batch as CSV (UTF-8 with BOM, so a spreadsheet opens it as Chinese):
    whom to pay, the account, how much, and the case. It carries full ID numbers for the
    bank, so every person in it gets a row in their data-use record, with the purpose."""
    import csv
    import io

    from tongban.common.models import AuditEvent
    from tongban.policies.errors import PaymentNotYours

    policy, definition = _paying_policy(actor, code)
    batch = PaymentBatch.objects.filter(policy=policy, number=number).first()
    if batch is None:
        raise PaymentNotYours()
    grants = (
        PolicyGrant.objects.filter(batch=batch)
        .select_related("profile", "enterprise", "case")
        .order_by("id")
    )
    out = io.StringIO()
    writer = csv.writer(out)
    person = definition.subject == "resident"
    holder_columns = ["姓名", "公民身份号码"] if person else ["单位名称", "统一社会信用代码"]
    writer.writerow(["序号", *holder_columns, "发放账户", "金额（元）", "所属期", "办件编号"])
    seen: list[tuple[int, str]] = []
    for i, grant in enumerate(grants, start=1):
        holder = grant.profile if person else grant.enterprise
        writer.writerow(
            [
                i,
                holder.name,
                holder.id_number if person else holder.uscc,
                definition.conclude.pays_to,
                f"{grant.amount:.2f}",
                grant.period,
                grant.case.receipt_no if grant.case_id else "",
            ]
        )
        if person:
            seen.append((holder.pk, grant.case.receipt_no if grant.case_id else ""))
    label = actor_label_for(actor)
    with transaction.atomic():
        if not seen:  # enterprises: credit codes, no one's personal data
            audit_record(
                actor=actor,
                action="policies.payment_file",
                object_type="payment_batch",
                object_id=batch.number,
                purpose=PAYMENT_FILE_PURPOSE,
                data={"count": batch.count},
            )
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    actor=actor,
                    actor_label=label,
                    action="personal_data.read",
                    object_type="payment_batch",
                    object_id=batch.number,
                    subject_resident_id=profile_id,
                    purpose=PAYMENT_FILE_PURPOSE,
                    data={"fields": ["name", "id_number"], "receipt_no": receipt_no},
                )
                for profile_id, receipt_no in seen
            ],
            batch_size=2000,
        )
    return f"发放清单-{batch.number}.csv", ("\ufeff" + out.getvalue()).encode("utf-8")


WHATIF_MAX_CHARS = 20_000


def policy_whatif_text(*, actor: User, code: str, text: str) -> list[dict]:
    """变更预览 from a page: the policy's owner pastes a new version of its definition (YAML);
    it is checked as the loader checks it, next to the catalog in force, and what it would
    change is returned — nothing is loaded or stored (one audit row says who looked)."""
    import shutil
    import tempfile
    from pathlib import Path

    import yaml

    from tongban.catalog.errors import CatalogInvalid
    from tongban.policies.errors import PolicyNotFound
    from tongban.policies.selectors import policy_for_preview

    if policy_for_preview(actor, code) is None:
        raise PolicyNotFound()
    text = text or ""
    if not text.strip() or len(text) > WHATIF_MAX_CHARS:
        raise InvalidInput(
            f"请粘贴新版本的政策定义（YAML，最多 {WHATIF_MAX_CHARS:,} 字）。",
            details=[{"field": "definition", "message": "必填"}],
        )
    try:
        stated = yaml.safe_load(text)
    except yaml.YAMLError:
        stated = None  # the loader says where
    if isinstance(stated, dict) and stated.get("code") != code:
        raise InvalidInput(
            f"这里预览的是 {code} 的新版本，定义中的 code 应为 {code}。",
            code="POLICY_DEFINITION_INVALID",
            details=[{"field": "definition", "message": f"code 应为 {code}"}],
        )
    with tempfile.TemporaryDirectory(prefix="tongban-whatif-") as folder:
        shutil.copytree(settings.TONGBAN_CATALOG_DIR, folder, dirs_exist_ok=True)
        target = Path(folder) / "policies" / f"{code}.yaml"
        target.write_text(text, encoding="utf-8")
        try:
            report = policy_whatif(path=folder, only=code)
        except CatalogInvalid as exc:
            mine = [p for p in exc.problems if Path(p.file).name == target.name] or exc.problems
            raise InvalidInput(
                "新版本的定义有误，请修改后重试。",
                code="POLICY_DEFINITION_INVALID",
                details=[
                    {
                        "field": "definition",
                        "message": (f"第{p.line}行：" if p.line else "")
                        + (f"{p.field}：" if p.field else "")
                        + p.message,
                    }
                    for p in mine
                ],
            ) from exc
    audit_record(
        actor=actor,
        action="policies.whatif",
        object_type="policy",
        object_id=code,
        purpose="政策变更预览（汇总数）",
        data={"changed": bool(report)},
    )
    return report
