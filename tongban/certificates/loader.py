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
    if problems:
        raise CertificateTypesInvalid(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return found
