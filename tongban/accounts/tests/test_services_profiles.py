import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from tongban.accounts.models import (
    Enterprise,
    EnterpriseMembership,
    ResidentProfile,
    StaffAssignment,
    StaffRole,
    User,
)
from tongban.accounts.selectors import resident_id_number_hash, resident_profile_by_id_number
from tongban.accounts.services import (
    enterprise_create,
    enterprise_membership_grant,
    resident_account_create,
    resident_profile_create,
    resident_profile_update,
    staff_assign,
    user_set_elder_mode,
)
from tongban.accounts.tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    ResidentProfileFactory,
    UserFactory,
)
from tongban.common.crypto import lookup_hash
from tongban.common.errors import DomainError
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db

ID = "31010419900307123X"
USCC = "91330100799655058B"
LOADER = "system:test_loader"


def _create_resident(**overrides):
    values = {
        "actor": LOADER,
        "name": "王小明",
        "id_number": ID,
        "phone": "13812345678",
        "hukou_district": "310104",
    }
    return resident_profile_create(**{**values, **overrides})


class TestResidentProfileCreate:
    def test_derives_birth_and_sex_and_records_the_actor(self):
        profile = _create_resident(id_number=ID.lower())
        profile.refresh_from_db()
        assert profile.id_number == ID
        assert (profile.birth_date, profile.sex) == (dt.date(1990, 3, 7), "M")
        assert profile.id_number_hash == lookup_hash(ID, context="resident.id_number")
        assert profile.hukou_district == "310104"
        event = AuditEvent.objects.get()
        assert (event.actor_id, event.actor_label, event.action) == (
            None,
            LOADER,
            "resident_profile.create",
        )
        assert (event.object_type, event.object_id, event.subject_resident_id) == (
            "resident_profile",
            str(profile.pk),
            profile.pk,
        )

    def test_staff_actor_is_named(self):
        clerk = UserFactory(username="clerk1")
        _create_resident(actor=clerk)
        event = AuditEvent.objects.get()
        assert (event.actor_id, event.actor_label) == (clerk.pk, f"user:{clerk.pk}:clerk1")

    def test_id_number_and_phone_are_ciphertext_at_rest(self):
        profile = _create_resident()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id_number, phone FROM accounts_residentprofile WHERE id = %s",
                [profile.pk],
            )
            stored_id, stored_phone = cursor.fetchone()
        assert stored_id.startswith("v1:")
        assert stored_phone.startswith("v1:")
        assert ID not in stored_id
        assert "19900307" not in stored_id
        assert "13812345678" not in stored_phone

    def test_found_by_hash_only(self):
        profile = _create_resident()
        ResidentProfileFactory(user=None)
        assert resident_profile_by_id_number(id_number=ID.lower()) == profile
        assert ResidentProfile.objects.filter(id_number=ID).count() == 0  # ciphertext differs
        other = "310104199003071248"
        assert resident_profile_by_id_number(id_number=other) is None

    def test_duplicate_is_refused_and_nothing_is_written(self):
        _create_resident()
        with pytest.raises(DomainError) as excinfo:
            _create_resident(name="冒名者")
        assert (excinfo.value.code, excinfo.value.http_status) == ("RESIDENT_EXISTS", 409)
        assert excinfo.value.message == "该身份证号码已建立居民档案，请勿重复登记"
        assert ResidentProfile.objects.count() == 1
        assert AuditEvent.objects.count() == 1

    def test_invalid_id_number_writes_nothing(self):
        with pytest.raises(DomainError) as excinfo:
            _create_resident(id_number="310104199003071230")
        assert excinfo.value.code == "INVALID_ID_NUMBER"
        assert ResidentProfile.objects.count() == 0
        assert AuditEvent.objects.count() == 0

    def test_unknown_district_is_refused(self):
        with pytest.raises(DomainError) as excinfo:
            _create_resident(hukou_district="110105")
        assert excinfo.value.code == "INVALID_DISTRICT"
        assert ResidentProfile.objects.count() == 0

    def test_plain_string_actor_is_a_programming_error(self):
        with pytest.raises(ValueError):
            _create_resident(actor="somebody")
        assert ResidentProfile.objects.count() == 0


