"""Demo accounts: the logins a tester uses to walk through the demo city.

Everything here is public on purpose: one shared password and a fixed TOTP secret per staff
account, so anyone reading the README can log in. They exist only in the demo city; a real
deployment never runs `ensure_demo_accounts`.

`ensure_demo_accounts()` is idempotent: it creates what is missing, puts staff TOTP back to
the documented secret, and otherwise leaves existing rows alone (a changed password stays
changed). Writes go through the accounts services, so each creation leaves an audit row
naming "system:demo_accounts".
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import (
    AssuranceLevel,
    District,
    Enterprise,
    EnterpriseMembership,
    ResidentProfile,
    StaffAssignment,
    StaffRole,
    User,
)
from tongban.accounts.selectors import agent_today, resident_id_number_hash
from tongban.accounts.services import (
    enterprise_agent_accept,
    enterprise_agent_grant,
    enterprise_create,
    enterprise_membership_grant,
    enterprise_update,
    household_form,
    resident_profile_create,
    resident_profile_update,
    staff_assign,
)
from tongban.catalog.models import Department
from tongban.demo.halls import CITY_CENTRE, PUDONG, XUHUI, ensure_demo_halls
from tongban.demo.population import DEMO_SEQ_FIRST, credit_code, id_number, id_number_hash
from tongban.identity.selectors import mobile_hash

ACTOR = "system:demo_accounts"
DEMO_PASSWORD = "Demo@2026"  # noqa: S105 — demo only: printed in the README and by make run
HUB_DEPARTMENT_MARK = "政务服务中心"
_TOTP_SECRET_SALT = "tongban-demo-totp:"  # noqa: S105 — public by design, see below


def demo_totp_secret(username: str) -> str:
    """The fixed TOTP secret of a demo staff account: base32 of SHA-256("tongban-demo-totp:" +
    username), first 32 characters. Fixed so the README can print it; derived so department
    staff added by a new catalog get one too without editing this file."""
    digest = hashlib.sha256((_TOTP_SECRET_SALT + username).encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:32]


@dataclass(frozen=True)
class DemoAccount:
    """One line of the README's demo-account table."""

    username: str
    role: str  # what a tester uses it for, in Chinese
    department: str  # department, or the enterprises an agent acts for
    password: str
    totp_secret: str  # "" when the account logs in with the password alone
    display_name: str


# ----------------------------------------------------------------------------- people


@dataclass(frozen=True)
class _Person:
    name: str
    region: str
    birth: dt.date
    seq: int  # 900-999: never produced by the population generator
    hukou_district: str
    residence_district: str
    residence_address: str
    marital_status: str
    employment_status: str
    phone: str
    hukou_is_local: bool = True
    has_residence_permit: bool = False
    disability_grade: int | None = None

    def __post_init__(self) -> None:
        if not DEMO_SEQ_FIRST <= self.seq <= 999:
            raise ValueError(f"demo people use 顺序码 {DEMO_SEQ_FIRST}-999, got {self.seq}")

    @property
    def id_number(self) -> str:
        return id_number(self.region, self.birth, self.seq)


@dataclass(frozen=True)
class _ResidentLogin:
    username: str
    role: str
    person: _Person
    elder_mode: bool = False


# 出生一件事: a married local mother of about 31, with her husband on file (no login) so the
# bundle can find the father by his ID number.
_MOTHER = _Person(
    name="李静", region="310104", birth=dt.date(1994, 5, 12), seq=902,
    hukou_district=District.XUHUI, residence_district=District.XUHUI,
    residence_address="上海市徐汇区示例路88弄8号301室", marital_status="married",
    employment_status="在职", phone="13800000001",
)  # fmt: skip
_FATHER = _Person(
    name="王磊", region="310115", birth=dt.date(1992, 11, 3), seq=901,
    hukou_district=District.PUDONG, residence_district=District.XUHUI,
    residence_address="上海市徐汇区示例路88弄8号301室", marital_status="married",
    employment_status="在职", phone="13800000002",
)  # fmt: skip
# Their first child, six by 31 August 2027 (入学提醒 finds the parents).
_SON = _Person(
    name="王小宇", region="310104", birth=dt.date(2021, 3, 15), seq=909,
    hukou_district=District.XUHUI, residence_district=District.XUHUI,
    residence_address="上海市徐汇区示例路88弄8号301室", marital_status="unmarried",
    employment_status="学龄前", phone="",
)  # fmt: skip
# Married couples among the demo people: each one's 结婚证 names the other.
_COUPLES = ((_MOTHER, _FATHER),)


