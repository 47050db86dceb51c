"""Reading a file and the local headers it includes into declarations: macros, typedefs, structs, enums
and globals, following `#if` as far as the macros seen allow; and typedefs declared inside blocks.
"""

from __future__ import annotations

import hashlib
import re
from collections import ChainMap
from dataclasses import dataclass, field, replace
from pathlib import Path

import tree_sitter

from simdlens.analysis.context import file_context
from simdlens.analysis.context.records import (
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_INCLUDE_DEPTH,
    Declaration,
    HelperFunction,
    LocalTypedef,
    StructDef,
    Typedef,
    VarDecl,
)
from simdlens.analysis.parse import MAX_SOURCE_BYTES, check_source, parse, tokenize
from simdlens.core import Language
from simdlens.workspace_files import UnreadableFile, is_regular_file, read_workspace_file

_WORD_BYTE = re.compile(rb"\w")


def words(source: bytes, words: tuple[bytes, ...]) -> list[tuple[int, int]]:
    """The (start, end) of every occurrence of `words` as a whole word, in order (bytes.find is several
    times faster than a regex search over a big file)."""
    out: list[tuple[int, int]] = []
    for w in words:
        at = source.find(w)
        while at >= 0:
            end = at + len(w)
            if not (at and _WORD_BYTE.match(source, at - 1)) and not _WORD_BYTE.match(source, end):
                out.append((at, end))
            at = source.find(w, end)
    return sorted(out)


# what a FORCE_INLINE-style macro may hold: function specifiers and attributes, no type
_SPECIFIER_MACRO = re.compile(r"__attribute__\s*\(\(.*?\)\)|\b(?:static|inline|__inline__|__inline|extern|"
                              r"__forceinline|constexpr)\b", re.DOTALL)
_HELPER_TEXT_LIMIT = 4000  # every `if` copies what follows it: a long chain is no helper


def _returned_value(stmts: list[tree_sitter.Node], returning: str) -> str | None:
    """What a helper's body returns, as one C expression, or None: `T x = e;` locals read through their
    values, `if (c) return a; … return b;` as `(c) ? a : b` (each value converted to the return type by
    `returning`, a `%s` pattern, as its own `return` does). Anything else (assignments, loops, a path
    that falls off the end) is no expression helper."""
    if not stmts:
        return None
    s, rest = stmts[0], stmts[1:]
    t = s.type
    if t == "comment":
        return _returned_value(rest, returning)
    if t == "return_statement":
        return returning % node_text(s.named_children[0]) if s.named_children else None
    if t == "compound_statement":
        inner = list(s.named_children)
        following = " ".join(node_text(r) for r in rest)
        if any(re.search(rf"\b{re.escape(n)}\b", following) for n in _local_names(inner)):
            return None  # a block's local shadows a name used after it
        return _returned_value(inner + rest, returning)
    if t == "if_statement":
        cond, then, alt = (s.child_by_field_name(f) for f in ("condition", "consequence", "alternative"))
        if cond is None or then is None or any(c.type in ("declaration", "init_statement") for c in cond.named_children):
            return None
        if alt is not None and alt.type == "else_clause":
            alt = alt.named_child(0)
        taken = _returned_value([then, *rest], returning)
        other = _returned_value([alt, *rest] if alt is not None else rest, returning)
        if taken is None or other is None:
            return None
        value = f"({node_text(cond)} ? {taken} : {other})"
        return value if len(value) <= _HELPER_TEXT_LIMIT else None
    if t == "declaration":
        kinds = {c.type for c in s.children if c.type not in ("init_declarator", ";", ",")}
        ctype = s.child_by_field_name("type")
        inits = [c for c in s.named_children if c.type == "init_declarator"]
        if (ctype is None or ctype.type == "placeholder_type_specifier" or node_text(ctype) == "auto"
                or "storage_class_specifier" in kinds or not inits
                or len(inits) != len(s.children_by_field_name("declarator"))):
            return None  # `static`, `auto`, a local without a value
        after = _returned_value(rest, returning)
        spelled = " ".join([*(node_text(c) for c in s.children if c.type == "type_qualifier"), node_text(ctype)])
        for init in reversed(inits):
            name_node, init_value = init.child_by_field_name("declarator"), init.child_by_field_name("value")
            if after is None or name_node is None or name_node.type != "identifier" or init_value is None \
                    or init_value.type == "initializer_list":
                return None
            read = f"(({spelled})({node_text(init_value)}))"
            after = re.sub(rf"(?<![\w.>:])\b{re.escape(node_text(name_node))}\b", read.replace("\\", r"\\"), after)
        return after if after is not None and len(after) <= _HELPER_TEXT_LIMIT else None
    return None


