"""Loops that divide by a value the test data provides get verified: the harness keeps every integer the
loop divides by away from 0 and -1 (C's undefined x / 0 and INT_MIN / -1), so the user's own loop is
defined on every test case instead of trapping and making the rewrite "cannot verify"."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from simdlens.cli import main
from simdlens.core import Kernel
from simdlens.sandbox.harness import divisor_params

SOURCE = """void qdiv(int *restrict q, const int *restrict a, const int *restrict b, int n)
{
    for (int i = 0; i < n; i++)
        q[i] = a[i] / b[i];
}

void qmod(int *restrict r, const int *restrict a, int d, int n)
{
    for (int i = 0; i < n; i++)
        r[i] = a[i] % (int)d;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_a_division_by_test_data_is_verified(capsys: pytest.CaptureFixture[str]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="simdlens-divisors-", dir="/tmp"))
    folder.chmod(0o755)  # the sandbox's unprivileged uid reads the user's file (pytest's tmp_path is 0700)
    try:
        src = folder / "div.c"
        src.write_text(SOURCE)
        src.chmod(0o644)
        main(["scan", "--json", "--no-bench", "--no-cache", "--isa", "avx2", str(src)])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    loops = json.loads(capsys.readouterr().out)["files"][0]["loops"]
    for lp in loops:
        assert [c["status"] for c in lp["candidates"]] == ["verified"], lp


def test_the_divisors_are_the_integer_parameters_after_a_division(tmp_path: Path) -> None:
    from simdlens.config import Settings
    from simdlens.pipeline import analyze_document

    fa = analyze_document(SOURCE.encode(), str(tmp_path / "div.c"), "c", Settings())
    kernels = [k for k in fa.kernels.values() if isinstance(k, Kernel)]
    assert sorted(sorted(divisor_params(k)) for k in kernels) == [["b"], ["d"]]