def demo_spouses() -> dict[str, tuple[str, str]]:
    """ID number → (spouse's name, spouse's ID number), for the demo couples."""
    pairs: dict[str, tuple[str, str]] = {}
    for a, b in _COUPLES:
        pairs[a.id_number] = (b.name, b.id_number)
        pairs[b.id_number] = (a.name, a.id_number)
    return pairs


def demo_people_id_numbers() -> list[str]:
    """Every named demo person, with or without a login (王磊, resident1's husband, and the
    two children have none)."""
    people = [*_NO_LOGIN, *(login.person for login in (*_RESIDENTS, *_AGENTS))]
    return [p.id_number for p in people]


# An 80-year-old widow whose card still carries the former 闸北区 code; uses 长者版.
_ELDER = _Person(
    name="张桂英", region="310108", birth=dt.date(1946, 2, 18), seq=904,
    hukou_district=District.JINGAN, residence_district=District.JINGAN,
    residence_address="上海市静安区示例路12弄3号102室", marital_status="widowed",
    employment_status="退休", phone="13800000003",
)  # fmt: skip
# 张桂英's daughter, on her 户口 and living with her: she applies online for her mother
# (亲友代办, authorised for every item) — the 为母亲办理 walk-through.
_ELDER_DAUGHTER = _Person(
    name="刘晓梅", region="310106", birth=dt.date(1972, 8, 9), seq=910,
    hukou_district=District.JINGAN, residence_district=District.JINGAN,
    residence_address="上海市静安区示例路12弄3号102室", marital_status="married",
    employment_status="在职", phone="13800000007",
)  # fmt: skip
_DISABLED = _Person(
    name="陈志强", region="310110", birth=dt.date(1978, 9, 21), seq=903,
    hukou_district=District.YANGPU, residence_district=District.YANGPU,
    residence_address="上海市杨浦区示例路256弄5号601室", marital_status="divorced",
    employment_status="灵活就业", phone="13800000004", disability_grade=2,
)  # fmt: skip
# 陈志强's daughter, who lives with him: a household on 1,200 元 a head (政策找人 finds it).
_DAUGHTER = _Person(
    name="陈思雨", region="310110", birth=dt.date(2014, 6, 2), seq=908,
    hukou_district=District.YANGPU, residence_district=District.YANGPU,
    residence_address="上海市杨浦区示例路256弄5号601室", marital_status="unmarried",
    employment_status="在校学生", phone="",
)  # fmt: skip
_REPRESENTATIVE = _Person(
    name="周明", region="310115", birth=dt.date(1983, 7, 15), seq=905,
    hukou_district=District.PUDONG, residence_district=District.PUDONG,
    residence_address="上海市浦东新区示例路1000弄10号1201室", marital_status="married",
    employment_status="在职", phone="13800000005",
)  # fmt: skip
# A non-local agent: hukou in 合肥, lives in 闵行 on a 居住证.
_AGENT = _Person(
    name="吴芳", region="340104", birth=dt.date(1990, 1, 26), seq=906,
    hukou_district="", residence_district=District.MINHANG,
    residence_address="上海市闵行区示例路66弄6号502室", marital_status="unmarried",
    employment_status="在职", phone="13800000006", hukou_is_local=False,
    has_residence_permit=True,
)  # fmt: skip

