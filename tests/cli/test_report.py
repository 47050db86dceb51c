"""The three renderings of a scan agree on what a loop's results mean (hand-built reports, no sandbox)."""

from __future__ import annotations

import dataclasses
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cache"))

from cache_objects import make_candidate, make_kernel, make_measurement
from rich.console import Console
from scan_schema import check_sarif, check_scan_json

from simdlens import report
from simdlens.cache.keys import HostIdentity, Toolchain
from simdlens.cache.store import CacheStats
from simdlens.core import (
    Analysis,
    CandidateResult,
    Counterexample,
    LoopKind,
    LoopReport,
    LoopRole,
    LoopSite,
    LoopVerdict,
    Point,
    Ratio,
    Reason,
    Span,
    Status,
    TextEdit,
    Verdict,
)
from simdlens.pipeline import Counters, FileReport, ScanReport

SOURCE = "void f(float *a, int n) {\n  /* 😀 */ for (int i = 0; i < n; i++) a[i] *= 2;\n}\n".encode()
START = SOURCE.index(b"for")
END = SOURCE.index(b";\n}") + 1


def site(path: str) -> LoopSite:
    col = START - SOURCE.index(b"\n") - 1
    span = Span(START, END, Point(1, col), Point(1, col + END - START))
    return LoopSite(path, "c", LoopKind.FOR, span, span, span, "f", 0, LoopRole.INNERMOST, "loop1")


def loop_report(path: str, native: float, *, failed: bool = False) -> LoopReport:
    s = site(path)
    kernel = dataclasses.replace(make_kernel(), loop_span=s.span)
    cand = dataclasses.replace(make_candidate(kernel), edits=(TextEdit(s.span, "/* vector */"),))
    m = make_measurement("Test CPU")
    size = dataclasses.replace(m.sizes[0], vs_native_autovec=Ratio(native, native * 0.98, native * 1.02, 5))
    results = [CandidateResult(cand, Verdict(Status.VERIFIED, "ok"), dataclasses.replace(m, sizes=(size,)))]
    if failed:
        bad = dataclasses.replace(cand, function=cand.function + " ", isa="avx512")
        results.append(CandidateResult(bad, Verdict(Status.MISMATCH, "a[3] differs", Counterexample(9, 1, "a", 3, "1", "2"))))
    analysis = Analysis(s, LoopVerdict.VECTORIZABLE, (Reason("elementwise", "independent iterations"),), None)
    return LoopReport(analysis, kernel, tuple(results))


def scan_of(*reports: tuple[str, LoopReport]) -> ScanReport:
    files = tuple(FileReport(p, "c", SOURCE, (r,)) for p, r in reports)
    return ScanReport(HostIdentity("Test CPU", frozenset({"avx2", "fma", "sse2", "aes"})), ("avx2",),
                      Toolchain("/usr/bin/gcc", "gcc 12.2.0"), files, (), CacheStats(), None, Counters(),
                      verified=True, bench=True, quick=False)


def test_json_positions_are_utf16_and_speedups_come_from_the_l1_size() -> None:
    doc = report.to_json(scan_of(("src/a.c", loop_report("src/a.c", 1.6, failed=True))))
    assert check_scan_json(doc) == []
    loop = doc["files"][0]["loops"][0]
    # "  /* " = 5 units, the emoji is 2 UTF-16 units (4 bytes), " */ " = 4 units.
    assert loop["range"]["start"] == {"line": 1, "character": 11}
    good, bad = loop["candidates"]
    assert good["speedup"] == {"vs_scalar": 5.0, "vs_user_flags": 2.0, "vs_native_autovec": 1.6, "spread": 0.1, "n": 4096,
                               "vs_native_user_build": None, "vs_native_native_build": None}
    assert good["edits"][0]["range"]["start"] == {"line": 1, "character": 11}
    assert bad["status"] == "mismatch" and bad["edits"] == [] and bad["speedup"] is None
    assert bad["counterexample"]["index"] == 3
    assert doc["host"]["isa"] == ["avx2", "fma", "sse2"]


