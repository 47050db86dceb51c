"""Incremental re-analysis with the real analysis: an edit re-judges only the loops it touched; every
other loop keeps its analysis and its verified result, moved to where its text now is.

Verification is scripted (no compiler): each loop "verifies" with a result whose edit replaces the loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Iterable

from server_builders import candidate, measurement, ratio

from simdlens.config import Settings
from simdlens.core import Analysis, CandidateResult, Kernel, Language, LoopReport, Status, Verdict
from simdlens.server.background import AnalysisResult, Background
from simdlens.server.documents import Change, OpenDocument
from simdlens.server.engine import PipelineEngine
from simdlens.server.features import code_lens, diagnostics
from simdlens.server.incremental import EditedDocument
from simdlens.server.server import SimdlensServer
from simdlens.server.state import DocumentSnapshot, LoopState, LoopStatus

SOURCE = b"""\
float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void scale(float *restrict y, const float *restrict x, float k, int n) {
    for (int i = 0; i < n; i++)
        y[i] = k * x[i];
}
"""
DOT = b"for (int i = 0; i < n; i++)\n        s += a[i] * b[i];"
SCALE = b"for (int i = 0; i < n; i++)\n        y[i] = k * x[i];"


class Engine(PipelineEngine):
    """The real analysis; verification answers at once with a verified, measured rewrite."""

    def __init__(self) -> None:
        super().__init__(use_cache=False)
        self.verified: Counter[str] = Counter()
        self.results: list[AnalysisResult] = []
        self.full_analyses = 0
        self.kernels: list[Kernel | None] = []

    def analyze(self, source: bytes, path: str, language: Language, settings: Settings,
                first: int | None = None, *, uri: str = "", version: int = 0) -> AnalysisResult:
        self.full_analyses += 1
        return super().analyze(source, path, language, settings, first, uri=uri, version=version)

    def analyze_edits(self, request: EditedDocument, settings: Settings) -> AnalysisResult | None:
        result = super().analyze_edits(request, settings)
        if result is not None:
            self.results.append(result)
        return result

    async def verify(self, report: LoopReport, source: bytes, settings: Settings, *, bypass_cache: bool,
                     priority: int) -> LoopReport:
        assert report.analysis.loop is not None  # verification gets the full analysis, with its IR
        self.kernels.append(report.kernel)
        span = report.analysis.site.span
        loop_text = source[span.start_byte:span.end_byte]
        self.verified[report.analysis.site.function or ""] += 1
        cand = candidate(source, loop_text, "avx2", "rules:test")
        m = measurement(ratio(4.0, 3.8, 4.2), ratio(2.0, 1.9, 2.1))
        return dataclasses.replace(report, results=(CandidateResult(cand, Verdict(Status.VERIFIED), m),))

    def why_not_verify(self, settings: Settings) -> str:
        return ""

    def isas(self, settings: Settings) -> tuple[str, ...]:
        return ("avx2",)


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _state(snapshot: DocumentSnapshot, function: str) -> LoopState:
    return next(s for s in snapshot.loops if s.report.analysis.site.function == function)


def _line_of(source: bytes, needle: bytes) -> int:
    return source[: source.index(needle)].count(b"\n")


async def _opened() -> tuple[Engine, Background, OpenDocument, list[DocumentSnapshot]]:
    engine = Engine()
    published: list[DocumentSnapshot] = []
    bg = Background(SimdlensServer(engine), engine, lambda: Settings(jobs=1), published.append, lambda: False)
    doc = OpenDocument("file:///tmp/inc.c", "/tmp/inc.c", "c", 1, SOURCE)
    bg.open(doc)
    await _until(lambda: bool(published) and all(s.status is LoopStatus.DONE for s in published[-1].loops)
                 and len(published[-1].loops) == 2)
    assert engine.verified == {"dot": 1, "scale": 1}
    return engine, bg, doc, published


def _edit(bg: Background, doc: OpenDocument, needle: bytes, old: bytes, new: bytes) -> None:
    """Replace `old` (found at or after `needle`; b"": insert at `needle`) as a client does: one ranged change."""
    where = doc.source.index(old, doc.source.index(needle)) if old else doc.source.index(needle)
    line = doc.source[:where].count(b"\n")
    column = where - (doc.source.rfind(b"\n", 0, where) + 1)
    end_line = line + old.count(b"\n")
    end_column = (len(old) - old.rfind(b"\n") - 1) if b"\n" in old else column + len(old)
    doc.apply(doc.version + 1, [Change(new.decode(), (line, column), (end_line, end_column))], "utf-8")
    bg.changed(doc.uri)


async def test_an_edit_in_one_loop_leaves_the_other_verified_and_in_place() -> None:
    engine, bg, doc, published = await _opened()
    before = _state(published[-1], "dot")
    _edit(bg, doc, b"void scale", b"k * x[i]", b"k * x[i] + 1.0f")
    await _until(lambda: published[-1].version == 2)
    after = published[-1]
    assert engine.results[-1].judged == 1  # only the edited loop was analysed again
    dot = _state(after, "dot")
    assert dot.status is LoopStatus.DONE and dot.loop_id == before.loop_id
    assert dot.report.results == before.report.results  # not re-verified: the same result object
    assert dot.report.analysis is before.report.analysis  # nothing moved above the edit
    # the edited loop is new: queued again, and verified once typing pauses
    scale = _state(after, "scale")
    assert scale.status is LoopStatus.QUEUED and scale.report.results == ()
    await _until(lambda: engine.verified["scale"] == 2 and _state(published[-1], "scale").status is LoopStatus.DONE)
    assert engine.verified["dot"] == 1
    bg.shutdown()


async def test_lines_inserted_above_move_diagnostics_lenses_and_rewrites() -> None:
    engine, bg, doc, published = await _opened()
    lenses_before = code_lens.code_lenses(published[-1], "utf-16")
    assert [lens.range.start.line for lens in lenses_before] == [2, 8]
    _edit(bg, doc, b"float dot", b"", b"/* three\n   new\n   lines */\n")
    await _until(lambda: published[-1].version == 2)
    snap = published[-1]
    assert engine.results[-1].judged == 0 and len(engine.results[-1].reused) == 2
    diags = diagnostics.diagnostics(snap, "all", "utf-16")
    assert sorted((d.range.start.line, str(d.code)) for d in diags) == [(5, "SL102"), (11, "SL102")]
    lenses = code_lens.code_lenses(snap, "utf-16")
    assert [lens.range.start.line for lens in lenses] == [5, 11]
    assert all(lens.command and lens.command.title.endswith("— apply") for lens in lenses)
    for function, text in (("dot", DOT), ("scale", SCALE)):
        state = _state(snap, function)
        assert state.status is LoopStatus.DONE
        assert state.header.start.line == _line_of(doc.source, text)
        (edit,) = [e for e in state.report.results[0].candidate.edits if e.span.end_byte > e.span.start_byte]
        assert doc.source[edit.span.start_byte:edit.span.end_byte] == text  # the rewrite still replaces the loop
        kernel = state.report.kernel
        assert kernel is not None and kernel.loop_span is not None
        assert doc.source[kernel.loop_span.start_byte:kernel.loop_span.end_byte] == text
    assert engine.verified == {"dot": 1, "scale": 1}  # nothing verified again
    bg.shutdown()


async def test_an_edit_to_the_function_around_a_loop_judges_it_again() -> None:
    engine, bg, doc, published = await _opened()
    # same loop text (same id), but its parameters lose `restrict`: the verdict may change
    _edit(bg, doc, b"void scale", b"float *restrict y", b"float *y")
    await _until(lambda: published[-1].version == 2)
    assert engine.results[-1].judged == 1
    assert {r.site.function for r in (s.report.analysis for s in published[-1].loops)} == {"dot", "scale"}
    bg.shutdown()


async def test_a_changed_declaration_judges_every_loop_again() -> None:
    engine, bg, doc, published = await _opened()
    _edit(bg, doc, b"float dot", b"", b"typedef float real;\n\n")
    await _until(lambda: published[-1].version == 2)
    assert engine.results[-1].judged == 2
    # a comment between functions changes no declaration: nothing is judged again
    _edit(bg, doc, b"void scale", b"", b"// scale\n")
    await _until(lambda: published[-1].version == 3)
    assert engine.results[-1].judged == 0
    assert [_line_of(doc.source, t) for t in (DOT, SCALE)] == [s.header.start.line for s in published[-1].loops]
    bg.shutdown()


async def test_fast_typing_ends_with_the_newest_text_analysed() -> None:
    engine, bg, doc, published = await _opened()
    for i in range(20):  # keystrokes faster than the debounce, each a new version
        _edit(bg, doc, b"void scale", b"k * x[i]", b"k * x[i] + 1")
        await asyncio.sleep(0.01 * (i % 3))
    await _until(lambda: published[-1].version == doc.version)
    fresh = engine.analyze(doc.source, doc.path, "c", Settings())
    assert [r.analysis.site for r in fresh.reports] == [s.report.analysis.site for s in published[-1].loops]
    assert [r.analysis.reasons for r in fresh.reports] == [s.report.analysis.reasons for s in published[-1].loops]
    bg.shutdown()


async def test_a_moved_loop_verified_again_is_judged_alone_on_the_kept_tree() -> None:
    engine, bg, doc, published = await _opened()
    _edit(bg, doc, b"float dot", b"", b"// moved\n")
    await _until(lambda: published[-1].version == 2)
    dot = _state(published[-1], "dot")
    assert bg.enqueue(doc.uri, [dot.loop_id], bypass_cache=True, force=True) == 1  # simdlens.verifyLoop
    await _until(lambda: engine.verified["dot"] == 2 and _state(published[-1], "dot").status is LoopStatus.DONE)
    assert engine.full_analyses == 1  # the open only: the moved loop was judged alone
    kernel = engine.kernels[-1]
    assert kernel is not None and kernel.loop_span is not None
    assert doc.source[kernel.loop_span.start_byte:kernel.loop_span.end_byte] == DOT  # where the loop is now
    bg.shutdown()


def test_the_unit_of_an_edit_is_the_function_around_it_or_the_top_level_text_it_reaches() -> None:
    from simdlens.analysis.parse import parse
    from simdlens.server.incremental import edited_unit

    root = parse(SOURCE, "c").root_node
    dot = (0, SOURCE.index(b"}\n") + 1)
    inside = SOURCE.index(b"s += a[i]")
    assert edited_unit(root, inside, inside + 3) == dot  # typed inside dot(): all of dot()
    assert edited_unit(root, inside, inside) == dot  # deleted inside dot()
    gap = SOURCE.index(b"\nvoid scale")  # the blank line between the functions
    assert edited_unit(root, gap, gap) == (gap, gap)  # deleted between functions: nothing around it
    assert edited_unit(root, 0, 0) == (0, 0)  # deleted right before dot(): dot() keeps its text
    brace = SOURCE.index(b"}\n")
    assert edited_unit(root, brace, brace + 2) == dot  # new text over dot()'s closing brace: dot()



PRECISION = b"""\
#ifdef USE_FLOAT
typedef float real;
#else
typedef double real;
#endif

