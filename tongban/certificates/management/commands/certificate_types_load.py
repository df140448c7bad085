"""manage.py certificate_types_load [DIR] [--dry-run] — load the e-certificate types (YAML)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tongban.certificates.errors import CertificateTypesInvalid
from tongban.certificates.services import certificate_types_load


class Command(BaseCommand):
    help = "校验并加载电子证照类型定义；定义有误时不做任何更改。"

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?", default=None, help="定义目录，默认为事项库目录下的 certificate_types"
        )
        parser.add_argument("--dry-run", action="store_true", help="只校验并报告，不写入数据库")
        parser.add_argument("--actor", default="system:certificate_types_load")

    def handle(self, *args, path=None, dry_run=False, actor="system:certificate_types_load", **o):
        try:
            report = certificate_types_load(directory=path, actor_label=actor, dry_run=dry_run)
        except CertificateTypesInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(exc.message) from exc
        head = "试加载（未写入数据库）" if report.dry_run else "电子证照类型加载完成"
        c = report.as_dict()
        self.stdout.write(f"{head}：{report.path}")
        self.stdout.write(
            f"  证照类型：新增 {c['created']}，变更 {c['changed']}，未变 {c['unchanged']}，"
            f"停用 {c['deactivated']}"
        )
