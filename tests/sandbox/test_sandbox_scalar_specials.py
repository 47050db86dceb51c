"""Float scalar parameters take special values too: a clamp whose limit is 0.0 meets ±0.0 elements.

The vector clamp below handles NaN operands like fminf/fmaxf but not the order of -0.0 and +0.0; it
slipped through while scalar parameters only took ordinary values, and an independent end-to-end audit
of an applied edit caught it. It must be caught by the sandbox itself.
"""

from __future__ import annotations

import asyncio

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import Candidate, Status
from simdlens.sandbox import Sandbox

SOURCE = b"""#include <math.h>
#include <stddef.h>
void soft_clip(float *buf, size_t frames, float ceiling)
{
    for (size_t i = 0; i < frames; i++)
        buf[i] = fminf(fmaxf(buf[i], -ceiling), ceiling);
}
"""

BODY = """
{
    size_t i = 0;
    const __m256 hi = _mm256_set1_ps(ceiling), lo = _mm256_set1_ps(-ceiling);
    for (; i + 8 <= frames; i += 8) {
        __m256 x = _mm256_loadu_ps(&buf[i]);
        __m256 t = _mm256_blendv_ps(_mm256_max_ps(x, lo), x, _mm256_cmp_ps(lo, lo, _CMP_UNORD_Q));
        t = _mm256_blendv_ps(_mm256_min_ps(t, hi), t, _mm256_cmp_ps(hi, hi, _CMP_UNORD_Q));
        _mm256_storeu_ps(&buf[i], t);
    }
    for (; i < frames; i++)
        buf[i] = fminf(fmaxf(buf[i], -ceiling), ceiling);
}
"""


def test_a_clamp_that_gets_signed_zero_ties_wrong_is_not_verified() -> None:
    fa = analyze_file(SOURCE, "clip.c", "c")
    kernel = fa.kernels[fa.analyses[0].site.loop_id]
    cand = Candidate(kernel.content_hash, "avx2", "rules:test", "#include <immintrin.h>\n#include <math.h>\n"
                     + kernel.signature + BODY, (), (), ("-mavx2", "-mfma"))

    async def run() -> Status:
        sandbox = Sandbox(Settings())
        try:
            (result,) = await sandbox.verify(kernel, [cand], bench=False)
            return result.verdict.status
        finally:
            closing = sandbox.close()
            if asyncio.iscoroutine(closing):
                await closing

    assert asyncio.run(run()) is Status.MISMATCH
