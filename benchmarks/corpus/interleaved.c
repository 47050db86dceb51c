/* simdlens benchmark corpus: interleaved data (stereo frames, complex numbers, pixels, xyz records). */
#include <stddef.h>
#include <stdint.h>

typedef struct { float re, im; } iq_sample;
struct vec3 { float x, y, z; };

// bench: domain=audio category=stride expect=vectorizable
void stereo_split(float *restrict l, float *restrict r, const float *restrict s, int frames)
{
    for (int i = 0; i < frames; i++) {
        l[i] = s[2 * i];
        r[i] = s[2 * i + 1];
    }
}

// bench: domain=audio category=stride expect=vectorizable
void stereo_split_s16(int16_t *restrict l, int16_t *restrict r, const int16_t *restrict s, int frames)
{
    for (int i = 0; i < frames; i++) {
        l[i] = s[2 * i];
        r[i] = s[2 * i + 1];
    }
}

// bench: domain=audio category=stride expect=vectorizable
void cmul_f32(float *restrict c, const float *restrict a, const float *restrict b, int n)
{
    for (int i = 0; i < n; i++) {
        c[2 * i] = a[2 * i] * b[2 * i] - a[2 * i + 1] * b[2 * i + 1];
        c[2 * i + 1] = a[2 * i] * b[2 * i + 1] + a[2 * i + 1] * b[2 * i];
    }
}

// bench: domain=audio category=stride expect=vectorizable
void cmul_f64(double *restrict c, const double *restrict a, const double *restrict b, int n)
{
    for (int i = 0; i < n; i++) {
        c[2 * i] = a[2 * i] * b[2 * i] - a[2 * i + 1] * b[2 * i + 1];
        c[2 * i + 1] = a[2 * i] * b[2 * i + 1] + a[2 * i + 1] * b[2 * i];
    }
}

// bench: domain=image category=stride expect=vectorizable
void rgb_to_grey_f32(float *restrict grey, const float *restrict rgb, int pixels)
{
    for (int i = 0; i < pixels; i++)
        grey[i] = 0.299f * rgb[3 * i] + 0.587f * rgb[3 * i + 1] + 0.114f * rgb[3 * i + 2];
}

// bench: domain=image category=stride expect=vectorizable
void rgba_channel_sum_i32(int32_t *restrict sum, const int32_t *restrict rgba, int pixels)
{
    for (int i = 0; i < pixels; i++)
        sum[i] = rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2] + rgba[4 * i + 3];
}

// bench: domain=audio category=stride expect=vectorizable
void odd_elements(double *restrict d, const double *restrict b, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = b[2 * i + 1];
}

// bench: domain=physics category=stride expect=vectorizable
void aos_x_scale(float *restrict xyz, int n, float s)
{
    for (int i = 0; i < n; i++)
        xyz[3 * i] *= s;
}

// bench: domain=linalg category=stride expect=vectorizable
void pack_pairs_i64(int64_t *restrict d, const int64_t *restrict a, const int64_t *restrict b, int n)
{
    for (int i = 0; i < n; i++) {
        d[2 * i] = a[i] + b[i];
        d[2 * i + 1] = a[i] - b[i];
    }
}

// bench: domain=audio category=stride expect=vectorizable
void iq_power(float *restrict pw, const iq_sample *restrict iq, int n)
{
    for (int i = 0; i < n; i++)
        pw[i] = iq[i].re * iq[i].re + iq[i].im * iq[i].im;
}

// bench: domain=physics category=stride expect=vectorizable
void vec3_dot_axis(float *restrict out, const struct vec3 *restrict v, float ax, float ay, float az, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = v[i].x * ax + v[i].y * ay + v[i].z * az;
}

// bench: domain=physics category=stride expect=vectorizable
void vec3_lift(struct vec3 *restrict v, float dz, int n)
{
    for (int i = 0; i < n; i++)
        v[i].z = v[i].z + dz;
}
