"""Gathers, checked directly with gcc: the sandbox harness cannot yet make valid index arrays (the
original loop itself crashes on random indices), so these kernels are compared here on hand-made
in-range indices, including repeated ones, for every size around the vector width."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from rules_support import analyse, needs_compiler, require_host

from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

pytestmark = needs_compiler

CASES = {
    "gather_float": ("float", """void g(float *restrict d, const float *restrict a, const int *restrict idx, int n) {
    for (int i = 0; i < n; i++) d[i] = a[idx[i]] * 2.0f;
}"""),
    "gather_double_guarded": ("double", """void g(double *restrict d, const double *restrict a, const int *restrict idx, int n) {
    for (int i = 0; i < n; i++) if (idx[i] >= 0) d[i] = a[idx[i]] + 1.0;
}"""),
    "gather_int64": ("int64_t", """void g(int64_t *restrict d, const int64_t *restrict a, const int *restrict idx, int n) {
    for (int i = 0; i < n; i++) d[i] = a[idx[i]] ^ a[i];
}"""),
}

MAIN = r"""
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
int main(void) {
    static int sizes[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 33, 1001};
    for (unsigned s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int n = sizes[s];
        T *a = malloc(sizeof(T) * (n + 1)), *d1 = calloc(n + 1, sizeof(T)), *d2 = calloc(n + 1, sizeof(T));
        int *idx = malloc(sizeof(int) * (n + 1));
        for (int i = 0; i <= n; i++) { a[i] = (T)(i * 7 % 13) - (T)3; idx[i] = (i * 5) % (n + 1); if (i % 4 == 3) idx[i] = -1 - (i % 3); }
        for (int i = 0; i <= n; i++) if (!GUARDED && idx[i] < 0) idx[i] = 0;
        CALL_REFERENCE;
        CALL_CANDIDATE;
        if (memcmp(d1, d2, sizeof(T) * (n + 1)) != 0) { printf("mismatch at n=%d\n", n); return 1; }
        free(a); free(d1); free(d2); free(idx);
    }
    puts("ok");
    return 0;
}
"""


@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(CASES))
def test_gather_matches_the_scalar_loop(tmp_path: Path, name: str, isa: str) -> None:
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    elem, code = CASES[name]
    _source, a, kernel = analyse(name, code)
    assert kernel is not None
    proposal = propose(a, kernel, isa, Settings())
    assert proposal.candidates, proposal.notes
    cand = proposal.candidates[0]
    assert "gather" in cand.function
    ref = kernel.source.replace(kernel.name, "reference", 1)
    vec = cand.function.replace(kernel.name, "candidate", 1)
    args = {"d": "d1", "a": "a", "idx": "idx", "n": "n"}
    call = ", ".join(args[p.name] for p in kernel.params)
    main = MAIN.replace("CALL_REFERENCE", f"reference({call})").replace(
        "CALL_CANDIDATE", f"candidate({call.replace('d1', 'd2')})")
    program = "\n".join([kernel.preamble, "#include <immintrin.h>", f"typedef {elem} T;",
                         f"#define GUARDED {int('guarded' in name)}", ref, vec, main])
    path = tmp_path / "g.c"
    path.write_text(program)
    exe = tmp_path / "g"
    build = subprocess.run(["gcc", "-O2", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", *cand.flags,
                            str(path), "-o", str(exe)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[:2000]
    require_host(isa)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr[:2000]
