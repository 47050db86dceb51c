"""`simdlens bench` with a model: the report gives the model's pass@1 / pass@k per ISA, from this run.

The scripted server answers the first sample correctly and the second one wrongly twice (its first
answer and its repair): one of two samples verified, so pass@1 = 0.50 and pass@2 = 1.00.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from modelkit import ScriptedServer, answer, fenced

from simdlens.analysis import analyze_file
from simdlens.cli import main
from simdlens.corpus_report import BenchContext, model_pass_rates, read_corpus, render
from simdlens.model.repair import Attempt, ModelProposal

# Integer division by a varying divisor has no SIMD instruction: the rules refuse it, the model is asked.
CORPUS_FILE = """\
#include <stdint.h>

// bench: domain=test category=division expect=vectorizable
void ratio(uint32_t *restrict out, const uint32_t *restrict num, const uint32_t *restrict den, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = num[i] / (den[i] | 1);
}
"""


def answers_for(path: Path) -> tuple[str, str]:
    """A correct answer (the reference plus one harmless intrinsic, which the pre-check wants) and a wrong one."""
    fa = analyze_file(path.read_bytes(), str(path), "c")
    (kernel,) = fa.kernels.values()
    body = kernel.source.index("{") + 1
    correct = ("#include <immintrin.h>\n" + kernel.preamble + kernel.source[:body]
               + "\n    __m256 unused = _mm256_set1_ps(0.0f);\n    (void)unused;" + kernel.source[body:])
    wrong = correct.replace("| 1);", "| 1) + 1u;")
    assert wrong != correct
    return correct, wrong


@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_bench_reports_pass_at_1_and_pass_at_k_per_isa(tmp_path: Path, server: ScriptedServer,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "division.c").write_text(CORPUS_FILE)
    correct, wrong = answers_for(corpus / "division.c")
    # Both samples ask at once; the wrong one's repair request comes only after a sandbox run.
    server.script = [answer(fenced(correct)), answer(fenced(wrong)), answer(fenced(wrong))]
    out = tmp_path / "bench.md"
    argv = ["bench", "--corpus", str(corpus), "--no-bench", "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
            "--isa", "avx2", "--model-url", server.base_url, "--model", "test-model", "--model-samples", "2",
            "--model-rounds", "1"]
    assert main(argv) == 0, capsys.readouterr().err
    text = out.read_text()
    assert "| ISA | loops | pass@1 | pass@2 | answers | verified first time | verified after repair | left out |" in text
    assert "| avx2 | 1 | 0.50 | 1.00 | 3 | 1 | 0 | 0 |" in text
    assert len(server.chat_requests()) == 3

    # A second run with the same cache asks the model again: pass@k describes the run, not the cache.
    server.script = [answer(fenced(correct)), answer(fenced(correct))]
    assert main(argv) == 0, capsys.readouterr().err
    assert "| avx2 | 1 | 1.00 | 1.00 | 2 | 2 | 0 | 0 |" in out.read_text()
    assert len(server.chat_requests()) == 5


def test_pass_rates_leave_out_loops_the_server_failed_on(tmp_path: Path) -> None:
    from simdlens.corpus_report import match_outcomes

    (tmp_path / "division.c").write_text(CORPUS_FILE + CORPUS_FILE.split("\n", 2)[2].replace("ratio", "ratio2")
                                         .replace("| 1)", "| 3)"))
    entries = read_corpus(tmp_path)
    fa = analyze_file((tmp_path / "division.c").read_bytes(), str(tmp_path / "division.c"), "c")
    from simdlens.core import LoopReport

    loops = [LoopReport(a, fa.kernels.get(a.site.loop_id)) for a in fa.analyses]
    outcomes = match_outcomes(entries, {str(tmp_path / "division.c"): loops})
    first, second = (o.report.kernel.content_hash for o in outcomes if o.report and o.report.kernel)
    proposals = {
        (first, "avx2"): ModelProposal((), (Attempt(0, 0, "mismatch", "x", 1.0), Attempt(0, 1, "verified", "", 1.0),
                                            Attempt(1, 0, "compile_error", "", 1.0), Attempt(1, 1, "mismatch", "", 1.0))),
        (second, "avx2"): ModelProposal((), (Attempt(0, 0, "unavailable", "server down", 0.0),)),
    }
    (rate,) = model_pass_rates(outcomes, proposals, ("avx2", "avx512"), 2)
    assert (rate.loops, rate.pass_at_1, rate.pass_at_k, rate.answers, rate.first_round, rate.after_repair,
            rate.left_out) == (1, 0.5, 1.0, 4, 0, 1, 1)
    ctx = BenchContext(cpu="cpu", isa=(), compiler="gcc", isas=("avx2",), wall_seconds=1.0, quick=True, bench=False,
                       date="today", model="model: m at http://x", model_rates=(rate,))
    text = render(outcomes, ctx)
    assert "| avx2 | 1 | 0.50 | 1.00 | 4 | 0 | 1 | 1 |" in text and "Left out" in text
    no_model = render(outcomes, BenchContext(cpu="cpu", isa=(), compiler="gcc", isas=("avx2",), wall_seconds=1.0,
                                             quick=True, bench=False, date="today"))
    assert "pass@" not in no_model and "No model server was configured" in no_model
