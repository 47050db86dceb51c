"""`simdlens doctor` reports what a user needs to know, and its exit status says whether it works."""

from __future__ import annotations

import shutil

import pytest
from sandbox_testkit import needs_bwrap

from simdlens.cli import main
from simdlens.sandbox.cpu import host_cpu


@needs_bwrap
@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_doctor_reports_compiler_cpu_sandbox_cache_and_model(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = main(["doctor", "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "compiler: gcc" in out and "(used)" in out
    assert f"cpu: {host_cpu().model}" in out
    assert "sandbox: bubblewrap works" in out  # it really ran something
    assert f"cache: {tmp_path / 'cache'}" in out
    assert "model:" in out
    assert out.rstrip().endswith("ready")


def test_doctor_fails_clearly_without_a_compiler(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--compiler", "no-such-compiler-xyz"])
    captured = capsys.readouterr()
    assert code == 1
    assert "no-such-compiler-xyz not found" in captured.out
    assert "not ready" in captured.err
