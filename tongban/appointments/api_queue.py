"""API of 取号叫号与综合窗口."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["取号叫号与综合窗口"])