_RESIDENTS = (
    _ResidentLogin("resident1", "居民：新生儿母亲（出生一件事）", _MOTHER),
    _ResidentLogin("resident2", "居民：80岁老人（长者版）", _ELDER, elder_mode=True),
    _ResidentLogin("resident3", "居民：二级残疾人", _DISABLED),
    _ResidentLogin("relative1", "居民：长者的女儿（亲友代办，可为母亲办理）", _ELDER_DAUGHTER),
)
_AGENTS = (
    _ResidentLogin("agent1", "企业：法定代表人", _REPRESENTATIVE),
    _ResidentLogin("agent2", "企业：经办人（两家企业）", _AGENT),
)
_NO_LOGIN = (_FATHER, _SON, _DAUGHTER)
# The demo households (户): (number, district, [(person, relation to the head, 月收入)]).
_HOUSEHOLDS = (
    ("310104D0000001", District.XUHUI,
     [(_MOTHER, "head", 9800), (_FATHER, "spouse", 12000), (_SON, "child", 0)]),
    ("310106D0000002", District.JINGAN,
     [(_ELDER, "head", 3600), (_ELDER_DAUGHTER, "child", 9200)]),
    ("310110D0000003", District.YANGPU, [(_DISABLED, "head", 2400), (_DAUGHTER, "child", 0)]),
    ("310115D0000004", District.PUDONG, [(_REPRESENTATIVE, "head", 15000)]),
    ("", "", [(_AGENT, "", 9000)]),  # non-local: her 户 is in 合肥; the income is known here
)  # fmt: skip


# ----------------------------------------------------------------------------- enterprises


@dataclass(frozen=True)
class _Company:
    key: str
    uscc: str
    name: str
    type: str
    legal_representative: str
    legal_representative_id_number: str
    registered_capital: Decimal
    industry_code: str
    district: str
    address: str
    founded_on: dt.date
    employees: int
    # What 惠企政策 read (一企一档).
    facts: dict


def _demo_uscc(region: str, org8: str) -> str:
    return credit_code(entity_type="1", region=region, org8=org8)


# Organisation codes starting "TB" are never produced by the generator (its codes are eight
# digits or "MA" + six characters), so these cannot collide with generated enterprises.
_TECH = _Company(
    key="tech", uscc=_demo_uscc("310115", "TB000001"), name="示例（上海）通办科技有限公司",
    type="llc", legal_representative=_REPRESENTATIVE.name,
    legal_representative_id_number=_REPRESENTATIVE.id_number,
    registered_capital=Decimal("500"), industry_code="6513", district=District.PUDONG,
    address="上海市浦东新区示例路1号8层", founded_on=dt.date(2018, 3, 1), employees=45,
    facts={"size": "small", "annual_revenue": Decimal("3200.00"), "tax_credit_rating": "A",
           "insured_headcount": 42, "layoff_rate": Decimal("0.00"), "is_high_tech": True},
)  # fmt: skip
_RESTAURANT = _Company(
    key="restaurant", uscc=_demo_uscc("310101", "TB000002"),
    name="示例（上海）浦江餐饮管理有限公司", type="llc", legal_representative="赵建国",
    legal_representative_id_number=id_number("310101", dt.date(1968, 4, 9), 907),
    registered_capital=Decimal("100"), industry_code="6210", district=District.HUANGPU,
    address="上海市黄浦区示例路20号", founded_on=dt.date(2012, 6, 18), employees=22,
    facts={"size": "small", "annual_revenue": Decimal("860.00"), "tax_credit_rating": "B",
           "insured_headcount": 20, "layoff_rate": Decimal("4.50"), "is_high_tech": False},
)  # fmt: skip

# (username, company, role): made by the back office, live at once with the whole scope.
_MEMBERSHIPS = (
    ("agent1", _TECH, EnterpriseMembership.Role.LEGAL_REPRESENTATIVE),
    ("agent2", _RESTAURANT, EnterpriseMembership.Role.AGENT),
)


@dataclass(frozen=True)
class _AgentGrant:
    """企业授权 the legal representative (agent1) made on 企业专属网页."""

    person: _Person
    company: _Company
    items: tuple[str, ...]
    may_certificates: bool
    may_idcode: bool
    days: int | None  # the end date, counted from the day the demo is set up
    accepted: bool


