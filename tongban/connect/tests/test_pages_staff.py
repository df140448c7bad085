"""接入管理 pages: who may see and change the client register, the secret shown once, rotation
and disabling, and the activity per client."""

from __future__ import annotations

import base64

import pytest
from oauth2_provider.models import get_application_model

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import DepartmentFactory, ResidentProfileFactory, StaffFactory
from tongban.common.models import AuditEvent
from tongban.connect.models import ConnectedClient
from tongban.connect.services import activity_record

pytestmark = pytest.mark.django_db

FORM = {
    "name": "测试 不动产登记网站",
    "kind": "website",
    "confidential": "1",
    "redirect_uris": "https://bdc.example.test/cb",
    "scopes": ["openid", "profile"],
}


def _token_status(client, client_id: str, secret: str) -> int:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return client.post(
        "/oauth/token/",
        data={"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    ).status_code


def test_administrator_registers_a_website_and_sees_the_secret_once(client, admin):
    client.force_login(admin)
    assert client.get("/staff/connect/register/").status_code == 200
    response = client.post("/staff/connect/register/", data=FORM)
    assert response.status_code == 200
    html = response.content.decode()
    assert "密钥只显示这一次" in html
    secret = response.context["client_secret"]
    assert len(secret) == 48 and secret in html
    app = get_application_model().objects.get(name="测试 不动产登记网站")
    assert app.client_secret != secret  # stored hashed
    assert app.redirect_uris == "https://bdc.example.test/cb"
    assert (
        app.client_type == "confidential" and app.authorization_grant_type == "authorization-code"
    )
    client_row = ConnectedClient.objects.get(application=app)
    assert (client_row.kind, client_row.allowed_scopes) == ("website", "openid profile")
    detail = client.get(f"/staff/connect/{client_row.pk}/").content.decode()
    assert secret not in detail and app.client_id in detail
    assert AuditEvent.objects.filter(action="connect.client_register", actor=admin).count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"redirect_uris": "https://bdc.example.test/*"}, "回调地址须为完整的网址"),
        ({"redirect_uris": "https://bdc.example.test/cb#x"}, "回调地址须为完整的网址"),
        ({"redirect_uris": ""}, "请至少填写一个回调地址"),
        ({"scopes": ["openid", "id_number"]}, "申请获取身份证号码须填写法律依据"),
        ({"scopes": ["openid", "workbench"]}, "网站和移动应用不能申请“部门工作台”权限"),
        ({"kind": "department_system", "scopes": ["workbench"]}, "部门系统须指定所属部门和岗位"),
    ],
)
def test_bad_registrations_are_refused_and_create_nothing(client, admin, change, message):
    client.force_login(admin)
    response = client.post("/staff/connect/register/", data={**FORM, **change})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert get_application_model().objects.count() == 0
    assert ConnectedClient.objects.count() == 0


def test_department_system_gets_a_service_account_with_the_posts(client, admin):
    department = DepartmentFactory(name="测试民政局")
    client.force_login(admin)
    response = client.post(
        "/staff/connect/register/",
        data={
            "name": "测试 民政业务系统",
            "kind": "department_system",
            "confidential": "1",
            "scopes": ["workbench"],
            "department": department.pk,
            "service_roles": ["reviewer"],
        },
    )
    assert response.status_code == 200
    registered = ConnectedClient.objects.get()
    account = registered.service_account
    assert account.kind == "staff" and not account.has_usable_password()
    assert list(account.staff_assignments.values_list("department__name", "role")) == [
        ("测试民政局", "reviewer")
    ]
    secret = response.context["client_secret"]
    assert _token_status(client, registered.application.client_id, secret) == 200


