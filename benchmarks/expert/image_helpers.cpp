/* simdlens expert reference set: image_helpers (benchmarks/corpus/image_helpers.cpp), hand-tuned AVX2.
   Written for this project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <cstddef>
#include <cstdint>

namespace Ref {

inline int AbsDifference(int a, int b) { return a > b ? a - b : b - a; }
inline int RestrictRange(int value, int min = 0, int max = 255) { return value < min ? min : value > max ? max : value; }

// expert: corpus=image_helpers.cpp function=abs_difference_sum isa=avx2
void abs_difference_sum(const uint8_t *a, size_t aStride, const uint8_t *b, size_t bStride, size_t width,
                        size_t height, uint64_t *sum)
{
    *sum = 0;
    for (size_t row = 0; row < height; ++row) {
        int rowSum = 0;
        // expert loop {
        /* psadbw: 32 absolute byte differences per step summed into four 64-bit lanes, two chains */
        size_t col = 0;
        __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
        for (; col + 64 <= width; col += 64) {
            acc0 = _mm256_add_epi64(acc0, _mm256_sad_epu8(_mm256_loadu_si256((const __m256i *)(a + col)),
                                                          _mm256_loadu_si256((const __m256i *)(b + col))));
            acc1 = _mm256_add_epi64(acc1, _mm256_sad_epu8(_mm256_loadu_si256((const __m256i *)(a + col + 32)),
                                                          _mm256_loadu_si256((const __m256i *)(b + col + 32))));
        }
        for (; col + 32 <= width; col += 32)
            acc0 = _mm256_add_epi64(acc0, _mm256_sad_epu8(_mm256_loadu_si256((const __m256i *)(a + col)),
                                                          _mm256_loadu_si256((const __m256i *)(b + col))));
        acc0 = _mm256_add_epi64(acc0, acc1);
        __m128i s = _mm_add_epi64(_mm256_castsi256_si128(acc0), _mm256_extracti128_si256(acc0, 1));
        rowSum += (int)(_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1));
        for (; col < width; ++col)
            rowSum += AbsDifference(a[col], b[col]);
        // } expert loop
        *sum += rowSum;
        a += aStride;
        b += bStride;
    }
}

// expert: corpus=image_helpers.cpp function=int16_to_gray isa=avx2
void int16_to_gray(const int16_t *src, size_t width, size_t height, size_t srcStride, uint8_t *dst,
                   size_t dstStride)
{
    for (size_t row = 0; row < height; ++row) {
        // expert loop {
        /* packuswb clamps 32 int16 values to 0..255 and narrows them; vpermq puts the 128-bit halves in order
           (src and dst may overlap: the vector loop runs only when the row's source and destination do not) */
        size_t col = 0;
        const uintptr_t s0 = (uintptr_t)src, s1 = (uintptr_t)(src + width), d0 = (uintptr_t)dst, d1 = (uintptr_t)(dst + width);
        if (d1 <= s0 || s1 <= d0)
            for (; col + 32 <= width; col += 32) {
                __m256i lo = _mm256_loadu_si256((const __m256i *)(src + col));
                __m256i hi = _mm256_loadu_si256((const __m256i *)(src + col + 16));
                _mm256_storeu_si256((__m256i *)(dst + col), _mm256_permute4x64_epi64(_mm256_packus_epi16(lo, hi), 0xD8));
            }
        for (; col < width; ++col)
            dst[col] = (uint8_t)RestrictRange(src[col]);
        // } expert loop
        src += srcStride;
        dst += dstStride;
    }
}

}  // namespace Ref
