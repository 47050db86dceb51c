"""`lrintf` to int, clamped to 16 or 8 bits by a macro, a `static inline` helper function or by `if`s, becomes `cvtps2dq` (the current
rounding mode) with the clamp applied to the float first; lanes that are NaN or out of the exact range
leave the block to the user's scalar loop. Checked against the user's loop in every rounding mode, for
ties, NaN, infinities and values past int32 and int64, and through the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import ISAS, analyse, needs_compiler, run_edited_against_original, verify_cases

from simdlens.config import Settings
from simdlens.core import Status
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

PRELUDE = ("#include <math.h>\n#define SSAT16(v) ((v) < -32768 ? -32768 : (v) > 32767 ? 32767 : (v))\n"
           "static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }\n")

LOOPS = {
    "lrint_to_int": ("int", "float s",
                     "for (int i = 0; i < n; i++) out[i] = lrintf(x[i] * s);"),
    "lrint_ssat_macro": ("int16_t", "float s",
                         "for (int i = 0; i < n; i++) { long v = lrintf(x[i] * s); out[i] = (int16_t)SSAT16(v); }"),
    "lrint_helper_function": ("int16_t", "float s",
                              "for (int i = 0; i < n; i++) out[i] = (int16_t)clampi(lrintf(x[i] * s), -32768, 32767);"),
    "lrint_int_ifs": ("int16_t", "float s",
                      "for (int i = 0; i < n; i++) { int v = (int)lrintf(x[i] * s); if (v > 32767) v = 32767;"
                      " if (v < -32768) v = -32768; out[i] = (int16_t)v; }"),
    "lrint_u8_ternary": ("uint8_t", "float s",
                         "for (int i = 0; i < n; i++) { int v = (int)lrintf(x[i] * s);"
                         " out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }"),
}


def _code(name: str) -> str:
    elem, extra, loop = LOOPS[name]
    return f"{PRELUDE}void {name}({elem} *restrict out, const float *restrict x, {extra}, int n)\n{{ {loop} }}"


MAIN = """
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
typedef ELEM T;
void NAME(T *restrict out, const float *restrict x, float s, int n);
void original(T *restrict out, const float *restrict x, float s, int n);
int main(void)
{
    static float x[300];
    static T a[300], b[300];
    const float special[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, -0.0f, 32767.5f, -32768.5f,
                             255.5f, 256.0f, -1.0f, 2147483520.0f, 2147483648.0f, 3e9f, -3e9f, -2147483648.0f,
                             9.3e18f, -9.3e18f, 1e30f, INFINITY, -INFINITY, NAN, 65535.7f, 4294967296.0f};
    const int n_special = (int)(sizeof special / sizeof special[0]);
    const int modes[] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
    const float scales[] = {1.0f, 32768.0f, 255.0f};
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: specials among ordinary values; pass 1: ordinary values only (the vector path throughout) */
        for (int j = 0; j < 300; j++)
            x[j] = (pass == 0 && j % 37 < n_special) ? special[j % 37] : (float)((j * 7919 % 2001) - 1000) / 700.0f;
        for (int m = 0; m < 4; m++) {
            fesetround(modes[m]);
            for (int k = 0; k < 3; k++)
                for (int n = 0; n <= 300; n += 13) {
                    memset(a, 0x55, sizeof a); memset(b, 0x55, sizeof b);
                    NAME(a, x, scales[k], n); original(b, x, scales[k], n);
                    if (memcmp(a, b, sizeof a) != 0) { printf("pass %d mode %d scale %d n=%d differ\\n", pass, m, k, n); return 1; }
                }
        }
    }
    return 0;
}
"""


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", list(LOOPS))
def test_lrintf_stores_match_the_library_in_every_mode(tmp_path: Path, isa: str, name: str) -> None:
    code = _code(name)
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None, analysis.reasons
    proposal = propose(analysis, kernel, isa, Settings(), source=source)
    assert proposal.candidates, proposal.notes
    (cand,) = proposal.candidates
    assert "cvtps_epi32" in cand.function, cand.function
    assert "lrintf" in cand.function  # the scalar remainder is still the user's loop
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    run = run_edited_against_original(tmp_path, isa, name, source, cand.edits, "#include <stdint.h>\n" + code,
                                      MAIN.replace("ELEM", LOOPS[name][0]).replace("NAME", name), libs=("-lm",))
    assert run.returncode == 0, run.stdout[:2000]


@needs_compiler
def test_lrintf_clamp_rewrites_verify_in_the_sandbox(rule_settings: Settings) -> None:
    results = verify_cases([(name, _code(name)) for name in LOOPS], rule_settings)
    for name, case in results.items():
        for isa in ISAS:
            r = case.results.get(isa)
            assert r is not None, (name, isa, case.notes.get(isa))
            if isa == "avx512" and r.verdict.status == Status.UNSUPPORTED_CPU:
                continue
            assert r.verdict.status == Status.VERIFIED, (name, isa, r.verdict)


def test_lrintf_stored_as_long_is_left_to_the_compiler() -> None:
    code = "#include <math.h>\nvoid f(long *restrict out, const float *restrict x, int n)\n" \
           "{ for (int i = 0; i < n; i++) out[i] = lrintf(x[i]); }"
    source, analysis, kernel = analyse("lrint_long", code)
    assert kernel is not None
    proposal = propose(analysis, kernel, "avx2", Settings(), source=source)
    assert not proposal.candidates
    assert any("lrintf" in n for n in proposal.notes), proposal.notes


def test_a_static_helper_function_is_read_like_a_macro_with_its_parameter_conversions() -> None:
    code = ("static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }\n"
            "static int twostep(int v) { int w = v * 2; w += 1; return w; }\n"
            "void sat(int16_t *restrict out, const long long *restrict x, int n)\n"
            "{ for (int i = 0; i < n; i++) out[i] = (int16_t)clampi(x[i], -32768, 32767); }\n"
            "void ptr(int *restrict out, const int *restrict x, int n)\n"
            "{ for (int i = 0; i < n; i++) out[i] = twostep(x[i]); }\n")
    from simdlens.analysis import analyze_file

    fa = analyze_file(("#include <stdint.h>\n" + code).encode(), "/tmp/helpers.c", "c")
    by_function = {a.site.function: a for a in fa.analyses}
    sat, ptr = by_function["sat"], by_function["ptr"]
    assert sat.loop is not None
    # the long long argument is converted to the helper's int first: (int)x[i], then compared
    casts = [e for e in _exprs(sat.loop.body) if type(e).__name__ == "Cast" and e.type.name == "int32"
             and getattr(e.operand, "access", None) is not None and e.operand.access.elem.name == "int64"]
    assert casts, sat.loop.body
    assert any("calls twostep" in r.message for r in ptr.reasons), ptr.reasons  # an assignment: no expression


def _exprs(body: tuple) -> list:  # type: ignore[type-arg]
    from simdlens.analysis.ir import walk_exprs, walk_stmts

    out = []
    for s in walk_stmts(body):
        for f in ("value", "cond"):
            e = getattr(s, f, None)
            if e is not None:
                out.extend(walk_exprs(e))
    return out
