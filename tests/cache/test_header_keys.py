"""A stored verdict is never served for a kernel whose local header changed: the kernel is compiled after
the user's `#include "params.h"`, so the header's text is part of what the kernel means."""

from __future__ import annotations

import os
from pathlib import Path

from simdlens.analysis import analyze_file
from simdlens.analysis.context import FileContext
from simdlens.cache import keys
from simdlens.cache.keys import Toolchain
from simdlens.config import SandboxSettings
from simdlens.core import Candidate, Kernel

GCC = Toolchain("/usr/bin/gcc", "gcc (Debian 12.2.0-14) 12.2.0", ("-O2",))

SOURCE = b"""#include "params.h"

void scale(float *restrict a, const float *restrict b, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = b[i] * SCALE;
}
"""


def _kernel(tmp_path: Path) -> Kernel:
    path = tmp_path / "scale.c"
    path.write_bytes(SOURCE)
    fa = analyze_file(SOURCE, str(path), "c")
    (kernel,) = (fa.kernels[a.site.loop_id] for a in fa.analyses if a.site.loop_id in fa.kernels)
    return kernel


def _verdict_key(kernel: Kernel) -> str:
    candidate = Candidate(kernel.content_hash, "avx2", "rules:test", "void f(void) {}", ())
    return keys.verdict_key(kernel, candidate, GCC, ("avx2",), SandboxSettings())


def test_a_header_edit_changes_the_kernel_and_its_verdict_key(tmp_path: Path) -> None:
    header = tmp_path / "params.h"
    header.write_text("#define SCALE 2.0f\n")
    before = _kernel(tmp_path)
    # compiles the reference kernel (after `#include "params.h"`) unoptimised: its timing changes, its text not
    header.write_text('#pragma GCC optimize("O0")\n#define SCALE 2.0f\n')
    after = _kernel(tmp_path)
    assert (before.preamble, before.source) == (after.preamble, after.source)
    assert after.content_hash != before.content_hash
    assert _verdict_key(after) != _verdict_key(before)


def test_an_unchanged_header_keeps_the_key(tmp_path: Path) -> None:
    header = tmp_path / "params.h"
    header.write_text("#define SCALE 2.0f\n")
    first = _kernel(tmp_path)
    header.write_text("#define SCALE 2.0f\n")  # rewritten, same text: stored verdicts still hold
    assert _kernel(tmp_path).content_hash == first.content_hash


def test_an_edit_that_keeps_size_and_mtime_is_read(tmp_path: Path) -> None:
    """Two saves within one tick of the file clock (a few ms) leave the same mtime; same size too."""
    header = tmp_path / "params.h"
    header.write_text("#define SCALE 2.0f\n")
    stamp = header.stat().st_mtime_ns
    first = FileContext.build(SOURCE, str(tmp_path / "scale.c"), "c")
    header.write_text("#define SCALE 3.0f\n")
    os.utime(header, ns=(stamp, stamp))
    second = FileContext.build(SOURCE, str(tmp_path / "scale.c"), "c")
    assert (first.macros["SCALE"], second.macros["SCALE"]) == ("2.0f", "3.0f")
    assert first.header_digest != second.header_digest
