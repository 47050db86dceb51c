/* simdlens expert reference set: image (benchmarks/corpus/image.c), hand-tuned AVX2. Written for this
   project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <stdint.h>

// expert: corpus=image.c function=max_pixel isa=avx2
int max_pixel(const uint8_t *img, int n)
{
    int m = 0;
    // expert loop {
    /* max_epu8 on 32 bytes at a time, two chains, one horizontal max after the loop */
    __m256i m0 = _mm256_setzero_si256(), m1 = _mm256_setzero_si256();
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm256_max_epu8(m0, _mm256_loadu_si256((const __m256i *)(img + i)));
        m1 = _mm256_max_epu8(m1, _mm256_loadu_si256((const __m256i *)(img + i + 32)));
    }
    for (; i + 32 <= n; i += 32)
        m0 = _mm256_max_epu8(m0, _mm256_loadu_si256((const __m256i *)(img + i)));
    m0 = _mm256_max_epu8(m0, m1);
    __m128i h = _mm_max_epu8(_mm256_castsi256_si128(m0), _mm256_extracti128_si256(m0, 1));
    h = _mm_max_epu8(h, _mm_srli_si128(h, 8));
    h = _mm_max_epu8(h, _mm_srli_si128(h, 4));
    h = _mm_max_epu8(h, _mm_srli_si128(h, 2));
    h = _mm_max_epu8(h, _mm_srli_si128(h, 1));
    int lanes = _mm_extract_epi8(h, 0);
    if (lanes > m) m = lanes;
    for (; i < n; i++)
        if (img[i] > m) m = img[i];
    // } expert loop
    return m;
}
