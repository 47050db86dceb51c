"""Scan results for people and machines: a terminal table, the JSON document, SARIF 2.1.0.

All three say the same thing as the editor, because they ask the same questions of a loop report
(`simdlens.summary`: is a verified rewrite a win over `-O3 -march=native`, which one is best).
Positions become LSP positions here (0-based lines, UTF-16 characters) through the file's `LineIndex`;
SARIF regions are 1-based, in UTF-16 code units (`columnKind`).

The JSON schema is design.md's, plus the additions documented in docs/scan.md.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from rich.table import Table
from rich.text import Text

from simdlens import __version__, summary
from simdlens.analysis.positions import LineIndex
from simdlens.core import (
    Candidate,
    CandidateResult,
    LoopReport,
    LoopVerdict,
    ParamRole,
    Ratio,
    SizeMeasurement,
    Span,
    Status,
)
from simdlens.pipeline import FileReport, ScanReport
from simdlens.summary import Outcome

JSON_FORMAT_VERSION = 1
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/simdlens/simdlens"

# Diagnostic codes, shared with the language server's diagnostics.
RULES: dict[str, tuple[str, str, str]] = {  # code -> (name, short description, SARIF level)
    "SL101": ("Vectorizable", "Loop is vectorizable (no rewrite verified)", "note"),
    "SL102": ("VerifiedRewrite", "Verified SIMD rewrite available, faster than the compiler", "warning"),
    "SL103": ("CompilerAsFast", "The compiler's own code (vectorized or scalar) is as fast as the verified rewrite", "note"),
    "SL201": ("NotVectorizable", "Loop is not vectorizable", "none"),
}
_SIMD_FLAG_PREFIXES = ("sse", "ssse", "avx", "fma", "f16c", "amx", "gfni", "vaes", "vpclmul", "bmi", "popcnt")


def _r(x: float) -> float:
    return round(x, 3)


def _position(index: LineIndex, span: Span) -> dict[str, Any]:
    (l1, c1), (l2, c2) = index.span_to_lsp_range(span, "utf-16")
    return {"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}}


def code_for(report: LoopReport, finished: bool = True) -> str:
    """The diagnostic code of a loop, as the editor shows it."""
    outcome = summary.outcome(report, finished)
    if outcome is Outcome.NOT_CANDIDATE:
        return "SL201" if report.analysis.verdict is LoopVerdict.NOT_VECTORIZABLE else "SL101"
    if outcome in (Outcome.WIN, Outcome.VERIFIED_UNMEASURED):
        return "SL102"
    if outcome is Outcome.COMPILER_WINS:
        return "SL103"
    return "SL101"


def headline_size(result: CandidateResult) -> SizeMeasurement | None:
    """The L1-resident size measurement (the JSON `speedup` comes from it), else the first one."""
    if result.measurement is None or not result.measurement.sizes:
        return None
    sizes = result.measurement.sizes
    return next((s for s in sizes if s.label == "L1"), sizes[0])


def _ratio(r: Ratio | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"median": _r(r.median), "lo": _r(r.lo), "hi": _r(r.hi), "runs": r.runs, "noisy": r.noisy}


def _speedup(result: CandidateResult) -> dict[str, Any] | None:
    size = headline_size(result)
    if size is None:
        return None
    ratios = [r for r in (size.vs_scalar, size.vs_user_flags, size.vs_native_autovec) if r is not None]
    return {
        "vs_scalar": _r(size.vs_scalar.median) if size.vs_scalar else None,
        "vs_user_flags": _r(size.vs_user_flags.median) if size.vs_user_flags else None,
        "vs_native_autovec": _r(size.vs_native_autovec.median) if size.vs_native_autovec else None,
        # the rewrite's two builds against -O3 -march=native; vs_native_autovec is their lower (per process)
        "vs_native_user_build": _r(size.vs_native_user_build.median) if size.vs_native_user_build else None,
        "vs_native_native_build": _r(size.vs_native_native_build.median) if size.vs_native_native_build else None,
        "spread": _r(max((r.spread for r in ratios), default=0.0)),
        "n": size.n,
    }


def _candidate_json(index: LineIndex, result: CandidateResult) -> dict[str, Any]:
    cand, verdict = result.candidate, result.verdict
    verified = verdict.status is Status.VERIFIED
    out: dict[str, Any] = {
        "isa": cand.isa,
        "origin": cand.origin,
        "status": verdict.status.value,
        "caveats": list(cand.caveats),
        # Only a verified rewrite carries edits: nothing unverified can be applied from this document.
        "edits": [{"range": _position(index, e.span), "newText": e.new_text} for e in cand.edits] if verified else [],
        "speedup": _speedup(result) if verified else None,
        # offered as a win: the low end of its range beats the compiler at the deciding sizes (summary.is_win)
        "win": summary.is_win(result),
        "detail": verdict.detail,
        "cached": result.cached,
    }
    if verdict.counterexample is not None:
        ce = verdict.counterexample
        out["counterexample"] = {"size": ce.size, "seed": ce.seed, "array": ce.array, "index": ce.index,
                                 "expected": ce.expected, "got": ce.got, "overlap": ce.overlap}
    if verdict.diagnostics:
        out["diagnostics"] = [{"line": d.line, "column": d.column, "severity": d.severity, "message": d.message}
                              for d in verdict.diagnostics]
    m = result.measurement
    if verified and m is not None:
        out["measurement"] = {
            "compiler": m.compiler, "cpu": m.cpu, "user_flags": list(m.user_flags), "date": m.date, "host": m.host,
            "sizes": [{"n": s.n, "label": s.label, "memory_bound": s.memory_bound, "real": s.real,
                       "vs_scalar": _ratio(s.vs_scalar), "vs_user_flags": _ratio(s.vs_user_flags),
                       "vs_native_autovec": _ratio(s.vs_native_autovec),
                       "vs_native_user_build": _ratio(s.vs_native_user_build),
                       "vs_native_native_build": _ratio(s.vs_native_native_build)} for s in m.sizes],
        }
    return out


def _unverified_json(cand: Candidate) -> dict[str, Any]:
    return {"isa": cand.isa, "origin": cand.origin, "status": "unverified", "caveats": list(cand.caveats),
            "edits": [], "speedup": None, "detail": "not verified in this run", "cached": False}


def _loop_json(index: LineIndex, report: LoopReport, unverified: tuple[Candidate, ...]) -> dict[str, Any]:
    a = report.analysis
    return {
        "id": a.site.loop_id,
        "range": _position(index, a.site.span),
        "verdict": a.verdict.value,
        "reasons": [r.message for r in a.reasons],
        "candidates": [_candidate_json(index, r) for r in report.results] + [_unverified_json(c) for c in unverified],
        "code": code_for(report),
        "reason_codes": [r.code for r in a.reasons],
        "function": a.site.function,
        "kind": a.site.kind.value,
        "role": a.site.role.value,
        "notes": list(report.notes),
        # The run-time strides a rewrite's vector path assumes, as the user spells them (`incx`, `*incx`,
        # `steps[0]`), and the value each takes there (`1`, `4`): the guard `incx == 1 && …`.
        "unit_strides": [{"name": name, "unit": unit} for name, unit in (a.loop.unit_strides if a.loop else ())],
        # Why a vectorizable loop has no verified rewrite that beats the compiler: {stage, reason}.
        "stopped": _stopped_json(report),
        # A walk to an end pointer the function is given (`while (p < end)`): `end` and the pointer it bounds.
        "end_pointers": _end_pointers(report),
    }


def _end_pointers(report: LoopReport) -> list[dict[str, str]]:
    """The kernel is given `end - p` as a count (analysis/build/walks.py): {"name": "end", "start": "p"}."""
    params = report.kernel.params if report.kernel is not None else ()
    found = (re.fullmatch(r"(\w+) - (\w+)", p.source) for p in params if p.role == ParamRole.COUNT and p.source)
    return [{"name": m.group(1), "start": m.group(2)} for m in found if m]


def _stopped_json(report: LoopReport) -> dict[str, str] | None:
    stopped = summary.stop(report)
    return {"stage": stopped.stage, "reason": stopped.reason} if stopped is not None else None


def _host_isa(flags: frozenset[str]) -> list[str]:
    return sorted(f for f in flags if f.startswith(_SIMD_FLAG_PREFIXES))


def to_json(scan: ScanReport) -> dict[str, Any]:
    """The `simdlens scan --json` document (design.md's schema plus documented additions)."""
    files = []
    for f in scan.files:
        index = LineIndex(f.source)
        files.append({"path": f.path, "language": f.language,
                      "loops": [_loop_json(index, lr, f.unverified.get(lr.analysis.site.loop_id, ())) for lr in f.loops],
                      "errors": list(f.errors)})
    info = scan.cache_info
    return {
        "simdlens": __version__,
        "format": JSON_FORMAT_VERSION,
        "host": {"cpu": scan.host.cpu_model, "isa": _host_isa(scan.host.isa)},
        "isas": list(scan.isas),
        "toolchain": ({"compiler": scan.toolchain.compiler, "version": scan.toolchain.version}
                      if scan.toolchain else None),
        "verified": scan.verified,
        "bench": scan.bench,
        "files": files,
        "skipped": [{"path": s.path, "reason": s.reason} for s in scan.skipped],
        "cache": {"kind": info.kind if info else None, "path": str(info.path) if info and info.path else None,
                  **scan.cache.as_dict(),
                  "hit_rate": _r(scan.cache.hit_rate) if scan.cache.hit_rate is not None else None},
        "counters": scan.counters.as_dict(),
        "notes": list(scan.notes),
    }


# --------------------------------------------------------------------------------------------------
# SARIF
# --------------------------------------------------------------------------------------------------


def _sarif_region(index: LineIndex, span: Span) -> dict[str, int]:
    (l1, c1), (l2, c2) = index.span_to_lsp_range(span, "utf-16")
    return {"startLine": l1 + 1, "startColumn": c1 + 1, "endLine": l2 + 1, "endColumn": c2 + 1}


def _artifact(path: str) -> dict[str, str]:
    """A SARIF artifactLocation: relative paths against %SRCROOT%, absolute ones as file: URIs."""
    p = PurePath(path)
    if p.is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(p.as_posix()), "uriBaseId": "%SRCROOT%"}