def _local_names(stmts: list[tree_sitter.Node]) -> list[str]:
    out = []
    for s in stmts:
        if s.type == "declaration":
            for d in s.children_by_field_name("declarator"):
                n = d.child_by_field_name("declarator") if d.type == "init_declarator" else d
                if n is not None:
                    out.append(node_text(n))
    return out


def read_local_typedefs(root: tree_sitter.Node, source: bytes, path: str, language: Language) -> tuple[LocalTypedef, ...]:
    """The typedefs (and C++ `using T = …;`) declared inside blocks of the file, in file order."""
    out: list[LocalTypedef] = []
    for start, end in words(source, (b"typedef", b"using")):
        keyword = root.descendant_for_byte_range(start, end)
        node = keyword.parent if keyword is not None and keyword.type in ("typedef", "using") else None
        if node is None or node.type not in ("type_definition", "alias_declaration"):
            continue  # a comment, a string, a macro body, `using namespace`
        block = node.parent
        if block is None or block.type != "compound_statement":
            continue  # file scope (FileContext.typedefs) or a class body
        b = DeclarationReader(language, (), {})
        if node.type == "type_definition":
            b._typedef(node, path)
        else:
            name, tdesc = node_text(node.child_by_field_name("name")), node.child_by_field_name("type")
            if not name or tdesc is None:
                continue
            b._add_typedef_from(name, tdesc, node, path)
        for d in b.decls:
            if d.kind == "typedef":
                for name in d.names:
                    td = b.typedefs.get(name)
                    if td is not None and not td.extents:  # `typedef float row[n];` may name a local: not a file type
                        out.append(LocalTypedef(node.end_byte, block.end_byte, td, d))
    return tuple(out)


_CONTAINERS = frozenset({"linkage_specification", "namespace_definition", "declaration_list", "ERROR"})

_RECORD_TYPES = {"struct_specifier": "struct", "class_specifier": "class", "union_specifier": "union"}

# (resolved path, sha256 of its text, language) -> the header's text, its tree and that sha256
_header_cache: dict[tuple[str, str, str], tuple[bytes, tree_sitter.Tree, str]] = {}


