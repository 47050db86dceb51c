"""The pipeline as the server drives it: analysis per document, verification per loop.

This is the only module of the server that calls `simdlens.pipeline`, the sandbox and the cache. It
keeps one `ResultStore` and one `Sandbox` for the current settings and replaces them when the
settings they depend on change.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import threading
from typing import Any

from simdlens.analysis.parse import check_source
from simdlens.config import Settings
from simdlens.core import CandidateResult, Language, LoopReport
from simdlens.server.background import AnalysisResult

log = logging.getLogger(__name__)


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


class PipelineEngine:
    def __init__(self, use_cache: bool = True) -> None:
        self._use_cache = use_cache
        self._lock = threading.Lock()
        self._store: Any = None
        self._store_key: tuple[str, int] | None = None
        self._sandbox: Any = None
        self._sandbox_settings: Settings | None = None

    # ---------------------------------------------------------------- analysis (runs in a thread)

    def analyze(self, source: bytes, path: str, language: Language, settings: Settings) -> AnalysisResult:
        from simdlens.pipeline import analyze_document

        reason = check_source(source, path)
        if reason is not None:
            return AnalysisResult((), skipped=reason)
        analysis = analyze_document(source, path, language, settings)
        reports = tuple(LoopReport(a, analysis.kernels.get(a.site.loop_id)) for a in analysis.analyses)
        return AnalysisResult(reports, tuple(analysis.errors))

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

        if self._sandbox is None or self._sandbox_settings != settings:
            if self._sandbox is not None:  # settings changed: the old one's running jobs are stale anyway
                old = self._sandbox
                asyncio.get_running_loop().create_task(old.close())
            self._sandbox = Sandbox(settings)
            self._sandbox_settings = settings
        return self._sandbox

    async def verify(self, report: LoopReport, source: bytes, settings: Settings, *, bypass_cache: bool,
                     priority: int) -> LoopReport:
        from simdlens.pipeline import verify_loop

        return await verify_loop(report.analysis, report.kernel, source, settings, self.store(settings),
                                 self.sandbox(settings), bypass_cache=bypass_cache, bench=settings.bench.enabled,
                                 quick=settings.bench.quick)

    async def remeasure(self, original: LoopReport, result: CandidateResult, settings: Settings) -> CandidateResult | None:
        """Verify and benchmark one candidate again against the original loop, bypassing the cache."""
        if original.kernel is None:
            return None
        fresh = await self.sandbox(settings).verify(original.kernel, [result.candidate], bench=settings.bench.enabled,
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
