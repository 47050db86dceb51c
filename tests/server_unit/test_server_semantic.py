"""The server's clang pass: tree-sitter's verdicts at once, refined when clang's facts arrive."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from simdlens.analysis import clang_facts
from simdlens.config import Settings
from simdlens.core import LoopVerdict
from simdlens.server.background import Background
from simdlens.server.documents import OpenDocument
from simdlens.server.engine import PipelineEngine
from simdlens.server.server import SimdlensServer
from simdlens.server.state import DocumentSnapshot

pytestmark = pytest.mark.skipif(bool(clang_facts.libclang_problem()), reason="libclang is not installed")

FIXTURE = Path(__file__).parent.parent / "fixtures" / "semantic" / "hpc_macros.c"


async def _until(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_macro_heavy_file_is_refined_when_the_facts_arrive(tmp_path: Path) -> None:
    clang_facts.clear_cache()
    path = tmp_path / "hpc.c"
    source = FIXTURE.read_bytes()
    path.write_bytes(source)
    engine = PipelineEngine(use_cache=False)
    published: list[DocumentSnapshot] = []
    ls = SimdlensServer(engine)
    bg = Background(ls, engine, lambda: Settings(jobs=1, trusted=False), published.append, lambda: False)
    bg.open(OpenDocument(f"file://{path}", str(path), "c", 1, source))

    def verdicts(snapshot: DocumentSnapshot) -> list[LoopVerdict]:
        return [s.report.analysis.verdict for s in snapshot.loops]

    await _until(lambda: bool(published))
    # the instant answer: tree-sitter alone, which says the facts are missing
    first = published[0]
    assert verdicts(first) == [LoopVerdict.NOT_VECTORIZABLE] * 3
    assert all(any(r.code == "semantic_facts" for r in s.report.analysis.reasons) for s in first.loops)
    await _until(lambda: LoopVerdict.NOT_VECTORIZABLE not in verdicts(published[-1]))
    assert published[-1].version == 1 and len(published[-1].loops) == 3
    bg.shutdown()


async def test_an_edit_keeps_the_facts_verdicts_while_new_facts_are_computed(tmp_path: Path) -> None:
    from simdlens.server.documents import Change

    clang_facts.clear_cache()
    path = tmp_path / "hpc.c"
    source = FIXTURE.read_bytes()
    path.write_bytes(source)
    engine = PipelineEngine(use_cache=False)
    published: list[DocumentSnapshot] = []
    ls = SimdlensServer(engine)
    bg = Background(ls, engine, lambda: Settings(jobs=1, trusted=False), published.append, lambda: False)
    doc = OpenDocument(f"file://{path}", str(path), "c", 1, source)
    bg.open(doc)

    def verdicts(snapshot: DocumentSnapshot) -> list[LoopVerdict]:
        return [s.report.analysis.verdict for s in snapshot.loops]

    await _until(lambda: bool(published) and LoopVerdict.NOT_VECTORIZABLE not in verdicts(published[-1]))
    seen = len(published)
    where = source.index(b"ALPHA * b[i];") + len(b"ALPHA * b[i]")
    line = source[:where].count(b"\n")
    col = where - source.rindex(b"\n", 0, where) - 1
    doc.apply(2, [Change(" + 1", (line, col), (line, col))], "utf-8")
    bg.changed(doc.uri)
    await _until(lambda: published[-1].version == 2)
    await asyncio.sleep(0.5)
    after_edit = published[seen:]
    # declarations did not change: the earlier facts hold meanwhile, no loop flips to "not vectorizable"
    assert after_edit and all(LoopVerdict.NOT_VECTORIZABLE not in verdicts(s) for s in after_edit)
    bg.shutdown()