def test_a_rewrite_not_faster_than_the_compiler_is_sl103_everywhere() -> None:
    scan = scan_of(("win.c", loop_report("win.c", 1.6)), ("tie.c", loop_report("tie.c", 1.01)))
    codes = [f["loops"][0]["code"] for f in report.to_json(scan)["files"]]
    assert codes == ["SL102", "SL103"]
    sarif = report.to_sarif(scan)
    assert check_sarif(sarif) == []
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["SL102", "SL103"]
    assert "fixes" in results[0] and "fixes" not in results[1]  # only a win is offered as a fix
    assert "2.00x" in results[0]["message"]["text"] and "vs your build" in results[0]["message"]["text"]
    assert results[0]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 2, "startColumn": 12, "endLine": 2, "endColumn": 12 + len("for (int i = 0; i < n; i++) a[i] *= 2;")}
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(report.to_table(scan))
    text = console.export_text()
    assert "win.c:2" in text and "verified" in text and "already vectorizes" in text


def test_every_rendering_says_which_build_of_the_rewrite_a_ratio_is_for_when_they_differ() -> None:
    """The rewrite is timed built at the user's flags and at -O3 -march=native; the lower ratio is quoted
    (here the -O3 -march=native build: 0.93x, as mul64 in a program built that way) and both are shown."""
    base = loop_report("mul64.c", 0.93)
    size = dataclasses.replace(base.results[0].measurement.sizes[0],  # type: ignore[union-attr]
                               vs_native_user_build=Ratio(1.21, 1.14, 1.22, 3), vs_native_native_build=Ratio(0.93, 0.91, 0.98, 3))
    result = dataclasses.replace(base.results[0], measurement=dataclasses.replace(base.results[0].measurement, sizes=(size,)))
    scan = scan_of(("mul64.c", dataclasses.replace(base, results=(result,))))
    doc = report.to_json(scan)
    assert check_scan_json(doc) == []
    (cand,) = doc["files"][0]["loops"][0]["candidates"]
    assert not cand["win"] and cand["speedup"]["vs_native_autovec"] == 0.93
    assert (cand["speedup"]["vs_native_user_build"], cand["speedup"]["vs_native_native_build"]) == (1.21, 0.93)
    (sized,) = cand["measurement"]["sizes"]
    assert sized["vs_native_user_build"]["lo"] == 1.14 and sized["vs_native_native_build"]["hi"] == 0.98
    note = "1.21x built at -O2, 0.93x built at -O3 -march=native"
    (sarif,) = report.to_sarif(scan)["runs"][0]["results"]
    assert f"vs -O3 -march=native ({note})" in sarif["message"]["text"]
    console = Console(width=250, record=True, file=io.StringIO())
    console.print(report.to_table(scan))
    assert f"0.93x vs -O3 native ({note})" in console.export_text()


def test_sarif_uses_file_uris_for_absolute_paths() -> None:
    sarif = report.to_sarif(scan_of(("/abs/dir with space/a.c", loop_report("/abs/dir with space/a.c", 2.0))))
    art = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art == {"uri": "file:///abs/dir%20with%20space/a.c"}


def test_the_table_prints_reasons_that_quote_c_subscripts_as_written() -> None:
    """A reason quoting `p[i].f` must reach the terminal intact: rich would eat `[i]` as a markup tag."""
    base = loop_report("[dir]/aos.cpp", 1.0)
    said = "ps holds structures: only `p[i].f` and `p[i].f[k]` of a walking p are read as strided arrays"
    analysis = Analysis(base.analysis.site, LoopVerdict.NOT_VECTORIZABLE, (Reason("structures", said),), None)
    scan = scan_of(("[dir]/aos.cpp", LoopReport(analysis, None, ())))
    console = Console(width=300, record=True, file=io.StringIO())
    console.print(report.to_table(scan))
    text = console.export_text()
    assert "`p[i].f` and `p[i].f[k]`" in text and "[dir]/aos.cpp:2" in text
