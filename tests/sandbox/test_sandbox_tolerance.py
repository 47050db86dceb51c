"""Only caveats that change float results (reassociation, contraction) loosen the comparison."""

from __future__ import annotations

import pytest

from simdlens.core import Candidate
from simdlens.sandbox.harness import uses_tolerance


@pytest.mark.parametrize(("caveat", "tolerant"), [
    ("reassociates floating-point additions (partial sums per lane)", True),
    ("contracts a*b+c into FMA", True),
    ("fused multiply-add from the source's fma()", True),
    ("needs -mavx2 -mfma (not in your flags): guarded by #if defined(__AVX2__)", False),
    ("clamps with fmaxf and fminf", False),
])
def test_which_caveats_allow_a_float_tolerance(caveat: str, tolerant: bool) -> None:
    cand = Candidate("k", "avx2", "rules:test", "", (), (caveat,))
    assert uses_tolerance(cand) is tolerant
