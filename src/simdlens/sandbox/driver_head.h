/* simdlens test driver, part 1 of 2: types, random data and allocation.
 *
 * A generated driver is:  driver_head.h + the kernel's preamble + generated tables and call glue
 * (harness.py) + driver_main.c.  Everything here is prefixed sl_ so the user's preamble macros
 * cannot collide with it.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define SL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_ASAN 1
#endif
#endif
#ifdef SL_ASAN
#ifdef __cplusplus
extern "C" {
#endif
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#ifdef __cplusplus
}
#endif
#define SL_POISON(p, n) __asan_poison_memory_region((p), (n))
#define SL_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define SL_POISON(p, n) ((void)0)
#define SL_UNPOISON(p, n) ((void)0)
#endif

#ifdef __cplusplus
/* C++ does not convert void* to T* implicitly; this does, for passing buffers to any pointer param. */
struct sl_any {
    void *p;
    template <class T> operator T *() const { return static_cast<T *>(p); }
};
static inline sl_any SL_P(void *p) { sl_any a = {p}; return a; }
#else
#define SL_P(p) (p)
#endif

enum { SL_I8, SL_U8, SL_I16, SL_U16, SL_I32, SL_U32, SL_I64, SL_U64, SL_F32, SL_F64, SL_BOOL };
enum { SL_IN, SL_OUT, SL_INOUT, SL_RESULT, SL_SCALAR, SL_COUNT, SL_SIZE, SL_EXTENT };
enum { SL_DATA_EXACT = 0, SL_DATA_TOLERANT = 1, SL_DATA_BENCH = 2, SL_DATA_ZERO_SIGN = 3 };
/* SL_DATA_ZERO_SIGN: exact data and comparison, except that +0 and -0 count as equal (a candidate whose
 * caveat says a zero's sign is the compiler's choice: C's fmaxf/fminf on a +0/-0 tie). */
static int sl_zero_sign_free = 0;

typedef struct {
    const char *name;
    int role;
    int kind;
    int esz;
    int indexes; /* an index array: the parameter its values subscript (gather/scatter), else -1 */
    int spread;  /* an integer scalar in subscripts (a dependence distance...): odd seeds give it 8..127 */
    int divisor; /* an integer divisor (`a[i] / b[i]`): never 0 or -1, which C leaves undefined (x / 0, INT_MIN / -1) */
    int cplx;    /* a complex scalar: its imaginary part is drawn too (case state dv[SL_NPARAMS + 1 + j]) */
    int unit;    /* a run-time stride a rewrite guards as unit: this unit in even-seed cases, others in odd ones; else 0 */
    int view;    /* a byte array read as wider elements (`*(float *)p`): their size, its pointer's alignment; else 0 */
} sl_param;

#ifndef __cplusplus
/* A complex scalar from its parts without arithmetic (x + y*I would turn an infinite y into a NaN real part). */
static float _Complex sl_complexf(double re, double im) {
    union { float _Complex z; float p[2]; } u;
    u.p[0] = (float)re;
    u.p[1] = (float)im;
    return u.z;
}
static double _Complex sl_complex(double re, double im) {
    union { double _Complex z; double p[2]; } u;
    u.p[0] = re;
    u.p[1] = im;
    return u.z;
}
#endif

typedef struct {
    uint64_t s;
} sl_rng;

