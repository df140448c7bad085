"""Writes of 轮候."""

from __future__ import annotations
