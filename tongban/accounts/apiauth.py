"""Who may call an API endpoint: django-ninja authentication shared by every app's router."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import SessionAuth, django_auth

from tongban.accounts.errors import StaffOnly
from tongban.accounts.selectors import is_staff_member
from tongban.connect.apiauth import resident_token_auth, staff_token_auth


class StaffSessionAuth(SessionAuth):
    """A session login of someone who holds a staff post (工作人员).

    Staff endpoints declare `auth=staff_auth`; what a post may then see or do stays with the
    selectors and services. A logged-in resident is refused with STAFF_ONLY (403) before the
    view runs, rather than being shown an empty staff list as if the queue had nothing in it.
    Nobody logged in is 401, as everywhere else.
    """

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        if not is_staff_member(user):
            raise StaffOnly()
        return user


# An OAuth access token (tongban.connect) is tried first, and only when the request carries
# `Authorization: Bearer`; otherwise the session decides, with its CSRF check, as before.
staff_auth = [staff_token_auth, StaffSessionAuth()]
# The resident's own operations (me/…, cases, reviews …): the session, or a token of their app.
resident_auth = [resident_token_auth, django_auth]
