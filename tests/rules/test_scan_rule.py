"""Running sums (`b[i] = b[i - 1] + term`): compilers leave them scalar; simdlens says a SIMD scan
computes them, keeps them candidates, and its scan rewrite verifies through the sandbox (exactly for
integers, within the summation tolerance for floats). Recurrences no scan computes stay refused."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases
from test_complex_multiply import _verify

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

SCANS = {
    "scan_float": """void psum(float *restrict b, const float *restrict a, int n) {
    for (int i = 1; i < n; i++) b[i] = b[i - 1] + a[i];
}""",
    "scan_int_in_place": """void psum(int32_t *x, int n) {
    for (int i = 1; i < n; i++) x[i] += x[i - 1];
}""",
    "scan_widened_i64": """void wsum(int64_t *restrict x, const int32_t *restrict w, int n) {
    for (int i = 1; i < n; i++) x[i] = x[i - 1] + w[i];
}""",
    "scan_weighted_float": """void wsum(float *restrict x, const float *restrict w, const float *restrict v, int n) {
    for (int i = 1; i < n; i++) x[i] = x[i - 1] + w[i] * v[i];
}""",
    "scan_double_may_alias": """void cum(double *cum, const double *m, int n) {
    for (int i = 1; i < n; i++) cum[i] = cum[i - 1] + m[i];
}""",
    "scan_uint32_invariant": """void ramp(uint32_t *restrict a, uint32_t k, int n) {
    for (int i = 1; i < n; i++) a[i] = a[i - 1] + k;
}""",
    # the previous element inside a longer sum: `b[i - 1] + a[i] + d[i]` is `(b[i - 1] + a[i]) + d[i]`
    "scan_float_two_terms": """void psum2(float *restrict b, const float *restrict a, const float *restrict d, int n) {
    for (int i = 1; i < n; i++) b[i] = b[i - 1] + a[i] + d[i];
}""",
    "scan_int_term_first": """void psum3(int32_t *restrict b, const int32_t *restrict a, int n) {
    for (int i = 1; i < n; i++) b[i] = a[i] + b[i - 1] + 3;
}""",
    # a chain of additions and subtractions with loop-invariant scalars (TSVC s242): the rest is the term
    "scan_float_chain_scalars": """void s242(float *restrict a, const float *restrict b, const float *restrict c, float s1, float s2, int n) {
    for (int i = 1; i < n; i++) a[i] = a[i - 1] + s1 + s2 + b[i] + c[i];
}""",
    "scan_int_minus_term": """void delta(int32_t *restrict x, const int32_t *restrict y, const int32_t *restrict z, int n) {
    for (int i = 1; i < n; i++) x[i] = x[i - 1] - y[i] + z[i];
}""",
    # element-wise statements beside the running sum (TSVC s221), before it and after it
    "scan_float_beside_before": """void s221(float *restrict a, float *restrict b, const float *restrict c, const float *restrict d, int n) {
    for (int i = 1; i < n; i++) { a[i] += c[i] * d[i]; b[i] = b[i - 1] + a[i] + d[i]; }
}""",
    "scan_beside_after": """void twice(int32_t *restrict x, int32_t *restrict y, const int32_t *restrict z, int n) {
    for (int i = 1; i < n; i++) { x[i] = x[i - 1] + z[i]; y[i] = x[i] * 2; }
}""",
    "scan_float_beside_reads_old": """void old(float *restrict x, float *restrict y, const float *restrict z, int n) {
    for (int i = 1; i < n; i++) { y[i] = x[i] + 1.0f; x[i] = x[i - 1] + z[i]; }
}""",
    # 8/16-bit sums: C adds in int and truncates, wrapping narrow lanes give the same bits
    "scan_int16_dpcm": """void dpcm(int16_t *out, const int16_t *d, int n) {
    for (int i = 1; i < n; i++) out[i] = (int16_t)(out[i - 1] + d[i]);
}""",
    "scan_uint8": """void acc8(uint8_t *restrict out, const uint8_t *restrict d, int n) {
    for (int i = 1; i < n; i++) out[i] = out[i - 1] + d[i];
}""",
    # first-order linear recurrences (one-pole IIR filters, decays)
    "linear_float_iir": """void iir1(float *restrict y, const float *restrict c, const float *restrict x, int n) {
    for (int i = 1; i < n; i++) y[i] = c[i] * y[i - 1] + x[i];
}""",
    "linear_double_decay": """void decay(double *restrict y, const double *restrict x, double a, int n) {
    for (int i = 1; i < n; i++) y[i] = x[i] + y[i - 1] * a;
}""",
    # divided by an invariant (TSVC s2111's row, a one-pole average): the division distributed over the sum
    "linear_float_divided": """void avg(float *restrict y, const float *restrict x, float c, int n) {
    for (int i = 1; i < n; i++) y[i] = (y[i - 1] + x[i]) / c;
}""",
    "linear_double_prev_divided": """void ddiv(double *restrict y, const double *restrict x, double c, int n) {
    for (int i = 1; i < n; i++) y[i] = y[i - 1] / c + x[i];
}""",
    # a wavefront (TSVC s2111 style): along each row a divided recurrence whose term reads the row above
    "wavefront_rows_float": """float wave_grid[64][64];
