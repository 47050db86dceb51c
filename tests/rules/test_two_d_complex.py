"""2-D arrays and complex numbers (issue 14, section 3).

2-D: parameters `T A[N][M]`, `T (*A)[M]`, VLA `T A[n][m]`, globals `T A[N][M]` and flat `A[i*ld + j]` get a
kernel whose parameter keeps the row shape, the inner loop over a row is rewritten and verified through the
sandbox, and a global's declared row length bounds every test and benchmark size (past it the user's own
loop indexes out of its row, which -fsanitize=bounds reports against the original).

Complex: arrays of `float complex`, `double _Complex`, `std::complex<float>` and typedefs of them are read
as (real, imaginary) pairs; element-wise +, -, conj, scaling by a real and creal/cimag are rewritten and
verified bitwise (the harness's data has NaN, infinities and signed zeros); a complex multiply is rewritten
(tests/rules/test_complex_multiply.py); a complex division and cabsf are refused with a reason naming the type.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from rules_support import ISAS, apply_edits, build_and_run

from simdlens.analysis import analyze_file
from simdlens.config import SandboxSettings, Settings
from simdlens.core import Analysis, Kernel, LoopRole, LoopVerdict, Status
from simdlens.rules import propose
from simdlens.sandbox import Sandbox
from simdlens.sandbox.cpu import host_cpu
from simdlens.sandbox.harness import LARGE_SIZE, bench_sizes, check_plan

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

SOURCE_2D = b"""double G[100][200];

void fixed_param(int n, int m, double A[100][200], const double B[100][200]) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            A[i][j] = B[i][j] * 2.0;
}
void row_pointer(int n, double (*A)[64], const double (*B)[64]) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 64; j++)
            A[i][j] += B[i][j];
}
void vla(int n, int m, double A[n][m], double B[n][m]) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            A[i][j] = A[i][j] - B[i][j];
}
void gemm_row(int ni, int nj, int nk, double alpha, double C[ni][nj], double A[ni][nk], double B[nk][nj]) {
    for (int i = 0; i < ni; i++)
        for (int k = 0; k < nk; k++)
            for (int j = 0; j < nj; j++)
                C[i][j] += alpha * A[i][k] * B[k][j];
}
void trisolv(int n, double L[n][n], double x[n], const double b[n]) {
    for (int i = 0; i < n; i++) {
        x[i] = b[i];
        for (int j = 0; j < i; j++)
            x[i] -= L[i][j] * x[j];
        x[i] = x[i] / L[i][i];
    }
}
void heat3d(int n, double A[n][n][n], double B[n][n][n]) {
    for (int i = 1; i < n - 1; i++)
        for (int j = 1; j < n - 1; j++)
            for (int k = 1; k < n - 1; k++)
                B[i][j][k] = 0.125 * (A[i+1][j][k] - 2.0 * A[i][j][k] + A[i-1][j][k])
                           + 0.125 * (A[i][j+1][k] - 2.0 * A[i][j][k] + A[i][j-1][k]) + A[i][j][k];
}
void planes(int nr, int nq, int np, float V[nr][nq][np], const float (*W)[16][32]) {
    for (int r = 0; r < nr; r++)
        for (int q = 0; q < nq; q++)
            for (int p = 0; p < np; p++)
                V[r][q][p] = V[r][q][p] * 0.5f + W[r][q][p];  /* the caller keeps nq <= 16, np <= 32 */
}
void global_rows(int rows, int cols, double s) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            G[i][j] = G[i][j] * s + 1.0;
}
void flat(int n, int m, int ld, double *A, const double *B) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            A[i * ld + j] = B[i * ld + j] + 1.0;
}
"""

SOURCE_COMPLEX = b"""#include <complex.h>
typedef float complex sample32f_t;
typedef _Complex float cf32_t;
typedef double _Complex z_t;

