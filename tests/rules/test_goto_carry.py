"""Forward gotos that make an if/else (TSVC s161: `if (b[i] < 0) goto L20; a[i] = c[i] + ...; goto L10;
L20: c[i+1] = a[i] + ...; L10: ;`), one path storing the element the other reads one iteration later. The
two paths never run in one iteration (their conditions are c and !c on data the loop does not write), so
the write of c[i+1] goes first in a vector step and the other path's read of c[i] sees it, as the next
iteration does; a condition the paths change keeps the loop a recurrence. `if (c) goto L; A; continue; L: B`
runs B only where c holds (it used to be read as running B on every iteration)."""

from __future__ import annotations

import pytest
from rules_support import analyse, assert_verified, case_result, needs_compiler, verify_cases

from simdlens.config import Settings

pytestmark = [needs_compiler, pytest.mark.sandbox]

ACCEPTED = {
    "spill": """void spill(float *restrict level, float *restrict sp, const float *restrict in, const float *restrict cap,
           int n) {
    for (int i = 0; i < n - 1; i++) {
        if (in[i] > cap[i]) goto over;
        level[i] = sp[i] + in[i];
        goto next;
    over:
        sp[i + 1] = (in[i] - cap[i]) + level[i] * 0.5f;
    next:;
    }
}""",
    "relay": """#define M 600
double p[M], q[M], dm[M], g[M];
void relay(void) {
    for (int i = 0; i < M - 1; i++) {
        if (dm[i] >= 0.0) goto pass;
        p[i] = q[i] * g[i] + dm[i];
        continue;
    pass:
        q[i + 1] = p[i] - dm[i] * g[i];
    }
}""",
    # no carried element: only the `continue` reading matters (the label's store only where c holds)
    "split_signs": """void split_signs(float *restrict y, float *restrict z, const float *restrict x, int n) {
    for (int i = 0; i < n; i++) {
        if (x[i] > 0.0f) goto positive;
        y[i] = -x[i];
        continue;
    positive:
        z[i] = x[i] * 2.0f;
    }
}""",
}


@pytest.fixture(scope="module")
def results(rule_settings: Settings) -> dict:  # type: ignore[type-arg]
    return verify_cases(list(ACCEPTED.items()), rule_settings)


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_goto_paths_are_verified(results: dict, name: str) -> None:  # type: ignore[type-arg]
    case = results[name]
    assert case.analysis is not None and case.analysis.verdict.value == "vectorizable", case.analysis
    result = case_result(case, "avx2")
    assert_verified(result, "avx2")


def test_a_condition_the_paths_change_stays_a_recurrence() -> None:
    """`if (c[i] < 0) goto L; a[i] = c[i] ...; goto E; L: c[i+1] = ...`: c[i+1] decides the next iteration's
    path, so the paths are not exclusive across the step: refused with the recurrence."""
    _, analysis, _ = analyse("own_cond", """void own_cond(float *restrict a, float *restrict c, const float *restrict d,
              int n) {
    for (int i = 0; i < n - 1; i++) {
        if (c[i] < 0.0f) goto L20;
        a[i] = c[i] + d[i];
        goto L10;
    L20:
        c[i + 1] = a[i] + d[i];
    L10:;
    }
}""")
    assert analysis.verdict.value == "not_vectorizable"
    assert any("recurrence" in r.message for r in analysis.reasons), analysis.reasons
