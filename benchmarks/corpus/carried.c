/* simdlens benchmark corpus: values carried in a scalar from one iteration to the next and stored on
   every iteration (issue 16): running totals and filters kept in a local variable, and the last value
   seen under a condition (sample-and-hold, forward fill), and the inverse of packing (unpack / expand:
   `if (m[i]) out[i] = packed[j++];`). Written for this project. */
#include <stddef.h>
#include <stdint.h>

// bench: domain=families category=scalar_scan expect=vectorizable
void cumulative_rainfall(float *restrict total, const float *restrict rain, int days)
{
    float sum = 0.0f;
    for (int d = 0; d < days; d++) {
        sum += rain[d];
        total[d] = sum;
    }
}

// bench: domain=families category=scalar_scan expect=vectorizable
double balance_history(double *restrict history, const double *restrict delta, double opening, int n)
{
    double balance = opening;
    for (int i = 0; i < n; i++) {
        balance += delta[i];
        history[i] = balance;
    }
    return balance;
}

// bench: domain=families category=scalar_scan expect=vectorizable
void energy_envelope(float *restrict env, const float *restrict x, int n)
{
    float e = 0.0f;
    for (int i = 0; i < n; i++) {
        e += x[i] * x[i];
        env[i] = e;
    }
}

// bench: domain=families category=scalar_scan expect=vectorizable
void clip_start_times(float *restrict start, const float *restrict duration, float t0, int clips)
{
    float t = t0;
    for (int c = 0; c < clips; c++) {
        start[c] = t;
        t += duration[c];
    }
}

// bench: domain=families category=scalar_scan expect=vectorizable
void exponential_smoothing(float *restrict smooth, const float *restrict x, float alpha, int n)
{
    float s = x[0];
    for (int i = 0; i < n; i++) {
        s = alpha * x[i] + (1.0f - alpha) * s;
        smooth[i] = s;
    }
}

// bench: domain=families category=scalar_scan expect=vectorizable
void drift_corrected(double *restrict pos, const double *restrict vel, const double *restrict bias, double dt, int n)
{
    double p = 0.0;
    for (int i = 0; i < n; i++) {
        p += (vel[i] - bias[i]) * dt;
        pos[i] = p;
    }
}

// bench: domain=families category=hold expect=vectorizable
void hold_last_valid(float *restrict out, const float *restrict sample, const uint8_t *restrict valid, int n)
{
    float last = 0.0f;
    for (int i = 0; i < n; i++) {
        if (valid[i])
            last = sample[i];
        out[i] = last;
    }
}

// bench: domain=families category=hold expect=vectorizable
void forward_fill(double *restrict filled, const double *restrict price, double first, int n)
{
    double last = first;
    for (int i = 0; i < n; i++) {
        if (price[i] == price[i])
            last = price[i];
        filled[i] = last;
    }
}

// bench: domain=families category=hold expect=vectorizable
void current_setpoint(int32_t *restrict target, const int32_t *restrict command, int32_t initial, int n)
{
    int32_t setpoint = initial;
    for (int i = 0; i < n; i++) {
        if (command[i] >= 0)
            setpoint = command[i];
        target[i] = setpoint;
    }
}

// bench: domain=families category=hold expect=vectorizable
void samples_since_beat(int32_t *restrict since, const float *restrict level, float threshold, int n)
{
    int beat = 0;
    for (int i = 0; i < n; i++) {
        if (level[i] > threshold)
            beat = i;
        since[i] = i - beat;
    }
}

// bench: domain=families category=expand expect=vectorizable
int scatter_corrections(float *restrict y, const float *restrict x, const float *restrict correction, float limit, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (x[i] > limit)
            y[i] = correction[k++];
    return k;
}

// bench: domain=families category=expand expect=vectorizable
int unpack_coefficients(int32_t *restrict coef, const int32_t *restrict level, const uint8_t *restrict significant, int n)
{
    int next = 0;
    for (int i = 0; i < n; i++) {
        if (significant[i]) {
            coef[i] = level[next];
            next++;
        } else {
            coef[i] = 0;
        }
    }
    return next;
}

// bench: domain=families category=expand expect=vectorizable
int restore_valid(double *restrict series, const double *restrict kept, const uint8_t *restrict present, double gap, int n)
{
    int j = 0;
    for (int i = 0; i < n; i++) {
        if (present[i])
            series[i] = kept[j++];
        else
            series[i] = gap;
    }
    return j;
}

// bench: domain=families category=wrap_around expect=vectorizable
void delay_line_mix(float *restrict out, float *restrict line, const float *restrict input,
                    const float *restrict feedback, const float *restrict wet, int n)
{
    float held = 0.0f;
    for (int i = 0; i < n; i++) {
        out[i] = held * wet[i];
        held = line[i] + input[i];
        line[i] = out[i] + feedback[i];
    }
}

// bench: domain=families category=scalar_scan expect=vectorizable
void feedback_echo(float *restrict wet, const float *restrict dry, float mix, float decay, int n)
{
    float echo = 0.0f;
    for (int i = 0; i < n; i++) {
        float y = mix * dry[i] + echo;
        wet[i] = y;
        echo = decay * y;
    }
}

// bench: domain=families category=scalar_scan expect=vectorizable
double reservoir_levels(double *restrict level, const double *restrict inflow, const double *restrict outflow,
                        double retain, int n)
{
    double stored = 0.0;
    for (int i = 0; i < n; i++) {
        double net = inflow[i] - outflow[i];
        double total = stored + net;
        level[i] = total;
        stored = total * retain;
    }
    return stored;
}

// bench: domain=families category=scalar_scan expect=vectorizable
void biquad_section(const float *restrict in, float *restrict out, const float *restrict coef,
                    float *restrict state, int n)
{
    /* Direct Form II transposed, feedback coefficients stored negated (added, not subtracted) */
    float b0 = coef[0], b1 = coef[1], b2 = coef[2], na1 = coef[3], na2 = coef[4];
    float z1 = state[0], z2 = state[1];
    for (int i = 0; i < n; i++) {
        float sample = in[i];
        float y = b0 * sample + z1;
        z1 = b1 * sample + na1 * y + z2;
        z2 = b2 * sample + na2 * y;
        out[i] = y;
    }
    state[0] = z1;
    state[1] = z2;
}

// bench: domain=families category=scalar_scan expect=vectorizable
double resonator_track(const double *restrict force, double *restrict position, double keep, double couple,
                       double gain, int n)
{
    double p = 0.0, v = 0.0;
    for (int i = 0; i < n; i++) {
        double next_p = keep * p + couple * v + gain * force[i];
        v = couple * p + keep * v;
        p = next_p;
        position[i] = next_p;
    }
    return p + v;
}

// bench: domain=families category=scalar_scan expect=not_vectorizable
void biquad_subtracting(const float *restrict in, float *restrict out, float b0, float b1, float b2,
                        float a1, float a2, int n)
{
    float w1 = 0.0f, w2 = 0.0f;
    for (int i = 0; i < n; i++) {
        float y = b0 * in[i] + w1;
        w1 = b1 * in[i] - a1 * y + w2;
        w2 = b2 * in[i] - a2 * y;
        out[i] = y;
    }
}

// bench: domain=families category=scalar_scan expect=vectorizable
void halfway_chaser(float *restrict pos, const float *restrict goal, int n)
{
    /* half of what separates the goal from the previous value: factor -0.5, carried in a scalar */
    float p = 0.0f;
    for (int i = 0; i < n; i++) {
        p = 0.5f * (goal[i] - p);
        pos[i] = p;
    }
}
