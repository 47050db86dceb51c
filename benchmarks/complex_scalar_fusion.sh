#!/bin/bash
# Which products gcc/clang fuse in a complex multiply by a loop-invariant complex scalar, per flag set
# (the `scalar` rows of src/simdlens/rules/complex_multiply.toml). For each kernel (a[i] * s, s * a[i],
# VOLK's *c++ = (*a++) * s) it prints which rounding each part matches on finite data:
#   re: separate ar*sr - ai*si | A fma(L.r, R.r, -(L.i*R.i)) | B fma(-L.i, R.i, L.r*R.r)
#   im: separate               | A fma(L.r, R.i, L.i*R.r)    | B fma(L.i, R.r, L.r*R.i)
# (L, R: the left and right operand as written). usage: benchmarks/complex_scalar_fusion.sh [compiler [conj]]
# `conj` multiplies by conj(s) instead of s; `SAN=1` builds the kernels with the sandbox's sanitizers.
set -euo pipefail
CC=${1:-gcc}
MODE=${2:-}
SANFLAGS=""
if [ "${SAN:-}" = 1 ]; then
    SANFLAGS="-fsanitize=address,undefined -fno-sanitize=signed-integer-overflow,shift -fno-sanitize-recover=all"
fi
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cat > "$d/k.c" <<'C'
#include <complex.h>
typedef T complex cT;
#define S CONJ(s)
void kmul(cT *restrict c, const cT *restrict a, cT s, int n) { for (int i = 0; i < n; i++) c[i] = a[i] * S; }
void kmul_l(cT *restrict c, const cT *restrict a, cT s, int n) { for (int i = 0; i < n; i++) c[i] = S * a[i]; }
void kmul_p(cT *cv, const cT *av, const cT s, unsigned n) { cT *c = cv; const cT *a = av; for (unsigned i = 0; i < n; i++) *c++ = (*a++) * S; }
C
cat > "$d/main.c" <<'C'
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef T complex cT;
void kmul(cT *restrict c, const cT *restrict a, cT s, int n);
void kmul_l(cT *restrict c, const cT *restrict a, cT s, int n);
void kmul_p(cT *cv, const cT *av, const cT s, unsigned n);
#define N 4099
static T rnd(void) { return (T)((rand() / (double)RAND_MAX) * 2 - 1) * (T)(1 + rand() % 1000); }
int main(void) {
    static cT a[N], c[N];
    srand(7);
    for (int i = 0; i < N; i++) a[i] = rnd() + rnd() * I;
    const char *names[3] = {"a[i]*s", "s*a[i]", "*c++=(*a++)*s"};
    for (int t = 0; t < 3; t++) {
        int okre[3] = {1, 1, 1}, okim[3] = {1, 1, 1};  /* the scalar's imaginary part as multiplied: */
        for (int rep = 0; rep < 20; rep++) {
            cT s = rnd() + rnd() * I;
            memset(c, 0, sizeof c);
            if (t == 0) kmul(c, a, s, N); else if (t == 1) kmul_l(c, a, s, N); else kmul_p(c, a, s, N);
            T sr = crealT(s), si = SIGN * cimagT(s);
            for (int i = 0; i < N; i++) {
                T ar = crealT(a[i]), ai = cimagT(a[i]);
                T lr = t == 1 ? sr : ar, li = t == 1 ? si : ai, rr = t == 1 ? ar : sr, ri = t == 1 ? ai : si;
                volatile T p1 = lr * rr, p2 = li * ri, p3 = lr * ri, p4 = li * rr;
                T re[3] = {p1 - p2, FMA(lr, rr, -p2), FMA(-li, ri, p1)};
                T im[3] = {p3 + p4, FMA(lr, ri, p4), FMA(li, rr, p3)};
                for (int k = 0; k < 3; k++) {
                    if (re[k] != crealT(c[i])) okre[k] = 0;
                    if (im[k] != cimagT(c[i])) okim[k] = 0;
                }
            }
        }
        printf("  %s re[sep,A,B]=%d%d%d im[sep,A,B]=%d%d%d", names[t], okre[0], okre[1], okre[2], okim[0], okim[1], okim[2]);
    }
    printf("\n");
}
C
for T in float double; do
    if [ $T = float ]; then D="-DT=float -DcrealT=crealf -DcimagT=cimagf -DFMA=fmaf"; else D="-DT=double -DcrealT=creal -DcimagT=cimag -DFMA=fma"; fi
    if [ "$MODE" = conj ]; then D="$D -DCONJ=conj$([ $T = float ] && echo f) -DSIGN=-1"; else D="$D -DCONJ= -DSIGN=1"; fi
    for F in "-O2" "-O3" "-O2 -mfma" "-O3 -mfma" "-O2 -march=haswell" "-O3 -march=x86-64-v3" "-O2 -march=native" \
             "-O3 -march=native" "-O3 -march=native -ffp-contract=off" "-O2 -mfma -ffp-contract=off" "-O2 -mfma -std=c11" \
             "-O0 -mfma" "-O1 -mfma" "-Os -mfma" "-O2 -mfma -fno-tree-vectorize" "-O2 -mfma -fno-tree-vectorize -ffp-contract=off"; do
        # shellcheck disable=SC2086
        $CC $D $F $SANFLAGS -c "$d/k.c" -o "$d/k.o" && gcc $D $SANFLAGS -O0 -ffp-contract=off "$d/main.c" "$d/k.o" -lm -o "$d/m" \
            && echo "$CC $T $F: $("$d/m")"
    done
done
