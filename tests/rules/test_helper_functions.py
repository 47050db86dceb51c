"""Image and DSP libraries write their per-pixel operations as small functions: C++ `inline` ones in a
namespace, with default arguments (`RestrictRange(v, lo = 0, hi = 255)`), function templates
(`template <class T> T Max(T a, T b)`). A loop calling one is read through the function's `return`
expression with C++'s conversions (template types deduced from the arguments), so it gets a rewrite that
the sandbox verifies against the user's own loop; overloads and helpers that cannot be read stay calls."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from rules_support import require_host

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status
from simdlens.rules import propose
from simdlens.sandbox import Sandbox

SOURCE = b"""#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace Base {
inline int Average(int a, int b) { return (a + b + 1) >> 1; }
inline int RestrictRange(int value, int min = 0, int max = 255) { return std::max(min, std::min(value, max)); }
template <class T> T Max(T a, T b) { return a > b ? a : b; }
template <class T> T AddWrap(T a, T b) { return a + b; }
inline int Twice(int x) { return 2 * x; }
inline float Twice(float x) { return 2 * x; }
inline int Scale(const int &x, int by = 3) { return x * by; }

void average(const uint8_t *a, const uint8_t *b, size_t n, uint8_t *dst)
{
    for (size_t i = 0; i < n; ++i)
        dst[i] = (uint8_t)Average(a[i], b[i]);
}

void to_gray(const int16_t *src, size_t n, uint8_t *dst)
{
    for (size_t i = 0; i < n; ++i)
        dst[i] = (uint8_t)RestrictRange(src[i]);
}

void max_u8(const uint8_t *a, const uint8_t *b, size_t n, uint8_t *dst)
{
    for (size_t i = 0; i < n; ++i)
        dst[i] = Max(a[i], b[i]);
}

void add_wrap(const uint8_t *a, const uint8_t *b, size_t n, int *dst)
{
    for (size_t i = 0; i < n; ++i)
        dst[i] = AddWrap(a[i], b[i]);
}

void twice(const int *a, size_t n, int *dst)
{
    for (size_t i = 0; i < n; ++i)
        dst[i] = Twice(a[i]);
}

void scale(const int *a, size_t n, int *dst)
{
    for (size_t i = 0; i < n; ++i)
        dst[i] = Scale(a[i]);
}

template <class T> T Min(T a, T b) { return a < b ? a : b; }

uint8_t min_value(const uint8_t *src, size_t n)
{
    uint8_t m = 255;
    for (size_t i = 0; i < n; ++i)
        m = Min(m, src[i]);
    return m;
}

