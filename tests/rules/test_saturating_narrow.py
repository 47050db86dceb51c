"""A store of a signed value clamped to exactly the stored type's range is one saturating pack (packuswb,
packssdw, ...: the `narrow_sat_<type>` table rows), not a min, a max, a mask and a pack; and a loop whose
stores fill half a register runs two steps per iteration, so each iteration stores a whole one. The
rewrites give the user's values for every input, the clamp's bounds and the type's extremes included."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import analyse, needs_compiler, run_edited_against_original

from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

CASES = {
    # name: (the loop, its element types (dst, a, b), the pack the rewrite must use)
    "add_clip_u8": ("void add_clip_u8(uint8_t *restrict d, const uint8_t *restrict a, const int16_t *restrict b, int n)\n"
                    "{ for (int i = 0; i < n; i++) { int v = a[i] + b[i]; d[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v)); } }",
                    ("uint8_t", "uint8_t", "int16_t"), "_mm_packus_epi16("),
    "clip_s16": ("void clip_s16(int16_t *restrict d, const int32_t *restrict a, const int32_t *restrict b, int n)\n"
                 "{ for (int i = 0; i < n; i++) { int v = a[i] - b[i];\n"
                 "  d[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v); } }",
                 ("int16_t", "int32_t", "int32_t"), "_mm_packs_epi32("),
    "clip_u8_of_int": ("void clip_u8_of_int(uint8_t *restrict d, const int32_t *restrict a, const int32_t *restrict b, int n)\n"
                       "{ for (int i = 0; i < n; i++) { int v = (a[i] >> 14) - (b[i] >> 6); d[i] = v < 0 ? 0 : v > 255 ? 255 : v; } }",
                       ("uint8_t", "int32_t", "int32_t"), "_mm_packs_epi32("),
}

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
        if (j % 97 == 0) {{ a[j] = ({a})(j & 1 ? -1 : 0x3fffffff); b[j] = ({b})(j & 2 ? -0x7fff : 0x7fff); }}
    }}
    for (int n = 4990; n <= 5000; n++) {{
        {name}(x, a, b, n); original(y, a, b, n);
        for (int j = 0; j < n; j++) if (x[j] != y[j]) {{ printf("n=%d j=%d %d %d\\n", n, j, (int)x[j], (int)y[j]); return 1; }}
    }}
    return 0;
}}
"""


def _candidate(name: str):  # type: ignore[no-untyped-def]
    code = CASES[name][0]
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    return source, cand


@pytest.mark.parametrize("name", list(CASES))
def test_a_clamp_to_the_stored_range_is_one_saturating_pack(name: str) -> None:
    _, cand = _candidate(name)
    step = cand.function.split("for (; left")[1]
    assert CASES[name][2] in step, cand.function
    assert "_min_epi" not in step and "_max_epi" not in step and "_mm256_set1_epi16(0xFF)" not in step, cand.function


def test_half_register_stores_run_two_steps_per_iteration() -> None:
    _, cand = _candidate("add_clip_u8")  # 16 int16 lanes per step give 16 bytes: two steps store 32
    assert "2 vector steps per iteration, so that each iteration stores whole registers" in cand.function
    assert "for (; left >= 32; left -= 32)" in cand.function, cand.function


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
