"""The loop IR: one counted loop normalised to what a vectorizer needs to know.

A loop becomes

    for (iv = lower; iv <cmp> upper; iv += step) body

where `body` is a sequence of statements over scalars and array `Access`es whose subscripts are
affine in `iv` where possible. Every expression carries its C type *after* C's usual conversions: the
builder inserts the implicit `Cast`s (integer promotion of `uint8_t + uint8_t` to `int`, int -> float
in mixed arithmetic, the conversion on assignment), so a lowering that follows the IR node by node
keeps C's semantics.

Scalars get roles (see `ScalarRole`): reductions, inductions and carried values appear in the body as
their own statement kinds, so that a lowering never has to rediscover them.

Expressions and statements are frozen dataclasses; tuples, never lists.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal, TypeAlias

from simdlens.core import Span

# The IR nodes the builder makes (thousands per file; a `LoopIR` per loop) write their `__init__` out:
# compiled, it is a native __init__ ~20x faster than the one `dataclass` generates, which mypyc leaves
# to the interpreter. The dataclass keeps everything else (frozen, eq, hash, repr, replace);
# tests/analysis/test_ir.py checks that each written-out __init__ takes exactly the fields, with their
# defaults.

# --------------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CType:
    """A scalar element type: the machine type plus how the user spelled it.

    `name` is canonical: int8 uint8 int16 uint16 int32 uint32 int64 uint64 float double.
    C's `char` is signed on x86-64 (name int8), `_Bool`/`bool` is uint8 with `is_bool`.
    `is_complex` marks a complex number whose real and imaginary parts are each `name` (`_Complex float`,
    `std::complex<double>`, any typedef of them): two lanes per element, never an ordinary scalar.
    `FileContext.resolve_type` never returns one; `FileContext.complex_type` does.
    """

    name: str
    spelling: str = ""  # "unsigned char", "uint8_t", "pixel_t" - for generated declarations
    # A complex number (`float complex`, `_Complex double`, `std::complex<float>`, a typedef of one):
    # `name` is then the type of its real and imaginary parts.
    is_complex: bool = False

    @property
    def is_float(self) -> bool:
        return self.name in ("float", "double")

    @property
    def bits(self) -> int:
        if self.name == "float":
            return 32
        if self.name == "double":
            return 64
        return int(self.name.lstrip("uint"))

    @property
    def signed(self) -> bool:
        return self.is_float or not self.name.startswith("u")

    @property
    def c(self) -> str:
        """A spelling that compiles with only <stdint.h>: the user's if it is a builtin, else canonical."""
        return _C_SPELLING[self.name]


_C_SPELLING = {
    "int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "uint16": "uint16_t",
    "int32": "int32_t", "uint32": "uint32_t", "int64": "int64_t", "uint64": "uint64_t",
    "float": "float", "double": "double",
}

INT32 = CType("int32", "int")
UINT32 = CType("uint32", "unsigned")
INT64 = CType("int64", "long")
UINT64 = CType("uint64", "size_t")
FLOAT = CType("float", "float")
DOUBLE = CType("double", "double")


# --------------------------------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Const:
    value: int | float
    type: CType
    text: str = ""  # as written ("1.0f", "0x80", "LEN")

    def __init__(self, value: int | float, type: CType, text: str = "") -> None:  # written out: see the top of the module
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "text", text)


@dataclass(frozen=True, slots=True)
class Var:
    """A scalar read: a loop-invariant value, a body-local temporary, or a reduction/induction/carried
    variable (its role is in `LoopIR.scalars`)."""

    name: str
    type: CType

    def __init__(self, name: str, type: CType) -> None:  # written out: see the top of the module
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "type", type)


@dataclass(frozen=True, slots=True)
class IV:
    """The induction variable's value itself (as in `a[i] = i * k`)."""

    name: str
    type: CType

    def __init__(self, name: str, type: CType) -> None:  # written out: see the top of the module
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "type", type)


