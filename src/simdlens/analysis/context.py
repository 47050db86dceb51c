"""What a file declares outside its functions: the context a loop's types and bounds come from.

`FileContext.build(source, path, language)` reads, from the file and from the headers it includes
with `#include "…"` (searched in the file's directory, then `include_dirs`; `#include <…>` only in
`include_dirs`):

- `includes`       the file's own `#include` lines, verbatim, in order;
- `macros`         object-like `#define NAME value` macros and `-D` defines (name -> replacement text);
- `typedefs`       `typedef …;` and C++ `using T = …;` (name -> `Typedef`);
- `structs`        struct / class / union definitions with their fields (name -> `StructDef`; both the
                   tag and a typedef name of the struct are keys);
- `enum_constants` enumerators (name -> value expression);
- `globals`        global variable declarations (name -> `VarDecl`);
- `declarations`   all of the above as verbatim text in file order, for building kernel preambles
                   (`preamble(names)`).

Queries:

- `resolve_type(spelling)` maps a scalar type spelling ("unsigned char", "const uint8_t",
  "std::size_t", a typedef name, a typedef of a typedef) to the canonical `CType`; qualifiers are
  ignored (ask `qualifiers(spelling)` for them); anything else (pointers, structs, `long double`,
  templates, unknown names) gives None. Never raises.
- `macro_value(name)` / `int_constant(name)` / `eval_int(expr)` evaluate integer constant expressions
  over macros, enumerators and `const` globals (`#define HALF (LEN/2)`).
- `struct_of(spelling)`, `pointee(spelling)` help with `p->x[i]` and pointer typedefs.

Preprocessor conditionals are followed the way the compiler would, as far as the macros known here
allow (`#ifdef`, `#ifndef`, `#if defined(X) && X > 1`; unknown identifiers in `#if` are 0, as in C).
Deciding which code is *skipped* is stricter (`inactive_regions`: only what is certain, a loop is
never hidden on a guess). Typedefs declared inside function bodies are scoped: `at(byte)` is the
context seen from one position of the file.
Data models are LP64 (x86-64 Linux): `long` is 64-bit, `char` is signed.
"""

from __future__ import annotations

import bisect
import os
import re
from collections import ChainMap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tree_sitter

from simdlens.analysis.ir import CType
from simdlens.analysis.parse import MAX_SOURCE_BYTES, check_source, parse, tokenize
from simdlens.core import Language, Reason
from simdlens.workspace_files import UnreadableFile, is_regular_file, read_workspace_file

MAX_INCLUDE_DEPTH = 8
MAX_HEADERS = 64
MAX_HEADER_BYTES = 1024 * 1024
_MAX_TYPEDEF_CHAIN = 32
_MAX_MACRO_DEPTH = 32

# --------------------------------------------------------------------------------------------------
# Declarations
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VarDecl:
    """One declared variable or struct field.

    `type` is the base type as written without qualifiers or storage class ("float", "pixel_t",
    "struct pt", "std::vector<float>"); `pointer` counts the `*`s; `extents` are the array extents as
    written, outermost first (`a[N][8]` -> ("N", "8"); `a[]` -> ("",)). `const`/`volatile` qualify the
    element (the pointee for a pointer); `restrict` is on the pointer.
    """

    name: str
    type: str
    pointer: int = 0
    extents: tuple[str, ...] = ()
    const: bool = False
    volatile: bool = False
    restrict: bool = False
    atomic: bool = False
    static: bool = False
    extern: bool = False
    reference: bool = False  # C++ `T &x`
    init: str = ""  # initializer text, "" if none
    text: str = ""  # the whole declaration as written
    param: bool = False  # a function parameter (only from clang's facts: `FileContext.declaration`)

    @property
    def is_array(self) -> bool:
        return bool(self.extents)

    @property
    def is_pointer(self) -> bool:
        return self.pointer > 0

    @property
    def extent(self) -> str:
        """The outermost array extent ("" when not an array or unsized)."""
        return self.extents[0] if self.extents else ""


@dataclass(frozen=True)
class Typedef:
    """`typedef <target> <pointer stars> name <extents>;` or `using name = <target>;`."""

    name: str
    target: str  # base type text without qualifiers: "unsigned char", "struct pt", "pixel_t"
    pointer: int = 0
    extents: tuple[str, ...] = ()
    const: bool = False
    volatile: bool = False
    restrict: bool = False
    function: bool = False  # a function (pointer) type
    text: str = ""

    @property
    def is_alias(self) -> bool:
        """A plain alias of another type (not a pointer, array or function type)."""
        return not (self.pointer or self.extents or self.function)


@dataclass(frozen=True)
class StructDef:
    name: str
    kind: str  # "struct", "class", "union"
    fields: tuple[VarDecl, ...]
    text: str = ""

    def field(self, name: str) -> VarDecl | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Declaration:
    """A top-level declaration as written, and the names it defines (for preambles)."""

    kind: str  # "macro", "typedef", "struct", "enum", "global"
    names: tuple[str, ...]
    text: str
    origin: str  # the file it comes from ("-D" for command-line defines)


@dataclass(frozen=True)
class LocalTypedef:
    """A `typedef` inside a function body: visible from the end of its declaration to the end of its
    block (bytes of the main file)."""

    # Positions move with every edit; two contexts declaring the same typedefs are the same context.
    start: int = field(compare=False)
    end: int = field(compare=False)
    typedef: Typedef
    declaration: Declaration


# --------------------------------------------------------------------------------------------------
# Scalar types
# --------------------------------------------------------------------------------------------------

_QUALIFIERS = {
    "const": "const", "volatile": "volatile", "restrict": "restrict", "__restrict": "restrict",
    "__restrict__": "restrict", "static": "static", "extern": "extern", "register": "register",
    "inline": "inline", "thread_local": "thread_local", "_Thread_local": "thread_local",
    "constexpr": "constexpr", "mutable": "mutable", "__extension__": "", "_Atomic": "atomic",
}
_BUILTIN_WORDS = frozenset({"signed", "unsigned", "char", "short", "int", "long", "float", "double", "_Bool", "bool",
                            "__signed__", "__signed"})
