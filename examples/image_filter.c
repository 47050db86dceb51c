/*
 * image_filter.c - simple 8-bit greyscale image operations.
 *
 * Pixels are stored row by row as uint8_t; every result is clamped to 0..255.
 */
#include <stddef.h>
#include <stdint.h>

#define MAX_WIDTH 4096

typedef uint8_t pixel_t;

/* Add a constant to every pixel, saturating at black and white. */
void adjust_brightness(pixel_t *restrict dst, const pixel_t *restrict src, size_t n, int delta)
{
    for (size_t i = 0; i < n; i++) {
        int v = src[i] + delta;
        if (v < 0)
            v = 0;
        if (v > 255)
            v = 255;
        dst[i] = (pixel_t)v;
    }
}

/* Scale the distance from mid-grey by `gain` (a contrast stretch). */
void adjust_contrast(pixel_t *restrict dst, const pixel_t *restrict src, size_t n, float gain)
{
    for (size_t i = 0; i < n; i++) {
        float v = (src[i] - 128.0f) * gain + 128.0f;
        v = v < 0.0f ? 0.0f : v;
        v = v > 255.0f ? 255.0f : v;
        dst[i] = (pixel_t)v;
    }
}

/* Horizontal 3-tap box blur of one row; the two edge pixels are copied unchanged. */
void box_blur_row(pixel_t *restrict dst, const pixel_t *restrict src, int width)
{
    if (width < 3 || width > MAX_WIDTH)
        return;
    dst[0] = src[0];
    for (int x = 1; x < width - 1; x++) {
        int sum = src[x - 1] + src[x] + src[x + 1];
        dst[x] = (pixel_t)(sum / 3);
    }
    dst[width - 1] = src[width - 1];
}

/* Invert an image in place. */
void invert(pixel_t *img, size_t n)
{
    for (size_t i = 0; i < n; i++)
        img[i] = (pixel_t)(255 - img[i]);
}
