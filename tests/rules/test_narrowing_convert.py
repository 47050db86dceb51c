"""A narrowing store with no clamp to the stored range (`(int16_t)s` of a float the loop clamped itself, `(int16_t)(v
>> 1)` of an int) keeps the low bits of each value. Its lanes are the stored elements, as an expert writes it: the
source is computed in two (four) whole registers, a float converted by cvttps2dq first, each masked to the low
bits, packed with the exact unsigned pack and put back in order by one lane permute (table rows
`narrow_<type>_x<k>`), one 32-byte store a step. The private temporaries the store reads (`float s = x[i] * k;
s = clamp(s);`) are computed for each register. The rewrites give the user's values for every input, NaN and
infinities included, and a wrong lane permute would not."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import analyse, needs_compiler, one_candidate, run_edited_against_original

from simdlens.config import Settings
from simdlens.core import Candidate, TextEdit
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

PACK16 = "_mm256_permute4x64_epi64(_mm256_packus_epi32("
PACK8 = "_mm256_permutevar8x32_epi32(_mm256_packus_epi16(_mm256_packus_epi32("
CASES = {
    # name: (the loop, element types (dst, a, b), the pack and lane permute its step must use, stored lanes)
    "gain_to_s16": ("void gain_to_s16(int16_t *restrict d, const float *restrict a, const float *restrict b, int n)\n"
                    "{ (void)b; for (int i = 0; i < n; i++) { float s = a[i] * 32767.0f;\n"
                    "  s = s > 32767.0f ? 32767.0f : (s < -32768.0f ? -32768.0f : s); d[i] = (int16_t)s; } }",
                    ("int16_t", "float", "float"), PACK16, 16),
    "mix_to_u8": ("void mix_to_u8(uint8_t *restrict d, const float *restrict a, const float *restrict b, int n)\n"
                  "{ for (int i = 0; i < n; i++) { float v = (a[i] + b[i]) * 127.5f;\n"
                  "  if (v < 0.0f) v = 0.0f; if (v > 255.0f) v = 255.0f; d[i] = (uint8_t)v; } }",
                  ("uint8_t", "float", "float"), PACK8, 32),
    "halve_s16": ("void halve_s16(int16_t *restrict d, const int32_t *restrict a, const int32_t *restrict b, int n)\n"
                  "{ for (int i = 0; i < n; i++) d[i] = (int16_t)((a[i] + b[i]) >> 1); }",
                  ("int16_t", "int32_t", "int32_t"), PACK16, 16),
    "low_byte": ("void low_byte(int8_t *restrict d, const int32_t *restrict a, const int32_t *restrict b, int n)\n"
                 "{ for (int i = 0; i < n; i++) { int v = (a[i] >> 8) ^ b[i]; d[i] = (int8_t)(v >> 3); } }",
                 ("int8_t", "int32_t", "int32_t"), PACK8, 32),
}

MAIN = """#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
void {name}({d} *restrict, const {a} *restrict, const {b} *restrict, int);
void original({d} *restrict, const {a} *restrict, const {b} *restrict, int);
static const float SPECIAL[] = {{NAN, -NAN, INFINITY, -INFINITY, 1.0f, -1.0f, 1.00003f, -1.00003f, 0.99999f, -0.0f,
                                 3e9f, -3e9f, 1e-30f, 0.5f, -0.5f, 2.0f, -2.0f, 1.9999f}};