@dataclass(frozen=True, slots=True)
class Access:
    """An array element: `base[coeff*iv + offset + symbolic]`.

    `base` is C text for a pointer that is invariant in the loop ("a", "img[y]", "p->x", "v.data()");
    `root` is the variable the storage belongs to ("a", "img", "p", "v"), which dependence and alias
    tests compare. For a subscript that is not affine in `iv` (gather/scatter, `a[idx[i]]`, `a[i*i]`),
    `coeff` is None and `index` holds the subscript expression.
    """

    root: str
    base: str
    elem: CType
    coeff: int | None
    offset: int = 0
    symbolic: str = ""  # loop-invariant, non-constant part of the subscript as C text ("r*cols")
    index: Expr | None = None
    span: Span | None = None
    # A run-time stride (`x[i*incx]`, `x[ix]` with `ix += incx`): the access really is
    # `base[coeff*stride*iv + ...]`; the IR reads it with stride 1, which `LoopIR.unit_strides` assumes
    stride: str = ""

    def __init__(self, root: str, base: str, elem: CType, coeff: int | None, offset: int = 0, symbolic: str = "",
                 index: Expr | None = None, span: Span | None = None,
                 stride: str = "") -> None:  # written out: see the top of the module
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "elem", elem)
        object.__setattr__(self, "coeff", coeff)
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "symbolic", symbolic)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "span", span)
        object.__setattr__(self, "stride", stride)

    @property
    def affine(self) -> bool:
        return self.coeff is not None


@dataclass(frozen=True, slots=True)
class Load:
    access: Access

    def __init__(self, access: Access) -> None:  # written out: see the top of the module
        object.__setattr__(self, "access", access)

    @property
    def type(self) -> CType:
        return self.access.elem


UnaryOp = Literal["-", "~", "!", "abs"]
BinaryOp = Literal["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "&&", "||",
                   "<", "<=", ">", ">=", "==", "!="]


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # UnaryOp
    operand: Expr
    type: CType

    def __init__(self, op: str, operand: Expr, type: CType) -> None:  # written out: see the top of the module
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "operand", operand)
        object.__setattr__(self, "type", type)


@dataclass(frozen=True, slots=True)
class Binary:
    """`lhs op rhs`, both operands already converted to `type` (comparisons: to the compared type,
    and the result type is int32 as in C; see `operand_type`)."""

    op: str  # BinaryOp
    lhs: Expr
    rhs: Expr
    type: CType

    def __init__(self, op: str, lhs: Expr, rhs: Expr, type: CType) -> None:  # written out: see the top of the module
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "lhs", lhs)
        object.__setattr__(self, "rhs", rhs)
        object.__setattr__(self, "type", type)

    @property
    def operand_type(self) -> CType:
        return expr_type(self.lhs)


@dataclass(frozen=True, slots=True)
class Select:
    """`cond ? then : else_` (also what an if-converted assignment becomes)."""

    cond: Expr
    then: Expr
    else_: Expr
    type: CType

    def __init__(self, cond: Expr, then: Expr, else_: Expr,
                 type: CType) -> None:  # written out: see the top of the module
        object.__setattr__(self, "cond", cond)
        object.__setattr__(self, "then", then)
        object.__setattr__(self, "else_", else_)
        object.__setattr__(self, "type", type)


@dataclass(frozen=True, slots=True)
class Call:
    """A call to a known pure function (see `simdlens.analysis.mathcalls`): sqrtf, fabsf, fminf, fma..."""

    func: str
    args: tuple[Expr, ...]
    type: CType

    def __init__(self, func: str, args: tuple[Expr, ...],
                 type: CType) -> None:  # written out: see the top of the module
        object.__setattr__(self, "func", func)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "type", type)


@dataclass(frozen=True, slots=True)
class Cast:
    """A conversion, explicit in the source or inserted by C's rules (`implicit`)."""

    operand: Expr
    type: CType
    implicit: bool = False

    def __init__(self, operand: Expr, type: CType, implicit: bool = False) -> None:  # written out: see the top of the module
        object.__setattr__(self, "operand", operand)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "implicit", implicit)


Expr: TypeAlias = Const | Var | IV | Load | Unary | Binary | Select | Call | Cast


def expr_type(e: Expr) -> CType:
    if isinstance(e, Load):
        return e.access.elem
    return e.type