# 吴芳 (agent2) accepted a limited authority: two subsidy items and the tax preferences, the
# certificates but not the 随申码, for a year. 陈志强 (resident3) has not yet answered his.
_AGENT_GRANTS = (
    _AgentGrant(_AGENT, _TECH, ("SH-RSJ-0501", "SH-RSJ-0502", "SH-SWJ-0201"),
                may_certificates=True, may_idcode=False, days=365, accepted=True),
    _AgentGrant(_DISABLED, _TECH, ("SH-GJJ-0101", "SH-RSJ-0201"),
                may_certificates=False, may_idcode=True, days=180, accepted=False),
)  # fmt: skip


def _ensure_agent_grants(enterprises: dict[str, Enterprise], people: dict[str, User]) -> None:
    """Through the same services as the page, so the 授权记录 reads as it would. A grant is
    made once: a tester who revoked or changed it keeps their change."""
    from tongban.accounts.selectors import agent_service_choices

    known = {code for code, _ in agent_service_choices()}
    granter = people["agent1"]
    today = agent_today()
    for grant in _AGENT_GRANTS:
        enterprise = enterprises[grant.company.key]
        id_hash = resident_id_number_hash(grant.person.id_number)
        if EnterpriseMembership.objects.filter(
            enterprise=enterprise, invitee_id_hash=id_hash
        ).exists():
            continue
        membership = enterprise_agent_grant(
            actor=granter,
            enterprise_id=enterprise.pk,
            id_number=grant.person.id_number,
            name=grant.person.name,
            # Without a loaded catalog (a bare test database) the scope cannot name items.
            items=[c for c in grant.items if c in known],
            may_certificates=grant.may_certificates,
            may_idcode=grant.may_idcode,
            expires_on=today + dt.timedelta(days=grant.days) if grant.days else None,
            today=today,
        )
        if grant.accepted:
            invitee = User.objects.get(resident_profile__id_number_hash=id_hash)
            enterprise_agent_accept(user=invitee, membership_id=membership.pk, today=today)


def _ensure_relative_delegation(people: dict[str, User]) -> None:
    """亲友代办: 张桂英 (resident2) authorised her daughter (relative1) for every item, for
    two years, and the daughter accepted — through the same services as the pages. Made once:
    a tester who revoked it keeps the revocation."""
    from tongban.delegation.models import Delegation
    from tongban.delegation.selectors import today
    from tongban.delegation.services import delegation_accept, delegation_propose

    mother, daughter = people["resident2"], people["relative1"]
    if Delegation.objects.filter(
        principal__user=mother, agent_id_hash=id_number_hash(_ELDER_DAUGHTER.id_number)
    ).exists():
        return
    on = today()
    delegation = delegation_propose(
        principal_user=mother,
        agent_id_number=_ELDER_DAUGHTER.id_number,
        agent_name=_ELDER_DAUGHTER.name,
        items=[],
        valid_until=on.replace(year=on.year + 2, day=min(on.day, 28)),
    )
    delegation_accept(user=daughter, delegation_id=delegation.pk)


# ----------------------------------------------------------------------------- staff


@dataclass(frozen=True)
class _StaffPost:
    username: str
    role: str  # StaffRole
    department: Department | None
    display_name: str
    superuser: bool = False
    hall: str = ""  # code of the demo hall a counter clerk or issuer sits in


def department_slug(code: str, *, keep_prefix: bool = False) -> str:
    """A username-friendly form of a department code: "SH-GA" -> "ga". The first segment is
    the city's prefix that every department shares, so it is dropped unless KEEP_PREFIX."""
    parts = [p for p in re.split(r"[^a-z0-9]+", code.lower()) if p]
    if len(parts) > 1 and not keep_prefix:
        parts = parts[1:]
    return "_".join(parts)[:60] or "dept"


def department_slugs(departments: list[Department]) -> dict[int, str]:
    """Slugs per department id; departments whose short slugs clash ("SH-GA", "BJ-GA") keep
    their prefix, so two departments never share a staff account."""
    short = {d.pk: department_slug(d.code) for d in departments}
    clashes = {slug for slug, n in Counter(short.values()).items() if n > 1}
    return {
        d.pk: department_slug(d.code, keep_prefix=True) if short[d.pk] in clashes else short[d.pk]
        for d in departments
    }


