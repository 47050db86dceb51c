"""The analysis stage: from C/C++ source text to judged loops and their scalar reference kernels.

    parse -> find_loops -> FileContext -> build_loop -> judge -> extract_kernel

`analyze_file` runs the whole stage on one file; `analyze_loops` re-runs it on some loops of an
already parsed file (the server's incremental path). Neither raises on bad input: a loop that makes
the analysis fail internally gets a NOT_VECTORIZABLE verdict with reason "internal_error", and the
failure is listed in `FileAnalysis.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simdlens.core import Analysis, Kernel, Language, LoopRole, LoopSite, LoopVerdict, Reason

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileAnalysis:
    path: str
    language: Language
    analyses: tuple[Analysis, ...]
    kernels: Mapping[str, Kernel] = field(default_factory=dict)  # by loop_id
    errors: tuple[str, ...] = ()


def analyze_file(source: bytes, path: str, language: Language, *, include_dirs: tuple[str, ...] | list[str] = (),
                 defines: Mapping[str, str] | None = None, ctx: Any = None) -> FileAnalysis:
    """Every loop of `source`, judged, with a kernel for each vectorizable one."""
    from simdlens.analysis.context import FileContext
    from simdlens.analysis.loops import find_loops
    from simdlens.analysis.parse import parse

    errors: list[str] = []
    try:
        tree = parse(source, language)
    except Exception as e:  # the parser never raises by contract; belt and braces for the editor
        return FileAnalysis(path, language, (), {}, (f"{path}: cannot parse: {e}",))
    if ctx is None:
        try:
            ctx = FileContext.build(source, path, language, tree=tree, include_dirs=include_dirs,
                                    defines=dict(defines or {}))
        except Exception as e:
            log.exception("file context of %s", path)
            errors.append(f"{path}: cannot read declarations: {e}")
            ctx = None
    try:
        sites = find_loops(tree, source, path, language)
    except Exception as e:
        log.exception("finding loops in %s", path)
        return FileAnalysis(path, language, (), {}, (*errors, f"{path}: cannot find loops: {e}"))
    analyses, kernels, errs = analyze_loops(sites, tree, source, ctx)
    return FileAnalysis(path, language, analyses, kernels, (*errors, *errs))


def analyze_loops(sites: tuple[LoopSite, ...] | list[LoopSite], tree: Any, source: bytes,
                  ctx: Any) -> tuple[tuple[Analysis, ...], dict[str, Kernel], tuple[str, ...]]:
    """Judge `sites` of an already parsed file; returns (analyses, kernels by loop id, errors)."""
    from simdlens.analysis.build import build_loop
    from simdlens.analysis.kernel import extract_kernel
    from simdlens.analysis.legality import judge, refine_outer

    analyses: list[Analysis] = []
    kernels: dict[str, Kernel] = {}
    errors: list[str] = []
    for site in sites:
        try:
            loop, reasons = build_loop(site, tree, source, ctx)
            a = judge(site, loop, reasons, ctx)
        except Exception as e:  # one loop must not take the file down
            log.exception("analysing the loop at %s:%d", site.path, site.span.start.line + 1)
            errors.append(f"{site.path}:{site.span.start.line + 1}: internal error analysing this loop: {e}")
            a = Analysis(site, LoopVerdict.NOT_VECTORIZABLE,
                         (Reason("internal_error", f"simdlens could not analyse this loop ({type(e).__name__})",
                                 site.header),), None)
        analyses.append(a)
    # outer loops whose inner loop carries a recurrence along its own counter
    for i, a in enumerate(analyses):
        if a.site.role != LoopRole.OUTER:
            continue
        inner = [b for b in analyses if b.site.depth == a.site.depth + 1 and a.site.span.contains(b.site.span)]
        if len(inner) == 1:
            try:
                analyses[i] = refine_outer(a, inner[0], source)
            except Exception as e:
                errors.append(f"{a.site.path}:{a.site.span.start.line + 1}: internal error: {e}")
    for a in analyses:
        if a.verdict == LoopVerdict.NOT_VECTORIZABLE:
            continue
        try:
            k = extract_kernel(a, source, ctx)
        except Exception as e:
            errors.append(f"{a.site.path}:{a.site.span.start.line + 1}: internal error extracting the kernel: {e}")
            k = None
        if k is not None:
            kernels[a.site.loop_id] = k
    return tuple(analyses), kernels, tuple(errors)
