"""登记授权使用机构 from the command line (the platform administrator's tool):

    manage.py consent_institution_register --name 示例银行上海分行 --kind bank --uscc 9131...

prints the client id and secret it reads with (the secret is shown this once)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tongban.common.errors import DomainError
from tongban.consents.models import InstitutionKind
from tongban.consents.services import institution_register


class Command(BaseCommand):
    help = "登记授权使用机构（如银行），并生成其查询授权数据用的客户端凭据。"

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=InstitutionKind.values)
        parser.add_argument("--uscc", required=True, help="统一社会信用代码")

    def handle(self, *args, name, kind, uscc, **_):
        try:
            registered = institution_register(
                actor="system:consent_institution_register", name=name, kind=kind, uscc=uscc
            )
        except DomainError as exc:
            problems = "；".join(d["message"] for d in exc.details) or exc.message
            raise CommandError(problems) from exc
        self.stdout.write(
            f"已登记授权使用机构「{registered.institution.name}」："
            f"client_id={registered.client_id} 密钥={registered.client_secret}（仅显示这一次）"
        )
