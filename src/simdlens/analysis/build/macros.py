"""Function-like macros read as expressions: a definition's body parsed once and typed with its
parameters bound to the arguments' IR; and the repair of `(x)` that the parser misread as a cast.
"""

from __future__ import annotations

import re
from typing import Any

import tree_sitter

from simdlens.analysis.build import expressions
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.syntax import IDENTIFIER, Unsupported, node_text
from simdlens.analysis.context.records import HelperFunction
from simdlens.analysis.ir import Expr, expr_type


def expand_macro(lb: LoopBuilder, name: str, define: str, args: list[Expr], n: tree_sitter.Node) -> Expr:
    """A function-like macro used as an expression (`MAX(a[i], m)`): its body typed with the
    parameters bound to the arguments' IR (C duplicates the argument text; loads are pure)."""
    if len(lb.macro_args) > 8:
        raise Unsupported("macro", f"{name} expands too deeply", n)
    parsed = macro_body(define, lb.site.language)
    if parsed is None:
        raise Unsupported("macro", f"cannot read the definition of the macro {name}", n)
    params, body, text = parsed
    if len(params) != len(args):
        raise Unsupported("macro", f"{name} takes {len(params)} arguments", n)
    lb.macro_args.append(dict(zip(params, args, strict=True)))
    outer, lb.text_source = lb.text_source, text
    try:
        return expressions.expr(lb, body)
    except Unsupported as e:
        raise Unsupported(e.reason.code, f"in the macro {name}: {e.reason.message}", n) from None
    finally:
        lb.macro_args.pop()
        lb.text_source = outer


# The C spelling of each canonical type, for a template parameter deduced from an argument
_SPELLING = {"int8": "signed char", "uint8": "unsigned char", "int16": "short", "uint16": "unsigned short",
             "int32": "int", "uint32": "unsigned int", "int64": "long long", "uint64": "unsigned long long",
             "float": "float", "double": "double"}


def expand_helper(lb: LoopBuilder, name: str, helper: HelperFunction, args: list[Expr], n: tree_sitter.Node) -> Expr:
    """A call of a one-`return` helper function: its default arguments filled in and its template types
    deduced from the arguments as C++ does (exact types, no promotion), then read like a macro."""
    missing = helper.arity - len(args)
    if missing < 0 or missing > len(helper.defaults):
        raise Unsupported("call", f"calls {name} with {len(args)} arguments", n)
    for text in helper.defaults[len(helper.defaults) - missing:]:
        parsed = macro_body(f"#define simdlens_default() {text}", lb.site.language)
        if parsed is None:
            raise Unsupported("call", f"cannot read the default argument {text} of {name}", n)
        outer, lb.text_source = lb.text_source, parsed[2]
        try:
            args = [*args, expressions.expr(lb, parsed[1])]
        finally:
            lb.text_source = outer
    define = helper.define
    for tparam in dict.fromkeys(tp for tp, _ in helper.deduced):
        types = [expr_type(args[k]) for tp, k in helper.deduced if tp == tparam]
        t = types[0]
        spelled = _SPELLING.get(t.name)
        if spelled is None or any(x.is_complex or x.spelling in ("bool", "_Bool") or x.name != t.name for x in types):
            raise Unsupported("call", f"cannot deduce {tparam} of the template {name} from its arguments", n)
        define = re.sub(rf"\b{re.escape(tparam)}\b", spelled, define)
    return expand_macro(lb, name, define, args, n)


_MACRO_BODIES: dict[tuple[str, str], tuple[list[str], tree_sitter.Node, tree_sitter.Tree, bytes] | None] = {}


_CALL_TEXT = re.compile(r"([A-Za-z_]\w*)\s*\(.*\)", re.DOTALL)


def unparenthesised_values(text: bytes, root: tree_sitter.Node, is_value: Any) -> bytes | None:
    """`text` with the parentheses of every `(x)` the parser read as a cast blanked out, where x names a
    value rather than a type (`((r) + _Complex_I * (i))` in a macro, `(k) + a[i] * 2`), or x is a call of
    a function that names a value (`(crealf(z[i])) * y`, a macro's expansion): the parser
    cannot tell them apart without knowing the names, and a cast binds tighter than `+`, so the reading
    is wrong twice over. Same length, so every byte offset stays put. None when there is none."""
    out: bytearray | None = None
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "cast_expression":
            tn = n.child_by_field_name("type")
            name = node_text(tn).strip()
            kids = n.children
            call = _CALL_TEXT.fullmatch(name)  # `(crealf(z[i])) * y`: a call read as a function type
            if (((IDENTIFIER.fullmatch(name) and is_value(name)) or (call is not None and is_value(call.group(1))))
                    and len(kids) >= 3 and kids[0].type == "(" and kids[2].type == ")"):
                if out is None:
                    out = bytearray(text)
                out[kids[0].start_byte] = out[kids[2].start_byte] = 0x20
        stack.extend(n.children)
    return bytes(out) if out is not None else None


def macro_body(define: str, language: str) -> tuple[list[str], tree_sitter.Node, bytes] | None:
    """The parameters and the parsed body expression of `#define NAME(params) body`, and the text it was
    parsed from (read it with that as the builder's `text_source`)."""
    key = (define, language)
    if key not in _MACRO_BODIES:
        from simdlens.analysis.parse import parse

        m = re.match(r"\s*#\s*define\s+\w+\(([^)]*)\)\s*(.*)", define.replace("\\\n", " "), re.DOTALL)
        got = None
        if m is not None and "#" not in m.group(2) and "..." not in m.group(1):
            params = [p.strip() for p in m.group(1).split(",") if p.strip()]
            text = f"int simdlens_macro = ({m.group(2).strip()});".encode()
            tree = parse(text, language)  # type: ignore[arg-type]
            fixed = unparenthesised_values(text, tree.root_node, lambda name: name in params)  # `(r)` is a parameter
            if fixed is not None:
                text = fixed
                tree = parse(fixed, language)  # type: ignore[arg-type]
            decl = tree.root_node.named_child(0)
            init = decl.child_by_field_name("declarator") if decl is not None else None
            value = init.child_by_field_name("value") if init is not None else None
            if value is not None and not tree.root_node.has_error:
                got = (params, value, tree, text)
        if len(_MACRO_BODIES) > 256:
            _MACRO_BODIES.clear()
        _MACRO_BODIES[key] = got
    entry = _MACRO_BODIES[key]
    return None if entry is None else (entry[0], entry[1], entry[3])
