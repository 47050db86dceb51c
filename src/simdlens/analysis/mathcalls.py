"""The pure math functions a loop may call and still be vectorized.

Each entry says the function's argument and result types (C's `<math.h>` prototypes: `sqrt` takes and
returns double, so `sqrt(a[i])` on a float array computes in double), and whether AVX2 / AVX-512 have
an instruction sequence for it (`vector`), or only a vector math library does (`svml`: Intel SVML or
glibc's libmvec). A call to anything not in this table makes a loop not vectorizable ("calls printf").

C++ `std::` overloads (`std::sqrt(float)` is the float version) are resolved by `lookup`.
"""

from __future__ import annotations

from dataclasses import dataclass

from simdlens.analysis.ir import DOUBLE, FLOAT, INT32, INT64, CType


@dataclass(frozen=True)
class MathFunction:
    name: str
    args: tuple[CType, ...]
    result: CType
    vector: bool  # an AVX2/AVX-512 instruction (sequence) computes it exactly
    note: str = ""  # why not, or how (shown to the user)


def _family(base: str, arity: int, vector: bool, note: str = "") -> list[MathFunction]:
    """`base` (double), `base`f (float) and nothing for `base`l (long double is not supported)."""
    return [
        MathFunction(base, (DOUBLE,) * arity, DOUBLE, vector, note),
        MathFunction(base + "f", (FLOAT,) * arity, FLOAT, vector, note),
    ]


# measured with benchmarks/libm/libmvec_exactness.c (glibc 2.36): libmvec's AVX2 expf, tanhf, logf and sinf
# differ from libm's on 51%, 8%, 6% and 24% of a dense sweep of inputs
_SVML = ("has no SIMD instruction, and the vector math libraries (glibc libmvec, Intel SVML) round it "
         "differently from libm: not rewritten, the result would not be the same bit for bit")

_BIT_COUNT = ("counts bits: AVX2 has no vector popcount, so each byte's count is looked up per nibble in a 16-entry "
              "table (pshufb) and the bytes added; rewritten where the ISA table has a popcount row")