static uint64_t sl_next(sl_rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double sl_unit(sl_rng *r) { return (double)(sl_next(r) >> 11) * (1.0 / 9007199254740992.0); }

static int sl_is_float(int kind) { return kind == SL_F32 || kind == SL_F64; }
static int sl_is_signed(int kind) { return kind == SL_I8 || kind == SL_I16 || kind == SL_I32 || kind == SL_I64; }

/* How often special values appear varies per test case (set from the seed by sl_set_density), so
 * some cases are dense with NaN/inf/zeros - bugs that need a NaN in one particular lane show up -
 * and some have none (bugs that any special value would mask show up too). */
static int sl_special_rate = 8;   /* one element in N is special; 0 = none */
static int sl_special_kinds = 12; /* floats: the first K entries of the list below */
/* Zero-tie cases: every float is <= 0 (-1) or >= 0 (+1), specials only NaN, +-0 and the inf of that
 * sign, so a max (min) ends at a zero reached as both +0 and -0 and the order of a tie shows: a case's
 * first zero is +0 and three in four of the others -0, so keeping any zero but the first (or the last)
 * one reached shows in most cases, whichever lane holds it. */
static int sl_float_sign = 0;
static int sl_zero_seen = 0;

static void sl_set_density(unsigned long long seed) {
    sl_float_sign = 0;
    sl_zero_seen = 0;
    switch ((seed >> 1) % 6) { /* seed bit 0 picks small or spread scalars: every pairing occurs */
    case 0: sl_special_rate = 8; sl_special_kinds = 12; break;
    case 1: sl_special_rate = 2; sl_special_kinds = 12; break;
    case 2: sl_special_rate = 0; sl_special_kinds = 12; break;
    case 3: sl_special_rate = 4; sl_special_kinds = 6; break; /* NaN, -NaN, +-0, +-inf only */
    case 4: sl_special_rate = 2; sl_float_sign = -1; break;
    default: sl_special_rate = 2; sl_float_sign = 1; break;
    }
}

/* A float value for the given data mode (returned as double, stored narrowed by the caller). */
static double sl_gen_real(sl_rng *r, int kind, int mode) {
    uint64_t pick = sl_next(r);
    int special_rate = mode == SL_DATA_EXACT ? sl_special_rate : mode == SL_DATA_TOLERANT ? 64 : 0;
    if (mode == SL_DATA_EXACT && sl_float_sign) {
        if (pick % (uint64_t)special_rate == 0) {
            switch ((pick >> 8) % 4) {
            case 0: return NAN;
            case 1:
            case 2:
                if (!sl_zero_seen) { sl_zero_seen = 1; return 0.0; }
                return (pick >> 12) % 4 ? -0.0 : 0.0;
            default: return sl_float_sign * INFINITY;
            }
        }
        double mag = ldexp(1.0 + sl_unit(r), (int)((pick >> 24) % 17) - 8);
        return sl_float_sign * mag;
    }
    if (special_rate && pick % (uint64_t)special_rate == 0) {
        double tiny = kind == SL_F32 ? (double)FLT_MIN : DBL_MIN;
        double huge = kind == SL_F32 ? (double)FLT_MAX : DBL_MAX;
        switch ((pick >> 8) % (uint64_t)sl_special_kinds) {
        case 0: return NAN;
        case 1: return -NAN;
        case 2: return 0.0;
        case 3: return -0.0;
        case 4: return INFINITY;
        case 5: return -INFINITY;
        case 6: return tiny / 4;   /* denormal */
        case 7: return -tiny / 3;  /* denormal */
        /* tolerant data: +-max would absorb and then cancel whole partial sums, so two summation orders
         * differ by anything; +-inf keeps the special without that (inf - inf is NaN in every order) */
        case 8: return mode == SL_DATA_TOLERANT ? INFINITY : huge;
        case 9: return mode == SL_DATA_TOLERANT ? -INFINITY : -huge;
        case 10: return 1.0;
        default: return -1.0;
        }
    }
    if (mode == SL_DATA_TOLERANT) return 0.5 + 1.5 * sl_unit(r);  /* no cancellation: see docs/sandbox.md */
    if (mode == SL_DATA_BENCH) return 2.0 * sl_unit(r) - 1.0;
    if ((pick >> 16) % 8 == 0) return (double)((int)((pick >> 24) % 9) - 4);  /* small integers: ties */
    double mag = ldexp(1.0 + sl_unit(r), (int)((pick >> 24) % 17) - 8);
    return (pick >> 40) & 1 ? -mag : mag;
}

/* An integer bit pattern (low esz bytes are used): specials, small values, or anything. */
static uint64_t sl_gen_bits(sl_rng *r, int esz, int mode) {
    uint64_t pick = sl_next(r);
    int bits = esz * 8;
    uint64_t high = (uint64_t)1 << (bits - 1);
    if (mode == SL_DATA_EXACT && sl_special_rate && pick % (uint64_t)sl_special_rate == 0) {
        switch ((pick >> 8) % 8) {
        case 0: return 0;
        case 1: return 1;
        case 2: return ~(uint64_t)0;         /* -1, or the unsigned maximum */
        case 3: return high;                 /* signed minimum / high bit */
        case 4: return high - 1;             /* signed maximum */
        case 5: return high | 1;
        case 6: return 2;
        default: return high | (sl_next(r) & (high - 1));  /* any high-bit value */
        }
    }
    /* Timing data: full range, with bit 4 set, so it never equals an integer scalar (those are 0..7):
     * a search scans the whole array (its worst case) instead of stopping at a random early match. */
    if (mode == SL_DATA_BENCH) return sl_next(r) | 0x10u;
    /* tolerant data: positive, as the floats are, so integers converted into a float sum cannot cancel */
    if (mode == SL_DATA_TOLERANT) return 1 + (pick >> 24) % 100;
    if ((pick >> 16) % 2 == 0) return (uint64_t)(int64_t)((int)((pick >> 24) % 201) - 100);
    return sl_next(r);
}

static void sl_store(void *dst, int kind, int esz, sl_rng *r, int mode) {
    if (kind == SL_F32) {
        float v = (float)sl_gen_real(r, kind, mode);
        memcpy(dst, &v, 4);
    } else if (kind == SL_F64) {
        double v = sl_gen_real(r, kind, mode);
        memcpy(dst, &v, 8);
    } else if (kind == SL_BOOL) {
        unsigned char v = (unsigned char)(sl_next(r) & 1);
        memcpy(dst, &v, 1);
    } else {
        uint64_t v = sl_gen_bits(r, esz, mode);
        memcpy(dst, &v, (size_t)esz); /* little endian: the low bytes */
    }
}

/* One element as text, for counterexamples. */
static void sl_format(char *out, size_t cap, const void *p, int kind) {
    switch (kind) {
    case SL_F32: { float v; memcpy(&v, p, 4); snprintf(out, cap, "%.9g", (double)v); break; }
    case SL_F64: { double v; memcpy(&v, p, 8); snprintf(out, cap, "%.17g", v); break; }
    case SL_I8: { int8_t v; memcpy(&v, p, 1); snprintf(out, cap, "%d", (int)v); break; }
    case SL_U8: case SL_BOOL: { uint8_t v; memcpy(&v, p, 1); snprintf(out, cap, "%u", (unsigned)v); break; }
    case SL_I16: { int16_t v; memcpy(&v, p, 2); snprintf(out, cap, "%d", (int)v); break; }
    case SL_U16: { uint16_t v; memcpy(&v, p, 2); snprintf(out, cap, "%u", (unsigned)v); break; }
    case SL_I32: { int32_t v; memcpy(&v, p, 4); snprintf(out, cap, "%ld", (long)v); break; }
    case SL_U32: { uint32_t v; memcpy(&v, p, 4); snprintf(out, cap, "%lu", (unsigned long)v); break; }
    case SL_I64: { int64_t v; memcpy(&v, p, 8); snprintf(out, cap, "%lld", (long long)v); break; }
    default: { uint64_t v; memcpy(&v, p, 8); snprintf(out, cap, "%llu", (unsigned long long)v); break; }
    }
}

/* Equal under the active rule: exact (bitwise, any NaN equals any NaN) or tolerant (see docs). */
static int sl_equal(const void *exp, const void *got, int kind, int esz, double rtol, double atol) {
    if (!sl_is_float(kind)) return memcmp(exp, got, (size_t)esz) == 0;
    double e, g;
    if (kind == SL_F32) {
        float a, b;
        memcpy(&a, exp, 4);
        memcpy(&b, got, 4);
        e = a;
        g = b;
    } else {
        memcpy(&e, exp, 8);
        memcpy(&g, got, 8);
    }
    if (isnan(e) || isnan(g)) return isnan(e) && isnan(g);
    if (sl_zero_sign_free && e == 0 && g == 0) return 1;
    if (rtol == 0.0 || isinf(e) || isinf(g)) return memcmp(exp, got, (size_t)esz) == 0;
    return fabs(g - e) <= rtol * fmax(fabs(e), fabs(g)) + atol;
}

static double sl_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}
