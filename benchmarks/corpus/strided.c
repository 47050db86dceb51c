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
