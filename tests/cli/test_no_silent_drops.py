"""No silent drops: every loop judged vectorizable (with or without checks) that ends without a
verified rewrite says which stage stopped and why, in `scan --json` (`stopped`), the table, the hover
and the diagnostic (docs/scan.md)."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from simdlens.cli import main

ROOT = Path(__file__).resolve().parents[2]
CORPORA = [str(ROOT / "tests" / "fixtures" / "corpus"), str(ROOT / "benchmarks" / "corpus"), str(ROOT / "examples")]


def _scan(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["scan", "--json", "--isa", "avx2", *args, *CORPORA])
    assert code == 0
    return json.loads(out.getvalue())


def _silent(doc: dict[str, Any]) -> list[str]:
    """Vectorizable loops without a verified rewrite whose `stopped` says nothing."""
    silent = []
    for f in doc["files"]:
        for loop in f["loops"]:
            if loop["verdict"] == "not_vectorizable":
                continue
            won = any(c["status"] == "verified" for c in loop["candidates"]) and loop["code"] == "SL102"
            stopped = loop["stopped"]
            if not won and not (stopped and stopped["stage"] and stopped["reason"].strip()):
                silent.append(f"{f['path']}:{loop['range']['start']['line'] + 1} {loop['notes']}")
    return silent


def _stages(doc: dict[str, Any]) -> set[str]:
    return {loop["stopped"]["stage"] for f in doc["files"] for loop in f["loops"] if loop["stopped"]}


def test_every_vectorizable_loop_of_the_corpora_says_why_it_has_no_rewrite_without_verifying(tmp_path: Path) -> None:
    doc = _scan("--no-verify", "--cache-dir", str(tmp_path / "cache"))
    assert not _silent(doc)
    # nothing was verified, so every vectorizable loop stopped somewhere, with its stage named
    assert {"verification", "kernel"} <= _stages(doc)


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_every_vectorizable_loop_of_the_corpora_says_why_it_has_no_verified_rewrite(tmp_path: Path) -> None:
    doc = _scan("--no-bench", "--cache-dir", str(tmp_path / "cache"))
    assert not _silent(doc)


def test_a_loop_without_a_kernel_says_why_in_the_table_hover_and_diagnostic(tmp_path: Path) -> None:
    from simdlens import report, summary
    from simdlens.config import Settings
    from simdlens.pipeline import scan

    path = tmp_path / "squares.c"
    path.write_text("void squares(float *restrict out, const float *restrict in, int n) {\n"
                    "    for (int i = 0; i < n; i++) out[i * i] = in[i];\n}\n")
    scanned = scan([str(path)], Settings(cache_dir=str(tmp_path / "cache"), isa="avx2"), use_cache=False, verify=False)
    (loop,) = scanned.files[0].loops
    if loop.analysis.verdict.value == "not_vectorizable":
        pytest.skip("the analysis refuses this loop outright (its reasons say why)")
    stopped = summary.stop(loop)
    assert stopped is not None and stopped.stage == "kernel"
    assert "subscript" in stopped.reason
    # the hover and the diagnostic word their line with failure_reason; the table with the same stop
    assert summary.failure_reason(loop) == str(stopped)
    assert str(stopped) in report._result_text(loop, ())
