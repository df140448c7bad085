"""Factories for people, enterprises and staff, for every app's tests.

They write rows directly (no audit events), so a test that counts AuditEvent rows starts at
zero. Identity numbers are valid and unique, and birth date and sex agree with the ID number
exactly as resident_profile_create would derive them.

    resident = ResidentProfileFactory()                 # with a login: resident.user
    walk_in = ResidentProfileFactory(user=None)         # a profile without an account
    old = ResidentProfileFactory(birth=date(1950, 5, 1), sex="F")
    staff = StaffFactory(department=dept, role=StaffRole.REVIEWER)   # returns the User
    clerk = StaffFactory(role=StaffRole.COUNTER_CLERK, hall=hall)     # sitting in a hall
    staff2 = StaffFactory(with_totp=True)               # TOTP on; staff2.totp_secret
    company = EnterpriseFactory(agents=[resident.user])  # resident.user acts as 经办人
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
import pyotp
from django.utils import timezone
from factory.django import DjangoModelFactory

from tongban.accounts.models import (
    District,
    Enterprise,
    EnterpriseMembership,
    ResidentProfile,
    StaffAssignment,
    StaffRole,
    User,
)
from tongban.accounts.selectors import resident_id_number_hash
from tongban.accounts.validators import make_credit_code, make_id_number, parse_id_number
from tongban.catalog.models import Department

TEST_PASSWORD = "Tongban-test-2024!"  # every factory user's password


class DepartmentFactory(DjangoModelFactory):
    """A bare 部门 row for tests that only need somewhere to assign staff."""

    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"test-dept-{n}")
    name = factory.Sequence(lambda n: f"测试部门{n}")
    short_name = factory.Sequence(lambda n: f"测试{n}")
    region_code = "310000"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    class Params:
        with_totp = factory.Trait(
            totp_secret=factory.LazyFunction(pyotp.random_base32), totp_enabled=True
        )

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Faker("name", locale="zh_CN")
    kind = User.Kind.PERSON
    password = factory.django.Password(TEST_PASSWORD)


def _birth_for(n: int) -> dt.date:
    # Spread over ~55 years so sequence numbers alone keep (birth date, 顺序码) unique.
    return dt.date(1950, 1, 1) + dt.timedelta(days=(n * 7) % 20000)


class ResidentProfileFactory(DjangoModelFactory):
    """一人一档 with a valid synthetic ID number built from `birth_date`, `sex` and the
    `region` param; pass any of them and the number agrees. Pass `id_number` instead and
    birth date and sex are derived from it, as resident_profile_create does."""

    class Meta:
        model = ResidentProfile

    class Params:
        region = District.XUHUI.value

    user = factory.SubFactory(UserFactory, display_name=factory.SelfAttribute("..name"))
    name = factory.Faker("name", locale="zh_CN")
    birth_date = factory.Sequence(_birth_for)
    sex = factory.Sequence(lambda n: "M" if n % 2 else "F")
    # The 3-digit 顺序码: odd for men, even for women, as GB 11643 prescribes.
    id_number = factory.LazyAttributeSequence(
        lambda o, n: make_id_number(
            o.region, o.birth_date, (n % 500) * 2 + (1 if o.sex == "M" else 0)
        )
    )
    id_number_hash = ""  # set from the final number in _adjust_kwargs
    phone = factory.Sequence(lambda n: f"138{n % 100_000_000:08d}")
    hukou_district = factory.LazyAttribute(
        lambda o: o.region if o.region in District.values else ""
    )
    hukou_is_local = True
    residence_district = District.XUHUI
    residence_address = "上海市徐汇区示例路100弄1号101室"
    is_synthetic = True

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        facts = parse_id_number(kwargs["id_number"])
        kwargs.update(
            id_number=facts.number,
            id_number_hash=resident_id_number_hash(facts.number),
            birth_date=facts.birth_date,
            sex=facts.sex,
        )
        return kwargs


class EnterpriseFactory(DjangoModelFactory):
    """一企一档 with a valid synthetic 统一社会信用代码. `agents=[user, ...]` adds 经办人."""

    class Meta:
        model = Enterprise
        skip_postgeneration_save = True

    uscc = factory.Sequence(lambda n: make_credit_code(region=District.PUDONG.value, seq=n + 1))
    name = factory.Sequence(lambda n: f"示例科技有限公司{n}")
    type = Enterprise.Type.LLC
    legal_representative = factory.Faker("name", locale="zh_CN")
    legal_representative_id_number = factory.Sequence(
        lambda n: make_id_number(District.PUDONG.value, _birth_for(n + 3000), (n % 500) * 2 + 1)
    )
    registered_capital = Decimal("100.00")
    industry_code = "6510"
    district = District.PUDONG
    address = "上海市浦东新区示例路1号"
    founded_on = dt.date(2016, 6, 1)
    employees = 20
    is_synthetic = True

    @factory.post_generation
    def agents(self, create, extracted, **kwargs):
        for user in extracted or []:
            EnterpriseMembershipFactory(user=user, enterprise=self)


class EnterpriseMembershipFactory(DjangoModelFactory):
    class Meta:
        model = EnterpriseMembership

    user = factory.SubFactory(UserFactory)
    enterprise = factory.SubFactory(EnterpriseFactory)
    role = EnterpriseMembership.Role.AGENT
    # Live, as rows made before grants waited for acceptance: a test that needs a waiting,
    # revoked or expired authority says so (accepted_at=None, revoked_at=..., expires_on=...).
    accepted_at = factory.LazyFunction(timezone.now)


class StaffFactory(UserFactory):
    """A staff User holding one post. StaffFactory(department=d, role=StaffRole.ACCEPTOR);
    without a department a fresh test department is made. Add posts with
    StaffAssignmentFactory(user=staff, ...)."""

    username = factory.Sequence(lambda n: f"staff{n}")
    kind = User.Kind.STAFF

    @classmethod
    def _create(
        cls, model_class, *args, department=None, role=StaffRole.REVIEWER, hall=None, **kwargs
    ):
        user = super()._create(model_class, *args, **kwargs)
        StaffAssignment.objects.get_or_create(
            user=user, department=department or DepartmentFactory(), role=role,
            defaults={"hall": hall},
        )  # fmt: skip
        return user


class StaffAssignmentFactory(DjangoModelFactory):
    class Meta:
        model = StaffAssignment

    user = factory.SubFactory(StaffFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = StaffRole.REVIEWER
