"""Reading a definition folder: YAML files in, validated definitions out — or every problem,
each named by file, line and field, so an author fixes them all in one pass.

Layout: `departments.yaml`, `elements/*.yaml`, `items/*.yaml` (one item each),
`bundles/*.yaml` (one bundle each), `policies/*.yaml`, `lexicon/*.yaml` (the search lexicon,
tongban.catalog.lexicon). Nothing here writes to the database; the service
`catalog_load_directory` applies what this returns.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from django.apps import apps
from pydantic import BaseModel, ValidationError

from tongban.catalog.errors import CatalogInvalid
from tongban.catalog.lexicon import LEXICON_FOLDER, LexiconFile
from tongban.catalog.schemas import (
    BundleDef,
    DataElementDef,
    DataElementsFile,
    DepartmentDef,
    DepartmentsFile,
    ServiceItemDef,
)
from tongban.policies.rules import (
    ElementInfo,
    elements_used,
    formula_elements,
    formula_problems,
    rule_problems,
)
from tongban.policies.schemas import PolicyDef

DEPARTMENTS_FILE = "departments.yaml"
YAML_SUFFIXES = (".yaml", ".yml")

D = TypeVar("D", bound=BaseModel)
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class DefinitionProblem:
    """One thing wrong in one file. `line` is 1-based; `field` is a path such as
    `materials[2].copies` (empty when the whole file is at fault)."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Located(Generic[D]):
    """A validated definition and where it came from, so later cross-checks can still point at
    the line that holds the bad reference."""

    definition: D
    file: str
    root: yaml.Node
    prefix: Loc = ()

    def problem(self, loc: Loc, message: str) -> DefinitionProblem:
        line, path = _locate(self.root, (*self.prefix, *loc), missing=False)
        return DefinitionProblem(self.file, line, path, message)


@dataclass
class CatalogDefinitions:
    departments: dict[str, Located[DepartmentDef]] = field(default_factory=dict)
    elements: dict[str, Located[DataElementDef]] = field(default_factory=dict)
    items: dict[str, Located[ServiceItemDef]] = field(default_factory=dict)
    bundles: dict[str, Located[BundleDef]] = field(default_factory=dict)
    policies: dict[str, Located[PolicyDef]] = field(default_factory=dict)
    # The search lexicon (tongban.catalog.lexicon), by file.
    lexicon: dict[str, Located[LexiconFile]] = field(default_factory=dict)
    # Codes seen in files that failed validation: references to them are not reported again,
    # so one typo in departments.yaml does not bury its own message under a hundred others.
    unvalidated: set[str] = field(default_factory=set)


# Folders already read, by their files' exact bytes. Parsing the YAML is most of a load's
# time, and the same unchanged folder is read again and again: by every worker start, by the
# policy tools and, hundreds of times, by the test suite. Only a folder that validated is
# kept; the results are shared, so nothing may change them after reading.
_READ_CACHE: dict[str, CatalogDefinitions] = {}
_READ_CACHE_SIZE = 8
_read_cache_lock = threading.Lock()


def read_definitions(path: Path | str) -> CatalogDefinitions:
    """Parse, validate and cross-check a definition folder. Raises CatalogInvalid listing every
    problem (not just the first)."""
    root = Path(path)
    if not root.is_dir():
        return _read_definitions(root)
    # By content alone: nothing read keeps the folder's own path, so a copy reads the same.
    key = _folder_digest(root)
    cached = _READ_CACHE.get(key)
    if cached is not None:
        return cached
    result = _read_definitions(root)
    with _read_cache_lock:
        while len(_READ_CACHE) >= _READ_CACHE_SIZE:
            _READ_CACHE.pop(next(iter(_READ_CACHE)))
        _READ_CACHE[key] = result
    return result


def _folder_digest(root: Path) -> str:
    """Every file below ROOT, by name and content: any edit, addition or removal changes it."""
    digest = hashlib.sha256()
    for file_path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(file_path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file_path.read_bytes()).digest())
    return digest.hexdigest()


