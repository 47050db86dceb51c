"""`rintf` / `nearbyintf` (and the double forms) become one round instruction in the current rounding
mode; `roundf` / `round` (halfway cases away from zero, which no mode does) become a truncation plus one
unit toward the value's sign where the dropped fraction is at least one half. Each gives the C library's
result in every rounding mode, for ties, the largest float below 0.5, negatives and negative zeros, huge
values, NaN and infinities."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import ISAS, analyse, apply_edits, build_and_run, needs_compiler

from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

CASES = {
    "rint_f": ("float", "rintf"), "nearby_f": ("float", "nearbyintf"),
    "rint_d": ("double", "rint"), "nearby_d": ("double", "nearbyint"),
    "round_f": ("float", "roundf"), "round_d": ("double", "round"),
}

MAIN = """
#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
typedef ELEM T;
void NAME(T *restrict out, const T *restrict x, int n);
void original(T *restrict out, const T *restrict x, int n);
int main(void)
{
    static T x[200], a[200], b[200];
    const T special[] = {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, -0.0, 0.0, 1e30, -1e30,
                         8388608.5, 4503599627370495.5, INFINITY, -INFINITY, NAN, 3.7, -3.7,
                         8388607.5, -8388607.5, -0.3, -0.49999997, 0.50000006, -1e-40};
    for (int j = 0; j < 200; j++) x[j] = j < 24 ? special[j] : (T)((j * 37 % 101) - 50) / (T)4;
    const int modes[] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
    for (int m = 0; m < 4; m++) {
        fesetround(modes[m]);
        for (int n = 0; n <= 200; n += 7) {
            memset(a, 0, sizeof a); memset(b, 0, sizeof b);
            NAME(a, x, n); original(b, x, n);
            if (memcmp(a, b, sizeof a) != 0) { printf("mode %d n=%d differ\\n", m, n); return 1; }
        }
    }
    return 0;
}
"""


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", list(CASES))
def test_rounding_calls_use_the_current_mode_like_the_library(tmp_path: Path, isa: str, name: str) -> None:
    elem, func = CASES[name]
    code = (f"#include <math.h>\nvoid {name}({elem} *restrict out, const {elem} *restrict x, int n)\n"
            f"{{ for (int i = 0; i < n; i++) out[i] = {func}(x[i]); }}")
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None
    proposal = propose(analysis, kernel, isa, Settings(), source=source)
    assert proposal.candidates, proposal.notes
    (cand,) = proposal.candidates
    assert "round" in cand.function, cand.function
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    (tmp_path / "edited.c").write_bytes(apply_edits(source, cand.edits))
    (tmp_path / "original.c").write_text(code.replace(f"{name}(", "original("))
    (tmp_path / "main.c").write_text(MAIN.replace("ELEM", elem).replace("NAME", name))
    run = build_and_run(tmp_path, isa, ("edited.c", "original.c", "main.c"), libs=("-lm",))
    assert run.returncode == 0, run.stdout[:2000]
