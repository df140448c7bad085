"""The 注册, 找回密码 and 示例短信 pages: the steps, the refusals, and the rule that the pages
read the same whether or not an account exists."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tongban.accounts.models import AssuranceLevel, User
from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory
from tongban.identity.models import DemoSms
from tongban.identity.selectors import mobile_hash
from tongban.identity.sms import DEMO_OUTBOX_ADAPTER
from tongban.identity.tests.conftest import code_in, send_at_once

ID = "31010419900307123X"
PASSWORD = "Kaimen-2026-qiu"

pytestmark = pytest.mark.django_db


def _strip_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def _register(client, *, name="王小明", id_number=ID, mobile="13912345678"):
    return client.post(
        "/accounts/register/", {"name": name, "id_number": id_number, "mobile": mobile}
    )


def test_login_page_links_to_register_and_reset(client):
    html = client.get("/accounts/login/").content.decode()
    assert '<a href="/accounts/register/">注册</a>' in html
    assert '<a href="/accounts/reset/">忘记密码</a>' in html


def test_register_then_logged_in_with_real_name_level(client, sms):
    profile = ResidentProfileFactory(user=None, name="王小明", id_number=ID)
    response = _register(client)
    assert (response.status_code, response["Location"]) == (302, "/accounts/register/code/")
    page = client.get("/accounts/register/code/").content.decode()
    assert "已向手机号码 139****5678 发送短信" in page
    response = client.post(
        "/accounts/register/code/",
        {
            "code": code_in(sms[0][1]),
            "username": "wangxm",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert (response.status_code, response["Location"]) == (302, "/me/")
    profile.refresh_from_db()
    assert profile.user.username == "wangxm"
    assert profile.user.assurance_level == AssuranceLevel.REAL_NAME
    assert client.session["_auth_user_id"] == str(profile.user.pk)
    me = client.get("/me/").content.decode()
    assert "身份核验等级：<strong>已实名核验</strong>" in me
    assert "已验证的手机号码可用于找回密码" in me


def test_refused_real_name_check_says_why_and_stays_on_the_page(client, sms):
    ResidentProfileFactory(user=None, name="王小明", id_number=ID)
    response = _register(client, name="王晓明")
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="register-error"' in html
    assert "实名核验未通过：姓名与身份证号码不一致" in html
    assert sms == [] and User.objects.count() == 0


def test_bad_fields_are_told_at_the_field(client, sms):
    response = _register(client, id_number="123", mobile="12")
    assert response.status_code == 422
    html = response.content.decode()
    assert "身份证号码应为18位，当前为3位" in html
    assert sms == []


def test_registration_pages_are_the_same_for_a_registered_and_a_new_person(sms):
    new = ResidentProfileFactory(user=None, name="王小明", id_number=ID)
    old = ResidentProfileFactory(name="李静")
    pages = []
    for profile, mobile in ((new, "13911115678"), (old, "13922225678")):
        client = Client()
        first = _register(client, name=profile.name, id_number=profile.id_number, mobile=mobile)
        code_page = client.get("/accounts/register/code/")
        wrong = client.post(
            "/accounts/register/code/",
            {"code": "000000", "username": "x1", "password1": PASSWORD, "password2": PASSWORD},
        )
        pages.append(
            (
                first.status_code,
                first["Location"],
                code_page.status_code,
                _strip_tokens(code_page.content.decode()),
                wrong.status_code,
                _strip_tokens(wrong.content.decode()),
            )
        )
    assert pages[0] == pages[1]
    assert pages[0][4] == 422
    # The new person got a code, the registered one a notice: told only to the phone.
    assert "验证码为" in sms[0][1] and "已注册过通办账户" in sms[1][1]


def test_reset_pages_are_the_same_for_an_account_and_no_account(sms, clock):
    profile = ResidentProfileFactory(phone="13912345678", user__username="wangxm")
    profile.user.mobile_hash = mobile_hash("13912345678")
    profile.user.mobile_confirmed_at = clock.at
    profile.user.save()
    pages = []
    for identifier in ("wangxm", "nobody"):
        client = Client()
        first = client.post("/accounts/reset/", {"identifier": identifier})
        code_page = client.get("/accounts/reset/code/")
        wrong = client.post(
            "/accounts/reset/code/",
            {"code": "000000", "password1": PASSWORD, "password2": PASSWORD},
        )
        pages.append(
            (
                first.status_code,
                first["Location"],
                _strip_tokens(code_page.content.decode()),
                wrong.status_code,
                _strip_tokens(wrong.content.decode()),
            )
        )
    assert pages[0] == pages[1]
    assert len(sms) == 1


def test_reset_ends_every_session_of_the_account(sms, clock):
    profile = ResidentProfileFactory(phone="13912345678", user__username="wangxm")
    user = profile.user
    user.mobile_hash, user.mobile_confirmed_at = mobile_hash("13912345678"), clock.at
    user.save()
    elsewhere = Client()
    assert elsewhere.login(username="wangxm", password=TEST_PASSWORD)
    assert elsewhere.get("/me/").status_code == 200

    client = Client()
    client.post("/accounts/reset/", {"identifier": "13912345678"})
    response = client.post(
        "/accounts/reset/code/",
        {"code": code_in(sms[0][1]), "password1": PASSWORD, "password2": PASSWORD},
    )
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
    # The other browser's session no longer holds: it is sent to log in.
    again = elsewhere.get("/me/")
    assert again.status_code == 302 and again["Location"].startswith("/accounts/login/")
    assert client.login(username="wangxm", password=PASSWORD)


def test_code_pages_without_a_first_step_send_back(client):
    for path, back in (
        ("/accounts/register/code/", "/accounts/register/"),
        ("/accounts/reset/code/", "/accounts/reset/"),
    ):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, back)


def test_throttled_sms_is_a_429_with_retry_after(client, sms):
    ResidentProfileFactory(user=None, name="王小明", id_number=ID)
    _register(client)
    response = _register(client)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert "获取验证码过于频繁" in response.content.decode()


# ---------------------------------------------------------------- 示例短信


@pytest.fixture
def outbox(settings, monkeypatch):
    settings.TONGBAN_SMS_ADAPTER = DEMO_OUTBOX_ADAPTER
    settings.TONGBAN_DEMO_SMS_OUTBOX = True
    send_at_once(monkeypatch)


def test_demo_outbox_shows_this_browsers_messages_only(client, outbox):
    ResidentProfileFactory(user=None, name="王小明", id_number=ID)
    other = ResidentProfileFactory(user=None, name="李静")
    Client().post(
        "/accounts/register/",
        {"name": "李静", "id_number": other.id_number, "mobile": "13700001111"},
    )
    _register(client)
    assert DemoSms.objects.count() == 2
    code_page = client.get("/accounts/register/code/").content.decode()
    assert 'href="/accounts/demo-sms/"' in code_page
    html = client.get("/accounts/demo-sms/").content.decode()
    assert html.count('class="demo-sms-text"') == 1
    assert "发送至 139****5678" in html
    assert "137****1111" not in html
    # Typing the other number shows that phone too, as if the visitor held it.
    client.post("/accounts/demo-sms/", {"mobile": "13700001111"})
    assert client.get("/accounts/demo-sms/").content.decode().count('class="demo-sms-text"') == 2


def test_demo_outbox_is_off_with_a_real_adapter(client, settings):
    settings.TONGBAN_SMS_ADAPTER = "tongban.notifications.sms.ConsoleSmsAdapter"
    settings.TONGBAN_DEMO_SMS_OUTBOX = True
    assert client.get("/accounts/demo-sms/").status_code == 404


def test_demo_outbox_can_be_switched_off(client, settings):
    settings.TONGBAN_SMS_ADAPTER = DEMO_OUTBOX_ADAPTER
    settings.TONGBAN_DEMO_SMS_OUTBOX = False
    assert client.get("/accounts/demo-sms/").status_code == 404
    from tongban.identity.sms import DemoOutboxSmsAdapter

    DemoOutboxSmsAdapter().send("13912345678", "【通办】测试")
    assert DemoSms.objects.count() == 0
