"""The core types passed between simdlens's pipeline stages.

    document text -> analysis -> Kernel -> rules | model -> Candidate -> sandbox -> Verdict + Measurement

Every stage takes and returns these frozen dataclasses, so each stage can be tested on its own and
results can be cached by content. Nothing here knows about LSP or the terminal.

Positions inside simdlens are byte-based (tree-sitter's native unit): a `Span` carries byte offsets and
0-based (line, byte-column) points. They are converted to UTF-16 / UTF-8 LSP positions only at the
edges (`simdlens.analysis.positions`, the server's position codec, the JSON report).

The loop IR itself lives in `simdlens.analysis.ir`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from simdlens.analysis.ir import CType, LoopIR

Language = Literal["c", "cpp"]
_PRAGMA_ONCE = re.compile(r"^[ \t]*#[ \t]*pragma[ \t]+once\b", re.MULTILINE)


@dataclass(frozen=True, slots=True, order=True)
class Point:
    """A 0-based line and a 0-based *byte* column within that line."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Span:
    """A range of source text: byte offsets plus the matching points."""

    start_byte: int
    end_byte: int
    start: Point
    end: Point

    def contains(self, other: Span) -> bool:
        return self.start_byte <= other.start_byte and other.end_byte <= self.end_byte


@dataclass(frozen=True, slots=True)
class TextEdit:
    """Replace the bytes of `span` in the original file with `new_text` (LSP TextEdit, byte-based)."""

    span: Span
    new_text: str


# --------------------------------------------------------------------------------------------------
# Analysis results
# --------------------------------------------------------------------------------------------------


class LoopKind(enum.StrEnum):
    FOR = "for"
    WHILE = "while"
    DO_WHILE = "do"


class LoopRole(enum.StrEnum):
    """Where a loop stands among its nest, for deciding which level to vectorize."""

    INNERMOST = "innermost"  # no loop inside: the primary candidate
    OUTER = "outer"  # an inner loop is the candidate; this level is not
    OUTER_VECTORIZABLE = "outer_vectorizable"  # perfectly nested 2-deep, inner too short/carried: vectorize here


@dataclass(frozen=True, slots=True)
class LoopSite:
    """Where a loop is: enough to find it again, to show it, and to identify it across edits."""

    path: str
    language: Language
    kind: LoopKind
    span: Span  # the whole loop statement
    header: Span  # `for (...)`, `while (...)`, or the `do` keyword: where diagnostics go
    body: Span
    function: str | None  # enclosing function/method name ("<lambda>" inside a lambda)
    depth: int  # 0 = outermost loop of its function
    role: LoopRole
    loop_id: str  # stable: hash of the normalised loop text + function name + occurrence index

    def __init__(self, path: str, language: Language, kind: LoopKind, span: Span, header: Span, body: Span,
                 function: str | None, depth: int, role: LoopRole, loop_id: str) -> None:  # written out: see _slot_setters
        put = _SITE_SLOTS
        put[0](self, path)
        put[1](self, language)
        put[2](self, kind)
        put[3](self, span)
        put[4](self, header)
        put[5](self, body)
        put[6](self, function)
        put[7](self, depth)
        put[8](self, role)
        put[9](self, loop_id)


class LoopVerdict(enum.StrEnum):
    VECTORIZABLE = "vectorizable"
    VECTORIZABLE_WITH_CHECKS = "vectorizable_with_checks"
    NOT_VECTORIZABLE = "not_vectorizable"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a loop got its verdict, in words a C programmer understands, pointing at source.

    `code` is a short stable keyword ("recurrence", "may_alias", "call", "break", "goto", ...): tests,
    the scan table and the server's diagnostic codes key on it; `message` is the sentence shown.
    """

    code: str
    message: str
    span: Span | None = None

    def __init__(self, code: str, message: str, span: Span | None = None) -> None:  # written out: see _slot_setters
        put = _REASON_SLOTS
        put[0](self, code)
        put[1](self, message)
        put[2](self, span)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What simdlens understood about one loop."""

    site: LoopSite
    verdict: LoopVerdict
    reasons: tuple[Reason, ...]
    loop: LoopIR | None  # None when the loop could not be normalised (the reasons say why)
    # Facts later stages key on: "float_reduction" (vectorizing reassociates), "search", "gather",
    # "scatter", "compress", "peel", "split", "outer", "guarded_load", "fma_call", ...
    facts: frozenset[str] = frozenset()
    # Pointer pairs that may overlap and need a runtime overlap check (vectorizable_with_checks).
    alias_checks: tuple[tuple[str, str], ...] = ()
    # Largest vector length (in lanes) the dependences allow; None = unlimited.
    max_lanes: int | None = None

    def __init__(self, site: LoopSite, verdict: LoopVerdict, reasons: tuple[Reason, ...], loop: LoopIR | None,
                 facts: frozenset[str] = frozenset(), alias_checks: tuple[tuple[str, str], ...] = (),
                 max_lanes: int | None = None) -> None:  # written out: see _slot_setters
        put = _ANALYSIS_SLOTS
        put[0](self, site)
        put[1](self, verdict)
        put[2](self, reasons)
        put[3](self, loop)
        put[4](self, facts)
        put[5](self, alias_checks)
        put[6](self, max_lanes)


