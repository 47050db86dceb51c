"""editors/emacs/simdlens.el with the real Emacs + eglot (batch mode) and the real `simdlens serve`.

CI does not install Emacs, so this skips there; with Debian's `emacs-nox` and `elpa-eglot` it runs the
same user path as the Neovim test: diagnostics, a verified rewrite, its code action applied and saved,
the report command from the snippet.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from editor_checks import (
    FIXTURE,
    assert_live_avx2_loop_that_compiles,
    assert_same_results_as_original,
    host_runs_avx2,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SNIPPET = ROOT / "editors" / "emacs" / "simdlens.el"
EMACS_TIMEOUT_S = 150


def _eglot_available(emacs: str) -> bool:
    probe = subprocess.run([emacs, "--batch", "--eval", "(require 'eglot)"], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL, check=False)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def emacs_session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    emacs = shutil.which("emacs")
    if emacs is None:
        pytest.skip("emacs is not installed (Debian: apt-get install emacs-nox elpa-eglot); the eglot snippet is untested here")
    if not _eglot_available(emacs):
        pytest.skip("eglot is not available to this Emacs (Debian: apt-get install elpa-eglot, or Emacs >= 29)")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: simdlens cannot verify rewrites, so there is nothing to apply")
    if not host_runs_avx2():
        pytest.skip("this CPU does not run AVX2: simdlens cannot verify an AVX2 rewrite here")
    work = tmp_path_factory.mktemp("emacs")
    (work / ".git").mkdir()  # a project root for eglot
    source = work / "kernels.c"
    shutil.copyfile(FIXTURE, source)
    result_file = work / "result.json"
    env = {
        **os.environ,
        # the snippet runs `simdlens serve` from PATH, as a user's would
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(work),
        "SIMDLENS_EMACS_SNIPPET": str(SNIPPET),
        "SIMDLENS_C_FILE": str(source),
        "SIMDLENS_EMACS_RESULT": str(result_file),
        "SIMDLENS_TEST_CACHE": str(work / "cache"),
        "SIMDLENS_VERIFY_TIMEOUT_S": str(EMACS_TIMEOUT_S - 30),
    }
    if not (Path(sys.executable).parent / "simdlens").exists():
        pytest.skip(f"no simdlens executable next to {sys.executable}")
    try:
        proc = subprocess.run([emacs, "--batch", "-l", str(HERE / "emacs" / "drive.el")], cwd=work, env=env,
                              capture_output=True, text=True, timeout=EMACS_TIMEOUT_S, stdin=subprocess.DEVNULL,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"batch Emacs did not finish within {EMACS_TIMEOUT_S} s (stderr: {exc.stderr!r})")
    if not result_file.exists():
        pytest.fail(f"the Emacs driver wrote no result; exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return {"result": json.loads(result_file.read_text() or "{}"), "source": source, "work": work,
            "stderr": proc.stderr[-3000:]}


def _result(session: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = session["result"]
    assert "error" not in result, (f"{result['error']}\ndiagnostics: {result.get('diagnostics_before')}\n"
                                   f"stderr: {session['stderr']}")
    return result


def test_eglot_gets_diagnostics_and_applies_the_verified_rewrite(emacs_session: dict[str, Any]) -> None:
    result = _result(emacs_session)
    assert result["mode"] == "c-mode"
    assert result["server"] == "simdlens"
    assert result["first_diagnostics"]
    assert result["actions"] and all(t.startswith("Vectorize with AVX2 — verified") for t in result["actions"])
    source: Path = emacs_session["source"]
    assert source.read_text() == result["buffer"]
    assert_live_avx2_loop_that_compiles(source, emacs_session["work"])
    assert_same_results_as_original(source, emacs_session["work"])


def test_report_command_from_the_snippet(emacs_session: dict[str, Any]) -> None:
    result = _result(emacs_session)
    assert result["report"].startswith("# simdlens report: kernels.c")
