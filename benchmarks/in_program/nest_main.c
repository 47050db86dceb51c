/* The program around nest_kernels.c (benchmarks/in_program_nest.py): calls one of its functions the
 * way the program does (real sizes, in place, large arrays) and prints the median ns per call.
 *   nest_main FUNCTION ROUNDS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEN_2D 256
extern float aa[LEN_2D][LEN_2D], bb[LEN_2D][LEN_2D], cc[LEN_2D][LEN_2D];
extern float xs[LEN_2D], ys[LEN_2D];
void column_sweep(void);
void column_recurrence(void);
void column_recurrence_n(int n);
void mvt(void);
void rows_global(void);
void scale_rows(float *x, const float *y, int rows, int cols);
void short_rows(int *restrict out, const int *restrict in, int rows, int cols);
void saxpy(float *y, const float *x, float a, int n);
void clamp16(int16_t *dst, const int16_t *src, int16_t lo, int16_t hi, int n);
float total(const float *x, int n);
float dot(const float *a, const float *b, int n);
void row_sums(float *restrict s, const float *restrict m, int rows, int cols);
void lower_columns(void);
void gemv_t(int n, const float *restrict M, const float *restrict v, float *restrict out);
void gemm_vla(int ni, int nj, int nk, float alpha, float beta, float C[ni][nj], float A[ni][nk], float B[nk][nj]);
void dot_then_update(int nr, int nc, float G[LEN_2D][LEN_2D], const float *u, float *r, float *acc);
void column_means(int nr, int nc, float X[LEN_2D][LEN_2D], float *mu, float inv);
void lower_sums(void);
void gram_kj(int n, int m, float Gm[LEN_2D][LEN_2D], float F[LEN_2D][LEN_2D]);
void factor_rows(int n, float T[LEN_2D][LEN_2D], const float *dinv);

enum { ROWS = 1024, COLS = 1024, SHORT_ROWS = 1 << 17, SHORT_COLS = 12, LARGE = 1 << 22, GEMM_ROWS = 8 };
static float *fx, *fy, *fs, *fc;
static int *ia, *ib;
static int16_t *sa;
static volatile float sink;

static void run_column_sweep(void) { column_sweep(); }
static void run_column_recurrence(void) { column_recurrence(); }
static void run_column_recurrence_n(void) { column_recurrence_n(LEN_2D); }
static void run_mvt(void) { mvt(); }
static void run_rows_global(void) { rows_global(); }
static void run_scale_rows(void) { scale_rows(fx, fx, ROWS, COLS); }          /* in place */
static void run_short_rows(void) { short_rows(ia, ib, SHORT_ROWS, SHORT_COLS); }
static void run_saxpy(void) { saxpy(fx, fx, 1.0001f, LARGE); }              /* in place, 16 MB */
static void run_clamp16(void) { clamp16(sa, sa, -1000, 1000, LARGE); }      /* in place */
static void run_total(void) { sink = total(fy, LARGE); }
static void run_dot(void) { sink = dot(fy, fy, LARGE); }                     /* the same array twice */
static void run_row_sums(void) { row_sums(fs, fy, ROWS, COLS); }
static void run_lower_columns(void) { lower_columns(); }
static void run_gemv_t(void) { gemv_t(ROWS, fy, fx, fs); }                    /* a 1024 x 1024 matrix, 4 MB */
static void run_gemm_vla(void) {                                               /* 8 rows of C, B 1024 x 1024 */
    gemm_vla(GEMM_ROWS, COLS, ROWS, 0.5f, 0.999f, (float (*)[COLS])fc, (float (*)[ROWS])fy, (float (*)[COLS])fx);
}

