from io import StringIO

import pyotp
import pytest
from django.core.management import CommandError, call_command

from tongban.accounts.tests.factories import DepartmentFactory, StaffFactory
from tongban.demo.accounts import demo_totp_secret, ensure_demo_accounts

pytestmark = pytest.mark.django_db


def test_prints_the_current_code_of_a_demo_staff_account():
    DepartmentFactory(code="SH-GA", name="示例市公安局")
    ensure_demo_accounts()
    out = StringIO()
    call_command("demo_totp", "ga_reviewer", stdout=out)
    assert pyotp.TOTP(demo_totp_secret("ga_reviewer")).verify(out.getvalue().strip())


def test_refuses_accounts_without_the_published_demo_secret():
    StaffFactory(username="real_person", with_totp=True)
    with pytest.raises(CommandError, match="不是使用公开示例密钥的示例工作人员账号"):
        call_command("demo_totp", "real_person")
    with pytest.raises(CommandError, match="没有用户名为 nobody 的账号"):
        call_command("demo_totp", "nobody")
