/* simdlens benchmark corpus: image processing kernels (8-bit and float pixels). */
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>

typedef uint8_t pixel_t;

// bench: domain=image category=conversion expect=vectorizable
void brighten(pixel_t *restrict dst, const pixel_t *restrict src, int n, int delta)
{
    for (int i = 0; i < n; i++) {
        int v = src[i] + delta;
        dst[i] = (pixel_t)(v > 255 ? 255 : (v < 0 ? 0 : v));
    }
}

// bench: domain=image category=byte_idiom expect=vectorizable
void blend_average(uint8_t *restrict out, const uint8_t *restrict a, const uint8_t *restrict b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)((a[i] + b[i] + 1) >> 1);
}

// bench: domain=image category=conversion expect=vectorizable
void to_float(float *restrict dst, const uint8_t *restrict src, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = src[i] * (1.0f / 255.0f);
}

// bench: domain=image category=conversion expect=vectorizable
void rgb_to_gray(uint8_t *restrict gray, const uint8_t *restrict rgb, int pixels)
{
    for (int i = 0; i < pixels; i++)
        gray[i] = (uint8_t)((77 * rgb[3 * i] + 150 * rgb[3 * i + 1] + 29 * rgb[3 * i + 2]) >> 8);
}

// bench: domain=image category=select expect=vectorizable
void threshold(uint8_t *restrict mask, const uint8_t *restrict img, int n, uint8_t level)
{
    for (int i = 0; i < n; i++)
        mask[i] = img[i] > level ? 255 : 0;
}

// bench: domain=image category=elementwise expect=vectorizable
void gamma_apply(float *restrict px, int n, float gain, float bias)
{
    for (int i = 0; i < n; i++)
        px[i] = px[i] * gain + bias;
}

// bench: domain=image category=stencil expect=vectorizable
void box_blur_row(float *restrict out, const float *restrict in, int width)
{
    for (int x = 1; x < width - 1; x++)
        out[x] = (in[x - 1] + in[x] + in[x + 1]) * (1.0f / 3.0f);
}

// bench: domain=image category=reduction expect=vectorizable
uint32_t histogram_sum(const uint32_t *hist, int bins)
{
    uint32_t total = 0;
    for (int i = 0; i < bins; i++)
        total += hist[i];
    return total;
}

// bench: domain=image category=reduction expect=vectorizable
int max_pixel(const uint8_t *img, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (img[i] > m) m = img[i];
    return m;
}

// bench: domain=image category=byte_idiom expect=vectorizable
uint32_t block_sad(const uint8_t *restrict a, const uint8_t *restrict b, int n)
{
    uint32_t sad = 0;
    for (int i = 0; i < n; i++)
        sad += (uint32_t)abs(a[i] - b[i]);
    return sad;
}

// bench: domain=image category=elementwise expect=vectorizable_with_checks
void alpha_blend(float *dst, const float *src, const float *alpha, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = src[i] * alpha[i] + dst[i] * (1.0f - alpha[i]);
}

// bench: domain=image category=recurrence expect=not_vectorizable
void error_diffuse_row(float *row, int width)
{
    for (int x = 1; x < width; x++)
        row[x] = row[x] + 0.4375f * (row[x - 1] - floorf(row[x - 1] + 0.5f));
}

// bench: domain=image category=stride expect=vectorizable
void deinterleave_alpha(uint8_t *restrict alpha, const uint8_t *restrict rgba, int pixels)
{
    for (int i = 0; i < pixels; i++)
        alpha[i] = rgba[4 * i + 3];
}

// bench: domain=image category=byte_permute expect=vectorizable
void rgba_to_bgra_packed(uint32_t *restrict dst, const uint32_t *restrict src, int pixels)
{
    for (int i = 0; i < pixels; i++) {
        uint32_t p = src[i];
        dst[i] = (p & 0xff00ff00u) | ((p >> 16) & 0xffu) | ((p & 0xffu) << 16);
    }
}

// bench: domain=image category=byte_permute expect=vectorizable
void argb_to_rgba_packed(uint32_t *pixels, int n)
{
    for (int i = 0; i < n; i++)
        pixels[i] = (pixels[i] << 8) | (pixels[i] >> 24);
}

// bench: domain=image category=byte_permute expect=vectorizable
void rgba_to_bgra_bytes(uint8_t *restrict dst, const uint8_t *restrict src, int pixels)
{
    for (int i = 0; i < pixels; i++) {
        dst[4 * i + 0] = src[4 * i + 2];
        dst[4 * i + 1] = src[4 * i + 1];
        dst[4 * i + 2] = src[4 * i + 0];
        dst[4 * i + 3] = src[4 * i + 3];
    }
}

// bench: domain=image category=conversion expect=vectorizable
void blend_weighted_u8(uint8_t *restrict out, const uint8_t *restrict fg, const uint8_t *restrict bg, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = (uint8_t)((fg[i] * 5 + bg[i] * 3) >> 3);
}
