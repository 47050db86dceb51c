"""Complex sums and dot products (`acc += a[i]`, `acc += a[i] * conjf(b[i])`): the kernel returns the
complex accumulator, the harness draws both parts of its initial value and compares the real and the
imaginary part of the result with the float-reduction tolerance (the rewrite reassociates the additions);
products whose parts are both NaN are recomputed with the user's operator (C Annex G), which a direct
build shows on infinite operands. Other updates of a complex accumulator are refused naming the type."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from rules_support import require_host, run_edited_against_original
from test_complex_multiply import _all_verified, _candidate, _loops, _verify

from simdlens.core import Candidate, Kernel, LoopVerdict, Status

SOURCE = b"""#include <complex.h>
typedef float complex lv_32fc_t;
typedef double _Complex z_t;

lv_32fc_t cdot(const lv_32fc_t *a, const lv_32fc_t *b, int n) {
    lv_32fc_t acc = 0;
    for (int i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
}
lv_32fc_t cdotc(const lv_32fc_t *a, const lv_32fc_t *b, unsigned n) {
    lv_32fc_t acc = 0;
    for (unsigned i = 0; i < n; i++)
        acc += a[i] * conjf(b[i]);
    return acc;
}
lv_32fc_t csum(const lv_32fc_t *x, int n) {
    lv_32fc_t s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s;
}
z_t zneg_sum(const z_t *x, int n) {
    z_t s = 0;
    for (int i = 0; i < n; i++)
        s -= x[i];
    return s;
}
z_t zdotc(const z_t *x, const z_t *y, int n) {
    z_t acc = 0;
    for (int i = 0; i < n; i++)
        acc += conj(x[i]) * y[i];
    return acc;
}
double complex ztotal(const double complex *x, int n) {
    double complex s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s;
}
lv_32fc_t cscaled(const lv_32fc_t *x, int n) {
    lv_32fc_t s = 0;
    for (int i = 0; i < n; i++)
        s += x[i] * 0.5f;
    return s;
}
lv_32fc_t cdot_real(const lv_32fc_t *taps, const float *x, unsigned n) {
    lv_32fc_t acc = 0;
    for (unsigned i = 0; i < n; i++)
        acc += taps[i] * x[i];
    return acc;
}
lv_32fc_t cdot_s16(const short *x, const lv_32fc_t *taps, unsigned n) {
    lv_32fc_t acc = 0;
    for (unsigned i = 0; i < n; i++)
        acc += taps[i] * (float)x[i];
    return acc;
}
z_t zdot_real(const z_t *z, const double *w, int n) {
    z_t s = 0;
    for (int i = 0; i < n; i++)
        s += w[i] * z[i];
    return s;
}
lv_32fc_t cstrided_scale(const lv_32fc_t *x, const float *w, int n) {
    lv_32fc_t s = 0;
    for (int i = 0; i < n; i++)
        s += x[i] * w[2 * i];
    return s;
}
lv_32fc_t cnarrowed_scale(const z_t *z, const double *w, int n) {
    lv_32fc_t s = 0;
    for (int i = 0; i < n; i++)
        s += z[i] * w[i];
    return s;
}
lv_32fc_t cprod(const lv_32fc_t *x, int n) {
    lv_32fc_t p = 1;
    for (int i = 0; i < n; i++)
        p *= x[i];
    return p;
}
lv_32fc_t cpositive(const lv_32fc_t *x, const float *w, int n) {
    lv_32fc_t s = 0;
    for (int i = 0; i < n; i++)
        if (w[i] > 0) s += x[i];
    return s;
}
"""

SOURCE_CPP = b"""#include <complex>
typedef std::complex<float> cf;
cf cdotc(const cf *a, const cf *b, int n) {
    cf acc = 0;
    for (int i = 0; i < n; i++)
        acc += a[i] * std::conj(b[i]);
    return acc;
}
"""

REDUCED = ("cdot", "cdotc", "csum", "zneg_sum", "zdotc", "ztotal", "cdot_real", "cdot_s16", "zdot_real", "cscaled")


def _reduced(name: str, source: bytes = SOURCE, path: str = "dot.c", lang: str = "c") -> tuple[Kernel, Candidate]:
    return _candidate(name, source=source, path=path, lang=lang)


def test_the_kernel_returns_the_complex_accumulator_in_the_users_type() -> None:
    kernel, cand = _reduced("cdotc")
    assert cand.origin == "rules:complex_reduce"
    assert kernel.signature.startswith("lv_32fc_t simdlens_kernel(") and "lv_32fc_t acc" in kernel.signature
    assert kernel.return_type is not None and kernel.return_type.is_complex
    assert any("reassociates" in c for c in cand.caveats)  # compared with the float-reduction tolerance
    assert "_mm256_xor_ps" in cand.function  # conj: the imaginary lanes' signs flipped
    assert "conjf(b[(i + k)])" in cand.function  # Annex G: the user's own operator on those elements
    assert len(re.findall(r"acc_v\d* = _mm256_add_ps", cand.function)) >= 2  # two accumulators in flight
    # `double complex s` (which the syntax tree reads as `double`): the kernel still returns the complex
    total, _ = _reduced("ztotal")
    assert total.signature.startswith("double complex simdlens_kernel(") and "double complex s" in total.signature


def test_a_complex_times_a_real_element_is_summed_with_the_real_duplicated_into_both_lanes() -> None:
    """`acc += taps[i] * x[i]` (x real: a FIR's complex taps on a real signal): C multiplies each part by x
    (no Annex G case), so the rewrite multiplies the taps by x duplicated into both lanes of each element."""
    for name, dup in (("cdot_real", "_mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps("),
                      ("cdot_s16", "_mm_cvtepi32_ps(_mm_cvtepi16_epi32(_mm_loadu_si64("),
                      ("zdot_real", "_mm256_permute4x64_pd(_mm256_castpd128_pd256(_mm_loadu_pd(")):
        _, cand = _reduced(name)
        assert cand.origin == "rules:complex_reduce" and dup in cand.function, (name, cand.function)
        assert "both_nan" not in cand.function and "addsub" not in cand.function  # no complex product
    _, scaled = _reduced("cscaled")  # `s += x[i] * 0.5f`: the constant broadcast once, before the loop
    assert "_mm256_set1_ps(0.5f)" in scaled.function.split("for (;")[0], scaled.function


@pytest.mark.parametrize(("name", "words"), [
    ("cstrided_scale", ("'lv_32fc_t'", "real multiples")),
    ("cnarrowed_scale", ("'lv_32fc_t'", "'z_t' values")),  # double parts summed into float ones
    ("cprod", ("'lv_32fc_t'", "only complex sums and dot products")),
    ("cpositive", ("'lv_32fc_t'", "unconditional")),
])
def test_other_complex_accumulators_are_refused_naming_the_type(name: str, words: tuple[str, ...]) -> None:
    a, kernel = _loops(SOURCE, "dot.c", "c")[name]
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and kernel is None
    assert all(w in a.reasons[0].message for w in words), a.reasons


@pytest.mark.sandbox
def test_sums_and_dot_products_verify_within_the_float_tolerance_in_c_and_cpp(tmp_path: Path) -> None:
    work = [_reduced(name) for name in REDUCED]
    work.append(_reduced("cdotc", source=SOURCE_CPP, path="dot.cpp", lang="cpp"))
    _all_verified(work, [*REDUCED, "std::complex<float>"], tmp_path, "tolerance")


@pytest.mark.sandbox
def test_wrong_complex_reductions_never_verify(tmp_path: Path) -> None:
    """The real and imaginary sums swapped, and the conj left out: each is a mismatch (the harness
    compares both parts of the returned accumulator, from a random complex initial value)."""
    kernel, good = _reduced("cdotc")
    swapped = good.function.replace("&(acc))[0] +=", "&(acc))[2] +=").replace(
        "&(acc))[1] +=", "&(acc))[0] +=").replace("&(acc))[2] +=", "&(acc))[1] +=")
    no_conj = re.sub(r"_mm256_xor_ps\((\w+), _mm256_setr_ps\([^)]*\)\)", r"\1", good.function)
    assert swapped != good.function and no_conj != good.function
    wrong = [(kernel, replace(good, function=swapped)), (kernel, replace(good, function=no_conj))]
    for status, detail in _verify(wrong, tmp_path):
        assert status == Status.MISMATCH, detail


MAIN = r"""
#include <complex.h>
#include <math.h>
#include <stdio.h>
typedef float complex lv_32fc_t;
lv_32fc_t cdotc(const lv_32fc_t *a, const lv_32fc_t *b, unsigned n);
lv_32fc_t original(const lv_32fc_t *a, const lv_32fc_t *b, unsigned n);

int main(void) {
    /* (inf, inf) * conj(1, 0): the four products give (NaN, NaN); Annex G recovers (inf, inf) */
    lv_32fc_t a[19], b[19];
    int bad = 0, recovered = 0;
    for (int at = 0; at < 19; at++) {
        for (int k = 0; k < 19; k++) { a[k] = CMPLXF(0.5f + k, 1.0f); b[k] = CMPLXF(1.0f, -0.25f * k); }
        a[at] = CMPLXF(INFINITY, INFINITY);
        b[at] = CMPLXF(1.0f, 0.0f);
        for (unsigned n = (unsigned)at + 1; n <= 19; n += 5) {
            lv_32fc_t got = cdotc(a, b, n), want = original(a, b, n);
            if (isnan(crealf(got)) != isnan(crealf(want)) || isnan(cimagf(got)) != isnan(cimagf(want))
                || isinf(crealf(got)) != isinf(crealf(want)) || isinf(cimagf(got)) != isinf(cimagf(want))) {
                printf("differs: at %d n %u: (%g, %g) vs (%g, %g)\n", at, n, crealf(got), cimagf(got),
                       crealf(want), cimagf(want));
                bad = 1;
            }
            recovered += isinf(crealf(want)) && !isnan(crealf(want));
        }
    }
    printf("annex-g recoveries: %d\n", recovered);
    return bad || recovered == 0;
}
"""


def test_an_infinite_product_is_summed_as_annex_g_gives_it(tmp_path: Path) -> None:
    """The edited file against the original on an element (inf, inf) * conj(1, 0), whose four products
    are (NaN, NaN) and whose C product is infinite: the sum stays infinite, as in the user's code, at
    every position of that element (vector steps and the masked remainder)."""
    require_host("avx2")
    source = (b"#include <complex.h>\ntypedef float complex lv_32fc_t;\nlv_32fc_t cdotc("
              + SOURCE.split(b"lv_32fc_t cdotc(")[1].split(b"lv_32fc_t csum(")[0])
    _, cand = _candidate("cdotc", ("-O2", "-mavx2", "-mfma"), source=source, path="dot.c")
    original = source.decode()
    run = run_edited_against_original(tmp_path, "avx2", "cdotc", source, cand.edits, original, MAIN)
    assert run.returncode == 0, run.stdout[:2000] + run.stderr[:2000]
    assert int(run.stdout.rsplit(":", 1)[1]) > 0


@pytest.mark.sandbox
def test_a_complex_result_misread_as_its_part_type_fails_to_build(tmp_path: Path) -> None:
    """A kernel returning `double` where the driver reads a `double complex` (the syntax tree's reading of
    `double complex s`) would hand back the imaginary part by accident of registers: it does not build."""
    kernel, cand = _reduced("ztotal")
    misread = kernel.source.replace("double complex simdlens_kernel(", "double simdlens_kernel(", 1)
    bad = replace(kernel, source=misread, signature=kernel.signature.replace("double complex simdlens_kernel(",
                                                                             "double simdlens_kernel(", 1))
    assert misread != kernel.source
    ((status, detail),) = _verify([(bad, replace(cand, function=misread))], tmp_path)
    assert status != Status.VERIFIED and "the kernel returns double" in detail, detail


@pytest.mark.sandbox
def test_a_real_factor_in_the_wrong_lanes_never_verifies(tmp_path: Path) -> None:
    """x[k] must scale both parts of element k: the factors laid out lane by lane instead is a mismatch."""
    kernel, good = _reduced("cdot_real")
    lane_wise = good.function.replace("_mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3)", "_mm256_setr_epi32(0, 1, 2, 3, 0, 1, 2, 3)")
    assert lane_wise != good.function
    ((status, detail),) = _verify([(kernel, replace(good, function=lane_wise))], tmp_path)
    assert status == Status.MISMATCH, detail


def test_the_accumulators_in_flight_come_from_the_isa_table() -> None:
    """As many vector sums in flight as the table's add latency x steps per cycle (bounded by the loads a step
    makes) asks for: a dot product (two loads a step) and a sum (one) on AVX2, each folded once after the loop."""
    from simdlens.rules.tables import load_isa

    table = load_isa("avx2")
    for name, loads in (("cdotc", 2), ("csum", 1)):
        _, cand = _reduced(name)
        want = table.accumulators("add", "float", loads)
        assert want > 1
        declared = re.findall(r"__m256 (acc_v\d*) = _mm256_set1_ps\(0\)", cand.function)
        assert len(declared) == want, cand.function
        assert f"for (; left >= {want * 4}; left -= {want * 4})" in cand.function, cand.function
