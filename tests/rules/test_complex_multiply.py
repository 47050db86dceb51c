"""Complex multiply `c[i] = a[i] * b[i]`: rewritten as the user's gcc build computes it (separate or fused
products, C Annex G's __mulsc3/__muldc3 for elements whose parts are both NaN), or refused naming the
complex type and the flag. The sandbox compares exactly with inf/NaN operands, so a lane-wise multiply, a
rewrite without the NaN redo or with the wrong fusion never verifies."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from rules_support import apply_edits, build_and_run, require_host, verify_each

from simdlens.analysis import analyze_file
from simdlens.config import SandboxSettings, Settings
from simdlens.core import Analysis, Candidate, Kernel, LoopRole, LoopVerdict, Status
from simdlens.rules import propose

SOURCE = b"""#include <complex.h>
typedef float complex sample32f_t;
typedef _Complex float cf32_t;
typedef double _Complex z_t;

void cmul(sample32f_t *c, const sample32f_t *a, const sample32f_t *b, unsigned n) {
    for (unsigned i = 0; i < n; i++) c[i] = a[i] * b[i];
}
void cmul_cf32(cf32_t *restrict c, const cf32_t *restrict a, const cf32_t *restrict b, int n) {
    for (int i = 0; i < n; i++)
        c[i] = a[i] * conjf(b[i]);
}
void zmul(z_t *restrict c, const z_t *restrict a, const z_t *restrict b, int n) {
    for (int i = 0; i < n; i++) c[i] = a[i] * b[i];
}
void zmul_inplace(double complex *restrict x, const double complex *restrict w, int n) {
    for (int i = 0; i < n; i++) x[i] *= w[i];
}
void cmul_walk(sample32f_t *cVector, const sample32f_t *aVector, const sample32f_t *bVector, unsigned n) {
    sample32f_t *cPtr = cVector;
    const sample32f_t *aPtr = aVector;
    const sample32f_t *bPtr = bVector;
    for (unsigned number = 0; number < n; number++)
        *cPtr++ = (*aPtr++) * (*bPtr++);
}
void cmul_conj_walk(sample32f_t *cVector, const sample32f_t *aVector, const sample32f_t *bVector, unsigned n) {
    sample32f_t *cPtr = cVector;
    const sample32f_t *aPtr = aVector;
    const sample32f_t *bPtr = bVector;
    for (unsigned number = 0; number < n; number++)
        *cPtr++ = (*aPtr++) * conjf(*bPtr++);
}
void cmul_sum(float complex *restrict c, const float complex *restrict a, const float complex *restrict b, int n) {
    for (int i = 0; i < n; i++) c[i] = a[i] * b[i] + a[i];
}
"""

SOURCE_CPP = b"""#include <complex>
typedef std::complex<float> cf;
void cmul(cf *__restrict c, const cf *__restrict a, const cf *__restrict b, int n) {
    for (int i = 0; i < n; i++) c[i] = a[i] * b[i];
}
void cmul_conj_walk(cf *c, const cf *a, const cf *b, unsigned n) {
    for (unsigned k = 0; k < n; k++) *c++ = std::conj(*a++) * *b++;
}
"""

PRODUCTS = ("cmul", "cmul_cf32", "zmul", "zmul_inplace", "cmul_walk", "cmul_conj_walk")


def _loops(source: bytes, path: str, lang: str) -> dict[str, tuple[Analysis, Kernel | None]]:
    fa = analyze_file(source, path, lang)  # type: ignore[arg-type]
    return {a.site.function or "": (a, fa.kernels.get(a.site.loop_id)) for a in fa.analyses
            if a.site.role != LoopRole.OUTER}


def _candidate(name: str, flags: tuple[str, ...] = ("-O2",), source: bytes = SOURCE, path: str = "iq.c",
               lang: str = "c", compiler: str = "") -> tuple[Kernel, Candidate]:
    a, kernel = _loops(source, path, lang)[name]
    assert kernel is not None, (name, a.reasons)
    proposal = propose(a, kernel, "avx2", Settings(compiler=compiler), source=source, user_flags=flags)
    assert proposal.candidates, (name, proposal.notes)
    return kernel, proposal.candidates[0]


def _verify(work: list[tuple[Kernel, Candidate]], tmp_path: Path, extra: tuple[str, ...] = (),
            compiler: str = "") -> list[tuple[Status, str]]:
    settings = Settings(cache_dir=str(tmp_path / "cache"), jobs=2, extra_flags=extra, compiler=compiler,
                        sandbox=SandboxSettings(cpu_seconds=10, wall_seconds=30.0))
    return verify_each(work, settings)


def _all_verified(work: list[tuple[Kernel, Candidate]], names: list[str], tmp_path: Path, how: str) -> None:
    """Every candidate of `work` verifies, `how` ("exactly", "tolerance") saying how it was compared."""
    for (status, detail), name in zip(_verify(work, tmp_path), names, strict=True):
        assert status == Status.VERIFIED and how in detail, (name, detail)


def test_the_rewrite_follows_the_builds_products() -> None:
    """Default -O2 (no FMA): products rounded one by one; double under -mfma: gcc's vfmaddsub (even with
    -ffp-contract=off); float under -mfma: gcc's SLP path keeps mulps + addsubps."""
    _, plain = _candidate("zmul")
    assert "_mm256_addsub_pd" in plain.function and "fmaddsub" not in plain.function
    _, fused = _candidate("zmul", ("-O2", "-mfma", "-ffp-contract=off"))
    assert "_mm256_fmaddsub_pd" in fused.function and "-mfma" in fused.flags
    _, single = _candidate("cmul", ("-O2", "-mfma"))
    assert "_mm256_addsub_ps" in single.function and "fmaddsub" not in single.function
    for cand in (plain, fused, single):
        assert cand.origin == "rules:complex_multiply"
        assert "_mm256_mul_ps(a_v, b_v)" not in cand.function  # never lane by lane
        assert re.search(r"_mm256_movemask_p[sd]\(both_nan\)", cand.function)  # Annex G elements redone
        assert "c[i] = a[i] * b[i];" in cand.function  # ... by the user's own statement
        assert not any(re.search(r"\bfused\b|\bfma\b|reassoc", c) for c in cand.caveats)  # compared exactly


