/* simdlens expert reference set: branches (benchmarks/corpus/branches.c), hand-tuned AVX2.
   Written for this project. The link line ties each function to its corpus loop; the block between
   the `expert loop` lines replaces that loop (see src/simdlens/expert_set.py). */
#include <immintrin.h>
#include <stdint.h>

// expert: corpus=branches.c function=decode_deltas isa=avx2
void decode_deltas(int32_t *restrict value, const int32_t *restrict raw, const int8_t *restrict tag, int n)
{
    // expert loop {
    /* every case computed for 8 elements, the tag's case picked by blends, one store */
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i t = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(tag + i)));
        __m256i r = _mm256_loadu_si256((const __m256i *)(raw + i));
        __m256i out = _mm256_slli_epi32(r, 4);
        out = _mm256_blendv_epi8(out, _mm256_sub_epi32(_mm256_setzero_si256(), r),
                                 _mm256_cmpeq_epi32(t, _mm256_set1_epi32(3)));
        __m256i copy = _mm256_or_si256(_mm256_cmpeq_epi32(t, _mm256_set1_epi32(1)),
                                       _mm256_cmpeq_epi32(t, _mm256_set1_epi32(2)));
        out = _mm256_blendv_epi8(out, r, copy);
        out = _mm256_andnot_si256(_mm256_cmpeq_epi32(t, _mm256_setzero_si256()), out);
        _mm256_storeu_si256((__m256i *)(value + i), out);
    }
    for (; i < n; i++) {
        switch (tag[i]) {
        case 0: value[i] = 0; break;
        case 1:
        case 2: value[i] = raw[i]; break;
        case 3: value[i] = -raw[i]; break;
        default: value[i] = raw[i] << 4; break;
        }
    }
    // } expert loop
}
