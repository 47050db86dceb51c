"""Hand-written kernels and candidates for the sandbox tests (no analysis stage involved)."""

from __future__ import annotations

import hashlib

from simdlens.analysis.ir import FLOAT, INT32, UINT32, CType
from simdlens.core import Candidate, Footprint, Kernel, KernelParam, ParamRole

UINT8 = CType("uint8", "uint8_t")


def make_kernel(name: str, source: str, signature: str, params: tuple[KernelParam, ...], footprints: tuple[Footprint, ...],
                *, return_type: CType | None = None, may_alias: tuple[tuple[str, str], ...] = (), preamble: str = "#include <stdint.h>\n#include <math.h>",
                size_param: str | None = "n", trip: str = "n > 0 ? n : 0", language: str = "c") -> Kernel:
    digest = hashlib.sha256((preamble + source + name).encode()).hexdigest()[:16]
    return Kernel(
        name="simdlens_kernel", language=language, preamble=preamble, source=source, signature=signature,  # type: ignore[arg-type]
        return_type=return_type, params=params, footprints=footprints, trip_count=trip, loop_id=name,
        content_hash=digest, may_alias=may_alias, size_param=size_param,
    )


def cand(kernel: Kernel, isa: str, function: str, *, origin: str = "rules:test", caveats: tuple[str, ...] = (), support: str = "") -> Candidate:
    return Candidate(kernel_hash=kernel.content_hash, isa=isa, origin=origin, function=function, edits=(), caveats=caveats, support=support)


def n_param() -> KernelParam:
    return KernelParam("n", "int n", ParamRole.COUNT, INT32)


def fp(name: str) -> Footprint:
    return Footprint(name, "0", "n - 1")


# --- saxpy: y = a*x + y -------------------------------------------------------------------------

SAXPY = make_kernel(
    "saxpy",
    "void simdlens_kernel(float *restrict y, const float *restrict x, float a, int n) {\n"
    "    for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i];\n}\n",
    "void simdlens_kernel(float *restrict y, const float *restrict x, float a, int n)",
    (KernelParam("y", "float *restrict y", ParamRole.INOUT, FLOAT, restrict=True),
     KernelParam("x", "const float *restrict x", ParamRole.IN, FLOAT, restrict=True),
     KernelParam("a", "float a", ParamRole.SCALAR, FLOAT), n_param()),
    (fp("y"), fp("x")),
)

SAXPY_AVX2 = """void simdlens_kernel(float *restrict y, const float *restrict x, float a, int n) {
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 p = _mm256_mul_ps(va, _mm256_loadu_ps(x + i));
        _mm256_storeu_ps(y + i, _mm256_add_ps(p, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) y[i] = a * x[i] + y[i];
}
"""

SAXPY_AVX512 = """void simdlens_kernel(float *restrict y, const float *restrict x, float a, int n) {
    __m512 va = _mm512_set1_ps(a);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 p = _mm512_mul_ps(va, _mm512_loadu_ps(x + i));
        _mm512_storeu_ps(y + i, _mm512_add_ps(p, _mm512_loadu_ps(y + i)));
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        __m512 p = _mm512_mul_ps(va, _mm512_maskz_loadu_ps(m, x + i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(p, _mm512_maskz_loadu_ps(m, y + i)));
    }
}
"""

SAXPY_FMA = SAXPY_AVX2.replace("__m256 p = _mm256_mul_ps(va, _mm256_loadu_ps(x + i));\n        _mm256_storeu_ps(y + i, _mm256_add_ps(p, _mm256_loadu_ps(y + i)));",
                               "_mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));")

# Remainder bug: the scalar tail starts one element late.
SAXPY_REMAINDER_BUG = SAXPY_AVX2.replace("for (; i < n; i++) y[i]", "for (i = i + 1; i < n; i++) y[i]")


# --- unsigned max: out = a > b ? a : b  (uint32) ----------------------------------------------------

