"""The analysis stage: from C/C++ source text to judged loops and their scalar reference kernels.

    parse -> find_loops -> FileContext -> build_loop -> judge -> extract_kernel

`analyze_file` runs the whole stage on one file; `analyze_loops` re-runs it on some loops of an
already parsed file (the server's incremental path). Neither raises on bad input: a loop that makes
the analysis fail internally gets a NOT_VECTORIZABLE verdict with reason "internal_error", and the
failure is listed in `FileAnalysis.errors`.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from simdlens import _native  # noqa: F401  (first: it picks compiled or source hot modules)
from simdlens.core import Analysis, Kernel, Language, LoopRole, LoopSite, LoopVerdict, Reason

log = logging.getLogger(__name__)

# a loop the builder would follow deeper than `loops.MAX_NESTING` syntax-tree levels (build_loop says it)
TOO_DEEP = "the loop is too deeply nested to analyse"
GIL_SLICE_S = 0.002  # the longest the analysis of a file holds the GIL without a pause


@dataclass(frozen=True)
class FileAnalysis:
    path: str
    language: Language
    analyses: tuple[Analysis, ...]
    kernels: Mapping[str, Kernel] = field(default_factory=dict)  # by loop_id
    errors: tuple[str, ...] = ()


def analyze_file(source: bytes, path: str, language: Language, *, include_dirs: tuple[str, ...] | list[str] = (),
                 defines: Mapping[str, str] | None = None, defines_complete: bool = False,
                 ctx: Any = None, facts: Any = None) -> FileAnalysis:
    """Every loop of `source`, judged, with a kernel for each vectorizable one.

    `defines_complete`: `defines` are all the build gives the file (its compile_commands.json entry), so
    a macro defined nowhere is known to be undefined and the code it guards is skipped. `facts`: clang's
    semantic facts of the file (`clang_facts.semantic_facts`), answering types and macros first."""
    with _cyclic_gc_paused(big=len(source) >= 16384):  # about 64 loops and more
        return _analyze_file(source, path, language, include_dirs, defines, defines_complete, ctx, facts)


def _analyze_file(source: bytes, path: str, language: Language, include_dirs: tuple[str, ...] | list[str],
                  defines: Mapping[str, str] | None, defines_complete: bool, ctx: Any, facts: Any = None) -> FileAnalysis:
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
                                    defines=dict(defines or {}), defines_complete=defines_complete)
            if facts is not None:
                ctx = ctx.with_facts(facts)
        except Exception as e:
            log.exception("file context of %s", path)
            errors.append(f"{path}: cannot read declarations: {e}")
            ctx = None
    try:
        sites = find_loops(tree, source, path, language, ctx=ctx)
    except Exception as e:
        log.exception("finding loops in %s", path)
        return FileAnalysis(path, language, (), {}, (*errors, f"{path}: cannot find loops: {e}"))
    analyses, kernels, errs = analyze_loops(sites, tree, source, ctx)
    return FileAnalysis(path, language, analyses, kernels, (*errors, *errs))


def analyze_loops(sites: tuple[LoopSite, ...] | list[LoopSite], tree: Any, source: bytes,
                  ctx: Any) -> tuple[tuple[Analysis, ...], Mapping[str, Kernel], tuple[str, ...]]:
    """Judge `sites` of an already parsed file; returns (analyses, kernels by loop id, errors)."""
    analyses: list[Analysis] = []
    errors: list[str] = []
    with _cyclic_gc_paused(big=len(sites) >= 64):
        _judge_all(sites, tree, source, ctx, analyses, errors)
    kernels = LazyKernels(tuple(analyses), source, ctx)
    return tuple(analyses), kernels, tuple(errors)


@contextmanager
def _cyclic_gc_paused(big: bool) -> Iterator[None]:
    """The analysis allocates many short-lived acyclic objects (tree nodes, IR); collecting cycles
    meanwhile only costs time (about a third of it), so the cyclic collector waits until it is done.
    Nested uses leave the decision to the outermost."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        # What survives is the (acyclic) analyses, which live as long as the document: scanning them in
        # the young generations, as re-enabling would do at once, finds nothing and cost ~30 ms per 1,000
        # loops. For a big file, freeze + unfreeze hands them straight to the oldest generation instead
        # (anything else young goes there too and waits for a full collection, so small, frequent
        # re-analyses keep the ordinary path).
        if big:
            gc.freeze()
            gc.unfreeze()
        gc.enable()


