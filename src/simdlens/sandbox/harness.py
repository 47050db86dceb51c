"""The differential test harness: from a `Kernel`, the C sources that test and time its candidates.

Three kinds of translation unit are generated (see docs/sandbox.md for the whole picture):

- a *variant* TU per compiled function: the kernel's preamble, then (for candidates) immintrin.h and
  the candidate's support code, then the function renamed to `<symbol>_impl`, then an exported
  wrapper `<symbol>` with the kernel's exact parameters (so `static` kernels link, and C++ kernels get
  C linkage). `#line` directives make compile errors point into the candidate's own function text;
- a *driver* TU: driver_head.h + the preamble + generated tables (parameter roles, element kinds,
  footprint expressions, the call glue) + driver_main.c;
- a *plan*: the list of test cases (size, seed, overlap pair, offset) passed on the command line.

Test data (driver_head.h): a seeded splitmix64 stream; floats mix wide-range normals, small integers
and special values (NaN, -NaN, +-0, +-inf, denormals, +-max, +-1), and in zero-tie cases are all <= 0
or all >= 0 with NaN and both zeros mixed in (a max or min ends at a tie of +0 and -0); integers mix full-range values,
small values in [-100, 100] and specials (0, 1, -1, min, max, high-bit values). Integer SCALAR
parameters get values in [0, 7] (they are often shift counts), COUNT parameters other than the size
get 0..4; those that appear in a footprint (`spread_params`: a distance `k` in `a[i + k]`, a row
`r`) get 8..127 in every odd-seed case, so both paths of a `k >= lanes` check run. Arrays are
allocated with exactly their footprint (2-D parameters `T (*p)[B]` in flat elements); most cases
also misalign the buffer by a multiple of 8 bytes (the gap is ASan-poisoned), so unaligned-load
assumptions crash. Overlap offsets count elements of the pair's larger type: pointers stay aligned.

Floats are compared exactly (bitwise; any NaN equals any NaN; -0 differs from +0) unless the
candidate's caveats admit reassociation or FMA contraction. Then the data's finite values are drawn
from [0.5, 2) (no cancellation, so the classic summation bound applies) and two values are equal when
    |got - expected| <= (8 + trip) * eps * max(|expected|, |got|) + 64 * eps
with eps the type's machine epsilon and trip the loop's trip count in that case: the worst-case
difference of two summation orders of `trip` positive terms is below trip * eps relative.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from importlib import resources

from simdlens.analysis.ir import CType
from simdlens.analysis.typefacts import fact_assertion
from simdlens.core import Candidate, Kernel, KernelParam, ParamRole, TypeFact

ARRAY_ROLES = (ParamRole.IN, ParamRole.OUT, ParamRole.INOUT, ParamRole.RESULT)
_KIND = {
    "int8": "SL_I8", "uint8": "SL_U8", "int16": "SL_I16", "uint16": "SL_U16", "int32": "SL_I32",
    "uint32": "SL_U32", "int64": "SL_I64", "uint64": "SL_U64", "float": "SL_F32", "double": "SL_F64",
}
_ROLE = {
    ParamRole.IN: "SL_IN", ParamRole.OUT: "SL_OUT", ParamRole.INOUT: "SL_INOUT", ParamRole.RESULT: "SL_RESULT",
    ParamRole.SCALAR: "SL_SCALAR", ParamRole.COUNT: "SL_COUNT", ParamRole.EXTENT: "SL_EXTENT",
}
# Caveats that allow a float tolerance; whole words, so "fmaxf" or "-mfma" never loosen the comparison.
TOLERANT_CAVEATS = re.compile(r"reassociat|\bcontract|\bfma\b(?!-)|\bfused\b", re.IGNORECASE)
ROW_POINTER = re.compile(r"\)\s*(\[[^\]]*\]\s*)+")
STORAGE_WORDS = re.compile(r"\b(static|inline|__inline__|__inline|extern|__attribute__\s*\(\(.*?\)\))\s*")
# Caveats that let a zero compare equal to a zero of the other sign (nothing else loosens).
ZERO_SIGN_CAVEATS = re.compile(r"sign of a zero .* is the compiler's choice", re.IGNORECASE)
DATA_EXACT, DATA_TOLERANT, DATA_BENCH, DATA_ZERO_SIGN = 0, 1, 2, 3
LARGE_SIZE = 100_003
RANDOM_SIZES = 4
SEEDS_PER_EDGE_SIZE = 8  # seeds cycle through six special-value densities (driver_head.h)
OVERLAP_OFFSETS = (0, 1, -1, 2, -2, 3, -3, 7, -7)


class KernelNotTestable(ValueError):
    """The kernel has a parameter shape the harness cannot drive (reported, never guessed around)."""


@dataclass(frozen=True)
class Case:
    size: int
    seed: int
    pair: int = -1  # index into Kernel.may_alias pairs the driver knows, -1 = separate buffers
    offset: int = 0  # in elements of the pair's larger element type (so both pointers stay aligned)

    def encode(self) -> str:
        return f"{self.size}:{self.seed}:{self.pair}:{self.offset}"


def kind_of(ctype: CType | None) -> str:
    if ctype is None:
        raise KernelNotTestable("a parameter has no element type")
    if ctype.spelling in ("bool", "_Bool"):
        return "SL_BOOL"
    try:
        return _KIND[ctype.name]
    except KeyError:
        raise KernelNotTestable(f"element type {ctype.name!r} is not supported") from None


def uses_tolerance(candidate: Candidate) -> bool:
    """Whether floats of this candidate are compared with the documented tolerance."""
    return any(TOLERANT_CAVEATS.search(c) for c in candidate.caveats)


def data_mode(candidate: Candidate) -> int:
    """The driver's data and comparison mode for checking `candidate` (DATA_EXACT unless a caveat says)."""
    if uses_tolerance(candidate):
        return DATA_TOLERANT
    return DATA_ZERO_SIGN if any(ZERO_SIGN_CAVEATS.search(c) for c in candidate.caveats) else DATA_EXACT


