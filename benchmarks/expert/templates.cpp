/* simdlens expert reference set: C++ templates (benchmarks/corpus/templates.cpp), hand-tuned AVX2 + FMA.
   Written for this project; see src/simdlens/expert_set.py for the link and block format. The kernel is
   the template's analysed instantiation, dot_t<float>. */
#include <immintrin.h>

// expert: corpus=templates.cpp function=dot_t isa=avx2 reassociates=1
float dot_t(const float *__restrict a, const float *__restrict b, int n)
{
    float acc = 0;
    // expert loop {
    /* four independent FMA chains hide the 4-cycle FMA latency; one horizontal sum at the end */
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    __m256 t = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    acc += _mm_cvtss_f32(h);
    for (; i < n; i++)
        acc += a[i] * b[i];
    // } expert loop
    return acc;
}
