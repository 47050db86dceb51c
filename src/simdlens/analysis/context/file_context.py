"""`FileContext`: the types, macros, structs and globals visible to the loops of one file, and the
queries the analysis asks of them (canonical types, qualifiers, constant values, kernel preambles),
answered from clang's facts first when they are attached.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import ChainMap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tree_sitter

from simdlens.analysis.context import reader
from simdlens.analysis.context.constants import ConstantEvaluator, NotConstant
from simdlens.analysis.context.records import (
    MAX_MACRO_DEPTH,
    MAX_TYPEDEF_CHAIN,
    Declaration,
    HelperFunction,
    LocalTypedef,
    StructDef,
    Typedef,
    VarDecl,
)
from simdlens.analysis.context.spellings import (
    BUILTIN_WORDS,
    COMPLEX_WORD,
    NAMED_TYPES,
    QUALIFIERS,
    SPELLING_TOKEN,
    builtin_type,
    declaration_text,
    spelling_words,
)
from simdlens.analysis.context.templates import TemplateScope, bind, read_templates
from simdlens.analysis.ir import CType
from simdlens.analysis.parse import parse, tokenize
from simdlens.core import Language, Reason

_CLANG_ANSWERS = frozenset({"unknown_type", "unknown_identifier", "macro", "syntax_error"})

_QUOTED_TYPE = re.compile(r"unknown (?:\w+ )?type '([^']+)'")


def annotate_reasons(reasons: tuple[Reason, ...], ctx: Any) -> tuple[Reason, ...]:
    """`reasons` saying what an unknown type really is ("cf32_t is the complex type _Complex float"),
    plus, when clang's facts were not used, one reason saying so: the reader that answered instead may
    be the cause (a macro it cannot expand, a type it cannot see)."""
    if not reasons or ctx is None or not hasattr(ctx, "explain_type"):
        return reasons
    out: list[Reason] = []
    for r in reasons:
        m = _QUOTED_TYPE.search(r.message) if r.code in ("unknown_type", "long_double") else None
        why = ctx.explain_type(m.group(1)) if m is not None else ""
        if why:
            code = "complex_type" if " complex type " in why else r.code
            r = Reason(code, f"{r.message.replace('unknown ', '', 1)}: {why}", r.span)
        out.append(r)
    note = ctx.semantic_note
    if note and any(r.code in _CLANG_ANSWERS for r in out) and not any(r.code == "semantic_facts" for r in out):
        out.append(Reason("semantic_facts", note, out[0].span))
    return tuple(out)


def predefined_macros(language: Language) -> dict[str, str]:
    """Macros gcc predefines on x86-64 Linux that matter for `#if` in headers (not ISA ones: those
    depend on flags)."""
    common = {"__STDC__": "1", "__x86_64__": "1", "__linux__": "1", "__GNUC__": "12", "__LP64__": "1",
              "__CHAR_BIT__": "8", "__SIZEOF_INT__": "4", "__SIZEOF_LONG__": "8", "__SIZEOF_POINTER__": "8",
              "__ORDER_LITTLE_ENDIAN__": "1234", "__BYTE_ORDER__": "1234"}
    if language == "cpp":
        common["__cplusplus"] = "201703L"
    else:
        common["__STDC_VERSION__"] = "201710L"
    return common


@dataclass(frozen=True, eq=False)
class FileContext:
    """Types, macros, structs and globals visible to the loops of one file (see the module doc)."""

    path: str
    language: Language
    includes: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()  # local headers that were read (resolved paths)
    # sha256 of the local headers' paths and texts as read ("" without any): a kernel compiled after
    # `#include "x.h"` means something else when x.h changes, so its content hash includes this
    header_digest: str = ""
    macros: Mapping[str, str] = field(default_factory=dict)
    function_macros: Mapping[str, str] = field(default_factory=dict)  # name -> the whole `#define` line
    # one-`return` helper functions, read like function-like macros in expressions (never in `#if`)
    helper_functions: Mapping[str, HelperFunction] = field(default_factory=dict)
    typedefs: Mapping[str, Typedef] = field(default_factory=dict)
    structs: Mapping[str, StructDef] = field(default_factory=dict)
    enums: Mapping[str, str] = field(default_factory=dict)  # enum type name -> underlying type spelling
    enum_constants: Mapping[str, str] = field(default_factory=dict)  # enumerator -> value expression
    globals: Mapping[str, VarDecl] = field(default_factory=dict)
    declarations: tuple[Declaration, ...] = ()
    defines: Mapping[str, str] = field(default_factory=dict)  # the -D defines given to build()
    notes: tuple[str, ...] = ()  # one line per header that could not be used
    local_typedefs: tuple[LocalTypedef, ...] = ()  # typedefs in function bodies, by scope (see `at`)
    templates: tuple[TemplateScope, ...] = ()  # template declarations and their bindings (see `at`)
    # Headers that were not found or not read (system ones too: <limits.h> defines CHAR_BIT): macros
    # simdlens cannot see may come from them, so a macro it does not know is not known to be undefined.
    unread_includes: tuple[str, ...] = ()
    # True when `defines` are all the build's -D flags for this file (its compile database entry, no
    # `-include`/`-imacros`); otherwise any macro could come from a flag simdlens was not told about.
    defines_complete: bool = False
    # clang's semantic facts of the file (`analysis.clang_facts.SemanticFacts`), None when not (yet)
    # known: types, macro expansions and declarations are then read by the hand-written code below.
    facts: Any = field(default=None, compare=False, repr=False)
    # Why there are no facts ("" = not asked for), or why they are an earlier version's. Private: two
    # contexts that differ only in this declare the same things (the server's `same_context`).
    _facts_problem: str = field(default="", compare=False)
    _plain: FileContext | None = field(default=None, compare=False, repr=False)  # before the facts were attached
    _values: dict[str, int | None] = field(default_factory=dict, repr=False)
    _scoped: dict[tuple[int, ...], FileContext] = field(default_factory=dict, repr=False)


    @classmethod
    def build(
        cls,
        source: bytes,
        path: str,
        language: Language,
        tree: tree_sitter.Tree | None = None,
        include_dirs: Iterable[str | os.PathLike[str]] = (),
        defines: Mapping[str, str] | None = None,
        defines_complete: bool = False,
    ) -> FileContext:
        """Collect the context of `source` (already parsed as `tree` if given). `defines` are `-D`
        macros (pass "1" for a bare `-DNAME`); `defines_complete` says they are all of them (the file's
        compile database entry). Never raises: unreadable headers become `notes`."""
        defines = dict(defines or {})
        b = reader.DeclarationReader(language, tuple(Path(d) for d in include_dirs), defines)
        if tree is None:
            tree = parse(source, language)
        here = Path(path).resolve().parent if path else Path.cwd()
        b.visit_file(tree.root_node, source, path, here, depth=0, top=True)
        return cls(
            path=path, language=language, includes=tuple(b.includes), headers=tuple(b.headers),
            header_digest=_header_digest(b.headers, b.header_hashes),
            macros=b.macros, function_macros=b.function_macros, helper_functions=b.helper_functions,
            typedefs=b.typedefs, structs=b.structs,
            enums=b.enums, enum_constants=b.enum_constants, globals=b.globals, declarations=tuple(b.decls),
            defines=defines, notes=tuple(b.notes),
            local_typedefs=reader.read_local_typedefs(tree.root_node, source, path, language),
            templates=read_templates(tree.root_node, source) if language == "cpp" else (),
            unread_includes=tuple(dict.fromkeys(b.unread)), defines_complete=defines_complete,
        )

    def with_facts(self, facts: Any) -> FileContext:
        """This context answered from clang's facts first (`clang_facts.SemanticFacts`; None or facts
        with `ok` False give `self` back): canonical types, macro expansions and values, declarations
        written through macros. Object-like macros take clang's full expansion (`#define N LB(100, n)`
        reads "(100)" or "(n)" as this build expands it)."""
        plain = self._plain if self._plain is not None else self
        if facts is None or not getattr(facts, "ok", False):
            return replace(plain, facts=None, _facts_problem=getattr(facts, "problem", "") or "not computed",
                           _values={}, _scoped={}, _plain=None)
        macros = dict(plain.macros)
        function_macros = dict(plain.function_macros)
        for name, m in facts.macros.items():
            if m.expansion:
                macros[name] = m.expansion
                function_macros.pop(name, None)
        templates = bind(plain.templates, facts)  # clang's instantiations, deduced and implicit ones too
        return replace(plain, macros=macros, function_macros=function_macros, facts=facts, _facts_problem="",
                       templates=templates, _values={}, _scoped={}, _plain=plain)

    def with_earlier_facts(self, earlier: FileContext) -> FileContext:
        """This context (of an edited text) with the facts of `earlier` (the text before the edit) while
        its own are computed: only when the edit changed no declaration simdlens reads (then clang's
        macros and typedefs are still right), and without relying on their positions, which moved
        (declarations are matched by function, a macro use only where its text still is). `self`
        otherwise."""
        facts = earlier.facts
        if facts is None or self.facts is not None or earlier._plain is None:
            return self
        plain = earlier._plain
        mine = self._plain if self._plain is not None else self
        if any(getattr(plain, f) != getattr(mine, f) for f in ("macros", "function_macros", "typedefs", "structs",
                                                               "enums", "enum_constants", "globals", "defines")):
            return self
        ctx = self.with_facts(facts)  # declarations are then matched by function, macro uses by their text
        # instantiations are matched by position, which moved: the templates keep this text's own reading
        return replace(ctx, templates=mine.templates, _facts_problem="an earlier version's (this version's are being "
                       "computed)")

    @property
    def semantic_note(self) -> str:
        """One line for reasons: where this context's types come from when clang's facts are missing
        or are an earlier version's ("" when they are this text's)."""
        if self.facts is not None:
            return f"semantic facts: {self._facts_problem}" if self._facts_problem else ""
        return f"semantic facts: {self._facts_problem or 'not computed'}; types read by simdlens's own reader"

    def at(self, byte: int) -> FileContext:
        """This context as seen from `byte` of the file: with the typedefs that the enclosing function
        (or block) declared before it, `typedef double dd;` in a function body, and inside a function
        template its binding (`typedef float T;`, `N` = 64: see `templates`). `self` when there are
        none; the same object for every position that sees the same typedefs."""
        visible = tuple(k for k, lt in enumerate(self.local_typedefs) if lt.start <= byte < lt.end)
        bound = self.template_at(byte)
        if bound is not None and bound.problem:
            bound = None
        if not visible and bound is None:
            return self
        key = (*visible, -1 - self.templates.index(bound)) if bound is not None else visible
        scoped = self._scoped.get(key)
        if scoped is None:
            # file order: an inner block's typedef wins over an outer one of the same name
            in_body = {lt.typedef.name: lt for lt in [self.local_typedefs[k] for k in visible]}
            local = tuple(dict.fromkeys(lt.declaration for lt in in_body.values()))
            innermost = {n: lt.typedef for n, lt in in_body.items()}
            constants: dict[str, str] = {}
            if bound is not None:  # the template's parameters, before the typedefs of its body (they may use them)
                for (name, kind), arg in zip(bound.params, bound.args, strict=True):
                    if kind:
                        constants[name] = f"({arg})"
                    else:
                        innermost.setdefault(name, Typedef(name, arg, text=f"typedef {arg} {name};"))
                local = tuple(Declaration("typedef" if not kind else "global", (name,), text, self.path)
                              for (name, kind), text in zip(bound.params, bound.declarations(), strict=True)) + local
            # A shadowed file-level declaration must not reach a kernel preamble: gcc rejects both.
            hidden = innermost.keys() | constants.keys()
            kept = tuple(d for d in self.declarations if (d.kind == "macro" and not constants.keys() & set(d.names))
                         or not hidden & set(d.names))
            scoped = replace(self, typedefs=ChainMap(innermost, dict(self.typedefs)),
                             macros=ChainMap(constants, dict(self.macros)) if constants else self.macros,
                             declarations=kept + local, local_typedefs=(), templates=(), _values={}, _scoped={})
            self._scoped[key] = scoped
        return scoped

    def template_at(self, byte: int) -> TemplateScope | None:
        """The innermost template declaration holding `byte` (a member template of a class template
        binds the class's parameters too), or None outside templates."""
        inside = [t for t in self.templates if t.start <= byte < t.end]
        return inside[-1] if inside else None


    def resolve_type(self, spelling: str) -> CType | None:
        """The canonical scalar type of `spelling`, or None (pointer, struct, template, `long double`,
        unknown name). Qualifiers and storage classes are ignored; typedef chains are followed."""
        fact = self.type_fact(spelling)
        if fact is not None:
            if not fact.is_scalar:
                return None  # complex, long double, struct, vector, pointer: not a scalar element
            shown = " ".join(w for w in SPELLING_TOKEN.findall(spelling) if w not in QUALIFIERS)
            return CType(fact.scalar, shown)
        try:
            return self._resolve(spelling, 0)
        except RecursionError:  # pragma: no cover - depth is bounded; belt and braces
            return None

    def type_fact(self, spelling: str) -> Any:
        """clang's `TypeFact` for a type spelling that is one name (a typedef, a type macro), with
        qualifiers; None without facts or for other spellings (builtins are read directly)."""
        facts = self.facts
        if facts is None:
            return None
        words = [w for w in SPELLING_TOKEN.findall(spelling) if w not in QUALIFIERS]
        if len(words) == 2 and words[0] in ("struct", "union", "enum", "class"):
            words = words[1:]
        if len(words) != 1 or words[0] in BUILTIN_WORDS:
            return None
        word = words[0]
        if isinstance(self.typedefs, ChainMap) and word in self.typedefs.maps[0]:
            return None  # a typedef of the enclosing function's body (`at`): clang's facts are file-level
        m = facts.macros.get(word)
        if m is not None and m.type is not None:
            return m.type
        return facts.typedefs.get(word)

    def complex_type(self, spelling: str) -> CType | None:
        """For a complex type (`float complex`, `_Complex double`, `std::complex<float>`, a typedef or
        macro of one, whatever its name): a `CType` of its parts with `is_complex` set; None otherwise."""
        fact = self.type_fact(spelling)
        if fact is not None:
            return CType(fact.scalar, spelling.strip(), is_complex=True) if fact.is_complex and fact.scalar else None
        words = [w for w in SPELLING_TOKEN.findall(spelling) if w not in QUALIFIERS]
        for _ in range(MAX_TYPEDEF_CHAIN):  # without facts: the spelling or its typedef chain says complex
            if any(w in ("complex", "_Complex") for w in words):
                base = [w for w in words if w not in ("complex", "_Complex", "std", "::", "<", ">")]
                name = builtin_type(base) if base and all(w in BUILTIN_WORDS for w in base) else None
                return CType(name, spelling.strip(), is_complex=True) if name in ("float", "double") else None
            if len(words) != 1 or words[0] not in self.typedefs:
                return None
            td = self.typedefs[words[0]]
            words = [w for w in SPELLING_TOKEN.findall(td.text or td.target) if w not in QUALIFIERS
                     and w not in ("typedef", td.name, ";")]
        return None

    def explain_type(self, spelling: str) -> str:
        """Why `spelling` is not a scalar simdlens vectorizes, naming what it really is ("cf32_t is the
        complex type _Complex float"); "" when there is nothing more to say than "unknown"."""
        c = self.complex_type(spelling)
        if c is not None:
            canonical = getattr(self.type_fact(spelling), "canonical", "") or f"{c.name} complex"
            return f"{spelling.strip()} is the complex type {canonical}: complex arithmetic is not vectorized"
        fact = self.type_fact(spelling)
        if fact is None:
            return ""
        what = {"long_double": "long double (x87, no SIMD lanes)", "struct": "a struct", "union": "a union",
                "vector": "a vector type", "pointer": "a pointer", "array": "an array", "function": "a function type"}
        if fact.kind in what:
            canonical = f" ({fact.canonical})" if fact.kind in ("struct", "union", "vector") else ""
            return f"{spelling.strip()} is {what[fact.kind]}{canonical}"
        return ""

    def declaration(self, name: str, byte: int, function: str = "") -> VarDecl | None:
        """A variable visible at `byte` (in `function`) as clang declares it, for declarations simdlens's
        reader cannot read (parameters written through a macro: `REAL VEC(x, N)`); None without facts.
        With an earlier version's facts, whose positions moved, a parameter is matched by its function."""
        v = self._var_fact(name, byte, function)
        if v is None:
            return None
        element = " ".join(w for w in SPELLING_TOKEN.findall(v.element.spelling) if w not in QUALIFIERS)
        pointer = sum(1 for d in v.dims if d == "*")
        extents = tuple(d for d in v.dims if d != "*")
        decl_text = declaration_text(v, element)
        return VarDecl(name, element, pointer, extents, v.element.const, v.element.volatile, v.restrict,
                       static=False, extern=False, text=decl_text, param=v.role == "param")

    def element_layout(self, name: str, byte: int, function: str = "") -> tuple[str, str, Any] | None:
        """For a pointer to, array of or C++ container of records visible at `byte`: (the element's
        spelling, its kind as clang says it, "struct" or "union", clang's `RecordLayout` of a struct or
        None); None when clang has no facts for the variable."""
        v = self._var_fact(name, byte, function)
        if v is None:
            return None
        element = v.items if v.items is not None else v.element
        return element.spelling, element.kind, element.layout

    def _var_fact(self, name: str, byte: int, function: str) -> Any:
        facts = self.facts
        if facts is None:
            return None
        if self._facts_problem:  # an earlier version's: by name within the function, globals by name
            short = function.rsplit("::", 1)[-1]
            return next((x for x in facts.variables if x.name == name and x.role == "param" and short
                         and x.function == short), None) or \
                next((x for x in facts.variables if x.name == name and x.role == "global"), None)
        return facts.variable(name, byte)

    def _resolve(self, spelling: str, depth: int) -> CType | None:
        if depth > MAX_TYPEDEF_CHAIN:
            return None
        words = spelling_words(spelling)
        if not words:
            return None
        words = [w for w in words if w not in QUALIFIERS]
        if not words:
            return None
        shown = " ".join(words)
        if all(w in BUILTIN_WORDS for w in words):
            name = builtin_type(words)
            return CType(name, shown) if name else None
        if words[0] == "enum" and len(words) == 2:
            return self._resolve_enum(words[1], shown, depth)
        if words[0] in ("struct", "union", "class", "typename") or len(words) != 1:
            return None
        word = words[0]
        canonical = NAMED_TYPES.get(word)
        if canonical is not None:
            return CType(canonical, shown)
        td = self.typedefs.get(word)
        if td is not None:
            if not td.is_alias or COMPLEX_WORD.search(td.text):
                return None  # `typedef float complex cf_t;` is not a float
            inner = self._resolve(td.target, depth + 1)
            return CType(inner.name, shown) if inner else None
        if word in self.enums:
            return self._resolve_enum(word, shown, depth)
        return None

    def _resolve_enum(self, name: str, shown: str, depth: int) -> CType | None:
        underlying = self.enums.get(name, "int") or "int"
        inner = self._resolve(underlying, depth + 1)
        return CType(inner.name, shown) if inner else None

    def qualifiers(self, spelling: str) -> frozenset[str]:
        """The qualifiers and storage classes in `spelling` and its typedef chain: "const",
        "volatile", "restrict", "atomic", "static", "extern", … (`__restrict` reads "restrict")."""
        out: set[str] = set()
        seen: set[str] = set()
        for _ in range(MAX_TYPEDEF_CHAIN):
            words = SPELLING_TOKEN.findall(spelling)
            out.update(QUALIFIERS[w] for w in words if QUALIFIERS.get(w))
            names = [w for w in words if w not in QUALIFIERS and w not in BUILTIN_WORDS and w not in ("::", "std")]
            if len(names) != 1 or names[0] in seen:
                break
            td = self.typedefs.get(names[0])
            if td is None:
                break
            seen.add(names[0])
            out.update(q for q, on in (("const", td.const), ("volatile", td.volatile), ("restrict", td.restrict)) if on)
            if not td.is_alias:
                break
            spelling = td.target
        return frozenset(out)

    def struct_of(self, spelling: str) -> StructDef | None:
        """The struct/class a type spelling names ("struct pt", "pt_t", "const particles"), following
        typedefs; pointers are not followed (use `pointee` first)."""
        for _ in range(MAX_TYPEDEF_CHAIN):
            words = [w for w in SPELLING_TOKEN.findall(spelling) if w not in QUALIFIERS and w != "::"]
            if words and words[0] in ("struct", "class", "union"):
                words = words[1:]
            if len(words) != 1:
                return None
            name = words[0]
            s = self.structs.get(name)
            if s is not None:
                return s
            td = self.typedefs.get(name)
            if td is None or not td.is_alias:
                return None
            spelling = td.target
        return None

    def pointee(self, spelling: str) -> str | None:
        """For a pointer type spelling ("float *", "const pixel_t*", a pointer typedef), the spelling
        of what it points to; None when it is not a pointer."""
        s = spelling.strip()
        # Qualifiers after the last `*` belong to the pointer itself.
        stripped = re.sub(r"(\s*\b(const|volatile|restrict|__restrict__|__restrict)\b)+\s*$", "", s)
        if stripped.endswith("*"):
            return stripped[:-1].strip()
        words = [w for w in SPELLING_TOKEN.findall(s) if w not in QUALIFIERS]
        if len(words) == 1:
            td = self.typedefs.get(words[0])
            if td is not None and td.pointer and not td.extents and not td.function:
                inner = td.target + " *" * (td.pointer - 1)
                return ("const " if td.const else "") + inner
        return None

    def sizeof(self, spelling: str) -> int | None:
        """`sizeof` of a scalar or pointer type spelling, or None."""
        if spelling.rstrip().endswith("*") or self.pointee(spelling) is not None:
            return 8
        t = self.resolve_type(spelling)
        return t.bits // 8 if t else None


    def is_defined(self, name: str) -> bool:
        """Whether `name` is a macro (object-like or function-like) here."""
        return name in self.macros or name in self.function_macros

    def macro_value(self, name: str) -> int | None:
        """The integer value of an object-like macro (`#define LEN 1024`, `#define HALF (LEN/2)`),
        or None when it is not an integer constant expression."""
        if name not in self.macros:
            return None
        return self.int_constant(name)

    def int_constant(self, name: str) -> int | None:
        """The integer value of a macro, an enumerator, or a `const` integer global with a constant
        initializer; None otherwise."""
        if name in self._values:
            return self._values[name]
        v = self._identifier_value(name, frozenset())
        self._values[name] = v
        return v

    def eval_int(self, expr: str) -> int | None:
        """Evaluate an integer constant expression written in C ("LEN / 2", "(N) - 1", "sizeof(float)
        * 4"), or None when it is not one."""
        return self._eval(expr, frozenset(), preprocessor=False)

    def _eval(self, expr: str, active: frozenset[str], preprocessor: bool) -> int | None:
        toks = tokenize(expr)
        if not toks:
            return None
        try:
            return ConstantEvaluator(self, toks, preprocessor, active).run()
        except (NotConstant, RecursionError, IndexError, KeyError):
            return None

    def _identifier_value(self, name: str, active: frozenset[str]) -> int | None:
        if name in active or len(active) > MAX_MACRO_DEPTH:
            return None
        inner = active | {name}
        facts = self.facts
        if facts is not None:
            m = facts.macros.get(name)
            if m is not None and m.value is not None:
                return int(m.value)
        if name in self.macros:
            return self._eval(self.macros[name], inner, preprocessor=False)
        if name in self.enum_constants:
            return self._eval(self.enum_constants[name], inner, preprocessor=False)
        g = self.globals.get(name)
        if g is not None and g.const and g.init and not g.pointer and not g.extents:
            t = self.resolve_type(g.type)
            if t is not None and not t.is_float:
                return self._eval(g.init, inner, preprocessor=False)
        return None


    @property
    def system_includes(self) -> tuple[str, ...]:
        """The `#include <…>` lines of the file (those a stand-alone kernel can use as they are)."""
        return tuple(line for line in self.includes if SYSTEM_INCLUDE.match(line))

    def preamble(self, names: Iterable[str]) -> str:
        """C text declaring `names` (macros, typedefs, structs, enums, globals) and everything those
        declarations use in turn, copied verbatim from the file and its local headers in file order.
        Unknown names are skipped. Does not include the `#include` lines (see `system_includes`)."""
        by_name: dict[str, list[int]] = {}
        for i, d in enumerate(self.declarations):
            for n in d.names:
                by_name.setdefault(n, []).append(i)
        wanted: set[int] = set()
        todo = [n for n in names]
        seen_names: set[str] = set()
        while todo:
            n = todo.pop()
            if n in seen_names:
                continue
            seen_names.add(n)
            for i in by_name.get(n, ()):
                if i in wanted:
                    continue
                wanted.add(i)
                todo.extend(t for t in _IDENT.findall(self.declarations[i].text) if t not in seen_names)
        return "\n".join(self.declarations[i].text for i in sorted(wanted))

    @property
    def fingerprint(self) -> str:
        """A short hash of everything here that can change a loop's analysis (for cache keys)."""
        h = hashlib.sha256()
        for d in self.declarations:
            h.update(d.kind.encode())
            h.update(b"\0")
            h.update(" ".join(tokenize(d.text)).encode())
            h.update(b"\n")
        for line in self.includes:
            h.update(line.encode())
        h.update(self.header_digest.encode())
        return h.hexdigest()[:16]


_IDENT = re.compile(r"[A-Za-z_]\w*")

SYSTEM_INCLUDE = re.compile(r"#\s*include\s*<")


def _header_digest(paths: list[str], hashes: list[str]) -> str:
    if not paths:
        return ""
    return hashlib.sha256("".join(f"{p}\0{h}\n" for p, h in zip(paths, hashes, strict=True)).encode()).hexdigest()