def _speedup_text(result: CandidateResult) -> str:
    size = summary.headline(result)
    if size is None:
        return "not benchmarked"
    parts = []
    if size.vs_user_flags:
        parts.append(f"{summary.ratio_text(size.vs_user_flags)} vs your build")
    if size.vs_native_autovec:
        note = summary.build_note(result, size)
        parts.append(f"{summary.ratio_text(size.vs_native_autovec)} vs -O3 -march=native" + (f" ({note})" if note else ""))
    where = f"n={size.n}" + (", memory-bound" if size.memory_bound else "")
    return (", ".join(parts) or "no ratio measured") + f" ({where}, {result.measurement.cpu if result.measurement else ''})"


def _sarif_result(f: FileReport, index: LineIndex, report: LoopReport, rule_ids: list[str]) -> dict[str, Any] | None:
    code = code_for(report)
    if code not in ("SL102", "SL103"):
        return None
    best = summary.ranked_wins(report)[0] if code == "SL102" else summary.best(report)
    if best is None:
        return None
    site = report.analysis.site
    isa = summary.isa_name(best.candidate.isa)
    if code == "SL102":
        text = f"Verified {isa} rewrite ({best.candidate.origin}): {_speedup_text(best)}."
    else:
        text = f"The compiler already vectorizes this loop; best verified {isa} rewrite: {_speedup_text(best)}."
    if best.candidate.caveats:
        text += " Caveats: " + "; ".join(best.candidate.caveats) + "."
    location = {"physicalLocation": {"artifactLocation": _artifact(f.path), "region": _sarif_region(index, site.header)}}
    out: dict[str, Any] = {
        "ruleId": code,
        "ruleIndex": rule_ids.index(code),
        "level": RULES[code][2],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"simdlensLoop/v1": site.loop_id},
        "properties": {"isa": best.candidate.isa, "origin": best.candidate.origin, "speedup": _speedup(best)},
    }
    if code == "SL102" and best.candidate.edits:
        out["fixes"] = [{
            "description": {"text": f"Apply the verified {isa} rewrite"},
            "artifactChanges": [{
                "artifactLocation": _artifact(f.path),
                "replacements": [{"deletedRegion": _sarif_region(index, e.span), "insertedContent": {"text": e.new_text}}
                                 for e in best.candidate.edits],
            }],
        }]
    return out


