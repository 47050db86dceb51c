"""Measured speedups in the few words titles and hovers have room for: every size, as measured.

A rewrite 7.2x faster on an L1-resident array may be 0.49x on a 1M-element one; quoting only the
first would promise what the user does not see, so short forms list each measured size:
"7.2x at 4K, 0.49x at 1M (memory-bound); depends on size". A size the code itself uses (its constant
trip count, its arrays' extent, its nest's bounds) says "(your size)".
"""

from __future__ import annotations

from simdlens import summary
from simdlens.core import CandidateResult, Ratio, SizeMeasurement


def size_name(n: int) -> str:
    """4096 -> "4K", 1048576 -> "1M", 1000 -> "1000"."""
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10}K"
    return str(n)


def times(value: float) -> str:
    """Two significant digits below 10x: "7.2x", "0.49x", "1.0x"; whole numbers above: "12x"."""
    if value >= 10:
        return f"{value:.0f}x"
    if value >= 1:
        return f"{value:.1f}x"
    return f"{value:.2f}x"


def times_range(ratio: Ratio) -> str:
    """"6.2x (5.9–6.6)": the median and the min–max across benchmark processes."""
    text = times(ratio.median)
    if ratio.runs > 1 and ratio.hi > ratio.lo:
        text += f" ({times(ratio.lo)[:-1]}–{times(ratio.hi)[:-1]})"
    return text


def _size_words(size: SizeMeasurement) -> str:
    notes = [w for w, on in (("your size", size.real), ("memory-bound", size.memory_bound)) if on]
    return f"{size_name(size.n)}" + (f" ({', '.join(notes)})" if notes else "")


def per_size(result: CandidateResult, *, skip: int | None = None) -> str:
    """"7.2x at 4K, 0.49x at 1M (memory-bound); depends on size": the speedup over the user's build
    at every measured size (but `skip`), and whether it depends strongly on the size; "" when nothing
    was measured."""
    m = result.measurement
    if m is None:
        return ""
    text = ", ".join(f"{times(s.vs_user_flags.median)} at {_size_words(s)}" for s in m.sizes
                     if s.vs_user_flags and s.n != skip)
    return f"{text}; depends on size" if text and summary.size_dependent(result) else text
