"""Reading the annotated loop corpus (tests/fixtures/corpus): every loop is preceded by a comment
`// expect: <verdict> <reason code>`."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from simdlens.analysis import FileAnalysis, analyze_file
from simdlens.analysis.parse import language_for

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
EXPECT = re.compile(r"//\s*expect:\s*(\w+)\s+(\w+)")


@dataclass(frozen=True)
class Expectation:
    file: str
    line: int  # 1-based line of the loop
    verdict: str
    code: str


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix in (".c", ".cpp"))


@functools.cache
def analysis_of(name: str) -> FileAnalysis:
    path = CORPUS / name
    lang = language_for(path)
    assert lang is not None
    return analyze_file(path.read_bytes(), str(path), lang)


def expectations() -> list[Expectation]:
    out = []
    for path in corpus_files():
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            m = EXPECT.search(line)
            if m:
                out.append(Expectation(path.name, i + 2, m.group(1), m.group(2)))
    return out