def to_sarif(scan: ScanReport) -> dict[str, Any]:
    """SARIF 2.1.0: one result per loop with a verified rewrite (SL102 faster than the compiler, SL103 not)."""
    rule_ids = list(RULES)
    rules = [{"id": code, "name": name, "shortDescription": {"text": short},
              "defaultConfiguration": {"level": level}, "helpUri": f"{INFO_URI}/blob/main/docs/scan.md#{code.lower()}"}
             for code, (name, short, level) in RULES.items()]
    results = []
    for f in scan.files:
        index = LineIndex(f.source)
        for report in f.loops:
            res = _sarif_result(f, index, report, rule_ids)
            if res is not None:
                results.append(res)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "simdlens", "version": __version__, "semanticVersion": __version__,
                                "informationUri": INFO_URI, "rules": rules}},
            "columnKind": "utf16CodeUnits",
            "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/",
                                                 "description": {"text": "the directory simdlens scan ran in"}}},
            "results": results,
            "invocations": [{"executionSuccessful": True,
                             "toolExecutionNotifications": [{"level": "note", "message": {"text": f"skipped {s.path}: {s.reason}"}}
                                                            for s in scan.skipped]}],
            "properties": {"host": {"cpu": scan.host.cpu_model}, "verified": scan.verified, "bench": scan.bench},
        }],
    }


