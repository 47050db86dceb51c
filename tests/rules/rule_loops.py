"""C loops exercising every rule family over the element types it applies to.

Each entry is (id, C function source, expected family or None when the rules must refuse with a note
containing the given text). The functions are analysed by simdlens.analysis like a user's file would be.
"""

from __future__ import annotations

INT_TYPES = ("int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t")
FLOAT_TYPES = ("float", "double")
ALL_TYPES = INT_TYPES + FLOAT_TYPES


def _id(t: str) -> str:
    return t.replace("_t", "")


def elementwise(t: str) -> str:
    ops = "a[i] * b[i] - (a[i] ^ b[i]) + (b[i] & 7)" if t not in FLOAT_TYPES else "a[i] * b[i] - a[i] / (b[i] + 2)"
    if t in ("int64_t", "uint64_t"):
        ops = "a[i] + b[i] - (a[i] ^ b[i]) + (b[i] | 7)"  # no 64-bit mullo on AVX2
    return f"""void ew_{_id(t)}({t} *restrict d, const {t} *restrict a, const {t} *restrict b, int n) {{
    for (int i = 0; i < n; i++) d[i] = ({t})({ops});
}}"""


def select(t: str) -> str:
    return f"""void sel_{_id(t)}({t} *restrict d, const {t} *restrict a, const {t} *restrict b, {t} k, int n) {{
    for (int i = 0; i < n; i++) d[i] = a[i] > b[i] ? (a[i] < k ? a[i] : k) : b[i];
}}"""


def cond_store(t: str) -> str:
    return f"""void cst_{_id(t)}({t} *restrict d, const {t} *restrict a, int n) {{
    for (int i = 0; i < n; i++) if (a[i] >= 3) d[i] = a[i] - 1;
}}"""


def sum_red(t: str) -> str:
    return f"""{t} sum_{_id(t)}(const {t} *a, int n) {{
    {t} s = 0;
    for (int i = 0; i < n; i++) s += a[i];
    return s;
}}"""


def min_red(t: str) -> str:
    return f"""{t} min_{_id(t)}(const {t} *a, int n) {{
    {t} m = a[0];
    for (int i = 1; i < n; i++) if (a[i] < m) m = a[i];
    return m;
}}"""


def max_red(t: str) -> str:
    return f"""{t} max_{_id(t)}(const {t} *a, int n, {t} m) {{
    for (int i = 0; i < n; i++) m = a[i] > m ? a[i] : m;
    return m;
}}"""


def bit_red(t: str) -> str:
    return f"""{t} bits_{_id(t)}(const {t} *a, int n) {{
    {t} x = 0, o = 0;
    for (int i = 0; i < n; i++) {{ x ^= a[i]; o |= a[i]; }}
    return x + o;
}}"""


def argmin(t: str) -> str:
    return f"""int argmin_{_id(t)}(const {t} *a, int n) {{
    {t} best = a[0];
    int at = 0;
    for (int i = 1; i < n; i++) if (a[i] < best) {{ best = a[i]; at = i; }}
    return at;
}}"""


def search(t: str) -> str:
    return f"""int find_{_id(t)}(const {t} *a, int n, {t} v) {{
    for (int i = 0; i < n; i++) if (a[i] == v) return i;
    return -1;
}}"""


def widen(t: str) -> str:
    return f"""void widen_{_id(t)}(double *restrict d, const {t} *restrict a, int n) {{
    for (int i = 0; i < n; i++) d[i] = a[i] * 0.5;
}}"""


def to_float(t: str) -> str:
    return f"""void tofloat_{_id(t)}(float *restrict d, const {t} *restrict a, int n) {{
    for (int i = 0; i < n; i++) d[i] = (float)a[i] + 1.0f;
}}"""


