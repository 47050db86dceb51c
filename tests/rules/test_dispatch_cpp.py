"""`guard = "dispatch"` in C++: the call converts `char *` to the helper's `int8_t *` explicitly, and the
helper brings the <stdint.h> its signature needs; the edited file builds with and without -mavx2."""

from __future__ import annotations

import subprocess
from pathlib import Path

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.rules import propose

SOURCE = b"""int count_neg(const char *s, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += s[i] < 0;
    return c;
}
"""


def test_dispatch_rewrite_of_a_char_loop_builds_as_cpp(tmp_path: Path) -> None:
    fa = analyze_file(SOURCE, "neg.cpp", "cpp")
    analysis = fa.analyses[0]
    kernel = fa.kernels[analysis.site.loop_id]
    (cand,) = propose(analysis, kernel, "avx2", Settings(guard="dispatch"), source=SOURCE).candidates
    assert any("__builtin_cpu_supports" in e.new_text for e in cand.edits)
    text = SOURCE
    # back to front; inserts at one position keep their array order in the result (LSP semantics)
    for _, edit in sorted(enumerate(cand.edits), key=lambda t: (t[1].span.start_byte, t[0]), reverse=True):
        text = text[:edit.span.start_byte] + edit.new_text.encode() + text[edit.span.end_byte:]
    path = tmp_path / "neg.cpp"
    path.write_bytes(text)
    for flags in ([], ["-mavx2", "-mfma"]):
        proc = subprocess.run(["g++", "-std=c++17", "-O2", "-Wall", "-Werror", *flags, "-c", str(path),
                               "-o", str(tmp_path / "neg.o")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr + text.decode()
