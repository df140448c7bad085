"""政策找人: evaluate every policy over the whole population now (the schedule does it daily)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from tongban.policies.selectors import current_policies
from tongban.policies.services import policy_match_run


class Command(BaseCommand):
    help = "对全体居民逐项比对政策：记录符合者、免申即享自动办理、推送告知、不再符合的转人工复核。"

    def add_arguments(self, parser):
        parser.add_argument("--engine", choices=["polars", "sql"], default="polars")
        parser.add_argument("--date", help="按这一天比对（YYYY-MM-DD），默认今天")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, engine, date, no_progress, **options):
        try:
            today = dt.date.fromisoformat(date) if date else None
        except ValueError as exc:
            raise CommandError(f"日期格式不正确：{date}（应为 YYYY-MM-DD）") from exc
        total = len(current_policies(subject="resident"))
        with tqdm(total=total, desc="政策比对", unit="项", disable=no_progress) as bar:
            run = policy_match_run(
                today=today,
                engine=engine,
                triggered_by="command:policies_match",
                progress=lambda code: bar.update(1),
            )
        self.stdout.write(f"政策比对完成（{run.evaluated_on:%Y-%m-%d}，{engine}）：")
        for code, c in run.counts.items():
            line = (
                f"  {code}：符合 {c['eligible']}，新增 {c['new']}，自动办理 {c['granted']}，"
                f"告知 {c['told']}，结束 {c['ended']}，待复核 {c['reviews']}"
            )
            if c["error"]:
                line = f"  {code}：未能比对：{c['error']}"
            self.stdout.write(line)