def _read_definitions(root: Path) -> CatalogDefinitions:
    problems: list[DefinitionProblem] = []
    result = CatalogDefinitions()
    if not root.is_dir():
        raise CatalogInvalid([DefinitionProblem(str(root), None, "", "定义目录不存在")])

    departments_path = root / DEPARTMENTS_FILE
    if not departments_path.is_file():
        problems.append(DefinitionProblem(DEPARTMENTS_FILE, None, "", "缺少部门定义文件"))
    else:
        parsed = _parse(root, departments_path, DepartmentsFile, problems, result)
        if parsed:
            for i, dept in enumerate(parsed.definition.departments):
                _add_unique(
                    result.departments,
                    Located(dept, parsed.file, parsed.root, ("departments", i)),
                    "部门编码",
                    problems,
                )

    for file_path in _yaml_files(root / "elements"):
        parsed = _parse(root, file_path, DataElementsFile, problems, result)
        if parsed:
            for i, element in enumerate(parsed.definition.elements):
                _add_unique(
                    result.elements,
                    Located(element, parsed.file, parsed.root, ("elements", i)),
                    "数据元编码",
                    problems,
                )
    for file_path in _yaml_files(root / "items"):
        parsed = _parse(root, file_path, ServiceItemDef, problems, result)
        if parsed:
            _add_unique(result.items, parsed, "事项编码", problems)
    for file_path in _yaml_files(root / "bundles"):
        parsed = _parse(root, file_path, BundleDef, problems, result)
        if parsed:
            _add_unique(result.bundles, parsed, "一件事编码", problems)
    for file_path in _yaml_files(root / "policies"):
        parsed = _parse(root, file_path, PolicyDef, problems, result)
        if parsed:
            _add_unique(result.policies, parsed, "政策编码", problems)
    for file_path in _yaml_files(root / LEXICON_FOLDER):
        parsed = _parse(root, file_path, LexiconFile, problems, result)
        if parsed:
            result.lexicon[parsed.file] = parsed

    problems += _cross_check(result)
    if problems:
        raise CatalogInvalid(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return result


def definition_content(definition: BaseModel) -> dict[str, Any]:
    """The stored form of a definition: every field, defaults included, so a stored version
    reads the same even after the schema's defaults change."""
    return definition.model_dump(mode="json")


def definition_sha256(definition: BaseModel) -> str:
    """What identifies a version: only what the author wrote. Defaults are left out, so adding
    an optional field to the schema does not turn every existing definition into a new version."""
    return content_sha256(definition.model_dump(mode="json", exclude_defaults=True))


@dataclass
class DefinitionsLoadReport:
    """What a load of versioned definitions did (certificate types, data sources)."""

    path: str
    dry_run: bool = False
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "changed": len(self.changed),
            "unchanged": len(self.unchanged),
            "deactivated": len(self.deactivated),
        }


def versioned_definitions_apply(
    *,
    definitions: dict[str, Located],
    version_model: Any,
    current_model: Any,
    row_values: Any,
    report: DefinitionsLoadReport,
    actor_label: str,
    version_extra: dict[str, Any] | None = None,
    current_link: Any = None,
) -> None:
    """Bring a registry of versioned definitions (certificate types, data sources) in line
    with DEFINITIONS: a changed definition gets a new immutable VERSION_MODEL row (what was
    done under the old one keeps pointing at it), an unchanged one none; the CURRENT_MODEL row
    of each code takes ROW_VALUES(definition, version) and is active; a code that left the
    folder is deactivated, never deleted. REPORT's created/changed/unchanged/deactivated lists
    are filled in. Call inside the caller's transaction.

    A registry that keeps its versions in a shared table (waiting lists, in the catalog's
    DefinitionVersion) names its rows there with VERSION_EXTRA ({"kind": …}); one whose
    current row records the version otherwise than by a `current` FK says how with
    CURRENT_LINK(version) -> fields."""
    extra = version_extra or {}
    latest: dict[str, Any] = {}
    for row in version_model.objects.filter(**extra).order_by("code", "version"):
        latest[row.code] = row
    existing = {row.code: row for row in current_model.objects.all()}
    for code, located in sorted(definitions.items()):
        definition = located.definition
        sha = definition_sha256(definition)
        previous = latest.get(code)
        if previous is not None and previous.content_sha256 == sha:
            version, outcome = previous, "unchanged"
        else:
            version = version_model.objects.create(
                **extra,
                code=code,
                version=previous.version + 1 if previous else 1,
                content=definition_content(definition),
                content_sha256=sha,
                source_file=located.file,
                loaded_by=actor_label,
            )
            outcome = "changed" if previous else "created"
        link = current_link(version) if current_link else {"current": version}
        values = {**row_values(definition, version), **link, "is_active": True}
        row = existing.get(code)
        if row is None:
            current_model.objects.create(code=code, **values)
        else:
            if outcome == "unchanged" and not row.is_active:
                outcome = "changed"
            for name, value in values.items():
                setattr(row, name, value)
            row.save()
        getattr(report, outcome).append(code)
    for code, row in existing.items():
        if code not in definitions and row.is_active:
            row.is_active = False
            row.save(update_fields=["is_active"])
            report.deactivated.append(code)


