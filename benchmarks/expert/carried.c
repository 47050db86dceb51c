/* simdlens expert reference set: carried (benchmarks/corpus/carried.c), hand-tuned AVX2.
   Written for this project. The link line ties each function to its corpus loop; the block between
   the `expert loop` lines replaces that loop (see src/simdlens/expert_set.py). */
#include <immintrin.h>
#include <stdint.h>

// expert: corpus=carried.c function=current_setpoint isa=avx2
void current_setpoint(int32_t *restrict target, const int32_t *restrict command, int32_t initial, int n)
{
    int32_t setpoint = initial;
    // expert loop {
    /* the last valid command at or below each lane: three shift-and-blend rounds over (value, valid),
       then the set point carried from the previous 8 lanes where no lane below was valid */
    int i = 0;
    const __m256i none = _mm256_setzero_si256();
    __m256i carry = _mm256_set1_epi32(setpoint);
    for (; i + 8 <= n; i += 8) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(command + i));
        __m256i ok = _mm256_cmpgt_epi32(v, _mm256_set1_epi32(-1));
        __m256i v1 = _mm256_alignr_epi8(v, _mm256_permute2x128_si256(v, none, 0x02), 12);
        __m256i ok1 = _mm256_alignr_epi8(ok, _mm256_permute2x128_si256(ok, none, 0x02), 12);
        v = _mm256_blendv_epi8(v1, v, ok);
        ok = _mm256_or_si256(ok, ok1);
        __m256i v2 = _mm256_alignr_epi8(v, _mm256_permute2x128_si256(v, none, 0x02), 8);
        __m256i ok2 = _mm256_alignr_epi8(ok, _mm256_permute2x128_si256(ok, none, 0x02), 8);
        v = _mm256_blendv_epi8(v2, v, ok);
        ok = _mm256_or_si256(ok, ok2);
        __m256i v4 = _mm256_permute2x128_si256(v, none, 0x02);
        __m256i ok4 = _mm256_permute2x128_si256(ok, none, 0x02);
        v = _mm256_blendv_epi8(v4, v, ok);
        ok = _mm256_or_si256(ok, ok4);
        v = _mm256_blendv_epi8(carry, v, ok);
        _mm256_storeu_si256((__m256i *)(target + i), v);
        carry = _mm256_permutevar8x32_epi32(v, _mm256_set1_epi32(7));
    }
    setpoint = _mm256_cvtsi256_si32(carry);
    for (; i < n; i++) {
        if (command[i] >= 0)
            setpoint = command[i];
        target[i] = setpoint;
    }
    // } expert loop
}
