"""Schemas every API module shares, declared once so the OpenAPI document has one of each."""

from __future__ import annotations

from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    """Every refusal: a stable code, a Chinese message, and per-field details where a body
    or parameter was at fault."""

    code: str
    message: str
    details: list[dict[str, Any]] | None = None
