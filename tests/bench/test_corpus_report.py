"""The benchmark corpus is well-formed and `simdlens bench` reports what the pipeline did."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from simdlens.corpus_report import read_corpus

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "benchmarks" / "corpus"


def test_corpus_has_80_annotated_loops_each_tied_to_a_function() -> None:
    entries = read_corpus(CORPUS)
    assert len(entries) >= 80
    assert all(e.function for e in entries), [e for e in entries if not e.function]
    assert len({(e.path, e.function) for e in entries}) == len(entries)  # one loop entry per function
    assert all(e.expect in ("vectorizable", "vectorizable_with_checks", "not_vectorizable") for e in entries)
    domains = Counter(e.domain for e in entries)
    assert len(domains) >= 7 and min(domains.values()) >= 10
    assert any(e.path.endswith(".cpp") for e in entries)


@pytest.mark.parametrize("path", sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".c", ".cpp")))
def test_corpus_files_compile(path: str) -> None:
    cc = ["g++", "-std=c++17"] if path.endswith(".cpp") else ["gcc", "-std=c11"]
    proc = subprocess.run([*cc, "-O2", "-Wall", "-Werror", "-c", str(CORPUS / path), "-o", "/dev/null"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.sandbox
def test_bench_subset_writes_a_report_with_the_runs_numbers(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    proc = subprocess.run(
        [sys.executable, "-m", "simdlens", "bench", "--corpus", str(CORPUS), "--only", "strings.c", "--no-bench",
         "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--isa", "avx2"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    n = sum(1 for e in read_corpus(CORPUS) if e.path.endswith("strings.c"))
    assert f"{n} corpus loops" in text
    assert "| verdict | loops | expected by the corpus |" in text
    assert "## Candidates and the sandbox" in text
    assert "loops per minute" in text


def test_style_corpus_files_have_their_styles_and_at_least_40_loops() -> None:
    entries = [e for e in read_corpus(CORPUS) if e.style]
    styles = Counter(e.style for e in entries)
    assert styles["hpc_2d"] >= 25 and styles["complex"] >= 12
    assert sum(styles.values()) >= 40


@pytest.mark.sandbox
def test_bench_reports_each_style_with_the_stage_that_stopped_every_other_loop(tmp_path: Path) -> None:
    """The complex corpus: verified element-wise loops and multiplies, and every other loop with a reason that
    names the user's complex type or the operation C gives special semantics."""
    out = tmp_path / "bench.md"
    proc = subprocess.run(
        [sys.executable, "-m", "simdlens", "bench", "--corpus", str(CORPUS), "--only", "complex_arith.c", "--no-bench",
         "--no-chart", "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--isa", "avx2"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    section = text.split("## Loops written the way real code is")[1].split("\n## ")[0]
    row = next(line for line in section.splitlines() if line.startswith("| complex arithmetic"))
    loops, verified, no_rewrite, refused = (int(x) for x in row.strip("| ").split("|")[1:])
    n = sum(1 for e in read_corpus(CORPUS) if e.path.endswith("complex_arith.c"))
    assert loops == n and verified + no_rewrite + refused == n
    assert verified >= 10  # add, sub, scale, conj, creal/cimag, multiply: exact, NaN and inf included
    reasons = [line for line in section.splitlines() if line.startswith("- `complex_arith.c:")]
    assert len(reasons) == n - verified
    verified_names = ("iq_mix", "zmul", "iq_rotate", "iq_dot", "spectrum_total", "zdot_plain", "iq_pack")
    assert not any(name in r for r in reasons for name in verified_names)  # multiplies, sums, dot products
    assert any("complex accumulator p ('cf32')" in r for r in reasons)  # a product accumulator: refused
    assert any("cabsf" in r and "hypot" in r for r in reasons)
