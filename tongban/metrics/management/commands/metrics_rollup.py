"""Computes the 服务指标 of a range of days (after an import, or for a database that had none)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tongban.metrics.services import rollup_range


class Command(BaseCommand):
    help = "计算一段日期的服务指标（按日汇总并汇总到月）"

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="开始日期 YYYY-MM-DD")
        parser.add_argument("--end", default="", help="结束日期 YYYY-MM-DD，默认今天")

    def handle(self, *args, start, end, **_):
        try:
            first = dt.date.fromisoformat(start)
            last = dt.date.fromisoformat(end) if end else timezone.localdate()
        except ValueError as exc:
            raise CommandError("日期格式应为 YYYY-MM-DD") from exc
        if last < first:
            raise CommandError("结束日期不能早于开始日期")
        done = rollup_range(start=first, end=last)
        seconds = sum(d.seconds for d in done)
        cases = sum(d.cases for d in done)
        self.stdout.write(f"已计算 {len(done)} 天，{cases} 件办件，用时 {seconds:.1f} 秒")