_BYTE_SHUFFLE = "is a byte shuffle: rewritten where the ISA table has one (a permute_bytes row)"
UINT16, UINT32, UINT64 = CType("uint16", "uint16_t"), CType("uint32", "uint32_t"), CType("uint64", "uint64_t")
_TABLE: dict[str, MathFunction] = {}
for _fn in (
    _family("sqrt", 1, True)
    + _family("fabs", 1, True)
    + _family("fmin", 2, True, "ignores a NaN operand (vminps alone does not)")
    + _family("fmax", 2, True, "ignores a NaN operand (vmaxps alone does not)")
    + _family("fma", 3, True, "needs FMA3 (-mfma)")
    + _family("floor", 1, True)
    + _family("ceil", 1, True)
    + _family("trunc", 1, True)
    + _family("round", 1, True)
    + _family("rint", 1, True)
    + _family("nearbyint", 1, True)
    + _family("copysign", 2, True)
    + _family("fdim", 2, True)
    + _family("exp", 1, False, _SVML)
    + _family("exp2", 1, False, _SVML)
    + _family("expm1", 1, False, _SVML)
    + _family("log", 1, False, _SVML)
    + _family("log2", 1, False, _SVML)
    + _family("log10", 1, False, _SVML)
    + _family("log1p", 1, False, _SVML)
    + _family("pow", 2, False, _SVML)
    + _family("cbrt", 1, False, _SVML)
    + _family("hypot", 2, False, _SVML)
    + _family("sin", 1, False, _SVML)
    + _family("cos", 1, False, _SVML)
    + _family("tan", 1, False, _SVML)
    + _family("asin", 1, False, _SVML)
    + _family("acos", 1, False, _SVML)
    + _family("atan", 1, False, _SVML)
    + _family("atan2", 2, False, _SVML)
    + _family("sinh", 1, False, _SVML)
    + _family("cosh", 1, False, _SVML)
    + _family("tanh", 1, False, _SVML)
    + _family("erf", 1, False, _SVML)
    + _family("erfc", 1, False, _SVML)
    + _family("fmod", 2, False, "has no SIMD instruction (computed with a division and truncation)")
    + [
        # long result: exact in SIMD for the values int32 holds (cvtps2dq), see rules/round_convert.py
        MathFunction("lrintf", (FLOAT,), INT64, True, "rounds in the current mode; cvtps2dq for int32-range values"),
        MathFunction("lrint", (DOUBLE,), INT64, True, "rounds in the current mode; cvtpd2dq for int32-range values"),
        # gcc's / clang's byte swaps (only by these names: a user's own `bswap32` may do anything)
        MathFunction("__builtin_bswap16", (UINT16,), UINT16, True, _BYTE_SHUFFLE),
        MathFunction("__builtin_bswap32", (UINT32,), UINT32, True, _BYTE_SHUFFLE),
        MathFunction("__builtin_bswap64", (UINT64,), UINT64, True, _BYTE_SHUFFLE),
        # POSIX's byte order conversions (<arpa/inet.h>): byte swaps on x86-64, a little-endian machine
        MathFunction("ntohs", (UINT16,), UINT16, True, _BYTE_SHUFFLE),
        MathFunction("htons", (UINT16,), UINT16, True, _BYTE_SHUFFLE),
        MathFunction("ntohl", (UINT32,), UINT32, True, _BYTE_SHUFFLE),
        MathFunction("htonl", (UINT32,), UINT32, True, _BYTE_SHUFFLE),
        # gcc's / clang's bit counts (only by these names): a byte-table lookup per nibble on AVX2 (pshufb)
        MathFunction("__builtin_popcount", (UINT32,), INT32, True, _BIT_COUNT),
        MathFunction("__builtin_popcountl", (UINT64,), INT32, True, _BIT_COUNT),
        MathFunction("__builtin_popcountll", (UINT64,), INT32, True, _BIT_COUNT),
        MathFunction("abs", (INT32,), INT32, True),
        MathFunction("labs", (INT64,), INT64, True),
        MathFunction("llabs", (INT64,), INT64, True),
    ]
):
    _TABLE[_fn.name] = _fn

# C++ overloads: std::sqrt(float) is sqrtf, std::sqrt(double) is sqrt.
_CPP_OVERLOADED = frozenset(
    name for name in _TABLE if not name.endswith("f") or name + "f" not in _TABLE
) - {"abs", "labs", "llabs"}


def lookup(name: str, arg_types: tuple[CType, ...] = (), cpp: bool = False) -> MathFunction | None:
    """The table entry for a call to `name` ("sqrtf", "std::sqrt", "::fabs", "__builtin_lrintf"), or None if not a known
    pure function. For C++ `std::f` / `f` overloads, float arguments pick the float version."""
    bare = name
    is_std = False
    if name in _TABLE and name.startswith("__builtin_"):  # builtins with no library name
        return _TABLE[name]
    if bare.startswith("__builtin_"):  # gcc's and clang's names for the same functions, no header needed
        bare = bare[len("__builtin_"):]
    if bare.startswith("::"):
        bare = bare[2:]
    if bare.startswith("std::"):
        bare = bare[5:]
        is_std = True
    fn = _TABLE.get(bare)
    if fn is None:
        return None
    if (cpp or is_std) and bare in _CPP_OVERLOADED and arg_types and all(t.name == "float" for t in arg_types):
        return _TABLE.get(bare + "f", fn)
    if (cpp or is_std) and bare == "abs" and arg_types and arg_types[0].is_float:
        return _TABLE["fabsf" if arg_types[0].name == "float" else "fabs"]
    return fn


def known_names() -> frozenset[str]:
    return frozenset(_TABLE)
