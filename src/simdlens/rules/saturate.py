"""Saturating add/sub of 8- and 16-bit lanes, recognised from the scalar clamps people write.

    int s = a[i] + b[i]; if (s > 32767) s = 32767; if (s < -32768) s = -32768; out[i] = s;
    out[i] = (int16_t)(s > 32767 ? 32767 : s < -32768 ? -32768 : s);      (any nesting order)
    out[i] = s > 255 ? 255 : s;                                           (uint8 + uint8: only the top)
    out[i] = (int16_t)sat(v < 0 ? -v : v);                                (|v|: the minimum becomes the maximum)

A sum or difference of two values of the stored element type, computed in a wider int and clamped to
exactly that type's range, is what `adds`/`subs` (`_mm256_adds_epi16`, `_mm256_subs_epu8`, ...) compute
lane by lane; the store then reads `Binary("adds" | "subs")` of the narrow operands, so the loop runs at
the narrow width (16 / 32 lanes on AVX2) instead of widening, adding and clamping. The instructions are
table ops (`adds`, `subs` in rules/isa/*.toml): an ISA without them makes the lowering say so.

Only locals that nothing else reads (and that are dead after the loop) are folded away; the scalar
remainder and the fallback keep the user's own statements.
"""

from __future__ import annotations

import dataclasses

from simdlens.analysis.ir import (
    Binary,
    Call,
    Cast,
    Const,
    CType,
    Expr,
    If,
    Let,
    Load,
    LoopIR,
    Select,
    Stmt,
    Store,
    Unary,
    Var,
    expr_type,
    walk_exprs,
    walk_stmts,
)

_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535)}


def saturating_stores(body: tuple[Stmt, ...], loop: LoopIR) -> tuple[Stmt, ...]:
    """`body` with every recognised clamp-of-a-sum store replaced by a saturating op (see module doc)."""
    env: dict[str, Expr] = {}  # local -> its value as an expression of loads (valid until the next store)
    defined: dict[str, list[int]] = {}  # local -> the top-level statements that assign it
    out: list[Stmt | None] = list(body)
    for k, s in enumerate(body):
        if isinstance(s, Let):
            env[s.name] = _inline(s.value, env)
            defined.setdefault(s.name, []).append(k)
        elif (isinstance(s, If) and not s.else_ and len(s.then) == 1 and isinstance(s.then[0], Let)
              and s.then[0].name in env):
            let = s.then[0]  # `if (s > C) s = C;`: s = cond ? C : s
            env[let.name] = Select(_inline(s.cond, env), _inline(let.value, env), env[let.name], let.type)
            defined[let.name].append(k)
        elif isinstance(s, Store):
            saturating = _saturating(_inline(s.value, env), s.access.elem)
            if saturating is not None:
                out[k] = Store(s.access, saturating, s.span)
                for name in {x.name for x in walk_exprs(s.value) if isinstance(x, Var)}:
                    if _dead_elsewhere(body, loop, name, defined.get(name, []), k):
                        for d in defined[name]:
                            out[d] = None
            env.clear()  # a later read of a local must not move past this store
        else:
            env.clear()
    return tuple(x for x in out if x is not None)


def _inline(e: Expr, env: dict[str, Expr]) -> Expr:
    if isinstance(e, Var) and e.name in env:  # a value may read earlier temporaries: those too, never itself
        value = _inline(env[e.name], {k: v for k, v in env.items() if k != e.name})
        return value if expr_type(value).name == e.type.name else Cast(value, e.type, implicit=True)
    if isinstance(e, Binary):
        return Binary(e.op, _inline(e.lhs, env), _inline(e.rhs, env), e.type)
    if isinstance(e, Select):
        return Select(_inline(e.cond, env), _inline(e.then, env), _inline(e.else_, env), e.type)
    if isinstance(e, Cast):
        return Cast(_inline(e.operand, env), e.type, e.implicit)
    if isinstance(e, Unary):
        return Unary(e.op, _inline(e.operand, env), e.type)
    if isinstance(e, Call):  # `lrintf(v)` of a local: its value too, or the local's removal leaves it unbound
        return Call(e.func, tuple(_inline(a, env) for a in e.args), e.type)
    return e


def _dead_elsewhere(body: tuple[Stmt, ...], loop: LoopIR, name: str, defs: list[int], user: int) -> bool:
    """`name` is read only by its own definitions and statement `user`, and is not used after the loop."""
    scalar = loop.scalar(name)
    if not defs or (scalar is not None and scalar.live_out):
        return False
    for k, s in enumerate(body):
        if k in defs or k == user:
            continue
        for st in walk_stmts((s,)):
            exprs = [getattr(st, f, None) for f in ("value", "cond", "index", "step")]
            if any(isinstance(x, Var) and x.name == name for e in exprs if e is not None and not isinstance(e, str)
                   for x in walk_exprs(e)):
                return False
            if getattr(st, "name", None) == name or getattr(st, "var", None) == name:
                return False
    return True


