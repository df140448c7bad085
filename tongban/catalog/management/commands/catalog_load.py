"""manage.py catalog_load [PATH] [--dry-run] — load the catalog definitions (YAML)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tongban.catalog.errors import CatalogInvalid
from tongban.catalog.services import LoadReport, catalog_load_directory

KIND_NAMES = {
    "department": "部门",
    "element": "数据元",
    "item": "事项",
    "bundle": "一件事",
    "policy": "政策",
}


def summary_lines(report: LoadReport) -> list[str]:
    head = "试加载（未写入数据库）" if report.dry_run else "事项库加载完成"
    lines = [f"{head}：{report.path}"]
    for kind, name in KIND_NAMES.items():
        c = report.counts[kind]
        line = (
            f"  {name}：新增 {c.created}，变更 {c.changed}，未变 {c.unchanged}，"
            f"停用 {c.deactivated}"
        )
        if c.reactivated:
            line += f"，重新启用 {c.reactivated}"
        lines.append(line)
    if report.lexicon:
        # The search lexicon is one definition: say only whether it changed.
        outcome = {"created": "新增", "changed": "变更", "unchanged": "未变"}[report.lexicon]
        lines.append(f"  检索词库：{outcome}")
    return lines


class Command(BaseCommand):
    help = "校验并加载事项库定义（部门、数据元、事项、一件事、政策）；定义有误时不做任何更改。"

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?", default=None, help="定义目录，默认为 TONGBAN_CATALOG_DIR"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="只校验并报告将发生的变化，不写入数据库"
        )
        parser.add_argument("--actor", default="system:catalog_load", help="审计日志中记录的操作者")

    def handle(self, *args, path=None, dry_run=False, actor="system:catalog_load", **options):
        path = path or settings.TONGBAN_CATALOG_DIR
        try:
            report = catalog_load_directory(path=path, actor_label=actor, dry_run=dry_run)
        except CatalogInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(exc.message) from exc
        for line in summary_lines(report):
            self.stdout.write(line)
        self._data_sources(Path(path) / "data_sources", actor=actor, dry_run=dry_run)
        self._waiting_lists(Path(path) / "waiting_lists", actor=actor, dry_run=dry_run)

    def _data_sources(self, folder: Path, *, actor: str, dry_run: bool) -> None:
        # 数据源目录, versioned with the catalog it authorises items of; a catalog folder
        # without one leaves the registry as it is.
        if not folder.is_dir():
            return
        from tongban.exchange.errors import DataSourcesInvalid
        from tongban.exchange.services import data_sources_load

        try:
            report = data_sources_load(directory=folder, actor_label=actor, dry_run=dry_run)
        except DataSourcesInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(exc.message) from exc
        c = report.as_dict()
        self.stdout.write(
            f"  数据源：新增 {c['created']}，变更 {c['changed']}，未变 {c['unchanged']}，"
            f"停用 {c['deactivated']}"
        )

    def _waiting_lists(self, folder: Path, *, actor: str, dry_run: bool) -> None:
        # 轮候名单 (appointments), versioned like the data sources: their classes read the
        # catalog's data elements, so they load after it; no folder, no change.
        if not folder.is_dir():
            return
        from tongban.appointments.services.waitlist import WaitingListsInvalid, waiting_lists_load

        try:
            report = waiting_lists_load(directory=folder, actor_label=actor, dry_run=dry_run)
        except WaitingListsInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(exc.message) from exc
        c = report.as_dict()
        self.stdout.write(
            f"  轮候名单：新增 {c['created']}，变更 {c['changed']}，未变 {c['unchanged']}，"
            f"停用 {c['deactivated']}"
        )
