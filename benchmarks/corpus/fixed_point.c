/* simdlens benchmark corpus: fixed-point DSP kernels whose saturation is written as small helper
 * functions with `if`/`return` chains and local constants, and as macros spelling their bounds as
 * expressions (`(1 << 15) - 1`), in the pointer-walking style of DSP libraries, over Q7 (int8), Q15
 * (int16) and Q31 (int32) samples. Written for this project. */
#include <stdint.h>

typedef int8_t fx7;
typedef int16_t fx15;
typedef int32_t fx31;
typedef int64_t fx63;

#define FX15_MAX ((1 << 15) - 1)
#define FX15_MIN (-(1 << 15))

/* arithmetic spelled as macros whose casts the parser reads as calls without the typedefs */
#define WIDEN(x) ((fx31)(x))
#define NARROW(x) ((fx15)(x))
#define SHIFT_DOWN(a, s) ((a) >> (s))
#define ROUND_DOWN(a, s) (SHIFT_DOWN((a) + ((WIDEN(1) << (s)) >> 1), s))
#define MUL_16X16(a, b) (((fx31)(fx15)(a)) * ((fx31)(fx15)(b)))
#define ACC_ADD(a, b) ((fx31)(a) + (fx31)(b))
#define ACC_MAC(c, a, b) (ACC_ADD((c), MUL_16X16((a), (b))))
#define MUL_Q15(a, b) (SHIFT_DOWN(MUL_16X16((a), (b)), 15))
#define CLIP16(x) (NARROW((x) > 32767 ? 32767 : (x) < -32768 ? -32768 : (x)))

/* saturate `v` to a signed `bits`-bit range */
static inline int32_t fx_saturate(int32_t v, uint32_t bits)
{
    if (bits > 0U && bits < 32U) {
        const int32_t top = (int32_t)((1U << (bits - 1U)) - 1U);
        const int32_t bottom = -top - 1;
        if (v > top)
            return top;
        else if (v < bottom)
            return bottom;
    }
    return v;
}

static inline fx15 fx15_clip(int32_t v)
{
    if (v > FX15_MAX)
        return FX15_MAX;
    if (v < FX15_MIN)
        return FX15_MIN;
    return (fx15)v;
}

static inline uint8_t u8_clip(int v)
{
    if (v < 0) return 0;
    if (v > 255) return 255;
    return (uint8_t)v;
}

// bench: domain=dsp category=saturate expect=vectorizable_with_checks style=dsp_pointer
void fx15_add_sat(const fx15 *a, const fx15 *b, fx15 *out, uint32_t count)
{
    uint32_t left = count;
    while (left > 0U) {
        *out++ = (fx15)fx_saturate((fx31)*a++ + *b++, 16);
        left--;
    }
}

// bench: domain=dsp category=saturate expect=vectorizable_with_checks style=dsp_pointer
void fx7_sub_sat(const fx7 *a, const fx7 *b, fx7 *out, uint32_t count)
{
    uint32_t left = count;
    while (left > 0U) {
        *out++ = (fx7)fx_saturate((fx15)*a++ - *b++, 8);
        left--;
    }
}

// bench: domain=dsp category=saturate expect=vectorizable_with_checks style=dsp_pointer
void fx15_mul_sat(const fx15 *a, const fx15 *b, fx15 *out, uint32_t count)
{
    uint32_t left = count;
    while (left > 0U) {
        *out++ = (fx15)fx_saturate(((fx31)*a++ * *b++) >> 15, 16);
        left--;
    }
}

// bench: domain=dsp category=saturate expect=vectorizable_with_checks style=dsp_pointer
void fx15_gain(const fx15 *in, fx15 gain, int shift, fx15 *out, uint32_t count)
{
    int down = 15 - shift;
    for (uint32_t k = 0; k < count; k++)
        out[k] = (fx15)fx_saturate(((fx31)in[k] * gain) >> down, 16);
}

