"""Writes of 取号叫号与综合窗口."""

from __future__ import annotations
