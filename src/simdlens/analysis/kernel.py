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
  `float (*m)[M]`), `const` when the loop only reads them, `restrict` only when the user wrote it;
  scalars by value. Member arrays and members read as scalars are renamed (`p->x` -> `p_x`,
  `v.size()` -> `v_size`, `v.data()` -> `v`), recorded in `KernelParam.source`.
- Results: the values the loop leaves behind (reductions, argmin/argmax, pack counters, inductions and
  carried scalars used after the loop, the counter when it is used after the loop). One result is the
  return value and its initial value is a by-value parameter of the same name; several results are
  RESULT pointer parameters `simdlens_<name>` read at entry and written back at exit. A loop that
  `return`s from the enclosing function returns that value, and sets `*simdlens_returned` to 1 when it
  did (0 when the loop ran to its end).
- Footprints give, per array parameter, the lowest and highest element index touched as C
  expressions over the parameters (relative to the pointer passed; `lo` may be negative).
- `content_hash` is a sha256 of the token stream of preamble + function (comments and layout do not
  matter; the file's name and the loop's position do not enter it).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from simdlens.analysis import mathcalls
from simdlens.analysis.build import WALK_IV, _bare, accesses_of
from simdlens.analysis.ir import (
    INT32,
    INT64,
    Access,
    Binary,
    Call,
    Const,
    CType,
    Exit,
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
from simdlens.analysis.parse import normalized_tokens, tokenize
from simdlens.core import Analysis, Footprint, Kernel, KernelParam, LoopVerdict, ParamRole

KERNEL_NAME = "simdlens_kernel"

_C_KEYWORDS = frozenset(["auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool", "bool", "true", "false", "size_t", "NULL"])
_CPP_MARKERS = re.compile(r"::|\bstatic_cast\b|\breinterpret_cast\b|\bnullptr\b|\btemplate\b|\bnamespace\b"
                          r"|\busing\b|\bconstexpr\b|\bauto\b|\bclass\b")
_RESULT_ROLES = frozenset({ScalarRole.REDUCTION, ScalarRole.ARG_VALUE, ScalarRole.ARG_INDEX, ScalarRole.COUNTER})


def extract_kernel(analysis: Analysis, source: bytes, ctx: Any = None) -> Kernel | None:
    """The kernel of a vectorizable loop, or None (not vectorizable, or not expressible). Never raises."""
    try:
        return _extract(analysis, source, ctx)
    except (ValueError, KeyError, IndexError, AttributeError, TypeError, AssertionError, RecursionError):
        return None


def _extract(analysis: Analysis, source: bytes, ctx: Any) -> Kernel | None:
    loop = analysis.loop
    if loop is None or analysis.verdict == LoopVerdict.NOT_VECTORIZABLE:
        return None
    site = analysis.site
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
            return None
        k = WALK_IV
        text = (f"for (size_t {k} = 0; {k} < {loop.upper}; {k}++) {{\n        {m.group('decl').strip()} = "
                f"{m.group('rng').strip()}[{k}];\n        {body}\n    }}")
    cpp_needed = site.language == "cpp" and (range_for or bool(_CPP_MARKERS.search(_strip_comments(text))))
    restrict_kw = "__restrict" if cpp_needed else "restrict"

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
        rows = _row_extent(arr.decl, root)
        if rows is None and any(a.root == root and a.base.startswith(root + "[") for a, _w, _s in accs):
            return None  # rows of a pointer-to-pointer: separate allocations, no single footprint
        at = position(root)
        if rows is not None:
            # a 2-D array (`T A[N][M]`, `T (*A)[M]`, VLA `T A[n][m]`) is passed as a pointer to its rows
            if not _constant_extent(rows, ctx):
                names = _extent_names(rows)
                if cpp_needed or site.language == "cpp" or not names or not all(
                        loop.scalar(n) is not None for n in names):
                    return None  # a run-time row length the kernel cannot declare before the array
                at = max([at, *(position(n) + 1 for n in names)])  # a VLA's extents come first
            decl = f"{const}{elem} (*{rq}{pname})[{rows}]"
        elif arr.elem.is_complex:  # its own spelling: the rewrite reads it as (real, imaginary) pairs
            decl = f"{const}{arr.elem.spelling} *{rq}{pname}"
        else:
            decl = f"{const}{elem} *{rq}{pname}"
        params.append((at, KernelParam(pname, decl, role, arr.elem, arr.restrict, src)))

    # scalars
    results: list[tuple[str, CType]] = []
    body_locals = _body_locals(loop, text)
    for sc in loop.scalars:
        name = sc.name
        if name in body_locals:
            continue
        if name.endswith(".size()"):
            pname = renames.get(name) or fresh(name.replace(".size()", "_size"))
            renames[name] = pname
            src = name
        elif "->" in name or "." in name:
            pname = fresh(name.replace("->", "_").replace(".", "_"))
            renames[name] = pname
            src = name
        else:
            pname, src = name, ""
        in_bound = _mentions(loop.trip_count, name) or _mentions(loop.upper, name) or _mentions(loop.lower, name)
        role = ParamRole.COUNT if in_bound and sc.role == ScalarRole.INVARIANT else ParamRole.SCALAR
        params.append((position(name), KernelParam(pname, f"{sc.type.c} {pname}", role, sc.type, False, src)))
        if sc.role in _RESULT_ROLES or (sc.role != ScalarRole.INVARIANT and sc.live_out):
            results.append((pname, sc.type))
    # the counter, when declared outside the loop
    if not loop.iv_declared_in_loop:
        if loop.lower.strip() == loop.iv:
            role = ParamRole.COUNT
            params.append((position(loop.iv), KernelParam(loop.iv, f"{loop.iv_type.c} {loop.iv}", role, loop.iv_type)))
        else:
            pre_decls.append(f"{loop.iv_type.c} {loop.iv};")
        if loop.iv_live_out:
            results.append((loop.iv, loop.iv_type))

    exits = [s for s in walk_stmts(loop.body) if isinstance(s, Exit)]
    returns = [s for s in exits if s.kind == "return"]
    pre_decls += loop.setup
    # pointers and counts the loop moves and the user's code reads after it: how far they moved is a result
    moved_post: list[str] = []
    for mv in loop.moved:
        if returns or mv.name in renames:
            return None
        if mv.pointer:
            walker = loop.array(mv.name)
            if walker is None:
                return None
            entry, far = fresh(f"{mv.name}_at"), fresh(f"{mv.name}_moved")
            pre_decls += [f"const {walker.elem.c} *const {entry} = {mv.name};", f"int64_t {far} = 0;"]
            moved_post.append(f"{far} = {mv.name} - {entry};")
            results.append((far, INT64))
        else:
            count = loop.scalar(mv.name)
            if count is None:
                return None
            final = fresh(f"{mv.name}_final")
            pre_decls.append(f"{count.type.c} {final} = 0;")
            moved_post.append(f"{final} = {mv.name};")
            results.append((final, count.type))
    ret_type: CType | None = None
    ret_void = False
    if returns:
        vals = [s.value for s in returns if s.value is not None]
        if vals:
            from simdlens.analysis.ir import expr_type

            ret_type = expr_type(vals[0])
        else:
            ret_void = True
    params.sort(key=lambda p: (p[0], p[1].name))
    plist = [p for _, p in params]

    if returns:
        flag = fresh("simdlens_returned")
        plist.append(KernelParam(flag, f"int *{flag}", ParamRole.RESULT, INT32))
        pre_decls.append(f"*{flag} = 1;")
        post.append(f"*{flag} = 0;")
        for name, t in results:
            _to_result_pointer(plist, name, t, pre_decls, post, fresh)
        post.append("return;" if ret_type is None else "return 0;")
        rtype = ret_type
    elif len(results) == 1:
        rtype = results[0][1]
        post.append(f"return {results[0][0]};")
    else:
        for name, t in results:
            _to_result_pointer(plist, name, t, pre_decls, post, fresh)
        rtype = None
    del ret_void
    post[0:0] = moved_post

    if not returns and not results and not any(p.role in (ParamRole.OUT, ParamRole.INOUT) for p in plist):
        return None  # nothing observable: a harness could not tell a wrong rewrite from a right one
    body_text = _rename(text, renames)
    sig = f"{rtype.c if rtype else 'void'} {KERNEL_NAME}({', '.join(p.decl for p in plist) or 'void'})"
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
    if footprints is None:
        return None
    size_param = _size_param(loop, renames, plist)
    size_max = _size_max(loop, accs, renames, size_param, ctx) if size_param is not None else None
    by_root = {p.source or p.name: p.name for p in plist}
    pairs: set[tuple[str, str]] = set()
    for a, b in analysis.alias_checks:
        if a in by_root and b in by_root and by_root[a] != by_root[b]:
            x, y = sorted((by_root[a], by_root[b]))
            pairs.add((x, y))
    may_alias = tuple(sorted(pairs))
    content_hash = hashlib.sha256(normalized_tokens(preamble + "\n" + func).encode()).hexdigest()
    return Kernel(
        name=KERNEL_NAME, language=lang, preamble=preamble, source=func, signature=sig, return_type=rtype,
        params=tuple(plist), footprints=tuple(footprints), trip_count=trip, loop_id=site.loop_id,
        content_hash=content_hash, facts=analysis.facts, may_alias=may_alias, loop_span=site.span,
        size_param=size_param, path=site.path, size_max=size_max,
    )


def _to_result_pointer(plist: list[KernelParam], name: str, t: CType, pre: list[str], post: list[str],
                       fresh: Any) -> None:
    """Turn the by-value parameter `name` into a RESULT pointer read at entry and written back at exit."""
    ptr = fresh(f"simdlens_{name}")
    for i, p in enumerate(plist):
        if p.name == name:
            plist[i] = KernelParam(ptr, f"{t.c} *{ptr}", ParamRole.RESULT, t, False, p.source or name)
            pre.append(f"{t.c} {name} = *{ptr};")
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


def _row_extent(decl: str, root: str) -> str | None:
    """The row length of a 2-D array declaration (`T root[A][B]`, `T root[][B]`, `T (*root)[B]`), else
    None (also for 3-D and deeper arrays)."""
    name = r"(?<![\w.>])" + re.escape(root)
    m = (re.search(name + r"\s*\[[^\]]*\]\s*\[([^\]]*)\](?!\s*\[)", decl)
         or re.search(r"\(\s*\*\s*(?:(?:const|restrict|__restrict__|__restrict|volatile)\s+)*" + re.escape(root)
                      + r"\s*\)\s*\[([^\]]*)\](?!\s*\[)", decl))
    return m.group(1).strip() or None if m else None


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


def _mentions(text: str, name: str) -> bool:
    return re.search(r"(?<![\w.>])" + re.escape(name) + r"(?!\w)", text) is not None


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
        parts = re.split(r"(->|\.|\(\))", src)
        pat = r"\s*".join(re.escape(p) for p in parts if p)
        pat = pat.replace(r"\(\)", r"\(\s*\)")
        text = re.sub(r"(?<![\w.>])" + pat + r"(?!\w)", dst, text)
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
                guarded: set[str], params: list[KernelParam]) -> list[Footprint] | None:
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
            return None
        los: list[str] = []
        his: list[str] = []
        # accesses that differ only in their constant offset: keep the extreme offsets only
        spread: dict[tuple[str, int | None, str], tuple[int, int]] = {}
        for a in items:
            if a.index is None:
                key = (a.base, a.coeff, a.symbolic)
                lo_o, hi_o = spread.get(key, (a.offset, a.offset))
                spread[key] = (min(lo_o, a.offset), max(hi_o, a.offset))
        done: set[tuple[str, int | None, str]] = set()
        for a in items:
            if a.index is None:
                key = (a.base, a.coeff, a.symbolic)
                if key not in done:
                    done.add(key)
                    lo_o, hi_o = spread[key]
                    lo_list: list[str] = []
                    hi_list: list[str] = []
                    _span_of(replace(a, offset=lo_o), loop, renames, first, last, lo_list, [])
                    _span_of(replace(a, offset=hi_o), loop, renames, first, last, [], hi_list)
                    los.extend(lo_list)
                    his.extend(hi_list)
                continue
            if a.index is not None:
                pk = next((s for s in walk_stmts(loop.body) if isinstance(s, Pack) and s.dst is a), None)
                if pk is not None:
                    c = renames.get(pk.counter, pk.counter)
                    los.append(f"({c})")
                    his.append(f"({c}) + ({trip}) - 1")
                    continue
                ind = _induction_span(a, loop, renames, trip)
                if ind is not None:
                    los.append(ind[0])
                    his.append(ind[1])
                    continue
                direct = _bare(a.index)
                if not isinstance(direct, Load) or direct.access.root == root or direct.access.index is not None:
                    return None  # a computed subscript (a[i*i], a[idx[i]*dim]): no footprint we can state
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


