"""Add synthetic residents and enterprises to the demo city.

    manage.py demo_population --residents 1000000 --enterprises 100000 --seed 7

Adds exactly the numbers asked for (city_setup is the one that tops up to a target).
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from tongban.common.services import audit_record
from tongban.demo.population import (
    generate_enterprises,
    generate_households,
    generate_residents,
)

DEFAULT_SEED = 2026


class Command(BaseCommand):
    help = "生成示例人口：向数据库追加指定数量的合成居民档案和企业档案（均标记为示例数据）。"

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=0, help="追加的居民人数")
        parser.add_argument("--enterprises", type=int, default=0, help="追加的企业户数")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="随机种子")
        parser.add_argument("--batch-size", type=int, default=5000, help="每批写入行数")
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args, residents, enterprises, seed, batch_size, no_progress, **options):
        if residents < 0 or enterprises < 0:
            raise CommandError("人数和户数不能为负数")
        if batch_size < 1:
            raise CommandError("--batch-size 至少为 1")
        # A bar in a log file is thousands of carriage returns; show it on a terminal only.
        progress = not no_progress and sys.stderr.isatty()
        started = time.perf_counter()
        added_residents = generate_residents(
            count=residents, seed=seed, batch_size=batch_size, progress=progress
        )
        generate_households(seed=seed, progress=progress)
        resident_seconds = time.perf_counter() - started
        added_enterprises = generate_enterprises(
            count=enterprises, seed=seed, batch_size=batch_size, progress=progress
        )
        seconds = time.perf_counter() - started
        audit_record(
            actor_label="system:demo_population",
            action="demo.population",
            data={
                "residents_added": added_residents,
                "enterprises_added": added_enterprises,
                "seed": seed,
                "seconds": round(seconds, 1),
            },
        )
        rate = f"，{added_residents / resident_seconds:,.0f} 人/秒" if added_residents else ""
        self.stdout.write(
            f"已生成示例居民 {added_residents:,} 人、示例企业 {added_enterprises:,} 户，"
            f"用时 {seconds:.1f} 秒{rate}（随机种子 {seed}）。"
        )
