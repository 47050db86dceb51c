"""The LSP features as a user sees them, driven by hand-built loop reports (no compiler needed)."""

from __future__ import annotations

import dataclasses

import pytest
from lsprotocol import types
from server_builders import (
    DOT_LOOP,
    SOURCE,
    compiler_wins,
    dot_report,
    failed,
    measurement,
    prefix_report,
    ratio,
)

from simdlens.core import CandidateResult, LoopReport, Reason, Status, Verdict
from simdlens.server.documents import APPLIED
from simdlens.server.features import code_actions, code_lens, diagnostics, hover
from simdlens.server.features.commands import (
    APPLY_AND_BENCHMARK,
    VERIFY_LOOP,
    nothing_to_verify,
    report_markdown,
)
from simdlens.server.features.measured import size_name
from simdlens.server.positions import LineIndex
from simdlens.server.state import DocumentSnapshot, LoopState, LoopStatus


def snapshot(*states: LoopState, source: bytes = SOURCE) -> DocumentSnapshot:
    return DocumentSnapshot("file:///tmp/t.c", "/tmp/t.c", 3, source, "c", LineIndex(source), states)


def done(report) -> LoopState:  # type: ignore[no-untyped-def]
    return LoopState(report, LoopStatus.DONE, isa="avx2")


def by_code(diags: list[types.Diagnostic]) -> dict[str, types.Diagnostic]:
    return {str(d.code): d for d in diags}


def test_diagnostic_codes_per_outcome() -> None:
    win = done(dot_report())
    snap = snapshot(win, LoopState(prefix_report(), LoopStatus.ANALYSED))
    diags = by_code(diagnostics.diagnostics(snap, "all", "utf-16"))
    assert set(diags) == {"SL102", "SL201"}
    assert diags["SL102"].message == "verified AVX-512 rewrite: 6.2x (5.9–6.6) vs your -O2 build"
    assert diags["SL102"].severity == types.DiagnosticSeverity.Information
    assert diags["SL201"].message == "not vectorizable: recurrence on a[i-1]"
    assert diags["SL201"].severity == types.DiagnosticSeverity.Hint
    assert all(d.source == "simdlens" for d in diags.values())
    # the range is the loop header `for (...)` on line 3
    assert diags["SL102"].range.start == types.Position(3, 4)
    assert diags["SL102"].range.end == types.Position(3, 4 + len("for (int i = 0; i < n; i++)"))

    slow = snapshot(done(compiler_wins(dot_report())))
    (d,) = diagnostics.diagnostics(slow, "all", "utf-16")
    assert d.code == "SL103" and "compiler already vectorizes" in d.message and "1.02x" in d.message

    pending = snapshot(LoopState(dataclasses.replace(dot_report(), results=()), LoopStatus.VERIFYING, isa="avx2"))
    (d,) = diagnostics.diagnostics(pending, "all", "utf-16")
    assert d.code == "SL101" and d.message == "vectorizable loop"

    bad = snapshot(done(failed(dot_report())))
    (d,) = diagnostics.diagnostics(bad, "all", "utf-16")
    assert d.code == "SL101" and "no rewrite passed verification: mismatch at n=17" in d.message


def test_diagnostics_verbosity() -> None:
    snap = snapshot(done(dot_report()), LoopState(prefix_report(), LoopStatus.ANALYSED))
    assert [d.code for d in diagnostics.diagnostics(snap, "verified", "utf-16")] == ["SL102"]
    assert diagnostics.diagnostics(snap, "off", "utf-16") == []


def test_positions_follow_the_negotiated_encoding() -> None:
    # A loop header on the line with non-ASCII text: UTF-8 counts bytes, UTF-16 code units.
    source = b"/* \xc3\xa9 */ " + b"for (int i = 0; i < n; i++) s += a[i] * b[i];\n"
    report = dot_report(source)
    snap = snapshot(done(report), source=source)
    utf16 = diagnostics.diagnostics(snap, "all", "utf-16")[0].range.start
    utf8 = diagnostics.diagnostics(snap, "all", "utf-8")[0].range.start
    assert (utf16.character, utf8.character) == (8, 9)


