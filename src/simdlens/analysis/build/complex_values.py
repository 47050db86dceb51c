"""Complex numbers as interleaved (real, imaginary) pairs (C11 6.2.5p13: a complex is an array of two
reals): element accesses split into parts; element-wise +, -, conj and scaling by a real; a complex
multiply that is a whole stored value (`c[i] = a[i] * b[i]`, `c[i] *= w[i]`, an operand may be conj'd)
becomes two `Call`s of COMPLEX_MULTIPLY (real, imaginary part; args: the operands' parts), which only
`rules.complex_multiply` lowers (with C Annex G's inf/NaN recomputation); other multiplies, division and
cabs are refused with the reason.
"""

from __future__ import annotations

import re

import tree_sitter

from simdlens.analysis.build import accesses, expressions, macros
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.c_types import convert
from simdlens.analysis.build.declarations import Decl
from simdlens.analysis.build.syntax import Unsupported, field_of, op_of, squash, unwrap
from simdlens.analysis.ir import (
    DOUBLE,
    FLOAT,
    Access,
    Binary,
    Call,
    Cast,
    Const,
    CType,
    Expr,
    Load,
    Reduce,
    ReduceOp,
    Scalar,
    ScalarRole,
    Stmt,
    Store,
    Unary,
    Var,
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
    if t == "identifier" and lb.macro_complex_args and lb.text(n) in lb.macro_complex_args[-1]:
        return lb.macro_complex_args[-1][lb.text(n)]  # a macro parameter bound to a complex argument
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
        fname = squash(lb.text(field_of(n, "function")))
        args = [a for a in field_of(n, "arguments").named_children if a.type != "comment"]
        if fname in CONJ_CALLS and len(args) == 1:
            re_, im, ct = complex_value(lb, args[0])
            if ct is None or im is None:
                raise Unsupported("complex", f"{fname} of a real value", n)
            return re_, negate(im), ct
        if fname in MAKE_CALLS and len(args) == 2:  # CMPLXF(x, y): the parts as given, no arithmetic
            part = MAKE_CALLS[fname] or expr_type(expressions.expr(lb, args[0])).name
            if part not in ("float", "double"):
                raise Unsupported("complex", f"{fname} of '{part}' parts is not rewritten", n)
            pt = FLOAT if part == "float" else DOUBLE
            return (convert(expressions.expr(lb, args[0]), pt), convert(expressions.expr(lb, args[1]), pt),
                    CType(part, f"{part} _Complex", is_complex=True))
        macro = _function_macro(lb, fname, len(args))
        if macro is not None:  # `lv_cmake(r, i)` = `((r) + _Complex_I * (i))`: the body read as a complex value
            params, body, text = macro
            values = [complex_value(lb, a) for a in args]  # `lv_conj(*p++)` = `(~(*p++))`: complex arguments too
            lb.macro_args.append({p: v[0] for p, v in zip(params, values, strict=True) if v[2] is None})
            lb.macro_complex_args.append({p: v for p, v in zip(params, values, strict=True) if v[2] is not None})
            outer, lb.text_source = lb.text_source, text
            try:
                return complex_value(lb, body)
            finally:
                lb.macro_args.pop()
                lb.macro_complex_args.pop()
                lb.text_source = outer
    unit = imaginary_unit(lb, n)
    if unit is not None:
        return unit
    return expressions.expr(lb, n), None, None


# The complex made from two real parts, and the type of its parts (None: the arguments' own type).
MAKE_CALLS = {"CMPLXF": "float", "CMPLX": "double", "__builtin_complex": None}

_IMAGINARY_LITERAL = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:[fF]?[ijIJ]|[ijIJ][fF]?)")


def imaginary_unit(lb: LoopBuilder, n: tree_sitter.Node) -> tuple[Expr, Expr | None, CType | None] | None:
    """`I`, `_Complex_I` (complex.h: the float complex (0, 1)) and GNU imaginary literals (`2.0if`), as
    (0, value); None for anything else. `I` only when the file neither declares nor defines it."""
    text = lb.text(n)
    if n.type == "identifier" and (text == "_Complex_I" or (
            text == "I" and lb.decl_of("I") is None and "I" not in getattr(lb.ctx, "macros", {}))):
        return Const(0.0, FLOAT, "0.0f"), Const(1.0, FLOAT, "1.0f"), CType("float", "float _Complex", is_complex=True)
    if n.type == "number_literal" and _IMAGINARY_LITERAL.fullmatch(text):
        pt = FLOAT if "f" in text.lower() else DOUBLE
        value = float(re.sub(r"[fFiIjJ]", "", text))
        zero, one = ("0.0f", f"{value!r}f") if pt is FLOAT else ("0.0", repr(value))
        return Const(0.0, pt, zero), Const(value, pt, one), CType(pt.name, f"{pt.name} _Complex", is_complex=True)
    return None


