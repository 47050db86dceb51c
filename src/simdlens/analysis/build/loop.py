"""The entry point, `build_loop(site, tree, source, ctx)`: finds the loop, refuses code that is SIMD
already, and runs the stages over a `LoopBuilder`: the header, the uses of names, the body, the
liveness of written scalars, and rolling a hand-unrolled pointer walk back up.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import tree_sitter

from simdlens.analysis import TOO_DEEP, mathcalls
from simdlens.analysis.build import complex_values, headers, macros, reroll, scalars, statements, uses, walks
from simdlens.analysis.build.accesses import accesses_of, element_root
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.c_types import ctype_of
from simdlens.analysis.build.declarations import enclosing_function, file_scan, loop_node
from simdlens.analysis.build.syntax import IDENTIFIER, LOOP_TYPES, Unsupported, stmts_of
from simdlens.analysis.context import annotate_reasons, skipping_directive
from simdlens.analysis.inductions import stride_steps
from simdlens.analysis.ir import IV, LoopIR, Moved, Scalar, ScalarRole, Stmt
from simdlens.analysis.loops import found_loop, nested_beyond
from simdlens.analysis.nest import enclosing_counters
from simdlens.analysis.rewritten import rewrite_containing, uses_intrinsics
from simdlens.core import LoopRole, LoopSite, Reason

# Functions whose parenthesised call the parser may read as a function type in a cast (`(crealf(z)) * w`)
_PURE_CALLS = complex_values.COMPLEX_CALLS | mathcalls.known_names()

# Roles of scalars the loop writes (a set: reading enum members costs more than a hash lookup)
_WRITTEN_ROLES = frozenset({ScalarRole.REDUCTION, ScalarRole.INDUCTION, ScalarRole.CARRIED, ScalarRole.ARG_VALUE,
                            ScalarRole.ARG_INDEX, ScalarRole.COUNTER, ScalarRole.LOCAL, ScalarRole.LAST,
                            ScalarRole.RUNNING})


def build_loop(site: LoopSite, tree: tree_sitter.Tree, source: bytes, ctx: Any) -> tuple[LoopIR | None, tuple[Reason, ...]]:
    """The loop at `site` as IR, plus the reasons anything could not be expressed. Never raises."""
    built = _build_loop(site, tree, source, ctx)
    template = getattr(ctx, "template_at", None)
    scope = template(site.span.start_byte) if template is not None else None
    if scope is None:
        return built
    if not scope.problem:  # bound: say which instantiation the loop was read for
        note = scope.note()
        return (built[0], (*built[1], Reason("instantiation", note, site.header))) if note else built
    if not _blocking(built[1]):
        return built  # a loop that needs none of the template's parameters
    names = [n for n, _ in scope.params if n]
    if any(r.code in _UNRESOLVED or any(re.search(rf"\b{re.escape(n)}\b", r.message) for n in names)
           for r in built[1] if _blocking((r,))):
        note = getattr(ctx, "semantic_note", "")  # without clang's facts: the server re-analyses when they come
        return None, (Reason("template", scope.problem, site.header),
                      *((Reason("semantic_facts", note, site.header),) if note else ()))
    return built


# Reasons a loop in a template without one binding gets because a template parameter is not known
_UNRESOLVED = frozenset({"unknown_type", "unknown_identifier", "macro"})


def _build_loop(site: LoopSite, tree: tree_sitter.Tree, source: bytes, ctx: Any) -> tuple[LoopIR | None, tuple[Reason, ...]]:
    try:
        found = found_loop(tree, site.span.start_byte, site.span.end_byte)
        node = found[0] if found is not None else loop_node(tree, site)
        # deeper than the builder may follow (an outer loop is not built: its inner loops are)
        if node is not None and site.role != LoopRole.OUTER and nested_beyond(node):
            return None, (Reason("too_complex", TOO_DEEP, site.header),)
        if getattr(ctx, "unread_includes", None) is not None:  # a FileContext: it knows the build's macros
            skipped = skipping_directive(tree, source, ctx, site.span.start_byte)
            if skipped is not None:  # only when the caller's find_loops did not already leave it out
                return None, (Reason("inactive", f"in code the preprocessor skips with this build's macros: {skipped}",
                                     site.header),)
        scoped = getattr(ctx, "at", None)
        if scoped is not None:  # with the typedefs its function declared before it (`typedef double dd;`)
            ctx = scoped(site.span.start_byte)
        if node is None:
            return None, (Reason("parse", "the loop could not be found in the syntax tree", site.header),)
        lo, hi = node.start_byte, node.end_byte
        # (each full pattern only where a cheap test finds what it needs: they start with a look-behind or \b and
        # try every byte of the loop)
        gnu = _GNU_COMPLEX_PART.search(source, lo, hi) if (
            source.find(b"_real__", lo, hi) >= 0 or source.find(b"_imag__", lo, hi) >= 0) else None
        imaginary = _IMAGINARY_LITERAL.search(source, lo, hi) if _IMAGINARY_HINT.search(source, lo, hi) else None
        if gnu is not None or imaginary is not None:  # GNU C the syntax tree does not know
            built = _gnu_build(site, source, ctx)
            if built is not None:
                return built
            if gnu is not None:
                return None, (complex_values.complex_part_reason(gnu.group().decode(), site.header),)
        if node.has_error:
            expanded = _expanded_build(site, tree, source, ctx)  # `for (…) BODY(i)`: read clang's expansion
            if expanded is not None:
                return expanded
            return None, annotate_reasons((Reason("syntax_error", "the loop has a syntax error", site.header),), ctx)
        done = _already_vectorized(site, node, tree, source)
        if done is not None:
            return None, (done,)
        if site.role != LoopRole.INNERMOST:
            inner = _first_inner_loop(node)
            line = inner.start_point[0] + 1 if inner is not None else 0
            if site.role == LoopRole.OUTER_VECTORIZABLE and inner is not None:
                # the inner loop runs a few constant times: unrolled, the outer loop is an ordinary candidate
                b = _builder(site, node, found, tree, source, ctx)
                b.unroll = inner
                ir, reasons = build_ir(b)
                if ir is not None:
                    return ir, (Reason("outer_vectorizable", f"the inner loop at line {line} runs a few constant "
                                       "times: analysed unrolled, for vectorizing this outer loop", site.header),
                                *reasons)
                return None, (Reason("outer_loop", f"contains the short inner loop at line {line}: a candidate for "
                                     "outer-loop vectorization, but not analysable", site.header), *reasons)
            return None, (Reason("outer_loop", f"contains the loop at line {line}: the inner loop is the candidate",
                                 site.header),)
        b = _builder(site, node, found, tree, source, ctx)
        ir, reasons = build_ir(b)
        for r in reasons:  # `__m256 *v` used without any intrinsic call: still SIMD code
            if r.code == "unknown_type" and (simd := uses_intrinsics(r.message.encode())):
                return None, (Reason("intrinsics", f"already written with SIMD types ({simd})", site.header),)
        if (ir is None and any(r.code in ("macro", "unknown_identifier") for r in reasons)) or _blocked_in_macro(
                reasons, ctx):
            # a statement macro, a macro-made declaration, a macro around a value the builder reads by its
            # syntax (`re_of(*p)` for `crealf(*p)`): try clang's expansion of the loop's function-like macros
            expanded = _expanded_build(site, tree, source, ctx)
            if expanded is not None and expanded[0] is not None and (ir is None or not _blocking(expanded[1])):
                return expanded
        return ir, annotate_reasons(reasons, ctx)
    except RecursionError:
        return None, (Reason("too_complex", TOO_DEEP, site.header),)


def build_around(site: LoopSite, tree: tree_sitter.Tree, source: bytes, ctx: Any,
                 inner_start: int) -> tuple[LoopIR | None, tuple[Reason, ...]]:
    """The statements of an imperfect nest's outer loop at `site` besides its inner loop (the loop starting
    at byte `inner_start`, left out), as the IR of a loop over the outer counter. Never raises."""
    try:
        scoped = getattr(ctx, "at", None)
        if scoped is not None:
            ctx = scoped(site.span.start_byte)
        found = found_loop(tree, site.span.start_byte, site.span.end_byte)
        node = found[0] if found is not None else loop_node(tree, site)
        inner = _first_inner_loop(node) if node is not None else None
        if node is None or node.has_error or inner is None or inner.start_byte != inner_start:
            return None, (Reason("parse", "the nest could not be found in the syntax tree", site.header),)
        b = _builder(site, node, found, tree, source, ctx)
        b.skip = inner
        return build_ir(b)
    except RecursionError:
        return None, (Reason("too_complex", "the loop is too deeply nested to analyse", site.header),)


def _builder(site: LoopSite, node: tree_sitter.Node, found: tuple[tree_sitter.Node, tree_sitter.Node | None] | None,
             tree: tree_sitter.Tree, source: bytes, ctx: Any) -> LoopBuilder:
    """The builder of the loop `node`; `found`: find_loops' record of it (its node and function), if any."""
    fn = found[1] if found is not None else enclosing_function(node)
    b = LoopBuilder(site, node, fn, tree, source, ctx)
    # find_loops counted the loops between this one and its function (`site.depth`): with none, and that function
    # a definition (not a lambda inside one), no loop encloses it, and nothing needs to walk up the tree to see so
    b.unnested = found is not None and site.depth == 0 and fn is not None and fn.type == "function_definition"
    return b