void wave(void) {
    for (int j = 1; j < 64; j++)
        for (int i = 1; i < 64; i++)
            wave_grid[j][i] = (wave_grid[j][i - 1] + wave_grid[j - 1][i]) / 2.5f;
}""",
    # coupled recurrences: substituting a[i], b alone is first-order linear and a follows from b
    "coupled_float_pair": """void pair(float *restrict a, float *restrict b, const float *restrict c, const float *restrict d, int n) {
    for (int i = 1; i < n; i++) {
        a[i] = b[i - 1] + c[i];
        b[i] = a[i] * d[i];
    }
}""",
    "coupled_double_swapped": """void swapped(double *restrict p, double *restrict q, const double *restrict u, double g, int n) {
    for (int i = 1; i < n; i++) {
        q[i] = g * p[i - 1] - u[i];
        p[i] = q[i] + u[i] * 0.5;
    }
}""",
    "coupled_int_sum": """void csum(int32_t *restrict s, int32_t *restrict t, const int32_t *restrict v, int n) {
    for (int i = 1; i < n; i++) {
        s[i] = t[i - 1] + v[i];
        t[i] = s[i] + 3;
    }
}""",
    # the previous element subtracted (session 11): the term subtracted from it is a running sum of -a[i];
    # `1 - a[i - 1]` (TSVC s256's row) alternates with combined factors +-1 and terms 0 or 1 (exact);
    # a constant factor in (-1, 0) shrinks the combined factors (and old rounding errors with them);
    # a product over a sum with it is distributed (`z * (y + x)` = `z * x + z * y`)
    "scan_float_minus_previous_term": """void drain(float *restrict b, const float *restrict a, int n) {
    for (int i = 1; i < n; i++) b[i] = b[i - 1] - a[i];
}""",
    "linear_float_one_minus": """void flip(float *restrict a, int n) {
    for (int i = 1; i < n; i++) a[i] = 1.0f - a[i - 1];
}""",
    "linear_double_half_difference": """void halve(double *restrict x, const double *restrict y, int n) {
    for (int i = 1; i < n; i++) x[i] = 0.5 * (y[i] - x[i - 1]);
}""",
    "linear_float_product_of_sum": """void gain(float *restrict x, const float *restrict y, const float *restrict z, int n) {
    for (int i = 1; i < n; i++) x[i] = z[i] * (y[i] + x[i - 1]);
}""",
    # a store computed through temporaries of the body (Livermore kernel 23), whose term reads the rows above
    # and below and the old element ahead of the store (za[j][k + 1]): with qa substituted, a linear recurrence
    "linear_double_through_temporary_k23": """double k23_za[8][64], k23_zr[8][64], k23_zq[8][64], k23_zm[8][64];
