"""do … while loops: the body runs once before the first test, so a counted do-while runs
max(1, …) times. The trip-count expression and the footprints are checked by running C."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from simdlens.analysis import analyze_file
from simdlens.core import Analysis, Kernel

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def analyse(code: str) -> tuple[Analysis, Kernel | None]:
    src = f"#include <stdint.h>\n#include <stddef.h>\n{code}\n".encode()
    fa = analyze_file(src, "dw.c", "c")
    assert len(fa.analyses) == 1, fa
    a = fa.analyses[0]
    return a, fa.kernels.get(a.site.loop_id)


# (counter type, the step at the end of the body, the condition)
FORMS = [
    ("int", "i++;", "i < n"),
    ("int", "i += 3;", "i < n"),
    ("int", "++i;", "i <= n"),
    ("int", "i--;", "i > n"),
    ("int", "i -= 2;", "i >= n"),
    ("int", "i = i + 1;", "n > i"),
    ("long", "i = i + 4;", "i <= n"),
    ("size_t", "i += 2;", "i < n"),
    ("int", "", "++i < n"),  # the step in the test
    ("int", "", "n <= --i"),
    ("long", "", "++i <= n"),
]


def test_counted_do_while_is_normalised_with_at_least_one_iteration() -> None:
    a, kernel = analyse("void f(float *restrict a, const float *restrict b, int n) {\n"
                        "    int i = 0;\n    do { a[i] = b[i] * 2.0f; i++; } while (i < n);\n}")
    assert a.verdict.value == "vectorizable", a.reasons
    assert a.loop is not None and a.loop.runs_at_least_once
    assert a.loop.trip_count == "((n) > (i) ? ((n) - (i)) : 1)"
    # the kernel keeps the loop as the user wrote it
    assert kernel is not None and "do { a[i] = b[i] * 2.0f; i++; } while (i < n);" in kernel.source


def test_for_and_while_loops_do_not_claim_a_forced_iteration() -> None:
    a, _ = analyse("void f(float *restrict a, int n) { for (int i = 0; i < n; i++) a[i] = 0.0f; }")
    assert a.loop is not None and not a.loop.runs_at_least_once


@needs_gcc
def test_trip_counts_match_c(tmp_path: Path) -> None:
    lines = ["#include <stdio.h>", "#include <stddef.h>", "int main(void) {", " int bad = 0;"]
    for k, (t, step, cond) in enumerate(FORMS):
        a, _ = analyse(f"void f(float *restrict a, {t} i, {t} n) {{ do {{ a[0] += 1.0f; {step} }} while ({cond}); }}")
        assert a.loop is not None, (step, cond, a.reasons)
        assert a.loop.runs_at_least_once
        lo = 0 if t == "size_t" else -3
        lines += [f" for (long s = {lo}; s < 14; s++) for (long m = {lo}; m < 14; m++) {{",
                  f"  {t} i = ({t})s, n = ({t})m; long t = (long)({a.loop.trip_count}), c = 0;",
                  f"  do {{ c++; {step} }} while ({cond});",
                  f'  if (c != t) {{ printf("form {k} i=%ld n=%ld: loop %ld expr %ld\\n", s, m, c, t); bad = 1; }}',
                  " }"]
    lines += [" return bad;", "}"]
    src = tmp_path / "trip.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "trip"
    subprocess.run(["gcc", "-std=c11", "-w", "-o", str(exe), str(src)], check=True, timeout=60)
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout


@needs_gcc
def test_footprint_holds_the_forced_first_iteration(tmp_path: Path) -> None:
    """With the counter already at or past the bound the body still touches element i: the footprint
    must include it, or the sandbox harness (which allocates exactly the footprint) would overflow."""
    a, kernel = analyse("void f(float *restrict a, const float *restrict b, int n) {\n"
                        "    int i = 0;\n    do { a[i] = b[i] + a[i]; i += 2; } while (i < n);\n}")
    assert kernel is not None, a.reasons
    fps = {f.param: f for f in kernel.footprints}
    assert set(fps) == {"a", "b"}
    runs = []
    for i, bound in [(0, 0), (5, 0), (5, 5), (2, 9), (0, 1), (3, 4)]:
        body = [f" {{ int i = {i}, n = {bound};"]
        for p in ("a", "b"):
            f = fps[p]
            body += [f"   long lo_{p} = (long)({f.lo}), hi_{p} = (long)({f.hi});",
                     f"   float *buf_{p} = calloc((size_t)(hi_{p} - lo_{p} + 1), sizeof(float));",
                     f"   float *{p} = buf_{p} - lo_{p};"]
        body += ["   simdlens_kernel(" + ", ".join(p.name for p in kernel.params) + ");",
                 "   free(buf_a); free(buf_b); }"]
        runs += body
    src = tmp_path / "fp.c"
    src.write_text(kernel.preamble + "\n#include <stdlib.h>\n" + kernel.source
                   + "int main(void) {\n" + "\n".join(runs) + "\n return 0;\n}\n")
    exe = tmp_path / "fp"
    subprocess.run(["gcc", "-std=c11", "-O0", "-w", "-fsanitize=address", "-o", str(exe), str(src)], check=True,
                   timeout=120)
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("code,reason,words", [
    ("int i = 0; do { a[i] = 0.0f; i++; } while (i != n);", "not_counted", "'i != …'"),
    ("int i = 0; do { a[i] = 0.0f; } while (++i != n);", "not_counted", "'i != …'"),
    ("int i = 0; do { a[i] = 0.0f; } while (i++ < n);", "unsupported_loop", "compared with a bound"),
    ("int i = 0; do { a[i] = 0.0f; i++; } while (a[i] > 0.0f);", "unsupported_loop", "compared with a bound"),
    ("int i = 0; do { a[i] = 0.0f; i++; } while (i < n && a[i] > 0.0f);", "unsupported_loop", "compared with a bound"),
    ("unsigned i = n; do { a[i] = 0.0f; i--; } while (i > 0);", "not_counted", "wrap"),
    ("unsigned char i = 0; do { a[i] = 0.0f; i++; } while (i < 100);", "not_counted", "narrow"),
    ("int i = 0; do { if (a[i] < 0.0f) continue; a[i] = 1.0f; i++; } while (i < n);", "not_counted", "continue"),
])
def test_unsupported_do_while_keeps_a_clear_reason(code: str, reason: str, words: str) -> None:
    a, kernel = analyse(f"void f(float *a, int n) {{ {code} }}")
    assert a.verdict.value == "not_vectorizable" and kernel is None
    assert a.reasons[0].code == reason and words in a.reasons[0].message, a.reasons
