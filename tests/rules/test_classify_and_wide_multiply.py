"""Two small idioms of numeric C that used to stop a loop:

- `isnan(x)` / `isfinite(x)` (glibc's builtins, 0 or 1) are comparisons: `x != x` and `|x| < inf`, so a NaN
  filter (`if (!isnan(x[i])) s += x[i]`) or a mask of NaNs is vectorized, exact for NaN, infinities, zeros of
  both signs and subnormals; `isinf(x)` is `|x| == inf`, with glibc's sign in C (-1 for -inf);
- a 64-bit product of factors that fit 32 bits (`(int64_t)a[i] * b[i]`, a fixed-point dot product) is one
  even-lane 32x32 -> 64 multiply (`vpmuldq` / `vpmuludq`); any other 64-bit product on AVX2, which has no
  64-bit multiply, is three of them (modulo 2^64, as C's unsigned product).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import ISAS, needs_compiler, one_candidate, run_edited_against_original

from simdlens.sandbox.cpu import host_cpu

CLASSIFY = {
    "nan_mask": ("unsigned char", "out[i] = isnan(x[i]) != 0;"),
    "nan_to_zero": ("float", "out[i] = isnan(x[i]) ? 0.0f : x[i];"),
    "finite_or_minus_one": ("float", "out[i] = isfinite(x[i]) ? x[i] : -1.0f;"),
    "nan_as_int": ("int", "out[i] = __builtin_isnan(x[i]);"),
    "inf_with_sign": ("int", "out[i] = isinf(x[i]);"),  # glibc's C macro: -1 for -inf
    "inf_as_bool": ("int", "out[i] = __builtin_isinf(x[i]);"),
    "skip_infinities": ("float", "out[i] = isinf(x[i]) ? 0.0f : x[i];"),
}

CLASSIFY_MAIN = """
#include <math.h>
#include <stdio.h>
#include <string.h>
typedef OUT T;
void NAME(T *restrict out, const float *restrict x, int n);
void original(T *restrict out, const float *restrict x, int n);
int main(void)
{
    static float x[300];
    static T a[300], b[300];
    const float special[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-45f, -1e-45f, 3.4e38f,
                             -3.4e38f, 1.0f, -2.5f, 1.17549435e-38f};
    for (int j = 0; j < 300; j++) x[j] = special[(j * 7) % 13] * (j % 3 ? 1.0f : 0.5f);
    for (int n = 0; n <= 300; n += 13) {
        memset(a, 0, sizeof a); memset(b, 0, sizeof b);
        NAME(a, x, n); original(b, x, n);
        if (memcmp(a, b, sizeof a) != 0) { printf("n=%d differ\\n", n); return 1; }
    }
    return 0;
}
"""


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", list(CLASSIFY))
def test_isnan_and_isfinite_are_vectorized_exactly(tmp_path: Path, isa: str, name: str) -> None:
    out, body = CLASSIFY[name]
    code = (f"#include <math.h>\nvoid {name}({out} *restrict out, const float *restrict x, int n)\n"
            f"{{ for (int i = 0; i < n; i++) {body} }}")
    source, cand = one_candidate(name, code, isa)
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    run = run_edited_against_original(tmp_path, isa, name, source, cand.edits, code,
                                      CLASSIFY_MAIN.replace("OUT", out).replace("NAME", name), libs=("-lm",))
    assert run.returncode == 0, run.stdout[:2000]


# name: (element types of a and b, the product's type, the even-lane multiply expected on AVX2 or None)
PRODUCTS = {
    "signed_by_signed": ("int32_t", "int32_t", "int64_t", "_mm256_mul_epi32"),
    "signed_by_short": ("int32_t", "int16_t", "int64_t", "_mm256_mul_epi32"),
    "unsigned_by_unsigned": ("uint32_t", "uint32_t", "uint64_t", "_mm256_mul_epu32"),
    "signed_by_unsigned": ("int32_t", "uint32_t", "int64_t", None),
    "full_64_bit": ("uint64_t", "uint64_t", "uint64_t", None),
}

PRODUCT_MAIN = """
#include <stdint.h>
#include <stdio.h>
#include <string.h>
void NAME(R *restrict out, const A *restrict a, const B *restrict b, int n);
void original(R *restrict out, const A *restrict a, const B *restrict b, int n);
int main(void)
{
    static A a[200]; static B b[200]; static R x[200], y[200];
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int j = 0; j < 200; j++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        a[j] = (A)s; b[j] = (B)(s >> 21);
        if (j % 17 == 0) { a[j] = (A)~(uint64_t)0 >> (j % 2); b[j] = (B)((uint64_t)1 << (sizeof(B) * 8 - 1)); }
    }
    for (int n = 0; n <= 200; n += 9) {
        memset(x, 0, sizeof x); memset(y, 0, sizeof y);
        NAME(x, a, b, n); original(y, a, b, n);
        if (memcmp(x, y, sizeof x) != 0) { printf("n=%d differ\\n", n); return 1; }
    }
    return 0;
}
"""


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", list(PRODUCTS))
def test_64_bit_products_are_exact(tmp_path: Path, isa: str, name: str) -> None:
    ta, tb, tr, even_lane = PRODUCTS[name]
    code = (f"#include <stdint.h>\nvoid {name}({tr} *restrict out, const {ta} *restrict a, const {tb} *restrict b,"
            f" int n)\n{{ for (int i = 0; i < n; i++) out[i] = ({tr})a[i] * b[i]; }}")
    source, cand = one_candidate(name, code, isa)
    function = cand.function
    if isa == "avx2":  # the 32-bit factors take one multiply; the others three, on the halves shifted down
        assert (even_lane or "_mm256_mul_epu32") in function
        assert (even_lane is None) == ("_mm256_srli_epi64" in function), function
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    main = f"#include <stdint.h>\ntypedef {ta} A; typedef {tb} B; typedef {tr} R;\n" + PRODUCT_MAIN.replace("NAME", name)
    run = run_edited_against_original(tmp_path, isa, name, source, cand.edits, code, main)
    assert run.returncode == 0, run.stdout[:2000]


@needs_compiler
def test_a_fixed_point_dot_product_accumulates_the_even_lane_products(tmp_path: Path) -> None:
    code = ("#include <stdint.h>\nint64_t q31_dot(const int32_t *pA, const int32_t *pB, uint32_t n)\n"
            "{ int64_t sum = 0; while (n--) sum += ((int64_t)*pA++ * *pB++) >> 14; return sum; }")
    _, cand = one_candidate("q31_dot", code, "avx2")
    function = cand.function
    assert "_mm256_mul_epi32" in function and "_mm256_mul_epu32" not in function, function
