/* simdlens benchmark corpus: audio DSP kernels. */
#include <stddef.h>
#include <stdint.h>
#include <math.h>

// bench: domain=audio category=elementwise expect=vectorizable
void mix2(float *restrict out, const float *restrict a, const float *restrict b, int n, float ga, float gb)
{
    for (int i = 0; i < n; i++)
        out[i] = a[i] * ga + b[i] * gb;
}

// bench: domain=audio category=math_call expect=vectorizable
void hard_clip(float *restrict buf, int n, float limit)
{
    for (int i = 0; i < n; i++)
        buf[i] = fminf(fmaxf(buf[i], -limit), limit);
}

// bench: domain=audio category=conversion expect=vectorizable
void s16_to_float(float *restrict out, const int16_t *restrict in, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = in[i] * (1.0f / 32768.0f);
}

// bench: domain=audio category=conversion expect=vectorizable
void float_to_s16(int16_t *restrict out, const float *restrict in, int n)
{
    for (int i = 0; i < n; i++) {
        float s = in[i] * 32767.0f;
        s = s > 32767.0f ? 32767.0f : (s < -32768.0f ? -32768.0f : s);
        out[i] = (int16_t)s;
    }
}

// bench: domain=audio category=reduction expect=vectorizable
float rms_energy(const float *x, int n)
{
    float acc = 0.0f;
    for (int i = 0; i < n; i++)
        acc += x[i] * x[i];
    return acc;
}

// bench: domain=audio category=reduction expect=vectorizable
float peak_level(const float *x, int n)
{
    float peak = 0.0f;
    for (int i = 0; i < n; i++) {
        float v = fabsf(x[i]);
        peak = v > peak ? v : peak;
    }
    return peak;
}

// bench: domain=audio category=recurrence expect=not_vectorizable
void one_pole_lowpass(float *y, const float *x, int n, float a)
{
    for (int i = 1; i < n; i++)
        y[i] = y[i - 1] + a * (x[i] - y[i - 1]);
}

// bench: domain=audio category=stride expect=vectorizable
void stereo_to_mono(float *restrict mono, const float *restrict lr, int frames)
{
    for (int i = 0; i < frames; i++)
        mono[i] = 0.5f * (lr[2 * i] + lr[2 * i + 1]);
}

// bench: domain=audio category=stride expect=vectorizable
void interleave_stereo(float *restrict lr, const float *restrict l, const float *restrict r, int frames)
{
    for (int i = 0; i < frames; i++) {
        lr[2 * i] = l[i];
        lr[2 * i + 1] = r[i];
    }
}

// bench: domain=audio category=elementwise expect=vectorizable_with_checks
void apply_window(float *frame, const float *window, int n)
{
    for (int i = 0; i < n; i++)
        frame[i] *= window[i];
}

// bench: domain=audio category=select expect=vectorizable
void noise_gate(float *restrict buf, int n, float threshold)
{
    for (int i = 0; i < n; i++)
        buf[i] = fabsf(buf[i]) < threshold ? 0.0f : buf[i];
}

// bench: domain=audio category=reverse expect=vectorizable
void reverse_copy(float *restrict dst, const float *restrict src, int n)
{
    for (int i = n - 1; i >= 0; i--)
        dst[n - 1 - i] = src[i];
}

// bench: domain=audio category=induction expect=vectorizable
void dither_offsets(int32_t *restrict out, const int32_t *restrict in, int n, int32_t seed, int32_t stride)
{
    int32_t phase = seed;
    for (int i = 0; i < n; i++) {
        out[i] = in[i] + (phase & 15);
        phase += stride;
    }
}