def _saturating(value: Expr, elem: CType) -> Expr | None:
    bounds = _RANGE.get(elem.name)
    if bounds is None:
        return None
    while isinstance(value, Cast) and not expr_type(value.operand).is_float:
        value = value.operand  # the store's conversion; the clamp makes it exact
    clamped = _clamp(_narrowed_outside(value, elem) or value)
    if clamped is None:
        return None
    x, lo, hi = clamped
    magnitude = _abs_of(x, elem)
    if magnitude is not None and elem.signed and hi == bounds[1] and (lo is None or lo <= 0):
        return Unary("abs_sat", magnitude, elem)  # |v| of the type's minimum is its maximum, not itself
    if not isinstance(x, Binary) or x.op not in ("+", "-") or x.type.is_float or x.type.bits < 32:
        return None
    lhs, rhs = _narrow(x.lhs, elem), _narrow(x.rhs, elem)
    if lhs is None or rhs is None:
        return _clamped_in_int16(x, lo, hi, elem)
    low, high = bounds
    if elem.signed:
        exact = (lo, hi) == (low, high)  # a sum of two int16 can leave the range on either side
    elif x.op == "+":
        exact = hi == high and lo in (None, 0)  # never below 0
    else:
        exact = lo == 0 and hi in (None, high)  # never above the maximum
    if not exact:
        return _clamped_in_int16(x, lo, hi, elem)
    return Binary("adds" if x.op == "+" else "subs", lhs, rhs, elem)


_INT16 = CType("int16", "int16_t")


def _clamped_in_int16(x: Binary, lo: int | None, hi: int | None, elem: CType) -> Expr | None:
    """`clamp(a + b, lo, hi)` stored as an 8-bit type, with a and b values int16 holds (`pred[i] +
    res[i]`, uint8 + int16, clamped to 0..255): the int16 saturating op, then min/max to [lo, hi] in
    int16 lanes. Exact: [lo, hi] lies inside int16's range, so clamping the saturated sum clamps the sum."""
    if elem.bits != 8 or lo is None or hi is None or not -32768 <= lo <= hi <= 32767:
        return None
    elem_lo, elem_hi = _RANGE[elem.name]
    if lo < elem_lo or hi > elem_hi:
        return None  # the store would wrap what the clamp lets through
    operands = [_widened(e) for e in (x.lhs, x.rhs)]
    if any(e is None for e in operands):
        return None
    a, b = (e if expr_type(e).name == "int16" else Cast(e, _INT16, implicit=True) for e in operands if e is not None)
    saturated = Binary("adds" if x.op == "+" else "subs", a, b, _INT16)
    return Binary("min", Binary("max", saturated, Const(lo, _INT16, str(lo)), _INT16), Const(hi, _INT16, str(hi)), _INT16)


def _abs_of(x: Expr, elem: CType) -> Expr | None:
    """v for `|v|` computed in int of a value v of type `elem` (`abs(v)`, `v < 0 ? -v : v`), else None."""
    if isinstance(x, Unary) and x.op == "abs" and x.type.bits >= 32:
        return _narrow(x.operand, elem)
    if isinstance(x, Select) and isinstance(x.cond, Binary) and x.cond.op in ("<", "<=", ">", ">="):
        c = x.cond
        v = c.lhs if isinstance(c.rhs, Const) and c.rhs.value == 0 else None
        negated, kept = (x.then, x.else_) if c.op in ("<", "<=") else (x.else_, x.then)
        if (v is not None and isinstance(negated, Unary) and negated.op == "-" and negated.type.bits >= 32
                and _same(negated.operand, v) and _same(kept, v)):
            return _narrow(v, elem)
    return None


def _widened(e: Expr) -> Expr | None:
    """`e` as a value of at most 16 bits that int16 holds (int8, uint8, int16), or None."""
    inner = e.operand if isinstance(e, Cast) else e
    return inner if expr_type(inner).name in ("int8", "uint8", "int16") else None


def _narrow(e: Expr, elem: CType) -> Expr | None:
    """`e` as a value of type `elem` when it is one widened by C's promotions (a load, a cast of one)."""
    if isinstance(e, Cast) and expr_type(e.operand).name == elem.name:
        return e.operand
    if expr_type(e).name == elem.name:
        return e
    return None


