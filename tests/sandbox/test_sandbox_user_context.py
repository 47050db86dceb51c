"""The reference is the user's code in the user's file context, and every type fact a rewrite relies
on is asserted at compile time: a type simdlens misreads fails to build, it never verifies.

Each case is a small file of its own, scanned (analysis, rules, sandbox; no timing) in one batch. A
case passes when every loop either has no verified rewrite and says why, or has a verified rewrite
whose edit, applied to the file and compiled with the user's compiler, computes what the original
computes (so a future, better analysis that rewrites complex or struct loops correctly still passes).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sandbox_testkit import needs_bwrap, needs_compiler, run

from simdlens.config import Settings
from simdlens.core import CandidateResult, LoopVerdict, Status, TypeFact
from simdlens.pipeline import FileReport, ScanReport, scan
from simdlens.sandbox import Sandbox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rules"))
from rules_support import apply_edits

pytestmark = [needs_compiler, needs_bwrap, pytest.mark.sandbox]

_CMUL = """#include <complex.h>
typedef float complex {name};
void cmul_{name}({name} *c, const {name} *a, const {name} *b, unsigned n) {{
    for (unsigned i = 0; i < n; i++) c[i] = a[i] * b[i];
}}
"""

CASES = {
    **{f"cmul_{name}.c": _CMUL.format(name=name) for name in ("sample32f_t", "mycomplex", "cf32_t")},
    "cmul_std.cpp": """#include <complex>
void cmul_std(std::complex<float> *c, const std::complex<float> *a, const std::complex<float> *b, int n) {
    for (int i = 0; i < n; i++) c[i] = a[i] * b[i];
}
""",
    "struct_typedef.c": """typedef struct { float re, im; } cpx_t;
void cmul_struct(cpx_t *c, const cpx_t *a, const cpx_t *b, int n) {
    for (int i = 0; i < n; i++) {
        c[i].re = a[i].re * b[i].re - a[i].im * b[i].im;
        c[i].im = a[i].re * b[i].im + a[i].im * b[i].re;
    }
}
void copy_struct(cpx_t *c, const cpx_t *a, int n) {
    for (int i = 0; i < n; i++) c[i] = a[i];
}
""",
    "macro_real.c": """#define REAL double
void axpy_real(REAL *y, const REAL *x, REAL a, int n) {
    for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i];
}
""",
    # A macro that hides a type behind a name simdlens reads as a builtin type.
    "macro_misread.c": """#define float double
void axpy_misread(float *y, const float *x, float a, int n) {
    for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i];
}
""",
    # Read correctly (a typedef simdlens follows, declared through a macro): verified in the file's context.
    "typedef_real.c": """typedef double real_t;
#define LEN 64
static real_t table[LEN]; /* a definition in the context: every test object holds a copy */
void axpy_typedef(real_t *y, const real_t *x, real_t a, int n) {
    for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i];
}
""",
}

DRIVER = """#include <stdio.h>
#include <string.h>
#include "{case}"
int main(void) {{
    static unsigned char c[4096], a[4096], b[4096];
    for (int k = 0; k < 4096; k++) {{ a[k] = (unsigned char)(k * 7 + 3); b[k] = (unsigned char)(k * 13 + 1); c[k] = (unsigned char)k; }}
    {call}
    unsigned long long h = 1469598103934665603ull;
    for (int k = 0; k < 4096; k++) h = (h ^ c[k]) * 1099511628211ull;
    printf("%llu\\n", h);
    return 0;
}}
"""


def _world_readable_dir() -> Path:
    """The sandbox's unprivileged uid must reach the user's directory (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="simdlens-user-context-", dir="/tmp"))
    path.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return path


@pytest.fixture(scope="module")
def project() -> Iterator[Path]:
    path = _world_readable_dir()
    for name, text in CASES.items():
        (path / name).write_text(text)
        (path / name).chmod(0o644)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def scanned(project: Path, base_settings: Settings) -> ScanReport:
    settings = base_settings.replace(isa="avx2")
    return scan([str(project)], settings, use_cache=False, bench=False)


def _file(report: ScanReport, name: str) -> FileReport:
    return next(f for f in report.files if os.path.basename(f.path) == name)


def _arguments(path: str) -> str:
    """A call of the case's first function on the driver's byte buffers, cast to its parameter types."""
    import re

    text = Path(path).read_text()
    m = re.search(r"void (\w+)\(([^)]*)\)", text)
    assert m is not None
    args = []
    for param in m.group(2).split(","):
        param = param.strip()
        name = re.findall(r"\w+", param)[-1]
        kind = param[: param.rfind(name)].strip()
        if "*" in kind:
            args.append(f"({kind}){'c' if name in ('c', 'y') else 'a' if name in ('a', 'x') else 'b'}")
        else:
            args.append("64" if name == "n" else "1.5")
    return f"{m.group(1)}({', '.join(args)});"


