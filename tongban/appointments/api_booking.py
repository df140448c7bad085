"""API of 统一预约."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["统一预约"])
