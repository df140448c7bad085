"""A complete application for whatever a guide asks: a value each field accepts and a tiny
PDF for each material not spared — for tests that need a real case, not a particular one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tongban.cases.services import MaterialInput, Upload
from tongban.cases.tests.conftest import PDF
from tongban.catalog.guide import GuideResult
from tongban.catalog.selectors import element_definitions
from tongban.demo.form_samples import sample_value


def sample_form(guide: GuideResult, *, today: dt.date | None = None) -> dict[str, Any]:
    elements = element_definitions([f.code for f in guide.fields])
    today = today or timezone.localdate()
    form = {
        f.code: sample_value(elements[f.code], n=i, today=today) for i, f in enumerate(guide.fields)
    }
    for f in guide.fields:
        if elements[f.code].type == "slot":  # 预约时段: a place tomorrow at a hall offering it
            form[f.code] = str(sample_slot(f.items[0]).pk)
    return form


def sample_slot(item_code: str):
    """A bookable slot tomorrow at 10:00 of ITEM_CODE, at a hall open every day."""
    from tongban.appointments.tests.factories_booking import (
        BookingRuleFactory,
        slot_at,
        tomorrow_at,
    )

    return slot_at(BookingRuleFactory(item_code=item_code), tomorrow_at(10))


def sample_uploads(guide: GuideResult) -> dict[str, MaterialInput]:
    return {
        m.code: MaterialInput(how="upload", files=(Upload(f"{m.code}.pdf", PDF),))
        for m in guide.materials
        if not m.spared
    }
