"""Two scalars carrying a 2 x 2 linear state through the temporaries of the body — a biquad in Direct Form II
transposed (`y = b0*x + z1; z1 = b1*x + a1*y + z2; z2 = b2*x + a2*y;`), a coupled resonator — are
candidates with the reason a SIMD engineer gives, and the state scan (the 2 x 2 updates of a vector's
iterations composed in log2(lanes) rounds) verifies within the float tolerance. A subtracted state value,
integer state and products of state values stay recurrences; a rewrite that reads the wrong state fails."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases
from test_complex_multiply import _verify

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

STATES = {
    # feedback coefficients stored negated and added, as CMSIS-DSP stores them; the state lives in an array
    "biquad_df2t": """void bq(const float *restrict x, float *restrict y, const float *restrict c, float *restrict st, int n) {
    float b0 = c[0], b1 = c[1], b2 = c[2], a1 = c[3], a2 = c[4];
    float z1 = st[0], z2 = st[1];
    for (int i = 0; i < n; i++) {
        float in = x[i];
        float out = b0 * in + z1;
        z1 = b1 * in + a1 * out + z2;
        z2 = b2 * in + a2 * out;
        y[i] = out;
    }
    st[0] = z1;
    st[1] = z2;
}""",
    # a coupled pair through a temporary, the state returned; the store reads the new value
    "resonator": """double res(const double *restrict f, double *restrict pos, double k, double c, double g, int n) {
    double p = 0.0, v = 0.0;
    for (int i = 0; i < n; i++) {
        double np = k * p + c * v + g * f[i];
        v = c * p + k * v;
        p = np;
        pos[i] = np;
    }
    return p + v;
}""",
    # CMSIS-DSP's own body: each state value assigned, then completed by a compound update
    "cmsis_compound": """void cm(const float *pIn, float *pOut, const float *coeffs, float *pState, unsigned blockSize) {
    float b0 = coeffs[0], b1 = coeffs[1], b2 = coeffs[2], a1 = coeffs[3], a2 = coeffs[4];
    float d1 = pState[0], d2 = pState[1];
    for (unsigned k = 0; k < blockSize; k++) {
        float xn = pIn[k];
        float acc = b0 * xn + d1;
        d1 = b1 * xn + d2;
        d1 += a1 * acc;
        d2 = b2 * xn;
        d2 += a2 * acc;
        pOut[k] = acc;
    }
    pState[0] = d1;
    pState[1] = d2;
}""",
    # the state read after its carried assignment (`p = np; pos[i] = p;`): the temporary it copied
    "read_after_the_copy": """double rc(const double *restrict f, double *restrict pos, double k, double c, int n) {
    double p = 0.0, v = 1.0;
    for (int i = 0; i < n; i++) {
        double np = k * p + c * v + f[i];
        v = c * p + k * v;
        p = np;
        pos[i] = p;
    }
    return v;
}""",
    # the second update reads the first's new value (substituted), both stored after their updates
    "reads_the_new_value": """void nv(const float *restrict u, float *restrict o1, float *restrict o2, float a, float b, int n) {
    float s = 1.0f, t = 0.0f;
    for (int i = 0; i < n; i++) {
        float w = u[i] * b;
        o1[i] = s + t;
        s = a * s + t + w;
        t = b * s + a * t;
        o2[i] = t;
    }
}""",
}

STAY_REFUSED = {
    # `- a1 * y`: composed over a vector the terms cancel; the reason says how to write it instead
    "subtracting": ("""void bqs(const float *restrict x, float *restrict y, float b0, float b1, float b2, float a1, float a2, int n) {
    float w1 = 0.0f, w2 = 0.0f;
    for (int i = 0; i < n; i++) {
        float out = b0 * x[i] + w1;
        w1 = b1 * x[i] - a1 * out + w2;
        w2 = b2 * x[i] - a2 * out;
        y[i] = out;
    }
}""", "subtracts a state value"),
    # integer products of coefficients would overflow where the loop's own do not
    "integer_state": ("""void iq(const int32_t *restrict x, int32_t *restrict y, int32_t b0, int32_t a1, int32_t a2, int n) {
    int32_t z1 = 0, z2 = 0;
    for (int i = 0; i < n; i++) {
        int32_t out = b0 * x[i] + z1;
        z1 = a1 * out + z2;
        z2 = a2 * out;
        y[i] = out;
    }
}""", "recurrence"),
    # a product of the two state values: no matrix describes it
    "state_product": ("""void sp(const float *restrict x, float *restrict y, int n) {
    float p = 1.0f, q = 0.0f;
    for (int i = 0; i < n; i++) {
        float t = p * q + x[i];
        q = p + x[i];
        p = t;
        y[i] = t;
    }
}""", "recurrence"),
}


@pytest.mark.parametrize("name", list(STATES))
def test_a_two_scalar_state_is_a_candidate_that_says_why(name: str) -> None:
    _, a, kernel = analyse(name, STATES[name])
    assert a.verdict in (LoopVerdict.VECTORIZABLE, LoopVerdict.VECTORIZABLE_WITH_CHECKS), a.reasons
    assert {"scan", "state_scan"} <= a.facts
    summary = a.reasons[0]
    assert summary.code == "scan" and "2 x 2 linear state" in summary.message
    assert "compilers leave this recurrence scalar" in summary.message
    assert kernel is not None


@pytest.mark.parametrize("name", list(STAY_REFUSED))
def test_other_states_stay_recurrences(name: str) -> None:
    code, words = STAY_REFUSED[name]
    _, a, _ = analyse(name, code)
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert "state_scan" not in a.facts
    assert any(r.code == "recurrence" and words in f"{r.code} {r.message}" for r in a.reasons), a.reasons


@pytest.fixture(scope="module")
def states(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(STATES.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(STATES))
def test_the_state_scan_verifies(states: dict[str, CaseResult], name: str, isa: str) -> None:
    case = states[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    cand = result.candidate
    assert cand.origin == "rules:scan" and "previous" in cand.function
    assert any("2 x 2 updates" in c for c in cand.caveats)
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{cand.function}"
    assert "tolerance" in result.verdict.detail


@needs_compiler
@pytest.mark.sandbox
def test_a_rewrite_reading_the_wrong_state_never_verifies(states: dict[str, CaseResult], tmp_path: Path) -> None:
    """The output reading z1's new value instead of its previous one, and lane 0 of the previous values
    taken from z2's carry instead of z1's: each is a mismatch."""
    case = states["biquad_df2t"]
    require_host("avx2")
    good = case.results["avx2"].candidate
    kernel = case.kernel
    assert kernel is not None
    line = re.search(r"__m256 previous = [^;]*_mm256_castps_si256\((\w+)\), _mm256_permute2x128_si256\("
                     r"_mm256_castps_si256\(\1\), _mm256_castps_si256\((\w+)\)[^;]*;", good.function)
    assert line is not None, good.function
    new, carry = line.group(1), line.group(2)
    carries = re.findall(r"__m256 (state\d*) = _mm256_set1_ps", good.function)
    assert carry in carries and len(carries) == 2
    other = next(c for c in carries if c != carry)
    reads_new = good.function.replace(line.group(0), f"__m256 previous = {new};")
    wrong_carry = good.function.replace(line.group(0), line.group(0).replace(f"_mm256_castps_si256({carry})",
                                                                              f"_mm256_castps_si256({other})"))
    assert reads_new != good.function and wrong_carry != good.function
    for status, detail in _verify([(kernel, replace(good, function=reads_new)), (kernel, replace(good, function=wrong_carry))],
                                  tmp_path):
        assert status == Status.MISMATCH, detail


def test_a_read_after_the_copy_of_a_temporary_assigned_again_stays_refused() -> None:
    """`prev = cur; cur = cur + 1; b[i] += prev;`: the read after the copy is not the temporary's final value."""
    _, a, _ = analyse("reassigned", """void ra(const float *restrict a, float *restrict b, int n) {
    float prev = 0.0f;
    for (int i = 0; i < n; i++) {
        float cur = a[i] * 2.0f;
        b[i] = prev;
        prev = cur;
        cur = cur + 1.0f;
        b[i] += prev;
    }
}""")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE


def test_a_scalar_read_between_its_assignment_and_its_compound_update_stays_refused() -> None:
    """`s = x[i] * 0.5f; y[i] += s; s += x[i];`: the read between sees the first part, not a carried value."""
    _, a, _ = analyse("between", """void tb(const float *restrict x, float *restrict y, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        y[i] = s;
        s = x[i] * 0.5f;
        y[i] += s;
        s += x[i];
    }
}""")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any("assigned several times" in r.message for r in a.reasons), a.reasons
