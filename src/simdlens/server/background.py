"""Background work: analysing documents and verifying their loops without ever blocking the editor.

* Analysis (tree-sitter + legality) runs in the thread pool: the whole file on open, and after an
  edit (debounced) only the loops the edits touched (`incremental`; the others keep their analysis
  and their verification results, moved). A result for a version the user has already typed past is
  thrown away and the newest text is analysed instead. Full analyses that verification asks for are
  run once per document version, however many loops wait for one.
* Verification (compile, differential test, benchmark: seconds) runs as asyncio tasks, at most
  `Settings.job_limit` loops at a time, nearest to the cursor first. It starts on open or on save
  (`verifyOn`), again for changed loops once typing pauses, or on demand. A job whose loop text
  changes is cancelled; a result is moved onto the newest text along the edit log, or dropped when its
  loop was edited meanwhile.
* While jobs run, clients that support it see cancellable work-done progress.

Every state change publishes a new immutable snapshot through `publish`; nothing here knows about
diagnostics or lenses.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from simdlens import summary
from simdlens.config import Settings
from simdlens.core import Analysis, CandidateResult, Kernel, Language, LoopReport
from simdlens.server.documents import APPLIED, OpenDocument, merge
from simdlens.server.incremental import EditedDocument
from simdlens.server.positions import LineIndex
from simdlens.server.state import (
    AppliedNote,
    DocumentSnapshot,
    LoopState,
    LoopStatus,
    compact_kernel,
    rebase_report,
)

log = logging.getLogger(__name__)

CHANGE_DEBOUNCE = 0.15  # seconds of quiet before re-analysing an edited document
VERIFY_DEBOUNCE = 1.0  # seconds of quiet before verifying loops that changed


FIRST_LOOPS = 40  # on open, loops analysed (and published) before the rest of a big file (a screenful and more)
FULL_ANALYSES_KEPT = 2  # documents whose full analyses (IR, kernels) are kept for verification


@dataclass(frozen=True)
class FullAnalysis:
    """What verification needs and features do not: the loop IR and (lazily extracted) kernels."""

    analyses: Mapping[str, Analysis]  # by loop id
    kernels: Mapping[str, Kernel]


@dataclass(frozen=True)
class AnalysisResult:
    reports: tuple[LoopReport, ...]  # slim: analyses without IR, no kernels
    errors: tuple[str, ...] = ()
    skipped: str = ""  # why the document is not analysed ("binary file", "larger than 2 MB")
    full: FullAnalysis | None = None
    rest: Callable[[], AnalysisResult] | None = None  # the loops not analysed yet (progressive open)
    reused: frozenset[str] = frozenset()  # loops whose analysis was moved from the last snapshot, not redone
    judged: int = 0  # loops analysed (again) for this result


class Engine(Protocol):
    """The pipeline as the server uses it (`simdlens.server.engine.PipelineEngine` is the real one)."""

    def analyze(self, source: bytes, path: str, language: Language, settings: Settings,
                first: int | None = None, *, uri: str = "", version: int = 0) -> AnalysisResult: ...

    def analyze_edits(self, request: EditedDocument, settings: Settings) -> AnalysisResult | None: ...

    def judge_loops(self, uri: str, version: int, loop_ids: Collection[str]) -> FullAnalysis | None: ...

    def forget(self, uri: str) -> None: ...

    async def verify(self, report: LoopReport, source: bytes, settings: Settings, *, bypass_cache: bool,
                     priority: int) -> LoopReport: ...

    def why_not_verify(self, settings: Settings) -> str: ...

    def isas(self, settings: Settings) -> tuple[str, ...]: ...

    async def remeasure(self, original: LoopReport, result: CandidateResult, settings: Settings) -> CandidateResult | None: ...

    def clear_cache(self, settings: Settings) -> int: ...


@dataclass(frozen=True)
class Job:
    """Verify one loop (its id changes whenever its text does)."""

    uri: str
    loop_id: str
    line: int
    bypass_cache: bool = False


def _same_loop(uri: str, loop_id: str, job: Job) -> bool:
    return job.uri == uri and job.loop_id == loop_id


class Background:
    def __init__(self, ls: LanguageServer, engine: Engine, settings: Callable[[], Settings],
                 publish: Callable[[DocumentSnapshot], None], progress_supported: Callable[[], bool]) -> None:
        self._ls = ls
        self._engine = engine
        self._settings = settings
        self._publish = publish
        self._progress_supported = progress_supported
        self.documents: dict[str, OpenDocument] = {}
        self._analysis: dict[str, asyncio.Task[None]] = {}
        self._verify_timers: dict[str, asyncio.Task[None]] = {}
        self._queue: list[Job] = []
        self._running: dict[Job, asyncio.Task[None]] = {}
        self._wakeup = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._focus: tuple[str, int] | None = None  # (uri, line) the user looked at last
        self._progress: _Progress | None = None
        self._done_in_batch = 0
        self._full: OrderedDict[str, tuple[int, FullAnalysis]] = OrderedDict()
        self._inflight: dict[tuple[str, int], asyncio.Future[AnalysisResult]] = {}  # full analyses running
        self._with_facts: set[str] = set()  # documents to analyse whole again: clang's facts arrived

    # ---------------------------------------------------------------- documents

    def snapshot(self, uri: str) -> DocumentSnapshot | None:
        doc = self.documents.get(uri)
        return doc.snapshot if doc else None

    def open(self, doc: OpenDocument) -> None:
        self.close(doc.uri)
        self.documents[doc.uri] = doc
        self._schedule_analysis(doc.uri, delay=0.0, verify=self._settings().verify_on == "open")

    def changed(self, uri: str) -> None:
        if uri in self.documents:
            self._schedule_analysis(uri, delay=CHANGE_DEBOUNCE, verify=False)

    def saved(self, uri: str) -> None:
        if uri in self.documents and self._settings().verify_on in ("open", "save"):
            self._schedule_analysis(uri, delay=0.0, verify=True)

    def close(self, uri: str) -> None:
        self.documents.pop(uri, None)
        self._full.pop(uri, None)
        self._engine.forget(uri)
        for tasks in (self._analysis, self._verify_timers):
            task = tasks.pop(uri, None)
            if task:
                task.cancel()
        self._cancel_jobs(lambda job: job.uri == uri)

    def focus(self, uri: str, line: int) -> None:
        """The user is looking here (hover, code action, lens request): verify nearby loops first."""
        self._focus = (uri, line)

    async def analysed(self, uri: str) -> DocumentSnapshot | None:
        """The snapshot of the newest version once it is analysed (for commands that need it)."""
        task = self._analysis.get(uri)
        if task is not None and not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        return self.snapshot(uri)

    def set_applied(self, uri: str, version: int, note: AppliedNote) -> None:
        """Show the outcome of an applied rewrite on its text (replacing an older note there)."""
        doc = self.documents.get(uri)
        if doc is None:
            return
        current = doc.applied_notes(LineIndex(doc.source))
        doc.applied = [(doc.version, n) for n in current
                       if n.span.end_byte <= note.span.start_byte or n.span.start_byte >= note.span.end_byte]
        doc.applied.append((version, note))
        if doc.snapshot is not None and doc.snapshot.version == doc.version:
            self._set_snapshot(doc, dataclasses.replace(doc.snapshot, applied=doc.applied_notes(doc.snapshot.lines)))

    def _schedule_analysis(self, uri: str, delay: float, verify: bool) -> None:
        old = self._analysis.get(uri)
        if old is not None and not old.done():
            old.cancel()  # only ever cancels the wait or the await: a thread already running finishes alone
        self._analysis[uri] = asyncio.create_task(self._analyse(uri, delay, verify), name=f"analyse {uri}")

    async def _analyse(self, uri: str, delay: float, verify: bool) -> None:
        if delay:
            await asyncio.sleep(delay)
        while (doc := self.documents.get(uri)) is not None:
            version, source, settings = doc.version, doc.source, self._settings()
            started = time.perf_counter()
            result = await self._run_incremental(doc, version, source, settings)
            if result is None:
                # A first open publishes the top of a big file before the rest is analysed.
                first = FIRST_LOOPS if doc.snapshot is None else None
                result = await self._run_analysis(doc, source, settings, first, version=version)
            if self.documents.get(uri) is not doc or doc.version != version:
                continue  # the user typed on: analyse the newest text instead
            if result.rest is not None:
                self._set_snapshot(doc, self._snapshot(doc, version, source, result, "verify later"))
                try:
                    result = await asyncio.get_running_loop().run_in_executor(self._ls.thread_pool, result.rest)
                except Exception as exc:
                    log.exception("analysis of %s failed", uri)
                    result = dataclasses.replace(result, rest=None, errors=(*result.errors, f"analysis failed: {exc}"))
                if self.documents.get(uri) is not doc or doc.version != version:
                    continue
            log.info("analysed %s v%s: %d loops (%d judged, %d moved) in %.0f ms", uri.rsplit("/", 1)[-1], version,
                     len(result.reports), result.judged, len(result.reused), 1000 * (time.perf_counter() - started))
            kernels = await self._kernels_to_compare(doc, result)
            if self.documents.get(uri) is not doc or doc.version != version:
                continue
            waiting = self._waiting_reason(settings, verify)
            snapshot = self._snapshot(doc, version, source, result, waiting, kernels)
            self._set_snapshot(doc, snapshot)
            self._refine_with_clang(doc, version, source, snapshot, settings)
            self._cancel_jobs(lambda job: job.uri == uri and not self._job_alive(job))
            if waiting:
                return
            if verify:
                self.enqueue(uri)
            elif any(s.status is LoopStatus.QUEUED for s in snapshot.loops):
                self._debounce_verify(uri)
            return

    def _refine_with_clang(self, doc: OpenDocument, version: int, source: bytes, snapshot: DocumentSnapshot,
                           settings: Settings) -> None:
        """clang's semantic facts in the background when a loop's reasons say they may change its
        verdict; the document is analysed again when they arrive (`server.semantic`)."""
        from simdlens.pipeline import compile_flags
        from simdlens.server import semantic

        codes = {r.code for s in snapshot.loops for r in s.report.analysis.reasons}
        if doc.language is None or not semantic.wanted(codes):
            return
        uri, flags = doc.uri, compile_flags(settings, doc.path)

        def again() -> None:
            self._with_facts.add(uri)  # the whole text again: its declarations now read with the facts
            self._schedule_analysis(uri, delay=0.0, verify=False)

        semantic.refine_later(uri, version, source, doc.path, doc.language, flags.include_dirs, flags.define_map(),
                              lambda: self.documents.get(uri) is doc and doc.version == version, again)

    async def _run_incremental(self, doc: OpenDocument, version: int, source: bytes,
                               settings: Settings) -> AnalysisResult | None:
        """Only the loops edited since the last snapshot judged again; None: analyse the whole text."""
        base = doc.snapshot
        if doc.uri in self._with_facts:
            self._with_facts.discard(doc.uri)
            return None
        if base is None or base.skipped or doc.language is None or base.language != doc.language:
            return None
        edits = doc.log.since(base.version)
        if edits is None:
            return None
        request = EditedDocument(doc.uri, doc.path, doc.language, version, source, base.version, base.source,
                                 tuple(s.report.analysis for s in base.loops), edits)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._ls.thread_pool, self._engine.analyze_edits, request, settings)
        except Exception:  # a bug in the incremental path costs a full analysis, never the document
            log.exception("incremental analysis of %s failed", doc.uri)
            self._engine.forget(doc.uri)
            return None

    async def _run_analysis(self, doc: OpenDocument, source: bytes, settings: Settings,
                            first: int | None, *, version: int | None = None) -> AnalysisResult:
        """The whole text analysed; with `version`, the engine keeps its tree for later edits."""
        if doc.language is None:
            return AnalysisResult((), skipped="not a C or C++ file")
        analyze = functools.partial(self._engine.analyze, source, doc.path, doc.language, settings, first)
        if version is not None:
            analyze = functools.partial(analyze, uri=doc.uri, version=version)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._ls.thread_pool, analyze)
        except Exception as exc:  # a bug in analysis must not take the server down
            log.exception("analysis of %s failed", doc.uri)
            return AnalysisResult((), errors=(f"analysis failed: {exc.__class__.__name__}: {exc}",))

    async def _kernels_to_compare(self, doc: OpenDocument, result: AnalysisResult) -> dict[str, Kernel | None]:
        """The new kernels of the loops that have results, extracted off the event loop: a result is
        kept only while its loop's kernel is unchanged."""
        full = result.full
        wanted = [s.loop_id for s in doc.snapshot.loops
                  if s.report.kernel is not None and s.loop_id not in result.reused] if doc.snapshot else []
        if full is None or not wanted:
            return {}
        return await asyncio.get_running_loop().run_in_executor(
            self._ls.thread_pool, lambda: {lid: full.kernels.get(lid) for lid in wanted})

    def _snapshot(self, doc: OpenDocument, version: int, source: bytes, result: AnalysisResult,
                  waiting: str, kernels: Mapping[str, Kernel | None] | None = None) -> DocumentSnapshot:
        if result.full is not None and not waiting:  # IR and kernels only where verification will want them
            self._remember_full(doc.uri, version, result.full)
        snapshot = merge(doc, version, source, result.reports, result.errors, waiting, kernels or {}, result.reused)
        doc.judged_at = {s.loop_id: doc.judged_at.get(s.loop_id, version) if s.loop_id in result.reused else version
                         for s in snapshot.loops}
        if result.skipped:
            snapshot = dataclasses.replace(snapshot, skipped=result.skipped, loops=())
        return snapshot

    def _remember_full(self, uri: str, version: int, full: FullAnalysis) -> None:
        self._full[uri] = (version, full)
        self._full.move_to_end(uri)
        while len(self._full) > FULL_ANALYSES_KEPT:
            self._full.popitem(last=False)

    async def full_analysis(self, snapshot: DocumentSnapshot, loop_id: str) -> FullAnalysis | None:
        """A full analysis (IR, kernels) of a snapshot's text holding `loop_id`: kept for recently
        analysed documents, else redone - once per version, however many jobs ask meanwhile."""
        kept = self._full.get(snapshot.uri)
        if kept is not None and kept[0] == snapshot.version and loop_id in kept[1].analyses:
            self._full.move_to_end(snapshot.uri)
            return kept[1]
        doc = self.documents.get(snapshot.uri)
        if doc is None or snapshot.language is None:
            return None
        try:  # the document's tree is kept at this version: judge just this loop (milliseconds)
            some = await asyncio.get_running_loop().run_in_executor(
                self._ls.thread_pool, self._engine.judge_loops, snapshot.uri, snapshot.version, (loop_id,))
        except Exception:
            log.exception("analysing loop %s of %s failed", loop_id, snapshot.uri)
            some = None
        if some is not None and loop_id in some.analyses:
            return some
        key = (snapshot.uri, snapshot.version)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._run_analysis(doc, snapshot.source, self._settings(), None))
            self._inflight[key] = task
            task.add_done_callback(lambda _done: self._inflight.pop(key, None))
        result = await asyncio.shield(task)
        if result.full is not None:
            self._remember_full(snapshot.uri, snapshot.version, result.full)
        return result.full

    def _waiting_reason(self, settings: Settings, verify: bool) -> str:
        """Why new candidate loops are not queued for verification ("" = they are)."""
        problem = self._engine.why_not_verify(settings)
        if problem:
            return problem
        if settings.verify_on == "demand":
            return "verify on demand — click to verify"
        if settings.verify_on == "save" and not verify:
            return "verify on save"
        return ""

    def _set_snapshot(self, doc: OpenDocument, snapshot: DocumentSnapshot) -> None:
        doc.snapshot = snapshot
        self._publish(snapshot)

    def _update_loop(self, uri: str, loop_id: str, change: Callable[[LoopState], LoopState | None]) -> None:
        doc = self.documents.get(uri)
        if doc is None or doc.snapshot is None:
            return
        snapshot = doc.snapshot
        state = snapshot.loop(loop_id)
        if state is None:
            return
        new = change(state)
        if new is not None and new != state:
            self._set_snapshot(doc, snapshot.replace_loop(new))

    # ---------------------------------------------------------------- verification queue

    def enqueue(self, uri: str, loop_ids: Iterable[str] | None = None, *, bypass_cache: bool = False,
                force: bool = False) -> int:
        """Queue the candidate loops of a document (all, or `loop_ids`); returns how many were queued.

        `force` also queues loops that already have results (re-verify) or were skipped (on demand).
        """
        snapshot = self.snapshot(uri)
        if snapshot is None:
            return 0
        wanted = set(loop_ids) if loop_ids is not None else None
        queued = 0
        for state in snapshot.loops:
            if wanted is not None and state.loop_id not in wanted:
                continue
            if not summary.is_candidate(state.report) or state.detail == APPLIED:
                continue
            if state.status in (LoopStatus.VERIFYING,) and not force:
                continue
            if state.status in (LoopStatus.DONE, LoopStatus.SKIPPED, LoopStatus.FAILED) and not force:
                continue
            if force:
                self._cancel_jobs(functools.partial(_same_loop, uri, state.loop_id))
            self._queue.append(Job(uri, state.loop_id, state.header.start.line, bypass_cache))
            queued += 1
            self._update_loop(uri, state.loop_id, lambda s: dataclasses.replace(s, status=LoopStatus.QUEUED, detail=""))
        if queued:
            self._ensure_workers()
            self._wakeup.set()
        return queued

    def _debounce_verify(self, uri: str) -> None:
        old = self._verify_timers.get(uri)
        if old is not None:
            old.cancel()

        async def later() -> None:
            await asyncio.sleep(VERIFY_DEBOUNCE)
            self.enqueue(uri)

        self._verify_timers[uri] = asyncio.create_task(later(), name=f"verify later {uri}")

    def _job_alive(self, job: Job) -> bool:
        snapshot = self.snapshot(job.uri)
        return snapshot is not None and snapshot.loop(job.loop_id) is not None

    def _cancel_jobs(self, which: Callable[[Job], bool]) -> None:
        self._queue = [j for j in self._queue if not which(j)]
        for job, task in list(self._running.items()):
            if which(job):
                log.info("cancelling verification of loop %s in %s: its text changed", job.loop_id, job.uri)
                task.cancel()

    def cancel_all(self, detail: str) -> None:
        """The user cancelled (progress bar): stop everything queued or running."""
        jobs = list(self._queue) + list(self._running)
        self._queue.clear()
        for task in self._running.values():
            task.cancel()
        for job in jobs:
            self._update_loop(job.uri, job.loop_id,
                              lambda s: dataclasses.replace(s, status=LoopStatus.SKIPPED, detail=detail)
                              if s.status in (LoopStatus.QUEUED, LoopStatus.VERIFYING) else s)

    def _priority(self, job: Job) -> tuple[int, int]:
        if self._focus is None:
            return (1, job.line)
        uri, line = self._focus
        return (0, abs(job.line - line)) if job.uri == uri else (1, job.line)

    def _ensure_workers(self) -> None:
        self._workers = [w for w in self._workers if not w.done()]
        while len(self._workers) < self._settings().job_limit:
            self._workers.append(asyncio.create_task(self._worker(), name=f"verify worker {len(self._workers)}"))

    async def _worker(self) -> None:
        while True:
            try:
                await self._work_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not silently stop verification for the session
                log.exception("verification worker error")
                await asyncio.sleep(0.1)

    async def _work_once(self) -> None:
        if not self._queue:
            if not self._running:
                await self._end_progress()
            self._wakeup.clear()
            await self._wakeup.wait()
            return
        job = min(self._queue, key=self._priority)
        self._queue.remove(job)
        if not self._job_alive(job):
            return
        await self._begin_progress(starting=1)  # `job` is in neither the queue nor `_running` yet
        task = asyncio.create_task(self._verify(job), name=f"verify {job.loop_id}")
        self._running[job] = task
        try:
            await asyncio.wait({task})
        finally:
            self._running.pop(job, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("verifying loop %s failed", job.loop_id, exc_info=task.exception())
        self._done_in_batch += 1
        self._report_progress()

    async def _verify(self, job: Job) -> None:
        doc = self.documents.get(job.uri)
        snapshot = doc.snapshot if doc else None
        state = snapshot.loop(job.loop_id) if snapshot else None
        if doc is None or snapshot is None or state is None:
            return
        settings = self._settings()
        isa = ",".join(self._engine.isas(settings))
        self._update_loop(job.uri, job.loop_id,
                          lambda s: dataclasses.replace(s, status=LoopStatus.VERIFYING, detail="", isa=isa))
        try:
            full = await self.full_analysis(snapshot, job.loop_id)
            analysis = full.analyses.get(job.loop_id) if full else None
            kernel = await asyncio.get_running_loop().run_in_executor(
                self._ls.thread_pool, full.kernels.get, job.loop_id) if full and analysis else None
            if analysis is None or kernel is None:
                from simdlens.analysis import why_no_kernel

                note = "kernel: " + (why_no_kernel(full.kernels, job.loop_id) if full and analysis
                                     else "no stand-alone kernel could be extracted for this loop")
                self._update_loop(job.uri, job.loop_id, lambda s: LoopState(
                    dataclasses.replace(s.report, notes=(note,)), LoopStatus.DONE, "", s.isa))
                return
            priority = self._priority(job)[0] * 1000 + min(self._priority(job)[1], 999)
            report = await self._engine.verify(LoopReport(analysis, kernel), snapshot.source, settings,
                                               bypass_cache=job.bypass_cache, priority=priority)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("verification of loop %s failed", job.loop_id)
            message = f"{exc.__class__.__name__}: {exc}"
            self._update_loop(job.uri, job.loop_id,
                              lambda s: dataclasses.replace(s, status=LoopStatus.FAILED, detail=message))
            return
        await self._accept(job, snapshot.version, report)

    async def _accept(self, job: Job, version: int, report: LoopReport) -> None:
        """Put a verification result on the newest snapshot, or drop it if its loop changed."""
        doc = self.documents.get(job.uri)
        current = doc.snapshot if doc else None
        if current is not None and current.version != version and report.kernel is not None \
                and doc is not None and doc.judged_at.get(job.loop_id, current.version) > version:
            # Same loop text, judged again since (a typedef, a macro or the function around it changed):
            # compare the kernels. A loop only moved since keeps its kernel.
            full = await self.full_analysis(current, job.loop_id)
            now = full.kernels.get(job.loop_id) if full else None
            if now is None or now.content_hash != report.kernel.content_hash:
                self._requeue(job, version, "its kernel changed")
                return
        doc = self.documents.get(job.uri)
        current = doc.snapshot if doc else None
        if doc is None or current is None or current.loop(job.loop_id) is None:
            return
        moved = rebase_report(report, doc.log, version, current.lines)
        if moved is None:
            self._requeue(job, version, "an edit touched its rewrite")
            return

        def done(state: LoopState) -> LoopState:
            new_report = dataclasses.replace(state.report, kernel=compact_kernel(report.kernel), results=moved.results,
                                             notes=moved.notes or state.report.notes)
            best = summary.best(new_report)
            return LoopState(new_report, LoopStatus.DONE, "", best.candidate.isa if best else state.isa)

        self._update_loop(job.uri, job.loop_id, done)

    def _requeue(self, job: Job, version: int, why: str) -> None:
        log.info("dropping the results of v%s for loop %s: %s", version, job.loop_id, why)
        self._update_loop(job.uri, job.loop_id, lambda s: dataclasses.replace(s, status=LoopStatus.QUEUED))
        self._debounce_verify(job.uri)

    # ---------------------------------------------------------------- progress

    async def _begin_progress(self, starting: int = 0) -> None:
        if self._progress is not None or not self._progress_supported():
            return
        self._done_in_batch = 0
        self._progress = _Progress(self._ls, on_cancel=lambda: self.cancel_all("verification cancelled"))
        await self._progress.begin(self._pending_count() + starting)

    def _pending_count(self) -> int:
        return len(self._queue) + len(self._running)

    def _report_progress(self) -> None:
        if self._progress is not None:
            self._progress.report(self._done_in_batch, self._done_in_batch + self._pending_count())

    async def _end_progress(self) -> None:
        progress, self._progress = self._progress, None
        if progress is not None:
            progress.end(self._done_in_batch)

    def shutdown(self) -> None:
        for task in [*self._analysis.values(), *self._verify_timers.values(), *self._running.values(), *self._workers]:
            task.cancel()


class _Progress:
    """One work-done progress bar for a busy period of the verification queue."""

    _ids = itertools.count(1)

    def __init__(self, ls: LanguageServer, on_cancel: Callable[[], None]) -> None:
        self._ls = ls
        self._token = f"simdlens-verify-{next(self._ids)}"
        self._on_cancel = on_cancel
        self._ready = False

    async def begin(self, total: int) -> None:
        try:
            await self._ls.work_done_progress.create_async(self._token)
        except Exception as exc:  # the client refused: work on without a bar
            log.debug("no progress bar: %s", exc)
            return
        self._ls.work_done_progress.begin(self._token, types.WorkDoneProgressBegin(
            title="simdlens", message=f"verifying {total} loop{'s' if total != 1 else ''}", cancellable=True, percentage=0))
        self._ready = True
        future = self._ls.work_done_progress.tokens.get(self._token)
        if future is not None:
            future.add_done_callback(lambda f: self._on_cancel() if f.cancelled() else None)

    def report(self, done: int, total: int) -> None:
        if self._ready:
            self._ls.work_done_progress.report(self._token, types.WorkDoneProgressReport(
                message=f"verified {done} of {total} loops", percentage=int(100 * done / max(total, 1)), cancellable=True))

    def end(self, done: int) -> None:
        if self._ready:
            self._ready = False
            self._ls.work_done_progress.end(self._token, types.WorkDoneProgressEnd(message=f"verified {done} loops"))
            future = self._ls.work_done_progress.tokens.pop(self._token, None)
            if future is not None and not future.done():
                future.set_result(None)
