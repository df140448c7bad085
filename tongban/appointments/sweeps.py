"""The maintenance sweeps of the hall as a service, gathered from each part's services
module (a module-level `SWEEPS = {"name": sweep}`); each takes (now, today), returns a dict
of counts and is idempotent. The case engine's tick runs them (see apps.py)."""

from __future__ import annotations

from tongban.appointments.services import booking, halls, kiosk, queue, waitlist

SWEEPS: dict = {}
for _part in (halls, booking, queue, waitlist, kiosk):
    SWEEPS.update(getattr(_part, "SWEEPS", {}))