void mixed(const uint8_t *a, const int *b, size_t n, int *dst)
{
    for (size_t i = 0; i < n; ++i)
        dst[i] = Max(a[i], b[i]);
}
}
"""


def _analyses() -> dict[str, object]:
    fa = analyze_file(SOURCE, "/tmp/helpers.cpp", "cpp")
    return {a.site.function: (a, fa.kernels.get(a.site.loop_id)) for a in fa.analyses}


def test_inline_default_and_template_helpers_are_read_through() -> None:
    by = _analyses()
    for name in ("average", "to_gray", "max_u8", "add_wrap", "scale", "min_value"):
        a, kernel = by[name]
        assert a.verdict is not LoopVerdict.NOT_VECTORIZABLE, (name, a.reasons)
        assert kernel is not None, name
    # `m = Min(m, src[i])` on uint8_t: the helper's `(uint8_t)(a < b ? a : b)` is a min reduction
    assert [r.code for r in by["min_value"][0].reasons] == ["reduction"], by["min_value"][0].reasons


def test_overloads_and_undeducible_templates_stay_calls() -> None:
    by = _analyses()
    a, _ = by["twice"]
    assert a.verdict is LoopVerdict.NOT_VECTORIZABLE and "calls Twice" in a.reasons[0].message
    a, _ = by["mixed"]  # Max(uint8_t, int): C++ cannot deduce T either
    assert a.verdict is LoopVerdict.NOT_VECTORIZABLE and "cannot deduce T" in a.reasons[0].message


def test_the_template_result_is_converted_to_the_deduced_type() -> None:
    a, _ = _analyses()["add_wrap"]  # T = uint8_t: 200 + 100 wraps to 44 before it is stored to int
    stored = a.loop.body[0].value
    assert stored.type.name == "int32" and stored.operand.type.name == "uint8", stored


STATEMENT_HELPERS = b"""#include <stdint.h>
static inline int32_t sat(int32_t v, uint32_t bits) {
    if (bits > 0U && bits < 32U) {
        const int32_t top = (int32_t)((1U << (bits - 1U)) - 1U);
        if (v > top) return top;
        else if (v < -top - 1) return -top - 1;
    }
    return v;
}
static inline int positive(int v) { if (v > 0) return v; }
static inline int bumped(int v) { int w = v; w += 1; return w; }
static inline int shadowed(int v) { int w = 1; { int w = v * 2; if (w > 9) return 9; } return w; }
void use_sat(int16_t *restrict o, const int16_t *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = (int16_t)sat(a[i] * 3, 16); }
void use_positive(int *restrict o, const int *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = positive(a[i]); }
void use_bumped(int *restrict o, const int *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = bumped(a[i]); }
void use_shadowed(int *restrict o, const int *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = shadowed(a[i]); }
"""


def test_helpers_of_ifs_returns_and_local_constants_are_read_as_one_expression() -> None:
    fa = analyze_file(STATEMENT_HELPERS, "/tmp/statement_helpers.c", "c")
    by = {a.site.function: a for a in fa.analyses}
    assert by["use_sat"].verdict is LoopVerdict.VECTORIZABLE, by["use_sat"].reasons
    # a path that falls off the end, an assignment, a block's local used after it: no expression
    for name, helper in (("use_positive", "positive"), ("use_bumped", "bumped"), ("use_shadowed", "shadowed")):
        assert f"calls {helper}" in by[name].reasons[0].message, by[name].reasons


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")
def test_helper_loops_verify_against_the_users_own_functions(rule_settings: Settings) -> None:
    require_host("avx2")
    by = _analyses()
    settings = rule_settings

    async def run() -> dict[str, Status]:
        out: dict[str, Status] = {}
        async with Sandbox(settings) as sandbox:
            for name in ("average", "to_gray", "max_u8", "add_wrap", "scale", "min_value"):
                a, kernel = by[name]
                proposal = propose(a, kernel, "avx2", settings, source=SOURCE)
                assert proposal.candidates, (name, proposal.notes)
                results = await sandbox.verify(kernel, proposal.candidates, bench=False)
                out[name] = results[0].verdict.status
                if name == "average":
                    assert proposal.candidates[0].origin == "rules:byte_avg"  # one vpavgb, as gcc and experts do
        return out

    statuses = asyncio.run(run())
    assert statuses == dict.fromkeys(statuses, Status.VERIFIED), statuses


# Multimedia frameworks' style: a specifier macro before the return type (which the parser misreads as
# the type, leaving the real type stray) and the public name an object-like macro naming the C version.
CODEC_HELPERS = b"""#include <stdint.h>
#define always_inline_fn inline __attribute__((always_inline))
static always_inline_fn uint8_t clip_u8_c(int a) { if (a & (~0xFF)) return (~a) >> 31; else return a; }
#define clip_u8 clip_u8_c
#define NOT_SPECIFIERS const
static NOT_SPECIFIERS uint8_t broken(int a) { return a; }
void put_clamped(uint8_t *restrict px, const int16_t *restrict blk, int n)
{ for (int j = 0; j < n; j++) px[j] = clip_u8(blk[j]); }
void use_broken(uint8_t *restrict px, const int16_t *restrict blk, int n)
{ for (int j = 0; j < n; j++) px[j] = broken(blk[j]); }
"""


def test_specifier_macros_and_alias_macros_of_helpers_are_read_through(rule_settings: Settings) -> None:
    fa = analyze_file(CODEC_HELPERS, "/tmp/codec_helpers.c", "c")
    by = {a.site.function: a for a in fa.analyses}
    assert by["put_clamped"].verdict is LoopVerdict.VECTORIZABLE, by["put_clamped"].reasons
    # a macro holding more than specifiers (a qualifier here): not a helper the analysis reads
    assert "calls broken" in by["use_broken"].reasons[0].message, by["use_broken"].reasons
    if shutil.which("gcc") is None:
        return
    require_host("avx2")
    a = by["put_clamped"]
    kernel = fa.kernels[a.site.loop_id]
    assert kernel is not None
    proposal = propose(a, kernel, "avx2", rule_settings, source=CODEC_HELPERS)
    assert proposal.candidates, proposal.notes

    async def run() -> Status:
        async with Sandbox(rule_settings) as sandbox:
            return (await sandbox.verify(kernel, proposal.candidates[:1], bench=False))[0].verdict.status

    assert asyncio.run(run()) is Status.VERIFIED
