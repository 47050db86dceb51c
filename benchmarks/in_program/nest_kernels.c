/* The loops of a small program (benchmarks/in_program_nest.py): nests with the sizes the program
 * really uses, in-place calls, large arrays. simdlens scans and rewrites THIS file; nest_main.c calls
 * these functions the way the program does. */
#include <stdint.h>

#define LEN_2D 256
float aa[LEN_2D][LEN_2D], bb[LEN_2D][LEN_2D], cc[LEN_2D][LEN_2D];

/* a column sweep (s2275-like): the compiler vectorizes the outer loop */
void column_sweep(void)
{
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 0; j < LEN_2D; j++)
            aa[j][i] = aa[j][i] + bb[j][i] * cc[j][i];
}

float xs[LEN_2D], ys[LEN_2D];

/* a column sweep with a recurrence along j (TSVC-like): each column depends on the row before */
void column_recurrence(void)
{
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 1; j < LEN_2D; j++)
            aa[j][i] = aa[j-1][i] + bb[j][i];
}

/* the same with the size as a parameter (called with 256) */
void column_recurrence_n(int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 1; j < n; j++)
            aa[j][i] = aa[j-1][i] + bb[j][i];
}

/* mvt: a reduction over j into xs[i], j inner (a column of aa, ys[j] one value per j) */
void mvt(void)
{
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 0; j < LEN_2D; j++)
            xs[i] += aa[j][i] * ys[j];
}

/* rows of a global matrix, constant bounds */
void rows_global(void)
{
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 0; j < LEN_2D; j++)
            aa[i][j] = bb[i][j] * cc[i][j] + 1.0f;
}

/* an image-like nest, called in place: scale_rows(x, x, rows, cols) */
void scale_rows(float *x, const float *y, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            x[r * cols + c] = x[r * cols + c] * 0.5f + y[r * cols + c];
}

/* short rows: the inner loop runs 12 times per outer iteration */
void short_rows(int *restrict out, const int *restrict in, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            out[r * cols + c] = in[r * cols + c] > 0 ? in[r * cols + c] : -in[r * cols + c];
}

/* element-wise, called in place on a large array: saxpy(x, x, a, n) */
void saxpy(float *y, const float *x, float a, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = a * x[i] + y[i];
}

/* clamp, in place on a large array */
void clamp16(int16_t *dst, const int16_t *src, int16_t lo, int16_t hi, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = src[i] < lo ? lo : (src[i] > hi ? hi : src[i]);
}

/* a sum over a large array (memory-bound in the program) */
float total(const float *x, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s;
}

/* a dot product, called with the same array twice: dot(x, x, n) */
float dot(const float *a, const float *b, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* row sums of a matrix: a reduction in a nest (timed in its nest since session 8; timed alone before) */
void row_sums(float *restrict s, const float *restrict m, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float t = 0.0f;
        for (int c = 0; c < cols; c++)
            t += m[r * cols + c];
        s[r] = t;
    }
}

/* a triangle of the global matrix: the columns below the diagonal updated (j inner, from i + 1) */
void lower_columns(void)
{
    for (int i = 0; i < LEN_2D; i++)
        for (int j = i + 1; j < LEN_2D; j++)
            aa[j][i] = aa[j][i] * 0.999f + bb[j][i] * xs[i];
}

/* the transposed product of a flat n x n matrix: a column walk with a run-time row length */
void gemv_t(int n, const float *restrict M, const float *restrict v, float *restrict out)
{
    for (int c = 0; c < n; c++)
        for (int r = 0; r < n; r++)
            out[c] += M[r * n + c] * v[r];
}

/* gemm over VLAs, k inner, C[i][j] scaled before the k loop (an imperfect nest) */
void gemm_vla(int ni, int nj, int nk, float alpha, float beta, float C[ni][nj], float A[ni][nk], float B[nk][nj])
{
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nj; j++) {
            C[i][j] *= beta;
            for (int k = 0; k < nk; k++)
                C[i][j] += alpha * A[i][k] * B[k][j];
        }
}

/* two inner loops in one outer loop (a row dot product, then a row update; PolyBench atax-like), the
 * counters declared at the top and the bounds spelled through macros over the parameters */
#define NR_P nr
#define NC_P nc
void dot_then_update(int nr, int nc, float G[LEN_2D][LEN_2D], const float *u, float *r, float *acc)
{
    int i, j;
    for (i = 0; i < NR_P; i++) {
        r[i] = 0.0f;
        for (j = 0; j < NC_P; j++)
            r[i] = r[i] + G[i][j] * u[j];
        for (j = 0; j < NC_P; j++)
            acc[j] = acc[j] + G[i][j] * r[i];
    }
}

/* column means with the counters declared at the top of the function (PolyBench correlation-like) */
void column_means(int nr, int nc, float X[LEN_2D][LEN_2D], float *mu, float inv)
{
    int r, c;
    for (c = 0; c < NC_P; c++) {
        mu[c] = 0.0f;
        for (r = 0; r < NR_P; r++)
            mu[c] += X[r][c];
        mu[c] *= inv;
    }
}

/* a triangle with statements before and after its inner loop */
void lower_sums(void)
{
    for (int i = 0; i < LEN_2D; i++) {
        xs[i] = ys[i];
        for (int j = i; j < LEN_2D; j++)
            xs[i] += bb[j][i];
        xs[i] = xs[i] * 0.5f;
    }
}

/* syrk's k-j order: every k adds into the same C[i][j] (swapped: a row dot product per j) */
void gram_kj(int n, int m, float Gm[LEN_2D][LEN_2D], float F[LEN_2D][LEN_2D])
{
    int i, j, k;
    for (i = 0; i < n; i++)
        for (k = 0; k < m; k++)
            for (j = 0; j <= i; j++)
                Gm[i][j] += F[i][k] * F[j][k];
}

/* a row-oriented triangular update: a dot product of two rows into an element of the same matrix */
void factor_rows(int n, float T[LEN_2D][LEN_2D], const float *dinv)
{
    int i, j, k;
    for (i = 1; i < n; i++)
        for (j = 0; j < i; j++) {
            for (k = 0; k < j; k++)
                T[i][j] -= T[i][k] * T[j][k];
            T[i][j] *= dinv[j];
        }
}
