"""Rule families: which named rule a lowered loop is an instance of.

The lowering in `simdlens.rules.lower` is generic; what it used (masks, reductions, an early exit, a
narrowed byte average, conversions ...) is recorded as features, and the family a candidate is shown
under (`Candidate.origin == "rules:<family>"`) is the most specific feature present.
"""

from __future__ import annotations

from simdlens.analysis.ir import Binary, Cast, LoopIR, Reduce, expr_type, walk_stmts

# Most specific first.
FAMILIES = ("scan", "histogram", "search", "compress", "last_value", "argminmax", "byte_avg", "saturate", "sad", "madd", "count", "dot_product", "reduction", "peel", "split", "gather",
            "strided", "select", "divide", "convert", "induction", "reverse", "elementwise")


def rule_name(features: frozenset[str], loop: LoopIR) -> str:
    found = set(features)
    if "reduction" in found and _is_dot(loop):
        found.add("dot_product")
    if "masked" in found:
        found.add("select")
    return next(f for f in FAMILIES if f in found or f == "elementwise")


def _is_dot(loop: LoopIR) -> bool:
    for s in walk_stmts(loop.body):
        if isinstance(s, Reduce) and s.op.value == "+":
            v = s.value.operand if isinstance(s.value, Cast) else s.value
            if (isinstance(v, Binary) and v.op == "*" and not expr_type(v).is_float) or (
                    isinstance(v, Binary) and v.op == "*"):
                return True
    return False
