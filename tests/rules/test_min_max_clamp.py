"""A clamp written as `x > K ? K : x` (nested for both bounds) becomes one min/max per bound instead of a
compare and a blend: the table's min is `a < b ? a : b` with K first, the very C expression, so NaN and
signed zeros come out as the user's loop gives them (checked bit for bit on such values)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import analyse, apply_edits, build_and_run, needs_compiler

from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

LOOPS = {
    "cap_float": ("float", "out[i] = x[i] > 1.0f ? 1.0f : x[i];", ("_mm256_min_ps",)),
    "relu_strict": ("float", "out[i] = x[i] < 0.0f ? 0.0f : x[i];", ("_mm256_max_ps",)),
    "both_bounds": ("float", "{ float s = x[i] * 3.0f; s = s > 2.5f ? 2.5f : (s < -2.5f ? -2.5f : s); out[i] = s; }",
                    ("_mm256_min_ps", "_mm256_max_ps")),
    "zero_non_strict": ("float", "out[i] = x[i] >= 0.0f ? 0.0f : x[i];", ("_mm256_blendv_ps",)),
    "int_both": ("int", "out[i] = x[i] > 255 ? 255 : x[i] < 0 ? 0 : x[i];", ("_mm256_min_epi32", "_mm256_max_epi32")),
}

MAIN = """
#include <math.h>
#include <stdio.h>
#include <string.h>
typedef ELEM T;
void NAME(T *restrict out, const T *restrict x, int n);
void original(T *restrict out, const T *restrict x, int n);
int main(void)
{
    static T x[100], a[100], b[100];
    const double special[] = {0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 0.8333333, -0.8333334, 255, 256, -1e30, 1e30,
                              INFINITY, -INFINITY, NAN, 3.0, 0.5, 1e-45};
    for (int j = 0; j < 100; j++) x[j] = (T)(j < 18 ? special[j] : (j * 37 % 101) - 50);
    for (int n = 0; n <= 100; n += 3) {
        memset(a, 0, sizeof a); memset(b, 0, sizeof b);
        NAME(a, x, n); original(b, x, n);
        if (memcmp(a, b, sizeof a) != 0) { printf("n=%d differ\\n", n); return 1; }
    }
    return 0;
}
"""


@needs_compiler
@pytest.mark.parametrize("name", list(LOOPS))
def test_clamps_become_min_max_and_keep_nan_and_zero_signs(tmp_path: Path, name: str) -> None:
    elem, body, intrinsics = LOOPS[name]
    code = f"void {name}({elem} *restrict out, const {elem} *restrict x, int n)\n{{ for (int i = 0; i < n; i++) {body} }}"
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None, analysis.reasons
    proposal = propose(analysis, kernel, "avx2", Settings(), source=source)
    assert proposal.candidates, proposal.notes
    (cand,) = proposal.candidates
    for intrinsic in intrinsics:
        assert intrinsic in cand.function, cand.function
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    (tmp_path / "edited.c").write_bytes(apply_edits(source, cand.edits))
    (tmp_path / "original.c").write_text(code.replace(f"{name}(", "original("))
    (tmp_path / "main.c").write_text(MAIN.replace("ELEM", elem).replace("NAME", name))
    run = build_and_run(tmp_path, "avx2", ("edited.c", "original.c", "main.c"), libs=("-lm",))
    assert run.returncode == 0, run.stdout[:2000]
