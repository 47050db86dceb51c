/* simdlens expert reference set: families (benchmarks/corpus/families.c), hand-tuned AVX2.
   Written for this project. The link line ties each function to its corpus loop; the block between
   the `expert loop` lines replaces that loop (see src/simdlens/expert_set.py). */
#include <immintrin.h>
#include <stdint.h>

// expert: corpus=families.c function=copy_until_marker isa=avx2
int copy_until_marker(int32_t *restrict out, const int32_t *restrict in, int32_t marker, int n)
{
    int i;
    // expert loop {
    /* test 8 elements at once; store whole vectors before the marker, and the marker's vector up to and
       including the marker with one masked store */
    int found = 0;
    const __m256i key = _mm256_set1_epi32(marker);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (i = 0; i + 8 <= n; i += 8) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(in + i));
        unsigned hit = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(v, key)));
        if (hit) {
            int lane = __builtin_ctz(hit);
            __m256i upto = _mm256_cmpgt_epi32(_mm256_set1_epi32(lane + 1), lanes);
            _mm256_maskstore_epi32(out + i, upto, v);
            i += lane;
            found = 1;
            break;
        }
        _mm256_storeu_si256((__m256i *)(out + i), v);
    }
    if (!found) {
        for (; i < n; i++) {
            out[i] = in[i];
            if (in[i] == marker)
                break;
        }
    }
    // } expert loop
    return i;
}
