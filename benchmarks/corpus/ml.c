/* simdlens benchmark corpus: ML inference kernels. */
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

typedef union { float value; uint32_t word; } fp32_word;

// bench: domain=ml category=select expect=vectorizable
void relu(float *restrict out, const float *restrict in, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

// bench: domain=ml category=select expect=vectorizable
void leaky_relu(float *restrict x, int n, float slope)
{
    for (int i = 0; i < n; i++)
        x[i] = x[i] >= 0.0f ? x[i] : x[i] * slope;
}

// bench: domain=ml category=elementwise expect=vectorizable
void bias_add(float *restrict act, const float *restrict bias, int n)
{
    for (int i = 0; i < n; i++)
        act[i] += bias[i];
}

// bench: domain=ml category=reduction expect=vectorizable
int32_t dot_i8(const int8_t *restrict a, const int8_t *restrict b, int n)
{
    int32_t acc = 0;
    for (int i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
}

// bench: domain=ml category=reduction expect=vectorizable
int32_t dot_u8s8(const uint8_t *restrict a, const int8_t *restrict w, int n)
{
    int32_t acc = 0;
    for (int i = 0; i < n; i++)
        acc += a[i] * w[i];
    return acc;
}

// bench: domain=ml category=conversion expect=vectorizable
void quantize_u8(uint8_t *restrict q, const float *restrict x, int n, float inv_scale, int zero_point)
{
    for (int i = 0; i < n; i++) {
        int v = (int)(x[i] * inv_scale) + zero_point;
        q[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
    }
}

// bench: domain=ml category=conversion expect=vectorizable
void dequantize_i8(float *restrict x, const int8_t *restrict q, int n, float scale)
{
    for (int i = 0; i < n; i++)
        x[i] = q[i] * scale;
}

// bench: domain=ml category=reduction expect=vectorizable
float row_max(const float *logits, int n)
{
    float m = logits[0];
    for (int i = 1; i < n; i++)
        m = logits[i] > m ? logits[i] : m;
    return m;
}

// bench: domain=ml category=argmax expect=vectorizable
int argmax_logits(const float *logits, int n)
{
    int best = 0;
    float bv = logits[0];
    for (int i = 1; i < n; i++) {
        if (logits[i] > bv) {
            bv = logits[i];
            best = i;
        }
    }
    return best;
}

// bench: domain=ml category=math_call expect=vectorizable
void softmax_exp(float *restrict out, const float *restrict logits, int n, float maxv)
{
    for (int i = 0; i < n; i++)
        out[i] = expf(logits[i] - maxv);
}

// bench: domain=ml category=elementwise expect=vectorizable
void layernorm_apply(float *restrict y, const float *restrict x, const float *restrict gamma,
                     const float *restrict beta, int n, float mean, float rstd)
{
    for (int i = 0; i < n; i++)
        y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
}

// bench: domain=ml category=reduction expect=vectorizable
float sum_sq_diff(const float *restrict x, int n, float mean)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        float d = x[i] - mean;
        s += d * d;
    }
    return s;
}

// bench: domain=ml category=gather expect=vectorizable
void embedding_lookup(float *restrict out, const float *restrict table, const int32_t *restrict ids, int n, int dim, int d)
{
    for (int i = 0; i < n; i++)
        out[i] = table[ids[i] * dim + d];
}

// bench: domain=ml category=conversion expect=vectorizable
void weights_to_bf16(uint16_t *restrict out, const float *restrict w, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &w[i], sizeof bits);
        uint32_t bias = 0x7fffu + ((bits >> 16) & 1u);
        out[i] = (uint16_t)((bits + bias) >> 16);
    }
}

// bench: domain=ml category=elementwise expect=vectorizable
void float_exponents(int32_t *restrict ex, const float *restrict v, int n)
{
    for (int i = 0; i < n; i++) {
        int32_t word;
        memcpy(&word, v + i, 4);
        ex[i] = ((word >> 23) & 255) - 127;
    }
}

// bench: domain=ml category=elementwise expect=vectorizable
void activations_abs_bits(uint32_t *restrict mag, const float *restrict act, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t raw;
        __builtin_memcpy(&raw, &act[i], sizeof(raw));
        mag[i] = raw & 0x7fffffffu;
    }
}

// bench: domain=ml category=conversion expect=vectorizable
void bf16_to_weights(float *restrict w, const uint16_t *restrict in, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t wide = (uint32_t)in[i] << 16;
        float f;
        memcpy(&f, &wide, sizeof f);
        w[i] = f;
    }
}

