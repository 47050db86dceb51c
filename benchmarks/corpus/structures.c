/* simdlens benchmark corpus: loops over arrays of structures (particles, complex samples as structs, pixels,
 * stereo frames, records with fixed-size array members), read and written member by member. Written for
 * this project. The last two are refused: a packed record whose members are not whole floats apart, and
 * a record whose members the loop reads as two different types. */
#include <stddef.h>
#include <stdint.h>
#include <math.h>

typedef struct { float x, y, z; } particle3;
typedef struct { float re, im; } cpx32;
typedef struct { uint8_t r, g, b, a; } rgba8;
typedef struct { int16_t left, right; } frame16;
typedef struct { double x, y; } point2d;
typedef struct { float px, py, pz, mass; } body4;
typedef struct { float c[4]; } quad4;
typedef struct __attribute__((packed)) { uint8_t tag; float value; } packed_sample;
typedef struct { float weight; int32_t count; } tally;
typedef struct { particle3 pos, vel; float mass, charge; } particle;

// bench: domain=physics category=stride expect=vectorizable_with_checks
void particles_advance(particle3 *pos, const particle3 *vel, float dt, int n)
{
    for (int i = 0; i < n; i++) {
        pos[i].x += vel[i].x * dt;
        pos[i].y += vel[i].y * dt;
        pos[i].z += vel[i].z * dt;
    }
}

// bench: domain=audio category=stride expect=vectorizable_with_checks
void cpx_struct_power(float *power, const cpx32 *z, int n)
{
    for (int i = 0; i < n; i++)
        power[i] = z[i].re * z[i].re + z[i].im * z[i].im;
}

// bench: domain=audio category=stride expect=vectorizable
void cpx_struct_multiply(cpx32 *restrict out, const cpx32 *restrict a, const cpx32 *restrict b, int n)
{
    for (int i = 0; i < n; i++) {
        float re = a[i].re * b[i].re - a[i].im * b[i].im;
        float im = a[i].re * b[i].im + a[i].im * b[i].re;
        out[i].re = re;
        out[i].im = im;
    }
}

// bench: domain=image category=stride expect=vectorizable_with_checks
void rgba_to_luma(uint8_t *luma, const rgba8 *px, int n)
{
    for (int i = 0; i < n; i++)
        luma[i] = (uint8_t)((77 * px[i].r + 150 * px[i].g + 29 * px[i].b) >> 8);
}

// bench: domain=image category=stride expect=vectorizable_with_checks
void grey_to_rgba(rgba8 *px, const uint8_t *grey, int n)
{
    for (int i = 0; i < n; i++) {
        px[i].r = grey[i];
        px[i].g = grey[i];
        px[i].b = grey[i];
        px[i].a = 255;
    }
}

// bench: domain=physics category=stride expect=vectorizable
void particles_scale_x(particle3 *p, float s, int n)
{
    for (; n > 0; n--, p++)
        p->x *= s;
}

// bench: domain=physics category=stride expect=vectorizable
void particles_gravity(particle *p, float g_dt, int n)
{
    for (; n > 0; n--, p++)
        p->vel.z -= g_dt;
}

// bench: domain=audio category=stride expect=vectorizable_with_checks
void frames_to_mono(int16_t *mono, const frame16 *st, int n)
{
    for (int i = 0; i < n; i++)
        mono[i] = (int16_t)((st[i].left + st[i].right) >> 1);
}

// bench: domain=physics category=stride expect=vectorizable_with_checks
void points_radius(double *r, const point2d *pt, int n)
{
    for (int i = 0; i < n; i++)
        r[i] = sqrt(pt[i].x * pt[i].x + pt[i].y * pt[i].y);
}

// bench: domain=physics category=reduction expect=vectorizable
float bodies_total_mass(const body4 *b, int n)
{
    float total = 0.0f;
    for (int i = 0; i < n; i++)
        total += b[i].mass;
    return total;
}

// bench: domain=physics category=stride expect=vectorizable_with_checks
void bodies_gather_xy(body4 *b, const float *x, const float *y, int n)
{
    for (int i = 0; i < n; i++) {
        b[i].px = x[i];
        b[i].py = y[i];
    }
}

// bench: domain=image category=stride expect=vectorizable_with_checks
void quads_sum(float *out, const quad4 *q, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = q[i].c[0] + q[i].c[1] + q[i].c[2] + q[i].c[3];
}

// bench: domain=audio category=stride expect=vectorizable_with_checks
void packed_values_scale(float *out, const packed_sample *s, float g, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = s[i].value * g;
}

// bench: domain=physics category=stride expect=vectorizable_with_checks
void tallies_mean(float *out, const tally *t, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = t[i].weight / (float)t[i].count;
}
