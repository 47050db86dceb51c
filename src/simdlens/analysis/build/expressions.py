"""Expressions as typed IR: operators with C's conversions, identifiers (variables, macros, enumerators,
limits), members, casts, and calls (math functions, function-like macros, container sizes).
"""

from __future__ import annotations

import re

import tree_sitter

from simdlens.analysis import mathcalls
from simdlens.analysis.build import accesses, bit_copies, complex_values, counters, macros, structures
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.c_types import (
    BOOL_SPELLINGS,
    char_value,
    convert,
    ctype_of,
    folded,
    literal,
    promote,
    usual,
)
from simdlens.analysis.build.declarations import Decl, complex_spelling, container_kind, file_scan
from simdlens.analysis.build.syntax import (
    ARITH,
    CMP,
    IDENTIFIER,
    WRAPPER_KIND_IDS,
    Unsupported,
    field_of,
    index_node,
    node_text,
    op_of,
    squash,
    unwrap,
)
from simdlens.analysis.ir import (
    DOUBLE,
    FLOAT,
    INT32,
    INT64,
    IV,
    UINT32,
    UINT64,
    Binary,
    Call,
    Cast,
    Const,
    CType,
    Expr,
    Load,
    Scalar,
    ScalarRole,
    Select,
    Unary,
    Var,
    expr_type,
)
from simdlens.analysis.spans import node_span
from simdlens.core import Reason, Span


def arith(op: str, a: Expr, b: Expr, node: tree_sitter.Node) -> Expr:
    ta, tb = expr_type(a), expr_type(b)
    if op in ("<<", ">>"):
        if ta.is_float or tb.is_float:
            raise Unsupported("type_error", "shift of a floating-point value", node)
        t = promote(ta)
        return folded(Binary(op, convert(a, t), convert(b, t), t))
    if op in ("%", "&", "|", "^") and (ta.is_float or tb.is_float):
        raise Unsupported("type_error", f"'{op}' on a floating-point value", node)
    t = usual(ta, tb)
    if op in CMP:
        return folded(Binary(op, convert(a, t), convert(b, t), INT32))
    return folded(Binary(op, convert(a, t), convert(b, t), t))