void cadd(float complex *c, const float complex *a, const float complex *b, int n) {
    for (int i = 0; i < n; i++) c[i] = a[i] + b[i];
}
void csub_scale(cf32_t *restrict c, const cf32_t *restrict a, const cf32_t *restrict b, float s, int n) {
    for (int i = 0; i < n; i++) c[i] = (a[i] - b[i]) * s;
}
void zscale(z_t *restrict c, const z_t *restrict a, double s, int n) {
    for (int i = 0; i < n; i++) c[i] = s * a[i];
}
void zconj(double complex *restrict c, const double complex *restrict a, int n) {
    for (int i = 0; i < n; i++) c[i] = conj(a[i]);
}
void gnu_conj(sample32f_t *restrict c, const sample32f_t *restrict a, int n) {
    for (int i = 0; i < n; i++) c[i] = ~a[i];  /* GNU C: ~ of a complex value conjugates it */
}
void cpower(float *restrict p, const sample32f_t *restrict a, int n) {
    for (int i = 0; i < n; i++) p[i] = crealf(a[i]) * crealf(a[i]) + cimagf(a[i]) * cimagf(a[i]);
}
void cmul(sample32f_t *c, const sample32f_t *a, const sample32f_t *b, unsigned n) {
    for (unsigned i = 0; i < n; i++) c[i] = a[i] * b[i];
}
void cmag(float *restrict m, const float complex *restrict a, int n) {
    for (int i = 0; i < n; i++) m[i] = cabsf(a[i]);
}
void cdiv(double complex *restrict c, const double complex *restrict a, const double complex *restrict b, int n) {
    for (int i = 0; i < n; i++) c[i] = a[i] / b[i];
}
"""

SOURCE_CPP = b"""#include <complex>
typedef std::complex<float> cf;
void cadd(cf *__restrict c, const cf *__restrict a, const cf *__restrict b, int n) {
    for (int i = 0; i < n; i++) c[i] = a[i] + b[i];
}
void cconj(std::complex<double> *__restrict c, const std::complex<double> *__restrict a, int n) {
    for (int i = 0; i < n; i++) c[i] = std::conj(a[i]);
}
void cparts(float *__restrict r, const cf *__restrict a, int n) {
    for (int i = 0; i < n; i++) r[i] = a[i].real() - std::imag(a[i]);
}
void cmul(std::complex<float> *__restrict c, const std::complex<float> *__restrict a,
          const std::complex<float> *__restrict b, int n) {
    for (int i = 0; i < n; i++) c[i] = a[i] * b[i];
}
"""


def _loops(source: bytes, path: str, lang: str) -> dict[str, tuple[Analysis, Kernel | None]]:
    """The innermost loop of every function, by function name, with its kernel."""
    fa = analyze_file(source, path, lang)  # type: ignore[arg-type]
    out = {}
    for a in fa.analyses:
        if a.site.role != LoopRole.OUTER:
            assert a.site.function is not None
            out[a.site.function] = (a, fa.kernels.get(a.site.loop_id))
    return out


def _verify(source: bytes, path: str, lang: str, tmp_path: Path) -> dict[str, dict[str, Status]]:
    """Every rewritable loop's candidates through the real sandbox: {function: {isa: status}}."""
    settings = Settings(cache_dir=str(tmp_path / "cache"), jobs=2,
                        sandbox=SandboxSettings(cpu_seconds=10, wall_seconds=30.0))
    isas = tuple(isa for isa in ISAS if host_cpu().runs(isa))
    work = []
    for name, (a, kernel) in _loops(source, path, lang).items():
        if kernel is None:
            continue
        cands = tuple(c for isa in isas for c in propose(a, kernel, isa, settings, source=source).candidates)
        work.append((name, kernel, cands))

    async def run() -> dict[str, dict[str, Status]]:
        out: dict[str, dict[str, Status]] = {}
        async with Sandbox(settings) as sandbox:
            for name, kernel, cands in work:
                results = await sandbox.verify(kernel, cands, bench=False)
                out[name] = {r.candidate.isa: r.verdict.status for r in results}
                for r in results:
                    assert r.verdict.status == Status.VERIFIED, (name, r.candidate.isa, r.verdict.detail,
                                                                 r.candidate.function)
        return out

    return asyncio.run(run())


