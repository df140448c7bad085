"""Prepare the demo city; what `make run` calls after `migrate`.

    manage.py city_setup --residents 2000

1. loads the catalog definitions (`catalog_load`) and the certificate types
(`certificate_types_load`), 2. creates the demo accounts, 3. tops the synthetic population up
to --residents (and --enterprises), 4. issues the existing certificates of the demo accounts and
of the first 2,000 residents and 200 enterprises (tongban/demo/certificates.py), 5. rewrites
the demo department systems' own records (tongban/exchange/demo_sources/dataset.py), 6. writes a
year of past cases, ratings and hall visits (tongban/demo/history.py) and rolls them up into the
服务指标 figures. Safe to run on every start: a second run finds everything in place, adds
nothing and takes a few seconds.
"""

from __future__ import annotations

import sys
import time

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from tongban.accounts.models import Enterprise, ResidentProfile
from tongban.common.services import audit_record
from tongban.demo.accounts import DEMO_PASSWORD, ensure_demo_accounts
from tongban.demo.booking import ensure_demo_booking
from tongban.demo.certificates import ensure_demo_certificates
from tongban.demo.connect import ensure_demo_clients
from tongban.demo.consents import ensure_demo_institution
from tongban.demo.history import ensure_demo_history
from tongban.demo.idcode import ensure_demo_scanner
from tongban.demo.population import (
    generate_enterprises,
    generate_households,
    generate_residents,
)
from tongban.demo.reviews import ensure_demo_complaints, ensure_demo_reviews
from tongban.demo.waitlists import ensure_demo_waitlists
from tongban.exchange.demo_sources.dataset import build as build_demo_sources
from tongban.metrics.services import rollup_range
from tongban.policies.services import policy_match_run

DEFAULT_RESIDENTS = 2000
DEFAULT_SEED = 2026
# Shanghai has roughly one registered enterprise or 个体工商户 for every ten residents.
RESIDENTS_PER_ENTERPRISE = 10


