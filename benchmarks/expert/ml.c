/* simdlens expert reference set: ML inference (benchmarks/corpus/ml.c), hand-tuned AVX2. Written for
   this project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <stdint.h>

// expert: corpus=ml.c function=dot_i8 isa=avx2
int32_t dot_i8(const int8_t *restrict a, const int8_t *restrict b, int n)
{
    int32_t acc = 0;
    // expert loop {
    /* sign-extend 16 bytes to int16, madd_epi16 multiplies and adds neighbours into int32 (|product
       pair| <= 32768: exact); two chains of 32 bytes a step; int32 sums wrap as the scalar's do */
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256i a1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i + 16)));
        __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i + 16)));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(a0, b0));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(a1, b1));
    }
    __m256i s = _mm256_add_epi32(s0, s1);
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
    acc = (int32_t)((uint32_t)acc + (uint32_t)_mm_cvtsi128_si32(h));
    for (; i < n; i++)
        acc += a[i] * b[i];
    // } expert loop
    return acc;
}
