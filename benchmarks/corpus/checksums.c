/* simdlens benchmark corpus: checksums and bit counts (issue 16, session 13). Second-order running sums
   (an Adler-32 / Fletcher pair: s1 += x[i]; s2 += s1) and population counts of arrays, which gcc 12 leaves
   scalar. Written for this project. */
#include <stddef.h>
#include <stdint.h>

// bench: domain=families category=checksum expect=vectorizable
uint32_t packet_adler(const uint8_t *payload, size_t len)
{
    uint32_t lo = 1, hi = 0;
    for (size_t k = 0; k < len; k++) {
        lo += payload[k];
        hi += lo;
    }
    return ((hi % 65521u) << 16) | (lo % 65521u);
}

// bench: domain=families category=checksum expect=vectorizable
uint32_t sector_fletcher(const uint16_t *words, int count)
{
    uint32_t first = 0xffff, second = 0xffff;
    for (int w = 0; w < count; w++) {
        first += words[w];
        second += first;
    }
    first = (first & 0xffff) + (first >> 16);
    second = (second & 0xffff) + (second >> 16);
    return (second << 16) | first;
}

// bench: domain=families category=checksum expect=vectorizable
uint32_t frame_tag(const unsigned char *frame, int bytes, uint32_t seed)
{
    uint32_t weight = seed, total = seed >> 3;
    for (int b = 0; b < bytes; b++) {
        total += weight;
        weight += frame[b];
    }
    return total ^ (weight << 11);
}

// bench: domain=families category=checksum expect=vectorizable
int record_digest(const uint8_t *rec, int n)
{
    int run = 0, area = 0;
    for (int i = 0; i < n; i++) {
        run += rec[i];
        area += run;
    }
    return area - 3 * run;
}

// bench: domain=families category=checksum expect=vectorizable
unsigned long stream_adler(unsigned long adler, const unsigned char *chunk, size_t size)
{
    unsigned long s2 = adler >> 16;
    adler &= 0xffff;
    for (size_t j = 0; j < size; j++) {
        adler += chunk[j];
        s2 += adler;
    }
    return (s2 % 65521ul) << 16 | (adler % 65521ul);
}

// bench: domain=families category=checksum expect=not_vectorizable
uint32_t adler_reduced_each_byte(const uint8_t *data, int len)
{
    uint32_t a = 1, b = 0;
    for (int i = 0; i < len; i++) {
        a = (a + data[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return (b << 16) | a;
}

// bench: domain=families category=popcount expect=vectorizable
int bitmap_population(const uint32_t *bitmap, int words)
{
    int set = 0;
    for (int w = 0; w < words; w++)
        set += __builtin_popcount(bitmap[w]);
    return set;
}

// bench: domain=families category=popcount expect=vectorizable
long fingerprint_distance(const uint64_t *fa, const uint64_t *fb, int lanes)
{
    long dist = 0;
    for (int k = 0; k < lanes; k++)
        dist += __builtin_popcountll(fa[k] ^ fb[k]);
    return dist;
}

// bench: domain=families category=popcount expect=vectorizable
void mask_weights(uint8_t *restrict weight, const uint32_t *restrict mask, int n)
{
    for (int i = 0; i < n; i++)
        weight[i] = (uint8_t)__builtin_popcount(mask[i]);
}

// bench: domain=families category=popcount expect=vectorizable
size_t ones_in_stream(const uint8_t *bytes, size_t count)
{
    size_t ones = 0;
    for (size_t b = 0; b < count; b++)
        ones += __builtin_popcount(bytes[b]);
    return ones;
}
