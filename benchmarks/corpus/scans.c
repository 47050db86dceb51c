/* simdlens benchmark corpus: recurrences a SIMD scan computes (compilers leave them scalar), coupled
   pairs among them (`a[i] = b[i - 1] + c[i]; b[i] = a[i] * d[i];`). */
#include <stddef.h>
#include <stdint.h>

// bench: domain=scan category=scan expect=vectorizable
void cumulative_histogram(uint32_t *restrict cdf, const uint32_t *restrict hist, int bins)
{
    cdf[0] = hist[0];
    for (int b = 1; b < bins; b++)
        cdf[b] = cdf[b - 1] + hist[b];
}

// bench: domain=scan category=scan expect=vectorizable
void integral_row(float *restrict acc, const float *restrict row, int width)
{
    for (int x = 1; x < width; x++)
        acc[x] = acc[x - 1] + row[x];
}

// bench: domain=scan category=scan expect=vectorizable
void running_energy(double *restrict e, const float *restrict s, int n)
{
    for (int i = 1; i < n; i++)
        e[i] = e[i - 1] + (double)s[i] * s[i];
}

// bench: domain=scan category=scan expect=vectorizable
void offsets_from_sizes(int64_t *restrict offset, const int32_t *restrict size, int count)
{
    for (int i = 1; i < count; i++)
        offset[i] = offset[i - 1] + size[i - 1];
}

// bench: domain=scan category=scan expect=vectorizable
void in_place_prefix(int32_t *v, int n)
{
    for (int i = 1; i < n; i++)
        v[i] += v[i - 1];
}

// bench: domain=scan category=linear_recurrence expect=vectorizable
void leaky_integrator(float *restrict y, const float *restrict x, float leak, int n)
{
    for (int i = 1; i < n; i++)
        y[i] = leak * y[i - 1] + x[i];
}

// bench: domain=scan category=linear_recurrence expect=vectorizable
void varying_gain_iir(float *restrict y, const float *restrict g, const float *restrict x, int n)
{
    for (int i = 1; i < n; i++)
        y[i] = g[i] * y[i - 1] + x[i];
}

// bench: domain=scan category=linear_recurrence expect=vectorizable
void compound_balance(double *restrict bal, const double *restrict rate, const double *restrict deposit, int months)
{
    for (int m = 1; m < months; m++)
        bal[m] = bal[m - 1] * rate[m] + deposit[m];
}

// bench: domain=scan category=recurrence expect=not_vectorizable
void logistic_chain(float *x, float r, int n)
{
    for (int i = 1; i < n; i++)
        x[i] = r * x[i - 1] * (1.0f - x[i - 1]);
}

// bench: domain=scan category=second_order expect=vectorizable
void second_order(float *restrict y, const float *restrict x, float a1, float a2, int n)
{
    for (int i = 2; i < n; i++)
        y[i] = x[i] + a1 * y[i - 1] + a2 * y[i - 2];
}

#define SPAN 4096
float s_in[SPAN], s_out[SPAN], s_gain[SPAN], s_bias[SPAN];

// bench: domain=scan category=coupled_recurrence expect=vectorizable
void staged_gain(void)
{
    for (int i = 1; i < SPAN; i++) {
        s_in[i] = s_out[i - 1] + s_bias[i];
        s_out[i] = s_in[i] * s_gain[i];
    }
}

// bench: domain=scan category=coupled_recurrence expect=vectorizable
void leaky_stage_pair(double *restrict level, double *restrict flow, const double *restrict inflow, double leak, int n)
{
    for (int t = 1; t < n; t++) {
        flow[t] = leak * level[t - 1] + inflow[t];
        level[t] = flow[t] - 0.25 * inflow[t];
    }
}

// bench: domain=scan category=coupled_recurrence expect=vectorizable
void ledger_pair(int64_t *restrict opening, int64_t *restrict closing, const int64_t *restrict moves, int days)
{
    for (int d = 1; d < days; d++) {
        opening[d] = closing[d - 1];
        closing[d] = opening[d] + moves[d];
    }
}

// bench: domain=scan category=scan expect=vectorizable
void cumulative_cost(float *restrict cost, const float *restrict base, const float *restrict extra, float fee, float tax, int n)
{
    for (int i = 1; i < n; i++)
        cost[i] = cost[i - 1] + fee + tax + base[i] - extra[i];
}

