"""Integer division and remainder by a constant, without a divide instruction: multiply-high by a magic number.

SIMD units have no integer divide, but `x / d` for a constant `d` is `mulhi(x, m) >> s` plus small
corrections (Granlund & Montgomery, "Division by invariant integers using multiplication", PLDI 1994;
Warren, "Hacker's Delight", ch. 10). This module computes the magic numbers and writes the exact
sequence as a small straight-line `DivisionPlan` over N-bit lanes:

    mulhi  high N bits of the 2N-bit product with a constant (signed or unsigned per the plan)
    add, sub, neg, mul (low N bits, by a constant)
    sra, srl   arithmetic / logical shift right by a constant

`run_plan` executes a plan on Python integers with C's N-bit wrap-around, so the tests check the very
sequence the rule engine emits against C's division (`c_divide`: truncation toward zero);
`emit_plan` lowers it through the ISA table's `mulhi`, `shri`, `add`, `sub` and `mul` rows.
`x % d` is `x - (x / d) * d`. Supported: 16- and 32-bit lanes (the tables have a multiply-high
for them), every divisor but 0 and, for signed types, the most negative value. Positive powers of
two stay with the shift lowering in `lower.py`, which also covers 8- and 64-bit lanes.

C divides in int; `narrow_division` (called by the narrowing in `lower.py`) moves a division to 16-bit
lanes where that gives the same stored bits, from the operand's type or its value range
(`value_range`), and `inline_division_locals` lets the store of `int sum = a + b + c; d = sum / 3`
see the sum's range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simdlens.analysis.ir import (
    Binary,
    Cast,
    Const,
    CType,
    Expr,
    Let,
    Load,
    Stmt,
    Store,
    Unary,
    Var,
    expr_type,
    substitute_var,
    walk_exprs,
    walk_stmts,
)

if TYPE_CHECKING:
    from simdlens.rules.lower import Lowering, VVal


class NoDivisionPlan(ValueError):
    """No multiply-high sequence for this division (the message is the user-facing reason)."""


@dataclass(frozen=True)
class PlanStep:
    """One lane-wise operation: `op` on earlier values (`args`: indices, 0 = the dividend) and `imm`."""

    op: str  # "mulhi" "add" "sub" "neg" "mul" "sra" "srl"
    args: tuple[int, ...]
    imm: int = 0  # the constant factor (mulhi, mul; as an N-bit pattern) or the shift count


@dataclass(frozen=True)
class DivisionPlan:
    """`x / divisor` (or `%`) on `bits`-bit lanes as straight-line steps ending in `result`."""

    divisor: int
    bits: int
    signed: bool
    remainder: bool
    steps: tuple[PlanStep, ...]
    result: int  # the value holding the result (0 = the dividend itself, x / 1)

    @property
    def uses_mulhi(self) -> bool:
        return any(s.op == "mulhi" for s in self.steps)


# --------------------------------------------------------------------------------------------------
# C semantics and the magic numbers
# --------------------------------------------------------------------------------------------------


def wrap(value: int, bits: int, signed: bool) -> int:
    """`value` converted to a `bits`-bit integer as C does (modulo 2^bits)."""
    value &= (1 << bits) - 1
    if signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def c_divide(x: int, d: int, bits: int, signed: bool, remainder: bool = False) -> int:
    """C's `x / d` (`x % d`) on `bits`-bit integers: truncation toward zero; the one overflowing case,
    INT_MIN / -1 (undefined in C), wraps to INT_MIN with remainder 0, as gcc's negation for `x / -1` does."""
    if d == 0:
        raise ZeroDivisionError("division by zero")
    q = abs(x) // abs(d)
    if (x < 0) != (d < 0):
        q = -q
    return wrap(x - q * d if remainder else q, bits, signed)


def choose_multiplier(d: int, precision: int, bits: int) -> tuple[int, int, int]:
    """(m, post-shift, ceil(log2 d)) with floor(x * m / 2^(bits + shift)) == floor(x / d) for every
    0 <= x < 2^precision; m may need bits + 1 bits (Granlund & Montgomery, figure 6.2)."""
    log = (d - 1).bit_length()
    shift = log
    low = (1 << (bits + log)) // d
    high = ((1 << (bits + log)) + (1 << (bits + log - precision))) // d
    while low >> 1 < high >> 1 and shift > 0:
        low >>= 1
        high >>= 1
        shift -= 1
    return high, shift, log