def _judge_all(sites: tuple[LoopSite, ...] | list[LoopSite], tree: Any, source: bytes, ctx: Any,
               analyses: list[Analysis], errors: list[str]) -> None:
    from simdlens.analysis.build import build_loop
    from simdlens.analysis.legality import judge, refine_outer

    pause = time.perf_counter() + GIL_SLICE_S
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
        if time.perf_counter() > pause:
            # The compiled analysis never lets go of the GIL by itself: without this, the server's event
            # loop (another thread) would answer nothing until the whole file is analysed. Alone in its
            # process (scan, benchmarks) there is no one to hand it to, and on a busy machine each pause
            # gives the core away to other processes for a whole time slice.
            if threading.active_count() > 1:
                time.sleep(0)
            pause = time.perf_counter() + GIL_SLICE_S
    _column_sweeps(analyses, tree, source, ctx)
    # outer loops whose inner loop carries a recurrence along its own counter
    for i, inner in _only_inner_loops(analyses):
        try:
            analyses[i] = refine_outer(analyses[i], inner, source)
        except Exception as e:
            a = analyses[i]
            errors.append(f"{a.site.path}:{a.site.span.start.line + 1}: internal error: {e}")


def _column_sweeps(analyses: list[Analysis], tree: Any, source: bytes, ctx: Any = None) -> None:
    """Inner loops that walk a column of what their outer loop walks contiguously (`a[j][i]`, `j`
    inner) are never rewritten alone (gather/scatter would lose to outer-loop vectorization): when the
    lanes over the outer counter are independent, the OUTER loop becomes the candidate, vectorized
    across its counter with the inner loop inside each step (analysis/outer_vector.py); else both
    loops say why (analysis/nest.py)."""
    from simdlens.analysis.nest import may_walk_column, outer_loop

    for k, a in enumerate(analyses):
        if a.loop is None or a.site.depth == 0:
            continue
        if a.verdict == LoopVerdict.NOT_VECTORIZABLE and not _carried_by_inner_only(a):
            continue
        if not may_walk_column(a.loop):  # the common case, on the editor's path: no outer loop to read
            continue
        try:
            outer = outer_loop(tree.root_node, source, a.site.span.start_byte, a.site.span.end_byte, imperfect=True)
            if outer is not None:
                _column_sweep(analyses, k, outer, tree, source, ctx)
        except Exception:  # a judgement about the nest must not take the loop down
            log.exception("column sweep of the loop at %s:%d", a.site.path, a.site.span.start.line + 1)


def _carried_by_inner_only(a: Analysis) -> bool:
    """A loop refused only for a recurrence (`aa[j][i] = aa[j-1][i] + ...`: carried by the inner counter,
    which outer-loop vectorization keeps sequential), a write through a computed subscript (a VLA's
    column, `A[j][i]`) or pointers that may overlap: the nest's own judgement decides (and checks)."""
    from simdlens.analysis.legality import INFORMATIONAL

    carried = ("recurrence", "scatter_conflict", "may_alias")  # outer_vector.py judges the nest's lanes itself
    return any(r.code in carried for r in a.reasons) and all(r.code in INFORMATIONAL or r.code in carried
                                                             for r in a.reasons)


