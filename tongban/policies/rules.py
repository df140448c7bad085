"""Eligibility rules (资格条件) as data: a tree of all / any / not over conditions on data
elements, checked when a policy is loaded and evaluated without `eval`.

Every condition carries its own plain-Chinese text (and may carry a `hint`: what a person
who misses only this condition could do about it — given only where the other conditions
already single out the policy's people, or everyone would be told), so an evaluation
explains itself: the conditions met ("年满65周岁（1958年出生）") or the first one not met
("差一项：本市户籍").
Conditions may also count or sum over the person's household (户): `household: {count:
<condition>}` (members for whom it holds, the person included; `count: all` is everyone),
`{sum: <element>}` or `{mean: <element>}` (人均), compared with a number.

Pure: no Django, no database. Facts are a dict from element code to value (None when the
platform does not know it); under HOUSEHOLD, the facts of each member of the person's
household (None when no household is recorded); under HOUSEHOLD_ANSWERS, what a person said
of their household in the anonymous check, one truth per household condition (by
household_key), for when there are no members' facts to count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
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
HOUSEHOLD = "@household"  # the facts key holding the members' facts
HOUSEHOLD_ANSWERS = "@household_answers"  # household_key → what the person said of it
AGGREGATES = ("count", "sum", "mean")


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
    if "household" in node:
        return problems + _household_problems(node, elements, path)
    allowed = {"element", "age_of", "as_of", "op", "value", "text", "hint"}
    extra = set(node) - allowed
    if extra:
        problems.append((path, f"未知的键：{'、'.join(sorted(map(str, extra)))}"))
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
        if "as_of" in node and _month_day(node["as_of"]) is None:
            message = 'as_of 应为带引号的月-日，如 "08-31"（当日或其后最近的这一天）'
            problems.append(((*path, "as_of"), message))
        return problems
    if "as_of" in node:
        problems.append(((*path, "as_of"), "as_of 只用于 age_of"))
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


def _household_problems(node: dict, elements: dict[str, ElementInfo], path: tuple) -> list:
    problems: list[tuple[tuple, str]] = []
    extra = set(node) - {"household", "op", "value", "text", "hint"}
    if extra:
        problems.append((path, f"未知的键：{'、'.join(sorted(map(str, extra)))}"))
    if not isinstance(node.get("text"), str) or not node.get("text"):
        problems.append((path, "每个条件都要写明 text（给市民看的说明）"))
    aggregate = _aggregate_problems(node["household"], elements, (*path, "household"))
    if aggregate is None:
        return [*problems, ((*path, "household"), "household 应为 count、sum、mean 三者之一")]
    problems += aggregate
    if node.get("op") not in ORDERED_OPS | EQUALITY_OPS:
        problems.append(((*path, "op"), f"家庭成员统计不支持运算 {node.get('op')}"))
    value = node.get("value")
    if type(value) not in (int, float) or value < 0:
        problems.append(((*path, "value"), "家庭成员统计应与一个非负数比较"))
    return problems


def _aggregate_problems(spec: Any, elements: dict[str, ElementInfo], where: tuple) -> list | None:
    """Problems of a household aggregate (count/sum/mean); None when SPEC is not one."""
    kinds = [k for k in AGGREGATES if isinstance(spec, dict) and k in spec]
    if not isinstance(spec, dict) or len(kinds) != 1 or len(spec) != 1:
        return None
    kind = kinds[0]
    if kind == "count":
        if spec["count"] == "all":
            return []
        inner = rule_problems(spec["count"], elements, (*where, "count"))
        if not inner and uses_household(spec["count"]):
            inner = [((*where, "count"), "家庭成员的条件中不能再统计家庭")]
        return inner
    info = elements.get(spec[kind])
    if info is None:
        return [((*where, kind), f"未知的数据元：{spec[kind]}")]
    if info.type not in NUMERIC_TYPES:
        return [((*where, kind), f"{kind} 需要数字类数据元，{spec[kind]} 是 {info.type}")]
    return []


def _aggregate_elements(spec: dict) -> set[str]:
    if "count" in spec:
        return set() if spec["count"] == "all" else elements_used(spec["count"])
    return {spec.get("sum") or spec["mean"]}


def _month_day(text: Any) -> tuple[int, int] | None:
    try:
        month, day = (int(part) for part in str(text).split("-"))
        dt.date(2000, month, day)  # a leap year: 02-29 is a day
    except ValueError:
        return None
    return month, day


def age_reference(node: dict, today: dt.date) -> dt.date:
    """The day an age is taken on: TODAY, or with `as_of: "MM-DD"`, that day this year if it
    has not passed, else next year (入学: 6 years old by 31 August)."""
    if "as_of" not in node:
        return today
    month, day = _month_day(node["as_of"])
    for year in (today.year, today.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:  # 29 February in a common year: the day after 28 February
            candidate = dt.date(year, 3, 1)
        if candidate >= today:
            return candidate
    raise AssertionError("unreachable")


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
        if told_age:
            return f"{age_on(value, age_reference(node, today))}周岁"
        return f"{value.year}年{_date_word(info.label)}"
    if info.sensitivity > 2 or info.type == "boolean":
        return ""
    if isinstance(value, str):
        return info.choices.get(value, value)
    if isinstance(value, Decimal):  # 5.50 → 5.5, 0.00 → 0
        return format(value.normalize(), "f")
    return f"{value:g}"


def _date_word(label: str) -> str:
    """What a date element's year marks: 出生 for a birth date, 成立 for a founding date."""
    for word in ("出生", "成立"):
        if word in label:
            return word
    return label.removesuffix("日期")


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
    if "household" in node:
        return _evaluate_household(node, facts, elements, today)
    code = node.get("element") or node["age_of"]
    info = elements[code]
    value = facts.get(code)
    if value is None:  # never taken as false: an unknown fact is said to be unknown
        return Outcome(False, unmet=node["text"], unknown=True, missing=1)
    left = age_on(value, age_reference(node, today)) if "age_of" in node else value
    if _compare(node["op"], left, node.get("value")):
        detail = _detail(node, info, value, today, told_age)
        return Outcome(True, (f"{node['text']}（{detail}）" if detail else node["text"],))
    return Outcome(False, unmet=node["text"], missing=1, hint=node.get("hint", ""))


