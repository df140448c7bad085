"""市民主页, 企业专属网页, 工作台 and 长者版: the page-level authorisation matrix."""

import pytest
from django.test import Client

from tongban.accounts.models import User
from tongban.accounts.tests.factories import (
    TEST_PASSWORD,
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    UserFactory,
)
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db


def _html(response) -> str:
    return response.content.decode()


class TestMePage:
    def test_anonymous_is_sent_to_login(self, client):
        response = client.get("/me/")
        assert (response.status_code, response["Location"]) == (
            302,
            "/accounts/login/?next=/me/",
        )

    def test_resident_sees_own_masked_profile_and_working_sections(self, client, resident):
        client.force_login(resident.user)
        response = client.get("/me/")
        html = _html(response)
        assert response.status_code == 200
        assert '<dd id="profile-id-number">310***********123X</dd>' in html
        assert '<dd id="profile-phone">138****5678</dd>' in html
        assert "31010419900307123X" not in html
        assert "13812345678" not in html
        # Only what works: 我的办件, 为您推荐, 我的证照, 随申码 and 办事; nothing to come.
        assert '<h2 id="my-cases-title">我的办件</h2>' in html
        assert "您还没有办件。" in html
        assert '<h2 id="my-certificates-title">我的证照</h2>' in html
        assert '<h2 id="services-title">办事</h2>' in html
        assert '<a class="button" href="/me/idcode/" id="idcode-link">出示随申码</a>' in html
        assert '<h2 id="recommended-title">为您推荐</h2>' in html
        assert "暂未找到您符合的政策" in html  # no policies loaded in this test
        assert "即将上线" not in html
        assert AuditEvent.objects.count() == 0

    def test_nav_links_follow_what_the_person_is(self, client, resident, reviewer):
        client.force_login(resident.user)
        html = _html(client.get("/me/"))
        assert 'href="/me/" aria-current="page">我的主页' in html
        assert 'href="/staff/"' not in html
        assert 'href="/enterprise/"' not in html
        EnterpriseMembershipFactory(user=resident.user, enterprise=EnterpriseFactory())
        assert 'href="/enterprise/"' in _html(client.get("/me/"))
        client.force_login(reviewer)
        assert 'href="/staff/">工作台' in _html(client.get("/me/"))

    def test_account_without_profile_is_told_how_to_get_one(self, client):
        client.force_login(UserFactory())
        response = client.get("/me/")
        assert response.status_code == 200
        assert "您的账户尚未关联居民档案" in _html(response)


class TestEnterprisePage:
    def test_anonymous_is_sent_to_login(self, client):
        assert client.get("/enterprise/")["Location"] == "/accounts/login/?next=/enterprise/"

    def test_single_enterprise_is_shown_with_role_and_masked_rep(self, client, resident):
        company = EnterpriseFactory(name="示例贸易有限公司", legal_representative="张三丰")
        EnterpriseMembershipFactory(user=resident.user, enterprise=company, role="agent")
        client.force_login(resident.user)
        html = _html(client.get("/enterprise/"))
        assert '<h2 id="enterprise-title">示例贸易有限公司</h2>' in html
        assert '<strong id="my-role">经办人</strong>' in html
        assert '<dd id="legal-rep">张**</dd>' in html
        assert company.legal_representative_id_number not in html
        assert "张三丰" not in html

    def test_several_enterprises_ask_to_choose_then_remember(self, client, resident):
        first = EnterpriseFactory(name="A公司")
        second = EnterpriseFactory(name="B公司")
        for company, role in ((first, "agent"), (second, "legal_rep")):
            EnterpriseMembershipFactory(user=resident.user, enterprise=company, role=role)
        client.force_login(resident.user)
        html = _html(client.get("/enterprise/"))
        assert "请选择要办理业务的企业" in html
        assert 'id="enterprise-title"' not in html
        html = _html(client.get(f"/enterprise/?enterprise={second.pk}"))
        assert '<strong id="my-role">法定代表人</strong>' in html
        # The choice is remembered for the session.
        assert '<h2 id="enterprise-title">B公司</h2>' in _html(client.get("/enterprise/"))

    def test_someone_elses_enterprise_is_404_and_not_remembered(self, client, resident):
        stranger_company = EnterpriseFactory()
        client.force_login(resident.user)
        assert client.get(f"/enterprise/?enterprise={stranger_company.pk}").status_code == 404
        assert client.get("/enterprise/?enterprise=abc").status_code == 404
        assert "tongban_enterprise_id" not in client.session
        assert AuditEvent.objects.count() == 0


