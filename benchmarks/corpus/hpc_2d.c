/* simdlens benchmark corpus: macro-heavy HPC kernels over 2-D arrays, in the style of classic loop
 * benchmark suites (sizes and the element type from #define, global square matrices, row sweeps,
 * column sweeps, i-k-j products, stencils). Written for this project. */
#include <math.h>

#define LEN 256
#define LEN2 128
#define REAL double
#define HALF ((REAL)0.5)
#define NITER(n) ((n) / 2)

REAL aa[LEN][LEN];
REAL bb[LEN][LEN];
REAL cc[LEN][LEN];
REAL dd[LEN2][LEN2];
REAL a[LEN];
REAL b[LEN];
float ff[LEN][LEN];
float gg[LEN][LEN];
int ii[LEN][LEN];

/* bounds spelled through macros over the function's parameters, as benchmark suites spell them */
#define NROWS_P nrows
#define NCOLS_P ncols

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void row_add(void)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j < LEN; j++)
            aa[i][j] = bb[i][j] + cc[i][j];
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void row_scale_macro(void)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j < LEN; j++)
            aa[i][j] = aa[i][j] * HALF;
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void row_triad(REAL s)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j < LEN; j++)
            aa[i][j] = bb[i][j] + s * cc[i][j];
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void row_broadcast_vector(void)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j < LEN; j++)
            aa[i][j] = bb[i][j] * a[j] + b[i];
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void ikj_matmul(void)
{
    for (int i = 0; i < LEN; i++)
        for (int k = 0; k < LEN; k++)
            for (int j = 0; j < LEN; j++)
                aa[i][j] += bb[i][k] * cc[k][j];
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void ikj_matmul_small(void)
{
    for (int i = 0; i < LEN2; i++)
        for (int k = 0; k < LEN2; k++)
            for (int j = 0; j < LEN2; j++)
                dd[i][j] += aa[i][k] * bb[k][j];
}

// bench: domain=hpc category=reduction expect=vectorizable style=hpc_2d
REAL row_sum(int i)
{
    REAL s = 0;
    for (int j = 0; j < LEN; j++)
        s += aa[i][j];
    return s;
}

// bench: domain=hpc category=reduction expect=vectorizable style=hpc_2d
REAL matrix_sum(void)
{
    REAL s = 0;
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j < LEN; j++)
            s += aa[i][j] * bb[i][j];
    return s;
}

// bench: domain=hpc category=reduction expect=vectorizable style=hpc_2d
REAL row_max(int i)
{
    REAL m = aa[i][0];
    for (int j = 1; j < LEN; j++)
        if (aa[i][j] > m)
            m = aa[i][j];
    return m;
}

// bench: domain=hpc category=stride expect=vectorizable style=hpc_2d
void column_sweep(int j)
{
    for (int i = 0; i < LEN; i++)
        aa[i][j] = bb[i][j] + 1.0;
}

// bench: domain=hpc category=recurrence expect=not_vectorizable style=hpc_2d
void column_recurrence(void)
{
    for (int j = 0; j < LEN; j++)
        for (int i = 1; i < LEN; i++)
            aa[i][j] = aa[i - 1][j] + bb[i][j];
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void row_from_previous_row(void)
{
    for (int i = 1; i < LEN; i++)
        for (int j = 0; j < LEN; j++)
            aa[i][j] = aa[i - 1][j] + bb[i][j];
}

// bench: domain=hpc category=recurrence expect=not_vectorizable style=hpc_2d
void row_prefix(void)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 1; j < LEN; j++)
            aa[i][j] = aa[i][j - 1] + bb[i][j];
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void stencil_five_point(void)
{
    for (int i = 1; i < LEN - 1; i++)
        for (int j = 1; j < LEN - 1; j++)
            aa[i][j] = 0.2 * (bb[i][j] + bb[i - 1][j] + bb[i + 1][j] + bb[i][j - 1] + bb[i][j + 1]);
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void stencil_horizontal(void)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 1; j < LEN - 1; j++)
            aa[i][j] = (bb[i][j - 1] + bb[i][j] + bb[i][j + 1]) * (1.0 / 3.0);
}

// bench: domain=hpc category=stride expect=vectorizable style=hpc_2d
void transpose_copy(void)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j < LEN; j++)
            aa[i][j] = bb[j][i];
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void diagonal_shift(void)
{
    for (int i = 1; i < LEN; i++)
        for (int j = 1; j < LEN; j++)
            aa[i][j] = bb[i - 1][j - 1] * cc[i][j];
}

