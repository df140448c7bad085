"""A tiny HTTP client for benchmarks: one per virtual user, keeping its session cookie and
CSRF token, on http.client (reconnects itself when gunicorn's sync workers close)."""

from __future__ import annotations

import http.client
import re
import urllib.parse
import uuid
from http.cookies import SimpleCookie

CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


class Session:
    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host = parts.hostname
        self.port = parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            # The server closed a kept-alive connection between requests: once more, fresh.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        data = resp.read()
        for header in resp.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for key, morsel in cookie.items():
                self.cookies[key] = morsel.value
        if resp.will_close:
            self.conn.close()
        return resp.status, data

    def _form(self, path: str, fields: dict[str, str]) -> int:
        status, page = self.request("GET", path)
        match = CSRF_FIELD.search(page)
        if status != 200 or not match:
            raise RuntimeError(f"GET {path}: {status}, no CSRF field")
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": match.group(1).decode(), **fields})
        status, _ = self.request(
            "POST",
            path,
            body.encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://{self.host}:{self.port}{path}",
            },
        )
        return status

    def login(self, username: str, password: str, totp_code=None) -> None:
        """Password (and, for staff, a TOTP code from TOTP_CODE()) through the login pages."""
        status = self._form("/accounts/login/", {"username": username, "password": password})
        if status != 302:
            raise RuntimeError(f"login {username}: {status}")
        if totp_code is not None:
            status = self._form("/accounts/login/code/", {"code": totp_code()})
            if status != 302:
                raise RuntimeError(f"login code {username}: {status}")
        if "sessionid" not in self.cookies:
            raise RuntimeError(f"login {username}: no session cookie")

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def api_headers(self) -> dict[str, str]:
        return {
            "X-CSRFToken": self.cookies.get("csrftoken", ""),
            "Referer": f"http://{self.host}:{self.port}/",
        }


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]):
    """(body, content type) for a multipart/form-data request."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, (filename, content, ctype) in files.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
        ).encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"
