"""示例授权使用机构 for the demo city (授权数据使用): a bank that reads, with a resident's or an
enterprise's consent, the data a 信易贷 loan is weighed on.

Its secret derives from the instance's SECRET_KEY like the demo connect clients', so a
rebuilt demo city keeps it and none is published in the source."""

from __future__ import annotations

from collections.abc import Callable

from tongban.accounts.validators import make_credit_code
from tongban.consents.models import Institution, InstitutionKind
from tongban.consents.services import institution_register
from tongban.demo.connect import demo_client_secret

ACTOR = "system:city_setup"
BANK_CLIENT_ID = "demo-bank-consented-data"
BANK_NAME = "示例银行上海分行"
BANK_USCC = make_credit_code(region="310101", seq=88_000_001)


def ensure_demo_institution(*, write: Callable[[str], object] | None = None) -> Institution:
    existing = Institution.objects.filter(application__client_id=BANK_CLIENT_ID).first()
    if existing is not None:
        return existing
    registered = institution_register(
        actor=ACTOR,
        name=BANK_NAME,
        kind=InstitutionKind.BANK,
        uscc=BANK_USCC,
        is_synthetic=True,
        client_id=BANK_CLIENT_ID,
        client_secret=demo_client_secret(BANK_CLIENT_ID),
    )
    if write:
        write(
            f"  示例授权使用机构「{BANK_NAME}」：client_id={registered.client_id} "
            f"密钥={registered.client_secret}（查询经授权的数据：/api/v1/consented-data/<授权编号>）"
        )
    return registered.institution