// bench: domain=hpc category=select expect=vectorizable style=hpc_2d
void row_clamp(void)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j < LEN; j++)
            aa[i][j] = bb[i][j] > 1.0 ? 1.0 : bb[i][j];
}

// bench: domain=hpc category=conversion expect=vectorizable style=hpc_2d
void row_float_to_double(void)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j < LEN; j++)
            aa[i][j] = (REAL)ff[i][j];
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void row_int_scale(int k)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j < LEN; j++)
            ii[i][j] = ii[i][j] * k + 3;
}

// bench: domain=hpc category=math_call expect=vectorizable style=hpc_2d
void row_sqrt(void)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j < LEN; j++)
            gg[i][j] = sqrtf(ff[i][j]);
}

// bench: domain=hpc category=elementwise expect=vectorizable_with_checks style=hpc_2d
void param_fixed(int n, int m, REAL A[LEN][LEN], const REAL B[LEN][LEN], REAL s)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            A[i][j] = B[i][j] * s;
}

// bench: domain=hpc category=elementwise expect=vectorizable_with_checks style=hpc_2d
void param_row_pointer(int n, REAL (*A)[LEN2], const REAL (*B)[LEN2])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < LEN2; j++)
            A[i][j] += B[i][j];
}

// bench: domain=hpc category=elementwise expect=vectorizable_with_checks style=hpc_2d
void param_vla(int n, int m, REAL A[n][m], REAL B[n][m])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            A[i][j] = A[i][j] - HALF * B[i][j];
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void param_vla_restrict(int n, int m, REAL A[restrict n][m], const REAL B[restrict n][m])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            A[i][j] = B[i][j] * B[i][j];
}

// bench: domain=hpc category=elementwise expect=vectorizable_with_checks style=hpc_2d
void flat_leading_dimension(int n, int m, int ld, REAL *A, const REAL *B)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            A[i * ld + j] = B[i * ld + j] + 1.0;
}

// bench: domain=hpc category=elementwise expect=vectorizable_with_checks style=hpc_2d
void flat_gemv_row(int n, int m, int ld, REAL *y, const REAL *A, const REAL *x)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            y[i * ld + j] += A[i * ld + j] * x[j];
}

// bench: domain=hpc category=reduction expect=vectorizable style=hpc_2d
REAL flat_dot_rows(int n, int ld, const REAL *restrict A, int r0, int r1)
{
    REAL s = 0;
    for (int j = 0; j < n; j++)
        s += A[r0 * ld + j] * A[r1 * ld + j];
    return s;
}

// bench: domain=hpc category=elementwise expect=vectorizable style=hpc_2d
void half_iterations(int n)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j < NITER(n); j++)
            aa[i][j] = bb[i][j] + cc[i][j];
}

// bench: domain=hpc category=elementwise expect=vectorizable_with_checks style=hpc_2d
void vla_gemm_ikj(int ni, int nj, int nk, REAL alpha, REAL C[ni][nj], REAL A[ni][nk], REAL B[nk][nj])
{
    for (int i = 0; i < ni; i++)
        for (int k = 0; k < nk; k++)
            for (int j = 0; j < nj; j++)
                C[i][j] += alpha * A[i][k] * B[k][j];
}

// bench: domain=hpc category=reduction expect=vectorizable_with_checks style=hpc_2d
void lower_solve(int n, REAL L[n][n], REAL x[n], const REAL rhs[n])
{
    for (int i = 0; i < n; i++) {
        x[i] = rhs[i];
        for (int j = 0; j < i; j++)
            x[i] -= L[i][j] * x[j];
        x[i] = x[i] / L[i][i];
    }
}

// bench: domain=hpc category=reduction expect=vectorizable_with_checks style=hpc_2d
void upper_solve(int n, REAL U[n][n], REAL x[n])
{
    for (int i = n - 1; i >= 0; i--) {
        for (int j = i + 1; j < n; j++)
            x[i] = x[i] - U[i][j] * x[j];
        x[i] = x[i] / U[i][i];
    }
}

