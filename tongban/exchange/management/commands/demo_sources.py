"""Run the demo city's department systems (示例部门业务系统) in the foreground.

    manage.py demo_sources [--host 127.0.0.1] [--port 8100] [--fault gaj_population=slow:2 ...]
    manage.py demo_sources --rebuild          # write their records from the demo population first

`make run` starts it beside gunicorn and the task worker (scripts/serve.sh). Faults come from
--fault (repeatable) and the environment variable TONGBAN_DEMO_SOURCES_FAULTS
("code=slow:2,code2=error:500"); SIGTERM or Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import os
import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tongban.exchange.demo_sources import dataset
from tongban.exchange.demo_sources.app import FaultSpecError, parse_faults
from tongban.exchange.demo_sources.server import build


class Command(BaseCommand):
    help = "运行示例城市的部门业务系统（数据共享核验的演示数据源）。"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("DEMO_SOURCES_PORT") or 8100)
        )
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="编码=故障",
            help="注入故障：slow:秒数、error:状态码、malformed、drop；可重复",
        )
        parser.add_argument(
            "--rebuild", action="store_true", help="先从示例人口重新生成部门系统的数据"
        )

    def handle(self, *args, host, port, fault, rebuild, **_):
        db = settings.TONGBAN_DEMO_SOURCES_DB
        if rebuild:
            counts = dataset.build(db)
            self.stdout.write(f"已生成部门系统数据：{sum(counts.values()):,} 条记录，{db}")
        if not db.exists():
            raise CommandError(
                f"部门系统的数据尚未生成（{db}）：请先运行 make city，"
                "或 manage.py demo_sources --rebuild。"
            )
        try:
            faults = parse_faults(os.environ.get("TONGBAN_DEMO_SOURCES_FAULTS", ""))
            faults.update(parse_faults(",".join(fault)))
            server = build(host=host, port=port, db=db, faults=faults)
        except FaultSpecError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"无法在 {host}:{port} 上监听：{exc}") from None

        def stop(signum, frame):
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
        codes = server.app.by_path_codes()
        self.stdout.write(f"示例部门业务系统已启动：{server.url}（{len(codes)} 个数据源）")
        for code, spec in sorted(server.app.faults().items()):
            self.stdout.write(f"  已注入故障：{code} = {spec}")
        sys.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
            self.stdout.write("示例部门业务系统已停止。")