def test_a_pointer_walk_redoes_annex_g_elements_with_an_indexed_statement() -> None:
    """`*cPtr++ = (*aPtr++) * (*bPtr++);` cannot run as written inside the vector step (the vector code
    indexes the pointers): the redo is the same product on the user's own pointers, indexed."""
    _, cand = _candidate("cmul_walk")
    assert "cPtr[number] = aPtr[number] * bPtr[number];" in cand.function
    assert "*cPtr++" not in cand.function.split("#else")[0].split("else {")[0]


def test_a_conjugated_pointer_walk_redoes_annex_g_elements_with_the_languages_conj() -> None:
    """`*cPtr++ = (*aPtr++) * conjf(*bPtr++)` (VOLK's multiply_conjugate): the redo conjugates as the
    user's language spells it (a GCC/clang builtin in C, needing no header; std::conj in C++)."""
    _, cand = _candidate("cmul_conj_walk")
    assert "cPtr[number] = aPtr[number] * __builtin_conjf(bPtr[number]);" in cand.function
    _, cpp = _candidate("cmul_conj_walk", source=SOURCE_CPP, path="iq.cpp", lang="cpp")
    assert "std::conj(a[k]) * b[k];" in cpp.function, cpp.function


@pytest.mark.parametrize(("name", "flags", "fused"), [
    ("cmul", ("-O1", "-mfma"), False),
    ("cmul", ("-Os", "-mfma"), False),
    ("cmul", ("-O3", "-march=native"), False),
    ("zmul", ("-O3", "-march=haswell"), True),
    ("zmul", ("-O3", "-march=native"), True),
    ("zmul", ("-O2", "-mfma", "-fno-tree-vectorize"), True),
    ("zmul", ("-O2", "-mfma", "-fno-tree-vectorize", "-ffp-contract=off"), False),
    ("zmul", ("-std=c11", "-O2", "-mfma", "-fno-tree-vectorize"), False),  # ISO C: contraction off by default
    ("zmul", ("-O2", "-mfma", "-mno-fma"), False),  # the last flag wins
])
def test_products_per_flag_set_as_read_from_gccs_code(name: str, flags: tuple[str, ...], fused: bool) -> None:
    """What objdump showed for each flag set (docs/rules.md "Complex multiply"). The sandbox verified such
    rewrites under each of these flag sets on the development VM, except -std=c11 (the sandbox's test
    driver does not build under strict ISO C: CLOCK_MONOTONIC)."""
    _, cand = _candidate(name, flags)
    assert ("fmaddsub" in cand.function) == fused


