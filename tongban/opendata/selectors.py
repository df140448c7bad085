"""Reads of 开放数据: the datasets and their tables, the DCAT-AP description, the files, and a
developer's keys and usage."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from tongban.common.crypto import lookup_hash
from tongban.opendata.datasets import DATASETS, Dataset
from tongban.opendata.errors import DatasetNotFound
from tongban.opendata.models import ApiKey, ApiKeyDailyUsage, Developer

API_KEY_CONTEXT = "opendata.api_key"
API_KEY_PREFIX = "tbod_"
USAGE_DAYS = 30


# ---------------------------------------------------------------- datasets and tables


def datasets() -> list[Dataset]:
    return list(DATASETS)


def dataset_get(dataset_id: str) -> Dataset:
    for found in DATASETS:
        if found.id == dataset_id:
            return found
    raise DatasetNotFound()


@dataclass
class Table:
    """One dataset's published rows as of BUILT_AT. MODIFIED is when the source last changed
    where it records that, else BUILT_AT (the figures are computed live)."""

    dataset: Dataset
    rows: list[dict[str, Any]]
    built_at: dt.datetime
    modified: dt.datetime
    # Rendered files, kept with the rows they were rendered from.
    files: dict[str, bytes] = field(default_factory=dict, repr=False)


_tables: dict[str, tuple[float, Table]] = {}
_tables_lock = threading.Lock()


def dataset_table(dataset_id: str) -> Table:
    """DATASET_ID's rows. Kept per process for TONGBAN_OPENDATA_CACHE_SECONDS: the catalogue
    page counts every dataset's rows, and the figures are sums over a month of cases, so
    rebuilding them on every download would cost more than a minute's delay is worth."""
    dataset = dataset_get(dataset_id)
    ttl = settings.TONGBAN_OPENDATA_CACHE_SECONDS
    now = time.monotonic()
    cached = _tables.get(dataset_id)
    if cached is not None and now - cached[0] < ttl:
        return cached[1]
    built_at = timezone.now()
    rows = dataset.rows()
    source = dataset.source_modified() if dataset.source_modified else None
    table = Table(dataset=dataset, rows=rows, built_at=built_at, modified=source or built_at)
    if ttl > 0:
        with _tables_lock:
            _tables[dataset_id] = (now, table)
    return table


def tables_clear() -> None:
    """Forget the kept tables (tests, and after a change that must show at once)."""
    with _tables_lock:
        _tables.clear()


def catalogue() -> list[Table]:
    return [dataset_table(d.id) for d in DATASETS]


# ---------------------------------------------------------------- files


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if kind == "text" and text.startswith(_FORMULA_STARTS):
        # Text staff typed (a hall's name, an address) is shown as text, never evaluated.
        return "'" + text
    return text


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _json_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _json_value(v) for k, v in row.items()} for row in rows]


def csv_bytes(table: Table) -> bytes:
    """UTF-8 with a byte order mark, which is how Excel knows the file is UTF-8 (without it
    Chinese opens garbled). One header row of the Chinese column titles: the file is for
    people with a spreadsheet; programs take the JSON or the API, keyed by the column codes."""
    if "csv" not in table.files:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.title for c in table.dataset.columns])
        for row in table.rows:
            writer.writerow([_csv_cell(row[c.name], c.kind) for c in table.dataset.columns])
        table.files["csv"] = ("\ufeff" + out.getvalue()).encode("utf-8")
    return table.files["csv"]


def columns_out(dataset: Dataset) -> list[dict[str, str]]:
    return [
        {"name": c.name, "title": c.title, "type": c.kind, "description": c.description}
        for c in dataset.columns
    ]


def json_bytes(table: Table) -> bytes:
    """The rows keyed by the column codes, with the column dictionary and the dataset's
    identity, so the file explains itself when found on its own."""
    if "json" not in table.files:
        dataset = table.dataset
        body = {
            "identifier": dataset.id,
            "title": dataset.title,
            "description": dataset.description_text,
            "publisher": publisher_name(),
            "license": LICENSE_URI,
            "modified": table.modified.isoformat(),
            "columns": columns_out(dataset),
            "rows": _json_rows(table.rows),
        }
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        table.files["json"] = text.encode("utf-8")
    return table.files["json"]


def file_etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def rows_page(table: Table, *, offset: int, limit: int) -> list[dict[str, Any]]:
    return _json_rows(table.rows[offset : offset + limit])


# ---------------------------------------------------------------- DCAT-AP

