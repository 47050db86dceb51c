"""Scans carried in a scalar (`s += a[i]; b[i] = s;`, `s = s * c + a[i]; b[i] = s;`) and values held
under a condition (`if (a[i] > 0) x = a[i]; b[i] = x;`): compilers leave them scalar; simdlens calls them
candidates with the SIMD algorithm in the reason, and its rewrites verify, exclusive (the scalar read
before its update) and inclusive forms alike. Bodies the algorithm does not cover stay recurrences."""

from __future__ import annotations

import pytest
from rules_support import (
    CaseResult,
    analyse,
    apply_edits,
    build_and_run,
    needs_compiler,
    require_host,
    verify_cases,
)

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status
from simdlens.rules import propose

SCANS = {
    "float_running_total": """void running_total(float *restrict out, const float *restrict x, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        s += x[i];
        out[i] = s;
    }
}""",
    "int_running_total_returned": """int32_t running(int32_t *restrict out, const int16_t *restrict x, int32_t s, int n) {
    for (int i = 0; i < n; i++) {
        s += x[i];
        out[i] = s;
    }
    return s;
}""",
    "exclusive_offsets": """double starts(double *restrict start, const double *restrict len, int n) {
    double t = 0.0;
    for (int i = 0; i < n; i++) {
        start[i] = t;
        t += len[i];
    }
    return t;
}""",
    "subtracting_and_scaled_use": """void drain(float *restrict level, float *restrict half, const float *restrict out, float l0, int n) {
    float l = l0;
    for (int i = 0; i < n; i++) {
        l -= out[i];
        level[i] = l;
        half[i] = 0.5f * l;
    }
}""",
    "ema": """void ema(float *restrict y, const float *restrict x, float alpha, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        s = alpha * x[i] + (1.0f - alpha) * s;
        y[i] = s;
    }
}""",
    "in_place_running_sum": """void in_place(int64_t *x, int n) {
    int64_t s = 0;
    for (int i = 0; i < n; i++) {
        s += x[i];
        x[i] = s;
    }
}""",
    # the filter state carried through the temporary the output is (`d = a * (b * x + d)`): substituted, a
    # first-order linear recurrence in d; the output reads d's previous value
    "state_through_a_temporary": """void one_pole(const float *restrict src, float *restrict dst, float g, float fb, unsigned count) {
    float d = 0.0f;
    while (count > 0U) {
        float y = g * (*src++) + d;
        d = fb * y;
        *dst++ = y;
        count--;
    }
}""",
    "state_through_two_temporaries": """double settle(double *restrict seen, const double *restrict in, const double *restrict out, double keep, int n) {
    double held = 0.0;
    for (int i = 0; i < n; i++) {
        double total = in[i] + held;
        double kept = keep * total;
        held = kept - out[i] * keep;
        seen[i] = total;
    }
    return held;
}""",
    # the factor outside the sum: distributed, `s = c * s + c * x[i]`
    "factor_outside_the_sum": """void decay(float *restrict out, const float *restrict x, float c, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        s = (s + x[i]) * c;
        out[i] = s;
    }
}""",
    "int_sum_through_a_temporary": """void offsets(int32_t *restrict end, const int32_t *restrict len, int n) {
    int32_t at = 0;
    for (int i = 0; i < n; i++) {
        int32_t next = at + len[i];
        end[i] = next;
        at = next;
    }
}""",
    # the running value subtracted under a constant factor in (-1, 0): `0.5 * y - 0.5 * s`
    "float_half_difference": """void halve(float *restrict out, const float *restrict y, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        s = 0.5f * (y[i] - s);
        out[i] = s;
    }
}""",
}

HELD = {
    "hold_last_positive": """void hold(float *restrict out, const float *restrict x, int n) {
    float held = -1.0f;
    for (int i = 0; i < n; i++) {
        if (x[i] > 0.0f)
            held = x[i];
        out[i] = held;
    }
}""",
    "hold_guarded_load": """void sample_hold(int32_t *restrict out, const int32_t *restrict v, const uint8_t *restrict ok, int n) {
    int32_t last = 7;
    for (int i = 0; i < n; i++) {
        if (ok[i])
            last = v[i];
        out[i] = last;
    }
}""",
    "since_last_event": """void since(int32_t *restrict d, const double *restrict level, double t, int n) {
    int at = 0;
    for (int i = 0; i < n; i++) {
        if (level[i] > t)
            at = i;
        d[i] = i - at;
    }
}""",
    "previous_hold_then_update": """int prev_hold(int32_t *restrict before, const int32_t *restrict a, int n) {
    int last = -1;
    for (int i = 0; i < n; i++) {
        before[i] = last;
        if (a[i] < 0)
            last = i;
    }
    return last;
}""",
}

