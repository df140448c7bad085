"""Bounded integers for the parameters of every API endpoint.

A plain `int` takes any size; the database cannot bind one past 2**63 - 1 (SQLite raises, a
500) and no row has an id below 1. Declaring the bounds here once turns such input into the
API's 422 INVALID_INPUT before a view runs. tongban/tests/test_api_robustness.py holds every
integer path and query parameter in the OpenAPI document to bounds.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# What a BigAutoField holds and every supported database binds.
MAX_ID = 2**63 - 1
# Far past any list a person pages through, and small enough that offset + limit still binds.
MAX_OFFSET = 2**31 - 1

# A row's primary key in a path (/tasks/{task_id}) or query.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# How many rows of a list to skip.
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
# A definition's version number (事项版本).
Version = Annotated[int, Field(ge=1, le=MAX_OFFSET)]
