"""The expert reference set: every corpus category has a hand-tuned kernel linked to a real corpus loop,
each one compiles on its own, passes the sandbox's differential test against the user's loop, and the
report section says where simdlens is behind."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from pathlib import Path

import pytest

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import Candidate, CandidateResult, Measurement, SizeMeasurement, Status, Verdict
from simdlens.corpus_report import EXPERT_HEADING, read_corpus, render_expert, splice_expert_section
from simdlens.expert_set import ExpertKernel, ExpertRow, ExpertSetError, expert_candidate, read_expert_set
from simdlens.sandbox.cpu import host_cpu

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "benchmarks" / "corpus"
EXPERT = ROOT / "benchmarks" / "expert"


def test_every_corpus_category_has_an_expert_kernel_linked_to_a_corpus_loop() -> None:
    experts = read_expert_set(EXPERT)
    corpus = {(Path(e.path).name, e.function) for e in read_corpus(CORPUS)}
    assert {e.category for e in experts} == {p.stem for p in CORPUS.iterdir() if p.suffix in (".c", ".cpp")}
    for e in experts:
        assert (e.corpus, e.function) in corpus, e
        assert "_mm256_" in e.block or "_mm512_" in e.block, e


@pytest.mark.parametrize("path", sorted(p.name for p in EXPERT.iterdir() if p.suffix in (".c", ".cpp")))
def test_expert_files_compile(path: str) -> None:
    cc = ["g++", "-std=c++17"] if path.endswith(".cpp") else ["gcc", "-std=c11"]
    proc = subprocess.run([*cc, "-O2", "-Wall", "-Werror", "-mavx2", "-mfma", "-c", str(EXPERT / path), "-o", "/dev/null"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_link_without_its_block_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.c").write_text("// expert: corpus=a.c function=f isa=avx2\nvoid f(void) {}\n")
    with pytest.raises(ExpertSetError, match=r"x\.c:1"):
        read_expert_set(tmp_path)


@pytest.mark.sandbox
@pytest.mark.parametrize("category", ["linalg", "codec", "strings", "scans", "dsp_pointers", "hpc_2d", "complex_arith", "families",
                                      "carried", "branches", "argmax2d", "fixed_point", "strided"])
def test_expert_kernels_pass_the_differential_test(category: str) -> None:
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    from simdlens.sandbox import Sandbox

    expert = next(e for e in read_expert_set(EXPERT) if e.category == category)
    source = (CORPUS / expert.corpus).read_bytes()
    fa = analyze_file(source, str(CORPUS / expert.corpus), "c")
    analysis = next(a for a in fa.analyses if a.site.function == expert.function and a.loop is not None)  # a nest's inner
    kernel = fa.kernels[analysis.site.loop_id]
    candidate = expert_candidate(kernel, expert)

    async def verify() -> tuple[CandidateResult, ...]:
        async with Sandbox(Settings(cache_dir=tempfile.mkdtemp(prefix="simdlens-expert-"))) as sandbox:
            return await sandbox.verify(kernel, [candidate], bench=False)

    (result,) = asyncio.run(verify())
    assert result.verdict.status is Status.VERIFIED, result.verdict.detail


def _row(category: str, simdlens_ns: float, expert_ns: float) -> ExpertRow:
    def result(origin: str, ns: float) -> CandidateResult:
        size = SizeMeasurement(n=4096, label="L1", ns_per_element={"candidate": ns, "native_autovec": 1.0})
        return CandidateResult(Candidate("h", "avx2", origin, "f", ()), Verdict(Status.VERIFIED, ""),
                               Measurement(sizes=(size,), compiler="gcc", cpu="x", user_flags=(), date="", host=""))
    e = ExpertKernel("x.c", 1, category, f"{category}.c", "f", "avx2", False, "/* four chains */\nint i;")
    return ExpertRow(e, result("rules:reduction", simdlens_ns), result("expert", expert_ns))


def test_the_section_lists_the_categories_where_simdlens_is_behind() -> None:
    text = render_expert([_row("linalg", 0.10, 0.099), _row("ml", 0.20, 0.10)], quick=True)
    assert "| linalg |" in text and "0.99x" in text and "0.50x" in text
    behind = text.split("Where simdlens is behind")[1]
    assert "ml `f` (0.50x)" in behind and "four chains" in behind and "linalg" not in behind
    document = splice_expert_section("# report\n\n## Machine\n\nx\n", text)
    assert document.count(EXPERT_HEADING) == 1
    again = splice_expert_section(document + "\n## Later\n\ny\n", text)
    assert again.count(EXPERT_HEADING) == 1 and again.rstrip().endswith("y")
