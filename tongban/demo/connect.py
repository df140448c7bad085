"""示例 connected clients for the demo city (接入管理): a 政务网站 that logs residents in, the
随申办 mobile app, and a 民政局 system working its department's queue through the API.

Their secrets derive from the instance's SECRET_KEY, like the demo scanner key, so a rebuilt
demo city keeps them and none is published in the source."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from django.conf import settings

from tongban.accounts.models import StaffRole
from tongban.catalog.models import Department
from tongban.connect.models import ClientKind, ConnectedClient
from tongban.connect.services import client_register

ACTOR = "system:city_setup"
WEBSITE_ID = "demo-gjj-website"
APP_ID = "demo-suishenban-app"
SYSTEM_ID = "demo-mzj-system"
SYSTEM_DEPARTMENT = "SH-MZJ"


def demo_client_secret(client_id: str) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"tongban-demo-client:{client_id}".encode(), hashlib.sha256
    )
    return "demo_" + digest.hexdigest()[:40]


def ensure_demo_clients(*, write: Callable[[str], object] | None = None) -> list[ConnectedClient]:
    existing = {
        c.application.client_id: c
        for c in ConnectedClient.objects.filter(is_synthetic=True).select_related("application")
    }
    made = []
    if WEBSITE_ID not in existing:
        made.append(
            client_register(
                actor=ACTOR,
                name="示例 公积金中心网站",
                kind=ClientKind.WEBSITE,
                confidential=True,
                redirect_uris="https://gjj.example.gov.cn/oidc/callback",
                post_logout_redirect_uris="https://gjj.example.gov.cn/",
                scopes=["openid", "profile", "id_number"],
                legal_basis="示例：《住房公积金管理条例》第十三条、第二十四条（办理缴存、提取须核实职工身份）",
                is_synthetic=True,
                client_id=WEBSITE_ID,
                client_secret=demo_client_secret(WEBSITE_ID),
            )
        )
    if APP_ID not in existing:
        made.append(
            client_register(
                actor=ACTOR,
                name="示例 随申办移动端",
                kind=ClientKind.MOBILE_APP,
                confidential=False,
                redirect_uris="https://app.suishenban.example.cn/oauth/callback",
                scopes=["openid", "profile", "me", "cases"],
                is_synthetic=True,
                client_id=APP_ID,
            )
        )
    department = Department.objects.filter(code=SYSTEM_DEPARTMENT, is_active=True).first()
    if SYSTEM_ID not in existing and department is not None:
        made.append(
            client_register(
                actor=ACTOR,
                name="示例 市民政局业务系统",
                kind=ClientKind.DEPARTMENT_SYSTEM,
                confidential=True,
                scopes=["workbench"],
                department=department,
                service_roles=[StaffRole.REVIEWER],
                is_synthetic=True,
                client_id=SYSTEM_ID,
                client_secret=demo_client_secret(SYSTEM_ID),
            )
        )
    if write and made:
        for registered in made:
            secret = registered.client_secret or "（公开客户端，无密钥，须用 PKCE）"
            name = registered.client.application.name
            write(f"  示例接入应用「{name}」：client_id={registered.client_id} 密钥={secret}")
    return [*existing.values(), *(r.client for r in made)]