def _blocked_in_macro(reasons: tuple[Reason, ...], ctx: Any) -> bool:
    """Whether a blocking reason points inside a function-like macro's arguments or name (the only case
    where clang's expansion can read the loop differently; re-parsing the file for every blocked loop
    would cost the editor a parse per loop)."""
    facts = getattr(ctx, "facts", None)  # (usually None: getattr(None, …) would raise and catch an AttributeError)
    uses = getattr(facts, "uses", ()) if facts is not None else ()
    return bool(uses) and any(
        r.span is not None and any(u.start < r.span.end_byte and r.span.start_byte < u.end for u in uses)
        for r in reasons if _blocking((r,)))


def _blocking(reasons: tuple[Reason, ...]) -> bool:
    """Whether a reason stops the loop from being a candidate (not a note, not a run-time check)."""
    from simdlens.analysis.legality import CHECKS, INFORMATIONAL

    return any(r.code not in INFORMATIONAL and r.code not in CHECKS for r in reasons)


def _expanded_build(site: LoopSite, tree: tree_sitter.Tree, source: bytes,
                    ctx: Any) -> tuple[LoopIR | None, tuple[Reason, ...]] | None:
    """The loop built from its text with clang's expansion of the function-like macros it uses (a body
    that is `BODY(i)`, a statement macro); None without facts, without such macros, or when the
    expanded text does not parse either. Positions after an expansion are those of the expanded text."""
    from simdlens.analysis.clang_facts import expanded_text

    lo, hi = site.span.start_byte, site.span.end_byte
    expanded = expanded_text(getattr(ctx, "facts", None), source, lo, hi)
    if expanded is None:
        return None
    text, what = expanded
    note = Reason("macro_expanded", f"read through clang's expansion of {what}", site.header)
    return _build_from_text(site, text, len(text) - len(source), ctx, note)