def hub_department(departments: list[Department]) -> Department | None:
    """Where the city-wide posts sit: the city-level 政务服务中心 if the catalog has one (a
    district centre if not), else the first department."""
    hubs = [d for d in departments if HUB_DEPARTMENT_MARK in d.name]
    city_level = [d for d in hubs if d.region_code.endswith("0000")]
    for candidates in (city_level, hubs, departments):
        if candidates:
            return candidates[0]
    return None


def _staff_posts(departments: list[Department]) -> list[_StaffPost]:
    posts: list[_StaffPost] = []
    slugs = department_slugs(departments)
    for department in departments:
        short = department.short_name or department.name
        slug = slugs[department.pk]
        posts.append(
            _StaffPost(f"{slug}_acceptor", StaffRole.ACCEPTOR, department, f"{short}受理员（示例）")
        )
        posts.append(
            _StaffPost(f"{slug}_reviewer", StaffRole.REVIEWER, department, f"{short}审核员（示例）")
        )
        # Overdue tasks are escalated to the lead, who reads the department's queue.
        posts.append(
            _StaffPost(
                f"{slug}_lead", StaffRole.DEPARTMENT_LEAD, department, f"{short}负责人（示例）"
            )
        )
    hub = hub_department(departments)
    if hub is not None:
        # The district hall's posts belong to the district centre when the catalog has one.
        pudong = next((d for d in departments if HUB_DEPARTMENT_MARK in d.name
                       and "浦东" in d.name and d.pk != hub.pk), hub)  # fmt: skip
        posts += [
            _StaffPost(
                "counter", StaffRole.COUNTER_CLERK, hub, "综合窗口（示例）", hall=CITY_CENTRE
            ),
            _StaffPost(
                "counter_pd", StaffRole.COUNTER_CLERK, pudong, "浦东综合窗口（示例）", hall=PUDONG
            ),
            _StaffPost(
                "issuer", StaffRole.ISSUER, hub, "市民中心出件窗口（示例）", hall=CITY_CENTRE
            ),
            _StaffPost("issuer_pd", StaffRole.ISSUER, pudong, "浦东出件窗口（示例）", hall=PUDONG),
            _StaffPost("issuer_xh", StaffRole.ISSUER, hub, "徐汇出件窗口（示例）", hall=XUHUI),
            _StaffPost("service_owner", StaffRole.SERVICE_OWNER, hub, "事项管理员（示例）"),
            _StaffPost("operator", StaffRole.CITY_OPERATOR, hub, "城市运营（示例）"),
            _StaffPost("helpdesk", StaffRole.HELPDESK, hub, "在线客服（示例）"),
            _StaffPost("admin", StaffRole.ADMINISTRATOR, hub, "系统管理员（示例）", True),
        ]
    return posts


_STAFF_ROLE_LABEL = {
    StaffRole.ACCEPTOR: "部门受理",
    StaffRole.REVIEWER: "部门审核",
    StaffRole.DEPARTMENT_LEAD: "部门负责人（超期督办）",
    StaffRole.COUNTER_CLERK: "综合窗口（帮办、扫码、叫号）",
    StaffRole.ISSUER: "统一出件（窗口领取、邮寄）",
    StaffRole.SERVICE_OWNER: "事项管理",
    StaffRole.CITY_OPERATOR: "城市运营（指标、差评整改）",
    StaffRole.HELPDESK: "在线客服（转人工、留言答复、在线帮办）",
    StaffRole.ADMINISTRATOR: "系统管理员（Django admin）",
}


# ----------------------------------------------------------------------------- ensure


