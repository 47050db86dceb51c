/* simdlens expert reference set: image_helpers (benchmarks/corpus/image_helpers.cpp), hand-tuned AVX2.
   Written for this project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <cstddef>
#include <cstdint>

namespace Ref {

inline int AbsDifference(int a, int b) { return a > b ? a - b : b - a; }

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

}  // namespace Ref
