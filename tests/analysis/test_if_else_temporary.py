"""A scalar declared before the loop and assigned in both branches of an `if … else` before any read
is a private temporary of each iteration (`t = c ? a : b`), not a loop-invariant value or a
recurrence; anything short of that keeps the loop refused."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from simdlens.analysis import analyze_file
from simdlens.analysis.ir import Let, Select
from simdlens.core import Analysis, Kernel


def analyse(body: str, after: str = "") -> tuple[Analysis, Kernel | None]:
    src = ("void f(int *restrict o, const int *restrict x, int y, const int *restrict c, int n)\n"
           f"{{\n    int t = 0;\n    for (int i = 0; i < n; i++) {{ {body} }}\n{after}}}\n").encode()
    fa = analyze_file(src, "sel.c", "c")
    assert len(fa.analyses) == 1
    a = fa.analyses[0]
    return a, fa.kernels.get(a.site.loop_id)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_a_scalar_set_in_both_branches_is_a_per_iteration_temporary(tmp_path: Path) -> None:
    a, kernel = analyse("if (c[i]) t = x[i]; else t = y; o[i] = t;")
    assert a.verdict.value == "vectorizable", a.reasons
    assert a.loop is not None
    assert {s.name: s.role.value for s in a.loop.scalars}["t"] == "local"  # not a splatted invariant
    first = a.loop.body[0]
    assert isinstance(first, Let) and first.name == "t" and isinstance(first.value, Select)
    assert "guarded_load" in a.facts  # x[i] is still only read where c[i] holds
    assert kernel is not None
    code = tmp_path / "k.c"
    code.write_text(kernel.preamble + "\n" + kernel.source + "\n")
    proc = subprocess.run(["gcc", "-std=c11", "-c", "-Wall", "-o", str(tmp_path / "k.o"), str(code)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_its_last_value_is_kept_when_read_after_the_loop() -> None:
    a, kernel = analyse("if (c[i]) { t = x[i]; } else { t = y; } o[i] = t;", after="    o[0] = t;\n")
    assert a.verdict.value == "vectorizable", a.reasons
    assert "last_value" in a.facts
    assert kernel is not None and "return t;" in kernel.source


@pytest.mark.parametrize("body", [
    "o[i] = t; if (c[i]) t = x[i]; else t = y;",  # last iteration's value is read first: carried
    "if (y > i) { if (c[i]) t = x[i]; else t = y; } o[i] = t;",  # not assigned on every iteration
    "if (c[i]) t = t + x[i]; else t = y; o[i] = t;",  # reads itself
])
def test_anything_else_stays_refused(body: str) -> None:
    a, _ = analyse(body)
    assert a.verdict.value == "not_vectorizable", body


def test_without_else_it_is_a_held_value() -> None:
    # `if (c[i]) t = x[i]; o[i] = t;` keeps its old value otherwise: the last value seen (a SIMD scan)
    a, _ = analyse("if (c[i]) t = x[i]; o[i] = t;")
    assert a.verdict.value == "vectorizable" and "hold" in a.facts, a.reasons
