"""API of 24小时自助终端."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["24小时自助终端"])
