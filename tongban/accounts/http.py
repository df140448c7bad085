"""Small request helpers shared by the account pages, the portal pages and the API."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def client_ip(request: HttpRequest) -> str | None:
    """The address the throttle and the audit trail record.

    REMOTE_ADDR only: X-Forwarded-For is whatever the client typed unless a trusted proxy
    rewrites it, and a throttle keyed on a forgeable value throttles nobody. A deployment
    behind a load balancer sets REMOTE_ADDR from its proxy protocol in gunicorn instead.
    """
    return request.META.get("REMOTE_ADDR") or None


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    """CANDIDATE if it is a path on this site, else DEFAULT — never an open redirect."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
