"""/api/v1/ of 授权数据使用: the institution's read (its own client credentials), and the
holder's list of consents (session or the resident's app). Same services as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.security import HttpBearer
from oauth2_provider.settings import oauth2_settings

from tongban.accounts.apiauth import resident_auth
from tongban.common.api_schemas import errors
from tongban.connect.errors import ScopeMissing, TokenInvalid
from tongban.connect.selectors import client_of
from tongban.consents import selectors, services
from tongban.consents.models import Institution

router = Router(tags=["consents"])


class InstitutionTokenAuth(HttpBearer):
    """`Authorization: Bearer <token>` from /oauth/token (client credentials) of a registered,
    active institution, with scope consented_data. The request then carries the institution."""

    openapi_scheme = "bearer"
    openapi_bearerFormat = "opaque"

    def authenticate(self, request: HttpRequest, token: str | None) -> Any:
        if not token:
            raise TokenInvalid()
        validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
        access_token = validator._load_access_token(token)
        if access_token is None:
            raise TokenInvalid()
        client = client_of(access_token.application)
        if client is not None:
            # Counted for the client whatever the outcome (ClientActivityMiddleware).
            request.connect_client_pk = client.pk
        institution = Institution.objects.filter(
            application=access_token.application, is_active=True
        ).first()
        if (
            client is None
            or not client.is_active
            or institution is None
            or access_token.is_expired()
            # A resident's or staff member's token is never an institution's.
            or access_token.user_id is not None
        ):
            raise TokenInvalid()
        if not access_token.allow_scopes([services.INSTITUTION_SCOPE]):
            raise ScopeMissing()
        request.consent_institution = institution
        return institution


institution_auth = InstitutionTokenAuth()


class ConsentedHolderOut(Schema):
    kind: str = Field(description="resident 个人 / enterprise 企业")
    name: str = Field(description="个人姓名（部分隐藏）或企业名称")
    id: str = Field(description="身份证号码或统一社会信用代码（部分隐藏）")


class ConsentedDataOut(Schema):
    consent: str
    purpose: str
    valid_until: dt.date
    holder: ConsentedHolderOut
    values: dict[str, Any] = Field(
        description="授权的数据项（数据源编码.数据项编码）及其值；数据源未登记该项时为 null"
    )
    as_of: dt.datetime | None = Field(description="数据源数据的截止时间（多个数据源取最早）")
    read_at: dt.datetime


@router.get(
    "consented-data/{consent_id}",
    auth=institution_auth,
    response={200: ConsentedDataOut, **errors(400, 401, 403, 404, 503)},
    summary="授权使用机构查询经授权的数据",
)
def consented_data(request, consent_id: str):
    """The institution reads, under the holder's consent CONSENT_ID, the data it covers.
    403 CONSENT_REVOKED / CONSENT_EXPIRED; 404 CONSENT_NOT_FOUND (unknown, or another
    institution's); 503 EXCHANGE_SOURCE_UNAVAILABLE when a department system is down."""
    institution = request.auth
    return services.consented_data_read(
        institution=institution,
        public_id=consent_id[:80],
        actor_label=f"client:{institution.application.client_id}"[:150],
    )


class DataConsentElementOut(Schema):
    code: str
    label: str
    source_name: str


class DataConsentReadOut(Schema):
    at: dt.datetime
    elements: list[DataConsentElementOut]
    outcome: str
    outcome_label: str


class DataConsentOut(Schema):
    id: int
    public_id: str
    institution: str
    institution_kind: str
    elements: list[DataConsentElementOut]
    purpose: str
    valid_until: dt.date
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    state: str
    state_label: str
    read_count: int
    reads: list[DataConsentReadOut]


@router.get(
    "me/consents",
    auth=resident_auth,
    response={200: list[DataConsentOut], **errors(401, 403)},
    summary="我授权机构使用的数据",
)
def my_consents(request):
    """The resident's consents to institutions (生效中, then 已过期, then 已撤销), each with
    its latest reads."""
    holder = selectors.consent_holder(user=request.auth)
    grouped = selectors.consents_of(holder=holder)
    return [*grouped[selectors.ACTIVE], *grouped[selectors.EXPIRED], *grouped[selectors.REVOKED]]