class _Builder:
    def __init__(self) -> None:
        self.steps: list[PlanStep] = []

    def add(self, op: str, *args: int, imm: int = 0) -> int:
        if op in ("sra", "srl") and imm == 0:
            return args[0]
        self.steps.append(PlanStep(op, args, imm))
        return len(self.steps)


def plan_division(divisor: int, bits: int, signed: bool, remainder: bool = False) -> DivisionPlan:
    """The multiply-high sequence for C's `x / divisor` (or `x % divisor`) on `bits`-bit lanes."""
    if bits not in (16, 32):
        raise NoDivisionPlan(f"integer division by {divisor} on {bits}-bit elements (no {bits}-bit multiply-high)")
    d = wrap(divisor, bits, signed)
    if d == 0:
        raise NoDivisionPlan("integer division by zero")
    if signed and d == -(1 << (bits - 1)):
        raise NoDivisionPlan(f"integer division by the most negative {bits}-bit value")
    b = _Builder()
    q = _signed_quotient(b, d, bits) if signed else _unsigned_quotient(b, d, bits)
    if remainder:
        q = b.add("sub", 0, b.add("mul", q, imm=wrap(d, bits, False)))
    return DivisionPlan(d, bits, signed, remainder, tuple(b.steps), q)


def _signed_quotient(b: _Builder, d: int, bits: int) -> int:
    """Figure 5.2 of Granlund & Montgomery: truncating signed division, then negated for d < 0."""
    a = abs(d)
    m, shift, log = choose_multiplier(a, bits - 1, bits)
    if a == 1:
        q = 0
    elif a == 1 << log:  # bias negative dividends by 2^log - 1 so the shift truncates toward zero
        bias = b.add("srl", b.add("sra", 0, imm=log - 1), imm=bits - log)
        q = b.add("sra", b.add("add", 0, bias), imm=log)
    else:
        if m < 1 << (bits - 1):
            high = b.add("mulhi", 0, imm=m)
        else:  # m needs bits + 1 bits as unsigned: multiply by m - 2^bits (negative) and add x back
            high = b.add("add", 0, b.add("mulhi", 0, imm=wrap(m - (1 << bits), bits, False)))
        negative = b.add("sra", 0, imm=bits - 1)  # -1 when x < 0: subtracting it rounds toward zero
        q = b.add("sub", b.add("sra", high, imm=shift), negative)
    return b.add("neg", q) if d < 0 else q


def _unsigned_quotient(b: _Builder, d: int, bits: int) -> int:
    """Figure 4.2 of Granlund & Montgomery, with the pre-shift for even divisors whose magic is too wide."""
    m, shift, log = choose_multiplier(d, bits, bits)
    if d == 1 << log:
        return b.add("srl", 0, imm=log)
    pre = 0
    if m >= 1 << bits and d % 2 == 0:
        pre = (d & -d).bit_length() - 1
        m, shift, _ = choose_multiplier(d >> pre, bits - pre, bits)
    if m >= 1 << bits:  # the add-back variant: t = mulhi(x, m - 2^N); q = (t + (x - t) / 2) >> (shift - 1)
        t = b.add("mulhi", 0, imm=m - (1 << bits))
        half = b.add("srl", b.add("sub", 0, t), imm=1)
        return b.add("srl", b.add("add", t, half), imm=shift - 1)
    return b.add("srl", b.add("mulhi", b.add("srl", 0, imm=pre), imm=m), imm=shift)


def run_plan(plan: DivisionPlan, x: int) -> int:
    """Execute `plan` on one lane holding `x`, with the N-bit wrap-around of the vector instructions."""
    n, signed = plan.bits, plan.signed
    values = [wrap(x, n, signed)]
    for s in plan.steps:
        args = [values[i] for i in s.args]
        if s.op == "mulhi":
            factor = wrap(s.imm, n, signed)
            v = (args[0] * factor) >> n  # the exact 2N-bit product's high half (floor, as the hardware)
        elif s.op == "add":
            v = args[0] + args[1]
        elif s.op == "sub":
            v = args[0] - args[1]
        elif s.op == "neg":
            v = -args[0]
        elif s.op == "mul":
            v = args[0] * wrap(s.imm, n, signed)
        elif s.op == "sra":
            v = wrap(args[0], n, True) >> s.imm
        elif s.op == "srl":
            v = wrap(args[0], n, False) >> s.imm
        else:
            raise ValueError(f"unknown plan step {s.op}")
        values.append(wrap(v, n, signed))
    return values[plan.result]