def _gnu_build(site: LoopSite, source: bytes, ctx: Any) -> tuple[LoopIR | None, tuple[Reason, ...]] | None:
    """The loop built from its text with the GNU C tree-sitter does not parse written in forms it does,
    with the same meaning: the unary `__real__ x[i]` as `__real__(x[i])` (it binds like any unary operator,
    after the postfix ones; `__imag__ *p` even parses as a product), and an imaginary constant `2.0fi` as
    `__builtin_complex(0.0f, 2.0f)` (the complex (+0, 2) of its type). None when that does not parse."""
    lo, hi = site.span.start_byte, site.span.end_byte
    loop_text = _GNU_PART_OPERAND.sub(rb"\1(\2)", source[lo:hi])
    loop_text = _IMAGINARY_LITERAL.sub(_imaginary_as_complex, loop_text)
    text = source[:lo] + loop_text + source[hi:]
    return _build_from_text(site, text, len(text) - len(source), ctx, None)


def _imaginary_as_complex(m: re.Match[bytes]) -> bytes:
    single = b"f" in m.group(2).lower()
    return b"__builtin_complex(%s, %s)" % (b"0.0f" if single else b"0.0", m.group(1) + (b"f" if single else b""))


def _build_from_text(site: LoopSite, text: bytes, delta: int, ctx: Any,
                     note: Reason | None) -> tuple[LoopIR | None, tuple[Reason, ...]] | None:
    """The loop at the site's start in `text`, which differs from the source inside the loop only and is
    `delta` bytes longer; None when it does not parse there."""
    from simdlens.analysis.parse import parse

    lo, hi = site.span.start_byte, site.span.end_byte
    new_tree = parse(text, site.language)
    wider = replace(site, span=replace(site.span, end_byte=hi + delta))
    node = new_tree.root_node.descendant_for_byte_range(lo, lo + 1)
    while node is not None and not (node.type in LOOP_TYPES and node.start_byte == lo):
        node = node.parent
    if node is None or node.end_byte != hi + delta or node.has_error:
        return None
    b = LoopBuilder(wider, node, enclosing_function(node), new_tree, text, ctx)
    ir, reasons = build_ir(b)
    return ir, annotate_reasons((note, *reasons) if note is not None else reasons, ctx)


