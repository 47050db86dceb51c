/* simdlens benchmark corpus: codec kernels (video/audio/entropy). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

// bench: domain=codec category=conversion expect=vectorizable
void add_residual_clip(uint8_t *restrict dst, const uint8_t *restrict pred, const int16_t *restrict res, int n)
{
    for (int i = 0; i < n; i++) {
        int v = pred[i] + res[i];
        dst[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
    }
}

// bench: domain=codec category=elementwise expect=vectorizable
void residual(int16_t *restrict res, const uint8_t *restrict src, const uint8_t *restrict pred, int n)
{
    for (int i = 0; i < n; i++)
        res[i] = (int16_t)(src[i] - pred[i]);
}

// bench: domain=codec category=byte_idiom expect=vectorizable
uint32_t sad_16(const uint8_t *restrict cur, const uint8_t *restrict ref, int n)
{
    uint32_t s = 0;
    for (int i = 0; i < n; i++)
        s += (uint32_t)abs(cur[i] - ref[i]);
    return s;
}

// bench: domain=codec category=byte_idiom expect=vectorizable
void half_pel_avg(uint8_t *restrict out, const uint8_t *restrict a, const uint8_t *restrict b, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = (uint8_t)((a[i] + b[i] + 1) >> 1);
}

// bench: domain=codec category=elementwise expect=vectorizable
void dequant_coeffs(int32_t *restrict coef, const int16_t *restrict level, int n, int32_t qscale, int shift)
{
    for (int i = 0; i < n; i++)
        coef[i] = (level[i] * qscale) >> shift;
}

// bench: domain=codec category=reduction expect=vectorizable
int count_nonzero(const int16_t *coef, int n)
{
    int nz = 0;
    for (int i = 0; i < n; i++)
        nz += coef[i] != 0;
    return nz;
}

// bench: domain=codec category=search expect=vectorizable
int last_significant(const int16_t *coef, int n)
{
    for (int i = n - 1; i >= 0; i--)
        if (coef[i] != 0)
            return i;
    return -1;
}

// bench: domain=codec category=scan expect=vectorizable_with_checks
void dpcm_decode(int16_t *out, const int16_t *delta, int n)
{
    for (int i = 1; i < n; i++)
        out[i] = (int16_t)(out[i - 1] + delta[i]);
}

// bench: domain=codec category=elementwise expect=vectorizable
void mulaw_mag(uint16_t *restrict mag, const int16_t *restrict pcm, int n)
{
    for (int i = 0; i < n; i++) {
        int v = pcm[i];
        mag[i] = (uint16_t)(v < 0 ? -v : v);
    }
}

// bench: domain=codec category=compress expect=vectorizable
int collect_nonzero(int32_t *restrict vals, const int32_t *restrict coef, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (coef[i] != 0)
            vals[k++] = coef[i];
    return k;
}

// bench: domain=codec category=elementwise expect=vectorizable
void shift_round(int16_t *restrict out, const int32_t *restrict in, int n, int bits)
{
    for (int i = 0; i < n; i++)
        out[i] = (int16_t)((in[i] + (1 << (bits - 1))) >> bits);
}
