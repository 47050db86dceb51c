"""Background work with a scripted engine: verification on open, cancellation by an edit, stale results."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
from collections.abc import Collection

from server_builders import SOURCE, dot_report, kernel, site

from simdlens.config import Settings
from simdlens.core import Analysis, Language, LoopReport, LoopVerdict
from simdlens.server.background import AnalysisResult, Background, FullAnalysis
from simdlens.server.documents import Change, OpenDocument
from simdlens.server.incremental import EditedDocument
from simdlens.server.server import SimdlensServer
from simdlens.server.state import DocumentSnapshot, LoopStatus

LOOP = re.compile(rb"for \(int i = 0;[^\n]*")


class ScriptedEngine:
    """Analysis finds the dot-product loop; verification waits until the test releases it."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.cancelled = 0
        self.verified = 0

    def analyze(self, source: bytes, path: str, language: Language, settings: Settings,
                first: int | None = None, *, uri: str = "", version: int = 0) -> AnalysisResult:
        m = LOOP.search(source)
        if m is None:
            return AnalysisResult(())
        text = m.group(0)
        loop_id = "loop-" + hashlib.sha256(text).hexdigest()[:12]
        analysis = Analysis(site(source, text, "dot", loop_id), LoopVerdict.VECTORIZABLE, (), None)
        full = FullAnalysis({loop_id: analysis}, {loop_id: kernel(loop_id, "k-" + loop_id)})
        return AnalysisResult((LoopReport(analysis, None),), full=full)

    def analyze_edits(self, request: EditedDocument, settings: Settings) -> AnalysisResult | None:
        return None  # always the whole text

    def judge_loops(self, uri: str, version: int, loop_ids: Collection[str]) -> FullAnalysis | None:
        return None  # no kept tree: the whole text

    def forget(self, uri: str) -> None:
        pass

    async def verify(self, report: LoopReport, source: bytes, settings: Settings, *, bypass_cache: bool,
                     priority: int) -> LoopReport:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.verified += 1
        return dataclasses.replace(report, results=dot_report(source).results)

    def why_not_verify(self, settings: Settings) -> str:
        return ""

    def isas(self, settings: Settings) -> tuple[str, ...]:
        return ("avx2",)


async def _until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _background(engine: ScriptedEngine) -> tuple[Background, list[DocumentSnapshot]]:
    published: list[DocumentSnapshot] = []
    ls = SimdlensServer(engine)
    bg = Background(ls, engine, lambda: Settings(jobs=1), published.append, lambda: False)
    return bg, published


async def test_open_verifies_and_publishes_results() -> None:
    engine = ScriptedEngine()
    bg, published = _background(engine)
    bg.open(OpenDocument("file:///t.c", "/t.c", "c", 1, SOURCE))
    await engine.started.wait()
    assert published[-1].loops[0].status is LoopStatus.VERIFYING
    engine.release.set()
    await _until(lambda: published[-1].loops[0].status is LoopStatus.DONE)
    assert len(published[-1].loops[0].report.results) == 2
    bg.shutdown()


async def test_editing_the_loop_cancels_its_verification() -> None:
    engine = ScriptedEngine()
    bg, published = _background(engine)
    doc = OpenDocument("file:///t.c", "/t.c", "c", 1, SOURCE)
    bg.open(doc)
    await engine.started.wait()
    where = SOURCE.index(b"i < n")
    line = SOURCE[:where].count(b"\n")
    col = where - SOURCE.rindex(b"\n", 0, where) - 1
    doc.apply(2, [Change("i < m", (line, col), (line, col + 5))], "utf-8")
    bg.changed(doc.uri)
    await _until(lambda: engine.cancelled == 1)
    await _until(lambda: bool(published) and published[-1].version == 2)
    state = published[-1].loops[0]
    assert state.status is LoopStatus.QUEUED and state.report.results == ()
    bg.shutdown()


async def test_edit_elsewhere_keeps_verification_and_moves_its_result() -> None:
    engine = ScriptedEngine()
    bg, published = _background(engine)
    doc = OpenDocument("file:///t.c", "/t.c", "c", 1, SOURCE)
    bg.open(doc)
    await engine.started.wait()
    doc.apply(2, [Change("// a comment\n", (1, 0), (1, 0))], "utf-8")
    bg.changed(doc.uri)
    await _until(lambda: published[-1].version == 2)
    engine.release.set()
    await _until(lambda: published[-1].loops[0].status is LoopStatus.DONE)
    assert engine.cancelled == 0
    edit = published[-1].loops[0].report.results[0].candidate.edits[1]
    assert doc.source[edit.span.start_byte:edit.span.end_byte].startswith(b"for (int i = 0")
    bg.shutdown()


async def test_verify_on_save_waits_for_the_save() -> None:
    engine = ScriptedEngine()
    engine.release.set()
    published: list[DocumentSnapshot] = []
    ls = SimdlensServer(engine)
    bg = Background(ls, engine, lambda: Settings(jobs=1, verify_on="save"), published.append,
                    lambda: False)
    bg.open(OpenDocument("file:///t.c", "/t.c", "c", 1, SOURCE))
    await _until(lambda: bool(published))
    state = published[-1].loops[0]
    assert (state.status, state.detail) == (LoopStatus.SKIPPED, "verify on save")
    await asyncio.sleep(0.2)
    assert engine.verified == 0
    bg.saved("file:///t.c")
    await _until(lambda: published[-1].loops[0].status is LoopStatus.DONE)
    assert engine.verified == 1
    bg.shutdown()


async def test_progress_counts_the_loop_being_started(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The bar's first message names the loops about to be verified ("verifying 1 loop", not 0)."""
    from simdlens.server import background

    totals: list[int] = []

    async def begin(self, total: int) -> None:  # type: ignore[no-untyped-def]
        totals.append(total)

    monkeypatch.setattr(background._Progress, "begin", begin)
    engine = ScriptedEngine()
    engine.release.set()
    published: list[DocumentSnapshot] = []
    bg = Background(SimdlensServer(engine), engine, lambda: Settings(jobs=1), published.append, lambda: True)
    bg.open(OpenDocument("file:///t.c", "/t.c", "c", 1, SOURCE))
    await _until(lambda: bool(published) and published[-1].loops[0].status is LoopStatus.DONE)
    assert totals == [1]
    bg.shutdown()