void k23(void) {
    for (int j = 1; j < 7; j++)
        for (int k = 1; k < 63; k++) {
            double qa = k23_za[j + 1][k] * k23_zr[j][k] + k23_za[j - 1][k] * k23_zm[j][k] + k23_za[j][k + 1]
                        + k23_za[j][k - 1] * k23_zq[j][k];
            k23_za[j][k] += 0.175 * (qa - k23_za[j][k]);
        }
}""",
    "linear_float_through_temporary": """void tmp_iir(float *restrict x, const float *restrict y, const float *restrict c, int n) {
    for (int i = 1; i < n; i++) { float t = c[i] * x[i - 1]; x[i] = t + y[i]; }
}""",
    # the term reads the old element ahead of the store: each step loads it before it stores
    "scan_float_reads_ahead": """void ahead(float *restrict x, const float *restrict y, int n) {
    for (int i = 1; i < n - 1; i++) x[i] = x[i - 1] + 0.5f * x[i + 1] + y[i];
}""",
}
LINEAR = {"linear_double_through_temporary_k23", "linear_float_through_temporary", "linear_float_iir", "linear_double_decay", "coupled_float_pair", "coupled_double_swapped",
          "linear_float_divided", "linear_double_prev_divided", "wavefront_rows_float", "linear_float_one_minus",
          "linear_double_half_difference", "linear_float_product_of_sum"}
DISTRIBUTED = {"linear_double_half_difference", "linear_float_product_of_sum", "linear_double_through_temporary_k23"}
COUPLED = {"coupled_float_pair", "coupled_double_swapped", "coupled_int_sum"}
NARROW = {"scan_int16_dpcm", "scan_uint8"}

NOT_SCANS = {
    # a product and a non-linear update: no log-step scan of additions computes them
    "product_chain": """void pchain(float *restrict b, const float *restrict a, int n) {
    for (int i = 1; i < n; i++) b[i] = b[i - 1] * a[i];
}""",
    "nonlinear": """void chain(float *a, int n) {
    for (int i = 1; i < n; i++) a[i] = a[i] / (1.0f + a[i - 1] * a[i - 1]);
}""",
    # the previous element subtracted: each element flips its sign, not a running sum
    "minus_previous": """void alt(int32_t *restrict x, const int32_t *restrict y, int n) {
    for (int i = 1; i < n; i++) x[i] = y[i] + 1 - x[i - 1];
}""",
    # a linear recurrence with another statement: its non-finite steps are redone in scalar, which would
    # run the other statement twice
    "linear_beside": """void iir_side(float *restrict y, float *restrict o, const float *restrict c, const float *restrict x, int n) {
    for (int i = 1; i < n; i++) { o[i] = x[i] * 2.0f; y[i] = c[i] * y[i - 1] + x[i]; }
}""",
    # reads two earlier elements: a second-order recurrence
    "two_back": """void fib(int32_t *f, int n) {
    for (int i = 2; i < n; i++) f[i] = f[i - 1] + f[i - 2];
}""",
    # divided by a value read from the array itself: no factor describes it
    "divided_by_itself": """void dself(float *restrict y, const float *restrict x, int n) {
    for (int i = 1; i < n; i++) y[i] = (y[i - 1] + x[i]) / y[i - 1];
}""",
    # the term reads a row that may be the row being written (k == j): not a separate row
    "row_maybe_the_same": """float rg[64][64];
