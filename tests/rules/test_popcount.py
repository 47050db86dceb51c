"""Bit counts (`c += __builtin_popcount(a[i])`, popcountll, an element-wise count) are read as pure calls and
lowered with the table's popcount rows: two nibble lookups per byte in a 16-entry table (pshufb), then the
bytes of each element added. AVX2 has no vector popcount; the sandbox compares with the user's loop."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rules_support import (
    analyse,
    assert_verified,
    case_result,
    needs_compiler,
    require_host,
    verify_cases,
    verify_status,
)

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

CASES = [
    ("bits32", "int bits32(const uint32_t *a, int n)\n"
               "{ int c = 0; for (int i = 0; i < n; i++) c += __builtin_popcount(a[i]); return c; }"),
    ("bits64", "long bits64(const uint64_t *a, int n)\n"
               "{ long c = 0; for (int i = 0; i < n; i++) c += __builtin_popcountll(a[i]); return c; }"),
    ("byte_bits", "size_t byte_bits(const uint8_t *a, size_t n)\n"
                  "{ size_t c = 0; for (size_t i = 0; i < n; i++) c += __builtin_popcount(a[i]); return c; }"),
    ("per_word", "void per_word(const uint32_t *a, uint8_t *out, int n)\n"
                 "{ for (int i = 0; i < n; i++) out[i] = (uint8_t)__builtin_popcount(a[i]); }"),
    ("signed_bytes", "int signed_bytes(const signed char *a, int n)\n"
                     "{ int c = 0; for (int i = 0; i < n; i++) c += __builtin_popcount(a[i]); return c; }"),
    ("hamming", "int hamming(const uint64_t *x, const uint64_t *y, int n)\n"
                "{ int d = 0; for (int i = 0; i < n; i++) d += __builtin_popcountll(x[i] ^ y[i]); return d; }"),
]


@pytest.fixture(scope="module")
def verified() -> dict:  # type: ignore[type-arg]
    return verify_cases([(name, "#include <stddef.h>\n" + code) for name, code in CASES], Settings())


def test_a_bit_count_is_no_longer_an_unknown_call() -> None:
    _, a, _ = analyse("bits32", CASES[0][1])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert not any(r.code == "call" for r in a.reasons)


@needs_compiler
@pytest.mark.parametrize("name", [name for name, _ in CASES])
def test_bit_counts_verify_on_avx2(verified: dict, name: str) -> None:  # type: ignore[type-arg]
    result = case_result(verified[name], "avx2")
    assert result.candidate.origin == "rules:popcount"
    assert "_mm256_shuffle_epi8" in result.candidate.function or "_mm_shuffle_epi8" in result.candidate.function
    assert_verified(result, "avx2")


def test_bytes_are_counted_32_a_step_and_sign_extended_ones_as_32_bit_words(verified: dict) -> None:  # type: ignore[type-arg]
    """popcount of a zero-extended byte is the byte's count: one lane per byte, summed by psadbw; a signed
    char is sign-extended to 32 bits first (-1 has 32 bits set), so it keeps 32-bit lanes."""
    assert "(avx2, 32 lanes)" in case_result(verified["byte_bits"], "avx2").candidate.function
    assert "(avx2, 8 lanes)" in case_result(verified["signed_bytes"], "avx2").candidate.function


@needs_compiler
@pytest.mark.parametrize("name", ["bits32", "bits64", "hamming"])
def test_bit_counts_build_for_avx512(verified: dict, name: str) -> None:  # type: ignore[type-arg]
    result = case_result(verified[name], "avx512")
    assert "_mm512_shuffle_epi8" in result.candidate.function
    assert_verified(result, "avx512")  # run only where the CPU has AVX-512


@needs_compiler
def test_a_wrong_nibble_table_is_a_mismatch(verified: dict) -> None:  # type: ignore[type-arg]
    case = verified["bits32"]
    cand = case_result(case, "avx2").candidate
    wrong = replace(cand, function=cand.function.replace("2, 3, 3, 4", "2, 3, 3, 3"))
    assert wrong.function != cand.function
    require_host("avx2")
    assert verify_status(Settings(), case.kernel, wrong) == Status.MISMATCH
