"""Hand-unrolled DSP blocks over complex samples (`while (n >= 4) { *o++ = (*p++) * k; ... n -= 4; }`, VOLK's
s32fc_multiply style): the copies are re-rolled as for real samples (each copy's parts one element further
on), the complex multiply rule runs the rolled loop, and the pointers and the count the block loop leaves
for the remainder loop after it are set where the original leaves them. Verified exactly, the moved
pointers and count compared as results."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_complex_multiply import _all_verified, _candidate

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import Analysis, Candidate, Kernel
from simdlens.rules import propose

SOURCE = b"""#include <complex.h>
typedef float complex cf32;
void rotate_block(cf32 *out, const cf32 *in, const cf32 phase, unsigned int count) {
    cf32 *o = out;
    const cf32 *p = in;
    unsigned int left = count;
    while (left >= 4) {
        *o++ = (*p++) * phase;
        *o++ = (*p++) * phase;
        *o++ = (*p++) * phase;
        *o++ = (*p++) * phase;
        left -= 4;
    }
    while (left-- > 0)
        *o++ = *p++ * phase;
}
void add_pairs(double complex *restrict o, const double complex *restrict a, const double complex *restrict b, int n) {
    for (; n >= 2; n -= 2) {
        *o++ = *a++ + *b++;
        *o++ = *a++ + *b++;
    }
}
"""


def _block_loop() -> tuple[Analysis, Kernel, Candidate]:
    """The block loop of rotate_block (its first loop; the remainder loop after it is the second)."""
    fa = analyze_file(SOURCE, "blk.c", "c")
    a = next(x for x in fa.analyses if x.site.function == "rotate_block")
    kernel = fa.kernels.get(a.site.loop_id)
    assert kernel is not None, a.reasons
    proposal = propose(a, kernel, "avx2", Settings(), source=SOURCE, user_flags=("-O2",))
    assert proposal.candidates, proposal.notes
    return a, kernel, proposal.candidates[0]


def test_unrolled_complex_copies_are_one_rolled_iteration() -> None:
    a, _, cand = _block_loop()
    assert a.loop is not None
    assert "4 hand-unrolled copies" in " ".join(r.message for r in a.reasons)
    assert len(a.loop.body) == 2  # one complex statement: its real and imaginary part
    assert cand.origin == "rules:complex_multiply"
    assert "left += (-4) * (" in cand.function  # the count the remainder loop reads, moved as the original moves it


@pytest.mark.sandbox
def test_unrolled_complex_blocks_verify(tmp_path: Path) -> None:
    _, kernel, cand = _block_loop()
    work = [(kernel, cand), _candidate("add_pairs", source=SOURCE, path="blk.c")]
    _all_verified(work, ["rotate_block", "add_pairs"], tmp_path, "exactly")
