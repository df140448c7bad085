"""The authorisation matrix for profiles over /api/v1/: who gets what, and what is logged."""

import pytest

from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    EnterpriseMembershipFactory,
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


class TestNoStaffLookUpById:
    """Staff read a resident's profile only through work they hold (a case at their intake
    desk, a hand-out at their hall, a walk-in at their counter: the cases app); there is no
    look-up by a guessable id, whatever the purpose typed."""

    def test_the_old_look_up_answers_404_to_every_staff_post_and_logs_nothing(
        self, client, resident, department
    ):
        for role in ("reviewer", "acceptor", "counter_clerk", "city_operator"):
            staff = StaffAssignmentFactory(department=department, role=role).user
            client.force_login(staff)
            response = client.get(_url(resident.pk, "核验"))
            assert response.status_code == 404, role
            assert resident.name not in response.content.decode()
        assert AuditEvent.objects.count() == 0


class TestMyDataAccess:
    def test_anonymous_gets_401(self, client):
        assert client.get("/api/v1/me/data-access").status_code == 401

    def test_the_resident_sees_who_read_what_for_which_case_but_no_name(
        self, client, resident, department
    ):
        from tongban.accounts.selectors import resident_profile_for_work

        clerk = StaffAssignmentFactory(department=department, role="counter_clerk").user
        clerk.first_name = "窗口张"
        clerk.save()
        resident_profile_for_work(
            viewer=clerk, profile=resident, use="intake_review", receipt_no="2612031234567"
        )
        other = ResidentProfileFactory()
        resident_profile_for_work(viewer=clerk, profile=other, use="counter_identify")

        client.force_login(resident.user)
        response = client.get("/api/v1/me/data-access")
        assert response.status_code == 200
        body = response.json()
        assert (body["count"], body["page"], body["pages"]) == (1, 1, 1)
        [row] = body["items"]
        assert {k: row[k] for k in ("who", "fields", "receipt_no", "purpose")} == {
            "who": f"{department.name}（综合窗口岗）",
            "fields": ["姓名", "公民身份号码", "联系电话", "性别"],
            "receipt_no": "2612031234567",
            "purpose": "受理审查：核对申请人身份",
        }
        assert "窗口张" not in response.content.decode()
        assert clerk.username not in response.content.decode()

    def test_a_page_number_out_of_range_is_a_422_not_a_500(self, client, resident):
        client.force_login(resident.user)
        assert client.get("/api/v1/me/data-access?page=0").status_code == 422
        assert client.get("/api/v1/me/data-access?page=99999999999999999999").status_code == 422


class TestMyEnterprises:
    def test_lists_enterprises_with_role_and_masking(self, client, resident):
        first = EnterpriseFactory(name="B甲公司", legal_representative="张三丰")
        second = EnterpriseFactory(name="A乙公司", legal_representative="李四")
        EnterpriseFactory(name="丙公司")  # not the resident's
        EnterpriseMembershipFactory(user=resident.user, enterprise=first, role="agent")
        EnterpriseMembershipFactory(user=resident.user, enterprise=second, role="admin")
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
    assert "/api/v1/me/data-access" in paths
    assert not [p for p in paths if p.startswith("/api/v1/residents/")]