def node_text(node: tree_sitter.Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


@dataclass
class _Declarator:
    name: str = ""
    pointer: int = 0
    extents: list[str] = field(default_factory=list)
    restrict: bool = False
    const_pointer: bool = False
    volatile_pointer: bool = False
    reference: bool = False
    function: bool = False
    init: str = ""


def _unwrap(node: tree_sitter.Node | None) -> _Declarator:
    d = _Declarator()
    for _ in range(64):
        if node is None:
            break
        t = node.type
        if t == "init_declarator":
            d.init = node_text(node.child_by_field_name("value"))
            node = node.child_by_field_name("declarator")
        elif t in ("pointer_declarator", "abstract_pointer_declarator"):
            d.pointer += 1
            for c in node.children:
                if c.type == "type_qualifier":
                    q = node_text(c)
                    d.restrict |= "restrict" in q
                    d.const_pointer |= q == "const"
                    d.volatile_pointer |= q == "volatile"
            node = node.child_by_field_name("declarator")
        elif t == "reference_declarator":
            d.reference = True
            node = node.named_child(0) if node.named_child_count else None
        elif t == "array_declarator":
            d.extents.insert(0, node_text(node.child_by_field_name("size")))
            node = node.child_by_field_name("declarator")
        elif t in ("function_declarator", "abstract_function_declarator"):
            d.function = True
            node = node.child_by_field_name("declarator")
        elif t in ("parenthesized_declarator", "attributed_declarator"):
            node = node.named_child(0) if node.named_child_count else None
        else:
            d.name = node_text(node)
            break
    return d


class DeclarationReader:
    def __init__(self, language: Language, include_dirs: tuple[Path, ...], defines: dict[str, str]) -> None:
        self.language = language
        self.include_dirs = include_dirs
        self.includes: list[str] = []
        self.headers: list[str] = []
        self.header_hashes: list[str] = []  # sha256 of each of `headers`' text as it was read
        self.macros: dict[str, str] = dict(defines)
        self.function_macros: dict[str, str] = {}
        self.helper_functions: dict[str, HelperFunction] = {}  # see _helper_function: expressions only, never `defined()`
        self._defined: set[str] = set()  # every function defined: a second definition is an overload
        self.typedefs: dict[str, Typedef] = {}
        self.structs: dict[str, StructDef] = {}
        self.enums: dict[str, str] = {}
        self.enum_constants: dict[str, str] = {}
        self.globals: dict[str, VarDecl] = {}
        self.decls: list[Declaration] = [Declaration("macro", (k,), f"#define {k} {v}".rstrip(), "-D")
                                         for k, v in defines.items()]
        self.notes: list[str] = []
        self.unread: list[str] = []  # includes that may define macros but were not read (see `unread_includes`)
        self.visited: set[str] = set()
        self.predefined = file_context.predefined_macros(language)
        self._anon = 0

    # A throwaway context for evaluating `#if` conditions against the macros seen so far.
    def _pp_context(self) -> file_context.FileContext:
        macros = ChainMap(self.macros, self.predefined)  # a view, not a copy: headers have many #ifs
        return file_context.FileContext("", self.language, macros=macros, function_macros=self.function_macros,
                                        typedefs=self.typedefs, enums=self.enums)

    def visit_file(self, root: tree_sitter.Node, source: bytes, path: str, here: Path, depth: int, top: bool) -> None:
        self._visit_children(root, path, here, depth, top)

    def _visit_children(self, node: tree_sitter.Node, path: str, here: Path, depth: int, top: bool) -> None:
        for child in node.named_children:
            self._visit(child, path, here, depth, top)

    def _visit(self, node: tree_sitter.Node, path: str, here: Path, depth: int, top: bool) -> None:
        t = node.type
        if t == "function_definition":
            self._helper_function(node)
            return
        if t == "comment":
            return
        if t == "preproc_include":
            self._include(node, path, here, depth, top)
        elif t == "preproc_def":
            name = node_text(node.child_by_field_name("name"))
            value = node_text(node.child_by_field_name("value")).strip()
            if "//" in value or "/*" in value:  # a trailing comment must not travel with the value
                value = " ".join(tokenize(value))
            if name:
                self.macros[name] = value
                self.function_macros.pop(name, None)
                self._forget_macro(name)  # a redefinition replaces the old text in preambles
                self.decls.append(Declaration("macro", (name,), node_text(node).rstrip(), path))
        elif t == "preproc_function_def":
            name = node_text(node.child_by_field_name("name"))
            if name:
                self.function_macros[name] = node_text(node).rstrip()
                self.macros.pop(name, None)
                self._forget_macro(name)
                self.decls.append(Declaration("macro", (name,), node_text(node).rstrip(), path))
        elif t == "preproc_call":
            if node_text(node.child_by_field_name("directive")).strip() == "#undef":
                name = node_text(node.child_by_field_name("argument")).strip()
                self.macros.pop(name, None)
                self.function_macros.pop(name, None)
                self._forget_macro(name)
        elif t in ("preproc_if", "preproc_ifdef", "preproc_elif", "preproc_elifdef"):
            self._conditional(node, path, here, depth, top)
        elif t == "preproc_else":
            self._visit_children(node, path, here, depth, top)
        elif t == "type_definition":
            self._typedef(node, path)
        elif t == "alias_declaration":
            name = node_text(node.child_by_field_name("name"))
            tdesc = node.child_by_field_name("type")
            if name and tdesc is not None:
                self._add_typedef_from(name, tdesc, node, path)
        elif t == "declaration":
            self._declaration(node, path)
        elif t in _RECORD_TYPES or t == "enum_specifier":
            self._specifier(node, path, standalone=True)
        elif t == "template_declaration":
            self._helper_template(node, path)
        elif t in _CONTAINERS:
            body = node.child_by_field_name("body")
            self._visit_children(body if body is not None else node, path, here, depth, top)

    def _helper_function(self, node: tree_sitter.Node, type_params: tuple[str, ...] = ()) -> None:
        """`static inline int clamp(int v, int lo, int hi) { return ...; }`, C++ `inline` ones in a namespace,
        with default arguments, and function templates deducing their types from their parameters (the
        image and DSP libraries' `Average`, `RestrictRange`, `Max<T>`): see `HelperFunction`. A name defined
        twice (C++ overloads) is nobody's helper: the call would need overload resolution."""
        decl, body, rtype = (node.child_by_field_name(f) for f in ("declarator", "body", "type"))
        inner = decl
        while inner is not None and inner.type in ("pointer_declarator", "reference_declarator"):
            inner = inner.child_by_field_name("declarator") or inner.named_child(0)
        if inner is None or inner.type != "function_declarator":
            return
        name = node_text(inner.child_by_field_name("declarator"))
        if name in self._defined:
            self.helper_functions.pop(name, None)
            return
        self._defined.add(name)
        if inner is not decl or body is None or rtype is None:
            return
        returns = self._return_type(node, rtype)
        if returns is None:
            return
        plist = decl.child_by_field_name("parameters")
        returned = _returned_value(body.named_children, f"(({returns})(%s))")
        if (plist is None or not re.fullmatch(r"[A-Za-z_]\w*", name) or name in self.macros
                or name in self.function_macros or returned is None):
            return
        params: list[tuple[str, str]] = []
        defaults: list[str] = []
        for p in plist.named_children:
            pdecl, ptype = p.child_by_field_name("declarator"), p.child_by_field_name("type")
            qualifiers = [node_text(c) for c in p.children if c.type == "type_qualifier"]
            if pdecl is not None and pdecl.type == "reference_declarator" and "const" in qualifiers:
                pdecl = pdecl.named_child(0)  # `const T &x`: read only, the value itself
            if (p.type not in ("parameter_declaration", "optional_parameter_declaration") or pdecl is None
                    or pdecl.type != "identifier" or ptype is None):
                return  # pointers, arrays, `void`, variadic, non-const references: not an expression helper
            default = p.child_by_field_name("default_value")
            if default is not None:
                defaults.append(node_text(default))
            elif defaults:
                return  # a parameter without a default after one with: not valid C++
            params.append((node_text(pdecl), " ".join([*qualifiers, node_text(ptype)])))
        deduced: list[tuple[str, int]] = []
        for t in type_params:
            at = [(t, k) for k, (_, spelled) in enumerate(params) if re.sub(r"\bconst\b", "", spelled).strip() == t]
            if not at:
                return  # a template parameter not deduced from a by-value parameter: `Max<int>(...)` is not read
            deduced += at
        expr = returned
        for pname, spelled in params:
            expr = re.sub(rf"(?<![\w.>:])\b{re.escape(pname)}\b", f"(({spelled.strip()})({pname}))", expr)
        define = f"#define {name}({', '.join(p for p, _ in params)}) ({expr})"
        self.helper_functions[name] = HelperFunction(define, len(params), tuple(defaults), tuple(deduced))

    def _return_type(self, node: tree_sitter.Node, rtype: tree_sitter.Node) -> str | None:
        """The helper's return type as written. `static FORCE_INLINE uint8_t f(int a)`, with FORCE_INLINE a
        macro of specifiers (`inline __attribute__((always_inline))`), parses as the type FORCE_INLINE and
        a stray `uint8_t`: the stray name is the type. None when the declaration has other errors."""
        stray = [c for c in node.children if c.type == "ERROR"]
        if not stray:
            return node_text(rtype)
        words = _SPECIFIER_MACRO.sub(" ", self.macros.get(node_text(rtype), "?")).split()
        kids = stray[0].named_children
        if len(stray) != 1 or words or len(kids) != 1 or kids[0].type not in ("identifier", "type_identifier"):
            return None
        return node_text(kids[0])

    def _helper_template(self, node: tree_sitter.Node, path: str) -> None:
        """`template <class T> T Max(T a, T b) { return a > b ? a : b; }`: a helper whose types come from the call;
        `template <typename T> struct Tensor { T *data; … }`: its members, for loops in its methods (their
        types are the template's parameters, bound where the loop is read: `templates`)."""
        plist, inner = node.child_by_field_name("parameters"), node.named_children[-1] if node.named_children else None
        if inner is not None and inner.type in ("struct_specifier", "class_specifier") and plist is not None:
            self._specifier(inner, path, standalone=False)
            return
        if plist is None or inner is None or inner.type != "function_definition":
            return
        names = []
        for p in plist.named_children:
            ids = [c for c in p.named_children if c.type == "type_identifier"]
            if p.type != "type_parameter_declaration" or len(ids) != 1:
                return  # non-type parameters, defaults, packs
            names.append(node_text(ids[0]))
        self._helper_function(inner, tuple(names))

    def _forget_macro(self, name: str) -> None:
        if any(d.kind == "macro" and d.names == (name,) for d in self.decls):
            self.decls = [d for d in self.decls if not (d.kind == "macro" and d.names == (name,))]

    def _conditional(self, node: tree_sitter.Node, path: str, here: Path, depth: int, top: bool) -> None:
        t = node.type
        taken: bool | None
        if t in ("preproc_ifdef", "preproc_elifdef"):
            name = node_text(node.child_by_field_name("name"))
            directive = node_text(node.child(0) if node.child_count else None).strip()
            defined = name in self.macros or name in self.function_macros or name in self.predefined
            taken = not defined if directive.endswith("ndef") else defined
        else:
            cond = node_text(node.child_by_field_name("condition"))
            v = self._pp_context()._eval(cond, frozenset(), preprocessor=True)
            taken = None if v is None else bool(v)  # None: cannot tell; follow the first branch
        skip = {"name", "condition", "alternative"}
        if taken is None or taken:
            for i, child in enumerate(node.children):
                if not child.is_named or node.field_name_for_child(i) in skip:
                    continue
                self._visit(child, path, here, depth, top)
            return
        alternative = node.child_by_field_name("alternative")
        if alternative is not None:
            self._visit(alternative, path, here, depth, top)

    def _include(self, node: tree_sitter.Node, path: str, here: Path, depth: int, top: bool) -> None:
        line = node_text(node).strip()
        if top:
            self.includes.append(line)
        target = node.child_by_field_name("path")
        if target is None:
            self.unread.append(line)  # `#include MACRO`
            return
        raw = node_text(target)
        quoted = target.type == "string_literal"
        name = raw.strip('"<>')
        if not name:
            return
        dirs = ([here] if quoted else []) + list(self.include_dirs)
        found = next((d / name for d in dirs if is_regular_file(d / name)), None)  # never a FIFO or /proc file
        if found is None:
            self.unread.append(name)  # even <limits.h>: its macros (CHAR_BIT) are not known here
            return  # system headers and missing headers are fine: the compiler will tell
        real = str(found.resolve())
        if real in self.visited:
            return
        if depth + 1 > MAX_INCLUDE_DEPTH:
            self.notes.append(f"{name}: includes nested deeper than {MAX_INCLUDE_DEPTH}; not read")
            return
        if len(self.visited) >= MAX_HEADERS:
            self.notes.append(f"{name}: more than {MAX_HEADERS} local headers; not read")
            return
        self.visited.add(real)
        try:
            st = found.stat()
            if st.st_size > MAX_HEADER_BYTES:
                self.notes.append(f"{name}: larger than {MAX_HEADER_BYTES // 1024} KB; not read")
                return
            # Keyed by the text, not the mtime: an edit within the clock's tick (a few ms) keeps both mtime and size
            data = read_workspace_file(real, MAX_HEADER_BYTES)
            digest = hashlib.sha256(data).hexdigest()
            key = (real, digest, self.language)
            cached = _header_cache.get(key)
            if cached is None:
                problem = check_source(data[:MAX_SOURCE_BYTES], real)
                if problem:
                    self.notes.append(f"{name}: {problem}; not read")
                    return
                cached = (data, parse(data, self.language), digest)
                # Headers are re-read on every build (the server rebuilds on edits): keep a bounded cache.
                if len(_header_cache) >= 128 or sum(len(v[0]) for v in _header_cache.values()) > 16 * 1024 * 1024:
                    _header_cache.clear()
                _header_cache[key] = cached
        except UnreadableFile as e:
            self.notes.append(f"{name}: {e}")
            return
        except OSError as e:
            self.notes.append(f"{name}: cannot read ({e.strerror or e}); not read")
            return
        self.headers.append(real)
        self.header_hashes.append(cached[2])
        self.visit_file(cached[1].root_node, cached[0], real, found.parent, depth + 1, top=False)


    def _qualifiers(self, node: tree_sitter.Node) -> tuple[bool, bool, bool, bool, bool]:
        const = volatile = atomic = static = extern = False
        for c in node.children:
            if c.type == "type_qualifier":
                q = node_text(c)
                const |= q == "const" or q == "constexpr"
                volatile |= q == "volatile"
                atomic |= q == "_Atomic"
            elif c.type == "storage_class_specifier":
                s = node_text(c)
                static |= s == "static"
                extern |= s == "extern"
        return const, volatile, atomic, static, extern

    def _type_text(self, type_node: tree_sitter.Node | None, path: str, outer: tree_sitter.Node) -> str:
        """Base type text; registers struct/enum bodies met on the way ("struct pt")."""
        if type_node is None:
            return ""
        if type_node.type in _RECORD_TYPES or type_node.type == "enum_specifier":
            return self._specifier(type_node, path, standalone=False, outer=outer)
        return " ".join(node_text(type_node).split())

    def _typedef(self, node: tree_sitter.Node, path: str) -> None:
        type_node = node.child_by_field_name("type")
        const, volatile, _atomic, _s, _e = self._qualifiers(node)
        target = self._type_text(type_node, path, node)
        names = []
        for decl in node.children_by_field_name("declarator"):
            d = _unwrap(decl)
            if not d.name:
                continue
            if d.name in ("_Complex", "complex"):  # `typedef float _Complex cf_t;` is read as declaring `_Complex`
                m = re.search(r"(\w+)\s*;?\s*$", node_text(node).strip())
                if m is None or m.group(1) in ("_Complex", "complex"):
                    continue
                d = replace(d, name=m.group(1))
            names.append(d.name)
            self.typedefs[d.name] = Typedef(
                d.name, target, d.pointer, tuple(d.extents), const, volatile, d.restrict, d.function,
                node_text(node).strip(),
            )
            # `typedef struct {…} vec2;` – the struct is known by its typedef name too.
            rec = self.struct_named(target)
            if rec is not None and d.pointer == 0 and not d.extents:
                self.structs.setdefault(d.name, rec)
        if names:
            self.decls.append(Declaration("typedef", tuple(names) + self._tag_names(type_node), node_text(node).strip(), path))

    def _add_typedef_from(self, name: str, tdesc: tree_sitter.Node, node: tree_sitter.Node, path: str) -> None:
        type_node = tdesc.child_by_field_name("type")
        const, volatile, _a, _s, _e = self._qualifiers(tdesc)
        target = self._type_text(type_node, path, node)
        d = _unwrap(tdesc.child_by_field_name("declarator"))
        self.typedefs[name] = Typedef(name, target, d.pointer, tuple(d.extents), const, volatile, d.restrict,
                                      d.function, node_text(node).strip())
        rec = self.struct_named(target)
        if rec is not None and d.pointer == 0:
            self.structs.setdefault(name, rec)
        self.decls.append(Declaration("typedef", (name,), node_text(node).strip(), path))

    def struct_named(self, target: str) -> StructDef | None:
        """The struct a base type text ("struct pt", "struct <anonymous struct 1>") names, if known."""
        kind, _, name = target.partition(" ")
        return self.structs.get(name) if kind in ("struct", "class", "union") else None

    def _tag_names(self, type_node: tree_sitter.Node | None) -> tuple[str, ...]:
        if type_node is None or (type_node.type not in _RECORD_TYPES and type_node.type != "enum_specifier"):
            return ()
        names = [node_text(type_node.child_by_field_name("name"))]
        body = type_node.child_by_field_name("body")
        if type_node.type == "enum_specifier" and body is not None:
            names += [node_text(e.child_by_field_name("name")) for e in body.named_children if e.type == "enumerator"]
        return tuple(n for n in names if n)

    def _specifier(self, node: tree_sitter.Node, path: str, standalone: bool,
                   outer: tree_sitter.Node | None = None) -> str:
        """Register a struct/class/union/enum specifier; returns the type text naming it."""
        kind = _RECORD_TYPES.get(node.type, "enum")
        name = node_text(node.child_by_field_name("name"))
        body = node.child_by_field_name("body")
        if body is None:
            return f"{kind} {name}".strip()
        if not name:
            self._anon += 1
            name = f"<anonymous {kind} {self._anon}>"
        if kind == "enum":
            base = node.child_by_field_name("underlying_type") or node.child_by_field_name("base")
            self.enums[name] = node_text(base) or "int"
            prev: str | None = None
            for e in body.named_children:
                if e.type != "enumerator":
                    continue
                ename = node_text(e.child_by_field_name("name"))
                value = node_text(e.child_by_field_name("value"))
                if not ename:
                    continue
                expr = value if value else (f"({prev}) + 1" if prev else "0")
                self.enum_constants[ename] = expr
                prev = ename
        else:
            fields: list[VarDecl] = []
            for f in body.named_children:
                if f.type != "field_declaration":
                    continue
                fields.extend(self._vars(f, path))
            self.structs[name] = StructDef(name, kind, tuple(fields), node_text(node))
        if standalone or (outer is not None and outer.type == "declaration"):
            self.decls.append(Declaration("enum" if kind == "enum" else "struct", self._tag_names(node),
                                          node_text(node).strip() + ";", path))
        return f"{kind} {name}"

    def _vars(self, node: tree_sitter.Node, path: str) -> list[VarDecl]:
        type_node = node.child_by_field_name("type")
        const, volatile, atomic, static, extern = self._qualifiers(node)
        base = self._type_text(type_node, path, node)
        text = node_text(node).strip()
        out = []
        for decl in node.children_by_field_name("declarator"):
            d = _unwrap(decl)
            if not d.name or d.function:
                continue
            init = d.init or node_text(node.child_by_field_name("default_value"))  # C++ `int k = 3;` member
            out.append(VarDecl(
                d.name, base, d.pointer, tuple(d.extents), const, volatile or d.volatile_pointer, d.restrict, atomic,
                static, extern, d.reference, init, text,
            ))
        return out

    def _declaration(self, node: tree_sitter.Node, path: str) -> None:
        vs = self._vars(node, path)
        for v in vs:
            self.globals[v.name] = v
        if vs:
            self.decls.append(Declaration("global", tuple(v.name for v in vs), node_text(node).strip(), path))