def param_type(param: KernelParam, scalars: frozenset[str] = frozenset()) -> str:
    """The C type of a parameter from its declaration ("const float *restrict b" -> "const float *restrict").

    `scalars`: the kernel's scalar parameters; a row length naming one is a VLA's (`double (*)[*]`)."""
    decl = param.decl.strip()
    matches = list(re.finditer(rf"\b{re.escape(param.name)}\b", decl))
    m = matches[-1] if matches else None
    if m is None:
        raise KernelNotTestable(f"cannot read the type of parameter {param.name!r} from {decl!r}")
    before, after = decl[: m.start()].rstrip(), decl[m.end():].strip()
    if after.startswith("["):
        return f"{before} *"
    if ROW_POINTER.fullmatch(after):  # `float (*grid)[COLS]`: a pointer to whole rows of a 2-D array
        # a VLA row length (`double (*A)[m]`) is not in scope in a type name: `[*]` (C11 6.7.6.2)
        after = re.sub(r"\[([^\]]*)\]", lambda x: "[*]" if set(re.findall(r"[A-Za-z_]\w*", x.group(1))) & scalars
                       else x.group(0), after)
        return f"{decl[: m.start()]}{after}".strip()
    if after:
        raise KernelNotTestable(f"parameter declaration {decl!r} is not supported")
    return before


def spread_params(kernel: Kernel) -> frozenset[str]:
    """Integer COUNT/SCALAR parameters (other than the size) that move a footprint: they appear in
    subscripts, e.g. a dependence distance `k` in `a[i + k]`. The driver gives them values up to 127
    in half of the cases, so a run-time check such as `k >= lanes` takes both of its paths."""
    text = " ".join(f"{f.lo} {f.hi}" for f in kernel.footprints)
    return frozenset(
        p.name for p in kernel.params
        if p.role in (ParamRole.SCALAR, ParamRole.COUNT) and p.name != kernel.size_param
        and p.elem is not None and not p.elem.is_float and p.elem.spelling not in ("bool", "_Bool")
        and re.search(rf"(?<![\w.>]){re.escape(p.name)}(?!\w)", text)
        # also a shift count: 8..127 would shift past the width, UB in the original itself
        and not re.search(rf"(<<|>>)=?\s*\(*\s*{re.escape(p.name)}\b", kernel.source)
    )