@pytest.mark.parametrize(("name", "flags", "words"), [
    ("cmul", ("-O2", "-ffast-math"), ("'sample32f_t'", "-ffast-math")),
    ("zmul", ("-O3", "-march=native", "-ffp-contract=off"), ("'z_t'", "-march=native", "not measured")),
    ("cmul_cf32", ("-O2", "-mfma", "-fno-tree-vectorize"), ("'cf32_t'", "-fno-tree-vectorize")),
])
def test_flags_whose_products_are_not_known_are_refused_naming_the_type_and_flag(
        name: str, flags: tuple[str, ...], words: tuple[str, ...]) -> None:
    a, kernel = _loops(SOURCE, "iq.c", "c")[name]
    assert kernel is not None
    proposal = propose(a, kernel, "avx2", Settings(), source=SOURCE, user_flags=flags)
    assert not proposal.candidates
    assert all(w in proposal.notes[0] for w in words), proposal.notes


def test_a_product_inside_a_larger_expression_is_refused_with_annex_g() -> None:
    a, kernel = _loops(SOURCE, "iq.c", "c")["cmul_sum"]
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and kernel is None
    text = a.reasons[0].message
    assert "complex multiply of 'float complex' inside a larger expression" in text and "Annex G" in text


@pytest.mark.sandbox
def test_products_verify_exactly_in_c_and_cpp(tmp_path: Path) -> None:
    work = [_candidate(name) for name in PRODUCTS]
    work += [_candidate(name, source=SOURCE_CPP, path="iq.cpp", lang="cpp") for name in ("cmul", "cmul_conj_walk")]
    names = [*PRODUCTS, "std::complex<float>", "std::conj walk"]
    for (status, detail), name in zip(_verify(work, tmp_path), names, strict=True):
        assert status == Status.VERIFIED, (name, detail)
        assert "exactly" in detail, (name, detail)


@pytest.mark.sandbox
def test_fused_products_verify_under_the_users_mfma(tmp_path: Path) -> None:
    flags = ("-O2", "-mfma")
    work = [_candidate("zmul", flags), _candidate("zmul_inplace", flags), _candidate("cmul_cf32", flags)]
    assert "fmaddsub" in work[0][1].function and "fmaddsub" not in work[2][1].function
    for status, detail in _verify(work, tmp_path, extra=("-mfma",)):
        assert status == Status.VERIFIED and "exactly" in detail, detail


@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("clang-19") is None, reason="clang-19 not installed")
def test_clang_never_fuses_the_products(tmp_path: Path) -> None:
    """clang 19 keeps every product rounded, -mfma or not: the double product verifies without fmaddsub."""
    flags = ("-O2", "-mfma")
    work = [_candidate("zmul", flags, compiler="clang-19"), _candidate("cmul_cf32", flags, compiler="clang-19")]
    assert all("fmaddsub" not in cand.function for _, cand in work)
    for status, detail in _verify(work, tmp_path, extra=("-mfma",), compiler="clang-19"):
        assert status == Status.VERIFIED and "exactly" in detail, detail


@pytest.mark.sandbox
def test_wrong_complex_multiplies_never_verify(tmp_path: Path) -> None:
    """A lane-wise multiply, the right products without the Annex G redo, and fused products for a build
    that does not fuse: each is caught by the exact comparison with inf/NaN operands."""
    kernel, good = _candidate("cmul")
    lanewise = good.function.replace("_mm256_addsub_ps(straight, cross)", "_mm256_mul_ps(a_v, b_v)")
    no_redo = re.sub(r"if \(redo == 0\)", "if (1)", good.function, count=1)
    zkernel, zgood = _candidate("zmul")
    _, zfused = _candidate("zmul", ("-O2", "-mfma"))
    wrong = [(kernel, replace(good, function=lanewise)), (kernel, replace(good, function=no_redo)),
             (zkernel, replace(zgood, function=zfused.function, flags=zfused.flags))]
    assert lanewise != good.function and no_redo != good.function and zfused.function != zgood.function
    for status, detail in _verify(wrong, tmp_path):
        assert status == Status.MISMATCH, detail


