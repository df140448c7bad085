"""Which site passkeys belong to (the WebAuthn relying party) and which page origins may
answer a ceremony.

A deployment names both in settings (TONGBAN_WEBAUTHN_RP_ID, TONGBAN_WEBAUTHN_ORIGINS): a
passkey is bound to its RP id for life, so it must not follow whatever Host a request
carries. Without them (a developer's machine, the tests) the id and the one origin are taken
from the request's host, which Django has already checked against ALLOWED_HOSTS.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.conf import settings

from tongban.passkeys.errors import PasskeyUnavailableHere


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origins: tuple[str, ...]


def _hostname(host: str) -> str:
    host = (host or "").strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host


def _is_ip(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def relying_party_for(*, host: str, secure: bool) -> RelyingParty:
    """The relying party for a request to HOST (as `request.get_host()` gives it).

    Raises PasskeyUnavailableHere where a browser would refuse anyway: an IP address (WebAuthn
    needs a domain name; open the demo at http://localhost:8000) or a host outside the
    configured RP id."""
    hostname = _hostname(host)
    name = settings.TONGBAN_WEBAUTHN_RP_NAME
    configured = settings.TONGBAN_WEBAUTHN_RP_ID
    if configured:
        if not (hostname == configured or hostname.endswith("." + configured)):
            raise PasskeyUnavailableHere()
        origins = tuple(settings.TONGBAN_WEBAUTHN_ORIGINS) or (f"https://{configured}",)
        return RelyingParty(id=configured, name=name, origins=origins)
    if not hostname or _is_ip(hostname):
        raise PasskeyUnavailableHere()
    scheme = "https" if secure else "http"
    return RelyingParty(id=hostname, name=name, origins=(f"{scheme}://{host}",))
