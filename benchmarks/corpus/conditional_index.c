/* simdlens benchmark corpus: indices that move only under a condition (issue 16): argmax and argmin
   written against the array (`if (x[i] > x[best]) best = i;`), and counters advanced under a condition
   before the element they pick is read or written (`if (c) { j++; a[i] = b[j]; }`), in the style of
   benchmark kernels over global arrays and of library code over pointers. Written for this project. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define LEN 4096
#define ROWS 256

float a[LEN], b[LEN], c[LEN], d[LEN], e[LEN];
float aa[ROWS][ROWS];

// bench: domain=families category=argmax_array expect=vectorizable
int loudest_sample(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

// bench: domain=families category=argmax_array expect=vectorizable
int closest_to_zero(const double *residual, int n)
{
    int at = 0;
    for (int i = 0; i < n; i++)
        if (fabs(residual[i]) < fabs(residual[at]))
            at = i;
    return at;
}

// bench: domain=families category=argmax_array expect=vectorizable
int busiest_slot(const int32_t *load, int slots)
{
    int busiest = 0;
    for (int s = 1; s < slots; s++)
        if (load[s] > load[busiest])
            busiest = s;
    return busiest;
}

// bench: domain=families category=argmax_array expect=vectorizable
long widest_gap(const float *restrict gap, long n)
{
    long w = 0;
    for (long i = 1; i < n; i++)
        if (gap[w] < gap[i])
            w = i;
    return w;
}

// bench: domain=families category=argmax_array expect=vectorizable
int global_minimum_at(void)
{
    int lo = 0;
    for (int i = 0; i < LEN; i++)
        if (a[i] < a[lo])
            lo = i;
    return lo;
}

// bench: domain=families category=argmax_array expect=vectorizable
int coolest_in_row(int r)
{
    int col = 0;
    for (int k = 1; k < ROWS; k++)
        if (aa[r][k] < aa[r][col])
            col = k;
    return col;
}

// bench: domain=families category=expand expect=vectorizable
int refill_positive(void)
{
    int j = -1;
    for (int i = 0; i < LEN; i++) {
        if (a[i] > 0.0f) {
            j++;
            a[i] = b[j];
        }
    }
    return j;
}

// bench: domain=families category=expand expect=vectorizable
int replace_flagged(void)
{
    int next = -1;
    for (int i = 0; i < LEN; i++)
        if (c[i] < d[i])
            e[i] = b[++next];
    return next;
}

// bench: domain=families category=expand expect=vectorizable
int decode_sparse(int32_t *restrict dense, const int32_t *restrict values, const uint8_t *restrict present, int n)
{
    int k = -1;
    for (int i = 0; i < n; i++) {
        if (present[i]) {
            ++k;
            dense[i] = values[k];
        }
    }
    return k;
}

// bench: domain=families category=compress expect=vectorizable
int keep_above_floor(float floor_level)
{
    int j = -1;
    for (int i = 0; i < LEN; i++) {
        if (b[i] > floor_level) {
            j++;
            a[j] = b[i];
        }
    }
    return j;
}

// bench: domain=families category=compress expect=vectorizable
long select_scaled(double *restrict kept, const double *restrict v, double scale, double limit, long n)
{
    long m = -1;
    for (long i = 0; i < n; i++) {
        if (v[i] < limit) {
            ++m;
            kept[m] = v[i] * scale;
        }
    }
    return m;
}

#define GRID 128
float grid_cells[GRID][GRID];
float hot_cells[GRID * GRID];

// bench: domain=families category=compress expect=vectorizable
int collect_hot_cells(float threshold)
{
    int count = -1;
    for (int r = 0; r < GRID; r++)
        for (int col = 0; col < GRID; col++)
            if (grid_cells[r][col] > threshold) {
                count++;
                hot_cells[count] = grid_cells[r][col];
            }
    return count + 1;
}

// bench: domain=families category=compress expect=vectorizable_with_checks
int gather_bright(const float *image, int rows, int cols, float *bright, float cutoff)
{
    int found = 0;
    for (int r = 0; r < rows; r++)
        for (int col = 0; col < cols; col++)
            if (image[r * cols + col] > cutoff)
                bright[found++] = image[r * cols + col];
    return found;
}

// bench: domain=families category=pack_run expect=vectorizable
int split_pass_through(void)
{
    /* every element gives a base value, positive c[] ones a second, stored right after it (TSVC s123 style) */
    int j = -1;
    for (int i = 0; i < LEN / 2; i++) {
        j++;
        a[j] = b[i] + d[i] * e[i];
        if (c[i] > 0.0f) {
            j++;
            a[j] = c[i] + d[i] * e[i];
        }
    }
    return j;
}

// bench: domain=families category=pack_run expect=vectorizable
size_t emit_events(int32_t *restrict out, const int32_t *restrict stamp, const int32_t *restrict level, size_t n)
{
    /* an event log: each sample's time stamp, then its level only when it crossed the threshold */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        out[w++] = stamp[i];
        if (level[i] > 1000)
            out[w++] = level[i] - 1000;
    }
    return w;
}

// bench: domain=families category=pack_run expect=vectorizable
int keep_signed_parts(double *restrict parts, const double *restrict x, int n)
{
    /* the positive and the negative part of each sample, each kept only when it is not zero */
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (x[i] > 0.0)
            parts[k++] = x[i];
        if (x[i] < 0.0)
            parts[k++] = -x[i] * 0.5;
    }
    return k;
}
