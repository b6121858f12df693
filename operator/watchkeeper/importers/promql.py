"""Just enough PromQL structure to turn an alerting rule's expression into a query and a
threshold: `<query> <op> <number>` at the top level, optionally followed by
`and ...` / `unless ...` filters. Anything else stays one query compared with Any, which
is exactly what Prometheus does with an alerting rule (every returned series alerts)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from watchkeeper.api.alertpolicy import Comparison

OPERATORS = {
    ">": Comparison.GREATER_THAN,
    ">=": Comparison.GREATER_OR_EQUAL,
    "<": Comparison.LESS_THAN,
    "<=": Comparison.LESS_OR_EQUAL,
    "==": Comparison.EQUAL,
    "!=": Comparison.NOT_EQUAL,
}
_OPENERS, _CLOSERS = "([{", ")]}"
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_SET_OPERATOR = re.compile(r"\b(and|or|unless)\b")


@dataclass(frozen=True)
class Condition:
    """An expression as a query, a comparison and (unless Any) a threshold."""

    query: str
    comparison: Comparison
    threshold: float | None = None


def _depths(expr: str) -> list[int]:
    """For each character: the bracket depth it lies at, -1 inside a string literal."""
    depth, quote, escaped, result = 0, "", False, []
    for char in expr:
        if quote:
            result.append(-1)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
            result.append(-1)
        elif char in _OPENERS:
            result.append(depth)
            depth += 1
        elif char in _CLOSERS:
            depth -= 1
            result.append(depth)
        else:
            result.append(depth)
    return result


def _top_level(expr: str) -> list[bool]:
    """For each character: whether it lies outside brackets and string literals."""
    return [d == 0 for d in _depths(expr)]


def _unwrap(expr: str) -> str:
    """Without parentheses that enclose the whole expression."""
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")"):
        depths = _depths(expr)
        if any(d == 0 for d in depths[1:-1]):
            break  # e.g. (a) / (b): the first parenthesis closes early
        expr = expr[1:-1].strip()
    return expr


def _set_operators(expr: str, top: list[bool]) -> list[re.Match[str]]:
    return [m for m in _SET_OPERATOR.finditer(expr) if top[m.start()]]


def _comparisons(expr: str, top: list[bool]) -> list[tuple[int, str]]:
    found, i = [], 0
    while i < len(expr):
        two, one = expr[i : i + 2], expr[i]
        if top[i] and two in (">=", "<=", "==", "!="):
            found.append((i, two))
            i += 2
        elif top[i] and one in "<>" and expr[i + 1 : i + 2] != "=":
            found.append((i, one))
            i += 1
        else:
            i += 1
    return found


def split(expr: str) -> Condition:
    """The query, comparison and threshold of an alerting rule's expression."""
    whole = _unwrap(expr)
    top = _top_level(whole)
    sets = _set_operators(whole, top)
    if any(m.group(1) == "or" for m in sets):
        return Condition(whole, Comparison.ANY)
    head_end = sets[0].start() if sets else len(whole)
    head, rest = whole[:head_end], whole[head_end:]
    comparisons = _comparisons(head, top[:head_end])
    if len(comparisons) != 1:
        return Condition(whole, Comparison.ANY)
    at, op = comparisons[0]
    number = head[at + len(op) :].strip()
    if not _NUMBER.match(number) or not math.isfinite(float(number)):
        return Condition(whole, Comparison.ANY)
    lhs = head[:at].strip()
    query = f"({lhs}) {rest.strip()}" if rest else lhs
    return Condition(query, OPERATORS[op], float(number))
