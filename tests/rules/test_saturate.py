"""Saturating add/sub: the clamp forms people write around a widened 8/16-bit sum become one
`adds`/`subs` instruction per vector (16 or 32 lanes on AVX2), and give the original loop's result for
every pair of values, extremes included. Clamps that are not exactly the type's range stay as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import ISAS, analyse, apply_edits, build_and_run, needs_compiler

from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

CASES = {  # name -> (element type, code, the instruction the rewrite must use)
    "if_form": ("int16_t", """void if_form(int16_t *out, const int16_t *a, const int16_t *b, int n)
{ for (int i = 0; i < n; i++) { int s = a[i] + b[i]; if (s > 32767) s = 32767; if (s < -32768) s = -32768; out[i] = s; } }""",
                "adds_epi16"),
    "ternary": ("int16_t", """void ternary(int16_t *out, const int16_t *a, const int16_t *b, int n)
{ for (int i = 0; i < n; i++) { int s = a[i] - b[i]; out[i] = (int16_t)(s > 32767 ? 32767 : s < -32768 ? -32768 : s); } }""",
                "subs_epi16"),
    "minmax": ("int8_t", """#define MIN(x, y) ((x) < (y) ? (x) : (y))
#define MAX(x, y) ((x) > (y) ? (x) : (y))
void minmax(int8_t *out, const int8_t *a, const int8_t *b, int n)
{ for (int i = 0; i < n; i++) out[i] = MAX(MIN(a[i] + b[i], 127), -128); }""", "adds_epi8"),
    "u8_top": ("uint8_t", """void u8_top(uint8_t *out, const uint8_t *a, const uint8_t *b, int n)
{ for (int i = 0; i < n; i++) { int s = a[i] + b[i]; out[i] = s > 255 ? 255 : s; } }""", "adds_epu8"),
    "u16_floor": ("uint16_t", """void u16_floor(uint16_t *out, const uint16_t *a, const uint16_t *b, int n)
{ for (int i = 0; i < n; i++) { int d = a[i] - b[i]; if (d < 0) d = 0; out[i] = (uint16_t)d; } }""", "subs_epu16"),
    # DSP libraries' saturation helper: `if`/`return` and local constants, the bound an expression of
    # its argument (`(1U << (bits - 1U)) - 1U`), which the reading computes as C does
    "helper_ifs": ("int16_t", """static inline int32_t sat(int32_t v, uint32_t bits)
{ if (bits > 0U && bits < 32U) { const int32_t top = (int32_t)((1U << (bits - 1U)) - 1U); const int32_t bottom = -top - 1;
  if (v > top) return top; else if (v < bottom) return bottom; } return v; }
void helper_ifs(int16_t *out, const int16_t *a, const int16_t *b, int n)
{ for (int i = 0; i < n; i++) out[i] = (int16_t)sat((int32_t)a[i] + b[i], 16); }""", "adds_epi16"),
    # every `return` of the helper converts to uint8_t, and the ternary C reads it as promotes back
    "helper_clip": ("uint8_t", """static inline uint8_t clip(int v) { if (v < 0) return 0; if (v > 255) return 255; return (uint8_t)v; }
void helper_clip(uint8_t *out, const uint8_t *a, const uint8_t *b, int n)
{ for (int i = 0; i < n; i++) out[i] = clip(a[i] - b[i]); }""", "subs_epu8"),
    "macro_bounds": ("int16_t", """#define TOP ((1 << 15) - 1)
#define BOTTOM (-(1 << 15))
void macro_bounds(int16_t *out, const int16_t *a, const int16_t *b, int n)
{ for (int i = 0; i < n; i++) { int s = a[i] + b[i]; out[i] = (int16_t)(s > TOP ? TOP : s < BOTTOM ? BOTTOM : s); } }""",
                     "adds_epi16"),
    # |v| saturated: pabs leaves the minimum as it is, so an unsigned min with the maximum follows
    "abs_if": ("int16_t", """void abs_if(int16_t *out, const int16_t *a, const int16_t *b, int n)
{ (void)b; for (int i = 0; i < n; i++) { int16_t v = a[i]; int m = v < 0 ? -v : v; if (m > 32767) m = 32767; out[i] = (int16_t)m; } }""",
               "abs_epi16"),
    "abs_call": ("int8_t", """#include <stdlib.h>