REFUSED = {
    # the condition reads the held value: each test depends on the last hit
    "condition_reads_it": """void chase(int32_t *restrict out, const int32_t *restrict a, int n) {
    int last = 0;
    for (int i = 0; i < n; i++) {
        if (a[i] > last)
            last = a[i] - last;
        out[i] = last;
    }
}""",
    # the update's input is computed from the running value itself
    # through a temporary, but not linear in the carried value
    "squared_through_a_temporary": """void square_chain(float *restrict out, const float *restrict x, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        float t = x[i] + s;
        out[i] = t;
        s = t * t;
    }
}""",
    # an integer multiple: the lanes' combined products would overflow where the loop's do not
    "integer_multiple_through_a_temporary": """void triple_chain(int32_t *restrict out, const int32_t *restrict x, int n) {
    int32_t s = 0;
    for (int i = 0; i < n; i++) {
        int32_t t = s + x[i];
        out[i] = t;
        s = 3 * t;
    }
}""",
    "input_reads_it": """void feedback(float *restrict out, const float *restrict x, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        float t = s * x[i];
        s += t;
        out[i] = s;
    }
}""",
}


@pytest.mark.parametrize("name", list(SCANS))
def test_a_scan_in_a_scalar_is_a_candidate_that_says_why(name: str) -> None:
    _, a, kernel = analyse(name, SCANS[name])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    summary = a.reasons[0]
    assert summary.code == "scan" and "carried in the scalar" in summary.message
    assert "Compilers do not vectorize it; a SIMD scan does" in summary.message
    assert {"scan", "scalar_scan"} <= a.facts
    assert kernel is not None


def test_a_float_scan_names_the_reassociation() -> None:
    _, a, _ = analyse("float_running_total", SCANS["float_running_total"])
    assert "reassociating the additions" in a.reasons[0].message
    assert any(r.code == "float_reduction" for r in a.reasons)
    _, b, _ = analyse("int_running_total_returned", SCANS["int_running_total_returned"])
    assert "reassociating" not in b.reasons[0].message


@pytest.mark.parametrize("name", list(HELD))
def test_a_held_value_is_a_candidate_that_says_why(name: str) -> None:
    _, a, kernel = analyse(name, HELD[name])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.reasons[0].code == "scan" and "last value seen" in a.reasons[0].message
    assert "hold" in a.facts
    assert kernel is not None


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_scalar_whose_inputs_read_it_stays_a_recurrence(name: str) -> None:
    _, a, _ = analyse(name, REFUSED[name])
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any(r.code in ("recurrence", "conditional_assign") for r in a.reasons), a.reasons


def test_a_scalar_subtracted_under_a_varying_factor_says_why_no_scan_is_offered() -> None:
    """`x = z[i] * (y[i] - x)` (Livermore kernel 5 carried in a scalar): a linear recurrence whose negated factor
    varies; a stress run of the sandbox's data exceeded its tolerance (docs/rules.md), so the reason says why
    instead of calling it a plain recurrence."""
    _, a, _ = analyse("k5_scalar", """void k5s(float *restrict out, const float *restrict y, const float *restrict z, int n) {
    float x = 0.0f;
    for (int i = 1; i < n; i++) { x = z[i] * (y[i] - x); out[i] = x; }
}""")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    message = next(r.message for r in a.reasons if r.code == "recurrence")
    assert "subtracted under a varying factor (from z)" in message and "alternate in sign and cancel" in message


def test_a_value_carried_through_a_store_names_the_store() -> None:
    """Livermore kernel 19: `stb5` is carried through `b5[k]`, stored in the same iteration; the reason names it
    (it is not a factor -1 alternating sum, which the term `b5[k]` alone would suggest)."""
    _, a, _ = analyse("k19", """void k19(double *restrict b5, const double *restrict sa, const double *restrict sb, double stb5, int n) {
    for (int k = 0; k < n; k++) {
        b5[k] = sa[k] + stb5 * sb[k];
        stb5 = b5[k] - stb5;
    }
}""")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    message = next(r.message for r in a.reasons if r.code == "recurrence")
    assert "through b5, which the loop stores in the same iteration" in message and "alternat" not in message