@pytest.mark.sandbox
def test_every_2d_shape_gets_a_kernel_and_a_verified_rewrite(tmp_path: Path) -> None:
    loops = _loops(SOURCE_2D, "grid.c", "c")
    for name, (a, kernel) in loops.items():
        assert a.verdict != LoopVerdict.NOT_VECTORIZABLE, (name, a.reasons)
        assert kernel is not None, f"{name}: no kernel"
    # the parameter keeps the user's row shape; a VLA's row length comes before the array
    sig = {name: k.signature for name, (_a, k) in loops.items() if k is not None}
    assert "double (*A)[200]" in sig["fixed_param"]
    assert "double (*A)[64]" in sig["row_pointer"]
    assert sig["vla"].index("m") < sig["vla"].index("double (*A)[m]")
    # a row length only A's type reads (A[i][k] in the loop over j) is a parameter of its own, before A
    assert sig["gemm_row"].index("int nk") < sig["gemm_row"].index("double (*A)[nk]")
    # trisolv's row length n: the driver keeps it past the size, which the columns `j < i` reach
    assert "double (*L)[n]" in sig["trisolv"]
    # a 3-D array is a pointer to its planes, spelled as declared
    assert "double (*A)[n][n]" in sig["heat3d"] and "float (*V)[nq][np]" in sig["planes"]
    assert "double (*restrict G)[200]" in sig["global_rows"]  # a global array object: distinct, as in the file
    statuses = _verify(SOURCE_2D, "grid.c", "c", tmp_path)
    assert set(statuses) == set(loops)
    assert all(s and all(v == Status.VERIFIED for v in s.values()) for s in statuses.values()), statuses


def test_a_global_2d_array_is_never_tested_past_its_row_length() -> None:
    """`double G[100][200]` with `j < cols`: no test or benchmark size reaches column 200."""
    (_a, kernel) = _loops(SOURCE_2D, "grid.c", "c")["global_rows"]
    assert kernel is not None and kernel.size_param == "cols"
    assert kernel.size_max == 200
    sizes = {c.size for c in check_plan(kernel, ("avx2", "avx512"))}
    assert max(sizes) == 200 and LARGE_SIZE not in sizes
    assert bench_sizes(kernel, (4096, 65536, 1048576)) == (200,)
    # a loop bounded by a declared extent, or a flat array without one, keeps the usual sizes
    (_a, flat) = _loops(SOURCE_2D, "grid.c", "c")["flat"]
    assert flat is not None and flat.size_max is None
    assert LARGE_SIZE in {c.size for c in check_plan(flat, ("avx2",))}


COLUMN_WALK = b"""#define LEN 64
float aa[LEN][LEN], bb[LEN][LEN], cc[LEN][LEN];
void column_walk(void)
{
    for (int i = 1; i < LEN; i++) {
        for (int j = 1; j < LEN; j++)
            aa[j][i] = aa[j - 1][i] + cc[j][i];
        for (int j = 1; j < LEN; j++)
            bb[j][i] = bb[j][i - 1] + cc[j][i];
    }
}
"""


@pytest.mark.sandbox
def test_a_column_walk_is_tested_only_at_columns_inside_the_row(tmp_path: Path) -> None:
    """TSVC s233's second loop reads bb[j][i - 1]: with i = 0 the user's own loop indexes column -1, which
    -fsanitize=bounds reports against the original. The kernel bounds the column; the rewrite verifies."""
    fa = analyze_file(COLUMN_WALK, "cols.c", "c")
    inner = [a for a in fa.analyses if a.site.role != LoopRole.OUTER and fa.kernels.get(a.site.loop_id)]
    assert len(inner) == 1
    kernel = fa.kernels[inner[0].site.loop_id]
    assert ("i - 1", "LEN") in kernel.index_bounds and ("i", "LEN") in kernel.index_bounds
    assert _verify(COLUMN_WALK, "cols.c", "c", tmp_path)


