"""The data source registry (tongban/demo/definitions/data_sources): every file validates, and
every `data_source` waiver of the demo catalog names a source that can prove its material."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from tongban.exchange.demo_sources.app import load_definitions
from tongban.exchange.schemas import DataSourceDef

# One waiver names two systems at once (股东可以是个人或企业): no single source proves it.
COMBINED = "公安人口库、市场主体登记库"


def _folder() -> Path:
    return Path(settings.TONGBAN_CATALOG_DIR) / "data_sources"


@pytest.fixture(scope="module")
def sources() -> list[DataSourceDef]:
    return load_definitions(_folder())


def _waivers() -> list[tuple[str, str, str, str]]:
    """(item, material, about, source name) of every data_source waiver in the catalog."""
    rows = []
    for path in sorted((Path(settings.TONGBAN_CATALOG_DIR) / "items").glob("*.yaml")):
        item = yaml.safe_load(path.read_text(encoding="utf-8"))
        for material in item.get("materials", []):
            for waiver in material.get("waivable_by", []):
                if waiver.get("kind") == "data_source":
                    about = material.get("about", "applicant")
                    rows.append((item["code"], material["code"], about, waiver["data_source"]))
    return rows


def _key_for(about: str) -> str:
    return "uscc" if about == "enterprise" else "id_number"


def _asked(sources) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(item, material, [(source name, key)]) for every waiver: a waiver about each 股东 names
    one system per kind of subject (a person by ID number, an enterprise by credit code)."""
    rows = []
    for item, material, about, name in _waivers():
        if about == "investor":
            names = name.split("、")
            pairs = [(n, src.key) for n in names for src in sources if src.name == n]
            assert len(pairs) == len(names) == 2, (item, material)
        else:
            pairs = [(name, _key_for(about))]
        rows.append((item, material, pairs))
    return rows


def test_every_file_is_one_valid_source_named_by_its_code(sources):
    files = sorted(p.stem for p in _folder().glob("*.yaml"))
    assert files == sorted(s.code for s in sources)
    assert len(sources) == 24
    for path in _folder().glob("*.yaml"):
        assert path.read_text(encoding="utf-8").startswith("# 示例")


def test_paths_codes_and_name_key_pairs_are_unique(sources):
    paths = [s.transport.path for s in sources if s.transport.kind == "http"]
    assert len(paths) == len(set(paths)) == 23
    pairs = [(s.name, s.key) for s in sources]
    assert len(pairs) == len(set(pairs))
    # Names shared only by the person and enterprise halves of one system.
    shared = defaultdict(set)
    for s in sources:
        shared[s.name].add(s.key)
    assert {n: k for n, k in shared.items() if len(k) > 1} == {
        "社保参保库": {"id_number", "uscc"},
        "税务征收信息": {"id_number", "uscc"},
    }


def test_departments_exist(sources):
    listed = yaml.safe_load(
        (Path(settings.TONGBAN_CATALOG_DIR) / "departments.yaml").read_text(encoding="utf-8")
    )
    codes = {d["code"] for d in listed["departments"]}
    assert {s.department for s in sources} <= codes


def test_the_one_inprocess_source_is_the_economy_check(sources):
    inprocess = [s for s in sources if s.transport.kind == "inprocess"]
    assert [(s.code, s.name, s.transport.callable) for s in inprocess] == [
        (
            "mzj_economy_check",
            "居民经济状况核对系统",
            "tongban.exchange.inprocess:household_economy",
        )
    ]


def test_every_waiver_names_a_source_that_proves_its_material(sources):
    by_name_key = {(s.name, s.key): s for s in sources}
    waivers = _waivers()
    assert len(waivers) == 153
    names = {w[3] for w in waivers} - {COMBINED}
    assert len(names) == 21
    for item, material, pairs in _asked(sources):
        for name, key in pairs:
            source = by_name_key.get((name, key))
            assert source is not None, (item, material, name)
            assert material in {p.material for p in source.proves}, (item, material, name)


def test_scenario_authorisation_is_exactly_the_items_whose_waivers_name_the_source(sources):
    expected = defaultdict(set)
    for item, _material, pairs in _asked(sources):
        for pair in pairs:
            expected[pair].add(item)
    for s in sources:
        if s.code == "credit_rating":  # named by no waiver: asked for 专项资金 and by consent
            assert s.items == ["SH-SCJ-0301"]
            continue
        assert s.items == sorted(expected[(s.name, s.key)]), s.code


def test_proofs_name_only_materials_waived_by_that_source(sources):
    waived = defaultdict(set)
    for _item, material, pairs in _asked(sources):
        for pair in pairs:
            waived[pair].add(material)
    for s in sources:
        assert {p.material for p in s.proves} == waived[(s.name, s.key)], s.code


def test_consentable_sources_for_third_parties(sources):
    consentable = {s.code: s.consentable for s in sources if s.consentable}
    assert consentable == {
        "credit_rating": ["public_credit_rating", "rated_on", "dishonest_listed"],
        "rsj_unit_insurance": ["insured_headcount", "contributions_up_to_date"],
        "scj_market_entity": [
            "enterprise_name",
            "enterprise_type",
            "registration_status",
            "registered_capital",
            "founded_on",
        ],
        "swj_tax": ["tax_credit_rating", "last_year_tax_band"],
        "rsj_insurance": ["insured", "insurance_type", "contribution_months"],
    }
    # A consent is the legal basis of a third party's read: every consentable source lists it,
    # after the basis a case's look-up is made under (the first).
    for s in sources:
        if s.consentable:
            assert s.legal_bases[-1].startswith("数据主体授权同意"), s.code
            assert not s.legal_bases[0].startswith("数据主体授权同意"), s.code