UMAX = make_kernel(
    "umax",
    "void simdlens_kernel(uint32_t *restrict out, const uint32_t *restrict a, const uint32_t *restrict b, int n) {\n"
    "    for (int i = 0; i < n; i++) out[i] = a[i] > b[i] ? a[i] : b[i];\n}\n",
    "void simdlens_kernel(uint32_t *restrict out, const uint32_t *restrict a, const uint32_t *restrict b, int n)",
    (KernelParam("out", "uint32_t *restrict out", ParamRole.OUT, UINT32, restrict=True),
     KernelParam("a", "const uint32_t *restrict a", ParamRole.IN, UINT32, restrict=True),
     KernelParam("b", "const uint32_t *restrict b", ParamRole.IN, UINT32, restrict=True), n_param()),
    (fp("out"), fp("a"), fp("b")),
)

_UMAX_BODY = """void simdlens_kernel(uint32_t *restrict out, const uint32_t *restrict a, const uint32_t *restrict b, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
        _mm256_storeu_si256((__m256i *)(out + i), MAXOP);
    }
    for (; i < n; i++) out[i] = a[i] > b[i] ? a[i] : b[i];
}
"""
UMAX_AVX2 = _UMAX_BODY.replace("MAXOP", "_mm256_max_epu32(va, vb)")
# Signed compare on unsigned data: values with the high bit set compare as negative.
UMAX_SIGNED_BUG = _UMAX_BODY.replace("MAXOP", "_mm256_blendv_epi8(vb, va, _mm256_cmpgt_epi32(va, vb))")

# --- uint8 add (wraps in C) ----------------------------------------------------------------------

U8ADD = make_kernel(
    "u8add",
    "void simdlens_kernel(uint8_t *restrict c, const uint8_t *restrict a, const uint8_t *restrict b, int n) {\n"
    "    for (int i = 0; i < n; i++) c[i] = (uint8_t)(a[i] + b[i]);\n}\n",
    "void simdlens_kernel(uint8_t *restrict c, const uint8_t *restrict a, const uint8_t *restrict b, int n)",
    (KernelParam("c", "uint8_t *restrict c", ParamRole.OUT, UINT8, restrict=True),
     KernelParam("a", "const uint8_t *restrict a", ParamRole.IN, UINT8, restrict=True),
     KernelParam("b", "const uint8_t *restrict b", ParamRole.IN, UINT8, restrict=True), n_param()),
    (fp("c"), fp("a"), fp("b")),
)
_U8_BODY = """void simdlens_kernel(uint8_t *restrict c, const uint8_t *restrict a, const uint8_t *restrict b, int n) {
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
        _mm256_storeu_si256((__m256i *)(c + i), ADDOP(va, vb));
    }
    for (; i < n; i++) c[i] = (uint8_t)(a[i] + b[i]);
}
"""
U8ADD_AVX2 = _U8_BODY.replace("ADDOP", "_mm256_add_epi8")
U8ADD_SATURATING_BUG = _U8_BODY.replace("ADDOP", "_mm256_adds_epu8")

# --- guarded read: y[i] = i < m ? a[i] : 0  (a is only read below m) --------------------------------

GUARDED = make_kernel(
    "guarded",
    "void simdlens_kernel(float *restrict y, const float *restrict a, int m, int n) {\n"
    "    for (int i = 0; i < n; i++) y[i] = i < m ? a[i] : 0.0f;\n}\n",
    "void simdlens_kernel(float *restrict y, const float *restrict a, int m, int n)",
    (KernelParam("y", "float *restrict y", ParamRole.OUT, FLOAT, restrict=True),
     KernelParam("a", "const float *restrict a", ParamRole.IN, FLOAT, restrict=True),
     KernelParam("m", "int m", ParamRole.COUNT, INT32), n_param()),
    (fp("y"), Footprint("a", "0", "(m < n ? m : n) - 1", guarded=True)),
)
# Loads a[i..i+7] whatever m is, then blends: reads past what the loop may touch.
GUARDED_UNCONDITIONAL_LOAD_BUG = """void simdlens_kernel(float *restrict y, const float *restrict a, int m, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(i), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(m), idx));
        _mm256_storeu_ps(y + i, _mm256_and_ps(keep, _mm256_loadu_ps(a + i)));
    }
    for (; i < n; i++) y[i] = i < m ? a[i] : 0.0f;
}
"""

# --- possibly overlapping pointers: a[i] = b[i] + 1 (no restrict) -----------------------------------

