"""Fixtures for the platform side of the exchange: the demo catalog, a small registry of
test sources (written as YAML and loaded as the catalog command does), the demo department
systems serving them on a free loopback port (module-scoped), and the exchange switched on
against it for each test. Import the fixtures into a test module with

    from tongban.exchange.tests.platform_fixtures import *  # noqa: F403
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tongban.exchange import breaker
from tongban.exchange.demo_sources.dataset import write_records
from tongban.exchange.demo_sources.server import start
from tongban.exchange.schemas import DataSourceDef

DEMO_DEFINITIONS = Path(__file__).resolve().parents[2] / "demo" / "definitions"

POLICE_BASIS = "《中华人民共和国居民身份证法》（示例）"
MARKET_BASIS = "《市场主体登记管理条例》（示例）"
INSURANCE_BASIS = "《中华人民共和国社会保险法》（示例）"

# Synthetic people and bodies (示例), with valid check characters.
MOTHER_ID = "310104199001011225"
FATHER_ID = "310104198905057117"
NOBODY_ID = "310104200001011239"
USCC = "9131000000004242XU"

SOURCES: list[dict] = [
    {
        "code": "t_population",
        "name": "公安人口库",
        "department": "SH-GA",
        "key": "id_number",
        "sensitivity": 3,
        "elements": [
            {"code": "name", "label": "姓名", "type": "text", "sensitivity": 2},
            {
                "code": "gender",
                "label": "性别",
                "type": "choice",
                "choices": ["男", "女"],
                "sensitivity": 2,
            },
            {"code": "id_valid", "label": "身份证件有效", "type": "boolean", "sensitivity": 2},
            {"code": "birth_date", "label": "出生日期", "type": "date", "sensitivity": 3},
        ],
        "proves": [
            {"material": "mother_id_card", "elements": ["id_valid"]},
            {"material": "father_id_card", "elements": ["id_valid"]},
            {"material": "legal_rep_id_card", "elements": ["id_valid"]},
        ],
        "legal_bases": [POLICE_BASIS],
        "items": ["*"],
        "consentable": ["name"],
        "transport": {
            "kind": "http",
            "path": "/t/population",
            "timeout_seconds": 0.5,
            "retries": 1,
        },
    },
    {
        "code": "t_market",
        "name": "市场主体登记库",
        "department": "SH-SCJ",
        "key": "uscc",
        "sensitivity": 1,
        "elements": [
            {"code": "registered", "label": "登记在册", "type": "boolean", "sensitivity": 1},
            {"code": "capital", "label": "注册资本（万元）", "type": "decimal", "sensitivity": 1},
            {"code": "staff", "label": "从业人数", "type": "integer", "sensitivity": 1},
        ],
        "proves": [{"material": "business_license", "elements": ["registered"]}],
        "legal_bases": [MARKET_BASIS],
        "items": ["SH-SWJ-0101"],
        "transport": {"kind": "http", "path": "/t/market", "timeout_seconds": 0.5, "retries": 0},
    },
    {
        "code": "t_insured_person",
        "name": "社保参保库",
        "department": "SH-RSJ",
        "key": "id_number",
        "sensitivity": 2,
        "elements": [{"code": "insured", "label": "在保", "type": "boolean", "sensitivity": 2}],
        "proves": [{"material": "employment_proof", "elements": ["insured"]}],
        "legal_bases": [INSURANCE_BASIS],
        "items": ["*"],
        "transport": {
            "kind": "http",
            "path": "/t/insured-person",
            "timeout_seconds": 0.5,
            "retries": 0,
        },
    },
    {
        "code": "t_insured_unit",
        "name": "社保参保库",
        "department": "SH-RSJ",
        "key": "uscc",
        "sensitivity": 2,
        "elements": [
            {"code": "paying", "label": "正常缴费", "type": "boolean", "sensitivity": 2},
        ],
        "proves": [{"material": "insurance_payment_record", "elements": ["paying"]}],
        "legal_bases": [INSURANCE_BASIS],
        "items": ["*"],
        "transport": {
            "kind": "http",
            "path": "/t/insured-unit",
            "timeout_seconds": 0.5,
            "retries": 0,
        },
    },
    {
        "code": "t_household_economy",
        "name": "居民经济状况核对系统",
        "department": "SH-MZJ",
        "key": "id_number",
        "sensitivity": 4,
        "elements": [
            {"code": "household_size", "label": "家庭人数", "type": "integer", "sensitivity": 3},
            {
                "code": "per_capita_monthly_income",
                "label": "家庭人均月收入",
                "type": "decimal",
                "sensitivity": 4,
            },
            {
                "code": "economy_checked",
                "label": "经济状况已核对",
                "type": "boolean",
                "sensitivity": 3,
            },
        ],
        "proves": [{"material": "household_income_proof", "elements": ["economy_checked"]}],
        "legal_bases": ["《社会救助暂行办法》（示例）"],
        "items": ["*"],
        "transport": {
            "kind": "inprocess",
            "callable": "tongban.exchange.inprocess:household_economy",
        },
    },
]

RECORDS = {
    "t_population": {
        MOTHER_ID: {"name": "李静", "gender": "女", "id_valid": True, "birth_date": "1990-01-01"},
        FATHER_ID: {"name": "王强", "gender": "男", "id_valid": False},
    },
    "t_market": {USCC: {"registered": True, "capital": "100.00", "staff": 12}},
    "t_insured_person": {},
    "t_insured_unit": {USCC: {"paying": True}},
}

CODES = [s["code"] for s in SOURCES]


def source_defs() -> list[DataSourceDef]:
    return [DataSourceDef.model_validate(s) for s in SOURCES]


def write_sources(folder: Path, sources: list[dict] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for s in sources if sources is not None else SOURCES:
        text = "# 示例 测试数据源\n" + yaml.safe_dump(s, allow_unicode=True, sort_keys=False)
        (folder / f"{s['code']}.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    store = tmp_path_factory.mktemp("ds") / "ds.sqlite3"
    write_records(store, RECORDS)
    defs = [d for d in source_defs() if d.transport.kind == "http"]
    with start(db=store, sources=defs) as server:
        yield server


@pytest.fixture
def catalog(db):
    from tongban.catalog.services import catalog_load_directory

    catalog_load_directory(path=DEMO_DEFINITIONS)


@pytest.fixture
def registry(catalog, tmp_path):
    from tongban.exchange.services import data_sources_load

    return data_sources_load(directory=write_sources(tmp_path / "data_sources"))


@pytest.fixture
def exchange(settings, demo_server, registry):
    """The exchange on, against the demo server, with every breaker closed and no fault."""
    settings.TONGBAN_EXCHANGE_ENABLED = True
    settings.TONGBAN_EXCHANGE_ENDPOINTS = {"demo": demo_server.url}
    settings.TONGBAN_EXCHANGE_BREAKER_FAILURES = 3
    settings.TONGBAN_EXCHANGE_BREAKER_OPEN_SECONDS = 30
    demo_server.clear_faults()
    breaker.reset(codes=CODES)
    yield demo_server
    demo_server.clear_faults()
    breaker.reset(codes=CODES)


__all__ = ["catalog", "demo_server", "exchange", "registry"]