def divisor_params(kernel: Kernel) -> frozenset[str]:
    """Integer parameters the loop divides by (`a[i] / b[i]`, `x % d`, through casts): their test values
    avoid 0 and -1, where C's division is undefined in the user's own loop (x / 0, INT_MIN / -1)."""
    divided = set(re.findall(r"(?<![/*])[/%](?![/*])=?\s*(?:\(\s*[\w\s]+\)\s*)*\(*\s*([A-Za-z_]\w*)", kernel.source))
    return frozenset(p.name for p in kernel.params
                     if p.name in divided and p.elem is not None and not p.elem.is_float)


def return_type(kernel: Kernel, *, spelled: bool = True) -> str:
    """The kernel's return type as written in its signature, without storage words (`spelled=False`:
    simdlens's canonical spelling, for the driver, which does not see the user's file)."""
    if not spelled:
        return _canonical(kernel.return_type, kernel.language) if kernel.return_type else "void"
    sig = kernel.signature
    idx = re.search(rf"\b{re.escape(kernel.name)}\s*\(", sig)
    text = STORAGE_WORDS.sub("", sig[: idx.start()] if idx else "").strip()
    if text:
        return text
    return kernel.return_type.c if kernel.return_type else "void"


def _canonical(ctype: CType, language: str) -> str:
    """A spelling of `ctype` the driver compiles without the user's file (`float _Complex` for a complex)."""
    if ctype.is_complex:
        return f"std::complex<{ctype.name}>" if language == "cpp" else f"{ctype.name} _Complex"
    return ctype.c


def _param_list(kernel: Kernel, *, spelled: bool = False) -> str:
    return ", ".join(p.signature_decl if spelled else p.decl for p in kernel.params) or "void"


# --------------------------------------------------------------------------------------------------
# Type facts: what simdlens assumes about types, asserted at compile time
# --------------------------------------------------------------------------------------------------

def facts_of(kernel: Kernel) -> tuple[TypeFact, ...]:
    """What the harness itself assumes (element kinds and sizes of every parameter): the kernel's facts."""
    return kernel.type_facts


def facts_function(kernel: Kernel, facts: tuple[TypeFact, ...], language: str) -> str:
    """A never-called function with the kernel's parameters whose body asserts `facts`."""
    if not facts:
        return ""
    lines = ['#line 1 "simdlens-type-facts"']
    if language == "cpp":
        lines.append("#include <type_traits>")
    lines.append(f"__attribute__((unused)) static void simdlens_type_facts({_param_list(kernel, spelled=True)}) {{")
    for fact in dict.fromkeys(facts):
        lines += [f"    {line}" for line in fact_assertion(fact, language, literal_types=True).splitlines()]
    lines.append("}")
    return "\n".join(lines)


def array_pairs(kernel: Kernel) -> tuple[tuple[int, int], ...]:
    """`Kernel.may_alias` as parameter index pairs (pairs naming unknown params are ignored)."""
    index = {p.name: i for i, p in enumerate(kernel.params)}
    out = []
    for a, b in kernel.may_alias:
        if a in index and b in index and kernel.params[index[a]].role in ARRAY_ROLES and kernel.params[index[b]].role in ARRAY_ROLES:
            out.append((index[a], index[b]))
    return tuple(out)


def validate(kernel: Kernel) -> None:
    """Raise KernelNotTestable when the harness cannot drive this kernel."""
    for p in kernel.params:
        kind_of(p.elem)
        param_type(p)
    footprints = {f.param for f in kernel.footprints}
    for p in kernel.params:
        if p.role in (ParamRole.IN, ParamRole.OUT, ParamRole.INOUT) and p.name not in footprints:
            raise KernelNotTestable(f"array parameter {p.name!r} has no footprint")
    if kernel.return_type is not None:
        kind_of(kernel.return_type)
    if kernel.returns_address_in and not any(p.name == kernel.returns_address_in and p.role in ARRAY_ROLES
                                             for p in kernel.params):
        raise KernelNotTestable(f"the returned pointer points into {kernel.returns_address_in!r}, not an array parameter")


