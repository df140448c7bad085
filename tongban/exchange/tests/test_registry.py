"""The 数据共享目录: loaded with the catalog, versioned like certificate types (a changed
definition is a new version, an unchanged one none, one that left the folder is
deactivated), every problem named, and read by code or by (name, key)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tongban.common.models import AuditEvent
from tongban.exchange.errors import DataSourcesInvalid
from tongban.exchange.models import DataSource, DataSourceVersion
from tongban.exchange.selectors import data_source, data_sources, data_sources_named
from tongban.exchange.services import data_sources_load
from tongban.exchange.tests import platform_fixtures as pf
from tongban.exchange.tests.platform_fixtures import SOURCES, write_sources

catalog = pf.catalog


def test_load_then_reload_versions_only_what_changed(catalog, tmp_path):
    folder = write_sources(tmp_path / "ds")
    first = data_sources_load(directory=folder)
    assert (len(first.created), first.changed, first.unchanged) == (len(SOURCES), [], [])
    again = data_sources_load(directory=folder)
    assert (again.created, again.changed, len(again.unchanged)) == ([], [], len(SOURCES))
    changed = [dict(s) for s in SOURCES if s["code"] != "t_market"]
    changed[0] = {**changed[0], "description": "示例：新增说明"}
    for p in folder.iterdir():
        p.unlink()
    write_sources(folder, changed)
    third = data_sources_load(directory=folder)
    assert (third.changed, third.deactivated) == (["t_population"], ["t_market"])
    assert list(
        DataSourceVersion.objects.filter(code="t_population")
        .order_by("version")
        .values_list("version", flat=True)
    ) == [1, 2]
    assert data_source("t_population").description == "示例：新增说明"
    assert data_source("t_market") is None
    assert "t_market" not in [d.code for d in data_sources()]
    assert DataSource.objects.get(code="t_market").is_active is False
    assert AuditEvent.objects.filter(action="exchange.sources_load").count() == 3


def test_sources_of_one_name_are_found_by_their_key(catalog, tmp_path):
    data_sources_load(directory=write_sources(tmp_path / "ds"))
    named = data_sources_named(["社保参保库"])
    assert {k: d.code for k, (d, _v) in named.items()} == {
        ("社保参保库", "id_number"): "t_insured_person",
        ("社保参保库", "uscc"): "t_insured_unit",
    }


def test_problems_are_named_and_nothing_is_loaded(catalog, tmp_path):
    bad = [
        {**SOURCES[0], "department": "SH-NOPE"},
        {**SOURCES[1], "items": ["SH-NOPE-0101"]},
        {**SOURCES[2], "code": "t_insured_person_2", "key": "id_number"},  # same name and key
        {**SOURCES[2], "code": "t_dup", "name": "示例", "transport": {"kind": "ftp"}},
    ]
    with pytest.raises(DataSourcesInvalid) as caught:
        data_sources_load(directory=write_sources(tmp_path / "ds", [*bad, SOURCES[2]]))
    messages = sorted(p.message for p in caught.value.problems)
    assert "部门 SH-NOPE 不存在（请先加载事项库）" in messages
    assert "事项 SH-NOPE-0101 不存在" in messages
    assert any("按 id_number 查询已由" in m for m in messages)
    assert len(messages) == 4
    assert DataSource.objects.count() == 0


def test_catalog_load_command_loads_the_data_sources_folder(catalog, tmp_path, settings):
    import shutil

    root = tmp_path / "defs"
    shutil.copytree(pf.DEMO_DEFINITIONS, root, ignore=shutil.ignore_patterns("data_sources"))
    write_sources(root / "data_sources")
    out = io.StringIO()
    call_command("catalog_load", str(root), stdout=out)
    assert f"  数据源：新增 {len(SOURCES)}，变更 0，未变 0，停用 0" in out.getvalue()
    assert DataSource.objects.filter(is_active=True).count() == len(SOURCES)
    (root / "data_sources" / "t_market.yaml").write_text("code: [", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("catalog_load", str(root), stdout=io.StringIO(), stderr=io.StringIO())
    assert DataSource.objects.filter(is_active=True).count() == len(SOURCES)


def test_the_shipped_demo_sources_load_with_the_demo_catalog(catalog):
    folder = pf.DEMO_DEFINITIONS / "data_sources"
    shipped = sorted(p.stem for p in folder.glob("*.yaml"))
    report = data_sources_load(directory=folder)
    assert sorted(report.created) == sorted(d.code for d in data_sources())
    assert len(report.created) == len(shipped) > 0