// bench: domain=ml category=math_call expect=vectorizable
void bucketize_floor(float *restrict bucket, const float *restrict x, float inv_width, int n)
{
    for (int i = 0; i < n; i++)
        bucket[i] = floorf(x[i] * inv_width);
}

// bench: domain=ml category=math_call expect=vectorizable
void signed_step(float *restrict out, const float *restrict grad, float lr, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = copysignf(lr, grad[i]);
}

// bench: domain=ml category=conversion expect=vectorizable
void activations_to_bf16_union(uint16_t *restrict out, const float *restrict act, int n)
{
    for (int i = 0; i < n; i++) {
        fp32_word w;
        w.value = act[i];
        out[i] = (uint16_t)(w.word >> 16);
    }
}

// bench: domain=ml category=conversion expect=vectorizable
void quantize_rounded_i8(int8_t *restrict q, const float *restrict x, int n, float inv_scale)
{
    for (int i = 0; i < n; i++)
        q[i] = (int8_t)roundf(x[i] * inv_scale);  /* halfway cases away from zero, as roundf does */
}

// bench: domain=ml category=math_call expect=vectorizable_with_checks
void snap_to_grid(double *w, const double *v, int n, double step)
{
    for (int i = 0; i < n; i++)
        w[i] = round(v[i] / step) * step;
}

// bench: domain=ml category=reduction expect=vectorizable
float nan_skipping_sum(const float *x, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        if (!isnan(x[i]))
            s += x[i];
    return s;
}

// bench: domain=ml category=select expect=vectorizable_with_checks
void replace_non_finite(float *y, const float *x, int n, float fill)
{
    for (int i = 0; i < n; i++)
        y[i] = isfinite(x[i]) ? x[i] : fill;
}

// bench: domain=ml category=reduction expect=vectorizable
float block_abs_peak(const float *restrict w, int n)
{
    float peak = 0.0f;  /* the scale of a symmetric int8 block: its largest magnitude */
    for (int k = 0; k < n; k++)
        peak = fmaxf(peak, fabsf(w[k]));
    return peak;
}

// bench: domain=ml category=reduction expect=vectorizable
float logit_ceiling(const float *restrict logits, int vocab)
{
    float top = -INFINITY;  /* softmax's shift: NaN logits are skipped by fmaxf */
    for (int v = 0; v < vocab; v++)
        top = fmaxf(top, logits[v]);
    return top;
}

// bench: domain=ml category=reduction expect=vectorizable
double nearest_centroid_gap(const double *restrict dist, int k, double cutoff)
{
    double best = cutoff;
    for (int c = 0; c < k; c++)
        best = fmin(dist[c] * dist[c], best);
    return best;
}

// bench: domain=ml category=math_call expect=vectorizable
void hard_swish(float *restrict y, const float *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = x[i] * fminf(1.0f, fmaxf(0.0f, x[i] * (1.0f / 6.0f) + 0.5f));
}

// bench: domain=ml category=math_call expect=vectorizable
void relu6(float *restrict y, const float *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = fminf(fmaxf(x[i], 0.0f), 6.0f);
}

// bench: domain=ml category=math_call expect=vectorizable
void elementwise_maximum(float *restrict out, const float *restrict a, const float *restrict b, int n)
{
    /* refused: two values that can both be zero, and gcc picks fmaxf's operand order itself */
    for (int i = 0; i < n; i++)
        out[i] = fmaxf(a[i], b[i]);
}

// bench: domain=ml category=argmax expect=vectorizable
int greedy_token(const float *restrict logits, int vocab)
{
    /* greedy decoding: the last of equal top logits wins, NaN logits never do */
    float top = -INFINITY;
    int token = 0;
    for (int v = 0; v < vocab; v++) {
        top = fmaxf(top, logits[v]);
        if (top == logits[v])
            token = v;
    }
    return token;
}

// bench: domain=ml category=argmax expect=vectorizable
int closest_codeword(const float *restrict dist2, int codes, float *restrict best_out)
{
    /* vector quantizer: the nearest codeword and its squared distance, from a cut-off the caller passes */
    float best = *best_out;
    int code = -1;
    for (int c = 0; c < codes; c++) {
        best = fminf(best, dist2[c] * 0.5f);
        if (dist2[c] * 0.5f == best) code = c;
    }
    *best_out = best;
    return code;
}

// bench: domain=ml category=argmax expect=vectorizable
long loudest_frame(const double *restrict energy, long frames)
{
    double peak = -HUGE_VAL;
    long at = 0;
    for (long f = 0; f < frames; ++f) {
        peak = fmax(energy[f], peak);
        if (energy[f] == peak) { at = f; }
    }
    return at;
}
