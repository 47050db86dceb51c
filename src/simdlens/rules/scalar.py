"""Print loop IR back as scalar C: the epilogue of a vector loop and the scalar fix-ups it needs.

The IR carries C's implicit conversions as `Cast(implicit=True)`; they are left out of the text because
C applies them again, so the printed statements mean exactly what the user's statements mean.
Names go through `rename` so that the same IR prints with the user's names (the code action) or with
the kernel's parameter names (the sandbox).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from simdlens.analysis.build.bit_copies import BIT_CAST
from simdlens.analysis.ir import (
    IV,
    Access,
    ArgReduce,
    Binary,
    Call,
    Carry,
    Cast,
    Const,
    CType,
    Exit,
    Expand,
    Expr,
    Hold,
    If,
    LastValue,
    Let,
    Load,
    Pack,
    Reduce,
    ReduceOp,
    Running,
    Select,
    Step,
    Stmt,
    Store,
    Unary,
    Var,
    expr_type,
)

# Builtin spellings that need no header, for declarations simdlens generates.
BUILTIN_C = {
    "int8": "signed char", "uint8": "unsigned char", "int16": "short", "uint16": "unsigned short",
    "int32": "int", "uint32": "unsigned", "int64": "long long", "uint64": "unsigned long long",
    "float": "float", "double": "double",
}


def c_type(t: CType) -> str:
    return BUILTIN_C[t.name]


def literal(value: int | float, t: CType) -> str:
    """`value` as a C literal of type `t` (exact for every representable value)."""
    if t.is_float:
        v = float(value)
        if math.isnan(v):
            return "(0.0f/0.0f)" if t.name == "float" else "(0.0/0.0)"
        if math.isinf(v):
            return ("-" if v < 0 else "") + ("__builtin_inff()" if t.name == "float" else "__builtin_inf()")
        text = repr(v)
        return f"{text}f" if t.name == "float" else text
    v = int(value)
    bits = t.bits
    v &= (1 << bits) - 1
    if t.signed and v >= 1 << (bits - 1):
        v -= 1 << bits
    if bits == 64:
        if t.signed:
            return f"({v + 1}LL - 1)" if v == -(1 << 63) else f"{v}LL"
        return f"{v}ULL"
    if t.name == "uint32":
        return f"{v}u"
    if v == -(1 << 31):
        return "(-2147483647 - 1)"
    return str(v) if bits == 32 else f"(({BUILTIN_C[t.name]}){v})"


class ScalarPrinter:
    def __init__(self, iv: str, rename: Callable[[str], str], inline: Mapping[str, Expr] | None = None,
                 outer: frozenset[str] = frozenset()):
        self.iv = iv
        self.outer = outer  # temporaries declared before the loop: assigned, never declared again
        self.rename = rename
        self.inline = dict(inline or {})  # Let temporaries to substitute (for fix-up scans)
        self._scopes: list[set[str]] = []  # names declared in the blocks being printed, innermost last

    def index(self, a: Access) -> str:
        if a.coeff is None:
            assert a.index is not None
            return self.expr(a.index)
        parts = []
        if a.coeff == 1:
            parts.append(self.iv)
        elif a.coeff == -1:
            parts.append(f"-{self.iv}")
        elif a.coeff != 0:
            parts.append(f"{a.coeff} * {self.iv}")
        if a.offset:
            parts.append(str(a.offset))
        if a.symbolic:
            parts.append(f"({self.rename(a.symbolic)})")
        text = " + ".join(parts) or "0"
        return text.replace("+ -", "- ")

    def access(self, a: Access) -> str:
        return f"{self.rename(a.base)}[{self.index(a)}]"

    def expr(self, e: Expr) -> str:
        if isinstance(e, Const):
            return literal(e.value, e.type)
        if isinstance(e, Var):
            if e.name in self.inline:
                return f"({self.expr(self.inline[e.name])})"
            return self.rename(e.name)
        if isinstance(e, IV):
            return self.iv
        if isinstance(e, Load):
            return self.access(e.access)
        if isinstance(e, Unary):
            inner = self.expr(e.operand)
            if e.op == "abs":
                if e.type.is_float:
                    return f"__builtin_fabs{'f' if e.type.name == 'float' else ''}({inner})"
                return f"(({inner}) < 0 ? -({inner}) : ({inner}))"
            return f"({e.op}{inner})"
        if isinstance(e, Binary):
            if e.op == "avg":
                return f"(({self.expr(e.lhs)} + {self.expr(e.rhs)} + 1) >> 1)"
            return f"({self.expr(e.lhs)} {e.op} {self.expr(e.rhs)})"
        if isinstance(e, Select):
            return f"({self.expr(e.cond)} ? {self.expr(e.then)} : {self.expr(e.else_)})"
        if isinstance(e, Call) and e.func == BIT_CAST:  # GNU C and C++ alike: memcpy in a statement expression
            source = c_type(expr_type(e.args[0]))
            return (f"({{ {source} bits_in_ = {self.expr(e.args[0])}; {c_type(e.type)} bits_out_; "
                    "__builtin_memcpy(&bits_out_, &bits_in_, sizeof bits_out_); bits_out_; })")
        if isinstance(e, Call):
            return f"{e.func}({', '.join(self.expr(a) for a in e.args)})"
        if isinstance(e, Cast):
            if e.implicit:
                return self.expr(e.operand)
            return f"(({c_type(e.type)})({self.expr(e.operand)}))"
        raise TypeError(f"unknown expression {e!r}")

    def stmts(self, body: tuple[Stmt, ...], indent: str) -> list[str]:
        # Each statement list is a C block: a temporary assigned again in it (or in a nested block)
        # is the same variable, printed as an assignment, not declared twice.
        self._scopes.append(set())
        try:
            out: list[str] = []
            for s in body:
                out.extend(self.stmt(s, indent))
            return out
        finally:
            self._scopes.pop()

    def stmt(self, s: Stmt, ind: str) -> list[str]:
        if isinstance(s, Store):
            return [f"{ind}{self.access(s.access)} = {self.expr(s.value)};"]
        if isinstance(s, Let):
            name = self.rename(s.name)
            if s.name in self.outer or any(name in scope for scope in self._scopes):
                return [f"{ind}{name} = {self.expr(s.value)};"]
            if self._scopes:
                self._scopes[-1].add(name)
            return [f"{ind}{c_type(s.type)} {name} = {self.expr(s.value)};"]
        if isinstance(s, Reduce):
            var = self.rename(s.var)
            value = self.expr(s.value)
            if s.op in (ReduceOp.MIN, ReduceOp.MAX):
                if s.cmp in ("fmin", "fmax"):
                    suffix = "f" if s.type.name == "float" else ""
                    return [f"{ind}{var} = {s.cmp}{suffix}({var}, {value});"]
                return [f"{ind}{{ {c_type(s.type)} simd_t = {value}; if (simd_t {s.cmp} {var}) {var} = simd_t; }}"]
            op = "+" if s.op == ReduceOp.ADD else s.op.value
            return [f"{ind}{var} = {var} {op} {value};"]
        if isinstance(s, ArgReduce):
            idx = self.rename(s.index_var)
            best = self.rename(s.value_var) if s.at_index is None else self.expr(s.at_index)
            if s.at_index is not None:  # `if (x[i] > x[best]) best = i;`: no value variable to update
                return [f"{ind}if (({self.expr(s.value)}) {s.cmp} ({best})) {idx} = {self.expr(s.index)};"]
            if s.call:  # `m = fmaxf(m, v); if (m == v) k = i;` as the user wrote it (a NaN start differs from `>=`)
                suffix = "f" if s.type.name == "float" else ""
                return [f"{ind}{{ {c_type(s.type)} simd_t = {self.expr(s.value)}; {best} = {s.call}{suffix}({best}, simd_t);",
                        f"{ind}  if ({best} == simd_t) {idx} = {self.expr(s.index)}; }}"]
            also = "".join(f" {self.rename(v)} = {self.expr(e)};" for v, e in s.also)
            return [f"{ind}{{ {c_type(s.type)} simd_t = {self.expr(s.value)};",
                    f"{ind}  if (simd_t {s.cmp} {best}) {{ {best} = simd_t; {idx} = {self.expr(s.index)};{also} }} }}"]
        if isinstance(s, Step):
            return [f"{ind}{self.rename(s.var)} += {self.expr(s.step)};"]
        if isinstance(s, Running):
            var = self.rename(s.var)
            if s.factor is None:
                return [f"{ind}{var} = {var} + {self.expr(s.value)};"]
            return [f"{ind}{var} = ({self.expr(s.factor)}) * {var} + {self.expr(s.value)};"]
        if isinstance(s, Carry | LastValue | Hold):
            return [f"{ind}{self.rename(s.var)} = {self.expr(s.value)};"]
        if isinstance(s, If):
            out = [f"{ind}if ({self.expr(s.cond)}) {{", *self.stmts(s.then, ind + "    ")]
            if s.else_:
                out += [f"{ind}}} else {{", *self.stmts(s.else_, ind + "    ")]
            return [*out, f"{ind}}}"]
        if isinstance(s, Exit):
            returned = f"&{self.expr(s.value)}" if s.address and s.value is not None else self.expr(s.value) if s.value else ""
            what = "break;" if s.kind == "break" else (f"return {returned};" if s.value else "return;")
            if s.kind == "break" and s.var and s.value is not None:  # `if (c) { pos = i; break; }`
                what = f"{{ {self.rename(s.var)} = {self.expr(s.value)}; break; }}"
            return [f"{ind}if ({self.expr(s.cond)}) {what}"]
        if isinstance(s, Expand):
            step = f"++{self.rename(s.counter)}" if s.lead else f"{self.rename(s.counter)}++"
            src = f"{self.rename(s.src.base)}[{step}]"
            out = [f"{ind}if ({self.expr(s.cond)}) {self.access(s.dst)} = {src};"]
            if s.fill is not None:
                out.append(f"{ind}else {self.access(s.dst)} = {self.expr(s.fill)};")
            return out
        if isinstance(s, Pack):
            step = f"++{self.rename(s.counter)}" if s.lead else f"{self.rename(s.counter)}++"
            dst = f"{self.rename(s.dst.base)}[{step}]"
            return [f"{ind}if ({self.expr(s.cond)}) {dst} = {self.expr(s.value)};"]
        raise TypeError(f"unknown statement {s!r}")
