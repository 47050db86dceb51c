/* simdlens expert reference set: fixed_point (benchmarks/corpus/fixed_point.c), hand-tuned AVX2.
   Written for this project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <stdint.h>

typedef int16_t fx15;
typedef int32_t fx31;

static inline uint8_t u8_clip(int v)
{
    if (v < 0) return 0;
    if (v > 255) return 255;
    return (uint8_t)v;
}

static inline int32_t fx_saturate(int32_t v, uint32_t bits)
{
    if (bits > 0U && bits < 32U) {
        const int32_t top = (int32_t)((1U << (bits - 1U)) - 1U);
        const int32_t bottom = -top - 1;
        if (v > top)
            return top;
        else if (v < bottom)
            return bottom;
    }
    return v;
}

// expert: corpus=fixed_point.c function=u8_mix isa=avx2
void u8_mix(const uint8_t *a, const uint8_t *b, uint8_t *out, int count)
{
    // expert loop {
    /* adds_epu8: 64 saturated byte sums per step in two independent registers, when out is in place or apart */
    const char *o = (const char *)out, *x = (const char *)a, *y = (const char *)b;
    const long bytes = count;
    const int vector = (o == x || o + bytes <= x || x + bytes <= o) && (o == y || o + bytes <= y || y + bytes <= o);
    int k = 0;
    for (; vector && k + 64 <= count; k += 64) {
        __m256i s0 = _mm256_adds_epu8(_mm256_loadu_si256((const __m256i *)(a + k)),
                                      _mm256_loadu_si256((const __m256i *)(b + k)));
        __m256i s1 = _mm256_adds_epu8(_mm256_loadu_si256((const __m256i *)(a + k + 32)),
                                      _mm256_loadu_si256((const __m256i *)(b + k + 32)));
        _mm256_storeu_si256((__m256i *)(out + k), s0);
        _mm256_storeu_si256((__m256i *)(out + k + 32), s1);
    }
    for (; vector && k + 32 <= count; k += 32)
        _mm256_storeu_si256((__m256i *)(out + k), _mm256_adds_epu8(_mm256_loadu_si256((const __m256i *)(a + k)),
                                                                   _mm256_loadu_si256((const __m256i *)(b + k))));
    for (; k < count; k++)
        out[k] = u8_clip(a[k] + b[k]);
    // } expert loop
}

// expert: corpus=fixed_point.c function=fx15_add_sat isa=avx2
void fx15_add_sat(const fx15 *a, const fx15 *b, fx15 *out, uint32_t count)
{
    uint32_t left = count;  /* the corpus loop counts `left` down: its kernel has left, not count */
    // expert loop {
    /* adds_epi16: 32 saturated Q15 sums per step in two independent registers, when out is in place or apart */
    const char *o = (const char *)out, *x = (const char *)a, *y = (const char *)b;
    const long bytes = 2 * (long)left;
    const int vector = (o == x || o + bytes <= x || x + bytes <= o) && (o == y || o + bytes <= y || y + bytes <= o);
    uint32_t k = 0;
    for (; vector && k + 32 <= left; k += 32) {
        __m256i s0 = _mm256_adds_epi16(_mm256_loadu_si256((const __m256i *)(a + k)),
                                       _mm256_loadu_si256((const __m256i *)(b + k)));
        __m256i s1 = _mm256_adds_epi16(_mm256_loadu_si256((const __m256i *)(a + k + 16)),
                                       _mm256_loadu_si256((const __m256i *)(b + k + 16)));
        _mm256_storeu_si256((__m256i *)(out + k), s0);
        _mm256_storeu_si256((__m256i *)(out + k + 16), s1);
    }
    for (; k < left; k++)
        out[k] = (fx15)fx_saturate((fx31)a[k] + b[k], 16);
    // } expert loop
}
