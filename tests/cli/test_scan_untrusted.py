"""`scan --untrusted` is the server's untrusted-workspace mode for the command line: analysis and
proposals only - nothing is compiled or run, the database's compiler is not used even when allow-listed,
no sandbox directory is created."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LOOP = "void scale(float *restrict a, int n) {\n    for (int i = 0; i < n; i++)\n        a[i] *= 2.0f;\n}\n"


def test_untrusted_scan_compiles_and_runs_nothing(tmp_path: Path) -> None:
    workspace = tmp_path / "clone"
    workspace.mkdir()
    marker = tmp_path / "ran"
    script = workspace / "cc"
    script.write_text(f"#!/bin/sh\ntouch {marker}\nexec /usr/bin/gcc \"$@\"\n")
    script.chmod(0o755)
    (workspace / "k.c").write_text(LOOP)
    (workspace / "compile_commands.json").write_text(json.dumps(
        [{"directory": str(workspace), "file": "k.c", "arguments": [str(script), "-O2", "-c", "k.c"]}]))
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    env = {**os.environ, "SIMDLENS_PURE_PYTHON": "1", "TMPDIR": str(private_tmp), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "simdlens", "scan", "--json", "--untrusted", "--isa", "avx2", "--allow-compiler",
         str(script), "--cache-dir", str(tmp_path / "cache"), str(workspace)],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=300)  # a hang guard
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["verified"] is False and doc["toolchain"] is None
    assert doc["counters"]["compiles"] == 0 and doc["counters"]["sandbox_calls"] == 0
    (loop,) = doc["files"][0]["loops"]
    assert loop["verdict"] == "vectorizable"
    assert loop["candidates"] and all(c["status"] == "unverified" and c["edits"] == [] for c in loop["candidates"])
    assert any("not trusted" in n for n in doc["notes"])
    assert not marker.exists()
    assert list(private_tmp.iterdir()) == []  # no sandbox build directory was made


def test_scan_help_states_the_default() -> None:
    done = subprocess.run([sys.executable, "-m", "simdlens", "scan", "--help"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "SIMDLENS_PURE_PYTHON": "1"})
    assert "--untrusted" in done.stdout and "default: trusted" in " ".join(done.stdout.split())
