"""Second-order running sums (Adler-32, Fletcher: `s1 += x[i]; s2 += s1;`) are rewritten over blocks: s1
gains the block's sum, s2 the block's length times s1 before it plus the elements weighted length..1
(table rows block_sum / block_wsum). Exact modulo 2^32: the sandbox compares both sums with the loop's,
a wrong weight is a mismatch, and the edited file agrees with the original past the point where s2 wraps."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from rules_support import (
    analyse,
    assert_verified,
    case_result,
    needs_compiler,
    one_candidate,
    require_host,
    run_edited_against_original,
    verify_cases,
    verify_status,
)

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

CASES = [
    ("adler", "uint32_t adler(const uint8_t *buf, size_t n)\n"
              "{ uint32_t s1 = 1, s2 = 0; for (size_t i = 0; i < n; i++) { s1 += buf[i]; s2 += s1; }\n"
              "  return ((s2 % 65521) << 16) | (s1 % 65521); }"),
    ("fletcher", "uint32_t fletcher(const uint16_t *data, int n)\n"
                 "{ uint32_t a = 0xffff, b = 0xffff; for (int i = 0; i < n; i++) { a += data[i]; b += a; }\n"
                 "  return (b << 16) | (a & 0xffff); }"),
    ("before", "uint32_t before(const uint8_t *p, int n)\n"
               "{ uint32_t lo = 7, hi = 3; for (int i = 0; i < n; i++) { hi += lo; lo += p[i]; } return hi ^ (lo << 7); }"),
    ("signed_sums", "int signed_sums(const unsigned char *p, int n)\n"
                    "{ int s = 0, t = 0; for (int i = 0; i < n; i++) { s += p[i]; t += s; } return t - s; }"),
    ("zlib_style", "unsigned long zlib_style(const unsigned char *buf, size_t len, unsigned long adler)\n"
                   "{ unsigned long sum2 = (adler >> 16) & 0xffff; adler &= 0xffff;\n"
                   "  for (size_t k = 0; k < len; k++) { adler += buf[k]; sum2 += adler; } return adler | (sum2 << 16); }"),
    ("wide_before", "long long wide_before(const unsigned short *w, int n)\n"
                    "{ long long a = 0x7fffffff, b = 3; for (int i = 0; i < n; i++) { b += a; a += w[i]; } return a * 31 + b; }"),
]


@pytest.fixture(scope="module")
def verified() -> dict:  # type: ignore[type-arg]
    return verify_cases([(name, "#include <stddef.h>\n" + code) for name, code in CASES], Settings())


def test_the_analysis_names_the_pair_and_what_a_simd_engineer_does() -> None:
    _, a, _ = analyse("adler", "#include <stddef.h>\n" + CASES[0][1])
    assert a.verdict == LoopVerdict.VECTORIZABLE
    assert "running_pair" in a.facts
    text = a.reasons[0].message
    assert "s2 the running sum of s1" in text and "weighted" in text and "exact modulo 2^32" in text


def test_adler_with_the_modulo_every_iteration_is_refused_saying_how_to_write_it() -> None:
    _, a, _ = analyse("mod", "uint32_t mod(const uint8_t *buf, int n)\n"
                              "{ uint32_t a = 1, b = 0; for (int i = 0; i < n; i++) { a = (a + buf[i]) % 65521; "
                              "b = (b + a) % 65521; } return (b << 16) | a; }")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any("modulo" in r.message and "NMAX" in r.message for r in a.reasons)


@needs_compiler
@pytest.mark.parametrize("name", [name for name, _ in CASES])
def test_checksums_verify_on_avx2(verified: dict, name: str) -> None:  # type: ignore[type-arg]
    result = case_result(verified[name], "avx2")
    assert result.candidate.origin == "rules:checksum"
    assert "_mm256_madd_epi16" in result.candidate.function
    assert not result.candidate.caveats or all("reassociat" not in c for c in result.candidate.caveats)
    assert_verified(result, "avx2")


@needs_compiler
@pytest.mark.parametrize("name", ["adler", "before", "zlib_style"])
def test_byte_checksums_build_for_avx512(verified: dict, name: str) -> None:  # type: ignore[type-arg]
    result = case_result(verified[name], "avx512")
    assert "_mm512_maddubs_epi16" in result.candidate.function
    assert_verified(result, "avx512")  # run only where the CPU has AVX-512


def test_avx512_says_it_has_no_rows_for_16_bit_words(verified: dict) -> None:  # type: ignore[type-arg]
    assert any("block_sum" in n for n in verified["fletcher"].notes["avx512"])


@needs_compiler
def test_a_wrong_weight_is_a_mismatch(verified: dict) -> None:  # type: ignore[type-arg]
    case = verified["adler"]
    cand = case_result(case, "avx2").candidate
    wrong = replace(cand, function=cand.function.replace("32u *", "31u *"))
    assert wrong.function != cand.function
    require_host("avx2")
    assert verify_status(Settings(), case.kernel, wrong) == Status.MISMATCH


MAIN = """
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <stddef.h>
uint32_t adler(const uint8_t *buf, size_t n);
uint32_t original(const uint8_t *buf, size_t n);
int main(void)
{
    enum { N = 300000 };
    uint8_t *buf = malloc(N);
    unsigned r = 5u;
    for (int j = 0; j < N; j++) { r = r * 1103515245u + 12345u; buf[j] = (uint8_t)(r >> 13); }
    for (int j = 0; j < 70000; j++) buf[j] = 255;  /* s2 wraps 2^32 early */
    const size_t sizes[] = {0, 1, 31, 32, 33, 64, 95, 5552, 65536, 100001, N};
    for (int k = 0; k < 11; k++)
        for (int off = 0; off < 3; off++) {
            size_t n = sizes[k] > (size_t)off ? sizes[k] - off : 0;
            if (adler(buf + off, n) != original(buf + off, n)) { printf("n=%zu differ\\n", n); return 1; }
        }
    return 0;
}
"""


@needs_compiler
def test_the_edited_file_matches_the_original_past_the_wrap(tmp_path: Path) -> None:
    code = "#include <stddef.h>\n" + CASES[0][1]
    source, cand = one_candidate("adler", code)
    require_host("avx2")
    run = run_edited_against_original(tmp_path, "avx2", "adler", source, cand.edits, source.decode(), MAIN)
    assert run.returncode == 0, run.stdout + run.stderr
