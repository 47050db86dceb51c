"""benchmarks/in_program.py: a C++ file is built with g++ and its function driven by its own C++ name
(a namespace, a `std::vector<T> &` parameter, a global array), the original against the edited copy; an
edit that does not build is reported as skipped, never timed."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
_spec = importlib.util.spec_from_file_location("in_program", ROOT / "benchmarks" / "in_program.py")
assert _spec is not None and _spec.loader is not None
in_program = importlib.util.module_from_spec(_spec)
sys.modules["in_program"] = in_program  # its dataclasses look their module up
_spec.loader.exec_module(in_program)

pytestmark = pytest.mark.skipif(shutil.which("g++") is None or shutil.which("objcopy") is None,
                                reason="needs g++ and objcopy")

SOURCE = """\
#include <vector>
float bias[64];
namespace phys {
void scale_add(std::vector<float> &out, const float *in, float g, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = g * in[i] + bias[i & 63];
}
}
"""


def _claim(path: Path, new_text: str) -> object:
    line = SOURCE.splitlines().index("        out[i] = g * in[i] + bias[i & 63];")
    edit = {"range": {"start": {"line": line, "character": 8}, "end": {"line": line, "character": 42}},
            "newText": new_text}
    return in_program.Claim(path, "scale_add", line, "avx2", "rules:test", {64: 2.0}, {"edits": [edit]})


def test_cpp_function_is_driven_by_its_namespace_name(tmp_path: Path) -> None:
    path = tmp_path / "phys.cpp"
    path.write_text(SOURCE, encoding="utf-8")
    row = in_program.measure(_claim(path, "out[i] = bias[i & 63] + in[i] * g;"), [64, 256], 1, 1, tmp_path / "w")
    assert row.note == ""
    assert set(row.ratios) == {64, 256}
    assert all(m > 0 for m, _lo, _hi in row.ratios.values())
    driver = (tmp_path / "w" / "driver.cpp").read_text(encoding="utf-8")
    assert "phys::scale_add" in driver and "std::vector<aud_t0>" in driver
    assert "aud_edit::bias" in (tmp_path / "w" / "edit_tu.cpp").read_text(encoding="utf-8")


def test_cpp_edit_that_does_not_build_is_not_timed(tmp_path: Path) -> None:
    path = tmp_path / "phys.cpp"
    path.write_text(SOURCE, encoding="utf-8")
    row = in_program.measure(_claim(path, "out[i] = undeclared_name * in[i];"), [64], 1, 1, tmp_path / "w")
    assert row.ratios == {}
    assert row.note.startswith("skipped: build failed")


C_SOURCE = """\
#define LEN 64
void col_means(int rows, int cols, double X[LEN][LEN], double mu[LEN])
{
    for (int j = 0; j < cols; j++) {
        double s = 0.0;
        for (int i = 0; i < rows; i++)
            s += X[i][j];
        mu[j] = s;
    }
}
void flat_t(int n, const double *M, const double *v, double *out)
{
    for (int c = 0; c < n; c++)
        for (int r = 0; r < n; r++)
            out[c] += M[r * n + c] * v[r];
}
void scale_vla(int n, int m, double A[n][m], double g)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            A[i][j] *= g;
}
"""


def _c_claim(path: Path, function: str, old: str, new: str) -> object:
    line = C_SOURCE.splitlines().index(old)
    start = len(old) - len(old.lstrip())
    edit = {"range": {"start": {"line": line, "character": start}, "end": {"line": line, "character": len(old)}},
            "newText": new}
    return in_program.Claim(path, function, line, "avx2", "rules:test", {}, {"edits": [edit]})


def test_declared_matrix_is_driven_at_its_declared_size(tmp_path: Path) -> None:
    path = tmp_path / "nest.c"
    path.write_text(C_SOURCE, encoding="utf-8")
    claim = _c_claim(path, "col_means", "            s += X[i][j];", "s = s + X[i][j];")
    row = in_program.measure(claim, [4096, 1048576], 1, 1, tmp_path / "w")
    assert row.note == ""
    assert set(row.ratios) == {64 * 64}  # the nest at its declared 64 x 64, not the preset sizes


def test_vla_matrix_is_driven_at_each_size(tmp_path: Path) -> None:
    path = tmp_path / "nest.c"
    path.write_text(C_SOURCE, encoding="utf-8")
    claim = _c_claim(path, "scale_vla", "            A[i][j] *= g;", "A[i][j] = A[i][j] * g;")
    row = in_program.measure(claim, [4096, 16384], 1, 1, tmp_path / "w")
    assert row.note == ""
    assert set(row.ratios) == {4096, 16384}
    assert "llround(pow((double)n, 1.0 / 2))" in (tmp_path / "w" / "driver.c").read_text(encoding="utf-8")


def test_flat_nest_is_driven_at_the_root_of_the_count(tmp_path: Path) -> None:
    # `M[r * n + c]` over n x n: at 1M elements n must be 1024, not 1M (the buffers hold 8M + 128)
    path = tmp_path / "nest.c"
    path.write_text(C_SOURCE, encoding="utf-8")
    claim = _c_claim(path, "flat_t", "            out[c] += M[r * n + c] * v[r];", "out[c] = out[c] + M[r * n + c] * v[r];")
    claim = in_program.Claim(claim.file, claim.function, claim.line, claim.isa, claim.origin, {}, claim.candidate, 2)
    row = in_program.measure(claim, [4096, 1048576], 1, 1, tmp_path / "w")
    assert row.note == "" and set(row.ratios) == {4096, 1048576}


MIRROR = """\
#define LEN 64
void gram_mirror(int n, int m, double G[LEN][LEN], const double X[LEN][LEN])
{
    int i, j, k;
    for (i = 0; i < n; i++)
        for (j = i; j < n; j++) {
            G[i][j] = 0.0;
            for (k = 0; k < m; k++)
                G[i][j] += X[k][i] * X[k][j];
            G[j][i] = G[i][j];
        }
}
"""


def test_a_bound_of_another_loop_of_the_nest_is_driven_as_a_size() -> None:
    # the claim is the j loop's; m bounds the k loop inside it. Driven as a small random scalar, the program
    # would time a 1-7 iteration k loop against a claim measured at m = 64 (session 10: 1.0x against 7.4x)
    from apply_audit import function_signature

    line = MIRROR.splitlines().index("        for (j = i; j < n; j++) {")
    sig = function_signature(MIRROR.encode(), "c", line, MIRROR.splitlines()[line])
    kinds = {p.name: p.kind for p in sig.params}
    assert kinds["n"] == "size" and kinds["m"] == "dim"
    driver = in_program.timing_driver(sig, [4096], 1, [])
    assert "aud_ext" in driver.split("aud_s1 =")[1].split(";")[0]  # m takes the declared extent, as n does


BIQUAD = """void biquad(float *restrict y, const float *restrict x, int n, float b0, float b1, float b2, float a1, float a2)
{
    float d1 = 0.0f, d2 = 0.0f;
    for (int i = 0; i < n; i++) {
        float out = b0 * x[i] + d1;
        d1 = b1 * x[i] + a1 * out + d2;
        d2 = b2 * x[i] + a2 * out;
        y[i] = out;
    }
}
"""


def test_a_filter_is_driven_with_stable_coefficients() -> None:
    # every coefficient 0.75 makes this biquad overflow within a few hundred samples: both versions would
    # time their non-finite fallback (session 10: 1.00x in the program against 3.40x claimed)
    from apply_audit import function_signature

    line = BIQUAD.splitlines().index("    for (int i = 0; i < n; i++) {")
    sig = function_signature(BIQUAD.encode(), "c", line, BIQUAD.splitlines()[line])
    stable = in_program.timing_driver(sig, [4096], 1, [], feedback=True)
    plain = in_program.timing_driver(sig, [4096], 1, [])
    assert ")0.25 :" in stable and ")0.75 :" not in stable and ")0.75 :" in plain
    assert "aud_span = 1.0;" in stable and "aud_span = 1.0;" not in plain  # factors in [-1, 1) too
    claims = in_program.offered_wins({"files": [{"path": "f.c", "loops": [
        {"function": "biquad", "range": {"start": {"line": line, "character": 4}, "end": {"line": line + 6, "character": 5}},
         "reason_codes": ["scan", "float_reduction"],
         "candidates": [{"status": "verified", "win": True, "isa": "avx2", "origin": "rules:scan"}]}]}]})
    assert [c.feedback for c in claims] == [True]


COMPLEX = """\
#include <complex.h>
void cscale(float complex *out, const float complex *in, float complex g, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = g * in[i];
}
"""


def test_complex_arrays_and_scalars_are_driven(tmp_path: Path) -> None:
    # a complex type's sign test `(T)-1 < (T)0` did not compile, and a `float complex` scalar was a parse
    # error (session 12: 16 of complex_arith.c's 18 wins skipped); each part is filled as a float of its own
    path = tmp_path / "cplx.c"
    path.write_text(COMPLEX, encoding="utf-8")
    old = "        out[i] = g * in[i];"
    line = COMPLEX.splitlines().index(old)
    edit = {"range": {"start": {"line": line, "character": 8}, "end": {"line": line, "character": len(old)}},
            "newText": "out[i] = in[i] * g;"}
    claim = in_program.Claim(path, "cscale", line, "avx2", "rules:test", {}, {"edits": [edit]})
    row = in_program.measure(claim, [4096], 1, 1, tmp_path / "w")
    assert row.note == "" and set(row.ratios) == {4096}
    # every parameter keeps its complex type (tree-sitter-c reads `float complex g` as `float complex`, `g`)
    driver = (tmp_path / "w" / "driver.c").read_text(encoding="utf-8")
    assert driver.count("typedef float _Complex aud_t") == 3


GATE = """\
void gate(float *x, float t, int n)
{
    for (int i = 0; i < n; i++)
        if (x[i] < t) x[i] = 0.0f;
}
"""


def test_a_branchy_loop_reads_other_buffers_on_each_call(tmp_path: Path) -> None:
    # on one unchanged 4,096-element input the predictor learns the scalar loop's branches (session 12: a
    # pack rewrite 1.83-2.17x with rotating inputs read 0.56-0.65x on one buffer); the sandbox rotates 16
    from apply_audit import function_signature

    line = GATE.splitlines().index("    for (int i = 0; i < n; i++)")
    sig = function_signature(GATE.encode(), "c", line, GATE.splitlines()[line])
    rotating = in_program.timing_driver(sig, [4096], 1, [], rotate=True)
    plain = in_program.timing_driver(sig, [4096], 1, [])
    assert "aud_r = n <= 65536 ? 16 : 1;" in rotating and "aud_r = 1;" in plain
    assert "aud_b0_0 + 32 + aud_q % aud_r * cnt" in rotating
    path = tmp_path / "gate.c"
    path.write_text(GATE + "void copy(float *y, const float *x, int n)\n{\n    for (int i = 0; i < n; i++) y[i] = x[i];\n}\n",
                    encoding="utf-8")
    win = [{"status": "verified", "win": True, "isa": "avx2", "origin": "rules:test"}]
    claims = in_program.offered_wins({"files": [{"path": str(path), "loops": [
        {"function": "gate", "range": {"start": {"line": line, "character": 4}, "end": {"line": line + 1, "character": 38}},
         "candidates": win},
        {"function": "copy", "range": {"start": {"line": 7, "character": 4}, "end": {"line": 7, "character": 50}},
         "candidates": win}]}]})
    assert [c.rotate for c in claims] == [True, False]


AXPY = """\
void axpy(int n, float a, const float *x, int incx, float *y, int incy)
{
    for (int i = 0; i < n; i++)
        y[i * incy] += a * x[i * incx];
}
"""


def test_a_guarded_run_time_stride_is_driven_at_its_unit() -> None:
    # the rewrite's vector path runs at incx == 1 and incy == 1; at the random strides other scalars get, both
    # versions would run the user's loop (session 12: blas_sscal_walk claimed 13.5x, 1.00x in the program)
    from apply_audit import function_signature

    line = AXPY.splitlines().index("    for (int i = 0; i < n; i++)")
    sig = function_signature(AXPY.encode(), "c", line, AXPY.splitlines()[line])
    # scan --json names them (`unit_strides`), instead of the reason's prose the script once parsed
    claims = in_program.offered_wins({"files": [{"path": "axpy.c", "loops": [
        {"function": "axpy", "range": {"start": {"line": line, "character": 4}, "end": {"line": line + 1, "character": 40}},
         "unit_strides": [{"name": "incx", "unit": "1"}, {"name": "incy", "unit": "1"}],
         "candidates": [{"status": "verified", "win": True, "isa": "avx2", "origin": "rules:elementwise"}]}]}]})
    assert claims[0].units == (("incx", "1"), ("incy", "1"))
    driver = in_program.timing_driver(sig, [4096], 1, [], units=claims[0].units)
    assert "aud_t3 aud_s3 = (aud_t3)(1);" in driver and "aud_t5 aud_s5 = (aud_t5)(1);" in driver
    assert "aud_t1 aud_s1 = AUD_ISFLT(aud_t1)" in driver  # `a` stays a drawn scalar


F2C_SCOPY = """typedef int integer;
int scopy_(integer *n, float *sx, integer *incx, float *sy, integer *incy)
{
    integer i__1, i__, ix = 1, iy = 1;
    --sy;
    --sx;
    i__1 = *n;
    for (i__ = 1; i__ <= i__1; ++i__) {
        sy[iy] = sx[ix];
        ix += *incx;
        iy += *incy;
    }
    return 0;
}
"""


def test_a_stride_read_through_a_pointer_is_driven_at_its_unit(tmp_path: Path) -> None:
    # the claim is the vector path's (`*incx == 1`): scan --json names the strides (`unit_strides`), and the
    # driver writes the unit into the buffer the stride is read through, in every rotated copy
    from apply_audit import function_signature

    from simdlens import report
    from simdlens.config import Settings
    from simdlens.pipeline import scan

    path = tmp_path / "scopy.c"
    path.write_text(F2C_SCOPY)
    doc = report.to_json(scan([str(path)], Settings(cache_dir=str(tmp_path / "c"), isa="avx2"), use_cache=False,
                              verify=False))
    (loop,) = doc["files"][0]["loops"]
    assert loop["unit_strides"] == [{"name": "*incx", "unit": "1"}, {"name": "*incy", "unit": "1"}]
    units = tuple((u["name"], u["unit"]) for u in loop["unit_strides"])
    line = F2C_SCOPY.splitlines().index("    for (i__ = 1; i__ <= i__1; ++i__) {")
    sig = function_signature(F2C_SCOPY.encode(), "c", line, F2C_SCOPY.splitlines()[line])
    driver = in_program.timing_driver(sig, [4096], 1, [], units=units)
    for name in ("incx", "incy"):
        i = [p.name for p in sig.params].index(name)
        assert f"aud_b0_{i}[32 + aud_u * cnt + 0] = (aud_t{i})(1);" in driver
    # f2c's count `i__1 = *n;` is the size, written into n's buffer (a random int would run past every buffer)
    sized = in_program._size_pointers(F2C_SCOPY.splitlines(), line)
    assert sized == (("*n", "n"),)
    assert "aud_b0_0[32 + aud_u * cnt + 0] = (aud_t0)(n);" in in_program.timing_driver(sig, [4096], 1, [], units=sized)


RANGE = """\
int count_commas(const char *p, const char *end)
{
    int c = 0;
    while (p < end) {
        c += *p == ',';
        p++;
    }
    return c;
}
"""


def _range_claim(tmp_path: Path, source: str, function: str, header: str, origin: str) -> object:
    """The scan's claim for the loop under `header` of `source`, whose `end` bounds its walk of `p`."""
    path = tmp_path / f"{function}.c"
    path.write_text(source, encoding="utf-8")
    line = source.splitlines().index(header)
    return in_program.offered_wins({"files": [{"path": str(path), "loops": [
        {"function": function, "range": {"start": {"line": line, "character": 4}, "end": {"line": line + 3, "character": 5}},
         "reasons": [], "end_pointers": [{"name": "end", "start": "p"}],
         "candidates": [{"status": "verified", "win": True, "isa": "avx2", "origin": origin, "edits": []}]}]}]})[0]


