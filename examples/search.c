/*
 * search.c - scanning byte buffers.
 */
#include <stddef.h>
#include <stdint.h>

/* Index of the first byte equal to `key`, or -1 when there is none. */
long find_byte(const uint8_t *buf, long n, uint8_t key)
{
    for (long i = 0; i < n; i++) {
        if (buf[i] == key)
            return i;
    }
    return -1;
}

/* How many bytes equal `key`. */
size_t count_byte(const uint8_t *buf, size_t n, uint8_t key)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += buf[i] == key;
    return count;
}

/* Length of a NUL-terminated string, the classic pointer-walking loop. */
size_t string_length(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}