// bench: domain=scan category=scan expect=vectorizable
void settle_and_total(float *restrict settled, float *restrict total, const float *restrict rate, const float *restrict qty, int n)
{
    for (int i = 1; i < n; i++) {
        settled[i] += rate[i] * qty[i];
        total[i] = total[i - 1] + settled[i] + qty[i];
    }
}

/* Two coupled recurrences, each from the previous elements of both: a 2 x 2 linear system (matrix scan). */

// bench: domain=scan category=coupled_recurrence expect=vectorizable
void smooth_level_and_trend(double *restrict level, double *restrict trend, const double *restrict obs,
                            const double *restrict weight, const double *restrict retain, int n)
{
    for (int t = 1; t < n; t++) {
        level[t] = weight[t] * obs[t] + retain[t] * (level[t - 1] + trend[t - 1]);
        trend[t] = 0.8 * trend[t - 1] + 0.1 * level[t];
    }
}

#define TANK_STEPS 4096
float tank_upper[TANK_STEPS], tank_lower[TANK_STEPS], inflow_upper[TANK_STEPS], inflow_lower[TANK_STEPS];

// bench: domain=scan category=coupled_recurrence expect=vectorizable
void two_tank_levels(void)
{
    for (int k = 1; k < TANK_STEPS; k++) {
        tank_upper[k] = 0.92f * tank_upper[k - 1] + 0.03f * tank_lower[k - 1] + inflow_upper[k];
        tank_lower[k] = 0.06f * tank_upper[k - 1] + 0.9f * tank_lower[k - 1] + inflow_lower[k];
    }
}

// bench: domain=scan category=linear_recurrence expect=vectorizable
void weighted_average_track(float *restrict avg, const float *restrict reading, int n)
{
    /* three parts history, one part new reading: the recurrence divided by a constant */
    for (int i = 1; i < n; i++)
        avg[i] = (avg[i - 1] * 3.0f + reading[i]) / 4.0f;
}

// bench: domain=scan category=scan expect=vectorizable
void reservoir_drawdown(float *restrict level, const float *restrict draw, int n)
{
    /* each day's level is yesterday's minus the day's draw: a running sum of negated terms */
    for (int d = 1; d < n; d++)
        level[d] = level[d - 1] - draw[d];
}

// bench: domain=scan category=linear_recurrence expect=vectorizable
void toggle_duty(float *restrict duty, int n)
{
    /* a duty cycle that flips to its complement each period: factor -1, constant term */
    for (int p = 1; p < n; p++)
        duty[p] = 1.0f - duty[p - 1];
}

// bench: domain=scan category=linear_recurrence expect=vectorizable
void damped_error_feedback(double *restrict err, const double *restrict demand, int n)
{
    /* a quarter of the gap between demand and the previous correction: factor -0.25 */
    for (int k = 1; k < n; k++)
        err[k] = 0.25 * (demand[k] - err[k - 1]);
}

// bench: domain=scan category=linear_recurrence expect=vectorizable
void compounding_with_deposit(float *restrict balance, const float *restrict deposit,
                              const float *restrict growth, int n)
{
    /* the deposit joins the balance before the period's growth applies: a product over a sum */
    for (int m = 1; m < n; m++)
        balance[m] = growth[m] * (deposit[m] + balance[m - 1]);
}

// bench: domain=scan category=recurrence expect=not_vectorizable
void forward_eliminate(float *restrict elim, const float *restrict rhs, const float *restrict pivot, int n)
{
    /* tridiagonal forward sweep: the negated, varying factor -pivot[i] makes the scan's terms cancel */
    for (int i = 1; i < n; i++)
        elim[i] = pivot[i] * (rhs[i] - elim[i - 1]);
}

#define SHEET 96
double sheet_val[SHEET][SHEET], pull_n[SHEET][SHEET], pull_s[SHEET][SHEET], pull_e[SHEET][SHEET], pull_w[SHEET][SHEET];

// bench: domain=scan category=linear_recurrence expect=vectorizable
void implicit_row_relax(void)
{
    /* a Gauss-Seidel-style sweep along each row: the west neighbour is already updated (a recurrence
       through the temporary), the east one not yet, the rows above and below are other rows */
    for (int r = 1; r < SHEET - 1; r++)
        for (int c = 1; c < SHEET - 1; c++) {
            double pull = sheet_val[r + 1][c] * pull_n[r][c] + sheet_val[r - 1][c] * pull_s[r][c]
                        + sheet_val[r][c + 1] * pull_e[r][c] + sheet_val[r][c - 1] * pull_w[r][c];
            sheet_val[r][c] += 0.3 * (pull - sheet_val[r][c]);
        }
}