// bench: domain=dsp category=saturate expect=vectorizable_with_checks style=dsp_pointer
void fx15_add_clip(const fx15 *a, const fx15 *b, fx15 *out, int count)
{
    while (count-- > 0)
        *out++ = fx15_clip(*a++ + *b++);
}

// bench: domain=dsp category=saturate expect=vectorizable_with_checks style=dsp_pointer
void fx15_sub_macro(const fx15 *a, const fx15 *b, fx15 *out, int count)
{
    for (int k = 0; k < count; k++) {
        int32_t d = a[k] - b[k];
        out[k] = (fx15)(d > FX15_MAX ? FX15_MAX : d < FX15_MIN ? FX15_MIN : d);
    }
}

// bench: domain=dsp category=saturate expect=vectorizable_with_checks style=dsp_pointer
void u8_mix(const uint8_t *a, const uint8_t *b, uint8_t *out, int count)
{
    for (int k = 0; k < count; k++)
        out[k] = u8_clip(a[k] + b[k]);
}

// bench: domain=dsp category=saturate expect=vectorizable_with_checks style=dsp_pointer
void u8_darken(const uint8_t *a, const uint8_t *b, uint8_t *out, int count)
{
    for (int k = 0; k < count; k++)
        out[k] = u8_clip(a[k] - b[k]);
}

// bench: domain=dsp category=conversion expect=vectorizable_with_checks style=dsp_pointer
void fx15_from_float(const float *in, fx15 *out, uint32_t count)
{
    uint32_t left = count;
    while (left > 0U) {
        *out++ = (fx15)fx_saturate((fx31)(*in++ * 32768.0f), 16);
        left--;
    }
}

// bench: domain=dsp category=saturate expect=vectorizable_with_checks style=dsp_pointer
void fx15_abs_sat(const fx15 *in, fx15 *out, uint32_t count)
{
    uint32_t left = count;
    while (left > 0U) {
        fx15 v = *in++;
        *out++ = (fx15)fx_saturate(v < 0 ? -v : v, 16);
        left--;
    }
}

// bench: domain=dsp category=reduction expect=vectorizable style=dsp_pointer
fx31 fx15_correlate(const fx15 *x, const fx15 *y, int len)
{
    fx31 acc = 0;
    for (int k = 0; k < len; k++)
        acc = ACC_MAC(acc, x[k], y[k]);
    return acc;
}

// bench: domain=dsp category=reduction expect=vectorizable style=dsp_pointer
fx31 fx15_energy_scaled(const fx15 *x, int len, int shift)
{
    fx31 e = 0;
    for (int k = 0; k < len; k++)
        e = ACC_ADD(e, SHIFT_DOWN(MUL_16X16(x[k], x[k]), shift));
    return e;
}

// bench: domain=dsp category=saturate expect=vectorizable_with_checks style=dsp_pointer
void fx15_feedforward(fx15 *out, const fx15 *in, int len, int delay, fx15 gain)
{
    for (int k = 0; k < len; k++)
        out[k] = CLIP16(ACC_ADD(in[k], MUL_Q15(in[k - delay], gain)));
}

// bench: domain=dsp category=saturate expect=vectorizable_with_checks style=dsp_pointer
void fx31_to_fx15_rounded(fx15 *out, const fx31 *in, int len)
{
    for (int k = 0; k < len; k++)
        out[k] = CLIP16(ROUND_DOWN(in[k], 12));
}

// bench: domain=dsp category=reduction expect=vectorizable style=dsp_pointer
fx63 fx31_dot_wide(const fx31 *a, const fx31 *b, uint32_t count)
{
    fx63 acc = 0;
    while (count--)
        acc += ((fx63)*a++ * *b++) >> 14;  /* Q31 x Q31 -> Q48, kept in 64 bits */
    return acc;
}

// bench: domain=dsp category=elementwise expect=vectorizable style=dsp_pointer
void fx31_mul_wide(fx63 *out, const fx31 *a, const fx31 *b, uint32_t count)
{
    for (uint32_t k = 0; k < count; k++)
        out[k] = (fx63)a[k] * b[k];
}