def _function_macro(lb: LoopBuilder, name: str, nargs: int) -> tuple[list[str], tree_sitter.Node, bytes] | None:
    """The parameters and parsed body of the file's function-like macro `name` taking `nargs` arguments, and
    the text it was parsed from."""
    define = getattr(lb.ctx, "function_macros", {}).get(name) if lb.ctx is not None else None
    if define is None or len(lb.macro_args) > 8:
        return None
    parsed = macros.macro_body(str(define), lb.site.language)
    return parsed if parsed is not None and len(parsed[0]) == nargs else None


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
        left_v, right_v = product_operand(lb, field_of(whole, "left")), product_operand(lb, field_of(whole, "right"))
        value = (complex_multiply(left_v, right_v, acc.elem, whole)
                 or complex_arith("*", left_v, right_v, whole))
    else:
        value = product_operand(lb, right) if op == "*=" else complex_value(lb, right)
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
                          "elements or an element and a complex scalar the loop never writes (either may be "
                          "conj'd), stored as the whole value", n)
    args = tuple(p for p in parts if p is not None)
    part = FLOAT if stored.name == "float" else DOUBLE
    return (Call(COMPLEX_MULTIPLY[0], args, part), Call(COMPLEX_MULTIPLY[1], args, part), stored)


def real_factor(re_: Expr, im: Expr) -> tuple[Expr, Expr, Expr] | None:
    """(element's real part, imaginary part, r) for the parts `(re * r, im * r)` of a complex element times a
    real element r read contiguously (or an integer one converted to the parts' type, `(float)s16[i]`), a
    constant, or a scalar (`s += x[i] * 0.5f`; the legality stage checks the loop never writes it)."""
    if not (isinstance(re_, Binary) and isinstance(im, Binary) and re_.op == im.op == "*"):
        return None
    for (a, r), (b, r2) in (((re_.lhs, re_.rhs), (im.lhs, im.rhs)), ((re_.rhs, re_.lhs), (im.rhs, im.lhs))):
        source = r
        while isinstance(source, Cast) and not expr_type(source.operand).is_float:
            source = source.operand
        element = (isinstance(source, Load) and source.access.coeff == 1 and source.access.index is None
                   and not source.access.elem.is_complex)
        if (isinstance(a, Load) and isinstance(b, Load) and r == r2 and expr_type(r).name == expr_type(a).name
                and (element or isinstance(source, Const | Var))):
            return a, b, r
    return None


def _is_part(e: Expr) -> bool:
    """A complex element's part as loaded, or a loop-invariant complex scalar's part (`COMPLEX_PART`), or
    its negation (the imaginary part of a conj)."""
    if isinstance(e, Unary) and e.op == "-":
        e = e.operand
    return isinstance(e, Load) or (isinstance(e, Call) and e.func in COMPLEX_PART)


def product_operand(lb: LoopBuilder, node: tree_sitter.Node) -> tuple[Expr, Expr | None, CType | None]:
    """An operand of a complex product: as `complex_value`, or a complex scalar the loop never writes (`s`,
    `conjf(s)`: VOLK's multiply by a scalar), its parts as `COMPLEX_PART` calls only `complex_multiply` reads."""
    n = unwrap(node) or node
    conj = False
    if n.type == "call_expression" and squash(lb.text(field_of(n, "function"))) in CONJ_CALLS:
        args = [a for a in field_of(n, "arguments").named_children if a.type != "comment"]
        if len(args) == 1 and (unwrap(args[0]) or args[0]).type == "identifier":
            n, conj = unwrap(args[0]) or args[0], True
    if n.type != "identifier":
        return complex_value(lb, node)
    var = expressions.identifier(lb, n)
    ct = expr_type(var)
    if not ct.is_complex:
        return var, None, None
    if lb.invariant_vars.get(lb.text(n)) is not var:
        raise Unsupported("complex", f"complex multiply of '{ct.spelling}' by {lb.text(n)}, a complex value the "
                          "loop computes: only elements and complex scalars the loop never writes are multiplied", n)
    part = FLOAT if ct.name == "float" else DOUBLE
    imag: Expr = Call(COMPLEX_PART[1], (var,), part)
    return Call(COMPLEX_PART[0], (var,), part), negate(imag) if conj else imag, ct


