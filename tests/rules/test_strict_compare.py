"""`x >= K` / `x <= K` against a constant on integer lanes the ISA compares only strictly (AVX2's pcmpgt)
becomes `x > K - 1` / `x < K + 1`: one compare instead of a compare and a not, the same lanes selected for
every value of the type, the bounds of the type included (where K - 1 or K + 1 does not exist the
compare stays as it was)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import analyse, needs_compiler, run_edited_against_original

from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

CASES = {
    # (the loop, whether every compare can be made strict)
    "upper": ("void upper(char *restrict d, const char *restrict s, int n)\n"
              "{ for (int i = 0; i < n; i++) { char c = s[i]; d[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c; } }",
              True),
    "edges": ("void edges(signed char *restrict d, const signed char *restrict s, int n)\n"
              "{ for (int i = 0; i < n; i++) d[i] = (s[i] >= -128 && s[i] <= 126) ? 1 : (s[i] >= 127 ? 2 : 3); }",
              False),
    "words": ("void words(short *restrict d, const short *restrict s, int n)\n"
              "{ for (int i = 0; i < n; i++) d[i] = (-5 <= s[i] && s[i] <= 32767) ? s[i] : 0; }",
              False),
}

MAIN = """#include <stdio.h>
#include <stdint.h>
void {name}({t} *restrict, const {t} *restrict, int); void original({t} *restrict, const {t} *restrict, int);
int main(void)
{{
    static {t} s[70000], a[70000], b[70000];
    for (int j = 0; j < 70000; j++) s[j] = ({t})(j * 7 + (j >> 8));  /* every value of the type */
    for (int n = 65600; n <= 65603; n++) {{
        {name}(a, s, n); original(b, s, n);
        for (int j = 0; j < n; j++) if (a[j] != b[j]) {{ printf("n=%d j=%d s=%d\\n", n, j, (int)s[j]); return 1; }}
    }}
    return 0;
}}
"""

TYPES = {"upper": "char", "edges": "signed char", "words": "short"}


@pytest.mark.parametrize("name", list(CASES))
def test_a_compare_with_a_constant_is_one_strict_compare_where_the_type_allows(name: str) -> None:
    code, all_strict = CASES[name]
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    nots = cand.function.count("_mm256_xor_si256(") + cand.function.count("_mm_xor_si128(")
    assert (nots == 0) == all_strict, cand.function


@needs_compiler
@pytest.mark.parametrize("name", list(CASES))
def test_the_strict_compares_select_the_same_lanes_for_every_value(tmp_path: Path, name: str) -> None:
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    code, _ = CASES[name]
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    run = run_edited_against_original(tmp_path, "avx2", name, source, cand.edits, "#include <stdint.h>\n" + code,
                                      MAIN.format(name=name, t=TYPES[name]))
    assert run.returncode == 0, run.stdout + run.stderr
