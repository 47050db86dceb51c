"""Checks shared by the editor tests: after an editor applied simdlens's code action to
fixtures/kernels.c, the saved file holds a live AVX2 intrinsic loop, compiles with and without the ISA
flags, and computes exactly what the original functions compute.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixtures" / "kernels.c"
# 0-based line of the header of the recurrence loop simdlens must refuse (SL201)
RECURRENCE_HEADER_LINE = FIXTURE.read_text().splitlines().index("    for (int i = 1; i < n; i++)", 20)
FUNCTIONS = ("add_i32", "scale_f32", "max_i32", "mod_chain")

# Calls the original (orig_*) and the edited functions on the same inputs; any difference fails.
COMPARE_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void add_i32(int *restrict, const int *restrict, const int *restrict, int);
void orig_add_i32(int *restrict, const int *restrict, const int *restrict, int);
void scale_f32(float *restrict, const float *restrict, float, int);
void orig_scale_f32(float *restrict, const float *restrict, float, int);
int max_i32(const int *, int);
int orig_max_i32(const int *, int);
void mod_chain(int *, int);
void orig_mod_chain(int *, int);
int main(void) {
    static const int sizes[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 64, 100, 1000, 4099};
    srand(12345);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int n = sizes[s];
        int *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        int *c1 = calloc(n, sizeof *c1), *c2 = calloc(n, sizeof *c2);
        float *x = malloc(n * sizeof *x), *y1 = calloc(n, sizeof *y1), *y2 = calloc(n, sizeof *y2);
        for (int i = 0; i < n; i++) {
            a[i] = rand() - RAND_MAX / 2; b[i] = rand() - RAND_MAX / 2;
            x[i] = (float)rand() / (float)RAND_MAX * 200.0f - 100.0f;
        }
        add_i32(c1, a, b, n); orig_add_i32(c2, a, b, n);
        if (memcmp(c1, c2, n * sizeof *c1)) { printf("add_i32 differs at n=%d\n", n); return 1; }
        scale_f32(y1, x, 1.7f, n); orig_scale_f32(y2, x, 1.7f, n);
        if (memcmp(y1, y2, n * sizeof *y1)) { printf("scale_f32 differs at n=%d\n", n); return 1; }
        if (max_i32(a, n) != orig_max_i32(a, n)) { printf("max_i32 differs at n=%d\n", n); return 1; }
        for (int i = 0; i < n; i++) c1[i] = c2[i] = a[i] % 1000;
        mod_chain(c1, n); orig_mod_chain(c2, n);
        if (memcmp(c1, c2, n * sizeof *c1)) { printf("mod_chain differs at n=%d\n", n); return 1; }
        free(a); free(b); free(c1); free(c2); free(x); free(y1); free(y2);
    }
    puts("same");
    return 0;
}
"""


def run(cmd: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def own_lines(preprocessed: str, name: str) -> str:
    """The lines of `gcc -E` output that come from the file `name` itself (not its headers)."""
    keep, out = False, []
    for line in preprocessed.splitlines():
        marker = re.match(r'# \d+ "([^"]+)"', line)
        if marker:
            keep = Path(marker.group(1)).name == name
            continue
        if keep:
            out.append(line)
    return "\n".join(out)


def host_runs_avx2() -> bool:
    """The editor tests verify AVX2 rewrites, which only a CPU with AVX2 (and FMA) can run."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"^flags\s*:.*\bavx2\b", flags, re.M)) and bool(re.search(r"^flags\s*:.*\bfma\b", flags, re.M))


def assert_live_avx2_loop_that_compiles(source: Path, work: Path) -> None:
    text = source.read_text()
    assert "_mm256_" in text, text
    pre = run(["gcc", "-E", "-mavx2", "-mfma", str(source)], work)
    assert pre.returncode == 0, pre.stderr
    assert "_mm256_" in own_lines(pre.stdout, source.name), "the intrinsic loop is #if'd out under -mavx2 -mfma"
    for flags in (["-mavx2", "-mfma"], []):  # the ifdef guard keeps it buildable without the flags too
        built = run(["gcc", "-c", "-O2", "-Wall", "-Werror=implicit-function-declaration", *flags,
                     str(source), "-o", str(work / f"edited{len(flags)}.o")], work)
        assert built.returncode == 0, f"gcc {' '.join(flags)}: {built.stderr}"


def assert_same_results_as_original(source: Path, work: Path) -> None:
    (work / "compare.c").write_text(COMPARE_C)
    renames = [f"-D{name}=orig_{name}" for name in FUNCTIONS]
    steps = [
        ["gcc", "-c", "-O2", "-mavx2", "-mfma", str(source), "-o", "edited.o"],
        ["gcc", "-c", "-O2", *renames, str(FIXTURE), "-o", "original.o"],
        ["gcc", "-O2", "compare.c", "edited.o", "original.o", "-o", "compare"],
    ]
    for cmd in steps:
        built = run(cmd, work)
        assert built.returncode == 0, f"{' '.join(cmd)}: {built.stderr}"
    ran = run([str(work / "compare")], work)
    assert (ran.returncode, ran.stdout.strip()) == (0, "same"), ran.stdout + ran.stderr
