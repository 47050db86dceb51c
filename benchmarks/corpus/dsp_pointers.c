/* simdlens benchmark corpus: DSP kernels in the pointer-walking style of fixed-point DSP libraries
 * (`*out++ = *a++ * *b++`, `while (n--)`, hand-unrolled blocks followed by a remainder loop,
 * `while (p < end)`), over float, Q15 (int16) and Q31 (int32) samples. Written for this project. */
#include <stddef.h>
#include <stdint.h>
#include <math.h>

typedef int16_t q15;
typedef int32_t q31;

// bench: domain=dsp category=elementwise expect=vectorizable
void dsp_mul_f32(float *restrict out, const float *restrict a, const float *restrict b, unsigned n)
{
    while (n--)
        *out++ = *a++ * *b++;
}

// bench: domain=dsp category=conversion expect=vectorizable
void dsp_add_wrap_q15(q15 *restrict dst, const q15 *restrict a, const q15 *restrict b, int n)
{
    while (n-- > 0)
        *dst++ = (q15)(*a++ + *b++);
}

// bench: domain=dsp category=elementwise expect=vectorizable
void dsp_scale_f32(float *restrict dst, const float *restrict src, float gain, int n)
{
    for (int i = 0; i < n; i++)
        *dst++ = *src++ * gain;
}

// bench: domain=dsp category=elementwise expect=vectorizable
void dsp_offset_q31(q31 *restrict dst, const q31 *restrict src, q31 offset, unsigned n)
{
    for (; n >= 4; n -= 4) {
        dst[0] = src[0] + offset;
        dst[1] = src[1] + offset;
        dst[2] = src[2] + offset;
        dst[3] = src[3] + offset;
        dst += 4;
        src += 4;
    }
    while (n--)
        *dst++ = *src++ + offset;
}

// bench: domain=dsp category=reduction expect=vectorizable
float dsp_dot_f32(const float *restrict a, const float *restrict b, unsigned n)
{
    float acc = 0.0f;
    while (n--)
        acc += *a++ * *b++;
    return acc;
}

// bench: domain=dsp category=reduction expect=vectorizable
int64_t dsp_mac_q15(const q15 *restrict a, const q15 *restrict b, uint32_t n)
{
    int64_t sum = 0;
    uint32_t blocks = n >> 2;
    while (blocks > 0u) {
        sum += (q31)*a++ * *b++;
        sum += (q31)*a++ * *b++;
        sum += (q31)*a++ * *b++;
        sum += (q31)*a++ * *b++;
        blocks--;
    }
    blocks = n & 3u;
    while (blocks > 0u) {
        sum += (q31)*a++ * *b++;
        blocks--;
    }
    return sum;
}

// bench: domain=dsp category=select expect=vectorizable
void dsp_clip_f32(float *restrict dst, const float *restrict src, size_t n, float lo, float hi)
{
    const float *end = src + n;
    while (src < end) {
        float v = *src++;
        if (v > hi)
            v = hi;
        if (v < lo)
            v = lo;
        *dst++ = v;
    }
}

// bench: domain=dsp category=select expect=vectorizable
void dsp_negate_sat_q15(q15 *restrict dst, const q15 *restrict src, unsigned n)
{
    while (n--) {
        q15 v = *src++;
        *dst++ = (v == INT16_MIN) ? INT16_MAX : (q15)-v;
    }
}

// bench: domain=dsp category=math_call expect=vectorizable
void dsp_abs_f32(float *restrict dst, const float *restrict src, unsigned n)
{
    while (n--)
        *dst++ = fabsf(*src++);
}

// bench: domain=dsp category=elementwise expect=vectorizable
void dsp_copy_q31(q31 *restrict dst, const q31 *restrict src, unsigned n)
{
    while (n--)
        *dst++ = *src++;
}

// bench: domain=dsp category=elementwise expect=vectorizable
void dsp_fill_f32(float *restrict dst, float value, unsigned n)
{
    while (n--)
        *dst++ = value;
}

// bench: domain=dsp category=conversion expect=vectorizable
void dsp_scale_q31(q31 *restrict dst, const q31 *restrict src, q31 scale, unsigned n)
{
    while (n--)
        *dst++ = (q31)(((int64_t)*src++ * scale) >> 31);
}

// bench: domain=dsp category=conversion expect=vectorizable
void dsp_mult_q15(q15 *restrict dst, const q15 *restrict a, const q15 *restrict b, unsigned n)
{
    while (n--)
        *dst++ = (q15)(((q31)*a++ * *b++) >> 15);
}

// bench: domain=dsp category=reduction expect=vectorizable
int64_t dsp_power_q15(const q15 *restrict src, unsigned n)
{
    int64_t acc = 0;
    while (n--) {
        q15 v = *src++;
        acc += (q31)v * v;
    }
    return acc;
}

// bench: domain=dsp category=reduction expect=vectorizable
float dsp_min_f32(const float *restrict src, unsigned n)
{
    float m = INFINITY;
    while (n--) {
        float v = *src++;
        if (v < m)
            m = v;
    }
    return m;
}

// bench: domain=dsp category=conversion expect=vectorizable
void dsp_float_to_q15(q15 *restrict dst, const float *restrict src, unsigned n)
{
    float r;
    while (n--) {
        r = *src++ * 32768.0f;
        if (r > 32767.0f)
            r = 32767.0f;
        if (r < -32768.0f)
            r = -32768.0f;
        *dst++ = (q15)r;
    }
}

