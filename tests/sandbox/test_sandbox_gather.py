"""Index arrays are filled with subscripts inside the indexed array's footprint, so gather kernels can
be tested at all (random indices would crash the original), and a wrong gather is still caught."""

from __future__ import annotations

import asyncio

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import Candidate, Status
from simdlens.sandbox import Sandbox

SOURCE = b"""double spmv_row(const double *restrict vals, const int *restrict cols, const double *restrict x, int nnz)
{ double s = 0.0; for (int k = 0; k < nnz; k++) s += vals[k] * x[cols[k]]; return s; }
"""

BODY = """
{
    __m256d acc = _mm256_setzero_pd();
    int k = 0;
    for (; k + 4 <= nnz; k += 4) {
        __m128i idx = _mm_loadu_si128((const __m128i *)&cols[k]);
        acc = _mm256_add_pd(acc, _mm256_mul_pd(_mm256_loadu_pd(&vals[k]), _mm256_i32gather_pd(BASE, idx, 8)));
    }
    double t[4];
    _mm256_storeu_pd(t, acc);
    s += (t[0] + t[1]) + (t[2] + t[3]);
    for (; k < nnz; k++) s += vals[k] * x[cols[k]];
    return s;
}
"""


def test_gather_rewrite_is_verified_and_an_off_by_one_gather_is_caught() -> None:
    fa = analyze_file(SOURCE, "spmv.c", "c")
    kernel = fa.kernels[fa.analyses[0].site.loop_id]
    assert any(f.indexes == "x" for f in kernel.footprints)
    caveats = ("reassociates floating-point additions",)
    good, bad = (Candidate(kernel.content_hash, "avx2", f"rules:{name}",
                           "#include <immintrin.h>\n" + kernel.signature + BODY.replace("BASE", base),
                           (), caveats, ("-mavx2", "-mfma"))
                 for name, base in (("gather", "x"), ("gather_off_by_one", "x + 1")))

    async def run() -> tuple[Status, ...]:
        sandbox = Sandbox(Settings())
        try:
            return tuple(r.verdict.status for r in await sandbox.verify(kernel, [good, bad], bench=False))
        finally:
            closing = sandbox.close()
            if asyncio.iscoroutine(closing):
                await closing

    good_status, bad_status = asyncio.run(run())
    assert good_status is Status.VERIFIED
    assert bad_status in (Status.MISMATCH, Status.SANITIZER)