def _slot_setters(cls: type) -> tuple[Callable[[object, object], None], ...]:
    """The setters of a slotted dataclass's fields, in order. The analysis makes a LoopSite, an Analysis
    and a few Reasons per loop (thousands per file); a frozen dataclass's generated __init__ sets each
    field with object.__setattr__ by name, and filling the slots directly takes a fifth of the time
    (tests/analysis/test_ir.py checks these __init__s take exactly the fields)."""
    return tuple(cls.__dict__[f.name].__set__ for f in fields(cls))


_SITE_SLOTS = _slot_setters(LoopSite)
_REASON_SLOTS = _slot_setters(Reason)
_ANALYSIS_SLOTS = _slot_setters(Analysis)


# --------------------------------------------------------------------------------------------------
# Kernels: the scalar reference a rewrite is tested against
# --------------------------------------------------------------------------------------------------


class ParamRole(enum.StrEnum):
    IN = "in"  # array read only
    OUT = "out"  # array written only
    INOUT = "inout"  # array read and written
    SCALAR = "scalar"  # loop-invariant scalar passed by value
    COUNT = "count"  # a scalar the trip count depends on (the harness chooses it)
    RESULT = "result"  # pointer to one element receiving a result (when a kernel has several)
    EXTENT = "extent"  # a VLA row length only the array's type reads (`double (*A)[nk]`; the harness sets it)


@dataclass(frozen=True)
class KernelParam:
    name: str  # the parameter name inside the kernel function
    decl: str  # its full C declaration, e.g. "const float *restrict b", "int n"
    role: ParamRole
    elem: CType | None  # element type of an array / pointee, or the scalar's type
    restrict: bool = False
    source: str = ""  # the user's expression this parameter stands for ("p->x", "a[i]"); "" = same name
    # The declaration spelled from the user's own declaration ("const sample32f_t *a", "REAL s"): what the
    # kernel function's signature uses. "" = not found; `decl` (simdlens's canonical reading) is used.
    spelled: str = ""

    @property
    def signature_decl(self) -> str:
        """How the kernel function declares this parameter: the user's spelling when known."""
        return self.spelled or self.decl


@dataclass(frozen=True)
class TypeFact:
    """One assumption about a type, asserted at compile time wherever a kernel or a rewrite is built.

    `expr` is a C expression valid inside the kernel function (its parameters are in scope) whose type
    is assumed: "c[0]", "n", "((const struct S *)0)->x[0]". `type` is a canonical element type
    (`CType.name`: int8 .. uint64, float, double) or "bool". `subject` names it for the user: "c[]".
    """

    expr: str
    type: str
    subject: str


@dataclass(frozen=True)
class UserContext:
    """The user's own file up to the declaration that holds the loop: what a kernel is compiled after,
    so that the reference is the user's code with the user's includes, macros, typedefs and declarations.

    `source` is the document's bytes (shared by every kernel of the file, not copied); `end` is where the
    kept prefix ends; `closers` closes what is still open there (namespaces, `extern "C" {`, `#if`s).
    `digest` identifies the declarations of the prefix (function bodies the loop does not call and
    comments do not count), so an edit elsewhere in a function above does not change the kernel.
    """

    source: bytes
    end: int
    closers: str
    language: Language
    path: str
    digest: str

    def text(self) -> str:
        prefix = self.source[:self.end].decode("utf-8", "replace")
        prefix = _PRAGMA_ONCE.sub("", prefix)  # a header scanned on its own: not "in the main file"
        name = self.path.replace("\\", "/").replace('"', "")
        return (f'#define main simdlens_user_main\n#line 1 "{name}"\n{prefix}\n'
                f"#line 1 \"simdlens-context\"\n{self.closers}#undef main\n")