def _already_vectorized(site: LoopSite, node: tree_sitter.Node, tree: tree_sitter.Tree, source: bytes) -> Reason | None:
    """A loop of a rewrite simdlens applied (vector loop, tail, or the original kept under #else), or
    a loop written with SIMD intrinsics: proposing it again would vectorize vectorized code."""
    regions = file_scan(tree).rewrites_in(source)
    if regions:
        rw = rewrite_containing(regions, site.span.start_byte, site.span.end_byte)
        if rw is not None:
            return Reason("simdlens_rewrite", f"part of a simdlens rewrite ({rw.description})", site.header)
    if site.role == LoopRole.OUTER:
        return None  # its inner loop says it
    found = uses_intrinsics(source[node.start_byte:node.end_byte])
    if found:
        return Reason("intrinsics", f"already written with SIMD intrinsics ({found})", site.header)
    return None


def _first_inner_loop(node: tree_sitter.Node) -> tree_sitter.Node | None:
    stack = list(reversed(node.named_children))
    while stack:
        n = stack.pop()
        if n.type in LOOP_TYPES:
            return n
        stack.extend(reversed(n.named_children))
    return None


def build_ir(lb: LoopBuilder) -> tuple[LoopIR | None, tuple[Reason, ...]]:
    try:
        header = headers.header(lb)
    except Unsupported as e:
        return None, (e.reason,)
    body = lb.body_node
    if body is None:
        return None, (Reason("parse", "the loop has no body", lb.site.header),)
    # read by the condition before each iteration's body (a bound the body changes has its own reason)
    lb.header_reads = set(lb.scalars) - set(IDENTIFIER.findall(header["upper"]))
    lb.bounds = (header["lower"], header["upper"], header["cmp"], header["step"])
    lb.enclosing = () if lb.unnested else enclosing_counters(lb.node, lb.source)
    if _PARENTHESISED_NAME.search(lb.source, body.start_byte, body.end_byte):
        body = without_misread_casts(lb, body)
    uses.scan_uses(lb, body)
    pre: list[Stmt] = header.pop("exits")
    stmts = scalars.carried_through_temporaries(lb, pre + statements.block(lb, stmts_of(body), cond=False))
    clash = scalars.argindex_overwritten(tuple(stmts))
    if clash is not None:
        return None, (*lb.reasons, clash)
    bound_names = set(IDENTIFIER.findall(header["upper"])) - {lb.iv}
    if lb.pointer_walk and lb.count_var:  # stepped by the excluded statement or the header only
        bound_names.discard(lb.count_var)
    bound_names.discard(lb.walks_to_end)  # the walk's own pointer: `end - p` is the count from its entry value
    for name in sorted(bound_names):
        if name in lb.written_names:
            lb.reasons.append(Reason("not_counted", f"the body changes {name}, which the loop bound uses: the "
                                     "trip count is not known on entry", lb.site.header))
    iv_live = uses.used_after(lb, lb.iv) if not header["declared"] else False
    for name, sc in list(lb.scalars.items()):
        if sc.role in _WRITTEN_ROLES and (name not in lb.locals or sc.decl):  # body-declared: never live
            live = uses.used_after(lb, name)
            if live != sc.live_out:
                lb.scalars[name] = Scalar(sc.name, sc.type, sc.role, live, sc.decl)
    unrolled = 0
    if lb.pointer_walk and lb.walkers and not any(isinstance(x, IV) for st in stmts for x in walks.stmt_exprs(st)):
        again = walks.reroll(stmts, lb.walkers)
        if again is not None and lb.count_move[1] == 0:
            stmts, unrolled = again
            header["trip"] = header["upper"] = f"(({unrolled}) * ({header['trip']}))"
            lb.walkers = {name: 1 for name in lb.walkers}
    rolled = 0
    if not lb.pointer_walk and header["step"] >= 2 and header["cmp"] in ("<", "<=") and not header.get("once"):
        copy = reroll.reroll_counted(stmts, header["step"])
        if copy is not None:  # `for (i = m; i < n; i += 4) { d[i] = ..; d[i + 1] = ..; .. }`: one element a step
            stmts, rolled = copy, header["step"]
            header["trip"] = f"(long long)({rolled}) * ({header['trip']})"
            header["upper"] = f"({header['lower']}) + {header['trip']}"
            header["cmp"], header["step"] = "<", 1
            lb.reasons.append(Reason("unrolled", f"the body is {rolled} hand-unrolled copies of one iteration: "
                                     "read as that iteration over the same elements", lb.site.header))
    stored = {a.root for a, w, _s in accesses_of(tuple(stmts)) if w}
    for name in sorted(lb.scalars):  # `*incx`, `dims[0]` read as invariant (accesses.invariant_element)
        root = element_root(name)
        if root and root in stored:
            return None, (*lb.reasons, Reason("variable_step", f"the loop reads {name} as a value that does not change "
                                              f"and stores through {root}: it may change it", lb.site.header))
    for name, kinds in sorted(lb.step_kinds.items()):
        if name in lb.walk_strides and len(kinds) > 1:
            return None, (*lb.reasons, Reason("variable_step", f"{name} advances by the run-time stride "
                                              f"{lb.walk_strides[name]} and by a constant in one iteration",
                                              lb.site.header))
    for stride in stride_steps(tuple(stmts)) if lb.allow_strides else ():  # `ix += incx; … x[ix]`: unit while incx == 1
        if lb.unit_strides.setdefault(stride, "1") != "1":
            return None, (*lb.reasons, Reason("variable_step", f"{stride} steps an index by elements and a byte "
                                              "walk by bytes", lb.site.header))
    if lb.index_strides and any(a.coeff and not a.stride for a, _w, _s in accesses_of(tuple(stmts))):
        # a subscript's stride beside a walk that is contiguous whatever it is (`col[r] = M[r * ld]`) is most
        # often a matrix's leading dimension, where the unit is the degenerate one-column case: read as before.
        # A stepped index or pointer (`y[iy] += t * a[i + j*lda]; iy += incy;`, BLAS level 2) is a vector's
        # increment, whose unit is the common case: it keeps its guard
        unstrided = LoopBuilder(lb.site, lb.node, lb.fn, lb.tree, lb.source, lb.ctx)
        unstrided.allow_strides = False
        return build_ir(unstrided)
    for name, stride in sorted(lb.walk_strides.items()):
        unit = lb.unit_strides.setdefault(stride, "1")  # no read through a cast: one element
        plain = next((a for a, _w, _s in accesses_of(tuple(stmts)) if a.stride == stride and a.base == a.root), None)
        if unit != "1" and (plain is not None or uses.used_after(lb, name)):
            return None, (*lb.reasons, Reason("variable_step", f"{name} walks {unit}-byte elements by {stride} bytes "
                                              "and is also read as bytes, or after the loop", lb.site.header))
    moved: list[Moved] = []
    if lb.walkers or lb.count_var:
        for name in sorted(lb.walkers):
            if name not in lb.walk_alias and uses.used_after(lb, name):  # a header's pointer dies with it
                moved.append(Moved(name, lb.walkers[name], 0, pointer=True))
        if lb.count_var and uses.used_after(lb, lb.count_var):
            moved.append(Moved(lb.count_var, lb.count_move[0], lb.count_move[1], every=max(unrolled, 1)))
    if lb.pointer_walk:
        lb.reasons.append(Reason("pointer_walk", "walks pointers (" + ", ".join(sorted(lb.walkers))
                                 + "): counted with a synthetic counter"
                                 + (f"; the body is {unrolled} hand-unrolled copies of one iteration" if unrolled
                                    else ""), lb.site.header))
    ir = LoopIR(
        iv=lb.iv, iv_type=lb.iv_type, lower=header["lower"], upper=header["upper"], cmp=header["cmp"],
        step=header["step"], trip_count=header["trip"], body=tuple(stmts),
        arrays=tuple(sorted(lb.arrays.values(), key=lambda a: a.root)),
        scalars=tuple(sorted(lb.scalars.values(), key=lambda s: s.name)),
        iv_declared_in_loop=header["declared"], iv_live_out=iv_live,
        runs_at_least_once=header.get("once", False), moved=tuple(moved), setup=tuple(lb.setup),
        constants=tuple(dict.fromkeys(lb.constants)), enclosing=lb.enclosing, rolled=rolled,
        unit_strides=tuple(sorted(lb.unit_strides.items())),
    )
    return ir, tuple(lb.reasons)


