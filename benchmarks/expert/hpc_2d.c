/* simdlens expert reference set: macro-heavy 2-D HPC kernels (benchmarks/corpus/hpc_2d.c), hand-tuned
   AVX2. Written for this project. The link line ties each function to its corpus loop; the block
   between the `expert loop` lines replaces that loop (see src/simdlens/expert_set.py). */
#include <immintrin.h>

#define LEN 256
#define REAL double
REAL aa[LEN][LEN];

// expert: corpus=hpc_2d.c function=row_sum isa=avx2 reassociates=1
REAL row_sum(int i)
{
    REAL s = 0;
    // expert loop {
    /* one row of LEN doubles: four independent add chains (add latency 3-4, two per cycle) */
    const REAL *r = aa[i];
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    __m256d s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
    int j = 0;
    for (; j + 16 <= LEN; j += 16) {
        s0 = _mm256_add_pd(s0, _mm256_loadu_pd(r + j));
        s1 = _mm256_add_pd(s1, _mm256_loadu_pd(r + j + 4));
        s2 = _mm256_add_pd(s2, _mm256_loadu_pd(r + j + 8));
        s3 = _mm256_add_pd(s3, _mm256_loadu_pd(r + j + 12));
    }
    __m256d t = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd(t, 1));
    s += _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; j < LEN; j++)
        s += aa[i][j];
    // } expert loop
    return s;
}