# --------------------------------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Store:
    """`access = value` (compound assignments are expanded: `a[i] += x` stores `a[i] + x`)."""

    access: Access
    value: Expr
    span: Span | None = None

    def __init__(self, access: Access, value: Expr, span: Span | None = None) -> None:  # written out: see the top of the module
        object.__setattr__(self, "access", access)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "span", span)


@dataclass(frozen=True, slots=True)
class Let:
    """A body-local temporary, defined before use in every iteration: `float t = a[i] * k;`."""

    name: str
    type: CType
    value: Expr
    span: Span | None = None

    def __init__(self, name: str, type: CType, value: Expr,
                 span: Span | None = None) -> None:  # written out: see the top of the module
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "span", span)


class ReduceOp(enum.StrEnum):
    ADD = "+"
    SUB = "-"  # s -= x
    MUL = "*"
    AND = "&"
    OR = "|"
    XOR = "^"
    MIN = "min"
    MAX = "max"


@dataclass(frozen=True, slots=True)
class Reduce:
    """`var = var op value`. For MIN/MAX, `cmp` records the scalar form exactly, because NaN and
    signed-zero behaviour depend on it: the update is `var = (value <cmp> var) ? value : var`
    ("<", "<=", ">", ">="), or `cmp == "fmin"/"fmax"` for the library calls (NaN ignored)."""

    var: str
    op: ReduceOp
    value: Expr
    type: CType
    cmp: str = ""
    span: Span | None = None
    # Set when the reduction accumulates into memory at a loop-invariant subscript
    # (`c[i][j] += a[i][k] * b[k][j]` in the k loop) instead of a scalar; `var` is then its C text.
    access: Access | None = None

    def __init__(self, var: str, op: ReduceOp, value: Expr, type: CType, cmp: str = "", span: Span | None = None,
                 access: Access | None = None) -> None:  # written out: see the top of the module
        object.__setattr__(self, "var", var)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "cmp", cmp)
        object.__setattr__(self, "span", span)
        object.__setattr__(self, "access", access)


@dataclass(frozen=True, slots=True)
class ArgReduce:
    """`if (value <cmp> best) { best = value; best_index = iv; }`: argmin/argmax.
    With a strict `cmp` ("<" / ">") the first index wins ties, as in the scalar loop.
    Written against the array (`if (x[i] > x[best]) best = i;`), no variable keeps the best value:
    `value_var` is "" and `at_index` is the compared value at the index's current value (`x[best]`)."""

    value_var: str
    index_var: str
    cmp: str
    value: Expr
    index: Expr  # usually IV(...)
    type: CType
    span: Span | None = None
    at_index: Expr | None = None
    # Other variables the branch sets to loop-invariant values (`xindex = i;` beside `yindex = j;` in the
    # j loop of a matrix argmax): set after the loop when the best changed in it.
    also: tuple[tuple[str, Expr], ...] = ()
    # "fmax"/"fmin" for ggml's `m = fmaxf(m, v); if (m == v) k = i;` (cmp ">="/"<="): a NaN start is dropped
    # for the first number, which a lane's compare would not do
    call: str = ""
    # whether the best value can be read after the loop (a function local that is never mentioned again cannot)
    value_read: bool = True


@dataclass(frozen=True, slots=True)
class Step:
    """A linear induction: `var += step` (step loop-invariant). Its position in the body matters:
    uses of `var` before this statement see the value before the increment."""

    var: str
    step: Expr
    type: CType
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Carry:
    """A value carried into the next iteration that can be peeled: `prev = value;` at the end of the
    body, where uses of `var` earlier in the body read the previous iteration's value."""

    var: str
    value: Expr
    type: CType
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class LastValue:
    """`var = value;` under the enclosing `If`'s condition, `var` read nowhere in the body: after the loop
    it holds the value of the last iteration whose condition held (its entry value if none did)."""

    var: str
    value: Expr
    type: CType
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Running:
    """`var = factor * var + value;` on every iteration (factor None: `var += value`), with `var` also read
    in the body: a running sum or first-order linear recurrence carried in a scalar (`s += a[i]; b[i] = s;`).
    Reads before this statement see the previous iteration's value, reads after it this iteration's;
    `value` and `factor` do not read `var`."""

    var: str
    value: Expr
    type: CType
    factor: Expr | None = None
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """`var = value;` under the enclosing `If`'s condition, with `var` also read in the body: every
    iteration sees the value of the last iteration so far whose condition held (a "last value seen",
    `if (a[i] > 0) x = a[i]; b[i] = x;`), its entry value before the first."""

    var: str
    value: Expr
    type: CType
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class If:
    cond: Expr
    then: tuple[Stmt, ...]
    else_: tuple[Stmt, ...] = ()
    span: Span | None = None

    def __init__(self, cond: Expr, then: tuple[Stmt, ...], else_: tuple[Stmt, ...] = (),
                 span: Span | None = None) -> None:  # written out: see the top of the module
        object.__setattr__(self, "cond", cond)
        object.__setattr__(self, "then", then)
        object.__setattr__(self, "else_", else_)
        object.__setattr__(self, "span", span)