class TestStaffPage:
    def test_anonymous_is_sent_to_login(self, client):
        assert client.get("/staff/")["Location"] == "/accounts/login/?next=/staff/"

    def test_resident_gets_403(self, client, resident):
        client.force_login(resident.user)
        response = client.get("/staff/")
        assert response.status_code == 403
        assert "工作台仅限工作人员使用" in _html(response)

    def test_staff_kind_without_a_post_gets_403(self, client):
        client.force_login(UserFactory(kind=User.Kind.STAFF))
        assert client.get("/staff/").status_code == 403

    def test_staff_sees_departments_roles_and_2fa_nudge(self, client, reviewer):
        client.force_login(reviewer)
        response = client.get("/staff/")
        html = _html(response)
        assert response.status_code == 200
        assert "<h1>工作台</h1>" in html
        assert (
            '<tr><td data-label="部门">民政局</td>'
            '<td data-label="岗位"><span class="tag">审核</span></td></tr>'
        ) in html
        assert "您尚未启用双因素认证" in html


class TestElderMode:
    def test_anonymous_toggle_sets_cookie_and_persists(self, client):
        response = client.post("/elder-mode/", {"enabled": "1", "next": "/me/"})
        assert (response.status_code, response["Location"]) == (302, "/me/")
        cookie = response.cookies["tongban_elder"]
        assert (cookie.value, cookie["max-age"], cookie["samesite"]) == ("1", 31536000, "Lax")
        html = _html(client.get("/accounts/login/"))
        assert '<body class="elder">' in html
        assert ">退出长者版</button>" in html
        assert AuditEvent.objects.count() == 0

    def test_unsafe_next_goes_home(self, client):
        response = client.post("/elder-mode/", {"next": "https://evil.example/"})
        assert response["Location"] == "/"

    def test_get_is_not_allowed(self, client):
        assert client.get("/elder-mode/").status_code == 405

    def test_logged_in_toggle_is_kept_on_the_account(self, client, resident):
        client.force_login(resident.user)
        client.post("/elder-mode/", {"enabled": "1"})
        user = User.objects.get(pk=resident.user.pk)
        assert user.elder_mode is True
        # A new device (no cookie) still gets it once logged in.
        client.cookies.clear()
        client.force_login(user)
        assert '<body class="elder">' in _html(client.get("/me/"))
        client.post("/elder-mode/", {"enabled": "0"})
        assert User.objects.get(pk=user.pk).elder_mode is False
        assert '<body class="">' in _html(client.get("/me/"))

    def test_toggle_without_state_flips(self, client):
        client.post("/elder-mode/", {})
        assert client.cookies["tongban_elder"].value == "1"
        client.post("/elder-mode/", {})
        assert client.cookies["tongban_elder"].value == "0"

    def test_choice_made_before_login_is_carried_into_the_account(self, client, resident):
        client.post("/elder-mode/", {"enabled": "1"})
        client.post(
            "/accounts/login/", {"username": resident.user.username, "password": TEST_PASSWORD}
        )
        assert User.objects.get(pk=resident.user.pk).elder_mode is True
        assert '<body class="elder">' in _html(client.get("/me/"))

    def test_csrf_is_enforced(self):
        strict = Client(enforce_csrf_checks=True)
        assert strict.post("/elder-mode/", {"enabled": "1"}).status_code == 403
