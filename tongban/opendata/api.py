"""/api/v1/opendata/: the catalogue and each dataset described in DCAT-AP (JSON-LD), open to
anyone, and the data rows, for registered developers with an API key (X-API-Key).

The descriptions answer `application/ld+json` to a client that asks for it in Accept (a
JSON-LD processor does) and `application/json` otherwise; the body is the same JSON-LD
document either way, so a client that only reads JSON loses nothing."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.security import APIKeyHeader
from pydantic import ConfigDict

from tongban.common.api_schemas import errors
from tongban.common.apitypes import Offset
from tongban.opendata import selectors, services
from tongban.opendata.errors import ApiKeyInvalid, ApiKeyRequired

router = Router(tags=["opendata"], auth=None)

JSON_LD = "application/ld+json"


class OpenDataKeyAuth(APIKeyHeader):
    """X-API-Key: the key a registered developer created on /opendata/developers/."""

    param_name = "X-API-Key"

    def __call__(self, request: HttpRequest) -> Any:
        key = self._get_key(request)
        if not key:
            raise ApiKeyRequired()
        return self.authenticate(request, key)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        found = selectors.api_key_for(key)
        if found is None:
            raise ApiKeyInvalid()
        return found


# ---------------------------------------------------------------- DCAT-AP shapes


class _Ld(Schema):
    model_config = ConfigDict(populate_by_name=True)


class DcatAgentOut(_Ld):
    id: str | None = Field(None, alias="@id")
    type: str = Field(..., alias="@type", examples=["foaf:Agent"])
    name: str = Field(..., alias="foaf:name", description="发布单位名称")


class DcatDataServiceOut(_Ld):
    type: str = Field(..., alias="@type", examples=["dcat:DataService"])
    title: str = Field(..., alias="dct:title")
    endpoint_url: str = Field(..., alias="dcat:endpointURL")
    endpoint_description: str = Field(..., alias="dcat:endpointDescription")


class DcatDistributionOut(_Ld):
    id: str = Field(..., alias="@id")
    type: str = Field(..., alias="@type", examples=["dcat:Distribution"])
    title: str = Field(..., alias="dct:title")
    description: str | None = Field(None, alias="dct:description")
    format: str = Field(..., alias="dct:format", description="欧盟文件类型词表的网址")
    media_type: str = Field(..., alias="dcat:mediaType", description="IANA 媒体类型的网址")
    download_url: str | None = Field(None, alias="dcat:downloadURL")
    access_url: str = Field(..., alias="dcat:accessURL")
    license: str = Field(..., alias="dct:license")
    access_service: DcatDataServiceOut | None = Field(None, alias="dcat:accessService")


class DcatDatasetOut(_Ld):
    id: str = Field(..., alias="@id", description="数据集页面的网址")
    type: str = Field(..., alias="@type", examples=["dcat:Dataset"])
    identifier: str = Field(..., alias="dct:identifier", examples=["service-items"])
    title: str = Field(..., alias="dct:title")
    description: str = Field(..., alias="dct:description")
    publisher: DcatAgentOut = Field(..., alias="dct:publisher")
    license: str = Field(..., alias="dct:license")
    accrual_periodicity: str = Field(
        ..., alias="dct:accrualPeriodicity", description="欧盟更新频率词表的网址"
    )
    modified: str = Field(..., alias="dct:modified")
    language: str = Field(..., alias="dct:language")
    keywords: list[str] = Field(..., alias="dcat:keyword")
    themes: list[str] = Field(..., alias="dcat:theme")
    landing_page: str = Field(..., alias="dcat:landingPage")
    distributions: list[DcatDistributionOut] = Field(..., alias="dcat:distribution")


class DcatDatasetDocumentOut(DcatDatasetOut):
    context: dict[str, Any] = Field(..., alias="@context")


class DcatCatalogOut(_Ld):
    context: dict[str, Any] = Field(..., alias="@context")
    id: str = Field(..., alias="@id")
    type: str = Field(..., alias="@type", examples=["dcat:Catalog"])
    title: str = Field(..., alias="dct:title")
    description: str = Field(..., alias="dct:description")
    publisher: DcatAgentOut = Field(..., alias="dct:publisher")
    license: str = Field(..., alias="dct:license")
    language: str = Field(..., alias="dct:language")
    modified: str = Field(..., alias="dct:modified")
    homepage: str = Field(..., alias="foaf:homepage")
    datasets: list[DcatDatasetOut] = Field(..., alias="dcat:dataset")


def _linked_data(request: HttpRequest, schema: type[Schema], document: dict) -> HttpResponse:
    # Passed through the schema so the answer is exactly what the OpenAPI document promises.
    body = schema.model_validate(document).model_dump(by_alias=True, exclude_none=True)
    body = {"@context": body.pop("@context"), **body}  # where JSON-LD readers look first
    wants_ld = JSON_LD in request.headers.get("Accept", "")
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False),
        content_type=f"{JSON_LD if wants_ld else 'application/json'}; charset=utf-8",
    )
    response["Vary"] = "Accept"
    # Public metadata with no personal data: any web page may read it.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _also_json_ld(schema: type[Schema]) -> dict:
    return {
        "responses": {
            200: {
                "content": {
                    JSON_LD: {"schema": {"$ref": f"#/components/schemas/{schema.__name__}"}}
                }
            }
        }
    }


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@router.get(
    "/opendata/catalog",
    response={200: DcatCatalogOut},
    by_alias=True,
    summary="开放数据目录（DCAT-AP）",
    description="全部数据集的 DCAT-AP 元数据（JSON-LD）。请求头 Accept 含 application/ld+json "
    "时以该类型返回，否则以 application/json 返回，内容相同。无需登录。",
    openapi_extra=_also_json_ld(DcatCatalogOut),
)
def catalog(request):
    return _linked_data(
        request, DcatCatalogOut, selectors.dcat_catalog(base_url=_base_url(request))
    )


@router.get(
    "/opendata/datasets/{dataset_id}",
    response={200: DcatDatasetDocumentOut, **errors(400, 404)},
    by_alias=True,
    summary="数据集元数据（DCAT-AP）",
    description="一个数据集的 DCAT-AP 元数据（JSON-LD），含下载地址和接口地址。无需登录。",
    openapi_extra=_also_json_ld(DcatDatasetDocumentOut),
)
def dataset(request, dataset_id: str):
    document = selectors.dcat_dataset(dataset_id=dataset_id, base_url=_base_url(request))
    return _linked_data(request, DcatDatasetDocumentOut, document)


# ---------------------------------------------------------------- rows


class OpendataColumnOut(Schema):
    name: str = Field(..., description="字段代码，即每行数据的键")
    title: str = Field(..., description="中文名称，即 CSV 文件的表头")
    type: str = Field(..., description="text | integer | number | boolean | date")
    description: str


class OpendataRowsOut(Schema):
    dataset: str
    total: int = Field(..., description="数据集的总行数")
    offset: int
    limit: int
    columns: list[OpendataColumnOut]
    rows: list[dict[str, Any]] = Field(
        ..., description="按字段代码取值；不公开的统计数为 null，日期为 YYYY-MM-DD"
    )


class RowsQuery(Schema):
    limit: int = Field(100, ge=1, le=1000, description="本页行数（1至1000）")
    offset: Offset = Field(0, description="跳过的行数")


@router.get(
    "/opendata/datasets/{dataset_id}/rows",
    auth=OpenDataKeyAuth(),
    response={200: OpendataRowsOut, **errors(400, 401, 404, 422, 429)},
    summary="数据集数据行（需接口密钥）",
    description="分页读取数据集的数据行，与下载文件内容相同（含小数抑制）。请求头 X-API-Key "
    "携带在“开放数据 · 开发者”页面创建的密钥；每个密钥每分钟的调用次数有上限，超过时返回 "
    "429，响应头 Retry-After 给出需等待的秒数。",
)
def rows(request, response: HttpResponse, dataset_id: str, page: Query[RowsQuery]):
    table = selectors.dataset_table(dataset_id)
    services.api_call_admit(key=request.auth, dataset_id=table.dataset.id)
    # Each answer is counted against the key's limit: no cache may answer in its place.
    response["Cache-Control"] = "no-store"
    return {
        "dataset": table.dataset.id,
        "total": len(table.rows),
        "offset": page.offset,
        "limit": page.limit,
        "columns": selectors.columns_out(table.dataset),
        "rows": selectors.rows_page(table, offset=page.offset, limit=page.limit),
    }