void rows_k(int k) {
    for (int j = 1; j < 64; j++)
        for (int i = 1; i < 64; i++)
            rg[j][i] = rg[j][i - 1] * 0.5f + rg[k][i];
}""",
    # rows of a pointer-to-pointer grid may be the same storage
    "pointer_rows": """void prow(float **g, int n) {
    for (int j = 1; j < n; j++)
        for (int i = 1; i < n; i++)
            g[j][i] = g[j][i - 1] * 0.5f + g[j - 1][i];
}""",
    # a linear recurrence whose terms cancel (forward substitution): no tolerance bounds its reassociation
    "linear_minus": """void fsub(double *restrict x, const double *restrict l, int n) {
    for (int i = 1; i < n; i++) x[i] -= l[i] * x[i - 1];
}""",
    # Livermore kernel 5 (tridiagonal elimination): the factor -z[i] negated and varying, see below
    "k5_tridiagonal": """void k5(float *restrict x, const float *restrict y, const float *restrict z, int n) {
    for (int i = 1; i < n; i++) x[i] = z[i] * (y[i] - x[i - 1]);
}""",
    "one_pole_on_the_output": """void lp(float *restrict y, const float *restrict x, float a, int n) {
    for (int i = 1; i < n; i++) y[i] = y[i - 1] + a * (x[i] - y[i - 1]);
}""",
    # factor -1 with a varying term: an alternating sum of every term before it, which crosses zero
    "alternating_sum": """void alt(double *restrict x, const double *restrict y, int n) {
    for (int i = 1; i < n; i++) x[i] = y[i] - x[i - 1];
}""",
    # integer products overflow (undefined for int): only sums are integer scans
    "linear_int": """void lcg(int32_t *restrict x, const int32_t *restrict a, int n) {
    for (int i = 1; i < n; i++) x[i] = a[i] * x[i - 1] + 1;
}""",
    # coupled, but b[i] is not linear in b[i - 1]
    "coupled_nonlinear": """void cn(float *restrict a, float *restrict b, const float *restrict c, int n) {
    for (int i = 1; i < n; i++) {
        a[i] = b[i - 1] * b[i - 1];
        b[i] = a[i] + c[i];
    }
}""",
    # (a pair where a also reads its own previous element is a 2 x 2 system: test_matrix_scan.py)
}


@pytest.mark.parametrize("name", list(SCANS))
def test_a_running_sum_is_a_candidate_with_the_reason_a_simd_engineer_gives(name: str) -> None:
    _, a, kernel = analyse(name, SCANS[name])
    assert a.verdict in (LoopVerdict.VECTORIZABLE, LoopVerdict.VECTORIZABLE_WITH_CHECKS), a.reasons
    assert "scan" in a.facts
    summary = a.reasons[0]
    assert summary.code == "scan"
    assert "Compilers leave this recurrence scalar" in summary.message and "SIMD scan" in summary.message
    assert ("linear recurrence" in summary.message) == (name in LINEAR)
    assert ("coupled recurrences" in summary.message) == (name in COUPLED)
    assert kernel is not None


@pytest.mark.parametrize("name", list(NOT_SCANS))
def test_other_recurrences_stay_refused(name: str) -> None:
    _, a, _ = analyse(name, NOT_SCANS[name])
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert "scan" not in a.facts
    assert any(r.code in ("recurrence", "distance") for r in a.reasons), a.reasons


@pytest.mark.parametrize(("name", "says"), [
    ("k5_tridiagonal", "subtracted under a varying factor (from z): a SIMD scan would compute it, but where that "
                       "factor is negative its combined terms alternate in sign and cancel"),
    # the classic one-pole lowpass written on the previous output: its factor 1 - a has the sign a gives it
    ("one_pole_on_the_output", "subtracted under a loop-invariant but signed factor (from a)"),
    ("linear_minus", "subtracted under a varying factor (from l)"),
    ("alternating_sum", "with f = -1 alternates: each value is an alternating sum of all the terms before it"),
])
def test_a_cancelling_recurrence_says_why_no_scan_is_offered(name: str, says: str) -> None:
    """A stress run of the sandbox's own data exceeded its tolerance for these (docs/rules.md): the reason
    names the algorithm, why its result cannot be checked, and the forms that are scanned."""
    _, a, _ = analyse(name, NOT_SCANS[name])
    message = next(r.message for r in a.reasons if r.code == "recurrence")
    assert says in message, message
    assert "no rewrite is offered" in message and "is scanned" in message


OTHER_REASONS = {
    # TSVC s222's e[i] = e[i-1] * e[i-1]: the reason says why no scan computes it
    "squared_previous": ("""void sq(float *restrict e, int n) {
    for (int i = 1; i < n; i++) e[i] = e[i - 1] * e[i - 1];
}""", "not a linear function of the previous one (multiplied by itself): a non-linear recurrence"),
    # TSVC s256: a scan by itself, kept from being one by a column store beside it
    "scan_beside_a_column": ("""float col_a[64], col_aa[64][64], col_bb[64][64];