def test_code_lens_titles_and_commands() -> None:
    snap = snapshot(done(dot_report()), LoopState(prefix_report(), LoopStatus.ANALYSED))
    lenses = code_lens.code_lenses(snap, "utf-16")
    titles = [lens.command.title for lens in lenses if lens.command]
    assert titles == ["AVX-512 6.2x (5.9–6.6) vs your -O2 build — apply", "no safe rewrite: recurrence on a[i-1]"]
    apply = lenses[0].command
    assert apply is not None and apply.command == APPLY_AND_BENCHMARK
    assert apply.arguments is not None and apply.arguments[:2] == ["file:///tmp/t.c", "loop-dot"]

    verifying = snapshot(LoopState(dataclasses.replace(dot_report(), results=()), LoopStatus.VERIFYING, isa="avx2"))
    assert code_lens.code_lenses(verifying, "utf-16")[0].command.title == "verifying AVX2…"
    slow = snapshot(done(compiler_wins(dot_report())))
    assert code_lens.code_lenses(slow, "utf-16")[0].command.title == "compiler already vectorizes this loop (1.02x)"
    skipped = snapshot(LoopState(dataclasses.replace(dot_report(), results=()), LoopStatus.SKIPPED, "no C compiler found"))
    assert code_lens.code_lenses(skipped, "utf-16")[0].command.title == "not verified: no C compiler found"
    demand = snapshot(LoopState(dataclasses.replace(dot_report(), results=()), LoopStatus.SKIPPED,
                                "verify on demand — click to verify"))
    assert code_lens.code_lenses(demand, "utf-16")[0].command.command == VERIFY_LOOP


def test_a_lens_that_is_not_a_win_says_why_at_the_size_that_decided() -> None:
    # 5.1x (4.9-5.3) at 4K, but slower than the compiler at 1M: the title must not call 4.9x "not reliably faster"
    report = dot_report()
    cand = report.results[0].candidate
    fast, slow = measurement(ratio(5.3, 4.9, 5.6), ratio(5.08, 4.94, 5.3)).sizes
    slow = dataclasses.replace(slow, vs_native_autovec=ratio(0.7, 0.6, 0.8))
    m = dataclasses.replace(measurement(ratio(5.3, 4.9, 5.6), ratio(5.08, 4.94, 5.3)), sizes=(fast, slow))
    lost = LoopReport(report.analysis, report.kernel, (CandidateResult(cand, Verdict(Status.VERIFIED), m),))
    title = code_lens.code_lenses(snapshot(done(lost)), "utf-16")[0].command.title
    assert "slowest 4.94" not in title and "0.70x at n=1048576" in title, title


def test_hover_leads_with_one_line_then_a_compact_table() -> None:
    snap = snapshot(done(dot_report()))
    offset = SOURCE.index(b"for (int i = 0") + 2
    result = hover.hover(snap, offset, "utf-16")
    assert result is not None
    text = result.contents.value
    lead, table = text.split("\n\n")[:2]
    # verdict, best speedup with its range and size, main caveat: one line
    # 6.2x at 4K but 1.3x at 1M: the lead line says the speedup depends on the size
    assert lead == ("**simdlens:** verified AVX-512 rewrite, **6.2x (5.9–6.6)** vs your -O2 build at 4K;"
                    " 1.3x at 1M (memory-bound); depends on size · reassociates floating-point additions")
    # one row per rewrite, one column per measured size
    assert table.splitlines() == [
        "| vs -O2 | 4K (L1) | 1M (memory-bound) |",
        "|---|---:|---:|",
        "| AVX-512 | 6.2x (5.9–6.6) | 1.3x (1.0–1.6) |",
        "| AVX2 | 5.3x (4.9–5.6) | 1.3x (1.0–1.6) |",
    ]
    assert "sum of products" in text
    # no code preview and no ns-per-element table: those are in the report
    assert "```" not in text and "immintrin" not in text and "scalar" not in text
    assert len(text.splitlines()) < 15
    assert hover.hover(snap, 0, "utf-16") is None  # not on a loop header
    assert hover.hover(snap, offset - 2 - 4, "utf-16") == result  # in the header line's indentation