def _runs_like_the_original(path: str, edited: bytes, folder: Path) -> None:
    """Compile the original file and the edited one with a test main; both must print the same."""
    outputs = []
    for label, text in (("original", Path(path).read_bytes()), ("edited", edited)):
        case = folder / f"{label}_{os.path.basename(path)}"
        case.write_bytes(text)
        cpp = path.endswith(".cpp")
        main = folder / f"main_{label}.{'cpp' if cpp else 'c'}"
        main.write_text(DRIVER.format(case=case.name, call=_arguments(path)))
        exe = folder / f"{label}.out"
        subprocess.run(["g++" if cpp else "gcc", "-O2", "-mavx2", "-mfma", "-o", str(exe), str(main), "-lm"], check=True,
                       capture_output=True)
        outputs.append(subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout)
    assert outputs[0] == outputs[1], f"{path}: the verified rewrite computes something else"


@pytest.mark.parametrize("name", sorted(CASES))
def test_never_a_wrong_verified_rewrite(name: str, scanned: ScanReport, tmp_path: Path) -> None:
    f = _file(scanned, name)
    assert f.loops, f"{name}: no loop found"
    for loop in f.loops:
        verified = [r for r in loop.results if r.verdict.status == Status.VERIFIED]
        if verified:
            for result in verified:
                _runs_like_the_original(f.path, apply_edits(f.source, result.candidate.edits), tmp_path)
            continue
        # no verified rewrite: a refusal or a failed candidate, each with a reason a user can read
        if loop.analysis.verdict == LoopVerdict.NOT_VECTORIZABLE:
            assert loop.analysis.reasons and loop.analysis.reasons[0].message
        else:
            from simdlens.summary import stop

            assert stop(loop) is not None, f"{name}: a vectorizable loop without a rewrite says nothing"


@pytest.mark.parametrize("name", ["cmul_sample32f_t.c", "cmul_mycomplex.c", "cmul_cf32_t.c", "cmul_std.cpp"])
def test_a_complex_multiply_through_any_typedef_name_is_a_complex_rewrite(name: str, scanned: ScanReport) -> None:
    """Whatever the typedef is called, the element is read as complex: the verified rewrite multiplies
    interleaved (real, imaginary) lanes and asserts the complex type, never a float lane-wise multiply."""
    f = _file(scanned, name)
    (loop,) = f.loops
    verified = [r for r in loop.results if r.verdict.status == Status.VERIFIED]
    assert verified, [(r.verdict.status, r.verdict.detail) for r in loop.results]
    for r in verified:
        assert r.candidate.origin == "rules:complex_multiply"
        assert "_mm256_addsub_ps" in r.candidate.function and "_mm256_movemask_ps(both_nan)" in r.candidate.function


@pytest.mark.parametrize("name", ["macro_misread.c"])
def test_a_misread_type_fails_to_build_and_says_which(name: str, scanned: ScanReport) -> None:
    """simdlens reads this element type as float; the compiler, in the user's context, disagrees."""
    f = _file(scanned, name)
    results = [r for loop in f.loops for r in loop.results]
    if not results:  # a later analysis that refuses (or reads the type right) is fine too
        pytest.skip(f"{name}: no candidate was proposed")
    for r in results:
        assert r.verdict.status != Status.VERIFIED
        assert "simdlens misread the type of" in r.verdict.detail, r.verdict.detail
        assert "(the compiler says it is not float)" in r.verdict.detail


def test_a_type_read_right_verifies_in_the_users_context(scanned: ScanReport) -> None:
    f = _file(scanned, "typedef_real.c")
    (loop,) = f.loops
    (result,) = loop.results
    assert result.verdict.status == Status.VERIFIED, result.verdict
    assert "built in your file's context" in result.verdict.detail
    assert any(f.type == "double" for f in result.candidate.type_facts)
    edit_text = "".join(e.new_text for e in result.candidate.edits)
    assert "_Static_assert(__builtin_types_compatible_p(__typeof__(y[0]), double)" in edit_text


def test_a_wrong_type_fact_injected_into_a_candidate_fails_its_build(scanned: ScanReport, base_settings: Settings) -> None:
    f = _file(scanned, "typedef_real.c")
    (loop,) = f.loops
    assert loop.kernel is not None
    (result,) = loop.results
    wrong = replace(result.candidate, type_facts=(*result.candidate.type_facts, TypeFact("y[0]", "float", "y[]")))

    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(base_settings) as sandbox:
            assert loop.kernel is not None
            return await sandbox.verify(loop.kernel, [wrong], bench=False)

    (checked,) = run(go)
    assert checked.verdict.status == Status.COMPILE_ERROR
    assert checked.verdict.detail == "simdlens misread the type of y[] (the compiler says it is not float)"


def test_a_file_that_does_not_build_on_its_own_falls_back_and_says_so(base_settings: Settings) -> None:
    folder = _world_readable_dir()
    try:
        path = folder / "needs_sdk.c"
        path.write_text("#include <simdlens_no_such_sdk.h>\n"
                        "void scale(float *restrict y, const float *restrict x, float k, int n) {\n"
                        "    for (int i = 0; i < n; i++) y[i] = x[i] * k;\n}\n")
        path.chmod(0o644)
        report = scan([str(path)], base_settings.replace(isa="avx2"), use_cache=False, bench=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    (loop,) = report.files[0].loops
    (result,) = loop.results
    assert result.verdict.status == Status.VERIFIED, result.verdict
    assert "reference built from simdlens's reading of your declarations" in result.verdict.detail
    assert "simdlens_no_such_sdk.h" in result.verdict.detail
