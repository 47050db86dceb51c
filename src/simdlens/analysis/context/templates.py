"""Templates: the instantiation a loop inside a template is read for.

A loop in `template <typename T, int N> T f(const T *x)` (or in a member of `template <typename T>
struct Tensor`) has no element type until T and N are bound. simdlens reads it for one binding the file
uses, as if the template were preceded by `typedef float T;` and `constexpr int N = 64;`; the sandbox
compiles the kernel after those same two lines, and the edit compiles its vector code only for that
binding (`if constexpr (std::is_same<T, float>::value && N == 64)`, the original loop otherwise).

The bindings come from clang (`bind`, with `clang_facts.SemanticFacts.instantiations`): every
instantiation the file uses, explicit, by a call with deduced arguments, by a variable, an alias or a
member call of a class template specialisation. Several: the first the file uses is analysed and the
others are named (they keep the original loop). Without clang's facts only function templates are
read, for the binding the file spells out (`template void f<float>(…);`, `f<int, 64>(x)`). No binding
or one that is not a scalar type: the loop is refused with `problem` as its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import tree_sitter

from simdlens.analysis.context.reader import words

_HOW = ("a loop in a template: simdlens analyses it for one instantiation named in the file "
        "(`template void f<float>(...)` or a call `f<float>(...)`)")
_NO_FACTS = "loops in class templates and deduced instantiations need clang's semantic facts"
_PARTIAL = "loops in a partial specialization"

_NAME_BEFORE_ANGLE = re.compile(rb"(?<![\w.])([A-Za-z_]\w*)\s*<")  # `f<` of `f<float>(…)`, one pass over the file
_TYPE_ARGUMENT = re.compile(r"[A-Za-z_][\w\s:]*")  # a (qualified) type name: `float`, `unsigned int`, `std::int16_t`


@dataclass(frozen=True)
class TemplateScope:
    """One template declaration: the bytes it covers, its parameters and the binding the file names."""

    # Positions move with every edit; two scopes binding the same names the same way are the same.
    start: int = field(compare=False)
    end: int = field(compare=False)
    function: str
    # (name, "" for a type parameter or the declared type of a value one); a member template of a class
    # template has its class's parameters first, then its own
    params: tuple[tuple[str, str], ...]
    args: tuple[str, ...] = ()  # the binding, one argument per parameter (empty when `problem`)
    problem: str = ""  # why the template's loops are not analysed ("" when bound)
    spelled: str = ""  # the analysed instantiation as reasons name it ("Tensor<float>")
    others: tuple[str, ...] = ()  # the file's other instantiations, which keep the original loop

    def note(self) -> str:
        """What the reasons and the hover say about the binding ("" when there is none)."""
        if not self.spelled:
            return ""
        also = f"; also used: {', '.join(self.others)} (they keep the original loop)" if self.others else ""
        return f"in a template: analysed for {self.spelled}{also}"

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
    scopes: list[TemplateScope] = []
    for k in sorted(decls):
        scope = _scope(decls[k], uses)
        if scope is None:
            continue
        enclosing = [t for t in scopes if t.start <= scope.start < t.end]
        if enclosing:  # a member template of a class template: the class's parameters come first
            outer = enclosing[-1]
            scope = TemplateScope(scope.start, scope.end, scope.function, outer.params + scope.params,
                                  problem=scope.problem or f"{_HOW}; {_NO_FACTS}")
        scopes.append(scope)
    return tuple(scopes)


def bind(scopes: tuple[TemplateScope, ...], facts: Any) -> tuple[TemplateScope, ...]:
    """The scopes bound from clang's instantiations (`facts.bindings(start)`), each to the first the
    file uses, the others named."""
    return tuple(_bound(s, facts.bindings(s.start)) for s in scopes)


def _bound(scope: TemplateScope, found: tuple[Any, ...]) -> TemplateScope:
    if any(not n for n, _ in scope.params) or _PARTIAL in scope.problem:
        return scope  # unread parameters, or a partial specialization: the problem says so already
    name = scope.function or "this template"
    base = TemplateScope(scope.start, scope.end, scope.function, scope.params)
    if scope.args:  # an explicit instantiation the file writes (libclang shows no cursor for a function's)
        others = tuple(dict.fromkeys(i.spelled for i in found if i.args != scope.args and i.spelled != scope.spelled))
        return replace(scope, others=others)
    if not found:
        return replace(base, problem=f"{_HOW}; found none: the file uses {name} nowhere outside a template "
                       "(a use inside another template's body is not followed)")
    usable = [i for i in found if len(i.args) == len(scope.params) and all(i.args)]
    if not usable:
        return replace(base, problem=f"{_HOW}; the template arguments of {', '.join(i.spelled for i in found)} are not "
                       "reported by clang (a pack, a template template argument or a member template's)")
    first = usable[0]
    for (pname, kind), arg in zip(scope.params, first.args, strict=True):
        if not kind and not _TYPE_ARGUMENT.fullmatch(arg):
            return replace(base, problem=f"{_HOW}; {first.spelled}: {pname} = {arg} is not a scalar type name")
    others = tuple(dict.fromkeys(i.spelled for i in found if i is not first and i.spelled != first.spelled))
    return replace(base, args=first.args, spelled=first.spelled, others=others)


def template_parameters(plist: tree_sitter.Node) -> list[tuple[str, str]]:
    """(name, "" for a type parameter or the declared type of a value one) of each parameter of a
    `template <…>` list; the name is "" for packs, template template parameters and unnamed ones."""
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
    return params


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
    params = template_parameters(plist)
    if inner is not None and inner.type in ("struct_specifier", "class_specifier") and \
            inner.child_by_field_name("body") is not None:
        name_node = inner.child_by_field_name("name")
        if name_node is not None and name_node.type == "template_type":  # its arguments are not its parameters
            return TemplateScope(start, end, _text(name_node), tuple(params),
                                 problem=f"{_HOW}; {_PARTIAL} ({_text(name_node)}) are not analysed")
        return TemplateScope(start, end, _text(name_node), tuple(params), problem=f"{_HOW}; {_NO_FACTS}")
    if inner is None or inner.type != "function_definition":
        return TemplateScope(start, end, "", tuple(params), problem=f"{_HOW}; this template declares no function "
                             "or class")
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
        named = f"none ({_NO_FACTS})" if not found else \
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
    return TemplateScope(start, end, name, tuple(params), args, spelled=f"{name}<{', '.join(args)}>")
