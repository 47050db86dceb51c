/* simdlens expert reference set: codec (benchmarks/corpus/codec.c), hand-tuned AVX2. Written for this
   project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <stdint.h>

// expert: corpus=codec.c function=add_residual_clip isa=avx2
void add_residual_clip(uint8_t *restrict dst, const uint8_t *restrict pred, const int16_t *restrict res, int n)
{
    // expert loop {
    /* widen 32 predictions to int16, saturating add (pred >= 0, so only the top can saturate and it
       lands above 255 anyway), then packus clamps to 0..255; permute undoes packus's lane split */
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i p = _mm256_loadu_si256((const __m256i *)(pred + i));
        __m256i r0 = _mm256_loadu_si256((const __m256i *)(res + i));
        __m256i r1 = _mm256_loadu_si256((const __m256i *)(res + i + 16));
        __m256i v0 = _mm256_adds_epi16(_mm256_cvtepu8_epi16(_mm256_castsi256_si128(p)), r0);
        __m256i v1 = _mm256_adds_epi16(_mm256_cvtepu8_epi16(_mm256_extracti128_si256(p, 1)), r1);
        __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi16(v0, v1), 0xD8);
        _mm256_storeu_si256((__m256i *)(dst + i), packed);
    }
    for (; i < n; i++) {
        int v = pred[i] + res[i];
        dst[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
    }
    // } expert loop
}
