"""The server's commands (`workspace/executeCommand`), run from code lenses or the editor's palette.

    simdlens.applyAndBenchmark  uri, loopId, candidateKey[, version]
        Apply a verified rewrite through `workspace/applyEdit`, then take the rewritten text as it now
        stands in the buffer and, when it is exactly the verified rewrite, verify and benchmark it again
        against the original loop (no cache) and report the measurement (message + lens).
    simdlens.verifyLoop         uri[, loopId]   verify now, bypassing the cache
    simdlens.showReport         uri             a markdown report of the document (returned; also shown
                                                via window/showDocument when the client can)
    simdlens.clearCache                         empty the result cache

Results are plain JSON objects so that any client (and the tests) can read them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from simdlens import summary
from simdlens.core import LoopReport, Status
from simdlens.server.documents import APPLIED
from simdlens.server.features.code_actions import applied_offers, find_result, workspace_edit
from simdlens.server.features.hover import escape, loop_report_markdown
from simdlens.server.positions import LineIndex, span_of
from simdlens.server.state import AppliedNote, DocumentSnapshot, LoopStatus

if TYPE_CHECKING:
    from simdlens.server.server import SimdlensServer

log = logging.getLogger(__name__)

APPLY_AND_BENCHMARK = "simdlens.applyAndBenchmark"
VERIFY_LOOP = "simdlens.verifyLoop"
SHOW_REPORT = "simdlens.showReport"
CLEAR_CACHE = "simdlens.clearCache"
ALL = (APPLY_AND_BENCHMARK, VERIFY_LOOP, SHOW_REPORT, CLEAR_CACHE)

APPLY_SETTLE_SECONDS = 5.0  # how long to wait for the client's didChange after applyEdit
VERIFY_TIMEOUT_SECONDS = 600.0


def _arg(args: tuple[Any, ...], i: int, default: Any = None) -> Any:
    return args[i] if len(args) > i and args[i] is not None else default


def _tell(ls: SimdlensServer, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
    ls.window_show_message(types.ShowMessageParams(type=kind, message=f"simdlens: {message}"))


# -------------------------------------------------------------------------------- applyAndBenchmark


async def apply_and_benchmark(ls: SimdlensServer, *args: Any) -> dict[str, Any]:
    uri, loop_id, key = str(_arg(args, 0, "")), str(_arg(args, 1, "")), str(_arg(args, 2, ""))
    snapshot = await ls.background.analysed(uri)
    result = find_result(snapshot, loop_id, key) if snapshot else None
    if snapshot is None or result is None:
        _tell(ls, "that rewrite is no longer available (the loop changed); nothing applied", types.MessageType.Warning)
        return {"applied": False, "reason": "stale"}
    state = snapshot.loop(loop_id)
    assert state is not None
    edit = workspace_edit(snapshot, result, ls.encoding, ls.document_changes)
    isa = summary.isa_name(result.candidate.isa)
    response = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(
        edit=edit, label=f"simdlens: vectorize with {isa}"))
    if not response.applied:
        reason = response.failure_reason or "the editor refused the edit"
        _tell(ls, f"rewrite not applied: {reason}", types.MessageType.Warning)
        return {"applied": False, "reason": reason}

    # Where the rewritten text is now: the client's didChange for our edit may still be in flight.
    doc = ls.background.documents.get(uri)
    main = max(result.candidate.edits, key=lambda e: len(e.new_text))
    new_bytes = main.new_text.encode("utf-8")
    deadline = asyncio.get_running_loop().time() + APPLY_SETTLE_SECONDS
    where: tuple[int, int] | None = None
    while doc is not None and asyncio.get_running_loop().time() < deadline:
        if doc.version > snapshot.version:
            moved = doc.log.map_range(main.span.start_byte, main.span.start_byte, snapshot.version)
            if moved is not None:
                start = moved[0]
                if doc.source[start:start + len(new_bytes)] == new_bytes:
                    where = (start, start + len(new_bytes))
                    break
        await asyncio.sleep(0.02)
        doc = ls.background.documents.get(uri)
    if doc is None or where is None:
        message = f"applied the {isa} rewrite, but the buffer does not hold it as applied; not re-measured"
        _tell(ls, message, types.MessageType.Warning)
        return {"applied": True, "verified": False, "message": message}

    note_span = span_of(LineIndex(doc.source), *where)
    busy = AppliedNote(note_span, f"applied {isa}: verifying and benchmarking against the original", busy=True)
    ls.background.set_applied(uri, doc.version, busy)
    why_not = ls.engine.why_not_verify(ls.config.settings)
    if why_not:
        message = f"applied the {isa} rewrite; not re-measured: {why_not}"
        ls.background.set_applied(uri, doc.version, AppliedNote(note_span, f"applied {isa}: not re-measured ({why_not})"))
        _tell(ls, message)
        return {"applied": True, "verified": False, "message": message}

    # The buffer holds exactly the verified rewrite: measure it again, fresh, against the original loop.
    original = LoopReport(state.report.analysis, state.report.kernel, (result,))
    try:
        fresh = await asyncio.wait_for(
            ls.engine.remeasure(original, result, ls.config.settings), VERIFY_TIMEOUT_SECONDS)
    except Exception as exc:
        log.exception("re-measuring the applied rewrite failed")
        fresh = None
        failure = f"{exc.__class__.__name__}: {exc}"
    else:
        failure = ""
    doc = ls.background.documents.get(uri)
    if fresh is None or fresh.verdict.status is not Status.VERIFIED:
        detail = failure or (fresh.verdict.detail or fresh.verdict.status.value if fresh else "no result")
        message = f"applied the {isa} rewrite, but verifying it again failed: {detail}"
        if doc is not None:
            ls.background.set_applied(uri, doc.version, AppliedNote(note_span, f"applied {isa}: re-verification failed ({detail})"))
        _tell(ls, message, types.MessageType.Warning)
        return {"applied": True, "verified": False, "message": message}
    line = summary.describe_best(fresh)
    if line.ratio is None:
        title = f"applied {isa}: verified again (not benchmarked)"
    else:
        title = f"applied {isa}: verified, {summary.short_ratio(line.ratio)} vs {line.baseline}"
    if doc is not None:
        ls.background.set_applied(uri, doc.version, AppliedNote(note_span, title))
    _tell(ls, title)
    return {"applied": True, "verified": True, "message": title,
            "speedup": line.ratio.median if line.ratio else None,
            "range": [line.ratio.lo, line.ratio.hi] if line.ratio else None}


# -------------------------------------------------------------------------------- verifyLoop


async def verify_loop(ls: SimdlensServer, *args: Any) -> dict[str, Any]:
    uri = str(_arg(args, 0, ""))
    loop_id = _arg(args, 1)
    why_not = ls.engine.why_not_verify(ls.config.settings)
    if why_not:
        _tell(ls, f"not verifying: {why_not}", types.MessageType.Warning)
        return {"queued": 0, "reason": why_not}
    snapshot = await ls.background.analysed(uri)
    if snapshot is None:
        return {"queued": 0, "reason": "document is not open"}
    queued = ls.background.enqueue(uri, [str(loop_id)] if loop_id else None, bypass_cache=True, force=True)
    if not queued:
        reason = nothing_to_verify(snapshot, str(loop_id) if loop_id else None)
        _tell(ls, f"nothing to verify: {reason}")
        return {"queued": 0, "reason": reason}
    return {"queued": queued}  # the lens and the progress bar show it


def nothing_to_verify(snapshot: DocumentSnapshot, loop_id: str | None) -> str:
    """Why Verify Loop queued nothing, in the user's words."""
    states = [s for s in snapshot.loops if loop_id is None or s.loop_id == loop_id]
    if loop_id is not None and not states:
        return "the loop changed since the command was offered"
    if states and all(s.detail == APPLIED for s in states):
        return "this is a rewrite simdlens applied (its loops are not verified again)" if loop_id else \
            "every loop in this file is part of a rewrite simdlens applied"
    if not states:
        return "no loops in this file"
    applied = sum(s.detail == APPLIED for s in states)
    also = f" ({applied} in a rewrite simdlens applied)" if applied else ""
    return f"no vectorizable loop{'' if loop_id else 's in this file'}{also}"


