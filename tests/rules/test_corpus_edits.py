"""The code actions on the analysis corpus: for every file, all rule candidates (one per loop, nested
loops skipped) are applied to the user's file at once, and the result must still compile, with and
without the candidates' ISA flags, in both guard modes, for C and C++."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import pytest
from rules_support import needs_compiler

from simdlens.analysis import FileAnalysis, analyze_file
from simdlens.analysis.parse import language_for
from simdlens.config import Settings
from simdlens.core import TextEdit
from simdlens.rules import propose

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
FILES = sorted(p.name for p in CORPUS.iterdir() if language_for(p) is not None) if CORPUS.is_dir() else []

pytestmark = needs_compiler


@functools.cache
def analysed(path: Path) -> tuple[bytes, FileAnalysis]:
    source = path.read_bytes()
    language = language_for(path)
    assert language is not None
    return source, analyze_file(source, str(path), language)


def edited(path: Path, isa: str, guard: str) -> tuple[bytes, tuple[str, ...], int]:
    source, fa = analysed(path)
    edits: list[TextEdit] = []
    flags: set[str] = set()
    taken: list[tuple[int, int]] = []
    count = 0
    for a in fa.analyses:
        kernel = fa.kernels.get(a.site.loop_id)
        if kernel is None:
            continue
        for cand in propose(a, kernel, isa, Settings(guard=guard), source=source).candidates:
            spans = [(e.span.start_byte, e.span.end_byte) for e in cand.edits if e.span.end_byte > e.span.start_byte]
            if any(s < te and ts < e for s, e in spans for ts, te in taken):
                continue  # a nested loop of a loop already rewritten
            taken += spans
            count += 1
            flags.update(cand.flags)
            edits += [e for e in cand.edits if e not in edits]
    out = source
    for e in sorted(edits, key=lambda e: (e.span.start_byte, e.span.end_byte), reverse=True):
        out = out[:e.span.start_byte] + e.new_text.encode() + out[e.span.end_byte:]
    return out, tuple(sorted(flags)), count


@pytest.mark.parametrize("guard", ["ifdef", pytest.param("dispatch", marks=pytest.mark.slow)])
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", FILES)
def test_rewritten_corpus_file_compiles(tmp_path: Path, name: str, isa: str, guard: str) -> None:
    path = CORPUS / name
    text, flags, count = edited(path, isa, guard)
    if count == 0:
        pytest.skip("no rule candidate in this file")
    out = tmp_path / name
    out.write_bytes(text)
    compiler = ["g++", "-std=gnu++20"] if language_for(path) == "cpp" else ["gcc"]
    for extra in ([], list(flags)) if guard == "ifdef" else ([],):  # dispatch: the point is building without them
        proc = subprocess.run([*compiler, "-fsyntax-only", "-w", "-I", str(CORPUS), *extra, str(out)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{name} {isa} {guard} {extra}: {proc.stderr[:3000]}"
