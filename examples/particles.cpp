// particles.cpp - a tiny particle system stored as a struct of arrays.
#include <cstddef>
#include <vector>

struct Particles {
    std::vector<float> x, y, z;
    std::vector<float> vx, vy, vz;

    explicit Particles(std::size_t n) : x(n), y(n), z(n), vx(n), vy(n), vz(n) {}

    std::size_t size() const { return x.size(); }

    // Move every particle along its velocity for one time step.
    void integrate(float dt)
    {
        const std::size_t n = size();
        for (std::size_t i = 0; i < n; i++) {
            x[i] += vx[i] * dt;
            y[i] += vy[i] * dt;
            z[i] += vz[i] * dt;
        }
    }

    // Constant acceleration (gravity) on the vertical velocity.
    void apply_gravity(float g, float dt)
    {
        for (float &v : vy)
            v -= g * dt;
    }
};

// Damp all velocities by a factor (air drag).
void damp(std::vector<float> &v, float factor)
{
    for (std::size_t i = 0; i < v.size(); ++i)
        v[i] *= factor;
}

// Total kinetic energy (unit mass).
float kinetic_energy(const Particles &p)
{
    float e = 0.0f;
    for (std::size_t i = 0; i < p.size(); ++i)
        e += 0.5f * (p.vx[i] * p.vx[i] + p.vy[i] * p.vy[i] + p.vz[i] * p.vz[i]);
    return e;
}
