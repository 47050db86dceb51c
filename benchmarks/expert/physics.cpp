/* simdlens expert reference set: physics (benchmarks/corpus/physics.cpp), hand-tuned AVX2 + FMA. Written
   for this project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <cstdint>

// expert: corpus=physics.cpp function=kinetic_energy isa=avx2 reassociates=1
double kinetic_energy(const double *__restrict m, const double *__restrict v2, int n)
{
    double e = 0.0;
    // expert loop {
    /* four FMA chains of (0.5*m)*v2 (halving first, as the loop does: m*v2 alone could overflow) */
    const __m256d half = _mm256_set1_pd(0.5);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    __m256d s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_pd(_mm256_mul_pd(half, _mm256_loadu_pd(m + i)), _mm256_loadu_pd(v2 + i), s0);
        s1 = _mm256_fmadd_pd(_mm256_mul_pd(half, _mm256_loadu_pd(m + i + 4)), _mm256_loadu_pd(v2 + i + 4), s1);
        s2 = _mm256_fmadd_pd(_mm256_mul_pd(half, _mm256_loadu_pd(m + i + 8)), _mm256_loadu_pd(v2 + i + 8), s2);
        s3 = _mm256_fmadd_pd(_mm256_mul_pd(half, _mm256_loadu_pd(m + i + 12)), _mm256_loadu_pd(v2 + i + 12), s3);
    }
    for (; i + 4 <= n; i += 4)
        s0 = _mm256_fmadd_pd(_mm256_mul_pd(half, _mm256_loadu_pd(m + i)), _mm256_loadu_pd(v2 + i), s0);
    __m256d t = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd(t, 1));
    h = _mm_add_sd(h, _mm_unpackhi_pd(h, h));
    e += _mm_cvtsd_f64(h);
    for (; i < n; i++)
        e += 0.5 * m[i] * v2[i];
    // } expert loop
    return e;
}
