"""clang's semantic facts in the server: computed in the background, used when they arrive.

Tree-sitter gives the instant loop list and verdicts; clang's pass (`analysis.clang_facts`, tens to
hundreds of ms per file) runs afterwards in a worker thread, and only for a document version that has
a loop whose reasons say the facts could change its verdict (`semantic_facts` reason: a macro, a type
or a declaration simdlens's own reader could not resolve). When the facts arrive and the document is
still at that version, the document is analysed again: `attach` finds them in the facts cache then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from simdlens.core import Language

log = logging.getLogger(__name__)

_running: set[tuple[str, int]] = set()  # (uri, version) whose facts are being computed


def attach(ctx: Any, source: bytes, path: str, language: Language, include_dirs: tuple[str, ...],
           defines: Mapping[str, str], earlier: Any = None) -> Any:
    """`ctx` with the facts of this very text when they are already known (never parses); else, after
    an edit that changed no declaration, with the `earlier` context's facts minus their positions, so
    verdicts do not flip back and forth while the new facts are computed."""
    from simdlens.analysis.clang_facts import cached_facts

    if ctx is None:
        return None
    facts = cached_facts(source, path, language, include_dirs=include_dirs, defines=defines)
    if facts is not None:
        return ctx.with_facts(facts)
    return ctx.with_earlier_facts(earlier) if earlier is not None else ctx


def wanted(reason_codes: set[str]) -> bool:
    """Whether a document whose loops carry these reason codes may be judged differently with (this
    version's) facts: the `semantic_facts` reason says they are missing or an earlier version's."""
    return "semantic_facts" in reason_codes


def refine_later(uri: str, version: int, source: bytes, path: str, language: Language,
                 include_dirs: tuple[str, ...], defines: Mapping[str, str],
                 still_current: Callable[[], bool], reanalyse: Callable[[], None]) -> None:
    """Compute the facts off the event loop; then, if the document has not changed, `reanalyse()`."""
    from simdlens.analysis.clang_facts import cached_facts, semantic_facts

    if (uri, version) in _running or cached_facts(source, path, language, include_dirs=include_dirs,
                                                  defines=defines) is not None:
        return
    _running.add((uri, version))

    async def run() -> None:
        try:
            facts = await asyncio.to_thread(semantic_facts, source, path, language, include_dirs=include_dirs,
                                            defines=defines)
        finally:
            _running.discard((uri, version))
        log.info("semantic facts of %s v%s: %s in %.0f ms", path.rsplit("/", 1)[-1], version,
                 "ok" if facts.ok else facts.problem, 1000 * facts.seconds)
        if facts.ok and still_current():
            reanalyse()

    asyncio.get_running_loop().create_task(run(), name=f"clang facts {uri}")
