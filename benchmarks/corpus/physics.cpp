// simdlens benchmark corpus: physics and simulation (C++).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

struct Particles {
    std::vector<float> x, y, z;
    std::vector<float> vx, vy, vz;
};

// bench: domain=physics category=elementwise expect=vectorizable
void integrate_positions(float *__restrict x, const float *__restrict vx, int n, float dt)
{
    for (int i = 0; i < n; i++)
        x[i] += vx[i] * dt;
}

// bench: domain=physics category=elementwise expect=vectorizable
void apply_gravity(std::vector<float> &vy, float g, float dt)
{
    for (std::size_t i = 0; i < vy.size(); i++)
        vy[i] -= g * dt;
}

// bench: domain=physics category=math_call expect=vectorizable
void speeds(float *__restrict out, const float *__restrict vx, const float *__restrict vy,
            const float *__restrict vz, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = std::sqrt(vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
}

// bench: domain=physics category=select expect=vectorizable
void bounce_floor(float *__restrict y, float *__restrict vy, int n, float restitution)
{
    for (int i = 0; i < n; i++) {
        if (y[i] < 0.0f) {
            y[i] = -y[i];
            vy[i] = -vy[i] * restitution;
        }
    }
}

// bench: domain=physics category=reduction expect=vectorizable
double kinetic_energy(const double *__restrict m, const double *__restrict v2, int n)
{
    double e = 0.0;
    for (int i = 0; i < n; i++)
        e += 0.5 * m[i] * v2[i];
    return e;
}

// bench: domain=physics category=stencil expect=vectorizable
void diffuse_1d(double *__restrict next, const double *__restrict cur, int n, double k)
{
    for (int i = 1; i < n - 1; i++)
        next[i] = cur[i] + k * (cur[i - 1] - 2.0 * cur[i] + cur[i + 1]);
}

// bench: domain=physics category=scan expect=vectorizable_with_checks
void prefix_mass(double *cum, const double *m, int n)
{
    for (int i = 1; i < n; i++)
        cum[i] = cum[i - 1] + m[i];
}

// bench: domain=physics category=stride expect=vectorizable
void aos_x_scale(float *__restrict xyz, int n, float s)
{
    for (int i = 0; i < n; i++)
        xyz[3 * i] *= s;
}

// bench: domain=physics category=reduction expect=vectorizable
float min_distance_sq(const float *__restrict dx, const float *__restrict dy, int n)
{
    float best = 1e30f;
    for (int i = 0; i < n; i++) {
        float d = dx[i] * dx[i] + dy[i] * dy[i];
        if (d < best) best = d;
    }
    return best;
}

// bench: domain=physics category=elementwise expect=vectorizable
void damp(Particles &p, float factor)
{
    float *vx = p.vx.data();
    for (std::size_t i = 0; i < p.vx.size(); i++)
        vx[i] *= factor;
}

// bench: domain=physics category=call expect=not_vectorizable
void random_kick(float *v, int n, float (*rng)())
{
    for (int i = 0; i < n; i++)
        v[i] += rng();
}

struct Body {
    float px, py, pz;
    float vx, vy, vz;
    float mass, radius;
};

// bench: domain=physics category=reduction expect=vectorizable
float body_kinetic_energy(const Body *bodies, int n)
{
    float e = 0.0f;
    for (int i = 0; i < n; i++) {
        const Body &b = bodies[i];  // a reference to the element, as game code writes it
        e += 0.5f * b.mass * (b.vx * b.vx + b.vy * b.vy + b.vz * b.vz);
    }
    return e;
}

// bench: domain=physics category=reduction expect=vectorizable
float total_mass(const std::vector<float> &masses)
{
    float m = 0.0f;
    for (std::vector<float>::const_iterator it = masses.begin(); it != masses.end(); ++it)
        m += *it;
    return m;
}

// bench: domain=physics category=elementwise expect=vectorizable
void damp_speeds(std::vector<float> &speed, float k)
{
    for (auto it = speed.begin(); it != speed.end(); ++it) {
        float &s = *it;
        s -= k * s;
    }
}