def expr(lb: LoopBuilder, node: tree_sitter.Node) -> Expr:
    # `unwrap` inlined for the usual case (no parentheses): this runs for every expression node
    n = unwrap(node) if node is None or node.kind_id in WRAPPER_KIND_IDS else node
    if n is None:
        raise Unsupported("unsupported", "empty expression", node)
    t = n.type
    if t == "identifier":  # the node types are tested most frequent first
        ident = identifier(lb, n)
        if expr_type(ident).is_complex:
            raise Unsupported("complex", f"{lb.text(n)} is a complex scalar ('{expr_type(ident).spelling}'): "
                              "complex reductions and complex temporaries are not rewritten", n)
        return ident
    if t == "number_literal":
        c = literal(lb.text(n))
        if c.type.name == "long double":
            raise Unsupported("long_double", "uses a long double literal", n)
        return c
    if t == "char_literal":
        v = char_value(lb.text(n))
        return Const(v, CType("int8", "char") if lb.cpp else INT32, lb.text(n))
    if t in ("true", "false"):
        return Const(1 if t == "true" else 0, CType("uint8", "bool"), t)
    if t in ("subscript_expression", "pointer_expression", "field_expression") or (
            t == "call_expression" and is_data_call(n)):
        if t == "pointer_expression" and op_of(n) == "&":
            raise Unsupported("address_of", f"takes an address ('{lb.text(n)}')", n)
        if t == "field_expression":
            return member_scalar(lb, n)
        acc = accesses.access(lb, n)
        if acc.elem.is_complex:
            raise Unsupported("complex", f"uses the complex value {lb.text(n)} ('{acc.elem.spelling}') where "
                              f"a real one is needed: {complex_values.COMPLEX_SUPPORTED}", n)
        return Load(acc)
    if t == "binary_expression":
        op = op_of(n)
        left_node = n.child_by_field_name("left")
        if op in ("+", "-", "*", "&") and left_node is not None and left_node.type == "parenthesized_expression":
            cast = type_in_parentheses(lb, n)
            if cast is not None:
                return cast
        a = expr(lb, field_of(n, "left"))
        b = expr(lb, field_of(n, "right"))
        if op in ("&&", "||"):
            return folded(Binary(op, a, b, INT32))
        if op not in ARITH and op not in CMP and op not in ("<<", ">>"):
            raise Unsupported("unsupported", f"operator {op}", n)
        return arith(op, a, b, n)
    if t == "unary_expression":
        op = op_of(n)
        a = expr(lb, field_of(n, "argument"))
        ta = expr_type(a)
        if op == "!":
            return folded(Unary("!", a, INT32))
        if op == "+":
            return convert(a, promote(ta))
        if op == "~" and ta.is_float:
            raise Unsupported("type_error", "'~' on a floating-point value", n)
        pt = promote(ta)
        return folded(Unary(op, convert(a, pt), pt))
    if t == "conditional_expression":
        cond_e = expr(lb, field_of(n, "condition"))
        a = expr(lb, field_of(n, "consequence"))
        b = expr(lb, field_of(n, "alternative"))
        rt = usual(expr_type(a), expr_type(b))
        return folded(Select(cond_e, convert(a, rt), convert(b, rt), rt))
    if t == "cast_expression":
        tn = field_of(n, "type")
        spelled = " ".join(lb.text(tn).split())
        if "*" in spelled:
            raise Unsupported("pointer_cast", f"casts to the pointer type {spelled}", n)
        ct = ctype_of(spelled, lb.ctx)
        if ct is None:
            raise Unsupported("long_double" if "long double" in spelled else "unknown_type",
                              f"unknown type '{spelled}' in a cast", n)
        return explicit_cast(expr(lb, field_of(n, "value")), ct)
    if t == "call_expression":
        return call(lb, n)
    if t == "sizeof_expression":
        size = lb.int_text(lb.text(n))
        if size is None:
            raise Unsupported("unsupported", f"cannot evaluate {lb.text(n)}", n)
        return Const(size, UINT64, lb.text(n))
    if t in ("update_expression",):
        name = counters.updated_name(n)
        raise Unsupported("counter_modified" if name == lb.iv else "side_effect",
                          f"'{lb.text(n)}' inside an expression", n)
    if t == "assignment_expression":
        raise Unsupported("side_effect", f"assignment inside an expression ('{lb.text(n)}')", n)
    if t == "comma_expression":
        return comma_value(lb, n)
    if t == "gnu_asm_expression":
        raise Unsupported("asm", "contains inline assembly", n)
    if t == "null":
        raise Unsupported("pointer_value", "uses NULL", n)
    raise Unsupported("unsupported", f"unsupported expression '{lb.text(n)[:40]}'", n)


def comma_value(lb: LoopBuilder, n: tree_sitter.Node) -> Expr:
    """`(t = x[i], t >= 0 ? t : -t)` (f2c's |x|): the first parts run as statements before the one being
    built, the last is the value. Only where a statement collects them, and not under `?:`, `&&` or `||`,
    whose operands may not run."""
    from simdlens.analysis.build import statements  # statements builds expressions: imported when used

    if lb.before is None:
        raise Unsupported("side_effect", "comma expression outside a statement of the body", n)
    if _maybe_skipped(n):
        raise Unsupported("side_effect", "comma expression in an operand C may not evaluate (a `?:` branch, "
                          "the right of `&&`/`||`)", n)
    parts = counters.comma_parts(lb, n)
    for p in parts[:-1]:
        lb.before.extend(statements.expression_statement(lb, p, lb.before_cond))
    return expr(lb, parts[-1])