# Creative Commons Attribution 4.0: reuse for any purpose, naming the source, which is what
# open government data needs and what DCAT-AP catalogues recognise. Named by the EU
# Vocabularies' licence table, as DCAT-AP recommends; pages link the licence text itself.
LICENSE_URI = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
LICENSE_TITLE = "知识共享署名 4.0 国际许可协议"
LICENSE_TEXT_URL = "https://creativecommons.org/licenses/by/4.0/deed.zh-hans"
LANGUAGE_URI = "http://publications.europa.eu/resource/authority/language/ZHO"
FILE_TYPE_URI = "http://publications.europa.eu/resource/authority/file-type/"
MEDIA_TYPE_URI = "http://www.iana.org/assignments/media-types/"
CATALOG_TITLE = "一网通办开放数据目录（示例城市）"
CATALOG_DESCRIPTION = (
    "一网通办平台向社会开放的公共数据：政务服务事项和一件事目录、政务服务大厅、电子证照类型、"
    "惠企利民政策，以及按月汇总的办件和好差评统计。不含任何个人信息；统计中的小数不公开。"
    "本站为示例城市，数据均为示例。"
)
API_DISTRIBUTION_TITLE = "数据接口（需接口密钥）"
API_SERVICE_TITLE = "一网通办开放数据接口"

CONTEXT: dict[str, Any] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    # Typed here so each value below stays a plain string for a client that reads JSON only.
    "dct:title": {"@language": "zh-Hans"},
    "dct:description": {"@language": "zh-Hans"},
    "dcat:keyword": {"@language": "zh-Hans"},
    "foaf:name": {"@language": "zh-Hans"},
    "dct:modified": {"@type": "xsd:dateTime"},
    **{
        term: {"@type": "@id"}
        for term in (
            "dct:license",
            "dct:accrualPeriodicity",
            "dct:language",
            "dct:format",
            "dcat:mediaType",
            "dcat:theme",
            "dcat:landingPage",
            "dcat:downloadURL",
            "dcat:accessURL",
            "dcat:endpointURL",
            "dcat:endpointDescription",
            "foaf:homepage",
        )
    },
}


def publisher_name() -> str:
    return settings.TONGBAN_OPENDATA_PUBLISHER


def _publisher() -> dict[str, Any]:
    agent: dict[str, Any] = {"@type": "foaf:Agent", "foaf:name": publisher_name()}
    if settings.TONGBAN_OPENDATA_PUBLISHER_URI:
        agent = {"@id": settings.TONGBAN_OPENDATA_PUBLISHER_URI, **agent}
    return agent