def complex_reduce(lb: LoopBuilder, name: str, t: CType, op: str, right: tree_sitter.Node | None,
                   e: tree_sitter.Node, cond: bool) -> list[Stmt]:
    """`acc += a[i]`, `acc -= a[i]`, `acc += a[i] * b[i]` (either operand may be conj'd) into a complex
    scalar declared outside the loop: one `Reduce` of a COMPLEX_TERM call (its real and imaginary part),
    which only `rules.complex_reduce` lowers; anything else is refused naming the complex type."""
    what = f"the complex accumulator {name} ('{t.spelling}')"
    uses = lb.uses.get(name, [])
    others = [u for u in uses if not (e.start_byte <= u.pos < e.end_byte)]
    if op not in ("+=", "-=") or right is None or cond or others \
            or any(u.pos >= right.start_byte and u.pos < right.end_byte for u in uses):
        raise Unsupported("complex", f"{what} is updated other than by one unconditional `{name} += <element or "
                          "product of elements>`: only complex sums and dot products are rewritten", e)
    whole = unwrap(right) or right
    scaled = False  # a complex element times a real one (`real_factor`)
    if whole.type == "binary_expression" and op_of(whole) == "*":
        left_v, right_v = complex_value(lb, field_of(whole, "left")), complex_value(lb, field_of(whole, "right"))
        value = complex_multiply(left_v, right_v, t, whole)
        if value is None and (left_v[2] is None) != (right_v[2] is None):  # `taps[i] * x[i]`: a real multiple
            value = complex_arith("*", left_v, right_v, whole)
            scaled = value[1] is not None and real_factor(value[0], value[1]) is not None
            if not scaled:
                raise Unsupported("complex", f"{what} accumulates an element times a real value other than a real "
                                  "element (or an integer element converted): only those real multiples are summed", e)
    else:
        value = complex_value(lb, right)
    re_, im, ct = value if value is not None else (None, None, None)
    if re_ is None or im is None or ct is None:
        raise Unsupported("complex", f"{what} accumulates a real value: only complex elements, their real "
                          "multiples and products of two complex elements are summed", e)
    if ct.name != t.name or not (scaled or all(_is_part(x) or (isinstance(x, Call) and x.func in COMPLEX_MULTIPLY)
                                              for x in (re_, im))):
        raise Unsupported("complex", f"{what} accumulates '{ct.spelling}' values computed other than as an element "
                          "or a product of two elements: only complex sums and dot products are rewritten", e)
    lb.scalars[name] = Scalar(name, t, ScalarRole.REDUCTION, decl=(lb.decl_of(name) or Decl(name, "")).text)
    part = FLOAT if t.name == "float" else DOUBLE
    term = Call(COMPLEX_TERM, (re_, im), part)
    return [Reduce(name, ReduceOp.ADD if op == "+=" else ReduceOp.SUB, term, t, "", node_span(e))]


# A complex value added into a complex accumulator (args: its real and imaginary part), inside Reduce only.
COMPLEX_TERM = "simdlens_complex_term"


# The real and imaginary part of a loop-invariant complex scalar (arg: its Var), inside COMPLEX_MULTIPLY only.
COMPLEX_PART = ("simdlens_complex_scalar_real", "simdlens_complex_scalar_imag")


# The real and imaginary part of `a * b` (C Annex G: recomputed by __mulsc3/__muldc3 when both are NaN);
# args (a.re, a.im, b.re, b.im). Not a function any C code calls: a lowering that does not know them refuses.
COMPLEX_MULTIPLY = ("simdlens_complex_multiply_real", "simdlens_complex_multiply_imag")


def complex_part_call(lb: LoopBuilder, fname: str, arg: tree_sitter.Node, n: tree_sitter.Node) -> Expr:
    """crealf / cimagf / std::real / std::imag of a complex value; cabsf and friends are refused."""
    if fname in CONJ_CALLS:
        raise Unsupported("complex", f"uses the complex value {lb.text(n)} where a real one is needed: "
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
    part = "real" if "real" in op else "imaginary"
    return Reason("complex", f"GNU {op} written as an operator (`{op} z`, the {part} part of a complex value) is not "
                  f"parsed here; the same loop with `{op}(z)` or `{'crealf' if part == 'real' else 'cimagf'}(z)` "
                  "is rewritten", span)


COMPLEX_SUPPORTED = ("complex arrays are rewritten for element-wise +, -, conj, scaling by a real, a product "
                     "stored as it is (c[i] = a[i] * b[i]), and creal/cimag of their elements")


REAL_CALLS = frozenset({"creal", "crealf", "std::real", "real", "__real__"})

IMAG_CALLS = frozenset({"cimag", "cimagf", "std::imag", "imag", "__imag__"})

CONJ_CALLS = frozenset({"conj", "conjf", "std::conj"})

ABS_CALLS = frozenset({"cabs", "cabsf", "cabsl", "std::abs", "abs", "std::norm", "norm", "carg", "cargf"})

COMPLEX_CALLS = REAL_CALLS | IMAG_CALLS | CONJ_CALLS | frozenset({"cabs", "cabsf", "carg", "cargf", "std::norm"})


def negate(e: Expr) -> Expr:
    return Unary("-", e, expr_type(e))