MATRIX = {
    "elementwise": (elementwise, ALL_TYPES),
    "select": (select, ALL_TYPES),
    "cond_store": (cond_store, ALL_TYPES),
    "sum": (sum_red, ALL_TYPES),
    "min": (min_red, ALL_TYPES),
    "max": (max_red, ALL_TYPES),
    "bits": (bit_red, INT_TYPES),
    "argmin": (argmin, ("int32_t", "float", "uint32_t", "double")),
    "search": (search, ALL_TYPES),
    "widen": (widen, ALL_TYPES),
    "tofloat": (to_float, ("int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "double")),
}

SPECIAL = {
    "byte_avg": """void bavg(uint8_t *restrict d, const uint8_t *restrict a, const uint8_t *restrict b, int n) {
    for (int i = 0; i < n; i++) d[i] = (a[i] + b[i] + 1) >> 1;
}""",
    "clamp_u8": """void clamp_u8(uint8_t *restrict d, const int32_t *restrict s, int n) {
    for (int i = 0; i < n; i++) { int v = s[i] >> 4; d[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }
}""",
    "dot": """float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}""",
    "dot_i16": """int dot_i16(const int16_t *a, const int16_t *b, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}""",
    "product": """double product(const double *a, int n) {
    double p = 1.0;
    for (int i = 0; i < n; i++) p *= a[i];
    return p;
}""",
    "reverse": """void rev(float *restrict d, const float *restrict a, int n) {
    for (int i = n - 1; i >= 0; i--) d[i] = a[i] * 3.0f + 1.0f;
}""",
    "induction": """void ramp(int *restrict d, int n, int start, int step) {
    int v = start;
    for (int i = 0; i < n; i++) { d[i] = v + i; v += step; }
}""",
    # a second counter stepping with the loop (`a[j]`, j++ every iteration) subscripts contiguously
    "induction_store": """void copy_from(float *a, const float *b, int n, int j) {
    for (int i = 0; i < n; i++) { a[j] = b[i] * 2.0f; j++; }
}""",
    "induction_load_after_step": """int take(int *restrict d, const int *restrict s, int n, int j) {
    for (int i = 0; i < n; i++) { j++; d[i] = s[j + 1] - s[j]; }
    return j;
}""",
    "induction_same_array": """void shift_copy(float *a, int n, int j) {
    for (int i = 0; i < n; i++) { a[j] = a[i] * 0.5f; j++; }
}""",
    "induction_both_branches": """void pick(float *restrict a, const float *restrict b, const float *restrict c, int n) {
    int j = -1;
    for (int i = 0; i < n; i++) {
        if (b[i] > 0.0f) { j++; a[j] = b[i] * c[i]; } else { j++; a[j] = c[i] - b[i]; }
    }
}""",
    # a reduction into x[i] while the walk reads x[j], j > i (back substitution); u may overlap x
    "triangular_back": """void back(int i, int n, double *x, const double *u) {
    for (int j = i + 1; j < n; j++) x[i] -= u[j] * x[j];
}""",
    # both branches store the same element: one blended store (AVX2 has no masked byte store)
    "branch_store_int8": """void slicer(int8_t *c, const float *a, int n) {
    for (int i = 0; i < n; i++) {
        if (*a++ >= 0) *c++ = 1;
        else *c++ = 0;
    }
}""",
    # the header's pointer is the walk: the scalar remainder cannot reuse the body, which reads `*p`
    "walk_header_pointer_sum": """float energy(const float *restrict src, int n) {
    float e = 0.0f;
    for (const float *p = src; p < src + n; p++)
        e += *p * *p;
    return e;
}""",
    "iv_value": """void iota_f(float *restrict d, int n) {
    for (int i = 0; i < n; i++) d[i] = (float)i * 0.25f;
}""",
    "shifts": """void shifts(uint32_t *restrict d, const uint32_t *restrict a, const int32_t *restrict b, int s, int n) {
    for (int i = 0; i < n; i++) d[i] = (a[i] << s) ^ (a[i] >> 3) ^ (uint32_t)(b[i] >> s);
}""",
    "ucompare": """void ucmp(uint32_t *restrict d, const uint32_t *restrict a, const uint32_t *restrict b, int n) {
    for (int i = 0; i < n; i++) d[i] = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
}""",
    "guarded_load": """void guarded(float *restrict d, const float *restrict a, const float *restrict b, int n) {
    for (int i = 0; i < n; i++) if (a[i] > 0.0f) d[i] = b[i] * 2.0f;
}""",
    "abs_sqrt": """#include <math.h>
void abs_sqrt(float *restrict d, const float *restrict a, int n) {
    for (int i = 0; i < n; i++) d[i] = sqrtf(fabsf(a[i])) - a[i];
}""",
    "forward_dep": """void fwd(float *a, const float *restrict b, int n) {
    for (int i = 0; i < n - 1; i++) a[i] = a[i + 1] + b[i];
}""",
    "count_if": """int count_pos(const float *a, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) c += a[i] > 0.0f;
    return c;
}""",
    "alias": """void alias_add(float *d, const float *s, int n) {
    for (int i = 0; i < n; i++) d[i] = s[i] + 1.0f;
}""",
    "search_break": """int first_neg(const int *a, int n) {
    int i;
    for (i = 0; i < n; i++) if (a[i] < 0) break;
    return i;
}""",
    "fmax_red": """double maxabs(const double *a, int n) {
    double m = 0.0;
    for (int i = 0; i < n; i++) { double v = a[i] < 0 ? -a[i] : a[i]; if (v > m) m = v; }
    return m;
}""",
}

REFUSED = {
    "gather": ("""void gather(float *restrict d, const float *restrict a, const int *restrict idx, int n) {
    for (int i = 0; i < n; i++) d[i] = a[idx[i]];
}""", "gather"),
    "int_div": ("""void idiv(int *restrict d, const int *restrict a, int k, int n) {
    for (int i = 0; i < n; i++) d[i] = a[i] / k;
}""", "division"),
}


# Types every default test run covers; the others run with `-m slow` (the whole matrix takes ~2 min).
DEFAULT_TYPES = ("uint8_t", "int16_t", "uint32_t", "int64_t", "float", "double")


def matrix_cases(full: bool | None = None) -> list[tuple[str, str]]:
    """(case id, C source) for every family x type; `full` True / False = only the slow / default part."""
    return [(f"{family}_{_id(t)}", make(t)) for family, (make, types) in MATRIX.items() for t in types
            if full is None or (t not in DEFAULT_TYPES) == full]

SPECIAL.update({
    "gather": """void gather(float *restrict d, const float *restrict a, const int *restrict idx, int n) {
    for (int i = 0; i < n; i++) d[i] = a[idx[i]] * 2.0f;
}""",
    "strided_load": """void deint(double *restrict d, const double *restrict b, int n) {
    for (int i = 0; i < n; i++) d[i] = b[2 * i + 1] - b[2 * i];
}""",
    "step_two": """void every_other(int *restrict a, const int *restrict b, int n) {
    for (int i = 1; i < n; i += 2) a[i] = b[i] + b[i - 1];
}""",
    "peel": """void diff(float *restrict out, const float *restrict in, int n) {
    float prev = 0.0f;
    for (int i = 0; i < n; i++) { out[i] = in[i] - prev; prev = in[i]; }
}""",
    "compress": """int pack_pos(int *restrict out, const int *restrict in, int n) {
    int j = 0;
    for (int i = 0; i < n; i++) if (in[i] > 0) out[j++] = in[i];
    return j;
}""",
    "guarded_gather": """void gg(float *restrict d, const float *restrict a, const int *restrict idx, int n) {
    for (int i = 0; i < n; i++) if (idx[i] >= 0) d[i] = a[idx[i]];
}""",
})

SPECIAL["split"] = """void one_time(float *restrict a, const float *restrict b, int n) {
    for (int i = 0; i < n; i++) a[i] = a[n / 2] + b[i];
}"""
# the counter as a value in both halves: its lane vector is set up again after the scalar iterations between
SPECIAL["split_counter"] = """void one_time_iv(int *restrict a, const int *restrict b, int n) {
    for (int i = 0; i < n; i++) a[i] = a[n / 2] + b[i] + i;
}"""
SPECIAL["invariant_element"] = """void scale_by_first(float *restrict d, const float *restrict a, int n) {
    for (int i = 0; i < n; i++) d[i] = a[i] * a[0];
}"""

SPECIAL["symbolic_distance"] = """void shift_by(float *x, int n, int k) {
    for (int i = 0; i < n; i++) x[i + k] = x[i] * 2.0f;
}"""
SPECIAL["down_by_three"] = """void down3(int *restrict dst, int n) {
    for (int i = n; i > 0; i -= 3) dst[i] = i;
}"""

SPECIAL["node_splitting"] = """void node_split(float *restrict a, float *restrict b, const float *restrict c, const float *restrict d, int n) {
    for (int i = 0; i < n - 1; i++) { a[i] = b[i] + c[i]; b[i] = a[i + 1] * d[i]; }
}"""
SPECIAL["reorder"] = """void reorder(float *restrict a, float *restrict d, const float *restrict b, int n) {
    for (int i = 1; i < n; i++) { d[i] = a[i - 1] * 2.0f; a[i] = b[i] + 1.0f; }
}"""
# one temporary assigned twice, the second value stored to the element a later statement reads one
# iteration on (TSVC s261): the vector step runs the second pair first, each with its own `t`
SPECIAL["reorder_reused_temporary"] = """void reused_t(float *restrict a, float *restrict c, const float *restrict b, const float *restrict d, int n) {
    float t; for (int i = 1; i < n; i++) { t = a[i] + b[i]; a[i] = t + c[i - 1]; t = c[i] * d[i]; c[i] = t; }
}"""
# in-place pairs read into temporaries, then both written (a rotary embedding): q[2*i] and q[2*i + 1]
# never share an element, so nothing orders the loads after the stores
SPECIAL["rotate_pairs_in_place"] = """void rope(float *q, const float *restrict c, const float *restrict s, int n) {
    for (int i = 0; i < n; i++) { float x0 = q[2 * i], x1 = q[2 * i + 1]; q[2 * i] = x0 * c[i] - x1 * s[i]; q[2 * i + 1] = x0 * s[i] + x1 * c[i]; }
}"""
# a cast to bool is `x != 0` (2 becomes 1), in both spellings of a C cast
SPECIAL["cast_to_bool"] = """void to_bool(uint8_t *restrict o, const uint8_t *restrict a, int n) {
    for (int i = 0; i < n; i++) o[i] = (_Bool)a[i];
}"""
SPECIAL["cast_to_bool_parenthesised"] = """void to_bool_plus(int32_t *restrict o, const int32_t *restrict a, int n) {
    for (int i = 0; i < n; i++) o[i] = (_Bool)(a[i] & 6) + 1;
}"""
SPECIAL["anti_after_store"] = """void anti(float *restrict a, const float *restrict b, float *restrict c, int n) {
    for (int i = 0; i < n - 1; i++) { a[i] = b[i] * 2.0f; c[i] = a[i + 1] + a[i]; }
}"""

SPECIAL["sad"] = """#include <stdlib.h>
int sad(const uint8_t *a, const uint8_t *b, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += abs(a[i] - b[i]);
    return s;
}"""
# the select image libraries write for |a - b| (an AbsDifference helper): psadbw too
SPECIAL["sad_select"] = """int sad_select(const uint8_t *a, const uint8_t *b, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
    return s;
}"""
# |a - b| as codecs' FFABS macro spells it, a select on the difference's sign: psadbw too
SPECIAL["sad_sign_select"] = """#define FFABS(a) ((a) >= 0 ? (a) : (-(a)))
int sad_sign(const uint8_t *a, const uint8_t *b, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += FFABS(a[i] - b[i]);
    return s;
}"""
# the sign test the other way round (`d < 0 ? -d : d`), and its negation -|a - b|: an ordinary sum
SPECIAL["sad_sign_select_negated"] = """int neg_sad_sign(const uint8_t *a, const uint8_t *b, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += (a[i] - b[i]) < 0 ? (a[i] - b[i]) : -(a[i] - b[i]);
    return s;
}"""
# the arms the other way round: -|a - b|, an ordinary sum
SPECIAL["sad_select_negated"] = """int neg_sad(const uint8_t *a, const uint8_t *b, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += a[i] < b[i] ? a[i] - b[i] : b[i] - a[i];
    return s;
}"""
# `a > b ? a : b` of two arrays: one max (pmaxub), not a compare and a blend
SPECIAL["select_max_u8"] = """void max_u8(uint8_t *restrict o, const uint8_t *restrict a, const uint8_t *restrict b, int n) {
    for (int i = 0; i < n; i++) o[i] = a[i] > b[i] ? a[i] : b[i];
}"""
# std::max(0, std::min(v, 255)) spelled in C: the outer bound compares the inner one's result; one packuswb
SPECIAL["clamp_nested_to_u8"] = """#define MAX2(x, y) ((x) > (y) ? (x) : (y))
#define MIN2(x, y) ((x) < (y) ? (x) : (y))
void gray(uint8_t *restrict o, const int16_t *restrict s, int n) {
    for (int i = 0; i < n; i++) o[i] = (uint8_t)MAX2(MIN2(s[i], 255), 0);
}"""
SPECIAL["search_after"] = """int find_store(int *restrict d, const int *restrict a, int n) {
    for (int i = 0; i < n; i++) { if (a[i] > 100) return i; d[i] = a[i] * 2; }
    return -1;
}"""

SPECIAL["strided_store_cond"] = """void sst(float *restrict d, const float *restrict a, int n) {
    for (int i = 0; i < n; i++) if (a[i] > 0.0f) d[3 * i + 1] = a[i] * 2.0f;
}"""
SPECIAL["interleave"] = """void inter(float *restrict d, const float *restrict re, const float *restrict im, int n) {
    for (int i = 0; i < n; i++) { d[2 * i] = re[i]; d[2 * i + 1] = im[i]; }
}"""

# C's fminf/fmaxf: a NaN operand yields the other one. The sign of a zero result (+0 vs -0) is unspecified
# in C and gcc picks the operand order itself (differently at -O0 and -O2), so the rules take only calls
# with a nonzero constant operand (no +0/-0 tie possible) and refuse the others.
SPECIAL["fmin_clamp"] = """#include <math.h>
void clamp(float *buf, int n) {
    for (int i = 0; i < n; i++) buf[i] = fminf(fmaxf(buf[i], -1.0f), 1.0f);
}"""
SPECIAL["fmax_double"] = """#include <math.h>
void dmax(double *restrict d, const double *restrict a, int n) {
    for (int i = 0; i < n; i++) d[i] = fmax(0.5, a[i]) * 2.0 + fmin(a[i], -3.0);
}"""
SPECIAL["fmin_signed_zero"] = """#include <math.h>
void fpair(float *restrict d, const float *restrict a, const float *restrict b, int n) {
    for (int i = 0; i < n; i++) d[i] = fminf(a[i], b[i]);
}"""
SPECIAL["fmin_variable_clamp"] = """#include <math.h>
void vclamp(float *buf, int n, float limit) {
    for (int i = 0; i < n; i++) buf[i] = fminf(fmaxf(buf[i], -limit), limit);
}"""

# Sum of absolute byte differences into 32/64-bit accumulators: psadbw (rules:sad).
SPECIAL["sad_u32"] = """#include <stdlib.h>
uint32_t sad_u32(const uint8_t *a, const uint8_t *b, int n) {
    uint32_t s = 7;
    for (int i = 0; i < n; i++) s += abs(a[i] - b[i]);
    return s;
}"""
SPECIAL["sad_i64"] = """#include <stdlib.h>
long long sad_i64(const uint8_t *a, const uint8_t *b, int n, long long s) {
    for (int i = 0; i < n; i++) s += abs(b[i] - a[i]);
    return s;
}"""
# Signed bytes have no psadbw: the generic 32-bit path.
SPECIAL["sad_int8"] = """#include <stdlib.h>
int sad_i8(const int8_t *a, const int8_t *b, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += abs(a[i] - b[i]);
    return s;
}"""

# Integer division / modulo by a constant power of two: shifts with C's truncation toward zero.
SPECIAL["div_pow2"] = """void idiv(int *restrict d, int *restrict r, const int *restrict a, const unsigned *restrict b,
          unsigned *restrict e, int n) {
    for (int i = 0; i < n; i++) { d[i] = a[i] / 4 + a[i] % 8; r[i] = a[i] % 16 - a[i] / 1; e[i] = b[i] / 8u + b[i] % 32u; }
}"""
SPECIAL["div_pow2_i64"] = """void ldiv2(long long *restrict d, const long long *restrict a, const unsigned char *restrict c, int n) {
    for (int i = 0; i < n; i++) d[i] = a[i] / 1024 - a[i] % 2 + c[i] / 2 + c[i] % 4;
}"""
SPECIAL["div_pow2_narrow"] = """void sdiv(int16_t *restrict d, const int16_t *restrict a, uint8_t *restrict e, const uint8_t *restrict b,
          int n) {
    for (int i = 0; i < n; i++) { d[i] = a[i] / 8 + a[i] % 4; e[i] = b[i] / 2 + b[i] % 64; }
}"""
# Mixed-width narrowing stores, one saturating: 32 lanes a step, the int16 store two registers, each packed by packssdw.
SPECIAL["narrow_mixed_sat"] = """void mixsat(int16_t *restrict d, uint8_t *restrict e, const int32_t *restrict a, const int32_t *restrict b, int n) {
    for (int i = 0; i < n; i++) {
        int v = a[i] + b[i];
        d[i] = v < -32768 ? -32768 : v > 32767 ? 32767 : v;
        e[i] = (uint8_t)(a[i] >> 4);
    }
}"""

# A local reassigned inside `if` branches: after the if, each lane holds the value of the branch it took
# (the bundled image_filter.c brightness loop once lost both clamps).
SPECIAL["branch_clamp_u8"] = """void brighten(uint8_t *restrict d, const uint8_t *restrict s, int n, int delta) {
    for (int i = 0; i < n; i++) {
        int v = s[i] + delta;
        if (v < 0)
            v = 0;
        if (v > 255)
            v = 255;
        d[i] = (uint8_t)v;
    }
}"""
SPECIAL["branch_if_else"] = """void pick(float *restrict d, const float *restrict a, const float *restrict b, int n) {
    for (int i = 0; i < n; i++) {
        float t = a[i];
        if (a[i] > b[i]) { t = a[i] - b[i]; } else { t = b[i] * 2.0f; }
        if (t > 100.0f) { float u = t * 0.5f; t = u + 1.0f; }
        d[i] = t;
    }
}"""
SPECIAL["branch_nested"] = """void nest(int *restrict d, const int *restrict a, int n) {
    for (int i = 0; i < n; i++) {
        int v = a[i];
        int w = 1;
        if (v > 0) {
            w = 2;
            if (v > 1000) v = 1000;
        } else {
            v = 3 - (v >> 1);
        }
        d[i] = v * w;
    }
}"""

# do-while loops: the body runs once even when the counter starts at or past the bound (the harness's
# size 0 with a counter i >= 0 is exactly that case), so the trip count is max(1, ...) and the scalar
# remainder is counted rather than re-tested.
SPECIAL["do_while"] = """void dw_scale(float *restrict a, const float *restrict b, int i, int n) {
    do { a[i] = b[i] * 2.0f; i++; } while (i < n);
}"""
SPECIAL["do_while_sum"] = """int dw_sum(const int *a, int i, int n) {
    int s = 5;
    do {
        s += a[i] - 3;
        i += 1;
    } while (i < n);
    return s;
}"""
SPECIAL["do_while_down"] = """void dw_down(int *restrict d, const int *restrict a, int n) {
    int i = n;
    do { d[i] = a[i] + i; --i; } while (i > 0);
}"""

# Integer division / modulo by any other constant: multiply-high by a magic number (rules/divide.py), exact
# for every dividend (INT_MIN, INT_MAX, -1, 0 and the multiples of the divisor are in the harness's data).
SPECIAL["div_const_i32"] = """void sdivc(int *restrict q, int *restrict r, const int *restrict a, int n) {
    for (int i = 0; i < n; i++) {
        q[i] = a[i] / 3 + a[i] / 7 - a[i] / 10 + a[i] / -3 + a[i] / 255;
        r[i] = a[i] % 255 - a[i] % 641 + a[i] / 641 + a[i] % -7 + a[i] % 10;
    }
}"""
SPECIAL["div_const_u32"] = """void udivc(unsigned *restrict q, unsigned *restrict r, const unsigned *restrict b, int n) {
    for (int i = 0; i < n; i++) {
        q[i] = b[i] / 3 + b[i] / 7u - b[i] / 10 + b[i] / 641 + b[i] / 255 + b[i] / 0x80000000u + b[i] / -3;
        r[i] = b[i] % 255u + b[i] % 7 - b[i] % 1000000007u + b[i] % 641 + b[i] % 3;
    }
}"""
SPECIAL["div_minus_one"] = """void neg1(int *restrict q, int *restrict r, const int *restrict a, int n) {
    for (int i = 0; i < n; i++) { q[i] = a[i] / -1 + a[i] / 1; r[i] = a[i] % -1 + a[i] % 1; }
}"""
SPECIAL["div_const_16"] = """void div16(int16_t *restrict q, const int16_t *restrict a, uint16_t *restrict u, const uint16_t *restrict b,
           int n) {
    for (int i = 0; i < n; i++) { q[i] = a[i] / 7 + a[i] % -10 + a[i] / -3; u[i] = b[i] / 10 + b[i] % 255 + b[i] / 641; }
}"""
# examples/image_filter.c's 3-tap box blur: the byte sum fits 16 bits, so it is divided in uint16 lanes.
SPECIAL["div_box_blur"] = """void box_blur_row(uint8_t *restrict dst, const uint8_t *restrict src, int width) {
    for (int x = 1; x < width - 1; x++) {
        int sum = src[x - 1] + src[x] + src[x + 1];
        dst[x] = (uint8_t)(sum / 3);
    }
}"""
SPECIAL["div_signed_narrow"] = """void hp(int8_t *restrict dst, const uint8_t *restrict src, int width) {
    for (int x = 1; x < width - 1; x++) {
        int v = 2 * src[x] - src[x - 1] - src[x + 1];
        dst[x] = (int8_t)(v / 7 + v % -5);
    }
}"""
SPECIAL["div_mod_u16"] = """void bm(uint16_t *restrict dst, const uint8_t *restrict a, const uint8_t *restrict b, int n) {
    for (int i = 0; i < n; i++) dst[i] = (a[i] * b[i] + 5) % 1000;
}"""
SPECIAL["mod_seven"] = """void mod7(int *restrict dst, const int *restrict src, int n) {
    for (int i = 0; i < n; i++) dst[i] = (src[i] % 7) << 2;
}"""
# Refused: a 64-bit divisor known only at run time (int32 goes through double, test_divide_variable.py), and
# 64-bit lanes (no 64-bit multiply-high).
SPECIAL["div_variable"] = """void divv(long long *restrict d, const long long *restrict a, long long k, int n) {
    for (int i = 0; i < n; i++) d[i] = a[i] / k;
}"""
SPECIAL["div_const_i64"] = """void div64(long long *restrict d, const long long *restrict a, int n) {
    for (int i = 0; i < n; i++) d[i] = a[i] / 3;
}"""

# Strided groups (rules/interleave.py): whole blocks loaded / stored and (de-)interleaved with shuffles.
SPECIAL["cmul_f32"] = """void cmul(float *restrict c, const float *restrict a, const float *restrict b, int n) {
    for (int i = 0; i < n; i++) {
        c[2 * i] = a[2 * i] * b[2 * i] - a[2 * i + 1] * b[2 * i + 1];
        c[2 * i + 1] = a[2 * i] * b[2 * i + 1] + a[2 * i + 1] * b[2 * i];
    }
}"""
SPECIAL["cmul_f64"] = """void zmul(double *restrict c, const double *restrict a, const double *restrict b, int n) {
    for (int i = 0; i < n; i++) {
        c[2 * i] = a[2 * i] * b[2 * i] - a[2 * i + 1] * b[2 * i + 1];
        c[2 * i + 1] = a[2 * i] * b[2 * i + 1] + a[2 * i + 1] * b[2 * i];
    }
}"""
SPECIAL["stereo_split"] = """void split(float *restrict l, float *restrict r, const float *restrict s, int n) {
    for (int i = 0; i < n; i++) { l[i] = s[2 * i]; r[i] = s[2 * i + 1]; }
}"""
SPECIAL["stereo_split_i16"] = """void split16(int16_t *restrict l, int16_t *restrict r, const int16_t *restrict s, int n) {
    for (int i = 0; i < n; i++) { l[i] = s[2 * i]; r[i] = s[2 * i + 1]; }
}"""
SPECIAL["rgb_grey"] = """void grey(float *restrict g, const float *restrict rgb, int n) {
    for (int i = 0; i < n; i++) g[i] = 0.299f * rgb[3 * i] + 0.587f * rgb[3 * i + 1] + 0.114f * rgb[3 * i + 2];
}"""
# Only the odd element is read: the block of the last lane would end one element past b[2*(n-1)+1]'s pair
# partner... it is b[2*n], which the loop never reads: the vector loop must stop one iteration early.
SPECIAL["odd_only"] = """void odd(double *restrict d, const double *restrict b, int n) {
    for (int i = 0; i < n; i++) d[i] = b[2 * i + 1];
}"""
SPECIAL["even_only_u32"] = """void third(uint32_t *restrict d, const uint32_t *restrict b, int n) {
    for (int i = 0; i < n; i++) d[i] = b[4 * i + 2] * 3u;
}"""
SPECIAL["rgba_sum_i32"] = """void rgba_sum(int32_t *restrict d, const int32_t *restrict p, int n) {
    for (int i = 0; i < n; i++) d[i] = p[4 * i] + p[4 * i + 1] + p[4 * i + 2] + p[4 * i + 3];
}"""
SPECIAL["interleave3"] = """void xyz(float *restrict d, const float *restrict x, const float *restrict y, const float *restrict z,
         int n) {
    for (int i = 0; i < n; i++) { d[3 * i] = x[i]; d[3 * i + 1] = y[i]; d[3 * i + 2] = z[i]; }
}"""
SPECIAL["interleave4_u32"] = """void pack4(uint32_t *restrict d, const uint32_t *restrict a, int n) {
    for (int i = 0; i < n; i++) { d[4 * i + 3] = a[i]; d[4 * i] = a[i] + 1u; d[4 * i + 1] = a[i] ^ 5u; d[4 * i + 2] = 7u; }
}"""
SPECIAL["pairs_i64"] = """void pairs(int64_t *restrict d, const int64_t *restrict a, const int64_t *restrict b, int n) {
    for (int i = 0; i < n; i++) { d[2 * i] = a[i] + b[i]; d[2 * i + 1] = a[i] - b[i]; }
}"""
# Writes only every third element: a masked store, the other elements are never written.
SPECIAL["aos_scale"] = """void aos_scale(float *restrict xyz, int n, float s) {
    for (int i = 0; i < n; i++) xyz[3 * i] *= s;
}"""
# In place: the second statement reads x[2i], which the first one does not write (stores wait, loads don't).
SPECIAL["inplace_pair"] = """void inplace(float *restrict x, int n, float c, float s) {
    for (int i = 0; i < n; i++) { x[2 * i + 1] = x[2 * i] * s; x[2 * i] = x[2 * i] * c; }
}"""
# Reverse with only the odd element read: the block would reach above what the loop read first, so this
# one keeps the gather.
SPECIAL["odd_only_reverse"] = """void odd_rev(float *restrict d, const float *restrict b, int n) {
    for (int i = n - 1; i >= 0; i--) d[i] = b[2 * i + 1] + 1.0f;
}"""
SPECIAL["cmul_mixed"] = """void cmul_acc(double *restrict acc, const float *restrict a, int n) {
    for (int i = 0; i < n; i++) { acc[2 * i] += a[2 * i] * 0.5; acc[2 * i + 1] += a[2 * i + 1] * 0.25; }
}"""

# Byte / 16-bit compress: AVX-512 VBMI2 vpcompressb / vpcompressw (only when the host CPU has it).
SPECIAL["compress_int8"] = """int pack8(int8_t *restrict out, const int8_t *restrict in, int n) {
    int j = 0;
    for (int i = 0; i < n; i++) if (in[i] > 0) out[j++] = in[i];
    return j;
}"""
SPECIAL["compress_uint16"] = """int pack16(uint16_t *restrict out, const uint16_t *restrict in, uint16_t lo, int n) {
    int j = 0;
    for (int i = 0; i < n; i++) if (in[i] >= lo && in[i] != 0x8000) out[j++] = (uint16_t)(in[i] - lo);
    return j;
}"""
SPECIAL["alpha_u8"] = """void alpha(uint8_t *restrict a, const uint8_t *restrict rgba, int n) {
    for (int i = 0; i < n; i++) a[i] = rgba[4 * i + 3];
}"""
SPECIAL["rgb_grey_u8"] = """void grey8(uint8_t *restrict g, const uint8_t *restrict rgb, int n) {
    for (int i = 0; i < n; i++) g[i] = (uint8_t)((77 * rgb[3 * i] + 150 * rgb[3 * i + 1] + 29 * rgb[3 * i + 2]) >> 8);
}"""
SPECIAL["interleave_u8"] = """void zip8(uint8_t *restrict d, const uint8_t *restrict a, const uint8_t *restrict b, int n) {
    for (int i = 0; i < n; i++) { d[2 * i] = a[i]; d[2 * i + 1] = (uint8_t)(b[i] + 1); }
}"""
SPECIAL["stereo_mix_i16"] = """void mix16(int16_t *restrict m, const int16_t *restrict s, int n) {
    for (int i = 0; i < n; i++) m[i] = (int16_t)((s[2 * i] + s[2 * i + 1]) >> 1);
}"""

# Byte table lookups: no byte gather; a 32-bit gather would read past the table's end. Refused (measured).
SPECIAL["gather_u8_table"] = """void lut8(uint8_t *restrict d, const uint8_t *restrict lut, const int *restrict idx, const uint8_t *restrict a,
          int n) {
    for (int i = 0; i < n; i++) d[i] = (uint8_t)((lut[idx[i]] * a[i] + 128) >> 8);
}"""
SPECIAL["do_while_alias"] = """void dw_alias(float *a, const float *b, int i, int n) {
    do { a[i] = b[i] + 1.0f; i++; } while (i < n);
}"""
# Odd to even in place: a masked store of position 0 after the block load of the same pairs.
SPECIAL["odd_to_even"] = """void odd_to_even(float *restrict x, int n) {
    for (int i = 0; i < n; i++) x[2 * i] = x[2 * i + 1] + 1.0f;
}"""
# The odd element is read only under a condition: it stays a masked gather, the even one is a block.
SPECIAL["group_cond_read"] = """void cond_pair(float *restrict d, const float *restrict b, int n) {
    for (int i = 0; i < n; i++) if (b[2 * i] > 0.0f) d[i] = b[2 * i + 1];
}"""
SPECIAL["group_symbolic"] = """void sym_pair(int32_t *restrict d, const int32_t *restrict p, int n, int off) {
    for (int i = 0; i < n; i++) d[i] = p[2 * i + off] - p[2 * i + off + 1];
}"""
# Division inside a reduction and a condition, and under a select on 16-bit lanes.
SPECIAL["div_reduce_cond"] = """int digits(const int *a, const unsigned short *b, int n) {
    int s = 0, c = 0;
    for (int i = 0; i < n; i++) { s += a[i] / 10 - b[i] % 9; c += (a[i] % 3 == 0); }
    return s + 7 * c;
}"""
SPECIAL["div_select_i16"] = """void ds(int16_t *restrict d, const int16_t *restrict a, int n) {
    for (int i = 0; i < n; i++) d[i] = a[i] > 0 ? a[i] / 5 : a[i] % -6;
}"""
SPECIAL["do_while_prefix"] = """void dw_prefix(double *restrict d, const double *restrict a, int i, int n) {
    do d[i] = a[i] * a[i]; while (++i < n);
}"""
SPECIAL["aos_norm_f64"] = """void norm3(double *restrict s, const double *restrict p, int n) {
    for (int i = 0; i < n; i++) s[i] = p[3 * i] * p[3 * i] + p[3 * i + 1] * p[3 * i + 1] + p[3 * i + 2] * p[3 * i + 2];
}"""
SPECIAL["quad_store_i64"] = """void quad(int64_t *restrict d, const int64_t *restrict a, int n) {
    for (int i = 0; i < n; i++) { d[4 * i] = a[i]; d[4 * i + 1] = -a[i]; d[4 * i + 2] = a[i] << 1; d[4 * i + 3] = 9; }
}"""
SPECIAL["xyz_store_f64"] = """void xyz_d(double *restrict d, const double *restrict x, const double *restrict y, int n) {
    for (int i = 0; i < n; i++) { d[3 * i] = x[i]; d[3 * i + 1] = y[i]; d[3 * i + 2] = x[i] * y[i]; }
}"""
# 6-float records (x, y, z, vx, vy, vz): the velocities' block starts 3 floats in and ends 3 past the last record
SPECIAL["six_velocities"] = """float speed2(const float *restrict p, int n) {
    float e = 0.0f;
    for (int i = 0; i < n; i++) e += p[6 * i + 3] * p[6 * i + 3] + p[6 * i + 4] * p[6 * i + 4] + p[6 * i + 5] * p[6 * i + 5];
    return e;
}"""
SPECIAL["six_first_i32"] = """void first2(int32_t *restrict d, const int32_t *restrict p, int n) {
    for (int i = 0; i < n; i++) d[i] = p[6 * i] - p[6 * i + 1];
}"""
# A signed 16-bit value divided by an unsigned constant: C divides the huge unsigned image of a negative
# value, so the result must never come from a signed 16-bit multiply-high.
SPECIAL["div_int16_by_unsigned"] = """void du(int16_t *restrict o, const int16_t *restrict a, int n) {
    for (int i = 0; i < n; i++) o[i] = a[i] / 7u;
}"""
# A local declared without a value and assigned in both branches; block-local temporaries of one name in
# sibling branches.
SPECIAL["branch_declared_later"] = """void sib(int *restrict o, const int *restrict a, int n) {
    for (int i = 0; i < n; i++) {
        int v;
        if (a[i] > 0) { int t = a[i] * 2; v = t; } else { int t = 3 - a[i]; v = t; }
        o[i] = v;
    }
}"""
# A body local whose last value is read after the loop: refused (no lane extraction), never a rewrite that
# returns the value from before the loop.
SPECIAL["live_out_local"] = """int keep_last(int *restrict d, const int *restrict a, int n) {
    int last = 0;
    for (int i = 0; i < n; i++) { last = a[i] * 2; d[i] = last; }
    return last;
}"""
# Lanes that run backwards in memory (stride -1): one contiguous block load / store plus a lane reversal
# (rules/reverse.py), in the main loop and in AVX-512's masked last step.
SPECIAL["reverse_copy_f32"] = """void rev_copy(float *restrict dst, const float *restrict src, int n) {
    for (int i = n - 1; i >= 0; i--) dst[n - 1 - i] = src[i];
}"""
SPECIAL["reverse_read_i32"] = """void rev_read(int32_t *restrict d, const int32_t *restrict s, int n) {
    for (int i = 0; i < n; i++) d[i] = s[n - 1 - i] * 3 + 1;
}"""
SPECIAL["reverse_read_f64"] = """void rev_read_d(double *restrict d, const double *restrict s, int n) {
    for (int i = 0; i < n; i++) d[i] = s[n - 1 - i] - 0.5;
}"""
SPECIAL["reverse_read_i16"] = """void rev_read_h(int16_t *restrict d, const int16_t *restrict s, int n) {
    for (int i = 0; i < n; i++) d[i] = s[n - 1 - i];
}"""
SPECIAL["reverse_store_f32"] = """void rev_store(float *restrict d, const float *restrict a, const float *restrict b, int n) {
    for (int i = 0; i < n; i++) d[n - 1 - i] = a[i] + b[i];
}"""
# int16 divided by -32768: no 16-bit plan exists for the most negative divisor, so the division stays in
# C's 32-bit lanes (it used to refuse the whole loop).
SPECIAL["div_int16_by_min"] = """void dm(int16_t *restrict o, const int16_t *restrict a, int n) {
    for (int i = 0; i < n; i++) o[i] = a[i] / -32768;
}"""
