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
    "int_div": ("""void idiv(int *restrict d, const int *restrict a, int n) {
    for (int i = 0; i < n; i++) d[i] = a[i] / 3;
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
SPECIAL["anti_after_store"] = """void anti(float *restrict a, const float *restrict b, float *restrict c, int n) {
    for (int i = 0; i < n - 1; i++) { a[i] = b[i] * 2.0f; c[i] = a[i + 1] + a[i]; }
}"""

SPECIAL["sad"] = """#include <stdlib.h>
int sad(const uint8_t *a, const uint8_t *b, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += abs(a[i] - b[i]);
    return s;
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