def test_report_keeps_the_long_table_and_the_preview() -> None:
    text = report_markdown(snapshot(done(dot_report())))
    assert "| n | scalar | -O2 | -O3 -march=native | AVX2 |" in text
    assert "| 4096 (L1) | 0.9 | 0.9 | 0.5 | 0.17 | 5.30x (4.90–5.60) | 3.10x (2.90–3.30) |" in text
    assert "1048576 (memory, memory-bound)" in text
    assert "Caveats: reassociates floating-point additions" in text
    assert "```c\n#include <immintrin.h>\n\n{ avx512 }\n```" in text
    assert ("**Verified AVX-512 rewrite, 6.2x (5.9–6.6) vs your -O2 build at 4K; 1.3x at 1M (memory-bound); "
            "depends on size.**") in text  # no nested bold


def test_hover_escapes_text_for_markdown() -> None:
    report = dot_report()
    guard = "needs -mavx512f (not in your flags): guarded by #if defined(__AVX512F__)"
    best = report.results[1]
    best = dataclasses.replace(best, candidate=dataclasses.replace(best.candidate, caveats=(guard,)))
    report = dataclasses.replace(report, results=(report.results[0], best))
    text = hover.hover_markdown(done(report))
    guarded = "guarded by `#if` `defined(__AVX512F__)`"  # code: shown as written, never bold
    report_text = report_markdown(snapshot(done(report)))
    assert guarded in report_text and "Caveats: needs -mavx512f" in report_text
    assert " __AVX512F__" not in text and "(__AVX512F__)" not in text.replace("`defined(__AVX512F__)`", "")
    assert hover.escape("`a_b` and a_b, *c* x|y a[i-1]") == "`a_b` and `a_b`, `*c*` `x|y` a[i-1]"


def test_hover_says_when_the_compiler_wins() -> None:
    snap = snapshot(done(compiler_wins(dot_report())))
    text = hover.hover_markdown(snap.loops[0])
    assert "compiler already vectorizes" in text and "-O3 -march=native" in text


def test_code_actions_only_verified_wins_best_preferred() -> None:
    report = dot_report()
    mixed = dataclasses.replace(report, results=(*report.results, failed(report).results[0]))
    snap = snapshot(done(mixed))
    start = SOURCE.index(b"for (int i = 0")
    actions = code_actions.code_actions(snap, start, start, "utf-16", lazy=False, document_changes=True)
    assert [a.title for a in actions] == [
        "Vectorize with AVX-512 — verified, 6.2x at 4K, 1.3x at 1M (memory-bound); depends on size "
        "(reassociates floating-point additions)",
        "Vectorize with AVX2 — verified, 5.3x at 4K, 1.3x at 1M (memory-bound); depends on size "
        "(reassociates floating-point additions)",
    ]
    assert [a.is_preferred for a in actions] == [True, False]
    assert all(a.kind == "refactor.rewrite.simdlens" and a.command is None for a in actions)
    edit = actions[0].edit
    assert edit is not None and edit.document_changes is not None
    text_edit = edit.document_changes[0]
    assert isinstance(text_edit, types.TextDocumentEdit) and text_edit.text_document.version == 3
    assert [e.new_text for e in text_edit.edits if isinstance(e, types.TextEdit)] == [
        "#include <immintrin.h>\n", "{ avx512 }"]
    # a cursor in the loop line's indentation counts (Neovim sends the bare cursor)
    indent = start - 4
    assert [a.title for a in code_actions.code_actions(snap, indent, indent, "utf-16", lazy=False,
                                                       document_changes=True)] == [a.title for a in actions]
    # a cursor elsewhere gets nothing; the compiler-wins case offers nothing
    assert code_actions.code_actions(snap, 0, 0, "utf-16", lazy=False, document_changes=True) == []
    slow = snapshot(done(compiler_wins(dot_report())))
    assert code_actions.code_actions(slow, start, start, "utf-16", lazy=False, document_changes=True) == []


def test_large_edits_are_resolved_lazily() -> None:
    report = dot_report()
    big = dataclasses.replace(report.results[0].candidate, edits=tuple(
        dataclasses.replace(e, new_text=e.new_text + " " * 5000) for e in report.results[0].candidate.edits))
    report = dataclasses.replace(report, results=(dataclasses.replace(report.results[0], candidate=big),))
    snap = snapshot(done(report))
    start = SOURCE.index(b"for (int i = 0")
    (action,) = code_actions.code_actions(snap, start, start, "utf-16", lazy=True, document_changes=False)
    assert action.edit is None and action.data["candidate"] == big.key
    resolved = code_actions.resolve(snap, action, "utf-16", document_changes=False)
    assert resolved.edit is not None and resolved.edit.changes is not None
    assert len(resolved.edit.changes["file:///tmp/t.c"]) == 2