@dataclass(frozen=True, slots=True)
class Exit:
    """Leave the loop when `cond` holds: `break`, or `return value`. Search loops."""

    cond: Expr
    kind: Literal["break", "return"]
    value: Expr | None = None
    span: Span | None = None
    # `if (c) { var = value; break; }`: the scalar that receives `value` on the way out ("" = none).
    var: str = ""
    # `return &a[i];`, `return a + i;`, `return p;` (p walking): the address of the element `value` loads
    address: bool = False

    def __init__(self, cond: Expr, kind: Literal["break", "return"], value: Expr | None = None,
                 span: Span | None = None, var: str = "", address: bool = False) -> None:  # written out: see the top of the module
        object.__setattr__(self, "cond", cond)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "span", span)
        object.__setattr__(self, "var", var)
        object.__setattr__(self, "address", address)


@dataclass(frozen=True, slots=True)
class Pack:
    """`if (cond) dst[counter++] = value;`: compress/pack with a running output counter."""

    cond: Expr
    dst: Access  # coeff None: the subscript is `counter`
    counter: str
    value: Expr
    span: Span | None = None
    lead: int = 0  # 1 when the counter steps before the store (`{ j++; dst[j] = value; }`): dst[counter + 1]

    def __init__(self, cond: Expr, dst: Access, counter: str, value: Expr,
                 span: Span | None = None, lead: int = 0) -> None:  # written out: see the top of the module
        object.__setattr__(self, "cond", cond)
        object.__setattr__(self, "dst", dst)
        object.__setattr__(self, "counter", counter)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "span", span)
        object.__setattr__(self, "lead", lead)


@dataclass(frozen=True, slots=True)
class Expand:
    """`if (cond) dst[i] = src[counter++];` (with `else dst[i] = fill;` when `fill`): unpack/expand, the
    inverse of `Pack`: consecutive elements of src go to the selected elements of dst."""

    cond: Expr
    dst: Access  # contiguous
    src: Access  # coeff None: the subscript is `counter`
    counter: str
    fill: Expr | None = None
    span: Span | None = None
    lead: int = 0  # 1 when the counter steps before the read (`{ j++; dst[i] = src[j]; }`): src[counter + 1]


Stmt: TypeAlias = Store | Let | Reduce | ArgReduce | Step | Carry | LastValue | Running | Hold | If | Exit | Pack | Expand


# --------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------


class ScalarRole(enum.StrEnum):
    INVARIANT = "invariant"  # read, never written in the loop
    LOCAL = "local"  # Let temporary
    REDUCTION = "reduction"
    INDUCTION = "induction"  # Step
    CARRIED = "carried"  # Carry (peelable)
    ARG_VALUE = "arg_value"  # ArgReduce's best value
    ARG_INDEX = "arg_index"  # ArgReduce's index
    COUNTER = "counter"  # Pack's output counter
    LAST = "last"  # LastValue: assigned under a condition, the last assignment wins
    RUNNING = "running"  # Running: a scan carried in a scalar, read in the body
    HELD = "held"  # Hold: set under a condition and read in the body
    RECURRENCE = "recurrence"  # written from its own previous value in a way nothing above covers


