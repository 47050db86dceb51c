"""Rule rewrites leave no unused temporaries behind: a user's `-Wall -Werror` build must accept them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.rules import propose

CORPUS = Path(__file__).resolve().parents[2] / "benchmarks" / "corpus"
FLAGS = {"avx2": ["-mavx2", "-mfma"], "avx512": ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq"]}


@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", ["ml.c", "image.c", "codec.c", "audio.c"])
def test_rewrites_of_a_corpus_file_compile_without_unused_variables(tmp_path: Path, name: str, isa: str) -> None:
    source = (CORPUS / name).read_bytes()
    fa = analyze_file(source, name, "c")
    units = []
    flags = list(FLAGS[isa])
    for k, analysis in enumerate(fa.analyses):
        kernel = fa.kernels.get(analysis.site.loop_id)
        if kernel is None:
            continue
        for cand in propose(analysis, kernel, isa, Settings(), source=source).candidates:
            flags += [f for f in cand.flags if f not in flags]  # e.g. -mbmi2 for AVX2 compress
            units.append(kernel.preamble + "\n#include <immintrin.h>\n" + cand.support + "\n"
                         + cand.function.replace(kernel.name, f"rewrite_{k}", 1))
    assert len(units) >= 5  # the file really produced rewrites
    paths = []
    for i, unit in enumerate(units):
        paths.append(tmp_path / f"u{i}.c")
        paths[-1].write_text(unit)
    proc = subprocess.run(["gcc", "-std=gnu11", "-O2", "-Wall", "-Werror=unused-variable",
                           "-Werror=unused-but-set-variable", *flags, "-c", *map(str, paths)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