class TestResidentUpdateAndAccount:
    def test_update_records_field_names_not_values(self):
        profile = ResidentProfileFactory(user=None, phone="13800000000")
        resident_profile_update(
            actor=LOADER, profile=profile, changes={"phone": "13911112222", "is_veteran": False}
        )
        profile.refresh_from_db()
        assert profile.phone == "13911112222"
        event = AuditEvent.objects.get()
        assert (event.action, event.data) == ("resident_profile.update", {"fields": ["phone"]})

    def test_identity_cannot_be_updated(self):
        profile = ResidentProfileFactory(user=None)
        with pytest.raises(DomainError) as excinfo:
            resident_profile_update(actor=LOADER, profile=profile, changes={"birth_date": None})
        assert excinfo.value.code == "FIELD_NOT_UPDATABLE"
        assert AuditEvent.objects.count() == 0

    def test_account_binds_to_profile(self):
        profile = ResidentProfileFactory(user=None, name="李四")
        user = resident_account_create(
            actor=LOADER, profile=profile, username="lisi", password="Qiang-mima-2024"
        )
        profile.refresh_from_db()
        assert profile.user == user
        assert (user.kind, user.display_name) == (User.Kind.PERSON, "李四")
        assert user.check_password("Qiang-mima-2024")
        assert AuditEvent.objects.get().action == "resident_account.create"

    def test_second_account_and_taken_username_are_refused(self):
        profile = ResidentProfileFactory()
        with pytest.raises(DomainError) as excinfo:
            resident_account_create(
                actor=LOADER, profile=profile, username="new1", password="Qiang-mima-2024"
            )
        assert excinfo.value.code == "RESIDENT_ACCOUNT_EXISTS"
        lonely = ResidentProfileFactory(user=None)
        with pytest.raises(DomainError) as excinfo:
            resident_account_create(
                actor=LOADER,
                profile=lonely,
                username=profile.user.username,
                password="Qiang-mima-2024",
            )
        assert excinfo.value.code == "USERNAME_TAKEN"
        assert User.objects.count() == 1
        assert AuditEvent.objects.count() == 0

    def test_weak_password_is_refused_with_reasons(self):
        profile = ResidentProfileFactory(user=None)
        with pytest.raises(DomainError) as excinfo:
            resident_account_create(actor=LOADER, profile=profile, username="w", password="123")
        assert excinfo.value.code == "PASSWORD_TOO_WEAK"
        assert excinfo.value.details
        assert User.objects.count() == 0


class TestEnterprise:
    def _create(self, **overrides):
        values = {
            "actor": LOADER,
            "uscc": USCC.lower(),
            "name": "示例网络有限公司",
            "type": Enterprise.Type.LLC,
            "legal_representative": "张三",
            "legal_representative_id_number": ID,
            "registered_capital": "500",
            "industry_code": "6432",
            "district": "310115",
            "founded_on": dt.date(2010, 5, 1),
        }
        return enterprise_create(**{**values, **overrides})

    def test_create_validates_and_encrypts_legal_rep_id(self):
        enterprise = self._create()
        enterprise.refresh_from_db()
        assert (enterprise.uscc, enterprise.registered_capital) == (USCC, Decimal("500.00"))
        assert enterprise.legal_representative_id_number == ID
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT legal_representative_id_number FROM accounts_enterprise WHERE id = %s",
                [enterprise.pk],
            )
            assert ID not in cursor.fetchone()[0]
        event = AuditEvent.objects.get()
        assert (event.action, event.data) == ("enterprise.create", {"uscc": USCC})

    def test_duplicate_and_invalid_codes_are_refused(self):
        self._create()
        with pytest.raises(DomainError) as excinfo:
            self._create(name="另一家")
        assert (excinfo.value.code, excinfo.value.http_status) == ("ENTERPRISE_EXISTS", 409)
        with pytest.raises(DomainError) as excinfo:
            self._create(uscc="91330100799655058C")
        assert excinfo.value.code == "INVALID_CREDIT_CODE"
        assert Enterprise.objects.count() == 1
        assert AuditEvent.objects.count() == 1

    def test_membership_grant_and_role_change(self):
        enterprise = EnterpriseFactory()
        user = UserFactory()
        membership = enterprise_membership_grant(
            actor=LOADER, enterprise=enterprise, user=user, role="admin"
        )
        assert membership.role == "admin"
        same = enterprise_membership_grant(
            actor=LOADER, enterprise=enterprise, user=user, role="admin"
        )
        assert same.pk == membership.pk
        enterprise_membership_grant(actor=LOADER, enterprise=enterprise, user=user, role="agent")
        assert EnterpriseMembership.objects.get().role == "agent"
        assert [(e.action, e.data["role"], e.data["previous_role"]) for e in
                AuditEvent.objects.order_by("id")] == [
            ("enterprise_membership.grant", "admin", None),
            ("enterprise_membership.grant", "agent", "admin"),
        ]  # fmt: skip


class TestStaffAndPreferences:
    def test_staff_assign_makes_a_staff_user_once(self):
        user = UserFactory()
        department = DepartmentFactory()
        staff_assign(actor=LOADER, user=user, department=department, role=StaffRole.ACCEPTOR)
        staff_assign(actor=LOADER, user=user, department=department, role=StaffRole.ACCEPTOR)
        user.refresh_from_db()
        assert user.kind == User.Kind.STAFF
        assert StaffAssignment.objects.filter(user=user).count() == 1
        event = AuditEvent.objects.get()
        assert (event.action, event.data) == (
            "staff.assign",
            {"department_id": department.pk, "role": "acceptor"},
        )

    def test_unknown_role_is_refused(self):
        with pytest.raises(DomainError) as excinfo:
            staff_assign(actor=LOADER, user=UserFactory(), department=DepartmentFactory(), role="x")
        assert excinfo.value.code == "INVALID_STAFF_ROLE"
        assert StaffAssignment.objects.count() == 0

    def test_elder_mode_is_recorded_only_when_it_changes(self):
        user = UserFactory()
        user_set_elder_mode(actor=user, user=user, enabled=True)
        user_set_elder_mode(actor=user, user=user, enabled=True)
        user.refresh_from_db()
        assert user.elder_mode is True
        assert list(AuditEvent.objects.values_list("action", "data")) == [
            ("user.elder_mode_set", {"enabled": True})
        ]


def test_hash_helper_matches_common_lookup_hash():
    assert resident_id_number_hash(ID) == lookup_hash(ID, context="resident.id_number")