static void run_dot_then_update(void) { dot_then_update(LEN_2D, LEN_2D, bb, ys, fs, fx); }
static void run_column_means(void) { column_means(LEN_2D, LEN_2D, bb, fs, 1.0f / LEN_2D); }
static void run_lower_sums(void) { lower_sums(); }
static void run_gram_kj(void) { gram_kj(LEN_2D, LEN_2D, cc, bb); }
static void run_factor_rows(void) { factor_rows(LEN_2D, aa, ys); }

static const struct { const char *name; void (*run)(void); } calls[] = {
    {"column_sweep", run_column_sweep}, {"column_recurrence", run_column_recurrence},
    {"column_recurrence_n", run_column_recurrence_n}, {"mvt", run_mvt},
    {"rows_global", run_rows_global}, {"scale_rows", run_scale_rows},
    {"short_rows", run_short_rows}, {"saxpy", run_saxpy}, {"clamp16", run_clamp16}, {"total", run_total},
    {"dot", run_dot}, {"row_sums", run_row_sums}, {"lower_columns", run_lower_columns}, {"gemv_t", run_gemv_t},
    {"gemm_vla", run_gemm_vla}, {"dot_then_update", run_dot_then_update}, {"column_means", run_column_means},
    {"lower_sums", run_lower_sums}, {"gram_kj", run_gram_kj}, {"factor_rows", run_factor_rows},
};

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int rounds = atoi(argv[2]);
    size_t big = (size_t)LARGE > (size_t)ROWS * COLS ? (size_t)LARGE : (size_t)ROWS * COLS;
    fx = aligned_alloc(64, big * sizeof(float));
    fy = aligned_alloc(64, big * sizeof(float));
    fs = aligned_alloc(64, ROWS * sizeof(float));
    fc = aligned_alloc(64, (size_t)GEMM_ROWS * COLS * sizeof(float));
    for (size_t i = 0; i < (size_t)GEMM_ROWS * COLS; i++) fc[i] = 1.0f;
    ia = aligned_alloc(64, (size_t)SHORT_ROWS * SHORT_COLS * sizeof(int));
    ib = aligned_alloc(64, (size_t)SHORT_ROWS * SHORT_COLS * sizeof(int));
    sa = aligned_alloc(64, (size_t)LARGE * sizeof(int16_t));
    unsigned s = 12345;
    for (size_t i = 0; i < big; i++) { s = s * 1103515245u + 12345u; fx[i] = (float)(s >> 16) / 65536.0f; fy[i] = fx[i] * 0.5f; }
    for (size_t i = 0; i < (size_t)SHORT_ROWS * SHORT_COLS; i++) { s = s * 1103515245u + 12345u; ib[i] = (int)(s >> 8) - (1 << 23); }
    for (size_t i = 0; i < (size_t)LARGE; i++) { s = s * 1103515245u + 12345u; sa[i] = (int16_t)(s >> 16); }
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 0; j < LEN_2D; j++) { aa[i][j] = 1.0f; bb[i][j] = (float)(i + j) / 512.0f; cc[i][j] = 0.5f; }
    for (int i = 0; i < LEN_2D; i++) { xs[i] = 0.0f; ys[i] = (float)(i % 7) / 8.0f; }
    void (*run)(void) = NULL;
    for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++)
        if (strcmp(calls[k].name, argv[1]) == 0) run = calls[k].run;
    if (run == NULL) { fprintf(stderr, "unknown function %s\n", argv[1]); return 2; }
    double t = now_ns();
    run();
    t = now_ns() - t;
    long reps = t > 0 ? (long)(20e6 / t) : 1000;  /* ~20 ms per sample */
    if (reps < 1) reps = 1;
    double *ns = calloc((size_t)rounds, sizeof(double));
    for (int r = 0; r < rounds; r++) {
        double t0 = now_ns();
        for (long q = 0; q < reps; q++) run();
        ns[r] = (now_ns() - t0) / (double)reps;
    }
    qsort(ns, (size_t)rounds, sizeof(double), cmp);
    printf("%s\t%.1f\n", argv[1], ns[rounds / 2]);
    return 0;
}
