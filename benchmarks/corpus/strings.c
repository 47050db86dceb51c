/* simdlens benchmark corpus: string and byte processing. */
#include <stddef.h>
#include <stdint.h>

// bench: domain=strings category=search expect=vectorizable
long find_byte(const char *s, long n, char c)
{
    for (long i = 0; i < n; i++)
        if (s[i] == c)
            return i;
    return -1;
}

// bench: domain=strings category=reduction expect=vectorizable
size_t count_newlines(const char *buf, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    return lines;
}

// bench: domain=strings category=select expect=vectorizable
void to_upper_ascii(char *restrict dst, const char *restrict src, int n)
{
    for (int i = 0; i < n; i++) {
        char ch = src[i];
        dst[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
    }
}

// bench: domain=strings category=elementwise expect=vectorizable
void xor_cipher(uint8_t *restrict out, const uint8_t *restrict in, const uint8_t *restrict key, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] ^ key[i];
}

// bench: domain=strings category=search expect=vectorizable
int first_non_space(const unsigned char *s, int n)
{
    int i = 0;
    while (i < n && s[i] == ' ')
        i++;
    return i;
}

// bench: domain=strings category=reduction expect=vectorizable
uint32_t byte_checksum(const uint8_t *data, int n)
{
    uint32_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += data[i];
    return sum;
}

// bench: domain=strings category=reduction expect=vectorizable
int is_ascii(const uint8_t *s, int n)
{
    uint8_t acc = 0;
    for (int i = 0; i < n; i++)
        acc |= s[i];
    return acc < 0x80;
}

// bench: domain=strings category=compress expect=vectorizable
int strip_spaces(char *restrict dst, const char *restrict src, int n)
{
    int j = 0;
    for (int i = 0; i < n; i++)
        if (src[i] != ' ')
            dst[j++] = src[i];
    return j;
}

// bench: domain=strings category=recurrence expect=not_vectorizable
uint32_t djb2_hash(const unsigned char *s, int n)
{
    uint32_t h = 5381;
    for (int i = 0; i < n; i++)
        h = h * 33 + s[i];
    return h;
}

// bench: domain=strings category=search expect=vectorizable
int mismatch_at(const uint8_t *a, const uint8_t *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i] != b[i])
            return i;
    return n;
}

// bench: domain=strings category=gather expect=vectorizable
void translate_bytes(uint8_t *restrict out, const uint8_t *restrict in, const uint8_t *restrict table, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = table[in[i]];
}

// bench: domain=strings category=call expect=not_vectorizable
void hex_dump_lengths(int *restrict lens, const unsigned *restrict v, int n, int (*fmt)(unsigned))
{
    for (int i = 0; i < n; i++)
        lens[i] = fmt(v[i]);
}

/* Ranges given as [begin, end) pointer pairs, as parsers write them, and searches that hand back where
 * they stopped as a pointer (session 13). */

// bench: domain=strings category=search expect=vectorizable style=pointer_range
const char *find_in_range(const char *p, const char *end, char c)
{
    for (; p < end; p++)
        if (*p == c)
            return p;
    return end;
}

// bench: domain=strings category=reduction expect=vectorizable style=pointer_range
int count_fields(const char *p, const char *end, char sep)
{
    int fields = 1;
    while (p < end) {
        fields += *p == sep;
        p++;
    }
    return fields;
}

// bench: domain=strings category=select expect=vectorizable style=pointer_range
void lower_range(char *p, char *end)
{
    for (; p != end; ++p)
        if (*p >= 'A' && *p <= 'Z')
            *p += 'a' - 'A';
}

// bench: domain=strings category=search expect=vectorizable
const uint8_t *first_non_ascii(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] & 0x80)
            return s + i;
    return NULL;
}

// bench: domain=strings category=elementwise expect=vectorizable_with_checks style=pointer_range
void flip_case_copy(uint8_t *d, const uint8_t *s, const uint8_t *e)
{
    while (s != e)
        *d++ = *s++ ^ 0x20;
}

// bench: domain=strings category=reduction expect=vectorizable style=pointer_range
uint32_t sum_u16_range(const uint16_t *p, const uint16_t *end)
{
    uint32_t sum = 0;
    for (; p < end; ++p)
        sum += *p;
    return sum;
}

// bench: domain=strings category=search expect=vectorizable style=pointer_range
const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}