def _clamp(e: Expr) -> tuple[Expr, int | None, int | None] | None:
    """(x, lo, hi) for selects that clamp one expression x to [lo, hi] (a missing side: None): nested
    ternaries (`x > H ? H : x < L ? L : x`) or one clamp applied to another (`if` after `if`)."""
    if not isinstance(e, Select):
        return None
    side = _bound(e)
    if side is None:
        return None
    kind, bound, x, other = side
    if _same(other, x):  # `x > H ? H : x`, where x may itself be a clamp
        inner = _clamp(x)
        subject, lo, hi = inner if inner is not None else (x, None, None)
    else:  # `x > H ? H : <a clamp of x>`
        inner = _clamp(other)
        if inner is None or not _same(inner[0], x):
            return None
        subject, lo, hi = inner
        # the inner arm only runs on the other side of this bound: its own bound on this side must not bite
        if (kind == "hi" and hi is not None and hi < bound) or (kind == "lo" and lo is not None and lo > bound):
            return None
    if kind == "hi":
        hi = bound if hi is None else min(hi, bound)
    else:
        lo = bound if lo is None else max(lo, bound)
    if lo is not None and hi is not None and lo > hi:
        return None
    return subject, lo, hi


def _narrowed_outside(e: Expr, elem: CType) -> Expr | None:
    """A clamp whose arms convert to the stored type and back (a helper's `if (v > 255) return 255; …
    return (uint8_t)v;` in a ternary, which C promotes again), read without the round trip: the store
    converts the result to `elem` anyway, and `(elem)(int)(elem)v` is `(elem)v`. None when no arm has one."""
    changed = False

    def arms(x: Expr) -> Expr:
        nonlocal changed
        if isinstance(x, Select):
            return Select(x.cond, arms(x.then), arms(x.else_), x.type)
        if (isinstance(x, Cast) and isinstance(x.operand, Cast) and x.operand.type.name == elem.name
                and not x.type.is_float and x.type.bits >= elem.bits and not expr_type(x.operand.operand).is_float):
            changed = True
            inner = x.operand.operand
            return inner if expr_type(inner).name == x.type.name else Cast(inner, x.type, implicit=True)
        return x

    got = arms(e) if isinstance(e, Select) else e
    return got if changed else None


def _same(a: Expr, b: Expr) -> bool:
    """The same computation, wherever in the source it was written (a macro's argument spelled twice)."""
    return _unplaced(a) == _unplaced(b)


def _unplaced(e: Expr) -> Expr:
    if isinstance(e, Load):
        return Load(dataclasses.replace(e.access, span=None))
    if isinstance(e, Binary):
        return Binary(e.op, _unplaced(e.lhs), _unplaced(e.rhs), e.type)
    if isinstance(e, Select):
        return Select(_unplaced(e.cond), _unplaced(e.then), _unplaced(e.else_), e.type)
    if isinstance(e, Cast):
        return Cast(_unplaced(e.operand), e.type, e.implicit)
    return e


def _widened_const(e: Expr) -> Const | None:
    """An integer constant, also when C widened it to the other operand's type (`v > 32767`, long v)."""
    while isinstance(e, Cast) and not e.type.is_float and isinstance(e.operand, Const | Cast) \
            and e.type.bits >= expr_type(e.operand).bits and (e.type.signed or not expr_type(e.operand).signed):
        e = e.operand
    return e if isinstance(e, Const) and not e.type.is_float else None


def _bound(s: Select) -> tuple[str, int, Expr, Expr] | None:
    """One level of a clamp: ("hi" | "lo", the bound, the clamped expression, the other arm)."""
    c = s.cond
    if not isinstance(c, Binary) or c.op not in ("<", "<=", ">", ">="):
        return None
    x, op, k = c.lhs, c.op, _widened_const(c.rhs)
    if _widened_const(x) is not None and k is None:  # `C < x`: the same test as `x > C`
        x, k, op = c.rhs, _widened_const(x), {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
    if k is None or not isinstance(k.value, int):
        return None
    then, else_ = _widened_const(s.then), _widened_const(s.else_)
    arm = then if then is not None else else_
    if arm is None or arm.value != k.value:
        return None
    other = s.else_ if arm is then else s.then
    above = op in (">", ">=")
    if arm is then:  # `x > C ? C : ...` caps above; `x < C ? C : ...` raises below
        return ("hi" if above else "lo"), k.value, x, other
    return ("lo" if above else "hi"), k.value, x, other  # `x > C ? ... : C` keeps x only above C
