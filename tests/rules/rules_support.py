"""Helpers shared by the rule-engine tests (imported by name: tests/ directories are not packages)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

import pytest

from simdlens.analysis import analyze_file
from simdlens.core import Analysis, CandidateResult, Kernel

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