class Command(BaseCommand):
    help = "准备示例城市：加载事项目录、创建演示账号、补足示例人口。可重复执行，不会重复生成。"

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=DEFAULT_RESIDENTS)
        parser.add_argument("--enterprises", type=int, default=None, help="默认为居民数的十分之一")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--skip-catalog", action="store_true", help="不加载事项目录")
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="启动后的访问地址")

    def handle(self, *args, residents, enterprises, seed, no_progress, skip_catalog, url, **_):
        if residents < 0 or (enterprises is not None and enterprises < 0):
            raise CommandError("人数和户数不能为负数")
        if enterprises is None:
            enterprises = residents // RESIDENTS_PER_ENTERPRISE
        progress = not no_progress and sys.stderr.isatty()
        started = time.perf_counter()

        catalog = "skipped" if skip_catalog else self._load_catalog()
        accounts = ensure_demo_accounts()
        ensure_demo_booking()  # 示例统一预约: rules, slots for 14 days, resident1's bookings
        ensure_demo_scanner(write=self.stdout.write)
        ensure_demo_clients(write=self.stdout.write)  # 示例接入应用 (接入管理)
        ensure_demo_institution(write=self.stdout.write)  # 示例授权使用机构 (授权数据使用)

        # Top up to the target: synthetic rows already there (including the demo people)
        # count, so a second run adds nothing.
        have_residents = ResidentProfile.objects.filter(is_synthetic=True).count()
        have_enterprises = Enterprise.objects.filter(is_synthetic=True).count()
        added_residents = generate_residents(
            count=max(0, residents - have_residents), seed=seed, progress=progress
        )
        generate_households(seed=seed, progress=progress)
        added_enterprises = generate_enterprises(
            count=max(0, enterprises - have_enterprises), seed=seed, progress=progress
        )
        issued = ensure_demo_certificates(progress=self._certificate_progress if progress else None)
        ensure_demo_reviews()  # 示例好差评: the public figures page is not empty
        ensure_demo_complaints()  # 示例投诉建议: figures and the triage queue are not empty
        ensure_demo_waitlists()  # 示例轮候: beds, people waiting, resident2 with an offer
        # Before 政策找人: the history's applicants gain (login-less) accounts, and what they
        # qualify for is matched now, so a second run finds nothing left to tell them.
        history = self._history(seed)
        if issued:
            self.stdout.write(f"  存量电子证照：本次签发 {issued:,} 张")
        # 政策找人 once now, so 为您推荐, 免申即享 and their notices are there from the start;
        # afterwards the schedule runs it daily.
        matched = policy_match_run(triggered_by="system:city_setup").counts.values()
        self.stdout.write(
            f"  政策找人：新增符合 {sum(c['new'] for c in matched):,} 人次，"
            f"免申即享自动办理 {sum(c['granted'] for c in matched):,} 人次"
        )
        # The department systems' own records (示例部门业务系统, `manage.py demo_sources`),
        # rewritten from the population as it now stands.
        source_records = build_demo_sources(settings.TONGBAN_DEMO_SOURCES_DB, if_changed=True)
        self.stdout.write(
            f"  部门业务系统数据：{sum(source_records.values()):,} 条记录，"
            f"{settings.TONGBAN_DEMO_SOURCES_DB}"
        )
        seconds = time.perf_counter() - started
        audit_record(
            actor_label="system:city_setup",
            action="demo.city_setup",
            data={
                "catalog": catalog,
                "demo_accounts": len(accounts),
                "residents_added": added_residents,
                "residents_total": have_residents + added_residents,
                "enterprises_added": added_enterprises,
                "enterprises_total": have_enterprises + added_enterprises,
                "certificates_issued": issued,
                "policy_matches_added": sum(c["new"] for c in matched),
                "history_cases_added": history,
                "seed": seed,
                "seconds": round(seconds, 1),
            },
        )
        self._report(
            accounts=accounts,
            residents=(have_residents + added_residents, added_residents),
            enterprises=(have_enterprises + added_enterprises, added_enterprises),
            seconds=seconds,
            url=url,
        )

    def _history(self, seed: int) -> int:
        """示例办件历史 and its 服务指标: the past year the dashboards show. Rolled up only when
        written; after that the maintenance tick keeps the figures current."""
        history = ensure_demo_history(seed=seed)
        if not history.cases:
            return 0
        started = time.perf_counter()
        days = rollup_range(start=history.first_day, end=history.last_day)
        self.stdout.write(
            f"  示例办件历史：{history.cases:,} 件（{history.first_day} 至 {history.last_day}，"
            f"用时 {history.seconds:.1f} 秒），服务指标汇总 {len(days)} 天"
            f"（用时 {time.perf_counter() - started:.1f} 秒）"
        )
        return history.cases

    def _load_catalog(self) -> str:
        # The catalog app owns catalog_load; a checkout without it still gets accounts and
        # people (staff posts need departments, so there will be only the admin).
        if "catalog_load" not in get_commands():
            self.stderr.write(
                self.style.WARNING("警告：未找到 catalog_load 命令，已跳过事项目录加载。")
            )
            return "missing"
        call_command("catalog_load", stdout=self.stdout, stderr=self.stderr)
        # Certificate types name the catalog's departments, so they load after it.
        call_command("certificate_types_load", stdout=self.stdout, stderr=self.stderr)
        return "loaded"

    def _certificate_progress(self, done: int, total: int) -> None:
        end = "\n" if done >= total else "\r"
        self.stderr.write(f"  签发存量电子证照 {done:,}/{total:,}", ending=end)

    def _report(self, *, accounts, residents, enterprises, seconds, url) -> None:
        out = self.stdout.write
        out(self.style.SUCCESS(f"示例城市已就绪（用时 {seconds:.1f} 秒）。"))
        out(f"  示例居民：共 {residents[0]:,} 人，本次新增 {residents[1]:,} 人")
        out(f"  示例企业：共 {enterprises[0]:,} 户，本次新增 {enterprises[1]:,} 户")
        out(f"  访问地址：{url}")
        out(f"演示账号（密码均为 {DEMO_PASSWORD}，仅供演示，切勿用于真实部署）：")
        for a in accounts:
            where = f"  {a.department}" if a.department else ""
            totp = f"  TOTP密钥 {a.totp_secret}" if a.totp_secret else ""
            out(f"  {a.username:<24} {a.role}{where}{totp}")
        if any(a.totp_secret for a in accounts):
            out("工作人员登录需动态验证码：.venv/bin/python manage.py demo_totp 用户名")
