"""The demo city's 示例银行 and the administrator's registration command."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.management import CommandError, call_command

from tongban.accounts.validators import make_credit_code
from tongban.consents.models import Institution
from tongban.demo.connect import demo_client_secret
from tongban.demo.consents import BANK_CLIENT_ID, ensure_demo_institution

pytestmark = pytest.mark.django_db


def test_demo_bank_is_made_once_and_printed(client):
    out = []
    bank = ensure_demo_institution(write=out.append)
    assert ensure_demo_institution(write=out.append) == bank
    assert Institution.objects.count() == 1
    secret = demo_client_secret(BANK_CLIENT_ID)
    assert out == [
        f"  示例授权使用机构「示例银行上海分行」：client_id={BANK_CLIENT_ID} 密钥={secret}"
        "（查询经授权的数据：/api/v1/consented-data/<授权编号>）"
    ]
    response = client.post(
        "/oauth/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION="Basic "
        + base64.b64encode(f"{BANK_CLIENT_ID}:{secret}".encode()).decode(),
    )
    assert (response.status_code, response.json()["scope"]) == (200, "consented_data")


def test_register_command():
    out = io.StringIO()
    uscc = make_credit_code(region="310101", seq=88_000_003)
    call_command(
        "consent_institution_register", "--name", "示例融资担保公司", "--kind", "guarantee",
        "--uscc", uscc, stdout=out,
    )  # fmt: skip
    institution = Institution.objects.get()
    assert (institution.name, institution.kind, institution.uscc) == (
        "示例融资担保公司",
        "guarantee",
        uscc,
    )
    assert out.getvalue().startswith("已登记授权使用机构「示例融资担保公司」：client_id=")
    with pytest.raises(CommandError, match="该机构已登记"):
        call_command(
            "consent_institution_register", "--name", "重复", "--kind", "bank", "--uscc", uscc,
            stdout=io.StringIO(),
        )  # fmt: skip
    assert Institution.objects.count() == 1
