"""实名认证: is this name the name on this 身份证号码?

A city connects its identity authority (公安人口库 or a certified 实名认证 service) by naming a
class in TONGBAN_REAL_NAME_VERIFIER; the class answers one question and holds no state. The
demo's verifier asks the demo city's own population register (一人一档).
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from tongban.accounts.models import ResidentProfile
from tongban.accounts.selectors import resident_id_number_hash


class RealNameVerifier(Protocol):
    def verify(self, *, name: str, id_number: str) -> bool:
        """True when the authority holds ID_NUMBER (validated, upper case) under NAME.

        Raise when the authority cannot be asked (network, authority down): registration then
        stops before anything is written or sent."""


class PopulationRegisterVerifier:
    """Demo: the person must be in this platform's 居民档案 under exactly that name."""

    def verify(self, *, name: str, id_number: str) -> bool:
        found = (
            ResidentProfile.objects.filter(id_number_hash=resident_id_number_hash(id_number))
            .values_list("name", flat=True)
            .first()
        )
        return found is not None and found.strip() == name.strip()


def real_name_verifier() -> RealNameVerifier:
    return import_string(settings.TONGBAN_REAL_NAME_VERIFIER)()
