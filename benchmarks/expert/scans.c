/* simdlens expert reference set: scans (benchmarks/corpus/scans.c), hand-tuned AVX2.
   Written for this project. The link line ties each function to its corpus loop; the block between
   the `expert loop` lines replaces that loop (see src/simdlens/expert_set.py). */
#include <immintrin.h>

// expert: corpus=scans.c function=integral_row isa=avx2 reassociates=1
void integral_row(float *restrict acc, const float *restrict row, int width)
{
    // expert loop {
    /* in-lane log-step scan with byte shifts (no lane crossing), one cross-half fix-up, then the carry:
       the loop-carried chain is one add and one permute per 8 floats */
    int x = 1;
    if (width - 1 >= 8) {
        __m256 carry = _mm256_set1_ps(acc[0]);
        const __m256i top = _mm256_set1_epi32(7);
        for (; x + 8 <= width; x += 8) {
            __m256 v = _mm256_loadu_ps(row + x);
            v = _mm256_add_ps(v, _mm256_castsi256_ps(_mm256_slli_si256(_mm256_castps_si256(v), 4)));
            v = _mm256_add_ps(v, _mm256_castsi256_ps(_mm256_slli_si256(_mm256_castps_si256(v), 8)));
            /* lane 3's sum of the low half, added to every lane of the high half */
            __m256 low3 = _mm256_permute_ps(v, 0xFF);
            v = _mm256_add_ps(v, _mm256_permute2f128_ps(low3, low3, 0x08));
            v = _mm256_add_ps(v, carry);
            _mm256_storeu_ps(acc + x, v);
            carry = _mm256_permutevar8x32_ps(v, top);
        }
    }
    for (; x < width; x++)
        acc[x] = acc[x - 1] + row[x];
    // } expert loop
}
