"""Complex sums and dot products `acc += a[i]`, `acc += a[i] * conjf(b[i])`, `acc += taps[i] * x[i]` (x real)
over interleaved lanes.

Each vector accumulator holds the running (real, imaginary) sums of every element lane; as many of them are in
flight in the main loop as the add's latency and the loads of a step need (ISA table `[[reduction]]` data), then a single step and one masked step, then the even lanes
are added into the accumulator's real part and the odd lanes into its imaginary part. That reassociates
the floating-point additions (the caveat; the sandbox compares with the float-reduction tolerance). A
product term is computed as the user's build computes `a * b` (`complex_multiply.toml`), and an element
whose parts are both NaN is recomputed with the user's own operator (C Annex G's __mulsc3/__muldc3), so
an infinite product is never summed as a NaN. A real factor (C multiplies each part by it: no Annex G
case) is loaded half a register at a time and duplicated into both lanes of its element.
"""

from __future__ import annotations

from collections.abc import Callable

from simdlens.analysis.build.complex_values import COMPLEX_MULTIPLY, COMPLEX_TERM, real_factor
from simdlens.analysis.ir import Access, Call, Cast, Load, LoopIR, Reduce, ReduceOp, expr_type
from simdlens.rules.complex_multiply import (
    ComplexProduct,
    InterleavedLanes,
    _indent,
    _operand,
    conj_spelling,
    products_fused,
)
from simdlens.rules.lower import Lowered, Unsupported
from simdlens.rules.scalar import ScalarPrinter, c_type
from simdlens.rules.tables import IsaTable


def complex_reduction(loop: LoopIR) -> Reduce | None:
    """The loop's body as one complex sum or dot product, or None."""
    if len(loop.body) != 1 or not isinstance(loop.body[0], Reduce):
        return None
    red = loop.body[0]
    if not red.type.is_complex or not isinstance(red.value, Call) or red.value.func != COMPLEX_TERM:
        return None
    return red