# -------------------------------------------------------------------------------- showReport


def report_markdown(snapshot: DocumentSnapshot) -> str:
    name = Path(snapshot.path).name or snapshot.uri
    lines = [f"# simdlens report: {name}", ""]
    if snapshot.skipped:
        return "\n".join([*lines, f"Not analysed: {snapshot.skipped}.", ""])
    for note in snapshot.applied:
        busy = " (still running)" if note.busy else ""
        lines += [f"**Line {note.span.start.line + 1}: {escape(note.title)}{busy}.**", ""]
    noted = {note.span.start.line for note in snapshot.applied}
    for at, offer in applied_offers(snapshot.uri, snapshot.source):
        line = snapshot.lines.byte_to_point(at).line
        if line not in noted:
            what = offer.title.removeprefix("Vectorize with ")
            lines += [f"**Line {line + 1}: applied {escape(what)}** (as measured before it was applied).", ""]
    counts: dict[str, int] = {}
    for state in snapshot.loops:
        if state.detail == APPLIED:
            outcome = "in an applied rewrite"
        else:
            finished = state.status in (LoopStatus.DONE, LoopStatus.FAILED)
            outcome = summary.outcome(state.report, finished).value.replace("_", " ")
        counts[outcome] = counts.get(outcome, 0) + 1
    lines.append(f"{len(snapshot.loops)} loop{'' if len(snapshot.loops) == 1 else 's'}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    lines.append("")
    for error in snapshot.errors:
        lines.append(f"> {escape(error)}")
    for state in snapshot.loops:
        if state.detail == APPLIED:
            continue  # the vector, tail and kept original loops of a rewrite: the note above speaks for them
        lines += [f"## Line {state.header.start.line + 1}", "", loop_report_markdown(state), ""]
    return "\n".join(lines)


async def show_report(ls: SimdlensServer, *args: Any) -> dict[str, Any]:
    uri = str(_arg(args, 0, ""))
    snapshot = await ls.background.analysed(uri)
    if snapshot is None:
        return {"markdown": "", "reason": "document is not open"}
    markdown = await asyncio.to_thread(report_markdown, snapshot)  # a snapshot is immutable: safe in a thread
    answer: dict[str, Any] = {"markdown": markdown}
    if ls.show_document_supported:
        try:
            folder = ls.config.settings.cache_path / "reports"
            digest = hashlib.sha256(uri.encode()).hexdigest()[:8]
            path = folder / f"{Path(snapshot.path).stem or 'document'}-{digest}.md"
            await asyncio.to_thread(_write_report, path, markdown)  # a slow disk must not stall the editor
            shown = await ls.window_show_document_async(types.ShowDocumentParams(uri=path.as_uri(), take_focus=True))
            answer["uri"] = path.as_uri()
            answer["shown"] = bool(shown.success)
        except OSError as exc:  # no writable cache dir: the result still carries the report
            log.warning("could not write the report: %s", exc)
    return answer


def _write_report(path: Path, markdown: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown, encoding="utf-8")


# -------------------------------------------------------------------------------- clearCache


async def clear_cache(ls: SimdlensServer, *args: Any) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    removed = await loop.run_in_executor(ls.thread_pool, ls.engine.clear_cache, ls.config.settings)
    _tell(ls, f"cleared {removed} cached results")
    return {"cleared": removed}


HANDLERS = {
    APPLY_AND_BENCHMARK: apply_and_benchmark,
    VERIFY_LOOP: verify_loop,
    SHOW_REPORT: show_report,
    CLEAR_CACHE: clear_cache,
}