void twice(real *restrict y, const real *restrict x, int n) {
    for (int i = 0; i < n; i++)
        y[i] = 2 * x[i];
}

void plus_one(real *restrict y, const real *restrict x, int n) {
    for (int i = 0; i < n; i++)
        y[i] = x[i] + 1;
}
"""


def test_changed_compile_flags_judge_the_loops_outside_the_edit_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from simdlens.compile_db import CompileFlags
    from simdlens.server import engine as engine_module
    from simdlens.server.state import ByteEdit

    flags = {"now": CompileFlags()}  # compile_commands.json as it is on disk when asked
    monkeypatch.setattr(engine_module, "_compile_flags", lambda settings, path: flags["now"])
    engine = PipelineEngine(use_cache=False)
    uri, path = "file:///tmp/precision.c", "/tmp/precision.c"
    opened = engine.analyze(PRECISION, path, "c", Settings(), uri=uri, version=1)
    twice = next(r.analysis.site.loop_id for r in opened.reports if r.analysis.site.function == "twice")
    # the signature keeps the user's `real`; simdlens's reading of it is the parameter's canonical decl
    assert opened.full is not None and "double *restrict y" in [p.decl for p in opened.full.kernels[twice].params]

    flags["now"] = CompileFlags(defines=(("USE_FLOAT", "1"),))  # regenerated with -DUSE_FLOAT
    where = PRECISION.index(b"x[i] + 1") + len(b"x[i] + 1")
    source = PRECISION[:where] + b".0" + PRECISION[where:]  # typed in plus_one() only
    request = EditedDocument(uri, path, "c", 2, source, 1, PRECISION, tuple(r.analysis for r in opened.reports),
                             (ByteEdit(2, where, where, 2, b".0"),))
    result = engine.analyze_edits(request, Settings())
    assert result is not None and result.judged == 2 and not result.reused
    assert result.full is not None and "float *restrict y" in [p.decl for p in result.full.kernels[twice].params]


NEST = b"""\
void add_rows(float *restrict c, const float *restrict a, int n, int m) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            c[i * m + j] += a[j];
}

