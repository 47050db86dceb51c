"""With the file's own compile_commands.json entry, a macro defined nowhere is known to be undefined: the
loop under `#ifdef NEVER_DEFINED` is not reported, as in the editor's greyed-out code. Without an entry,
with a `-include`, or after a system header simdlens does not read (any of which could define it) nothing
is guessed and the loop is reported."""

from __future__ import annotations

import json
from pathlib import Path

from simdlens.config import Settings
from simdlens.pipeline import analyze_document

SOURCE = b"""#include "local.h"
void f(float *restrict a, const float *restrict b, int n)
{
#ifdef NEVER_DEFINED
    for (int i = 0; i < n; i++)
        a[i] = b[i] + 1.0f;
#endif
    for (int i = 0; i < n; i++)
        a[i] = b[i] * 2.0f;
}
"""


def loop_lines(tmp_path: Path, arguments: list[str] | None) -> list[int]:
    source = tmp_path / "f.c"
    source.write_bytes(SOURCE)
    (tmp_path / "local.h").write_text("#define LOCAL 1\n")
    if arguments is not None:
        entry = {"directory": str(tmp_path), "file": str(source), "arguments": ["gcc", *arguments, "-c", "f.c"]}
        (tmp_path / "compile_commands.json").write_text(json.dumps([entry]))
    fa = analyze_document(SOURCE, str(source), "c", Settings())
    return [a.site.span.start.line + 1 for a in fa.analyses]


def test_the_files_own_entry_makes_an_undefined_macro_known(tmp_path: Path) -> None:
    assert loop_lines(tmp_path, ["-O2", "-DOTHER=1"]) == [8]


def test_without_an_entry_nothing_is_hidden(tmp_path: Path) -> None:
    assert loop_lines(tmp_path, None) == [5, 8]


def test_a_forced_include_could_define_it(tmp_path: Path) -> None:
    assert loop_lines(tmp_path, ["-O2", "-include", "config.h"]) == [5, 8]


def test_an_unread_system_header_could_define_it(tmp_path: Path) -> None:
    source = tmp_path / "f.c"
    source.write_bytes(b"#include <math.h>\n" + SOURCE)
    entry = {"directory": str(tmp_path), "file": str(source), "arguments": ["gcc", "-O2", "-c", "f.c"]}
    (tmp_path / "compile_commands.json").write_text(json.dumps([entry]))
    (tmp_path / "local.h").write_text("#define LOCAL 1\n")
    fa = analyze_document(source.read_bytes(), str(source), "c", Settings())
    assert len(fa.analyses) == 2