def _maybe_skipped(n: tree_sitter.Node) -> bool:
    """Whether `n` sits in an operand that C may not evaluate (a `?:` branch, the right of `&&`/`||`)."""
    child, up = n, n.parent
    while up is not None and up.type not in ("expression_statement", "if_statement", "declaration",
                                            "init_declarator", "return_statement"):
        if up.type == "conditional_expression" and child.id != field_of(up, "condition").id:
            return True
        if up.type == "binary_expression" and op_of(up) in ("&&", "||") and child.id != field_of(up, "left").id:
            return True
        child, up = up, up.parent
    return False


def explicit_cast(value: Expr, ct: CType) -> Expr:
    """A cast the user wrote, in any of its spellings (`(T)x`, `(T)(x)`, `static_cast<T>(x)`, `T(x)`)."""
    vt = expr_type(value)
    if ct.spelling in BOOL_SPELLINGS and vt.spelling not in BOOL_SPELLINGS:
        return convert(value, ct)  # `(bool)x` is `x != 0`: 2 becomes 1
    if vt.name == ct.name and vt.is_complex == ct.is_complex:
        return value  # `(int)x` of an int (a helper function's parameters): nothing to convert
    return folded(Cast(value, ct, implicit=False))


def type_in_parentheses(lb: LoopBuilder, n: tree_sitter.Node) -> Expr | None:
    """`(real_t) - x`: the parser, not knowing real_t is a type, reads a subtraction; it is a cast of
    `-x`. None when the parenthesised name is not a type."""
    inner = unwrap(field_of(n, "left"))
    if inner is None or inner.type not in ("identifier", "type_identifier"):
        return None
    name = lb.text(inner)
    if lb.decl_of(name) is not None or name in lb.locals or name == lb.iv:
        return None
    ct = ctype_of(name, lb.ctx)
    if ct is None:
        return None
    op, right = op_of(n), field_of(n, "right")
    r = unwrap(right)
    if op == "&" or r is None or r.type in ("binary_expression", "conditional_expression",
                                            "assignment_expression", "comma_expression"):
        raise Unsupported("unsupported", f"'{lb.text(n)[:40]}' is a cast to {name} of '{op}…', which the "
                          "syntax tree reads as an operation: add parentheses around the operand", n)
    if op == "*":  # `(q31)*a++ * *b++`: the cast of `*a++`
        return explicit_cast(Load(accesses.deref(lb, r, right, Span(n.children[1].start_byte, right.end_byte,
                                                                    node_span(n.children[1]).start,
                                                                    node_span(right).end))), ct)
    value = expr(lb, right)
    pt = promote(expr_type(value))
    return explicit_cast(Unary(op, convert(value, pt), pt) if op == "-" else convert(value, pt), ct)


