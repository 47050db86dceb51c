"""Arithmetic C promotes to int but the user keeps narrow (`uint8_t m = a[i] + b[i];`, `v << 8` stored to
a uint16_t) runs in the narrow lanes, as an expert writes it: 32 byte lanes with `_mm256_add_epi8`, 16-bit
shifts by a constant with `_mm256_slli_epi16`, instead of widening each byte to an int32 lane. A right
shift stays narrow only when the shifted value is a narrow value widened (its high bits are copies of
what the narrow shift fills in); a sum shifted right keeps its carry bit in wide lanes. The rewrites give
the user's values for every input."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import needs_compiler, one_candidate, run_edited_against_original
from test_saturating_narrow import MAIN  # extremes of both operands' types, every remainder length

from simdlens.core import Candidate
from simdlens.sandbox.cpu import host_cpu

CASES = {
    # name: (the loop, element types (dst, a, b), what the vector step must use, what it must not)
    "max_of_wraps": ("void max_of_wraps(uint8_t *d, const uint8_t *a, const uint8_t *b, int n)\n"
                     "{ for (int i = 0; i < n; i++) { uint8_t m0 = a[i] + b[i]; uint8_t m1 = a[i] - b[i];\n"
                     "  d[i] = m0 > m1 ? m0 : m1; } }",
                     ("uint8_t", "uint8_t", "uint8_t"), ("_mm256_add_epi8(", "_mm256_sub_epi8(", "_mm256_max_epu8("),
                     ("_epi32(",)),
    "swap_bytes": ("void swap_bytes(uint16_t *d, const uint16_t *a, const uint16_t *b, int n)\n"
                   "{ (void)b; for (int i = 0; i < n; i++) { uint16_t v = a[i];\n"
                   "  v = (uint16_t)(((v >> 8) & 0xff) | ((v << 8) & 0xff00)); d[i] = v; } }",
                   ("uint16_t", "uint16_t", "uint16_t"), ("_mm256_shuffle_epi8(",), ("_epi32(",)),  # a byte swap
    "pack_565": ("void pack_565(uint16_t *d, const uint8_t *a, const uint8_t *b, int n)\n"
                 "{ for (int i = 0; i < n; i++) d[i] = (uint16_t)(((a[i] >> 3) << 11) | ((b[i] >> 2) << 5)); }",
                 ("uint16_t", "uint8_t", "uint8_t"), ("_mm256_srli_epi16(", "_mm256_slli_epi16("), ("_epi32(",)),
    "signed_shifts": ("void signed_shifts(int16_t *d, const int16_t *a, const int8_t *b, int n)\n"
                      "{ for (int i = 0; i < n; i++) d[i] = (int16_t)((a[i] >> 3) + (b[i] >> 1) - (a[i] << 2)); }",
                      ("int16_t", "int16_t", "int8_t"), ("_mm256_srai_epi16(", "_mm256_slli_epi16("), ("_epi32(",)),
    # a weighted sum of bytes whose every value fits 16 bits (at most 65,280): 16-bit lanes, a logical shift
    "luma_bytes": ("void luma_bytes(uint8_t *d, const uint8_t *a, const uint8_t *b, int n)\n"
                   "{ for (int i = 0; i < n; i++) d[i] = (uint8_t)((77 * a[i] + 150 * b[i] + 29 * a[i]) >> 8); }",
                   ("uint8_t", "uint8_t", "uint8_t"), ("_mm256_mullo_epi16(", "_mm256_srli_epi16("), ("_epi32(",)),
    # signed values in [-1019, 1021]: int16 lanes, an arithmetic shift
    "signed_weights": ("void signed_weights(int16_t *d, const int8_t *a, const int8_t *b, int n)\n"
                       "{ for (int i = 0; i < n; i++) d[i] = (int16_t)((3 * a[i] - 5 * b[i]) >> 2); }",
                       ("int16_t", "int8_t", "int8_t"), ("_mm256_srai_epi16(",), ("_epi32(",)),
    # up to 102,000: 16-bit lanes would wrap before the shift
    "heavy_weights": ("void heavy_weights(uint8_t *d, const uint8_t *a, const uint8_t *b, int n)\n"
                      "{ for (int i = 0; i < n; i++) d[i] = (uint8_t)((200 * a[i] + 200 * b[i]) >> 8); }",
                      ("uint8_t", "uint8_t", "uint8_t"), ("_epi32(",), ("_mm256_srli_epi16(",)),
    # the sum needs 17 bits before the shift: 16-bit lanes would lose its carry
    "halved_sum": ("void halved_sum(int16_t *d, const int16_t *a, const int16_t *b, int n)\n"
                   "{ for (int i = 0; i < n; i++) { int16_t s = (int16_t)((a[i] + b[i]) >> 1); d[i] = s; } }",
                   ("int16_t", "int16_t", "int16_t"), ("_epi32(",), ("_mm256_srai_epi16(",)),
}



def _candidate(name: str) -> tuple[bytes, Candidate]:
    return one_candidate(name, CASES[name][0])


@pytest.mark.parametrize("name", list(CASES))
def test_arithmetic_kept_narrow_runs_in_narrow_lanes(name: str) -> None:
    _, cand = _candidate(name)
    step = cand.function.split("for (; left")[1].split("for (;")[0]
    _, _, must, never = CASES[name]
    for text in must:
        assert text in step, cand.function
    for text in never:
        assert text not in step, cand.function


@needs_compiler
@pytest.mark.parametrize("name", list(CASES))
def test_narrow_lanes_give_the_users_values(tmp_path: Path, name: str) -> None:
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    source, cand = _candidate(name)
    d, a, b = CASES[name][1]
    run = run_edited_against_original(tmp_path, "avx2", name, source, cand.edits,
                                      "#include <stdint.h>\n" + CASES[name][0], MAIN.format(name=name, d=d, a=a, b=b))
    assert run.returncode == 0, run.stdout + run.stderr
