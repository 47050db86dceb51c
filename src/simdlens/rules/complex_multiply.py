"""Complex multiply `c[i] = a[i] * b[i]` over interleaved (real, imaginary) lanes, as the user's build does it.

C (Annex G) and gcc compute the four products inline and call __mulsc3 / __muldc3 only when the real and
the imaginary result are both NaN (it recovers infinities); -fcx-limited-range drops that call. Whether gcc
fuses two of the products into FMAs depends on the flags and the path its vectorizer takes
(`complex_multiply.toml`, read from objdump). The rewrite is the lowering of exactly that:

    t = dup_imag(a) * swap(b)                      [ai*bi, ai*br]
    r = addsub(dup_real(a) * b, t)                 separate: [ar*br - ai*bi, ar*bi + ai*br]
    r = fmaddsub(dup_real(a), b, t)                fused:    [fma(ar, br, -ai*bi), fma(ar, bi, ai*br)]

A loop-invariant complex scalar operand (`c[i] = a[i] * s`, VOLK's s32fc_multiply) is broadcast once
before the loop (`complex_broadcast`); gcc fuses its products differently by the scalar's side, so the
side is a fact of the table. Each element whose parts are both NaN is redone by the user's own statement (which calls __mulsc3 as
the original does); the other elements are stored with a masked store. The remainder is one masked step, so
no other element runs the user's statement under the candidate's -mfma. Under -fcx-limited-range (not on
the sandbox's flag allow-list) the redo computes the same inline products, so the rewrite is the same.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from simdlens.analysis.build.complex_values import COMPLEX_MULTIPLY, COMPLEX_PART
from simdlens.analysis.ir import Access, Call, Expr, Load, LoopIR, Store, Unary, Var
from simdlens.rules.lower import Lowered, Unsupported
from simdlens.rules.lower import _identifiers as identifiers
from simdlens.rules.scalar import c_type
from simdlens.rules.tables import IsaTable


@dataclass(frozen=True)
class ComplexProduct:
    """`dst = a * b` with a, b complex elements or loop-invariant complex scalars (either may be conj'd),
    parts of type `part`."""

    dst: Access  # the real part; the imaginary part is the next one
    a: Access | str  # an element's real part, or the name of a complex scalar the loop never writes
    b: Access | str
    conj_a: bool
    conj_b: bool
    part: str  # "float" | "double"
    spelling: str  # the user's complex type, for reasons

    @property
    def square(self) -> bool:
        """Both operands are the same element, as given (`a[i] * a[i]`)."""
        return _same(self.a, self.b) and self.conj_a == self.conj_b

    @property
    def scalar(self) -> str | bool:
        """Which operand is a complex scalar: "left", "right" (gcc fuses differently by side), or False."""
        return "left" if isinstance(self.a, str) else "right" if isinstance(self.b, str) else False


def _same(x: Access | str, y: Access | str) -> bool:
    if isinstance(x, str) or isinstance(y, str):
        return x == y
    return (x.root, x.base, x.coeff, x.offset, x.symbolic) == (y.root, y.base, y.coeff, y.offset, y.symbolic)


def complex_product(loop: LoopIR) -> ComplexProduct | None:
    """The loop's body as one complex multiply stored as it is, or None when it is something else."""
    body = loop.body
    if len(body) != 2 or not all(isinstance(s, Store) for s in body):
        return None
    re_s, im_s = body
    assert isinstance(re_s, Store) and isinstance(im_s, Store)
    re_v, im_v = re_s.value, im_s.value
    if not (isinstance(re_v, Call) and isinstance(im_v, Call) and (re_v.func, im_v.func) == COMPLEX_MULTIPLY
            and re_v.args == im_v.args and len(re_v.args) == 4):
        return None
    a, conj_a = _operand(re_v.args[0], re_v.args[1])
    b, conj_b = _operand(re_v.args[2], re_v.args[3])
    if a is None or b is None or re_s.access.offset % 2 or im_s.access.offset != re_s.access.offset + 1:
        return None
    spelling = next((arr.elem.spelling for arr in loop.arrays if arr.root == re_s.access.root), "")
    return ComplexProduct(re_s.access, a, b, conj_a, conj_b, re_v.type.name, spelling or f"{re_v.type.name} complex")


def _operand(real: Expr, imag: Expr) -> tuple[Access | str | None, bool]:
    """(the element's real-part access or the complex scalar's name, conj'd) for parts (re, im) or
    (re, -im) of one element or scalar."""
    conj = isinstance(imag, Unary) and imag.op == "-"
    im = imag.operand if isinstance(imag, Unary) and conj else imag
    if isinstance(real, Call) and isinstance(im, Call) and (real.func, im.func) == COMPLEX_PART \
            and real.args == im.args and isinstance(real.args[0], Var):
        return real.args[0].name, conj
    if not isinstance(real, Load) or not isinstance(im, Load):
        return None, False
    r, i = real.access, im.access
    if r.coeff != 2 or r.offset % 2 or (i.root, i.base, i.coeff, i.offset, i.symbolic) != (
            r.root, r.base, r.coeff, r.offset + 1, r.symbolic):
        return None, False
    return r, conj


# --------------------------------------------------------------------------------------------------
# What the user's build computes


@functools.cache
def _cases() -> tuple[str, tuple[tuple[dict[str, Any], str, str], ...]]:
    data = tomllib.loads(resources.files("simdlens.rules").joinpath("complex_multiply.toml").read_text("utf-8"))
    unknown = str(data["unknown"])
    return unknown, tuple((dict(c["when"]), str(c["products"]), str(c.get("reason", unknown))) for c in data["case"])


_FMA_MARCH = re.compile(r"-march=(native|haswell|broadwell|skylake\S*|x86-64-v[34]|icelake\S*|sapphirerapids|"
                        r"alderlake|znver\d|cascadelake|tigerlake|cooperlake|cannonlake|rocketlake)$")


def build_facts(flags: tuple[str, ...], part: str, conj: bool, square: bool = False,
                compiler: str = "", scalar: str | bool = False) -> dict[str, Any]:
    """The facts `complex_multiply.toml` is keyed on, read from the user's flags (last one wins, as in gcc)."""
    fma = False
    opt = "-O2"
    contract = ""
    slp = tree = True
    std_iso = False
    tuned = False
    for f in flags:
        if f == "-mfma" or _FMA_MARCH.match(f):
            fma = True
        elif f in ("-mno-fma", "-mno-avx"):
            fma = False
        if f.startswith("-march=native") or f.startswith("-mtune="):
            tuned = True
        if re.fullmatch(r"-O[0-3sgz]?|-Ofast", f):
            opt = "-O1" if f == "-O" else f
        elif f.startswith("-ffp-contract="):
            contract = "fast" if f.endswith("=fast") else "off"
        elif f in ("-fno-tree-vectorize",):
            tree = False
        elif f == "-ftree-vectorize":
            tree = True
        elif f == "-fno-tree-slp-vectorize":
            slp = False
        elif f.startswith("-std="):
            std_iso = f.startswith("-std=c") and not f.startswith("-std=c++")
    if not contract:
        contract = "off" if std_iso else "fast"
    return {"compiler": "clang" if "clang" in Path(compiler).name else "gcc", "part": part, "fma": fma, "opt": opt, "slp": slp and tree and opt in ("-O2", "-O3"),
            "contract": contract, "tuned": tuned, "conj": conj, "square": square, "scalar": scalar}


def products_fused(product: ComplexProduct, flags: tuple[str, ...], compiler: str = "") -> bool:
    """Whether the user's gcc build fuses two of the products (see `complex_multiply.toml`)."""
    for flag in flags:
        if flag in ("-ffast-math", "-Ofast", "-funsafe-math-optimizations") or flag.startswith("-fcx-fortran"):
            raise Unsupported(f"complex multiply of '{product.spelling}' under {flag}: the compiler may reassociate "
                              "and vectorize it its own way, so no rewrite can match the build exactly")
    facts = build_facts(flags, product.part, product.conj_a or product.conj_b, product.square, compiler,
                        product.scalar)
    unknown, cases = _cases()
    for when, products, reason in cases:
        if all(facts.get(k) == v or (isinstance(v, list) and facts.get(k) in v) for k, v in when.items()):
            if products != "unknown":
                return products == "fused"
            unknown = reason
            break
    shown = " ".join(f for f in flags if f.startswith(("-O", "-m", "-ffp-contract", "-fno-tree", "-std")))
    raise Unsupported(f"complex multiply of '{product.spelling}' under {shown}: {unknown}")


# --------------------------------------------------------------------------------------------------
# The lowering


class InterleavedLanes:
    """What the complex lowerings share: fresh names, the ISA table's ops on `part` lanes, part addresses."""

    def __init__(self, loop: LoopIR, table: IsaTable, rename: Callable[[str], str], part: str, spelling: str,
                 scalar_body: list[str] | None, max_lanes: int | None):
        self.loop, self.t, self.rename, self.part, self.spelling = loop, table, rename, part, spelling
        self.scalar_body = scalar_body
        self.parts = table.vector_bits // (32 if part == "float" else 64)  # lanes: 2 per element
        self.vf = self.parts // 2
        self.fused = False  # products: fma(re) and fma(im) with one product rounded, as gcc's vfmaddsub
        if max_lanes is not None and max_lanes < self.vf:
            raise Unsupported(f"a dependence allows only {max_lanes} elements per step")
        # nothing the loop, its bounds or the user's statement name (in either naming context)
        names = identifiers(loop)
        self._taken = names | set(re.findall(r"[A-Za-z_]\w*", " ".join([*(scalar_body or []), *map(rename, names)])))

    def prologue(self, what: str, *, moves: bool = False) -> tuple[str, str, str, str, list[str]]:
        """(vector type, mask type, counter, elements left, the lines that start them) for a loop counting
        up by 1 (from 0 when it moves pointers or counts read after it: `moves`, see `moved_after`); `what`
        names the operation in a refusal."""
        loop = self.loop
        moved_ok = moves and loop.lower.strip() == "0"
        if loop.step != 1 or loop.runs_at_least_once or loop.iv_live_out or (loop.moved and not moved_ok) \
                or loop.setup:
            raise Unsupported(f"{what} is rewritten only in a loop counting up by 1")
        vt = self.t.vtype(self.part, self.t.vector_bits)
        it = self.t.vtype("int", self.t.vector_bits)
        if vt is None or it is None:
            raise Unsupported(f"{self.t.name} has no register of {self.part} lanes")
        iv = self.rename(loop.iv)
        left = self.fresh("left")
        return vt, it, iv, left, [f"{c_type(loop.iv_type)} {iv} = {self.rename(loop.lower)};" if loop.iv_declared_in_loop
                                  else f"{iv} = {self.rename(loop.lower)};",
                                  f"long long {left} = (long long)({self.rename(loop.trip_count)});"]

    def moved_after(self, iv: str) -> list[str]:
        """Walking pointers and counts read after the loop, left where the original loop leaves them: the
        vector code indexes off their entry values, and the counter (from 0) holds the iterations run."""
        out = []
        for mv in self.loop.moved:
            runs = iv if mv.every == 1 else f"({iv} / {mv.every})"
            extra = f" + ({mv.extra})" if mv.extra else ""
            out.append(f"{self.rename(mv.name)} += ({mv.per_iteration}) * {runs}{extra};")
        return out

    def fresh(self, hint: str) -> str:
        name, n = hint, 1
        while name in self._taken:
            n += 1
            name = f"{hint}{n}"
        self._taken.add(name)
        return name

    def op(self, name: str, **fields: str) -> str:
        template = self.t.op(name, self.part, self.t.vector_bits)
        if template is None:
            raise Unsupported(f"complex arithmetic on '{self.spelling}': the {self.t.name} table has no {name} row "
                              f"for {self.part} lanes (rewritten for AVX2 only so far)")
        return re.sub(r"\{(\w+)\}", lambda m: fields[m.group(1)], template)

    def address(self, a: Access, iv: str) -> str:
        index = f"2 * {iv}" + (f" + {a.offset}" if a.offset else "")
        if a.symbolic:
            index += f" + ({self.rename(a.symbolic)})"
        return f"&{self.rename(a.base)}[{index}]"

    def element(self, a: Access | str, iv: str) -> str | None:
        """`root[iv + c]` for the real part `((float *)(root))[2*iv + 2c]` of a complex element (a complex
        scalar: its name); None for an element addressed otherwise."""
        if isinstance(a, str):
            return self.rename(a)
        if a.coeff != 2 or a.symbolic or a.offset % 2 or not re.fullmatch(r"[A-Za-z_]\w*", a.root) \
                or a.base.replace(" ", "") != f"(({self.part}*)({a.root}))":
            return None
        off = a.offset // 2
        return f"{self.rename(a.root)}[{iv}" + (f" + {off}]" if off > 0 else f" - {-off}]" if off else "]")

    def product(self, a: str, b: str, value: Callable[[str, str], str]) -> str:
        """The lanes of `a * b` (both loaded, conj applied) as the build computes them (`self.fused`)."""
        cross = value("cross", self.op("mul", a=value("a_imag", self.op("complex_dup_imag", a=a)),
                                       b=value("b_swapped", self.op("complex_swap", a=b))))
        a_real = value("a_real", self.op("complex_dup_real", a=a))
        if self.fused:
            return value("prod", self.op("fmaddsub", a=a_real, b=b, c=cross))
        return value("prod", self.op("addsub", a=value("straight", self.op("mul", a=a_real, b=b)), b=cross))


def conj_spelling(part: str, cpp: bool) -> str:
    """The user's language's conj for a complex of `part`s: GCC and clang's builtins need no header in C."""
    return "std::conj" if cpp else "__builtin_conjf" if part == "float" else "__builtin_conj"


class ComplexMultiplyLowering(InterleavedLanes):
    """Same interface as `rules.lower.Lowering` (the rule engine picks it for a complex product)."""

    def __init__(self, loop: LoopIR, table: IsaTable, rename: Callable[[str], str], *,
                 allow_contraction: bool = False, max_lanes: int | None = None,
                 scalar_body: list[str] | None = None, user_flags: tuple[str, ...] = (), compiler: str = "",
                 cpp: bool = False):
        product = complex_product(loop)
        if product is None:
            raise Unsupported("not a complex multiply stored as it is")
        super().__init__(loop, table, rename, product.part, product.spelling, scalar_body, max_lanes)
        self.p, self.cpp = product, cpp
        self.fused = products_fused(product, user_flags or ("-O2",), compiler)
        self.broadcast: dict[str, str] = {}  # a complex scalar -> its (re, im) pairs in every element's lanes

    def build(self) -> Lowered:
        loop, p = self.loop, self.p
        vt, it, iv, left, out = self.prologue(f"complex multiply of '{p.spelling}'", moves=True)
        if not self.scalar_body:
            self.scalar_body = self._product_statement()
        if not self.scalar_body:
            raise Unsupported(f"complex multiply of '{p.spelling}': the loop body as written is needed to redo "
                              "elements whose parts are both NaN (C Annex G)")
        all_lanes = self.fresh("all_lanes")
        out.append(f"const {it} {all_lanes} = {self.op('first_lanes', x=str(self.parts))};")
        for operand in (p.a, p.b):
            if isinstance(operand, str) and operand not in self.broadcast:
                name = self.broadcast[operand] = self.fresh(f"{_hint(operand)}_v")
                out.append(f"const {vt} {name} = {self.op('complex_broadcast', p=f'&({self.rename(operand)})')};")
        full = self.step(vt, iv, None, all_lanes)
        out += [f"for (; {left} >= {self.vf}; {left} -= {self.vf}) {{", *_indent(full), f"    {iv} += {self.vf};", "}"]
        lanes = self.fresh("tail_lanes")
        tail = [f"const {it} {lanes} = {self.op('first_lanes', x=f'2 * {left}')};",
                *self.step(vt, iv, lanes, lanes, left)]
        out += [f"if ({left} > 0) {{", *_indent(tail), f"    {iv} += ({c_type(loop.iv_type)}){left};", "}"]
        out += self.moved_after(iv)
        kind = ("single-rounding multiply-add/subtract (vfmaddsub), as your build computes it" if self.fused
                else "multiply, then add/subtract, as your build computes it")
        caveats = [f"complex multiply of '{p.spelling}' as {kind} over interleaved real/imaginary lanes",
                   "elements whose real and imaginary results are both NaN are redone by your own statement "
                   "(C Annex G: __mulsc3/__muldc3 recovers infinities)"]
        return Lowered(out, self.vf, tuple(caveats), frozenset({"complex_multiply"}))

    def _product_statement(self) -> list[str] | None:
        """The user's product as one indexed statement, `c[k] = a[k] * b[k]` on the user's own complex
        pointers, for a body that cannot run as written (`*cPtr++ = (*aPtr++) * (*bPtr++);` walks
        pointers the vector code indexes instead): the same operator on the same types, so the same
        Annex G recovery; a conj'd operand through the language's conj (exact: it negates one part)."""
        p = self.p
        iv = self.rename(self.loop.iv)
        elements = [self.element(a, iv) for a in (p.dst, p.a, p.b)]
        if None in elements:
            return None
        dst, a, b = elements
        conj = conj_spelling(self.part, self.cpp)
        a, b = (f"{conj}({a})" if p.conj_a else a), (f"{conj}({b})" if p.conj_b else b)
        return [f"{dst} = {a} * {b};"]

    def step(self, vt: str, iv: str, mask: str | None, all_lanes: str, left: str = "") -> list[str]:
        """One vector of elements starting at `iv` (`mask`: only the `left` elements of the remainder)."""
        p = self.p
        lines: list[str] = []

        def value(hint: str, text: str) -> str:
            name = self.fresh(hint)
            lines.append(f"const {vt} {name} = {text};")
            return name

        def load(a: Access | str, conj: bool, hint: str) -> str:
            if isinstance(a, str):
                v = self.broadcast[a]
            else:
                where = self.address(a, iv)
                v = value(hint, self.op("load", p=where) if mask is None else self.op("maskload", p=where, m=mask))
            return value(f"{hint}_conj", self.op("complex_conj", a=v)) if conj else v

        a = load(p.a, p.conj_a, f"{_hint(p.a if isinstance(p.a, str) else p.a.root)}_v")
        b = a if p.square else load(p.b, p.conj_b, f"{_hint(p.b if isinstance(p.b, str) else p.b.root)}_v")
        prod = self.product(a, b, value)
        dst = self.address(p.dst, iv)
        store = (self.op("store", p=dst, a=prod) if mask is None else self.op("maskstore", p=dst, m=mask, a=prod)) + ";"
        both_nan = value("both_nan", self.op("complex_both_nan", a=prod))
        redo = self.fresh("redo")
        first = self.fresh("first")
        k = self.fresh("k")
        assert self.scalar_body is not None
        keep = self.op("mask_without", a=both_nan, m=mask or all_lanes)
        # a masked-off lane is 0, and 0 times an infinite scalar is NaN: never redo an element past the end
        bits = self.op("lane_bits", a=both_nan) + (f" & ((1 << (2 * (int){left})) - 1)" if mask is not None else "")
        return [*lines, f"const int {redo} = {bits};",
                f"if ({redo} == 0) {{", f"    {store}", "} else {  /* Annex G: these elements as your code computes them */",
                f"    {self.op('maskstore', p=dst, m=keep, a=prod)};",
                f"    const {c_type(self.loop.iv_type)} {first} = {iv};",
                f"    for (int {k} = 0; {k} < {self.vf}; {k}++) {{",
                f"        if ((({redo} >> (2 * {k})) & 1) == 0) continue;",
                f"        {iv} = {first} + {k};",
                *("        " + line for line in self.scalar_body),
                "    }", f"    {iv} = {first};", "}"]


def _indent(lines: list[str]) -> list[str]:
    return ["    " + x for x in lines]


def _hint(root: str) -> str:
    return re.sub(r"\W", "_", root.split(".")[-1].split("->")[-1]) or "v"