def household_value(spec: dict, members: list[dict], elements, today: dt.date) -> Any:
    """A household aggregate: how many members a condition holds for (an unknown fact counts
    as not holding), or the sum or mean of a number (unknown if any member's is unknown)."""
    if "count" in spec:
        if spec["count"] == "all":
            return len(members)
        return sum(evaluate(spec["count"], m, elements, today).holds for m in members)
    kind = "sum" if "sum" in spec else "mean"
    values = [m.get(spec[kind]) for m in members]
    if not values or any(v is None for v in values):
        return None
    total = sum(values)
    return total if kind == "sum" else total / len(values)


def household_key(node: dict) -> str:
    """A household condition's stable name ("household.<10 hex>"): the same aggregate,
    comparison and value in two policies is one question to the person."""
    body = {k: node[k] for k in ("household", "op", "value") if k in node}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return "household." + hashlib.sha256(text.encode()).hexdigest()[:10]


def household_conditions(node: dict) -> list[dict]:
    """The household conditions of a rule tree, in order (not the conditions inside one)."""
    if "all" in node or "any" in node:
        return [h for c in node.get("all") or node.get("any") for h in household_conditions(c)]
    if "not" in node:
        return household_conditions(node["not"])
    return [node] if "household" in node else []


def _evaluate_household(node: dict, facts: dict, elements, today: dt.date) -> Outcome:
    said = (facts.get(HOUSEHOLD_ANSWERS) or {}).get(household_key(node))
    if said is not None:  # the anonymous check: the person's own word, no members to count
        if said:
            return Outcome(True, (node["text"],))
        return Outcome(False, unmet=node["text"], missing=1, hint=node.get("hint", ""))
    members = facts.get(HOUSEHOLD)
    value = (
        None if members is None else household_value(node["household"], members, elements, today)
    )
    if value is None:
        return Outcome(False, unmet=node["text"], unknown=True, missing=1)
    if _compare(node["op"], value, node["value"]):
        spec = node["household"]
        sensitive = (
            "count" not in spec and elements[spec.get("sum") or spec["mean"]].sensitivity > 2
        )
        detail = "" if sensitive else (f"{value}人" if "count" in spec else f"{value:g}")
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
    if "household" in node:
        return _aggregate_elements(node["household"])
    return {node.get("element") or node["age_of"]}


