"""Function templates: the one instantiation a file names, which a loop inside a template is read for.

A loop in `template <typename T, int N> T f(const T *x)` has no element type until T and N are bound.
simdlens reads it for the one binding the file itself names, by an explicit instantiation
(`template void f<float>(…);`) or by calls with all template arguments written (`f<int, 64>(x)`), as if
the template were preceded by `typedef float T;` and `constexpr int N = 64;`; the sandbox compiles the
kernel after those same two lines, and the edit compiles its vector code only for that binding
(`if constexpr (std::is_same<T, float>::value && N == 64)`, the original loop otherwise). No binding,
several, or a class template: the loop is refused with `problem` as its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tree_sitter

from simdlens.analysis.context.reader import words

_HOW = ("a loop in a template: simdlens analyses it for one instantiation named in the file "
        "(`template void f<float>(...)` or a call `f<float>(...)`)")

_NAME_BEFORE_ANGLE = re.compile(rb"(?<![\w.])([A-Za-z_]\w*)\s*<")  # `f<` of `f<float>(…)`, one pass over the file
_TYPE_ARGUMENT = re.compile(r"[A-Za-z_][\w\s:]*")  # a (qualified) type name: `float`, `unsigned int`, `std::int16_t`


@dataclass(frozen=True)
class TemplateScope:
    """One template declaration: the bytes it covers, its parameters and the binding the file names."""

    # Positions move with every edit; two scopes binding the same names the same way are the same.
    start: int = field(compare=False)
    end: int = field(compare=False)
    function: str
    params: tuple[tuple[str, str], ...]  # (name, "" for a type parameter or the declared type of a value one)
    args: tuple[str, ...] = ()  # the binding, one argument per parameter (empty when `problem`)
    problem: str = ""  # why the template's loops are not analysed ("" when bound)

    def declarations(self) -> tuple[str, ...]:
        """The binding as C++ declarations: `typedef float T;`, `constexpr int N = 64;`."""
        return tuple(f"typedef {a} {n};" if not t else f"constexpr {t} {n} = {a};"
                     for (n, t), a in zip(self.params, self.args, strict=True))

    def condition(self) -> str:
        """The C++ constant expression true exactly for this binding (what the edit's vector code needs)."""
        return " && ".join(f"std::is_same<{n}, {a}>::value" if not t else f"{n} == ({a})"
                           for (n, t), a in zip(self.params, self.args, strict=True))


def _text(node: tree_sitter.Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""


def read_templates(root: tree_sitter.Node, source: bytes) -> tuple[TemplateScope, ...]:
    """Every template declaration of the file holding a function or a class, with its binding or problem
    (found from the words `template` and the functions' names: walking every node of a big file costs
    more than the whole analysis may)."""
    decls: dict[int, tree_sitter.Node] = {}
    for start, end in words(source, (b"template",)):
        keyword = root.descendant_for_byte_range(start, end)
        node = keyword.parent if keyword is not None else None
        if node is not None and node.type == "template_declaration":
            decls.setdefault(node.start_byte, node)
    uses: dict[str, list[tree_sitter.Node]] = {}  # `f<float>` in instantiations and calls, by name
    names = {_function_name(d.named_children[-1]) for d in decls.values()
             if d.named_children and d.named_children[-1].type == "function_definition"}
    for m in _NAME_BEFORE_ANGLE.finditer(source) if names - {""} else ():
        name = m.group(1).decode("utf-8", "replace")
        if name not in names:
            continue
        ident = root.descendant_for_byte_range(m.start(1), m.end(1))
        use = ident.parent if ident is not None else None
        if use is not None and use.type == "template_function" and use.child_by_field_name("name") == ident \
                and not _specialization(use):
            uses.setdefault(name, []).append(use)
    scopes = (_scope(decls[k], uses) for k in sorted(decls))
    return tuple(s for s in scopes if s is not None)


def _specialization(use: tree_sitter.Node) -> bool:
    """`template <> void f<int>(…) { … }`: a function of its own, no instantiation of the template."""
    declarator = use.parent
    return declarator is not None and declarator.type == "function_declarator" and \
        declarator.parent is not None and declarator.parent.type == "function_definition"


def _function_name(fn: tree_sitter.Node) -> str:
    decl = fn.child_by_field_name("declarator")
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_name("declarator") or (decl.named_child(0) if decl.named_child_count else None)
    name = decl.child_by_field_name("declarator") if decl is not None else None
    while name is not None and name.type == "qualified_identifier":
        name = name.child_by_field_name("name")
    return _text(name) if name is not None and name.type in ("identifier", "field_identifier") else ""


def _scope(decl: tree_sitter.Node, uses: dict[str, list[tree_sitter.Node]]) -> TemplateScope | None:
    inner = decl.named_children[-1] if decl.named_children else None
    start, end = decl.start_byte, decl.end_byte
    plist = decl.child_by_field_name("parameters")
    if plist is None or not plist.named_children:
        return None  # `template <>`: an explicit specialization is an ordinary function
    params: list[tuple[str, str]] = []
    for p in plist.named_children:
        if p.type in ("type_parameter_declaration", "optional_type_parameter_declaration"):
            ids = [c for c in p.named_children if c.type == "type_identifier"]
            params.append((_text(ids[0]) if ids else "", ""))
        elif p.type in ("parameter_declaration", "optional_parameter_declaration"):
            declarator, ptype = p.child_by_field_name("declarator"), p.child_by_field_name("type")
            kind = " ".join(_text(c) for c in p.named_children if c.type == "type_qualifier" or c == ptype)
            params.append((_text(declarator) if declarator is not None and declarator.type == "identifier" else "",
                           kind))
        else:
            params.append(("", ""))  # packs, template template parameters
    if inner is None or inner.type != "function_definition":
        return TemplateScope(start, end, "", tuple(params), problem=f"{_HOW}; loops in class templates are not analysed")
    name = _function_name(inner)
    if not name:
        return TemplateScope(start, end, "", tuple(params),
                             problem=f"{_HOW}; the name of this template's function is not read")
    if any(not n for n, _ in params):
        return TemplateScope(start, end, name, tuple(params), problem=f"{_HOW}; this template's parameters are not read "
                             "(a parameter pack, a template template parameter or an unnamed one)")
    bindings: dict[tuple[str, ...], None] = {}
    for use in uses.get(name, ()):
        if start <= use.start_byte < end:
            continue  # the template's own body names its parameters, not a binding
        args_node = use.child_by_field_name("arguments")
        args = tuple(" ".join(_text(a).split()) for a in (args_node.named_children if args_node is not None else ()))
        bindings[args] = None
    found = list(bindings)
    if len(found) != 1:
        named = "none (a call that deduces them does not name one)" if not found else \
            f"{len(found)}: " + ", ".join(f"{name}<{', '.join(a)}>" for a in found)
        return TemplateScope(start, end, name, tuple(params), problem=f"{_HOW}; found {named}")
    args = found[0]
    if len(args) != len(params):
        return TemplateScope(start, end, name, tuple(params), problem=f"{_HOW}; {name}<{', '.join(args)}> leaves "
                             "template arguments to deduction or defaults")
    for (pname, kind), arg in zip(params, args, strict=True):
        if not kind and not _TYPE_ARGUMENT.fullmatch(arg):
            return TemplateScope(start, end, name, tuple(params),
                                 problem=f"{_HOW}; {pname} = {arg} is not a scalar type name")
    return TemplateScope(start, end, name, tuple(params), args)