def _column_sweep(analyses: list[Analysis], k: int, outer: Any, tree: Any, source: bytes, ctx: Any) -> None:
    from dataclasses import replace

    from simdlens.analysis.build.loop import build_around
    from simdlens.analysis.ir import Reduce, walk_stmts
    from simdlens.analysis.kernel import _int_value
    from simdlens.analysis.nest import COLUMN_SWEEP, column_arrays, column_sweep_message, columns_text
    from simdlens.analysis.outer_vector import OUTER_NEST, outer_ir

    a = analyses[k]
    assert a.loop is not None
    columns = column_arrays(a.loop, outer.iv)
    if not columns:
        return
    i = next((j for j in range(k - 1, -1, -1) if analyses[j].site.depth == a.site.depth - 1
              and analyses[j].site.span.contains(a.site.span)), None)
    o = analyses[i] if i is not None else None
    line = a.site.span.start.line + 1
    nest: Any = None
    if o is not None and o.loop is None and o.site.role == LoopRole.OUTER:
        around = None
        if not outer.perfect:  # the statements around the inner loop, read as a loop over the outer counter
            around, why = build_around(o.site, tree, source, ctx, a.site.span.start_byte)
            if around is None:
                nest = "the statements around the inner loop cannot be read: " + (why[0].message if why else "")
        if nest is None:
            header = source[a.site.header.start_byte:a.site.header.end_byte].decode("utf-8", "replace")
            nest = outer_ir(a.loop, outer, " ".join(header.split()), lambda text: _int_value(text, ctx), around,
                            a.site.span.start_byte)
    if o is not None and i is not None and nest is not None and not isinstance(nest, str):
        nest_loop, checks = nest
        names = columns_text(columns)
        analyses[k] = replace(a, verdict=LoopVerdict.NOT_VECTORIZABLE, reasons=(Reason(
            COLUMN_SWEEP, f"the inner loop walks a column of {names}: the outer loop (line {o.site.span.start.line + 1}) "
            f"is vectorized across {outer.iv} instead, contiguous; its rewrite replaces the whole nest", a.site.header),
            *a.reasons))
        sums = [x for x in walk_stmts(nest_loop.body) if isinstance(x, Reduce) and x.access is not None]
        how = (f"the loops swapped, each row of it a sum over {outer.iv} (contiguous) into {sums[0].var}" if sums else
               f"vectorize this loop across {outer.iv} (contiguous), the inner loop running inside each vector step")
        note = Reason("outer_vectorizable", f"the inner loop at line {line} walks a column of {names}: {how}; the "
                      "rewrite replaces the whole nest", o.site.header)
        sums = [x for x in sums if x.type.is_float]
        reassociated = tuple(Reason("float_reduction", f"interchanging the loops reorders the floating-point "
                                    f"additions into {x.var}: the result can differ in the last bits", o.site.header)
                             for x in sums[:1])
        analyses[i] = replace(o, site=replace(o.site, role=LoopRole.OUTER_VECTORIZABLE),
                              verdict=(LoopVerdict.VECTORIZABLE_WITH_CHECKS if checks or (nest_loop.inner and nest_loop.inner.guard)
                                       else LoopVerdict.VECTORIZABLE),
                              loop=nest_loop, alias_checks=checks,
                              reasons=(note, *(r for r in o.reasons if r.code != "outer_loop"), *reassociated),
                              facts=o.facts | {"outer", OUTER_NEST} | ({"float_reduction"} if sums else set()))
        return
    if a.verdict == LoopVerdict.NOT_VECTORIZABLE:
        return  # refused already (a recurrence the outer loop cannot take over): its own reason stands
    if isinstance(nest, str):  # the nest has no contiguous formulation simdlens can write: say why
        message = (f"the inner loop walks a column of {columns_text(columns)}: a gather/scatter rewrite of it would "
                   f"be slower in its nest, and the nest is not vectorized across {outer.iv}: {nest}")
        outer_note = (f"the inner loop at line {line} walks a column; this nest is not vectorized across {outer.iv}: "
                      f"{nest}")
    else:
        message = column_sweep_message(columns, outer.iv)
        outer_note = (f"the inner loop at line {line} walks a column: the compiler vectorizes this loop over "
                      f"{outer.iv}, contiguous; simdlens does not rewrite this nest")
    analyses[k] = replace(a, verdict=LoopVerdict.NOT_VECTORIZABLE,
                          reasons=(Reason(COLUMN_SWEEP, message, a.site.header), *a.reasons))
    if o is not None and i is not None:
        note = Reason(COLUMN_SWEEP, outer_note, o.site.header)
        analyses[i] = replace(o, reasons=(note, *(r for r in o.reasons if r.code != "outer_loop")))


