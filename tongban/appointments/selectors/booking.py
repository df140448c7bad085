"""Reads of 统一预约."""

from __future__ import annotations
