/* simdlens expert reference set: C++ containers of structures (benchmarks/corpus/aos_containers.cpp),
   hand-tuned AVX2. Written for this project; see src/simdlens/expert_set.py for the link and block format.
   The blocks reach the structures through `&ps[i]` (the user's std::vector here, the kernel's pointer in
   the sandbox) and count with `ps.size()` (the kernel's size parameter there). */
#include <immintrin.h>
#include <cstddef>
#include <cstdint>
#include <vector>

struct Particle { float x, y, z, vx, vy, vz; };
struct Rgba { std::uint8_t r, g, b, a; };

// expert: corpus=aos_containers.cpp function=particles_drift isa=avx2
void particles_drift(std::vector<Particle> &ps, float dt)
{
    // expert loop {
    /* 4 particles are 24 floats, three registers whose lane pattern repeats: each register plus the one
       loaded 3 floats further on (vx under x, vy under y, vz under z) times dt is the new position in the
       position lanes, blended back over the velocity lanes (stored unchanged). Multiply then add, as the
       loop does (no FMA: exact). The load 3 floats on reaches 3 floats into the next particle, so the
       vector loop stops one particle early. */
    const std::size_t n = ps.size();
    const __m256 k = _mm256_set1_ps(dt);
    std::size_t i = 0;
    for (; i + 5 <= n; i += 4) {
        float *f = (float *)&ps[i];
        __m256 a0 = _mm256_loadu_ps(f), a1 = _mm256_loadu_ps(f + 8), a2 = _mm256_loadu_ps(f + 16);
        __m256 v0 = _mm256_loadu_ps(f + 3), v1 = _mm256_loadu_ps(f + 11), v2 = _mm256_loadu_ps(f + 19);
        /* lanes holding x, y, z: floats 0-2, 6-8, 12-14, 18-20 of the 24 */
        _mm256_storeu_ps(f, _mm256_blend_ps(a0, _mm256_add_ps(a0, _mm256_mul_ps(v0, k)), 0xC7));
        _mm256_storeu_ps(f + 8, _mm256_blend_ps(a1, _mm256_add_ps(a1, _mm256_mul_ps(v1, k)), 0x71));
        _mm256_storeu_ps(f + 16, _mm256_blend_ps(a2, _mm256_add_ps(a2, _mm256_mul_ps(v2, k)), 0x1C));
    }
    for (; i < n; i++) {
        Particle &p = ps[i];
        p.x += p.vx * dt;
        p.y += p.vy * dt;
        p.z += p.vz * dt;
    }
    // } expert loop
}

// expert: corpus=aos_containers.cpp function=rgba_to_luma isa=avx2
void rgba_to_luma(const std::vector<Rgba> &px, std::vector<std::uint8_t> &luma)
{
    // expert loop {
    /* 8 pixels per register as 32-bit words r | g << 8 | b << 16 | a << 24: the even bytes (r, b) and the
       odd ones (g, a) as 16-bit lanes, two vpmaddwd with (77, 29) and (150, 0) give 77r + 150g + 29b per
       pixel in 32 bits (exact: at most 65280), shifted, packed to bytes and put back in pixel order with
       one vpermd for 32 pixels */
    const std::size_t n = px.size();
    const __m256i low = _mm256_set1_epi32(0x00FF00FF);
    const __m256i wrb = _mm256_set1_epi32(29 << 16 | 77), wga = _mm256_set1_epi32(150);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i s[4];
        for (int k = 0; k < 4; k++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)&px[i + 8 * k]);
            __m256i rb = _mm256_and_si256(v, low), ga = _mm256_srli_epi16(v, 8);
            s[k] = _mm256_srli_epi32(_mm256_add_epi32(_mm256_madd_epi16(rb, wrb), _mm256_madd_epi16(ga, wga)), 8);
        }
        __m256i b = _mm256_packus_epi16(_mm256_packus_epi32(s[0], s[1]), _mm256_packus_epi32(s[2], s[3]));
        _mm256_storeu_si256((__m256i *)&luma[i], _mm256_permutevar8x32_epi32(b, order));
    }
    for (; i < n; i++)
        luma[i] = (std::uint8_t)((77 * px[i].r + 150 * px[i].g + 29 * px[i].b) >> 8);
    // } expert loop
}