def identifier(lb: LoopBuilder, n: tree_sitter.Node) -> Expr:
    name = lb.text(n)
    if lb.macro_args and name in lb.macro_args[-1]:
        return lb.macro_args[-1][name]
    if lb.macro_complex_args and name in lb.macro_complex_args[-1]:
        raise Unsupported("complex", f"uses the complex macro argument {name} where a real value is needed: "
                          f"{complex_values.COMPLEX_SUPPORTED}", n)
    if name == lb.iv:
        return IV(name, lb.iv_type)
    if name in lb.references:
        return Load(lb.references[name])
    if name in lb.iterators:
        raise Unsupported("unsupported_loop", f"uses the iterator {name} other than as *{name}", n)
    if name in lb.record_walks:
        raise structures.whole_record(lb, name, n)
    if name in lb.locals:
        return Var(name, lb.locals[name])
    copied = lb.copied_after.get(name)
    if copied is not None and n.start_byte >= copied[0]:  # read after `name = temporary;`: the temporary
        return copied[1]
    if lb.pointer_walk and name == lb.count_var:
        counted = lb.scalars.get(name)
        if counted is None or not lb.count_readable:
            raise Unsupported("counter_modified", f"the count {name} is used in the body", n)
        return counters.count_value(lb, name, counted.type)
    known = lb.invariant_vars.get(name)
    if known is not None:  # read before: the checks below passed and its scalar is registered
        return known
    d = lb.decl_of(name)
    if d is not None:
        return declared_scalar(lb, name, d, n)
    # macros and enumerators
    ctx = lb.ctx
    if ctx is not None:
        defined = getattr(ctx, "macros", {})
        if name in defined:
            body = str(defined[name]).strip()
            if re.fullmatch(r"\(?\s*[-+]?[\d.][\w.+\-']*\s*\)?", body):
                c = literal(body.strip("() "))
                if c.type.name == "long double":
                    raise Unsupported("long_double", f"{name} is a long double constant", n)
                neg = body.replace("(", "").strip().startswith("-")
                return Const(-c.value if neg else c.value, c.type, name)
            v = lb.int_text(name)
            if v is not None:
                return Const(v, INT32 if -(1 << 31) <= v < (1 << 31) else INT64, name)
            # clang's full expansion, or a macro naming one variable (`#define _PB_N n`), which is that variable
            plain_name = re.fullmatch(r"\(?\s*[A-Za-z_]\w*\s*\)?", body) is not None
            if (getattr(ctx, "facts", None) is not None or plain_name) and name not in lb.macro_args_seen:
                parsed = macros.macro_body(f"#define {name}() {body}", lb.site.language)  # clang's full expansion
                if parsed is not None:
                    lb.macro_args.append({})
                    lb.macro_args_seen.add(name)
                    outer, lb.text_source = lb.text_source, parsed[2]
                    try:
                        return expr(lb, parsed[1])
                    finally:
                        lb.macro_args.pop()
                        lb.macro_args_seen.discard(name)
                        lb.text_source = outer
            raise Unsupported("macro", f"cannot evaluate the macro {name}", n)
        if name in getattr(ctx, "enum_constants", {}):
            v = lb.int_text(name)
            if v is not None:
                return Const(v, INT32, name)
    if name in ("_Complex_I", "__builtin_complex"):
        raise Unsupported("complex", f"uses {name}: loops over complex values are not vectorized", n)
    if name in ("NAN", "INFINITY", "HUGE_VALF"):
        return Const(float("nan") if name == "NAN" else float("inf"), FLOAT, name)
    if name in _LIMITS:
        v2, ct2 = _LIMITS[name]
        return Const(v2, ct2, name)
    raise Unsupported("unknown_identifier", f"cannot find the declaration of {name}", n)


def declared_scalar(lb: LoopBuilder, name: str, d: Decl, n: tree_sitter.Node) -> Var:
    """The declared variable `name` read in the loop (never written there): an invariant scalar."""
    if d.func_ptr:
        raise Unsupported("function_pointer", f"{name} is a function pointer", n)
    if d.volatile:
        raise Unsupported("volatile", f"{name} is volatile: every access must happen as written", n)
    if d.atomic or "atomic" in d.type:
        raise Unsupported("atomic", f"{name} is atomic", n)
    if d.pointer or d.extents or d.container:
        raise Unsupported("pointer_value", f"uses the pointer/array {name} as a value", n)
    ct = ctype_of(complex_spelling(d) or d.type, lb.ctx)
    if ct is None:
        raise Unsupported("long_double" if "long double" in d.type else "unknown_type",
                          f"unknown type '{d.type}' of {name}", n)
    if name not in lb.scalars:
        lb.scalars[name] = Scalar(name, ct, ScalarRole.INVARIANT, decl=d.text)
    var = lb.invariant_vars[name] = Var(name, ct)
    return var