@dataclass(frozen=True)
class Footprint:
    """The elements of one array parameter the scalar loop may touch, as C expressions over the
    kernel's COUNT/SCALAR parameters: indices lo..hi inclusive, relative to the pointer passed.

    `lo` can be negative (`a[i-1]`): the harness then passes a pointer -lo elements into its buffer.
    """

    param: str
    lo: str
    hi: str
    # True when only some of these elements are read (guarded by a condition): speculative reads
    # of the others are errors the harness must catch.
    guarded: bool = False
    # The values of this (index) array are subscripts into the named parameter (gather/scatter):
    # the harness fills it with indices inside that parameter's footprint.
    indexes: str = ""


@dataclass(frozen=True)
class Kernel:
    """A stand-alone scalar C/C++ function equivalent to one loop, plus what a harness needs."""

    name: str  # function name, e.g. "simdlens_kernel"
    language: Language
    preamble: str  # #includes, #defines, typedefs the function needs
    source: str  # the complete function definition (the reference)
    signature: str  # "float simdlens_kernel(const float *a, int n, float s)"
    return_type: CType | None  # None for void
    params: tuple[KernelParam, ...]
    footprints: tuple[Footprint, ...]
    trip_count: str  # C expression over the params
    loop_id: str
    content_hash: str  # whitespace/comment-insensitive hash of preamble + source
    # Facts copied from the analysis that decide tolerances and caveats.
    facts: frozenset[str] = frozenset()
    # Pairs of array params the user's code may pass overlapping (no restrict): the harness also
    # tests them at small positive and negative offsets.
    may_alias: tuple[tuple[str, str], ...] = ()
    # The loop's own text in the user's file (what an edit replaces).
    loop_span: Span | None = None
    # The COUNT parameter a harness sets to choose the problem size (trip count grows with it);
    # None when the trip count is a constant. Other COUNT params get small values (0..4).
    size_param: str | None = None
    path: str = ""  # the user's file, for looking up its compile flags
    # The largest size_param the arrays' declared extents allow (`double A[100][200]` with `j < n`:
    # 200); the harness never tests or times past it. None = no declared limit.
    size_max: int | None = None
    # The user's file context the sandbox compiles the kernel after (None: only the synthesised
    # `preamble`). See docs/sandbox.md, "The reference".
    context: UserContext | None = None
    # What the harness assumes about the types of the parameters (element kinds, sizes, signedness):
    # asserted at compile time in every build of this kernel.
    type_facts: tuple[TypeFact, ...] = ()
    # Values of `size_param` the code itself uses (the declared extent of the arrays it walks): timed
    # besides the cache presets, and they decide a win. A constant trip count is its own real size.
    real_sizes: tuple[int, ...] = ()
    # The loop nest around this (inner) loop, when the analysis knows its outer loop: a kernel whose
    # function runs the outer loop as the user wrote it around a call of `simdlens_inner` (this kernel's
    # function, or a candidate's). The benchmark times the nest, so a rewrite is judged where it runs.
    nest: Kernel | None = None
    # A nest kernel's other bounds that the benchmark sets to the size too (`m` of `j < m` beside `n`).
    also_size: tuple[str, ...] = ()
    # (k, c): the elements run grow as c * size**k (a nest over n x n: (2, 1); 256 rows of n: (1, 256)),
    # so the benchmark presets (element counts) become sizes round((preset / c) ** (1 / k)).
    size_scale: tuple[int, int] = (1, 1)
    # (subscript, extent) of the inner dimensions of 3-D and deeper arrays (`A[i][j][k]` of
    # `T A[n][q][p]`: ("j", "q")): the user's loop needs 0 <= j < q, so the harness skips other cases.
    index_bounds: tuple[tuple[str, str], ...] = ()
    # (parameter, unit as C) of the run-time strides a rewrite guards as unit (`incx`, "1"): the harness gives
    # them the unit in half of the cases (the rewrite's vector path) and other strides in the rest (its fallback).
    unit_strides: tuple[tuple[str, str], ...] = ()
    # (parameter, bytes) of byte arrays the loop reads through a cast (`*(float *)p` of a `char *p`): their
    # pointers must stay aligned to that size, also where the harness makes two of them overlap.
    views: tuple[tuple[str, int], ...] = ()
    # A search loop that returns a pointer (`return &a[i];`, `return p;`): the array parameter it points
    # into. The kernel returns `const void *`; the harness compares the element's offset in that array.
    returns_address_in: str = ""
    # In a function template: the C++ condition of the one instantiation the kernel stands for
    # (`std::is_same<T, float>::value && N == (64)`); an edit compiles its vector code only under it.
    instantiation: str = ""