class ComplexReduceLowering(InterleavedLanes):
    """Same interface as `rules.lower.Lowering` (the rule engine picks it for a complex reduction)."""

    def __init__(self, loop: LoopIR, table: IsaTable, rename: Callable[[str], str], *,
                 allow_contraction: bool = False, max_lanes: int | None = None,
                 scalar_body: list[str] | None = None, user_flags: tuple[str, ...] = (), compiler: str = "",
                 cpp: bool = False):
        red = complex_reduction(loop)
        if red is None:
            raise Unsupported("not a complex sum or dot product")
        super().__init__(loop, table, rename, red.type.name, red.type.spelling, scalar_body, None)
        self.red, self.cpp = red, cpp
        self._splat: str | None = None  # the register of a scalar real factor, set before the loop
        self._pre: list[str] = []
        assert isinstance(red.value, Call)
        re_v, im_v = red.value.args
        # `acc += z[i] * x[i]`: x's access and its integer type or ""; `acc += z[i] * s`: s as C text
        self.factor: tuple[Access, str] | str | None = None
        scaled = real_factor(re_v, im_v)
        if scaled is not None:
            re_v, im_v, r = scaled
            source = r
            while isinstance(source, Cast) and not expr_type(source.operand).is_float:
                source = source.operand  # `(float)s16[i]`: converted in the table row
            if isinstance(source, Load):
                self.factor = (source.access, "" if source is r else source.access.elem.name)
            else:
                self.factor = ScalarPrinter(loop.iv, rename).expr(r)
        if isinstance(re_v, Call) and isinstance(im_v, Call) and re_v.func in COMPLEX_MULTIPLY:
            a, conj_a = _operand(re_v.args[0], re_v.args[1])
            b, conj_b = _operand(re_v.args[2], re_v.args[3])
            if a is None or b is None or isinstance(a, str) or isinstance(b, str):
                raise Unsupported(f"complex dot product into '{red.type.spelling}': only products of two elements")
            # the product's facts for the table (its destination is not used)
            self.prod: ComplexProduct | None = ComplexProduct(a, a, b, conj_a, conj_b, red.type.name, red.type.spelling)
            self.fused = products_fused(self.prod, user_flags or ("-O2",), compiler)
        else:
            a, conj_a = _operand(re_v, im_v)
            if a is None or isinstance(a, str):
                raise Unsupported(f"complex sum into '{red.type.spelling}': only elements are summed")
            self.prod = None
        self.a, self.conj_a = a, conj_a  # the summed element, or the product's left operand

    def build(self) -> Lowered:
        loop, red = self.loop, self.red
        vt, it, iv, left, out = self.prologue(f"complex sum into '{red.type.spelling}'")
        loads = (1 if self.prod is None else 2) + (1 if isinstance(self.factor, tuple) else 0)
        accs = [self.fresh("acc_v") for _ in range(self.t.accumulators("add", self.part, loads))]
        out += [f"{vt} {acc} = {self.op('set1', x='0')};" for acc in accs]
        unrolled: list[str] = []
        for k, acc in enumerate(accs):
            unrolled += self.step(vt, f"({iv} + {k * self.vf})" if k else iv, None, acc, "")
        width = len(accs) * self.vf
        out += self._pre
        out += [f"for (; {left} >= {width}; {left} -= {width}) {{", *_indent(unrolled), f"    {iv} += {width};", "}",
                f"for (; {left} >= {self.vf}; {left} -= {self.vf}) {{", *_indent(self.step(vt, iv, None, accs[0], "")),
                f"    {iv} += {self.vf};", "}"]
        lanes = self.fresh("tail_lanes")
        tail = [f"const {it} {lanes} = {self.op('first_lanes', x=f'2 * {left}')};",
                *self.step(vt, iv, lanes, accs[0], left)]
        out += [f"if ({left} > 0) {{", *_indent(tail), f"    {iv} += ({c_type(loop.iv_type)}){left};", "}"]
        while len(accs) > 1:  # pairwise: (acc0 + acc2) + (acc1 + acc3)
            half = (len(accs) + 1) // 2
            out += [f"{accs[k]} = {self.op('add', a=accs[k], b=accs[k + half])};" for k in range(len(accs) - half)]
            accs = accs[:half]
        lanes_of = self.fresh("sums")
        out += [f"{self.part} {lanes_of}[{self.parts}];", self.op("store", p=lanes_of, a=accs[0]) + ";"]
        sign = "+=" if red.op == ReduceOp.ADD else "-="
        target = f"(({self.part} *)&({self.rename(red.var)}))"  # C11 6.2.5p13 / [complex.numbers]: two parts
        for part in (0, 1):
            total = _pairwise([f"{lanes_of}[{k}]" for k in range(part, self.parts, 2)])
            out.append(f"{target}[{part}] {sign} {total};")
        kind = "sum" if self.prod is None else "dot product"
        caveats = [f"complex {kind} into '{red.type.spelling}' over interleaved real/imaginary lanes: reassociates "
                   "floating-point additions (real and imaginary parts summed in another order)"]
        if self.prod is not None:
            caveats.append("products whose real and imaginary parts are both NaN are recomputed with your own "
                           "operator (C Annex G: __mulsc3/__muldc3 recovers infinities)")
        return Lowered(out, self.vf, tuple(caveats), frozenset({"complex_reduce"}))

    def step(self, vt: str, iv: str, mask: str | None, acc: str, left: str) -> list[str]:
        """Add one vector of terms starting at element `iv` into `acc` (`mask`: the `left` remainder)."""
        lines: list[str] = []

        def value(hint: str, text: str) -> str:
            name = self.fresh(hint)
            lines.append(f"{vt} {name} = {text};")
            return name

        def load(a: Access | str, conj: bool) -> str:
            assert isinstance(a, Access)
            where = self.address(a, iv)
            v = value("x", self.op("load", p=where) if mask is None else self.op("maskload", p=where, m=mask))
            return value("x_conj", self.op("complex_conj", a=v)) if conj else v

        if self.factor is not None:
            term = value("scaled", self.op("mul", a=load(self.a, self.conj_a), b=self._real_factor(iv, mask, left, lines)))
        elif self.prod is None:
            term = load(self.a, self.conj_a)
        else:
            term = self.product(load(self.prod.a, self.prod.conj_a), load(self.prod.b, self.prod.conj_b), value)
            lines += self._annex_g(term, iv, mask, left)
        return [*lines, f"{acc} = {self.op('add', a=acc, b=term)};"]  # `acc -= x`: subtracted once, at the end

    def _real_factor(self, iv: str, mask: str | None, left: str, lines: list[str]) -> str:
        """The real factors of the elements at `iv`, each in both lanes of its element (the remainder's read
        through a zero-filled copy of its `left` values, so nothing past the array is touched)."""
        assert self.factor is not None
        if isinstance(self.factor, str):  # one value for every lane, set once before the loop
            if self._splat is None:
                self._splat = self.fresh("scale")
                self._pre.append(f"const {self.t.vtype(self.part, self.t.vector_bits)} {self._splat} = "
                                 f"{self.op('set1', x=self.factor)};")
            return self._splat
        a, integer = self.factor
        op = "complex_real_factor" + (f"_{integer}" if integer else "")
        where = f"&{self.rename(a.base)}[{iv}" + (f" + {a.offset}" if a.offset else "") + (
            f" + ({self.rename(a.symbolic)})" if a.symbolic else "") + "]"
        if mask is not None:
            rest, k = self.fresh("rest"), self.fresh("k")
            lines += [f"{c_type(a.elem)} {rest}[{self.vf}] = {{0}};",
                      f"for (long long {k} = 0; {k} < {left}; {k}++) {rest}[{k}] = ({where})[{k}];"]
            where = rest
        name = self.fresh("r")
        lines.append(f"{self.t.vtype(self.part, self.t.vector_bits)} {name} = {self.op(op, p=where)};")
        return name

    def _annex_g(self, prod: str, iv: str, mask: str | None, left: str) -> list[str]:
        """Elements whose product's parts are both NaN, recomputed with the user's operator."""
        assert self.prod is not None
        k = self.fresh("k")
        where = f"({iv} + {k})"
        a_e, b_e = self.element(self.prod.a, where), self.element(self.prod.b, where)
        if a_e is None or b_e is None:
            raise Unsupported(f"complex dot product into '{self.spelling}': its elements are not indexed by the "
                              "counter, so an Annex G element cannot be recomputed")
        conj = conj_spelling(self.part, self.cpp)
        a_t = f"{conj}({a_e})" if self.prod.conj_a else a_e
        b_t = f"{conj}({b_e})" if self.prod.conj_b else b_e
        both_nan, redo, parts, one = self.fresh("both_nan"), self.fresh("redo"), self.fresh("parts"), self.fresh("one")
        bits = self.op("lane_bits", a=both_nan) + (f" & ((1 << (2 * (int){left})) - 1)" if mask is not None else "")
        return [f"const {self.t.vtype(self.part, self.t.vector_bits)} {both_nan} = "
                f"{self.op('complex_both_nan', a=prod)};",
                f"const int {redo} = {bits};",
                f"if ({redo} != 0) {{  /* Annex G: these products as your code computes them */",
                f"    {self.part} {parts}[{self.parts}];",
                f"    {self.op('store', p=parts, a=prod)};",
                f"    for (int {k} = 0; {k} < {self.vf}; {k}++) {{",
                f"        if ((({redo} >> (2 * {k})) & 1) == 0) continue;",
                f"        const {self.spelling} {one} = {a_t} * {b_t};",
                f"        {parts}[2 * {k}] = ((const {self.part} *)&{one})[0];",
                f"        {parts}[2 * {k} + 1] = ((const {self.part} *)&{one})[1];",
                "    }",
                f"    {prod} = {self.op('load', p=parts)};",
                "}"]


def _pairwise(terms: list[str]) -> str:
    """`((t0 + t1) + (t2 + t3))`: the lanes added as a tree (fewer roundings in a row than a chain)."""
    while len(terms) > 1:
        terms = [f"({terms[i]} + {terms[i + 1]})" if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]
