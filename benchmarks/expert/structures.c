/* simdlens expert reference set: structures (benchmarks/corpus/structures.c), hand-tuned AVX2.
   Written for this project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <stdint.h>

typedef struct { float re, im; } cpx32;

// expert: corpus=structures.c function=cpx_struct_power isa=avx2
void cpx_struct_power(float *power, const cpx32 *z, int n)
{
    // expert loop {
    /* |z|^2 of 8 interleaved (re, im) records: square both registers, add neighbours with one hadd
       (it pairs within 128-bit halves), then put the halves back in order with one vpermq; exact:
       each part is squared and the two squares added once, as the scalar loop does */
    const char *o = (const char *)power, *x = (const char *)z;
    const long out_bytes = 4 * (long)n, in_bytes = 8 * (long)n;
    const int vector = o == x || o + out_bytes <= x || x + in_bytes <= o;
    int i = 0;
    for (; vector && i + 8 <= n; i += 8) {
        const float *p = (const float *)(z + i);
        __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
        __m256 sums = _mm256_hadd_ps(_mm256_mul_ps(lo, lo), _mm256_mul_ps(hi, hi));
        _mm256_storeu_ps(power + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(sums), 0xD8)));
    }
    for (; i < n; i++)
        power[i] = z[i].re * z[i].re + z[i].im * z[i].im;
    // } expert loop
}
