// simdlens benchmark corpus: image kernels written with small helper functions (C++), the way image
// libraries write their plain reference code: `inline` helpers in a namespace, default arguments,
// function templates, row loops that step their pointers by a stride.
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace Ref {

inline int Average(int a, int b) { return (a + b + 1) >> 1; }
inline int AbsDifference(int a, int b) { return a > b ? a - b : b - a; }
inline int RestrictRange(int value, int min = 0, int max = 255) { return std::max(min, std::min(value, max)); }
inline int SaturatedSubtraction(int a, int b) { return std::max(0, a - b); }
inline int Square(int x) { return x * x; }
template <class T> T Max(T a, T b) { return a > b ? a : b; }
template <class T> T Min(T a, T b) { return a < b ? a : b; }

// bench: domain=image category=byte_idiom expect=vectorizable
void abs_difference_sum(const uint8_t *a, size_t aStride, const uint8_t *b, size_t bStride, size_t width,
                        size_t height, uint64_t *sum)
{
    *sum = 0;
    for (size_t row = 0; row < height; ++row) {
        int rowSum = 0;
        for (size_t col = 0; col < width; ++col)
            rowSum += AbsDifference(a[col], b[col]);
        *sum += rowSum;
        a += aStride;
        b += bStride;
    }
}

// bench: domain=image category=byte_idiom expect=vectorizable_with_checks
void average_rows(const uint8_t *a, size_t aStride, const uint8_t *b, size_t bStride, size_t width,
                  size_t height, uint8_t *dst, size_t dstStride)
{
    for (size_t row = 0; row < height; ++row) {
        for (size_t col = 0; col < width; ++col)
            dst[col] = (uint8_t)Average(a[col], b[col]);
        a += aStride;
        b += bStride;
        dst += dstStride;
    }
}

// bench: domain=image category=reduction expect=vectorizable
void square_sum(const uint8_t *src, size_t stride, size_t width, size_t height, uint64_t *sum)
{
    *sum = 0;
    for (size_t row = 0; row < height; ++row) {
        int rowSum = 0;
        for (size_t col = 0; col < width; ++col)
            rowSum += Square(src[col]);
        *sum += rowSum;
        src += stride;
    }
}

// bench: domain=image category=conversion expect=vectorizable_with_checks
void int16_to_gray(const int16_t *src, size_t width, size_t height, size_t srcStride, uint8_t *dst,
                   size_t dstStride)
{
    for (size_t row = 0; row < height; ++row) {
        for (size_t col = 0; col < width; ++col)
            dst[col] = (uint8_t)RestrictRange(src[col]);
        src += srcStride;
        dst += dstStride;
    }
}

// bench: domain=image category=byte_idiom expect=vectorizable_with_checks
void sub_saturated(const uint8_t *a, const uint8_t *b, size_t size, uint8_t *dst)
{
    for (size_t i = 0; i < size; ++i)
        dst[i] = (uint8_t)SaturatedSubtraction(a[i], b[i]);
}

// bench: domain=image category=select expect=vectorizable_with_checks
void max_u8(const uint8_t *a, const uint8_t *b, size_t size, uint8_t *dst)
{
    for (size_t i = 0; i < size; ++i)
        dst[i] = Max(a[i], b[i]);
}

// bench: domain=image category=reduction expect=vectorizable
uint8_t min_value(const uint8_t *src, size_t size)
{
    uint8_t m = 255;
    for (size_t i = 0; i < size; ++i)
        m = Min(m, src[i]);
    return m;
}

// bench: domain=image category=select expect=vectorizable_with_checks
void clamp_f32(const float *src, size_t size, float lo, float hi, float *dst)
{
    for (size_t i = 0; i < size; ++i)
        dst[i] = std::clamp(src[i], lo, hi);
}

}  // namespace Ref
