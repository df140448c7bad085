"""Reading the data source folder (`data_sources/*.yaml`, one source each): validated
definitions out, or every problem named by file, line and field. The YAML parsing and the
Chinese messages are the catalog loader's, so every kind of definition reads alike."""

from __future__ import annotations

from pathlib import Path

from tongban.catalog.loader import (
    CatalogDefinitions,
    DefinitionProblem,
    Located,
    _parse,
    _yaml_files,
)
from tongban.catalog.models import Department
from tongban.catalog.selectors import current_definitions
from tongban.exchange.errors import DataSourcesInvalid
from tongban.exchange.schemas import DataSourceDef


def read_data_sources(path: Path | str) -> dict[str, Located[DataSourceDef]]:
    """Parse, validate and cross-check a folder of data sources (an absent folder holds
    none). Raises DataSourcesInvalid listing every problem."""
    root = Path(path)
    problems: list[DefinitionProblem] = []
    scratch = CatalogDefinitions()
    found: dict[str, Located[DataSourceDef]] = {}
    by_name_key: dict[tuple[str, str], str] = {}
    for file_path in _yaml_files(root):
        parsed = _parse(root, file_path, DataSourceDef, problems, scratch)
        if parsed is None:
            continue
        d = parsed.definition
        if d.code in found:
            problems.append(
                parsed.problem(
                    ("code",), f"数据源编码重复：{d.code}，已在 {found[d.code].file} 定义"
                )
            )
            continue
        # Waivers name a source by its Chinese name; the subject's key picks between two
        # sources of one name (社保参保库 by 公民身份号码 and by 统一社会信用代码).
        other = by_name_key.get((d.name, d.key))
        if other is not None:
            problems.append(
                parsed.problem(("name",), f"数据源「{d.name}」按 {d.key} 查询已由 {other} 定义")
            )
            continue
        by_name_key[(d.name, d.key)] = d.code
        found[d.code] = parsed
    if found:
        departments = set(Department.objects.filter(is_active=True).values_list("code", flat=True))
        items, _bundles = current_definitions()
        for located in found.values():
            d = located.definition
            if d.department not in departments:
                problems.append(
                    located.problem(
                        ("department",), f"部门 {d.department} 不存在（请先加载事项库）"
                    )
                )
            for i, code in enumerate(d.items):
                if code != "*" and code not in items:
                    problems.append(located.problem(("items", i), f"事项 {code} 不存在"))
    if problems:
        raise DataSourcesInvalid(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return found
