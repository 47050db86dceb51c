/* simdlens expert reference set: interleaved data (benchmarks/corpus/interleaved.c), hand-tuned AVX2.
   Written for this project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <stdint.h>

// expert: corpus=interleaved.c function=stereo_split isa=avx2
void stereo_split(float *restrict l, float *restrict r, const float *restrict s, int frames)
{
    // expert loop {
    /* 8 frames a step: regroup the 128-bit halves so that one in-lane shuffle per channel finishes */
    int i = 0;
    for (; i + 8 <= frames; i += 8) {
        __m256 a = _mm256_loadu_ps(s + 2 * i);      /* l0 r0 l1 r1 | l2 r2 l3 r3 */
        __m256 b = _mm256_loadu_ps(s + 2 * i + 8);  /* l4 r4 l5 r5 | l6 r6 l7 r7 */
        __m256 lo = _mm256_permute2f128_ps(a, b, 0x20);  /* l0 r0 l1 r1 | l4 r4 l5 r5 */
        __m256 hi = _mm256_permute2f128_ps(a, b, 0x31);  /* l2 r2 l3 r3 | l6 r6 l7 r7 */
        _mm256_storeu_ps(l + i, _mm256_shuffle_ps(lo, hi, 0x88));
        _mm256_storeu_ps(r + i, _mm256_shuffle_ps(lo, hi, 0xDD));
    }
    for (; i < frames; i++) {
        l[i] = s[2 * i];
        r[i] = s[2 * i + 1];
    }
    // } expert loop
}