@pytest.mark.sandbox
def test_complex_elementwise_loops_and_multiply_are_verified_and_divide_cabs_are_refused(tmp_path: Path) -> None:
    loops = _loops(SOURCE_COMPLEX, "iq.c", "c")
    refused = {"cmag": ("cabsf", "hypot"),
               "cdiv": ("complex division of 'double complex'",)}
    for name, words in refused.items():
        a, kernel = loops[name]
        assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and kernel is None, name
        text = " ".join(r.message for r in a.reasons)
        assert all(w in text for w in words), (name, text)
    # the kernel declares the user's complex type, not its parts' type
    assert "cf32_t *restrict c" in loops["csub_scale"][1].signature  # type: ignore[union-attr]
    assert "const float complex *a" in loops["cadd"][1].signature  # type: ignore[union-attr]
    statuses = _verify(SOURCE_COMPLEX, "iq.c", "c", tmp_path)
    assert set(statuses) == {"cadd", "csub_scale", "zscale", "zconj", "gnu_conj", "cpower", "cmul"}
    assert all(s for s in statuses.values()), statuses


@pytest.mark.sandbox
def test_std_complex_elementwise_loops_and_multiply_are_verified(tmp_path: Path) -> None:
    statuses = _verify(SOURCE_CPP, "iq.cpp", "cpp", tmp_path)
    assert set(statuses) == {"cadd", "cconj", "cparts", "cmul"}


MAIN = r"""
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
extern double G[100][200], G2[100][200];
void global_rows(int rows, int cols, double s);
void original_global_rows(int rows, int cols, double s);
void fixed_param(int n, int m, double A[100][200], const double B[100][200]);
void original_fixed_param(int n, int m, double A[100][200], const double B[100][200]);
void row_pointer(int n, double (*A)[64], const double (*B)[64]);
void original_row_pointer(int n, double (*A)[64], const double (*B)[64]);
void vla(int n, int m, double A[n][m], double B[n][m]);
void gemm_row(int ni, int nj, int nk, double alpha, double C[ni][nj], double A[ni][nk], double B[nk][nj]);
void original_gemm_row(int ni, int nj, int nk, double alpha, double C[ni][nj], double A[ni][nk], double B[nk][nj]);
void original_vla(int n, int m, double A[n][m], double B[n][m]);
void flat(int n, int m, int ld, double *A, const double *B);
void original_flat(int n, int m, int ld, double *A, const double *B);
void zconj(double complex *restrict c, const double complex *restrict a, int n);
void original_zconj(double complex *restrict c, const double complex *restrict a, int n);
void cadd(float complex *c, const float complex *a, const float complex *b, int n);
void original_cadd(float complex *c, const float complex *a, const float complex *b, int n);

static double A1[100][200], A2[100][200], B[100][200];
static double complex Z1[301], Z2[301], ZA[301];
static float complex C1[301], C2[301], CA[301], CB[301];

static void fill(void) {
    const double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e308, -3.5};
    for (int i = 0; i < 100; i++)
        for (int j = 0; j < 200; j++) {
            B[i][j] = (i * 7 + j * 13) % 23 == 0 ? special[(i + j) % 7] : (double)(i * 200 + j) * 0.37 - 9.0;
            A1[i][j] = A2[i][j] = (double)(j - i) * 1.25;
        }
    for (int k = 0; k < 301; k++) {
        ZA[k] = CMPLX(k % 11 == 0 ? special[k % 7] : k * 0.5, k % 13 == 0 ? special[(k + 3) % 7] : -k * 0.25);
        CA[k] = CMPLXF((float)k * 0.75f, k % 9 == 0 ? (float)special[k % 7] : -(float)k);
        CB[k] = CMPLXF(k % 5 == 0 ? (float)special[(k + 1) % 7] : 1.5f, (float)k * 0.125f);
    }
}
static int same(const void *a, const void *b, size_t bytes, const char *what, int n) {
    if (memcmp(a, b, bytes) != 0) { printf("%s differs (n=%d)\n", what, n); return 1; }
    return 0;
}
int main(void) {
    int bad = 0;
    for (int n = 0; n <= 100; n += 9) {
        for (int m = 0; m <= 200; m += 17) {
            fill();
            fixed_param(n, m, A1, B); original_fixed_param(n, m, A2, B);
            bad |= same(A1, A2, sizeof A1, "fixed_param", n * 1000 + m);
            fill();
            vla(n, m, A1, B); original_vla(n, m, A2, B);
            bad |= same(A1, A2, sizeof A1, "vla", n * 1000 + m);
            fill();  /* A (n x 37 rows) and B (37 x m rows) laid out in the same 100 x 200 storage */
            gemm_row(n, m, 37, 0.75, A1, B, B); original_gemm_row(n, m, 37, 0.75, A2, B, B);
            bad |= same(A1, A2, sizeof A1, "gemm_row", n * 1000 + m);
            fill();
            flat(n, m, 200, &A1[0][0], &B[0][0]); original_flat(n, m, 200, &A2[0][0], &B[0][0]);
            bad |= same(A1, A2, sizeof A1, "flat", n * 1000 + m);
        }
        fill();
        for (int cols = 0; cols <= 200; cols += 13) {
            fill();
            memcpy(G, B, sizeof B); memcpy(G2, B, sizeof B);
            global_rows(n, cols, 1.5); original_global_rows(n, cols, 1.5);
            bad |= same(G, G2, sizeof G, "global_rows", n * 1000 + cols);
        }
        fill();
        row_pointer(n, (double (*)[64])&A1[0][0], (const double (*)[64])&B[0][0]);
        original_row_pointer(n, (double (*)[64])&A2[0][0], (const double (*)[64])&B[0][0]);
        bad |= same(A1, A2, sizeof A1, "row_pointer", n);
    }
    for (int n = 0; n <= 301; n += 7) {
        fill();
        zconj(Z1, ZA, n); original_zconj(Z2, ZA, n);
        bad |= same(Z1, Z2, sizeof Z1, "zconj", n);
        memcpy(C1, CA, sizeof C1); memcpy(C2, CA, sizeof C2);
        cadd(C1 + 1, C1, CB, n < 300 ? n : 300); original_cadd(C2 + 1, C2, CB, n < 300 ? n : 300);  /* overlapping */
        bad |= same(C1, C2, sizeof C1, "cadd in place", n);
    }
    return bad;
}
"""