def test_an_end_pointer_is_passed_as_the_pointer_it_bounds_plus_the_size(tmp_path: Path) -> None:
    """`f(p, end)`: end gets p + n (two separate buffers would make `end - p` a random distance, and the
    user's loop run off its buffer); the scan's `end_pointers` says which pointer it bounds."""
    claim = _range_claim(tmp_path, RANGE, "count_commas", "    while (p < end) {", "rules:count")
    assert claim.ends == (("end", "p"),)  # type: ignore[attr-defined]
    row = in_program.measure(claim, [4096], 1, 1, tmp_path / "w")
    assert row.note == "" and set(row.ratios) == {4096}
    driver = (tmp_path / "w" / "driver.c").read_text(encoding="utf-8")
    assert "aud_fn[0](aud_b0_0 + 32 + aud_q % aud_r * cnt, (aud_b0_0 + 32 + aud_q % aud_r * cnt) + n)" in driver


FIND = """\
const char *find_in_range(const char *p, const char *end, char c)
{
    for (; p < end; p++)
        if (*p == c)
            return p;
    return end;
}
"""


def test_a_search_returning_a_pointer_is_driven(tmp_path: Path) -> None:
    claim = _range_claim(tmp_path, FIND, "find_in_range", "    for (; p < end; p++)", "rules:search")
    row = in_program.measure(claim, [4096], 1, 1, tmp_path / "w")
    assert row.note == "" and set(row.ratios) == {4096}
    assert "aud_sink += (double)(__UINTPTR_TYPE__)(aud_fn[0](" in (tmp_path / "w" / "driver.c").read_text(encoding="utf-8")
