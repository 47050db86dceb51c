/* simdlens benchmark corpus: dense linear algebra building blocks. */
#include <stddef.h>
#include <stdint.h>
#include <math.h>

#define TILE 64

// bench: domain=linalg category=elementwise expect=vectorizable_with_checks
void saxpy(float *y, const float *x, float a, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = a * x[i] + y[i];
}

// bench: domain=linalg category=elementwise expect=vectorizable
void daxpy(double *restrict y, const double *restrict x, double a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

// bench: domain=linalg category=reduction expect=vectorizable
float sdot(const float *x, const float *y, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

// bench: domain=linalg category=reduction expect=vectorizable
double dnrm2_sq(const double *x, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += x[i] * x[i];
    return s;
}

// bench: domain=linalg category=reduction expect=vectorizable
int64_t idot64(const int32_t *a, const int32_t *b, int n)
{
    int64_t s = 0;
    for (int i = 0; i < n; i++)
        s += (int64_t)a[i] * b[i];
    return s;
}

// bench: domain=linalg category=argmax expect=vectorizable
int isamax(const float *x, int n)
{
    int best = 0;
    float bv = fabsf(x[0]);
    for (int i = 1; i < n; i++) {
        if (fabsf(x[i]) > bv) {
            bv = fabsf(x[i]);
            best = i;
        }
    }
    return best;
}

// bench: domain=linalg category=matvec_row expect=vectorizable
void gemv_row(float *restrict y, const float *restrict A, const float *restrict x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float acc = 0.0f;
        for (int c = 0; c < cols; c++)
            acc += A[r * cols + c] * x[c];
        y[r] = acc;
    }
}

// bench: domain=linalg category=elementwise expect=vectorizable
void rank1_update_row(float *restrict row, const float *restrict v, float s, int n)
{
    for (int j = 0; j < n; j++)
        row[j] -= s * v[j];
}

// bench: domain=linalg category=stride expect=vectorizable
void column_copy(double *restrict col, const double *restrict M, int rows, int ld)
{
    for (int r = 0; r < rows; r++)
        col[r] = M[r * ld];
}

// bench: domain=linalg category=gather expect=vectorizable
double spmv_row(const double *restrict vals, const int *restrict cols, const double *restrict x, int nnz)
{
    double s = 0.0;
    for (int k = 0; k < nnz; k++)
        s += vals[k] * x[cols[k]];
    return s;
}

// bench: domain=linalg category=recurrence expect=not_vectorizable
void forward_subst_step(double *x, const double *l, int n)
{
    for (int i = 1; i < n; i++)
        x[i] -= l[i] * x[i - 1];
}

// bench: domain=linalg category=elementwise expect=vectorizable
void scale_tile(float tile[TILE], float s)
{
    for (int i = 0; i < TILE; i++)
        tile[i] *= s;
}

// bench: domain=linalg category=math_call expect=vectorizable
void vsqrt(double *restrict out, const double *restrict in, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = sqrt(in[i]);
}

/* The reference BLAS as f2c translates it: 1-based loops over pointers moved back by one, and |x| as a
 * comma expression through a temporary declared at the top of the function. */
typedef double f2c_double;
typedef float f2c_real;

// bench: domain=linalg category=reduction expect=vectorizable
f2c_double f2c_abs_sum(int *n, f2c_double *dx)
{
    int i__1;
    f2c_double d__1;
    static int i__;
    static f2c_double total;
    --dx;
    total = 0.;
    i__1 = *n;
    for (i__ = 1; i__ <= i__1; ++i__) {
        total += (d__1 = dx[i__], d__1 >= 0. ? d__1 : -d__1);
    }
    return total;
}

// bench: domain=linalg category=argmax expect=vectorizable
int f2c_abs_max_index(int *n, f2c_real *sx)
{
    int ret_val, i__1;
    f2c_real r__1;
    static int i__;
    static f2c_real best;
    --sx;
    ret_val = 1;
    best = (r__1 = sx[1], r__1 >= 0.f ? r__1 : -r__1);
    i__1 = *n;
    for (i__ = 2; i__ <= i__1; ++i__) {
        if ((r__1 = sx[i__], r__1 >= 0.f ? r__1 : -r__1) > best) {
            ret_val = i__;
            best = (r__1 = sx[i__], r__1 >= 0.f ? r__1 : -r__1);
        }
    }
    return ret_val;
}

/* The reference BLAS unrolls by hand: a cleanup loop for n % 4 (or % 5), then the rest 4 (5) at a time. */
// bench: domain=linalg category=elementwise expect=vectorizable_with_checks
void axpy_unrolled_by_4(int n, double da, const double *dx, double *dy)
{
    int i, m = n % 4;
    for (i = 0; i < m; i++)
        dy[i] += da * dx[i];
    for (i = m; i < n; i += 4) {
        dy[i] += da * dx[i];
        dy[i + 1] += da * dx[i + 1];
        dy[i + 2] += da * dx[i + 2];
        dy[i + 3] += da * dx[i + 3];
    }
}

// bench: domain=linalg category=reduction expect=vectorizable
double dot_unrolled_by_5(int n, const double *dx, const double *dy)
{
    double dtemp = 0.0;
    int i, m = n % 5;
    for (i = 0; i < m; i++)
        dtemp += dx[i] * dy[i];
    for (i = m; i < n; i += 5)
        dtemp = dtemp + dx[i] * dy[i] + dx[i + 1] * dy[i + 1] + dx[i + 2] * dy[i + 2] + dx[i + 3] * dy[i + 3]
              + dx[i + 4] * dy[i + 4];
    return dtemp;
}

// bench: domain=linalg category=reduction expect=vectorizable
void memory_kernel_response(int n, double *restrict resp, const double *restrict kern)
{
    /* each response accumulates the kernel against all earlier responses, newest first, in place: a dot
       product into resp[t] that walks resp backwards from resp[t - 1], never reaching resp[t] */
    for (int t = 1; t < n; t++) {
        resp[t] = 0.5;
        for (int lag = 0; lag < t; lag++)
            resp[t] += kern[lag] * resp[t - 1 - lag];
    }
}
