/* simdlens benchmark corpus: complex arithmetic on arrays of C99 complex numbers (baseband samples,
 * FFT twiddles, spectra). Written for this project. */
#include <complex.h>
#include <math.h>
#include <stddef.h>

typedef float complex cf32;
typedef double _Complex cf64;
#ifndef CMPLXF /* C11's, which glibc's <complex.h> defines only for gcc: clang has the same builtin */
#define CMPLXF(x, y) __builtin_complex((float)(x), (float)(y))
#endif
#define SAMPLE float complex
#define CONJUGATE(z) (~(z))

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_add(cf32 *restrict out, const cf32 *restrict a, const cf32 *restrict b, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

// bench: domain=complex category=elementwise expect=vectorizable_with_checks style=complex
void iq_sub(cf32 *out, const cf32 *a, const cf32 *b, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = a[i] - b[i];
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_gain(cf32 *restrict out, const cf32 *restrict in, float gain, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] * gain;
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_conj(SAMPLE *restrict out, const SAMPLE *restrict in, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = conjf(in[i]);
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void spectrum_accumulate(cf64 *restrict acc, const cf64 *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        acc[i] += x[i];
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void spectrum_scale(double complex *restrict x, double s, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = s * x[i];
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_power(float *restrict p, const cf32 *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = crealf(x[i]) * crealf(x[i]) + cimagf(x[i]) * cimagf(x[i]);
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_split(float *restrict re, float *restrict im, const cf32 *restrict x, int n)
{
    for (int i = 0; i < n; i++) {
        re[i] = crealf(x[i]);
        im[i] = cimagf(x[i]);
    }
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_mirror(cf32 *restrict out, const cf32 *restrict a, const cf32 *restrict b, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = conjf(a[i]) - b[i] * 0.5f;
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_mix(cf32 *restrict out, const cf32 *restrict a, const cf32 *restrict lo, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = a[i] * lo[i];
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void zmul(cf64 *restrict c, const cf64 *restrict a, const cf64 *restrict b, int n)
{
    for (int i = 0; i < n; i++)
        c[i] = a[i] * b[i];
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_magnitude(float *restrict mag, const cf32 *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        mag[i] = cabsf(x[i]);
}

// bench: domain=complex category=reduction expect=vectorizable style=complex
cf32 iq_dot(const cf32 *a, const cf32 *b, int n)
{
    cf32 s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * conjf(b[i]);
    return s;
}

// bench: domain=complex category=reduction expect=vectorizable style=complex
double complex spectrum_total(const double complex *x, int n)
{
    double complex s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s;
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_normalize(cf32 *restrict out, const cf32 *restrict a, const cf32 *restrict b, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = a[i] / b[i];
}

/* ---- multiply by a complex scalar, sums and dot products, complex from parts (session 7) ---- */

#define IQ_MAKE(r, i) ((r) + _Complex_I * (i))

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_rotate(cf32 *restrict out, const cf32 *restrict in, cf32 phasor, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = in[i] * phasor;
}

// bench: domain=complex category=elementwise expect=vectorizable_with_checks style=complex
void iq_rotate_walk(cf32 *dst, const cf32 *src, const cf32 rot, unsigned int count)
{
    cf32 *o = dst;
    const cf32 *x = src;
    for (unsigned int k = 0; k < count; k++)
        *o++ = (*x++) * rot;
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void spectrum_twiddle(double complex *restrict y, const double complex *restrict x, double complex w, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = x[i] * w;
}

// bench: domain=complex category=reduction expect=vectorizable style=complex
cf64 zdot_plain(const cf64 *a, const cf64 *b, int n)
{
    cf64 acc = 0;
    for (int i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
}

// bench: domain=complex category=reduction expect=vectorizable style=complex
cf32 iq_dc_offset(const cf32 *x, int n)
{
    cf32 dc = 0;
    for (int i = 0; i < n; i++)
        dc += x[i];
    return n > 0 ? dc / (float)n : dc;
}

// bench: domain=complex category=reduction expect=vectorizable style=complex
cf32 iq_chirp_product(const cf32 *x, int n)
{
    cf32 p = 1;
    for (int i = 0; i < n; i++)
        p *= x[i];
    return p;
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_pack(cf32 *restrict out, const float *restrict re, const float *restrict im, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = re[i] + im[i] * I;
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_pack_macro(cf32 *restrict out, const float *restrict re, const float *restrict im, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = IQ_MAKE(re[i], im[i]);
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_pack_exact(cf32 *restrict out, const float *restrict re, const float *restrict im, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = CMPLXF(re[i], im[i]);
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_power_gnu(float *restrict p, const cf32 *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = __real__(x[i]) * __real__(x[i]) + __imag__(x[i]) * __imag__(x[i]);
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void iq_power_gnu_operator(float *restrict p, const cf32 *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = __real__ x[i] * __real__ x[i] + __imag__ x[i] * __imag__ x[i];
}

// bench: domain=complex category=elementwise expect=vectorizable_with_checks style=complex
void mix_down_blocks(cf32 *baseband, const cf32 *rf, const cf32 lo, unsigned int count)
{
    unsigned int blocks = count / 4u;
    while (blocks > 0u) {
        *baseband++ = (*rf++) * lo;
        *baseband++ = (*rf++) * lo;
        *baseband++ = (*rf++) * lo;
        *baseband++ = (*rf++) * lo;
        blocks--;
    }
}

// bench: domain=complex category=elementwise expect=vectorizable style=complex
void quadrature_pack(cf32 *restrict iq, const float *restrict in_phase, const float *restrict quad, int n)
{
    for (int i = 0; i < n; i++)
        iq[i] = in_phase[i] + quad[i] * 1.0fi;
}

// bench: domain=complex category=elementwise expect=vectorizable_with_checks style=complex
void conjugate_stream(cf32 *dst, const cf32 *src, unsigned int count)
{
    cf32 *d = dst;
    const cf32 *s = src;
    for (unsigned int k = 0; k < count; k++)
        *d++ = CONJUGATE(*s++);
}
