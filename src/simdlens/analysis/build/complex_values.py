"""Complex numbers as interleaved (real, imaginary) pairs (C11 6.2.5p13: a complex is an array of two
reals): element accesses split into parts; element-wise +, -, conj and scaling by a real; a complex
multiply that is a whole stored value (`c[i] = a[i] * b[i]`, `c[i] *= w[i]`, an operand may be conj'd)
becomes two `Call`s of COMPLEX_MULTIPLY (real, imaginary part; args: the operands' parts), which only
`rules.complex_multiply` lowers (with C Annex G's inf/NaN recomputation); other multiplies, division and
cabs are refused with the reason.
"""

from __future__ import annotations

import tree_sitter

from simdlens.analysis.build import accesses, expressions
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.c_types import convert
from simdlens.analysis.build.syntax import Unsupported, field_of, node_text, op_of, squash, unwrap
from simdlens.analysis.ir import (
    DOUBLE,
    FLOAT,
    Access,
    Call,
    Const,
    CType,
    Expr,
    Load,
    Stmt,
    Store,
    Unary,
    expr_type,
)
from simdlens.analysis.spans import node_span
from simdlens.core import Reason, Span


def complex_parts(acc: Access, n: tree_sitter.Node) -> tuple[Access, Access]:
    """The real and imaginary parts of a complex element as accesses of the array seen as its parts
    (C11 6.2.5p13, C++ [complex.numbers]: a complex is an array of two reals)."""
    if acc.coeff is None:
        raise Unsupported("complex", f"indirect access to the complex array {acc.root} ('{acc.elem.spelling}')", n)
    part = FLOAT if acc.elem.name == "float" else DOUBLE
    base = f"(({part.c} *)({acc.base}))"
    sym = f"2 * ({acc.symbolic})" if acc.symbolic else ""
    real = Access(acc.root, base, part, 2 * acc.coeff, 2 * acc.offset, sym, None, acc.span)
    return real, Access(acc.root, base, part, 2 * acc.coeff, 2 * acc.offset + 1, sym, None, acc.span)


def complex_value(lb: LoopBuilder, node: tree_sitter.Node) -> tuple[Expr, Expr | None, CType | None]:
    """(real part, imaginary part or None for a real value, the complex type or None)."""
    n = unwrap(node) or node
    t = n.type
    if t in ("subscript_expression", "pointer_expression") and op_of(n) != "&":
        acc = accesses.access(lb, n)
        if not acc.elem.is_complex:
            return Load(acc), None, None
        real, imag = complex_parts(acc, n)
        return Load(real), Load(imag), acc.elem
    if t == "binary_expression" and op_of(n) in ("+", "-", "*", "/"):
        return complex_arith(op_of(n), complex_value(lb, field_of(n, "left")),
                             complex_value(lb, field_of(n, "right")), n)
    if t == "unary_expression" and op_of(n) in ("-", "+", "~"):
        re_, im, ct = complex_value(lb, field_of(n, "argument"))
        if ct is None:
            return expressions.expr(lb, n), None, None
        if op_of(n) == "+":
            return re_, im, ct
        if op_of(n) == "~":  # GNU C: `~z` of a complex value is its conjugate
            return re_, negate(im) if im is not None else None, ct
        return negate(re_), negate(im) if im is not None else None, ct
    if t == "call_expression":
        fname = squash(node_text(field_of(n, "function")))
        args = [a for a in field_of(n, "arguments").named_children if a.type != "comment"]
        if fname in CONJ_CALLS and len(args) == 1:
            re_, im, ct = complex_value(lb, args[0])
            if ct is None or im is None:
                raise Unsupported("complex", f"{fname} of a real value", n)
            return re_, negate(im), ct
    return expressions.expr(lb, n), None, None


def complex_arith(op: str, a: tuple[Expr, Expr | None, CType | None],
                  b: tuple[Expr, Expr | None, CType | None], n: tree_sitter.Node) -> tuple[Expr, Expr | None, CType | None]:
    if a[2] is None and b[2] is None:
        return expressions.arith(op, a[0], b[0], n), None, None
    ct = a[2] or b[2]
    assert ct is not None
    if op == "/":
        raise Unsupported("complex", f"complex division of '{ct.spelling}' (C's Annex G scaling and inf/NaN "
                          "rules) is not rewritten", n)
    if op == "*":
        if a[2] is not None and b[2] is not None:
            raise Unsupported("complex", f"complex multiply of '{ct.spelling}' inside a larger expression is not "
                              "rewritten: a*b recomputes inf/NaN results (C Annex G; gcc's __mulsc3/__muldc3, also "
                              "behind std::complex) unless -fcx-limited-range or -ffast-math; only a product stored "
                              "as it is (c[i] = a[i] * b[i]) is rewritten", n)
        z, r = (a, b) if a[2] is not None else (b, a)
        assert z[1] is not None
        return expressions.arith("*", z[0], r[0], n), expressions.arith("*", z[1], r[0], n), ct
    real = expressions.arith(op, a[0], b[0], n)
    if a[1] is None:  # real - complex: the imaginary part is negated, never computed as 0 - im
        imag = b[1] if op == "+" or b[1] is None else negate(b[1])
    elif b[1] is None:
        imag = a[1]
    else:
        imag = expressions.arith(op, a[1], b[1], n)
    if a[2] is not None and b[2] is not None and a[2].name != b[2].name:
        ct = a[2] if a[2].name == "double" else b[2]
    return real, imag, ct