# --------------------------------------------------------------------------------------------------
# Variant translation units
# --------------------------------------------------------------------------------------------------


def context_source(kernel: Kernel) -> str:
    """What a variant TU starts with: the user's file context followed by the standard headers the
    synthesised preamble names (never its copies of the user's macros and typedefs); or, without a
    context, the synthesised preamble."""
    if kernel.context is None:
        return kernel.preamble.rstrip()
    headers = [line for line in kernel.preamble.splitlines()
               if line.startswith("#include") and "stdbool" not in line]  # <stdbool.h> would redefine a user's `bool`
    return kernel.context.text() + "\n".join(headers)


def variant_source(kernel: Kernel, symbol: str, function: str, *, support: str = "", vector: bool = False,
                   facts: tuple[TypeFact, ...] = ()) -> str:
    """A TU defining `symbol` (C linkage) that behaves like `function` (kernel's signature), after the
    user's file context (`Kernel.context`, when set) or the synthesised preamble, asserting the
    kernel's type facts and `facts`."""
    cpp = kernel.language == "cpp"
    ret = return_type(kernel)
    args = ", ".join(p.name for p in kernel.params)
    call = f"{symbol}_impl({args})"
    body = f"{call};" if ret == "void" else f"return {call};"
    linkage = 'extern "C" ' if cpp else ""
    parts = [context_source(kernel), ""]
    if vector:
        parts += ["#include <immintrin.h>"]
    if support.strip():
        parts += ['#line 1 "support"', support.rstrip()]
    parts += [
        f"#define {kernel.name} {symbol}_impl",
        '#line 1 "function"',
        function.rstrip(),
        facts_function(kernel, (*facts_of(kernel), *facts), kernel.language),
        '#line 1 "simdlens-wrapper"',
        f"#undef {kernel.name}",
        *_return_size_check(kernel, ret),
        f"{linkage}{ret} {symbol}({_param_list(kernel, spelled=True)});",
        f"{ret} {symbol}({_param_list(kernel, spelled=True)}) {{ {body} }}",
        "",
    ]
    return "\n".join(parts)


def _return_size_check(kernel: Kernel, ret: str) -> list[str]:
    """The kernel's return type as written has the size of the one the driver reads (a `double complex`
    read as `double` would hand back half a result, by accident of registers): asserted at compile time."""
    if kernel.return_type is None or ret == "void" or kernel.returns_address_in:  # a pointer: its offset is compared
        return []
    canonical = _canonical(kernel.return_type, kernel.language)
    keyword = "static_assert" if kernel.language == "cpp" else "_Static_assert"
    return [f'{keyword}(sizeof({ret}) == sizeof({canonical}), "simdlens: the kernel returns {ret}, not {canonical}");']


def nest_variant_source(kernel: Kernel, symbol: str, function: str, *, support: str = "", vector: bool = False) -> str:
    """A TU defining `symbol` (C linkage) that runs `kernel.nest`: the user's outer loop around
    `function` (the inner kernel's signature: the original loop or a candidate), which is declared
    `static inline` and always inlined, so the compiler optimises the nest as one, as in the user's
    build (it may vectorize across the outer loop)."""
    nest = kernel.nest
    assert nest is not None
    from simdlens.analysis.nest import INNER_NAME

    cpp = kernel.language == "cpp"
    inner = f"{symbol}_inner"
    args = ", ".join(p.name for p in nest.params)
    linkage = 'extern "C" ' if cpp else ""
    parts = [context_source(kernel), ""]
    if vector:
        parts += ["#include <immintrin.h>"]
    if support.strip():
        parts += ['#line 1 "support"', support.rstrip()]
    parts += [
        f"#define {kernel.name} {inner}",
        f"static inline __attribute__((always_inline)) {STORAGE_WORDS.sub('', kernel.signature).strip()};",
        '#line 1 "function"',
        function.rstrip(),
        f"#undef {kernel.name}",
        f"#define {INNER_NAME} {inner}",
        f"#define {kernel.name} {symbol}_impl",
        '#line 1 "nest"',
        nest.source.rstrip(),
        '#line 1 "simdlens-wrapper"',
        f"#undef {kernel.name}",
        f"#undef {INNER_NAME}",
        f"{linkage}void {symbol}({_param_list(nest, spelled=True)});",
        f"void {symbol}({_param_list(nest, spelled=True)}) {{ {symbol}_impl({args}); }}",
        "",
    ]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------