#if USE_SLOW_PATH
void first(float *y, int n) {
    for (int i = 0; i < n; i++)
        y[i] = 0;
}

void second(float *y, int n) {
    for (int i = 0; i < n; i++)
        y[i] = 1;
}
#endif
"""
SLOW_PATH_OFF = {"USE_SLOW_PATH": "0"}  # -DUSE_SLOW_PATH=0: the loops under it are skipped, naming its line


def _messages(analyses: Iterable[Analysis]) -> dict[str, tuple[str, ...]]:
    return {a.site.loop_id: tuple(r.message for r in a.reasons) for a in analyses}


def _fresh(source: bytes) -> tuple[Analysis, ...]:
    from simdlens.analysis import analyze_loops
    from simdlens.server.incremental import LiveDocument

    live = LiveDocument.build(source, "/tmp/nest.c", "c", 1, (), SLOW_PATH_OFF)
    return analyze_loops(live.document.sites, live.document.tree, source, live.ctx)[0]


def test_a_moved_loop_whose_reasons_name_a_line_is_judged_again() -> None:
    from simdlens.server.incremental import LiveDocument
    from simdlens.server.state import ByteEdit

    base = _fresh(NEST)
    messages = [m for ms in _messages(base).values() for m in ms]
    assert any("contains the loop at line 3" in m for m in messages)  # the outer loop names its inner loop's line
    assert sum("`#if USE_SLOW_PATH` (line 7)" in m for m in messages) == 2  # skipped loops name the #if's line
    live = LiveDocument.build(NEST, "/tmp/nest.c", "c", 1, (), SLOW_PATH_OFF)

    # a line typed above everything: every named line moves
    typed = ByteEdit(2, 0, 0, 12, b"// add rows\n")
    source = b"// add rows\n" + NEST
    update = live.update(EditedDocument("u", "/tmp/nest.c", "c", 2, source, 1, NEST, base, (typed,)))
    assert update is not None
    got = _messages((*update.judged, *update.moved.values()))
    assert got == _messages(_fresh(source))
    assert any("contains the loop at line 4" in m for ms in got.values() for m in ms)
    assert len(update.moved) == 1  # the inner loop names no line: moved, not judged again

    # a line typed inside first(): second()'s loop moves down, the #if it names does not
    at = source.index(b"y[i] = 0;")
    newer = source[:at] + b"\n        " + source[at:]
    update = live.update(EditedDocument("u", "/tmp/nest.c", "c", 3, newer, 1, NEST, base,
                                        (typed, ByteEdit(3, at, at, 9, b"\n        "))))
    assert update is not None
    assert _messages((*update.judged, *update.moved.values())) == _messages(_fresh(newer))