class _Users:
    """Creates missing users with the shared demo password.

    The password is hashed once and the hash reused: a fresh PBKDF2 hash per account would
    cost ~0.3 s each on the first `make run`. Sharing the salt reveals only that the
    accounts share a password, which the README says anyway.
    """

    def __init__(self) -> None:
        self._hash: str | None = None

    def get_or_create(self, username: str, **fields) -> User:
        user = User.objects.filter(username=username).first()
        if user is not None:
            return user
        if self._hash is None:
            self._hash = make_password(DEMO_PASSWORD)
        user = User.objects.create_user(username=username, password=None, **fields)
        user.password = self._hash
        user.save(update_fields=["password"])
        return user


def _ensure_profile(person: _Person, user: User | None) -> ResidentProfile:
    number_hash = id_number_hash(person.id_number)
    profile = ResidentProfile.objects.filter(id_number_hash=number_hash).first()
    if profile is None:
        return resident_profile_create(
            actor=ACTOR,
            user=user,
            name=person.name,
            id_number=person.id_number,
            phone=person.phone,
            hukou_district=person.hukou_district,
            hukou_is_local=person.hukou_is_local,
            residence_district=person.residence_district,
            residence_address=person.residence_address,
            marital_status=person.marital_status,
            disability_grade=person.disability_grade,
            has_residence_permit=person.has_residence_permit,
            employment_status=person.employment_status,
            is_synthetic=True,
        )
    if user is not None and profile.user_id is None:
        # The login was deleted (profile.user is SET_NULL) and has just been recreated.
        profile.user = user
        profile.save(update_fields=["user", "updated_at"])
    return profile


def _ensure_enterprise(company: _Company) -> Enterprise:
    enterprise = Enterprise.objects.filter(uscc=company.uscc).first()
    if enterprise is None:
        enterprise = _create_enterprise(company)
    # Writes only what differs: a second run changes nothing.
    return enterprise_update(actor=ACTOR, enterprise=enterprise, changes=company.facts)


def _create_enterprise(company: _Company) -> Enterprise:
    return enterprise_create(
        actor=ACTOR,
        uscc=company.uscc,
        name=company.name,
        type=company.type,
        legal_representative=company.legal_representative,
        legal_representative_id_number=company.legal_representative_id_number,
        registered_capital=company.registered_capital,
        industry_code=company.industry_code,
        district=company.district,
        address=company.address,
        founded_on=company.founded_on,
        employees=company.employees,
        is_synthetic=True,
    )


def _ensure_households() -> None:
    for number, district, members in _HOUSEHOLDS:
        profiles = [
            (ResidentProfile.objects.get(id_number_hash=id_number_hash(p.id_number)), r, income)
            for p, r, income in members
        ]
        for profile, _, income in profiles:
            resident_profile_update(
                actor=ACTOR, profile=profile, changes={"monthly_income": Decimal(income)}
            )
        if number and profiles[0][0].household_id is None:
            household_form(
                actor=ACTOR,
                number=number,
                district=district,
                members=[(profile, relation) for profile, relation, _ in profiles],
                is_synthetic=True,
            )


def _ensure_registered(user: User, person: _Person) -> None:
    """The demo residents stand for people who registered online: 已实名核验, with the
    mobile on their profile confirmed, so password reset by SMS works for them too. Only ever
    raised: a level a tester reached at the counter stays."""
    if user.assurance_level >= AssuranceLevel.REAL_NAME and user.mobile_confirmed_at:
        return
    now = timezone.now()
    if user.assurance_level < AssuranceLevel.REAL_NAME:
        user.assurance_level, user.assurance_at = AssuranceLevel.REAL_NAME, now
    if person.phone and not user.mobile_confirmed_at:
        user.mobile_hash, user.mobile_confirmed_at = mobile_hash(person.phone), now
    user.save(
        update_fields=["assurance_level", "assurance_at", "mobile_hash", "mobile_confirmed_at"]
    )


def _ensure_totp(user: User) -> None:
    secret = demo_totp_secret(user.username)
    if user.totp_enabled and user.totp_secret == secret:
        return
    user.totp_secret = secret
    user.totp_enabled = True
    user.totp_last_step = 0
    user.save(update_fields=["totp_secret", "totp_enabled", "totp_last_step"])