def uses_household(node: dict) -> bool:
    if "all" in node or "any" in node:
        return any(uses_household(c) for c in node.get("all") or node.get("any"))
    if "not" in node:
        return uses_household(node["not"])
    return "household" in node


# ---------------------------------------------------------------- amounts (计发公式)

FORMULA_OPS = ("add", "sub", "mul", "min", "max")


def formula_problems(node: Any, elements: dict[str, ElementInfo], path: tuple = ()) -> list:
    """Problems of an amount formula: a number, `{element: code}` of a numeric element,
    `{household: {count|sum|mean: …}}` over the person's household (as in a rule), or
    `{add|sub|mul|min|max: [formula, …]}`. Never `eval`."""
    if type(node) in (int, float):
        return [] if node >= 0 else [(path, "金额公式中的数字不能为负")]
    if not isinstance(node, dict) or len(node) != 1:
        return [
            (
                path,
                "金额公式应为数字、{element: 数据元}、{household: …} 或 add/sub/mul/min/max 之一",
            )
        ]
    ((key, value),) = node.items()
    if key == "element":
        info = elements.get(value)
        if info is None:
            return [((*path, "element"), f"未知的数据元：{value}")]
        if info.type not in NUMERIC_TYPES:
            return [((*path, "element"), f"金额公式需要数字类数据元，{value} 是 {info.type}")]
        return []
    if key == "household":
        found = _aggregate_problems(value, elements, (*path, "household"))
        if found is None:
            return [((*path, "household"), "household 应为 count、sum、mean 三者之一")]
        return found
    if key not in FORMULA_OPS:
        return [(path, f"未知的金额运算：{key}")]
    if not isinstance(value, list) or len(value) < 2:
        return [((*path, key), f"{key} 需要至少两项")]
    return [
        p
        for i, child in enumerate(value)
        for p in formula_problems(child, elements, (*path, key, i))
    ]


def formula_elements(node: Any) -> set[str]:
    if isinstance(node, dict):
        ((key, value),) = node.items()
        if key == "element":
            return {value}
        if key == "household":
            return _aggregate_elements(value)
        return set().union(*(formula_elements(child) for child in value))
    return set()


def formula_uses_household(node: Any) -> bool:
    if isinstance(node, dict):
        ((key, value),) = node.items()
        if key == "household":
            return True
        if key != "element":
            return any(formula_uses_household(child) for child in value)
    return False


def formula_value(
    node: Any, facts: dict[str, Any], elements: dict | None = None, today: dt.date | None = None
) -> Decimal | None:
    """The amount for FACTS, in 元 to the fen (half up); None when a fact it needs is unknown
    (a household aggregate without the household's members under HOUSEHOLD, too). Never
    below zero. ELEMENTS and TODAY are what a household count's condition needs."""
    value = _formula(node, facts, elements or {}, today or dt.date.today())
    if value is None:
        return None
    return max(value, Decimal(0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _formula(node: Any, facts: dict[str, Any], elements: dict, today: dt.date) -> Decimal | None:
    if type(node) in (int, float):
        return Decimal(str(node))
    ((key, value),) = node.items()
    if key == "element":
        fact = facts.get(value)
        return None if fact is None else Decimal(str(fact))
    if key == "household":
        members = facts.get(HOUSEHOLD)
        found = None if members is None else household_value(value, members, elements, today)
        return None if found is None else Decimal(str(found))
    parts = [_formula(child, facts, elements, today) for child in value]
    if any(p is None for p in parts):
        return None
    if key == "add":
        return sum(parts, Decimal(0))
    if key == "sub":
        return parts[0] - sum(parts[1:], Decimal(0))
    if key == "mul":
        product = Decimal(1)
        for p in parts:
            product *= p
        return product
    return min(parts) if key == "min" else max(parts)
