"""Rewrites of DSP pointer walks. A walking pointer, the count of a `while (n--)`/block loop and a
temporary's last value are what the user's code after the loop reads: the sandbox verifies every
rewrite against the user's loop (the kernel reports how far each pointer moved and where the count
ended), and the edited file, with every loop of a function rewritten, is built and run against the
original for many sizes, so the code after each loop sees the same pointers and counts."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from rules_support import ISAS, apply_edits, build_and_run, needs_compiler

from simdlens.analysis import analyze_file
from simdlens.config import SandboxSettings, Settings
from simdlens.core import CandidateResult, Status
from simdlens.rules import propose
from simdlens.sandbox import Sandbox
from simdlens.sandbox.cpu import host_cpu

PRE = b"#include <stddef.h>\n#include <stdint.h>\ntypedef int16_t q15;\ntypedef int32_t q31;\n"

# One loop each, verified through the sandbox: the forms, with pointers and counts read after the loop.
CASES = {
    "walk_returns_pointer": """float *walk_scale(float *restrict d, const float *restrict s, unsigned n, float g)
{
    while (n--)
        *d++ = *s++ * g;
    return d;
}""",
    "walk_returns_count": """unsigned walk_count(q31 *restrict d, const q31 *restrict s, unsigned n)
{
    while (n-- > 0)
        *d++ = *s++ >> 1;
    return n;
}""",
    "for_with_walkers": """void add_walk(q15 *restrict d, const q15 *restrict a, const q15 *restrict b, int n)
{
    for (int i = 0; i < n; i++)
        *d++ = (q15)(*a++ + *b++);
}""",
    "unrolled_block": """unsigned add4(float *restrict d, const float *restrict a, unsigned n)
{
    for (; n >= 4; n -= 4) {
        d[0] = a[0] * 0.5f;
        d[1] = a[1] * 0.5f;
        d[2] = a[2] * 0.5f;
        d[3] = a[3] * 0.5f;
        d += 4;
        a += 4;
    }
    return n + (unsigned)(d[0] > 0.0f);
}""",
    "cmsis_block_mac": """int64_t mac4(const q15 *a, const q15 *b, uint32_t n)
{
    int64_t sum = 0;
    uint32_t blk = n >> 2;
    while (blk > 0u) {
        sum += (q31)*a++ * *b++;
        sum += (q31)*a++ * *b++;
        sum += (q31)*a++ * *b++;
        sum += (q31)*a++ * *b++;
        blk--;
    }
    return sum + *a + blk;
}""",
    "end_pointer": """const float *clip_to(float *restrict d, const float *restrict s, size_t n, float lo, float hi)
{
    const float *end = s + n;
    while (s < end) {
        float v = *s++;
        if (v > hi)
            v = hi;
        if (v < lo)
            v = lo;
        *d++ = v;
    }
    return s;
}""",
    "outer_temporary_last_value": """float limit(float *restrict out, const float *restrict x, int n, float g, float c)
{
    float r = -1.0f;
    for (int i = 0; i < n; i++) {
        r = x[i] * g;
        if (r > c)
            r = c;
        out[i] = r;
    }
    return r;
}""",
    "header_pointer": """void negate(float *restrict d, const float *restrict s, size_t n)
{
    const float *end = s + 2 * n;
    for (const float *p = s; p != end; p += 2)
        *d++ = p[1] - p[0];
}""",
    "interleaved_pairs": """float *mag2(float *restrict d, const float *restrict s, unsigned n)
{
    while (n--) {
        float re = *s++;
        float im = *s++;
        *d++ = re * re + im * im;
    }
    return d;
}""",
    # the count read in the body: its value on entry moved once per iteration (after the test's
    # decrement in `while (n--)`; before the header's `n -= 2`; before the body's own `left--`)
    "count_read_after_test": """void fade(float *restrict d, const float *restrict s, unsigned n)
{
    while (n--)
        *d++ = *s++ * (float)(int)n;
}""",
    "count_read_by_twos": """void ramp2(int *restrict d, int n)
{
    for (; n >= 2; n -= 2) { *d++ = n; *d++ = -n; }
}""",
    # a DSP library's max with its index: the index counted from the count (`blockSize - blkCnt`), which
    # wraps for counts above the size; ties still go to the earliest iteration
    "argmax_counted_down": """void max_index(const float *src, uint32_t size, float *result, uint32_t *index)
{
    float best = *src++, v;
    uint32_t left = size - 1U, at = 0U;
    while (left > 0U) {
        v = *src++;
        if (best < v) { best = v; at = size - left; }
        left--;
    }
    *result = best;
    *index = at;
}""",
    # the header steps the pointer the body reads: the remainder cannot be the body alone (it would read *p again)
    "header_stepped_walker": """float header_sum(const float *p, int n)
{
    float s = 0;
    int i;
    for (i = 0; i < n; i++, p++)
        s += *p;
    return s;
}""",
    "walk_to_a_given_end": """int commas(const char *p, const char *end)
{
    int c = 0;
    while (p < end) {
        c += *p == ',';
        p++;
    }
    return c;
}""",
    "for_header_walks_to_end_and_returns_it": """char *fill(char *p, char *end, char v)
{
    for (; p != end; ++p)
        *p = v;
    return p;
}""",
    "skip_while_a_condition_holds": """const char *skip_spaces(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\\t'))
        p++;
    return p;
}""",
    "count_indexes_backwards": """void back(int32_t *restrict a, const int32_t *restrict b, unsigned n)
{
    while (n--)
        a[n] = b[n] + 1;
}""",
    "search_from_the_end": """long rfind(const char *s, long n, char c)
{
    while (n--)
        if (s[n] == c)
            return n;
    return -1;
}""",
    "count_read_block_style": """void weights(q31 *restrict d, const q31 *restrict s, uint32_t size)
{
    uint32_t left = size;
    while (left > 0U) {
        *d++ = *s++ * (q31)(size - left);
        left--;
    }
}""",
}


def host_isas() -> list[str]:
    return [isa for isa in ISAS if host_cpu().runs(isa)]


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], CandidateResult]:
    settings = Settings(cache_dir=str(tmp_path_factory.mktemp("walk-cache")), jobs=2,
                        sandbox=SandboxSettings(cpu_seconds=10, wall_seconds=30.0))
    work = []
    for name, code in CASES.items():
        source = PRE + code.encode() + b"\n"
        fa = analyze_file(source, f"/tmp/{name}.c", "c")
        (a,) = [x for x in fa.analyses]
        kernel = fa.kernels.get(a.site.loop_id)
        assert kernel is not None, (name, a.verdict, a.reasons)
        cands = []
        for isa in host_isas():
            proposal = propose(a, kernel, isa, settings, source=source)
            assert proposal.candidates, (name, isa, proposal.notes)
            cands += proposal.candidates
        work.append((name, kernel, tuple(cands)))
    out: dict[tuple[str, str], CandidateResult] = {}

    async def main() -> None:
        async with Sandbox(settings) as sandbox:
            async def one(name: str, kernel, cands) -> None:  # type: ignore[no-untyped-def]
                for r in await sandbox.verify(kernel, cands, bench=False):
                    out[(name, r.candidate.isa)] = r

            await asyncio.gather(*(one(*w) for w in work))

    asyncio.run(main())
    return out


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("name", sorted(CASES))
def test_pointer_walk_rewrite_is_verified(verified: dict[tuple[str, str], CandidateResult], name: str) -> None:
    isas = host_isas()
    if not isas:
        pytest.skip("this CPU runs none of the ISAs")
    for isa in isas:
        r = verified[(name, isa)]
        assert r.verdict.status == Status.VERIFIED, (name, isa, r.verdict.detail, r.candidate.function)


# Several loops per function, the later ones starting where the earlier left the pointers and counts.
PROGRAM = PRE + b"""
void offset_q31(q31 *restrict dst, const q31 *restrict src, q31 offset, unsigned n)
{
    for (; n >= 4; n -= 4) {
        dst[0] = src[0] + offset;
        dst[1] = src[1] + offset;
        dst[2] = src[2] + offset;
        dst[3] = src[3] + offset;
        dst += 4;
        src += 4;
    }
    while (n--)
        *dst++ = *src++ + offset;
}

