import datetime as dt

import pytest

from tongban.accounts.models import EnterpriseMembership, StaffAssignment, StaffRole
from tongban.accounts.selectors import resident_profile_by_id_number
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    ResidentProfileFactory,
    StaffFactory,
    UserFactory,
)
from tongban.accounts.validators import parse_credit_code, parse_id_number
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_resident_factory_makes_consistent_identity():
    profile = ResidentProfileFactory(birth_date=dt.date(1950, 5, 1), sex="F")
    facts = parse_id_number(profile.id_number)
    assert (facts.birth_date, facts.sex, facts.region_code) == (dt.date(1950, 5, 1), "F", "310104")
    assert (profile.birth_date, profile.sex) == (dt.date(1950, 5, 1), "F")
    assert resident_profile_by_id_number(id_number=profile.id_number) == profile
    assert profile.user.display_name == profile.name
    assert AuditEvent.objects.count() == 0


def test_resident_factory_derives_from_given_number():
    profile = ResidentProfileFactory(id_number="11010519491231002X", user=None)
    assert (profile.birth_date, profile.sex, profile.user) == (dt.date(1949, 12, 31), "F", None)


def test_many_residents_have_distinct_valid_numbers():
    profiles = ResidentProfileFactory.create_batch(30, user=None)
    numbers = {p.id_number for p in profiles}
    assert len(numbers) == 30
    for p in profiles:
        assert parse_id_number(p.id_number).sex == p.sex


def test_enterprise_and_staff_factories():
    agent = UserFactory()
    company = EnterpriseFactory(agents=[agent])
    assert parse_credit_code(company.uscc).code == company.uscc
    parse_id_number(company.legal_representative_id_number)
    assert EnterpriseMembership.objects.get(enterprise=company).user == agent
    staff = StaffFactory(role=StaffRole.ACCEPTOR)
    assert staff.check_password("Tongban-test-2024!")
    assert list(StaffAssignment.objects.filter(user=staff).values_list("role", flat=True)) == [
        "acceptor"
    ]
    assert StaffFactory(with_totp=True).totp_enabled is True
