/* simdlens benchmark corpus: loops compilers give up on that a known SIMD algorithm handles (issue 16):
   histograms with possible conflicts, searches that return an index or store before they leave, and
   wrap-around variables. Written for this project. */
#include <stddef.h>
#include <stdint.h>

// bench: domain=families category=histogram expect=vectorizable
void luma_histogram(uint32_t *restrict hist, const uint8_t *restrict luma, int pixels)
{
    for (int p = 0; p < pixels; p++)
        hist[luma[p]]++;
}

// bench: domain=families category=histogram expect=vectorizable
void token_counts(int32_t *restrict counts, const int32_t *restrict token, int tokens)
{
    for (int t = 0; t < tokens; t++)
        counts[token[t]] += 1;
}

// bench: domain=families category=histogram expect=vectorizable
void weighted_votes(int32_t *restrict tally, const int32_t *restrict candidate, const int32_t *restrict weight, int ballots)
{
    for (int b = 0; b < ballots; b++)
        tally[candidate[b]] += weight[b];
}

// bench: domain=families category=histogram expect=vectorizable
void mass_deposit(float *restrict grid, const int32_t *restrict cell, const float *restrict mass, int particles)
{
    for (int k = 0; k < particles; k++)
        grid[cell[k]] += mass[k];
}

// bench: domain=families category=histogram expect=vectorizable
void orientation_bins(float *restrict bins, const uint8_t *restrict angle, const float *restrict magnitude, int n)
{
    for (int i = 0; i < n; i++)
        bins[angle[i]] += magnitude[i];
}

// bench: domain=families category=histogram expect=vectorizable
void charge_assign(float *restrict rho, const int32_t *restrict cell, const float *restrict weight, float q, int n)
{
    for (int i = 0; i < n; i++)
        rho[cell[i]] += q * weight[i];
}

// bench: domain=families category=scatter expect=not_vectorizable
void doubling_scatter(int32_t *restrict h, const int32_t *restrict at, const int32_t *restrict v, int n)
{
    for (int i = 0; i < n; i++)
        h[at[i]] = h[at[i]] * 2 + v[i];
}

// bench: domain=families category=search expect=vectorizable
int first_over_threshold(const float *samples, float threshold, int n)
{
    int where = -1;
    for (int i = 0; i < n; i++)
        if (samples[i] > threshold) { where = i; break; }
    return where;
}

// bench: domain=families category=search expect=vectorizable
int find_record(const int32_t *ids, int32_t wanted, int count)
{
    for (int i = 0; i < count; i++)
        if (ids[i] == wanted)
            return i;
    return -1;
}

// bench: domain=families category=search expect=vectorizable
int first_negative_balance(const double *balance, int days)
{
    int d;
    for (d = 0; d < days; d++)
        if (balance[d] < 0.0)
            break;
    return d;
}

// bench: domain=families category=early_exit_store expect=vectorizable
int copy_until_marker(int32_t *restrict out, const int32_t *restrict in, int32_t marker, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        out[i] = in[i];
        if (in[i] == marker)
            break;
    }
    return i;
}

// bench: domain=families category=early_exit_store expect=vectorizable
size_t copy_line(uint8_t *restrict dst, const uint8_t *restrict src, size_t cap)
{
    size_t i;
    for (i = 0; i < cap; i++) {
        dst[i] = src[i];
        if (src[i] == '\n')
            break;
    }
    return i;
}

// bench: domain=families category=early_exit_store expect=vectorizable
int gain_until_clip(float *restrict out, const float *restrict in, float gain, float clip, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        out[i] = in[i] * gain;
        if (in[i] > clip)
            break;
    }
    return i;
}

// bench: domain=families category=wrap_around expect=vectorizable
void periodic_average(float *restrict out, const float *restrict ring, int n)
{
    int im1 = n - 1;
    for (int i = 0; i < n; i++) {
        out[i] = 0.5f * (ring[i] + ring[im1]);
        im1 = i;
    }
}

