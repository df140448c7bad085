"""Posts in a hall, and the login-less account a walk-in resident gets at the counter."""

from __future__ import annotations

import pytest

from tongban.accounts.models import StaffAssignment, StaffRole, User
from tongban.accounts.services import resident_account_open_at_counter, staff_assign
from tongban.accounts.tests.factories import (
    DepartmentFactory,
    ResidentProfileFactory,
    UserFactory,
)
from tongban.appointments.tests.factories import HallFactory
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_staff_assign_records_the_hall_and_a_change_of_hall():
    clerk, dept = UserFactory(), DepartmentFactory()
    centre, district = HallFactory(), HallFactory()
    post = staff_assign(
        actor="system:test", user=clerk, department=dept, role=StaffRole.COUNTER_CLERK, hall=centre
    )
    assert post.hall == centre
    assert AuditEvent.objects.get(action="staff.assign").data["hall_id"] == centre.pk
    # The same post again changes nothing; with another hall, only the hall, recorded.
    staff_assign(actor="system:test", user=clerk, department=dept, role=StaffRole.COUNTER_CLERK)
    assert AuditEvent.objects.count() == 1
    staff_assign(
        actor="system:test",
        user=clerk,
        department=dept,
        role=StaffRole.COUNTER_CLERK,
        hall=district,
    )
    assert StaffAssignment.objects.get().hall == district
    moved = AuditEvent.objects.get(action="staff.hall_set")
    assert (moved.data["hall_id"], moved.data["previous_hall_id"]) == (district.pk, centre.pk)


def test_walk_in_account_has_no_usable_password_and_a_name_that_reveals_nothing():
    clerk = UserFactory()
    profile = ResidentProfileFactory(user=None, name="赵大妈")
    user = resident_account_open_at_counter(actor=clerk, profile=profile)
    profile.refresh_from_db()
    assert profile.user == user
    assert user.username == f"walkin_{profile.id_number_hash[:12]}"
    assert profile.id_number not in user.username
    assert (user.kind, user.display_name, user.has_usable_password()) == (
        User.Kind.PERSON, "赵大妈", False,
    )  # fmt: skip
    event = AuditEvent.objects.get(action="resident_account.open_at_counter")
    assert (event.actor, event.subject_resident_id, event.object_id) == (
        clerk, profile.pk, str(user.pk),
    )  # fmt: skip
    # Again: the same account, nothing written.
    assert resident_account_open_at_counter(actor=clerk, profile=profile) == user
    assert AuditEvent.objects.count() == 1


def test_walk_in_username_stays_unique_if_taken():
    profile = ResidentProfileFactory(user=None)
    UserFactory(username=f"walkin_{profile.id_number_hash[:12]}")
    user = resident_account_open_at_counter(actor="system:test", profile=profile)
    assert user.username == f"walkin_{profile.id_number_hash[:12]}_2"
