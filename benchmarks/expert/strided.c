/* simdlens expert reference set: strided (benchmarks/corpus/strided.c), hand-tuned AVX2.
   Written for this project; see src/simdlens/expert_set.py for the link and block format. */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

typedef ptrdiff_t np_intp;

// expert: corpus=strided.c function=blas_ddot_mul isa=avx2 reassociates=1
double blas_ddot_mul(int n, const double *x, int incx, const double *y, int incy)
{
    double dot = 0.0;
    // expert loop {
    /* unit strides: four independent accumulators of 4 doubles (16 products per step, no FMA: the
       user's build rounds each product); any other stride: the loop as written */
    if (incx == 1 && incy == 1) {
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), s2 = _mm256_setzero_pd(),
                s3 = _mm256_setzero_pd();
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            s0 = _mm256_add_pd(s0, _mm256_mul_pd(_mm256_loadu_pd(x + i), _mm256_loadu_pd(y + i)));
            s1 = _mm256_add_pd(s1, _mm256_mul_pd(_mm256_loadu_pd(x + i + 4), _mm256_loadu_pd(y + i + 4)));
            s2 = _mm256_add_pd(s2, _mm256_mul_pd(_mm256_loadu_pd(x + i + 8), _mm256_loadu_pd(y + i + 8)));
            s3 = _mm256_add_pd(s3, _mm256_mul_pd(_mm256_loadu_pd(x + i + 12), _mm256_loadu_pd(y + i + 12)));
        }
        for (; i + 4 <= n; i += 4)
            s0 = _mm256_add_pd(s0, _mm256_mul_pd(_mm256_loadu_pd(x + i), _mm256_loadu_pd(y + i)));
        __m256d s = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
        __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
        dot += _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
        for (; i < n; i++)
            dot += x[i] * y[i];
    } else {
        for (int i = 0; i < n; i++)
            dot += x[i * incx] * y[i * incy];
    }
    // } expert loop
    return dot;
}

// expert: corpus=strided.c function=ufunc_float_add isa=avx2
void ufunc_float_add(char **args, const np_intp *dims, const np_intp *steps)
{
    char *in1 = args[0], *in2 = args[1], *out = args[2];
    np_intp s1 = steps[0], s2 = steps[1], so = steps[2];
    np_intp count = dims[0];
    // expert loop {
    /* NumPy's contiguous special case: all three steps are sizeof(float) and the output does not
       overlap an input partially (in place, out == in1, is fine: each element is read before it is
       written); otherwise the byte-strided loop as written */
    const char *o = out;
    const np_intp bytes = count * (np_intp)sizeof(float);
    const int apart1 = o == in1 || o + bytes <= in1 || in1 + bytes <= o;
    const int apart2 = o == in2 || o + bytes <= in2 || in2 + bytes <= o;
    if (s1 == sizeof(float) && s2 == sizeof(float) && so == sizeof(float) && apart1 && apart2) {
        const float *a = (const float *)in1, *b = (const float *)in2;
        float *c = (float *)out;
        np_intp k = 0;
        for (; k + 16 <= count; k += 16) {
            __m256 lo = _mm256_add_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k));
            __m256 hi = _mm256_add_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b + k + 8));
            _mm256_storeu_ps(c + k, lo);
            _mm256_storeu_ps(c + k + 8, hi);
        }
        for (; k < count; k++)
            c[k] = a[k] + b[k];
    } else {
        for (np_intp k = 0; k < count; k++, in1 += s1, in2 += s2, out += so) {
            const float a = *(const float *)in1;
            const float b = *(const float *)in2;
            *(float *)out = a + b;
        }
    }
    // } expert loop
}