def without_misread_casts(lb: LoopBuilder, body: tree_sitter.Node) -> tree_sitter.Node:
    """The body re-read where the parser took a parenthesised value for a cast (`(k) + a[i] * 2`):
    the file parsed again with those parentheses blanked, which moves no byte."""
    def is_value(name: str) -> bool:
        if ctype_of(name, lb.ctx) is not None:
            return False
        ctx = lb.ctx
        return (name == lb.iv or lb.decl_of(name) is not None or name in _PURE_CALLS
                or (ctx is not None and (name in getattr(ctx, "macros", {})
                                         or name in getattr(ctx, "enum_constants", {}))))

    fixed = macros.unparenthesised_values(lb.source, body, is_value)
    if fixed is None:
        return body
    from simdlens.analysis.parse import parse

    root = parse(fixed, lb.site.language).root_node

    def same(old: tree_sitter.Node) -> tree_sitter.Node | None:
        new = root.descendant_for_byte_range(old.start_byte, old.end_byte)
        while new is not None and (new.start_byte, new.end_byte, new.type) != (old.start_byte, old.end_byte,
                                                                               old.type):
            new = new.parent if new.parent is not None and new.parent.end_byte <= old.end_byte else None
        return new

    new_body = same(body)
    new_exclude = same(lb.exclude) if lb.exclude is not None else None
    if new_body is None or new_body.has_error or (lb.exclude is not None and new_exclude is None):
        return body
    lb.body_node, lb.exclude = new_body, new_exclude
    lb.text_source = fixed  # the same bytes outside the body
    return new_body