# --------------------------------------------------------------------------------------------------
# From the IR, and into intrinsics
# --------------------------------------------------------------------------------------------------


def constant_value(e: Expr) -> int | None:
    """The value of an integer constant expression (`3`, `-3`, `(unsigned)-3`), as C computes it."""
    if isinstance(e, Const):
        return None if isinstance(e.value, float) else int(e.value)
    if isinstance(e, Cast) and not e.type.is_float:
        inner = constant_value(e.operand)
        return None if inner is None else wrap(inner, e.type.bits, e.type.signed)
    if isinstance(e, Unary) and e.op == "-" and not e.type.is_float:
        inner = constant_value(e.operand)
        return None if inner is None else wrap(-inner, e.type.bits, e.type.signed)
    return None


def magic_divisor(e: Binary) -> int | None:
    """The divisor of `x / d` or `x % d` when it is a constant the shift lowering does not take (anything
    but a positive power of two below 2^(bits-1)), else None."""
    d = constant_value(e.rhs)
    if d is None:
        return None
    d = wrap(d, e.type.bits, e.type.signed)
    if 0 < d < 1 << (e.type.bits - 1) and d & (d - 1) == 0:
        return None
    return d


def narrow_division(e: Binary, t: CType, demote: Callable[[Expr, CType], Expr | None]) -> Expr | None:
    """`x / c` (`x % c`), computed in C's int, on 16-bit lanes when that gives the low `t.bits` bits of the
    int result (`t` the stored type, 8 or 16 bits; `demote(e, t)` narrows an operand), else None:

    - `x` is a value of a type `t` holds unchanged (`int16 / 7` stored to int16); for unsigned `t` only
      by a positive `c` (signed division by a negative constant is not unsigned division by its pattern);
      the one overflow, INT16_MIN / -1, wraps to INT16_MIN in both;
    - or `x`'s value range fits 16 bits (`(a + b + c) / 3` over bytes): computed as uint16 (int16 when it
      can be negative) and then truncated to `t` like the int result.

    Positive powers of two stay with the shift lowering (AVX2 has no 16-bit variable shifts)."""
    d = constant_value(e.rhs)
    if d is None or d == 0 or t.is_float or t.bits > 16 or (d > 0 and d & (d - 1) == 0):
        return None
    if d == -(1 << 15):  # no 16-bit plan divides by the most negative value: stay in C's int lanes
        return None
    source = _narrow(e.lhs)
    if source is not None and t.bits == 16:
        st = expr_type(source)
        fits = st.name == t.name or (st.bits < t.bits and (t.signed or not st.signed))
        # an unsigned division (`x / 7u`) sees a negative x as a huge value: never a signed 16-bit one
        same_sign_rules = e.type.signed or not st.signed
        if fits and same_sign_rules and (t.signed or d > 0) and wrap(d, 16, t.signed) == d:
            operand = source if st.name == t.name else Cast(source, t, implicit=True)
            return Binary(e.op, operand, Const(d, t), t)
    span = value_range(e.lhs)
    if span is None:
        return None
    lo, hi = span
    if lo >= 0 and hi < 1 << 16 and 0 < d < 1 << 16:
        work = CType("uint16", "uint16_t")
    elif lo >= -(1 << 15) and hi < 1 << 15 and -(1 << 15) < d < 1 << 15:
        work = CType("int16", "int16_t")
    else:
        return None
    dividend = demote(e.lhs, work)
    if dividend is None:
        return None
    q = Binary(e.op, dividend, Const(d, work), work)
    return q if work.bits == t.bits and work.signed == t.signed else Cast(q, t, implicit=True)


def _narrow(e: Expr) -> Expr | None:
    """The narrower integer expression `e` widens (an implicit or explicit integer widening)."""
    if isinstance(e, Cast) and not e.type.is_float and not expr_type(e.operand).is_float \
            and expr_type(e.operand).bits < e.type.bits:
        return e.operand
    return None


def _type_range(t: CType) -> tuple[int, int] | None:
    if t.is_float:
        return None
    return (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, (1 << t.bits) - 1)