INC = make_kernel(
    "inc",
    "void simdlens_kernel(int32_t *a, const int32_t *b, int n) {\n"
    "    for (int i = 0; i < n; i++) a[i] = b[i] + 1;\n}\n",
    "void simdlens_kernel(int32_t *a, const int32_t *b, int n)",
    (KernelParam("a", "int32_t *a", ParamRole.OUT, INT32), KernelParam("b", "const int32_t *b", ParamRole.IN, INT32), n_param()),
    (fp("a"), fp("b")),
    may_alias=(("a", "b"),),
)
_INC_VECTOR = """    for (; i + 8 <= n; i += 8) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(b + i));
        _mm256_storeu_si256((__m256i *)(a + i), _mm256_add_epi32(v, _mm256_set1_epi32(1)));
    }
"""
INC_OVERLAP_BUG = ("void simdlens_kernel(int32_t *a, const int32_t *b, int n) {\n    int i = 0;\n" + _INC_VECTOR
                   + "    for (; i < n; i++) a[i] = b[i] + 1;\n}\n")
# Checks for overlap at run time (a write range that meets the read range ahead of it) and falls back.
INC_OVERLAP_SAFE = ("void simdlens_kernel(int32_t *a, const int32_t *b, int n) {\n    int i = 0;\n"
                    "    if (!(a > b && a < b + n)) {\n" + _INC_VECTOR + "    }\n"
                    "    for (; i < n; i++) a[i] = b[i] + 1;\n}\n")

# --- max reduction that ignores NaN (scalar `>` is false for NaN) -----------------------------------

FMAX = make_kernel(
    "fmax",
    "float simdlens_kernel(const float *a, int n) {\n"
    "    float m = -INFINITY;\n    for (int i = 0; i < n; i++) if (a[i] > m) m = a[i];\n    return m;\n}\n",
    "float simdlens_kernel(const float *a, int n)",
    (KernelParam("a", "const float *a", ParamRole.IN, FLOAT), n_param()),
    (fp("a"),),
    return_type=FLOAT,
)
_FMAX_BODY = """float simdlens_kernel(const float *a, int n) {
    __m256 vm = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8) vm = MAXOP;
    float lanes[8];
    _mm256_storeu_ps(lanes, vm);
    float m = -INFINITY;
    for (int k = 0; k < 8; k++) if (lanes[k] > m) m = lanes[k];
    /* a max of zero: the loop keeps the first zero it reached, +0 or -0, which the lanes cannot tell */
    if (m == 0) for (int k = 0; k < i; k++) if (a[k] == 0) { m = a[k]; break; }
    for (; i < n; i++) if (a[i] > m) m = a[i];
    return m;
}
"""
# maxps returns its second operand when either is NaN: (a, m) keeps m (NaN ignored), (m, a) takes the NaN.
FMAX_AVX2 = _FMAX_BODY.replace("MAXOP", "_mm256_max_ps(_mm256_loadu_ps(a + i), vm)")
# maxps semantics throughout (operand order as written, horizontal and tail included): a NaN reaches the result.
FMAX_NAN_BUG = """float simdlens_kernel(const float *a, int n) {
    __m256 vm = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(a + i));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vm), _mm256_extractf128_ps(vm, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
    float m = _mm_cvtss_f32(m4);
    for (; i < n; i++) m = _mm_cvtss_f32(_mm_max_ss(_mm_set_ss(m), _mm_set_ss(a[i])));
    return m;
}
"""

# --- int32 sum into a RESULT parameter (wraps) ------------------------------------------------------

ISUM = make_kernel(
    "isum",
    "void simdlens_kernel(const int32_t *a, int n, int32_t *sum) {\n"
    "    int32_t s = 0;\n    for (int i = 0; i < n; i++) s += a[i];\n    *sum = s;\n}\n",
    "void simdlens_kernel(const int32_t *a, int n, int32_t *sum)",
    (KernelParam("a", "const int32_t *a", ParamRole.IN, INT32), n_param(),
     KernelParam("sum", "int32_t *sum", ParamRole.RESULT, INT32)),
    (fp("a"), Footprint("sum", "0", "0")),
)
ISUM_AVX512 = """void simdlens_kernel(const int32_t *a, int n, int32_t *sum) {
    __m512i acc = _mm512_setzero_si512();
    int i = 0;
    for (; i + 16 <= n; i += 16) acc = _mm512_add_epi32(acc, _mm512_loadu_si512((const void *)(a + i)));
    int32_t s = _mm512_reduce_add_epi32(acc);
    for (; i < n; i++) s += a[i];
    *sum = s;
}
"""

