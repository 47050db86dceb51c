"""A loop in its nest: the outer loop around an inner loop's kernel, so the benchmark times the nest.

A rewrite of an inner loop can win alone and lose where it runs: the compiler may vectorize the whole
nest differently (across the outer index), the real trip counts may be short, the real strides may
thrash the cache. When the inner loop's only enclosing statement is a counted `for` whose bounds the
analysis can read, its kernel gets a *nest kernel* (`Kernel.nest`): a function with the same arrays
whose body is the outer loop as the user wrote it, calling `simdlens_inner(...)` (the inner kernel's
function, or a candidate's) once per outer iteration. The sandbox times that function for every
variant, so the outer loop, its strides and its trip counts are part of what is measured.

Handled (the common 2-level nest): an outer `for (T v = lo; v CMP hi; v++ / v-- / v += c / v -= c)`
whose bounds are constants (macros, literals), integer parameters or macros naming them (`_PB_N`), its
body the inner loop, possibly beside other statements and loops (atax's two inner loops: those are
not timed); an inner kernel with or without results (a returned one is kept in a volatile); its trip
count may depend on `v` (a triangle: the elements are then the rows' mean length times their
number). The size of the nest: constant
bounds make a constant nest (timed once, at its real size); a parameter bound is set to the size as
the inner loop's is, and `Kernel.size_scale` says how the elements grow with it, so the presets (4K,
64K, 1M elements) stay element counts of the whole nest.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any

from simdlens.analysis.ir import INT32, INT64, UINT32, UINT64, CType, LoopIR
from simdlens.analysis.parse import normalized_tokens
from simdlens.core import Footprint, Kernel, KernelParam, ParamRole

INNER_NAME = "simdlens_inner"  # what the nest function calls; the sandbox defines it per variant
_HEADER = re.compile(
    r"for\s*\(\s*(?:(?P<type>[A-Za-z_][\w\s]*?)\s+)?(?P<iv>[A-Za-z_]\w*)\s*=\s*(?P<lo>[^;]+?)\s*;"
    r"\s*(?P=iv)\s*(?P<cmp><=|<|>=|>|!=)\s*(?P<hi>[^;]+?)\s*;\s*(?P<step>[^)]*?)\s*\)\s*$", re.DOTALL)
_INT_TYPES: dict[str, CType] = {
    "int": INT32, "signed": INT32, "signed int": INT32, "unsigned": UINT32, "unsigned int": UINT32,
    "long": INT64, "long int": INT64, "long long": INT64, "ptrdiff_t": INT64, "ssize_t": INT64,
    "size_t": UINT64, "unsigned long": UINT64, "unsigned long long": UINT64,
}
_IDENT = re.compile(r"[A-Za-z_]\w*")
_LOOPS = ("for_statement", "while_statement", "do_statement", "for_range_loop")


@dataclass(frozen=True)
class OuterLoop:
    """The counted `for` directly around an inner loop, as written."""

    iv: str
    iv_type: str  # "" when the counter is declared before the loop
    lower: str
    upper: str
    cmp: str
    step: int
    header: str  # `for (int j = 0; j < m; j++)`
    function_text: str  # the enclosing function (for the types of bound parameters)
    perfect: bool = True  # the outer body is the inner loop alone
    beside: tuple[str, ...] = ()  # the outer body's other statements, as written


def step_of(text: str, iv: str) -> int | None:
    t = re.sub(r"\s+", "", text)
    if t in (f"{iv}++", f"++{iv}"):
        return 1
    if t in (f"{iv}--", f"--{iv}"):
        return -1
    m = re.fullmatch(rf"{re.escape(iv)}(\+|-)=(\d+)", t)
    if m:
        return int(m.group(2)) * (1 if m.group(1) == "+" else -1)
    return None


def counted_header(header: str) -> tuple[str, str, str, str, int] | None:
    """(counter, lower, upper, cmp, step) of a `for` header counting by a constant step, else None."""
    m = _HEADER.fullmatch(header.strip())
    step = step_of(m.group("step"), m.group("iv")) if m is not None else None
    if m is None or step is None or m.group("cmp") == "!=" or (m.group("cmp") in ("<", "<=")) != (step > 0):
        return None
    return m.group("iv"), m.group("lo").strip(), m.group("hi").strip(), m.group("cmp"), step


def enclosing_counters(node: Any, source: bytes) -> tuple[tuple[str, str, str, str, int], ...]:
    """The counted `for` loops around `node` (a tree-sitter node), innermost first, as `counted_header`
    reads them: facts the loop's subscripts may rely on (`j >= i` inside `for (j = i; ...)`). A loop whose
    body assigns its counter is left out (its bounds would say nothing there)."""
    out: list[tuple[str, str, str, str, int]] = []
    parent = node.parent
    while parent is not None and parent.type != "function_definition":
        body = parent.child_by_field_name("body") if parent.type == "for_statement" else None
        if body is not None and body.start_byte <= node.start_byte:
            found = counted_header(source[parent.start_byte:body.start_byte].decode("utf-8", "replace"))
            text = source[body.start_byte:body.end_byte].decode("utf-8", "replace")
            if found is not None and not _set_in(found[0], (text,)):
                out.append(found)
        parent = parent.parent
    return tuple(out)


def outer_loop(root: Any, source: bytes, start_byte: int, end_byte: int, imperfect: bool = False,
               beside_loops: bool = False) -> OuterLoop | None:
    """The `for` loop whose body is exactly the loop at [start_byte, end_byte) (or, with `imperfect`, holds
    it among statements that are not loops; with `beside_loops` too, among other loops: atax's two inner
    loops), or None."""
    node = root.descendant_for_byte_range(start_byte, end_byte)
    while node is not None and not (node.start_byte == start_byte and node.end_byte == end_byte
                                    and node.type in _LOOPS):
        node = node.parent
    if node is None:
        return None
    parent = node.parent
    perfect = True
    beside: list[str] = []
    guarded = imperfect and parent is not None and parent.type == "if_statement" \
        and parent.child_by_field_name("alternative") is None
    if guarded:  # `if (c) for (...)`: the inner loop runs under a condition of the outer iteration
        node, parent = parent, parent.parent
    if parent is not None and parent.type == "compound_statement":
        statements = [c for c in parent.named_children if c.type != "comment"]
        perfect = len(statements) == 1
        others = [c for c in statements if c.start_byte != node.start_byte]
        if not perfect and (not imperfect or (not beside_loops and any(c.type in _LOOPS for c in others))):
            return None  # not a perfect nest: the outer loop does more than run the inner one
        beside = [source[c.start_byte:c.end_byte].decode("utf-8", "replace") for c in others]
        parent = parent.parent
    if parent is None or parent.type != "for_statement":
        return None
    perfect = perfect and not guarded
    body = parent.child_by_field_name("body")
    if body is None:
        return None
    header = source[parent.start_byte:body.start_byte].decode("utf-8", "replace").strip()
    m = _HEADER.fullmatch(header)
    if m is None:
        return None
    step = step_of(m.group("step"), m.group("iv"))
    if step is None or (m.group("cmp") in ("<", "<=") and step < 0) or (m.group("cmp") in (">", ">=") and step > 0) \
            or m.group("cmp") == "!=":
        return None
    fn = parent
    while fn is not None and fn.type != "function_definition":
        fn = fn.parent
    fn_text = source[fn.start_byte:fn.end_byte].decode("utf-8", "replace") if fn is not None else ""
    return OuterLoop(m.group("iv"), " ".join((m.group("type") or "").split()), m.group("lo").strip(),
                     m.group("hi").strip(), m.group("cmp"), step, header, fn_text, perfect, tuple(beside))


def mentions(text: str, name: str) -> bool:
    """Whether C text `text` uses the variable `name` (not a member or a longer name)."""
    return re.search(rf"(?<![\w.>]){re.escape(name)}(?!\w)", text) is not None


def substitute(text: str, name: str, value: str) -> str:
    return re.sub(r"(?<![\w.>])" + re.escape(name) + r"(?!\w)", f"({value})", text)


def outer_trip(loop: OuterLoop, lower: str, upper: str) -> str:
    """The outer loop's iteration count as C (>= 0), over the bounds as given."""
    s = abs(loop.step)
    if loop.cmp == "<":
        return f"(({upper}) > ({lower}) ? (({upper}) - ({lower}) + {s - 1}) / {s} : 0)"
    if loop.cmp == "<=":
        return f"(({upper}) >= ({lower}) ? (({upper}) - ({lower})) / {s} + 1 : 0)"
    if loop.cmp == ">":
        return f"(({lower}) > ({upper}) ? (({lower}) - ({upper}) + {s - 1}) / {s} : 0)"
    return f"(({lower}) >= ({upper}) ? (({lower}) - ({upper})) / {s} + 1 : 0)"


