// simdlens benchmark corpus: C++ containers of structures (std::vector, std::array, plain arrays of
// structures) indexed `ps[i].f` and walked by range-based for, as game, physics and image code writes
// them. Written for this project. The last one is refused: its member is itself a container.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

struct Particle { float x, y, z, vx, vy, vz; };
struct Vec3 { float x, y, z; };
struct Rgba { std::uint8_t r, g, b, a; };
struct Sample { float re, im; };
struct Body { Vec3 pos; Vec3 vel; float mass, radius; };
struct Spline { std::vector<float> knots; float weight; };

// bench: domain=physics category=stride expect=vectorizable
void particles_drift_x(std::vector<Particle> &ps, float dt)
{
    for (std::size_t i = 0; i < ps.size(); i++)
        ps[i].x += ps[i].vx * dt;
}

// bench: domain=physics category=stride expect=vectorizable
void particles_drift(std::vector<Particle> &ps, float dt)
{
    for (auto &p : ps) {
        p.x += p.vx * dt;
        p.y += p.vy * dt;
        p.z += p.vz * dt;
    }
}

// bench: domain=physics category=reduction expect=vectorizable
float particles_speed2(const std::vector<Particle> &ps)
{
    float e = 0.0f;
    for (const Particle &p : ps)
        e += p.vx * p.vx + p.vy * p.vy + p.vz * p.vz;
    return e;
}

// bench: domain=physics category=elementwise expect=vectorizable
void points_scale(std::vector<Vec3> &pts, float s)
{
    for (Vec3 &p : pts) {
        p.x *= s;
        p.y *= s;
        p.z *= s;
    }
}

// bench: domain=physics category=reduction expect=vectorizable
float points_radius2_sum(const std::vector<Vec3> &pts)
{
    float r = 0.0f;
    for (auto p : pts)
        r += p.x * p.x + p.y * p.y + p.z * p.z;
    return r;
}

// bench: domain=image category=conversion expect=vectorizable
void rgba_to_luma(const std::vector<Rgba> &px, std::vector<std::uint8_t> &luma)
{
    for (std::size_t i = 0; i < px.size(); i++)
        luma[i] = (std::uint8_t)((77 * px[i].r + 150 * px[i].g + 29 * px[i].b) >> 8);
}

// bench: domain=image category=stride expect=vectorizable
void rgba_premultiply_alpha_gray(std::vector<Rgba> &px)
{
    for (auto &q : px) {
        q.r = (std::uint8_t)((q.r * q.a) >> 8);
        q.g = (std::uint8_t)((q.g * q.a) >> 8);
        q.b = (std::uint8_t)((q.b * q.a) >> 8);
    }
}

// bench: domain=audio category=stride expect=vectorizable
void samples_power(const std::vector<Sample> &z, std::vector<float> &power)
{
    for (std::size_t i = 0; i < z.size(); i++)
        power[i] = z[i].re * z[i].re + z[i].im * z[i].im;
}

// bench: domain=audio category=elementwise expect=vectorizable
void samples_gain(std::array<Sample, 1024> &block, float g)
{
    for (Sample &s : block) {
        s.re *= g;
        s.im *= g;
    }
}

// bench: domain=physics category=stride expect=vectorizable
void bodies_fall(std::vector<Body> &bodies, float g, float dt)
{
    for (auto &b : bodies)
        b.vel.y -= g * dt;
}

// bench: domain=physics category=reduction expect=vectorizable
float bodies_mass(const std::vector<Body> &bodies)
{
    float m = 0.0f;
    for (const Body &b : bodies)
        m += b.mass;
    return m;
}

// bench: domain=physics category=stride expect=not_vectorizable
float splines_first_knot(const std::vector<Spline> &splines)
{
    float s = 0.0f;
    for (const Spline &sp : splines)
        s += sp.knots[0] * sp.weight;
    return s;
}
