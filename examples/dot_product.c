/*
 * dot_product.c - inner products, the core of every matrix multiply and filter.
 */
#include <stddef.h>
#include <stdint.h>

/* Single-precision dot product. */
float dot_f32(const float *a, const float *b, size_t n)
{
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

/* Fixed-point dot product: int16 samples, accumulated in 32 bits. */
int32_t dot_i16(const int16_t *a, const int16_t *b, int n)
{
    int32_t acc = 0;
    for (int i = 0; i < n; i++)
        acc += (int32_t)a[i] * b[i];
    return acc;
}

/* y = alpha * x + y */
void saxpy(float *restrict y, const float *restrict x, float alpha, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += alpha * x[i];
}
