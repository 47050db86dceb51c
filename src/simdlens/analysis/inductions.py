"""Subscripts by a second counter: `a[j]` where `j++` runs once on every iteration of a counter that
steps by 1 walks memory like `a[i]`, at a distance fixed when the loop starts.

The IR keeps such an access indirect (its index is the variable j); this module gives its affine form,
`coeff` 1 and the symbolic offset `j - (lower)` in j's value at loop entry, so the dependence test,
the run-time overlap check and the lowering read it as a contiguous walk instead of a scatter."""

from __future__ import annotations

from simdlens.analysis.build import strip_implicit_casts
from simdlens.analysis.ir import Access, Binary, Const, Expr, LoopIR, Step, Stmt, Var, walk_stmts


def unit_induction(loop: LoopIR, name: str) -> bool:
    """`name` is stepped by exactly 1 once on every iteration (one top-level `Step`), the counter by 1; or
    by a run-time stride the loop assumes is 1 (`ix += incx` with `incx` in `LoopIR.unit_strides`)."""
    if loop.step != 1:
        return False
    step = _only_step(loop.body, name)
    if isinstance(step, Var):
        return (step.name, "1") in loop.unit_strides
    return isinstance(step, Const) and step.value == 1


def _only_step(body: tuple[Stmt, ...], name: str) -> Expr | None:
    """The step of `name`'s one top-level `Step` (implicit casts aside), or None."""
    steps = [s for s in walk_stmts(body) if isinstance(s, Step) and s.var == name]
    top = [s for s in body if isinstance(s, Step) and s.var == name]
    if len(steps) != 1 or top != steps:
        return None
    return strip_implicit_casts(steps[0].step)


def stride_steps(body: tuple[Stmt, ...]) -> tuple[str, ...]:
    """The run-time strides of BLAS-style index walks: `ix += incx` (one top-level step by an integer
    variable) where `x[ix]` subscripts an array. Read as unit steps, the walk is `x[i]` while incx == 1."""
    # Only a name stepped at the top level by a variable can qualify: most bodies have none, and need no walk.
    by_variable = {s.var for s in body if isinstance(s, Step) and isinstance(strip_implicit_casts(s.step), Var)}
    if not by_variable:
        return ()
    from simdlens.analysis.build.accesses import accesses_of

    found: list[str] = []
    for a, _w, _top in accesses_of(body):
        sub = induction_subscript(a)
        step = _only_step(body, sub[0]) if sub is not None and sub[0] in by_variable else None
        if isinstance(step, Var) and not step.type.is_float and step.name not in found:
            found.append(step.name)
    return tuple(found)


def induction_subscript(a: Access) -> tuple[str, int] | None:
    """(j, c) for an access `x[j + c]` / `x[j - c]` / `x[j]` whose index is a bare variable plus a constant."""
    if a.coeff is not None or a.index is None or a.symbolic:
        return None
    idx, off = strip_implicit_casts(a.index), 0
    if isinstance(idx, Binary) and idx.op in ("+", "-") and isinstance(rhs := strip_implicit_casts(idx.rhs), Const) \
            and isinstance(rhs.value, int) and not isinstance(rhs.value, bool):
        off, idx = (rhs.value if idx.op == "+" else -rhs.value), strip_implicit_casts(idx.lhs)
    return (idx.name, off) if isinstance(idx, Var) else None


def induction_affine(loop: LoopIR, a: Access, stepped: bool) -> Access:
    """The affine form of `x[j + c]` for a unit induction j (`stepped`: its Step ran before the access,
    so the access sees one more), or `a` itself when it is not one."""
    found = induction_subscript(a)
    if found is None or not unit_induction(loop, found[0]):
        return a
    name, off = found
    lower = loop.lower.strip() or "0"
    entry = name if lower == "0" else f"{name} - ({lower})"
    return Access(a.root, a.base, a.elem, 1, off + int(stepped), entry, None, a.span)
