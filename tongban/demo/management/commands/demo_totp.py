"""Print the current two-factor code of a demo staff account, for people trying the demo city.

Refuses any account whose secret is not the published demo secret: it is a convenience for
示例 accounts, not a way round a real person's second factor."""

from __future__ import annotations

import pyotp
from django.core.management.base import BaseCommand, CommandError

from tongban.accounts.models import User
from tongban.demo.accounts import demo_totp_secret


class Command(BaseCommand):
    help = "显示示例工作人员账号当前的6位动态验证码"

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"没有用户名为 {username} 的账号")
        if not user.totp_enabled or user.totp_secret != demo_totp_secret(username):
            raise CommandError(f"{username} 不是使用公开示例密钥的示例工作人员账号")
        self.stdout.write(pyotp.TOTP(user.totp_secret).now())