// bench: domain=hpc category=elementwise expect=vectorizable_with_checks style=hpc_2d
void heat_3d_step(int n, REAL A[n][n][n], REAL B[n][n][n])
{
    for (int i = 1; i < n - 1; i++)
        for (int j = 1; j < n - 1; j++)
            for (int k = 1; k < n - 1; k++)
                B[i][j][k] = 0.125 * (A[i + 1][j][k] - 2.0 * A[i][j][k] + A[i - 1][j][k])
                           + 0.125 * (A[i][j + 1][k] - 2.0 * A[i][j][k] + A[i][j - 1][k])
                           + 0.125 * (A[i][j][k + 1] - 2.0 * A[i][j][k] + A[i][j][k - 1]) + A[i][j][k];
}

// bench: domain=hpc category=select expect=vectorizable style=hpc_2d
void pick_by_sign(void)
{
    int j = -1;
    for (int i = 0; i < LEN; i++) {
        if (b[i] > 0.0) {
            j++;
            a[j] = b[i] * HALF;
        } else {
            j++;
            a[j] = -b[i];
        }
    }
}

/* Loop nests whose inner loop walks a column (issue 15): flat leading dimensions, triangles, VLAs,
 * i-j-k products with and without statements around the k loop. */

// bench: domain=hpc category=nest expect=vectorizable_with_checks style=hpc_2d
void flat_column_blend(int rows, int cols, int ld, REAL *restrict A, const REAL *restrict B, REAL w)
{
    for (int c = 0; c < cols; c++)
        for (int r = 1; r < rows; r++)
            A[r * ld + c] = w * A[(r - 1) * ld + c] + (1.0 - w) * B[r * ld + c];
}

// bench: domain=hpc category=nest expect=vectorizable style=hpc_2d
void flat_transposed_gemv(int n, const REAL *restrict M, const REAL *restrict v, REAL *restrict out)
{
    for (int c = 0; c < n; c++)
        for (int r = 0; r < n; r++)
            out[c] += M[r * n + c] * v[r];
}

// bench: domain=hpc category=nest expect=vectorizable style=hpc_2d
void lower_column_scale(void)
{
    for (int i = 0; i < LEN; i++)
        for (int j = i + 1; j < LEN; j++)
            aa[j][i] = aa[j][i] * a[i] - bb[j][i];
}

// bench: domain=hpc category=nest expect=vectorizable style=hpc_2d
void upper_transposed_gemv(void)
{
    for (int i = 0; i < LEN; i++)
        for (int j = 0; j <= i; j++)
            b[i] += cc[j][i] * a[j];
}

// bench: domain=hpc category=nest expect=vectorizable_with_checks style=hpc_2d
void vla_lower_update(int n, REAL L[n][n], const REAL d[n])
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            L[j][i] = L[j][i] - d[j] * L[j][i];
}

// bench: domain=hpc category=nest expect=vectorizable_with_checks style=hpc_2d
void vla_gemm_ijk(int ni, int nj, int nk, REAL alpha, REAL beta, REAL C[ni][nj], REAL A[ni][nk], REAL B[nk][nj])
{
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nj; j++) {
            C[i][j] *= beta;
            for (int k = 0; k < nk; k++)
                C[i][j] += alpha * A[i][k] * B[k][j];
        }
}

// bench: domain=hpc category=nest expect=vectorizable style=hpc_2d
void ijk_matmul_global(void)
{
    for (int i = 0; i < LEN2; i++)
        for (int j = 0; j < LEN2; j++)
            for (int k = 0; k < LEN2; k++)
                dd[i][j] += aa[i][k] * bb[k][j];
}

// bench: domain=hpc category=nest expect=vectorizable style=hpc_2d
void ijk_matmul_temp(void)
{
    for (int i = 0; i < LEN2; i++)
        for (int j = 0; j < LEN2; j++) {
            REAL s = 0.0;
            for (int k = 0; k < LEN2; k++)
                s += aa[i][k] * bb[k][j];
            dd[i][j] = s;
        }
}

// bench: domain=hpc category=nest expect=vectorizable_with_checks style=hpc_2d
void vla_2mm_first(int ni, int nj, int nk, REAL alpha, REAL T[ni][nj], REAL P[ni][nk], REAL Q[nk][nj])
{
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nj; j++) {
            T[i][j] = 0.0;
            for (int k = 0; k < nk; k++)
                T[i][j] += alpha * P[i][k] * Q[k][j];
        }
}

// bench: domain=hpc category=nest expect=vectorizable_with_checks style=hpc_2d
void dot_rows_then_spread(int nrows, int ncols, REAL G[LEN][LEN], const REAL u[LEN], REAL r[LEN], REAL acc[LEN])
{
    int i, j;
    for (i = 0; i < NROWS_P; i++) {
        r[i] = 0.0;
        for (j = 0; j < NCOLS_P; j++)
            r[i] = r[i] + G[i][j] * u[j];
        for (j = 0; j < NCOLS_P; j++)
            acc[j] = acc[j] + G[i][j] * r[i];
    }
}

