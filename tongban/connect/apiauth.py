"""Bearer tokens on /api/v1/: a mobile app or a department system calls the same operations
the pages use, with an OAuth access token instead of the session cookie.

Every router keeps its session authentication (CSRF as before); a token is tried first, only
when the request carries `Authorization: Bearer`. The operation's scope depends on what it
does: reading the resident's own things needs `me`, changing them `cases`; staff operations
need `workbench`, and what the post may then see or do stays with the selectors and services,
exactly as for staff at a screen.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings

from tongban.accounts.errors import StaffOnly
from tongban.accounts.selectors import is_staff_member
from tongban.connect.errors import ScopeMissing, TokenInvalid
from tongban.connect.selectors import client_of

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <access token>` issued by this platform's OAuth server."""

    openapi_scheme = "bearer"
    openapi_bearerFormat = "opaque"

    def __init__(self, *, read_scope: str, write_scope: str, staff: bool = False) -> None:
        self.read_scope = read_scope
        self.write_scope = write_scope
        self.staff = staff
        super().__init__()

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None  # not a token call: the session authentication decides
        return self.authenticate(request, header[7:].strip())

    def required_scope(self, request: HttpRequest) -> str:
        return self.read_scope if request.method in _SAFE_METHODS else self.write_scope

    def authenticate(self, request: HttpRequest, token: str | None) -> Any:
        if not token:
            raise TokenInvalid()
        validator: OAuth2Validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
        access_token = validator._load_access_token(token)
        if access_token is None:
            session_user = getattr(request, "user", None)
            if session_user is not None and session_user.is_authenticated:
                # Not one of ours (another scheme's key, e.g. a 随申码 scanner's) on a
                # logged-in browser's request: the session decides, CSRF check included.
                return None
            raise TokenInvalid()
        client = client_of(access_token.application)
        if client is not None:
            # Counted for the client whatever the outcome (ClientActivityMiddleware).
            request.connect_client_pk = client.pk
        if client is None or not client.is_active or access_token.is_expired():
            raise TokenInvalid()
        user = access_token.user
        if user is None:
            # Client credentials: a department system acts as its own service account.
            user = client.service_account
        if user is None or not user.is_active:
            raise TokenInvalid()
        if not access_token.allow_scopes([self.required_scope(request)]):
            raise ScopeMissing()
        if self.staff and not is_staff_member(user):
            raise StaffOnly()
        # The services read request.user, as for a session: the same rules apply.
        request.user = user
        request.oauth_access_token = access_token
        request.connect_client = client
        return user


# A resident's app: reading needs `me`, acting needs `cases`.
resident_token_auth = TokenAuth(read_scope="me", write_scope="cases")
# A department system (or a staff member's own app): `workbench` for reading and acting.
staff_token_auth = TokenAuth(read_scope="workbench", write_scope="workbench", staff=True)