# --- int32 conditional loop (branchy): c[i] = a[i] > 0 ? a[i] * 3 : b[i] -----------------------------

ICOND = make_kernel(
    "icond",
    "void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {\n"
    "    for (int i = 0; i < n; i++) { if (a[i] > 0) c[i] = a[i] * 3; else c[i] = b[i]; }\n}\n",
    "void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n)",
    (KernelParam("c", "int32_t *restrict c", ParamRole.OUT, INT32, restrict=True),
     KernelParam("a", "const int32_t *restrict a", ParamRole.IN, INT32, restrict=True),
     KernelParam("b", "const int32_t *restrict b", ParamRole.IN, INT32, restrict=True), n_param()),
    (fp("c"), fp("a"), fp("b")),
)
ICOND_AVX2 = """void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i pos = _mm256_cmpgt_epi32(va, _mm256_setzero_si256());
        __m256i t = _mm256_mullo_epi32(va, _mm256_set1_epi32(3));
        _mm256_storeu_si256((__m256i *)(c + i), _mm256_blendv_epi8(vb, t, pos));
    }
    for (; i < n; i++) { if (a[i] > 0) c[i] = a[i] * 3; else c[i] = b[i]; }
}
"""

# --- candidates that fail in other ways ------------------------------------------------------------

# Line 3 of the function text has an error (undeclared identifier).
SAXPY_COMPILE_ERROR = """void simdlens_kernel(float *restrict y, const float *restrict x, float a, int n) {
    __m256 va = _mm256_set1_ps(a);
    __m256 vb = _mm256_mul_ps(va, undeclared_thing);
    for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i];
}
"""
SAXPY_CRASH = """void simdlens_kernel(float *restrict y, const float *restrict x, float a, int n) {
    volatile float *p = (volatile float *)0;
    if (n > 5) p[n] = a;
    for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i];
}
"""

# --- float sum (reassociation changes rounding; allowed only when declared) -------------------------

FSUM = make_kernel(
    "fsum",
    "float simdlens_kernel(const float *a, int n) {\n"
    "    float s = 0.0f;\n    for (int i = 0; i < n; i++) s += a[i];\n    return s;\n}\n",
    "float simdlens_kernel(const float *a, int n)",
    (KernelParam("a", "const float *a", ParamRole.IN, FLOAT), n_param()),
    (fp("a"),),
    return_type=FLOAT,
)
FSUM_AVX2 = """float simdlens_kernel(const float *a, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(a + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    float s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (; i < n; i++) s += a[i];
    return s;
}
"""

# --- a stencil reading a[i-1]: the footprint starts below the pointer ------------------------------

STENCIL = make_kernel(
    "stencil",
    "void simdlens_kernel(float *restrict b, const float *restrict a, int n) {\n"
    "    for (int i = 0; i < n; i++) b[i] = a[i - 1] + a[i];\n}\n",
    "void simdlens_kernel(float *restrict b, const float *restrict a, int n)",
    (KernelParam("b", "float *restrict b", ParamRole.OUT, FLOAT, restrict=True),
     KernelParam("a", "const float *restrict a", ParamRole.IN, FLOAT, restrict=True), n_param()),
    (fp("b"), Footprint("a", "-1", "n - 1")),
)
_STENCIL_BODY = """void simdlens_kernel(float *restrict b, const float *restrict a, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(b + i, _mm256_add_ps(_mm256_loadu_ps(a + i - LAG), _mm256_loadu_ps(a + i)));
    for (; i < n; i++) b[i] = a[i - 1] + a[i];
}
"""
STENCIL_AVX2 = _STENCIL_BODY.replace("LAG", "1")
STENCIL_READS_BEFORE_START_BUG = _STENCIL_BODY.replace("LAG", "2")  # off by one, below the array