def _induction_span(a: Access, loop: LoopIR, renames: dict[str, str], trip: str) -> tuple[str, str] | None:
    """`x[j + c]` where `j += s` once per iteration (a Step): j0 + s*k (+ s after the step) + c."""
    idx, off = a.index, 0
    if isinstance(idx, Binary) and idx.op in ("+", "-") and isinstance(_bare(idx.rhs), Const):
        rhs = _bare(idx.rhs)
        assert isinstance(rhs, Const)
        if not isinstance(rhs.value, int):
            return None
        off = rhs.value if idx.op == "+" else -rhs.value
        idx = idx.lhs
    idx = _bare(idx) if idx is not None else None
    if not isinstance(idx, Var):
        return None
    steps = [(n, s) for n, s in enumerate(loop.body) if isinstance(s, Step) and s.var == idx.name]
    if len(steps) != 1:
        return None
    pos, step = steps[0]
    inc = _bare(step.step)
    sign = 1
    if isinstance(inc, Unary) and inc.op == "-":
        inc, sign = _bare(inc.operand), -1
    if not isinstance(inc, Const) or not isinstance(inc.value, int):
        return None
    per = sign * inc.value
    at = next((n for n, (acc, _w, top) in enumerate(accesses_of(loop.body)) if acc is a), None)
    tops = [top for acc, _w, top in accesses_of(loop.body) if acc is a]
    if at is None or not tops:
        return None
    after = loop.body.index(tops[0]) > pos
    j0 = renames.get(idx.name, idx.name)
    base = per if after else 0
    first = _index_text("", 0, "", base + off, j0)
    last = _index_text("", per, f"({trip}) - 1", base + off, j0)
    return (first, last) if per >= 0 else (last, first)


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
    """For a row base `m[j]` of a 2-D array, the flat offset of the row: `(j) * (B)`."""
    if not a.base.startswith(a.root + "["):
        return ""
    arr = loop.array(a.root)
    ext = _row_extent(arr.decl, a.root) if arr is not None else None
    row = a.base[len(a.root) + 1:-1]
    if ext is None:
        return ""
    return f"({_rename(row, renames)}) * ({ext})"