int main(void)
{{
    static {a} a[5000]; static {b} b[5000]; static {d} x[5000], y[5000];
    unsigned r = 7u;
    for (int j = 0; j < 5000; j++) {{
        r = r * 1103515245u + 12345u;
        if ((({a})0.5f) != 0) {{  /* float operands: mostly in [-1.5, 1.5], some special values */
            a[j] = ({a})((int)(r >> 8) % 30001 - 15000) / 10000.0f; b[j] = ({b})((int)(r >> 12) % 2001 - 1000) / 1000.0f;
            if (j % 29 == 3) a[j] = ({a})SPECIAL[(j / 29) % (sizeof SPECIAL / sizeof SPECIAL[0])];
        }} else {{
            a[j] = ({a})r; b[j] = ({b})(r >> 9);
            if (j % 97 == 0) {{ a[j] = ({a})(j & 1 ? INT32_MIN : INT32_MAX); b[j] = ({b})(j & 2 ? -1 : 0x7fff); }}
        }}
    }}
    for (int n = 4990; n <= 5000; n++) {{
        memset(x, 0x5a, sizeof x); memset(y, 0x5a, sizeof y);
        {name}(x, a, b, n); original(y, a, b, n);
        for (int j = 0; j < 5000; j++) if (x[j] != y[j]) {{ printf("n=%d j=%d %d %d\\n", n, j, (int)x[j], (int)y[j]); return 1; }}
    }}
    return 0;
}}
"""


def _candidate(name: str) -> tuple[bytes, Candidate]:
    return one_candidate(name, CASES[name][0])


@pytest.mark.parametrize("name", list(CASES))
def test_a_narrowing_conversion_packs_whole_registers_into_one_store(name: str) -> None:
    _, cand = _candidate(name)
    pack, lanes = CASES[name][2], CASES[name][3]
    assert f"avx2, {lanes} lanes" in cand.function and f"for (; left >= {lanes}; left -= {lanes})" in cand.function
    step = cand.function.split("for (; left")[1].split("for (;")[0]
    assert pack in step, cand.function
    assert step.count("_mm256_storeu_si256(") == 1 and "_mm_storeu" not in step, cand.function
    assert "_mm256_shuffle_epi8" not in step and "vector steps per iteration" not in cand.function, cand.function
    if CASES[name][1][1] == "float":
        assert step.count("_mm256_cvttps_epi32(") == lanes // 8, cand.function  # one conversion per register


def test_a_temporary_read_elsewhere_keeps_its_own_lanes() -> None:
    """`s` is also stored as a float: it is computed once per 8 lanes and not packed from wider steps."""
    code = ("void keep_float(int16_t *restrict d, float *restrict e, const float *restrict a, int n)\n"
            "{ for (int i = 0; i < n; i++) { float s = a[i] * 100.0f; d[i] = (int16_t)s; e[i] = s; } }")
    source, analysis, kernel = analyse("keep_float", code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    assert "avx2, 8 lanes" in cand.function and PACK16 not in cand.function, cand.function


def _run(tmp_path: Path, name: str, edits: list[TextEdit], source: bytes) -> int:
    d, a, b = CASES[name][1]
    run = run_edited_against_original(tmp_path, "avx2", name, source, edits, "#include <stdint.h>\n" + CASES[name][0],
                                      MAIN.format(name=name, d=d, a=a, b=b), libs=("-lm",))
    return run.returncode


@needs_compiler
@pytest.mark.parametrize("name", list(CASES))
def test_the_packed_store_gives_the_users_values(tmp_path: Path, name: str) -> None:
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    source, cand = _candidate(name)
    assert _run(tmp_path, name, list(cand.edits), source) == 0


@needs_compiler
@pytest.mark.parametrize("name", ["gain_to_s16", "mix_to_u8"])
def test_a_wrong_lane_permute_is_caught(tmp_path: Path, name: str) -> None:
    """The packs interleave per 128-bit half; without the permute's fix-up the stored order is wrong, and the
    comparison with the user's loop says so (the check the sandbox runs before calling a rewrite verified)."""
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    source, cand = _candidate(name)
    wrong = [TextEdit(e.span, e.new_text.replace("0xD8)", "0xE4)").replace("_mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)",
                                                                           "_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)"))
             for e in cand.edits]
    assert wrong != list(cand.edits)
    assert _run(tmp_path, name, wrong, source) != 0