def member_scalar(lb: LoopBuilder, n: tree_sitter.Node) -> Expr:
    """`p->n`, `s.k`: a loop-invariant scalar member read (or a member of a union temporary)."""
    union = bit_copies.union_member_of(lb, n)
    if union is not None:
        return bit_copies.union_read(lb, union[0], union[1], n)
    member = structures.member_access(lb, n)
    if member is not None:  # `pts[i].x`, `p->x` of a walking p: a strided view of the structures
        return Load(member)
    moving = _moving_structure(lb, n.child_by_field_name("argument"))
    if moving:  # `pts[i].x`, `p->x` of a walking p: one element per iteration, never a loop-invariant scalar
        raise Unsupported("array_of_structs", f"{lb.text(n)} reads a member of an array of structures "
                          f"({moving}): {accesses.AOS_NOT_REWRITTEN}", n)
    ft = field_decl(lb, n)
    if ft is None:
        raise Unsupported("unknown_type", f"cannot find the type of {lb.text(n)}", n)
    if ft.pointer or ft.extents:
        raise Unsupported("pointer_value", f"uses the pointer {lb.text(n)} as a value", n)
    if ft.volatile or ft.atomic:
        raise Unsupported("volatile", f"{lb.text(n)} is volatile/atomic", n)
    ct = ctype_of(ft.type, lb.ctx)
    if ct is None:
        raise Unsupported("unknown_type", f"unknown type '{ft.type}' of {lb.text(n)}", n)
    name = squash(lb.text(n))
    root = re.split(r"->|\.", name)[0]
    if root == lb.iv or root in lb.locals:
        raise Unsupported("unsupported", f"member of a loop-varying value {name}", n)
    if name not in lb.scalars:
        lb.scalars[name] = Scalar(name, ct, ScalarRole.INVARIANT, decl=ft.text)
    return Var(name, ct)


def _moving_structure(lb: LoopBuilder, arg: tree_sitter.Node | None) -> str:
    """How the structure a member is read from moves with the loop ("pts[i]: a subscript that varies",
    "p: a pointer the loop moves"), or "" when it is the same structure in every iteration."""
    while arg is not None:
        arg = unwrap(arg) or arg
        if arg.type == "subscript_expression":
            if not accesses.invariant_index(lb, index_node(arg)):
                return f"{squash(lb.text(arg))}: a subscript that varies with the loop"
        elif arg.type == "identifier":
            name = lb.text(arg)
            if name in lb.walkers or name in lb.written_names:
                return f"{name}: a pointer the loop moves"
            return ""
        elif arg.type not in ("field_expression", "pointer_expression"):
            return ""
        arg = arg.child_by_field_name("argument")
    return ""


def field_decl(lb: LoopBuilder, n: tree_sitter.Node) -> Decl | None:
    """The declaration of the member a field_expression names."""
    arg = unwrap(n.child_by_field_name("argument"))
    fname = lb.text(n.child_by_field_name("field"))
    arrow = op_of(n) == "->" or "->" in lb.text(n)[len(lb.text(arg)) if arg is not None else 0:][:3]
    if arg is None:
        return None
    if arg.type == "this":
        return lb.member_decl(fname)
    if arg.type == "identifier":
        d = lb.decl_of(lb.text(arg))
        if d is None:
            return None
        if arrow and d.pointer != 1 and not (d.extents and d.pointer == 0):
            return None
        type_text = d.type
    elif arg.type == "field_expression":
        inner = field_decl(lb, arg)
        if inner is None:
            return None
        type_text = inner.type
    elif arg.type == "subscript_expression":
        inner_arg = unwrap(arg.child_by_field_name("argument"))
        if inner_arg is None or inner_arg.type != "identifier":
            return None
        d = lb.decl_of(lb.text(inner_arg))
        if d is None:
            return None
        type_text = d.type
    else:
        return None
    struct_of = getattr(lb.ctx, "struct_of", None)
    st = struct_of(type_text) if struct_of is not None else None
    if st is None:
        return None
    f = st.field(fname)
    if f is None:
        return None
    return Decl(f.name, f.type, f.pointer, tuple(f.extents), f.const, f.volatile, f.restrict, f.atomic,
                text=f.text)


def is_data_call(n: tree_sitter.Node) -> bool:
    f = n.child_by_field_name("function")
    return f is not None and f.type == "field_expression" and node_text(f.child_by_field_name("field")) == "data"


