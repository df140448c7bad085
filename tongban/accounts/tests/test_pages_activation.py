"""/accounts/activate/: the public page where a walk-in resident sets their own password."""

from __future__ import annotations

import pytest

from tongban.accounts.errors import ActivationInvalid
from tongban.accounts.models import AccountActivationCode, StaffRole
from tongban.accounts.services import account_activation_issue, resident_account_open_at_counter
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory

ID = "31010419900307123X"
PASSWORD = "Shanghai-Tongban-2026"


@pytest.fixture
def issued(department):
    clerk = StaffFactory(department=department, role=StaffRole.COUNTER_CLERK)
    profile = ResidentProfileFactory(user=None, id_number=ID)
    resident_account_open_at_counter(actor="system:test", profile=profile)
    profile.refresh_from_db()
    return profile, account_activation_issue(actor=clerk, profile=profile)


def _post(client, code, **extra):
    data = {"id_number": ID, "code": code, "username": "", "password1": PASSWORD,
            "password2": PASSWORD, **extra}  # fmt: skip
    return client.post("/accounts/activate/", data)


def test_the_page_has_labelled_fields_and_csrf(client, db):
    response = client.get("/accounts/activate/")
    assert response.status_code == 200
    html = response.content.decode()
    for field, label in [("id_number", "身份证号码"), ("code", "账号激活码"),
                         ("password1", "新密码"), ("password2", "再次输入新密码")]:  # fmt: skip
        assert f'<label for="id_{field}">{label}' in html
    assert "csrfmiddlewaretoken" in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_activation_logs_the_resident_in(client, issued):
    profile, code = issued
    response = _post(client, code, username="li_apo")
    assert response.status_code == 302 and response["Location"] == "/me/"
    assert int(client.session["_auth_user_id"]) == profile.user_id
    profile.user.refresh_from_db()
    assert profile.user.username == "li_apo" and profile.user.check_password(PASSWORD)
    client.logout()
    assert client.login(username="li_apo", password=PASSWORD)


def test_a_wrong_code_shows_the_generic_message_and_changes_nothing(client, issued):
    profile, code = issued
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    response = _post(client, wrong)
    assert response.status_code == 422
    assert ActivationInvalid.message in response.content.decode()
    assert "_auth_user_id" not in client.session
    profile.user.refresh_from_db()
    assert not profile.user.has_usable_password()
    assert AccountActivationCode.objects.get().used_at is None


def test_mismatched_passwords_and_throttle(client, issued, settings):
    profile, code = issued
    response = _post(client, code, password2="something-else-1")
    assert response.status_code == 422
    assert "两次输入的密码不一致" in response.content.decode()
    settings.LOGIN_MAX_FAILURES = 2
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    _post(client, wrong)
    _post(client, wrong)
    response = _post(client, code)
    assert response.status_code == 429
    assert "激活失败次数过多" in response.content.decode()
    profile.user.refresh_from_db()
    assert not profile.user.has_usable_password()


def test_a_weak_password_is_told_at_the_field(client, issued):
    _, code = issued
    response = _post(client, code, password1="12345678", password2="12345678")
    assert response.status_code == 422
    assert response.context["form"].errors["password1"]


def test_api_activate(client, issued):
    profile, code = issued
    url = "/api/v1/accounts/activate"
    body = {"id_number": ID, "code": "AAAAAAAA", "password": PASSWORD}
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 422
    assert response.json() == {"code": "ACTIVATION_INVALID", "message": ActivationInvalid.message}
    response = client.post(url, {**body, "code": code}, content_type="application/json")
    assert response.status_code == 200
    profile.user.refresh_from_db()
    assert response.json() == {"username": profile.user.username}
    assert profile.user.check_password(PASSWORD)
    assert "_auth_user_id" not in client.session