// bench: domain=families category=wrap_around expect=vectorizable
void periodic_three_tap(int32_t *restrict out, const int32_t *restrict ring, int n)
{
    int im1 = n - 1, im2 = n - 2;
    for (int i = 0; i < n; i++) {
        out[i] = ring[im2] + 2 * ring[im1] + ring[i];
        im2 = im1;
        im1 = i;
    }
}

// bench: domain=families category=wrap_around expect=vectorizable
void backward_difference(double *restrict d, const double *restrict x, double before, int n)
{
    double prev = before;
    for (int i = 0; i < n; i++) {
        d[i] = x[i] - prev;
        prev = x[i];
    }
}

// bench: domain=families category=wrap_around expect=vectorizable
void ring_gradient(float *restrict g, const float *restrict f, int n)
{
    int left = n - 1;
    for (int i = 0; i < n; i++) {
        g[i] = f[i] - f[left];
        left = i;
    }
}

// bench: domain=families category=wrap_around expect=vectorizable
void energy_step(float *restrict step, const float *restrict v, const float *restrict m, int n)
{
    float before = 0.0f, now;
    for (int i = 0; i < n; i++) {
        now = m[i] * v[i] * v[i];
        step[i] = now - before;
        before = now;
    }
}

// bench: domain=families category=last_value expect=vectorizable
int last_dropout(const float *restrict level, float floor_db, int frames)
{
    int last = -1;
    for (int f = 0; f < frames; f++)
        if (level[f] < floor_db)
            last = f;
    return last;
}

// bench: domain=families category=last_value expect=vectorizable
int32_t last_valid_reading(const int32_t *restrict reading, const uint8_t *restrict ok, int32_t fallback, int n)
{
    int32_t value = fallback;
    for (int i = 0; i < n; i++)
        if (ok[i])
            value = reading[i];
    return value;
}

// bench: domain=families category=recurrence expect=vectorizable
void symmetrize_taps(float *restrict taps, int n)
{
    for (int i = 0; i < n; i++)
        taps[i] = 0.5f * (taps[i] + taps[n - 1 - i]);
}

#define FOLD_LEN 4096
float fold_buf[FOLD_LEN], fold_gain[FOLD_LEN], fold_out[FOLD_LEN];

// bench: domain=families category=recurrence expect=vectorizable
void fold_and_keep(void)
{
    for (int i = 0; i < FOLD_LEN; i++) {
        float mixed = fold_buf[FOLD_LEN - 1 - i] * fold_gain[i] + fold_out[i];
        fold_buf[i] = mixed + 1.0f;
        fold_out[i] = mixed;
    }
}

// bench: domain=families category=recurrence expect=vectorizable
void two_stage_delay(float *restrict stage1, float *restrict stage2, const float *restrict in,
                     const float *restrict gain, int n)
{
    for (int i = 1; i < n; i++) {
        stage2[i] = stage1[i - 1] * gain[i] + in[i];
        stage1[i] = in[i] * gain[i];
    }
}

#define COHORTS 192
#define YEARS 128
float stock[YEARS][COHORTS], survival[YEARS][COHORTS], recruits[YEARS][COHORTS];

// bench: domain=families category=guarded_nest expect=vectorizable
void project_live_cohorts(void)
{
    for (int c = 0; c < COHORTS; c++)
        if (stock[0][c] > 0.0f)
            for (int y = 1; y < YEARS; y++)
                stock[y][c] = stock[y - 1][c] * survival[y][c] + recruits[y][c];
}

#define SHEET 192
float sheet[SHEET][SHEET];

// bench: domain=families category=recurrence expect=vectorizable
void relax_wavefront(void)
{
    /* each cell from its left neighbour (just updated) and the cell above (previous row), damped */
    for (int r = 1; r < SHEET; r++)
        for (int c = 1; c < SHEET; c++)
            sheet[r][c] = (sheet[r][c - 1] + sheet[r - 1][c]) / 2.2f;
}
