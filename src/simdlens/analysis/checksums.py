"""Second-order running sums: the two sums of an Adler-32 or Fletcher checksum.

    for (i = 0; i < n; i++) { s1 += buf[i]; s2 += s1; }     // s2 adds s1's new value
    for (i = 0; i < n; i++) { s2 += s1; s1 += buf[i]; }     // s2 adds the value before the update

Every s2 addition waits for the s1 addition before it, so gcc and clang keep the loop scalar. A SIMD
engineer takes a block of k elements at once: s1 gains their sum, and s2 gains k * (s1 before the block)
plus the elements weighted k, k-1, ..., 1 (the first element is in all k of the block's s1 values). With
integer sums this is exact modulo 2^bits (unsigned wrap), in any grouping: no reassociation caveat.
`running_pair` recognises the body; `rules.checksum` lowers it.
"""

from __future__ import annotations

from dataclasses import dataclass

from simdlens.analysis.ir import (
    Binary,
    Cast,
    CType,
    Expr,
    LoopIR,
    Reduce,
    ReduceOp,
    Running,
    Var,
    expr_type,
    walk_exprs,
)

# The sums' own types: 32- and 64-bit integers, whose wrap the vector lanes reproduce.
PAIR_TYPES = frozenset({"int32", "uint32", "int64", "uint64"})


@dataclass(frozen=True)
class RunningPair:
    """`first` is a running sum of `data` (converted to the sums' type); `second` adds `first` on every
    iteration, its value after the update (`after`) or before it."""

    first: str
    second: str
    elem: CType
    data: Expr  # the element added to `first`, in its own (narrower) type
    after: bool

    @property
    def data_bits(self) -> int:
        return expr_type(self.data).bits


def running_pair(loop: LoopIR) -> RunningPair | None:
    """The loop as the two sums of a checksum, or None when its body has another shape."""
    if loop.step != 1 or len(loop.body) != 2:
        return None
    run = next((s for s in loop.body if isinstance(s, Running)), None)
    red = next((s for s in loop.body if isinstance(s, Reduce)), None)
    if run is None or red is None or run.factor is not None or red.access is not None:
        return None
    if red.op != ReduceOp.ADD or not (isinstance(red.value, Var) and red.value.name == run.var):
        return None
    if run.type.name not in PAIR_TYPES or red.type.name != run.type.name:
        return None
    if any(isinstance(x, Var) and x.name in (run.var, red.var) for x in walk_exprs(run.value)):
        return None
    data = run.value.operand if isinstance(run.value, Cast) else run.value
    return RunningPair(run.var, red.var, run.type, data, loop.body[0] is run)


def modulo_of_own_sum(value: Expr, name: str) -> bool:
    """Whether `name = value` is Adler-32's update with the modulo taken every iteration:
    `a = (a + buf[i]) % 65521;` (an integer `%` of a sum that reads `name`)."""
    while isinstance(value, Cast):
        value = value.operand
    return (isinstance(value, Binary) and value.op == "%" and not expr_type(value).is_float
            and any(isinstance(x, Var) and x.name == name for x in walk_exprs(value.lhs)))


def modulo_reason(name: str) -> str:
    """What a SIMD engineer says about `name = (name + x) % M` on every iteration."""
    return (f"{name} is reduced modulo a constant on every iteration from its own previous value (a checksum such "
            "as Adler-32 with the modulo inside the loop): each value depends on the reduced one before it, so "
            "neither compilers nor a SIMD scan take it as written. The checksum is the same when the sums run "
            "without the modulo over blocks short enough not to overflow (zlib's NMAX: 5552 bytes for 32-bit "
            "sums) and the modulo is taken after each block; written that way (`s1 += buf[i]; s2 += s1;` in the "
            "block loop) simdlens vectorizes the block loop: a recurrence")
