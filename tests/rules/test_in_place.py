"""In-place calls of an element-wise loop (`f(x, x, n)`) run the vector code: the run-time overlap check
accepts two pointers that are equal when iteration i reads and writes only element i of both, reading
before writing. Any other overlap (out == in + 1, out == in - 1) still runs the original loop, and every
case gives the original loop's result."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rules_support import ISAS, analyse, apply_edits, build_and_run, needs_compiler

from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

SCALE = "void scale(float *out, const float *in, int n) { for (int i = 0; i < n; i++) out[i] = in[i] * 2.0f + 1.0f; }"
# `in[i]` is read again after `out[i]` was written: with out == in the second read sees the new value
REREAD = ("void reread(float *out, const float *in, float *t, int n)\n"
          "{ for (int i = 0; i < n; i++) { out[i] = in[i] + 1.0f; t[i] = in[i] * 3.0f; } }")

MAIN = """
#include <stdio.h>
#include <string.h>
void scale(float *out, const float *in, int n);
void original(float *out, const float *in, int n);
int vector_path(float *out, const float *in, int n);
int main(void)
{
    static float x[400], y[400];
    int bad = 0;
    for (int shift = -3; shift <= 3; shift++)
        for (int n = 0; n <= 70; n++) {
            for (int j = 0; j < 400; j++) x[j] = y[j] = (float)(j % 17) - 4.0f;
            scale(x + 100 + shift, x + 100, n);
            original(y + 100 + shift, y + 100, n);
            if (memcmp(x, y, sizeof x) != 0) { printf("shift=%d n=%d differ\\n", shift, n); bad = 1; }
        }
    /* which path the check picks for n = 64 */
    printf("%d %d %d %d\\n", vector_path(x + 100, x + 100, 64), vector_path(x + 101, x + 100, 64),
           vector_path(x + 99, x + 100, 64), vector_path(x, x + 200, 64));
    return bad;
}
"""


def _candidate(name: str, code: str, isa: str) -> tuple[bytes, str, str]:
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, isa, Settings(), source=source).candidates
    condition = re.search(r"^\s*if \((.*)\)\s*$", cand.function, re.M)
    assert condition is not None, cand.function
    return apply_edits(source, cand.edits), cand.function, condition.group(1)


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
def test_an_in_place_call_runs_the_vector_path_and_overlaps_fall_back(tmp_path: Path, isa: str) -> None:
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    edited, function, condition = _candidate("scale", SCALE, isa)
    (tmp_path / "edited.c").write_bytes(edited)
    (tmp_path / "original.c").write_text(SCALE.replace("scale(", "original("))
    params = re.search(r"simdlens_kernel\(([^)]*)\)", function)
    assert params is not None
    names = ", ".join(re.findall(r"\w+", p)[-1] for p in params.group(1).split(","))
    # the check's condition as a function of the kernel's parameters, called as VP(out, in, n)
    (tmp_path / "path.c").write_text(f"#include <stdint.h>\nint vector_path({params.group(1)}) {{ return {condition}; }}\n")
    main = MAIN.replace("int vector_path(float *out, const float *in, int n);",
                        f"int vector_path({params.group(1)});\n#define VP(out, in, n) vector_path({names})")
    (tmp_path / "main.c").write_text(main.replace("vector_path(x", "VP(x").replace("#include <string.h>", "#include <string.h>\n#include <stdint.h>"))
    run = build_and_run(tmp_path, isa, ("edited.c", "original.c", "path.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]
    # out == in: vector; out == in + 1 and out == in - 1: the original loop; disjoint: vector
    assert run.stdout.splitlines()[-1] == "1 0 0 1", run.stdout


def test_a_read_after_the_write_keeps_the_strict_check() -> None:
    _, _, condition = _candidate("reread", REREAD, "avx2")
    pairs = re.findall(r"&(\w+)\[\(0\) \+ \(0\)\] == \(__UINTPTR_TYPE__\)\(const void \*\)&(\w+)", condition)
    assert ("in", "out") not in pairs and ("out", "in") not in pairs, condition


# the vector code reads `in[i - 1]` again for the carried value: with out == in the previous step overwrote it
CARRIED = ("void diff(float *out, const float *in, int n)\n"
           "{ float prev = 0.0f; for (int i = 0; i < n; i++) { float d = in[i] - prev; prev = in[i]; out[i] = d; } }")


def test_a_carried_value_keeps_the_strict_check() -> None:
    source, analysis, kernel = analyse("diff", CARRIED)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    assert cand.origin == "rules:peel"
    assert "] == (__UINTPTR_TYPE__)" not in cand.function, cand.function


# `x[i - t]` reads what an earlier step stored when y == x: its range is part of the check, and equal
# pointers are no longer harmless (a fixed-point comb filter, `y[i] = x[i] + x[i - t] / 2`)
DELAYED = ("void comb(short *y, const short *x, int n, int t)\n"
           "{ for (int i = 0; i < n; i++) y[i] = (short)(x[i] + (x[i - t] >> 1)); }")


def test_a_read_at_a_symbolic_distance_is_in_the_check_and_keeps_it_strict() -> None:
    source, analysis, kernel = analyse("comb", DELAYED)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    assert "] == (__UINTPTR_TYPE__)" not in cand.function, cand.function  # y == x falls back
    assert "(-t)]" in cand.function.split("{")[1], cand.function  # the overlap test bounds x[i - t]
