"""The values an integer expression can take, as C computes it: from the ranges of its operands' types,
its constants and interval arithmetic on + - * and shifts right by a constant.

A sum of narrow values with small weights (`(77 * r + 150 * g + 29 * b) >> 8` of bytes: at most 65,280)
needs no 32-bit lanes: arithmetic modulo 2^16 gives the exact value whenever the value itself lies in 16
bits, so the lowering keeps such a sum, and the shift that reads it, in 16-bit lanes (`lower._demote_shift`).
"""

from __future__ import annotations

from simdlens.analysis.ir import Binary, Cast, Const, Expr, expr_type

Range = tuple[int, int]


def type_range(name: str) -> Range:
    """The values of integer type `name` ("int16", "uint8", ...)."""
    bits = int(name.lstrip("uint"))
    if name.startswith("u"):
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def value_range(e: Expr) -> Range:
    """A range holding every value of integer expression `e` (its type's whole range when nothing better
    is known, or when the arithmetic could wrap)."""
    t = expr_type(e)
    whole = type_range(t.name)
    found: Range | None = None
    if isinstance(e, Const) and isinstance(e.value, int):
        found = (e.value, e.value)
    elif isinstance(e, Cast) and not expr_type(e.operand).is_float:
        found = value_range(e.operand)  # a widening keeps the value; a narrowing keeps it when it fits
    elif isinstance(e, Binary) and e.op in ("+", "-", "*"):
        (a, b), (c, d) = value_range(e.lhs), value_range(e.rhs)
        if e.op == "+":
            found = (a + c, b + d)
        elif e.op == "-":
            found = (a - d, b - c)
        else:
            products = (a * c, a * d, b * c, b * d)
            found = (min(products), max(products))
    elif isinstance(e, Binary) and e.op == ">>" and isinstance(e.rhs, Const) and isinstance(e.rhs.value, int):
        lo, hi = value_range(e.lhs)
        found = (lo >> e.rhs.value, hi >> e.rhs.value)  # Python's >> floors, as an arithmetic shift does
    if found is None or found[0] < whole[0] or found[1] > whole[1]:
        return whole
    return found
