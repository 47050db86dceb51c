"""Loops that divide by a value the test data provides get verified: the harness keeps every integer the
loop divides by away from 0 and -1 (C's undefined x / 0 and INT_MIN / -1), so the user's own loop is
defined on every test case instead of trapping and making the rewrite "cannot verify"."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_testkit import needs_compiler, scan_json_in_user_folder

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


@needs_compiler
def test_a_division_by_test_data_is_verified(capsys: pytest.CaptureFixture[str]) -> None:
    doc = scan_json_in_user_folder("div.c", SOURCE, capsys)
    loops = doc["files"][0]["loops"]
    for lp in loops:
        assert [c["status"] for c in lp["candidates"]] == ["verified"], lp


def test_the_divisors_are_the_integer_parameters_after_a_division(tmp_path: Path) -> None:
    from simdlens.config import Settings
    from simdlens.pipeline import analyze_document

    fa = analyze_document(SOURCE.encode(), str(tmp_path / "div.c"), "c", Settings())
    kernels = [k for k in fa.kernels.values() if isinstance(k, Kernel)]
    assert sorted(sorted(divisor_params(k)) for k in kernels) == [["b"], ["d"]]