@pytest.mark.parametrize("status", [Status.MISMATCH, Status.COMPILE_ERROR])
def test_failed_candidates_are_never_offered(status: Status) -> None:
    snap = snapshot(done(failed(dot_report(), status)))
    start = SOURCE.index(b"for (int i = 0")
    assert code_actions.code_actions(snap, start, start, "utf-16", lazy=False, document_changes=True) == []


def test_report_lists_every_loop() -> None:
    text = report_markdown(snapshot(done(dot_report()), LoopState(prefix_report(), LoopStatus.ANALYSED)))
    assert text.startswith("# simdlens report: t.c")
    assert "## Line 4" in text and "## Line 8" in text and "recurrence on a[i-1]" in text


def test_titles_quote_every_measured_size() -> None:
    report = dot_report()
    small_win = dataclasses.replace(report.results[0].measurement.sizes[0], vs_user_flags=ratio(7.2, 6.9, 7.5))
    big_loss = dataclasses.replace(report.results[0].measurement.sizes[1], vs_user_flags=ratio(0.49, 0.4, 0.6))
    m = dataclasses.replace(report.results[0].measurement, sizes=(small_win, big_loss))
    result = dataclasses.replace(report.results[0], measurement=m)
    assert code_actions.action_title(result) == (
        "Vectorize with AVX2 — verified, 7.2x at 4K, 0.49x at 1M (memory-bound); depends on size "
        "(reassociates floating-point additions)")
    assert [size_name(n) for n in (4096, 65536, 1048576, 1000)] == ["4K", "64K", "1M", "1000"]


def _diagnostic_for(snap: DocumentSnapshot) -> types.Diagnostic:
    (diag,) = [d for d in diagnostics.diagnostics(snap, "all", "utf-16") if d.code == "SL102"]
    return diag


def test_rewrites_are_quick_fixes_of_their_diagnostic() -> None:
    snap = snapshot(done(dot_report()), LoopState(prefix_report(), LoopStatus.ANALYSED))
    start = SOURCE.index(b"for (int i = 0")
    diag = _diagnostic_for(snap)
    other = types.Diagnostic(range=diag.range, message="unused variable", source="clangd")

    def ask(only: list[str] | None, diags: list[types.Diagnostic]) -> list[types.CodeAction]:
        return code_actions.code_actions(snap, start, start, "utf-16", lazy=False, document_changes=True,
                                         only=only, diagnostics=diags)

    # Ctrl+. on the diagnostic (VS Code sends it in the context): quick fixes tied to it, best preferred
    fixes = ask(None, [other, diag])
    assert [(a.kind, a.is_preferred) for a in fixes] == [("quickfix", True), ("quickfix", False)]
    assert all(a.diagnostics == [diag] for a in fixes)
    assert fixes[0].title.startswith("Vectorize with AVX-512")
    # the diagnostic's hover asks for quick fixes only
    assert [a.kind for a in ask(["quickfix"], [diag])] == ["quickfix", "quickfix"]
    # the Refactor… menu still gets the refactor entries, without diagnostics
    refactors = ask(["refactor"], [diag])
    assert [a.kind for a in refactors] == [code_actions.KIND] * 2 and all(a.diagnostics is None for a in refactors)
    # no simdlens diagnostic in the context (diagnostics off, another tool's only): refactor entries
    assert [a.kind for a in ask(None, [other])] == [code_actions.KIND] * 2
    assert ask(["quickfix"], [other]) == []


def test_verify_loop_on_an_applied_rewrite_says_why_nothing_is_verified() -> None:
    applied = LoopState(dot_report(), LoopStatus.ANALYSED, APPLIED)
    snap = snapshot(applied, LoopState(prefix_report(), LoopStatus.ANALYSED))
    assert nothing_to_verify(snap, None) == "no vectorizable loops in this file (1 in a rewrite simdlens applied)"
    assert nothing_to_verify(snapshot(applied), None) == "every loop in this file is part of a rewrite simdlens applied"
    assert nothing_to_verify(snapshot(applied), "loop-dot") == \
        "this is a rewrite simdlens applied (its loops are not verified again)"


