/* Does glibc's vector math library (libmvec, AVX2 variants) give libm's results bit for bit? simdlens
 * refuses expf/tanhf/logf/sinf... because it does not: counts the inputs of a dense sweep where the two
 * differ. Build and run: gcc -O2 -mavx2 -mfma libmvec_exactness.c -o libmvec_exactness -lmvec -lm && ./libmvec_exactness
 * Written for this project. */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
__m256 _ZGVdN8v_expf(__m256);
__m256 _ZGVdN8v_tanhf(__m256);
__m256 _ZGVdN8v_logf(__m256);
__m256 _ZGVdN8v_sinf(__m256);
static long cmp(const char *name, __m256 (*v)(__m256), float (*s)(float), float lo, float hi) {
    long diff = 0, n = 0; float first = 0;
    for (float x = lo; x < hi; x += (hi - lo) / 4000000.0f) {
        float in[8], out[8];
        for (int k = 0; k < 8; k++) in[k] = x + k * (hi - lo) / 32000000.0f;
        _mm256_storeu_ps(out, v(_mm256_loadu_ps(in)));
        for (int k = 0; k < 8; k++) { float r = s(in[k]); n++; if (memcmp(&r, &out[k], 4)) { if (!diff) first = in[k]; diff++; } }
    }
    printf("%s: %ld of %ld differ (first at %.9g)\n", name, diff, n, first);
    return diff;
}
int main(void) {
    cmp("expf", _ZGVdN8v_expf, expf, -80, 80);
    cmp("tanhf", _ZGVdN8v_tanhf, tanhf, -10, 10);
    cmp("logf", _ZGVdN8v_logf, logf, 0.001f, 1000);
    cmp("sinf", _ZGVdN8v_sinf, sinf, -100, 100);
    return 0;
}
