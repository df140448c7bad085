"""统一身份认证 as a relying party sees it: discovery, JWKS, the code flow with PKCE through an
independent OIDC client library (Authlib), ID tokens verified against the published keys,
userinfo, and the rules: exact redirect URIs, single-use codes, PKCE for public clients,
scopes the client was registered for, remembered and withdrawable consent, logout."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.common.models import AuditEvent
from tongban.connect.models import Consent
from tongban.connect.tests.conftest import APP_CALLBACK, RP_CALLBACK
from tongban.demo.population import id_number

SCOPE = "openid profile id_number"


def _discovery(base: str) -> dict:
    response = requests.get(f"{base}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    return response.json()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _consent(browser, authorize_url: str):
    """The resident's browser: open the authorization URL, press 同意 on the consent page."""
    page = browser.get(_path(authorize_url))
    assert page.status_code == 200, page.content[:300]
    fields = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    return browser.post(_path(authorize_url), data={**fields, "allow": "on"})


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.mark.django_db(transaction=True)
def test_discovery_and_jwks(live_server, website):
    doc = _discovery(live_server.url)
    assert doc["issuer"] == live_server.url
    assert doc["authorization_endpoint"] == f"{live_server.url}/oauth/authorize/"
    assert doc["token_endpoint"] == f"{live_server.url}/oauth/token/"
    assert doc["userinfo_endpoint"] == f"{live_server.url}/oauth/userinfo/"
    assert doc["end_session_endpoint"] == f"{live_server.url}/oauth/logout/"
    assert doc["response_types_supported"] == ["code"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256", "HS256"]
    assert set(doc["scopes_supported"]) >= {"openid", "profile", "id_number", "me", "workbench"}
    keys = requests.get(doc["jwks_uri"], timeout=10).json()["keys"]
    assert [(k["kty"], k["alg"], k["use"]) for k in keys] == [("RSA", "RS256", "sig")]
    assert "d" not in keys[0]  # the public half only


@pytest.mark.django_db(transaction=True)
def test_code_flow_with_pkce_through_authlib(live_server, client, website):
    number = id_number("310104", dt.date(1990, 1, 1), 123)
    resident = ResidentProfileFactory(name="测试居民", id_number=number)
    doc = _discovery(live_server.url)
    rp = OAuth2Session(
        website.client_id,
        website.client_secret,
        scope=SCOPE,
        redirect_uri=RP_CALLBACK,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(
        doc["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    client.force_login(resident.user)
    page = client.get(_path(url))
    assert page.status_code == 200
    html = page.content.decode()
    assert "授权「测试 公积金网站」使用一网通办账户登录" in html
    assert "您的姓名" in html and "您的身份证号码" in html
    assert "测试：《示例条例》第十条" in html  # the legal basis for the ID number

    redirected = _consent(client, url)
    assert redirected.status_code == 302
    location = redirected["Location"]
    assert location.startswith(RP_CALLBACK + "?")
    assert _query(location)["state"] == state

    token = rp.fetch_token(
        doc["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer" and token["scope"] == SCOPE
    assert 3500 <= token["expires_in"] <= 3600

    keys = KeySet.import_key_set(requests.get(doc["jwks_uri"], timeout=10).json())
    id_token = jwt.decode(token["id_token"], keys)
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": doc["issuer"]},
        aud={"essential": True, "value": website.client_id},
        sub={"essential": True, "value": str(resident.user.pk)},
        nonce={"essential": True, "value": nonce},
    ).validate(id_token.claims)
    assert id_token.header["alg"] == "RS256"
    # The ID number travels only over the back channel, from userinfo.
    assert id_token.claims["name"] == "测试居民"
    assert "id_number" not in id_token.claims

    info = rp.get(doc["userinfo_endpoint"]).json()
    assert info == {
        "sub": str(resident.user.pk),
        "name": "测试居民",
        "id_number": number,
    }

    # Each release is in the resident's 我的数据使用记录, with the site as the purpose.
    reads = AuditEvent.objects.filter(
        action="personal_data.read", subject_resident_id=resident.pk
    ).order_by("pk")
    assert [(r.data["fields"], r.data["via"]) for r in reads] == [
        (["name"], "id_token"),
        (["name", "id_number"], "userinfo"),
    ]
    assert reads[1].purpose == "经您授权，登录「测试 公积金网站」时提供"
    assert reads[1].actor is None and reads[1].data["post"] == "测试 公积金网站（政务网站）"


def _authorize_url(base, client_id, redirect_uri, scope="openid profile", **extra):
    rp = OAuth2Session(client_id, scope=scope, redirect_uri=redirect_uri)
    url, _ = rp.create_authorization_url(f"{base}/oauth/authorize/", **extra)
    return url


@pytest.mark.django_db(transaction=True)
def test_redirect_uri_must_match_exactly(live_server, client, website):
    client.force_login(ResidentProfileFactory().user)
    for wrong in (RP_CALLBACK + "/", RP_CALLBACK + "?x=1", "http://rp.example.test/callbacks"):
        url = _authorize_url(live_server.url, website.client_id, wrong)
        page = client.get(_path(url))
        # Never sent to an unregistered address: an error page here, no redirect anywhere.
        assert page.status_code == 400, wrong
        assert "登录请求不完整或回调地址与登记的不一致" in page.content.decode()
    assert Consent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_code_is_single_use_and_pkce_is_checked(live_server, client, mobile_app):
    client.force_login(ResidentProfileFactory().user)
    verifier, challenge = _pkce()
    url = _authorize_url(
        live_server.url,
        mobile_app.client_id,
        APP_CALLBACK,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    code = _query(_consent(client, url)["Location"])["code"]
    token_url = f"{live_server.url}/oauth/token/"
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": APP_CALLBACK,
        "client_id": mobile_app.client_id,
    }
    wrong = requests.post(token_url, data={**body, "code_verifier": "x" * 50}, timeout=10)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    # DOT keeps the code after a failed verifier; the right one then works, once.
    first = requests.post(token_url, data={**body, "code_verifier": verifier}, timeout=10)
    assert first.status_code == 200 and first.json()["refresh_token"]
    again = requests.post(token_url, data={**body, "code_verifier": verifier}, timeout=10)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


@pytest.mark.django_db(transaction=True)
def test_public_client_without_pkce_gets_no_code(live_server, client, mobile_app):
    client.force_login(ResidentProfileFactory().user)
    url = _authorize_url(live_server.url, mobile_app.client_id, APP_CALLBACK)
    page = client.get(_path(url))
    assert page.status_code == 302
    query = _query(page["Location"])
    assert query["error"] == "invalid_request" and "code" not in query
    assert Consent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_id_number_refused_to_a_client_without_legal_basis(live_server, client, plain_site):
    client.force_login(ResidentProfileFactory().user)
    url = _authorize_url(
        live_server.url,
        plain_site.client_id,
        "http://venues.example.test/cb",
        scope="openid id_number",
    )
    page = client.get(_path(url))
    assert page.status_code == 302
    query = _query(page["Location"])
    assert query["error"] == "invalid_scope" and "code" not in query
    assert Consent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_consent_is_remembered_and_can_be_withdrawn(live_server, client, website):
    from oauth2_provider.models import AccessToken

    resident = ResidentProfileFactory()
    client.force_login(resident.user)
    url = _authorize_url(live_server.url, website.client_id, RP_CALLBACK, scope="openid profile")
    assert _consent(client, url).status_code == 302
    consent = Consent.objects.get(user=resident.user)
    assert consent.scopes == "openid profile"

    # Second login: straight back to the site with a code, no page.
    again = client.get(_path(url))
    assert again.status_code == 302 and "code" in _query(again["Location"])
    # Asking for more than was allowed shows the page again.
    wider = _authorize_url(live_server.url, website.client_id, RP_CALLBACK, scope=SCOPE)
    assert client.get(_path(wider)).status_code == 200

    # A token the site holds for this resident...
    code = _query(again["Location"])["code"]
    token = requests.post(
        f"{live_server.url}/oauth/token/",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": RP_CALLBACK},
        auth=(website.client_id, website.client_secret),
        timeout=10,
    ).json()["access_token"]
    userinfo = f"{live_server.url}/oauth/userinfo/"
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(userinfo, headers=headers, timeout=10).status_code == 200

    listing = client.get("/me/connected-sites/")
    assert "测试 公积金网站" in listing.content.decode()
    withdrawn = client.post(f"/me/connected-sites/{consent.pk}/withdraw/")
    assert withdrawn.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    assert AccessToken.objects.filter(user=resident.user).count() == 0
    # ...stops working at once, and the next login asks again.
    assert requests.get(userinfo, headers=headers, timeout=10).status_code == 401
    assert client.get(_path(url)).status_code == 200
    assert "您还没有授权任何网站或应用" in client.get("/me/connected-sites/").content.decode()


@pytest.mark.django_db
def test_someone_elses_consent_cannot_be_withdrawn(client, website):
    from tongban.connect.services import consent_grant

    owner = ResidentProfileFactory().user
    consent = consent_grant(user=owner, client=website.client, scopes=["openid"])
    client.force_login(ResidentProfileFactory().user)
    audits = AuditEvent.objects.count()
    response = client.post(f"/me/connected-sites/{consent.pk}/withdraw/", follow=True)
    assert "未找到该授权记录" in response.content.decode()
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
    assert AuditEvent.objects.count() == audits


@pytest.mark.django_db(transaction=True)
def test_rp_initiated_logout(live_server, client, website):
    resident = ResidentProfileFactory()
    client.force_login(resident.user)
    url = _authorize_url(live_server.url, website.client_id, RP_CALLBACK, scope="openid")
    code = _query(_consent(client, url)["Location"])["code"]
    tokens = requests.post(
        f"{live_server.url}/oauth/token/",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": RP_CALLBACK},
        auth=(website.client_id, website.client_secret),
        timeout=10,
    ).json()
    logout = (
        f"/oauth/logout/?id_token_hint={tokens['id_token']}"
        "&post_logout_redirect_uri=http://rp.example.test/&state=s1"
    )
    # The ID token names the live server as its issuer; the browser talks to the same host.
    host = urlsplit(live_server.url).netloc
    confirm = client.get(logout, HTTP_HOST=host)
    assert confirm.status_code == 200 and "退出一网通办登录" in confirm.content.decode()
    fields = {k: v for k, v in confirm.context["form"].initial.items() if v is not None}
    done = client.post(logout, data={**fields, "allow": "on"}, HTTP_HOST=host)
    assert done.status_code == 302 and done["Location"] == "http://rp.example.test/?state=s1"
    assert "_auth_user_id" not in client.session
    # A logout that names an address the site did not register goes nowhere.
    client.force_login(resident.user)
    bad = client.get(
        f"/oauth/logout/?id_token_hint={tokens['id_token']}&post_logout_redirect_uri=http://evil.test/",
        HTTP_HOST=host,
    )
    assert bad.status_code == 400


@pytest.mark.django_db
def test_release_shows_in_the_residents_data_use_record(website):
    from tongban.accounts.selectors import data_access_for
    from tongban.connect.services import personal_data_release_record

    resident = ResidentProfileFactory()
    personal_data_release_record(
        client=website.client,
        user=resident.user,
        claims=["sub", "name", "id_number"],
        channel="userinfo",
    )
    rows = data_access_for(user=resident.user).object_list
    assert [(r["who"], r["fields"], r["purpose"]) for r in rows] == [
        (
            "测试 公积金网站（政务网站）",
            ["姓名", "公民身份号码"],
            "经您授权，登录「测试 公积金网站」时提供",
        )
    ]


@pytest.mark.django_db(transaction=True)
def test_prompt_none_without_consent_returns_consent_required(live_server, client, website):
    resident = ResidentProfileFactory()
    client.force_login(resident.user)
    url = _authorize_url(live_server.url, website.client_id, RP_CALLBACK, prompt="none")
    response = client.get(_path(url))
    assert response.status_code == 302
    query = _query(response["Location"])
    assert response["Location"].startswith(RP_CALLBACK + "?")
    assert query["error"] == "consent_required" and "code" not in query
    assert Consent.objects.count() == 0
    # Once allowed, a silent login gets its code.
    assert (
        _consent(
            client, _authorize_url(live_server.url, website.client_id, RP_CALLBACK)
        ).status_code
        == 302
    )
    again = client.get(_path(url))
    assert again.status_code == 302 and "code" in _query(again["Location"])