def test_report_after_applying_names_the_applied_rewrite() -> None:
    snap = snapshot(done(dot_report()))
    start = SOURCE.index(b"for (int i = 0")
    code_actions.code_actions(snap, start, start, "utf-16", lazy=False, document_changes=True)  # offered
    # the user applies the offered AVX-512 rewrite: its loops are now part of an applied rewrite
    rewritten = SOURCE.replace(DOT_LOOP, b"{ avx512 }")
    rewritten = b"#include <immintrin.h>\n" + rewritten
    after = snapshot(LoopState(prefix_report(rewritten), LoopStatus.ANALYSED), source=rewritten)
    text = report_markdown(after)
    assert "**Line 5: applied AVX-512 — verified, 6.2x at 4K, 1.3x at 1M (memory-bound); depends on size" in text, text
    assert "1 loop: 1 not candidate" in text and "applied AVX2" not in text


def test_diagnostics_of_unchanged_loops_are_reused_between_publishes() -> None:
    reuse = diagnostics.Reuse()
    pending = LoopState(dataclasses.replace(dot_report(), results=()), LoopStatus.VERIFYING, isa="avx2")
    first = snapshot(pending, LoopState(prefix_report(), LoopStatus.ANALYSED))
    before = by_code(diagnostics.diagnostics(first, "all", "utf-16", reuse))
    assert set(before) == {"SL101", "SL201"}
    # the dot product's verification finished: only its diagnostic is built again
    second = first.replace_loop(done(dot_report()))
    after = by_code(diagnostics.diagnostics(second, "all", "utf-16", reuse))
    assert set(after) == {"SL102", "SL201"}
    assert after["SL201"] is before["SL201"]
    # another encoding: positions differ, nothing is reused
    utf8 = by_code(diagnostics.diagnostics(second, "all", "utf-8", reuse))
    assert utf8["SL201"] is not after["SL201"]


def test_a_column_sweep_says_why_in_the_diagnostic_and_the_hover() -> None:
    from simdlens.analysis import analyze_file
    from simdlens.core import LoopReport

    source = (b"#define N 64\nfloat aa[N][N], bb[N][N];\nvoid col(void) {\n"
              b"    for (int i = 0; i < N; i++)\n        for (int j = 0; j < N; j++)\n"
              b"            aa[j][i] = bb[j][i] * 2.0f;\n}\n")
    fa = analyze_file(source, "/tmp/t.c", "c")
    states = [LoopState(LoopReport(a, None), LoopStatus.ANALYSED) for a in fa.analyses]
    snap = snapshot(*states, source=source)
    # the outer loop is the candidate (vectorized across i, the whole nest); the inner loop says so
    outer, diag = diagnostics.diagnostics(snap, "all", "utf-16")
    assert outer.code == "SL101" and outer.range.start.line == 3
    assert diag.code == "SL201" and diag.message == (
        "not vectorizable: the inner loop walks a column of bb, aa (stride 64): the outer loop (line 4) is "
        "vectorized across i instead, contiguous; its rewrite replaces the whole nest")
    text = hover.hover_markdown(states[1])
    assert "walks a column of bb, aa" in text and "the outer loop (line 4) is vectorized across i" in text
    assert "replaces the whole nest" in hover.hover_markdown(states[0])
    assert code_actions.code_actions(snap, 0, len(source), "utf-16", lazy=False, document_changes=True) == []


def test_hover_always_names_the_template_instantiation_the_loop_was_read_for() -> None:
    report = dot_report()
    notes = tuple(Reason("note", f"note {k}") for k in range(4))
    said = Reason("instantiation", "in a template: analysed for dot<float>; also used: dot<double> (they keep the "
                                   "original loop)")
    analysis = dataclasses.replace(report.analysis, reasons=(*notes, said))
    text = hover.hover_markdown(done(dataclasses.replace(report, analysis=analysis)))
    assert "in a template: analysed for" in text and "also used" in text and "note 3" not in text