# --------------------------------------------------------------------------------------------------
# Candidates, verdicts and measurements
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One proposed vector rewrite of a kernel."""

    kernel_hash: str
    isa: str  # "avx2", "avx512", "sse4"
    origin: str  # "rules:<rule>" or "model:<name>"
    function: str  # complete C definition with the kernel's exact signature: what the sandbox tests
    edits: tuple[TextEdit, ...]  # what the code action applies to the user's file
    caveats: tuple[str, ...] = ()  # "reassociates floating-point additions", "needs -mavx2", ...
    flags: tuple[str, ...] = ()  # ISA flags the candidate needs, e.g. ("-mavx2", "-mfma")
    support: str = ""  # extra top-level C code the function needs (static helpers), compiled before it
    # The type assumptions the rewrite relies on (element types of what it loads and stores with a
    # given intrinsic, scalar types): asserted at compile time in the candidate's build.
    type_facts: tuple[TypeFact, ...] = ()

    @property
    def key(self) -> str:
        """A short identity for logs and caches (not a security hash)."""
        import hashlib

        facts = "".join(f"\0{f.expr}\1{f.type}" for f in self.type_facts)  # a different assumption is another test
        return hashlib.sha256(f"{self.isa}\0{self.origin}\0{self.support}\0{self.function}{facts}".encode()).hexdigest()[:16]


class Status(enum.StrEnum):
    VERIFIED = "verified"
    MISMATCH = "mismatch"
    COMPILE_ERROR = "compile_error"
    CRASH = "crash"
    SANITIZER = "sanitizer"
    TIMEOUT = "timeout"
    UNSUPPORTED_CPU = "unsupported_cpu"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Counterexample:
    size: int
    seed: int
    array: str  # parameter name, or "return"
    index: int
    expected: str
    got: str
    overlap: int | None = None  # pointer offset when the failure needs overlapping arguments


@dataclass(frozen=True)
class CompileDiagnostic:
    line: int  # 1-based line within the candidate's function text (0 if unknown)
    column: int
    severity: str  # "error" / "warning"
    message: str


@dataclass(frozen=True)
class Verdict:
    status: Status
    detail: str = ""  # one line for the user
    counterexample: Counterexample | None = None
    diagnostics: tuple[CompileDiagnostic, ...] = ()


@dataclass(frozen=True)
class Ratio:
    """A speedup: median of per-process ratios, with the min..max across processes."""

    median: float
    lo: float
    hi: float
    runs: int

    @property
    def spread(self) -> float:
        return (self.hi - self.lo) / self.median if self.median else 0.0

    @property
    def noisy(self) -> bool:
        return self.spread > 0.10


@dataclass(frozen=True)
class SizeMeasurement:
    n: int
    label: str  # "L1", "L2", "memory"
    ns_per_element: dict[str, float] = field(default_factory=dict)  # variant -> median ns/element
    vs_scalar: Ratio | None = None
    vs_user_flags: Ratio | None = None
    # Over the rewrite's slower build per process (sandbox/bench.py): the two below, whose lower one a
    # program built at either set of flags could see; this one is quoted and judged (summary.py).
    vs_native_autovec: Ratio | None = None
    memory_bound: bool = False
    # A size the code itself uses (a constant trip count, its arrays' declared extent, a nest's constant
    # bounds), not only a cache preset: such sizes decide whether a rewrite is a win (summary.py).
    real: bool = False
    # -O3 -march=native over the rewrite built at the user's flags, and over the rewrite built at
    # -O3 -march=native itself (None: measured before the sandbox built it twice).
    vs_native_user_build: Ratio | None = None
    vs_native_native_build: Ratio | None = None

    def __hash__(self) -> int:  # dict field: hash by identity of the numbers that matter
        return hash((self.n, self.label, self.vs_scalar, self.vs_user_flags, self.vs_native_autovec, self.real,
                     self.vs_native_user_build, self.vs_native_native_build))


@dataclass(frozen=True)
class Measurement:
    sizes: tuple[SizeMeasurement, ...]
    compiler: str  # "gcc 12.2.0"
    cpu: str  # model name
    user_flags: tuple[str, ...]
    date: str  # ISO 8601
    host: str = ""


@dataclass(frozen=True)
class CandidateResult:
    candidate: Candidate
    verdict: Verdict
    measurement: Measurement | None = None
    cached: bool = False


@dataclass(frozen=True, slots=True)
class LoopReport:
    """Everything known about one loop: the unit the CLI prints and the server shows."""

    analysis: Analysis
    kernel: Kernel | None
    results: tuple[CandidateResult, ...] = ()
    # Why there is no candidate (e.g. "rules: gather with possible index conflicts is not supported").
    notes: tuple[str, ...] = ()
