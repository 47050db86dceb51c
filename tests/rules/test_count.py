"""Counting bytes that pass a test (`lines += buf[i] == '\\n'`) runs one lane per byte: 0/1 bytes added
into byte counters (as many as the ISA table's figures ask for) that are folded into 64-bit sums every 255
iterations, so no counter wraps, whatever the
length; the count equals the scalar loop's for every length around the block boundaries."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import ISAS, analyse, apply_edits, build_and_run, needs_compiler

from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.rules.tables import load_isa
from simdlens.sandbox.cpu import host_cpu

CASES = {
    "newlines": "size_t newlines(const char *buf, size_t n)\n"
                "{ size_t lines = 0; for (size_t i = 0; i < n; i++) lines += buf[i] == '\\n'; return lines; }",
    "not_zero": "int not_zero(const unsigned char *buf, int n)\n"
                "{ int c = 0; for (int i = 0; i < n; i++) c += buf[i] != 0; return c; }",
    "lower": "unsigned lower(const char *buf, int n)\n"
             "{ unsigned c = 0; for (int i = 0; i < n; i++) c += buf[i] >= 'a' && buf[i] <= 'z'; return c; }",
}

MAIN = """
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
long long run(const char *buf, long long n);
long long original_run(const char *buf, long long n);
int main(void)
{
    enum { N = 40000 };
    char *buf = malloc(N);
    unsigned r = 3u;
    for (int j = 0; j < N; j++) { r = r * 1103515245u + 12345u; buf[j] = (r >> 20) % 7 == 0 ? '\\n' : (char)(r >> 9); }
    /* runs of hits longer than 255 iterations of the unrolled loop: every byte counter reaches 255 */
    for (int j = 0; j < 30000; j++) buf[N - 30000 + j] = '\\n';
    const long long sizes[] = {0, 1, 31, 32, 33, 63, 64, 100, 8159, 8160, 8161, 8192, 16320, 16321, 39999, 40000};
    for (int k = 0; k < 16; k++)
        for (int off = 0; off < 2; off++) {
            long long n = sizes[k] - off < 0 ? 0 : sizes[k] - off;
            if (run(buf + off, n) != original_run(buf + off, n)) { printf("n=%lld differ\\n", n); return 1; }
            if (run(buf + N - n, n) != original_run(buf + N - n, n)) { printf("tail n=%lld differ\\n", n); return 1; }
        }
    return 0;
}
"""


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", list(CASES))
def test_byte_counts_run_in_byte_lanes_and_match_the_scalar_loop(tmp_path: Path, isa: str, name: str) -> None:
    code = CASES[name]
    source, analysis, kernel = analyse(name, "#include <stddef.h>\n" + code)
    assert kernel is not None
    proposal = propose(analysis, kernel, isa, Settings(), source=source)
    assert proposal.candidates, proposal.notes
    (cand,) = proposal.candidates
    lanes = 32 if isa == "avx2" else 64
    assert cand.origin == "rules:count" and f"{lanes} lanes" in cand.function, cand.function
    copies = load_isa(isa).accumulators("add", "uint8", 1)  # the byte counter's chain, from the ISA table
    assert copies == 1 or f"{copies} vector steps per iteration" in cand.function, cand.function
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    (tmp_path / "edited.c").write_bytes(apply_edits(source, cand.edits))
    (tmp_path / "original.c").write_text("#include <stddef.h>\n" + code.replace(f"{name}(", f"original_{name}("))
    args = "(const unsigned char *)buf, (int)n" if name == "not_zero" else "buf, n"
    (tmp_path / "glue.c").write_text(
        "#include <stddef.h>\n"
        f"{code.split('{')[0].split('(')[0].rsplit(' ', 1)[0]} {name}({code.split('(', 1)[1].split(')')[0]});\n"
        f"{code.split('{')[0].split('(')[0].rsplit(' ', 1)[0]} original_{name}({code.split('(', 1)[1].split(')')[0]});\n"
        f"long long run(const char *buf, long long n) {{ return (long long){name}({args}); }}\n"
        f"long long original_run(const char *buf, long long n) {{ return (long long)original_{name}({args}); }}\n")
    (tmp_path / "main.c").write_text(MAIN)
    run = build_and_run(tmp_path, isa, ("edited.c", "original.c", "glue.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]