def content_sha256(content: dict[str, Any]) -> str:
    # Sorted keys and fixed separators: the same definition hashes the same whatever the key
    # order or whitespace in its YAML.
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- files and YAML


# libyaml's parser where PyYAML was built with it (the wheels are): the same nodes, marks and
# errors, several times faster — the demo catalog is read at every start and in many tests.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in YAML_SUFFIXES)


def _parse(
    root: Path,
    file_path: Path,
    schema: type[D],
    problems: list[DefinitionProblem],
    result: CatalogDefinitions,
) -> Located[D] | None:
    name = file_path.relative_to(root).as_posix()
    try:
        text = file_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.append(DefinitionProblem(name, None, "", "文件不是 UTF-8 编码"))
        return None
    loader = _SAFE_LOADER(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError:
            # A broken file is read again by the pure-Python parser, whose messages and
            # marks the operator's report has always shown.
            loader.dispose()
            loader = yaml.SafeLoader(text)
            node = loader.get_single_node()
        if node is None:
            problems.append(DefinitionProblem(name, None, "", "文件为空"))
            return None
        duplicate_problems = [
            DefinitionProblem(name, line, path, "键重复（后一个会覆盖前一个）")
            for line, path in _duplicate_keys(node)
        ]
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problems.append(DefinitionProblem(name, line, "", f"YAML 格式错误：{exc.problem}"))
        return None
    except yaml.YAMLError as exc:
        problems.append(DefinitionProblem(name, None, "", f"YAML 格式错误：{exc}"))
        return None
    finally:
        loader.dispose()
    if duplicate_problems:
        problems += duplicate_problems
        return None
    if not isinstance(node, yaml.MappingNode):
        line = node.start_mark.line + 1
        problems.append(DefinitionProblem(name, line, "", "文件顶层应为映射（键: 值）"))
        return None
    try:
        definition = schema.model_validate(data)
    except ValidationError as exc:
        problems += _validation_problems(name, node, exc)
        result.unvalidated |= _codes_in(data)
        return None
    return Located(definition, name, node)


def _codes_in(data: dict[str, Any]) -> set[str]:
    entries: list[Any] = [data]
    for key in ("departments", "elements"):
        if isinstance(data.get(key), list):
            entries += data[key]
    return {e["code"] for e in entries if isinstance(e, dict) and isinstance(e.get("code"), str)}


def _duplicate_keys(node: yaml.Node, path: Loc = ()) -> list[tuple[int, str]]:
    """PyYAML silently keeps the last of two equal keys; a definition with one is refused."""
    found: list[tuple[int, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                found.append((key.start_mark.line + 1, _format_path((*path, key.value))))
            seen.add(key.value)
            found += _duplicate_keys(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            found += _duplicate_keys(value, (*path, i))
    return found


def _locate(root: yaml.Node, loc: Loc, *, missing: bool) -> tuple[int, str]:
    """Walk pydantic's `loc` down the YAML node tree: the line of the deepest node reached and
    the path as an author reads it. Parts that are not keys or indexes are the names pydantic
    gives union branches (`str`, `ElementUse`) and are skipped; a missing key is kept in the
    path but its line is the mapping that lacks it."""
    node = root
    line = root.start_mark.line + 1
    shown: list[str | int] = []
    for n, part in enumerate(loc):
        last = n == len(loc) - 1
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if key.value == part:
                    # The key's own line: for a nested block the value starts a line later.
                    line = key.start_mark.line + 1
                    node = value
                    shown.append(part)
                    break
            else:
                if last and missing:
                    shown.append(part)
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
            shown.append(part)
    return line, _format_path(tuple(shown))


def _format_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# ---------------------------------------------------------------- pydantic errors in Chinese

_TYPE_NAMES = {
    "int_type": "整数",
    "int_parsing": "整数",
    "int_from_float": "整数",
    "float_type": "数字",
    "float_parsing": "数字",
    "string_type": "字符串",
    "bool_type": "true 或 false",
    "bool_parsing": "true 或 false",
    "list_type": "列表",
    "dict_type": "映射（键: 值）",
    "model_type": "映射（键: 值）",
    "model_attributes_type": "映射（键: 值）",
}

_MESSAGES = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不认识的字段（请检查拼写）",
    "literal_error": "应为以下之一：{expected}",
    "string_pattern_mismatch": "格式不正确（只能使用字母、数字和 _ . -，并以字母或数字开头）",
    "string_too_short": "至少需要 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than_equal": "应大于或等于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "应小于或等于 {le}",
    "less_than": "应小于 {lt}",
}


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _TYPE_NAMES:
        if error.get("input") is None:
            return "值不能为空"
        return f"输入应为{_TYPE_NAMES[kind]}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "definition":
        return error["msg"]
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace(" or ", ", ").replace("'", "")
        return _MESSAGES[kind].format(expected="、".join(expected.split(", ")))
    template = _MESSAGES.get(kind)
    if template:
        try:
            return template.format(**ctx)
        except (KeyError, IndexError):
            return template
    return error["msg"]


def _validation_problems(
    file: str, root: yaml.Node, exc: ValidationError, prefix: Loc = ()
) -> list[DefinitionProblem]:
    located = []
    for error in exc.errors():
        line, path = _locate(root, (*prefix, *error["loc"]), missing=error["type"] == "missing")
        located.append((line, path, error["type"] in _TYPE_NAMES, _message(error)))
    # A value that fits no branch of a union (`str | ElementUse`) yields one error per branch.
    # When some branch got further (a typo inside the mapping), its errors are the useful
    # ones; when none did, say once which types would have been accepted.
    deeper = {path for _, path, _, _ in located}
    problems: list[DefinitionProblem] = []
    merged: dict[tuple[int, str], list[str]] = {}
    for line, path, is_type, message in located:
        if is_type:
            if any(
                p != path and (p.startswith(path + ".") or p.startswith(path + "[")) for p in deeper
            ):
                continue
            merged.setdefault((line, path), [])
            if message not in merged[(line, path)]:
                merged[(line, path)].append(message)
            continue
        problems.append(DefinitionProblem(file, line, path, message))
    for (line, path), messages in merged.items():
        if len(messages) > 1:
            names = [m.removeprefix("输入应为") for m in messages]
            messages = [f"输入应为{'或'.join(names)}"]
        problems.append(DefinitionProblem(file, line, path, messages[0]))
    problems.sort(key=lambda p: (p.line or 0, p.field))
    return problems


def _is_below(path: str, parent: str) -> bool:
    if not parent:
        return bool(path)
    return path.startswith((parent + ".", parent + "["))


# ---------------------------------------------------------------- cross-checks


def _add_unique(
    target: dict[str, Located[Any]],
    located: Located[Any],
    noun: str,
    problems: list[DefinitionProblem],
) -> None:
    code = located.definition.code
    earlier = target.get(code)
    if earlier is not None:
        line, _ = _locate(earlier.root, (*earlier.prefix, "code"), missing=False)
        problems.append(
            located.problem(("code",), f"{noun}重复：{code}，已在 {earlier.file}:{line} 定义")
        )
        return
    target[code] = located


def _model_attribute_names(app_label: str, model_name: str) -> set[str] | None:
    """Field and attribute names of another app's model, or None when that app is absent, so
    a typo in `profile_field` is caught at load time instead of silently sparing nothing."""
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return None
    names = {f.name for f in model._meta.get_fields()}
    names |= {n for n in dir(model) if not n.startswith("_")}
    return names


def _cross_check(defs: CatalogDefinitions) -> list[DefinitionProblem]:
    problems: list[DefinitionProblem] = []
    profile_fields = _model_attribute_names("accounts", "ResidentProfile")
    enterprise_fields = _model_attribute_names("accounts", "Enterprise")
    known_fields = {"profile": profile_fields, "enterprise": enterprise_fields}

    for el in defs.elements.values():
        for i, prefill in enumerate(el.definition.prefill):
            names = known_fields.get(prefill.source)
            if names is not None and prefill.field not in names:
                problems.append(
                    el.problem(("prefill", i, "field"), f"档案中没有字段 {prefill.field}")
                )
            if prefill.source == "data_source" and not prefill.data_source.strip():
                problems.append(el.problem(("prefill", i, "data_source"), "应给出数据源名称"))
            if prefill.source == "certificate" and not prefill.certificate_type.strip():
                problems.append(
                    el.problem(("prefill", i, "certificate_type"), "应给出电子证照类型")
                )

    for it in defs.items.values():
        item = it.definition
        if item.department not in defs.departments and item.department not in defs.unvalidated:
            problems.append(
                it.problem(("department",), f"部门 {item.department} 未在 departments.yaml 中定义")
            )
        for i, use in enumerate(item.elements):
            code = use if isinstance(use, str) else use.code
            if code not in defs.elements and code not in defs.unvalidated:
                loc: Loc = ("elements", i) if isinstance(use, str) else ("elements", i, "code")
                problems.append(it.problem(loc, f"数据元 {code} 未在 elements 中定义"))
        for i, code in enumerate(item.produces):
            if code not in defs.elements and code not in defs.unvalidated:
                problems.append(it.problem(("produces", i), f"数据元 {code} 未在 elements 中定义"))
        asked = {use if isinstance(use, str) else use.code for use in item.elements}
        for i, material in enumerate(item.materials):
            for j, code in enumerate(material.satisfied_by_form):
                if code not in asked:
                    problems.append(
                        it.problem(
                            ("materials", i, "satisfied_by_form", j),
                            f"数据元 {code} 不在本事项的 elements 中，表单无法代替该材料",
                        )
                    )
            for j, waiver in enumerate(material.waivable_by):
                base = ("materials", i, "waivable_by", j)
                if waiver.kind == "certificate" and not waiver.certificate_type.strip():
                    problems.append(it.problem((*base, "certificate_type"), "应给出电子证照类型"))
                if (
                    waiver.profile_field
                    and profile_fields is not None
                    and waiver.profile_field not in profile_fields
                ):
                    problems.append(
                        it.problem(
                            (*base, "profile_field"), f"居民档案中没有字段 {waiver.profile_field}"
                        )
                    )
        for i, output in enumerate(item.outputs):
            if not output.certificate_type.strip():
                problems.append(
                    it.problem(("outputs", i, "certificate_type"), "应给出电子证照类型")
                )
            if not output.name.strip():
                problems.append(it.problem(("outputs", i, "name"), "应给出办理结果名称"))

    for lx in defs.lexicon.values():
        for i, entry in enumerate(lx.definition.services):
            if (
                entry.code not in defs.items
                and entry.code not in defs.bundles
                and entry.code not in defs.unvalidated
            ):
                problems.append(
                    lx.problem(
                        ("services", i, "code"),
                        f"词库指向的事项或一件事 {entry.code} 未在 items 或 bundles 中定义",
                    )
                )

        for i, entry in enumerate(lx.definition.policies):
            if entry.code not in defs.policies and entry.code not in defs.unvalidated:
                problems.append(
                    lx.problem(
                        ("policies", i, "code"),
                        f"词库指向的政策 {entry.code} 未在 policies 中定义",
                    )
                )

    for bu in defs.bundles.values():
        bundle = bu.definition
        if (
            bundle.lead_department not in defs.departments
            and bundle.lead_department not in defs.unvalidated
        ):
            problems.append(
                bu.problem(
                    ("lead_department",),
                    f"部门 {bundle.lead_department} 未在 departments.yaml 中定义",
                )
            )
        # The guide asks a situation once per code across the bundle and its items, so two
        # definitions of one code must offer the same answers.
        seen: dict[str, tuple[set[str], str]] = {
            s.code: ({o.value for o in s.options}, "一件事本身") for s in bundle.situations
        }
        for i, entry in enumerate(bundle.items):
            member = defs.items.get(entry.item)
            if member is None and entry.item in defs.unvalidated:
                continue
            if member is None:
                problems.append(bu.problem(("items", i, "item"), f"事项 {entry.item} 未定义"))
                continue
            standalone = member.definition.time_limit.promised_days
            if entry.promised_days is not None and entry.promised_days > standalone:
                problems.append(
                    bu.problem(
                        ("items", i, "promised_days"),
                        f"一件事内的承诺时限 {entry.promised_days} 个工作日长于事项"
                        f" {entry.item} 单独办理的 {standalone} 个工作日",
                    )
                )
            for situation in member.definition.situations:
                values = {o.value for o in situation.options}
                earlier = seen.get(situation.code)
                if earlier is None:
                    seen[situation.code] = (values, f"事项 {entry.item}")
                elif earlier[0] != values:
                    problems.append(
                        bu.problem(
                            ("items", i, "item"),
                            f"事项 {entry.item} 的情形 {situation.code} 与{earlier[1]}中同名情形的"
                            "选项不一致",
                        )
                    )
        problems.extend(_bundle_promise_problems(bu, defs))
        problems.extend(_bundle_produced_problems(bu, defs))
    for located in defs.policies.values():
        problems.extend(_policy_problems(located, defs))
    return problems


def element_info(element: DataElementDef) -> ElementInfo:
    return ElementInfo(
        label=element.label,
        type=element.type,
        sensitivity=element.sensitivity,
        choices={c.value: c.label for c in element.choices},
    )


def _policy_problems(
    located: Located[PolicyDef], defs: CatalogDefinitions
) -> list[DefinitionProblem]:
    policy = located.definition
    problems: list[DefinitionProblem] = []
    if policy.department not in defs.departments and policy.department not in defs.unvalidated:
        problems.append(
            located.problem(
                ("department",), f"部门 {policy.department} 未在 departments.yaml 中定义"
            )
        )
    if policy.item:
        item = defs.items.get(policy.item)
        if item is None:
            if policy.item not in defs.unvalidated:
                problems.append(located.problem(("item",), f"事项 {policy.item} 未定义"))
        elif item.definition.subject not in (
            "both",
            "person" if policy.subject == "resident" else "enterprise",
        ):
            problems.append(
                located.problem(("item",), f"事项 {policy.item} 的服务对象与政策不一致")
            )
    if policy.answers and policy.item in defs.items:
        situations = {s.code: s for s in defs.items[policy.item].definition.situations}
        for question, answer in policy.answers.items():
            situation = situations.get(question)
            if situation is None:
                message = f"事项 {policy.item} 没有情形 {question}"
                problems.append(located.problem(("answers", question), message))
            elif answer not in {o.value for o in situation.options}:
                message = f"情形 {question} 没有选项 {answer}"
                problems.append(located.problem(("answers", question), message))
    for i, code in enumerate(policy.life_events):
        if code not in defs.bundles and code not in defs.unvalidated:
            problems.append(located.problem(("life_events", i), f"一件事 {code} 未定义"))
    elements = {code: element_info(el.definition) for code, el in defs.elements.items()}
    for path, message in rule_problems(policy.eligibility, elements, ("eligibility",)):
        problems.append(located.problem(path, message))
    if policy.benefit.formula is not None:
        for path, message in formula_problems(
            policy.benefit.formula, elements, ("benefit", "formula")
        ):
            problems.append(located.problem(path, message))
    # Matching reads the subject's own record (一人一档 or 一企一档) through each element's
    # prefill: an element that record does not hold could never be known.
    source = "profile" if policy.subject == "resident" else "enterprise"
    used = elements_used(policy.eligibility)
    if policy.benefit.formula is not None:
        used |= formula_elements(policy.benefit.formula)
    for code in sorted(used & set(defs.elements)):
        held = any(
            p.source == source and not p.applicant_is
            for p in defs.elements[code].definition.prefill
        )
        if not held:
            record = "一人一档" if source == "profile" else "一企一档"
            problems.append(
                located.problem(("eligibility",), f"数据元 {code} 不在{record}中，无法比对")
            )
    return problems


def _bundle_produced_problems(bu, defs: CatalogDefinitions) -> list[DefinitionProblem]:
    """Nothing a 一件事 issues may be demanded of its applicant: an item that asks for a
    material (about a holder) which another item of the bundle issues as a certificate to
    that holder must come after it (`after`, directly or through others), so the certificate
    exists when the item's reviewer needs it and the applicant is never asked for it."""
    bundle = bu.definition
    members = {e.item: defs.items[e.item].definition for e in bundle.items if e.item in defs.items}
    declared = {e.item: e.after for e in bundle.items}

    def earlier(code: str) -> set[str]:
        seen: set[str] = set()
        todo = list(declared.get(code, []))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(declared.get(current, []))
        return seen

    issued = {
        (o.certificate_type, o.holder): code for code, item in members.items() for o in item.outputs
    }
    problems: list[DefinitionProblem] = []
    for i, entry in enumerate(bundle.items):
        item = members.get(entry.item)
        if item is None:
            continue
        for material in item.materials:
            for ctype in material.certificate_types():
                producer = issued.get((ctype, material.about))
                if producer is None or producer == entry.item or producer in earlier(entry.item):
                    continue
                problems.append(
                    bu.problem(
                        ("items", i, "after"),
                        f"事项 {entry.item} 要求的材料「{material.name}」由本一件事中的事项"
                        f" {producer} 签发，应在 after 中排在 {producer} 之后，"
                        "不得向申请人索要",
                    )
                )
    return problems


def _bundle_promise_problems(bu, defs: CatalogDefinitions) -> list[DefinitionProblem]:
    """A bundle must be able to keep its promise even when every item applies: the longest
    chain of (in-bundle) item promises along `after` may not exceed the bundle's promise."""
    bundle = bu.definition
    days: dict[str, int] = {}
    for entry in bundle.items:
        member = defs.items.get(entry.item)
        if member is None:
            return []  # already reported as an unknown or invalid item
        standalone = member.definition.time_limit.promised_days
        days[entry.item] = standalone if entry.promised_days is None else entry.promised_days
    after = {entry.item: entry.after for entry in bundle.items}
    finish: dict[str, tuple[int, list[str]]] = {}

    def chain(code: str) -> tuple[int, list[str]]:
        # `after` is acyclic (the schema refuses cycles), so this recursion ends.
        if code not in finish:
            before = max((chain(a) for a in after[code]), key=lambda t: t[0], default=(0, []))
            finish[code] = (before[0] + days[code], [*before[1], code])
        return finish[code]

    longest, path = max((chain(code) for code in after), key=lambda t: t[0])
    if longest <= bundle.promised_days:
        return []
    names = " → ".join(defs.items[c].definition.name for c in path)
    return [
        bu.problem(
            ("promised_days",),
            f"一件事承诺 {bundle.promised_days} 个工作日，但事项按先后顺序办理最长需要 {longest}"
            f" 个工作日（{names}）；请缩短相关事项在本一件事中的 promised_days",
        )
    ]