def _only_inner_loops(analyses: list[Analysis]) -> Iterator[tuple[int, Analysis]]:
    """(index, its inner loop) of each OUTER loop with exactly one loop one level deeper inside it.
    One pass with the loops around the current one on a stack: linear in nesting depth."""
    open_loops: list[int] = []  # indices of the loops containing the current one, outermost first
    by_depth: dict[int, list[int]] = {}  # of those, by their depth
    inner: dict[int, list[int]] = {}
    for j, b in enumerate(analyses):  # source order: a loop's inner loops follow it
        span = b.site.span
        while open_loops and not analyses[open_loops[-1]].site.span.contains(span):
            by_depth[analyses[open_loops.pop()].site.depth].pop()
        for i in by_depth.get(b.site.depth - 1, ()):
            if analyses[i].site.role == LoopRole.OUTER and len(inner.setdefault(i, [])) < 2:
                inner[i].append(j)
        open_loops.append(j)
        by_depth.setdefault(b.site.depth, []).append(j)
    for i, found in inner.items():
        if len(found) == 1:
            yield i, analyses[found[0]]


def why_no_kernel(kernels: Mapping[str, Kernel], loop_id: str) -> str:
    """Why `kernels` (a file's, as `analyze_loops` returns them) holds no kernel for a loop."""
    reason = getattr(kernels, "reason", None)
    found = reason(loop_id) if callable(reason) else ""
    return str(found) or "no stand-alone kernel could be extracted for this loop"


class LazyKernels(Mapping[str, Kernel]):
    """Kernels by loop id, extracted on first use (most loops in an editor are never verified).

    Keys are the loops that are not NOT_VECTORIZABLE and whose kernel could be extracted; asking for
    the keys extracts them all. Extraction is deterministic, so laziness never changes a result."""

    def __init__(self, analyses: tuple[Analysis, ...], source: bytes, ctx: Any) -> None:
        self._candidates = {a.site.loop_id: a for a in analyses if a.verdict != LoopVerdict.NOT_VECTORIZABLE}
        self._analyses = analyses  # an outer-loop rewrite's reference is built from its inner loop
        self._source = source
        self._ctx = ctx
        self._done: dict[str, Kernel | None] = {}
        self._why: dict[str, str] = {}  # loop id -> why it has no kernel
        self.errors: list[str] = []

    def _get(self, loop_id: str) -> Kernel | None:
        if loop_id in self._done:
            return self._done[loop_id]
        a = self._candidates.get(loop_id)
        k = None
        if a is not None:
            from simdlens.analysis.kernel import kernel_or_reason

            try:
                from simdlens.analysis.outer_vector import OUTER_NEST

                found = self._nest_reference(a) if OUTER_NEST in a.facts else kernel_or_reason(a, self._source, self._ctx)
            except Exception as e:  # kernel_or_reason never raises by contract; belt and braces
                log.exception("kernel of %s", loop_id)
                self.errors.append(f"{a.site.path}:{a.site.span.start.line + 1}: internal error extracting the "
                                   f"kernel: {e}")
                found = f"internal error extracting the kernel ({type(e).__name__})"
            if isinstance(found, str):
                self._why[loop_id] = found
            else:
                k = found
        self._done[loop_id] = k
        return k

    def _nest_reference(self, outer: Analysis) -> Kernel | str:
        from simdlens.analysis.outer_vector import nest_reference

        inner = next((b for b in self._analyses if b.site.depth == outer.site.depth + 1
                      and outer.site.span.contains(b.site.span)), None)
        if inner is None:
            return "the nest's inner loop was not found"
        return nest_reference(outer, inner, self._source, self._ctx)

    def reason(self, loop_id: str) -> str:
        """Why a loop has no kernel ("" when it has one): the stage that stopped, in words."""
        if loop_id not in self._candidates:
            return "the loop is not vectorizable"
        self._get(loop_id)
        return self._why.get(loop_id, "")

    def __getitem__(self, loop_id: str) -> Kernel:
        k = self._get(loop_id)
        if k is None:
            raise KeyError(loop_id)
        return k

    def __contains__(self, loop_id: object) -> bool:
        return isinstance(loop_id, str) and self._get(loop_id) is not None

    def __iter__(self) -> Iterator[str]:
        return iter([lid for lid in self._candidates if self._get(lid) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)
