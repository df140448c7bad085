"""Reads of 24小时自助终端."""

from __future__ import annotations
