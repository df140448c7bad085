"""变更预览: what loading a definition folder would change in who qualifies, before loading it."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tongban.catalog.errors import CatalogInvalid
from tongban.policies.services import policy_whatif


class Command(BaseCommand):
    help = "预览政策定义变更的影响：新增符合、不再符合的人数或企业数（按区），不写入任何数据。"

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="定义目录，默认为当前事项库目录")

    def handle(self, *args, path, **options):
        path = path or settings.TONGBAN_CATALOG_DIR
        try:
            report = policy_whatif(path=path)
        except CatalogInvalid as exc:
            raise CommandError("定义有误：\n" + "\n".join(str(p) for p in exc.problems)) from exc
        if not report:
            self.stdout.write("没有资格条件发生变化的政策。")
            return
        for row in report:
            head = "（新政策）" if row["is_new"] else ""
            unit = "人" if row["subject"] == "resident" else "家"
            self.stdout.write(
                f"{row['code']} {row['name']}{head}：变更后符合 {row['eligible_after']} {unit}，"
                f"新增 {row['gained']} {unit}，不再符合 {row['lost']} {unit}"
            )
            for district, n in row["by_district"].items():
                self.stdout.write(f"  {district}：新增 {n['gained']}，不再符合 {n['lost']}")
