"""Rule families: which named rule a lowered loop is an instance of.

The lowering in `simdlens.rules.lower` is generic; what it used (masks, reductions, an early exit, a
narrowed byte average, conversions ...) is recorded as features, and the family a candidate is shown
under (`Candidate.origin == "rules:<family>"`) is the most specific feature present.
"""

from __future__ import annotations

from simdlens.analysis.ir import Binary, Cast, LoopIR, Reduce, expr_type, walk_stmts

# Most specific first.
FAMILIES = ("complex_multiply", "complex_reduce", "interchange", "outer_loop", "hold", "checksum", "scan", "histogram", "search", "compress", "expand", "last_value", "argminmax", "byte_avg", "saturate", "popcount", "sad", "madd", "count", "dot_product", "reduction", "peel", "split", "gather",
            "permute_bytes", "strided", "select", "divide", "convert", "induction", "reverse", "elementwise")


# What the vector loop of each family does, for the comment line at the top of a rewrite ({vf}: lanes per step).
SUMMARY = {
    "complex_multiply": "multiplies {vf} complex elements per step over interleaved real/imaginary lanes",
    "complex_reduce": "adds {vf} complex terms per step into interleaved real/imaginary accumulators, summed after the loop",
    "checksum": "two running sums (s2 adds s1) over blocks of {vf} elements: the block's sum and its sum weighted {vf}..1, exact in the sums' own wrap-around",
    "scan": "running sums across the {vf} lanes of each step, carried from one step to the next",
    "search": "tests {vf} elements per step and stops at the first step with a match",
    "compress": "packs the selected elements of each {vf}-element step next to each other",
    "expand": "moves the next elements of the source into the selected lanes of each {vf}-element step",
    "hold": "each lane takes the value last set at or below it in the step, else the one carried from the step before",
    "argminmax": "keeps each lane's best value and its index; the lanes are compared after the loop",
    "byte_avg": "rounding averages of {vf} elements per step",
    "saturate": "saturating add/subtract of {vf} elements per step (the clamp is part of the instruction)",
    "sad": "absolute byte differences summed by psadbw, {vf} per step",
    "madd": "16-bit products added in pairs (pmaddwd) into 32-bit sums, {vf} per step",
    "count": "counts matches in byte counters, folded into 64-bit sums before they could wrap",
    "popcount": "counts the bits of {vf} elements per step: two nibble lookups per byte in a 16-entry table (pshufb), the bytes of each element added",
    "dot_product": "multiplies and adds {vf} pairs per step into vector accumulators, added up after the loop",
    "reduction": "folds {vf} elements per step into vector accumulators, combined after the loop",
    "peel": "{vf} elements per step, the value carried from the previous iteration taken from the previous step",
    "split": "{vf} elements per step, in two halves: around the element the loop reads at a fixed index, or where a backward read crosses the forward writes",
    "gather": "{vf} elements per step, the indexed ones loaded with a gather",
    "strided": "{vf} elements per step, the strided ones loaded as blocks and shuffled apart",
    "select": "{vf} elements per step, both sides of the condition computed and blended",
    "divide": "{vf} elements per step, divided without an integer divide instruction",
    "convert": "converts {vf} elements per step",
    "induction": "{vf} elements per step, the counters advanced by {vf} steps at a time",
    "permute_bytes": "{vf} elements per step, the bytes of each rearranged by one byte shuffle",
    "reverse": "{vf} elements per step, walking backwards with the lanes reversed",
    "elementwise": "computes {vf} elements per step",
}


# Families whose last partial step runs as a masked vector step instead of the scalar loop.
MASKED_REMAINDER = frozenset({"complex_multiply", "complex_reduce"})


def summary(rule: str, vf: int) -> str:
    """One line saying what the vector loop of `rule` does and what runs the rest."""
    rest = "the last partial step is masked" if rule in MASKED_REMAINDER else "the scalar loop after it runs the rest"
    return SUMMARY.get(rule, SUMMARY["elementwise"]).format(vf=vf) + "; " + rest


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
