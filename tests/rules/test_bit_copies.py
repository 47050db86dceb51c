"""`memcpy` of an array element into a loop temporary of the same size (how C and C++ read a float's bits
without breaking strict aliasing: the fp32 -> bf16 conversions of ML code) is a load of the element as the
temporary's type, verified exactly in the user's file; a copy between two temporaries (a computed value's
bits, bf16 -> fp32) is a register cast, and so is a union temporary read through another member than the
one written; a copy of another size is refused naming it. memcpy reads any object, so an array it copies from may overlap arrays
of other types: the rewrite checks the overlap at run time."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_complex_multiply import _all_verified, _candidate, _loops

from simdlens.core import LoopVerdict

SOURCE = b"""#include <stdint.h>
#include <string.h>
typedef union { float f; uint32_t u; } f32_bits;

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
void bf16_widen_walk(float *out, const uint16_t *in, unsigned count) {
    while (count--) {
        uint32_t w = (uint32_t)(*in++) << 16;
        float f;
        memcpy(&f, &w, 4);
        *out++ = f * 0.5f;
    }
}
void bf16_through_union(uint16_t *restrict dst, const float *restrict src, int n) {
    for (int i = 0; i < n; i++) {
        f32_bits v;
        v.f = src[i];
        dst[i] = (uint16_t)(v.u >> 16);
    }
}
void widen_through_union(float *restrict dst, const uint16_t *restrict src, int n) {
    for (int i = 0; i < n; i++) {
        f32_bits v;
        v.u = (uint32_t)src[i] << 16;
        dst[i] = v.f;
    }
}
void union_under_condition(float *restrict dst, const uint32_t *restrict src, int n) {
    for (int i = 0; i < n; i++) { f32_bits v; v.f = 0.0f; if (src[i] > 5u) v.u = src[i]; dst[i] = v.f; }
}
void sizes_of_the_element(uint32_t *restrict o, const float *restrict src, int n) {
    for (int i = 0; i < n; i++) { uint32_t w, v; memcpy(&w, src + i, sizeof *src); memcpy(&v, &src[i], sizeof src[i]); o[i] = w ^ v; }
}
void short_copy(uint32_t *restrict dst, const float *restrict src, int n) {
    for (int i = 0; i < n; ++i) {
        uint32_t u = 0;
        memcpy(&u, &src[i], 2);
        dst[i] = u;
    }
}
"""

BUILT = ("bf16_truncate", "bf16_round_even", "exponent_field", "bf16_widen", "bf16_widen_walk", "bf16_through_union",
         "widen_through_union")


def test_a_copied_element_is_a_load_of_its_bits() -> None:
    loops = _loops(SOURCE, "bits.c", "c")
    for name in BUILT:
        a, kernel = loops[name]
        assert a.verdict != LoopVerdict.NOT_VECTORIZABLE and kernel is not None, (name, a.reasons)
    a, kernel = loops["sizes_of_the_element"]  # `sizeof *src`, `sizeof src[i]`: the element's 4 bytes
    assert a.verdict != LoopVerdict.NOT_VECTORIZABLE and kernel is not None, a.reasons
    a, _ = loops["bf16_truncate"]
    assert "reads src" in a.reasons[0].message  # the user's name, not the cast base
    # memcpy reads any object: a float array read through it may overlap the uint16 output
    assert any(r.code == "may_alias" for r in a.reasons)
    _, cand = _candidate("bf16_round_even", source=SOURCE, path="bits.c")
    assert "_mm256_loadu_si256" in cand.function and "_mm256_cvt" not in cand.function  # bits, not a conversion


def test_a_temporarys_bits_are_a_register_cast_and_a_wrong_size_is_refused() -> None:
    _, cand = _candidate("bf16_widen", source=SOURCE, path="bits.c")
    assert "_mm256_castsi256_ps(" in cand.function and "_mm256_cvtepi32_ps" not in cand.function  # bits, not a value
    _, walk = _candidate("bf16_widen_walk", source=SOURCE, path="bits.c")
    assert "__builtin_memcpy(&bits_out_" in walk.function  # the remainder printed from the IR keeps the bit copy
    a, kernel = _loops(SOURCE, "bits.c", "c")["short_copy"]
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and kernel is None
    assert a.reasons[0].code == "bit_cast" and "copies 2 bytes" in a.reasons[0].message


def test_a_union_read_through_another_member_is_its_bits() -> None:
    loops = _loops(SOURCE, "bits.c", "c")
    for name in ("bf16_through_union", "widen_through_union"):
        a, kernel = loops[name]
        assert a.verdict != LoopVerdict.NOT_VECTORIZABLE and kernel is not None, (name, a.reasons)
    a, kernel = loops["union_under_condition"]  # which member holds the bits would depend on the branch
    assert kernel is None and a.reasons[0].code == "bit_cast" and "under a condition" in a.reasons[0].message


@pytest.mark.sandbox
def test_bit_copies_verify_exactly_in_c_and_cpp(tmp_path: Path) -> None:
    cpp = SOURCE.replace(b"<string.h>", b"<cstring>").replace(b"restrict", b"__restrict").replace(
        b" memcpy(", b" std::memcpy(")
    work = [_candidate(name, source=SOURCE, path="bits.c") for name in BUILT]
    work += [_candidate(name, source=cpp, path="bits.cpp", lang="cpp") for name in BUILT]
    _all_verified(work, [*BUILT, *BUILT], tmp_path, "exactly")
