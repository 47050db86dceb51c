/*
 * audio_mixer.c - mixing and shaping 32-bit float audio buffers.
 */
#include <math.h>
#include <stddef.h>

/* out = a * gain_a + b * gain_b, sample by sample. */
void mix(float *out, const float *a, const float *b, size_t frames, float gain_a, float gain_b)
{
    for (size_t i = 0; i < frames; i++)
        out[i] = a[i] * gain_a + b[i] * gain_b;
}

/* Hard limiter: keep every sample within [-ceiling, ceiling]. */
void soft_clip(float *buf, size_t frames, float ceiling)
{
    for (size_t i = 0; i < frames; i++)
        buf[i] = fminf(fmaxf(buf[i], -ceiling), ceiling);
}

/* Peak level of a buffer (largest absolute sample). */
float peak(const float *buf, size_t frames)
{
    float p = 0.0f;
    for (size_t i = 0; i < frames; i++) {
        float v = fabsf(buf[i]);
        if (v > p)
            p = v;
    }
    return p;
}

/*
 * One-pole low-pass filter, y[n] = b0 * x[n] + a1 * y[n-1]: each output depends on the previous
 * one, so this recurrence cannot run on SIMD lanes as written.
 */
void one_pole_lowpass(float *restrict y, const float *restrict x, size_t frames, float b0, float a1)
{
    float prev = 0.0f;
    for (size_t i = 0; i < frames; i++) {
        prev = b0 * x[i] + a1 * prev;
        y[i] = prev;
    }
}

/* Second-order IIR section (direct form I) in place: also a recurrence on y. */
void biquad(float *y, const float *x, size_t frames, const float b[3], const float a[2])
{
    for (size_t n = 2; n < frames; n++)
        y[n] = b[0] * x[n] + b[1] * x[n - 1] + b[2] * x[n - 2] - a[0] * y[n - 1] - a[1] * y[n - 2];
}