def _runtime(name: str) -> str:
    return resources.files("simdlens.sandbox").joinpath(name).read_text(encoding="utf-8")


# Analysis facts of loops whose carried state is fed back through scalar coefficients.
FEEDBACK_FACTS = frozenset({"second_order", "state_scan"})


def driver_source(kernel: Kernel, variants: tuple[str, ...]) -> str:
    """The driver TU calling `variants` (symbols; check: (reference, candidate); bench: several)."""
    validate(kernel)
    cpp = kernel.language == "cpp"
    # the driver does not see the user's file: canonical types (a returned pointer: `const void *`)
    ret = "const void *" if kernel.returns_address_in else return_type(kernel, spelled=False)
    footprint = {f.param: f for f in kernel.footprints}
    position = {p.name: i for i, p in enumerate(kernel.params)}
    scalars = [(i, p) for i, p in enumerate(kernel.params) if p.role not in ARRAY_ROLES]
    out = [_runtime("driver_head.h"), "/* ---- the kernel's preamble ---- */", kernel.preamble.rstrip(), "",
           "/* ---- generated for this kernel ---- */"]
    strides, views = dict(kernel.unit_strides), dict(kernel.views)
    spread, divisors = spread_params(kernel) - strides.keys(), divisor_params(kernel)
    rows = []
    for p in kernel.params:
        sized = p.name == kernel.size_param or p.name in kernel.also_size
        role = "SL_SIZE" if p.role == ParamRole.COUNT and sized else _ROLE[p.role]
        size = f"(int)sizeof({p.elem.c})" if p.elem is not None and p.role in ARRAY_ROLES else "0"
        target = footprint.get(p.name)
        indexes = position.get(target.indexes, -1) if target is not None and target.indexes else -1
        cplx = int(p.elem is not None and p.elem.is_complex and p.role not in ARRAY_ROLES)
        unit = strides.get(p.name, "0")
        rows.append(f'    {{"{p.name}", {role}, {kind_of(p.elem)}, {size}, {indexes}, {int(p.name in spread)}, '
                    f'{int(p.name in divisors)}, {cplx}, (int)({unit}), {views.get(p.name, 0)}}},')
    # Timing scalars in [0.5, 2) make a filter's feedback (`y = x + a1 y1 + a2 y2`, a biquad's state) unstable:
    # it overflows within a few hundred elements and the rewrite then times its scalar fallback. Scaled to
    # [0.125, 0.5) the feedback sums to less than 1 and the filter stays stable, as a real one is.
    scale = "0.25" if FEEDBACK_FACTS & kernel.facts else "1.0"
    out += [f"#define SL_BENCH_SCALAR_SCALE {scale}"]
    out += [f"#define SL_NPARAMS {len(kernel.params)}",
            "static const sl_param sl_params[SL_NPARAMS + 1] = {", *rows, '    {"", 0, 0, 0, -1, 0, 0, 0, 0, 0}', "};"]
    pairs = array_pairs(kernel)
    out += [f"#define SL_NPAIRS {len(pairs)}", "static const int sl_pairs[SL_NPAIRS + 1][2] = {"
            + "".join(f"{{{a}, {b}}}, " for a, b in pairs) + "{0, 0}};"]
    if kernel.return_type is None or ret == "void":
        out += ["#define SL_RET_KIND (-1)", "#define SL_RET_SIZE 0", "#define SL_RET_PARTS 1"]
    elif kernel.returns_address_in:  # compared as the element offset (a long long), see `store` below
        out += [f"#define SL_RET_KIND {kind_of(kernel.return_type)}", "#define SL_RET_SIZE (int)sizeof(long long)",
                "#define SL_RET_PARTS 1"]
    else:
        out += [f"#define SL_RET_KIND {kind_of(kernel.return_type)}", f"#define SL_RET_SIZE (int)sizeof({ret})",
                f"#define SL_RET_PARTS {2 if kernel.return_type.is_complex else 1}"]
    scalar_names = frozenset(p.name for p in kernel.params if p.role not in ARRAY_ROLES)
    types = ", ".join(param_type(p, scalar_names) for p in kernel.params) or "void"
    out.append(f"typedef {ret} (*sl_fn)({types});")
    linkage = 'extern "C" ' if cpp else ""
    out += [f"{linkage}{ret} {v}({_param_list(kernel)});" for v in variants]
    out += [f"#define SL_NVARIANTS {len(variants)}", f"static sl_fn const sl_variants[SL_NVARIANTS] = {{{', '.join(variants)}}};"]
    # Call glue: every parameter from the case state, in order.
    args = []
    for i, p in enumerate(kernel.params):
        if p.role in ARRAY_ROLES:
            args.append(f"SL_P(sl_p[{i}])")
        elif p.elem is not None and p.elem.is_complex:  # both parts drawn (sl_param.cplx), never `(T)re`
            parts = f"sl_dv[{i}], sl_dv[SL_NPARAMS + 1 + {i}]"
            args.append(f"std::complex<{p.elem.name}>({parts})" if cpp
                        else f"({param_type(p)})sl_complex{'f' if p.elem.name == 'float' else ''}({parts})")
        else:
            src = "sl_dv" if p.elem is not None and p.elem.is_float else "sl_iv"
            args.append(f"({param_type(p)}){src}[{i}]")
    call = f"sl_f({', '.join(args)})"
    if kernel.returns_address_in:  # where in its array the pointer points: the reference's and a rewrite's arrays differ
        base = f"(const char *)SL_P(sl_p[{position[kernel.returns_address_in]}])"
        elem = next(p.elem for p in kernel.params if p.name == kernel.returns_address_in)
        assert elem is not None
        store = (f"const void *sl_a = {call}; long long sl_r = sl_a ? (long long)((const char *)sl_a - {base}) / "
                 f"(long long)sizeof({elem.c}) : -(1LL << 62); memcpy(sl_out, &sl_r, sizeof sl_r);")
    elif ret == "void" or kernel.return_type is None:
        store = f"{call};"
    else:
        store = f"{ret} sl_r = {call}; memcpy(sl_out, &sl_r, sizeof sl_r);"
    out += [
        "static void sl_call(sl_fn sl_f, void *const *sl_p, const long long *sl_iv, const double *sl_dv, void *sl_out) {",
        "    (void)sl_p; (void)sl_iv; (void)sl_dv; (void)sl_out;",
        f"    {store}",
        "}",
    ]
    # Footprints: the scalar parameters as locals with their own declarations, then the bounds.
    fp = ["static void sl_footprints(const long long *sl_iv, const double *sl_dv, long *sl_lo, long *sl_hi, long long *sl_trip) {",
          "    (void)sl_iv; (void)sl_dv;"]
    for i, p in scalars:
        src = "sl_dv" if p.elem is not None and p.elem.is_float else "sl_iv"
        if p.role == ParamRole.EXTENT:  # a row length multiplies a row index: no int overflow in `(i) * (n)`
            fp.append(f"    long long {p.name} = sl_iv[{i}]; (void){p.name};")
            continue
        fp.append(f"    {p.decl} = ({param_type(p)}){src}[{i}]; (void){p.name};")
    for sub, ext in kernel.index_bounds:  # the user's loop itself would index outside the declared shape
        fp.append(f"    if (!(0 <= (long long)({sub}) && (long long)({sub}) < (long long)({ext}))) {{ *sl_trip = -1; return; }}")
    for i, p in enumerate(kernel.params):
        if p.role in ARRAY_ROLES:
            f = footprint.get(p.name)
            lo, hi = (f.lo, f.hi) if f else ("0", "0")
            fp.append(f"    sl_lo[{i}] = (long)({lo}); sl_hi[{i}] = (long)({hi});")
        else:
            fp.append(f"    sl_lo[{i}] = 0; sl_hi[{i}] = -1;")
    fp += [f"    *sl_trip = (long long)({kernel.trip_count or '0'});", "}"]
    out += fp
    out += ["/* ---- driver ---- */", _runtime("driver_main.c")]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------------