MAIN = r"""
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
typedef float complex sample32f_t;
void cmul(sample32f_t *c, const sample32f_t *a, const sample32f_t *b, unsigned n);
void original_cmul(sample32f_t *c, const sample32f_t *a, const sample32f_t *b, unsigned n);
void zmul(double _Complex *restrict c, const double _Complex *restrict a, const double _Complex *restrict b, int n);
void original_zmul(double _Complex *restrict c, const double _Complex *restrict a, const double _Complex *restrict b, int n);

#define N 67
static float complex A[N], B[N], C1[N], C2[N];
static double complex ZA[N], ZB[N], Z1[N], Z2[N];

/* exact: bit for bit, or both NaN (the harness's rule) */
static int same(double x, double y) { return (isnan(x) && isnan(y)) || memcmp(&x, &y, sizeof x) == 0; }

int main(void) {
    const double special[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e308, 3.4e38, -1.5, 2.0};
    int bad = 0, recovered = 0;
    for (int seed = 0; seed < 400; seed++) {
        for (int k = 0; k < N; k++) {
            int s = seed * 31 + k * 7;
            A[k] = CMPLXF((float)special[s % 10], (float)special[(s / 10) % 10]);
            B[k] = CMPLXF((float)special[(s / 3) % 10], (float)special[(s / 7) % 10]);
            ZA[k] = CMPLX(special[(s / 11) % 10], special[(s / 2) % 10]);
            ZB[k] = CMPLX(special[(s / 5) % 10], special[(s / 13) % 10]);
        }
        for (unsigned n = 0; n <= N; n += 3) {
            memset(C1, 0, sizeof C1); memset(C2, 0, sizeof C2);
            cmul(C1, A, B, n); original_cmul(C2, A, B, n);
            memset(Z1, 0, sizeof Z1); memset(Z2, 0, sizeof Z2);
            zmul(Z1, ZA, ZB, (int)n); original_zmul(Z2, ZA, ZB, (int)n);
            for (unsigned k = 0; k < N; k++) {
                if (!same(crealf(C1[k]), crealf(C2[k])) || !same(cimagf(C1[k]), cimagf(C2[k]))
                    || !same(creal(Z1[k]), creal(Z2[k])) || !same(cimag(Z1[k]), cimag(Z2[k]))) {
                    printf("differs: seed %d n %u k %u\n", seed, n, k);
                    bad = 1;
                }
                float re = crealf(A[k]) * crealf(B[k]) - cimagf(A[k]) * cimagf(B[k]);
                float im = crealf(A[k]) * cimagf(B[k]) + cimagf(A[k]) * crealf(B[k]);
                if (k < n && isnan(re) && isnan(im) && !(isnan(crealf(C2[k])) && isnan(cimagf(C2[k])))) recovered++;
            }
        }
    }
    printf("annex-g recoveries: %d\n", recovered);
    return bad || recovered == 0;
}
"""


def test_edited_file_matches_the_original_on_inf_and_nan(tmp_path: Path) -> None:
    """The code action's edits applied to the file, built with gcc -O2 -mavx2 -mfma (so zmul's products are
    fused, cmul's are not), against the original on operands dense with NaN, inf, signed zeros and
    overflowing values (Annex G recoveries included)."""
    require_host("avx2")
    source = SOURCE.split(b"void cmul_cf32(")[0] + b"void zmul(" + SOURCE.split(b"void zmul(")[1].split(b"void zmul_inplace(")[0]
    edits = []
    for name in ("cmul", "zmul"):
        a, kernel = _loops(source, "iq.c", "c")[name]
        assert kernel is not None
        (cand,) = propose(a, kernel, "avx2", Settings(), source=source, user_flags=("-O2", "-mavx2", "-mfma")).candidates
        edits.extend(e for e in cand.edits if e not in edits)
    (tmp_path / "edited.c").write_bytes(apply_edits(source, edits))
    (tmp_path / "original.c").write_bytes(source.replace(b"void ", b"void original_"))
    (tmp_path / "main.c").write_text(MAIN)
    run = build_and_run(tmp_path, "avx2", ("edited.c", "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000] + run.stderr[:2000]
    assert int(run.stdout.rsplit(":", 1)[1]) > 0  # the Annex G path really ran
