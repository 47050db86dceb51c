"""Complex multiply by a complex scalar the loop never writes (`c[i] = a[i] * s`, `*c++ = (*a++) * s`,
VOLK's s32fc_multiply): the scalar is broadcast once and the products follow the user's build, which for
a double under FMA depends on the scalar's side (benchmarks/complex_scalar_fusion.sh). The harness draws
both parts of a complex scalar, so a rewrite that drops its imaginary part never verifies."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from test_complex_multiply import _all_verified, _candidate, _loops, _verify

from simdlens.config import Settings
from simdlens.core import Status
from simdlens.rules import propose

SOURCE = b"""#include <complex.h>
typedef float complex lv_32fc_t;
typedef double _Complex z_t;

void cscal(lv_32fc_t *restrict c, const lv_32fc_t *restrict a, lv_32fc_t s, int n) {
    for (int i = 0; i < n; i++)
        c[i] = a[i] * s;
}
void cscal_walk(lv_32fc_t *cVector, const lv_32fc_t *aVector, const lv_32fc_t scalar, unsigned int num_points) {
    lv_32fc_t *cPtr = cVector;
    const lv_32fc_t *aPtr = aVector;
    for (unsigned int number = 0; number < num_points; number++)
        *cPtr++ = (*aPtr++) * scalar;
}
void cscal_conj(lv_32fc_t *restrict c, const lv_32fc_t *restrict a, lv_32fc_t s, int n) {
    for (int i = 0; i < n; i++)
        c[i] = a[i] * conjf(s);
}
void cscal_inplace(float complex *x, float complex w, int n) {
    for (int i = 0; i < n; i++)
        x[i] *= w;
}
void zscal_right(z_t *restrict c, const z_t *restrict a, z_t s, int n) {
    for (int i = 0; i < n; i++)
        c[i] = a[i] * s;
}
void zscal_left(z_t *restrict c, const z_t *restrict a, z_t s, int n) {
    for (int i = 0; i < n; i++)
        c[i] = s * a[i];
}
void cscal_written(lv_32fc_t *restrict c, const lv_32fc_t *restrict a, lv_32fc_t s, int n) {
    for (int i = 0; i < n; i++) {
        lv_32fc_t t = a[i] + s;
        c[i] = a[i] * t;
    }
}
"""

SOURCE_CPP = b"""#include <complex>
typedef std::complex<float> cf;
void cscal(cf *__restrict c, const cf *__restrict a, cf s, int n) {
    for (int i = 0; i < n; i++) c[i] = a[i] * s;
}
"""

SCALED = ("cscal", "cscal_walk", "cscal_conj", "cscal_inplace", "zscal_right", "zscal_left")


def _scalar(name: str, flags: tuple[str, ...] = ("-O2",), source: bytes = SOURCE, path: str = "iq.c",
            lang: str = "c"):  # type: ignore[no-untyped-def]
    return _candidate(name, flags, source=source, path=path, lang=lang)


def test_the_scalar_is_broadcast_once_and_the_redo_names_it() -> None:
    kernel, cand = _scalar("cscal")
    assert cand.origin == "rules:complex_multiply"
    assert "lv_32fc_t s" in kernel.signature  # the user's complex type, never `float s`
    before_loop = cand.function.split("for (;")[0]
    assert "_mm256_broadcast_sd((const double *)(&(s)))" in before_loop
    assert "c[i] = a[i] * s;" in cand.function  # Annex G elements redone by the user's statement
    _, walk = _scalar("cscal_walk")
    assert "cPtr[number] = aPtr[number] * scalar;" in walk.function


@pytest.mark.parametrize(("name", "flags"), [
    ("cscal", ("-O2",)), ("cscal", ("-O2", "-mfma")), ("cscal", ("-O3", "-march=native")), ("zscal_left", ("-O2",)),
    ("zscal_right", ("-O3",)), ("cscal_conj", ("-O2",)), ("cscal_conj", ("-O3", "-march=native")),
])
def test_products_are_separate_where_gcc_never_fuses_them(name: str, flags: tuple[str, ...]) -> None:
    """No FMA, or float on gcc's SLP path (measured: separate whatever the side, the sanitizers or the
    parameters' order)."""
    _, cand = _scalar(name, flags)
    assert "fmaddsub" not in cand.function and "addsub" in cand.function

@pytest.mark.parametrize(("name", "flags", "words"), [
    ("cscal_conj", ("-O1", "-mfma"), ("'lv_32fc_t'", "conj")),
    # gcc fuses one product, and which one moves with the code around the loop
    ("zscal_right", ("-O2", "-mfma"), ("'z_t'", "order of the function's parameters")),
    ("zscal_left", ("-O3", "-march=native"), ("'z_t'", "order of the function's parameters")),
    ("cscal", ("-O2", "-mfma", "-fno-tree-vectorize"), ("'lv_32fc_t'", "order of the function's parameters")),
])
def test_scalar_products_that_cannot_be_checked_are_refused_naming_the_type(
        name: str, flags: tuple[str, ...], words: tuple[str, ...]) -> None:
    a, kernel = _loops(SOURCE, "iq.c", "c")[name]
    assert kernel is not None
    proposal = propose(a, kernel, "avx2", Settings(), source=SOURCE, user_flags=flags)
    assert not proposal.candidates and all(w in proposal.notes[0] for w in words), proposal.notes


def test_a_complex_value_the_loop_computes_is_refused_naming_the_type() -> None:
    written, _ = _loops(SOURCE, "iq.c", "c")["cscal_written"]
    assert written.reasons and "'lv_32fc_t'" in written.reasons[0].message, written.reasons


@pytest.mark.sandbox
def test_scalar_products_verify_exactly_in_c_and_cpp(tmp_path: Path) -> None:
    work = [_scalar(name) for name in SCALED]
    work.append(_scalar("cscal", source=SOURCE_CPP, path="iq.cpp", lang="cpp"))
    _all_verified(work, [*SCALED, "std::complex<float>"], tmp_path, "exactly")


@pytest.mark.sandbox
def test_float_scalar_products_verify_under_the_users_mfma(tmp_path: Path) -> None:
    work = [_scalar(name, ("-O2", "-mfma")) for name in ("cscal", "cscal_walk", "cscal_conj")]
    for status, detail in _verify(work, tmp_path, extra=("-mfma",)):
        assert status == Status.VERIFIED and "exactly" in detail, detail


@pytest.mark.sandbox
def test_wrong_scalar_products_never_verify(tmp_path: Path) -> None:
    """The scalar's real part alone in every lane (its imaginary part dropped), and fused products where
    the build under -mfma rounds them separately: each is a mismatch (the harness draws both parts of the
    scalar)."""
    kernel, good = _scalar("cscal", ("-O2", "-mfma"))
    real_only = good.function.replace("_mm256_castpd_ps(_mm256_broadcast_sd((const double *)(&(s))))",
                                      "_mm256_set1_ps(crealf(s))")
    fused = re.sub(r"_mm256_addsub_ps\(straight(\d*), cross(\d*)\)", r"_mm256_fmaddsub_ps(a_real\1, s_v, cross\2)",
                   good.function)
    assert real_only != good.function and fused != good.function
    wrong = [(kernel, replace(good, function=real_only)), (kernel, replace(good, function=fused))]
    for status, detail in _verify(wrong, tmp_path, extra=("-mfma",)):
        assert status == Status.MISMATCH, detail