@pytest.mark.parametrize("isa", ISAS)
def test_edited_file_matches_the_original_on_2d_and_complex_loops(tmp_path: Path, isa: str) -> None:
    """The code action's edits, applied to the user's file and built with gcc, against the original."""
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    wanted = {"fixed_param", "row_pointer", "vla", "gemm_row", "global_rows", "flat", "zconj", "cadd"}
    source = SOURCE_2D + SOURCE_COMPLEX.split(b"void cadd(")[0] + b"void cadd(" + \
        SOURCE_COMPLEX.split(b"void cadd(")[1].split(b"void csub_scale(")[0] + \
        b"void zconj(" + SOURCE_COMPLEX.split(b"void zconj(")[1].split(b"void cpower(")[0]
    edits = {}
    settings = Settings()
    for name, (a, kernel) in _loops(source, "mixed.c", "c").items():
        if name not in wanted:
            continue
        assert kernel is not None, name
        (cand,) = propose(a, kernel, isa, settings, source=source).candidates
        for e in cand.edits:
            edits[(e.span.start_byte, e.span.end_byte, e.new_text)] = e
    assert len({k[2] for k in edits}) >= len(wanted)
    (tmp_path / "edited.c").write_bytes(apply_edits(source, tuple(edits.values())))
    original = source.replace(b"G[", b"G2[").replace(b"void ", b"void original_")  # its own global
    (tmp_path / "original.c").write_bytes(original)
    (tmp_path / "main.c").write_text(MAIN)
    run = build_and_run(tmp_path, isa, ("edited.c", "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000] + run.stderr[:2000]


def test_complex_parts_computed_alike_run_as_one_contiguous_loop() -> None:
    """add / sub / scale by a real compute both parts alike: one flat loop over the parts, no shuffles;
    conj and creal/cimag treat the parts differently and keep the de-interleaving path."""
    loops = _loops(SOURCE_COMPLEX, "iq.c", "c")
    for name, flat in (("cadd", True), ("csub_scale", True), ("zscale", True), ("zconj", False), ("cpower", False)):
        a, kernel = loops[name]
        assert kernel is not None
        (cand,) = propose(a, kernel, "avx2", Settings(), source=SOURCE_COMPLEX).candidates
        shuffles = any(w in cand.function for w in ("unpack", "permute", "shuffle"))
        assert shuffles != flat, (name, cand.function)
        assert cand.origin == ("rules:elementwise" if flat else "rules:strided"), name
