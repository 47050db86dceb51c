"""Fixed-point DSP code spells its arithmetic as macros: `((val32)(val16)(a))` casts, which the parser
reads as calls when it cannot see the typedefs, and accumulations `acc = MAC16_16(acc, x[i], y[i])`
whose `acc + …` appears only once the macro is read. Both are read as C reads them, and the rewrites
verify against the user's own loops."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.analysis.ir import Binary, Cast, Load, Reduce, ReduceOp, walk_exprs
from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

MACROS = """typedef int16_t val16;
typedef int32_t val32;
#define MULT16_16(a, b) (((val32)(val16)(a)) * ((val32)(val16)(b)))
#define ADD32(a, b) ((val32)(a) + (val32)(b))
#define MAC16_16(c, a, b) (ADD32((c), MULT16_16((a), (b))))
#define SHR32(a, s) ((a) >> (s))
#define MULT16_16_Q15(a, b) (SHR32(MULT16_16((a), (b)), 15))
"""

CASES = {
    "inner_prod": MACROS + """val32 inner_prod(const val16 *x, const val16 *y, int n)
{ val32 xy = 0; for (int i = 0; i < n; i++) xy = MAC16_16(xy, x[i], y[i]); return xy; }""",
    "energy": MACROS + """val32 energy(const val16 *x, int n, int shift)
{ val32 e = 0; for (int i = 0; i < n; i++) e = ADD32(e, SHR32(MULT16_16(x[i], x[i]), shift)); return e; }""",
    "window": MACROS + """void window(val16 *out, const val16 *in, const val16 *w, int n)
{ for (int i = 0; i < n; i++) out[i] = (val16)MULT16_16_Q15(in[i], w[i]); }""",
    # a Q31 add saturated through 64 bits: arithmetic shifts of int64 lanes, which AVX2 lacks (emulated
    # in the ISA table: the logical shift with the sign shifted in from the top)
    "add_q31": """static inline int32_t clip_q63_to_q31(int64_t x)
{ return ((int32_t)(x >> 32) != ((int32_t)x >> 31)) ? ((0x7FFFFFFF ^ ((int32_t)(x >> 63)))) : (int32_t)x; }
void add_q31(const int32_t *a, const int32_t *b, int32_t *out, int n)
{ for (int i = 0; i < n; i++) out[i] = clip_q63_to_q31((int64_t)a[i] + b[i]); }""",
    # a codec's float-to-Q15 conversion: the float clamped in a local reassigned once, then rounded with
    # gcc's builtin (no <math.h>); the rounding pass reads the local through both of its assignments
    "float_to_q15": """void float_to_q15(const float *in, int16_t *out, int n)
{ for (int i = 0; i < n; i++) { float v = in[i] * 32768.f; v = v > 32767.f ? 32767.f : v < -32768.f ? -32768.f : v;
  out[i] = (int16_t)__builtin_lrintf(v); } }""",
    "shift_q63": """void shift_q63(int64_t *out, const int64_t *in, int n, int s)
{ for (int i = 0; i < n; i++) out[i] = in[i] >> s; }""",
}


def test_a_cast_chain_read_as_calls_is_two_casts() -> None:
    _, a, _ = analyse("window", CASES["window"])
    assert a.verdict is not LoopVerdict.NOT_VECTORIZABLE, a.reasons
    assert a.loop is not None
    (product,) = [e for e in walk_exprs(a.loop.body[0].value) if isinstance(e, Binary) and e.op == "*"]
    # (val32)(val16)(in[i]): the int16 load to int16 is no conversion, then one explicit cast to int32
    for operand in (product.lhs, product.rhs):
        assert isinstance(operand, Cast) and not operand.implicit and operand.type.name == "int32", operand
        assert isinstance(operand.operand, Load) and operand.operand.access.elem.name == "int16", operand


@pytest.mark.parametrize("name", ["inner_prod", "energy"])
def test_an_accumulation_through_macros_is_a_sum(name: str) -> None:
    _, a, kernel = analyse(name, CASES[name])
    assert a.verdict is LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None and kernel is not None
    (reduce,) = [s for s in a.loop.body if isinstance(s, Reduce)]
    assert reduce.op is ReduceOp.ADD


@pytest.fixture(scope="module")
def verified(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(CASES.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("name", list(CASES))
def test_fixed_point_macro_loops_verify(verified: dict[str, CaseResult], name: str) -> None:
    require_host("avx2")
    case = verified[name]
    assert "avx2" in case.results, case.notes
    result = case.results["avx2"]
    assert result.verdict.status is Status.VERIFIED, result.verdict.detail
