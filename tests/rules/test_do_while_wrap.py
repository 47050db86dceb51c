"""A do-while's forced first step can wrap an unsigned counter from the top of its range to 0, where the
test holds again: `i = UINT_MAX; do { ... } while (++i < n);` runs n + 1 times. The harness never picks
such a start, so the edited file is built and run against the original for starts around 0, around n
and at the top of the range."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rules_support import ISAS, apply_edits, build_and_run

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import LoopVerdict
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

SOURCE = b"""unsigned tally(unsigned start, unsigned n, const int *restrict w)
{
    unsigned i = start;
    unsigned c = 0;
    do {
        c += 3u + (unsigned)w[0];
    } while (++i < n);
    return c;
}

unsigned long long tally_to(unsigned long long start, unsigned long long n)
{
    unsigned long long i = start;
    unsigned long long c = 0;
    do {
        c += 5u;
        i++;
    } while (i <= n);
    return c;
}
"""

MAIN = """
#include <limits.h>
#include <stdio.h>
unsigned tally(unsigned start, unsigned n, const int *w);
unsigned original_tally(unsigned start, unsigned n, const int *w);
unsigned long long tally_to(unsigned long long start, unsigned long long n);
unsigned long long original_tally_to(unsigned long long start, unsigned long long n);
int main(void)
{
    static const int w[1] = {2};
    unsigned starts[] = {0, 1, 5, 9, 30, 31, 32, 33, 40, UINT_MAX - 2, UINT_MAX - 1, UINT_MAX};
    unsigned long long starts64[] = {0, 3, 31, 33, ULLONG_MAX - 1, ULLONG_MAX};
    int bad = 0;
    for (unsigned s = 0; s < sizeof starts / sizeof starts[0]; s++)
        for (unsigned n = 0; n <= 40; n++) {
            unsigned got = tally(starts[s], n, w), want = original_tally(starts[s], n, w);
            if (got != want) { printf("tally start=%u n=%u: %u, expected %u\\n", starts[s], n, got, want); bad = 1; }
        }
    for (unsigned s = 0; s < sizeof starts64 / sizeof starts64[0]; s++)
        for (unsigned long long n = 0; n <= 40; n++) {
            unsigned long long got = tally_to(starts64[s], n), want = original_tally_to(starts64[s], n);
            if (got != want) { printf("tally_to start=%llu n=%llu: %llu, expected %llu\\n", starts64[s], n, got,
                                      want); bad = 1; }
        }
    return bad;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("isa", ISAS)
def test_unsigned_do_while_starting_at_the_top_of_its_range_runs_as_often_as_the_original(
        tmp_path: Path, isa: str) -> None:
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    fa = analyze_file(SOURCE, "tally.c", "c")
    edits = {}
    for analysis in fa.analyses:
        assert analysis.verdict == LoopVerdict.VECTORIZABLE, analysis.reasons
        assert analysis.loop is not None and analysis.loop.trip_count.startswith("(1 + ")
        (cand,) = propose(analysis, fa.kernels[analysis.site.loop_id], isa, Settings(), source=SOURCE).candidates
        for e in cand.edits:  # both add the same #include at the top: once
            edits[(e.span.start_byte, e.span.end_byte, e.new_text)] = e
    (tmp_path / "edited.c").write_bytes(apply_edits(SOURCE, tuple(edits.values())))
    (tmp_path / "original.c").write_bytes(SOURCE.replace(b"unsigned tally(", b"unsigned original_tally(")
                                          .replace(b"long tally_to(", b"long original_tally_to("))
    (tmp_path / "main.c").write_text(MAIN)
    run = build_and_run(tmp_path, isa, ("edited.c", "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]