def _combine(exprs: list[str], op: str) -> str:
    uniq: list[str] = []
    for e in exprs:
        if e not in uniq:
            uniq.append(e)
    acc = uniq[0]
    for e in uniq[1:]:
        acc = f"(({acc}) {op} ({e}) ? ({acc}) : ({e}))"
    return acc


def _size_param(loop: LoopIR, renames: dict[str, str], params: list[KernelParam]) -> str | None:
    names = [p.name for p in params if p.role == ParamRole.COUNT]
    upper = _rename(loop.upper, renames)
    lower = _rename(loop.lower, renames)
    for text in (upper, lower):
        for n in names:
            if _mentions(text, n):
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
    for a, _w, _s in accs:
        arr = loop.array(a.root)
        if arr is None or not a.base.startswith(a.root + "[") or not a.coeff or a.symbolic:
            continue
        ext = _row_extent(arr.decl, a.root)
        length = _int_value(ext, ctx) if ext is not None else None
        if length is not None and length > 0:
            rows.append((a.coeff, a.offset, length))
    if not rows:
        return None
    lower_text, upper_text = _rename(loop.lower, renames), _rename(loop.upper, renames)

    def columns_fit(n: int) -> bool | None:
        lower = _int_value(_substitute(lower_text, size, n), ctx)
        upper = _int_value(_substitute(upper_text, size, n), ctx)
        if lower is None or upper is None:
            return None
        ivs = _first_last(lower, upper, loop.cmp, loop.step)
        if ivs is None:
            return True  # the loop does not run
        return all(0 <= c * iv + k < length for c, k, length in rows for iv in ivs)

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
