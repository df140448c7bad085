"""The synthetic population, the demo accounts and the commands that load them."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter

import pyotp
import pytest
from django.core.management import call_command
from django.db import connection

from tongban.accounts.models import (
    Enterprise,
    EnterpriseMembership,
    ResidentProfile,
    StaffAssignment,
    StaffRole,
    User,
)
from tongban.accounts.services import login_password_step, login_totp_step
from tongban.accounts.validators import (
    id_number_check_char,
    parse_credit_code,
    parse_id_number,
)
from tongban.catalog.models import Department
from tongban.common.crypto import decrypt_text, lookup_hash
from tongban.common.models import AuditEvent
from tongban.demo import population
from tongban.demo.accounts import (
    DEMO_PASSWORD,
    demo_accounts_markdown,
    demo_totp_secret,
    department_slug,
    ensure_demo_accounts,
)
from tongban.demo.management.commands import city_setup as city_setup_command
from tongban.demo.population import (
    EnterpriseMaker,
    NamePools,
    ResidentMaker,
    SeqCounters,
    generate_enterprises,
    generate_residents,
    id_check_char,
    organisation_code_body,
)

pytestmark = pytest.mark.django_db


def _people() -> list[tuple[str, str]]:
    return sorted((p.id_number, p.name) for p in ResidentProfile.objects.all())


# ----------------------------------------------------------------------------- ID numbers


def test_fast_check_character_agrees_with_the_validator():
    rng = random.Random(1)
    for _ in range(2000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        assert id_check_char(first17) == id_number_check_char(first17)


def test_every_generated_id_number_is_valid_and_matches_birth_date_and_sex():
    assert generate_residents(count=3000, seed=11, batch_size=700, progress=False) == 3000

    profiles = list(ResidentProfile.objects.all())
    assert len(profiles) == 3000
    for p in profiles:
        facts = parse_id_number(p.id_number)
        assert (facts.birth_date, facts.sex) == (p.birth_date, p.sex)
        assert p.id_number_hash == lookup_hash(p.id_number, context="resident.id_number")
        assert dt.date(1930, 1, 1) <= p.birth_date <= dt.date(2025, 12, 31)
        assert int(p.id_number[14:17]) < population.DEMO_SEQ_FIRST
        assert p.is_synthetic is True
    assert len({p.id_number for p in profiles}) == 3000


def test_generated_residents_are_consistent_with_their_age_and_hukou():
    generate_residents(count=4000, seed=5, progress=False)
    ref = population.REFERENCE_DATE
    rows = list(ResidentProfile.objects.all())
    for p in rows:
        age = ref.year - p.birth_date.year
        legal_age = 22 if p.sex == "M" else 20
        if age < legal_age:
            assert p.marital_status == "unmarried", (age, p.sex, p.marital_status)
        if p.is_veteran:
            assert age >= 20
        if p.hukou_is_local:
            assert p.hukou_district != ""
            assert p.has_residence_permit is False
        else:
            assert p.hukou_district == ""
            assert p.id_number[:2] != "31"
        assert p.residence_district != ""
        assert p.residence_address.startswith("上海市")
        assert p.phone == "" if age < 12 else len(p.phone) == 11
        assert not (p.is_low_income and p.is_minimum_living_allowance)
        assert p.disability_grade in (None, 1, 2, 3, 4)
        assert p.employment_status in population.EMPLOYMENT_STATUSES

    def share(predicate) -> float:
        return sum(1 for p in rows if predicate(p)) / len(rows)

    # Rates are random draws: assert they land near the targets, not exactly on them.
    assert 0.55 <= share(lambda p: p.hukou_is_local) <= 0.61
    assert 0.022 <= share(lambda p: p.disability_grade is not None) <= 0.04
    assert 0.015 <= share(lambda p: p.is_low_income) <= 0.026
    assert 0.005 <= share(lambda p: p.is_minimum_living_allowance) <= 0.015
    adults = [p for p in rows if ref.year - p.birth_date.year >= 18]
    assert 0.010 <= sum(p.is_veteran for p in adults) / len(adults) <= 0.02
    assert 0.20 <= share(lambda p: ref.year - p.birth_date.year >= 60) <= 0.32


def test_two_runs_never_repeat_an_id_number():
    generate_residents(count=2500, seed=3, progress=False)
    generate_residents(count=2500, seed=3, progress=False)

    numbers = [p.id_number for p in ResidentProfile.objects.all()]
    assert len(numbers) == 5000
    assert len(set(numbers)) == 5000
    assert ResidentProfile.objects.values("id_number_hash").distinct().count() == 5000


def test_counters_continue_after_existing_people_and_spill_into_the_next_day():
    day = dt.date(1990, 3, 7)
    index = day.toordinal() - dt.date(1930, 1, 1).toordinal()
    counters = SeqCounters()
    # Slot n is shuffled to (137n + 11) mod 450; 顺序码 = 2 * that + 1 for men.
    assert counters.take(index, True) == (index, 23)
    assert counters.take(index, True) == (index, 297)
    assert counters.take(index, False) == (index, 22)

    full = SeqCounters()
    seqs = {full.take(index, False)[1] for _ in range(450)}
    assert seqs == set(range(0, 900, 2))
    assert full.take(index, False) == (index + 1, 22)


def test_a_number_already_held_by_a_row_made_elsewhere_is_reissued():
    birth = dt.date(1990, 3, 7)
    # The clerk's row takes the day's first slot count; the generator's next female number
    # on that day (slot 1 -> 顺序码 296) is the very number someone typed in by hand.
    typed = population.id_number("310104", birth, 296)
    ResidentProfile.objects.create(
        name="手工录入",
        id_number=typed,
        id_number_hash=lookup_hash(typed, context="resident.id_number"),
        birth_date=birth,
        sex="F",
    )
    maker = ResidentMaker(seed=1, counters=SeqCounters.from_database(), pools=NamePools.build(1))
    index = birth.toordinal() - dt.date(1930, 1, 1).toordinal()
    ident = maker.identity("310104", index, False)
    assert ident.number == typed
    fields = {"id_number": ident.number, "id_number_hash": ident.hash, "birth_date": birth}

    population._reissue_taken_numbers(maker, [(ident, fields)])

    assert fields["id_number"] == population.id_number("310104", birth, 570)
    assert fields["id_number_hash"] == lookup_hash(
        fields["id_number"], context="resident.id_number"
    )


def test_the_same_seed_gives_the_same_people_and_another_seed_does_not():
    generate_residents(count=400, seed=7, batch_size=150, progress=False)
    first = _people()
    ResidentProfile.objects.all().delete()
    generate_residents(count=400, seed=7, batch_size=400, progress=False)
    again = _people()
    ResidentProfile.objects.all().delete()
    generate_residents(count=400, seed=8, progress=False)
    other = _people()

    assert first == again
    assert len(first) == 400
    assert first != other


def test_id_number_is_ciphertext_in_the_table_and_the_hash_finds_the_person():
    generate_residents(count=50, seed=2, progress=False)
    person = ResidentProfile.objects.exclude(phone="").order_by("pk").first()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, phone, residence_address FROM accounts_residentprofile "
            "WHERE id = %s",
            [person.pk],
        )
        stored_id, stored_phone, stored_address = cursor.fetchone()

    for stored, plain in (
        (stored_id, person.id_number),
        (stored_phone, person.phone),
        (stored_address, person.residence_address),
    ):
        assert stored.startswith("v1:")
        assert plain not in stored
    assert decrypt_text(stored_id, context="resident.id_number") == person.id_number
    assert decrypt_text(stored_phone, context="resident.phone") == person.phone
    found = ResidentProfile.objects.get(
        id_number_hash=lookup_hash(person.id_number, context="resident.id_number")
    )
    assert found.pk == person.pk


# ----------------------------------------------------------------------------- enterprises


def test_every_generated_credit_code_is_valid_and_agrees_with_the_row():
    assert generate_enterprises(count=1500, seed=4, batch_size=400, progress=False) == 1500

    rows = list(Enterprise.objects.all())
    assert len({e.uscc for e in rows}) == 1500
    for e in rows:
        facts = parse_credit_code(e.uscc)
        assert facts.registration_authority == "9"
        assert facts.entity_type == ("2" if e.type == "individual" else "1")
        assert facts.region_code == e.district
        assert facts.organisation_code.startswith("MA") == (e.founded_on.year >= 2016)
        assert e.name.startswith("示例")
        assert e.industry_code in {i.code for i in population.INDUSTRIES}
        assert e.is_synthetic is True
        parse_id_number(e.legal_representative_id_number)
    assert Counter(e.status for e in rows).most_common(1)[0][0] == "active"


def test_enterprise_codes_never_repeat_across_runs():
    generate_enterprises(count=800, seed=9, progress=False)
    generate_enterprises(count=800, seed=9, progress=False)
    assert Enterprise.objects.values("uscc").distinct().count() == 1600


def test_organisation_codes_are_a_bijection_of_the_enterprise_number():
    assert organisation_code_body(0, ma_era=False) == "12345678"
    assert organisation_code_body(1, ma_era=False) == "86284811"
    assert organisation_code_body(0, ma_era=True) == "MA00000H"
    digits = {organisation_code_body(k, ma_era=False) for k in range(20000)}
    ma = {organisation_code_body(k, ma_era=True) for k in range(20000)}
    assert len(digits) == len(ma) == 20000


def test_a_credit_code_already_held_elsewhere_is_reissued():
    maker = EnterpriseMaker(seed=1, first_k=0, pools=NamePools.build(1))
    row = maker.make()
    Enterprise.objects.create(**{**row, "name": "手工录入的企业"})

    population._reissue_taken_codes(maker, [row])

    assert maker.next_k == 2
    assert not Enterprise.objects.filter(uscc=row["uscc"]).exists()
    parse_credit_code(row["uscc"])


# ----------------------------------------------------------------------------- demo accounts


@pytest.fixture
def departments():
    return [
        Department.objects.create(code="SH-GA", name="示例市公安局", region_code="310000"),
        Department.objects.create(
            code="SH-ZWFW", name="示例市政务服务中心", short_name="市政务服务中心",
            region_code="310000",
        ),
    ]  # fmt: skip


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "profiles": ResidentProfile.objects.count(),
        "enterprises": Enterprise.objects.count(),
        "memberships": EnterpriseMembership.objects.count(),
        "assignments": StaffAssignment.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def test_ensure_demo_accounts_is_idempotent(departments):
    first = ensure_demo_accounts()
    after_first = _counts()
    second = ensure_demo_accounts()

    assert first == second
    assert _counts() == after_first
    assert {k: v for k, v in after_first.items() if k != "audit"} == {
        # 4 residents (relative1 acts for resident2) + 2 agents + 2 x 3 department staff
        # (acceptor, reviewer, lead) + 9 city-wide (2 counters, 3 issuers, service owner,
        # operator, helpdesk, admin)
        "users": 21,
        # The 6 people with logins, the new mother's husband and son, 陈志强's daughter.
        "profiles": 9,
        "enterprises": 2,
        # agent1 and agent2 live at once; agent2 accepted a limited grant from agent1;
        # resident3 has an invitation he has not answered.
        "memberships": 4,
        "assignments": 15,
    }
    assert [a.username for a in first] == [
        "resident1", "resident2", "resident3", "relative1", "agent1", "agent2",
        "ga_acceptor", "ga_reviewer", "ga_lead", "zwfw_acceptor", "zwfw_reviewer", "zwfw_lead",
        "counter", "counter_pd", "issuer", "issuer_pd", "issuer_xh",
        "service_owner", "operator", "helpdesk", "admin",
    ]  # fmt: skip


def test_demo_staff_have_totp_with_the_documented_secret(departments):
    accounts = ensure_demo_accounts()
    staff = [a for a in accounts if a.totp_secret]

    assert len(staff) == 15
    assert demo_totp_secret("admin") == "SXD3Q2VQYUSSN2JMA76LY35CTCYBS5EC"
    for a in staff:
        user = User.objects.get(username=a.username)
        assert user.kind == User.Kind.STAFF
        assert user.totp_enabled is True
        assert user.totp_secret == a.totp_secret == demo_totp_secret(a.username)
        assert user.check_password(DEMO_PASSWORD)
    for a in accounts:
        if not a.totp_secret:
            assert User.objects.get(username=a.username).totp_enabled is False

    admin = User.objects.get(username="admin")
    assert (admin.is_staff, admin.is_superuser) == (True, True)
    hub = Department.objects.get(code="SH-ZWFW")
    assert set(StaffAssignment.objects.filter(department=hub).values_list("role", flat=True)) == {
        StaffRole.ACCEPTOR, StaffRole.REVIEWER, StaffRole.DEPARTMENT_LEAD,
        StaffRole.COUNTER_CLERK, StaffRole.ISSUER,
        StaffRole.SERVICE_OWNER, StaffRole.CITY_OPERATOR, StaffRole.HELPDESK,
        StaffRole.ADMINISTRATOR,
    }  # fmt: skip
    reviewer = StaffAssignment.objects.get(user__username="ga_reviewer")
    assert (reviewer.department.code, reviewer.role) == ("SH-GA", StaffRole.REVIEWER)
    lead = StaffAssignment.objects.get(user__username="ga_lead")
    assert (lead.department.code, lead.role) == ("SH-GA", StaffRole.DEPARTMENT_LEAD)


def test_a_demo_reviewer_logs_in_with_password_and_a_code_from_the_documented_secret(
    departments,
):
    ensure_demo_accounts()
    user = login_password_step(username="ga_reviewer", password=DEMO_PASSWORD, ip_address=None)
    code = pyotp.TOTP(demo_totp_secret("ga_reviewer")).now()
    login_totp_step(user=user, code=code, ip_address=None)
    assert User.objects.get(username="ga_reviewer").totp_last_step > 0


def test_ensure_demo_accounts_restores_a_changed_totp_secret(departments):
    ensure_demo_accounts()
    User.objects.filter(username="counter").update(totp_enabled=False)
    ensure_demo_accounts()
    counter = User.objects.get(username="counter")
    assert counter.totp_enabled is True
    assert counter.totp_secret == demo_totp_secret("counter")


def test_demo_people_fit_their_scenarios(departments):
    ensure_demo_accounts()

    mother = ResidentProfile.objects.get(user__username="resident1")
    assert (mother.sex, mother.marital_status, mother.birth_date) == (
        "F", "married", dt.date(1994, 5, 12),
    )  # fmt: skip
    elder = ResidentProfile.objects.get(user__username="resident2")
    assert elder.birth_date == dt.date(1946, 2, 18)
    assert elder.user.elder_mode is True
    assert ResidentProfile.objects.get(user__username="resident3").disability_grade == 2
    for p in ResidentProfile.objects.all():
        assert parse_id_number(p.id_number).birth_date == p.birth_date
        assert int(p.id_number[14:17]) >= population.DEMO_SEQ_FIRST
        assert p.is_synthetic is True

    tech = Enterprise.objects.get(name="示例（上海）通办科技有限公司")
    assert tech.legal_representative == "周明"
    representative = ResidentProfile.objects.get(user__username="agent1")
    assert tech.legal_representative_id_number == representative.id_number
    assert parse_credit_code(tech.uscc).organisation_code.startswith("TB")
    roles = {
        (m.user.username if m.user else m.invitee_name, m.enterprise.name, m.role,
         m.accepted_at is not None, m.may_idcode)
        for m in EnterpriseMembership.objects.select_related("user", "enterprise")
    }  # fmt: skip
    assert roles == {
        ("agent1", "示例（上海）通办科技有限公司", "legal_rep", True, True),
        ("agent2", "示例（上海）通办科技有限公司", "agent", True, False),
        ("agent2", "示例（上海）浦江餐饮管理有限公司", "agent", True, True),
        ("陈志强", "示例（上海）通办科技有限公司", "agent", False, True),
    }


def test_without_departments_only_the_admin_is_staff():
    accounts = ensure_demo_accounts()
    assert [a.username for a in accounts if a.totp_secret] == ["admin"]
    assert StaffAssignment.objects.count() == 0


def test_department_slugs_drop_the_city_prefix():
    assert department_slug("SH-PD-ZWFW") == "pd_zwfw"
    assert department_slug("civil-affairs") == "affairs"
    assert department_slug("civil-affairs", keep_prefix=True) == "civil_affairs"
    assert department_slug("ga") == "ga"


# ----------------------------------------------------------------------------- commands


def test_city_setup_twice_adds_nobody_the_second_time(departments):
    out = io.StringIO()
    args = {"residents": 300, "enterprises": 40, "skip_catalog": True, "no_progress": True}
    call_command("city_setup", stdout=out, **args)
    assert ResidentProfile.objects.filter(is_synthetic=True).count() == 300
    assert Enterprise.objects.filter(is_synthetic=True).count() == 40
    users = User.objects.count()

    out = io.StringIO()
    call_command("city_setup", stdout=out, **args)

    assert ResidentProfile.objects.count() == 300
    assert Enterprise.objects.count() == 40
    assert User.objects.count() == users
    assert "本次新增 0 人" in out.getvalue()
    assert "http://127.0.0.1:8000/" in out.getvalue()
    assert "ga_reviewer" in out.getvalue()
    runs = list(AuditEvent.objects.filter(action="demo.city_setup").order_by("pk"))
    assert [r.actor_label for r in runs] == ["system:city_setup", "system:city_setup"]
    # 300 less the 9 demo people (relative1 among them) already there.
    assert [r.data["residents_added"] for r in runs] == [291, 0]
    assert [r.data["enterprises_added"] for r in runs] == [38, 0]


def test_city_setup_warns_and_carries_on_without_catalog_load(monkeypatch, departments):
    monkeypatch.setattr(city_setup_command, "get_commands", dict)
    err = io.StringIO()
    call_command("city_setup", residents=10, no_progress=True, stdout=io.StringIO(), stderr=err)
    assert "未找到 catalog_load 命令" in err.getvalue()
    assert AuditEvent.objects.get(action="demo.city_setup").data["catalog"] == "missing"
    assert ResidentProfile.objects.count() == 10


def test_demo_population_adds_exactly_what_is_asked_each_time():
    for _ in range(2):
        call_command(
            "demo_population", residents=120, enterprises=15, seed=1, no_progress=True,
            stdout=io.StringIO(),
        )  # fmt: skip
    assert ResidentProfile.objects.count() == 240
    assert Enterprise.objects.count() == 30
    runs = AuditEvent.objects.filter(action="demo.population", actor_label="system:demo_population")
    assert runs.count() == 2


def test_the_readme_table_has_one_row_per_account(departments):
    accounts = ensure_demo_accounts()
    table = demo_accounts_markdown(accounts).splitlines()

    assert len(table) == 2 + len(accounts)
    assert table[0] == "| 用户名 | 角色 | 部门 / 企业 | 密码 | TOTP 密钥 |"
    assert table[-1] == (
        "| `admin` | 系统管理员（Django admin） | 示例市政务服务中心 | `Demo@2026` "
        "| `SXD3Q2VQYUSSN2JMA76LY35CTCYBS5EC` |"
    )
    assert table[2] == "| `resident1` | 居民：新生儿母亲（出生一件事） | — | `Demo@2026` | — |"
