/* simdlens benchmark corpus: values carried in a scalar from one iteration to the next and stored on
   every iteration (issue 16): running totals and filters kept in a local variable, and the last value
   seen under a condition (sample-and-hold, forward fill). Written for this project. */
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
