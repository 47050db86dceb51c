"""The annotated loop corpus: every loop gets the verdict and a reason with the code its comment says."""

from __future__ import annotations

import pytest
from analysis_corpus import CORPUS, analysis_of, corpus_files, expectations

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.rules import propose

CASES = expectations()


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 80
    assert len({c.verdict for c in CASES}) == 3


def test_every_loop_is_annotated() -> None:
    for path in corpus_files():
        fa = analysis_of(path.name)
        annotated = {c.line for c in CASES if c.file == path.name}
        found = {a.site.span.start.line + 1 for a in fa.analyses}
        assert found == annotated, f"{path.name}: loops without annotation at {sorted(found - annotated)}"
        assert not fa.errors


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file}:{c.line}" for c in CASES])
def test_corpus_loop(case) -> None:  # type: ignore[no-untyped-def]
    fa = analysis_of(case.file)
    matches = [a for a in fa.analyses if a.site.span.start.line + 1 == case.line]
    assert len(matches) == 1, f"no loop at {case.file}:{case.line}"
    a = matches[0]
    codes = [r.code for r in a.reasons]
    detail = "; ".join(f"{r.code}: {r.message}" for r in a.reasons)
    assert a.verdict.value == case.verdict, detail
    assert case.code in codes, detail
    assert all(r.message for r in a.reasons)


# Rewrites the rule engine proposes for loops of every shape, applied to the file the way the editor
# does: afterwards none of the loops in the rewrite (vector, tail, the original under #else) is a
# candidate again, and the file's other loops keep their verdicts.
REWRITTEN = [("counted.c", "while_counter"), ("scalars.c", "sum_floats"), ("control.c", "find_first"),
             ("deps.c", "symbolic_offset"), ("access.c", "gather")]


@pytest.mark.parametrize("file,function", REWRITTEN)
def test_applied_rule_rewrite_is_not_proposed_again(file: str, function: str) -> None:
    fa = analysis_of(file)
    a = next(x for x in fa.analyses if x.site.function == function)
    kernel = fa.kernels[a.site.loop_id]
    source = (CORPUS / file).read_bytes()
    proposal = propose(a, kernel, "avx2", Settings(), source=source)
    assert proposal.candidates, proposal.notes
    cand = proposal.candidates[0]
    text = source
    for e in sorted(cand.edits, key=lambda e: e.span.start_byte, reverse=True):
        text = text[:e.span.start_byte] + e.new_text.encode() + text[e.span.end_byte:]
    after = analyze_file(text, file, "c")
    assert not after.errors
    mine = [x for x in after.analyses if x.site.function == function]
    rewritten = [x for x in mine if any(r.code == "simdlens_rewrite" for r in x.reasons)]
    assert len(rewritten) >= 2, [(x.site.span.start.line, x.reasons) for x in mine]  # vector/tail + original
    for x in rewritten:
        assert x.verdict.value == "not_vectorizable" and "already_vectorized" in x.facts
        assert x.site.loop_id not in after.kernels
    assert any(f"{cand.origin}, avx2" in r.message for x in rewritten for r in x.reasons)
    others_before = sorted((x.site.function, x.verdict.value) for x in fa.analyses if x.site.function != function)
    others_after = sorted((x.site.function, x.verdict.value) for x in after.analyses if x.site.function != function)
    assert others_before == others_after


def test_rewrite_marker_without_a_guard_covers_its_block_only() -> None:
    source = b"""void f(float *restrict a, const float *restrict b, int n)
{
    {
        /* simdlens model:coder (avx512, 16 lanes) */
        int i = 0;
        for (; i + 16 <= n; i += 16)
            a[i] = b[i];
        for (; i < n; i++)
            a[i] = b[i];
    }
    for (int i = 0; i < n; i++)
        a[i] = a[i] * 2.0f;
}
"""
    fa = analyze_file(source, "f.c", "c")
    codes = [a.reasons[0].code for a in fa.analyses]
    assert codes == ["simdlens_rewrite", "simdlens_rewrite", "elementwise"]
    assert "model:coder, avx512" in fa.analyses[0].reasons[0].message
