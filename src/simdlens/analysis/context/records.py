"""What a file declares, as records: variables and fields (`VarDecl`), typedefs, structs, declarations
as written (for kernel preambles) and typedefs local to a block; and the limits on reading headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_INCLUDE_DEPTH = 8

MAX_HEADERS = 64

MAX_HEADER_BYTES = 1024 * 1024

MAX_TYPEDEF_CHAIN = 32

MAX_MACRO_DEPTH = 32


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


@dataclass(frozen=True)
class HelperFunction:
    """A function whose body is one `return expr;`, read like a function-like macro in expressions.

    `define` is `#define NAME(p1, p2) ((R)(expr))` with each parameter spelled `((T)(p))`: the
    conversions a call makes (arguments are evaluated once, before the call: the IR is pure).
    `defaults` are the default arguments of the trailing parameters (C++ `int lo = 0`); `deduced`
    pairs each template type parameter with every function parameter that deduces it
    (`template <class T> T Max(T a, T b)`: (T, 0), (T, 1)), spelled in `define` by its name.
    """

    define: str
    arity: int
    defaults: tuple[str, ...] = ()
    deduced: tuple[tuple[str, int], ...] = ()
