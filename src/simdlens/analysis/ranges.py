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


Enclosing = tuple[tuple[str, str, str, str, int], ...]  # (counter, lower, upper, cmp, step) of the loops around


def outside_walk(fixed: Access, walking: Access, lower: str, upper: str, cmp: str, step: int,
                 enclosing: Enclosing = ()) -> bool:
    """`fixed` (an element the counter does not move) is never one of the elements `walking` (one per
    iteration, `x[iv + c]`) touches, for any value the symbols take. `enclosing`: the headers of the loops
    around, whose counters' ranges the fixed subscript may be read in (`A[i][j]` with `j >= i` against
    `A[i][k]`, `k < i`: lu)."""
    if fixed.coeff != 0 or fixed.base != walking.base:
        return False
    if walking.symbolic and walking.symbolic == fixed.symbolic and walking.coeff in (1, -1):
        # `w[i]` against `w[i - k - 1]`, k from 0 up (Livermore kernel 6, TSVC s118): the walk stays on one side
        bounds = walk_bounds(lower, upper, cmp, step)
        if bounds is None or bounds[0][0]:
            return False
        first = walking.offset + walking.coeff * bounds[0][1]  # the walk's element nearest the fixed one
        return fixed.offset > first if walking.coeff == -1 else fixed.offset < first
    if walking.coeff != 1 or walking.symbolic:
        return False
    sym, c = _symbol_plus(fixed.symbolic) if fixed.symbolic else ("", 0)
    if not sym:
        return False  # a constant element against a symbolic walk: unknown; constants are the GCD test's
    return _apart((sym, c + fixed.offset), walking.offset, lower, upper, cmp, step, enclosing)


def other_row_of_walk(fixed: Access, walking: Access, lower: str, upper: str, cmp: str, step: int,
                      enclosing: Enclosing = ()) -> bool:
    """`fixed` = `A[r][c]` (a row the counter does not move) against `walking` = `A[k][c]` (a column of the
    same 2-D array, read flat as `k * R + c`): the walk never reaches row `r` (`k < j < i` in lu's
    `A[i][j] -= A[i][k] * A[k][j]`), so the two are never one element."""
    m = re.fullmatch(rf"{re.escape(fixed.root)}\[(?P<row>[^\[\]]+)\]", fixed.base.replace(" ", ""))
    row = walking.coeff
    if m is None or fixed.coeff != 0 or row is None or row <= 1 or walking.base != f"(&{fixed.root}[0][0])" \
            or walking.symbolic != fixed.symbolic or (walking.offset - fixed.offset) % row != 0:
        return False
    sym, c = _symbol_plus(m.group("row"))
    return bool(sym) and _apart((sym, c), (walking.offset - fixed.offset) // row, lower, upper, cmp, step, enclosing)


def _apart(fixed: tuple[str, int], shift: int, lower: str, upper: str, cmp: str, step: int,
           enclosing: Enclosing) -> bool:
    """The value `fixed` (symbol + constant) lies outside every value the counter plus `shift` takes."""
    bounds = walk_bounds(lower, upper, cmp, step)
    if bounds is None:
        return False
    ranges = _ranges(enclosing)
    (lo_sym, lo_c), (hi_sym, hi_c) = bounds
    highest = _chain((hi_sym, hi_c + shift), ranges, 1)
    lowest = _chain((lo_sym, lo_c + shift), ranges, 0)
    return any(s == t and c > d for s, c in _chain(fixed, ranges, 0) for t, d in highest) \
        or any(s == t and c < d for s, c in _chain(fixed, ranges, 1) for t, d in lowest)


def _ranges(enclosing: Enclosing) -> dict[str, tuple[tuple[str, int], tuple[str, int]]]:
    out: dict[str, tuple[tuple[str, int], tuple[str, int]]] = {}
    for iv, lower, upper, cmp, step in enclosing:
        bounds = walk_bounds(lower, upper, cmp, step)
        if bounds is not None and iv not in out:  # (the innermost loop of a counter's name)
            out[iv] = bounds
    return out


def _chain(value: tuple[str, int], ranges: dict[str, tuple[tuple[str, int], tuple[str, int]]],
           side: int) -> list[tuple[str, int]]:
    """`value` and what it is at least (side 0) or at most (side 1) through the enclosing counters' bounds:
    `j` with `i <= j` gives `j`, `i` (and `i`'s own lower bound, and so on)."""
    out = [value]
    seen = {value[0]}
    while value[0] in ranges:
        sym, c = ranges[value[0]][side]
        if sym in seen:
            break
        value = (sym, c + value[1])
        seen.add(sym)
        out.append(value)
    return out


def rows_apart(a: Access, b: Access, enclosing: Enclosing = ()) -> bool:
    """`a` and `b` are rows `A[r]`, `A[s]` of one 2-D array whose row numbers never meet for the values the
    counters around take (`A[k]` and `A[i]` with `k < i`): never the same element."""
    rows = [re.fullmatch(rf"{re.escape(x.root)}\[(?P<row>[^\[\]]+)\]", x.base.replace(" ", "")) for x in (a, b)]
    if a.root != b.root or rows[0] is None or rows[1] is None:
        return False
    ranges = _ranges(enclosing)
    ra, rb = _symbol_plus(rows[0].group("row")), _symbol_plus(rows[1].group("row"))
    return any(s == t and c < d for s, c in _chain(ra, ranges, 1) for t, d in _chain(rb, ranges, 0)) \
        or any(s == t and c > d for s, c in _chain(ra, ranges, 0) for t, d in _chain(rb, ranges, 1))
