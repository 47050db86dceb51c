"""A store of a signed value clamped to exactly the stored type's range is one saturating pack (packuswb,
packssdw, ...: the `narrow_sat_<type>` table rows), not a min, a max, a mask and a pack; and a loop whose
stores fill half a register runs two steps per iteration, so each iteration stores a whole one. The
rewrites give the user's values for every input, the clamp's bounds and the type's extremes included."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import analyse, needs_compiler, one_candidate, run_edited_against_original

from simdlens.config import Settings
from simdlens.core import Candidate
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

CASES = {
    # name: (the loop, its element types (dst, a, b), the pack the rewrite must use)
    "add_clip_u8": ("void add_clip_u8(uint8_t *restrict d, const uint8_t *restrict a, const int16_t *restrict b, int n)\n"
                    "{ for (int i = 0; i < n; i++) { int v = a[i] + b[i]; d[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v)); } }",
                    ("uint8_t", "uint8_t", "int16_t"), "_mm256_permute4x64_epi64(_mm256_packus_epi16("),
    "clip_s16": ("void clip_s16(int16_t *restrict d, const int32_t *restrict a, const int32_t *restrict b, int n)\n"
                 "{ for (int i = 0; i < n; i++) { int v = a[i] - b[i];\n"
                 "  d[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v); } }",
                 ("int16_t", "int32_t", "int32_t"), "_mm256_permute4x64_epi64(_mm256_packs_epi32("),
    "clip_u8_of_int": ("void clip_u8_of_int(uint8_t *restrict d, const int32_t *restrict a, const int32_t *restrict b, int n)\n"
                       "{ for (int i = 0; i < n; i++) { int v = (a[i] >> 14) - (b[i] >> 6); d[i] = v < 0 ? 0 : v > 255 ? 255 : v; } }",
                       ("uint8_t", "int32_t", "int32_t"),
                       "_mm256_permutevar8x32_epi32(_mm256_packus_epi16(_mm256_packs_epi32("),
    # a source whose own lanes are wider than the stored ones: computed in two (four) whole registers,
    # packed into one full register of stored lanes (an expert's packus + vpermq), one 32-byte store a step
    "gray_s16": ("void gray_s16(uint8_t *restrict d, const int16_t *restrict a, const int16_t *restrict b, int n)\n"
                 "{ (void)b; for (int i = 0; i < n; i++) d[i] = (uint8_t)(a[i] < 0 ? 0 : a[i] > 255 ? 255 : a[i]); }",
                 ("uint8_t", "int16_t", "int16_t"), "_mm256_permute4x64_epi64(_mm256_packus_epi16("),
    "s16_to_s8": ("void s16_to_s8(int8_t *restrict d, const int16_t *restrict a, const int16_t *restrict b, int n)\n"
                  "{ (void)b; for (int i = 0; i < n; i++) d[i] = (int8_t)(a[i] > 127 ? 127 : a[i] < -128 ? -128 : a[i]); }",
                  ("int8_t", "int16_t", "int16_t"), "_mm256_permute4x64_epi64(_mm256_packs_epi16("),
    "s32_to_u16": ("void s32_to_u16(uint16_t *restrict d, const int32_t *restrict a, const int32_t *restrict b, int n)\n"
                   "{ for (int i = 0; i < n; i++) d[i] = (uint16_t)(a[i] + b[i] < 0 ? 0 : a[i] + b[i] > 65535 ? 65535 : a[i] + b[i]); }",
                   ("uint16_t", "int32_t", "int32_t"), "_mm256_permute4x64_epi64(_mm256_packus_epi32("),
    "s32_to_u8": ("void s32_to_u8(uint8_t *restrict d, const int32_t *restrict a, const int32_t *restrict b, int n)\n"
                  "{ for (int i = 0; i < n; i++) d[i] = (uint8_t)((a[i] >> 4) - b[i] < 0 ? 0 : (a[i] >> 4) - b[i] > 255 ? 255 : (a[i] >> 4) - b[i]); }",
                  ("uint8_t", "int32_t", "int32_t"),
                   "_mm256_permutevar8x32_epi32(_mm256_packus_epi16(_mm256_packs_epi32("),
    # a temporary read only by the clamp (an ML quantization): the store packs its expression, four registers
    "quantize_s8": ("#include <math.h>\n"
                    "void quantize_s8(int8_t *restrict d, const float *restrict a, const float *restrict b, int n)\n"
                    "{ for (int i = 0; i < n; i++) { int v = (int)nearbyintf(a[i] * 0.25f - b[i]);\n"
                    "  d[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v); } }",
                    ("int8_t", "float", "float"),
                    "_mm256_permutevar8x32_epi32(_mm256_packs_epi16(_mm256_packs_epi32("),
}
WHOLE_REGISTERS = ("gray_s16", "s16_to_s8", "s32_to_u16", "s32_to_u8", "clip_s16", "clip_u8_of_int", "quantize_s8")

MAIN = """#include <stdio.h>
#include <stdint.h>
void {name}({d} *restrict, const {a} *restrict, const {b} *restrict, int);
void original({d} *restrict, const {a} *restrict, const {b} *restrict, int);
int main(void)
{{
    static {a} a[5000]; static {b} b[5000]; static {d} x[5000], y[5000];
    unsigned r = 7u;
    for (int j = 0; j < 5000; j++) {{
        r = r * 1103515245u + 12345u;
        a[j] = ({a})(r >> 7); b[j] = ({b})(r >> 13);
        if (j % 3 == 1) {{ a[j] = ({a})((int)(r >> 20) % 700 - 200); b[j] = ({b})((int)(r >> 9) % 300 - 150); }}
        if (j % 97 == 0) {{ a[j] = ({a})(j & 1 ? -1 : 0x3fffffff); b[j] = ({b})(j & 2 ? -0x7fff : 0x7fff); }}
    }}
    for (int n = 4990; n <= 5000; n++) {{
        {name}(x, a, b, n); original(y, a, b, n);
        for (int j = 0; j < n; j++) if (x[j] != y[j]) {{ printf("n=%d j=%d %d %d\\n", n, j, (int)x[j], (int)y[j]); return 1; }}
    }}
    return 0;
}}
"""


def _candidate(name: str) -> tuple[bytes, Candidate]:
    return one_candidate(name, CASES[name][0])


@pytest.mark.parametrize("name", list(CASES))
def test_a_clamp_to_the_stored_range_is_one_saturating_pack(name: str) -> None:
    _, cand = _candidate(name)
    step = cand.function.split("for (; left")[1]
    assert CASES[name][2] in step, cand.function
    assert "_min_epi" not in step and "_max_epi" not in step and "_mm256_set1_epi16(0xFF)" not in step, cand.function


def test_half_register_stores_run_two_steps_per_iteration() -> None:
    code = ("void halve_s16(int16_t *restrict d, const int32_t *restrict a, const int32_t *restrict b, int n)\n"
            "{ for (int i = 0; i < n; i++) d[i] = (int16_t)((a[i] + b[i] + i) >> 1); }")
    # the counter's lanes are one register of 8: 8 int32 lanes per step give 16 bytes, two steps store 32
    source, analysis, kernel = analyse("halve_s16", code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    assert "2 vector steps per iteration, so that each iteration stores whole registers" in cand.function
    assert "for (; left >= 16; left -= 16)" in cand.function, cand.function


@pytest.mark.parametrize("name", [*WHOLE_REGISTERS, "add_clip_u8"])
def test_a_narrowing_store_fills_a_whole_register_every_step(name: str) -> None:
    """The lanes are the stored elements (32 bytes, 16 int16 a step), not the source's or the clamp's int
    lanes: the wider source is loaded as whole registers and packed into one, stored once."""
    _, cand = _candidate(name)
    lanes = 256 // (16 if "16" in CASES[name][1][0] else 8)
    assert f"avx2, {lanes} lanes" in cand.function and f"for (; left >= {lanes}; left -= {lanes})" in cand.function
    step = cand.function.split("for (; left")[-1].split("}")[0]  # one step (a short one also runs twice an iteration)
    assert step.count("_mm256_storeu_si256(") == 1 and "_mm_storeu" not in step, cand.function
    assert "so that each iteration stores whole registers" not in cand.function, cand.function


@needs_compiler
@pytest.mark.parametrize("name", list(CASES))
def test_the_pack_stores_the_users_values(tmp_path: Path, name: str) -> None:
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    source, cand = _candidate(name)
    d, a, b = CASES[name][1]
    run = run_edited_against_original(tmp_path, "avx2", name, source, cand.edits,
                                      "#include <stdint.h>\n" + CASES[name][0], MAIN.format(name=name, d=d, a=a, b=b))
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_select_of_two_arrays_is_one_min_or_max_and_a_nested_clamp_one_pack() -> None:
    """`a[i] > b[i] ? a[i] : b[i]` is pmaxub; `MAX(MIN(s[i], 255), 0)` (the outer bound compares the inner
    one's result, as std::max(0, std::min(v, 255)) does) narrows int16 lanes with one packuswb."""
    import rule_loops
    from rules_support import analyse

    from simdlens.config import Settings
    from simdlens.rules import propose

    for name, want, never in (("select_max_u8", "_mm256_max_epu8", "blendv"), ("clamp_nested_to_u8", "packus", "blendv")):
        source, a, kernel = analyse(name, rule_loops.SPECIAL[name])
        assert kernel is not None
        function = propose(a, kernel, "avx2", Settings(), source=source).candidates[0].function
        assert want in function and never not in function, function


def test_a_temporary_read_elsewhere_is_computed_once_in_its_own_lanes() -> None:
    """`v` is also stored whole: it stays one value per 32-bit lane (8 lanes), computed once per step, and the
    clamp of it is packed from that register rather than recomputed for a wider step."""
    code = ("void clip_and_keep(int16_t *restrict d, int32_t *restrict e, const int32_t *restrict a, int n)\n"
            "{ for (int i = 0; i < n; i++) { int v = a[i] >> 3; d[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);\n"
            "  e[i] = v; } }")
    source, analysis, kernel = analyse("clip_and_keep", code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    step = cand.function.split("for (; left")[-1]
    assert "avx2, 8 lanes" in cand.function and step.count("_mm256_srai_epi32(") + step.count("_mm256_srav_epi32(") == 1
    assert "_mm_packs_epi32(" in step, cand.function