def value_range(e: Expr) -> tuple[int, int] | None:
    """Bounds of the values an integer expression takes, from its narrow sources and constants (None:
    unknown or possibly wrapping)."""
    t = expr_type(e)
    if t.is_float:
        return None
    if isinstance(e, Const):
        v = constant_value(e)
        return None if v is None else (v, v)
    if isinstance(e, Load):
        return _type_range(t)
    if isinstance(e, Cast):
        inner = value_range(e.operand) if not expr_type(e.operand).is_float else None
        bounds = _type_range(t)
        if inner is None or bounds is None:
            return None
        return inner if bounds[0] <= inner[0] and inner[1] <= bounds[1] else None
    if isinstance(e, Binary) and e.op in ("+", "-", "*"):
        a, b = value_range(e.lhs), value_range(e.rhs)
        if a is None or b is None:
            return None
        if e.op == "+":
            lo, hi = a[0] + b[0], a[1] + b[1]
        elif e.op == "-":
            lo, hi = a[0] - b[1], a[1] - b[0]
        else:
            corners = [x * y for x in a for y in b]
            lo, hi = min(corners), max(corners)
        bounds = _type_range(t)
        if bounds is None or lo < bounds[0] or hi > bounds[1]:
            return None  # it may wrap: the range says nothing
        return lo, hi
    return None