def _iso(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def _file_distribution(dataset: Dataset, base: str, fmt: str) -> dict[str, Any]:
    url = f"{base}/opendata/{dataset.id}.{fmt}"
    media = {"csv": "text/csv", "json": "application/json"}[fmt]
    return {
        "@id": url,
        "@type": "dcat:Distribution",
        "dct:title": f"{dataset.title}（{fmt.upper()}）",
        "dct:format": FILE_TYPE_URI + fmt.upper(),
        "dcat:mediaType": MEDIA_TYPE_URI + media,
        "dcat:downloadURL": url,
        "dcat:accessURL": url,
        "dct:license": LICENSE_URI,
    }


def _api_distribution(dataset: Dataset, base: str) -> dict[str, Any]:
    url = f"{base}/api/v1/opendata/datasets/{dataset.id}/rows"
    return {
        "@id": url,
        "@type": "dcat:Distribution",
        "dct:title": API_DISTRIBUTION_TITLE,
        "dct:description": "分页读取数据行（limit、offset），请求头 X-API-Key 携带接口密钥。",
        "dct:format": FILE_TYPE_URI + "JSON",
        "dcat:mediaType": MEDIA_TYPE_URI + "application/json",
        "dcat:accessURL": url,
        "dct:license": LICENSE_URI,
        "dcat:accessService": {
            "@type": "dcat:DataService",
            "dct:title": API_SERVICE_TITLE,
            "dcat:endpointURL": f"{base}/api/v1/",
            "dcat:endpointDescription": f"{base}/api/v1/openapi.json",
        },
    }


def _dataset_node(table: Table, base: str) -> dict[str, Any]:
    dataset = table.dataset
    landing = f"{base}/opendata/{dataset.id}/"
    return {
        "@id": landing,
        "@type": "dcat:Dataset",
        "dct:identifier": dataset.id,
        "dct:title": dataset.title,
        "dct:description": dataset.description_text,
        "dct:publisher": _publisher(),
        "dct:license": LICENSE_URI,
        "dct:accrualPeriodicity": dataset.frequency_uri,
        "dct:modified": _iso(table.modified),
        "dct:language": LANGUAGE_URI,
        "dcat:keyword": list(dataset.keywords),
        "dcat:theme": dataset.theme_uris,
        "dcat:landingPage": landing,
        "dcat:distribution": [
            _file_distribution(dataset, base, "csv"),
            _file_distribution(dataset, base, "json"),
            _api_distribution(dataset, base),
        ],
    }


def dcat_dataset(*, dataset_id: str, base_url: str) -> dict[str, Any]:
    """One dataset as a DCAT-AP JSON-LD document. BASE_URL ("https://host") makes every link
    absolute, as the request reached the platform."""
    base = base_url.rstrip("/")
    return {"@context": CONTEXT, **_dataset_node(dataset_table(dataset_id), base)}


def dcat_catalog(*, base_url: str) -> dict[str, Any]:
    """The catalogue (dcat:Catalog) with every dataset, as JSON-LD."""
    base = base_url.rstrip("/")
    tables = catalogue()
    return {
        "@context": CONTEXT,
        "@id": f"{base}/api/v1/opendata/catalog",
        "@type": "dcat:Catalog",
        "dct:title": CATALOG_TITLE,
        "dct:description": CATALOG_DESCRIPTION,
        "dct:publisher": _publisher(),
        "dct:license": LICENSE_URI,
        "dct:language": LANGUAGE_URI,
        "dct:modified": _iso(max(t.modified for t in tables)),
        "foaf:homepage": f"{base}/opendata/",
        "dcat:dataset": [_dataset_node(t, base) for t in tables],
    }


# ---------------------------------------------------------------- developers and keys


def api_key_hash(key: str) -> str:
    # A keyed hash, not a salted one: a call brings the key alone, so the row must be found
    # by it (as a 随申码 scanner's key is). The key is 256 random bits; no guessing reaches
    # it, so stretching would only slow every call.
    return lookup_hash(key, context=API_KEY_CONTEXT)


def api_key_for(key: str | None) -> ApiKey | None:
    """The live key KEY names, or None (unknown, revoked, or not a key at all)."""
    if not key or len(key) > 200 or not key.startswith(API_KEY_PREFIX):
        return None
    return (
        ApiKey.objects.select_related("developer")
        .filter(key_hash=api_key_hash(key), revoked_at__isnull=True)
        .first()
    )


def developer_of(user) -> Developer | None:
    if user is None or not user.is_authenticated:
        return None
    return Developer.objects.filter(user=user).first()


def keys_of(developer: Developer) -> list[ApiKey]:
    """The developer's keys, the live one first, then the revoked ones newest first."""
    return list(developer.keys.order_by("revoked_at", "-created_at", "-pk"))


def rate_limit() -> int:
    return settings.TONGBAN_OPENDATA_RATE_LIMIT


def usage_for(*, developer: Developer, days: int = USAGE_DAYS) -> dict[str, Any]:
    """Calls of all the developer's keys over the last DAYS days (today included): one row per
    day and dataset that saw a call, newest first, and the totals per dataset."""
    since = timezone.localdate() - dt.timedelta(days=days - 1)
    titles = {d.id: d.title for d in DATASETS}
    usage = ApiKeyDailyUsage.objects.filter(key__developer=developer, day__gte=since)
    daily = [
        {
            "day": row["day"],
            "dataset": row["dataset"],
            "title": titles.get(row["dataset"], row["dataset"]),
            "calls": row["calls"],
            "refused": row["refused"],
        }
        for row in usage.values("day", "dataset")
        .annotate(calls=Sum("calls"), refused=Sum("refused"))
        .order_by("-day", "dataset")
    ]
    per_dataset = [
        {
            "dataset": row["dataset"],
            "title": titles.get(row["dataset"], row["dataset"]),
            "calls": row["calls"],
            "refused": row["refused"],
        }
        for row in usage.values("dataset")
        .annotate(calls=Sum("calls"), refused=Sum("refused"))
        .order_by("dataset")
    ]
    return {
        "since": since,
        "days": days,
        "limit": rate_limit(),
        "daily": daily,
        "per_dataset": per_dataset,
        "calls": sum(r["calls"] for r in per_dataset),
        "refused": sum(r["refused"] for r in per_dataset),
    }
