"""Whether an element the loop does not move lies outside the elements a walk touches.

Triangular solvers and factorizations update one element while they walk the others of the same
array: `x[i] -= L[i][j] * x[j]` for `j < i`, `a[k] -= a[j] * w` for `j = k + 1 .. n`. The element
`x[i]` is past the walk's last element `x[i - 1]`, so the update is a reduction into memory and the
walk reads values the loop never writes. The test compares C text: the bound the loop is written
with against the fixed subscript, each read as a symbol plus an integer constant."""

from __future__ import annotations

import re

from simdlens.analysis.ir import Access

_PLUS_CONST = re.compile(r"^(?P<sym>.*?)(?:\s*(?P<op>[+-])\s*(?P<num>\d+))?$", re.S)


def _symbol_plus(text: str) -> tuple[str, int]:
    """`i - 1` -> ("i", -1), `n` -> ("n", 0), `4` -> ("", 4); whitespace and outer parentheses dropped."""
    t = re.sub(r"\s+", "", text)
    while t.startswith("(") and t.endswith(")") and _balanced(t[1:-1]):
        t = t[1:-1]
    if re.fullmatch(r"\d+", t):
        return "", int(t)
    m = _PLUS_CONST.match(t)
    if m is None or not m.group("num") or not _balanced(m.group("sym")):
        return t, 0
    value = int(m.group("num"))
    return m.group("sym"), value if m.group("op") == "+" else -value


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def walk_bounds(lower: str, upper: str, cmp: str, step: int) -> tuple[tuple[str, int], tuple[str, int]] | None:
    """The first and last counter values of a loop, each as (symbol, constant), lowest first."""
    lo, hi = _symbol_plus(lower), _symbol_plus(upper)
    if step > 0 and cmp in ("<", "<="):
        return lo, (hi[0], hi[1] - (cmp == "<"))
    if step < 0 and cmp in (">", ">="):
        return (hi[0], hi[1] + (cmp == ">")), lo
    return None


def outside_walk(fixed: Access, walking: Access, lower: str, upper: str, cmp: str, step: int) -> bool:
    """`fixed` (an element the counter does not move) is never one of the elements `walking` (one per
    iteration, `x[iv + c]`) touches, for any value the symbols take."""
    if fixed.coeff != 0 or walking.coeff != 1 or walking.symbolic or fixed.base != walking.base:
        return False
    bounds = walk_bounds(lower, upper, cmp, step)
    if bounds is None:
        return False
    (lo_sym, lo_c), (hi_sym, hi_c) = bounds
    sym, c = _symbol_plus(fixed.symbolic) if fixed.symbolic else ("", 0)
    c += fixed.offset
    if not sym:
        return False  # a constant element against a symbolic walk: unknown; constants are the GCD test's
    return (sym == hi_sym and c > hi_c + walking.offset) or (sym == lo_sym and c < lo_c + walking.offset)
