"""Reads of passkeys for the pages and the login flow."""

from __future__ import annotations

from tongban.accounts.models import User
from tongban.passkeys.models import Passkey


def passkey_list_for(*, user: User) -> list[Passkey]:
    """USER's own passkeys, oldest first (nobody else's: there is no other reader)."""
    return list(Passkey.objects.filter(user=user).order_by("created_at", "id"))


def user_has_passkey(*, user: User) -> bool:
    return Passkey.objects.filter(user=user).exists()
