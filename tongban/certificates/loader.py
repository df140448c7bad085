"""Reading a certificate type folder (`*.yaml`, one type each): validated definitions out, or
every problem named by file, line and field. The YAML parsing, duplicate-key check and
Chinese error messages are the catalog loader's, so both kinds of definition read alike."""

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
from tongban.catalog.schemas import ServiceItemDef
from tongban.catalog.selectors import current_definitions
from tongban.certificates.errors import CertificateTypesInvalid
from tongban.certificates.schemas import CertificateTypeDef


def read_certificate_types(path: Path | str) -> dict[str, Located[CertificateTypeDef]]:
    """Parse, validate and cross-check a folder of certificate types. Raises
    CertificateTypesInvalid listing every problem (not only the first)."""
    root = Path(path)
    if not root.is_dir():
        raise CertificateTypesInvalid([DefinitionProblem(str(root), None, "", "定义目录不存在")])
    problems: list[DefinitionProblem] = []
    scratch = CatalogDefinitions()  # _parse records codes of invalid files here; unused
    found: dict[str, Located[CertificateTypeDef]] = {}
    for file_path in _yaml_files(root):
        parsed = _parse(root, file_path, CertificateTypeDef, problems, scratch)
        if parsed is None:
            continue
        code = parsed.definition.code
        if code in found:
            problems.append(
                parsed.problem(("code",), f"证照类型编码重复：{code}，已在 {found[code].file} 定义")
            )
            continue
        found[code] = parsed
    departments = set(Department.objects.filter(is_active=True).values_list("code", flat=True))
    for located in found.values():
        if located.definition.department not in departments:
            problems.append(
                located.problem(
                    ("department",),
                    f"部门 {located.definition.department} 不存在（请先加载事项库）",
                )
            )
    if not problems:
        problems = output_supply_problems(found)
    if problems:
        raise CertificateTypesInvalid(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return found


# Claim sources read from records the platform keeps (the holder's 一人一档, the applicant's,
# the enterprise's 一企一档, the case itself, the issuing department, a fixed value): always
# there when a certificate is issued. Form values are there only when the form must ask them.
_RECORD_SOURCES = ("profile", "applicant", "enterprise", "case", "issuer", "value")


def _always_asked(item: ServiceItemDef) -> set[str]:
    """Elements the item asks as required whatever the answers (no condition)."""
    return {use.code for use in item.element_uses() if use.required and not use.when}


def output_supply_problems(
    found: dict[str, Located[CertificateTypeDef]],
) -> list[DefinitionProblem]:
    """No approved item may end without its certificate: every required claim of every
    output of every current item must come from a record, from a form value the item always
    asks as required, or from a value an item produces (itself, or an earlier one of a
    一件事 that includes it). Named at the claim, with the item that cannot supply it."""
    items, bundles = current_definitions()
    # What earlier items of some bundle produce for an item; an item may be applied for in
    # several places, and must be able to issue in each, so only what all of them give counts.
    produced_for: dict[str, list[set[str]]] = {code: [set(i.produces)] for code, i in items.items()}
    for bundle in bundles.values():
        after = {e.item: e.after for e in bundle.items}
        for entry in bundle.items:
            seen: set[str] = set()
            todo = list(after.get(entry.item, []))
            while todo:
                current = todo.pop()
                if current not in seen:
                    seen.add(current)
                    todo.extend(after.get(current, []))
            given = {e for code in seen if code in items for e in items[code].produces}
            produced_for.setdefault(entry.item, []).append(
                given | set(items[entry.item].produces) if entry.item in items else given
            )
    problems: list[DefinitionProblem] = []
    for code, item in items.items():
        supplied = _always_asked(item) | set.intersection(*produced_for[code])
        for output in item.outputs:
            located = found.get(output.certificate_type)
            if located is None:
                continue
            for i, claim in enumerate(located.definition.claims):
                if not claim.required:
                    continue
                ok = any(
                    s.partition(":")[0] in _RECORD_SOURCES
                    or (s.startswith("element:") and s[8:] in supplied)
                    for s in claim.source
                )
                if not ok:
                    problems.append(
                        located.problem(
                            ("claims", i, "source"),
                            f"事项 {code} 签发本证照时无法取得必填内容「{claim.label}」："
                            "来源数据元须在该事项中必填，或由审批产生",
                        )
                    )
    return problems
