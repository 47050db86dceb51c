"""Argmax over a matrix (`at = (long)r * cols + c` in the row's loop): the row's offset is loop-invariant
integer arithmetic, computed once in scalar and broadcast instead of multiplied lane by lane (AVX2 has
no 64-bit lane multiply), so the inner loop gets the argmax rewrite, and it verifies."""

from __future__ import annotations

import pytest
from rules_support import needs_compiler, require_host

from simdlens.config import Settings
from simdlens.core import Status

MATRIX = """long hottest(const float *t, int rows, int cols) {
    float best = t[0];
    long at = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            if (t[(long)r * cols + c] > best) {
                best = t[(long)r * cols + c];
                at = (long)r * cols + c;
            }
    return at;
}"""


def test_the_row_offset_is_broadcast_not_multiplied() -> None:
    from simdlens.analysis import analyze_file
    from simdlens.rules import propose

    source = ("#include <stdint.h>\n" + MATRIX + "\n").encode()
    fa = analyze_file(source, "/tmp/hottest.c", "c")
    inner = next(a for a in fa.analyses if a.loop is not None)
    proposal = propose(inner, fa.kernels[inner.site.loop_id], "avx2", Settings(), source=source)
    assert proposal.candidates, proposal.notes
    code = proposal.candidates[0].function
    assert proposal.candidates[0].origin == "rules:argminmax"
    assert "_mm256_set1_epi64x((long long)((((long long)(r)) * cols)))" in code


@needs_compiler
@pytest.mark.sandbox
def test_the_matrix_argmax_rewrite_verifies(rule_settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from simdlens.analysis import analyze_file
    from simdlens.rules import propose
    from simdlens.sandbox import Sandbox

    source = ("#include <stdint.h>\n" + MATRIX + "\n").encode()
    fa = analyze_file(source, "/tmp/hottest.c", "c")
    inner = next(a for a in fa.analyses if a.loop is not None)
    kernel = fa.kernels[inner.site.loop_id]
    candidates = propose(inner, kernel, "avx2", rule_settings, source=source).candidates
    assert candidates

    async def run() -> list:  # type: ignore[type-arg]
        async with Sandbox(rule_settings) as sandbox:
            return list(await sandbox.verify(kernel, candidates, bench=False))

    (result,) = asyncio.run(run())
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host("avx2")
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.detail}\n{result.candidate.function}"