def _constant_trip(loop: OuterLoop, lower: Any, upper: Any) -> int:
    if not isinstance(lower, int) or not isinstance(upper, int):
        return 1
    s = abs(loop.step)
    span = {"<": upper - lower, "<=": upper - lower + 1, ">": lower - upper, ">=": lower - upper + 1}[loop.cmp]
    return max(0, (span + s - 1) // s)


def declared_spelling(name: str, function_text: str) -> str:
    """The integer type `name` is declared with in the enclosing function (a parameter, a local, one of a
    list: `int i, j, k;` at its top), "" when none is found."""
    words = "|".join(sorted((re.escape(t) for t in _INT_TYPES), key=len, reverse=True))
    m = re.search(rf"(?<![\w])(?:const\s+)?({words})\s+(?:[A-Za-z_]\w*\s*(?:=[^,;()]*)?,\s*)*"
                  rf"{re.escape(name)}\s*[,;)=]", function_text)
    return " ".join(m.group(1).split()) if m else ""


def _declared_type(name: str, function_text: str) -> CType | None:
    return _INT_TYPES.get(declared_spelling(name, function_text))


def _set_in(name: str, statements: tuple[str, ...]) -> bool:
    """Whether one of `statements` (C text) declares or assigns the variable `name`."""
    n = re.escape(name)
    pattern = rf"(?<![\w.>]){n}\s*(?:[-+*/%&|^]|<<|>>)?=(?!=)|(?:\+\+|--)\s*{n}(?!\w)|(?<![\w.>]){n}\s*(?:\+\+|--)"
    return any(re.search(pattern, text) for text in statements)


def nest_kernel(inner: Kernel, loop: OuterLoop, int_value: Any, expand: Any = None) -> Kernel | str:
    """The nest kernel around `inner`, or why there is none (a sentence). `int_value(text)` evaluates a
    constant expression of the user's file (macros, enums), None when it is not one; `expand(text)` spells
    its object-like macros out (`_PB_N` -> `(n)`: the bound is the function's `n`).

    A result the inner loop leaves (a sum it returns, its counter) is kept in a volatile per outer
    iteration, so the compiler cannot drop the loop; results through pointers stay parameters. Statements
    beside the inner loop (an imperfect nest, atax's second inner loop) are not part of the timed nest,
    unless they set a variable the inner loop reads other than a float value (a row pointer, a bound:
    the nest would time other rows or trip counts than the user's)."""
    if inner.return_type is not None and inner.return_type.is_complex:
        return "the inner loop leaves a complex result: only real results are timed in their nest"
    by_name = {p.name: p for p in inner.params}
    iv = loop.iv
    if iv in by_name and by_name[iv].role not in (ParamRole.SCALAR, ParamRole.COUNT):
        return f"the outer counter {iv} is an array"
    for p in inner.params:  # `y[i].qs` as one buffer: the nest would write the same row on every pass
        if p.source and p.source != iv and mentions(p.source, iv):
            return f"the inner loop's array {p.source} moves with the outer counter {iv}"
    for p in inner.params:
        if (p.source or p.name) != iv and p.role is not ParamRole.RESULT and _set_in(p.source or p.name, loop.beside) \
                and not (p.role is ParamRole.SCALAR and p.elem is not None and p.elem.is_float):
            return f"a statement beside the inner loop sets {p.source or p.name}, which the inner loop reads"
    constants: dict[str, int] = {}
    new_params: list[KernelParam] = []
    bound_params: list[str] = []
    spelled: dict[str, str] = {}  # a bound's macro -> its value (`_PB_N` -> `(n)`)
    names = list(dict.fromkeys(_IDENT.findall(f"{loop.lower} {loop.upper}")))
    seen: set[str] = set()
    while names:
        name = names.pop(0)
        if name in seen:
            continue
        seen.add(name)
        if name == iv:
            return "the outer loop's bounds use its own counter"
        if name in by_name:
            p = by_name[name]
            if p.role is ParamRole.SCALAR and p.elem is not None and not p.elem.is_float:
                by_name[name] = replace(p, role=ParamRole.COUNT)  # a row length the outer loop also runs to
            elif p.role is not ParamRole.COUNT:
                return f"the outer bound {name} is not a count"
            bound_params.append(name)
            continue
        value = int_value(name)
        if isinstance(value, int):
            constants[name] = value
            continue
        value_text = expand(name) if expand is not None else name
        if value_text != name and name not in spelled and len(spelled) < 16:
            bare = re.fullmatch(r"\(\s*([A-Za-z_]\w*)\s*\)", value_text.strip())
            spelled[name] = bare.group(1) if bare else value_text  # a macro over the function's variables
            names += [n for n in dict.fromkeys(_IDENT.findall(value_text)) if n not in seen]
            continue
        ctype = _declared_type(name, loop.function_text)
        if ctype is None:
            return f"the type of the outer bound {name} is not known"
        new_params.append(KernelParam(name, f"{ctype.spelling} {name}", ParamRole.COUNT, ctype))
        bound_params.append(name)
    lower, upper, header = loop.lower, loop.upper, loop.header
    for name, text in spelled.items():  # the kernel's preamble has only the inner loop's macros
        lower, upper, header = (substitute(x, name, text) for x in (lower, upper, header))
    for name, value in constants.items():  # the driver does not see the user's macros: numbers there
        lower, upper = substitute(lower, name, str(value)), substitute(upper, name, str(value))
    trip = outer_trip(loop, lower, upper)
    last = f"({lower}) + ({trip} - 1) * ({loop.step})"
    elements = f"(long long)({trip}) * ({inner.trip_count})"
    if mentions(inner.trip_count, iv):
        # a triangle (`j = i + 1`, `j < i`): its rows' lengths step evenly, so their sum is the mean of the
        # first and the last times the number of rows
        ends = (substitute(inner.trip_count, iv, lower), substitute(inner.trip_count, iv, last))
        elements = f"(long long)({trip}) * (({ends[0]}) + ({ends[1]})) / 2"
    footprints = []
    for f in inner.footprints:
        lo_a, lo_b = substitute(f.lo, iv, lower), substitute(f.lo, iv, last)
        hi_a, hi_b = substitute(f.hi, iv, lower), substitute(f.hi, iv, last)
        lo = f.lo if lo_a == f.lo else f"(({lo_a}) < ({lo_b}) ? ({lo_a}) : ({lo_b}))"
        hi = f.hi if hi_a == f.hi else f"(({hi_a}) > ({hi_b}) ? ({hi_a}) : ({hi_b}))"
        footprints.append(Footprint(f.param, lo, hi, f.guarded, f.indexes))
    iv_param = by_name.get(iv)
    params = tuple(by_name[p.name] for p in inner.params if p.name != iv) + tuple(new_params)
    size = inner.size_param if inner.size_param != iv else None
    also: list[str] = [name for name in inner.also_size if name != iv]  # (an inner nest's other sizes)
    for name in bound_params:
        if size is None:
            size = name
        elif name != size and name not in also:
            also.append(name)
    if size is None:
        exponent, factor = 1, 1
    elif mentions(inner.trip_count, iv):  # a triangle: about half of a square
        exponent, factor = inner.size_scale[0] + (1 if bound_params else 0), inner.size_scale[1]
    elif inner.size_param == size:  # (the inner kernel may be a nest already: the j-k pair of i-j-k)
        exponent = inner.size_scale[0] + (1 if bound_params else 0)
        factor = inner.size_scale[1] * (1 if bound_params else max(1, _constant_trip(loop, int_value(lower),
                                                                                      int_value(upper))))
    else:  # the outer bound is the size; the inner trip count is a constant
        exponent, factor = 1, max(1, int_value(inner.trip_count) or 1)
    declare = ""
    if not loop.iv_type:  # the counter is declared before the loop: so it is in the nest function
        if iv_param is None:
            return f"the type of the outer counter {iv} is not known"
        declare = f"    {iv_param.signature_decl};\n"
    args = ", ".join(p.name for p in inner.params)
    call = f"{INNER_NAME}({args})"
    if inner.return_type is not None:  # a result nothing reads: kept, or the compiler drops the loop
        declare += f"    volatile __typeof__({call}) simdlens_kept;\n"
        call = f"simdlens_kept = {call}"
    sig = f"void {inner.name}({', '.join(p.signature_decl for p in params) or 'void'})"
    source = f"{sig}\n{{\n{declare}    {header}\n        {call};\n}}\n"
    digest = hashlib.sha256(f"{inner.content_hash}\0{normalized_tokens(source)}\0{trip}".encode()).hexdigest()
    return replace(
        inner, source=source, signature=sig, params=params, footprints=tuple(footprints), return_type=None,
        trip_count=elements, content_hash=digest, size_param=size,
        size_max=inner.size_max if size == inner.size_param else None,
        real_sizes=inner.real_sizes if size == inner.size_param else (),  # (a square of the row length)
        type_facts=(), nest=None, also_size=tuple(also), size_scale=(exponent, factor),
        # the outer counter is the nest's own loop here, not a parameter: its columns are the loop's range
        index_bounds=tuple(b for b in inner.index_bounds if not mentions(b[0], iv)),
    )


def distinct_param(p: KernelParam, nest: LoopIR | None, language: str) -> KernelParam:
    """A parameter standing for an array object of the user's (a global or local array, not a pointer),
    declared `restrict`: distinct objects never overlap, which the compiler knows in the user's file
    and must know in the reference too (else -O3 cannot vectorize the nest as it does there)."""
    arr = nest.array(p.source or p.name) if nest is not None else None
    if arr is None or arr.pointer or p.restrict or p.role not in (ParamRole.IN, ParamRole.OUT, ParamRole.INOUT):
        return p
    kw = "__restrict" if language == "cpp" else "restrict"

    def qualified(decl: str) -> str:
        return re.sub(rf"\*\s*{re.escape(p.name)}\b", f"*{kw} {p.name}", decl, count=1)

    return replace(p, decl=qualified(p.decl), spelled=qualified(p.spelled) if p.spelled else "", restrict=True)


# --------------------------------------------------------------------------------------------------
# Column sweeps: never a gather/scatter rewrite where the nest has a contiguous formulation
# --------------------------------------------------------------------------------------------------

COLUMN_SWEEP = "column_sweep"


def _outer_term(symbolic: str, iv: str) -> bool:
    """Whether `iv` is a term of its own (coefficient 1) in a subscript's invariant part ("i", "r*n + i")."""
    return iv in (t.strip().strip("()") for t in re.split(r"[+]", symbolic))


@dataclass(frozen=True)
class FlatColumn:
    """A flat subscript walking a column: `(j + shift) * row + column` (`A[j*ld + i]`, `A[i + (j-1)*n]`)."""

    shift: int  # rows past the counter's: -1 for `(j - 1) * n`
    row: str  # the row length, a variable
    column: str  # the variable added to it (the outer counter, or a parameter in the inner loop's kernel)


def flat_column(index: Any, counter: str) -> FlatColumn | None:
    """`index` as `(counter + c) * row + column` (casts aside; either operand order), else None."""
    from simdlens.analysis.ir import IV, Binary, Cast, Const, Var

    def bare(e: Any) -> Any:
        while isinstance(e, Cast):
            e = e.operand
        return e

    def moving(e: Any) -> int | None:  # `j`, `j + c`, `j - c`: c
        e = bare(e)
        if isinstance(e, IV) and e.name == counter:
            return 0
        if isinstance(e, Binary) and e.op in ("+", "-") and isinstance(bare(e.rhs), Const):
            c, inner = bare(e.rhs).value, bare(e.lhs)
            if isinstance(c, int) and isinstance(inner, IV) and inner.name == counter:
                return c if e.op == "+" else -c
        return None

    index = bare(index)
    if not isinstance(index, Binary) or index.op != "+":
        return None
    for prod, rest in ((bare(index.lhs), bare(index.rhs)), (bare(index.rhs), bare(index.lhs))):
        if not isinstance(rest, Var) or not isinstance(prod, Binary) or prod.op != "*":
            continue
        for walk, row in ((prod.lhs, bare(prod.rhs)), (prod.rhs, bare(prod.lhs))):
            shift = moving(walk)
            if shift is not None and isinstance(row, Var) and row.name not in (counter, rest.name):
                return FlatColumn(shift, row.name, rest.name)
    return None


def _column_index(index: Any, inner_iv: str, outer_iv: str) -> bool:
    """`j*n + i` / `i + n*(j-1)` (inner counter times a row length, plus the outer counter)."""
    flat = flat_column(index, inner_iv)
    return flat is not None and flat.column == outer_iv


def may_walk_column(inner: Any) -> bool:
    """Whether some access of `inner` (a LoopIR) is strided or indirect: only then can it walk a column
    (checked before the outer loop is looked up, which reads its header and function text)."""
    from simdlens.analysis.build import accesses_of

    return any(a.coeff is None or abs(a.coeff) > 1 for a, _w, _s in accesses_of(inner.body))


def column_arrays(inner: Any, outer_iv: str) -> list[tuple[str, int | None]]:
    """(array, stride) of each access of the inner loop `inner` (a LoopIR) that walks a column: strided
    by a row length along the inner counter and contiguous along `outer_iv`. Empty unless every access
    moving with the inner counter does so or does not depend on `outer_iv` at all (`y[j]` in
    `x[i] += A[j][i] * y[j]`: one value per inner iteration, a broadcast when the outer loop is the
    vector loop, as gcc vectorizes such a nest)."""
    from simdlens.analysis.build import accesses_of

    found: list[tuple[str, int | None]] = []
    for a, _w, _s in accesses_of(inner.body):
        if a.coeff == 0:
            continue  # the same element every inner iteration
        if a.coeff is not None and abs(a.coeff) > 1 and _outer_term(a.symbolic, outer_iv):
            found.append((a.root, abs(a.coeff)))
        elif a.coeff is None and _column_index(a.index, inner.iv, outer_iv):
            found.append((a.root, None))
        elif a.coeff is not None and not re.search(rf"(?<![\w.>]){re.escape(outer_iv)}\b", f"{a.base} {a.symbolic}"):
            continue  # the same for every outer iteration
        else:
            return []
    return found


def columns_text(columns: list[tuple[str, int | None]]) -> str:
    """"aa, bb (stride 256)": the arrays a column sweep walks, and their stride when they share one."""
    names = ", ".join(dict.fromkeys(root for root, _ in columns))
    strides = {s for _, s in columns}
    return names + (f" (stride {next(iter(strides))})" if len(strides) == 1 and None not in strides else "")


def column_sweep_message(columns: list[tuple[str, int | None]], outer_iv: str) -> str:
    return (f"the inner loop walks a column of {columns_text(columns)}: the compiler vectorizes the outer loop over "
            f"{outer_iv}, contiguous; simdlens does not rewrite the outer loop yet (a gather/scatter rewrite "
            "of this loop would be slower in its nest)")