def _casts_read_as_calls(lb: LoopBuilder, n: tree_sitter.Node) -> tuple[list[CType], tree_sitter.Node] | None:
    """`(T)(x)` parses as a call of `(T)`, and `(T1)(T2)(x)` (a fixed-point macro's `((val32)(val16)(a))`)
    as a call of that call, when the parser does not know the names are types: (the types, outermost
    first, and x), or None when any of them names a value or is no type."""
    lists = []
    f = n
    while f.type == "call_expression":
        args = [a for a in field_of(f, "arguments").named_children if a.type != "comment"]
        if len(args) != 1:
            return None
        lists.append(args[0])
        f = field_of(f, "function")
    inner = unwrap(f) if f.type == "parenthesized_expression" else None
    if inner is None:
        return None
    names = [inner, *reversed(lists[1:])]
    types = []
    for name_node in names:
        name = lb.text(name_node)
        if name_node.type != "identifier" or lb.decl_of(name) is not None or name in lb.locals or name == lb.iv:
            return None
        ct = ctype_of(name, lb.ctx)
        if ct is None:
            return None
        types.append(ct)
    return types, lists[0]


def call(lb: LoopBuilder, n: tree_sitter.Node) -> Expr:
    f = field_of(n, "function")
    fname = _through_aliases(lb, squash(lb.text(f)))
    args_node = field_of(n, "arguments")
    arg_nodes = [a for a in args_node.named_children if a.type != "comment"]
    if fname in ("__real__", "__imag__") and len(arg_nodes) == 1:  # GNU operators, parenthesised: `__real__(z)`
        return complex_values.complex_part_call(lb, fname, arg_nodes[0], n)
    cast_to = _cpp_cast_type(lb, f) if lb.cpp and len(arg_nodes) == 1 else None
    if cast_to is not None:  # `static_cast<int8_t>(v)`, `float(i)`: C++ spellings of a cast
        ct = ctype_of(cast_to, lb.ctx)
        if ct is None:
            raise Unsupported("long_double" if "long double" in cast_to else "unknown_type",
                              f"unknown type '{cast_to}' in a cast", n)
        return explicit_cast(expr(lb, arg_nodes[0]), ct)
    casts = _casts_read_as_calls(lb, n)
    if casts is not None:  # `(pixel_t)(x)`, `(val32)(val16)(a)`: the parser cannot know these are types
        types, value_node = casts
        value = expr(lb, value_node)
        for ct in reversed(types):
            value = explicit_cast(value, ct)
        return value
    if f.type == "field_expression":
        obj = unwrap(f.child_by_field_name("argument"))
        member = lb.text(f.child_by_field_name("field"))
        if member in ("real", "imag") and not arg_nodes and obj is not None:  # std::complex's own accessors
            return complex_values.complex_part_call(lb, member, obj, n)
        if obj is not None and obj.type == "identifier" and member == "size" and not arg_nodes:
            d = lb.decl_of(lb.text(obj))
            if d is not None and (d.container or (not d.pointer and pure_size_method(lb, d.type))):
                if lb.text(obj) in lb.written_names:
                    raise Unsupported("call", f"calls {fname}", n)
                name = f"{lb.text(obj)}.size()"
                lb.scalars.setdefault(name, Scalar(name, UINT64, ScalarRole.INVARIANT))
                return Var(name, UINT64)
        raise Unsupported("call", f"calls {fname}", n)
    if lb.is_func_ptr(fname):
        raise Unsupported("function_pointer", f"calls through the function pointer {fname}", n)
    if fname in complex_values.COMPLEX_CALLS and len(arg_nodes) == 1:
        return complex_values.complex_part_call(lb, fname, arg_nodes[0], n)
    if not _readable_call(lb, fname):  # said before its arguments are read: `lv_conj(*p++)` is a call first
        raise Unsupported("call", f"calls {fname}", n)
    args = [expr(lb, a) for a in arg_nodes]
    if lb.cpp and fname in ("std::max", "std::min", "max", "min") and len(args) == 2 and fname.startswith("std"):
        a, b = args
        ta, tb = expr_type(a), expr_type(b)
        if ta.name != tb.name:
            raise Unsupported("type_error", f"{fname} with different argument types", n)
        if fname == "std::max":
            return Select(Binary("<", a, b, INT32), b, a, ta)
        return Select(Binary("<", b, a, INT32), b, a, ta)
    if lb.cpp and fname == "std::clamp" and len(args) == 3:
        v, lo, hi = args
        if len({expr_type(x).name for x in args}) != 1:
            raise Unsupported("type_error", f"{fname} with different argument types", n)
        t = expr_type(v)  # std::min(std::max(v, lo), hi), as libstdc++ writes it (lo > hi, UB, gives hi)
        m = Select(Binary("<", v, lo, INT32), lo, v, t)
        return Select(Binary("<", hi, m, INT32), hi, m, t)
    classify = _classification(fname)
    if classify and len(args) == 1 and expr_type(args[0]).is_float:
        # C's isinf is glibc's __builtin_isinf_sign; C++'s, and gcc's __builtin_isinf, a bool
        signed = fname == "__builtin_isinf_sign" or (fname == "isinf" and not lb.cpp)
        return _classify(classify, args[0], signed)
    fn = mathcalls.lookup(fname, tuple(expr_type(a) for a in args), lb.cpp)
    if fn is None:
        macro = getattr(lb.ctx, "function_macros", {}).get(fname)
        if macro is not None:
            return macros.expand_macro(lb, fname, str(macro), args, n)
        helper = getattr(lb.ctx, "helper_functions", {}).get(fname)
        if helper is not None:
            return macros.expand_helper(lb, fname, helper, args, n)
        raise Unsupported("call", f"calls {fname}", n)
    if len(args) != len(fn.args):
        raise Unsupported("call", f"calls {fname} with {len(args)} arguments", n)
    conv = tuple(convert(a, t) for a, t in zip(args, fn.args, strict=True))
    if fn.name in ("abs", "labs", "llabs"):
        return Unary("abs", conv[0], fn.result)
    if not fn.vector:
        lb.reasons.append(Reason("math_call", f"{fn.name} {fn.note}", node_span(n)))
    if fn.name in ("fma", "fmaf"):  # not fmax / fmaxf
        lb.reasons.append(Reason("fma_call", f"{fn.name} must stay fused (one rounding): needs FMA "
                                 "instructions", node_span(n)))
    return Call(fn.name, conv, fn.result)


