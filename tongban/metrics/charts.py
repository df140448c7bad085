"""Geometry of the pages' SVG charts, computed here so the templates draw with attributes
only (the pages' Content-Security-Policy forbids inline style). Every chart has a table of
the same figures beside it."""

from __future__ import annotations

from typing import Any

LABEL_WIDTH = 150
BAR_WIDTH = 300
ROW_HEIGHT = 28


def bars(rows: list[dict[str, Any]], *, value: str, label: str = "name") -> dict[str, Any]:
    """Horizontal bars of a rate (0–1) per row."""
    drawn = []
    for i, row in enumerate(rows):
        rate = row.get(value)
        share = float(rate) if rate is not None else 0.0
        width = round(BAR_WIDTH * max(min(share, 1.0), 0.0))
        drawn.append(
            {
                "y": i * ROW_HEIGHT,
                "text_y": i * ROW_HEIGHT + 18,
                "bar_y": i * ROW_HEIGHT + 4,
                "label": str(row.get(label, ""))[:11],
                "width": width,
                "text_x": LABEL_WIDTH + width + 6,
                "text": "—" if rate is None else f"{share * 100:.1f}%",
            }
        )
    return {
        "bars": drawn,
        "label_width": LABEL_WIDTH,
        "width": LABEL_WIDTH + BAR_WIDTH + 60,
        "height": max(len(drawn) * ROW_HEIGHT, ROW_HEIGHT),
    }


def columns(points: list[dict[str, Any]], *, value: str, target: float | None = None) -> dict:
    """Vertical columns of a rate per period, with the target as a line if there is one."""
    height, top, bottom = 160, 10, 30
    step = 34 if len(points) <= 16 else 14
    plot = height - top - bottom
    drawn = []
    for i, p in enumerate(points):
        rate = p.get(value)
        share = max(min(float(rate), 1.0), 0.0) if rate is not None else 0.0
        h = round(plot * share)
        drawn.append(
            {
                "x": 40 + i * step,
                "y": top + plot - h,
                "h": h,
                "w": step - 6,
                "label_x": 40 + i * step + (step - 6) / 2,
                "label": p["label"],
                "short": p["period"][5:] if len(p["period"]) >= 7 else p["period"],
                "text": "—" if rate is None else f"{share * 100:.1f}%",
                "empty": rate is None,
            }
        )
    return {
        "columns": drawn,
        "width": 40 + len(points) * step + 10,
        "height": height,
        "baseline": top + plot,
        "label_y": top + plot + 18,
        "target_y": None if target is None else top + plot - round(plot * min(target, 1.0)),
        "target_text": None if target is None else f"目标 {target * 100:.0f}%",
        "mid_y": top + plot / 2,
        "top": top,
    }
