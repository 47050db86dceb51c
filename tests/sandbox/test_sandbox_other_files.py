"""A kernel compiled in the user's file context links even when the file's other functions call code
defined in other files of the user's program (TSVC's `dummy(a, b, …)`, a project's logging helpers): the
sandbox never sees those files, and the link drops the functions that need them."""

from __future__ import annotations

import pytest
from sandbox_testkit import needs_compiler, scan_json_in_user_folder

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


@needs_compiler
def test_a_loop_after_functions_calling_other_files_is_verified(capsys: pytest.CaptureFixture[str]) -> None:
    doc = scan_json_in_user_folder("kernels.c", SOURCE, capsys)
    loops = [lp for f in doc["files"] for lp in f["loops"]]
    second_loop = next(lp for lp in loops if lp["function"] == "second")
    statuses = [c["status"] for c in second_loop.get("candidates", [])]
    assert "verified" in statuses, second_loop
    assert "in your file's context" in second_loop["candidates"][0]["detail"]
