"""Factories for halls and windows."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from tongban.accounts.models import District
from tongban.appointments.models import Hall, Window


class HallFactory(DjangoModelFactory):
    class Meta:
        model = Hall
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"test-hall-{n}")
    name = factory.Sequence(lambda n: f"测试大厅{n}（示例）")
    district = District.HUANGPU
    address = "上海市黄浦区示例路1号"
    opening_hours = "工作日 9:00-17:00，周六 9:00-12:00"
    weekly_hours = factory.LazyFunction(
        lambda: [[["09:00", "17:00"]]] * 5 + [[["09:00", "12:00"]], []]
    )


class WindowFactory(DjangoModelFactory):
    class Meta:
        model = Window

    hall = factory.SubFactory(HallFactory)
    number = factory.Sequence(lambda n: f"A{n:02d}")
    name = "综合受理"