void abs_call(int8_t *out, const int8_t *a, const int8_t *b, int n)
{ (void)b; for (int i = 0; i < n; i++) { int m = abs(a[i]); out[i] = (int8_t)(m > 127 ? 127 : m); } }""", "abs_epi8"),
    # not the type's range: an ordinary clamp, no saturating instruction
    "narrower": ("int16_t", """void narrower(int16_t *out, const int16_t *a, const int16_t *b, int n)
{ for (int i = 0; i < n; i++) { int s = a[i] + b[i]; if (s > 32000) s = 32000; if (s < -32768) s = -32768; out[i] = s; } }""",
                 ""),
    # only the top clamped on a signed sum: wraps below, so not a saturating add
    "one_side": ("int16_t", """void one_side(int16_t *out, const int16_t *a, const int16_t *b, int n)
{ for (int i = 0; i < n; i++) { int s = a[i] + b[i]; out[i] = s > 32767 ? 32767 : s; } }""", ""),
}

MAIN = """
#include <stdio.h>
#include <string.h>
#include <stdint.h>
typedef ELEM T;
void NAME(T *out, const T *a, const T *b, int n);
void original(T *out, const T *a, const T *b, int n);
int main(void)
{
    static T a[1000], b[1000], x[1000], y[1000];
    unsigned r = 7u;
    const long long extremes[] = {-32768, -32767, -129, -128, -127, -1, 0, 1, 126, 127, 128, 254, 255, 256, 32766, 32767, 65535};
    for (int j = 0; j < 1000; j++) {
        r = r * 1103515245u + 12345u;
        a[j] = (T)(j < 17 * 17 ? extremes[j % 17] : (long long)(r >> 7));
        b[j] = (T)(j < 17 * 17 ? extremes[j / 17] : (long long)(r >> 15));
    }
    for (int n = 0; n <= 1000; n += (n < 70 ? 1 : 97)) {
        memset(x, 0x5a, sizeof x); memset(y, 0x5a, sizeof y);
        NAME(x, a, b, n); original(y, a, b, n);
        if (memcmp(x, y, sizeof x) != 0) { printf("n=%d differ\\n", n); return 1; }
    }
    return 0;
}
"""


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", list(CASES))
def test_saturating_forms_use_one_instruction_and_match_the_original(tmp_path: Path, isa: str, name: str) -> None:
    elem, code, instruction = CASES[name]
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None
    proposal = propose(analysis, kernel, isa, Settings(), source=source)
    assert proposal.candidates, proposal.notes
    (cand,) = proposal.candidates
    if instruction:
        assert f"_{instruction}(" in cand.function and cand.origin == "rules:saturate", cand.function
    else:
        assert "_adds_" not in cand.function and "_subs_" not in cand.function, cand.function
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    (tmp_path / "edited.c").write_bytes(apply_edits(source, cand.edits))
    (tmp_path / "original.c").write_text("#include <stdint.h>\n" + code.replace(f"{name}(", "original("))
    (tmp_path / "main.c").write_text(MAIN.replace("ELEM", elem).replace("NAME", name))
    run = build_and_run(tmp_path, isa, ("edited.c", "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]


RESIDUAL = """void residual(uint8_t *out, const uint8_t *pred, const int16_t *res, int n)
{ for (int i = 0; i < n; i++) { int v = pred[i] + res[i]; out[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v)); } }"""

RESIDUAL_MAIN = """
#include <stdio.h>
#include <string.h>
#include <stdint.h>
void residual(uint8_t *out, const uint8_t *pred, const int16_t *res, int n);
void original(uint8_t *out, const uint8_t *pred, const int16_t *res, int n);
int main(void)
{
    static uint8_t p[1000], x[1000], y[1000]; static int16_t r[1000];
    const int extremes[] = {-32768, -32767, -256, -255, -1, 0, 1, 254, 255, 256, 32512, 32767};
    unsigned s = 11u;
    for (int j = 0; j < 1000; j++) {
        s = s * 1103515245u + 12345u;
        p[j] = j < 144 ? (uint8_t)(j % 12 * 23) : (uint8_t)(s >> 9);
        r[j] = j < 144 ? (int16_t)extremes[j / 12] : (int16_t)(s >> 13);
    }
    for (int n = 0; n <= 1000; n += (n < 70 ? 1 : 97)) {
        memset(x, 0x5a, sizeof x); memset(y, 0x5a, sizeof y);
        residual(x, p, r, n); original(y, p, r, n);
        if (memcmp(x, y, sizeof x) != 0) { printf("n=%d differ\\n", n); return 1; }
    }
    return 0;
}
"""


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
def test_a_byte_clamp_of_a_16_bit_sum_saturates_in_int16_lanes(tmp_path: Path, isa: str) -> None:
    source, analysis, kernel = analyse("residual", RESIDUAL)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, isa, Settings(), source=source).candidates
    # int16 lanes, not int32 ones; on AVX2 two registers of them packed into one of 32 stored bytes
    lanes = 32
    assert "_adds_epi16(" in cand.function and f"{lanes} lanes" in cand.function, cand.function
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    (tmp_path / "edited.c").write_bytes(apply_edits(source, cand.edits))
    (tmp_path / "original.c").write_text("#include <stdint.h>\n" + RESIDUAL.replace("residual(", "original("))
    (tmp_path / "main.c").write_text(RESIDUAL_MAIN)
    run = build_and_run(tmp_path, isa, ("edited.c", "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]
