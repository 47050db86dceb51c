"""The pipeline as the server drives it: analysis per document, verification per loop.

This is the only module of the server that calls `simdlens.pipeline`, the sandbox and the cache. It
keeps one `ResultStore` and one `Sandbox` for the current settings and replaces them when the
settings they depend on change.
"""

from __future__ import annotations

import asyncio
import ctypes
import dataclasses
import logging
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from simdlens.analysis.parse import check_source
from simdlens.compile_db import CompileFlags
from simdlens.config import Settings
from simdlens.core import (
    Analysis,
    CandidateResult,
    Kernel,
    Language,
    LoopReport,
    LoopSite,
    Point,
    Reason,
    Span,
)
from simdlens.server.background import AnalysisResult, FullAnalysis
from simdlens.server.incremental import EditedDocument, LiveDocument
from simdlens.server.state import shared_text

log = logging.getLogger(__name__)

LIVE_DOCUMENTS_KEPT = 2  # documents whose tree and declarations are kept for incremental re-analysis


def compiler_missing(settings: Settings) -> str:
    """"no C compiler found" (naming the configured one) or "" when there is one."""
    if settings.compiler:
        found = shutil.which(settings.compiler)
        if found is None or not os.access(found, os.X_OK):
            return f"no C compiler found ({settings.compiler} does not exist or is not executable)"
        return ""
    if not any(shutil.which(name) for name in ("gcc", "clang", "cc")):
        return "no C compiler found (install gcc or clang, or set simdlens.compiler)"
    return ""


def _compile_flags(settings: Settings, path: str) -> CompileFlags:
    """The file's flags from compile_commands.json (include dirs and defines matter to analysis)."""
    from simdlens.pipeline import compile_flags

    return compile_flags(settings, path)


def _release_memory() -> None:
    """Give the memory of a finished analysis back: the analysis keeps a per-tree scan cache alive
    (simdlens.analysis.build.declarations, useful only while one file is analysed), and glibc keeps freed
    arenas mapped unless asked. An editor with fifty big files open notices both."""
    from simdlens.analysis.build import release_file_scans

    release_file_scans()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to trim
        return None


_LIBC = _load_libc()


def _slim(analyses: Iterable[Analysis]) -> tuple[LoopReport, ...]:
    """Reports without the loop IR: what diagnostics, lenses and hovers need, at a fraction of the
    memory. The full analysis is kept for the few documents being verified (`FullAnalysis`)."""
    return tuple(LoopReport(_slim_one(a), None) for a in analyses)


def _slim_one(analysis: Analysis) -> Analysis:
    """`analysis` as the editor shows it: without its IR and without the reasons' positions (no
    feature points at them), its strings and sets shared with every other loop's equal ones and its
    positions with each other: an editor holds tens of thousands of these."""
    reasons = tuple(Reason(shared_text(r.code), shared_text(r.message)) for r in analysis.reasons)
    facts = _FACTS.setdefault(analysis.facts, analysis.facts)
    return dataclasses.replace(analysis, site=compact_site(analysis.site), reasons=reasons, loop=None, facts=facts)


def compact_site(site: LoopSite) -> LoopSite:
    """`site` with its header, body and statement sharing their equal positions and numbers, and its
    path and function name shared with other loops'."""
    spans: dict[Span, Span] = {}
    points: dict[Point, Point] = {}
    numbers: dict[int, int] = {}

    def span(s: Span) -> Span:
        shared = spans.get(s)
        if shared is None:
            shared = spans[s] = Span(number(s.start_byte), number(s.end_byte), point(s.start), point(s.end))
        return shared

    def point(p: Point) -> Point:
        shared = points.get(p)
        if shared is None:
            shared = points[p] = Point(number(p.line), number(p.column))
        return shared

    def number(n: int) -> int:
        return numbers.setdefault(n, n)

    return LoopSite(shared_text(site.path), site.language, site.kind, span(site.span), span(site.header),
                    span(site.body), shared_text(site.function) if site.function is not None else None, site.depth,
                    site.role, site.loop_id)


_FACTS: dict[frozenset[str], frozenset[str]] = {}


class _Chain(Mapping[str, Kernel]):
    """Kernels of a file analysed in two parts."""

    def __init__(self, *parts: Mapping[str, Kernel]) -> None:
        self._parts = parts

    def __getitem__(self, loop_id: str) -> Kernel:
        for part in self._parts:
            kernel = part.get(loop_id)
            if kernel is not None:
                return kernel
        raise KeyError(loop_id)

    def __iter__(self) -> Iterator[str]:
        return (k for part in self._parts for k in part)

    def __len__(self) -> int:
        return sum(len(part) for part in self._parts)

    def reason(self, loop_id: str) -> str:
        """Why no part has a kernel for the loop (the part that judged it says)."""
        from simdlens.analysis import why_no_kernel

        reasons = [why_no_kernel(part, loop_id) for part in self._parts if loop_id not in part]
        return next((r for r in reasons if r != "the loop is not vectorizable"), reasons[0] if reasons else "")


