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
    return source, cand.function, cand.function.split("for (; left")[-1].split("for (;")[0]  # one step (a short one runs twice)


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
    # POSIX's network byte order: a byte swap on x86, built with the user's own include
    cases.append(("from_network", "#include <arpa/inet.h>\n" + _code("from_network", "uint32_t", "ntohl(v)")))
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


GROUPS = {
    # name: (element type, the loop over groups of `s` into `d` (or `d` in place), whether it is one byte shuffle)
    "rgba_to_bgra": ("uint8_t", "d[4 * i] = s[4 * i + 2]; d[4 * i + 1] = s[4 * i + 1]; d[4 * i + 2] = s[4 * i];"
                     " d[4 * i + 3] = s[4 * i + 3];", True),
    "argb_to_bgra": ("uint8_t", "uint8_t a = s[4 * i], r = s[4 * i + 1], g = s[4 * i + 2], b = s[4 * i + 3];"
                     " d[4 * i] = b; d[4 * i + 1] = g; d[4 * i + 2] = r; d[4 * i + 3] = a;", True),
    # a 64-bit word kept as two 32-bit halves: halves swapped and each byte-swapped, in place
    "word_halves_swapped": ("uint32_t", "uint32_t lo = d[2 * i], hi = d[2 * i + 1];"
                            " d[2 * i] = __builtin_bswap32(hi); d[2 * i + 1] = __builtin_bswap32(lo);", True),
    "stereo_swap_q15": ("int16_t", "int16_t l = s[2 * i], r = s[2 * i + 1]; d[2 * i] = r; d[2 * i + 1] = l;", True),
    # 12-byte groups never fill a 16-byte block evenly: shuffled apart and back
    "xyz_to_zyx": ("int32_t", "d[3 * i] = s[3 * i + 2]; d[3 * i + 1] = s[3 * i + 1]; d[3 * i + 2] = s[3 * i];", False),
    # one position computed: not a permutation
    "bgra_dimmed_alpha": ("uint8_t", "d[4 * i] = s[4 * i + 2]; d[4 * i + 1] = s[4 * i + 1]; d[4 * i + 2] = s[4 * i];"
                          " d[4 * i + 3] = (uint8_t)(s[4 * i + 3] >> 1);", False),
}

GROUP_MAIN = """#include <stdio.h>
#include <stdint.h>
#include <string.h>
void {name}({t} *restrict, const {t} *restrict, int);
void original({t} *restrict, const {t} *restrict, int);
int main(void)
{{
    static {t} s[4 * 5000], x[4 * 5000], y[4 * 5000];
    unsigned long long r = 11u;
    for (int j = 0; j < 4 * 5000; j++) {{
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        s[j] = ({t})(r ^ (r >> 29));
    }}
    for (int n = 4980; n <= 5000; n++) {{
        memcpy(x, s, sizeof s); memcpy(y, s, sizeof s);
        {name}(x, s, n); original(y, s, n);
        if (memcmp(x, y, sizeof x)) {{ printf("n=%d\\n", n); return 1; }}
    }}
    return 0;
}}
"""


def _group_code(name: str) -> str:
    elem, body, _ = GROUPS[name]
    return (f"void {name}({elem} *restrict d, const {elem} *restrict s, int n)\n"
            f"{{ (void)s; for (int i = 0; i < n; i++) {{ {body} }} }}")


@needs_compiler
@pytest.mark.parametrize("name", list(GROUPS))
def test_a_permuted_group_is_one_byte_shuffle_per_block_and_gives_the_users_values(tmp_path: Path, name: str) -> None:
    elem, _, one_shuffle = GROUPS[name]
    code = _group_code(name)
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    step = cand.function.split("for (; left")[1].split("for (;")[0]
    registers = step.count("_mm256_loadu_si256")
    if one_shuffle:  # each block register: one load, one shuffle, one store; nothing else
        assert step.count("_mm256_shuffle_epi8(") == registers == step.count("_mm256_storeu_si256"), cand.function
        assert "unpack" not in step and "permute" not in step and "_or_si256" not in step, cand.function
        assert cand.origin == "rules:permute_bytes"
    else:
        assert any(op in step for op in ("unpack", "permute", "blend")), cand.function  # shuffled apart and back
    require_host("avx2")
    run = run_edited_against_original(tmp_path, "avx2", name, source, cand.edits, "#include <stdint.h>\n" + code,
                                      GROUP_MAIN.format(name=name, t=elem))
    assert run.returncode == 0, run.stdout + run.stderr
