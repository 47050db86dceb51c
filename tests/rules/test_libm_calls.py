"""Calls to libm functions in a loop: those an instruction computes exactly (sqrtf, fabsf, floorf, ceilf,
truncf, rintf, nearbyintf, copysignf, fdimf, fmaf, fminf/fmaxf where the zero sign cannot differ) are
rewritten and verified exactly against the user's own call; those only a vector math library computes
(expf, tanhf, logf, powf...) are refused with a reason naming the function and saying why: libmvec and SVML
round differently from libm (benchmarks/libm/libmvec_exactness.c), so no rewrite could be the same bit for
bit. fmaxf is not an fma: its reason never says it must stay fused."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_complex_multiply import _all_verified, _candidate, _loops

from simdlens.config import Settings
from simdlens.rules import propose

SOURCE = b"""#include <math.h>
void floor_f(float *restrict o, const float *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = floorf(a[i]); }
void ceil_d(double *restrict o, const double *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = ceil(a[i]); }
void trunc_f(float *restrict o, const float *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = truncf(a[i] * 0.5f); }
void sign_f(float *restrict o, const float *restrict a, const float *restrict b, int n) {
    for (int i = 0; i < n; i++) o[i] = copysignf(a[i], b[i]); }
void sign_d(double *restrict o, const double *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = copysign(1.0, a[i]); }
void dim_f(float *restrict o, const float *restrict a, const float *restrict b, int n) {
    for (int i = 0; i < n; i++) o[i] = fdimf(a[i], b[i]); }
void clamp_low(float *restrict o, const float *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = fmaxf(a[i], 1.0f); }
void exp_f(float *restrict o, const float *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = expf(a[i]); }
void tanh_f(float *restrict o, const float *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = tanhf(a[i]); }
void pow_f(float *restrict o, const float *restrict a, float p, int n) { for (int i = 0; i < n; i++) o[i] = powf(a[i], p); }
"""

EXACT = ("floor_f", "ceil_d", "trunc_f", "sign_f", "sign_d", "dim_f")


def test_exact_calls_get_a_rewrite_with_one_instruction_sequence() -> None:
    for name in EXACT:
        _, cand = _candidate(name, source=SOURCE, path="m.c")
        assert cand.origin == "rules:elementwise", name
    assert "_mm256_round_ps(" in _candidate("floor_f", source=SOURCE, path="m.c")[1].function


@pytest.mark.parametrize("name,function", [("exp_f", "expf"), ("tanh_f", "tanhf"), ("pow_f", "powf")])
def test_vector_library_functions_are_refused_naming_the_function(name: str, function: str) -> None:
    a, kernel = _loops(SOURCE, "m.c", "c")[name]
    analysis_reason = next(r.message for r in a.reasons if r.code == "math_call")
    assert analysis_reason.startswith(function) and "bit for bit" in analysis_reason
    assert kernel is not None
    notes = " ".join(propose(a, kernel, "avx2", Settings(), source=SOURCE).notes)
    assert f"{function}()" in notes and "round it differently from libm" in notes


def test_fmax_is_not_called_a_fused_multiply_add() -> None:
    a, _ = _loops(SOURCE, "m.c", "c")["clamp_low"]
    assert not any(r.code == "fma_call" for r in a.reasons), a.reasons


@pytest.mark.sandbox
def test_exact_calls_verify_exactly(tmp_path: Path) -> None:
    _all_verified([_candidate(n, source=SOURCE, path="m.c") for n in EXACT], list(EXACT), tmp_path, "exactly")
