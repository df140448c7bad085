"""Registered clients for the 接入管理 tests, made through the same service the
administrator's page uses."""

from __future__ import annotations

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.connect.models import ClientKind
from tongban.connect.services import client_register

RP_CALLBACK = "http://rp.example.test/callback"
APP_CALLBACK = "http://app.example.test/oauth/callback"
LEGAL_BASIS = "测试：《示例条例》第十条"


@pytest.fixture
def admin(db):
    return StaffFactory(role=StaffRole.ADMINISTRATOR)


@pytest.fixture
def website(admin):
    """A confidential 政务网站 allowed the ID number, with a legal basis."""
    return client_register(
        actor=admin,
        name="测试 公积金网站",
        kind=ClientKind.WEBSITE,
        confidential=True,
        redirect_uris=RP_CALLBACK,
        post_logout_redirect_uris="http://rp.example.test/",
        scopes=["openid", "profile", "id_number"],
        legal_basis=LEGAL_BASIS,
    )


@pytest.fixture
def plain_site(admin):
    """A website registered without a legal basis: name only."""
    return client_register(
        actor=admin,
        name="测试 文化场馆预约网站",
        kind=ClientKind.WEBSITE,
        confidential=True,
        redirect_uris="http://venues.example.test/cb",
        scopes=["openid", "profile"],
    )


@pytest.fixture
def mobile_app(admin):
    """A public 移动应用: no secret, PKCE required."""
    return client_register(
        actor=admin,
        name="测试 随申办",
        kind=ClientKind.MOBILE_APP,
        confidential=False,
        redirect_uris=APP_CALLBACK,
        scopes=["openid", "profile", "me", "cases"],
    )
