"""Stores under a condition on AVX2 (`[store_machine] test_mask`): the rewrite tests the lanes first and
writes only the elements the user's loop writes, so a read-only page whose elements the condition never
selects is not touched (the user's loop never faults there, and neither may the rewrite). 8/16-bit lanes,
which AVX2 cannot store under a mask, store the selected lanes one by one."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import (
    needs_compiler,
    one_candidate,
    require_host,
    run_edited_against_original,
    verify_cases,
)

from simdlens.config import Settings
from simdlens.core import Status

pytestmark = [needs_compiler, pytest.mark.sandbox]

LOOPS = {
    "lower_ascii": ("unsigned char", """void lower_ascii(unsigned char *s, long n) {
    for (long i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z') s[i] += 32;
}""", "'A' + (i * 7) % 40"),
    "clamp_high": ("float", """void clamp_high(float *x, long n) {
    for (long i = 0; i < n; i++)
        if (x[i] > 2.0f) x[i] = 2.0f;
}""", "(float)((i * 7) % 40) * 0.1f"),
    "zero_negative": ("short", """void zero_negative(short *x, long n) {
    for (long i = 0; i < n; i++)
        if (x[i] < 0) x[i] = 0;
}""", "(short)((i * 7) % 40 - 20)"),
}

# Two pages: the first with data the condition selects in part, the second read-only with data it never
# selects (zero bytes: no letter, 0.0f <= 2, 0 >= 0). Both functions run over both pages.
MAIN = """#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
void original(T *p, long n);
void NAME(T *p, long n);
static T *two_pages(long *n) {
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *m = mmap(0, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 0, 2 * page);
    T *p = (T *)m;
    for (long i = 0; i < page / (long)sizeof(T); i++) p[i] = FILL;
    mprotect(m + page, page, PROT_READ);
    *n = 2 * page / (long)sizeof(T) - 3;  /* an odd count: the scalar remainder runs on the read-only page */
    return p;
}
int main(void) {
    long n, m;
    T *a = two_pages(&n), *b = two_pages(&m);
    original(a, n);
    NAME(b, m);
    printf("%s\\n", memcmp(a, b, n * sizeof(T)) == 0 ? "same" : "differ");
    return 0;
}
"""


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_a_conditional_store_never_writes_an_element_the_loop_does_not(tmp_path: Path, name: str) -> None:
    elem, code, fill = LOOPS[name]
    source, candidate = one_candidate(name, code)
    function = candidate.function
    assert "movemask" in function  # the lanes are tested before anything is stored
    if elem == "float":
        assert "_mm256_maskstore_ps" in function
    else:  # no masked byte / 16-bit store on AVX2: the selected lanes one by one
        assert "__builtin_ctz" in function and "maskstore" not in function
    require_host("avx2")
    main = MAIN.replace("NAME", name).replace("FILL", fill).replace("T *", f"{elem} *").replace("(T)", f"({elem})")
    main = main.replace("sizeof(T)", f"sizeof({elem})")
    run = run_edited_against_original(tmp_path, "avx2", name, source, candidate.edits, code, main)
    assert run.returncode == 0, run.stderr  # a write to the read-only page would be SIGSEGV
    assert run.stdout.strip() == "same"


NARROW = {
    # 8 lanes of int32 compute store 8 bytes: the mask fills half of an xmm register, whose movemask has bits
    # past the 8 lanes; unmasked, they would store lanes 8..15 past the spilled ones
    "narrow_cond": """void narrow_cond(uint8_t *restrict d, const float *restrict a, const int32_t *restrict b, int n) {
    for (int i = 0; i < n; i++) if (a[i] > 0.0f) d[i] = (uint8_t)b[i];
}""",
}


def test_a_narrow_conditional_store_counts_only_its_own_lanes(rule_settings: Settings) -> None:
    case = verify_cases(list(NARROW.items()), rule_settings)["narrow_cond"]
    result = case.results["avx2"]
    assert "& 0xffu;" in result.candidate.function and "__builtin_ctz" in result.candidate.function
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host("avx2")
    assert result.verdict.status == Status.VERIFIED, result.verdict.detail