@transaction.atomic
def ensure_demo_accounts() -> list[DemoAccount]:
    """Create (once) the demo residents, enterprise agents and staff; return the table of
    logins. Staff are made for every active department in the database, so run it after the
    catalog is loaded."""
    users = _Users()
    table: list[DemoAccount] = []

    for person in _NO_LOGIN:
        _ensure_profile(person, None)
    people: dict[str, User] = {}
    for login in (*_RESIDENTS, *_AGENTS):
        people[login.username] = users.get_or_create(
            login.username,
            kind=User.Kind.PERSON,
            display_name=f"{login.person.name}（示例）",
            elder_mode=login.elder_mode,
        )
        _ensure_profile(login.person, people[login.username])
        _ensure_registered(people[login.username], login.person)

    _ensure_households()
    enterprises = {c.key: _ensure_enterprise(c) for c in (_TECH, _RESTAURANT)}
    acts_for: dict[str, list[str]] = {}
    for username, company, role in _MEMBERSHIPS:
        enterprise = enterprises[company.key]
        user = people[username]
        # Granting is idempotent too, but a tester may have changed the role (or revoked
        # the authority) on purpose.
        if not EnterpriseMembership.objects.filter(user=user, enterprise=enterprise).exists():
            enterprise_membership_grant(actor=ACTOR, enterprise=enterprise, user=user, role=role)
        acts_for.setdefault(username, []).append(company.name)
    _ensure_agent_grants(enterprises, people)
    _ensure_relative_delegation(people)
    for grant in _AGENT_GRANTS:
        login = next((x for x in (*_RESIDENTS, *_AGENTS) if x.person == grant.person), None)
        if grant.accepted and login is not None:
            acts_for.setdefault(login.username, []).insert(0, grant.company.name)
    for login in (*_RESIDENTS, *_AGENTS):
        table.append(
            DemoAccount(
                username=login.username,
                role=login.role,
                department="、".join(acts_for.get(login.username, [])),
                password=DEMO_PASSWORD,
                totp_secret="",
                display_name=people[login.username].display_name,
            )
        )

    halls = ensure_demo_halls()
    departments = list(Department.objects.filter(is_active=True).order_by("code"))
    posts = _staff_posts(departments)
    if not posts:
        # No catalog yet: still give the tester a way into Django admin.
        posts = [_StaffPost("admin", StaffRole.ADMINISTRATOR, None, "系统管理员（示例）", True)]
    for post in posts:
        user = users.get_or_create(
            post.username,
            kind=User.Kind.STAFF,
            display_name=post.display_name,
            is_staff=post.superuser,
            is_superuser=post.superuser,
        )
        _ensure_totp(user)
        hall = halls[post.hall] if post.hall else None
        if (
            post.department is not None
            and not StaffAssignment.objects.filter(
                user=user, department=post.department, role=post.role, hall=hall
            ).exists()
        ):
            # Also gives a post made before halls existed its hall (recorded as a change).
            staff_assign(
                actor=ACTOR, user=user, department=post.department, role=post.role, hall=hall
            )
        where = post.department.name if post.department else ""
        table.append(
            DemoAccount(
                username=post.username,
                role=_STAFF_ROLE_LABEL[post.role],
                department=f"{where}·{hall.name}" if hall is not None else where,
                password=DEMO_PASSWORD,
                totp_secret=demo_totp_secret(post.username),
                display_name=post.display_name,
            )
        )
    return table


def demo_accounts_markdown(accounts: list[DemoAccount]) -> str:
    """The README table. TOTP codes: `.venv/bin/python -c "import pyotp;
    print(pyotp.TOTP('SECRET').now())"`."""
    lines = [
        "| 用户名 | 角色 | 部门 / 企业 | 密码 | TOTP 密钥 |",
        "|---|---|---|---|---|",
    ]
    for a in accounts:
        secret = f"`{a.totp_secret}`" if a.totp_secret else "—"
        lines.append(
            f"| `{a.username}` | {a.role} | {a.department or '—'} | `{a.password}` | {secret} |"
        )
    return "\n".join(lines)
