"""The rule engine: deterministic, offline AVX2 / AVX-512 rewrites of analysed loops.

    propose(analysis, kernel, isa, settings, *, source=None, user_flags=None) -> RuleProposal

lowers the loop's IR through the ISA table (`rules/isa/<isa>.toml`, see `tables`) twice: once with the
kernel's parameter names, giving `Candidate.function` (what the sandbox tests: exactly the kernel's
signature, the loop replaced by vector code, no ISA guard so that the vector code is what runs), and
once with the user's own names, giving the `TextEdit`s of the code action. A loop the rules cannot
lower gets no candidate and a note saying why ("rules: indirect access x[...] (gather)").

The user's file stays buildable without the ISA flag: by default the vector block sits in
`#if defined(__AVX2__) ... #else <original loop> #endif` (`Settings.guard == "ifdef"`); with
`guard == "dispatch"` it is outlined into a `static __attribute__((target(...)))` helper chosen at run
time with `__builtin_cpu_supports` (see docs/rules.md).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simdlens.analysis.build import accesses_of
from simdlens.analysis.build.bit_copies import UNION_TEMPORARY
from simdlens.analysis.ir import Access, Carry, LoopIR, ScalarRole, Step, walk_stmts
from simdlens.analysis.typefacts import fact_type
from simdlens.config import Settings
from simdlens.core import (
    Analysis,
    Candidate,
    Kernel,
    KernelParam,
    LoopSite,
    LoopVerdict,
    ParamRole,
    Point,
    Span,
    TextEdit,
    TypeFact,
)
from simdlens.rules.carried_scan import CarriedScanLowering, StateScanLowering
from simdlens.rules.checksum import ChecksumLowering
from simdlens.rules.complex_multiply import ComplexMultiplyLowering, complex_product
from simdlens.rules.complex_parts import flat_parts
from simdlens.rules.complex_reduce import ComplexReduceLowering, complex_reduction
from simdlens.rules.histogram import HistogramLowering
from simdlens.rules.idioms import rule_name, summary
from simdlens.rules.lower import Lowered, Lowering, Unsupported
from simdlens.rules.outer import InterchangeLowering, OuterLoopLowering, nest_overlap_test
from simdlens.rules.scalar import ScalarPrinter
from simdlens.rules.scan import ScanLowering
from simdlens.rules.tables import IsaTable, TableError, available_isas, isa_flags, known_intrinsics, load_isa
from simdlens.rules.text import (
    edit_guards,
    enclosing_function_start,
    file_includes,
    for_body_lines,
    guard_condition,
    guard_wrap,
    include_edit,
    inner_for_body_lines,
    insertion_at,
    instantiation_wrap,
    kernel_loop_span,
    line_indent,
    local_scalar_types,
    rename_text,
    with_leading_pragmas,
)

__all__ = ["RuleProposal", "isa_flags", "known_intrinsics", "load_isa", "propose"]

log = logging.getLogger(__name__)

# -march values (and what they imply) that enable each ISA without explicit -m flags.
_MARCH_IMPLIES = {
    "-mavx2": ("haswell", "broadwell", "skylake", "x86-64-v3", "x86-64-v4", "icelake", "sapphirerapids",
               "alderlake", "znver", "skylake-avx512", "cascadelake", "tigerlake", "cooperlake"),
    "-mfma": ("haswell", "broadwell", "skylake", "x86-64-v3", "x86-64-v4", "icelake", "sapphirerapids",
              "alderlake", "znver", "skylake-avx512", "cascadelake", "tigerlake", "cooperlake"),
    "-mavx512f": ("x86-64-v4", "skylake-avx512", "icelake", "sapphirerapids", "cascadelake", "tigerlake",
                  "cooperlake", "znver4", "znver5"),
}


@dataclass(frozen=True)
class RuleProposal:
    candidates: tuple[Candidate, ...]
    notes: tuple[str, ...]


def propose(analysis: Analysis, kernel: Kernel, isa: str, settings: Settings, *, source: bytes | None = None,
            user_flags: tuple[str, ...] | None = None) -> RuleProposal:
    """Rule-based candidates for one loop on one ISA (one; two formulations for a nest vectorized across
    its outer counter, rules/outer.py), or notes saying why there are none.

    `source` (the user's file) lets the edit keep the original loop text in the fallback branch and add
    `#include <immintrin.h>`; `user_flags` (from compile_commands.json) decide the flag caveat.
    """
    if analysis.verdict == LoopVerdict.NOT_VECTORIZABLE or analysis.loop is None:
        return RuleProposal((), ("rules: the loop is not vectorizable",))
    if isa not in available_isas():
        return RuleProposal((), (f"rules: no ISA table for {isa} (have {', '.join(available_isas())})",))
    try:
        table = load_isa(isa)
    except TableError as exc:
        return RuleProposal((), (f"rules: broken ISA table: {exc}",))
    # a nest vectorized across its outer counter has two formulations, measured against each other
    formulations = ("interchange", "outer_loop") if analysis.loop.inner is not None else ("",)
    candidates: list[Candidate] = []
    notes: list[str] = []
    for formulation in formulations:
        try:
            candidates.append(_candidate(analysis, analysis.loop, kernel, table, settings, source, user_flags,
                                         formulation))
        except Unsupported as exc:
            notes.append(f"rules: {exc}")
        except Exception as exc:  # a bug here must cost one loop its candidate, never the scan or the editor
            log.exception("rule engine failed on loop %s", analysis.site.loop_id)
            notes.append(f"rules: internal error ({type(exc).__name__}); please report this loop")
    return RuleProposal(tuple(candidates), () if candidates else tuple(notes))


def _candidate(analysis: Analysis, loop: LoopIR, kernel: Kernel, table: IsaTable, settings: Settings,
               source: bytes | None, user_flags: tuple[str, ...] | None, formulation: str = "") -> Candidate:
    kernel_names = {p.source: p.name for p in kernel.params if p.source and p.role != ParamRole.RESULT}
    for p in kernel.params:  # the kernel passes a container's storage as a plain pointer of its name
        if p.role in (ParamRole.IN, ParamRole.OUT, ParamRole.INOUT):
            kernel_names.setdefault(f"{p.source or p.name}.data()", p.name)

    def to_kernel(text: str) -> str:
        return rename_text(text, kernel_names)

    # std::valarray has no .data(): in the user's file its storage is std::begin(v) (a T* in libstdc++ and libc++)
    user_names = {f"{a.root}.data()": f"std::begin({a.root})" for a in loop.arrays if _VALARRAY.search(a.decl)}

    def to_user(text: str) -> str:
        return rename_text(text, user_names) if user_names else text

    flat = flat_parts(loop) if loop.inner is None else None  # complex parts computed alike: one contiguous loop
    loop = flat or loop
    options: dict[str, Any] = {"allow_contraction": settings.allow_contraction, "max_lanes": analysis.max_lanes}
    # a running sum: the scan algorithm (two of them, a checksum: blocks); a histogram update: conflict detection
    lowering: Any = (ChecksumLowering if "running_pair" in analysis.facts else
                     CarriedScanLowering if "scalar_scan" in analysis.facts else
                     StateScanLowering if "state_scan" in analysis.facts else
                     ScanLowering if "scan" in analysis.facts else HistogramLowering if "histogram" in analysis.facts
                     else InterchangeLowering if formulation == "interchange"
                     else OuterLoopLowering if loop.inner is not None else Lowering)
    if complex_product(loop) is not None:  # a*b of complex elements: as the user's build computes it (Annex G)
        lowering = ComplexMultiplyLowering
        options.update(user_flags=tuple(user_flags or ()), compiler=settings.compiler, cpp=kernel.language == "cpp")
    elif complex_reduction(loop) is not None:  # acc += a[i] * conjf(b[i]) into a complex accumulator
        lowering = ComplexReduceLowering
        options.update(user_flags=tuple(user_flags or ()), compiler=settings.compiler, cpp=kernel.language == "cpp")
    kernel_span = kernel_loop_span(kernel.source, kernel.language)
    kernel_body = user_body = None
    if flat is None and _own_body_fits(loop) and kernel_span is not None:
        k_column = kernel_span[0] - (kernel.source.rfind("\n", 0, kernel_span[0]) + 1)
        kernel_body = for_body_lines(kernel.source[kernel_span[0]:kernel_span[1]], k_column, kernel.language)
        if source is not None and kernel_body is not None:
            site = kernel.loop_span or analysis.site.span
            user_body = for_body_lines(source[site.start_byte:site.end_byte].decode("utf-8", "replace"),
                                       site.start.column, analysis.site.language)
        # an outer loop's body is its inner loop, which assigns its own counter: kept as written
        if user_body is None or (loop.inner is None and not _body_text_fits(loop, "\n".join(user_body))) \
                or _header_steps_an_array(loop, kernel.source[kernel_span[0]:kernel_span[1]]):
            kernel_body = user_body = None  # both or neither: the sandbox verifies the code the user gets
    k_options: dict[str, Any] = {}
    u_options: dict[str, Any] = {}
    if loop.inner is not None:
        if kernel_body is None or user_body is None:
            raise Unsupported("the nest's remainder cannot run the outer loop's body as written")
        if formulation == "interchange":  # the remainder runs the inner loop's body
            kernel_body, user_body = _inner_body(kernel_body, kernel.language), _inner_body(user_body, kernel.language)
            if kernel_body is None or user_body is None:
                raise Unsupported("the interchanged nest's remainder cannot run the inner loop's body as written")
        else:
            if loop.inner.first:  # a triangle: each lane's own rows run the inner loop's body as written
                bodies = (_inner_body(kernel_body, kernel.language), _inner_body(user_body, kernel.language))
                if bodies[0] is None or bodies[1] is None:
                    raise Unsupported("the triangular nest's lanes cannot run the inner loop's body as written")
                k_options, u_options = {"inner_body": bodies[0]}, {"inner_body": bodies[1]}
            kernel_body, user_body = _braced(kernel_body), _braced(user_body)
    try:
        in_kernel: Lowered = lowering(loop, table, to_kernel, scalar_body=kernel_body, **options, **k_options).build()
        in_user: Lowered = lowering(loop, table, to_user, scalar_body=user_body, **options, **u_options).build()
    except Unsupported:
        if lowering is not Lowering:
            raise
        # sums kept in 16-bit lanes run twice the lanes: their loads may lack the table's rows at that count
        options["sums_in_16_bits"] = False
        in_kernel = lowering(loop, table, to_kernel, scalar_body=kernel_body, **options, **k_options).build()
        in_user = lowering(loop, table, to_user, scalar_body=user_body, **options, **u_options).build()
    rule = rule_name(in_kernel.features, loop)
    caveats = list(in_kernel.caveats)

    checks = analysis.verdict == LoopVerdict.VECTORIZABLE_WITH_CHECKS
    if checks and not analysis.alias_checks and not (loop.inner is not None and loop.inner.guard) \
            and not loop.unit_strides:
        raise Unsupported("the loop needs run-time checks the analysis did not name")
    loop_span = kernel_loop_span(kernel.source, kernel.language)
    if loop_span is None:
        raise Unsupported("cannot find the loop inside the kernel function")
    k_start, k_end = loop_span
    kernel_loop_text = kernel.source[k_start:k_end]
    header = f"/* simdlens rules:{rule} ({table.name}, {in_kernel.vf} lanes): {summary(rule, in_kernel.vf)} */"
    vector_k = _block(header, in_kernel)
    if checks:
        k_column = k_start - (kernel.source.rfind("\n", 0, k_start) + 1)
        overlap = (nest_overlap_test(loop, kernel, analysis.alias_checks, to_kernel) if loop.inner is not None
                   else _overlap_test(loop, analysis.alias_checks, to_kernel, in_kernel.vf))
        vector_k = _versioned(vector_k, _stride_test(loop, to_kernel, overlap), kernel_loop_text, k_column)
        if analysis.alias_checks:
            pairs = ", ".join(f"{a}/{b}" for a, b in analysis.alias_checks)
            caveats.append(f"checks at run time that {pairs} do not overlap; runs the original loop if they do")
        if loop.inner is not None and loop.inner.guard:
            caveats.append(f"checks at run time that the columns the nest walks fit in one row ({loop.inner.guard}); "
                           "runs your nest if they do not")
        if loop.unit_strides:
            caveats.append(f"runs the vector loop only when {_stride_condition(loop, lambda name: name)}; your loop runs for "
                           "any other stride")
    function = kernel.source[:k_start] + "\n    ".join(vector_k) + kernel.source[k_end:]
    flags = table.flags_for(function)
    facts = _type_facts(loop, kernel, (k_start, k_end))

    span = with_leading_pragmas(source, kernel.loop_span or analysis.site.span)
    original = source[span.start_byte:span.end_byte].decode("utf-8", "replace") if source is not None else None
    if original is None:
        printed = ScalarPrinter(loop.iv, to_user)
        original = "\n".join(_scalar_loop(loop, printed))
    vector_u = _block(header, in_user)
    guards = edit_guards(facts, kernel, analysis.site.language)
    vector_u[2:2] = ["    " + line for line in guards]
    if checks:
        overlap = (nest_overlap_test(loop, kernel, analysis.alias_checks, to_user) if loop.inner is not None
                   else _overlap_test(loop, analysis.alias_checks, to_user, in_user.vf))
        vector_u = _versioned(vector_u, _stride_test(loop, to_user, overlap), original,
                              span.start.column if source is not None else 0)
    if kernel.instantiation:  # a function template: the vector code is for the analysed instantiation only
        vector_u = instantiation_wrap(kernel.instantiation, vector_u, original,
                                      " " * span.start.column if source is not None else "")
    edits: list[TextEdit] = []
    missing = [f for f in flags if not _enabled(f, user_flags, table)]
    dispatch = settings.guard == "dispatch" and source is not None
    helper_edit = None
    if dispatch:
        assert source is not None
        helper_edit = _dispatch(kernel, loop, function, table, flags, source, span, analysis.site, original)
        if helper_edit is None:
            dispatch = False
            caveats.append("run-time dispatch is not possible for this loop: guarded by #if instead")
    if dispatch and helper_edit is not None:
        edits.extend(helper_edit)
        caveats.append(f"runs the {table.name} code only on CPUs that support it (__builtin_cpu_supports)")
    else:
        edits.append(_guarded_edit(vector_u, original, flags, table, span, source))
        if missing:
            caveats.append(f"needs {' '.join(missing)} (not in your flags): guarded by "
                           f"#if {_guard_condition(flags, table)}, the original loop runs otherwise")
    if source is not None:
        # dispatch calls the helper only after a CPU check, so its header must always be there (x86 only)
        condition = "" if dispatch and helper_edit is not None else _guard_condition(flags, table)
        inc = include_edit(source, span.start_byte, analysis.site.language, condition)
        if (guards or kernel.instantiation) and analysis.site.language == "cpp":  # the guards' std::is_same
            offset, present = file_includes(source, span.start_byte, analysis.site.language)
            if "<type_traits>" not in present:
                if inc is not None and not dispatch:
                    inc = TextEdit(inc.span, inc.new_text.replace("#include <immintrin.h>\n",
                                                                  "#include <immintrin.h>\n#include <type_traits>\n"))
                elif not dispatch:
                    edits.insert(0, insertion_at(source, offset, "#include <type_traits>\n"))
        if inc is not None:
            edits.insert(0, inc)
    return Candidate(kernel_hash=kernel.content_hash, isa=table.name, origin=f"rules:{rule}", function=function,
                     edits=tuple(edits), caveats=tuple(caveats), flags=flags, support="", type_facts=facts)


def _braced(body: list[str]) -> list[str]:
    """An outer loop's body (its inner loop) as a block of its own lines, for the remainder's header."""
    if body[0].lstrip().startswith("{"):
        return body
    return ["{", "    " + body[0], *body[1:], "}"]


def _inner_body(outer_body: list[str], language: str) -> list[str] | None:
    """The body of the inner loop of an outer loop's body (its lines as `for_body_lines` gives them)."""
    text = "\n".join(outer_body).strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    return inner_for_body_lines(text, language)  # type: ignore[arg-type]


def _type_facts(loop: LoopIR, kernel: Kernel, loop_span: tuple[int, int]) -> tuple[TypeFact, ...]:
    """The type assumptions of a rule rewrite: the element types of the arrays it loads and stores and
    the types of the scalars it reads (the kernel's facts, from the IR types the lowering used), and
    the types of the loop's own temporaries and counter, as declared in the loop."""
    facts = list(kernel.type_facts)
    declared = local_scalar_types(kernel.source, kernel.language, loop_span)
    # a union temporary's IR type is the member last written: its declared type is the union
    typed = {s.name: s.type for s in loop.scalars if s.role == ScalarRole.LOCAL and s.decl != UNION_TEMPORARY}
    if loop.iv_declared_in_loop:
        typed[loop.iv] = loop.iv_type
    for name, ctype in sorted(typed.items()):
        spelled = declared.get(name)
        if spelled:  # a type-level expression: the temporary itself only exists in the loop
            facts.append(TypeFact(f"*({spelled} *)0", fact_type(ctype), name))
    for a in {a.base: a for a, _w, _s in accesses_of(loop.body) if _BYTE_VIEW.fullmatch(a.base)}.values():
        arr = loop.array(a.root)  # `*(float *)ip1` of a byte walk: the cast's type is the one the lanes load
        if arr is not None and arr.elem.bits == 8 and a.elem.bits > 8:
            view = _BYTE_VIEW.fullmatch(a.base)
            assert view is not None
            facts.append(TypeFact(f"*({view.group(1)})0", fact_type(a.elem), f"{a.root} read as {view.group(1)}"))
    return tuple(facts)


_BYTE_VIEW = re.compile(r"\(\((.+\*)\)\((\w+)\)\)")  # `((const float *)(ip1))`




_VALARRAY = re.compile(r"\b(?:std::)?valarray\s*<")


def _block(header: str, lowered: Lowered) -> list[str]:
    return ["{", f"    {header}", *("    " + line for line in without_dead_vectors(lowered.code)), "}"]


_VECTOR_DECL = re.compile(r"^\s*(?:const\s+)?__m(?:mask)?\w*\s+(\w+)\s*=")


def without_dead_vectors(code: list[str]) -> list[str]:
    """Drop vector/mask temporaries nobody reads (a negated mask an if-conversion did not need).

    Their initialisers are pure intrinsics, so dropping them changes nothing but the warnings a
    user's `-Wall -Werror` build would stop on.
    """
    lines = list(code)
    while True:
        text = "\n".join(lines)
        dead = {i for i, line in enumerate(lines)
                if (m := _VECTOR_DECL.match(line)) and line.rstrip().endswith(";")
                and len(re.findall(rf"\b{m.group(1)}\b", text)) == 1}
        if not dead:
            return lines
        lines = [line for i, line in enumerate(lines) if i not in dead]


def _versioned(vector: list[str], no_overlap: str, original: str, column: int) -> list[str]:
    original_lines = original.splitlines() or [original]
    return [f"if ({no_overlap})", *vector, "else {", *("    " + x for x in _dedent(original_lines, column)), "}"]


def _dedent(lines: list[str], column: int) -> list[str]:
    """The loop text's first line starts at `column`; shift the other lines left by as much."""
    out = [lines[0]]
    for x in lines[1:]:
        lead = len(x) - len(x.lstrip(" \t"))
        out.append(x[min(lead, column):])
    return out


def _stride_condition(loop: LoopIR, rename: Callable[[str], str]) -> str:
    """`incx == 1 && incy == 1`: the run-time strides the IR read as unit (LoopIR.unit_strides)."""
    return " && ".join(f"{rename(name)} == {unit}" for name, unit in loop.unit_strides)


def _stride_test(loop: LoopIR, rename: Callable[[str], str], overlap: str) -> str:
    """The vector code's condition: the unit strides first (the overlap test's ranges assume them), then
    the overlap test."""
    if not loop.unit_strides:
        return overlap
    return f"({_stride_condition(loop, rename)}) && ({overlap})"


def _overlap_test(loop: LoopIR, pairs: tuple[tuple[str, str], ...], rename: object, vf: int) -> str:
    """A C condition under which the vector code is correct for the pairs the analysis could not
    separate: their touched byte ranges are disjoint (different storage), or, for two offsets into the
    same array, the run-time distance is 0 or at least a whole vector step."""
    assert callable(rename)
    from simdlens.analysis.inductions import induction_affine, induction_subscript
    from simdlens.analysis.ir import Expand, Load, Pack, Reduce, Step, Store, walk_exprs, walk_stmts

    accesses: list[tuple[Access, bool]] = []
    stepped: set[str] = set()

    def affine(a: Access) -> Access:  # `x[j]` of a second counter j: bounded from j at entry
        found = induction_subscript(a)
        return a if found is None else induction_affine(loop, a, found[0] in stepped)

    for s in walk_stmts(loop.body):
        if isinstance(s, Step):
            stepped.add(s.var)
        if isinstance(s, Store) or (isinstance(s, Reduce) and s.access is not None):  # `c[i] += …`: written
            assert s.access is not None
            accesses.append((affine(s.access), True))
        if isinstance(s, Pack | Expand):  # the counter's elements: at most one per iteration from its entry value
            packed = s.dst if isinstance(s, Pack) else s.src
            after = f"{s.counter} + (long long)({loop.trip_count})"
            accesses += [(Access(packed.root, packed.base, packed.elem, 0, s.lead, s.counter), isinstance(s, Pack)),
                         (Access(packed.root, packed.base, packed.elem, 0, s.lead - 1, after), isinstance(s, Pack))]
            if isinstance(s, Expand):
                accesses.append((affine(s.dst), True))
        for attr in ("value", "cond", "index", "step", "factor", "fill"):
            e = getattr(s, attr, None)
            if e is not None and not isinstance(e, str | tuple):
                accesses += [(affine(x.access), False) for x in walk_exprs(e) if isinstance(x, Load)]

    def squash(text: str) -> str:
        return re.sub(r"\s+", "", text)

    def group(name: str) -> list[tuple[Access, bool]]:
        key = squash(name)
        # every access of a pointer, at any symbolic offset (`x[i]` and `x[i - T]`): a check that left one
        # out would let `x == y` through while x[i - T] reads what an earlier step stored
        mine = [(a, w) for a, w in accesses
                if squash(f"{a.base}+{a.symbolic}" if a.symbolic else a.base) == key
                or (a.base == a.root and squash(a.root) == key)]
        if not mine:  # rows of a 2-D array (`A[i][j]`: base `A[i]`) or a flat `A[i*ld + j]`: all its accesses
            mine = [(a, w) for a, w in accesses if squash(a.root) == key]
        # the element a memory reduction updates (`x[i] -= u[j] * x[j]`) is part of the array's range too
        mine += [(a, w) for a, w in accesses if a.coeff == 0 and squash(a.root) == key and a.base == a.root
                 and (a, w) not in mine]
        # per row/offset: a walk of one element per iteration (forwards, or backwards: `v[n - 1 - i]`), a
        # fixed group (`2*i`, `2*i + 1`: the parts of a complex number), or elements the counter does not
        # move (`x[i]` in a `j` loop)
        walks = {(a.base, a.symbolic): {b.coeff for b, _ in mine if (b.base, b.symbolic) == (a.base, a.symbolic)}
                 for a, _ in mine}
        strides = {abs(c) for c in set().union(*walks.values()) if c is not None} - {0}
        if (not mine or any(a.coeff is None for a, _ in mine)
                or any(len(c) != 1 for c in walks.values()) or len(strides) > 1):
            raise Unsupported(f"cannot bound the accesses of {name} for a run-time check")
        return mine

    def span(g: list[tuple[Access, bool]]) -> tuple[str, str]:
        """Addresses of the lowest element the loop touches and one past the highest: one range per row
        or symbolic offset (`A[i-1][j]`, `A[i+1][j]`), then their hull; the stride (`z[2*i + 1]`, one
        per group, see `group`) scales the counter's range."""
        los, his = [], []
        for key in sorted({(a.base, a.symbolic) for a, _ in g}):
            sub = [a for a, _ in g if (a.base, a.symbolic) == key]
            base, sym = rename(key[0]), (f" + ({rename(key[1])})" if key[1] else "")
            lo, hi = min(a.offset for a in sub), max(a.offset for a in sub)
            coeff = sub[0].coeff
            arr = loop.array(sub[0].root)
            if arr is not None and arr.record and coeff is not None and coeff % arr.record == 0:
                lo, hi = arr.whole_records(lo, hi)  # an array of structures: the whole structures touched
            scale = "" if coeff == 1 else f"({coeff}) * "
            first, past = (lo_iv, hi_iv) if coeff is not None and coeff > 0 else (hi_iv, lo_iv)  # backwards: swapped
            low, high = (f"{scale}{first} + ", f"{scale}{past} + ") if coeff else ("", "")  # 0: fixed elements
            los.append(f"(__UINTPTR_TYPE__)(const void *)&{base}[{low}({lo}){sym}]")
            his.append(f"(__UINTPTR_TYPE__)(const void *)&{base}[{high}({hi + 1}){sym}]")
        return _hull(los, "<"), _hull(his, ">")

    def where(a: Access) -> str:
        return f"({a.offset})" + (f" + ({rename(a.symbolic)})" if a.symbolic else "")

    first = f"({rename(loop.lower)})"
    last = f"({rename(loop.lower)} + ({loop.step}) * ((long long)({rename(loop.trip_count)}) - 1))"
    lo_iv, hi_iv = (first, last) if loop.step > 0 else (last, first)
    tests = []
    for x, y in pairs:
        if x.startswith("&") or y.startswith("&"):  # a scalar the loop reads through a pointer vs an array
            obj, arr = (x, y) if x.startswith("&") else (y, x)
            a_lo, a_hi = span(group(arr))
            o = f"({rename(obj[1:])})"
            tests.append(f"({a_hi} <= (__UINTPTR_TYPE__)(const void *)&{o} || "
                         f"(__UINTPTR_TYPE__)(const void *)(&{o} + 1) <= {a_lo})")
            continue
        gx, gy = group(x), group(y)
        if {a.base for a, _ in gx} == {a.base for a, _ in gy} and len({a.base for a, _ in gx}) == 1:
            if any(a.coeff != 1 for a, _ in gx + gy):
                raise Unsupported(f"cannot bound the accesses of {x} and {y} for a run-time check")
            reach = vf * abs(loop.step)  # elements one vector step spans: `i += 2` covers twice as many
            for a, wa in gx:  # one array, two symbolic offsets: a distance check
                for b, wb in gy:
                    if wa or wb:
                        d = f"(long long)(({where(a)}) - ({where(b)}))"
                        tests.append(f"({d} == 0 || {d} >= {reach} || {d} <= -{reach})")
            continue
        (a_lo, a_hi), (b_lo, b_hi) = span(gx), span(gy)
        if _exact_alias_safe(loop, gx, gy):  # f(x, x, n): the same element in every iteration
            tests.append(f"({a_hi} <= {b_lo} || {b_hi} <= {a_lo} || {a_lo} == {b_lo})")
        else:
            tests.append(f"({a_hi} <= {b_lo} || {b_hi} <= {a_lo})")
    return f"({rename(loop.trip_count)}) <= 0 || (" + " && ".join(tests or ["1"]) + ")"


def _hull(addresses: list[str], op: str) -> str:
    """The lowest (`op` "<") or highest (">") of several address expressions, as one C expression."""
    acc = addresses[0]
    for x in addresses[1:]:
        acc = f"({x} {op} {acc} ? {x} : {acc})"
    return acc


def _exact_alias_safe(loop: LoopIR, gx: list[tuple[Access, bool]], gy: list[tuple[Access, bool]]) -> bool:
    """Whether the vector code stays correct when the two pointers of an alias pair are equal (an
    in-place call, `f(x, x, n)`): iteration i touches only element i + c of both, with one element type,
    one side is only read, and every read of either happens before the first write in the body's order
    (a vector step loads all its lanes before it stores, as the scalar loop reads element i before
    writing it)."""
    from simdlens.analysis.ir import Carry, Expand, Load, Pack, Store, walk_exprs, walk_stmts

    every = gx + gy
    if len({(a.base, a.symbolic) for a, _ in gx}) != 1 or len({(a.base, a.symbolic) for a, _ in gy}) != 1:
        return False  # several rows of one array: their hull's start says nothing about element i
    if any(a.coeff != 1 for a, _ in every) or len({(a.offset, a.elem.name) for a, _ in every}) != 1:
        return False
    if any(w for _, w in gx) and any(w for _, w in gy):
        return False  # two outputs on one element: their order is a question the check does not ask
    bases = {a.base for a, _ in every}
    written = False
    for s in walk_stmts(loop.body):
        if isinstance(s, Pack | Carry | Expand):
            return False  # a carried value is re-read from memory one element back, after its step stored it
        reads = []
        for attr in ("value", "cond", "index", "step", "factor", "fill"):
            e = getattr(s, attr, None)
            if e is not None and not isinstance(e, str | tuple):
                reads += [x.access for x in walk_exprs(e) if isinstance(x, Load) and x.access.base in bases]
        if reads and written:
            return False  # element i would be read after this iteration wrote it
        if isinstance(s, Store) and s.access.base in bases:
            written = True
    return True


def _own_body_fits(loop: LoopIR) -> bool:
    """The user's loop body can run the scalar remainder unchanged: nothing it does lives in the loop header
    or moves with the vector code (inductions, carried values, walking pointers, setup), and is one iteration
    (not hand-unrolled copies read as one)."""
    from simdlens.analysis.build import WALK_IV

    # a pointer walk's body reads its pointers (`*p * *p` of `for (const float *p = src; ...; p++)`),
    # which the vector code replaces by a synthetic counter
    # a walk by a run-time stride (`p += is1` in the header) is read from its entry value too
    return loop.iv != WALK_IV and not loop.moved and not loop.setup and not loop.rolled and not any(
        isinstance(s, Step | Carry) for s in walk_stmts(loop.body)) and not loop.unit_strides


_ASSIGNED = re.compile(r"(?<![\w\].>])\s*\b([A-Za-z_]\w*)\s*(?:[-+*/%&|^]|<<|>>)?=(?!=)")


def _header_steps_an_array(loop: LoopIR, loop_text: str) -> bool:
    """`for (i = 0; i < n; i++, p++)`: the header's update steps a pointer the body reads (`*p`), which the
    vector code indexes from its entry value instead: the body alone cannot run the remainder."""
    start = loop_text.find("(")
    if not loop_text.startswith("for") or start < 0:
        return False
    depth, parts, part = 0, [], ""
    for ch in loop_text[start + 1:]:
        if ch == ")" and depth == 0:
            break
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == ";" and depth == 0:
            parts.append(part)
            part = ""
        else:
            part += ch
    names = set(re.findall(r"[A-Za-z_]\w*", part)) if len(parts) == 2 else set()
    return any(a.root in names for a in loop.arrays)


def _body_text_fits(loop: LoopIR, text: str) -> bool:
    """The body's own text assigns only the loop's scalars (no pointer it walks with `p++` or `p += 4`:
    the vector code indexes from the start and the scalar remainder continues by index)."""
    if "++" in text or "--" in text:
        return False
    scalars = {sc.name for sc in loop.scalars}
    return all(m.group(1) in scalars for m in _ASSIGNED.finditer(text))


def _scalar_loop(loop: LoopIR, printer: ScalarPrinter) -> list[str]:
    decl = f"{printer.iv} = {loop.lower}" if not loop.iv_declared_in_loop else \
        f"{loop.iv_type.spelling or loop.iv_type.c} {printer.iv} = {loop.lower}"
    inc = {1: f"{printer.iv}++", -1: f"{printer.iv}--"}.get(loop.step, f"{printer.iv} += {loop.step}")
    test = f"{printer.iv} {loop.cmp} {loop.upper}"
    if loop.runs_at_least_once:  # a do-while's body runs before its first test
        start = [] if loop.lower.strip() == printer.iv else [f"    {decl};"]  # `i = i` says nothing
        return ["{", *start, "    do {", *printer.stmts(loop.body, "        "), f"        {inc};",
                f"    }} while ({test});", "}"]
    return [f"for ({decl}; {test}; {inc}) {{", *printer.stmts(loop.body, "    "), "}"]


def _guard_condition(flags: tuple[str, ...], table: IsaTable) -> str:
    return guard_condition(flags, {f: info.macro for f, info in table.flags.items()}) or "1"


def _guarded_edit(vector: list[str], original: str, flags: tuple[str, ...], table: IsaTable, span: Span,
                  source: bytes | None) -> TextEdit:
    """Replace the loop by `#if <ISA macros>` vector block `#else` original loop `#endif`."""
    indent, line_start = line_indent(source, span)
    start = span
    if line_start is not None:  # take the loop's indentation into the edit so `#if` starts its line
        start = Span(line_start, span.end_byte, Point(span.start.line, 0), span.end)
    else:
        indent = " " * span.start.column
    continues = line_start is None
    if line_start is not None and source is not None:
        rest = source[span.end_byte:source.find(b"\n", span.end_byte) if b"\n" in source[span.end_byte:] else len(source)]
        continues = bool(rest.strip())
    before, after = guard_wrap(_guard_condition(flags, table), "\n".join(indent + x for x in vector), indent,
                               line_start=line_start is not None, line_continues=continues)
    return TextEdit(start, before + original + after)


def _enabled(flag: str, user_flags: tuple[str, ...] | None, table: IsaTable) -> bool:
    if not user_flags:
        return False
    if flag in user_flags:
        return True
    for f in user_flags:
        if f.startswith("-march="):
            arch = f.split("=", 1)[1]
            if arch == "native":  # what this machine has, not what a list of CPU names suggests
                from simdlens.sandbox.cpu import host_cpu

                known = table.flags.get(flag)
                if (known.feature if known is not None else flag.removeprefix("-m")) in host_cpu().isa:
                    return True
            elif any(arch.startswith(x) for x in _MARCH_IMPLIES.get(flag, ())):
                return True
    return flag in ("-mavx2", "-mfma") and "-mavx512f" in user_flags


def _cast_type(param: KernelParam) -> str:
    """The parameter's type as a cast: its declaration (as the helper spells it) without the name and
    restrict qualifiers."""
    decl = re.sub(r"\b(?:restrict|__restrict__|__restrict)\b", "", param.signature_decl)
    named = list(re.finditer(rf"\b{re.escape(param.name)}\b", decl))
    if named:
        decl = decl[:named[-1].start()] + decl[named[-1].end():]
    return re.sub(r"\s+", " ", decl).strip()


# C++ containers whose storage `.data()` hands to the helper as the pointer the kernel takes.
_CONTIGUOUS = re.compile(r"\b(?:std::)?(?:vector|array|span)\s*<\s*(?!bool\b)")


def _storage_argument(param: KernelParam, loop: LoopIR, language: str) -> str | None:
    """What the dispatch call passes for an array parameter: the user's pointer or array, or a
    container's `.data()`; None when the user's object is something else (a `std::valarray`, a type
    simdlens does not know) and no pointer to its elements can be written."""
    user = param.source or param.name
    array = next((a for a in loop.arrays if a.root == user), None)
    decl = array.decl if array is not None else ""
    if _CONTIGUOUS.search(decl):
        if re.search(r">\s*(?:const\s*)?\*", decl):
            return None  # a pointer to a container
        return f"({_cast_type(param)})({user}).data()"
    plain = array is not None and (array.pointer or "[" in decl) and "<" not in decl
    if language == "cpp" and not plain:
        return None  # a typedef'd or templated object: its storage cannot be named reliably
    # `char *` is not `int8_t *` to C++ (nor without a warning to C): convert explicitly.
    return f"({_cast_type(param)}){user}"


def _dispatch(kernel: Kernel, loop: LoopIR, function: str, table: IsaTable, flags: tuple[str, ...], source: bytes,
              span: Span, site: LoopSite, original: str) -> list[TextEdit] | None:
    """Outline the vector kernel into a target-attributed static helper and call it when the CPU can."""
    if any(p.role == ParamRole.RESULT and p.name.startswith("simdlens_returned") for p in kernel.params):
        return None
    where = enclosing_function_start(source, span, kernel.language)
    if where is None:
        return None
    helper = f"simdlens_{re.sub(r'[^0-9A-Za-z]', '', site.loop_id)[:10]}_{table.name}"
    targets = ",".join(table.flags[f].target for f in flags)
    text = function.replace(f"{kernel.name}(", f"{helper}(", 1)
    before_loop = source[where[0]:span.start_byte].decode("utf-8", errors="replace")
    local_types = re.findall(r"\btypedef\b[^;{}]*?\b([A-Za-z_]\w*)\s*;|\busing\s+([A-Za-z_]\w*)\s*=", before_loop)
    if any(re.search(rf"\b{name}\b", text) for pair in local_types for name in pair if name):
        return None  # the helper lives at file scope, where a typedef of the function is not visible
    # The helper's signature spells types as the kernel does (<stdint.h> names): bring those headers.
    _, present = file_includes(source, where[0], kernel.language)
    headers = "".join(f"{line}\n" for line in re.findall(r"^#include\s*<[^>]+>", kernel.preamble, re.M)
                      if line.split(None, 1)[1].replace(" ", "") not in present)
    helper_text = f"{headers}static __attribute__((target(\"{targets}\"))) {text}\n"
    args = []
    for p in kernel.params:
        user = p.source or p.name
        if p.role == ParamRole.RESULT:
            args.append(f"&{user}")
        elif p.role in (ParamRole.IN, ParamRole.OUT, ParamRole.INOUT):
            storage = _storage_argument(p, loop, site.language)  # the user's file's language, not the kernel's
            if storage is None:
                return None
            args.append(storage)
        else:
            args.append(user)
    call = f"{helper}({', '.join(args)})"
    if kernel.return_type is not None:
        m = re.search(r"return\s+([A-Za-z_]\w*)\s*;\s*}\s*$", kernel.source)
        if m is None:
            return None
        result = next((p.source or p.name for p in kernel.params if p.name == m.group(1)), m.group(1))
        call = f"{result} = {call}"
    cpu = " && ".join(f"__builtin_cpu_supports(\"{table.flags[f].cpu}\")" for f in flags) or "1"
    indent, _ = line_indent(source, span)
    body = "\n".join("    " + x for x in original.splitlines()[1:])  # they carry the loop's indentation
    orig = original.splitlines()[0] + ("\n" + body if body else "")
    replacement = f"if ({cpu}) {{\n{indent}    {call};\n{indent}}} else {{\n{indent}    {orig}\n{indent}}}"
    insert_at = Span(where[0], where[0], Point(where[1], 0), Point(where[1], 0))
    return [TextEdit(insert_at, helper_text + "\n"), TextEdit(span, replacement)]