// bench: domain=hpc category=nest expect=vectorizable_with_checks style=hpc_2d
void spread_then_dot_rows(int nrows, int ncols, REAL G[LEN][LEN], const REAL u[LEN], REAL acc[LEN], REAL d[LEN])
{
    int i, j;
    for (i = 0; i < NROWS_P; i++) {
        for (j = 0; j < NCOLS_P; j++)
            acc[j] += u[i] * G[i][j];
        d[i] = 0.0;
        for (j = 0; j < NCOLS_P; j++)
            d[i] += G[i][j] * u[j];
    }
}

// bench: domain=hpc category=nest expect=vectorizable_with_checks style=hpc_2d
void column_means_top_counters(int nrows, int ncols, REAL X[LEN][LEN], REAL mu[LEN], REAL inv_rows)
{
    int r, c;
    for (c = 0; c < NCOLS_P; c++) {
        mu[c] = 0.0;
        for (r = 0; r < NROWS_P; r++)
            mu[c] += X[r][c];
        mu[c] *= inv_rows;
    }
}

// bench: domain=hpc category=nest expect=vectorizable_with_checks style=hpc_2d
void lower_column_sums_scaled(int n, REAL L[LEN][LEN], REAL s[LEN], const REAL w[LEN])
{
    for (int i = 0; i < n; i++) {
        s[i] = w[i];
        for (int j = i; j < n; j++)
            s[i] += L[j][i];
        s[i] = s[i] * HALF;
    }
}

// bench: domain=hpc category=nest expect=vectorizable_with_checks style=hpc_2d
void unit_lower_rows(int n, REAL T[LEN][LEN], const REAL dinv[LEN])
{
    int i, j, k;
    for (i = 1; i < n; i++) {
        for (j = 0; j < i; j++) {
            for (k = 0; k < j; k++)
                T[i][j] -= T[i][k] * T[j][k];
            T[i][j] *= dinv[j];
        }
    }
}

// bench: domain=hpc category=nest expect=vectorizable_with_checks style=hpc_2d
void gram_lower_kj(int n, int m, REAL s, REAL Gm[LEN][LEN], REAL F[LEN][LEN])
{
    int i, j, k;
    for (i = 0; i < n; i++)
        for (k = 0; k < m; k++)
            for (j = 0; j <= i; j++)
                Gm[i][j] += s * F[i][k] * F[j][k];
}

/* Doolittle's upper rows: for c >= r the sum runs over p < r, so U[r][c] is never one of the U[r][p] or
 * the column U[p][c] it reads (bounds-derived facts p < r <= c): the c loop is independent across c */
// bench: domain=hpc category=nest expect=vectorizable style=hpc_2d
void doolittle_upper_rows(int n, REAL U[LEN][LEN])
{
    int r, c, p;
    for (r = 0; r < n; r++)
        for (c = r; c < n; c++)
            for (p = 0; p < r; p++)
                U[r][c] = U[r][c] - U[r][p] * U[p][c];
}

/* the same rows with the sum in a temporary the function declares, read from and stored back to the
 * row's own element around the p loop (the form of a factorization that keeps its accumulator apart) */
// bench: domain=hpc category=nest expect=vectorizable style=hpc_2d
void doolittle_rows_acc(int n, REAL U[LEN][LEN])
{
    int r, c, p;
    REAL acc;
    for (r = 0; r < n; r++)
        for (c = r; c < n; c++) {
            acc = U[r][c];
            for (p = 0; p < r; p++)
                acc -= U[r][p] * U[p][c];
            U[r][c] = acc;
        }
}

/* a symmetric product: the upper half summed over the rows of X, each sum mirrored into the lower half
 * (G[j][i] of lane j meets row i only on the diagonal, the lane's own element) */
// bench: domain=hpc category=nest expect=vectorizable_with_checks style=hpc_2d
void gram_mirror(int n, int m, REAL G[LEN][LEN], const REAL X[LEN][LEN])
{
    int i, j, k;
    for (i = 0; i < n; i++)
        for (j = i; j < n; j++) {
            G[i][j] = 0.0;
            for (k = 0; k < m; k++)
                G[i][j] += X[k][i] * X[k][j];
            G[j][i] = G[i][j];
        }
}