def inline_division_locals(body: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
    """`int sum = a + b + c; d[i] = (uint8_t)(sum / 3);` with `sum` used nowhere else: the store reads
    the expression itself, so that the narrowing can see the range of what is divided."""
    out = list(body)
    k = 0
    while k + 1 < len(out):
        let, store = out[k], out[k + 1]
        if (isinstance(let, Let) and isinstance(store, Store) and store.access.elem.bits < 32
                and _divides(store.value, let.name) and only_use(body, let.name, store)):
            inlined = substitute_var(store.value, let.name, let_value(let))
            if inlined is not None:
                out[k:k + 2] = [Store(store.access, inlined, store.span)]
                continue
        k += 1
    return tuple(out)


def let_value(let: Let, value: Expr | None = None) -> Expr:
    """What a read of the temporary `let` stands for: its value (or `value`), converted to its declared type."""
    v = let.value if value is None else value
    return v if expr_type(v).name == let.type.name else Cast(v, let.type, implicit=True)


def _divides(e: Expr, name: str) -> bool:
    return any(isinstance(x, Binary) and x.op in ("/", "%") and isinstance(x.lhs, Var) and x.lhs.name == name
               and constant_value(x.rhs) is not None for x in walk_exprs(e))


def only_use(body: tuple[Stmt, ...], name: str, user: Store) -> bool:
    """`name` is defined once, and read only by `user` (not in an index)."""
    defs = [s for s in walk_stmts(body) if isinstance(s, Let) and s.name == name]
    if len(defs) != 1:
        return False
    for s in walk_stmts(body):
        if s is user or s is defs[0]:
            continue
        exprs = [getattr(s, f) for f in ("value", "cond", "index", "step") if isinstance(getattr(s, f, None), Expr)]
        if any(isinstance(x, Var) and x.name == name for e in exprs for x in walk_exprs(e)):
            return False
        if getattr(s, "var", None) == name or getattr(s, "name", None) == name:
            return False
    return True


def lower_division(low: Lowering, e: Binary, divisor: int) -> VVal:
    """`e` (`x / divisor` or `x % divisor`, integer) as vector code: the plan through the table's rows."""
    t = e.type
    plan = plan_division(divisor, t.bits, t.signed, e.op == "%")
    w = low.width(t)
    if plan.uses_mulhi and low.t.op("mulhi", t.name, w) is None:
        raise NoDivisionPlan(f"integer division by {divisor}: {low.t.name} has no multiply-high for {t.name} lanes")
    low.features.add("divide")
    return emit_plan(low, plan, low.convert(low.expr(e.lhs), t.name))


def emit_plan(low: Lowering, plan: DivisionPlan, x: VVal) -> VVal:
    """The plan's steps as table operations on `x` (lanes of the plan's type filling `x.width` bits)."""
    from simdlens.rules.lower import VVal, ctype
    from simdlens.rules.scalar import literal

    n, w = plan.bits, x.width
    signed_t, unsigned_t = f"int{n}", f"uint{n}"
    t = signed_t if plan.signed else unsigned_t

    values = [x]

    def as_type(v: VVal, elem: str) -> VVal:
        return VVal(v.name, elem, v.width)  # same bits, another view: no instruction

    def constant(value: int) -> VVal:
        return low.splat(literal(value, ctype(t)), ctype(t))

    for s in plan.steps:
        args = [values[i] for i in s.args]
        if s.op == "mulhi":
            v = low.op("mulhi", t, w, a=args[0].name, b=constant(s.imm).name)
        elif s.op in ("add", "sub"):
            v = low.op(s.op, t, w, a=args[0].name, b=args[1].name)
        elif s.op == "neg":
            v = low.op("sub", t, w, a=constant(0).name, b=args[0].name)
        elif s.op == "mul":
            v = low.op("mul", t, w, a=args[0].name, b=constant(s.imm).name)
        elif s.op in ("sra", "srl"):
            view = signed_t if s.op == "sra" else unsigned_t
            v = as_type(low.op("shri", view, w, a=as_type(args[0], view).name, x=str(s.imm)), t)
        else:
            raise ValueError(f"unknown plan step {s.op}")
        values.append(v)
    return values[plan.result]


def lower_division_through_double(low: Lowering, e: Binary) -> VVal:
    """`x / d` or `x % d` on int32 with a divisor that is not a constant: both converted to double, one
    `div_pd`, truncated back (`cvttpd_epi32`, toward zero as C does); `%` is x - q*d.

    Exact for every int32 x, d with d != 0 and not (x == INT_MIN and d == -1) - the two cases C leaves
    undefined. Both operands are exact in double (53 bits), so the only error is the division's one rounding,
    at most |x/d| * 2^-53 <= 2^31/|d| * 2^-53 = 2^-22/|d|. If x/d is an integer it is exact (|q| <= 2^31);
    otherwise x/d = (m*d + r)/d with 0 < |r| < |d|, at least 1/|d| away from every integer, so the rounded
    quotient stays strictly between the same two integers and truncation gives C's quotient. (int16 and
    int8 operands arrive promoted to int32.)"""
    t = e.type
    if t.name != "int32":
        raise NoDivisionPlan(f"integer division or % of {t.name} by a value that is not a compile-time constant: "
                             "only int32 divides exactly through double (no SIMD integer divide)")
    table = low.t
    x = low.convert(low.expr(e.lhs), t.name)
    d = low.convert(low.expr(e.rhs), t.name)
    w = x.width
    if table.op("div", "double", 2 * w if 2 * w <= table.vector_bits else w) is None:
        raise NoDivisionPlan(f"integer division by a variable: {table.name} has no double divide")
    invariant = d.name in low.hoisted_names()  # a broadcast made before the loop (`a[i] / d`)

    def half(part: str, v: VVal, hint: str, hoisted: bool) -> VVal:
        text = low.fill(low.template(f"{part}_half", t.name, w), a=v.name)
        return low.hoist(text, t.name, w // 2, hint=hint) if hoisted else low.emit(text, t.name, w // 2, hint=hint)

    halves: list[tuple[VVal, VVal]] = [(x, d)]
    if 2 * w > table.vector_bits:  # 8 int32 lanes make two registers of 4 doubles
        halves = [(half(part, x, f"x_{part}", False), half(part, d, f"d_{part}", invariant))
                  for part in ("low", "high")]
    quotients = []
    for xh, dh in halves:
        wd = 2 * xh.width
        to_double = table.convert(t.name, "double", wd)
        back = table.convert("double", t.name, xh.width)
        if to_double is None or back is None:
            raise NoDivisionPlan(f"integer division by a variable: {table.name} has no int32 <-> double conversion")
        num = low.emit(low.fill(to_double, a=xh.name), "double", wd, hint="num")
        den_text = low.fill(to_double, a=dh.name)  # a loop-invariant divisor is converted once, before the loop
        den = low.hoist(den_text, "double", wd, hint="den") if invariant else low.emit(den_text, "double", wd, hint="den")
        q = low.op("div", "double", wd, a=num.name, b=den.name, hint="quot")
        quotients.append(low.emit(low.fill(back, a=q.name), t.name, xh.width, hint="q"))
    q = quotients[0]
    if len(quotients) == 2:
        joined = low.fill(low.template("join_halves", t.name, w // 2), a=quotients[0].name, b=quotients[1].name)
        q = low.emit(joined, t.name, w, hint="q")
    low.features.add("divide")
    low.caveat("a zero divisor gives INT_MIN instead of the scalar loop's SIGFPE (both undefined in C)")
    if e.op == "/":
        return q
    return low.op("sub", t.name, w, a=x.name, b=low.op("mul", t.name, w, a=q.name, b=d.name).name, hint="rem")


__all__ = ["DivisionPlan", "NoDivisionPlan", "PlanStep", "c_divide", "choose_multiplier", "constant_value",
           "emit_plan", "inline_division_locals", "let_value", "lower_division", "lower_division_through_double", "magic_divisor", "narrow_division", "plan_division",
           "run_plan", "value_range", "wrap"]