@dataclass(frozen=True, slots=True)
class Scalar:
    name: str
    type: CType
    role: ScalarRole
    live_out: bool = False  # its value after the loop is used (kernel returns it)
    decl: str = ""  # the user's declaration text, if in the file

    def __init__(self, name: str, type: CType, role: ScalarRole, live_out: bool = False, decl: str = "") -> None:  # written out: see the top of the module
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "role", role)
        object.__setattr__(self, "live_out", live_out)
        object.__setattr__(self, "decl", decl)


@dataclass(frozen=True, slots=True)
class Array:
    """Storage reached through a root variable."""

    root: str
    elem: CType
    pointer: bool  # a pointer (may alias others) vs an array object (global/local/member array)
    restrict: bool = False
    const: bool = False
    is_global: bool = False
    is_param: bool = False
    volatile: bool = False
    extent: str = ""  # declared element count when known ("N", "1024")
    decl: str = ""  # declaration text
    bytes_copied: bool = False  # memcpy reads or writes its bytes: strict aliasing does not separate it
    # an array of structures read as a flat array of `elem` (build/structures.py): elements per structure
    # (0: not one), the structure's spelling and size in bytes, and the members the loop touches with
    # their byte offsets, all asserted at compile time wherever the kernel or a rewrite is built
    record: int = 0
    record_type: str = ""
    record_bytes: int = 0
    members: tuple[tuple[str, int], ...] = ()

    def __init__(self, root: str, elem: CType, pointer: bool, restrict: bool = False, const: bool = False,
                 is_global: bool = False, is_param: bool = False, volatile: bool = False, extent: str = "",
                 decl: str = "", bytes_copied: bool = False, record: int = 0, record_type: str = "",
                 record_bytes: int = 0, members: tuple[tuple[str, int], ...] = ()
                 ) -> None:  # written out: see the top of the module
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "elem", elem)
        object.__setattr__(self, "pointer", pointer)
        object.__setattr__(self, "restrict", restrict)
        object.__setattr__(self, "const", const)
        object.__setattr__(self, "is_global", is_global)
        object.__setattr__(self, "is_param", is_param)
        object.__setattr__(self, "volatile", volatile)
        object.__setattr__(self, "extent", extent)
        object.__setattr__(self, "decl", decl)
        object.__setattr__(self, "bytes_copied", bytes_copied)
        object.__setattr__(self, "record", record)
        object.__setattr__(self, "record_type", record_type)
        object.__setattr__(self, "record_bytes", record_bytes)
        object.__setattr__(self, "members", members)

    def with_record(self, record: int, record_type: str, record_bytes: int,
                    members: tuple[tuple[str, int], ...]) -> Array:
        return Array(self.root, self.elem, self.pointer, self.restrict, self.const, self.is_global, self.is_param,
                     self.volatile, self.extent, self.decl, self.bytes_copied, record, record_type, record_bytes,
                     members)

    def whole_records(self, lo: int, hi: int) -> tuple[int, int]:
        """Element offsets `lo`..`hi` widened to the whole structures holding them (unchanged when the
        array is not one of structures): footprints and overlap checks bound whole structures."""
        if self.record <= 1:
            return lo, hi
        return lo - lo % self.record, hi - hi % self.record + self.record - 1


@dataclass(frozen=True, slots=True)
class Moved:
    """A variable declared outside the loop that the loop moves by a constant amount per iteration and
    that is read after the loop: a walking pointer (`*d++`, `d += 8`), or the count of a pointer walk
    (`n` of `while (n--)`, `for (; n >= 8; n -= 8)`, `while (blk > 0u) { ...; blk--; }`). After `t`
    iterations it holds its value on entry + `per_iteration * (t / every) + extra` (elements, for a
    pointer; `every` > 1 when a hand-unrolled body was re-rolled, t being a multiple of it), so a rewrite
    that indexes off the entry values can set it afterwards."""

    name: str
    per_iteration: int
    extra: int = 0
    pointer: bool = False
    every: int = 1


