"""Fixed byte permutations of integer lanes: byte swaps and other byte shuffles, one byte shuffle each.

`(v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)`, `__builtin_bswap32(v)`,
`(uint16_t)((x >> 8) | (x << 8))`, `((v & 0x00ff00ff) << 8) | ((v >> 8) & 0x00ff00ff)`: every byte of the
result is one fixed byte of a single value, or zero. The expression is evaluated byte by byte (shifts by
whole bytes move them, `&` with a mask of whole 0x00 / 0xff bytes keeps or clears them, `|`, `^` and `+` of
values with no byte set on both sides merge them, integer casts truncate or extend, `__builtin_bswap*`
reverses them); when it is such a permutation of a value as wide as the result, the lowering computes
the value once and rearranges its bytes with the table's `permute_bytes` row (pshufb: one instruction
with a constant control instead of the shifts, masks and ors, as an expert writes it).

Bytes are little-endian (byte 0 is the least significant), as the lanes hold them in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from simdlens.analysis.ir import Binary, Call, Cast, Const, Expr, expr_type
from simdlens.rules.saturate import _same  # the same value wherever it was written

ZERO = -1  # a byte known to be zero
UNKNOWN = -2  # a byte that is no byte of the value (a sign fill): must be cleared before the result

# byte swaps: the argument's bytes in reverse order (gcc's and clang's builtins; POSIX's network byte order
# conversions, which are byte swaps on x86, a little-endian machine)
BSWAP = {"__builtin_bswap16": 16, "__builtin_bswap32": 32, "__builtin_bswap64": 64,
         "ntohs": 16, "htons": 16, "ntohl": 32, "htonl": 32}

_BUDGET = 64  # nodes: a permutation of at most 8 bytes is written in far fewer (a long sum fails fast)


@dataclass(frozen=True)
class BytePermutation:
    """Result byte k is byte `picks[k]` of `source`, or zero (ZERO)."""

    source: Expr
    picks: tuple[int, ...]

    def control(self, block: int = 16) -> tuple[int, ...]:
        """The byte-shuffle control for one `block`-byte block of lanes: the index of each result byte's
        source byte within the block, -1 (top bit set: the shuffle writes zero) for a zero byte."""
        size = len(self.picks)
        return tuple(ZERO if p == ZERO else lane * size + p
                     for lane in range(block // size) for p in self.picks)


class _Walk:
    """One evaluation: the single value the bytes come from, and how many operations moved them."""

    def __init__(self) -> None:
        self.source: Expr | None = None
        self.ops = 0
        self.nodes = 0

    def bytes(self, e: Expr) -> tuple[int, ...] | None:
        self.nodes += 1
        t = expr_type(e)
        if self.nodes > _BUDGET or t.is_float or t.bits % 8 or getattr(t, "is_complex", False):
            return None
        if isinstance(e, Binary) and e.op in ("&", "|", "^", "+", "<<", ">>"):
            return self.binary(e, t.bits // 8, t.signed)
        if isinstance(e, Cast) and not expr_type(e.operand).is_float:
            inner = self.bytes(e.operand)
            if inner is None:
                return None
            n = t.bits // 8
            return (inner + (_fill(inner, expr_type(e.operand).signed),) * n)[:n]
        if isinstance(e, Call) and BSWAP.get(e.func) == t.bits and len(e.args) == 1:
            inner = self.bytes(e.args[0])
            self.ops += 2  # a swap is never cheaper written out
            return None if inner is None else inner[::-1]
        return self.leaf(e, t.bits // 8)

    def leaf(self, e: Expr, n: int) -> tuple[int, ...] | None:
        if isinstance(e, Const):
            return None
        if self.source is None:
            self.source = e
        elif not _same(self.source, e):
            return None  # bytes of two values: a blend, not a permutation
        return tuple(range(n))

    def binary(self, e: Binary, n: int, signed: bool) -> tuple[int, ...] | None:
        if e.op in ("<<", ">>"):
            count = e.rhs.value if isinstance(e.rhs, Const) else None
            if not isinstance(count, int) or count % 8 or not 0 <= count < 8 * n:
                return None
            inner = self.bytes(e.lhs)
            if inner is None:
                return None
            self.ops += 1
            k = count // 8
            if e.op == "<<":
                return ((ZERO,) * k + inner)[:n]
            return inner[k:] + (_fill(inner, signed),) * k
        if e.op == "&":
            mask, other = (e.rhs, e.lhs) if isinstance(e.rhs, Const) else (e.lhs, e.rhs)
            if not isinstance(mask, Const) or not isinstance(mask.value, int):
                return None
            bits = mask.value & ((1 << (8 * n)) - 1)
            keep = [(bits >> (8 * k)) & 0xFF for k in range(n)]
            if any(b not in (0, 0xFF) for b in keep):
                return None
            inner = self.bytes(other)
            if inner is None:
                return None
            self.ops += 1
            return tuple(b if keep[k] else ZERO for k, b in enumerate(inner))
        left = self.bytes(e.lhs)
        right = self.bytes(e.rhs) if left is not None else None
        if left is None or right is None:
            return None
        self.ops += 1
        merged = []
        for x, y in zip(left, right, strict=True):
            if y == ZERO or (x == y and e.op == "|"):
                merged.append(x)
            elif x == ZERO:
                merged.append(y)
            else:
                return None  # both sides set the byte: bits combine, or a sum carries
        return tuple(merged)


def _fill(value: tuple[int, ...], signed: bool) -> int:
    """What a sign extension or arithmetic shift of `value` fills in: zero unless its sign bit may be set."""
    return UNKNOWN if signed and value[-1] != ZERO else ZERO


def byte_permutation(e: Expr) -> BytePermutation | None:
    """`e` as a fixed permutation of the bytes of one value as wide as `e`, or None. Only expressions of two
    or more byte moves (or a byte-swap builtin) count: a single shift or mask keeps its own instruction."""
    if not isinstance(e, Binary | Call | Cast):
        return None
    walk = _Walk()
    picks = walk.bytes(e)
    if picks is None or walk.source is None or walk.ops < 2 or UNKNOWN in picks:
        return None
    if expr_type(walk.source).bits != expr_type(e).bits or all(p == ZERO for p in picks):
        return None
    return BytePermutation(walk.source, picks)