int64_t mac_q15(const q15 *restrict a, const q15 *restrict b, uint32_t n)
{
    int64_t sum = 0;
    uint32_t blocks = n >> 2;
    while (blocks > 0u) {
        sum += (q31)*a++ * *b++;
        sum += (q31)*a++ * *b++;
        sum += (q31)*a++ * *b++;
        sum += (q31)*a++ * *b++;
        blocks--;
    }
    blocks = n & 3u;
    while (blocks > 0u) {
        sum += (q31)*a++ * *b++;
        blocks--;
    }
    return sum;
}

unsigned add8(float *restrict d, const float *restrict a, const float *restrict b, unsigned n)
{
    for (; n >= 8; n -= 8) {
        d[0] = a[0] + b[0];
        d[1] = a[1] + b[1];
        d[2] = a[2] + b[2];
        d[3] = a[3] + b[3];
        d[4] = a[4] + b[4];
        d[5] = a[5] + b[5];
        d[6] = a[6] + b[6];
        d[7] = a[7] + b[7];
        d += 8;
        a += 8;
        b += 8;
    }
    unsigned rest = n;
    for (; n > 0; n--)
        *d++ = *a++ + *b++;
    return rest;
}

float to_q15(q15 *restrict dst, const float *restrict src, unsigned n)
{
    float r = 0.0f;
    while (n--) {
        r = *src++ * 32768.0f;
        if (r > 32767.0f)
            r = 32767.0f;
        if (r < -32768.0f)
            r = -32768.0f;
        *dst++ = (q15)r;
    }
    return r;
}

const char *count_commas(const char *p, const char *end, int *count)
{
    int c = 0;
    while (p < end) {
        c += *p == ',';
        p++;
    }
    *count = c;
    return p;
}

