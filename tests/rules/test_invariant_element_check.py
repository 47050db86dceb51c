"""Loops that read or accumulate into one element the counter does not move (`u[i]` in a `j` loop, as in
every 2-D nest, and `acc[j] += x[i]`) get a rewrite with a run-time check: the check bounds that element
by itself, and wherever it lies inside the walked range the original loop runs, so every placement gives
the original loop's result."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import ISAS, analyse, apply_edits, build_and_run, needs_compiler

from simdlens.config import Settings
from simdlens.core import LoopVerdict
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

ROW_UPDATE = ("void update(double *row, const double *u, const double *v, int i, int n)\n"
              "{ for (int j = 0; j < n; j++) row[j] = row[j] + u[i] * v[j]; }")
COLUMN_SUM = ("void colsum(double *acc, const double *x, int j, int n)\n"
              "{ for (int i = 0; i < n; i++) acc[j] += x[i]; }")

MAIN = """
#include <stdio.h>
#include <string.h>
PROTOTYPES
int main(void)
{
    static double x[600], y[600];
    int bad = 0;
    for (int k = -40; k <= 40; k++)
        for (int n = 0; n <= 37; n += 3) {
            for (int j = 0; j < 600; j++) x[j] = y[j] = (double)(j % 13) * 0.5;
            /* the element x[200 + k] sweeps before, through and past the walked x[200 .. 200 + n) */
            CALL(x);
            CALL_ORIGINAL(y);
            if (memcmp(x, y, sizeof x) != 0) { printf("k=%d n=%d differ\\n", k, n); bad = 1; }
        }
    return bad;
}
"""
CALLS = {  # name: (its prototype's parameter list, its call on array `a`)
    "update": ("double *row, const double *u, const double *v, int i, int n", "(a + 200, a + 200, a + 400, k, n)"),
    "colsum": ("double *acc, const double *x, int j, int n", "(a + 200, a + 200, k, n)"),
}


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(("name", "code"), [("update", ROW_UPDATE), ("colsum", COLUMN_SUM)])
def test_an_invariant_element_is_bounded_by_the_runtime_check(tmp_path: Path, isa: str, name: str,
                                                              code: str) -> None:
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None and analysis.verdict == LoopVerdict.VECTORIZABLE_WITH_CHECKS
    proposal = propose(analysis, kernel, isa, Settings(), source=source)
    assert proposal.candidates, proposal.notes
    cand = proposal.candidates[0]
    (tmp_path / "edited.c").write_bytes(apply_edits(source, cand.edits))
    (tmp_path / "original.c").write_text(code.replace(f"{name}(", "original("))
    params, call = CALLS[name]
    main = (MAIN.replace("PROTOTYPES", f"void {name}({params});\nvoid original({params});")
            .replace("CALL_ORIGINAL(y)", "original" + call.replace("a +", "y +"))
            .replace("CALL(x)", name + call.replace("a +", "x +")))
    (tmp_path / "main.c").write_text(main)
    run = build_and_run(tmp_path, isa, ("edited.c", "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]
