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

// expert: corpus=strided.c function=ufunc_int32_subtract isa=avx2
void ufunc_int32_subtract(char **args, const np_intp *dims, const np_intp *steps)
{
    char *pa = args[0], *pb = args[1], *po = args[2];
    const np_intp sa = steps[0], sb = steps[1], so = steps[2];
    np_intp n = dims[0];
    // expert loop {
    /* NumPy's contiguous special case: all three steps are sizeof(int32_t) and the output does not
       overlap an input partially (in place, po == pa, is fine: each element is read before it is
       written); otherwise the byte-strided loop as written */
    const char *o = po;
    const np_intp bytes = n * (np_intp)sizeof(int32_t);
    const int apart_a = o == pa || o + bytes <= pa || pa + bytes <= o;
    const int apart_b = o == pb || o + bytes <= pb || pb + bytes <= o;
    if (sa == (np_intp)sizeof(int32_t) && sb == (np_intp)sizeof(int32_t) && so == (np_intp)sizeof(int32_t)
            && apart_a && apart_b) {
        const int32_t *a = (const int32_t *)pa, *b = (const int32_t *)pb;
        int32_t *c = (int32_t *)po;
        np_intp k = 0;
        for (; k + 16 <= n; k += 16) {
            __m256i lo = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(a + k)),
                                          _mm256_loadu_si256((const __m256i *)(b + k)));
            __m256i hi = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(a + k + 8)),
                                          _mm256_loadu_si256((const __m256i *)(b + k + 8)));
            _mm256_storeu_si256((__m256i *)(c + k), lo);
            _mm256_storeu_si256((__m256i *)(c + k + 8), hi);
        }
        for (; k < n; k++)  /* wraps like the loop's int32 subtraction does in practice (gcc -O2: two's complement) */
            c[k] = (int32_t)((uint32_t)a[k] - (uint32_t)b[k]);
    } else {
        for (np_intp k = 0; k < n; k++, pa += sa, pb += sb, po += so)
            *(int32_t *)po = *(const int32_t *)pa - *(const int32_t *)pb;
    }
    // } expert loop
}
