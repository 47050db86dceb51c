/* simdlens benchmark corpus: loops written with strides known only at run time, in the two styles real
 * numeric C uses: NumPy-ufunc-style inner loops (byte pointers walked by byte steps from a `steps` array,
 * read through a cast) and BLAS-style level-1 loops (`x[i*incx]`, `ix += incx`, a pointer stepped by
 * `incx`). Written for this project. A rewrite runs its vector loop when every stride is its unit and the
 * loop as written otherwise. */
#include <stddef.h>
#include <stdint.h>
#include <math.h>

typedef ptrdiff_t np_intp;

// bench: domain=ml category=stride expect=vectorizable_with_checks style=runtime_stride
void ufunc_float_add(char **args, const np_intp *dims, const np_intp *steps)
{
    char *in1 = args[0], *in2 = args[1], *out = args[2];
    np_intp s1 = steps[0], s2 = steps[1], so = steps[2];
    np_intp count = dims[0];
    for (np_intp k = 0; k < count; k++, in1 += s1, in2 += s2, out += so) {
        const float a = *(const float *)in1;
        const float b = *(const float *)in2;
        *(float *)out = a + b;
    }
}

// bench: domain=ml category=stride expect=vectorizable_with_checks style=runtime_stride
void ufunc_double_scale(char **args, const np_intp *dims, const np_intp *steps, double factor)
{
    char *src = args[0], *dst = args[1];
    const np_intp src_step = steps[0], dst_step = steps[1];
    const np_intp n = dims[0];
    for (np_intp k = 0; k < n; k++, src += src_step, dst += dst_step)
        *(double *)dst = *(const double *)src * factor;
}

// bench: domain=ml category=stride expect=vectorizable_with_checks style=runtime_stride
void ufunc_float_maximum(char **args, const np_intp *dims, const np_intp *steps)
{
    char *pa = args[0], *pb = args[1], *po = args[2];
    np_intp n = dims[0];
    for (np_intp k = 0; k < n; k++, pa += steps[0], pb += steps[1], po += steps[2]) {
        const float x = *(const float *)pa, y = *(const float *)pb;
        *(float *)po = x >= y ? x : y;
    }
}

// bench: domain=ml category=stride expect=vectorizable_with_checks style=runtime_stride
void ufunc_int32_subtract(char **args, const np_intp *dims, const np_intp *steps)
{
    char *pa = args[0], *pb = args[1], *po = args[2];
    const np_intp sa = steps[0], sb = steps[1], so = steps[2];
    np_intp n = dims[0];
    for (np_intp k = 0; k < n; k++, pa += sa, pb += sb, po += so)
        *(int32_t *)po = *(const int32_t *)pa - *(const int32_t *)pb;
}

// bench: domain=ml category=stride expect=vectorizable_with_checks style=runtime_stride
float ufunc_float_inner(const char *pa, np_intp sa, const char *pb, np_intp sb, np_intp n)
{
    float acc = 0.0f;
    for (np_intp k = 0; k < n; k++, pa += sa, pb += sb)
        acc += *(const float *)pa * *(const float *)pb;
    return acc;
}

// bench: domain=ml category=stride expect=vectorizable_with_checks style=runtime_stride
void ufunc_double_negative_contig(char *src, char *dst, np_intp n)
{
    for (np_intp k = 0; k < n; k++, src += sizeof(double), dst += sizeof(double))
        *(double *)dst = -*(const double *)src;
}

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
void blas_saxpy_index(int n, float alpha, const float *x, int incx, float *y, int incy)
{
    int ix = incx < 0 ? (1 - n) * incx : 0;
    int iy = incy < 0 ? (1 - n) * incy : 0;
    for (int i = 0; i < n; i++) {
        y[iy] += alpha * x[ix];
        ix += incx;
        iy += incy;
    }
}

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
double blas_ddot_mul(int n, const double *x, int incx, const double *y, int incy)
{
    double dot = 0.0;
    for (int i = 0; i < n; i++)
        dot += x[i * incx] * y[i * incy];
    return dot;
}

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
void blas_sscal_walk(int n, float alpha, float *x, int incx)
{
    for (int i = 0; i < n; i++) {
        *x = alpha * *x;
        x += incx;
    }
}

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
void blas_dcopy_mul(int n, const double *x, int incx, double *y, int incy)
{
    for (int i = 0; i < n; i++)
        y[i * incy] = x[i * incx];
}

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
float blas_sasum_index(int n, const float *x, int incx)
{
    float total = 0.0f;
    int ix = 0;
    for (int i = 0; i < n; i++) {
        total += fabsf(x[ix]);
        ix += incx;
    }
    return total;
}

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
void blas_srot_mul(int n, float *x, int incx, float *y, int incy, float c, float s)
{
    for (int i = 0; i < n; i++) {
        const float xi = x[i * incx], yi = y[i * incy];
        x[i * incx] = c * xi + s * yi;
        y[i * incy] = c * yi - s * xi;
    }
}