def test_rotate_replaces_the_secret_and_disable_stops_everything(client, admin):
    department = DepartmentFactory()
    from tongban.connect.services import client_register

    registered = client_register(
        actor=admin,
        name="测试 系统",
        kind="department_system",
        confidential=True,
        scopes=["workbench"],
        department=department,
        service_roles=[StaffRole.REVIEWER],
    )
    client_id, old = registered.client_id, registered.client_secret
    assert _token_status(client, client_id, old) == 200
    client.force_login(admin)
    rotated = client.post(f"/staff/connect/{registered.client.pk}/rotate/")
    new = rotated.context["client_secret"]
    assert new != old
    assert _token_status(client, client_id, old) == 401
    assert _token_status(client, client_id, new) == 200
    client.post(f"/staff/connect/{registered.client.pk}/disable/")
    assert _token_status(client, client_id, new) == 401
    page = client.get(f"/staff/connect/{registered.client.pk}/").content.decode()
    assert "已停用" in page and "更换客户端密钥" not in page


def test_activity_per_client_is_shown(client, admin, website):
    activity_record(client_pk=website.client.pk, error=False)
    activity_record(client_pk=website.client.pk, error=True)
    activity_record(client_pk=website.client.pk, error=False)
    client.force_login(admin)
    rows = client.get("/staff/connect/").context["clients"]
    assert [(r["name"], r["activity"]["calls"], r["activity"]["errors"]) for r in rows] == [
        ("测试 公积金网站", 3, 1)
    ]
    daily = client.get(f"/staff/connect/{website.client.pk}/").context["client"]["daily"]
    assert len(daily) == 14
    assert (daily[0]["calls"], daily[0]["errors"]) == (3, 1)
    assert [d["calls"] for d in daily[1:]] == [0] * 13


def test_city_operator_reads_but_cannot_change(client, website):
    operator = StaffFactory(role=StaffRole.CITY_OPERATOR)
    client.force_login(operator)
    listing = client.get("/staff/connect/")
    assert listing.status_code == 200 and "登记接入应用" not in listing.content.decode()
    assert (
        "更换客户端密钥" not in client.get(f"/staff/connect/{website.client.pk}/").content.decode()
    )
    audits = AuditEvent.objects.count()
    assert client.post("/staff/connect/register/", data=FORM).status_code == 403
    client.post(f"/staff/connect/{website.client.pk}/disable/")
    client.post(f"/staff/connect/{website.client.pk}/rotate/")
    website.client.refresh_from_db()
    assert website.client.disabled_at is None
    assert get_application_model().objects.count() == 1
    assert AuditEvent.objects.count() == audits


@pytest.mark.parametrize("who", ["anonymous", "resident", "reviewer"])
def test_others_cannot_open_the_register(client, website, who):
    if who == "resident":
        client.force_login(ResidentProfileFactory().user)
    elif who == "reviewer":
        client.force_login(StaffFactory(role=StaffRole.REVIEWER))
    audits = AuditEvent.objects.count()
    listing = client.get("/staff/connect/")
    if who == "anonymous":
        assert listing.status_code == 302 and listing["Location"].startswith("/accounts/login/")
    else:
        assert listing.status_code == 403
    assert client.post(f"/staff/connect/{website.client.pk}/disable/").status_code in (302, 403)
    assert client.post("/staff/connect/register/", data=FORM).status_code in (302, 403)
    website.client.refresh_from_db()
    assert website.client.disabled_at is None
    assert ConnectedClient.objects.count() == 1
    assert AuditEvent.objects.count() == audits


def test_client_secrets_are_stored_salted_not_stretched_and_never_for_passwords(admin, website):
    from django.contrib.auth.hashers import check_password, make_password

    stored = get_application_model().objects.get(client_id=website.client_id).client_secret
    algorithm, _salt, digest = stored.split("$")
    assert (algorithm, len(digest)) == ("client_secret_sha256", 64)
    assert check_password(website.client_secret, stored)
    assert not check_password(website.client_secret + "x", stored)
    # A person's password still goes through the first (stretching) hasher.
    assert not make_password("Tongban-pass-1").startswith("client_secret_sha256$")
