"""The authorisation matrix for profiles over /api/v1/: who gets what, and what is logged."""

import pytest

from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    ResidentProfileFactory,
    StaffAssignmentFactory,
    UserFactory,
)
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db

MASKED = {
    "name": "王小明",
    "id_number": "310***********123X",
    "phone": "138****5678",
    "masked": True,
    "sex": "M",
    "sex_label": "男",
    "birth_date": "1990-03-07",
    "hukou_district": "310104",
    "hukou_district_label": "徐汇区",
    "residence_address": "上海市徐汇区****",
}


def _url(profile_id, purpose=None):
    url = f"/api/v1/residents/{profile_id}/profile"
    return url if purpose is None else f"{url}?purpose={purpose}"


def _subset(body, expected):
    return {k: body[k] for k in expected}


class TestMyProfile:
    def test_anonymous_gets_401(self, client):
        response = client.get("/api/v1/me/profile")
        assert response.status_code == 401
        assert response.json() == {"code": "AUTHENTICATION_REQUIRED", "message": "请先登录"}

    def test_resident_sees_own_profile_masked_and_nothing_is_logged(self, client, resident):
        client.force_login(resident.user)
        response = client.get("/api/v1/me/profile")
        assert response.status_code == 200
        body = response.json()
        assert _subset(body, MASKED) == MASKED
        assert body["id"] == resident.pk
        assert body["attributes"]["is_low_income"] is True
        assert AuditEvent.objects.count() == 0

    def test_account_without_profile_gets_404(self, client):
        client.force_login(UserFactory())
        response = client.get("/api/v1/me/profile")
        assert response.status_code == 404
        assert response.json() == {
            "code": "RESIDENT_PROFILE_NOT_FOUND",
            "message": "您的账户尚未关联居民档案",
        }


class TestStaffReadsProfile:
    def test_anonymous_gets_401_and_nothing_is_logged(self, client, resident):
        response = client.get(_url(resident.pk, "受理核验"))
        assert response.status_code == 401
        assert AuditEvent.objects.count() == 0

    def test_the_resident_is_pointed_to_me_profile_not_this_endpoint(self, client, resident):
        client.force_login(resident.user)
        response = client.get(_url(resident.pk, "看看自己"))
        assert response.status_code == 403
        assert response.json()["code"] == "STAFF_ONLY"
        assert AuditEvent.objects.count() == 0

    def test_staff_reading_themself_need_no_purpose(self, client, resident, department):
        StaffAssignmentFactory(user=resident.user, department=department)
        client.force_login(resident.user)
        response = client.get(_url(resident.pk))
        assert response.status_code == 200
        assert _subset(response.json(), MASKED) == MASKED
        assert AuditEvent.objects.count() == 0

    def test_another_resident_gets_403_and_nothing_is_logged(
        self, client, resident, other_resident
    ):
        client.force_login(other_resident.user)
        response = client.get(_url(resident.pk, "好奇"))
        assert response.status_code == 403
        assert response.json() == {"code": "STAFF_ONLY", "message": "仅限工作人员访问"}
        # A missing id answers the same, so residents cannot probe which ids exist.
        assert client.get(_url(999_999, "好奇")).json()["code"] == "STAFF_ONLY"
        assert AuditEvent.objects.count() == 0

    @pytest.mark.parametrize("purpose", [None, "", "%20%20"])
    def test_staff_without_purpose_gets_422_and_nothing_is_logged(
        self, client, resident, reviewer, purpose
    ):
        client.force_login(reviewer)
        response = client.get(_url(resident.pk, purpose))
        assert response.status_code == 422
        assert response.json() == {
            "code": "PURPOSE_REQUIRED",
            "message": "查阅他人个人信息须说明用途",
        }
        assert AuditEvent.objects.count() == 0

    def test_reviewer_with_purpose_sees_full_identity_and_is_logged(
        self, client, resident, reviewer
    ):
        client.force_login(reviewer)
        response = client.get(_url(resident.pk, "受理办件核验身份"), REMOTE_ADDR="10.1.2.3")
        assert response.status_code == 200
        body = response.json()
        assert (body["id_number"], body["phone"], body["masked"]) == (
            "31010419900307123X",
            "13812345678",
            False,
        )
        assert body["residence_address"] == "上海市徐汇区示例路100弄1号101室"
        event = AuditEvent.objects.get()
        assert (event.actor_id, event.action, event.purpose, event.subject_resident_id) == (
            reviewer.pk,
            "personal_data.read",
            "受理办件核验身份",
            resident.pk,
        )
        assert (event.object_type, event.object_id, event.ip_address) == (
            "resident_profile",
            str(resident.pk),
            "10.1.2.3",
        )
        assert event.data == {"view": "full", "roles": ["reviewer"]}

    def test_other_staff_roles_see_masked_without_attributes_and_are_logged(
        self, client, resident, operator
    ):
        client.force_login(operator)
        response = client.get(_url(resident.pk, "统计核对"))
        assert response.status_code == 200
        body = response.json()
        assert _subset(body, MASKED) == MASKED
        assert body["attributes"] is None
        event = AuditEvent.objects.get()
        assert (event.purpose, event.data) == (
            "统计核对",
            {"view": "masked", "roles": ["city_operator"]},
        )

    def test_staff_reading_a_missing_profile_gets_404_and_nothing_is_logged(self, client, reviewer):
        client.force_login(reviewer)
        response = client.get(_url(999_999, "核验"))
        assert response.status_code == 404
        assert response.json()["code"] == "RESIDENT_PROFILE_NOT_FOUND"
        assert AuditEvent.objects.count() == 0

    def test_overlong_purpose_is_refused(self, client, resident, reviewer):
        client.force_login(reviewer)
        response = client.get(_url(resident.pk, "很" * 201))
        assert response.status_code == 422
        assert response.json()["code"] == "PURPOSE_TOO_LONG"
        assert AuditEvent.objects.count() == 0

    def test_malformed_id_is_a_422_not_a_500(self, client, reviewer):
        client.force_login(reviewer)
        response = client.get("/api/v1/residents/abc/profile?purpose=x")
        assert response.status_code == 422
        assert response.json()["code"] == "INVALID_INPUT"


class TestMyEnterprises:
    def test_lists_enterprises_with_role_and_masking(self, client, resident):
        first = EnterpriseFactory(name="B甲公司", legal_representative="张三丰")
        second = EnterpriseFactory(name="A乙公司", legal_representative="李四")
        EnterpriseFactory(name="丙公司")  # not the resident's
        EnterpriseMembership.objects.create(user=resident.user, enterprise=first, role="agent")
        EnterpriseMembership.objects.create(user=resident.user, enterprise=second, role="admin")
        client.force_login(resident.user)
        response = client.get("/api/v1/me/enterprises")
        assert response.status_code == 200
        body = response.json()
        assert [(e["name"], e["my_role"], e["legal_representative"]) for e in body] == [
            ("A乙公司", "admin", "李四"),
            ("B甲公司", "agent", "张**"),
        ]
        assert body[1]["legal_representative_id_number"].count("*") == 11
        assert AuditEvent.objects.count() == 0

    def test_anonymous_gets_401(self, client):
        assert client.get("/api/v1/me/enterprises").status_code == 401

    def test_person_without_enterprises_gets_empty_list(self, client):
        client.force_login(ResidentProfileFactory().user)
        assert client.get("/api/v1/me/enterprises").json() == []


def test_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/me/profile", "/api/v1/me/enterprises"} <= set(paths)
    assert "purpose" in str(paths["/api/v1/residents/{profile_id}/profile"]["get"]["parameters"])