_NAMED_TYPES: dict[str, str] = {
    "int8_t": "int8", "uint8_t": "uint8", "int16_t": "int16", "uint16_t": "uint16",
    "int32_t": "int32", "uint32_t": "uint32", "int64_t": "int64", "uint64_t": "uint64",
    "int_least8_t": "int8", "uint_least8_t": "uint8", "int_least16_t": "int16", "uint_least16_t": "uint16",
    "int_least32_t": "int32", "uint_least32_t": "uint32", "int_least64_t": "int64", "uint_least64_t": "uint64",
    # glibc on x86-64: the fast types wider than 8 bits are 64-bit.
    "int_fast8_t": "int8", "uint_fast8_t": "uint8", "int_fast16_t": "int64", "uint_fast16_t": "uint64",
    "int_fast32_t": "int64", "uint_fast32_t": "uint64", "int_fast64_t": "int64", "uint_fast64_t": "uint64",
    "intmax_t": "int64", "uintmax_t": "uint64", "size_t": "uint64", "ssize_t": "int64", "ptrdiff_t": "int64",
    "intptr_t": "int64", "uintptr_t": "uint64", "off_t": "int64", "wchar_t": "int32", "char8_t": "uint8",
    "char16_t": "uint16", "char32_t": "uint32", "__int8_t": "int8", "__uint8_t": "uint8", "__int16_t": "int16",
    "__uint16_t": "uint16", "__int32_t": "int32", "__uint32_t": "uint32", "__int64_t": "int64",
    "__uint64_t": "uint64", "u_int8_t": "uint8", "u_int16_t": "uint16", "u_int32_t": "uint32", "u_int64_t": "uint64",
}
_SPELLING_TOKEN = re.compile(r"::|[A-Za-z_]\w*|\S")
_COMPLEX_WORD = re.compile(r"\b(_Complex|complex)\b")


def _declaration_text(v: Any, element: str) -> str:
    """A declaration of a clang `VarFact` in C syntax ("const double *restrict x", "double (*A)[200]")."""
    const = "const " if v.element.const else ""
    stars = 0
    while stars < len(v.dims) and v.dims[stars] == "*":
        stars += 1
    arrays = "".join(f"[{d}]" for d in v.dims[stars:] if d != "*")
    ptr = "*" * stars + (" restrict " if v.restrict and stars else "")
    if stars and arrays:
        return f"{const}{element} ({ptr.strip()}{v.name}){arrays}"
    return f"{const}{element} {ptr}{v.name}{arrays}".replace("  ", " ")


def _builtin(words: list[str]) -> str | None:
    """Canonical name of a builtin arithmetic type given its keywords (qualifiers already removed)."""
    longs = words.count("long")
    unsigned = "unsigned" in words
    signed = "signed" in words or "__signed__" in words or "__signed" in words
    base = [w for w in words if w not in ("long", "unsigned", "signed", "__signed__", "__signed")]
    if len(base) == 2 and "int" in base and "short" in base:  # `short int`
        base = ["short"]
    if (unsigned and signed) or len(base) > 1 or longs > 2:
        return None
    b = base[0] if base else "int"
    if b in ("float", "_Bool", "bool"):
        if unsigned or signed or longs:
            return None
        return "float" if b == "float" else "uint8"
    if b == "double":
        return None if (unsigned or signed or longs) else "double"  # long double: unsupported
    if b == "char":
        return None if longs else ("uint8" if unsigned else "int8")
    if b == "short":
        return None if longs else ("uint16" if unsigned else "int16")
    if b == "int":
        if longs:
            return "uint64" if unsigned else "int64"
        return "uint32" if unsigned else "int32"
    return None


def _spelling_words(spelling: str) -> list[str] | None:
    """Words of a type spelling with `::`/`std::` prefixes dropped; None for pointers, references,
    templates, arrays and anything else that is not a plain (qualified) type name."""
    toks = _SPELLING_TOKEN.findall(spelling)
    words: list[str] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t == "::":
            i += 1
            continue
        if i + 1 < len(toks) and toks[i + 1] == "::":
            if t != "std":
                return None  # some other namespace / class scope: not a type we know
            i += 2
            continue
        if not (t[0].isalpha() or t[0] == "_"):
            return None
        words.append(t)
        i += 1
    return words


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


# --------------------------------------------------------------------------------------------------
# Integer constant expressions
# --------------------------------------------------------------------------------------------------


class _NotConstant(Exception):
    pass


_BINARY_PRECEDENCE = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, "<=": 7, ">": 7, ">=": 7,
    "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}


def _c_div(a: int, b: int) -> int:
    if b == 0:
        raise _NotConstant
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
        raise _NotConstant from None


class _Evaluator:
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
            raise _NotConstant
        self.i += 1
        return t

    def run(self) -> int:
        v = self.expr()
        if self.peek() is not None:
            raise _NotConstant
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
            raise _NotConstant
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
                raise _NotConstant
            return size
        if t in ("true", "false"):
            return int(t == "true")
        if t[0].isalpha() or t[0] == "_":
            if self.peek() == "(":
                raise _NotConstant  # function-like macro or call
            value = self.ctx._identifier_value(t, self.active)
            if value is None:
                if self.pp:
                    return 0
                raise _NotConstant
            return value
        raise _NotConstant

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
            raise _NotConstant
        return a - _c_div(a, b) * b
    if op in ("<<", ">>"):
        if b < 0 or b > 128:
            raise _NotConstant
        return a << b if op == "<<" else a >> b
    return {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "&": lambda: a & b, "|": lambda: a | b,
        "^": lambda: a ^ b, "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
        "<=": lambda: int(a <= b), ">": lambda: int(a > b), ">=": lambda: int(a >= b),
        "&&": lambda: int(bool(a) and bool(b)), "||": lambda: int(bool(a) or bool(b)),
    }[op]()


