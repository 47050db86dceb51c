"""C integer constant expressions (`#define HALF (LEN/2)`, `#if X > 1`): a small recursive-descent
evaluator over macros, enumerators and `const` globals, with C's division and shift rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simdlens.analysis.context.file_context import FileContext


class NotConstant(Exception):
    pass


_BINARY_PRECEDENCE = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, "<=": 7, ">": 7, ">=": 7,
    "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}


def _c_div(a: int, b: int) -> int:
    if b == 0:
        raise NotConstant
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _int_literal(tok: str) -> int:
    t = tok.replace("'", "")
    while t and t[-1] in "uUlLzZ":
        t = t[:-1]
    try:
        if len(t) > 1 and t[0] == "0" and t[1:].isdigit():
            return int(t, 8)
        return int(t, 0)
    except ValueError:
        raise NotConstant from None


class ConstantEvaluator:
    """A small recursive-descent evaluator of C integer constant expressions."""

    def __init__(self, ctx: FileContext, toks: list[str], preprocessor: bool, active: frozenset[str]) -> None:
        self.ctx = ctx
        self.toks = toks
        self.i = 0
        self.pp = preprocessor  # `#if` rules: `defined`, unknown identifiers are 0
        self.active = active  # macros being expanded (no recursion)

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        t = self.peek()
        if t is None or (expected is not None and t != expected):
            raise NotConstant
        self.i += 1
        return t

    def run(self) -> int:
        v = self.expr()
        if self.peek() is not None:
            raise NotConstant
        return v

    def expr(self) -> int:
        cond = self.binary(1)
        if self.peek() == "?":
            self.take()
            a = self.expr()
            self.take(":")
            b = self.expr()
            return a if cond else b
        return cond

    def binary(self, min_prec: int) -> int:
        lhs = self.unary()
        while True:
            op = self.peek()
            prec = _BINARY_PRECEDENCE.get(op or "")
            if op is None or prec is None or prec < min_prec:
                return lhs
            self.take()
            rhs = self.binary(prec + 1)
            lhs = _apply(op, lhs, rhs)

    def unary(self) -> int:
        t = self.peek()
        if t in ("-", "+", "~", "!"):
            self.take()
            v = self.unary()
            return {"-": -v, "+": v, "~": ~v, "!": int(not v)}[t]
        return self.primary()

    def primary(self) -> int:
        t = self.take()
        if t == "(":
            cast = self._try_cast()
            if cast is not None:
                return self.unary()
            v = self.expr()
            self.take(")")
            return v
        if t[0].isdigit() or (t[0] == "." and len(t) > 1):
            return _int_literal(t)
        if t[0] == "'" or t[:2] in ("u'", "U'", "L'"):
            body = t[t.index("'") + 1 : -1]
            if len(body) == 1:
                return ord(body)
            raise NotConstant
        if t == "defined" and self.pp:
            paren = self.peek() == "("
            if paren:
                self.take()
            name = self.take()
            if paren:
                self.take(")")
            return int(self.ctx.is_defined(name))
        if t == "sizeof":
            self.take("(")
            depth, start = 1, self.i
            while depth:
                tok = self.take()
                depth += {"(": 1, ")": -1}.get(tok, 0)
            spelling = " ".join(self.toks[start : self.i - 1])
            size = self.ctx.sizeof(spelling)
            if size is None:
                raise NotConstant
            return size
        if t in ("true", "false"):
            return int(t == "true")
        if t[0].isalpha() or t[0] == "_":
            if self.peek() == "(":
                raise NotConstant  # function-like macro or call
            value = self.ctx._identifier_value(t, self.active)
            if value is None:
                if self.pp:
                    return 0
                raise NotConstant
            return value
        raise NotConstant

    def _try_cast(self) -> str | None:
        """At `(` already taken: if a scalar type name and `)` follow, consume them (a cast)."""
        j = self.i
        depth = 0
        while j < len(self.toks) and (self.toks[j] != ")" or depth):
            depth += {"(": 1, ")": -1}.get(self.toks[j], 0)
            j += 1
        if j >= len(self.toks) or j == self.i:
            return None
        spelling = " ".join(self.toks[self.i : j])
        if any(not (w[0].isalpha() or w[0] == "_" or w == "::") for w in self.toks[self.i : j]):
            return None
        if len(self.toks[self.i : j]) == 1 and self.ctx._identifier_value(spelling, self.active) is not None:
            return None  # a parenthesised constant, not a cast
        if self.ctx.resolve_type(spelling) is None:
            return None
        self.i = j + 1
        return spelling


def _apply(op: str, a: int, b: int) -> int:
    if op == "/":
        return _c_div(a, b)
    if op == "%":
        if b == 0:
            raise NotConstant
        return a - _c_div(a, b) * b
    if op in ("<<", ">>"):
        if b < 0 or b > 128:
            raise NotConstant
        return a << b if op == "<<" else a >> b
    return {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "&": lambda: a & b, "|": lambda: a | b,
        "^": lambda: a ^ b, "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
        "<=": lambda: int(a <= b), ">": lambda: int(a > b), ">=": lambda: int(a >= b),
        "&&": lambda: int(bool(a) and bool(b)), "||": lambda: int(bool(a) or bool(b)),
    }[op]()