_GNU_COMPLEX_PART = re.compile(rb"\b__(?:real|imag)__\b")
# what every imaginary constant below holds: a digit or point, then its suffix
_IMAGINARY_HINT = re.compile(rb"[\d.][fF]?[iIjJ]")
# a GNU imaginary floating constant (`1.0i`, `2.5fi`, `1e3if`, `.5j`): its value, and its suffix
_IMAGINARY_LITERAL = re.compile(rb"(?<![\w.])((?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)"
                                rb"([fF][iIjJ]|[iIjJ][fF]?)(?![\w.])")
# `__real__` and the postfix expression it applies to: a name or a parenthesised group, then subscripts,
# calls, members and ++/--, with any `*` in front (`__real__ *p++` is `__real__(*p++)`)
_GNU_PART_OPERAND = re.compile(rb"\b(__(?:real|imag)__)\s+(\**\s*(?:[A-Za-z_]\w*|\([^()]*\))"
                               rb"(?:\s*\[[^\[\]]*\]|\s*\([^()]*\)|\s*(?:\.|->)\s*[A-Za-z_]\w*|\s*\+\+|\s*--)*)")

_PARENTHESISED_NAME = re.compile(rb"\(\s*[A-Za-z_]\w*\s*(?:\((?:[^()]|\([^()]*\))*\)\s*)?\)\s*[-+*&]")