// bench: domain=dsp category=stride expect=vectorizable
void dsp_mag_squared_cf32(float *restrict dst, const float *restrict src, unsigned n)
{
    while (n--) {
        float re = *src++;
        float im = *src++;
        *dst++ = re * re + im * im;
    }
}

// bench: domain=dsp category=elementwise expect=vectorizable
void dsp_add8_f32(float *restrict d, const float *restrict a, const float *restrict b, unsigned n)
{
    for (; n >= 8; n -= 8) {
        d[0] = a[0] + b[0];
        d[1] = a[1] + b[1];
        d[2] = a[2] + b[2];
        d[3] = a[3] + b[3];
        d[4] = a[4] + b[4];
        d[5] = a[5] + b[5];
        d[6] = a[6] + b[6];
        d[7] = a[7] + b[7];
        d += 8;
        a += 8;
        b += 8;
    }
    for (; n > 0; n--)
        *d++ = *a++ + *b++;
}

// bench: domain=dsp category=select expect=vectorizable
float dsp_gain_limit_f32(float *restrict out, const float *restrict x, int n, float gain, float ceiling)
{
    float r = 0.0f;
    for (int i = 0; i < n; i++) {
        r = x[i] * gain;
        if (r > ceiling)
            r = ceiling;
        out[i] = r;
    }
    return r;
}

// bench: domain=dsp category=elementwise expect=vectorizable
void dsp_shift_right_q31(q31 *restrict dst, const q31 *restrict src, int shift, unsigned n)
{
    while (n--)
        *dst++ = *src++ >> shift;
}

// bench: domain=dsp category=elementwise expect=vectorizable
void dsp_crossfade_f32(float *restrict y, const float *restrict x0, const float *restrict x1, float t,
                       unsigned n)
{
    const float keep = 1.0f - t;
    while (n--)
        *y++ = *x0++ * keep + *x1++ * t;
}

// bench: domain=dsp category=elementwise expect=vectorizable
void dsp_remove_dc_q31(q31 *restrict dst, const q31 *restrict src, q31 dc, int n)
{
    for (int i = 0; i < n; i++)
        *dst++ = src[i] - dc;
}

// bench: domain=dsp category=stride expect=vectorizable
void dsp_conj_cf32(float *restrict dst, const float *restrict src, unsigned n)
{
    while (n--) {
        *dst++ = *src++;
        *dst++ = -*src++;
    }
}

// bench: domain=dsp category=reduction expect=vectorizable
q31 dsp_sum_abs_q31(const q31 *restrict src, unsigned n)
{
    const q31 *end = src + n;
    q31 total = 0;
    while (src != end) {
        q31 v = *src++;
        total += v < 0 ? -v : v;
    }
    return total;
}

// bench: domain=dsp category=recurrence expect=not_vectorizable
void dsp_leaky_integrator_q31(q31 *restrict y, const q31 *restrict x, unsigned n)
{
    q31 state = 0;
    while (n--) {
        state = (q31)(((int64_t)state * 31) >> 5) + *x++;
        *y++ = state;
    }
}

// bench: domain=dsp category=compress expect=vectorizable
unsigned dsp_keep_positive_f32(float *restrict dst, const float *restrict src, unsigned n)
{
    float *start = dst;
    while (n--) {
        float v = *src++;
        if (v > 0.0f)
            *dst++ = v;
    }
    return (unsigned)(dst - start);
}

// bench: domain=dsp category=reduction expect=vectorizable
float dsp_energy_f32(const float *restrict src, int n)
{
    float energy = 0.0f;
    for (const float *p = src; p < src + n; p++)
        energy += *p * *p;
    return energy;
}

// bench: domain=dsp category=stride expect=vectorizable
void dsp_side_f32(float *restrict side, const float *restrict stereo, size_t frames)
{
    const float *end = stereo + 2 * frames;
    for (const float *p = stereo; p != end; p += 2)
        *side++ = 0.5f * (p[0] - p[1]);
}

// bench: domain=dsp category=byte_permute expect=vectorizable
void dsp_byteswap_u32(uint32_t *words, unsigned count)
{
    uint32_t *w = words;
    for (unsigned k = 0; k < count; k++) {
        uint32_t x = *w;
        x = (x << 24) | ((x & 0xff00u) << 8) | ((x >> 8) & 0xff00u) | (x >> 24);
        *w++ = x;
    }
}

// bench: domain=dsp category=byte_permute expect=vectorizable
void dsp_be16_to_host(uint16_t *restrict dst, const uint16_t *restrict src, unsigned n)
{
    while (n--)
        *dst++ = __builtin_bswap16(*src++);
}

// bench: domain=dsp category=byte_permute expect=vectorizable
void dsp_be64_to_host(uint64_t *restrict dst, const uint64_t *restrict src, size_t n)
{
    for (size_t k = 0; k < n; k++)
        dst[k] = __builtin_bswap64(src[k]);
}

// bench: domain=dsp category=byte_permute expect=vectorizable
void dsp_swap_halves_q15x2(uint32_t *restrict dst, const uint32_t *restrict src, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        uint32_t v = src[k];
        dst[k] = ((v & 0x00ff00ffu) << 8) | ((v >> 8) & 0x00ff00ffu);
    }
}

// bench: domain=dsp category=byte_permute expect=vectorizable
void dsp_byteswap_u64_halves(uint64_t *words, unsigned count)
{
    uint32_t *half = (uint32_t *)words;
    for (unsigned k = 0; k < count; k++) {
        uint32_t first = half[0];
        uint32_t second = half[1];
        *half++ = __builtin_bswap32(second);
        *half++ = __builtin_bswap32(first);
    }
}
