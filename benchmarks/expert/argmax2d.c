/* simdlens expert reference set: argmax2d (benchmarks/corpus/argmax2d.c), hand-tuned AVX2.
   Written for this project. The link line ties each function to its corpus loop; the block between
   the `expert loop` lines replaces that loop (see src/simdlens/expert_set.py). */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

// expert: corpus=argmax2d.c function=best_class_per_row isa=avx2
void best_class_per_row(int32_t *restrict label, const float *restrict score, int rows, int classes)
{
    for (int r = 0; r < rows; r++) {
        const float *row = score + (size_t)r * classes;
        float best = row[0];
        int32_t at = 0;
        // expert loop {
        /* 8 lanes keep their best score and its class; the lanes are compared after the loop (the
           larger score, the smaller class on ties, as the first strictly larger one wins) */
        int k = 1;
        if (classes - 1 >= 8) {
            __m256 lane_best = _mm256_set1_ps(best);
            __m256i lane_at = _mm256_set1_epi32(at);
            __m256i idx = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8);
            for (; k + 8 <= classes; k += 8) {
                __m256 v = _mm256_loadu_ps(row + k);
                __m256 gt = _mm256_cmp_ps(v, lane_best, _CMP_GT_OQ);
                lane_best = _mm256_blendv_ps(lane_best, v, gt);
                lane_at = _mm256_blendv_epi8(lane_at, idx, _mm256_castps_si256(gt));
                idx = _mm256_add_epi32(idx, _mm256_set1_epi32(8));
            }
            float vals[8];
            int32_t ids[8];
            _mm256_storeu_ps(vals, lane_best);
            _mm256_storeu_si256((__m256i *)ids, lane_at);
            for (int j = 0; j < 8; j++)
                if (vals[j] > best || (vals[j] == best && ids[j] < at)) {
                    best = vals[j];
                    at = ids[j];
                }
        }
        for (; k < classes; k++)
            if (row[k] > best) {
                best = row[k];
                at = k;
            }
        // } expert loop
        label[r] = at;
    }
}
