"""A de-interleave `re[i] = z[2*i]; im[i] = z[2*i + 1];` whose arrays may overlap gets a rewrite: the run-time
check bounds z by the stride (z[0 .. 2*(n-1) + 1]), and wherever the arrays overlap the original loop runs,
so every placement of re inside z gives the original loop's result."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import ISAS, analyse, apply_edits, build_and_run, needs_compiler

from simdlens.config import Settings
from simdlens.core import LoopVerdict
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

DEINTERLEAVE = ("void split(float *re, float *im, const float *z, int n)\n"
                "{ for (int i = 0; i < n; i++) { re[i] = z[2*i]; im[i] = z[2*i+1]; } }")

MAIN = """
#include <stdio.h>
#include <string.h>
void split(float *re, float *im, const float *z, int n);
void original(float *re, float *im, const float *z, int n);
int main(void)
{
    static float x[600], y[600];
    int bad = 0;
    for (int k = -70; k <= 70; k++)
        for (int n = 0; n <= 40; n += 3) {
            for (int j = 0; j < 600; j++) x[j] = y[j] = (float)(j % 29);
            split(x + 200 + k, x + 500, x + 200, n);
            original(y + 200 + k, y + 500, y + 200, n);
            if (memcmp(x, y, sizeof x) != 0) { printf("k=%d n=%d differ\\n", k, n); bad = 1; }
        }
    return bad;
}
"""


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
def test_a_deinterleave_with_a_runtime_check_matches_the_original(tmp_path: Path, isa: str) -> None:
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    source, analysis, kernel = analyse("split", DEINTERLEAVE)
    assert kernel is not None and analysis.verdict == LoopVerdict.VECTORIZABLE_WITH_CHECKS
    proposal = propose(analysis, kernel, isa, Settings(), source=source)
    assert proposal.candidates, proposal.notes
    (cand,) = proposal.candidates
    assert "&z[2 * (" in cand.function  # the bound scales with the stride
    (tmp_path / "edited.c").write_bytes(apply_edits(source, cand.edits))
    (tmp_path / "original.c").write_text(DEINTERLEAVE.replace("split(", "original("))
    (tmp_path / "main.c").write_text(MAIN)
    run = build_and_run(tmp_path, isa, ("edited.c", "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]