def vector_widths(kernel: Kernel, isas: tuple[str, ...]) -> tuple[int, ...]:
    """Lanes per vector for every (array element size, ISA) in play."""
    from simdlens.sandbox.cpu import ISA_VECTOR_BYTES

    sizes = {p.elem.bits // 8 for p in kernel.params if p.role in ARRAY_ROLES and p.elem is not None} or {4}
    return tuple(sorted({ISA_VECTOR_BYTES.get(isa, 32) // s for isa in isas for s in sizes if s}))


def check_plan(kernel: Kernel, isas: tuple[str, ...], *, quick: bool = False) -> tuple[Case, ...]:
    """The test cases: edge sizes around every vector width, random sizes, one large size, and the
    overlap cases for every may-alias pair. Deterministic per kernel (seeds derive from its hash)."""
    rng = random.Random(kernel.content_hash)
    if kernel.size_param is None:
        return tuple(Case(size=0, seed=s) for s in range(1, 9))
    widths = vector_widths(kernel, isas)
    cap = kernel.size_max if kernel.size_max is not None else LARGE_SIZE  # declared extents (2-D rows)
    edge = sorted({min(n, cap) for w in widths for n in (0, 1, 2, w - 1, w, w + 1, 2 * w + 1, 3 * w + 5) if n >= 0})
    cases: list[Case] = []
    seed = 1
    for n in edge:
        for _ in range(SEEDS_PER_EDGE_SIZE if n <= 64 else 2):
            cases.append(Case(n, seed))
            seed += 1
    randoms = sorted({min(n, cap) for n in rng.sample(range(6, 5001), RANDOM_SIZES)})
    for n in [*randoms, *(() if quick or cap < LARGE_SIZE else (LARGE_SIZE,))]:
        cases.append(Case(n, seed))
        seed += 1
    w = max(widths)
    overlap_sizes = sorted({min(n, cap) for n in (w + 1, 2 * w + 1, 3 * w + 5, 37, 300)})
    for pair in range(len(array_pairs(kernel))):
        offsets = sorted({*OVERLAP_OFFSETS, w, -w}, key=lambda o: (abs(o), o))
        for n in overlap_sizes:
            for off in offsets:
                cases.append(Case(n, seed, pair, off))
                seed += 1
    return tuple(cases)


CONSTANT_SIZE = 1  # what the driver is asked for when the trip count is a constant (it ignores it)


def bench_sizes(kernel: Kernel, sizes: tuple[int, ...], *, quick: bool = False) -> tuple[int, ...]:
    """The benchmark sizes: the presets, none past what the kernel's declared extents allow
    (`Kernel.size_max`), plus the sizes the code itself uses (`Kernel.real_sizes`, also when quick);
    one run for a constant trip count (every size would time the same thing)."""
    if kernel.size_param is None:
        return (CONSTANT_SIZE,)
    cap = kernel.size_max
    real = {min(n, cap) if cap is not None else n for n in kernel.real_sizes if n > 0}
    power, factor = kernel.size_scale
    scaled = (max(1, round((n / max(1, factor)) ** (1 / max(1, power)))) for n in sizes)
    presets = {min(n, cap) if cap is not None else n for n in scaled}
    if quick and real:
        presets = set()
    return tuple(sorted(presets | real))


def real_size_set(kernel: Kernel) -> frozenset[int]:
    """The benchmark sizes that are the code's own (see `bench_sizes`)."""
    if kernel.size_param is None:
        return frozenset({CONSTANT_SIZE})
    cap = kernel.size_max
    return frozenset(min(n, cap) if cap is not None else n for n in kernel.real_sizes if n > 0)


def encode_plan(cases: tuple[Case, ...]) -> str:
    return ";".join(c.encode() for c in cases)