# --------------------------------------------------------------------------------------------------
# The terminal table
# --------------------------------------------------------------------------------------------------

_VERDICT_TEXT = {"vectorizable": "vectorizable", "vectorizable_with_checks": "vectorizable (checks)",
                 "not_vectorizable": "not vectorizable"}


def _result_text(report: LoopReport, unverified: tuple[Candidate, ...]) -> str:
    outcome = summary.outcome(report, True)
    if outcome in (Outcome.WIN, Outcome.VERIFIED_UNMEASURED):
        best = summary.ranked_wins(report)[0]
        caveat = f"; {best.candidate.caveats[0]}" if best.candidate.caveats else ""
        return f"verified {summary.isa_name(best.candidate.isa)} rewrite ({best.candidate.origin}){caveat}"
    if outcome is Outcome.COMPILER_WINS:
        if report.analysis.facts & summary.COMPILERS_LEAVE_SCALAR:
            return "verified rewrite, but compilers leave this loop scalar and their scalar code is as fast here"
        return "verified rewrite, but the compiler already vectorizes it as well"
    if outcome is Outcome.NOT_CANDIDATE:
        if report.analysis.verdict is LoopVerdict.NOT_VECTORIZABLE and report.analysis.reasons:
            return report.analysis.reasons[0].message
        return report.notes[0] if report.notes else "no stand-alone kernel could be extracted"
    if unverified:
        return f"{len(unverified)} rewrite(s) proposed, not verified"
    stopped = summary.stop(report)
    if not report.results:
        return "no rewrite proposed" + (f": {stopped}" if stopped else "")
    return "no safe rewrite: " + (str(stopped) if stopped else summary.failure_reason(report))


def _speed_text(report: LoopReport) -> str:
    best = summary.best(report)
    if best is None:
        return "—"
    size = summary.headline(best)
    if size is None:
        return "not benchmarked"
    parts = []
    if size.vs_user_flags:
        parts.append(f"{summary.short_ratio(size.vs_user_flags)} vs yours")
    if size.vs_native_autovec:
        note = summary.build_note(best, size)
        parts.append(f"{size.vs_native_autovec.median:.2f}x vs -O3 native" + (f" ({note})" if note else ""))
    if any(r is not None and r.noisy for r in (size.vs_user_flags, size.vs_native_autovec)):
        parts.append("noisy")
    if size.memory_bound:
        parts.append("memory-bound")
    return ", ".join(parts) or "—"


def to_table(scan: ScanReport) -> Table:
    table = Table(show_lines=False, header_style="bold", pad_edge=False, expand=False)
    table.add_column("location", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("reason / result", overflow="fold", ratio=1)
    table.add_column("best verified speedup", no_wrap=True)
    for f in scan.files:
        for report in f.loops:
            site = report.analysis.site
            unverified = f.unverified.get(site.loop_id, ())
            verdict = _VERDICT_TEXT.get(report.analysis.verdict.value, report.analysis.verdict.value)
            # Plain Text cells: reasons quote C (`p[i].f`), which rich would read as markup tags.
            table.add_row(Text(f"{f.path}:{site.span.start.line + 1}"), Text(verdict),
                          Text(_result_text(report, unverified)), Text(_speed_text(report)))
    return table


def summary_line(scan: ScanReport) -> str:
    loops = [lr for f in scan.files for lr in f.loops]
    outcomes = [summary.outcome(lr, True) for lr in loops]
    codes = [code_for(lr) for lr in loops]
    parts = [f"{len(scan.files)} file(s), {len(loops)} loop(s)", f"{sum(c != 'SL201' for c in codes)} vectorizable"]
    if scan.verified:
        parts.append(f"{outcomes.count(Outcome.WIN)} with a verified rewrite measured faster than the compiler")
        if outcomes.count(Outcome.VERIFIED_UNMEASURED):
            parts.append(f"{outcomes.count(Outcome.VERIFIED_UNMEASURED)} with a verified rewrite (not benchmarked)")
        if outcomes.count(Outcome.COMPILER_WINS):
            parts.append(f"{outcomes.count(Outcome.COMPILER_WINS)} the compiler already vectorizes as well")
    if scan.skipped:
        parts.append(f"{len(scan.skipped)} skipped")
    if scan.cache.lookups:
        parts.append(f"cache: {scan.cache.hits} of {scan.cache.lookups} results reused")
    return "; ".join(parts)
