"""benchmarks/compiler_resistant.py: a loop gcc vectorizes at -O3 -march=native is not in the
compiler-resistant set; a histogram neither gcc nor clang vectorizes is; outer loops of a nest are left
out (their inner loop is the one the compilers report)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("compiler_resistant", ROOT / "benchmarks" / "compiler_resistant.py")
assert _spec is not None and _spec.loader is not None
compiler_resistant = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compiler_resistant)

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("clang-19") is None,
                                reason="needs gcc and clang-19")

SOURCE = """\
#include <stdint.h>
// bench: domain=t category=elementwise expect=vectorizable
void scale(float *restrict y, const float *restrict x, float g, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = g * x[i];
}
// bench: domain=t category=histogram expect=vectorizable
void count(uint32_t *restrict h, const uint8_t *restrict px, int n)
{
    for (int i = 0; i < n; i++)
        h[px[i]]++;
}
// bench: domain=t category=elementwise expect=vectorizable
void rows(float *restrict y, const float *restrict x, int r, int c)
{
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++)
            y[i * c + j] = 2.0f * x[i * c + j];
}
"""


def test_the_compilers_reports_decide_which_loops_are_resistant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "loops.c"
    path.write_text(SOURCE)
    out = io.StringIO()
    monkeypatch.setattr(sys, "argv", ["compiler_resistant.py", str(path), "--json"])
    with contextlib.redirect_stdout(out):
        assert compiler_resistant.main() == 0
    rows = {r["function"]: r for r in json.loads(out.getvalue())}
    assert rows["scale"]["gcc"] and rows["scale"]["clang"] and not rows["scale"]["resistant"]
    assert rows["count"]["resistant"] and rows["count"]["family"] == "histogram"
    assert [r["line"] for r in json.loads(out.getvalue()) if r["function"] == "rows"] == [18]  # the inner loop only