@dataclass(frozen=True, slots=True)
class InnerLoop:
    """Outer-loop vectorization (analysis/outer_vector.py): the loop every vector step of the outer
    loop runs in, scalar, as the user wrote its header; `iv` is its counter."""

    iv: str
    header: str  # `for (int j = 1; j < n; j++)`
    trip_count: str = ""  # its iteration count as C (>= 0), over names outside the nest
    guard: str = ""  # a C condition over the user's names the rewrite checks at run time (else the user's nest)
    # A triangular nest (a bound moves with the outer counter, `j = i + 1`, `j < i`): the counter's type
    # and its range [first, end) as C over the outer counter; empty otherwise.
    counter_type: str = ""
    first: str = ""
    end: str = ""
    # An imperfect nest: the outer loop's statements before and after the inner loop, in its own terms
    # (affine in the outer counter), run once per vector step around the inner loop.
    before: tuple[Stmt, ...] = ()
    after: tuple[Stmt, ...] = ()


@dataclass(frozen=True, slots=True)
class LoopIR:
    iv: str
    iv_type: CType
    lower: str  # C text of the first value of iv
    upper: str  # C text of the bound as written
    cmp: str  # "<", "<=", "!=", ">", ">="
    step: int  # +1, -1, +c, -c
    trip_count: str  # C expression for the number of iterations (>= 0)
    body: tuple[Stmt, ...]
    arrays: tuple[Array, ...]
    scalars: tuple[Scalar, ...]
    iv_declared_in_loop: bool = True  # `for (int i = ...)` vs an outside counter
    iv_live_out: bool = False  # the counter's final value is used after the loop
    # A `do … while`: the first iteration runs before the test, so `trip_count` is at least 1 (it says
    # so itself) and a scalar remainder must be counted, not re-tested with `cmp`/`upper`.
    runs_at_least_once: bool = False
    # Pointers and counts the loop moves and the code after it reads (see `Moved`); the counter then
    # is `iv` from 0 by 1, so it equals the number of iterations run when the loop ends.
    moved: tuple[Moved, ...] = ()
    # Declarations the loop's own text needs from before it, as C the kernel puts before the loop: the end
    # pointer of `while (p < end)`, spelled `const float *end = p + (n);`.
    setup: tuple[str, ...] = ()
    # Set when this is the outer loop of a nest vectorized across its counter: the body runs inside
    # this inner loop once per vector step (its accesses are affine in `iv`, the inner counter a scalar).
    inner: InnerLoop | None = None
    # The function's `const int k = 4;` the loop reads as constants (a step, a bound), declared as C the
    # kernel puts before the loop: `const int k = 4;`.
    constants: tuple[str, ...] = ()
    # The counted loops around this one, innermost first, (counter, lower, upper, cmp, step): their bounds
    # are facts about the subscripts (`j >= i` inside `for (j = i; ...)`, read by ranges.outside_walk).
    enclosing: tuple[tuple[str, str, str, str, int], ...] = ()
    # The user's body is this many hand-unrolled copies of `body`, read as one iteration each (the header
    # fields are the rolled loop's; analysis/build/reroll.py); 0 when it is not
    rolled: int = 0
    # Run-time strides the IR reads as unit, (name, unit value as C): the IR is the loop only while every
    # `name == unit` holds, so a rewrite runs its vector code under that guard and the user's loop otherwise
    unit_strides: tuple[tuple[str, str], ...] = ()

    def __init__(self, iv: str, iv_type: CType, lower: str, upper: str, cmp: str, step: int, trip_count: str,
                 body: tuple[Stmt, ...], arrays: tuple[Array, ...], scalars: tuple[Scalar, ...],
                 iv_declared_in_loop: bool = True, iv_live_out: bool = False,
                 runs_at_least_once: bool = False, moved: tuple[Moved, ...] = (), setup: tuple[str, ...] = (),
                 inner: InnerLoop | None = None,
                 constants: tuple[str, ...] = (),
                 enclosing: tuple[tuple[str, str, str, str, int], ...] = (),
                 rolled: int = 0, unit_strides: tuple[tuple[str, str], ...] = ()) -> None:  # written out: see the top
        object.__setattr__(self, "iv", iv)
        object.__setattr__(self, "iv_type", iv_type)
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        object.__setattr__(self, "cmp", cmp)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "trip_count", trip_count)
        object.__setattr__(self, "body", body)
        object.__setattr__(self, "arrays", arrays)
        object.__setattr__(self, "scalars", scalars)
        object.__setattr__(self, "iv_declared_in_loop", iv_declared_in_loop)
        object.__setattr__(self, "iv_live_out", iv_live_out)
        object.__setattr__(self, "runs_at_least_once", runs_at_least_once)
        object.__setattr__(self, "moved", moved)
        object.__setattr__(self, "setup", setup)
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "constants", constants)
        object.__setattr__(self, "enclosing", enclosing)
        object.__setattr__(self, "rolled", rolled)
        object.__setattr__(self, "unit_strides", unit_strides)

    def array(self, root: str) -> Array | None:
        for a in self.arrays:
            if a.root == root:
                return a
        return None

    def scalar(self, name: str) -> Scalar | None:
        for s in self.scalars:
            if s.name == name:
                return s
        return None


