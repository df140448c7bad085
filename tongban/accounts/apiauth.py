"""Who may call an API endpoint: django-ninja authentication shared by every app's router."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import SessionAuth

from tongban.accounts.errors import StaffOnly
from tongban.accounts.selectors import is_staff_member


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


staff_auth = StaffSessionAuth()