# --------------------------------------------------------------------------------------------------
# The file context
# --------------------------------------------------------------------------------------------------


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
    macros: Mapping[str, str] = field(default_factory=dict)
    function_macros: Mapping[str, str] = field(default_factory=dict)  # name -> the whole `#define` line
    typedefs: Mapping[str, Typedef] = field(default_factory=dict)
    structs: Mapping[str, StructDef] = field(default_factory=dict)
    enums: Mapping[str, str] = field(default_factory=dict)  # enum type name -> underlying type spelling
    enum_constants: Mapping[str, str] = field(default_factory=dict)  # enumerator -> value expression
    globals: Mapping[str, VarDecl] = field(default_factory=dict)
    declarations: tuple[Declaration, ...] = ()
    defines: Mapping[str, str] = field(default_factory=dict)  # the -D defines given to build()
    notes: tuple[str, ...] = ()  # one line per header that could not be used
    local_typedefs: tuple[LocalTypedef, ...] = ()  # typedefs in function bodies, by scope (see `at`)
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

    # ---- building ---------------------------------------------------------------------------------

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
        b = _Builder(language, tuple(Path(d) for d in include_dirs), defines)
        if tree is None:
            tree = parse(source, language)
        here = Path(path).resolve().parent if path else Path.cwd()
        b.visit_file(tree.root_node, source, path, here, depth=0, top=True)
        return cls(
            path=path, language=language, includes=tuple(b.includes), headers=tuple(b.headers),
            macros=b.macros, function_macros=b.function_macros, typedefs=b.typedefs, structs=b.structs,
            enums=b.enums, enum_constants=b.enum_constants, globals=b.globals, declarations=tuple(b.decls),
            defines=defines, notes=tuple(b.notes),
            local_typedefs=_local_typedefs(tree.root_node, source, path, language),
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
        return replace(plain, macros=macros, function_macros=function_macros, facts=facts, _facts_problem="",
                       _values={}, _scoped={}, _plain=plain)

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
        return replace(ctx, _facts_problem="an earlier version's (this version's are being computed)")

    @property
    def semantic_note(self) -> str:
        """One line for reasons: where this context's types come from when clang's facts are missing
        or are an earlier version's ("" when they are this text's)."""
        if self.facts is not None:
            return f"semantic facts: {self._facts_problem}" if self._facts_problem else ""
        return f"semantic facts: {self._facts_problem or 'not computed'}; types read by simdlens's own reader"

    def at(self, byte: int) -> FileContext:
        """This context as seen from `byte` of the file: with the typedefs that the enclosing function
        (or block) declared before it, `typedef double dd;` in a function body. `self` when there are
        none; the same object for every position that sees the same typedefs."""
        if not self.local_typedefs:
            return self
        visible = tuple(k for k, lt in enumerate(self.local_typedefs) if lt.start <= byte < lt.end)
        if not visible:
            return self
        scoped = self._scoped.get(visible)
        if scoped is None:
            # file order: an inner block's typedef wins over an outer one of the same name
            innermost = {lt.typedef.name: lt for lt in [self.local_typedefs[k] for k in visible]}
            local = tuple(dict.fromkeys(lt.declaration for lt in innermost.values()))
            # A shadowed file-level declaration must not reach a kernel preamble: gcc rejects both.
            kept = tuple(d for d in self.declarations if d.kind == "macro" or not innermost.keys() & set(d.names))
            scoped = replace(self, typedefs=ChainMap({n: lt.typedef for n, lt in innermost.items()}, dict(self.typedefs)),
                             declarations=kept + local, local_typedefs=(), _values={}, _scoped={})
            self._scoped[visible] = scoped
        return scoped

    # ---- types ------------------------------------------------------------------------------------

    def resolve_type(self, spelling: str) -> CType | None:
        """The canonical scalar type of `spelling`, or None (pointer, struct, template, `long double`,
        unknown name). Qualifiers and storage classes are ignored; typedef chains are followed."""
        fact = self.type_fact(spelling)
        if fact is not None:
            if not fact.is_scalar:
                return None  # complex, long double, struct, vector, pointer: not a scalar element
            shown = " ".join(w for w in _SPELLING_TOKEN.findall(spelling) if w not in _QUALIFIERS)
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
        words = [w for w in _SPELLING_TOKEN.findall(spelling) if w not in _QUALIFIERS]
        if len(words) == 2 and words[0] in ("struct", "union", "enum", "class"):
            words = words[1:]
        if len(words) != 1 or words[0] in _BUILTIN_WORDS:
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
        words = [w for w in _SPELLING_TOKEN.findall(spelling) if w not in _QUALIFIERS]
        for _ in range(_MAX_TYPEDEF_CHAIN):  # without facts: the spelling or its typedef chain says complex
            if any(w in ("complex", "_Complex") for w in words):
                base = [w for w in words if w not in ("complex", "_Complex", "std", "::", "<", ">")]
                name = _builtin(base) if base and all(w in _BUILTIN_WORDS for w in base) else None
                return CType(name, spelling.strip(), is_complex=True) if name in ("float", "double") else None
            if len(words) != 1 or words[0] not in self.typedefs:
                return None
            td = self.typedefs[words[0]]
            words = [w for w in _SPELLING_TOKEN.findall(td.text or td.target) if w not in _QUALIFIERS
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
        facts = self.facts
        if facts is None:
            return None
        if self._facts_problem:  # an earlier version's: by name within the function, globals by name
            short = function.rsplit("::", 1)[-1]
            v = next((x for x in facts.variables if x.name == name and x.role == "param" and short
                      and x.function == short), None) or \
                next((x for x in facts.variables if x.name == name and x.role == "global"), None)
        else:
            v = facts.variable(name, byte)
        if v is None:
            return None
        element = " ".join(w for w in _SPELLING_TOKEN.findall(v.element.spelling) if w not in _QUALIFIERS)
        pointer = sum(1 for d in v.dims if d == "*")
        extents = tuple(d for d in v.dims if d != "*")
        decl_text = _declaration_text(v, element)
        return VarDecl(name, element, pointer, extents, v.element.const, v.element.volatile, v.restrict,
                       static=False, extern=False, text=decl_text, param=v.role == "param")

    def _resolve(self, spelling: str, depth: int) -> CType | None:
        if depth > _MAX_TYPEDEF_CHAIN:
            return None
        words = _spelling_words(spelling)
        if not words:
            return None
        words = [w for w in words if w not in _QUALIFIERS]
        if not words:
            return None
        shown = " ".join(words)
        if all(w in _BUILTIN_WORDS for w in words):
            name = _builtin(words)
            return CType(name, shown) if name else None
        if words[0] == "enum" and len(words) == 2:
            return self._resolve_enum(words[1], shown, depth)
        if words[0] in ("struct", "union", "class", "typename") or len(words) != 1:
            return None
        word = words[0]
        canonical = _NAMED_TYPES.get(word)
        if canonical is not None:
            return CType(canonical, shown)
        td = self.typedefs.get(word)
        if td is not None:
            if not td.is_alias or _COMPLEX_WORD.search(td.text):
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
        for _ in range(_MAX_TYPEDEF_CHAIN):
            words = _SPELLING_TOKEN.findall(spelling)
            out.update(_QUALIFIERS[w] for w in words if _QUALIFIERS.get(w))
            names = [w for w in words if w not in _QUALIFIERS and w not in _BUILTIN_WORDS and w not in ("::", "std")]
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
        for _ in range(_MAX_TYPEDEF_CHAIN):
            words = [w for w in _SPELLING_TOKEN.findall(spelling) if w not in _QUALIFIERS and w != "::"]
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
        words = [w for w in _SPELLING_TOKEN.findall(s) if w not in _QUALIFIERS]
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

    # ---- constants --------------------------------------------------------------------------------

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
            return _Evaluator(self, toks, preprocessor, active).run()
        except (_NotConstant, RecursionError, IndexError, KeyError):
            return None

    def _identifier_value(self, name: str, active: frozenset[str]) -> int | None:
        if name in active or len(active) > _MAX_MACRO_DEPTH:
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

    # ---- preambles --------------------------------------------------------------------------------

    @property
    def system_includes(self) -> tuple[str, ...]:
        """The `#include <…>` lines of the file (those a stand-alone kernel can use as they are)."""
        return tuple(line for line in self.includes if _SYSTEM_INCLUDE.match(line))

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
        import hashlib

        h = hashlib.sha256()
        for d in self.declarations:
            h.update(d.kind.encode())
            h.update(b"\0")
            h.update(" ".join(tokenize(d.text)).encode())
            h.update(b"\n")
        for line in self.includes:
            h.update(line.encode())
        return h.hexdigest()[:16]


_IDENT = re.compile(r"[A-Za-z_]\w*")
_WORD_BYTE = re.compile(rb"\w")


def _words(source: bytes, words: tuple[bytes, ...]) -> list[tuple[int, int]]:
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


def _local_typedefs(root: tree_sitter.Node, source: bytes, path: str, language: Language) -> tuple[LocalTypedef, ...]:
    """The typedefs (and C++ `using T = …;`) declared inside blocks of the file, in file order."""
    out: list[LocalTypedef] = []
    for start, end in _words(source, (b"typedef", b"using")):
        keyword = root.descendant_for_byte_range(start, end)
        node = keyword.parent if keyword is not None and keyword.type in ("typedef", "using") else None
        if node is None or node.type not in ("type_definition", "alias_declaration"):
            continue  # a comment, a string, a macro body, `using namespace`
        block = node.parent
        if block is None or block.type != "compound_statement":
            continue  # file scope (FileContext.typedefs) or a class body
        b = _Builder(language, (), {})
        if node.type == "type_definition":
            b._typedef(node, path)
        else:
            name, tdesc = _text(node.child_by_field_name("name")), node.child_by_field_name("type")
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


_SYSTEM_INCLUDE = re.compile(r"#\s*include\s*<")

# --------------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------------

_CONTAINERS = frozenset({"linkage_specification", "namespace_definition", "declaration_list", "ERROR"})
_RECORD_TYPES = {"struct_specifier": "struct", "class_specifier": "class", "union_specifier": "union"}

_header_cache: dict[tuple[str, int, int, str], tuple[bytes, tree_sitter.Tree]] = {}


def _text(node: tree_sitter.Node | None) -> str:
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
            d.init = _text(node.child_by_field_name("value"))
            node = node.child_by_field_name("declarator")
        elif t in ("pointer_declarator", "abstract_pointer_declarator"):
            d.pointer += 1
            for c in node.children:
                if c.type == "type_qualifier":
                    q = _text(c)
                    d.restrict |= "restrict" in q
                    d.const_pointer |= q == "const"
                    d.volatile_pointer |= q == "volatile"
            node = node.child_by_field_name("declarator")
        elif t == "reference_declarator":
            d.reference = True
            node = node.named_child(0) if node.named_child_count else None
        elif t == "array_declarator":
            d.extents.insert(0, _text(node.child_by_field_name("size")))
            node = node.child_by_field_name("declarator")
        elif t in ("function_declarator", "abstract_function_declarator"):
            d.function = True
            node = node.child_by_field_name("declarator")
        elif t in ("parenthesized_declarator", "attributed_declarator"):
            node = node.named_child(0) if node.named_child_count else None
        else:
            d.name = _text(node)
            break
    return d


class _Builder:
    def __init__(self, language: Language, include_dirs: tuple[Path, ...], defines: dict[str, str]) -> None:
        self.language = language
        self.include_dirs = include_dirs
        self.includes: list[str] = []
        self.headers: list[str] = []
        self.macros: dict[str, str] = dict(defines)
        self.function_macros: dict[str, str] = {}
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
        self.predefined = predefined_macros(language)
        self._anon = 0

    # A throwaway context for evaluating `#if` conditions against the macros seen so far.
    def _pp_context(self) -> FileContext:
        macros = ChainMap(self.macros, self.predefined)  # a view, not a copy: headers have many #ifs
        return FileContext("", self.language, macros=macros, function_macros=self.function_macros,
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
            name = _text(node.child_by_field_name("name"))
            value = _text(node.child_by_field_name("value")).strip()
            if "//" in value or "/*" in value:  # a trailing comment must not travel with the value
                value = " ".join(tokenize(value))
            if name:
                self.macros[name] = value
                self.function_macros.pop(name, None)
                self._forget_macro(name)  # a redefinition replaces the old text in preambles
                self.decls.append(Declaration("macro", (name,), _text(node).rstrip(), path))
        elif t == "preproc_function_def":
            name = _text(node.child_by_field_name("name"))
            if name:
                self.function_macros[name] = _text(node).rstrip()
                self.macros.pop(name, None)
                self._forget_macro(name)
                self.decls.append(Declaration("macro", (name,), _text(node).rstrip(), path))
        elif t == "preproc_call":
            if _text(node.child_by_field_name("directive")).strip() == "#undef":
                name = _text(node.child_by_field_name("argument")).strip()
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
            name = _text(node.child_by_field_name("name"))
            tdesc = node.child_by_field_name("type")
            if name and tdesc is not None:
                self._add_typedef_from(name, tdesc, node, path)
        elif t == "declaration":
            self._declaration(node, path)
        elif t in _RECORD_TYPES or t == "enum_specifier":
            self._specifier(node, path, standalone=True)
        elif t == "template_declaration":
            return
        elif t in _CONTAINERS:
            body = node.child_by_field_name("body")
            self._visit_children(body if body is not None else node, path, here, depth, top)

    def _helper_function(self, node: tree_sitter.Node) -> None:
        """`static inline int clamp(int v, int lo, int hi) { return ...; }` (issue 15's __SSAT-style helpers):
        the analysis expands a call of it like the macro `((int)(body))` with each parameter `((T)(p))`, the
        conversions a call makes (arguments are evaluated once, before the expansion: its IR is pure)."""
        storage = {_text(c) for c in node.named_children if c.type == "storage_class_specifier"}
        decl, body, rtype = (node.child_by_field_name(f) for f in ("declarator", "body", "type"))
        if "static" not in storage or decl is None or decl.type != "function_declarator" or body is None or rtype is None:
            return
        name, plist = _text(decl.child_by_field_name("declarator")), decl.child_by_field_name("parameters")
        stmts = [c for c in body.named_children if c.type != "comment"]
        if (plist is None or not re.fullmatch(r"[A-Za-z_]\w*", name) or name in self.macros or name in self.function_macros
                or len(stmts) != 1 or stmts[0].type != "return_statement" or not stmts[0].named_children):
            return
        params: list[tuple[str, str]] = []
        for p in plist.named_children:
            pdecl, ptype = p.child_by_field_name("declarator"), p.child_by_field_name("type")
            if p.type != "parameter_declaration" or pdecl is None or pdecl.type != "identifier" or ptype is None:
                return  # pointers, arrays, `void`, variadic: not an expression helper
            params.append((_text(pdecl), " ".join(_text(c) for c in p.children if c.type in ("type_qualifier",))
                           + " " + _text(ptype)))
        expr = _text(stmts[0].named_children[0])
        for pname, spelled in params:
            expr = re.sub(rf"(?<![\w.>])\b{re.escape(pname)}\b", f"(({spelled.strip()})({pname}))", expr)
        self.function_macros[name] = f"#define {name}({', '.join(p for p, _ in params)}) (({_text(rtype)})({expr}))"

    def _forget_macro(self, name: str) -> None:
        if any(d.kind == "macro" and d.names == (name,) for d in self.decls):
            self.decls = [d for d in self.decls if not (d.kind == "macro" and d.names == (name,))]

    def _conditional(self, node: tree_sitter.Node, path: str, here: Path, depth: int, top: bool) -> None:
        t = node.type
        taken: bool | None
        if t in ("preproc_ifdef", "preproc_elifdef"):
            name = _text(node.child_by_field_name("name"))
            directive = _text(node.child(0) if node.child_count else None).strip()
            defined = name in self.macros or name in self.function_macros or name in self.predefined
            taken = not defined if directive.endswith("ndef") else defined
        else:
            cond = _text(node.child_by_field_name("condition"))
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
        line = _text(node).strip()
        if top:
            self.includes.append(line)
        target = node.child_by_field_name("path")
        if target is None:
            self.unread.append(line)  # `#include MACRO`
            return
        raw = _text(target)
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
            key = (real, st.st_mtime_ns, st.st_size, self.language)
            cached = _header_cache.get(key)
            if cached is None:
                data = read_workspace_file(real, MAX_HEADER_BYTES)
                problem = check_source(data[:MAX_SOURCE_BYTES], real)
                if problem:
                    self.notes.append(f"{name}: {problem}; not read")
                    return
                cached = (data, parse(data, self.language))
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
        self.visit_file(cached[1].root_node, cached[0], real, found.parent, depth + 1, top=False)

    # ---- declarations -------------------------------------------------------------------------------

    def _qualifiers(self, node: tree_sitter.Node) -> tuple[bool, bool, bool, bool, bool]:
        const = volatile = atomic = static = extern = False
        for c in node.children:
            if c.type == "type_qualifier":
                q = _text(c)
                const |= q == "const" or q == "constexpr"
                volatile |= q == "volatile"
                atomic |= q == "_Atomic"
            elif c.type == "storage_class_specifier":
                s = _text(c)
                static |= s == "static"
                extern |= s == "extern"
        return const, volatile, atomic, static, extern

    def _type_text(self, type_node: tree_sitter.Node | None, path: str, outer: tree_sitter.Node) -> str:
        """Base type text; registers struct/enum bodies met on the way ("struct pt")."""
        if type_node is None:
            return ""
        if type_node.type in _RECORD_TYPES or type_node.type == "enum_specifier":
            return self._specifier(type_node, path, standalone=False, outer=outer)
        return " ".join(_text(type_node).split())

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
                m = re.search(r"(\w+)\s*;?\s*$", _text(node).strip())
                if m is None or m.group(1) in ("_Complex", "complex"):
                    continue
                d = replace(d, name=m.group(1))
            names.append(d.name)
            self.typedefs[d.name] = Typedef(
                d.name, target, d.pointer, tuple(d.extents), const, volatile, d.restrict, d.function,
                _text(node).strip(),
            )
            # `typedef struct {…} vec2;` – the struct is known by its typedef name too.
            rec = self.struct_named(target)
            if rec is not None and d.pointer == 0 and not d.extents:
                self.structs.setdefault(d.name, rec)
        if names:
            self.decls.append(Declaration("typedef", tuple(names) + self._tag_names(type_node), _text(node).strip(), path))

    def _add_typedef_from(self, name: str, tdesc: tree_sitter.Node, node: tree_sitter.Node, path: str) -> None:
        type_node = tdesc.child_by_field_name("type")
        const, volatile, _a, _s, _e = self._qualifiers(tdesc)
        target = self._type_text(type_node, path, node)
        d = _unwrap(tdesc.child_by_field_name("declarator"))
        self.typedefs[name] = Typedef(name, target, d.pointer, tuple(d.extents), const, volatile, d.restrict,
                                      d.function, _text(node).strip())
        rec = self.struct_named(target)
        if rec is not None and d.pointer == 0:
            self.structs.setdefault(name, rec)
        self.decls.append(Declaration("typedef", (name,), _text(node).strip(), path))

    def struct_named(self, target: str) -> StructDef | None:
        """The struct a base type text ("struct pt", "struct <anonymous struct 1>") names, if known."""
        kind, _, name = target.partition(" ")
        return self.structs.get(name) if kind in ("struct", "class", "union") else None

    def _tag_names(self, type_node: tree_sitter.Node | None) -> tuple[str, ...]:
        if type_node is None or (type_node.type not in _RECORD_TYPES and type_node.type != "enum_specifier"):
            return ()
        names = [_text(type_node.child_by_field_name("name"))]
        body = type_node.child_by_field_name("body")
        if type_node.type == "enum_specifier" and body is not None:
            names += [_text(e.child_by_field_name("name")) for e in body.named_children if e.type == "enumerator"]
        return tuple(n for n in names if n)

    def _specifier(self, node: tree_sitter.Node, path: str, standalone: bool,
                   outer: tree_sitter.Node | None = None) -> str:
        """Register a struct/class/union/enum specifier; returns the type text naming it."""
        kind = _RECORD_TYPES.get(node.type, "enum")
        name = _text(node.child_by_field_name("name"))
        body = node.child_by_field_name("body")
        if body is None:
            return f"{kind} {name}".strip()
        if not name:
            self._anon += 1
            name = f"<anonymous {kind} {self._anon}>"
        if kind == "enum":
            base = node.child_by_field_name("underlying_type") or node.child_by_field_name("base")
            self.enums[name] = _text(base) or "int"
            prev: str | None = None
            for e in body.named_children:
                if e.type != "enumerator":
                    continue
                ename = _text(e.child_by_field_name("name"))
                value = _text(e.child_by_field_name("value"))
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
            self.structs[name] = StructDef(name, kind, tuple(fields), _text(node))
        if standalone or (outer is not None and outer.type == "declaration"):
            self.decls.append(Declaration("enum" if kind == "enum" else "struct", self._tag_names(node),
                                          _text(node).strip() + ";", path))
        return f"{kind} {name}"

    def _vars(self, node: tree_sitter.Node, path: str) -> list[VarDecl]:
        type_node = node.child_by_field_name("type")
        const, volatile, atomic, static, extern = self._qualifiers(node)
        base = self._type_text(type_node, path, node)
        text = _text(node).strip()
        out = []
        for decl in node.children_by_field_name("declarator"):
            d = _unwrap(decl)
            if not d.name or d.function:
                continue
            init = d.init or _text(node.child_by_field_name("default_value"))  # C++ `int k = 3;` member
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
            self.decls.append(Declaration("global", tuple(v.name for v in vs), _text(node).strip(), path))


# --------------------------------------------------------------------------------------------------
# Inactive preprocessor branches
# --------------------------------------------------------------------------------------------------

_DIRECTIVE = re.compile(rb"#[ \t]*(ifdef|ifndef|if|define|undef)\b")
_CONDITIONALS = frozenset({"preproc_if", "preproc_ifdef", "preproc_elif", "preproc_elifdef", "preproc_else"})
_RESERVED = re.compile(r"__|_[A-Z]")
_UNKNOWN = object()  # a macro whose definition is not known here (defined, or not, or with which value)
_GNU_PREDEFINED = frozenset({"unix", "linux", "i386"})  # gcc defines these in its default -std=gnu* modes


def _compiler_may_define(name: str) -> bool:
    """Whether the compiler itself may define `name` depending on its flags (`__AVX2__`, `_OPENMP`, `unix`)."""
    return bool(_RESERVED.match(name)) or name in _GNU_PREDEFINED


Regions = tuple[tuple[int, int], ...]
_region_cache: list[tuple[tree_sitter.Tree, bytes, object, _Conditions]] = []


def inactive_regions(tree: tree_sitter.Tree, source: bytes, language: Language,
                     ctx: FileContext | None = None) -> Regions:
    """The byte ranges of the file that the preprocessor certainly skips: the branches of `#if 0`,
    `#if 1 … #else`, `#ifdef X` when X is certainly not defined, and so on, sorted and disjoint.

    Only conditions simdlens can decide for sure count: integer literals, `defined(X)`, `#ifdef`,
    `#ifndef`, `!`, `&&`, `||` and comparisons over macros whose values it knows at that point of the
    file. Without `ctx` that is the file's own `#define`/`#undef`s only (a `-D` flag could define any
    other name); with `ctx` also its `-D` defines and the headers it read. A name defined nowhere
    counts as undefined only when that is certain: `ctx.defines_complete` (the compile database gave
    every -D), every `#include` was read (`<limits.h>` not being read hides CHAR_BIT, `<math.h>`
    M_PI) and the compiler does not define it itself (`__AVX2__`, `_OPENMP`, `unix`). Anything else
    keeps every branch: a loop is never hidden because of a guess."""
    return _conditions(tree, source, language, ctx).regions


def live_branch(tree: tree_sitter.Tree, source: bytes, language: Language,
                node: tree_sitter.Node) -> list[tree_sitter.Node] | None:
    """For an `#if`/`#ifdef` chain decided without the build's macros (as `inactive_regions` without a
    context decides it): the statements of the one branch that is compiled ([] when none is); None when
    it cannot be decided."""
    decided = _conditions(tree, source, language, None).live
    if node.start_byte not in decided:
        return None
    branch = decided[node.start_byte]
    if branch is None:
        return []
    skip = ("condition", "name", "alternative")
    return [c for i, c in enumerate(branch.children)
            if c.is_named and c.type != "comment" and branch.field_name_for_child(i) not in skip]


def _conditions(tree: tree_sitter.Tree, source: bytes, language: Language, ctx: FileContext | None) -> _Conditions:
    key = ctx if ctx is not None else language
    for t, s, k, done in _region_cache:
        if t is tree and s is source and k is key:
            return done
    done = _Conditions(tree, source, language, ctx)
    if b"#" in source:
        done.run()
    _region_cache.insert(0, (tree, source, key, done))
    del _region_cache[4:]
    return done


def in_regions(regions: Regions, byte: int) -> tuple[int, int] | None:
    """The region of `regions` (sorted, disjoint) that holds `byte`, or None."""
    k = bisect.bisect_right(regions, (byte, 1 << 62)) - 1
    return regions[k] if k >= 0 and regions[k][0] <= byte < regions[k][1] else None


class _Conditions:
    """One pass over the file's directives in order, tracking what is known about each macro."""

    def __init__(self, tree: tree_sitter.Tree, source: bytes, language: Language, ctx: FileContext | None) -> None:
        self.root = tree.root_node
        self.source = source
        self.language = language
        self.known: dict[str, object] = {}  # name -> value text ("" for function-like), None = undefined
        self.complete = False
        self.inactive: list[tuple[int, int]] = []
        self.uncertain: list[tuple[int, int]] = []
        self.regions: Regions = ()
        # chain start byte -> the branch certainly compiled (None: none is); undecided chains are absent
        self.live: dict[int, tree_sitter.Node | None] = {}
        self.directives: list[tuple[str, tree_sitter.Node]] = []
        at = source.find(b"#")
        while at >= 0:
            m = _DIRECTIVE.match(source, at)
            if m is not None and not source[source.rfind(b"\n", 0, at) + 1:at].strip(b" \t"):
                tok = self.root.descendant_for_byte_range(at, at + 1)
                node = tok.parent if tok is not None else None
                if node is not None:
                    self.directives.append((m.group(1).decode(), node))
            at = source.find(b"#", at + 1)
        if ctx is not None:
            self.complete = ctx.defines_complete and not ctx.unread_includes and not ctx.notes
            for d in ctx.declarations:
                if d.kind == "macro" and d.origin != ctx.path and d.names:
                    name = d.names[0]
                    self.known[name] = _macro_text_value(d.text, name)  # as that header or -D flag says
        # A name the file itself defines or undefines is unknown until that directive: a header simdlens
        # read may have defined it first (its declaration then gives way to the file's).
        for kind, node in self.directives:
            name = self._directive_name(kind, node)
            if name and name not in self.known:
                self.known[name] = _UNKNOWN

    def run(self) -> Regions:
        for kind, node in self.directives:
            at = node.start_byte
            if any(lo <= at < hi for lo, hi in self.inactive):
                continue
            if kind in ("define", "undef"):
                name = self._directive_name(kind, node)
                if not name:
                    continue
                if any(lo <= at < hi for lo, hi in self.uncertain):
                    self.known[name] = _UNKNOWN
                elif kind == "undef":
                    self.known[name] = None
                else:
                    self.known[name] = (_text(node.child_by_field_name("value")).strip()
                                        if node.type == "preproc_def" else "")
            elif node.type in ("preproc_if", "preproc_ifdef"):
                self._chain(node)
        self.inactive.sort()
        self.regions = tuple(self.inactive)
        return self.regions

    def _directive_name(self, kind: str, node: tree_sitter.Node) -> str:
        if kind == "define" and node.type in ("preproc_def", "preproc_function_def"):
            return _text(node.child_by_field_name("name"))
        if kind == "undef" and node.type == "preproc_call":
            return _text(node.child_by_field_name("argument")).strip()
        return ""

    def _chain(self, first: tree_sitter.Node) -> None:
        """Classify each branch of `#if … #elif … #else … #endif`."""
        earlier: bool | None = False  # whether an earlier branch was taken (None: cannot tell)
        node: tree_sitter.Node | None = first
        live: tree_sitter.Node | None = None
        undecided = False
        while node is not None and node.type in _CONDITIONALS:
            taken = True if node.type == "preproc_else" else self._decide(node)
            branch = _branch_range(node)
            if earlier is True or taken is False:
                if branch is not None:
                    self.inactive.append(branch)
            elif earlier is None or taken is None:
                undecided = True
                if branch is not None:
                    self.uncertain.append(branch)
            else:
                live = node
            if taken is True:  # this branch or an earlier one is taken: none after it
                earlier = True
            elif taken is None and earlier is False:
                earlier = None
            node = node.child_by_field_name("alternative")
        if not undecided:
            self.live[first.start_byte] = live

    def _decide(self, node: tree_sitter.Node) -> bool | None:
        if node.type in ("preproc_ifdef", "preproc_elifdef"):
            defined = self._defined(_text(node.child_by_field_name("name")))
            if defined is None:
                return None
            return not defined if _text(node.child(0)).rstrip().endswith("ndef") else defined
        toks = tokenize(_text(node.child_by_field_name("condition")))
        try:
            return self._tri(toks) if toks else None
        except RecursionError:  # absurdly nested parentheses: cannot tell
            return None

    def _tri(self, toks: list[str]) -> bool | None:
        """True / False when the condition is certain, None when not; `0 && X` is false whatever X is."""
        if not toks or _split_top(toks, "?") != [toks]:
            return self._leaf(toks)
        for op in ("||", "&&"):
            parts = _split_top(toks, op)
            if len(parts) > 1:
                values = [self._tri(p) for p in parts]
                decisive = op == "||"
                if any(v is decisive for v in values):
                    return decisive
                return (not decisive) if all(v is (not decisive) for v in values) else None
        if toks[0] == "!" and _primary(toks[1:]):
            v = self._tri(toks[1:])
            return None if v is None else not v
        if toks[0] == "(" and _closing(toks, 0) == len(toks) - 1:
            return self._tri(toks[1:-1])
        return self._leaf(toks)

    def _leaf(self, toks: list[str]) -> bool | None:
        """Evaluate when every macro it names is known (a known-undefined one is 0, as in C)."""
        if not toks:
            return None
        macros: dict[str, str] = {}
        after_defined = False
        for i, tok in enumerate(toks):
            if not (tok[0].isalpha() or tok[0] == "_") or tok == "defined":
                after_defined = tok == "defined" or (after_defined and tok == "(")
                continue
            if tok in ("true", "false") and self.language == "cpp":
                continue
            if after_defined:  # defined(X) / defined X
                d = self._defined(tok)
                if d is None:
                    return None
                if d:
                    macros[tok] = "1"
            else:  # a value: a known object-like macro whose value is an integer expression
                value = self._value(tok)
                if value is None or (i + 1 < len(toks) and toks[i + 1] == "("):
                    return None
                macros.setdefault(tok, value)
            after_defined = False
        plain = FileContext("", self.language, macros={k: v for k, v in self.known.items() if isinstance(v, str)})
        for value in macros.values():  # every value used must itself evaluate: no unknown names inside
            if value not in ("0", "1") and plain.eval_int(value) is None:
                return None
        checker = FileContext("", self.language, macros={**plain.macros, **macros})
        v = checker._eval(" ".join(toks), frozenset(), preprocessor=True)
        return None if v is None else bool(v)

    def _value(self, name: str) -> str | None:
        """The replacement text of `name` in `#if`: "0" when it is certainly not defined."""
        value = self.known.get(name, _UNKNOWN if not self.complete or _compiler_may_define(name) else None)
        if value is None:
            return "0"
        return value if isinstance(value, str) and value else None

    def _defined(self, name: str) -> bool | None:
        if not name:
            return None
        if name == "__cplusplus":
            return self.language == "cpp"
        value = self.known.get(name, _UNKNOWN if not self.complete or _compiler_may_define(name) else None)
        if value is _UNKNOWN:
            return None
        return value is not None


def _split_top(toks: list[str], op: str) -> list[list[str]]:
    """`toks` split at the `op` tokens outside parentheses."""
    parts: list[list[str]] = [[]]
    depth = 0
    for t in toks:
        depth += {"(": 1, ")": -1}.get(t, 0)
        if t == op and depth == 0:
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


def _closing(toks: list[str], i: int) -> int:
    """The index of the `)` matching the `(` at `i` (-1 when unbalanced)."""
    depth = 0
    for j in range(i, len(toks)):
        depth += {"(": 1, ")": -1}.get(toks[j], 0)
        if depth == 0:
            return j
    return -1


def _primary(toks: list[str]) -> bool:
    """Whether `toks` is one operand `!` applies to: a parenthesised group, `defined X`, one token."""
    if len(toks) == 1:
        return True
    if toks[0] == "(":
        return _closing(toks, 0) == len(toks) - 1
    return toks[0] == "defined" and (len(toks) == 2 or (toks[1:2] == ["("] and _closing(toks, 1) == len(toks) - 1))


def _macro_text_value(text: str, name: str) -> object:
    """The replacement text of `#define NAME value` as written in a header ("" for a function-like macro)."""
    m = re.match(r"\s*#\s*define\s+" + re.escape(name) + r"(\(?)(.*)", text, re.DOTALL)
    if m is None:
        return _UNKNOWN
    return "" if m.group(1) else " ".join(tokenize(m.group(2)))


def _branch_range(node: tree_sitter.Node) -> tuple[int, int] | None:
    """The bytes of one branch's own lines: after its directive line, up to the next `#elif`/`#else`/`#endif`."""
    start = None
    end = node.end_byte
    for i, child in enumerate(node.children):
        fname = node.field_name_for_child(i)
        if fname == "alternative":
            end = child.start_byte
            break
        if child.type == "#endif":
            end = child.start_byte
            break
        if fname in ("condition", "name") or (i == 0 and not child.is_named):
            start = child.end_byte
    if start is None or end <= start:
        return None
    return start, end


def skipping_directive(tree: tree_sitter.Tree, source: bytes, ctx: FileContext, byte: int) -> str | None:
    """When the preprocessor skips `byte` with `ctx`'s macros: the directive that skips it as
    "`#ifdef NEVER_DEFINED` (line 12)"; None when the code there may be compiled."""
    try:
        region = in_regions(inactive_regions(tree, source, ctx.language, ctx), byte)
    except Exception:  # never lose a loop to a directive simdlens cannot read
        return None
    if region is None:
        return None
    at = region[0] - 1
    line_start = source.rfind(b"\n", 0, at) + 1
    line_end = source.find(b"\n", at)
    text = source[line_start:line_end if line_end >= 0 else len(source)].decode("utf-8", "replace")
    line = source.count(b"\n", 0, line_start) + 1
    return f"`{' '.join(text.split())[:80]}` (line {line})"