_CLASSIFY = ("isnan", "isfinite", "isinf", "isinf_sign")


def _classification(fname: str) -> str:
    """"isnan" for `isnan`, `std::isnan` and `__builtin_isnan` (likewise isfinite, isinf); "" for other calls."""
    name = fname.removeprefix("std::").removeprefix("__builtin_")
    return name if name in _CLASSIFY else ""


def _classify(name: str, x: Expr, signed: bool) -> Expr:
    """`isnan(x)` is `x != x` (true only for a NaN); `isfinite(x)` is `|x| < inf` (false for inf and NaN):
    comparisons the lowering already has, 0 or 1 as glibc's builtins give. `isinf(x)` is `|x| == inf` in
    C++ and as `__builtin_isinf` (a bool); glibc's C macro is `__builtin_isinf_sign`, -1 for -inf (`signed`).
    The sandbox checks the reading against the user's own build, whose C library decides."""
    t = expr_type(x)
    inf = Const(float("inf"), t)
    if name == "isnan":
        return Binary("!=", x, x, INT32)
    if name == "isfinite":
        return Binary("<", Unary("abs", x, t), inf, INT32)
    if not signed:
        return Binary("==", Unary("abs", x, t), inf, INT32)
    return Select(Binary("==", x, inf, INT32), Const(1, INT32),
                  Select(Binary("==", x, Const(float("-inf"), t), INT32), Const(-1, INT32), Const(0, INT32), INT32),
                  INT32)


