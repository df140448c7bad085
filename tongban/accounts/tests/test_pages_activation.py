"""/accounts/activate/: the public page where a walk-in resident sets their own password."""

from __future__ import annotations

import pytest

from tongban.accounts.errors import ActivationInvalid
from tongban.accounts.models import AccountActivationCode, LoginAttempt, StaffRole
from tongban.accounts.services import (
    account_activation_issue,
    login_attempt_record,
    resident_account_open_at_counter,
)
from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory, StaffFactory

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


def test_mismatched_passwords_are_told_and_not_counted(client, issued):
    response = _post(client, issued[1], password2="something-else-1")
    assert response.status_code == 422
    assert "两次输入的密码不一致" in response.content.decode()
    assert LoginAttempt.objects.count() == 0


def test_repeated_wrong_codes_make_the_next_try_wait(client, issued, clock):
    profile, code = issued
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    for _ in range(5):
        assert _post(client, wrong).status_code == 422
    response = _post(client, code)
    assert (response.status_code, response["Retry-After"]) == (429, "1")
    assert (
        "激活失败次数较多，为防止激活码被猜测，请1秒后再试；"
        "激活码遗失或已过期的，请携带身份证到综合窗口重新开具"
    ) in response.content.decode()
    profile.user.refresh_from_db()
    assert not profile.user.has_usable_password()
    # Those failures do not hold a password login from the same address.
    other = ResidentProfileFactory().user
    login = client.post("/accounts/login/", {"username": other.username, "password": TEST_PASSWORD})
    assert login.status_code == 302
    client.post("/accounts/logout/")
    clock.advance(1)
    assert _post(client, code).status_code == 302
    profile.user.refresh_from_db()
    assert profile.user.check_password(PASSWORD)


def test_password_failures_do_not_hold_an_activation(client, issued, clock):
    _, code = issued
    for i in range(40):  # the address and the (ID, address) pair would both be held
        login_attempt_record(username=f"guess{i}", ip_address="127.0.0.1", succeeded=False)
    assert client.post("/accounts/login/", {"username": "x", "password": "y"}).status_code == 429
    assert _post(client, code).status_code == 302


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


def test_api_activate_throttled_is_429_with_retry_after(client, issued, clock):
    profile, code = issued
    url = "/api/v1/accounts/activate"
    body = {"id_number": ID, "code": "AAAAAAAA", "password": PASSWORD}
    for _ in range(5):
        assert client.post(url, body, content_type="application/json").status_code == 422
    clock.advance(1)  # the fifth failure asked for 1 s; the sixth asks for 2 s
    assert client.post(url, body, content_type="application/json").status_code == 422
    response = client.post(url, {**body, "code": code}, content_type="application/json")
    assert (response.status_code, response["Retry-After"]) == (429, "2")
    assert response.json() == {
        "code": "ACTIVATION_THROTTLED",
        "message": "激活失败次数较多，为防止激活码被猜测，请2秒后再试；"
        "激活码遗失或已过期的，请携带身份证到综合窗口重新开具",
    }
    profile.user.refresh_from_db()
    assert not profile.user.has_usable_password()