void beside(void) {
    for (int i = 0; i < 64; i++)
        for (int j = 1; j < 64; j++) {
            col_a[j] = 1.0f - col_a[j - 1];
            col_aa[j][i] = col_a[j] + col_bb[j][i];
        }
}""", "by itself a scan, but a statement beside it stores with a stride (a column)"),
    # TSVC s257: a[i] written, then read in the same iteration of the inner loop: no value crosses iterations
    "written_then_read": ("""float wr_a[64], wr_aa[64][64], wr_bb[64][64];
void wr(void) {
    for (int i = 1; i < 64; i++)
        for (int j = 0; j < 64; j++) {
            wr_a[i] = wr_aa[j][i] - wr_a[i - 1];
            wr_aa[j][i] = wr_a[i] + wr_bb[j][i];
        }
}""", "read only after that write in the same iteration (wr_a[i]): a value kept in memory, not carried"),
    # through a temporary, with a second store beside the scan's: not the shape the rule takes
    "through_a_temporary_beside": ("""void tb(float *restrict x, float *restrict o, const float *restrict c, const float *restrict y, int n) {
    for (int i = 1; i < n; i++) { float t = c[i] * x[i - 1]; x[i] = t + y[i]; o[i] = t; }
}""", "with the temporary t substituted, a first-order linear recurrence along the loop, which a SIMD scan "
       "computes; the scan rule takes a store computed through temporaries only when the body is those "
       "temporaries and that store"),
}


@pytest.mark.parametrize("name", list(OTHER_REASONS))
def test_a_refused_recurrence_says_what_kind_it_is(name: str) -> None:
    code, says = OTHER_REASONS[name]
    _, a, _ = analyse(name, code)
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    message = next(r.message for r in a.reasons if r.code == "recurrence")
    assert says in message, message


@pytest.fixture(scope="module")
def scans(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(SCANS.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(SCANS))
def test_the_scan_rewrite_verifies(scans: dict[str, CaseResult], name: str, isa: str) -> None:
    case = scans[name]
    if isa == "avx512" and name in NARROW:  # no 512-bit lane shift of bytes / words in the table yet
        assert isa not in case.results and any("no scan_shift1" in note for note in case.notes[isa]), case.notes
        return
    assert isa in case.results, case.notes
    result = case.results[isa]
    cand = result.candidate
    assert cand.origin == "rules:scan"
    floats = "float" in name or "double" in name
    assert any("reassociates floating-point additions" in c for c in cand.caveats) == floats
    # combined factors can overflow or meet inf * 0 where the loop's order does not: such steps run in scalar
    assert any("recomputed in scalar" in c for c in cand.caveats) == (name in LINEAR)
    assert any("distributes the product over the sum" in c for c in cand.caveats) == (name in DISTRIBUTED)
    # log-step: the in-vector shifts and the carry from the previous vector come from the ISA table
    assert "carry" in cand.function
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{cand.function}"
    assert ("exactly" in result.verdict.detail) == (not floats), result.verdict.detail


@needs_compiler
@pytest.mark.sandbox
def test_a_divided_recurrence_read_as_a_product_never_verifies(scans: dict[str, CaseResult], tmp_path: Path) -> None:
    """`(y[i-1] + x[i]) / c` with the factor read as `1 * c` (the division taken for a product): a mismatch."""
    require_host("avx2")
    case = scans["linear_float_divided"]
    good = case.results["avx2"].candidate
    assert case.kernel is not None
    divisions = re.findall(r"_mm256_div_ps\(\w+, \w+\)", good.function)  # the terms' x / c, then the factor 1 / c
    assert len(divisions) == 2, good.function
    wrong = good.function.replace(divisions[1], divisions[1].replace("_mm256_div_ps", "_mm256_mul_ps"))
    assert wrong != good.function
    ((status, detail),) = _verify([(case.kernel, replace(good, function=wrong))], tmp_path)
    assert status == Status.MISMATCH, detail
