"""C++ brace initialisers of scalars, as modern C++ writes them: `for (std::size_t i{}; i < n; ++i)`,
`float acc{};`, `float t{a[i] * b[i]};`. `{}` is 0, `{v}` is v; the loops are analysed like their `= 0`
spellings and their rewrites verify against the user's loop. A brace list of several values stays
refused with that reason."""

from __future__ import annotations

import asyncio

import pytest
from rules_support import needs_compiler, require_host

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status
from simdlens.rules import propose
from simdlens.sandbox import Sandbox

SOURCE = b"""#include <cstddef>
float dot_braced(const float *__restrict a, const float *__restrict b, std::size_t n) {
    float acc{};
    for (std::size_t i{}; i < n; ++i) acc += a[i] * b[i];
    return acc;
}
float sum_products(const float *__restrict a, const float *__restrict b, std::size_t n) {
    float acc{0.0f};
    for (std::size_t i{0}; i < n; ++i) { float t{a[i] * b[i]}; acc += t; }
    return acc;
}
void offset_by(int *__restrict o, const int *__restrict a, int n) {
    for (int i{1}; i < n; ++i) { int z{}; o[i] = a[i] + z + 3; }
}
"""


def _analyses():  # type: ignore[no-untyped-def]
    fa = analyze_file(SOURCE, "/tmp/braced.cpp", "cpp")
    return fa, {a.site.function: a for a in fa.analyses}


def test_brace_initialisers_read_as_their_values() -> None:
    _, by_fn = _analyses()
    for fn in ("dot_braced", "sum_products", "offset_by"):
        assert by_fn[fn].verdict is LoopVerdict.VECTORIZABLE, (fn, by_fn[fn].reasons)
    loop = by_fn["dot_braced"].loop
    assert loop is not None and loop.lower == "0"
    lower = by_fn["offset_by"].loop
    assert lower is not None and lower.lower == "1"  # `i{1}`: the loop starts at 1, not 0


def test_a_brace_list_of_several_values_is_refused_with_that_reason() -> None:
    fa = analyze_file(b"void f(int *o, int n) { for (int i = 0; i < n; ++i) { int z{1, 2}; o[i] = z; } }",
                      "/tmp/several.cpp", "cpp")
    (a,) = fa.analyses
    assert a.verdict is LoopVerdict.NOT_VECTORIZABLE
    assert any("several values" in r.message for r in a.reasons), a.reasons


@needs_compiler
@pytest.mark.sandbox
def test_loops_with_brace_initialisers_verify(rule_settings: Settings) -> None:
    fa, by_fn = _analyses()
    work = []
    for fn, a in by_fn.items():
        kernel = fa.kernels.get(a.site.loop_id)
        assert kernel is not None, fn
        cands = propose(a, kernel, "avx2", rule_settings, source=SOURCE).candidates
        assert cands, fn
        work.append((fn, kernel, cands))

    async def run() -> dict[str, Status]:
        async with Sandbox(rule_settings) as sandbox:
            out = {}
            for fn, kernel, cands in work:
                (r,) = await sandbox.verify(kernel, tuple(cands[:1]), bench=False)
                out[fn] = r.verdict.status
            return out

    got = asyncio.run(run())
    if Status.UNSUPPORTED_CPU in got.values():
        require_host("avx2")
    assert got == {fn: Status.VERIFIED for fn in by_fn}, got