@pytest.fixture(scope="module")
def carried(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases([*SCANS.items(), *HELD.items()], rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", [*SCANS, *HELD])
def test_the_carried_scan_rewrite_verifies(carried: dict[str, CaseResult], name: str, isa: str) -> None:
    case = carried[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    assert result.candidate.origin == ("rules:hold" if name in HELD else "rules:scan")
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{result.candidate.function}"


# The user's own function next to its rewrite, on data chosen for the edges: every length from 0 to 40
# (empty, one element, every remainder), conditions all true, all false and alternating, and values that
# are NaN, -0.0 and +0.0. Compared bitwise.
_EDGE_DRIVER = r"""
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <stdint.h>
void hold_ref(float *restrict out, const float *restrict x, int n);
void hold(float *restrict out, const float *restrict x, int n);
void sums_ref(float *restrict out, const float *restrict x, int n);
void sums(float *restrict out, const float *restrict x, int n);
int main(void) {
    float x[64], a[64], b[64];
    int bad = 0;
    for (int pattern = 0; pattern < 5; pattern++)
        for (int n = 0; n <= 40; n++) {
            for (int i = 0; i < 64; i++) {
                float v = pattern == 0 ? 1.0f + i : pattern == 1 ? -1.0f - i : (i % 2 ? 2.5f : -3.0f);
                if (pattern == 3) v = i % 3 == 0 ? NAN : i % 3 == 1 ? -0.0f : 0.0f;
                if (pattern == 4) v = i % 5 == 0 ? 1e30f : -0.0f;
                x[i] = v;
            }
            memset(a, 0x55, sizeof a); memset(b, 0x55, sizeof b);
            hold_ref(a, x, n); hold(b, x, n);
            if (memcmp(a, b, sizeof a)) { printf("hold differs: pattern %d n %d\n", pattern, n); bad = 1; }
            if (pattern == 3) continue;  /* a running sum of NaN is NaN in any order; checked below for finite data */
            memset(a, 0x55, sizeof a); memset(b, 0x55, sizeof b);
            sums_ref(a, x, n); sums(b, x, n);
            for (int i = 0; i < 64; i++)
                if (!(a[i] == b[i] || (a[i] != a[i] && b[i] != b[i]) || fabsf(a[i] - b[i]) <= 1e-3f * fabsf(a[i])))
                    { printf("sums differ: pattern %d n %d i %d: %g vs %g\n", pattern, n, i, a[i], b[i]); bad = 1; break; }
        }
    return bad;
}
"""

_HOLD = """void hold(float *restrict out, const float *restrict x, int n) {
    float held = -0.0f;
    for (int i = 0; i < n; i++) {
        if (x[i] == 0.0f || x[i] > 1.0f)
            held = x[i];
        out[i] = held;
    }
}"""

_SUMS = """void sums(float *restrict out, const float *restrict x, int n) {
    float s = -0.0f;
    for (int i = 0; i < n; i++) {
        s += x[i];
        out[i] = s;
    }
}"""


@needs_compiler
def test_rewrites_match_the_loop_on_edge_data(tmp_path, rule_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    require_host("avx2")
    for name, code in (("hold", _HOLD), ("sums", _SUMS)):
        source, a, kernel = analyse(name, code)
        assert kernel is not None
        proposal = propose(a, kernel, "avx2", rule_settings, source=source)
        assert proposal.candidates, proposal.notes
        edited = apply_edits(source, proposal.candidates[0].edits)
        assert b"__m256" in edited
        (tmp_path / f"{name}.c").write_bytes(b"#include <immintrin.h>\n" + edited)
        (tmp_path / f"{name}_ref.c").write_bytes(source.replace(f"void {name}(".encode(), f"void {name}_ref(".encode()))
    (tmp_path / "driver.c").write_text(_EDGE_DRIVER)
    run = build_and_run(tmp_path, "avx2", ["driver.c", "hold.c", "hold_ref.c", "sums.c", "sums_ref.c"], ["-lm"])
    assert run.returncode == 0, run.stdout + run.stderr
