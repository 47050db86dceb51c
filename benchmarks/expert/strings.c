/* simdlens expert reference set: strings (benchmarks/corpus/strings.c), hand-tuned AVX2. Written for
   this project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

// expert: corpus=strings.c function=count_newlines isa=avx2
size_t count_newlines(const char *buf, size_t n)
{
    size_t lines = 0;
    // expert loop {
    /* cmpeq gives -1 per newline: subtract into byte counters for up to 255 steps, then one sad_epu8
       folds the 32 byte counters into four 64-bit sums */
    const __m256i newline = _mm256_set1_epi8('\n');
    __m256i total = _mm256_setzero_si256();
    size_t i = 0;
    while (i + 32 <= n) {
        __m256i counts = _mm256_setzero_si256();
        for (int k = 0; k < 255 && i + 32 <= n; k++, i += 32)
            counts = _mm256_sub_epi8(counts, _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(buf + i)), newline));
        total = _mm256_add_epi64(total, _mm256_sad_epu8(counts, _mm256_setzero_si256()));
    }
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
    lines += (size_t)_mm_cvtsi128_si64(h) + (size_t)_mm_extract_epi64(h, 1);
    for (; i < n; i++)
        lines += buf[i] == '\n';
    // } expert loop
    return lines;
}

// expert: corpus=strings.c function=to_upper_ascii isa=avx2
void to_upper_ascii(char *restrict dst, const char *restrict src, int n)
{
    // expert loop {
    /* 64 bytes a step: 'a' <= c <= 'z' as two signed byte compares, then clear bit 5 (0x20) of the
       letters with an and-not of the masked constant (no blend) */
    const __m256i below = _mm256_set1_epi8('a' - 1), above = _mm256_set1_epi8('z' + 1);
    const __m256i bit5 = _mm256_set1_epi8(0x20);
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i c0 = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i c1 = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i l0 = _mm256_and_si256(_mm256_cmpgt_epi8(c0, below), _mm256_cmpgt_epi8(above, c0));
        __m256i l1 = _mm256_and_si256(_mm256_cmpgt_epi8(c1, below), _mm256_cmpgt_epi8(above, c1));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_andnot_si256(_mm256_and_si256(l0, bit5), c0));
        _mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_andnot_si256(_mm256_and_si256(l1, bit5), c1));
    }
    for (; i < n; i++) {
        char ch = src[i];
        dst[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
    }
    // } expert loop
}