float *scale_range(float *p, float *end, const float *restrict g)
{
    for (; p < end; ++p, ++g)
        *p *= *g;
    return p;
}
"""

FUNCTIONS = ("offset_q31", "mac_q15", "add8", "to_q15", "count_commas", "scale_range")

MAIN = r"""
#include <stdint.h>
#include <stdio.h>
#include <string.h>
typedef int16_t q15;
typedef int32_t q31;
#define SIGS(p) \
    void p##offset_q31(q31 *restrict, const q31 *restrict, q31, unsigned); \
    int64_t p##mac_q15(const q15 *restrict, const q15 *restrict, uint32_t); \
    unsigned p##add8(float *restrict, const float *restrict, const float *restrict, unsigned); \
    float p##to_q15(q15 *restrict, const float *restrict, unsigned); \
    const char *p##count_commas(const char *, const char *, int *); \
    float *p##scale_range(float *, float *, const float *restrict);
SIGS()
SIGS(original_)
#define N 300
int main(void)
{
    static q31 i32[N], o1[N + 8], o2[N + 8];
    static q15 h1[N], h2[N], p1[N + 8], p2[N + 8];
    static float f1[N], f2[N], g1[N + 8], g2[N + 8];
    static char text[N];
    unsigned seed = 12345u;
    for (int k = 0; k < N; k++) {
        seed = seed * 1103515245u + 12345u;
        i32[k] = (q31)seed;
        h1[k] = (q15)(seed >> 7);
        h2[k] = (q15)(seed >> 13);
        f1[k] = (float)(int)(seed >> 9) / 65536.0f - 100.0f;
        f2[k] = (float)(k % 13) * 0.25f;
        text[k] = (seed >> 11) % 4 == 0 ? ',' : (char)('a' + (seed >> 17) % 26);
    }
    f1[3] = 1e9f;
    f1[4] = -1e9f;
    int bad = 0;
    for (unsigned n = 0; n <= 70 || n == 257; n = n == 70 ? 257 : n + 1) {
        memset(o1, 0x55, sizeof o1); memset(o2, 0x55, sizeof o2);
        offset_q31(o1, i32, 77, n); original_offset_q31(o2, i32, 77, n);
        if (memcmp(o1, o2, sizeof o1)) { printf("offset_q31 n=%u\n", n); bad = 1; }
        if (mac_q15(h1, h2, n) != original_mac_q15(h1, h2, n)) { printf("mac_q15 n=%u\n", n); bad = 1; }
        memset(g1, 0x55, sizeof g1); memset(g2, 0x55, sizeof g2);
        unsigned r1 = add8(g1, f1, f2, n), r2 = original_add8(g2, f1, f2, n);
        if (r1 != r2 || memcmp(g1, g2, sizeof g1)) { printf("add8 n=%u\n", n); bad = 1; }
        memset(p1, 0x55, sizeof p1); memset(p2, 0x55, sizeof p2);
        float l1 = to_q15(p1, f1, n), l2 = original_to_q15(p2, f1, n);
        if (memcmp(&l1, &l2, sizeof l1) || memcmp(p1, p2, sizeof p1)) { printf("to_q15 n=%u\n", n); bad = 1; }
        int c1 = -1, c2 = -1;
        const char *e1 = count_commas(text, text + n, &c1), *e2 = original_count_commas(text, text + n, &c2);
        if (c1 != c2 || e1 != e2) { printf("count_commas n=%u\n", n); bad = 1; }
        memcpy(g1, f1, n * sizeof *f1); memcpy(g2, f1, n * sizeof *f1);
        float *q1 = scale_range(g1, g1 + n, f2), *q2 = original_scale_range(g2, g2 + n, f2);
        if (q1 - g1 != q2 - g2 || memcmp(g1, g2, sizeof g1)) { printf("scale_range n=%u\n", n); bad = 1; }
    }
    return bad;
}
"""


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
def test_every_loop_of_a_dsp_function_rewritten_leaves_the_same_pointers_and_counts(
        tmp_path: Path, isa: str) -> None:
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    fa = analyze_file(PROGRAM, "dsp.c", "c")
    assert len(fa.analyses) == 9
    edits = {}
    for a in fa.analyses:
        kernel = fa.kernels.get(a.site.loop_id)
        assert kernel is not None, (a.site.function, a.reasons)
        proposal = propose(a, kernel, isa, Settings(), source=PROGRAM)
        assert proposal.candidates, (a.site.function, proposal.notes)
        for e in proposal.candidates[0].edits:  # each adds the same #include at the top: once
            edits[(e.span.start_byte, e.span.end_byte, e.new_text)] = e
    edited = apply_edits(PROGRAM, tuple(edits.values()))
    assert edited.count(b"simdlens rules:") == 9
    (tmp_path / "edited.c").write_bytes(edited)
    original = PROGRAM
    for f in FUNCTIONS:
        original = re.sub(rf"\b{f}\(".encode(), f"original_{f}(".encode(), original)
    (tmp_path / "original.c").write_bytes(original)
    (tmp_path / "main.c").write_text(MAIN)
    run = build_and_run(tmp_path, isa, ("edited.c", "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]
