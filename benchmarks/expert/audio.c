/* simdlens expert reference set: audio (benchmarks/corpus/audio.c), hand-tuned AVX2 + FMA.
   Written for this project. The link line ties each function to its corpus loop; the block between
   the `expert loop` lines replaces that loop (see src/simdlens/expert_set.py). */
#include <immintrin.h>
#include <stdint.h>

// expert: corpus=audio.c function=rms_energy isa=avx2 reassociates=1
float rms_energy(const float *x, int n)
{
    float acc = 0.0f;
    // expert loop {
    /* four independent FMA chains (FMA latency 4, two per cycle, one load each): 32 floats a step */
    __m256 e0 = _mm256_setzero_ps(), e1 = _mm256_setzero_ps();
    __m256 e2 = _mm256_setzero_ps(), e3 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
        __m256 x2 = _mm256_loadu_ps(x + i + 16), x3 = _mm256_loadu_ps(x + i + 24);
        e0 = _mm256_fmadd_ps(x0, x0, e0);
        e1 = _mm256_fmadd_ps(x1, x1, e1);
        e2 = _mm256_fmadd_ps(x2, x2, e2);
        e3 = _mm256_fmadd_ps(x3, x3, e3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 x0 = _mm256_loadu_ps(x + i);
        e0 = _mm256_fmadd_ps(x0, x0, e0);
    }
    __m256 e = _mm256_add_ps(_mm256_add_ps(e0, e1), _mm256_add_ps(e2, e3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(e), _mm256_extractf128_ps(e, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    acc += _mm_cvtss_f32(h);
    for (; i < n; i++)
        acc += x[i] * x[i];
    // } expert loop
    return acc;
}

// expert: corpus=audio.c function=float_to_s16 isa=avx2
void float_to_s16(int16_t *restrict out, const float *restrict in, int n)
{
    // expert loop {
    /* 16 floats a step: scale, clamp with min/max, NaN lanes to 0 (what the scalar conversion leaves in the
       low 16 bits), two truncating cvttps2dq, one packs_epi32 (exact: values are in range) and a
       permute4x64 to undo its per-lane interleave, one 32-byte store */
    const __m256 scale = _mm256_set1_ps(32767.0f);
    const __m256 hi = _mm256_set1_ps(32767.0f), lo = _mm256_set1_ps(-32768.0f);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_mul_ps(_mm256_loadu_ps(in + i), scale);
        __m256 b = _mm256_mul_ps(_mm256_loadu_ps(in + i + 8), scale);
        a = _mm256_and_ps(_mm256_max_ps(_mm256_min_ps(a, hi), lo), _mm256_cmp_ps(a, a, _CMP_ORD_Q));
        b = _mm256_and_ps(_mm256_max_ps(_mm256_min_ps(b, hi), lo), _mm256_cmp_ps(b, b, _CMP_ORD_Q));
        __m256i packed = _mm256_packs_epi32(_mm256_cvttps_epi32(a), _mm256_cvttps_epi32(b));
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_permute4x64_epi64(packed, 0xD8));
    }
    for (; i < n; i++) {
        float s = in[i] * 32767.0f;
        s = s > 32767.0f ? 32767.0f : (s < -32768.0f ? -32768.0f : s);
        out[i] = (int16_t)s;
    }
    // } expert loop
}
