import pytest
from django.contrib.auth.models import AnonymousUser

from tongban.accounts.models import StaffRole
from tongban.accounts.selectors import (
    enterprise_for_agent,
    enterprise_profile_for,
    is_staff_member,
    resident_profile_for,
    resident_profile_for_work,
    staff_departments_of,
    staff_posts_of,
    staff_roles_in,
    staff_roles_of,
)
from tongban.accounts.tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    StaffAssignmentFactory,
    StaffFactory,
    UserFactory,
)
from tongban.common.errors import DomainError
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db

REP_ID = "31010419900307123X"


@pytest.fixture
def company():
    return EnterpriseFactory(legal_representative="张三丰", legal_representative_id_number=REP_ID)


def _code(call):
    with pytest.raises(DomainError) as excinfo:
        call()
    return excinfo.value.code


class TestResidentProfileFor:
    def test_anonymous_and_no_user(self, resident):
        assert _code(lambda: resident_profile_for(viewer=AnonymousUser(), profile=resident)) == (
            "AUTHENTICATION_REQUIRED"
        )
        assert _code(lambda: resident_profile_for(viewer=None, profile=resident)) == (
            "AUTHENTICATION_REQUIRED"
        )

    def test_staff_who_is_the_resident_needs_no_purpose(self, resident, department):
        StaffAssignmentFactory(user=resident.user, department=department)
        display = resident_profile_for(viewer=resident.user, profile=resident)
        assert display["masked"] is True
        assert AuditEvent.objects.count() == 0

    def test_nobody_else_reads_it_here_not_even_staff(self, resident, reviewer):
        for viewer in (reviewer, UserFactory()):
            assert _code(lambda v=viewer: resident_profile_for(viewer=v, profile=resident)) == (
                "PERMISSION_DENIED"
            )
        assert AuditEvent.objects.count() == 0


class TestResidentProfileForWork:
    def test_each_use_shows_its_fields_only_and_is_logged_with_use_case_and_post(
        self, resident, department
    ):
        clerk = StaffFactory(department=department, role=StaffRole.COUNTER_CLERK)
        display = resident_profile_for_work(viewer=clerk, profile=resident, use="counter_identify")
        assert display == {
            "id": resident.pk,
            "masked": False,
            "purpose": "综合窗口帮办：核验来办群众身份",
            "name": resident.name,
            "id_number": "31010419900307123X",
            "phone": resident.phone,
        }
        [event] = AuditEvent.objects.filter(action="personal_data.read")
        assert (event.subject_resident_id, event.purpose, event.data) == (
            resident.pk,
            "综合窗口帮办：核验来办群众身份",
            {
                "use": "counter_identify",
                "fields": ["name", "id_number", "phone"],
                "view": "full",
                "receipt_no": "",
                "post": f"{department.name}（综合窗口岗）",
            },
        )

    def test_posts_that_do_not_check_papers_see_masked_numbers(self, resident, department):
        issuer = StaffFactory(department=department, role=StaffRole.ISSUER)
        display = resident_profile_for_work(
            viewer=issuer, profile=resident, use="handout_identify", receipt_no="2612031234567"
        )
        assert (display["id_number"], display["masked"]) == ("310***********123X", True)
        assert "residence_address" not in display and "attributes" not in display
        event = AuditEvent.objects.get(action="personal_data.read")
        assert (event.object_type, event.object_id) == ("case", "2612031234567")

    def test_an_unknown_use_or_a_non_staff_reader_is_refused_and_nothing_is_logged(
        self, resident, reviewer
    ):
        assert _code(
            lambda: resident_profile_for_work(viewer=reviewer, profile=resident, use="好奇")
        ) == ("DATA_USE_UNKNOWN")
        assert _code(
            lambda: resident_profile_for_work(
                viewer=UserFactory(), profile=resident, use="intake_review"
            )
        ) == ("STAFF_ONLY")
        reviewer.is_active = False
        reviewer.save()
        assert _code(
            lambda: resident_profile_for_work(
                viewer=reviewer, profile=resident, use="intake_review"
            )
        ) == ("AUTHENTICATION_REQUIRED")
        assert AuditEvent.objects.count() == 0


class TestEnterpriseProfileFor:
    def test_agent_sees_masked_legal_rep(self, company):
        agent = UserFactory()
        EnterpriseMembershipFactory(user=agent, enterprise=company, role="agent")
        display = enterprise_profile_for(viewer=agent, enterprise=company)
        assert (display["legal_representative"], display["legal_representative_id_number"]) == (
            "张**",
            "310***********123X",
        )
        assert (display["my_role"], display["my_role_label"]) == ("agent", "经办人")
        assert AuditEvent.objects.count() == 0

    def test_legal_rep_sees_name_but_id_stays_masked(self, company):
        rep = UserFactory()
        EnterpriseMembershipFactory(user=rep, enterprise=company, role="legal_rep")
        display = enterprise_profile_for(viewer=rep, enterprise=company)
        assert (display["legal_representative"], display["legal_representative_id_number"]) == (
            "张三丰",
            "310***********123X",
        )

    def test_outsider_is_refused_and_nothing_is_logged(self, company):
        assert _code(lambda: enterprise_profile_for(viewer=UserFactory(), enterprise=company)) == (
            "PERMISSION_DENIED"
        )
        assert (
            _code(lambda: enterprise_for_agent(user=UserFactory(), enterprise_id=company.pk))
            == "ENTERPRISE_NOT_FOUND"
        )
        assert AuditEvent.objects.count() == 0

    def test_staff_need_purpose_and_are_logged(self, company, reviewer, operator):
        assert _code(lambda: enterprise_profile_for(viewer=reviewer, enterprise=company)) == (
            "PURPOSE_REQUIRED"
        )
        assert AuditEvent.objects.count() == 0
        full = enterprise_profile_for(viewer=reviewer, enterprise=company, purpose="企业变更审核")
        masked = enterprise_profile_for(viewer=operator, enterprise=company, purpose="统计")
        assert full["legal_representative_id_number"] == REP_ID
        assert masked["legal_representative_id_number"] == "310***********123X"
        assert list(
            AuditEvent.objects.order_by("id").values_list("action", "actor_id", "purpose")
        ) == [
            ("enterprise_data.read", reviewer.pk, "企业变更审核"),
            ("enterprise_data.read", operator.pk, "统计"),
        ]


class TestStaffHelpers:
    def test_roles_departments_and_posts(self):
        health = DepartmentFactory(code="a-health", name="卫健委")
        police = DepartmentFactory(code="b-police", name="公安局")
        staff = StaffFactory(department=health, role=StaffRole.REVIEWER)
        StaffAssignmentFactory(user=staff, department=health, role=StaffRole.ISSUER)
        StaffAssignmentFactory(user=staff, department=police, role=StaffRole.ACCEPTOR)
        assert staff_roles_of(staff) == {"reviewer", "issuer", "acceptor"}
        assert staff_roles_in(staff, police) == {"acceptor"}
        assert staff_departments_of(staff) == [health, police]
        assert [
            (p["department"].name, [r["label"] for r in p["roles"]]) for p in staff_posts_of(staff)
        ] == [("卫健委", ["出件", "审核"]), ("公安局", ["受理"])]
        assert is_staff_member(staff) is True

    def test_residents_and_anonymous_hold_nothing(self, resident):
        for who in (resident.user, AnonymousUser(), None):
            assert staff_roles_of(who) == set()
            assert staff_departments_of(who) == []
            assert is_staff_member(who) is False
