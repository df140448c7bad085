"""Eligibility rules (资格条件) as data: a tree of all / any / not over conditions on data
elements, checked when a policy is loaded and evaluated without `eval`.

Every condition carries its own plain-Chinese text (and may carry a `hint`: what a person
who misses only this condition could do about it — given only where the other conditions
already single out the policy's people, or everyone would be told), so an evaluation
explains itself: the conditions met ("年满65周岁（1958年出生）") or the first one not met
("差一项：本市户籍").
Pure: no Django, no database. Facts are a dict from element code to value (None when the
platform does not know it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# Comparisons and the element types they apply to.
ORDERED_OPS = {"lt", "le", "gt", "ge"}
EQUALITY_OPS = {"eq", "ne"}
MEMBERSHIP_OPS = {"in", "not_in"}
TRUTH_OPS = {"is_true", "is_false"}
NUMERIC_TYPES = {"integer", "decimal"}
OPS_FOR_TYPE: dict[str, set[str]] = {
    "integer": ORDERED_OPS | EQUALITY_OPS | MEMBERSHIP_OPS,
    "decimal": ORDERED_OPS | EQUALITY_OPS,
    "date": ORDERED_OPS | EQUALITY_OPS,
    "boolean": TRUTH_OPS,
    "choice": EQUALITY_OPS | MEMBERSHIP_OPS,
    "district": EQUALITY_OPS | MEMBERSHIP_OPS,
    "text": EQUALITY_OPS | MEMBERSHIP_OPS,
}
AGE_OPS = ORDERED_OPS | {"eq"}


@dataclass(frozen=True)
class ElementInfo:
    """What a rule needs to know of a data element."""

    label: str
    type: str
    sensitivity: int
    choices: dict[str, str] = field(default_factory=dict)  # value → label


@dataclass(frozen=True)
class Outcome:
    """One evaluation: whether it holds, the texts of what was met, and, when it does not
    hold, the first condition not met (or, with unknown data, the first one unknown)."""

    holds: bool
    met: tuple[str, ...] = ()
    unmet: str = ""
    unknown: bool = False  # not met because the platform does not hold some data
    # How many conditions of the top level are not met (1: "差一项"), and what the person
    # could do about the first one, where its author said (an age or a disability grade has
    # no such hint: nothing to be done).
    missing: int = 0
    hint: str = ""

    @property
    def nearly(self) -> bool:
        """Not met by exactly one condition the person can do something about."""
        return not self.holds and not self.unknown and self.missing == 1 and bool(self.hint)

    @property
    def explanation(self) -> str:
        if self.holds:
            return "符合：" + "；".join(self.met)
        if self.unknown:
            return "尚无法判断：" + self.unmet
        if self.missing > 1:
            return f"不符合：{self.unmet}（共{self.missing}项条件未满足）"
        return "差一项：" + self.unmet


def rule_problems(node: Any, elements: dict[str, ElementInfo], path: tuple = ()) -> list:
    """Problems of a rule tree as (path, message): unknown elements, operators that do not
    fit the element's type, values of the wrong type or outside its choices, leaves with no
    text. Empty when the rule can be evaluated."""
    problems: list[tuple[tuple, str]] = []
    if not isinstance(node, dict) or not node:
        return [(path, "条件应为一个映射（all / any / not 或一个比较）")]
    branch = [k for k in ("all", "any", "not") if k in node]
    if branch:
        key = branch[0]
        extra = set(node) - {key, "text", "hint"}
        if len(branch) > 1 or extra:
            problems.append((path, f"{key} 节点不能再有其他键：{'、'.join(sorted(extra))}"))
        children = node[key]
        if key == "not":
            if not node.get("text"):
                problems.append((path, "not 节点必须写明 text（如何说明这项条件）"))
            problems += rule_problems(children, elements, (*path, "not"))
        elif not isinstance(children, list) or not children:
            problems.append(((*path, key), f"{key} 需要至少一个条件"))
        else:
            for i, child in enumerate(children):
                problems += rule_problems(child, elements, (*path, key, i))
        return problems
    allowed = {"element", "age_of", "op", "value", "text", "hint"}
    extra = set(node) - allowed
    if extra:
        problems.append((path, f"未知的键：{'、'.join(sorted(extra))}"))
    if not isinstance(node.get("text"), str) or not node.get("text"):
        problems.append((path, "每个条件都要写明 text（给市民看的说明）"))
    if ("element" in node) == ("age_of" in node):
        return [*problems, (path, "条件需要 element 或 age_of 二者之一")]
    op = node.get("op")
    code = node.get("element") or node.get("age_of")
    where = (*path, "element" if "element" in node else "age_of")
    info = elements.get(code)
    if info is None:
        return [*problems, (where, f"未知的数据元：{code}")]
    value = node.get("value")
    if "age_of" in node:
        if info.type != "date":
            problems.append((where, f"age_of 需要日期类数据元，{code} 是 {info.type}"))
        if op not in AGE_OPS:
            problems.append(((*path, "op"), f"年龄比较不支持运算 {op}"))
        if type(value) is not int or not 0 <= value <= 150:
            problems.append(((*path, "value"), "年龄应为 0 至 150 的整数"))
        return problems
    ops = OPS_FOR_TYPE.get(info.type, EQUALITY_OPS)
    if op not in ops:
        known = "、".join(sorted(ops))
        problems.append(((*path, "op"), f"{code}（{info.type}）不支持运算 {op}，可用：{known}"))
        return problems
    if op in TRUTH_OPS:
        if "value" in node:
            problems.append(((*path, "value"), f"{op} 不需要 value"))
        return problems
    values = value if op in MEMBERSHIP_OPS else [value]
    if op in MEMBERSHIP_OPS and (not isinstance(value, list) or not value):
        return [*problems, ((*path, "value"), f"{op} 的 value 应为非空列表")]
    for v in values:
        message = _value_problem(info, v)
        if message:
            problems.append(((*path, "value"), message))
    return problems


def _value_problem(info: ElementInfo, value: Any) -> str:
    if info.type in NUMERIC_TYPES:
        ok = type(value) is int or (info.type == "decimal" and type(value) is float)
        return "" if ok else f"值 {value!r} 不是数字（{info.label}）"
    if info.type == "date":
        return "" if isinstance(value, dt.date) else f"值 {value!r} 不是日期（{info.label}）"
    if not isinstance(value, str):
        return f"值 {value!r} 不是文本（{info.label}）"
    if info.choices and value not in info.choices:
        return f"值 {value} 不在 {info.label} 的可选值中：{'、'.join(info.choices)}"
    return ""


def age_on(birth_date: dt.date, today: dt.date) -> int:
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if op == "lt":
        return left < right
    if op == "le":
        return left <= right
    if op == "gt":
        return left > right
    if op == "ge":
        return left >= right
    if op == "in":
        return left in right
    if op == "not_in":
        return left not in right
    if op == "is_true":
        return left is True
    if op == "is_false":
        return left is False
    raise ValueError(op)


def _detail(node: dict, info: ElementInfo, value: Any, today: dt.date, told_age: bool) -> str:
    """The fact behind a met condition, as much of it as its sensitivity allows: a birth
    year for an age, the value itself only for public and internal data (levels 1–2)."""
    if "age_of" in node:
        return f"{age_on(value, today)}周岁" if told_age else f"{value.year}年出生"
    if info.sensitivity > 2 or info.type == "boolean":
        return ""
    return info.choices.get(value, str(value)) if isinstance(value, str) else f"{value:g}"


def evaluate(
    node: dict,
    facts: dict[str, Any],
    elements: dict[str, ElementInfo],
    today: dt.date,
    *,
    told_age: bool = False,
) -> Outcome:
    """Evaluate a rule tree that rule_problems() found sound. TOLD_AGE: the birth dates are
    stand-ins for ages someone told (the anonymous check), so explanations give the age."""
    if "all" in node:
        met: list[str] = []
        first_unmet: Outcome | None = None
        missing = 0
        for child in node["all"]:
            outcome = evaluate(child, facts, elements, today, told_age=told_age)
            if outcome.holds:
                met += outcome.met
                continue
            missing += 1
            first_unmet = first_unmet or outcome
        if first_unmet is None:
            return Outcome(True, tuple(met))
        return Outcome(
            False,
            tuple(met),
            first_unmet.unmet,
            first_unmet.unknown,
            missing=missing,
            hint=first_unmet.hint,
        )
    if "any" in node:
        first_unmet: Outcome | None = None
        for child in node["any"]:
            outcome = evaluate(child, facts, elements, today, told_age=told_age)
            if outcome.holds:
                return outcome
            first_unmet = first_unmet or outcome
        text = node.get("text") or "以下任一项：" + "或".join(_leaf_texts(node["any"]))
        unknown = bool(first_unmet and first_unmet.unknown)
        return Outcome(False, unmet=text, unknown=unknown, missing=1, hint=node.get("hint", ""))
    if "not" in node:
        inner = evaluate(node["not"], facts, elements, today, told_age=told_age)
        if inner.unknown:
            return Outcome(False, unmet=node["text"], unknown=True, missing=1)
        if inner.holds:
            return Outcome(False, unmet=node["text"], missing=1, hint=node.get("hint", ""))
        return Outcome(True, (node["text"],))
    code = node.get("element") or node["age_of"]
    info = elements[code]
    value = facts.get(code)
    if value is None:  # never taken as false: an unknown fact is said to be unknown
        return Outcome(False, unmet=node["text"], unknown=True, missing=1)
    left = age_on(value, today) if "age_of" in node else value
    if _compare(node["op"], left, node.get("value")):
        detail = _detail(node, info, value, today, told_age)
        return Outcome(True, (f"{node['text']}（{detail}）" if detail else node["text"],))
    return Outcome(False, unmet=node["text"], missing=1, hint=node.get("hint", ""))


def condition_texts(node: dict) -> list[str]:
    """The conditions as a person reads them, one line per condition of the top level."""
    if "all" in node:
        return [line for child in node["all"] for line in condition_texts(child)]
    if "any" in node:
        return [node.get("text") or "以下任一项：" + "或".join(_leaf_texts(node["any"]))]
    return [node["text"]]


def _leaf_texts(nodes: list) -> list[str]:
    return [n.get("text", "") for n in nodes if n.get("text")]


def elements_used(node: dict) -> set[str]:
    """Every data element the rule reads: what matching may read, and no more."""
    if "all" in node or "any" in node:
        return set().union(*(elements_used(c) for c in node.get("all") or node.get("any")))
    if "not" in node:
        return elements_used(node["not"])
    return {node.get("element") or node["age_of"]}
