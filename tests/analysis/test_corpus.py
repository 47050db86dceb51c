"""The annotated loop corpus: every loop gets the verdict and a reason with the code its comment says."""

from __future__ import annotations

import pytest
from analysis_corpus import analysis_of, corpus_files, expectations

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