def complex_store(lb: LoopBuilder, acc: Access, op: str, right: tree_sitter.Node, e: tree_sitter.Node) -> list[Stmt]:
    """`c[i] = <complex expression>`: two stores, the real part and the imaginary part."""
    real, imag = complex_parts(acc, e)
    whole = unwrap(right) or right
    if op == "=" and whole.type == "binary_expression" and op_of(whole) == "*":
        left_v, right_v = complex_value(lb, field_of(whole, "left")), complex_value(lb, field_of(whole, "right"))
        value = (complex_multiply(left_v, right_v, acc.elem, whole)
                 or complex_arith("*", left_v, right_v, whole))
    else:
        value = complex_value(lb, right)
        if op == "*=":
            value = complex_multiply((Load(real), Load(imag), acc.elem), value, acc.elem, e) or complex_arith(
                "*", (Load(real), Load(imag), acc.elem), value, e)
        elif op != "=":
            value = complex_arith(op[:-1], (Load(real), Load(imag), acc.elem), value, e)
    re_v, im_v, _ct = value
    if im_v is None:  # a real value stored into a complex: imaginary part +0
        im_v = Const(0.0, real.elem, "0")
    span = node_span(e)
    return [Store(real, convert(re_v, real.elem), span), Store(imag, convert(im_v, imag.elem), span)]


def complex_multiply(a: tuple[Expr, Expr | None, CType | None], b: tuple[Expr, Expr | None, CType | None],
                     stored: CType, n: tree_sitter.Node) -> tuple[Expr, Expr | None, CType | None] | None:
    """A complex times a complex stored as it is: the two parts as COMPLEX_MULTIPLY calls on the operands'
    parts (each a part load, negated for conj), or None when this is no such product (scaling by a real)."""
    if a[2] is None or b[2] is None:
        return None
    if a[2].name != b[2].name or a[2].name != stored.name:
        raise Unsupported("complex", f"complex multiply of '{a[2].spelling}' and '{b[2].spelling}' stored into "
                          f"'{stored.spelling}' (the parts change precision) is not rewritten", n)
    parts = (a[0], a[1], b[0], b[1])
    if not all(p is not None and _is_part(p) for p in parts):
        raise Unsupported("complex", f"complex multiply of '{stored.spelling}' is rewritten only between two "
                          "elements (either may be conj'd), stored as the whole value", n)
    args = tuple(p for p in parts if p is not None)
    part = FLOAT if stored.name == "float" else DOUBLE
    return (Call(COMPLEX_MULTIPLY[0], args, part), Call(COMPLEX_MULTIPLY[1], args, part), stored)


def _is_part(e: Expr) -> bool:
    """A complex element's part as loaded, or its negation (the imaginary part of a conj)."""
    return isinstance(e, Load) or (isinstance(e, Unary) and e.op == "-" and isinstance(e.operand, Load))


# The real and imaginary part of `a * b` (C Annex G: recomputed by __mulsc3/__muldc3 when both are NaN);
# args (a.re, a.im, b.re, b.im). Not a function any C code calls: a lowering that does not know them refuses.
COMPLEX_MULTIPLY = ("simdlens_complex_multiply_real", "simdlens_complex_multiply_imag")


def complex_part_call(lb: LoopBuilder, fname: str, arg: tree_sitter.Node, n: tree_sitter.Node) -> Expr:
    """crealf / cimagf / std::real / std::imag of a complex value; cabsf and friends are refused."""
    if fname in CONJ_CALLS:
        raise Unsupported("complex", f"uses the complex value {node_text(n)} where a real one is needed: "
                          f"{COMPLEX_SUPPORTED}", n)
    if fname in ABS_CALLS:
        raise Unsupported("complex", f"{fname} of a complex value is not rewritten: it is hypot (scaled against "
                          "overflow, correctly rounded), which sqrt(re*re + im*im) does not match exactly", n)
    re_, im, ct = complex_value(lb, arg)
    if ct is None:
        raise Unsupported("call", f"calls {fname} on a real value", n)
    if fname in REAL_CALLS:
        return re_
    assert im is not None
    return im


def complex_part_reason(op: str, span: Span) -> Reason:
    return Reason("complex", f"GNU {op} (the {'real' if 'real' in op else 'imaginary'} part of a complex value): "
                  "loops over complex elements are not vectorized", span)


COMPLEX_SUPPORTED = ("complex arrays are rewritten for element-wise +, -, conj, scaling by a real, a product "
                     "stored as it is (c[i] = a[i] * b[i]), and creal/cimag of their elements")


REAL_CALLS = frozenset({"creal", "crealf", "std::real", "real", "__real__"})

IMAG_CALLS = frozenset({"cimag", "cimagf", "std::imag", "imag", "__imag__"})

CONJ_CALLS = frozenset({"conj", "conjf", "std::conj"})

ABS_CALLS = frozenset({"cabs", "cabsf", "cabsl", "std::abs", "abs", "std::norm", "norm", "carg", "cargf"})

COMPLEX_CALLS = REAL_CALLS | IMAG_CALLS | CONJ_CALLS | frozenset({"cabs", "cabsf", "carg", "cargf", "std::norm"})


def negate(e: Expr) -> Expr:
    return Unary("-", e, expr_type(e))
