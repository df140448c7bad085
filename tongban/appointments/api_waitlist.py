"""API of 轮候."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["轮候"])
