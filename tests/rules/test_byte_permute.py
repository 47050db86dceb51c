"""Byte swaps and other fixed byte shuffles of 16/32/64-bit elements (`(v >> 24) | ((v >> 8) & 0xff00) | ...`,
`__builtin_bswap32`, a red/blue channel swap of packed pixels) are one byte shuffle with a constant control
per step, as an expert writes them, instead of the shifts, masks and ors of the C text. Expressions that
are not a permutation of one value's bytes (sign fills of a signed shift, shifts by part of a byte, bytes
that carry into each other, bytes of two values) keep the lane-wise arithmetic. Every rewrite gives the
user's values for every input and remainder length."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import analyse, needs_compiler, require_host, run_edited_against_original, verify_cases

from simdlens.config import Settings
from simdlens.core import Status
from simdlens.rules import propose

SWAPS = {
    # name: (element type, the loop body's stored value of `s[i]`, the 16-byte control the step must use)
    "bswap32_shifts": ("uint32_t", "(v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)",
                       "3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12"),
    "bswap32_builtin": ("uint32_t", "__builtin_bswap32(v)", "3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12"),
    "bswap64_builtin": ("uint64_t", "__builtin_bswap64(v)", "7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8"),
    "bswap16_builtin": ("uint16_t", "__builtin_bswap16(v)", "1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14"),
    "bswap16_promoted": ("uint16_t", "(uint16_t)((v >> 8) | (v << 8))",
                         "1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14"),
    # a signed element: the arithmetic shift's sign bytes are masked off
    "int16_signed": ("int16_t", "(int16_t)((v << 8) | ((v >> 8) & 0xff))",
                     "1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14"),
    "red_blue": ("uint32_t", "(v & 0xff00ff00u) | ((v >> 16) & 0xffu) | ((v & 0xffu) << 16)",
                 "2, 1, 0, 3, 6, 5, 4, 7, 10, 9, 8, 11, 14, 13, 12, 15"),
    "rotate_bytes": ("uint32_t", "(v << 8) | (v >> 24)", "3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14"),
    "pair_halves": ("uint32_t", "((v & 0x00ff00ffu) << 8) | ((v >> 8) & 0x00ff00ffu)",
                    "1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14"),
    # zero bytes in the result: -1 in the control (the shuffle writes zero)
    "two_bytes_kept": ("uint32_t", "((v >> 16) & 0xffu) | ((v & 0xffu) << 24)",
                       "2, -1, -1, 0, 6, -1, -1, 4, 10, -1, -1, 8, 14, -1, -1, 12"),
}

NOT_PERMUTATIONS = {
    # name: (element type, stored value): no fixed byte of one value per result byte
    "signed_fill": ("int32_t", "(v >> 24) | (v << 24)"),  # the arithmetic shift fills with sign copies
    "nibbles": ("uint32_t", "(v >> 4) | (v << 28)"),  # shifts by part of a byte
    "carried_sum": ("uint32_t", "(v >> 8) + (v << 8)"),  # bytes on both sides: the sum carries
    "overlapping_or": ("uint32_t", "(v >> 8) | v"),  # bits of two bytes or-ed together
    "two_values": ("uint32_t", "(v >> 24) | ((v + 1u) << 8)"),  # bytes of two values
}


def _code(name: str, elem: str, value: str) -> str:
    return (f"void {name}({elem} *restrict d, const {elem} *restrict s, int n)\n"
            f"{{ for (int i = 0; i < n; i++) {{ {elem} v = s[i]; d[i] = {value}; }} }}")


MAIN = """#include <stdio.h>
#include <stdint.h>
void {name}({t} *restrict, const {t} *restrict, int);
void original({t} *restrict, const {t} *restrict, int);
int main(void)
{{
    static {t} s[5000], x[5000], y[5000];
    unsigned long long r = 7u;
    for (int j = 0; j < 5000; j++) {{
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        s[j] = ({t})(r ^ (r >> 29));  /* every byte, sign bits set and clear */
    }}
    for (int n = 4980; n <= 5000; n++) {{
        {name}(x, s, n); original(y, s, n);
        for (int j = 0; j < n; j++) if (x[j] != y[j]) {{ printf("n=%d j=%d\\n", n, j); return 1; }}
    }}
    return 0;
}}
"""


def _step(name: str, elem: str, value: str) -> tuple[bytes, str, str]:
    """(source, the candidate's edits' function, its vector step) for the AVX2 rewrite."""
    source, analysis, kernel = analyse(name, _code(name, elem, value))
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    return source, cand.function, cand.function.split("for (; left")[1].split("for (;")[0]


@pytest.mark.parametrize("name", list(SWAPS))
def test_a_fixed_byte_permutation_is_one_byte_shuffle(name: str) -> None:
    elem, value, control = SWAPS[name]
    _, function, step = _step(name, elem, value)
    assert step.count("_mm256_shuffle_epi8(") == 1, function
    assert f"_mm256_setr_epi8({control}, {control})" in function, function
    for lane_op in ("_mm256_srli_", "_mm256_slli_", "_mm256_or_si256", "_mm256_and_si256"):
        assert lane_op not in step, function
    assert "rules:permute_bytes" in function


@pytest.mark.parametrize("name", list(NOT_PERMUTATIONS))
def test_other_shift_and_mask_expressions_keep_lane_arithmetic(name: str) -> None:
    _, function, step = _step(name, *NOT_PERMUTATIONS[name])
    assert "shuffle_epi8" not in step, function


@needs_compiler
@pytest.mark.parametrize("name", [*SWAPS, *NOT_PERMUTATIONS])
def test_the_rewrite_gives_the_users_values(tmp_path: Path, name: str) -> None:
    require_host("avx2")
    elem, value = (SWAPS[name][:2] if name in SWAPS else NOT_PERMUTATIONS[name])
    code = _code(name, elem, value)
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    run = run_edited_against_original(tmp_path, "avx2", name, source, cand.edits, "#include <stdint.h>\n" + code,
                                      MAIN.format(name=name, t=elem))
    assert run.returncode == 0, run.stdout + run.stderr


@needs_compiler
@pytest.mark.sandbox
def test_the_sandbox_verifies_byte_swaps_against_the_users_loop(rule_settings: Settings) -> None:
    require_host("avx2")
    cases = [(n, _code(n, *SWAPS[n][:2])) for n in ("bswap32_shifts", "bswap64_builtin", "red_blue")]
    results = verify_cases(cases, rule_settings)
    for name, _ in cases:
        result = results[name].results["avx2"]
        assert result.verdict.status is Status.VERIFIED, (name, result.verdict.detail)
        assert "_mm256_shuffle_epi8(" in result.candidate.function


def test_a_user_function_named_like_a_swap_is_not_taken_for_the_builtin() -> None:
    code = ("uint32_t bswap32(uint32_t x);\n"
            "void f(uint32_t *restrict d, const uint32_t *restrict s, int n)\n"
            "{ for (int i = 0; i < n; i++) d[i] = bswap32(s[i]); }")
    _, analysis, _ = analyse("f", code)
    assert any("calls bswap32" in r.message for r in analysis.reasons), analysis.reasons