class PipelineEngine:
    def __init__(self, use_cache: bool = True) -> None:
        self._use_cache = use_cache
        self._lock = threading.Lock()
        self._store: Any = None
        self._store_key: tuple[str, int] | None = None
        self._sandbox: Any = None
        self._sandbox_settings: Settings | None = None
        self._live: OrderedDict[str, LiveDocument] = OrderedDict()  # recently analysed documents' trees
        self._edited: set[str] = set()  # of those, the ones edited (the others were only opened)

    # ---------------------------------------------------------------- analysis (runs in a thread)

    def analyze(self, source: bytes, path: str, language: Language, settings: Settings,
                first: int | None = None, *, uri: str = "", version: int = 0) -> AnalysisResult:
        """Analyse a document; with `first`, only about that many loops from the top now and the rest
        in `AnalysisResult.rest` (so a big file's first screen gets diagnostics at once). With `uri`,
        the parsed document is kept for `analyze_edits` (as `version`)."""
        from simdlens.analysis import analyze_loops

        reason = check_source(source, path)
        if reason is not None:
            return AnalysisResult((), skipped=reason)
        flags = _compile_flags(settings, path)
        live = LiveDocument.build(source, path, language, version, flags.include_dirs, flags.define_map(),
                                  flags.defines_complete)
        tree, ctx, errors = live.document.tree, live.ctx, live.ctx_errors
        sites = live.document.sites
        split = len(sites)
        if first is not None and len(sites) > 2 * first:
            split = first
            while split < len(sites) and sites[split].depth != 0:
                split += 1  # keep loop nests together: outer verdicts look at their inner loops
        analyses, kernels, errs = analyze_loops(sites[:split], tree, source, ctx)
        head = FullAnalysis({a.site.loop_id: a for a in analyses}, kernels)
        result = AnalysisResult(_slim(analyses), (*errors, *errs), full=head, judged=split)
        if uri:
            self._keep_live(uri, live, edited=False)
        if split == len(sites):
            _release_memory()
            return result

        def rest() -> AnalysisResult:
            with live.lock:
                if live.version != version:  # edited meanwhile: this result is stale (and the tree moved on)
                    return result
                more, more_kernels, more_errs = analyze_loops(sites[split:], tree, source, ctx)
            full = FullAnalysis({**head.analyses, **{a.site.loop_id: a for a in more}},
                                _Chain(head.kernels, more_kernels))
            _release_memory()
            return AnalysisResult((*result.reports, *_slim(more)), (*result.errors, *more_errs), full=full,
                                  judged=len(sites))

        return dataclasses.replace(result, rest=rest)

    def analyze_edits(self, request: EditedDocument, settings: Settings) -> AnalysisResult | None:
        """Re-analyse an edited document from its last snapshot: only the loops the edits touched are
        judged again, the others keep their analyses, moved (see `incremental`). None: analyse it all."""
        if check_source(request.source, request.path) is not None:
            return None  # became binary or huge: the full path says so
        flags = _compile_flags(settings, request.path)
        with self._lock:
            live = self._live.get(request.uri)
        if (live is None or live.include_dirs != flags.include_dirs or live.defines != flags.define_map()
                or live.defines_complete != flags.defines_complete):
            # Not kept (or its flags changed): start from the base text and replay the edits. The base
            # snapshot may have been made with other flags (-D, include dirs): judge every loop again.
            live = LiveDocument.build(request.base_source, request.path, request.language, request.base_version,
                                      flags.include_dirs, flags.define_map(), flags.defines_complete)
            live.context_changed_at = request.version
        self._keep_live(request.uri, live, edited=True)
        with live.lock:
            update = live.update(request, compact_site)
        if update is None:
            if request.version >= live.version:  # not merely a stale request: this tree is of no use
                self.forget(request.uri)
            return None
        if len(update.judged) > 64:
            _release_memory()
        by_id = {a.site.loop_id: a for a in update.judged}
        reports = tuple(LoopReport(update.moved[s.loop_id], None) if s.loop_id in update.moved
                        else LoopReport(_slim_one(by_id[s.loop_id]), None) for s in update.sites)
        return AnalysisResult(reports, update.errors, full=FullAnalysis(by_id, update.kernels),
                              reused=frozenset(update.moved), judged=len(update.judged))

    def judge_loops(self, uri: str, version: int, loop_ids: Collection[str]) -> FullAnalysis | None:
        """The full analyses (IR, kernels) of some loops of a document's `version`, judged on its kept
        tree (each loop with the loops inside it, as the whole file's analysis would); None when the
        tree of that version is not kept."""
        from simdlens.analysis import analyze_loops

        with self._lock:
            live = self._live.get(uri)
        if live is None:
            return None
        with live.lock:
            if live.version != version:
                return None
            sites = live.document.sites
            wanted = [s for s in sites if s.loop_id in loop_ids]
            chosen = [s for s in sites if any(w.span.contains(s.span) for w in wanted)]
            analyses, kernels, _errors = analyze_loops(chosen, live.document.tree, live.document.source, live.ctx)
        return FullAnalysis({a.site.loop_id: a for a in analyses}, kernels)

    def forget(self, uri: str) -> None:
        """The document closed (or is analysed afresh): drop its tree."""
        with self._lock:
            self._live.pop(uri, None)
            self._edited.discard(uri)

    def _keep_live(self, uri: str, live: LiveDocument, *, edited: bool) -> None:
        """Keep the trees of the documents edited last, and of the one opened last (a 10,000-line
        file's tree is ~11 MB: fifty open files must not keep fifty)."""
        with self._lock:
            self._live[uri] = live
            self._live.move_to_end(uri)
            if edited:
                self._edited.add(uri)
            else:
                self._edited.discard(uri)
            only_opened = [u for u in self._live if u not in self._edited]
            for old in only_opened[:-1]:
                del self._live[old]
            while len(self._live) > LIVE_DOCUMENTS_KEPT:
                old, _ = self._live.popitem(last=False)
                self._edited.discard(old)

    # ---------------------------------------------------------------- verification (event loop)

    def why_not_verify(self, settings: Settings) -> str:
        if not settings.trusted:
            return "workspace not trusted: nothing is compiled or run"
        missing = compiler_missing(settings)
        if missing:
            return missing
        try:
            from simdlens.pipeline import target_isas
            from simdlens.sandbox import Sandbox  # noqa: F401
        except ImportError as exc:
            return f"the sandbox is not available in this build ({exc})"
        if not target_isas(settings):
            return "this CPU runs neither AVX2 nor AVX-512 (set simdlens.isa to choose one)"
        return ""

    def isas(self, settings: Settings) -> tuple[str, ...]:
        from simdlens.pipeline import target_isas

        return target_isas(settings)

    def store(self, settings: Settings) -> Any:
        from simdlens.cache.store import ResultStore

        key = (str(settings.cache_path), settings.cache_size_mb)
        with self._lock:
            if self._store is None or self._store_key != key:
                if self._store is not None:
                    self._store.close()
                self._store = ResultStore.open(settings, enabled=self._use_cache)
                self._store_key = key
            return self._store

    def sandbox(self, settings: Settings) -> Any:
        from simdlens.sandbox import Sandbox

        # Display-only settings (diagnostics verbosity) must not cost the running verifications.
        if self._sandbox is None or self._sandbox_settings is None or \
                dataclasses.replace(settings, diagnostics=self._sandbox_settings.diagnostics) != self._sandbox_settings:
            if self._sandbox is not None:  # settings changed: the old one's running jobs are stale anyway
                old = self._sandbox
                asyncio.get_running_loop().create_task(old.close())
            self._sandbox = Sandbox(settings)
            self._sandbox_settings = settings
        return self._sandbox

    async def verify(self, report: LoopReport, source: bytes, settings: Settings, *, bypass_cache: bool,
                     priority: int) -> LoopReport:
        from simdlens.pipeline import verify_loop

        store = await asyncio.to_thread(self.store, settings)  # opening may check a damaged database: not on the loop
        return await verify_loop(report.analysis, report.kernel, source, settings, store,
                                 self.sandbox(settings), bypass_cache=bypass_cache, bench=settings.bench.enabled,
                                 quick=settings.bench.quick, priority=priority)

    async def remeasure(self, original: LoopReport, result: CandidateResult, settings: Settings) -> CandidateResult | None:
        """Verify and benchmark one candidate again against the original loop, bypassing the cache."""
        if original.kernel is None:
            return None
        from simdlens.pipeline import verify_candidates

        # Through the pipeline so the new measurement replaces the stored one (later opens show it).
        store = await asyncio.to_thread(self.store, settings)
        fresh = await verify_candidates(original.kernel, [result.candidate], settings, store,
                                        self.sandbox(settings), bypass_cache=True, bench=settings.bench.enabled,
                                        quick=settings.bench.quick)
        return next((r for r in fresh if r.candidate.key == result.candidate.key), None)

    def clear_cache(self, settings: Settings) -> int:
        return int(self.store(settings).clear())

    async def close(self) -> None:
        """Kill running verifications, remove the sandbox's build directory, close the cache."""
        if self._sandbox is not None:
            try:
                await self._sandbox.close()
            except Exception as exc:  # shutting down: report, do not raise
                log.warning("closing the sandbox failed: %s", exc)
            self._sandbox = None
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
