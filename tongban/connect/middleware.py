"""Counts each API call made with a token for its client (调用统计)."""

from __future__ import annotations

import logging

from tongban.connect.services import activity_record, api_write_record

log = logging.getLogger(__name__)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ClientActivityMiddleware:
    """After the response is known, so an error (4xx/5xx) counts as one. Only requests the
    bearer authentication tied to a client are counted; pages and cookie calls cost nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        client_pk = getattr(request, "connect_client_pk", None)
        if client_pk is not None:
            try:
                activity_record(client_pk=client_pk, error=response.status_code >= 400)
            except Exception:  # a counter must never turn an answered call into a 500
                log.exception("could not count an API call for client %s", client_pk)
        client = getattr(request, "connect_client", None)
        if client is not None and request.method not in _SAFE_METHODS:
            # The service's own audit row names the user; this one adds through which
            # client the change was asked for.
            api_write_record(
                client=client,
                user=request.user,
                method=request.method,
                path=request.path,
                status=response.status_code,
            )
        return response
