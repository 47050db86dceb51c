/* simdlens expert reference set: conditional_index (benchmarks/corpus/conditional_index.c), hand-tuned
   AVX2. Written for this project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <stdint.h>

// expert: corpus=conditional_index.c function=loudest_sample isa=avx2
int loudest_sample(const float *x, int n)
{
    int best = 0;
    // expert loop {
    /* 8 lanes keep their best value and its index (strictly greater wins, so a lane keeps the first
       index of a tie and never takes a NaN); the lanes are compared after the loop, the smaller index
       winning a tie, then the scalar loop finishes the rest against x[best] */
    int i = 1;
    if (n - 1 >= 8) {
        __m256 lane_best = _mm256_set1_ps(x[best]);
        __m256i lane_at = _mm256_set1_epi32(best);
        __m256i idx = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8);
        const __m256i step = _mm256_set1_epi32(8);
        for (; i + 8 <= n; i += 8) {
            __m256 v = _mm256_loadu_ps(x + i);
            __m256 gt = _mm256_cmp_ps(v, lane_best, _CMP_GT_OQ);
            lane_best = _mm256_blendv_ps(lane_best, v, gt);
            lane_at = _mm256_blendv_epi8(lane_at, idx, _mm256_castps_si256(gt));
            idx = _mm256_add_epi32(idx, step);
        }
        float vals[8];
        int32_t ids[8];
        _mm256_storeu_ps(vals, lane_best);
        _mm256_storeu_si256((__m256i *)ids, lane_at);
        for (int j = 0; j < 8; j++)
            if (vals[j] > x[best] || (vals[j] == x[best] && ids[j] < best))
                best = ids[j];
    }
    for (; i < n; i++)
        if (x[i] > x[best])
            best = i;
    // } expert loop
    return best;
}
