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


# TSVC's matrix argmax: the row index is set beside the column index, to the row loop's counter
ROW_AND_COLUMN = """#define N 64
float grid[N][N];
float hottest_pair(int *row, int *col) {
    float best = grid[0][0];
    int bi = 0, bj = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (grid[i][j] > best) {
                best = grid[i][j];
                bi = i;
                bj = j;
            }
    *row = bi;
    *col = bj;
    return best;
}"""


def test_a_row_index_beside_the_column_index_is_set_when_the_row_wins() -> None:
    from simdlens.analysis import analyze_file
    from simdlens.analysis.ir import ArgReduce

    fa = analyze_file(ROW_AND_COLUMN.encode(), "/tmp/pair.c", "c")
    inner = next(a for a in fa.analyses if a.loop is not None and a.site.role.value == "innermost")
    arg = next(s for s in inner.loop.body if isinstance(s, ArgReduce))  # type: ignore[union-attr]
    assert arg.index_var == "bj" and [v for v, _ in arg.also] == ["bi"]
    assert any("bi is set to a value of the outer loop" in r.message for r in inner.reasons)


MAIN_PAIR = r"""#include <stdio.h>
#include <math.h>
#define N 64
extern float grid[N][N];
float hottest_pair(int *row, int *col);
float original(int *row, int *col);
int main(void) {
    const float pool[] = {1.0f, 4.0f, 4.0f, -0.0f, 0.0f, NAN, 2.0f};
    int bad = 0;
    for (int t = 0; t < 300; t++) {
        unsigned s = 2166136261u ^ (unsigned)t;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) { s = s * 1664525u + 1013904223u; grid[i][j] = pool[(s >> 9) % 7] + (float)((s >> 20) % 61); }
        int r0, c0, r1, c1;
        float v0 = original(&r0, &c0), v1 = hottest_pair(&r1, &c1);
        if (r0 != r1 || c0 != c1 || !(v0 == v1 || (v0 != v0 && v1 != v1))) { printf("t %d: %d,%d vs %d,%d\n", t, r0, c0, r1, c1); bad++; }
    }
    return bad != 0;
}
"""


@needs_compiler
@pytest.mark.sandbox
def test_the_row_and_column_argmax_gives_the_loops_pair(rule_settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rules_support import run_edited_against_original

    from simdlens.analysis import analyze_file
    from simdlens.rules import propose

    require_host("avx2")
    source = ROW_AND_COLUMN.encode()
    fa = analyze_file(source, "/tmp/pair.c", "c")
    inner = next(a for a in fa.analyses if a.loop is not None and a.site.role.value == "innermost")
    (candidate,) = propose(inner, fa.kernels[inner.site.loop_id], "avx2", rule_settings, source=source).candidates
    original = ROW_AND_COLUMN.replace("float grid[N][N];", "extern float grid[N][N];")
    run = run_edited_against_original(tmp_path, "avx2", "hottest_pair", source, candidate.edits, original, MAIN_PAIR)
    assert run.returncode == 0, run.stdout + run.stderr
