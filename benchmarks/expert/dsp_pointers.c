/* simdlens expert reference set: DSP pointer style (benchmarks/corpus/dsp_pointers.c), hand-tuned AVX2
   + FMA. Written for this project. The link line ties each function to its corpus loop; the block
   between the `expert loop` lines replaces that loop (see src/simdlens/expert_set.py). */
#include <immintrin.h>

// expert: corpus=dsp_pointers.c function=dsp_dot_f32 isa=avx2 reassociates=1
float dsp_dot_f32(const float *restrict a, const float *restrict b, unsigned n)
{
    float acc = 0.0f;
    // expert loop {
    /* four independent FMA chains over the walking pointers, 32 products a step */
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    for (; n >= 32; n -= 32, a += 32, b += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(b), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + 8), _mm256_loadu_ps(b + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + 16), _mm256_loadu_ps(b + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + 24), _mm256_loadu_ps(b + 24), s3);
    }
    for (; n >= 8; n -= 8, a += 8, b += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(b), s0);
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    acc += _mm_cvtss_f32(h);
    while (n--)
        acc += *a++ * *b++;
    // } expert loop
    return acc;
}