def walk_exprs(e: Expr) -> tuple[Expr, ...]:
    """`e` and every sub-expression, pre-order."""
    out: list[Expr] = []
    stack: list[Expr] = [e]
    pop, push, add = stack.pop, stack.append, out.append
    while stack:
        x = pop()
        add(x)
        t = type(x)  # IR classes are final: comparing types is exact and cheaper than isinstance
        if t is Binary:
            stack.extend((x.rhs, x.lhs))  # type: ignore[union-attr]
        elif t is Cast or t is Unary:
            push(x.operand)  # type: ignore[union-attr]
        elif t is Load:
            if x.access.index is not None:  # type: ignore[union-attr]
                push(x.access.index)  # type: ignore[union-attr]
        elif t is Select:
            stack.extend((x.else_, x.then, x.cond))  # type: ignore[union-attr]
        elif t is Call:
            stack.extend(reversed(x.args))  # type: ignore[union-attr]
    return tuple(out)


def substitute_var(e: Expr, name: str, value: Expr) -> Expr | None:
    """`e` with every read of `name` replaced by `value` (None where that is not simple: an index)."""
    if isinstance(e, Var):
        return value if e.name == name else e
    if isinstance(e, Const | IV):
        return e
    if isinstance(e, Load):
        index = e.access.index
        return e if index is None or not any(isinstance(x, Var) and x.name == name for x in walk_exprs(index)) \
            else None
    if isinstance(e, Cast):
        inner = substitute_var(e.operand, name, value)
        return None if inner is None else Cast(inner, e.type, e.implicit)
    if isinstance(e, Unary):
        inner = substitute_var(e.operand, name, value)
        return None if inner is None else Unary(e.op, inner, e.type)
    if isinstance(e, Binary):
        lhs, rhs = substitute_var(e.lhs, name, value), substitute_var(e.rhs, name, value)
        return None if lhs is None or rhs is None else Binary(e.op, lhs, rhs, e.type)
    if isinstance(e, Select):
        parts = [substitute_var(x, name, value) for x in (e.cond, e.then, e.else_)]
        if any(x is None for x in parts):
            return None
        return Select(parts[0], parts[1], parts[2], e.type)  # type: ignore[arg-type]
    if isinstance(e, Call):
        args = [substitute_var(x, name, value) for x in e.args]
        return None if any(x is None for x in args) else Call(e.func, tuple(args), e.type)  # type: ignore[arg-type]
    return None


def walk_stmts(body: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
    """Every statement, including those nested in `If`, pre-order."""
    out: list[Stmt] = []
    for s in body:
        out.append(s)
        if isinstance(s, If):
            out.extend(walk_stmts(s.then))
            out.extend(walk_stmts(s.else_))
    return tuple(out)



def exclusive_ifs(x: Stmt, y: Stmt, written: Collection[str], fixed: Callable[[str], bool]) -> bool:
    """`x` is `if (c)` and `y` `if (!c)` or the other way round (an if/else written with forward gotos, TSVC
    s161), `c` reading no array in `written` and only variables `fixed` accepts: no iteration runs both."""
    if not isinstance(x, If) or not isinstance(y, If) or x.else_ or y.else_:
        return False
    a, b = x.cond, y.cond
    if not ((isinstance(b, Unary) and b.op == "!" and b.operand == a) or
            (isinstance(a, Unary) and a.op == "!" and a.operand == b)):
        return False
    for e in walk_exprs(a):
        if (isinstance(e, Load) and e.access.root in written) or (isinstance(e, Var) and not fixed(e.name)):
            return False
    return True