/* Session 13: strides and bounds read through memory (f2c passes every argument by pointer, NumPy reads
 * `steps[0]` and `dims[0]` in place), and BLAS level-2 loops whose vector increment walks beside a
 * contiguous column of the matrix. */
typedef int f2c_int;

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
int f2c_daxpy_strided(f2c_int *n, double *da, double *dx, f2c_int *incx, double *dy, f2c_int *incy)
{
    f2c_int i__1, i__, ix, iy;
    --dy;
    --dx;
    ix = 1;
    iy = 1;
    if (*incx < 0) ix = (1 - *n) * *incx + 1;
    if (*incy < 0) iy = (1 - *n) * *incy + 1;
    i__1 = *n;
    for (i__ = 1; i__ <= i__1; ++i__) {
        dy[iy] += *da * dx[ix];
        ix += *incx;
        iy += *incy;
    }
    return 0;
}

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
double f2c_dnrm_sq_strided(f2c_int *n, double *dx, f2c_int *incx)
{
    f2c_int i__1, i__, ix;
    double ssq;
    --dx;
    ssq = 0.;
    ix = 1;
    i__1 = *n;
    for (i__ = 1; i__ <= i__1; ++i__) {
        ssq += dx[ix] * dx[ix];
        ix += *incx;
    }
    return ssq;
}

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
int f2c_icopy_strided(f2c_int *n, f2c_int *ix_src, f2c_int *incx, f2c_int *iy_dst)
{
    f2c_int i__1, i__, kx;
    --iy_dst;
    --ix_src;
    kx = 1;
    i__1 = *n;
    for (i__ = 1; i__ <= i__1; ++i__) {
        iy_dst[i__] = ix_src[kx] + 1;
        kx += *incx;
    }
    return 0;
}

// bench: domain=ml category=stride expect=vectorizable_with_checks style=runtime_stride
void ufunc_double_multiply_inplace_steps(char **args, const np_intp *dimensions, const np_intp *steps)
{
    char *a = args[0], *b = args[1], *o = args[2];
    for (np_intp k = 0; k < dimensions[0]; k++, a += steps[0], b += steps[1], o += steps[2])
        *(double *)o = *(const double *)a * *(const double *)b;
}

// bench: domain=ml category=elementwise expect=vectorizable_with_checks style=runtime_stride
void ufunc_float_sqrt_contig(char **args, const np_intp *dims)
{
    const float *in = (const float *)args[0];
    float *out = (float *)args[1];
    for (np_intp k = 0; k < dims[0]; k++)
        out[k] = sqrtf(in[k] * in[k] + 1.0f);
}

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
void blas_sgemv_col_incy(int m, int n, float alpha, const float *a, int lda, const float *x, float *y, int incy)
{
    for (int j = 0; j < n; j++) {
        const float t = alpha * x[j];
        int iy = incy < 0 ? (1 - m) * incy : 0;
        for (int i = 0; i < m; i++) {
            y[iy] += t * a[i + j * lda];
            iy += incy;
        }
    }
}

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
void blas_dgemv_trans_incx(int m, int n, double alpha, const double *a, int lda, const double *x, int incx,
                           double *y)
{
    for (int j = 0; j < n; j++) {
        double acc = 0.0;
        int ix = incx < 0 ? (1 - m) * incx : 0;
        for (int i = 0; i < m; i++) {
            acc += a[i + j * lda] * x[ix];
            ix += incx;
        }
        y[j] += alpha * acc;
    }
}

// bench: domain=linalg category=stride expect=vectorizable_with_checks style=runtime_stride
void blas_sger_incx(int m, int n, float alpha, const float *x, int incx, const float *y, float *a, int lda)
{
    for (int j = 0; j < n; j++) {
        const float t = alpha * y[j];
        int ix = incx < 0 ? (1 - m) * incx : 0;
        for (int i = 0; i < m; i++) {
            a[i + j * lda] += x[ix] * t;
            ix += incx;
        }
    }
}
