"""A kernel compiled in the user's file context links even when the file's other functions call code
defined in other files of the user's program (TSVC's `dummy(a, b, …)`, a project's logging helpers): the
sandbox never sees those files, and the link drops the functions that need them."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from simdlens.cli import main

SOURCE = """#define LEN 4096
float a[LEN], b[LEN], c[LEN];
int dummy(float *, float *, float *);  /* defined in another file of the program */

float first(void) {
    for (int i = 0; i < LEN; i++) a[i] = b[i] + c[i];
    dummy(a, b, c);
    return a[0];
}

float second(void) {
    for (int i = 0; i < LEN; i++) b[i] = a[i] * c[i];
    dummy(a, b, c);
    return b[0];
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_a_loop_after_functions_calling_other_files_is_verified(capsys: pytest.CaptureFixture[str]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="simdlens-other-files-", dir="/tmp"))
    folder.chmod(0o755)  # the sandbox's unprivileged uid reads the user's file (pytest's tmp_path is 0700)
    try:
        src = folder / "kernels.c"
        src.write_text(SOURCE)
        src.chmod(0o644)
        main(["scan", "--json", "--no-bench", "--no-cache", "--isa", "avx2", str(src)])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    doc = json.loads(capsys.readouterr().out)
    loops = [lp for f in doc["files"] for lp in f["loops"]]
    second_loop = next(lp for lp in loops if lp["function"] == "second")
    statuses = [c["status"] for c in second_loop.get("candidates", [])]
    assert "verified" in statuses, second_loop
    assert "in your file's context" in second_loop["candidates"][0]["detail"]
