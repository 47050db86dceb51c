/* simdlens expert reference set: checksums (benchmarks/corpus/checksums.c), hand-tuned AVX2.
   Written for this project. The link line ties each function to its corpus loop; the block between
   the `expert loop` lines replaces that loop (see src/simdlens/expert_set.py). */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

// expert: corpus=checksums.c function=packet_adler isa=avx2
uint32_t packet_adler(const uint8_t *payload, size_t len)
{
    uint32_t lo = 1, hi = 0;
    // expert loop {
    size_t k = 0;
    /* 64 bytes a step, as two 32-byte blocks: lo's partial sums by psadbw, hi's by pmaddubsw with the
       weights 64..33 and 32..1 and pmaddwd; lo before each step is counted 64 times, shifted in after */
    const __m256i w_hi = _mm256_setr_epi8(64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49,
                                          48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33);
    const __m256i w_lo = _mm256_setr_epi8(32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
                                          16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i zero = _mm256_setzero_si256();
    __m256i vs1 = zero, vps = zero, vs2 = zero;
    size_t steps = len / 64;
    for (size_t s = 0; s < steps; s++, k += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(payload + k));
        __m256i b = _mm256_loadu_si256((const __m256i *)(payload + k + 32));
        vps = _mm256_add_epi32(vps, vs1);
        vs1 = _mm256_add_epi32(vs1, _mm256_add_epi32(_mm256_sad_epu8(a, zero), _mm256_sad_epu8(b, zero)));
        __m256i pa = _mm256_maddubs_epi16(a, w_hi);
        __m256i pb = _mm256_maddubs_epi16(b, w_lo);
        vs2 = _mm256_add_epi32(vs2, _mm256_add_epi32(_mm256_madd_epi16(pa, ones), _mm256_madd_epi16(pb, ones)));
    }
    if (steps) {
        uint32_t l1[8], lp[8], l2[8];
        _mm256_storeu_si256((__m256i *)l1, vs1);
        _mm256_storeu_si256((__m256i *)lp, vps);
        _mm256_storeu_si256((__m256i *)l2, vs2);
        uint32_t t1 = 0, tp = 0, t2 = 0;
        for (int j = 0; j < 8; j++) { t1 += l1[j]; tp += lp[j]; t2 += l2[j]; }
        hi += (uint32_t)(steps * 64) * lo + 64u * tp + t2;
        lo += t1;
    }
    for (; k < len; k++) {
        lo += payload[k];
        hi += lo;
    }
    // } expert loop
    return ((hi % 65521u) << 16) | (lo % 65521u);
}

// expert: corpus=checksums.c function=bitmap_population isa=avx2
int bitmap_population(const uint32_t *bitmap, int words)
{
    int set = 0;
    // expert loop {
    int w = 0;
    /* the nibble-table popcount: byte counts of 2 registers added as bytes (at most 16 per byte), then
       psadbw into 64-bit sums once per 64 bytes */
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                           0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i acc = _mm256_setzero_si256();
    for (; w + 16 <= words; w += 16) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(bitmap + w));
        __m256i b = _mm256_loadu_si256((const __m256i *)(bitmap + w + 8));
        __m256i ca = _mm256_add_epi8(_mm256_shuffle_epi8(table, _mm256_and_si256(a, low)),
                                     _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(a, 4), low)));
        __m256i cb = _mm256_add_epi8(_mm256_shuffle_epi8(table, _mm256_and_si256(b, low)),
                                     _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(b, 4), low)));
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_add_epi8(ca, cb), _mm256_setzero_si256()));
    }
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    set += (int)(uint32_t)(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
    for (; w < words; w++)
        set += __builtin_popcount(bitmap[w]);
    // } expert loop
    return set;
}
