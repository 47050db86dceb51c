"""`memcpy` of an array element into a loop temporary of the same size (how C and C++ read a float's bits
without breaking strict aliasing: the fp32 -> bf16 conversions of ML code) is a load of the element as the
temporary's type, verified exactly in the user's file; a copy between two temporaries (a computed value's
bits) is refused naming the copy. memcpy reads any object, so an array it copies from may overlap arrays
of other types: the rewrite checks the overlap at run time."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_complex_multiply import _all_verified, _candidate, _loops

from simdlens.core import LoopVerdict

SOURCE = b"""#include <stdint.h>
#include <string.h>

void bf16_truncate(uint16_t *dst, const float *src, int n) {
    for (int i = 0; i < n; ++i) {
        uint32_t u;
        __builtin_memcpy(&u, &src[i], 4);
        dst[i] = (uint16_t)(u >> 16);
    }
}
void bf16_round_even(uint16_t *restrict dst, const float *restrict src, int n) {
    for (int i = 0; i < n; ++i) {
        uint32_t u;
        memcpy(&u, &src[i], sizeof u);
        dst[i] = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
}
void exponent_field(int32_t *restrict e, const float *restrict x, int n) {
    for (int i = 0; i < n; ++i) {
        int32_t b;
        memcpy(&b, x + i, sizeof(b));
        e[i] = ((b >> 23) & 0xff) - 127;
    }
}
void bf16_widen(float *restrict dst, const uint16_t *restrict src, int n) {
    for (int i = 0; i < n; ++i) {
        uint32_t u = (uint32_t)src[i] << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        dst[i] = f;
    }
}
void short_copy(uint32_t *restrict dst, const float *restrict src, int n) {
    for (int i = 0; i < n; ++i) {
        uint32_t u = 0;
        memcpy(&u, &src[i], 2);
        dst[i] = u;
    }
}
"""

BUILT = ("bf16_truncate", "bf16_round_even", "exponent_field")


def test_a_copied_element_is_a_load_of_its_bits() -> None:
    loops = _loops(SOURCE, "bits.c", "c")
    for name in BUILT:
        a, kernel = loops[name]
        assert a.verdict != LoopVerdict.NOT_VECTORIZABLE and kernel is not None, (name, a.reasons)
    a, _ = loops["bf16_truncate"]
    assert "reads src" in a.reasons[0].message  # the user's name, not the cast base
    # memcpy reads any object: a float array read through it may overlap the uint16 output
    assert any(r.code == "may_alias" for r in a.reasons)
    _, cand = _candidate("bf16_round_even", source=SOURCE, path="bits.c")
    assert "_mm256_loadu_si256" in cand.function and "_mm256_cvt" not in cand.function  # bits, not a conversion


def test_copies_that_are_not_one_elements_bits_are_refused_with_the_reason() -> None:
    loops = _loops(SOURCE, "bits.c", "c")
    a, kernel = loops["bf16_widen"]
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and kernel is None
    assert a.reasons[0].code == "bit_cast" and "the temporary u into f" in a.reasons[0].message
    a, kernel = loops["short_copy"]
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and kernel is None
    assert "copies 2 bytes" in a.reasons[0].message


@pytest.mark.sandbox
def test_bit_copies_verify_exactly_in_c_and_cpp(tmp_path: Path) -> None:
    cpp = SOURCE.replace(b"<string.h>", b"<cstring>").replace(b"restrict", b"__restrict").replace(
        b" memcpy(", b" std::memcpy(")
    work = [_candidate(name, source=SOURCE, path="bits.c") for name in BUILT]
    work += [_candidate(name, source=cpp, path="bits.cpp", lang="cpp") for name in BUILT]
    _all_verified(work, [*BUILT, *BUILT], tmp_path, "exactly")
