/* simdlens expert reference set: complex arithmetic (benchmarks/corpus/complex_arith.c), hand-tuned
   AVX2. Written for this project. The link line ties each function to its corpus loop; the block
   between the `expert loop` lines replaces that loop (see src/simdlens/expert_set.py). */
#include <complex.h>
#include <immintrin.h>

typedef float complex cf32;

// expert: corpus=complex_arith.c function=iq_add isa=avx2
void iq_add(cf32 *restrict out, const cf32 *restrict a, const cf32 *restrict b, int n)
{
    // expert loop {
    /* a complex add is two independent float adds: the arrays as 2n floats, 16 a step */
    const float *fa = (const float *)a, *fb = (const float *)b;
    float *fo = (float *)out;
    long m = 2L * (n > 0 ? n : 0), k = 0;
    for (; k + 16 <= m; k += 16) {
        _mm256_storeu_ps(fo + k, _mm256_add_ps(_mm256_loadu_ps(fa + k), _mm256_loadu_ps(fb + k)));
        _mm256_storeu_ps(fo + k + 8, _mm256_add_ps(_mm256_loadu_ps(fa + k + 8), _mm256_loadu_ps(fb + k + 8)));
    }
    for (; k + 8 <= m; k += 8)
        _mm256_storeu_ps(fo + k, _mm256_add_ps(_mm256_loadu_ps(fa + k), _mm256_loadu_ps(fb + k)));
    for (int i = (int)(k / 2); i < n; i++)
        out[i] = a[i] + b[i];
    // } expert loop
}
