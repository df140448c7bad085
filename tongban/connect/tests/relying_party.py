"""A relying party for the tests: a tiny website in the test process that logs its users in
through the platform with Authlib, as a city's 公积金 website would (code flow + PKCE, ID token
verified against the published JWKS, name from userinfo)."""

from __future__ import annotations

import html
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet


class RelyingParty:
    def __init__(self, *, issuer: str, client_id: str = "", client_secret: str = ""):
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.pending: dict[str, tuple[str, str]] = {}  # state -> (code verifier, nonce)
        self.logged_in: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.callback = f"{self.url}/callback"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _session(self) -> OAuth2Session:
        return OAuth2Session(
            self.client_id,
            self.client_secret,
            scope="openid profile",
            redirect_uri=self.callback,
            code_challenge_method="S256",
        )

    def _discovery(self) -> dict:
        return requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()

    def start(self) -> str:
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        url, state = self._session().create_authorization_url(
            self._discovery()["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        self.pending[state] = (verifier, nonce)
        return url

    def finish(self, path: str) -> dict:
        doc = self._discovery()
        session = self._session()
        query = dict(p.split("=", 1) for p in urlsplit(path).query.split("&") if "=" in p)
        verifier, nonce = self.pending.pop(query["state"])
        token = session.fetch_token(
            doc["token_endpoint"],
            authorization_response=f"{self.url}{path}",
            code_verifier=verifier,
        )
        keys = KeySet.import_key_set(requests.get(doc["jwks_uri"], timeout=10).json())
        id_token = jwt.decode(token["id_token"], keys)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": doc["issuer"]},
            aud={"essential": True, "value": self.client_id},
            nonce={"essential": True, "value": nonce},
        ).validate(id_token.claims)
        info = session.get(doc["userinfo_endpoint"]).json()
        self.logged_in.append(info)
        return info

    def _handler(self):
        rp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def do_GET(self):
                if self.path == "/login":
                    self.send_response(302)
                    self.send_header("Location", rp.start())
                    self.end_headers()
                    return
                if self.path.startswith("/callback"):
                    info = rp.finish(self.path)
                    body = (
                        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
                        "<title>测试网站</title></head><body><main>"
                        f"<h1>欢迎，{html.escape(info.get('name', ''))}</h1></main></body></html>"
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(404)
                self.end_headers()

        return Handler
