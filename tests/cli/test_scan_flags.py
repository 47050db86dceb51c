"""The user's own flags (compile_commands.json) decide whether a rewrite needs a flag caveat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simdlens.cli import main

LOOP = "void scale(float *restrict a, int n) {\n    for (int i = 0; i < n; i++)\n        a[i] *= 2.0f;\n}\n"


def caveats(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str | None) -> list[str]:
    src = tmp_path / "k.c"
    src.write_text(LOOP)
    if command:
        (tmp_path / "compile_commands.json").write_text(
            json.dumps([{"directory": str(tmp_path), "file": "k.c", "command": command}]))
    assert main(["scan", "--json", "--no-bench", "--isa", "avx2", "--cache-dir", str(tmp_path / "c"), str(src)]) == 0
    cands = json.loads(capsys.readouterr().out)["files"][0]["loops"][0]["candidates"]
    verified = [c for c in cands if c["status"] == "verified"]
    assert verified, cands
    return verified[0]["caveats"]


def test_no_flag_caveat_when_the_users_build_enables_avx2(tmp_path, capsys) -> None:
    assert not any("needs -mavx2" in c for c in caveats(tmp_path, capsys, "cc -O2 -mavx2 -mfma -c k.c"))


def test_flag_caveat_when_the_users_build_does_not(tmp_path, capsys) -> None:
    assert any("needs -mavx2" in c for c in caveats(tmp_path, capsys, "cc -O2 -c k.c"))