def _through_aliases(lb: LoopBuilder, fname: str) -> str:
    """`#define av_clip_uint8 av_clip_uint8_c`: a call of an object-like macro naming another function is a
    call of that function (followed a few names deep)."""
    object_macros = getattr(lb.ctx, "macros", {})
    for _ in range(4):
        if fname in getattr(lb.ctx, "function_macros", {}) or fname in getattr(lb.ctx, "helper_functions", {}):
            return fname
        value = object_macros.get(fname)
        if value is None or not IDENTIFIER.fullmatch(value.strip()):
            return fname
        fname = value.strip()
    return fname


def _readable_call(lb: LoopBuilder, fname: str) -> bool:
    """Whether a call of `fname` can be read at all: a math function, a macro or helper of the file, or
    C++'s std::min / std::max / std::clamp."""
    return (mathcalls.lookup(fname, (), lb.cpp) is not None
            or bool(_classification(fname))
            or fname in getattr(lb.ctx, "function_macros", {}) or fname in getattr(lb.ctx, "helper_functions", {})
            or (lb.cpp and fname in ("std::max", "std::min", "std::clamp")))


def _cpp_cast_type(lb: LoopBuilder, f: tree_sitter.Node) -> str | None:
    """The type of a C++ value cast: `static_cast<T>` (T not a pointer or reference), or a functional
    cast `T(v)` to an arithmetic type (`float(i)`, `int8_t(v)`); None for anything else."""
    if f.type == "primitive_type":
        return " ".join(lb.text(f).split())
    if f.type in ("identifier", "qualified_identifier", "type_identifier") and lb.decl_of(lb.text(f)) is None \
            and ctype_of(lb.text(f), lb.ctx) is not None:
        return lb.text(f)  # `sample_t(v)` with `typedef float sample_t;`
    if f.type != "template_function" or lb.text(f.child_by_field_name("name")) not in ("static_cast", "std::static_cast"):
        return None
    targs = f.child_by_field_name("arguments")
    types = [c for c in targs.named_children if c.type == "type_descriptor"] if targs is not None else []
    if len(types) != 1:
        return None
    spelled = " ".join(lb.text(types[0]).split())
    return None if "*" in spelled or "&" in spelled else spelled


def pure_size_method(lb: LoopBuilder, type_text: str) -> bool:
    """Whether the class `type_text` has `size() const { return m.size(); }` with `m` a std
    container member: then `obj.size()` is the container's size, invariant while the loop (which
    calls no other method of obj) runs."""
    words = [w for w in IDENTIFIER.findall(type_text) if w not in ("const", "volatile", "struct", "class")]
    if len(words) != 1 or not lb.cpp:
        return False
    member = file_scan(lb.tree).size_member(words[0])
    struct_of = getattr(lb.ctx, "struct_of", None)
    st = struct_of(words[0]) if member and struct_of is not None else None
    f = st.field(member) if st is not None else None
    return f is not None and not f.pointer and bool(container_kind(" ".join(f.type.split())))


# <float.h>, <limits.h> and <stdint.h> limits: value and type (the intN_t limits are int: promoted)
_LIMITS: dict[str, tuple[int | float, CType]] = {
    "FLT_MAX": (3.4028234663852886e38, FLOAT), "DBL_MAX": (1.7976931348623157e308, DOUBLE),
    "FLT_MIN": (1.1754943508222875e-38, FLOAT), "DBL_MIN": (2.2250738585072014e-308, DOUBLE),
    "INT_MAX": (2147483647, INT32), "INT_MIN": (-2147483648, INT32), "UINT_MAX": (4294967295, UINT32),
    "INT8_MIN": (-128, INT32), "INT8_MAX": (127, INT32), "UINT8_MAX": (255, INT32),
    "INT16_MIN": (-32768, INT32), "INT16_MAX": (32767, INT32), "UINT16_MAX": (65535, INT32),
    "INT32_MIN": (-2147483648, INT32), "INT32_MAX": (2147483647, INT32), "UINT32_MAX": (4294967295, UINT32),
}
