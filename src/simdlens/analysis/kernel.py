"""Extracting a loop as a stand-alone scalar function: the reference every rewrite is tested against.

Kernel format (C11, or C++17 only when the loop's own text needs C++):

    <preamble: #include <stdint.h>, <stddef.h>, <math.h>, ... and the file's macros / typedefs /
     enums the loop uses, copied verbatim>

    RET simdlens_kernel(PARAMS)
    {
        <declarations of counters declared outside the loop, and of results passed by pointer>
        <the loop, exactly as the user wrote it, except for the renames listed in KernelParam.source>
        <storing results / return>
    }

- Parameters are the loop's free variables, named like the user's variables so that a rewrite of the
  kernel body splices back into the user's file: arrays and pointers as `T *name` (a global array or
  a local array becomes a pointer parameter of the same name; a 2-D array `float m[N][M]` becomes
  `float (*m)[M]`), `const` when the loop only reads them, `restrict` when the user wrote it or the
  parameter stands for an array object (distinct objects never overlap: the compiler knows it in the
  user's file) the harness never calls overlapping;
  scalars by value. Member arrays and members read as scalars are renamed (`p->x` -> `p_x`,
  `v.size()` -> `v_size`, `v.data()` -> `v`), recorded in `KernelParam.source`.
- Results: the values the loop leaves behind (reductions, argmin/argmax, pack counters, inductions and
  carried scalars used after the loop, the counter when it is used after the loop). One result is the
  return value and its initial value is a by-value parameter of the same name; several results are
  RESULT pointer parameters `simdlens_<name>` read at entry and written back at exit (an index whose entry
  value places an array's footprint, `x[ix]`, stays a value parameter; its pointer is only written). A loop that
  `return`s from the enclosing function returns that value, and sets `*simdlens_returned` to 1 when it
  did (0 when the loop ran to its end).
- Footprints give, per array parameter, the lowest and highest element index touched as C
  expressions over the parameters (relative to the pointer passed; `lo` may be negative).
- Parameter types are spelled from the user's own declarations (`KernelParam.spelled`: `sample32f_t *c`,
  `const REAL *x`), read from the syntax tree, never re-synthesised; `KernelParam.decl` keeps simdlens's
  canonical reading for the harness's driver. `Kernel.context` is the user's file up to the enclosing
  function: the sandbox compiles the kernel after it (the preamble above is the fallback), and
  `Kernel.type_facts` are the types the harness assumes, asserted at compile time there.
- `Kernel.real_sizes`: the size the code itself uses when its arrays say it (a 1-D array object's
  declared extent, a 2-D row length); `Kernel.nest`: when the loop is the inner loop of a nest that
  analysis/nest.py can time, the nest kernel (the outer loop as written around `simdlens_inner(...)`);
  both enter `content_hash` (they change what is measured).
- A loop judged vectorizable without a kernel gets a reason (`kernel_or_reason`), never silence.
- `content_hash` is a sha256 of the token stream of preamble + function + type facts, plus the digest
  of the file context's declarations and of the text of the local headers it includes (comments and
  layout in the file do not matter; the file's name and the loop's position do not enter it).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from simdlens.analysis import mathcalls
from simdlens.analysis.build import WALK_IV, accesses_of, element_root, strip_implicit_casts
from simdlens.analysis.build.headers import BEGIN_CALL
from simdlens.analysis.context.conditionals import open_conditionals
from simdlens.analysis.context.templates import template_parameters
from simdlens.analysis.inductions import induction_subscript
from simdlens.analysis.ir import (
    INT32,
    INT64,
    IV,
    Access,
    ArgReduce,
    Array,
    Binary,
    Call,
    Carry,
    Const,
    CType,
    Exit,
    Expand,
    Expr,
    Load,
    LoopIR,
    Pack,
    ScalarRole,
    Step,
    Unary,
    Var,
    walk_exprs,
    walk_stmts,
)
from simdlens.analysis.legality import guarded_roots
from simdlens.analysis.nest import distinct_param, expression_pattern, mentions
from simdlens.analysis.parse import normalized_tokens, tokenize
from simdlens.analysis.typefacts import fact_type
from simdlens.core import (
    Analysis,
    Footprint,
    Kernel,
    KernelParam,
    LoopVerdict,
    ParamRole,
    TypeFact,
    UserContext,
)

KERNEL_NAME = "simdlens_kernel"

_C_KEYWORDS = frozenset(["auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool", "bool", "true", "false", "size_t", "NULL"])
_CPP_MARKERS = re.compile(r"::|\bstatic_cast\b|\breinterpret_cast\b|\bnullptr\b|\btemplate\b|\bnamespace\b"
                          r"|\busing\b|\bconstexpr\b|\bauto\b|\bclass\b")
_RESULT_ROLES = frozenset({ScalarRole.REDUCTION, ScalarRole.ARG_VALUE, ScalarRole.ARG_INDEX, ScalarRole.COUNTER})


class NoKernel(ValueError):
    """Why a loop judged vectorizable has no kernel (a sentence for the user)."""


def extract_kernel(analysis: Analysis, source: bytes, ctx: Any = None) -> Kernel | None:
    """The kernel of a vectorizable loop, or None (not vectorizable, or not expressible). Never raises."""
    found = kernel_or_reason(analysis, source, ctx)
    return found if isinstance(found, Kernel) else None


def kernel_or_reason(analysis: Analysis, source: bytes, ctx: Any = None) -> Kernel | str:
    """The kernel of a loop, or the reason there is none ("the loop is not vectorizable", "a computed
    subscript a[i*i] has no footprint the harness can allocate", ...). Never raises."""
    try:
        return _extract(analysis, source, ctx)
    except NoKernel as exc:
        return str(exc)
    except (ValueError, KeyError, IndexError, AttributeError, TypeError, AssertionError, RecursionError) as exc:
        return f"simdlens could not write this loop as a stand-alone function (internal: {type(exc).__name__})"


def _extract(analysis: Analysis, source: bytes, ctx: Any) -> Kernel:
    loop = analysis.loop
    if loop is None or analysis.verdict == LoopVerdict.NOT_VECTORIZABLE:
        raise NoKernel("the loop is not vectorizable")
    site = analysis.site
    template = getattr(ctx, "template_at", None)
    bound = template(site.span.start_byte) if template is not None else None
    if bound is not None and bound.problem:
        bound = None  # a template loop that needs none of its parameters (build_loop refuses the others)
    scoped = getattr(ctx, "at", None)
    if scoped is not None:  # the typedefs its function declared before the loop go into the preamble too
        ctx = scoped(site.span.start_byte)
    text = source[site.span.start_byte:site.span.end_byte].decode("utf-8", "replace")
    renames: dict[str, str] = {}  # user expression -> kernel parameter name
    taken = set(re.findall(r"[A-Za-z_]\w*", text))
    accs = accesses_of(loop.body)
    written = {a.root for a, w, _ in accs if w}
    read = {a.root for a, w, _ in accs if not w}
    guarded_roots = _guarded_roots(loop)
    range_for = "range_for" in analysis.facts
    if range_for:
        # `for (T &x : v) body` -> an indexed loop over the pointer parameter v, body unchanged
        header = source[site.header.start_byte:site.header.end_byte].decode("utf-8", "replace")
        body = source[site.body.start_byte:site.body.end_byte].decode("utf-8", "replace")
        m = re.fullmatch(r"\s*for\s*\((?P<decl>.*?)(?<!:):(?!:)(?P<rng>.*)\)\s*", header, re.DOTALL)
        if m is None:
            raise NoKernel("cannot read the range-for header")
        k = WALK_IV
        text = (f"for (size_t {k} = 0; {k} < {loop.upper}; {k}++) {{\n        {m.group('decl').strip()} = "
                f"{m.group('rng').strip()}[{k}];\n        {body}\n    }}")
    iterator_for = "iterator_for" in analysis.facts
    if iterator_for:
        # `for (auto it = v.begin(); it != v.end(); ++it) body` -> an indexed loop with `it` a pointer into v
        header = source[site.header.start_byte:site.header.end_byte].decode("utf-8", "replace")
        body = source[site.body.start_byte:site.body.end_byte].decode("utf-8", "replace")
        m = re.fullmatch(r"\s*for\s*\((?P<decl>[^;=]*?)(?P<it>\w+)\s*=\s*(?P<init>[^;]*);.*\)\s*", header, re.DOTALL)
        got = BEGIN_CALL.fullmatch(re.sub(r"\s+", "", m.group("init"))) if m is not None else None
        if m is None or got is None:
            raise NoKernel("cannot read the iterator loop's header")
        k = WALK_IV
        text = (f"for (size_t {k} = 0; {k} < {loop.upper}; {k}++) {{\n        auto *{m.group('it')} = "
                f"&{got.group(1) or got.group(2)}[{k}];\n        {body}\n    }}")
    range_for = range_for or iterator_for  # C++ either way
    cpp_needed = site.language == "cpp" and (range_for or bool(_CPP_MARKERS.search(_strip_comments(text))))
    restrict_kw = "__restrict" if cpp_needed else "restrict"

    user = _UserDeclarations(source, site)
    params: list[tuple[int, KernelParam]] = []  # (first position in text, param)
    pre_decls: list[str] = []
    post: list[str] = []

    def position(name: str) -> int:
        m = re.search(r"(?<![\w.>])" + re.escape(name.split("->")[0].split(".")[0]) + r"\b", text)
        return m.start() if m else len(text)

    def fresh(base: str) -> str:
        name = re.sub(r"\W+", "_", base).strip("_") or "p"
        while name in taken:
            name += "_"
        taken.add(name)
        return name

    # arrays
    for arr in loop.arrays:
        root = arr.root
        if root not in read and root not in written:
            continue
        if "->" in root or "." in root:
            pname = fresh(root.replace("->", "_").replace(".", "_"))
            renames[root] = pname
            src = root
        else:
            pname = root
            src = ""
            if arr.elem and _is_container(arr.decl):
                renames[f"{root}.data()"] = root
                if root + ".size()" in {s.name for s in loop.scalars}:
                    renames[f"{root}.size()"] = fresh(root + "_size")
        role = ParamRole.INOUT if root in written and root in read else ParamRole.OUT if root in written else ParamRole.IN
        const = "const " if root not in written else ""
        rq = f"{restrict_kw} " if arr.restrict else ""
        elem = arr.elem.c
        extents = _inner_extents(arr.decl, root)
        rows = "][".join(extents) if extents else None
        if rows is None and any(a.root == root and a.base.startswith(root + "[") for a, _w, _s in accs):
            raise NoKernel(f"{root} is a pointer to pointers (rows in separate allocations): the harness cannot "
                           "allocate its footprint")
        at = position(root)
        if extents:
            # a 2-D array (`T A[N][M]`, `T (*A)[M]`, VLA `T A[n][m]`) is passed as a pointer to its rows
            # (a 3-D one, `T A[n][q][p]`, as a pointer to its planes)
            if not all(_constant_extent(x, ctx) for x in extents):
                names = sorted({n for x in extents for n in _extent_names(x)})
                ext_params = [] if cpp_needed or site.language == "cpp" or not names else [
                    n if loop.scalar(n) is not None else _extent_param(n, user, ctx) for n in names]
                if not ext_params or None in ext_params:
                    shape = f"row length {rows}" if len(extents) == 1 else f"inner extents [{rows}]"
                    raise NoKernel(f"the {shape} of the array {root} is neither a constant nor a parameter "
                                   "the kernel can declare before it")
                for extent in ext_params:
                    if isinstance(extent, KernelParam) and extent.name not in {q.name for _, q in params}:
                        params.append((-1, extent))  # read by the array's type only: declared first
                at = max([at, *(position(n) + 1 for n in names if loop.scalar(n) is not None)])
            decl = f"{const}{elem} (*{rq}{pname})[{rows}]"
        elif arr.elem.is_complex:  # its own spelling: the rewrite reads it as (real, imaginary) pairs
            decl = f"{const}{arr.elem.spelling} *{rq}{pname}"
        else:
            decl = f"{const}{elem} *{rq}{pname}"
        spelled = "" if src else user.array_param(root, pname, const, rq, len(extents))
        if arr.elem.is_complex and _COMPLEX_WORD.search(arr.decl) and not _COMPLEX_WORD.search(spelled):
            spelled = ""  # tree-sitter reads `float complex *c` as `float` and a declarator `complex`
        params.append((at, KernelParam(pname, decl, role, arr.elem, arr.restrict, src, spelled)))

    # scalars
    results: list[tuple[str, CType]] = []
    body_locals = _body_locals(loop, text)
    # an fmaxf argmax's best value that nothing reads after the loop: its zero's sign is the compiler's choice
    unread = {s.value_var for s in walk_stmts(loop.body) if isinstance(s, ArgReduce) and s.call and not s.value_read}
    for sc in loop.scalars:
        name = sc.name
        if name in body_locals:
            continue
        if name.endswith(".size()"):
            pname = renames.get(name) or fresh(name.replace(".size()", "_size"))
            renames[name] = pname
            src = name
        elif "->" in name or "." in name or " - " in name or element_root(name):
            # a member, `end - p` (walks.py), `*incx`, `dims[0]`
            pname = fresh(name.replace("->", "_").replace(".", "_").replace(" - ", "_minus_"))
            renames[name] = pname
            src = name
        else:
            pname, src = name, ""
        in_bound = any(mentions(expand_macros(t, ctx), name) for t in (loop.trip_count, loop.upper, loop.lower))
        role = ParamRole.COUNT if in_bound and sc.role == ScalarRole.INVARIANT else ParamRole.SCALAR
        spelled = "" if src else user.scalar_param(name, pname)
        ctext = sc.type.spelling if sc.type.is_complex else sc.type.c  # a complex scalar keeps its own type
        if sc.type.is_complex and _COMPLEX_WORD.search(sc.decl or "") and not _COMPLEX_WORD.search(spelled):
            spelled = ""  # tree-sitter reads `float complex s` as `float` and a declarator `complex`
        params.append((position(name), KernelParam(pname, f"{ctext} {pname}", role, sc.type, False, src, spelled)))
        if (sc.role in _RESULT_ROLES or (sc.role != ScalarRole.INVARIANT and sc.live_out)) and name not in unread:
            results.append((pname, sc.type))
    # the counter, when declared outside the loop
    if not loop.iv_declared_in_loop:
        if loop.lower.strip() == loop.iv:
            role = ParamRole.COUNT
            params.append((position(loop.iv), KernelParam(loop.iv, f"{loop.iv_type.c} {loop.iv}", role, loop.iv_type,
                                                           spelled=user.scalar_param(loop.iv, loop.iv))))
        else:
            pre_decls.append(f"{user.type_of(loop.iv) or loop.iv_type.c} {loop.iv};")
        if loop.iv_live_out:
            results.append((loop.iv, loop.iv_type))

    exits = [s for s in walk_stmts(loop.body) if isinstance(s, Exit)]
    returns = [s for s in exits if s.kind == "return"]
    pre_decls[0:0] = loop.constants  # the function's constants the loop's text names
    pre_decls += [_rename(decl, renames) for decl in loop.setup]  # `end = p + (end - p)`: the count passed in
    # pointers and counts the loop moves and the user's code reads after it: how far they moved is a result
    moved_post: list[str] = []
    for mv in loop.moved:
        if returns or mv.name in renames:
            raise NoKernel(f"{mv.name} is moved by the loop and read after it, in a loop that returns or renames it")
        if mv.pointer:
            walker = loop.array(mv.name)
            if walker is None:
                raise NoKernel(f"the walking pointer {mv.name} reaches no array the kernel can allocate")
            entry, far = fresh(f"{mv.name}_at"), fresh(f"{mv.name}_moved")
            # the pointer's own type (GNU C and C++): `char *` is not `int8_t *` to a subtraction, and a walk
            # over structures (read as their members) moves by whole structures
            pre_decls += [f"__typeof__({mv.name}) const {entry} = {mv.name};", f"int64_t {far} = 0;"]
            moved_post.append(f"{far} = {mv.name} - {entry};")
            results.append((far, INT64))
        else:
            count = loop.scalar(mv.name)
            if count is None:
                raise NoKernel(f"the count {mv.name} the loop moves is not a scalar the kernel can pass")
            final = fresh(f"{mv.name}_final")
            pre_decls.append(f"{count.type.c} {final} = 0;")
            moved_post.append(f"{final} = {mv.name};")
            results.append((final, count.type))
    ret_type: CType | None = None
    ret_void = False
    address_in = ""  # the array parameter a returned pointer points into
    if returns:
        vals = [s.value for s in returns if s.value is not None]
        if vals:
            from simdlens.analysis.ir import expr_type

            ret_type = expr_type(vals[0])
        else:
            ret_void = True
        address_in = _returned_address(returns, renames)
        if address_in:
            ret_type = INT64  # the harness compares the element's offset in its array
    params.sort(key=lambda p: (p[0], p[1].name))
    plist = [p for _, p in params]

    if returns:
        flag = fresh("simdlens_returned")
        plist.append(KernelParam(flag, f"int *{flag}", ParamRole.RESULT, INT32))
        pre_decls.append(f"*{flag} = 1;")
        post.append(f"*{flag} = 0;")
        for name, t in results:
            _to_result_pointer(plist, name, t, pre_decls, post, fresh, user)
        post.append("return;" if ret_type is None else "return 0;")
        rtype = ret_type
    elif len(results) == 1:
        rtype = results[0][1]
        post.append(f"return {results[0][0]};")
    else:
        subscripting = frozenset(found[0] for a, _w, _s in accs if (found := induction_subscript(a)) is not None)
        for name, t in results:
            _to_result_pointer(plist, name, t, pre_decls, post, fresh, user, subscripting)
        rtype = None
    del ret_void
    post[0:0] = moved_post

    if not returns and not results and not any(p.role in (ParamRole.OUT, ParamRole.INOUT) for p in plist):
        # nothing observable: a harness could not tell a wrong rewrite from a right one
        raise NoKernel("the loop leaves no result a test can observe (it writes no array and no value used after it)")
    body_text = _rename(text, renames)
    rtext = "const void *" if address_in else rtype.c if rtype else "void"  # any object pointer converts to it
    if rtype is not None and not returns and results:
        rtext = user.type_of(results[0][0]) or rtext  # the user's own spelling of the result's type
        if rtype.is_complex and not _COMPLEX_WORD.search(rtext):  # tree-sitter reads `double complex s` as `double`
            rtext = rtype.spelling
    by_root = {p.source or p.name: p.name for p in plist}
    pairs: set[tuple[str, str]] = set()
    for a, b in analysis.alias_checks:
        if a in by_root and b in by_root and by_root[a] != by_root[b]:
            x, y = sorted((by_root[a], by_root[b]))
            pairs.add((x, y))
    may_alias = tuple(sorted(pairs))
    # Array objects (globals, locals) are distinct: `restrict` in the kernel, as the compiler knows them in the
    # user's file (else -O3 versions the loop or reloads what it hoists there, and the baseline is slower
    # than in the program); never a parameter the harness calls overlapping.
    tested = {name for pair in may_alias for name in pair}
    plist = [p if p.name in tested else distinct_param(p, loop, site.language) for p in plist]
    sig = f"{rtext} {KERNEL_NAME}({', '.join(p.signature_decl for p in plist) or 'void'})"
    lines = [sig, "{"]
    lines += ["    " + d for d in pre_decls]
    lines.append("    " + body_text)
    lines += ["    " + p for p in post]
    lines.append("}")
    func = "\n".join(lines) + "\n"

    preamble, lang = _preamble(loop, text + "\n" + sig + "\n" + "\n".join(loop.setup), ctx, {p.name for p in plist} | set(body_locals),
                               site.language, cpp_needed)
    if any(p.elem is not None and p.elem.is_complex for p in plist):
        header = "#include <complex>" if lang == "cpp" else "#include <complex.h>"
        if header not in preamble:
            preamble = header + "\n" + preamble
        preamble += _misfiled_complex_typedefs(plist, preamble, ctx)
    trip = _rename(loop.trip_count, renames)
    footprints = _footprints(loop, accs, renames, trip, guarded_roots, plist)
    if isinstance(footprints, str):
        raise NoKernel(footprints)
    size_param = _size_param(loop, renames, plist, ctx)
    size_max = _size_max(loop, accs, renames, size_param, ctx) if size_param is not None else None
    context = user.context(set(tokenize(text)), bound.declarations() if bound is not None else ())
    facts = _type_facts(plist, user, loop)
    keyed = preamble + "\n" + func + "".join(f"\n{f.expr}:{f.type}" for f in facts)
    content_hash = hashlib.sha256((normalized_tokens(keyed) + (context.digest if context else "")).encode()).hexdigest()
    headers = getattr(ctx, "header_digest", "")
    if headers:  # the local headers it is compiled after: an edit of one must not serve a stored verdict
        content_hash = hashlib.sha256(f"{content_hash}\0headers:{headers}".encode()).hexdigest()
    real_sizes = _real_sizes(loop, accs, size_max, ctx) if size_param is not None else ()
    if real_sizes:  # they are timed and decide a win: part of what the kernel is
        content_hash = hashlib.sha256(f"{content_hash}\0real:{real_sizes}".encode()).hexdigest()
    unit_strides = tuple((renames.get(name, name), unit) for name, unit in loop.unit_strides)
    if unit_strides:  # they decide the test values of those parameters
        content_hash = hashlib.sha256(f"{content_hash}\0strides:{unit_strides}".encode()).hexdigest()
    kernel = Kernel(
        name=KERNEL_NAME, language=lang, preamble=preamble, source=func, signature=sig, return_type=rtype,
        params=tuple(plist), footprints=tuple(footprints), trip_count=trip, loop_id=site.loop_id,
        content_hash=content_hash, facts=analysis.facts, may_alias=may_alias, loop_span=site.span,
        size_param=size_param, path=site.path, size_max=size_max, context=context, type_facts=facts,
        real_sizes=real_sizes, index_bounds=_index_bounds(loop, accs, renames, source), unit_strides=unit_strides,
        views=_byte_views(loop, accs, plist), returns_address_in=address_in,
        instantiation=bound.condition() if bound is not None else "",
    )
    return _in_nest(kernel, site, source, ctx)


def _byte_views(loop: LoopIR, accs: list[tuple[Access, bool, Any]], params: list[KernelParam]) -> tuple[tuple[str, int], ...]:
    """(parameter, bytes) of each byte array read through a cast to a wider type (`*(float *)p`)."""
    by_root = {p.source or p.name: p.name for p in params}
    views: dict[str, int] = {}
    for a, _w, _s in accs:
        arr = loop.array(a.root)
        if arr is not None and arr.elem.bits == 8 and a.elem.bits > 8 and a.base != a.root and a.root in by_root:
            views[by_root[a.root]] = max(views.get(by_root[a.root], 1), a.elem.bits // 8)
    return tuple(sorted(views.items()))


def _index_bounds(loop: LoopIR, accs: list[tuple[Access, bool, Any]], renames: dict[str, str],
                  source: bytes) -> tuple[tuple[str, str], ...]:
    """The row subscripts of 3-D and deeper arrays after the first, with their extents: `A[r][q][k]` of
    `T A[n][Q][P]` needs 0 <= q < Q (C checks no bound of the first subscript, and the column's bound
    is the footprint's and `size_max`'s); and the column of a column walk (`bb[j][i - 1]`, `j` the
    loop's counter: 0 <= i - 1 < LEN), which no footprint bounds: a test with i = 0 is the user's UB."""
    out: list[tuple[str, str]] = []
    for a, _w, _s in accs:
        arr = loop.array(a.root)
        if arr is not None and a.base == f"(&{a.root}[0][0])" and a.span is not None:
            extents = _inner_extents(arr.decl, a.root)
            rows = _row_indices(source[a.span.start_byte:a.span.end_byte].decode(errors="replace"), a.root)
            if len(extents) == 1 and len(rows) == 2 and not mentions(rows[1], loop.iv):
                pair = (_rename(rows[1], renames), extents[0])
                if pair not in out:
                    out.append(pair)
            continue
        if arr is None or not a.base.startswith(a.root + "["):
            continue
        extents, rows = _inner_extents(arr.decl, a.root), _row_indices(a.base, a.root)
        if len(extents) < 2 or len(rows) != len(extents):
            continue
        for row, ext in zip(rows[1:], extents, strict=False):
            pair = (_rename(row, renames), ext)
            if pair not in out:
                out.append(pair)
    return tuple(out)


def _real_sizes(loop: LoopIR, accs: list[tuple[Access, bool, Any]], size_max: int | None, ctx: Any) -> tuple[int, ...]:
    """The size the code itself uses, when its arrays say it: the row length a 2-D row access allows
    (`size_max`), else the smallest declared extent of a 1-D array the loop walks element by element
    (`float a[LEN]`; a global or a local array, not a pointer)."""
    if size_max is not None:
        return (size_max,)
    extents = []
    for a, _w, _s in accs:
        arr = loop.array(a.root)
        if arr is None or arr.pointer or not arr.extent or a.base != a.root or a.coeff not in (1, -1):
            continue
        value = _int_value(arr.extent, ctx)
        if value is not None and value > 0:
            extents.append(value)
    return (min(extents),) if extents else ()


def _in_nest(kernel: Kernel, site: Any, source: bytes, ctx: Any) -> Kernel:
    """`kernel` with its nest (`Kernel.nest`) when its loop is the inner loop of a nest simdlens can time."""
    from simdlens.analysis.nest import nest_kernel, outer_loop

    if site.depth == 0:
        return kernel
    try:
        syntax = _FileSyntax.of(source, site.language)
        outer = outer_loop(syntax.root, source, site.span.start_byte, site.span.end_byte, imperfect=True,
                           beside_loops=True)
        if outer is None:
            return kernel
        nest = nest_kernel(kernel, outer, lambda text: _int_value(text, ctx), lambda text: expand_macros(text, ctx))
    except (ValueError, KeyError, IndexError, AttributeError, TypeError, RecursionError):
        return kernel
    if isinstance(nest, str):
        return kernel
    # what is timed is part of what the kernel is: another outer loop, another measurement (cache keys)
    content_hash = hashlib.sha256(f"{kernel.content_hash}\0nest:{nest.content_hash}".encode()).hexdigest()
    return replace(kernel, nest=nest, content_hash=content_hash)


def _to_result_pointer(plist: list[KernelParam], name: str, t: CType, pre: list[str], post: list[str],
                       fresh: Any, user: _UserDeclarations, subscripting: frozenset[str] = frozenset()) -> None:
    """Turn the by-value parameter `name` into a RESULT pointer read at entry and written back at exit; a
    name in `subscripting` (`x[ix]`: the harness places x's footprint from ix at entry) keeps its by-value
    parameter and gets a RESULT pointer written at exit only."""
    if t.is_complex:
        raise NoKernel(f"the complex accumulator {name} ('{t.spelling}') is one of several results: a complex "
                       "sum or dot product is rewritten only as the loop's one result")
    ptr = fresh(f"simdlens_{name}")
    for i, p in enumerate(plist):
        if p.name == name and name in subscripting:  # its entry value places a footprint: it stays a value
            plist.append(KernelParam(ptr, f"{t.c} *{ptr}", ParamRole.RESULT, t, False, p.source or name))
            break
        if p.name == name:
            spelled_type = user.type_of(name) if not p.source else ""
            plist[i] = KernelParam(ptr, f"{t.c} *{ptr}", ParamRole.RESULT, t, False, p.source or name,
                                   f"{spelled_type} *{ptr}" if spelled_type else "")
            pre.append(f"{spelled_type or t.c} {name} = *{ptr};")
            break
    else:
        plist.append(KernelParam(ptr, f"{t.c} *{ptr}", ParamRole.RESULT, t, False, name))
    post.insert(0, f"*{ptr} = {name};")


def _misfiled_complex_typedefs(plist: list[KernelParam], preamble: str, ctx: Any) -> str:
    """Typedefs of complex types the declaration reader filed under another name (`typedef double
    _Complex z_t;` under `_Complex`), which the preamble therefore lacks: their text as written."""
    out = ""
    for p in plist:
        name = p.elem.spelling if p.elem is not None and p.elem.is_complex else ""
        if not re.fullmatch(r"[A-Za-z_]\w*", name) or re.search(r"\b" + re.escape(name) + r"\s*;", preamble + out):
            continue
        for td in getattr(ctx, "typedefs", {}).values():
            if re.search(r"\b" + re.escape(name) + r"\s*;\s*$", str(td.text)):
                out += str(td.text) + "\n"
                break
    return out


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*|/\*[\s\S]*?\*/", " ", text)


def _is_container(decl: str) -> bool:
    return bool(re.search(r"\b(?:std::)?(vector|array|valarray|span)\s*<", decl))


def _inner_extents(decl: str, root: str) -> tuple[str, ...]:
    """The extents after the first of an array declaration: the row length of a 2-D array (`T root[A][B]`,
    `T root[][B]`, `T (*root)[B]` -> ("B",)), the plane shape of a 3-D one (`T root[A][B][C]` ->
    ("B", "C")); () for a 1-D array, a pointer, or an extent left empty."""
    name = r"(?<![\w.>])" + re.escape(root)
    m = re.search(name + r"\s*((?:\[[^\]]*\]\s*){2,})", decl)
    groups = re.findall(r"\[([^\]]*)\]", m.group(1))[1:] if m else []
    if not m:
        m = re.search(r"\(\s*\*\s*(?:(?:const|restrict|__restrict__|__restrict|volatile)\s+)*" + re.escape(root)
                      + r"\s*\)\s*((?:\[[^\]]*\]\s*)+)", decl)
        groups = re.findall(r"\[([^\]]*)\]", m.group(1)) if m else []
    extents = tuple(g.strip() for g in groups)
    return extents if extents and all(extents) else ()


def _row_indices(base: str, root: str) -> list[str]:
    """The row subscripts of a row base: `m[j]` -> ["j"], `A[r][q]` -> ["r", "q"]."""
    out: list[str] = []
    depth, start = 0, -1
    for k, ch in enumerate(base[len(root):], len(root)):
        if ch == "[":
            depth += 1
            if depth == 1:
                start = k + 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                out.append(base[start:k])
    return out


def _extent_param(name: str, user: _UserDeclarations, ctx: Any) -> KernelParam | None:
    """A VLA row length the loop itself does not read (`A[i][k]` of `double A[ni][nk]` in a loop over j):
    an integer the kernel takes as a parameter, spelled as the user declared it; None when it is not one."""
    spelled = user.type_of(name)
    resolve = getattr(ctx, "resolve_type", None)
    ctype = resolve(spelled) if resolve is not None and spelled else None
    if ctype is None or ctype.is_float or ctype.is_complex or ctype.spelling in ("bool", "_Bool"):
        return None
    return KernelParam(name, f"{ctype.c} {name}", ParamRole.EXTENT, ctype, False, "", f"{spelled} {name}")


def _extent_names(text: str) -> list[str]:
    """The variables a run-time (VLA) extent reads: `m`, `n + 1` -> ["n"]."""
    return [t for t in re.findall(r"[A-Za-z_]\w*", text) if t not in _C_KEYWORDS]


def _constant_extent(text: str, ctx: Any) -> bool:
    if re.fullmatch(r"\d+[uUlL]*", text):
        return True
    ev = getattr(ctx, "eval_int", None)
    try:
        return ev is not None and ev(text) is not None
    except Exception:
        return False


def _body_locals(loop: LoopIR, text: str) -> set[str]:
    """Scalars declared inside the loop's own text (no parameter needed)."""
    out: set[str] = set()
    for sc in loop.scalars:
        if sc.role == ScalarRole.LOCAL and not sc.decl:
            out.add(sc.name)
    return out


def _rename(text: str, renames: dict[str, str]) -> str:
    for src in sorted(renames, key=len, reverse=True):
        dst = renames[src]
        if src == dst:
            continue
        text = re.sub(expression_pattern(src), dst, text)
    return text


def _guarded_roots(loop: LoopIR) -> set[str]:
    return guarded_roots(loop)


def _preamble(loop: LoopIR, text: str, ctx: Any, params: set[str], language: str, cpp_needed: bool) -> tuple[str, Any]:
    names = {t for t in tokenize(text) if re.fullmatch(r"[A-Za-z_]\w*", t)} - params - _C_KEYWORDS
    names.discard(loop.iv)
    extra = ""
    pre = getattr(ctx, "preamble", None)
    if pre is not None:
        globals_ = getattr(ctx, "globals", {})
        try:
            extra = pre(sorted(n for n in names if n not in globals_))
        except Exception:
            extra = ""
    uses_math = any(isinstance(e, Call) for s in walk_stmts(loop.body) for e in _stmt_exprs(s)) or bool(
        names & (mathcalls.known_names() | {"NAN", "INFINITY", "HUGE_VAL", "HUGE_VALF"}))
    lang = "cpp" if cpp_needed or (language == "cpp" and _CPP_MARKERS.search(extra)) else "c"
    if lang == "cpp":
        inc = ["#include <cstdint>", "#include <cstddef>", "#include <cmath>", "#include <algorithm>",
               "#include <climits>", "#include <cfloat>"]
    else:
        inc = ["#include <stdint.h>", "#include <stddef.h>", "#include <stdbool.h>", "#include <limits.h>",
               "#include <float.h>"]
        if uses_math:
            inc.append("#include <math.h>")
    return "\n".join(inc) + ("\n" + extra if extra else "") + "\n", lang


def _stmt_exprs(s: Any) -> list[Any]:
    out: list[Any] = []
    for attr in ("value", "cond", "step", "index"):
        v = getattr(s, attr, None)
        if v is not None and not isinstance(v, tuple | str):
            out.extend(walk_exprs(v))
    return out


def _footprints(loop: LoopIR, accs: list[tuple[Access, bool, Any]], renames: dict[str, str], trip: str,
                guarded: set[str], params: list[KernelParam]) -> list[Footprint] | str:
    """Each array parameter's footprint, or the reason one cannot be stated."""
    by_param = {p.source or p.name: p.name for p in params}
    first = _rename(loop.lower, renames) if loop.lower.strip() else "0"
    last = (f"({trip}) - 1" if first.strip() == "0" and loop.step == 1 else
            f"({first}) + ({loop.step}) * (({trip}) - 1)")
    per_root: dict[str, list[Access]] = {}
    for a, _w, _s in accs:
        per_root.setdefault(a.root, []).append(a)
    index_arrays: dict[str, str] = {}
    out: list[Footprint] = []
    for root, items in sorted(per_root.items()):
        pname = by_param.get(root)
        if pname is None:
            return f"{root} is reached in a way the kernel has no parameter for"
        los: list[str] = []
        his: list[str] = []
        # accesses that differ only in their constant offset: keep the extreme offsets only
        spread: dict[tuple[str, int | None, str, str], tuple[int, int]] = {}
        for a in items:
            if a.index is None:
                key = (a.base, a.coeff, a.symbolic, a.stride)
                lo_o, hi_o = spread.get(key, (a.offset, a.offset))
                spread[key] = (min(lo_o, a.offset), max(hi_o, a.offset))
        done: set[tuple[str, int | None, str, str]] = set()
        columns = _column_spans(items, loop, renames, first, last)
        done_columns: set[tuple[str, str]] = set()
        for a in items:
            if a.index is None:
                key = (a.base, a.coeff, a.symbolic, a.stride)
                if key not in done:
                    done.add(key)
                    lo_o, hi_o = spread[key]
                    arr = loop.array(root)
                    if arr is not None:  # an array of structures: the whole structures touched
                        lo_o, hi_o = arr.whole_records(lo_o, hi_o)
                    lo_list: list[str] = []
                    hi_list: list[str] = []
                    _span_of(replace(a, offset=lo_o), loop, renames, first, last, lo_list, [])
                    _span_of(replace(a, offset=hi_o), loop, renames, first, last, [], hi_list)
                    los.extend(lo_list)
                    his.extend(hi_list)
                continue
            if a.index is not None:
                pk = next((s for s in walk_stmts(loop.body) if (isinstance(s, Pack) and s.dst is a)
                           or (isinstance(s, Expand) and s.src is a)), None)
                if pk is not None:  # a pack writes, an expand reads, at most one element per iteration from counter
                    c = renames.get(pk.counter, pk.counter) + (f" + {pk.lead}" if pk.lead else "")
                    # (k packs in turn at one counter, TSVC s123: up to k elements per iteration)
                    per = sum(1 for s in walk_stmts(loop.body) if isinstance(s, Pack) and s.counter == pk.counter
                              and s.dst.root == root) if isinstance(pk, Pack) else 1
                    los.append(f"({c})")
                    his.append(f"({c}) + ({trip}) - 1" if per == 1 else f"({c}) + {per} * ({trip}) - 1")
                    continue
                column = columns.get(id(a))
                if column is not None:  # a column of a flat matrix: its rows' lowest and highest, once
                    if column[0] not in done_columns:
                        done_columns.add(column[0])
                        los.append(column[1])
                        his.append(column[2])
                    continue
                ind = _induction_span(a, loop, renames, trip) or _carried_span(a, loop, renames, first, last)
                if ind is not None:
                    los.append(ind[0])
                    his.append(ind[1])
                    continue
                direct = strip_implicit_casts(a.index)
                if not isinstance(direct, Load) or direct.access.root == root or direct.access.index is not None:
                    # a computed subscript (a[i*i], a[idx[i]*dim]): no footprint we can state
                    return f"the subscript of {root}[...] is computed: no footprint (elements touched) the harness can allocate"
                sources = [direct.access.root]
                for r in sources:
                    index_arrays[r] = pname
                los.append("0")
                his.append(f"({trip}) - 1")
                continue
        out.append(Footprint(pname, _combine(los, "<"), _combine(his, ">"), root in guarded))
    final = []
    for f in out:
        src_root = next((r for r, p in by_param.items() if p == f.param), "")
        if src_root in index_arrays:
            final.append(Footprint(f.param, f.lo, f.hi, f.guarded, index_arrays[src_root]))
        else:
            final.append(f)
    return final


def _var_plus_const(index: Expr | None) -> tuple[Var, int] | None:
    """`v`, `v + c` or `v - c` (integer c, implicit casts aside) as (v, c); else None."""
    idx, off = index, 0
    if isinstance(idx, Binary) and idx.op in ("+", "-") and isinstance(rhs := strip_implicit_casts(idx.rhs), Const):
        if not isinstance(rhs.value, int):
            return None
        off = rhs.value if idx.op == "+" else -rhs.value
        idx = idx.lhs
    idx = strip_implicit_casts(idx) if idx is not None else None
    return (idx, off) if isinstance(idx, Var) else None


def _induction_span(a: Access, loop: LoopIR, renames: dict[str, str], trip: str) -> tuple[str, str] | None:
    """`x[j + c]` where `j += s` once per iteration (a Step): j0 + s*k (+ s after the step) + c."""
    found = _var_plus_const(a.index)
    if found is None:
        return None
    idx, off = found
    steps = [(n, s) for n, s in enumerate(loop.body) if isinstance(s, Step) and s.var == idx.name]
    if len(steps) != 1:
        return None
    pos, step = steps[0]
    inc = strip_implicit_casts(step.step)
    sign = 1
    if isinstance(inc, Unary) and inc.op == "-":
        inc, sign = strip_implicit_casts(inc.operand), -1
    tops = [top for acc, _w, top in accesses_of(loop.body) if acc is a]
    if not tops:
        return None
    after = loop.body.index(tops[0]) > pos
    j0 = renames.get(idx.name, idx.name)
    if isinstance(inc, Var) and (inc.name, "1") in loop.unit_strides:  # `ix += incx`: incx of either sign
        per_text = f"{'-' if sign < 0 else ''}({renames.get(inc.name, inc.name)})"
        ends = [_index_text("", 0, "", off, f"{j0} + ({per_text}) * ({k})")
                for k in ((1, f"{trip}") if after else (0, f"({trip}) - 1"))]
        return _combine(ends, "<"), _combine(ends, ">")
    if not isinstance(inc, Const) or not isinstance(inc.value, int):
        return None
    per = sign * inc.value
    base = per if after else 0
    first = _index_text("", 0, "", base + off, j0)
    last = _index_text("", per, f"({trip}) - 1", base + off, j0)
    return (first, last) if per >= 0 else (last, first)


def _carried_span(a: Access, loop: LoopIR, renames: dict[str, str], first: str, last: str) -> tuple[str, str] | None:
    """`x[im1 + c]` where `im1 = i` (or `im2 = im1; im1 = i`) closes the body: the entry value of im1
    in the first iterations, then counter values; both ends of the counter's range bound it."""
    found = _var_plus_const(a.index)
    if found is None:
        return None
    idx, off = found
    carries = {s.var: s for s in loop.body if isinstance(s, Carry)}
    entries = []
    name = idx.name
    while name in carries and name not in entries:  # im2 <- im1 <- i: every entry value is read once
        entries.append(name)
        value = strip_implicit_casts(carries[name].value)
        if isinstance(value, Var):
            name = value.name
            continue
        if not isinstance(value, IV):
            return None
        ends = [f"({first}) + {off}", f"({last}) + {off}", *(f"({renames.get(e, e)}) + {off}" for e in entries)]
        return _combine(ends, "<"), _combine(ends, ">")
    return None


def _column_spans(items: list[Access], loop: LoopIR, renames: dict[str, str], first: str,
                  last: str) -> dict[int, tuple[tuple[str, str], str, str]]:
    """For each access `x[(j + c) * n + i]` (a column of a flat matrix or a VLA, `n` and `i` fixed in the
    loop), by id: (its row length and column, the lowest element, the highest) over every such access
    with that row length and column. The row length is taken as positive: a VLA's must be, and a nest
    rewrite runs only where the columns fit in a row (analysis/outer_vector.py)."""
    from simdlens.analysis.nest import flat_column

    written = {sc.name for sc in loop.scalars if sc.role is not ScalarRole.INVARIANT}
    found: dict[int, tuple[str, str]] = {}
    shifts: dict[tuple[str, str], list[int]] = {}
    for a in items:
        flat = flat_column(a.index, loop.iv) if a.index is not None else None
        if flat is None or flat.row in written or flat.column in written:
            continue
        key = (flat.row, flat.column)
        found[id(a)] = key
        shifts.setdefault(key, []).append(flat.shift)
    (low, high) = (first, last) if loop.step > 0 else (last, first)
    spans = {}
    for key, cs in shifts.items():
        row, column = _rename(key[0], renames), _rename(key[1], renames)
        lo_c, hi_c = min(cs), max(cs)
        spans[key] = (_index_text(f"(({low}){f' + {lo_c}' if lo_c else ''}) * ({row})", 0, "", 0, column),
                      _index_text(f"(({high}){f' + {hi_c}' if hi_c else ''}) * ({row})", 0, "", 0, column))
    return {k: (key, *spans[key]) for k, key in found.items()}


def _span_of(a: Access, loop: LoopIR, renames: dict[str, str], first: str, last: str, los: list[str],
             his: list[str]) -> None:
    """The lowest and highest element an affine access touches over the loop, as C."""
    row = _row_offset(a, loop, renames)
    sym = _rename(a.symbolic, renames) if a.symbolic else ""
    if not a.coeff:
        fixed = _index_text(row, 0, "", a.offset, sym)
        los.append(fixed)
        his.append(fixed)
        return
    arr = loop.array(a.root)
    if arr is not None and arr.elem.bits == 8 and a.elem.bits > 8 and a.base != a.root:
        # `*(float *)p` of a byte walk: the bytes of each element read, from the first to the last
        size = a.elem.bits // 8
        if a.stride:
            walk = [f"({_rename(a.stride, renames)}) * ({w})" for w in (first, last)]
        else:
            walk = [f"{size} * ({_index_text('', a.coeff, w, a.offset, '')})" for w in (first, last)]
        ends = [_index_text("", a.coeff if a.stride else 1, w, 0, "") for w in walk]
        los.append(_combine(ends, "<"))
        his.append(f"{_combine(ends, '>')} + {size - 1}")
        return
    if a.stride:  # `x[i*incx]`: the counter's term times a run-time stride of either sign
        ends = [_index_text(row, a.coeff, f"({_rename(a.stride, renames)}) * ({w})", a.offset, sym) for w in (first, last)]
        los.append(_combine(ends, "<"))
        his.append(_combine(ends, ">"))
        return
    at_first = _index_text(row, a.coeff, first, a.offset, sym)
    at_last = _index_text(row, a.coeff, last, a.offset, sym)
    lo, hi = (at_first, at_last) if a.coeff * loop.step > 0 else (at_last, at_first)
    los.append(lo)
    his.append(hi)


def _index_text(row: str, coeff: int, iv: str, offset: int, sym: str) -> str:
    """`row + coeff*(iv) + offset + (sym)` as compact C."""
    terms: list[str] = []
    if row:
        terms.append(row)
    if coeff and iv.strip() != "0":
        terms.append(f"({iv})" if coeff == 1 else f"{coeff} * ({iv})")
    if sym:
        terms.append(f"({sym})")
    text = " + ".join(terms)
    if offset or not text:
        text = f"{text} {'-' if offset < 0 else '+'} {abs(offset)}" if text else str(offset)
    return text


def _row_offset(a: Access, loop: LoopIR, renames: dict[str, str]) -> str:
    """For a row base `m[j]` of a 2-D array, the flat offset of the row: `(j) * (B)`; for `A[r][q]` of a
    3-D array `T A[n][Q][P]`, `((r) * (Q) + (q)) * (P)`."""
    if not a.base.startswith(a.root + "["):
        return ""
    arr = loop.array(a.root)
    extents = _inner_extents(arr.decl, a.root) if arr is not None else ()
    rows = _row_indices(a.base, a.root)
    if not extents or len(rows) != len(extents):
        return ""
    flat = f"({_rename(rows[0], renames)})"
    for row, ext in zip(rows[1:], extents, strict=False):
        flat = f"({flat} * ({ext}) + ({_rename(row, renames)}))"
    return f"{flat} * ({extents[-1]})"


def _combine(exprs: list[str], op: str) -> str:
    uniq: list[str] = []
    for e in exprs:
        if e not in uniq:
            uniq.append(e)
    acc = uniq[0]
    for e in uniq[1:]:
        acc = f"(({acc}) {op} ({e}) ? ({acc}) : ({e}))"
    return acc


def _returned_address(returns: list[Exit], renames: dict[str, str]) -> str:
    """The array parameter the loop's `return &a[i]` / `return a + i` / `return p` points into ("" when
    it returns values); refused when it returns both, or pointers into different arrays."""
    addressed = [s for s in returns if s.address and isinstance(s.value, Load)]
    if not addressed:
        return ""
    roots = {s.value.access.root for s in addressed if isinstance(s.value, Load)}
    if len(addressed) != len(returns) or len(roots) != 1:
        raise NoKernel("the loop returns pointers into different arrays, or a pointer and a value")
    root = roots.pop()
    return renames.get(root, root)


def _size_param(loop: LoopIR, renames: dict[str, str], params: list[KernelParam], ctx: Any = None) -> str | None:
    names = [p.name for p in params if p.role == ParamRole.COUNT]
    upper = _rename(expand_macros(loop.upper, ctx), renames)  # `i < _PB_N` with `#define _PB_N n`: n is the size
    lower = _rename(expand_macros(loop.lower, ctx), renames)
    # a count the bound names beyond the start (`i < start + len`, a rolled `m + 4 * (...n...)`) is the size
    beyond = [n for n in names if mentions(upper, n) and not mentions(lower, n)]
    if beyond:
        return beyond[0]
    for text in (upper, lower):
        for n in names:
            if mentions(text, n):
                return n
    return None


_SIZE_SEARCH_LIMIT = 1 << 24


def _size_max(loop: LoopIR, accs: list[tuple[Access, bool, Any]], renames: dict[str, str], size: str,
              ctx: Any) -> int | None:
    """The largest value of the size parameter for which every row access `A[r][c*iv + k]` of a 2-D
    array with a constant row length M stays inside its row (0 <= column < M), or None when no such
    access exists or its column cannot be evaluated. Past it the user's own loop indexes out of its
    declared extent, which -fsanitize=bounds reports against the original."""
    rows: list[tuple[int, int, int]] = []  # (coeff, offset, row length)
    at_size: list[tuple[int, int]] = []  # (offset, row length) of a column that is the size itself: A[i][j], j < size
    for a, _w, _s in accs:
        arr = loop.array(a.root)
        if arr is None or not a.base.startswith(a.root + "["):
            continue
        fixed = not a.coeff and a.symbolic and _rename(a.symbolic, renames).replace(" ", "") == size
        if (not a.coeff or a.symbolic) and not fixed:
            continue
        extents = _inner_extents(arr.decl, a.root)
        length = _int_value(extents[-1], ctx) if extents else None
        if length is not None and length > 0:
            if fixed:
                at_size.append((a.offset, length))
            elif a.coeff:
                rows.append((a.coeff, a.offset, length))
    if not rows and not at_size:
        return None
    lower_text = _rename(expand_macros(loop.lower, ctx), renames)
    upper_text = _rename(expand_macros(loop.upper, ctx), renames)

    def columns_fit(n: int) -> bool | None:
        lower = _int_value(_substitute(lower_text, size, n), ctx)
        upper = _int_value(_substitute(upper_text, size, n), ctx)
        if lower is None or upper is None:
            return None
        ivs = _first_last(lower, upper, loop.cmp, loop.step)
        if ivs is None:
            return True  # the loop does not run
        return all(0 <= c * iv + k < length for c, k, length in rows for iv in ivs) \
            and all(0 <= n + k < length for k, length in at_size)

    if columns_fit(_SIZE_SEARCH_LIMIT) is not False or columns_fit(0) is not True:
        return None
    ok, bad = 0, _SIZE_SEARCH_LIMIT  # columns_fit(ok) and not columns_fit(bad); sizes move bounds monotonically
    while bad - ok > 1:
        mid = (ok + bad) // 2
        if columns_fit(mid):
            ok = mid
        else:
            bad = mid
    return ok


def _substitute(text: str, name: str, value: int) -> str:
    return re.sub(r"(?<![\w.>])" + re.escape(name) + r"(?!\w)", f"({value})", text)


def _int_value(text: str, ctx: Any) -> int | None:
    t = text.strip()
    if re.fullmatch(r"\d+[uUlL]*", t):
        return int(t.rstrip("uUlL"))
    ev = getattr(ctx, "eval_int", None)
    try:
        v = ev(t) if ev is not None else None
        if v is None and ev is not None and "(" in t:
            v = ev(_expand_function_macros(t, getattr(ctx, "function_macros", {})))
    except Exception:
        return None
    return v if isinstance(v, int) else None


def expand_macros(text: str, ctx: Any, depth: int = 0) -> str:
    """`text` with the object-like macros it names replaced by their values, parenthesised (`_PB_N` ->
    `(n)` with `#define _PB_N n`): what a bound is in terms of the function's variables."""
    macros = getattr(ctx, "macros", None)
    if not macros or depth > 8:
        return text
    out = re.sub(r"(?<![\w.>])[A-Za-z_]\w*", lambda m: f"({macros[m.group(0)].strip()})"
                 if m.group(0) in macros and macros[m.group(0)].strip() else m.group(0), text)
    return text if out == text else expand_macros(out, ctx, depth + 1)


def _expand_function_macros(text: str, macros: Any, depth: int = 0) -> str:
    """`NITER(n)` with `#define NITER(n) ((n) / 2)` -> `((n) / 2)`: flat arguments only, for bounds."""
    def one(m: re.Match[str]) -> str:
        define = re.fullmatch(r"\s*#\s*define\s+\w+\(([^)]*)\)\s*(.*)", str(macros.get(m.group(1), "")), re.DOTALL)
        if define is None:
            return m.group(0)
        params = [p.strip() for p in define.group(1).split(",") if p.strip()]
        args = [a.strip() for a in m.group(2).split(",")] if m.group(2).strip() else []
        if len(params) != len(args):
            return m.group(0)
        body = define.group(2).strip()
        for p, a in zip(params, args, strict=True):
            body = re.sub(r"\b" + re.escape(p) + r"\b", a, body)
        return f"({body})"

    out = re.sub(r"\b([A-Za-z_]\w*)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)", lambda m: one(m) if m.group(1) in macros
                 else m.group(0), text)
    return out if out == text or depth > 4 else _expand_function_macros(out, macros, depth + 1)


def _first_last(lower: int, upper: int, cmp: str, step: int) -> tuple[int, int] | None:
    """The counter's first and last values of `for (iv = lower; iv cmp upper; iv += step)`, None if it
    runs no iteration."""
    if step > 0 and cmp in ("<", "!=", "<="):
        end = upper + 1 if cmp == "<=" else upper
        if end <= lower:
            return None
        return lower, lower + step * ((end - lower - 1) // step)
    if step < 0 and cmp in (">", "!=", ">="):
        end = upper - 1 if cmp == ">=" else upper
        if end >= lower:
            return None
        return lower, lower + step * ((lower - end - 1) // -step)
    return None


# --------------------------------------------------------------------------------------------------
# The user's own declarations and file context (docs/sandbox.md, "The reference")
# --------------------------------------------------------------------------------------------------

_TRANSPARENT = frozenset({"namespace_definition", "linkage_specification", "declaration_list", "preproc_if",
                          "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef"})
_SCOPES = frozenset({"translation_unit", "declaration_list", "preproc_if", "preproc_ifdef", "preproc_else",
                     "preproc_elif", "preproc_elifdef"})
_NOT_A_TYPE_WORD = re.compile(r"\b(?:constexpr|constinit|thread_local|inline|__inline__|__inline|mutable)\b\s*")
_COMPLEX_WORD = re.compile(r"\b(?:_Complex|complex)\b")
_CONTAINER_TYPE = re.compile(r"^(?:const\s+)?(?:::)?(?:std::)?(?:vector|array|span)\s*<")
_COMMENT = re.compile(rb"//[^\n]*|/\*[\s\S]*?\*/")
_LAYOUT = re.compile(rb"[ \t\r\f\v]*\n\s*|[ \t\r\f\v]+")
_SYNTAX_CACHE: list[_FileSyntax] = []
_TYPE_DECLARATIONS = frozenset({"type_definition", "struct_specifier", "union_specifier", "enum_specifier",
                                "class_specifier", "template_declaration", "alias_declaration", "using_declaration",
                                "namespace_alias_definition", "static_assert_declaration", "concept_definition"})


class _FileSyntax:
    """One parse of a file, shared by the kernels of its loops (extraction asks for it per loop)."""

    def __init__(self, source: bytes, language: str) -> None:
        from simdlens.analysis.parse import parse

        self.source = source
        self.language = language
        self.root = parse(source, language).root_node  # type: ignore[arg-type]
        self.file_scope: list[Any] = []  # file-scope `declaration` nodes in source order
        self.functions: list[Any] = []  # file-scope function definitions, in source order
        self._walk(self.root)
        self._digests: dict[tuple[int, frozenset[str]], str] = {}

    @classmethod
    def of(cls, source: bytes, language: str) -> _FileSyntax:
        for entry in _SYNTAX_CACHE:
            if entry.source is source and entry.language == language:
                return entry
        entry = cls(source, language)
        _SYNTAX_CACHE.insert(0, entry)
        del _SYNTAX_CACHE[4:]
        return entry

    def _walk(self, node: Any) -> None:
        for child in node.named_children:
            if child.type == "declaration":
                self.file_scope.append(child)
            elif child.type == "function_definition":
                self.functions.append(child)
            elif child.type in ("namespace_definition", "linkage_specification"):
                body = child.child_by_field_name("body")
                if body is not None:
                    self._walk(body)
            elif child.type in _SCOPES:
                self._walk(child)

    def text(self, node: Any) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def digest(self, end: int, called: frozenset[str]) -> str:
        """A hash of what in source[:end] can change the meaning of a kernel whose text has the tokens
        `called`: every preprocessor directive, every type declaration, and the declarations (with
        bodies, for functions) of the names it mentions. Comments, layout, unrelated variables and the
        bodies of functions it does not call do not count (the same loop moved keeps its verdicts)."""
        key = (end, called)
        if key not in self._digests:
            h = hashlib.sha256()
            self._hash_scope(self.root, end, called, h)
            self._digests[key] = h.hexdigest()
        return self._digests[key]

    def _hash_scope(self, node: Any, end: int, called: frozenset[str], h: Any) -> None:
        for child in node.named_children:
            if child.start_byte >= end:
                break
            kind = child.type
            if kind in ("namespace_definition", "linkage_specification"):
                body = child.child_by_field_name("body")
                h.update(_declarations_only(self.source[child.start_byte:body.start_byte if body else child.end_byte]))
                if body is not None:
                    self._hash_scope(body, end, called, h)
            elif kind in _SCOPES:  # an #if block: its directive line, then what it holds
                h.update(_declarations_only(self.source[child.start_byte:child.end_byte].split(b"\n", 1)[0]))
                self._hash_scope(child, end, called, h)
            elif kind.startswith("preproc_") or kind in _TYPE_DECLARATIONS:
                h.update(_declarations_only(self.source[child.start_byte:min(child.end_byte, end)]))
            elif kind == "function_definition":
                if _function_name(self, child) in called:
                    h.update(_declarations_only(self.source[child.start_byte:child.end_byte]))
            elif kind == "declaration":
                type_node = child.child_by_field_name("type")
                declares_type = type_node is not None and type_node.child_by_field_name("body") is not None
                names = {_declared_name(self, d) for d in child.children_by_field_name("declarator")}
                if declares_type or names & called:
                    h.update(_declarations_only(self.source[child.start_byte:child.end_byte]))


def _declared_name(syntax: _FileSyntax, declarator: Any) -> str:
    node = declarator
    while node is not None and node.type not in ("identifier", "field_identifier", "qualified_identifier",
                                                  "operator_name", "destructor_name"):
        node = node.child_by_field_name("declarator") or (node.named_children[0] if node.named_children else None)
    return syntax.text(node).split("::")[-1] if node is not None else ""


def _declarations_only(text: bytes) -> bytes:
    """`text` without comments and layout (line breaks stay: they end preprocessor directives)."""
    return _LAYOUT.sub(lambda m: b"\n" if b"\n" in m.group(0) else b" ", _COMMENT.sub(b" ", text)).strip() + b"\n"


def _function_name(syntax: _FileSyntax, fn: Any) -> str:
    node = fn.child_by_field_name("declarator")
    while node is not None and node.type != "function_declarator":
        node = node.child_by_field_name("declarator")
    name = node.child_by_field_name("declarator") if node is not None else None
    return syntax.text(name).split("::")[-1] if name is not None else ""


def _chain(node: Any) -> tuple[Any, list[tuple[str, str]]] | None:
    """(identifier node, declarator operators read from the name outward): `*p` -> [("ptr", "")],
    `q[3][N]` -> [("arr", "3"), ("arr", "N")], `(*m)[4]` -> [("ptr", ""), ("arr", "4")]."""
    ops: list[tuple[str, str]] = []
    while node is not None:
        kind = node.type
        if kind == "identifier":
            return node, ops[::-1]
        if kind == "init_declarator":
            node = node.child_by_field_name("declarator")
        elif kind == "pointer_declarator":
            ops.append(("ptr", ""))
            node = node.child_by_field_name("declarator")
        elif kind == "array_declarator":
            size = node.child_by_field_name("size")
            ops.append(("arr", size.text.decode("utf-8", "replace") if size is not None and size.text else ""))
            node = node.child_by_field_name("declarator")
        elif kind == "parenthesized_declarator":
            node = node.named_children[0] if node.named_children else None
        elif kind == "reference_declarator":
            ops.append(("ref", ""))
            node = node.named_children[-1] if node.named_children else None
        else:
            return None
    return None


class _UserDeclarations:
    """How the user declared the names a loop uses, as written (a typedef or macro name stays itself):
    the kernel's parameter types are spelled from these, never re-synthesised from simdlens's reading."""

    def __init__(self, source: bytes, site: Any) -> None:
        self.site = site
        try:
            self.syntax: _FileSyntax | None = _FileSyntax.of(source, site.language)
        except Exception:  # no tree: every parameter keeps simdlens's spelling
            self.syntax = None
        self.function = self._enclosing_function()
        self._decls: dict[str, tuple[str, list[tuple[str, str]], str]] | None = None
        self._class: tuple[str, frozenset[str]] | None = None  # `class_template`'s answer, once asked

    def _enclosing_function(self) -> Any:
        if self.syntax is None:
            return None
        span = self.site.span
        node = self.syntax.root.descendant_for_byte_range(span.start_byte, span.end_byte)
        while node is not None and node.type != "function_definition":
            node = node.parent
        return node

    def _add(self, decl: Any, out: dict[str, tuple[str, list[tuple[str, str]], str]]) -> None:
        assert self.syntax is not None
        type_node = decl.child_by_field_name("type")
        if type_node is None:
            return
        parts = [self.syntax.text(c) for c in decl.named_children if c.type == "type_qualifier" or c.id == type_node.id]
        type_text = _NOT_A_TYPE_WORD.sub("", " ".join(parts)).strip()
        if not type_text or "{" in type_text or type_node.type == "placeholder_type_specifier" or type_text == "auto":
            return  # an anonymous struct, `auto`: nothing the kernel can spell
        element = ""
        if _CONTAINER_TYPE.match(type_text):
            args = next((c for c in type_node.named_children if c.type == "template_argument_list"), None)
            if args is None and type_node.type == "qualified_identifier":
                name = type_node.child_by_field_name("name")
                args = next((c for c in name.named_children if c.type == "template_argument_list"), None) if name else None
            first = args.named_children[0] if args is not None and args.named_children else None
            element = self.syntax.text(first) if first is not None and first.type == "type_descriptor" else ""
        for child in decl.children_by_field_name("declarator"):
            chained = _chain(child)
            if chained is not None:
                out[self.syntax.text(chained[0])] = (type_text, chained[1], element)

    def _declarations(self) -> dict[str, tuple[str, list[tuple[str, str]], str]]:
        if self._decls is not None:
            return self._decls
        out: dict[str, tuple[str, list[tuple[str, str]], str]] = {}
        self._decls = out
        if self.syntax is None or self.function is None:
            return out
        fn = self.function
        for decl in self.syntax.file_scope:
            if decl.start_byte >= fn.start_byte:
                break
            self._add(decl, out)
        node = fn.child_by_field_name("declarator")
        while node is not None and node.type != "function_declarator":
            node = node.child_by_field_name("declarator")
        params = node.child_by_field_name("parameters") if node is not None else None
        for p in params.named_children if params is not None else ():
            if p.type in ("parameter_declaration", "optional_parameter_declaration"):
                self._add(p, out)
        loop_start, loop_end = self.site.span.start_byte, self.site.span.end_byte
        body = fn.child_by_field_name("body")
        stack = [body] if body is not None else []
        found: list[Any] = []
        while stack:
            node = stack.pop()
            for child in node.named_children:
                if child.start_byte >= loop_start:
                    break
                if child.type == "declaration" and node.start_byte <= loop_start and loop_end <= node.end_byte:
                    found.append(child)  # declared in a block that holds the loop, before it
                elif child.end_byte > loop_start or child.type in ("compound_statement", "for_statement"):
                    stack.append(child)
        for decl in sorted(found, key=lambda d: d.start_byte):
            self._add(decl, out)
        return out

    def _local_types(self) -> list[str]:
        """The typedefs and macros the enclosing function defines before the loop, in blocks that hold it
        (`typedef double acc_t;`), `#line`-mapped: the kernel's signature may spell its types with them."""
        assert self.syntax is not None and self.function is not None
        loop_start, loop_end = self.site.span.start_byte, self.site.span.end_byte
        body = self.function.child_by_field_name("body")
        out: list[str] = []
        stack = [body] if body is not None else []
        while stack:
            node = stack.pop()
            holds = node.start_byte <= loop_start and loop_end <= node.end_byte
            for child in node.named_children:
                if child.start_byte >= loop_start:
                    break
                if child.type in ("type_definition", "preproc_def", "preproc_function_def") and holds:
                    name = self.site.path.replace("\\", "/").replace('"', "")
                    line = self.syntax.source.count(b"\n", 0, child.start_byte) + 1
                    out += [f'#line {line} "{name}"', self.syntax.text(child).rstrip()]
                elif child.end_byte > loop_start:
                    stack.append(child)
        return out

    def type_of(self, name: str) -> str:
        """The declared type of a scalar `name` ("REAL", "const uint32_t"), "" when not known."""
        found = self._declarations().get(name)
        if found is None or any(op != "ref" for op, _ in found[1]) or found[2]:
            return ""
        return found[0]

    def scalar_param(self, name: str, pname: str) -> str:
        spelled = self.type_of(name)
        return f"{spelled} {pname}" if spelled else ""

    def array_param(self, root: str, pname: str, const: str, restrict: str, inner: int) -> str:
        """The kernel parameter for array `root` spelled from its declaration: `const REAL *a`,
        `float (*m)[M]` (`inner` extents after the first: 1), `float (*v)[Q][P]` (2), a container's
        element type; "" when the declaration is not one of these."""
        found = self._declarations().get(root)
        if found is None:
            return ""
        type_text, ops, element = found
        if element:
            if any(op != "ref" for op, _ in ops) or inner:
                return ""
            type_text = element
        elif inner:
            if len(ops) != inner + 1 or ops[0][0] not in ("ptr", "arr") or any(
                    op != "arr" or not size for op, size in ops[1:]):
                return ""
            c = const if const and not re.search(r"\bconst\b", type_text) else ""
            return f"{c}{type_text} (*{restrict}{pname})" + "".join(f"[{size}]" for _, size in ops[1:])
        elif len(ops) != 1 or ops[0][0] not in ("ptr", "arr"):
            return ""
        c = const if const and not re.search(r"\bconst\b", type_text) else ""
        return f"{c}{type_text} *{restrict}{pname}"

    def member_base(self, source: str) -> tuple[str, str] | None:
        """For a renamed member `p->x` / `s.x`: (`((T *)0)->x`, "p->x") in the user's declared type of the root."""
        m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*(->|\.)\s*([A-Za-z_]\w*)\s*", source)
        if m is None:
            return None
        found = self._declarations().get(m.group(1))
        if found is None or found[2]:
            return None
        type_text, ops, _ = found
        pointers = [op for op, _ in ops if op != "ref"]
        if (m.group(2) == "->") != (pointers == ["ptr"]) or len(pointers) > 1:
            return None
        cls = self.class_template()[0]
        if cls:  # in a class template its own name stands for the class with its parameters, `Tensor<T>`
            type_text = re.sub(rf"\b{re.escape(cls.split('<', 1)[0])}\b(?!\s*<)", cls, type_text)
        return f"(({type_text} *)0)->{m.group(3)}", source.strip()

    def this_member(self, name: str) -> str:
        """For a data member used without `this->` in a method of a class template, `((Tensor<T> *)0)->data`
        ("" elsewhere): its type fact is stated through the class, bound to the analysed instantiation."""
        cls, fields = self.class_template()
        return f"(({cls} *)0)->{name}" if cls and name in fields else ""

    def context(self, loop_tokens: set[str], binding: tuple[str, ...] = ()) -> UserContext | None:
        """The user's file up to the outermost declaration holding the loop that is not a namespace,
        `extern "C"` block or `#if` (a function, a class, a template), with what is open there closed;
        in a function template, its `binding` (`typedef float T;`) follows."""
        if self.syntax is None or self.function is None:
            return None
        cut = self.function
        open_scopes: list[Any] = []
        node = self.function.parent
        while node is not None and node.type != "translation_unit":
            if node.type in _TRANSPARENT:
                open_scopes.append(node)
            else:  # a class body or a template: the kernel goes before all of it
                cut, open_scopes = node, []
            node = node.parent
        closers: list[str] = []
        namespaces: list[str] = []
        source = self.syntax.source
        at_cut = open_conditionals(source, cut.start_byte)
        still_open = {at for at, _, _ in at_cut}
        for scope in open_scopes:  # innermost first
            if scope.type in ("preproc_if", "preproc_ifdef"):
                if scope.start_byte in still_open:  # the parser also nests by braces: only a group open here
                    closers.append("#endif")
            elif scope.type == "declaration_list":
                # `#ifdef __cplusplus` / `extern "C" {` / `#endif`: the brace opened only where that group is
                # compiled, so it is closed under the same condition
                guards = [g for g in open_conditionals(source, scope.start_byte) if g[0] not in still_open]
                if guards and all(first for _, _, first in guards):
                    closers += [*(line for _, line, _ in guards), "}", *("#endif" for _ in guards)]
                else:
                    closers.append("}")
                if scope.parent is not None and scope.parent.type == "namespace_definition":
                    name = scope.parent.child_by_field_name("name")
                    if name is not None:
                        namespaces.insert(0, self.syntax.text(name))
        usings = ["using namespace " + "::".join(namespaces[:k + 1]) + ";" for k in range(len(namespaces))]
        called = frozenset(n for n in loop_tokens if re.fullmatch(r"[A-Za-z_]\w*", n))
        # A class template is kept whole (its methods are instantiated only when used, never here): the type
        # facts name its members through it, `((Tensor<T> *)0)->data[0]`, once the binding follows.
        end = cut.end_byte if _class_of_template(cut) is not None else cut.start_byte
        digest = self.syntax.digest(end, called)
        text = "".join(line + "\n" for line in (*closers, *usings, *binding, *self._local_types()))
        return UserContext(self.syntax.source, end, text, self.site.language, self.site.path,
                           hashlib.sha256(f"{digest}\0{text}".encode()).hexdigest())

    def class_template(self) -> tuple[str, frozenset[str]]:
        """In a method of a class template (in its body, or defined outside it as `Tensor<T>::add_`): the class
        as that method spells it (`Tensor<T>`) and the names of its data members; ("", {}) elsewhere."""
        if self._class is None:
            self._class = self._find_class_template()
        return self._class

    def _find_class_template(self) -> tuple[str, frozenset[str]]:
        if self.syntax is None or self.function is None:
            return "", frozenset()
        node = self.function.parent
        while node is not None and node.type != "translation_unit":
            if node.type == "template_declaration" and _class_of_template(node) is not None:
                cls = _class_of_template(node)
                assert cls is not None
                plist = node.child_by_field_name("parameters")
                names = [n for n, _ in template_parameters(plist)] if plist is not None else [""]
                if not all(names):
                    return "", frozenset()
                return f"{self.syntax.text(cls.child_by_field_name('name'))}<{', '.join(names)}>", _fields(cls)
            node = node.parent
        if self.function.parent is None or self.function.parent.type != "template_declaration":
            return "", frozenset()
        declarator = self.function.child_by_field_name("declarator")
        while declarator is not None and declarator.type != "qualified_identifier":
            declarator = declarator.child_by_field_name("declarator")
        scope = declarator.child_by_field_name("scope") if declarator is not None else None
        if scope is None or scope.type != "template_type":  # `template <typename T> void Tensor<T>::add_(…)`
            return "", frozenset()
        name = self.syntax.text(scope.child_by_field_name("name"))
        for top in self.syntax.root.named_children:
            cls = _class_of_template(top) if top.end_byte <= self.function.start_byte else None
            if cls is not None and self.syntax.text(cls.child_by_field_name("name")) == name:
                return " ".join(self.syntax.text(scope).split()), _fields(cls)
        return "", frozenset()


def _class_of_template(node: Any) -> Any:
    """The class or struct a template declaration defines (with a body), or None."""
    inner = node.named_children[-1] if node.type == "template_declaration" and node.named_children else None
    if inner is not None and inner.type in ("struct_specifier", "class_specifier") and \
            inner.child_by_field_name("body") is not None and inner.child_by_field_name("name") is not None:
        return inner
    return None


def _fields(cls: Any) -> frozenset[str]:
    """The names of a class's data members (not its methods)."""
    out: set[str] = set()
    body = cls.child_by_field_name("body")
    for f in body.named_children if body is not None else ():
        if f.type != "field_declaration":
            continue
        for d in f.children_by_field_name("declarator"):
            while d is not None and d.type not in ("field_identifier", "function_declarator"):
                d = d.child_by_field_name("declarator")
            if d is not None and d.type == "field_identifier" and d.text is not None:
                out.add(d.text.decode("utf-8", "replace"))
    return frozenset(out)


def record_facts(name: str, record: Array, member_type: str) -> list[TypeFact]:
    """The layout a strided view of an array of structures `name` relies on (build/structures.py):
    sizeof the structure, and each member it touches: its type and its byte offset."""
    facts = [TypeFact(f"{name}[0]", f"size {record.record_bytes}", f"{name}[]")]
    for path, offset in record.members:
        member = path.split("[", 1)[0]
        facts.append(TypeFact(f"{name}[0].{path}", member_type, f"{name}[].{member}"))
        facts.append(TypeFact(f"{name}[0].{member}", f"offset {offset}", f"{name}[].{member}"))
    return facts


def _type_facts(params: list[KernelParam], user: _UserDeclarations, loop: LoopIR) -> tuple[TypeFact, ...]:
    """What the harness assumes about each parameter whose type comes from the user's declarations:
    the element type of every array, the type of every scalar and result; for an array of structures
    read as a strided view, the structure's size and each touched member's type and offset."""
    facts: list[TypeFact] = []
    arrays = (ParamRole.IN, ParamRole.OUT, ParamRole.INOUT)
    for p in params:
        if p.elem is None:
            continue
        t = fact_type(p.elem)
        record = loop.array(p.name) if p.spelled and p.role in arrays and not p.source else None
        if record is not None and record.record:
            facts += record_facts(p.name, record, t)
        elif p.spelled:
            if p.role in arrays:
                dims = len(re.findall(r"\[[^\]]*\]", p.spelled.rsplit(")", 1)[-1])) if "(*" in p.spelled else 0
                facts.append(TypeFact(p.name + "[0]" * (dims + 1), t, f"{p.name}[]"))
            elif p.role == ParamRole.RESULT:
                facts.append(TypeFact(f"*{p.name}", t, p.source or p.name))
            else:
                facts.append(TypeFact(p.name, t, p.name))
        elif not p.source and (expr := user.this_member(p.name)):  # a member of a class template, `data[i]`
            facts.append(TypeFact(f"{expr}[0]", t, f"{p.name}[]") if p.role in arrays else TypeFact(expr, t, p.name))
        elif p.source and not p.source.endswith(")"):
            member = user.member_base(p.source)
            if member is not None:
                expr, subject = member
                if p.role in arrays:
                    facts.append(TypeFact(f"{expr}[0]", t, f"{subject}[]"))
                else:
                    facts.append(TypeFact(expr, t, subject))
    return tuple(facts)
