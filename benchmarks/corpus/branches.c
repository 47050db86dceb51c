/* simdlens benchmark corpus: control flow in the loop body that if-converts to blends (issue 16):
   a switch on a per-element code with break-terminated cases and with cases that fall through into the
   next, and forward gotos that skip the rest of an iteration (one, two to one label, nested). Written
   for this project. */
#include <stddef.h>
#include <stdint.h>

enum blend_op { BLEND_NORMAL, BLEND_ADD, BLEND_MULTIPLY, BLEND_SCREEN };

// bench: domain=families category=switch expect=vectorizable
void blend_layers(float *restrict out, const float *restrict base, const float *restrict top,
                  const uint8_t *restrict mode, int n)
{
    for (int i = 0; i < n; i++) {
        switch (mode[i]) {
        case BLEND_NORMAL:
            out[i] = top[i];
            break;
        case BLEND_ADD:
            out[i] = base[i] + top[i];
            break;
        case BLEND_MULTIPLY:
            out[i] = base[i] * top[i];
            break;
        case BLEND_SCREEN:
            out[i] = 1.0f - (1.0f - base[i]) * (1.0f - top[i]);
            break;
        default:
            out[i] = base[i];
            break;
        }
    }
}

// bench: domain=families category=switch expect=vectorizable
void decode_deltas(int32_t *restrict value, const int32_t *restrict raw, const int8_t *restrict tag, int n)
{
    for (int i = 0; i < n; i++) {
        switch (tag[i]) {
        case 0:
            value[i] = 0;
            break;
        case 1:
        case 2:
            value[i] = raw[i];
            break;
        case 3:
            value[i] = -raw[i];
            break;
        default:
            value[i] = raw[i] << 4;
            break;
        }
    }
}

// bench: domain=families category=switch expect=vectorizable
void material_density(float *restrict rho, const int32_t *restrict material, const float *restrict porosity, int cells)
{
    for (int c = 0; c < cells; c++) {
        float d;
        switch (material[c]) {
        case 1: d = 2.65f; break;
        case 2: d = 1.00f; break;
        case 3: d = 7.87f; break;
        default: d = 0.0f; break;
        }
        rho[c] = d * (1.0f - porosity[c]);
    }
}

// bench: domain=families category=goto expect=vectorizable
void scale_valid(float *restrict out, const float *restrict in, const uint8_t *restrict valid, float gain, int n)
{
    for (int i = 0; i < n; i++) {
        if (!valid[i])
            goto next;
        out[i] = in[i] * gain;
    next:;
    }
}

// bench: domain=families category=goto expect=vectorizable
void denoise_above_floor(int16_t *restrict pcm, const int16_t *restrict noise, int16_t floor_level, int n)
{
    for (int i = 0; i < n; i++) {
        if (noise[i] <= floor_level)
            goto done;
        pcm[i] = (int16_t)(pcm[i] - noise[i]);
    done:
        ;
    }
}

// bench: domain=families category=switch_fallthrough expect=vectorizable
void tier_rewards(int32_t *restrict points, const uint8_t *restrict tier, const int32_t *restrict spend, int n)
{
    for (int i = 0; i < n; i++) {
        int32_t p = 0;
        switch (tier[i]) {
        case 3: p += spend[i] / 4;   /* gold also earns the silver and bronze rewards */
        case 2: p += spend[i] >> 3;
        case 1: p += 10; break;
        default: p = 0;
        }
        points[i] = p;
    }
}

// bench: domain=families category=switch_fallthrough expect=vectorizable
void widen_window(float *restrict w, const int32_t *restrict edge, const float *restrict x, int n)
{
    for (int i = 0; i < n; i++) {
        float v = x[i];
        switch (edge[i]) {
        case -1: v = -v;
        case 0: v = v * 0.5f;
        default: break;
        }
        w[i] = v;
    }
}

// bench: domain=families category=gotos expect=vectorizable
void apply_credit(int32_t *restrict balance, const int32_t *restrict credit, const uint8_t *restrict frozen, int32_t cap, int n)
{
    for (int i = 0; i < n; i++) {
        if (frozen[i])
            goto skip;
        int32_t b = balance[i] + credit[i];
        if (b > cap)
            goto skip;
        balance[i] = b;
    skip:;
    }
}

// bench: domain=families category=gotos expect=vectorizable
void shade_visible(float *restrict color, const float *restrict depth, const float *restrict light, float near_z, float far_z, int n)
{
    for (int i = 0; i < n; i++) {
        if (depth[i] > far_z)
            goto culled;
        if (depth[i] < near_z)
            goto unlit;
        color[i] = color[i] * light[i];
    unlit:
        color[i] = color[i] + 0.05f;
    culled:;
    }
}

// bench: domain=families category=gotos expect=vectorizable
void route_by_sign(float *restrict gain, float *restrict loss, const float *restrict delta,
                   const float *restrict weight, int n)
{
    for (int i = 0; i < n; ++i) {
        if (delta[i] < 0.0f)
            goto negative;
        gain[i] = delta[i] * weight[i];
        goto next;
    negative:
        loss[i] = loss[i] + delta[i] * weight[i];
    next:;
    }
}

// bench: domain=families category=gotos expect=vectorizable
void bounce_step(float *restrict pos, float *restrict vel, const float *restrict acc, const float *restrict drag,
                 float wall, float dt, int n)
{
    for (int i = 0; i < n; i++) {
        if (pos[i] > wall)
            goto reflect;
        vel[i] = vel[i] + acc[i] * dt;
        if (vel[i] <= 0.0f)
            goto move;
        vel[i] = vel[i] * drag[i];
        goto move;
    reflect:
        vel[i] = -vel[i];
    move:
        pos[i] = pos[i] + vel[i] * dt;
    }
}

// bench: domain=families category=goto expect=not_vectorizable
void halve_until_small(float *x, int n)
{
    for (int i = 0; i < n; i++) {
    again:
        x[i] = x[i] * 0.5f;
        if (x[i] > 1.0f && x[i] < 1.0e30f)
            goto again;
    }
}

// bench: domain=families category=goto_carry expect=vectorizable
void settle_or_spill(float *restrict level, float *restrict spill, const float *restrict inflow,
                     const float *restrict cap, int n)
{
    /* a cell under its cap settles; one over it spills into the next cell's spill, which that cell reads
       when it settles (TSVC s161 style: the two paths never meet in one iteration) */
    for (int i = 0; i < n - 1; i++) {
        if (inflow[i] > cap[i])
            goto overflow;
        level[i] = spill[i] + inflow[i];
        goto next;
    overflow:
        spill[i + 1] = (inflow[i] - cap[i]) + level[i] * 0.5f;
    next:;
    }
}

#define CELLS 4096
double pressure[CELLS], carry_in[CELLS], demand[CELLS], gain[CELLS];

// bench: domain=families category=goto_carry expect=vectorizable
void relay_pressure(void)
{
    for (int i = 0; i < CELLS - 1; i++) {
        if (demand[i] >= 0.0)
            goto pass_on;
        pressure[i] = carry_in[i] * gain[i] + demand[i];
        continue;
    pass_on:
        carry_in[i + 1] = pressure[i] - demand[i] * gain[i];
    }
}
