"""The run-time overlap check of a `vectorizable_with_checks` loop protects the user's own data, which the
harness never sees: a loop stepping by 2 spans twice as many elements per vector step, so a distance the
check lets through must still be safe there. The edited file is built and run against the original for
every distance around the vector's reach."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rules_support import ISAS, apply_edits, build_and_run

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import LoopVerdict
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

SOURCE = b"""void shift_step2(float *a, int k, int n)
{
    for (int i = 0; i < n; i += 2)
        a[i + k] = a[i] + 1.0f;
}
"""

MAIN = """
#include <stdio.h>
#include <string.h>
void shift_step2(float *a, int k, int n);
void original(float *a, int k, int n);
int main(void)
{
    static float x[512], y[512];
    int bad = 0;
    for (int k = -40; k <= 40; k++)
        for (int n = 0; n <= 96; n += 7) {
            for (int j = 0; j < 512; j++) x[j] = y[j] = (float)(j % 13);
            shift_step2(x + 200, k, n);
            original(y + 200, k, n);
            if (memcmp(x, y, sizeof x) != 0) { printf("k=%d n=%d differ\\n", k, n); bad = 1; }
        }
    return bad;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("isa", ISAS)
def test_distance_check_of_a_loop_stepping_by_two_keeps_every_distance_correct(tmp_path: Path, isa: str) -> None:
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    fa = analyze_file(SOURCE, "shift.c", "c")
    (analysis,) = fa.analyses
    assert analysis.verdict == LoopVerdict.VECTORIZABLE_WITH_CHECKS
    (cand,) = propose(analysis, fa.kernels[analysis.site.loop_id], isa, Settings(), source=SOURCE).candidates
    (tmp_path / "edited.c").write_bytes(apply_edits(SOURCE, cand.edits))
    (tmp_path / "original.c").write_bytes(SOURCE.replace(b"shift_step2", b"original"))
    (tmp_path / "main.c").write_text(MAIN)
    run = build_and_run(tmp_path, isa, ("edited.c", "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]
