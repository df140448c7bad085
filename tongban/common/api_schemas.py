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


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The refusals an operation can answer, each documented with the one {code, message}
    shape. Besides its own domain errors, an operation answers 400 to a NUL character in any
    parameter or body (INVALID_CHARACTERS, tongban.common.middleware) and to a JSON body that
    does not parse; 401 when its login is missing; 403 when a staff post is needed or a
    session write lacks its CSRF token; 422 to a parameter or body of the wrong type or
    value; 503 where a deadline is computed on a date the working-day calendar does not yet
    cover (CALENDAR_NOT_COVERED). tongban.api's handlers give each of these the same shape."""
    return dict.fromkeys(statuses, ErrorOut)
