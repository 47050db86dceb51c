"""Helpers shared by the rule-engine tests (imported by name: tests/ directories are not packages)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from simdlens.analysis import analyze_file
from simdlens.core import Analysis, CandidateResult, Kernel, TextEdit
from simdlens.sandbox.cpu import ISA_FLAGS

needs_compiler = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
ISAS = ("avx2", "avx512")


@dataclass
class CaseResult:
    name: str
    analysis: Analysis | None = None
    kernel: Kernel | None = None
    notes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    results: dict[str, CandidateResult] = field(default_factory=dict)


def analyse(name: str, code: str) -> tuple[bytes, Analysis, Kernel | None]:
    """Analyse one C function like a user's file: (source bytes, its one loop's analysis, its kernel)."""
    source = ("#include <stdint.h>\n" + code + "\n").encode()
    fa = analyze_file(source, f"/tmp/{name}.c", "c")
    assert len(fa.analyses) == 1, fa
    a = fa.analyses[0]
    return source, a, fa.kernels.get(a.site.loop_id)


def apply_edits(source: bytes, edits: Sequence[TextEdit]) -> bytes:
    """`source` with `edits` applied as an editor applies a WorkspaceEdit."""
    text = source
    # back to front; inserts at one position keep their array order in the result (LSP semantics)
    for _, edit in sorted(enumerate(edits), key=lambda t: (t[1].span.start_byte, t[0]), reverse=True):
        text = text[:edit.span.start_byte] + edit.new_text.encode() + text[edit.span.end_byte:]
    return text


def build_and_run(folder: Path, isa: str, sources: Sequence[str], libs: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Build the C files `sources` of `folder` with gcc -O2 for `isa` and run the program (it must build)."""
    exe = folder / "check"
    build = subprocess.run(["gcc", "-O2", *ISA_FLAGS[isa], "-o", str(exe), *(str(folder / f) for f in sources), *libs],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
