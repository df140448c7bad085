"""示例办件历史 — a year of past cases for the demo city, so 服务指标 has something to show.

`ensure_demo_history` writes the cases of the last MONTHS calendar months up to yesterday as
rows (bulk_create, and for the large tables without ids to read back a plain executemany):
running the case engine for each would take minutes. What a staff member opening one of them
finds is what the engine would have left behind:

- the service is an item or 一件事 of the loaded catalog, its `plan` made by the guide itself
  (cases.services.apply.plan_from_guide over guide answers drawn once per service), filed by
  people of plausible age for it (年满60周岁 …), the form holding the applicant's own 一人一档
  values and the catalog's sample values for the other required fields;
- applicants are synthetic residents (ResidentProfile is_synthetic). Most have no login, so
  the ones chosen get a login-less account (unusable password, like one a counter opens for a
  walk-in); enterprise cases are filed by a synthetic resident who is the enterprise's
  accepted 经办人. The demo accounts' own people and enterprises are left out, so their
  我的办件 stay as the demo scripts expect;
- the share filed online grows month by month from ONLINE_SHARE[0] to ONLINE_SHARE[1] (the
  seed's 网办比例 target is 80%); counter cases are filed at the demo halls that have a
  counter clerk (帮办), at a window that takes the item, with the queue ticket the clerk served;
- every material is recorded as the guide would have it: spared by an e-certificate only when
  that holder really holds one in the demo (its serial), else by a data source, a signed
  commitment (告知承诺), deferred (容缺, then delivered, or the item denied when it never came)
  or uploaded — every upload a one-page PDF of its own in storage saying 示例材料;
- events (submitted, accepted, each task's decision, concluded, handed out, archived) name
  the demo department staff who would have acted, and the tasks agree with them; every case
  is closed (archived) by yesterday, so no department queue, hand-out queue or SLA sweep
  inherits work from the history;
- about one case in ten is rated (好差评) — written as rows, not through rating_create: a
  rating made through the service opens its 差评 work order as of now and tells the
  department, while a past 差评's order was closed long ago (opened, verified, rectified,
  replied, closed by the rater's 满意 — all rows here);
- the halls' queues: each open day a few walk-in tickets, the booked visits (kept, missed,
  cancelled) and the counter cases' own tickets, with the daily wait figures (WaitStat; the
  tickets' queue events are not written: nothing reads an old day's calls), and activity
  marks (活跃) for the people who filed or rated online.

Working days come from the holiday calendar; a year it does not cover yet counts Monday to
Friday (the history may reach back before the calendar's first year). Idempotent: cases are
keyed by idempotency_key "demo-history-<n>"; if any exists, nothing is written. Everything
is one transaction; the files written are removed again if it fails.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import itertools
import math
import random
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection, transaction
from django.db.models import (
    DateField,
    DateTimeField,
    FileField,
    JSONField,
    Model,
    Q,
    TextField,
)
from django.utils import timezone

from tongban.accounts.models import (
    Enterprise,
    EnterpriseMembership,
    ResidentProfile,
    StaffAssignment,
    StaffRole,
    User,
)
from tongban.appointments.models import (
    LOCAL_TZ,
    Booking,
    BookingRule,
    BookingStatus,
    Hall,
    HallItem,
    Slot,
    Ticket,
    TicketSource,
    TicketStatus,
    WaitStat,
    Window,
    WindowKind,
)
from tongban.cases.models import (
    Application,
    CaseEvent,
    CaseKind,
    CaseOutcome,
    CaseStatus,
    Channel,
    Delivery,
    MaterialHow,
    MaterialSubmission,
    Task,
    TaskStatus,
)
from tongban.cases.receipt import damm_digit
from tongban.cases.services.apply import plan_from_guide
from tongban.catalog.guide import (
    bundle_questions,
    guide_for_bundle,
    guide_for_item,
    item_questions,
)
from tongban.catalog.models import Department
from tongban.catalog.selectors import current_definitions, element_definitions, item_definition
from tongban.certificates.models import Certificate, CertificateType
from tongban.common.calendar import CalendarNotCovered, is_working_day
from tongban.common.errors import DomainError
from tongban.common.services import audit_record
from tongban.demo.form_samples import sample_value
from tongban.exchange.models import DataSource
from tongban.metrics.models import ActivityChannel, Audience
from tongban.metrics.services import activity_record
from tongban.reviews.models import (
    Classification,
    EncounterKind,
    OrderEvent,
    OrderStatus,
    Rating,
    RatingChannel,
    RatingSubject,
    ServiceEncounter,
    Verdict,
    WorkOrder,
)

KEY = "demo-history-"
ACTOR = "system:demo_history"
USERNAME_PREFIX = "demohist_"
PER_MONTH = 150
ONLINE_SHARE = (0.60, 0.80)
RATED_SHARE = 0.10
POOL_RESIDENTS = 240
POOL_ENTERPRISES = 30
# The demo certificates go to the first 2,000 residents and 200 enterprises by id
# (demo/certificates.py); the pools stay inside them, so a later city_setup issues nothing
# new for people who merely gained an account here.
CERTIFIED_RESIDENTS = 2000
CERTIFIED_ENTERPRISES = 200
ADULT_YEARS = 18
# Walk-in tickets (咨询, 出件, other items) an open hall takes in a day, by hall level; and
# the mean wait before the first call, in minutes.
WALK_INS = {"city": 3, "district": 2, "street": 1.5}
MEAN_WAIT_MINUTES = {"city": 14, "district": 10, "street": 6}
BOOKINGS_PER_HALL_DAY = 0.6
SYSTEM_AUTO = "system:auto"
SYSTEM = "system"
SYSTEM_SLA = "system:sla"
RATER_LABEL = "评价人"
LEVELS = (5, 4, 3, 2, 1)
LEVEL_WEIGHTS = (70, 20, 6, 2.5, 1.5)
COMMENTS = {
    5: ("办理很快，一次办成（示例）", "指南清楚，材料免提交很方便（示例）", ""),
    4: ("整体顺利（示例）", ""),
    3: ("等待时间略长（示例）", ""),
    2: ("材料要求说明不够清楚（示例）",),
    1: ("页面多次提交失败（示例）",),
}
DENIAL_REASON = "经审核不符合办理条件（示例）"
DEFERRED_DENIAL = "容缺材料逾期未补交，不予办理（示例）"
PDF_SLOT = 64  # characters of the per-file line in the sample PDF (receipt and material)


# ---------------------------------------------------------------- working days


@functools.lru_cache(maxsize=4096)
def works(day: dt.date) -> bool:
    """A working day by the holiday calendar; Monday to Friday in a year it does not cover."""
    try:
        return is_working_day(day)
    except CalendarNotCovered:
        return day.weekday() < 5


def add_working_days(day: dt.date, days: int) -> dt.date:
    """calendar.add_working_days with the same fallback as `works`."""
    while days > 0:
        day += dt.timedelta(days=1)
        if works(day):
            days -= 1
    return day


def _periods(hall: Hall, day: dt.date) -> list[tuple[dt.time, dt.time]]:
    try:
        return hall.periods_on(day)
    except CalendarNotCovered:
        hours = hall.weekly_hours or []
        periods = hours[day.weekday()] if day.weekday() < len(hours) else []
        return [(dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for a, b in periods]


def _at(day: dt.date, minute: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TZ) + dt.timedelta(minutes=minute)


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


# ---------------------------------------------------------------- the months


@dataclass(frozen=True)
class MonthPlan:
    month: dt.date  # the first of the month
    first: dt.date  # the first day of it in the history
    last: dt.date
    cases: int
    online: int

    @property
    def counter(self) -> int:
        return self.cases - self.online


def month_plans(*, today: dt.date, months: int, per_month: int) -> list[MonthPlan]:
    """The history's calendar months up to yesterday, oldest first: PER_MONTH cases in a
    whole month (the current month's days so far pro rata), the online share rising evenly
    from ONLINE_SHARE[0] in the first month to ONLINE_SHARE[1] in the last."""
    last = today - dt.timedelta(days=1)
    starts = [last.replace(day=1)]
    while len(starts) < months:
        starts.insert(0, (starts[0] - dt.timedelta(days=1)).replace(day=1))
    plans = []
    for i, month in enumerate(starts):
        following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        end = min(following - dt.timedelta(days=1), last)
        days = (end - month).days + 1
        total = int(per_month * days / (following - month).days + 0.5)
        rise = i / (len(starts) - 1) if len(starts) > 1 else 1.0
        share = ONLINE_SHARE[0] + (ONLINE_SHARE[1] - ONLINE_SHARE[0]) * rise
        plans.append(MonthPlan(month, month, end, total, int(total * share + 0.5)))
    return plans


# ---------------------------------------------------------------- the sample file


@functools.lru_cache(maxsize=1)
def _pdf_template() -> tuple[bytes, bytes]:
    """A one-page PDF of a scanned 示例材料 (the words drawn as an image: a scan is what an
    upload usually is, and embedding the Chinese font would cost a second per run), with a
    line of PDF_SLOT placeholder characters in a core font, uncompressed: each file puts its
    case's receipt and material there, byte for byte, so every upload is a file of its own."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw, ImageFont

    from tongban.certificates.pdf import font_path

    scan = Image.new("L", (1000, 260), 255)
    draw = ImageDraw.Draw(scan)
    path = font_path()
    if path is not None:
        big = ImageFont.truetype(path, 64, index=0)
        small = ImageFont.truetype(path, 26, index=0)
        draw.text((500, 70), "示例材料", font=big, fill=0, anchor="mm")
        line = "通办演示城市的虚构材料，非真实证件，仅供演示（示例）"
        draw.text((500, 190), line, font=small, fill=60, anchor="mm")
    else:  # no Chinese font on this machine: the same page in Latin letters
        draw.text((500, 130), "SHILI CAILIAO - DEMO SAMPLE", fill=0, anchor="mm")
    png = io.BytesIO()
    scan.convert("1").save(png, format="PNG", optimize=True)
    placeholder = b"~" * PDF_SLOT
    pdf = FPDF(format=(148, 210), unit="mm")
    pdf.set_compression(False)
    pdf.set_creator("tongban demo")
    pdf.add_page()
    pdf.image(png, x=14, y=20, w=120)
    pdf.set_y(60)
    pdf.set_font("helvetica", size=9)
    pdf.cell(0, 7, placeholder.decode())
    content = bytes(pdf.output())
    if content.count(placeholder) != 1:  # fpdf2 changed how it writes text: fail loudly
        raise RuntimeError("sample PDF placeholder not found exactly once")
    return content, placeholder


def sample_pdf(*, receipt: str, material: str) -> bytes:
    content, placeholder = _pdf_template()
    line = f"{receipt} {material}"[:PDF_SLOT].ljust(PDF_SLOT).encode("ascii")
    return content.replace(placeholder, line)


# ---------------------------------------------------------------- what the city has


@dataclass(frozen=True)
class Person:
    user_id: int
    username: str
    profile_id: int | None  # None: an account without a 居民档案 (staff; benchmark people)
    name: str
    born: dt.date | None = None
    # 一人一档 values by data element ("applicant.sex" → "F"): what the form carries.
    facts: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Firm:
    enterprise_id: int
    name: str
    agent: Person
    facts: tuple[tuple[str, Any], ...] = ()  # 一企一档 by data element ("enterprise.uscc")


@dataclass
class Service:
    """One item or bundle as the history files it: its guide's plan, drawn once."""

    kind: str
    code: str
    name: str
    version: int
    subject: str  # person / enterprise
    lead_department_id: int
    answers: dict[str, str]
    plan: dict[str, Any]
    form: dict[str, Any]
    material_defs: dict[str, Any]  # material code → MaterialDef (first item that has it)
    item_materials: dict[str, frozenset[str]]  # item code → its material codes
    online: bool
    counter_item: str  # the item a counter ticket is taken for ("" if none at a counter)
    counter_halls: tuple[int, ...]
    auto_accept: bool
    auto_items: frozenset[str]
    instant: bool
    weight: float
    ages: tuple[int, int] = (ADULT_YEARS, 120)  # whom it is plausibly filed by


@dataclass
class HallInfo:
    hall: Hall
    windows: list[Window]
    items: frozenset[str]
    clerk: Person | None  # a StaffAssignment's user, as a Person with no profile
    clerk_department_id: int | None
    issuer: Person | None
    rules: list[BookingRule]


@dataclass
class City:
    """Everything the history draws from, read once."""

    services: list[Service]
    residents: list[Person]
    firms: list[Firm]
    halls: dict[int, HallInfo]
    departments: dict[str, int]  # code → id
    acceptors: dict[int, Person]  # department id → a 受理 post's user
    reviewers: dict[int, Person]
    leads: dict[int, Person]
    certificates: dict[tuple[str, int], dict[str, tuple[str, dt.datetime]]]
    certificate_names: dict[str, str]
    sources: dict[tuple[str, str], str]  # (data source name, key) → code
    item_departments: dict[str, int]  # item code → its department's id
    receipts: set[str] = field(default_factory=set)


def _staff_person(user_id: int, username: str) -> Person:
    return Person(user_id, username, None, "")


def _answers(kind: str, code: str, rng: random.Random) -> dict[str, str]:
    ask = bundle_questions if kind == CaseKind.BUNDLE else item_questions
    answers: dict[str, str] = {}
    for _ in range(12):  # each round may make further questions apply
        new = {
            q.code: rng.choice(q.options).value
            for q in ask(code=code, answers=answers)
            if q.applies and q.code not in answers and q.options
        }
        if not new:
            break
        answers.update(new)
    return answers


def _guide(kind: str, code: str, rng: random.Random):
    run = guide_for_bundle if kind == CaseKind.BUNDLE else guide_for_item
    for answers in (_answers(kind, code, rng), None):
        if answers is None:  # the drawn answers led nowhere: the first options instead
            ask = bundle_questions if kind == CaseKind.BUNDLE else item_questions
            answers = {q.code: q.options[0].value for q in ask(code=code) if q.options}
        try:
            guide = run(code=code, answers=answers)
        except DomainError:
            continue
        if guide.items:
            return guide
    return None


def _form(plan: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The required fields with the catalog's sample values (the applicant's own replace
    theirs per case); optional ones (an agent's name, a postal address) left empty."""
    required = [f for f in plan["fields"] if f["required"]]
    elements = element_definitions([f["code"] for f in required])
    form = {}
    for n, f in enumerate(required):
        element = elements.get(f["code"])
        value = sample_value(element, n=n, today=today) if element is not None else None
        if value is not None:
            form[f["code"]] = value
    return form


def _services(
    rng: random.Random, departments: dict[str, int], halls: dict[int, HallInfo], today: dt.date
) -> list[Service]:
    items, bundles = current_definitions()
    out = []
    for kind, code, definition in [
        *((CaseKind.ITEM, c, d) for c, d in items.items()),
        *((CaseKind.BUNDLE, c, d) for c, d in bundles.items()),
    ]:
        guide = _guide(kind, code, rng)
        if guide is None:
            continue
        plan = plan_from_guide(guide)
        lead = definition.lead_department if kind == CaseKind.BUNDLE else definition.department
        if lead not in departments or any(
            i["department"] not in departments for i in plan["items"]
        ):
            continue
        defs = [item_definition(i["code"], i["version"]) for i in plan["items"]]
        material_defs: dict[str, Any] = {}
        for d in defs:
            for m in d.materials:
                material_defs.setdefault(m.code, m)
        at_counter = [d.code for d in defs if "counter" in d.channels]
        counter_item = at_counter[0] if at_counter else ""
        counter_halls = tuple(
            sorted(h for h, info in halls.items() if info.clerk and set(at_counter) & info.items)
        )
        online = kind == CaseKind.BUNDLE or bool({"online", "mobile"} & set(definition.channels))
        subject = "enterprise" if definition.subject == "enterprise" else "person"
        out.append(
            Service(
                kind=kind,
                code=code,
                name=guide.name,
                version=guide.version,
                subject=subject,
                lead_department_id=departments[lead],
                answers=dict(guide.answers),
                plan=plan,
                form=_form(plan, today),
                material_defs=material_defs,
                item_materials={d.code: frozenset(m.code for m in d.materials) for d in defs},
                online=online,
                counter_item=counter_item,
                counter_halls=counter_halls,
                auto_accept=all(
                    d.intake_checks and all(c.machine for c in d.intake_checks) for d in defs
                ),
                auto_items=frozenset(d.code for d in defs if d.review_points),
                instant=all(d.handling == "instant" for d in defs),
                weight=_weight(kind, defs),
                ages=_ages(plan, defs),
            )
        )
    return out


def _weight(kind: str, defs: list) -> float:
    """How often a service is filed, relatively: 一件事 are what the city pushes, instant
    items the commonest requests."""
    if kind == CaseKind.BUNDLE:
        return 2.0
    return 1.5 if defs[0].handling == "instant" else 1.0


_AGE_CONDITION = re.compile(r"(?:年满|满)?(\d{2,3})周岁(?:及)?以上|年满(\d{2,3})周岁")
PARENT_AGES = (22, 45)


def _ages(plan: dict[str, Any], defs: list) -> tuple[int, int]:
    """The applicant ages a service is plausibly filed at: at least the age its conditions
    name (年满60周岁 …); a service with a child's documents by a parent of child-bearing age."""
    low, high = ADULT_YEARS, 120
    for d in defs:
        for condition in d.conditions:
            for match in _AGE_CONDITION.finditer(condition):
                age = int(match.group(1) or match.group(2))
                if age >= ADULT_YEARS:
                    low = max(low, age)
    if any(m.get("about") == "child" for m in plan["materials"]) and low == ADULT_YEARS:
        low, high = PARENT_AGES
    return low, high


def _halls() -> dict[int, HallInfo]:
    posts = defaultdict(list)
    for a in (
        StaffAssignment.objects.filter(
            role__in=[StaffRole.COUNTER_CLERK, StaffRole.ISSUER], hall__isnull=False
        )
        .order_by("pk")
        .values("hall_id", "role", "user_id", "user__username", "department_id")
    ):
        posts[(a["hall_id"], a["role"])].append(a)
    items = defaultdict(set)
    for hall_id, code in HallItem.objects.values_list("hall_id", "item_code"):
        items[hall_id].add(code)
    windows = defaultdict(list)
    for w in Window.objects.filter(is_active=True).order_by("hall_id", "number"):
        windows[w.hall_id].append(w)
    rules = defaultdict(list)
    for r in BookingRule.objects.filter(is_active=True, hall__isnull=False).order_by("pk"):
        rules[r.hall_id].append(r)
    out = {}
    for hall in Hall.objects.filter(is_active=True).order_by("code"):
        clerk = (posts.get((hall.pk, StaffRole.COUNTER_CLERK)) or [None])[0]
        issuer = (posts.get((hall.pk, StaffRole.ISSUER)) or [None])[0]
        out[hall.pk] = HallInfo(
            hall=hall,
            windows=windows[hall.pk],
            items=frozenset(items[hall.pk]),
            clerk=_staff_person(clerk["user_id"], clerk["user__username"]) if clerk else None,
            clerk_department_id=clerk["department_id"] if clerk else None,
            issuer=_staff_person(issuer["user_id"], issuer["user__username"]) if issuer else None,
            rules=rules[hall.pk],
        )
    return out


def _ensure_people(
    *, residents: int, enterprises: int, since: dt.date, today: dt.date
) -> tuple[list[Person], list[Firm]]:
    """The applicants: synthetic adults without a login of their own (or with one made here
    before), given a login-less account; and enterprises with one of them as 经办人."""
    adult_by = today.replace(year=today.year - ADULT_YEARS) - dt.timedelta(days=1)
    certified = ResidentProfile.objects.filter(is_synthetic=True).order_by("pk")[
        :CERTIFIED_RESIDENTS
    ]
    profiles = list(
        ResidentProfile.objects.filter(pk__in=certified.values("pk"), birth_date__lte=adult_by)
        .exclude(Q(user__isnull=False) & ~Q(user__username__startswith=USERNAME_PREFIX))
        .order_by("pk")[:residents]
    )
    joined = dt.datetime.combine(since - dt.timedelta(days=60), dt.time(10), tzinfo=LOCAL_TZ)
    new_users = [
        User(
            username=f"{USERNAME_PREFIX}{p.id_number_hash[:12]}",
            kind=User.Kind.PERSON,
            display_name=p.name[:60],
            password=make_password(None),
            date_joined=joined,
        )
        for p in profiles
        if p.user_id is None
    ]
    if new_users:
        User.objects.bulk_create(new_users, batch_size=500)
        made = dict(
            User.objects.filter(username__in=[u.username for u in new_users]).values_list(
                "username", "pk"
            )
        )
        for p in profiles:
            if p.user_id is None:
                p.user_id = made[f"{USERNAME_PREFIX}{p.id_number_hash[:12]}"]
        ResidentProfile.objects.bulk_update(profiles, ["user"], batch_size=500)
    names = dict(
        User.objects.filter(pk__in=[p.user_id for p in profiles]).values_list("pk", "username")
    )
    people = [
        Person(p.user_id, names[p.user_id], p.pk, p.name, p.birth_date, _facts("applicant", p))
        for p in profiles
    ]
    if not people:
        return [], []
    firms_qs = (
        Enterprise.objects.filter(is_synthetic=True, status=Enterprise.Status.ACTIVE)
        .filter(
            pk__in=Enterprise.objects.filter(is_synthetic=True).order_by("pk")[
                :CERTIFIED_ENTERPRISES
            ]
        )
        # The demo accounts' enterprises (and any with someone else's grant) are left alone.
        .exclude(
            pk__in=EnterpriseMembership.objects.exclude(
                user__username__startswith=USERNAME_PREFIX
            ).values("enterprise_id")
        )
        .order_by("pk")[:enterprises]
    )
    by_user = {p.user_id: p for p in people}
    agents = dict(
        EnterpriseMembership.objects.filter(
            user__username__startswith=USERNAME_PREFIX, revoked_at__isnull=True
        ).values_list("enterprise_id", "user_id")
    )
    firms, grants = [], []
    accepted = dt.datetime.combine(since - dt.timedelta(days=30), dt.time(10), tzinfo=LOCAL_TZ)
    for n, e in enumerate(firms_qs):
        agent = by_user.get(agents.get(e.pk)) or people[(n * 7) % len(people)]
        if e.pk not in agents:
            grants.append(
                EnterpriseMembership(
                    user_id=agent.user_id,
                    enterprise=e,
                    role=EnterpriseMembership.Role.AGENT,
                    invitee_name=agent.name[:60],
                    accepted_at=accepted,
                )
            )
        firms.append(Firm(e.pk, e.name, agent, _facts("enterprise", e)))
    if grants:
        EnterpriseMembership.objects.bulk_create(grants)
        # created_at is auto_now_add: the grant predates the cases filed under it.
        EnterpriseMembership.objects.filter(
            enterprise_id__in=[g.enterprise_id for g in grants], accepted_at=accepted
        ).update(created_at=accepted)
    return people, firms


PROFILE_ELEMENTS = {
    "applicant": ("name", "id_number", "sex", "birth_date", "phone", "hukou_district",
                  "residence_district", "residence_address", "marital_status"),
    "enterprise": ("name", "uscc", "legal_representative", "district", "address",
                   "registered_capital", "industry_code", "founded_on", "employees"),
}  # fmt: skip


def _facts(prefix: str, record: Model) -> tuple[tuple[str, Any], ...]:
    """The record's values under their data element codes, as a form would hold them."""
    out = []
    for name in PROFILE_ELEMENTS[prefix]:
        value = getattr(record, name, None)
        if value in (None, ""):
            continue
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif not isinstance(value, (str, int, bool)):
            value = str(value)
        out.append((f"{prefix}.{name}", value))
    return tuple(out)


def city_context(
    *,
    seed: int,
    since: dt.date,
    today: dt.date,
    residents: int = POOL_RESIDENTS,
    enterprises: int = POOL_ENTERPRISES,
) -> City | None:
    """What the history draws from, or None when the catalog or the people are missing (a
    city set up with --skip-catalog). Creates the applicants' accounts it needs."""
    rng = random.Random(seed)
    departments = dict(Department.objects.values_list("code", "pk"))
    if not departments:
        return None
    halls = _halls()
    services = _services(rng, departments, halls, today)
    if not services:
        return None
    people, firms = _ensure_people(
        residents=residents, enterprises=enterprises, since=since, today=today
    )
    if not people:
        return None
    posts: dict[str, dict[int, Person]] = defaultdict(dict)
    for a in (
        StaffAssignment.objects.filter(
            role__in=[StaffRole.ACCEPTOR, StaffRole.REVIEWER, StaffRole.DEPARTMENT_LEAD]
        )
        .order_by("pk")
        .values("role", "department_id", "user_id", "user__username")
    ):
        posts[a["role"]].setdefault(
            a["department_id"], _staff_person(a["user_id"], a["user__username"])
        )
    certificates: dict[tuple[str, int], dict[str, tuple[str, dt.datetime]]] = defaultdict(dict)
    live = Certificate.objects.filter(revoked_at__isnull=True)
    for holder, serial, valid_from, type_code in live.filter(
        holder_profile_id__in=[p.profile_id for p in people]
    ).values_list("holder_profile_id", "serial", "valid_from", "type__code"):
        certificates[("p", holder)][type_code] = (serial, valid_from)
    for holder, serial, valid_from, type_code in live.filter(
        holder_enterprise_id__in=[f.enterprise_id for f in firms]
    ).values_list("holder_enterprise_id", "serial", "valid_from", "type__code"):
        certificates[("e", holder)][type_code] = (serial, valid_from)
    return City(
        services=services,
        residents=people,
        firms=firms,
        halls=halls,
        departments=departments,
        acceptors=posts[StaffRole.ACCEPTOR],
        reviewers=posts[StaffRole.REVIEWER],
        leads=posts[StaffRole.DEPARTMENT_LEAD],
        certificates=certificates,
        certificate_names=dict(CertificateType.objects.values_list("code", "name")),
        sources={
            (name, key): code
            for code, name, key in DataSource.objects.filter(is_active=True)
            .order_by("code")
            .values_list("code", "name", "key")
        },
        item_departments={
            code: departments[d.department]
            for code, d in current_definitions()[0].items()
            if d.department in departments
        },
    )


# ---------------------------------------------------------------- one case, drawn


@dataclass
class Material:
    code: str
    how: str
    note: str = ""
    certificate_serial: str = ""
    source_code: str = ""
    answered_at: dt.datetime | None = None
    due_date: dt.date | None = None
    delivered_at: dt.datetime | None = None  # 容缺: when the deferred material came
    name: str = ""


@dataclass
class TaskDraw:
    item: dict[str, Any]
    department_id: int
    status: str
    released_at: dt.datetime
    decided_at: dt.datetime
    reviewer: Person | None  # None: decided automatically (system:auto)
    reason: str = ""


@dataclass
class CaseDraw:
    """One past case as drawn, before it becomes rows."""

    n: int
    service: Service
    channel: str
    applicant: Person
    firm: Firm | None
    hall: HallInfo | None
    window: Window | None
    delivery: str
    plan: dict[str, Any]
    materials: list[Material]
    submitted_at: dt.datetime
    accepted_at: dt.datetime
    accept_action: str
    acceptor: Person | None  # None: accepted automatically
    promised_date: dt.date
    tasks: list[TaskDraw]
    concluded_at: dt.datetime
    outcome: str
    handed_out_at: dt.datetime | None = None
    issuer: Person | None = None
    handout_note: str = ""
    receipt: str = ""
    pk: int | None = None
    task_pks: list[int] = field(default_factory=list)


class HistoryWriter:
    """Draws past cases for a City and writes them as rows. ensure_demo_history uses it for
    the demo; benchmarks/metrics_rollup.py uses it for one day of 140,000 cases."""

    def __init__(self, city: City, *, seed: int, last_day: dt.date):
        self.city = city
        self.rng = random.Random(seed)
        self.last_day = last_day
        self.n = Application.objects.filter(idempotency_key__startswith=KEY).count()
        self.stored: list[str] = []
        self.sequences: dict[tuple[int, dt.date], dict[str, int]] = defaultdict(dict)
        self.existing_slots: dict[dt.date, set] | None = None
        self.by_age: dict[tuple[int, int], list[Person]] = {}
        self.rated_online: list[tuple[dt.datetime, int]] = []  # (when, rater) for 活跃
        self.tickets: list[Ticket] = []
        self.bookings: list[Booking] = []
        self.slots: dict[tuple[int, dt.datetime], Slot] = {}
        self.online_services = [s for s in city.services if s.online]
        self.counter_services = [s for s in city.services if s.counter_halls]
        self.clerk_halls = sorted(h for h, info in city.halls.items() if info.clerk)

    # -- drawing ---------------------------------------------------------------------

    def _pick(self, services: Sequence[Service]) -> Service:
        return self.rng.choices(services, weights=[s.weight for s in services])[0]

    def _end_of_history(self) -> dt.datetime:
        return _at(self.last_day, 23 * 60 + 30)

    def _receipt(self, day: dt.date) -> str:
        while True:
            body = f"{day:%y%m%d}{self.rng.randrange(10**6):06d}"
            receipt = body + damm_digit(body)
            if receipt not in self.city.receipts:
                self.city.receipts.add(receipt)
                return receipt

    def open_halls(self, day: dt.date) -> list[int]:
        return [h for h in self.clerk_halls if _periods(self.city.halls[h].hall, day)]

    def _hall_time(self, info: HallInfo, day: dt.date, *, after: int = 30, before: int = 30):
        periods = _periods(info.hall, day)
        spans = [(_minutes(a) + after, _minutes(b) - before) for a, b in periods]
        spans = [(a, b) for a, b in spans if b > a]
        if not spans:
            return None
        a, b = self.rng.choices(spans, weights=[b - a for a, b in spans])[0]
        return _at(day, self.rng.uniform(a, b))

    def draw(self, day: dt.date, channel: str) -> CaseDraw | None:
        rng = self.rng
        hall = window = None
        if channel == Channel.COUNTER:
            open_here = set(self.open_halls(day))
            choices = [s for s in self.counter_services if open_here & set(s.counter_halls)]
            if not choices:
                channel = Channel.ONLINE
            else:
                service = self._pick(choices)
                hall = self.city.halls[rng.choice(sorted(open_here & set(service.counter_halls)))]
                department = self.city.departments.get(
                    next(
                        i["department"]
                        for i in service.plan["items"]
                        if i["code"] == service.counter_item
                    )
                )
                serving = [w for w in hall.windows if w.serves(service.counter_item, department)]
                window = rng.choice(serving) if serving else None
                # A ticket is taken, waited for and called before the clerk files the case.
                submitted = self._hall_time(hall, day, after=40, before=20)
                if submitted is None:
                    channel, hall, window = Channel.ONLINE, None, None
        if channel == Channel.ONLINE:
            if not self.online_services:
                return None
            service = self._pick(self.online_services)
            # Online filings through the day, most in office hours and the evening.
            hour = rng.choices(
                range(24),
                weights=[
                    1,
                    1,
                    1,
                    1,
                    1,
                    2,
                    4,
                    8,
                    14,
                    18,
                    18,
                    16,
                    12,
                    14,
                    16,
                    16,
                    14,
                    12,
                    10,
                    12,
                    14,
                    12,
                    8,
                    4,
                ],
            )[0]
            submitted = _at(day, hour * 60 + rng.uniform(0, 59))
        if service.subject == "enterprise" and self.city.firms:
            firm = rng.choice(self.city.firms)
            applicant = firm.agent
        else:
            firm, applicant = None, rng.choice(self._applicants(service))
        materials, plan = self._materials(service, applicant, firm, channel, submitted)
        deferred = [m for m in materials if m.how == MaterialHow.DEFERRED]
        # 受理: the platform itself when every intake check is machine-verifiable (and no
        # person had to judge a 容缺); the clerk at the counter; else the lead department.
        if service.auto_accept and not deferred:
            acceptor, action = None, "accepted_auto"
            accepted = submitted + dt.timedelta(seconds=rng.randint(20, 180))
        elif channel == Channel.COUNTER:
            acceptor = hall.clerk
            action = "accepted_deferred" if deferred else "accepted"
            accepted = submitted + dt.timedelta(minutes=rng.uniform(2, 12))
        else:
            acceptor = self.city.acceptors.get(service.lead_department_id)
            action = "accepted_deferred" if deferred else "accepted"
            if works(day) and submitted.hour < 15:
                accepted = submitted + dt.timedelta(minutes=rng.uniform(20, 150))
            else:
                next_day = add_working_days(day, 1)
                accepted = _at(next_day, rng.uniform(9 * 60, 11 * 60 + 30))
        accepted = min(accepted, self._end_of_history())
        accept_day = accepted.astimezone(LOCAL_TZ).date()
        promised_date = add_working_days(accept_day, int(plan.get("promised_days") or 0))
        concluded = self._conclusion(service, accepted, plan)
        # 容缺: most deferred materials follow in time; the rest never come, and after the due
        # date (flagged by the sweep) the department denies the items needing them.
        missing = []
        for m in deferred:
            m.due_date = add_working_days(accept_day, self._deferrable_days(service, m.code))
            overdue = _at(m.due_date + dt.timedelta(days=1), rng.uniform(9 * 60 + 30, 16 * 60))
            if rng.random() < 0.3 and overdue < self._end_of_history():
                missing.append(m)
                concluded = max(concluded, overdue)
        tasks, outcome = self._tasks(service, plan, accepted, concluded, missing)
        first_decision = min(t.decided_at for t in tasks)
        for m in deferred:
            if m not in missing:
                m.delivered_at = accepted + (first_decision - accepted) * rng.uniform(0.3, 0.9)
        delivery, issuer, handed_out, note = self._delivery(channel, hall, concluded)
        self.n += 1
        return CaseDraw(
            n=self.n - 1,
            service=service,
            channel=channel,
            applicant=applicant,
            firm=firm,
            hall=hall,
            window=window,
            delivery=delivery,
            plan=plan,
            materials=materials,
            submitted_at=submitted,
            accepted_at=accepted,
            accept_action=action,
            acceptor=acceptor,
            promised_date=promised_date,
            tasks=tasks,
            concluded_at=concluded,
            outcome=outcome,
            handed_out_at=handed_out,
            issuer=issuer,
            handout_note=note,
            receipt=self._receipt(day),
        )

    def _applicants(self, service: Service) -> list[Person]:
        """Residents of the service's ages at the history's end (anyone whose age is not
        known counts), or everyone if none is."""
        if service.ages not in self.by_age:
            low, high = service.ages
            self.by_age[service.ages] = [
                p
                for p in self.city.residents
                if p.born is None or low <= _age(p.born, self.last_day) <= high
            ] or self.city.residents
        return self.by_age[service.ages]

    def _deferrable_days(self, service: Service, code: str) -> int:
        days = [
            m.deferrable_days
            for i in service.plan["items"]
            for m in item_definition(i["code"], i["version"]).materials
            if m.code == code
        ]
        return min(days) if days else 10

    def _materials(
        self,
        service: Service,
        applicant: Person,
        firm: Firm | None,
        channel: str,
        submitted: dt.datetime,
    ) -> tuple[list[Material], dict[str, Any]]:
        """How each material was satisfied, and the plan saying the same."""
        rng, city = self.rng, self.city
        plan = dict(service.plan)
        plan["materials"] = [dict(m) for m in service.plan["materials"]]
        out: list[Material] = []
        for m in plan["materials"]:
            if m["spared"]:  # made in the case, or the form is the material: as the guide said
                out.append(Material(m["code"], MaterialHow.WAIVED, note=m["spared_reason"]))
                continue
            definition = service.material_defs.get(m["code"])
            waivers = list(definition.waivable_by) if definition is not None else []
            about = m.get("about") or "applicant"
            holder = (
                ("p", applicant.profile_id)
                if about == "applicant"
                else (("e", firm.enterprise_id) if about == "enterprise" and firm else None)
            )
            held = city.certificates.get(holder, {}) if holder else {}
            spared = None
            for w in waivers:
                if w.kind == "certificate" and w.certificate_type in held:
                    serial, valid_from = held[w.certificate_type]
                    if valid_from <= submitted and rng.random() < 0.9:
                        name = city.certificate_names.get(w.certificate_type, m["name"])
                        spared = Material(
                            m["code"],
                            MaterialHow.WAIVED,
                            certificate_serial=serial,
                            note=f"已通过电子证照『{name}』核验，无需提交（示例）",
                        )
                        m["spared_by"] = {
                            "kind": "certificate",
                            "type": w.certificate_type,
                            "serial": serial,
                            "holder_role": about,
                        }
                        break
                if w.kind == "data_source" and rng.random() < 0.85:
                    key = "uscc" if about == "enterprise" else "id_number"
                    names = [n.strip() for n in w.data_source.split("、") if n.strip()]
                    code = next(
                        (
                            city.sources[(n, k)]
                            for n in names
                            for k in (key, "id_number", "uscc", "property_unit")
                            if (n, k) in city.sources
                        ),
                        "",
                    )
                    if code:
                        at = submitted - dt.timedelta(seconds=rng.randint(5, 60))
                        spared = Material(
                            m["code"],
                            MaterialHow.WAIVED,
                            source_code=code,
                            answered_at=at,
                            note=f"由{w.data_source}核验，无需提交（示例）",
                        )
                        m["spared_by"] = {
                            "kind": "data_source",
                            "source": code,
                            "source_name": w.data_source,
                            "answered_at": at.isoformat(),
                            "holder_role": about,
                        }
                        break
            if spared is not None:
                m["spared"], m["spared_reason"] = True, spared.note
                out.append(spared)
                continue
            if m.get("commitment") and rng.random() < 0.7:
                out.append(Material(m["code"], MaterialHow.COMMITMENT, note=m["commitment"]))
            elif definition is not None and definition.deferrable and rng.random() < 0.3:
                out.append(Material(m["code"], MaterialHow.DEFERRED, name=m["name"]))
            elif m["required"] or rng.random() < 0.25:
                out.append(Material(m["code"], MaterialHow.UPLOAD, name=m["name"]))
        return out, plan

    def _conclusion(
        self, service: Service, accepted: dt.datetime, plan: dict[str, Any]
    ) -> dt.datetime:
        """When the last task was decided: the same day for instant and automatic items (即办),
        else some working days on, a few after the promised date."""
        rng = self.rng
        accept_day = accepted.astimezone(LOCAL_TZ).date()
        days_promised = int(plan.get("promised_days") or 0)
        automatic = {i["code"] for i in plan["items"]} <= service.auto_items
        if automatic or service.instant or days_promised == 0 or rng.random() < 0.06:
            days = 0
        elif rng.random() < 0.04:
            days = days_promised + rng.randint(1, 5)  # 超期
        else:
            days = max(1, round(rng.triangular(1, days_promised, max(1, days_promised * 0.35))))
        if automatic:
            done = accepted + dt.timedelta(seconds=rng.randint(30, 600))
        elif days == 0:
            done = accepted + dt.timedelta(minutes=rng.uniform(10, 150))
        else:
            done = _at(add_working_days(accept_day, days), rng.uniform(9 * 60 + 15, 17 * 60))
        if done > self._end_of_history():
            # Nothing of the history is still open: a late filing finishes by yesterday.
            done = accepted + (self._end_of_history() - accepted) * rng.uniform(0.3, 0.95)
        return max(done, accepted + dt.timedelta(seconds=30))

    def _tasks(
        self,
        service: Service,
        plan: dict[str, Any],
        accepted: dt.datetime,
        concluded: dt.datetime,
        missing: list[Material],
    ) -> tuple[list[TaskDraw], str]:
        rng, city = self.rng, self.city
        items = plan["items"]
        stage: dict[str, int] = {}
        for i in items:  # plan items come in stage order: each one's `after` is before it
            stage[i["code"]] = 1 + max((stage.get(a, 0) for a in i["after"]), default=0)
        ordered = sorted(items, key=lambda i: stage[i["code"]])
        span = concluded - accepted
        times = sorted(accepted + span * rng.uniform(0.15, 0.95) for _ in ordered[:-1])
        times.append(concluded)
        denied = {
            i["code"]
            for i in items
            for m in missing
            if m.code in service.item_materials.get(i["code"], ())
        }
        if not denied and rng.random() < 0.03:
            denied.add(rng.choice(items)["code"])
        out, decided_at = [], {}
        for i, at in zip(ordered, times, strict=True):
            released = max((decided_at[a] for a in i["after"] if a in decided_at), default=accepted)
            at = max(at, released + dt.timedelta(seconds=30))
            decided_at[i["code"]] = at
            auto = i["code"] in service.auto_items and i["code"] not in denied
            department = city.departments[i["department"]]
            reason = ""
            if i["code"] in denied:
                reason = DEFERRED_DENIAL if missing else DENIAL_REASON
            out.append(
                TaskDraw(
                    item=i,
                    department_id=department,
                    status=TaskStatus.DENIED if i["code"] in denied else TaskStatus.APPROVED,
                    released_at=released,
                    decided_at=at,
                    reviewer=None if auto else city.reviewers.get(department),
                    reason=reason,
                )
            )
        if not denied:
            outcome = CaseOutcome.APPROVED
        elif len(denied) == len(items):
            outcome = CaseOutcome.DENIED
        else:
            outcome = CaseOutcome.PARTLY_APPROVED
        return out, outcome

    def _delivery(self, channel: str, hall: HallInfo | None, concluded: dt.datetime):
        """(delivery, issuer, handed_out_at, note): results online, collected at the hall's
        出件 window, or posted — the last two handed out by an issuer before the history ends."""
        rng = self.rng
        issuers = [h.issuer for h in self.city.halls.values() if h.issuer]
        if channel == Channel.COUNTER and hall is not None and hall.issuer and rng.random() < 0.6:
            delivery, issuer = Delivery.COUNTER, hall.issuer
        elif issuers and rng.random() < 0.08:
            delivery, issuer = Delivery.POST, issuers[0]
        else:
            return Delivery.ONLINE, None, None, ""
        day = concluded.astimezone(LOCAL_TZ).date()
        later = add_working_days(day, rng.randint(1, 3))
        at = _at(later, rng.uniform(9 * 60 + 30, 16 * 60 + 30))
        if at > self._end_of_history():
            at = concluded + (self._end_of_history() - concluded) * rng.uniform(0.2, 0.9)
        at = max(at, concluded + dt.timedelta(minutes=1))
        note = (
            f"示例快递单号 SF{rng.randrange(10**11):011d}"
            if delivery == Delivery.POST
            else "申请人本人领取（示例）"
        )
        return delivery, issuer, at, note

    # -- writing -----------------------------------------------------------------------

    def write(self, cases: list[CaseDraw], *, log: bool = True) -> dict[str, int]:
        """Cases, tasks, materials (and their files) and, with LOG, the event log. Returns
        row counts. Call inside a transaction; `stored` names the files written."""
        rows = [self._application(c) for c in cases]
        Application.objects.bulk_create(rows, batch_size=500)
        for c, row in zip(cases, rows, strict=True):
            c.pk = row.pk
        tasks = [
            Task(
                case_id=c.pk,
                item_code=t.item["code"],
                item_version=t.item["version"],
                item_name=t.item["name"][:80],
                department_id=t.department_id,
                after=list(t.item["after"]),
                status=t.status,
                claimed_by_id=t.reviewer.user_id if t.reviewer else None,
                decided_by_id=t.reviewer.user_id if t.reviewer else None,
                decided_by_label=actor_label_for_person(t.reviewer) if t.reviewer else SYSTEM_AUTO,
                reason=t.reason,
                promised_days=int(t.item.get("promised_days") or 0),
                due_date=add_working_days(
                    t.released_at.astimezone(LOCAL_TZ).date(), int(t.item.get("promised_days") or 0)
                ),
                released_at=t.released_at,
                decided_at=t.decided_at,
                row_version=2 if t.reviewer else 1,
            )
            for c in cases
            for t in c.tasks
        ]
        Task.objects.bulk_create(tasks, batch_size=1000)
        it = iter(tasks)
        for c in cases:
            c.task_pks = [next(it).pk for _ in c.tasks]
        materials = self._material_rows(cases)
        bulk_insert(MaterialSubmission, materials)
        events = [e for c in cases for e in self._events(c)] if log else []
        bulk_insert(CaseEvent, events)
        return {
            "cases": len(rows),
            "tasks": len(tasks),
            "materials": len(materials),
            "uploads": sum(m.how == MaterialHow.UPLOAD for m in materials),
            "events": len(events),
        }

    def _application(self, c: CaseDraw) -> Application:
        s = c.service
        form = dict(s.form)
        # The applicant's own 一人一档 (and the enterprise's 一企一档) instead of samples.
        asked = {f["code"] for f in s.plan["fields"]}
        for key, value in (*c.applicant.facts, *(c.firm.facts if c.firm else ())):
            if key in asked:
                form[key] = value
        row = Application(
            receipt_no=c.receipt,
            kind=s.kind,
            code=s.code,
            version=s.version,
            name=f"{s.name}（示例）"[:80],
            applicant_id=c.applicant.user_id,
            applicant_profile_id=c.applicant.profile_id,
            enterprise_id=c.firm.enterprise_id if c.firm else None,
            channel=c.channel,
            filed_by_id=c.hall.clerk.user_id if c.hall else None,
            hall_id=c.hall.hall.pk if c.hall else None,
            window_id=c.window.pk if c.window else None,
            lead_department_id=s.lead_department_id,
            status=CaseStatus.ARCHIVED,
            outcome=c.outcome,
            answers=s.answers,
            plan=c.plan,
            delivery=c.delivery,
            idempotency_key=f"{KEY}{c.n}",
            request_fingerprint="demo-history",
            promised_date=c.promised_date,
            submitted_at=c.submitted_at,
            accepted_at=c.accepted_at,
            concluded_at=c.concluded_at,
            handed_out_at=c.handed_out_at,
            handed_out_by_id=c.issuer.user_id if c.issuer else None,
            handout_note=c.handout_note,
        )
        row.form_data = form
        return row

    def _material_rows(self, cases: list[CaseDraw]) -> list[MaterialSubmission]:
        rows = []
        for c in cases:
            for m in c.materials:
                if m.how == MaterialHow.DEFERRED and m.delivered_at is not None:
                    # Delivered later: the 容缺 row gave way to the upload (as
                    # case_deferred_material_submit does).
                    rows.append(self._upload(c, m, at=m.delivered_at))
                elif m.how == MaterialHow.UPLOAD:
                    rows.append(self._upload(c, m, at=c.submitted_at))
                else:
                    rows.append(
                        MaterialSubmission(
                            case_id=c.pk,
                            material_code=m.code,
                            how=m.how,
                            note=m.note,
                            due_date=m.due_date,
                            certificate_serial=m.certificate_serial,
                            source_code=m.source_code,
                            source_answered_at=m.answered_at,
                            created_at=c.submitted_at,
                        )
                    )
        return rows

    def _upload(self, c: CaseDraw, m: Material, *, at: dt.datetime) -> MaterialSubmission:
        content = sample_pdf(receipt=c.receipt, material=m.code)
        digest = hashlib.sha256(content).hexdigest()
        name = store_file(f"cases/{c.receipt}/{m.code}-{digest[:16]}.pdf", content)
        self.stored.append(name)
        return MaterialSubmission(
            case_id=c.pk,
            material_code=m.code,
            how=MaterialHow.UPLOAD,
            file=name,
            original_name=f"示例材料-{m.name or m.code}.pdf"[:200],
            content_type="application/pdf",
            size=len(content),
            sha256=digest,
            created_at=at,
        )

    def _events(self, c: CaseDraw) -> list[CaseEvent]:
        out: list[CaseEvent] = []
        status = [""]

        def add(at, action, *, actor=None, label=None, to="", reason="", data=None):
            frm, status[0] = status[0], to or status[0]
            out.append(
                CaseEvent(
                    case_id=c.pk,
                    seq=len(out) + 1,
                    at=at,
                    actor_id=actor.user_id if actor else None,
                    actor_label=label or (actor_label_for_person(actor) if actor else SYSTEM),
                    action=action,
                    from_status=frm if to else "",
                    to_status=to,
                    reason=reason,
                    data=data or {},
                )
            )

        filer = c.hall.clerk if c.hall else c.applicant
        add(
            c.submitted_at,
            "submitted",
            actor=filer,
            to=CaseStatus.SUBMITTED,
            data={"channel": c.channel, **({"hall": c.hall.hall.code} if c.hall else {})},
        )
        deferred = [
            {"material": m.code, "due_date": m.due_date.isoformat()}
            for m in c.materials
            if m.how == MaterialHow.DEFERRED
        ]
        post = {"post": "counter" if c.hall else "department"} if c.acceptor else {}
        add(
            c.accepted_at,
            c.accept_action,
            actor=c.acceptor,
            label=None if c.acceptor else SYSTEM_AUTO,
            to=CaseStatus.ACCEPTED,
            data={**({"deferred": deferred} if deferred else {}), **post},
        )
        later = []
        for m in c.materials:
            if m.how != MaterialHow.DEFERRED:
                continue
            if m.delivered_at is not None:
                late = m.delivered_at.astimezone(LOCAL_TZ).date() > m.due_date
                later.append(
                    (
                        m.delivered_at,
                        "deferred_material_submitted",
                        c.applicant,
                        None,
                        {"material": m.code, "due_date": m.due_date.isoformat(), "late": late},
                    )
                )
            else:
                at = _at(m.due_date + dt.timedelta(days=1), 2 * 60)
                later.append(
                    (
                        at,
                        "deferred_material_overdue",
                        None,
                        SYSTEM_SLA,
                        {"material": m.code, "due_date": m.due_date.isoformat()},
                    )
                )
        for pk, t in zip(c.task_pks, c.tasks, strict=True):
            action = "task_approved" if t.status == TaskStatus.APPROVED else "task_denied"
            later.append(
                (
                    t.decided_at,
                    action,
                    t.reviewer,
                    None if t.reviewer else SYSTEM_AUTO,
                    {
                        "task": pk,
                        "item": t.item["code"],
                        "auto": t.reviewer is None,
                        "reason": t.reason,
                    },
                )
            )
        for at, action, actor, label, data in sorted(later, key=lambda e: e[0]):
            reason = data.pop("reason", "")
            add(at, action, actor=actor, label=label, reason=reason, data=data)
        add(
            c.concluded_at,
            "concluded",
            to=CaseStatus.CONCLUDED,
            data={"outcome": c.outcome, "delivery": c.delivery},
        )
        if c.delivery == Delivery.ONLINE:
            add(c.concluded_at, "archived", to=CaseStatus.ARCHIVED)
        else:
            add(
                c.handed_out_at,
                "handed_out",
                actor=c.issuer,
                reason=c.handout_note,
                data={"delivery": c.delivery, "hall": c.hall.hall.code if c.hall else None},
            )
            add(
                c.handed_out_at,
                "archived",
                actor=c.issuer,
                to=CaseStatus.ARCHIVED,
                reason=c.handout_note,
            )
        # Events share a moment at most; keep the log's times in seq order all the same.
        for before, after in itertools.pairwise(out):
            after.at = max(after.at, before.at)
        return out

    # -- ratings -----------------------------------------------------------------------

    def rate(self, cases: Iterable[CaseDraw], *, share: float = RATED_SHARE) -> dict[str, int]:
        """好差评 of about SHARE of the cases, by their applicants: an online case rated once
        concluded (一事一评), a counter filing rated at the counter (一次一评). 差评 orders
        are written closed: opened, verified, rectified, replied, the rater satisfied."""
        rng = self.rng
        end = self._end_of_history()
        picked = [c for c in cases if rng.random() < share]
        encounters, ratings = [], []
        for c in picked:
            if c.channel == Channel.COUNTER:
                post = c.hall.clerk_department_id or c.service.lead_department_id
                encounter = ServiceEncounter(
                    case_id=c.pk,
                    kind=EncounterKind.FILING,
                    hall_id=c.hall.hall.pk,
                    window_id=c.window.pk if c.window else None,
                    staff_id=c.hall.clerk.user_id,
                    department_id=post,
                    at=c.submitted_at,
                )
                encounters.append(encounter)
                at = min(c.submitted_at + dt.timedelta(minutes=rng.uniform(3, 40)), end)
                channel, department = RatingChannel.IN_PERSON, post
            else:
                encounter = None
                at = min(c.concluded_at + dt.timedelta(hours=rng.uniform(0.1, 72)), end)
                channel, department = RatingChannel.ONLINE, c.service.lead_department_id
                self.rated_online.append((at, c.applicant.user_id))
            level = rng.choices(LEVELS, weights=LEVEL_WEIGHTS)[0]
            if level <= 2 and at.astimezone(LOCAL_TZ).date() > self.last_day - dt.timedelta(
                days=25
            ):
                level = 3  # a recent 差评's order would still be open; the history closes all
            comment = rng.choice(COMMENTS[level])
            ratings.append(
                (
                    c,
                    encounter,
                    Rating(
                        channel=channel,
                        case_id=c.pk,
                        rater_id=c.applicant.user_id,
                        level=level,
                        indicators={},
                        comment=comment,
                        comment_public=comment,
                        department_id=department,
                        hall_id=c.hall.hall.pk if encounter else None,
                        window_id=c.window.pk if encounter and c.window else None,
                        staff_id=c.hall.clerk.user_id if encounter else None,
                        created_at=at,
                    ),
                )
            )
        ServiceEncounter.objects.bulk_create(encounters, batch_size=1000)
        for _c, encounter, rating in ratings:
            rating.encounter_id = encounter.pk if encounter else None
        Rating.objects.bulk_create([r for _c, _e, r in ratings], batch_size=1000)
        subjects = []
        for c, _e, rating in ratings:
            seen = set()
            for t in c.tasks:
                department = (
                    t.department_id
                    if rating.channel == RatingChannel.ONLINE
                    else rating.department_id
                )
                key = (t.item["code"], department)
                if key not in seen:
                    seen.add(key)
                    subjects.append(
                        RatingSubject(
                            rating_id=rating.pk,
                            item_code=t.item["code"],
                            item_name=t.item["name"][:80],
                            department_id=department,
                        )
                    )
        bulk_insert(RatingSubject, subjects)
        orders = self._orders([r for _c, _e, r in ratings if r.level <= 2])
        return {"ratings": len(ratings), "encounters": len(encounters), "orders": orders}

    def _orders(self, ratings: list[Rating]) -> int:
        rng, city = self.rng, self.city
        orders, steps = [], []
        for r in ratings:
            opened = r.created_at
            day = opened.astimezone(LOCAL_TZ).date()
            deadline = add_working_days(day, 15)
            closed = _at(add_working_days(day, rng.randint(3, 12)), rng.uniform(9 * 60, 17 * 60))
            lead = city.leads.get(r.department_id) or city.acceptors.get(r.department_id)
            order = WorkOrder(
                rating=r,
                department_id=r.department_id,
                status=OrderStatus.CLOSED,
                classification=rng.choice(
                    [
                        Classification.MATERIALS,
                        Classification.PROCESS,
                        Classification.SYSTEM,
                        Classification.ATTITUDE,
                    ]
                ),
                finding="经核实，办事指南和系统提示存在不清楚之处（示例）",
                measures="已修订办事指南并优化系统提示（示例）",
                reply="感谢您的反馈，我们已完成整改（示例）。",
                replied_at=closed - dt.timedelta(days=1),
                verdict=Verdict.SATISFIED,
                deadline=deadline,
                created_at=opened,
                closed_at=closed,
                closed_on_time=closed.astimezone(LOCAL_TZ).date() <= deadline,
            )
            orders.append(order)
            span = closed - dt.timedelta(days=1) - opened
            for k, (action, frm, to, note) in enumerate(
                [
                    ("opened", "", OrderStatus.OPEN, ""),
                    ("verified", OrderStatus.OPEN, OrderStatus.VERIFIED, order.finding),
                    ("rectified", OrderStatus.VERIFIED, OrderStatus.RECTIFIED, order.measures),
                    ("replied", OrderStatus.RECTIFIED, OrderStatus.REPLIED, order.reply),
                    ("verdict", OrderStatus.REPLIED, OrderStatus.CLOSED, "满意"),
                ]
            ):
                at = opened + span * (k / 3) if k < 4 else closed
                actor = None if k == 0 or k == 4 or lead is None else lead
                label = SYSTEM if k == 0 else RATER_LABEL if k == 4 else None
                steps.append(
                    (
                        order,
                        OrderEvent(
                            at=at,
                            actor_id=actor.user_id if actor else None,
                            actor_label=label or (actor.username if actor else SYSTEM),
                            action=action,
                            from_status=frm,
                            to_status=to,
                            note=note,
                        ),
                    )
                )
        WorkOrder.objects.bulk_create(orders)
        for order, event in steps:
            event.order_id = order.pk
        bulk_insert(OrderEvent, [e for _o, e in steps])
        return len(orders)

    # -- halls -------------------------------------------------------------------------

    def hall_day(self, day: dt.date, counter_cases: list[CaseDraw]) -> None:
        """One day at every demo hall, kept until write_halls: the counter cases' tickets,
        walk-ins, booked visits (kept, missed, cancelled) and the day's wait figures."""
        rng, city = self.rng, self.city
        by_hall = defaultdict(list)
        for c in counter_cases:
            by_hall[c.hall.hall.pk].append(c)
        day_tickets: list[Ticket] = []
        for hall_id, info in sorted(city.halls.items()):
            if not _periods(info.hall, day):
                continue
            level = info.hall.level if info.hall.level in WALK_INS else "district"
            mean_wait = MEAN_WAIT_MINUTES[level] * 60
            for c in by_hall.get(hall_id, []):
                # The number the clerk called before filing the case (帮办).
                called = c.submitted_at - dt.timedelta(minutes=rng.uniform(2, 8))
                day_tickets.append(
                    Ticket(
                        hall_id=hall_id,
                        day=day,
                        item_code=c.service.counter_item,
                        source=rng.choice([TicketSource.KIOSK, TicketSource.RECEPTION]),
                        user_id=c.applicant.user_id,
                        name_masked=_masked(c.applicant.name),
                        status=TicketStatus.DONE,
                        window_id=c.window.pk if c.window else None,
                        clerk_id=c.hall.clerk.user_id,
                        case_id=c.pk,
                        taken_at=called - self._wait(mean_wait),
                        called_at=called,
                        finished_at=c.accepted_at + dt.timedelta(minutes=3),
                        calls=1,
                    )
                )
            for _ in range(self._count(WALK_INS[level])):
                walk_in = self._walk_in(info, day, mean_wait)
                if walk_in is not None:
                    day_tickets.append(walk_in)
            for _ in range(self._count(BOOKINGS_PER_HALL_DAY)):
                visit = self._booking(info, day, mean_wait)
                if visit is not None:
                    day_tickets.append(visit)
        self._number(day_tickets)
        self.tickets += day_tickets

    def _wait(self, mean_seconds: float) -> dt.timedelta:
        return dt.timedelta(seconds=min(self.rng.expovariate(1 / mean_seconds), 5400))

    def _walk_in(self, info: HallInfo, day: dt.date, mean_wait: float) -> Ticket | None:
        """A number taken for something that is not a case filed here: a question, a
        collection, an item the hall handles for someone without an account here."""
        rng, city = self.rng, self.city
        taken = self._hall_time(info, day, after=0, before=45)
        if taken is None or not info.items:
            return None
        item = rng.choice(sorted(info.items))
        windows = [w for w in info.windows if w.serves(item, city.item_departments.get(item))]
        windows = windows or [w for w in info.windows if w.kind == WindowKind.COMPREHENSIVE]
        person = rng.choice(city.residents) if rng.random() < 0.7 else None
        status = rng.choices(
            [TicketStatus.DONE, TicketStatus.SKIPPED, TicketStatus.CANCELLED], weights=[92, 5, 3]
        )[0]
        called = taken + self._wait(mean_wait) if status != TicketStatus.CANCELLED else None
        return Ticket(
            hall_id=info.hall.pk,
            day=day,
            item_code=item,
            source=rng.choice([TicketSource.KIOSK, TicketSource.RECEPTION]),
            user_id=person.user_id if person else None,
            name_masked=_masked(person.name) if person else "",
            status=status,
            window_id=rng.choice(windows).pk if windows and called else None,
            clerk_id=info.clerk.user_id if info.clerk and called else None,
            taken_at=taken,
            called_at=called,
            finished_at=(called or taken) + dt.timedelta(minutes=rng.uniform(4, 20)),
            calls=1 if called else 0,
        )

    def write_halls(self) -> dict[str, int]:
        """Writes what hall_day gathered. The tickets' queue events are not written: nothing
        reads an old day's calls except its wait figures, which are written here directly
        (WaitStat, as queue_sweep computes them)."""
        Slot.objects.bulk_create(self.slots.values(), batch_size=1000)
        for b in self.bookings:
            b.slot_id = b.slot.pk
        Booking.objects.bulk_create(self.bookings, batch_size=1000)
        for t in self.tickets:
            if t.booking is not None:
                t.booking_id = t.booking.pk
        bulk_insert(Ticket, self.tickets)
        stats = self._wait_stats(self.tickets)
        counts = {
            "tickets": len(self.tickets),
            "bookings": len(self.bookings),
            "slots": len(self.slots),
            "wait_stats": stats,
        }
        self.tickets, self.bookings, self.slots = [], [], {}
        return counts

    def _count(self, mean: float) -> int:
        """A small Poisson draw (Knuth's method: means here are a handful)."""
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def _booking(self, info: HallInfo, day: dt.date, mean_wait: float) -> Ticket | None:
        """统一预约: a booked visit — kept (checked in, its ticket called first), missed or
        cancelled beforehand. Returns the visit's ticket when it was kept."""
        rng = self.rng
        if not info.rules:
            return None
        rule = rng.choice(info.rules)
        start = self._hall_time(info, day, after=0, before=rule.slot_minutes)
        if start is None:
            return None
        minute = (start.hour * 60 + start.minute) // rule.slot_minutes * rule.slot_minutes
        starts = _at(day, minute)
        slot = self.slots.get((rule.pk, starts))
        if slot is None:
            if (rule.pk, starts) in self._taken_slots(day):
                return None
            slot = Slot(
                rule=rule,
                hall_id=info.hall.pk,
                item_code=rule.item_code,
                day=day,
                starts_at=starts,
                ends_at=starts + dt.timedelta(minutes=rule.slot_minutes),
                capacity=rule.capacity,
                booked=0,
            )
            self.slots[(rule.pk, starts)] = slot
        status = rng.choices(
            [BookingStatus.COMPLETED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED],
            weights=[80, 10, 10],
        )[0]
        if status != BookingStatus.CANCELLED:
            if slot.booked >= slot.capacity:
                return None
            slot.booked += 1
        person = rng.choice(self.city.residents)
        created = starts - dt.timedelta(days=rng.uniform(1, 7))
        booking = Booking(
            reference=self._reference(day),
            slot=slot,
            user_id=person.user_id,
            booked_by_id=person.user_id,
            status=status,
            created_at=created,
        )
        self.bookings.append(booking)
        if status == BookingStatus.NO_SHOW:
            booking.closed_at = starts + dt.timedelta(minutes=rule.slot_minutes + 30)
            return None
        if status == BookingStatus.CANCELLED:
            booking.closed_at = created + (starts - created) * rng.uniform(0.1, 0.9)
            return None
        taken = starts - dt.timedelta(minutes=rng.uniform(0, 15))
        # Booked visits are called first within their slot: a shorter wait.
        called = taken + self._wait(mean_wait / 3)
        finished = called + dt.timedelta(minutes=rng.uniform(5, 20))
        booking.checked_in_at, booking.closed_at = taken, finished
        windows = [
            w
            for w in info.windows
            if w.serves(rule.item_code, self.city.item_departments.get(rule.item_code))
        ]
        windows = windows or [w for w in info.windows if w.kind == WindowKind.COMPREHENSIVE]
        ticket = Ticket(
            hall_id=info.hall.pk,
            day=day,
            item_code=rule.item_code,
            source=TicketSource.BOOKING,
            user_id=person.user_id,
            name_masked=_masked(person.name),
            status=TicketStatus.DONE,
            slot_starts_at=starts,
            window_id=rng.choice(windows).pk if windows else None,
            clerk_id=info.clerk.user_id if info.clerk else None,
            taken_at=taken,
            called_at=called,
            finished_at=finished,
            calls=1,
        )
        ticket.booking = booking
        return ticket

    def _taken_slots(self, day: dt.date) -> frozenset:
        """Slots the demo already has that day (resident1's past visits): not made twice."""
        if self.existing_slots is None:
            self.existing_slots = defaultdict(set)
            rows = Slot.objects.filter(day__lte=self.last_day).values_list(
                "day", "rule_id", "starts_at"
            )
            for d, rule, starts in rows:
                self.existing_slots[d].add((rule, starts))
        return self.existing_slots.get(day, frozenset())

    def _reference(self, day: dt.date) -> str:
        alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
        while True:
            ref = f"YY{day:%y%m%d}" + "".join(self.rng.choice(alphabet) for _ in range(6))
            if ref not in self.city.receipts:  # one set of used codes is enough for both
                self.city.receipts.add(ref)
                return ref

    def _number(self, tickets: list[Ticket]) -> None:
        """取号: sequence and number (A001 …, B for enterprise items, Y for bookings) in the
        order taken, per hall and day."""
        enterprise_items = {
            s.counter_item
            for s in self.city.services
            if s.subject == "enterprise" and s.counter_item
        }
        for t in sorted(tickets, key=lambda t: (t.hall_id, t.day, t.taken_at)):
            seen = self.sequences[(t.hall_id, t.day)]
            prefix = (
                "Y"
                if t.source == TicketSource.BOOKING
                else "B"
                if t.item_code in enterprise_items
                else "A"
            )
            seen["#"] = seen.get("#", 0) + 1
            seen[prefix] = seen.get(prefix, 0) + 1
            n = seen[prefix]
            t.sequence = seen["#"]
            t.number = f"{prefix}{n:03d}" if n < 1000 else f"{prefix}{n}"

    def _wait_stats(self, tickets: list[Ticket]) -> int:
        """等候时长日统计 as queue_sweep computes it: per hall and day, and per calling window."""
        waits = defaultdict(list)
        for t in tickets:
            if t.called_at is None:
                continue
            wait = max(int((t.called_at - t.taken_at).total_seconds()), 0)
            waits[(t.hall_id, None, t.day)].append(wait)
            if t.window_id:
                waits[(t.hall_id, t.window_id, t.day)].append(wait)
        rows = [
            WaitStat(
                hall_id=hall,
                window_id=window,
                day=day,
                tickets=len(v),
                average_wait_seconds=round(sum(v) / len(v)),
                p90_wait_seconds=sorted(v)[max(math.ceil(0.9 * len(v)) - 1, 0)],
                computed_at=_at(day + dt.timedelta(days=1), 60),
            )
            for (hall, window, day), v in waits.items()
        ]
        bulk_insert(WaitStat, rows)
        return len(rows)

    def discard_files(self) -> None:
        for name in self.stored:
            default_storage.delete(name)
        self.stored.clear()


def bulk_insert(model: type[Model], objs: Sequence[Model], *, batch: int = 5000) -> int:
    """What bulk_create does for rows whose ids nobody reads back, without its per-value
    compiler work (about four times faster here: tens of thousands of event, material and
    ticket rows). Every concrete column is written as the instance holds it — auto_now_add
    fields included, so the history keeps its own times."""
    if not objs:
        return 0
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    sqlite = connection.vendor == "sqlite"

    def converter(f):
        if sqlite and isinstance(f, DateTimeField):
            # What the SQLite backend stores: naive UTC, str() of the datetime.
            return lambda v: None if v is None else str(v.astimezone(dt.UTC).replace(tzinfo=None))
        if isinstance(f, (DateTimeField, DateField, JSONField, FileField, TextField)):
            return lambda v, f=f: f.get_db_prep_save(v, connection)
        return None

    converters = [converter(f) for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    marks = ", ".join(["%s"] * len(fields))
    # Table and column names come from the model, quoted; every value is bound.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
    pairs = list(zip([f.attname for f in fields], converters, strict=True))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch):
            cursor.executemany(
                sql,
                [
                    tuple(c(getattr(o, a)) if c else getattr(o, a) for a, c in pairs)
                    for o in objs[start : start + batch]
                ],
            )
    return len(objs)


def store_file(name: str, content: bytes) -> str:
    """Save CONTENT under NAME in the default storage; returns the name stored. On the file
    system the file is written directly (a fifth of what Storage.save costs, which matters
    for a thousand uploads), never over an existing one."""
    if isinstance(default_storage, FileSystemStorage):
        path = Path(default_storage.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "xb") as fh:
                fh.write(content)
            return name
        except FileExistsError:
            pass
    return default_storage.save(name, ContentFile(content))


def actor_label_for_person(person: Person) -> str:
    """What common.services.actor_label_for writes for that account."""
    return f"user:{person.user_id}:{person.username}"


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _masked(name: str) -> str:
    return f"{name[0]}**" if name else ""


# ---------------------------------------------------------------- the demo's history


@dataclass(frozen=True)
class HistoryResult:
    cases: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    by_channel: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def ensure_demo_history(
    *,
    seed: int = 2026,
    months: int = 13,
    per_month: int = PER_MONTH,
    today: dt.date | None = None,
) -> HistoryResult:
    """Write the demo city's past cases if it has none (see the module docstring); returns
    what was written (cases 0 on a second run, or without a catalog or people)."""
    began = time.perf_counter()
    if months < 1 or per_month < 0:
        raise ValueError("months must be at least 1 and per_month not negative")
    if Application.objects.filter(idempotency_key__startswith=KEY).exists():
        return HistoryResult()
    today = today or timezone.localdate()
    plans = month_plans(today=today, months=months, per_month=per_month)
    first_day, last_day = plans[0].first, plans[-1].last
    writer = None
    try:
        with transaction.atomic():
            city = city_context(seed=seed, since=first_day, today=today)
            if city is None:
                return HistoryResult()
            city.receipts |= set(
                Application.objects.filter(submitted_at__gte=_at(first_day, 0)).values_list(
                    "receipt_no", flat=True
                )
            )
            city.receipts |= set(Booking.objects.values_list("reference", flat=True))
            writer = HistoryWriter(city, seed=seed, last_day=last_day)
            drawn: list[CaseDraw] = []
            for plan in plans:
                drawn += _month(writer, plan)
            counts = writer.write(drawn)
            counts.update(writer.rate(drawn))
            counter_by_day = defaultdict(list)
            for c in drawn:
                if c.channel == Channel.COUNTER:
                    counter_by_day[c.submitted_at.astimezone(LOCAL_TZ).date()].append(c)
            day = first_day
            while day <= last_day:
                writer.hall_day(day, counter_by_day.get(day, []))
                day += dt.timedelta(days=1)
            counts.update(writer.write_halls())
            counts["active_marks"] = _activity(writer, drawn)
            by_channel = {
                str(ch): sum(c.channel == ch for c in drawn)
                for ch in (Channel.ONLINE, Channel.COUNTER)
            }
            audit_record(
                actor_label=ACTOR,
                action="demo.history",
                data={
                    "first_day": first_day.isoformat(),
                    "last_day": last_day.isoformat(),
                    "seed": seed,
                    **by_channel,
                    **counts,
                },
            )
    except BaseException:
        if writer is not None:
            writer.discard_files()
        raise
    return HistoryResult(
        cases=len(drawn),
        first_day=first_day,
        last_day=last_day,
        by_channel=by_channel,
        counts=counts,
        seconds=round(time.perf_counter() - began, 2),
    )


def _month(writer: HistoryWriter, plan: MonthPlan) -> list[CaseDraw]:
    """PLAN's cases spread over its days: online ones on every day (a third as many on days
    off), counter ones on the days a counter hall is open."""
    rng = writer.rng
    days = [plan.first + dt.timedelta(days=i) for i in range((plan.last - plan.first).days + 1)]
    online_weights = [1.0 if works(d) else 0.35 for d in days]
    counter_days = [d for d in days if writer.open_halls(d)]
    counter_weights = [1.0 if works(d) else 0.3 for d in counter_days]
    channels = [Channel.ONLINE] * plan.online + [Channel.COUNTER] * plan.counter
    out = []
    for channel in channels:
        if channel == Channel.COUNTER and counter_days:
            day = rng.choices(counter_days, weights=counter_weights)[0]
        else:
            day, channel = rng.choices(days, weights=online_weights)[0], Channel.ONLINE
        case = writer.draw(day, channel)
        if case is not None:
            out.append(case)
    return out


def _activity(writer: HistoryWriter, cases: list[CaseDraw]) -> int:
    """活跃: the people who filed or rated online were on the platform that day (web or
    phone). The roll-up itself marks the counter's people and enterprises' agents."""
    rng = writer.rng
    seen = [
        (c.submitted_at, c.applicant.user_id)
        for c in cases
        if c.channel == Channel.ONLINE and c.firm is None
    ]
    marks: dict[tuple[dt.date, str], set[int]] = defaultdict(set)
    for at, user_id in [*seen, *writer.rated_online]:
        channel = ActivityChannel.MOBILE if rng.random() < 0.55 else ActivityChannel.WEB
        marks[(at.astimezone(LOCAL_TZ).date(), channel)].add(user_id)
    return sum(
        activity_record(user_ids=ids, channel=channel, audience=Audience.RESIDENT, day=day)
        for (day, channel), ids in sorted(marks.items())
    )
