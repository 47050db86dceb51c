"""The scan rule: `x[i] = factor(i) * x[i - 1] + term(i)` (factor 1: a running sum) as an in-register
SIMD scan.

One vector step computes VF results at once. Each lane holds the pair (factor, term) of its iteration;
log2(VF) rounds combine every lane with the lane k below it (k = 1, 2, 4, …):

    term[j]   = factor[j] * term[j - k] + term[j]        (a running sum: term[j] += term[j - k])
    factor[j] = factor[j] * factor[j - k]

with lanes moved up by the table rows `scan_shift1`, `scan_shift2`, … (the k lowest lanes filled with
the identity: term 0, factor 1). Then lane j holds the composition of iterations up to j, and
`factor * carry + term` (the carry: every lane holding the last result of the previous step, table
row `last_lane`) gives the VF results. The chain left between vectors is one multiply-add and one
permute per VF elements instead of one per element. The remainder runs the loop's own statement.
Element-wise statements beside a running sum (`a[i] += c[i] * d[i]; b[i] = b[i - 1] + a[i] + d[i];`)
run in the same step with the generic lowering, before or after the scan as the user wrote them.

Integer sums wrap exactly as the scalar loop's; float results are reassociated (a caveat), which the
sandbox checks with its summation tolerance.
"""

from __future__ import annotations

from dataclasses import replace

from simdlens.analysis.ir import Binary, Cast, CType, Load, walk_exprs
from simdlens.analysis.scans import (
    FirstOrderScan,
    MatrixScan,
    SecondOrderScan,
    first_order_scan,
    matrix_scan,
    second_order_scan,
)
from simdlens.rules.lower import Lowered, Lowering, Unsupported, VVal, _Block, _demote
from simdlens.rules.scalar import ScalarPrinter, c_type, literal


class ScanLowering(Lowering):
    """Lower a loop `first_order_scan` recognises; every other shape raises `Unsupported`."""

    def scan(self) -> FirstOrderScan:
        scan = first_order_scan(self.loop)
        if scan is None:
            raise Unsupported("the running sum has a shape the scan rule does not cover")
        return scan

    def build(self) -> Lowered:
        second = second_order_scan(self.loop)
        if second is not None:
            return self.build_second_order(second)
        if first_order_scan(self.loop) is None:
            pair = matrix_scan(self.loop)
            if pair is not None:
                return self.build_matrix(pair)
        scan = self.scan()
        elem = scan.elem.name
        vf, iv = self.vf, self.iv
        width = self.width(elem)
        printer = ScalarPrinter(iv, self.rename)
        out, left = self.counter_start()
        previous = printer.expr(Load(replace(scan.target, offset=scan.target.offset - 1)))
        carry = self.fresh("carry")

        # one step: the (factor, term) pairs of VF iterations, combined lane by lane, then the carry
        self.block, self.lines, self.base = _Block(), [], iv
        zero = self.zero(scan.elem)
        one = self.splat(literal(1, scan.elem), scan.elem) if scan.factor is not None else zero  # factors' fill
        self.statements(scan.before)  # element-wise statements whose results the terms may read
        term = scan.term
        if scan.elem.bits < 32 and isinstance(term, Cast):  # computed in int by C, the same bits in narrow lanes
            narrow = _demote(term.operand, scan.elem)
            if narrow is None:
                raise Unsupported(f"the terms of the {scan.elem.name} running sum are not plain wrapping integer sums")
            term = narrow
        sums = self.convert(self.expr(term), elem)
        factor = self.convert(self.expr(scan.factor), elem) if scan.factor is not None else None
        k = 1
        while k < vf:
            shifted = self.op(f"scan_shift{k}", elem, width, a=sums.name, b=zero.name, hint="shifted")
            if factor is not None:
                shifted = self.op("mul", elem, width, a=factor.name, b=shifted.name, hint="scaled")
            sums = self.op("add", elem, width, a=sums.name, b=shifted.name, hint="sums")
            if factor is not None:  # lane j's factor becomes the product of the factors of lanes 0..j
                below = self.op(f"scan_shift{k}", elem, width, a=factor.name, b=one.name, hint="below")
                factor = self.op("mul", elem, width, a=factor.name, b=below.name, hint="factor")
            k *= 2
        carried = carry if factor is None else self.op("mul", elem, width, a=factor.name, b=carry, hint="scaled").name
        sums = self.op("add", elem, width, a=sums.name, b=carried, hint="sums")
        stores = [self.fill(self.template("store", elem, width), p=self.address(scan.target), a=sums.name) + ";"]
        if scan.after:  # statements after the scan's store (a coupled pair's `x[i] = f(y[i - 1])`): they read its results
            computed, self.lines = self.lines, []
            self.statements(scan.after)
            stores += self.lines
            self.lines = computed
        take_carry = f"{carry} = {self.fill(self.template('last_lane', elem, width), a=sums.name)};"
        splat = self.fill(self.template("set1", elem, width), x=previous)
        if factor is not None and scan.elem.is_float:
            # Combined factors can meet inf * 0 or inf - inf where the scalar order does not (and overflow
            # where it does not): a step with a non-finite result redoes its iterations in scalar.
            finite = self.compare("eq", self.op("sub", elem, width, a=sums.name, b=sums.name, hint="zeroes"), zero)
            step = self.guarded_step(finite, [*stores, take_carry], [previous], [f"{carry} = {splat};"], left)
        else:
            step = [*self.lines, *stores, take_carry, f"{iv} += {vf};"]
        vector = self.vector_loop([f"{self.ctype_of(sums)} {carry} = {splat};"], step, left)
        epilogue = self.remainder(printer, left)
        self.features.add("scan")
        if scan.elem.is_float:
            what = "additions and multiplications" if scan.factor is not None else "additions"
            self.caveat(f"reassociates floating-point {what} (a SIMD scan combines within each vector first)")
            if scan.factor is not None and any(isinstance(x, Binary) and x.op == "/" for x in walk_exprs(scan.factor)):
                self.caveat("distributes the division over the sum ((y + x) / c computed as y * (1 / c) + x / c)")
            if scan.distributed:
                self.caveat("distributes the product over the sum (c * (y - x) computed as (-c) * x + c * y)")
        return Lowered([*out, *vector, *epilogue], vf, tuple(self.caveats), frozenset(self.features))

    def build_second_order(self, rec: SecondOrderScan) -> Lowered:
        """`y[i] = t(i) + c1 y[i-1] + c2 y[i-2]`: per vector, the terms convolved with the impulse response h
        (lane k: sum over j <= k of h[k - j] t[j], by VF - 1 one-lane shifts), plus h[k + 1] y[i-1] and
        c2 h[k] y[i-2] from the two results carried from the previous vector."""
        elem = rec.elem.name
        vf, iv = self.vf, self.iv
        width = self.width(elem)
        ct = c_type(rec.elem)
        printer = ScalarPrinter(iv, self.rename)
        out, left = self.counter_start()
        one_back = printer.expr(Load(replace(rec.target, offset=rec.target.offset - 1)))
        two_back = printer.expr(Load(replace(rec.target, offset=rec.target.offset - 2)))
        h, k = self.fresh("impulse"), self.fresh("k")
        c1, c2 = printer.expr(rec.c1), printer.expr(rec.c2)
        # the impulse response in the element type, in the recurrence's own order of operations
        response = [f"{ct} {h}[{vf + 1}];", f"{h}[0] = 1; {h}[1] = {c1};",
                    f"for (int {k} = 2; {k} <= {vf}; {k}++) {h}[{k}] = {h}[{k} - 1] * ({c1}) + {h}[{k} - 2] * ({c2});"]
        self.block, self.lines, self.base = _Block(), [], iv
        zero = self.zero(rec.elem)
        weights = [self.hoist(self.fill(self.template("set1", elem, width), x=f"{h}[{j}]"), elem, width, hint="h")
                   for j in range(1, vf)]
        of_one = self.hoist(self.fill(self.template("load", elem, width), p=f"&{h}[1]"), elem, width, hint="from1")
        at_two = self.hoist(self.fill(self.template("load", elem, width), p=f"&{h}[0]"), elem, width, hint="h0")
        c2v = self.splat(f"({c2})", rec.elem)
        of_two = self.hoist(self.fill(self.template("mul", elem, width), a=at_two.name, b=c2v.name), elem, width,
                            hint="from2")
        terms = self.convert(self.expr(rec.term), elem)
        sums, shifted = terms, terms
        for weight in weights:
            shifted = self.op("scan_shift1", elem, width, a=shifted.name, b=zero.name, hint="shifted")
            scaled = self.op("mul", elem, width, a=weight.name, b=shifted.name, hint="scaled")
            sums = self.op("add", elem, width, a=sums.name, b=scaled.name, hint="sums")
        p1, p2 = self.fresh("carry1"), self.fresh("carry2")
        from1 = self.op("mul", elem, width, a=of_one.name, b=p1, hint="from1")
        from2 = self.op("mul", elem, width, a=of_two.name, b=p2, hint="from2")
        sums = self.op("add", elem, width, a=sums.name, b=self.op("add", elem, width, a=from1.name, b=from2.name).name,
                       hint="results")
        store = self.fill(self.template("store", elem, width), p=self.address(rec.target), a=sums.name) + ";"
        carry = [f"{p1} = {self.fill(self.template('last_lane', elem, width), a=sums.name)};",
                 f"{p2} = {self.fill(self.template('last_lane2', elem, width), a=sums.name)};"]
        # an unstable filter overflows; a step with a non-finite result redoes its iterations in scalar
        finite = self.compare("eq", self.op("sub", elem, width, a=sums.name, b=sums.name, hint="zeroes"), zero)
        reset = [f"{p} = {self.fill(self.template('set1', elem, width), x=x)};" for p, x in ((p1, one_back), (p2, two_back))]
        step = self.guarded_step(finite, [store, *carry], [one_back, two_back], reset, left)
        vt = self.ctype_of(sums)
        vector = self.vector_loop([*response, *(f"{vt} {r}" for r in reset)], step, left)
        epilogue = self.remainder(printer, left)
        self.features.add("scan")
        self.caveat("reassociates floating-point additions and multiplications (each vector is computed from the "
                    "filter's impulse response)")
        return Lowered([*out, *vector, *epilogue], vf, tuple(self.caveats), frozenset(self.features))

    def build_matrix(self, rec: MatrixScan) -> Lowered:
        """Two coupled recurrences, `(x, y)[i] = M(i) (x, y)[i-1] + t(i)`: each lane holds its iteration's 2 x 2
        matrix and term pair; log2(VF) rounds compose every lane with the lane k below it (`t = M t' + t`,
        `M = M M'`, the k lowest lanes filled with the identity), then `M (carry_x, carry_y) + t` gives VF
        results of each array. Zero coefficients (None) cost nothing until a round fills them in."""
        elem = rec.elem.name
        vf, iv = self.vf, self.iv
        width = self.width(elem)
        printer = ScalarPrinter(iv, self.rename)
        out, left = self.counter_start()
        previous = [printer.expr(Load(replace(t, offset=t.offset - 1))) for t in (rec.x, rec.y)]
        carries = [self.fresh("carry_x"), self.fresh("carry_y")]
        self.block, self.lines, self.base = _Block(), [], iv
        m = [None if e is None else self.convert(self.expr(e), elem) for e in rec.matrix]  # a, b, c, d
        t = [None if e is None else self.convert(self.expr(e), elem) for e in rec.terms]
        xs, ys = matrix_prefix(self, rec.elem, m, t, [VVal(c, elem, width) for c in carries])
        zero = self.zero(rec.elem)
        results = (xs, ys)
        stores = [self.fill(self.template("store", elem, width), p=self.address(a), a=v.name) + ";"
                  for a, v in ((rec.x, xs), (rec.y, ys))]
        take = [f"{c} = {self.fill(self.template('last_lane', elem, width), a=v.name)};" for c, v in zip(carries, results, strict=True)]
        # products of matrices overflow or meet inf * 0 where the loop's order does not: such a step is redone
        finite = self.mand(self.compare("eq", self.op("sub", elem, width, a=xs.name, b=xs.name, hint="zeroes"), zero),
                           self.compare("eq", self.op("sub", elem, width, a=ys.name, b=ys.name, hint="zeroes"), zero))
        reset = [f"{c} = {self.fill(self.template('set1', elem, width), x=p)};"
                 for c, p in zip(carries, previous, strict=True)]
        step = self.guarded_step(finite, stores + take, previous, reset, left)
        vt = self.ctype_of(xs)
        vector = self.vector_loop([f"{vt} {r}" for r in reset], step, left)
        epilogue = self.remainder(printer, left)
        self.features.add("scan")
        self.caveat("reassociates floating-point additions and multiplications (a SIMD scan composes the 2 x 2 "
                    "matrices of each vector's iterations first)")
        return Lowered([*out, *vector, *epilogue], vf, tuple(self.caveats), frozenset(self.features))

    def guarded_step(self, finite: VVal, done: list[str], previous: list[str], reset: list[str], left: str) -> list[str]:
        """A step's lines: `done` (its stores and carries) when every lane of `finite` is set; else its
        iterations redone in scalar, in the loop's order, and the carries `reset` from the last results, or
        the vector loop left when those (`previous`) are not finite: a non-finite running value stays so, and
        the scalar remainder finishes at scalar speed."""
        vf, iv = self.vf, self.iv
        bits = self.fill(self.template("mbits", finite.elem, finite.width), m=finite.name)
        redo, full = self.fresh("lane"), hex((1 << vf) - 1)
        finite_now = " && ".join(f"{p} - {p} == 0" for p in previous)
        printer = ScalarPrinter(iv, self.rename)
        self.caveat("a vector step whose results are not all finite is recomputed in scalar, in the loop's order")
        return [*self.lines,
                f"if (({bits} & {full}u) == {full}u) {{", *("    " + s for s in done), f"    {iv} += {vf};",
                "} else {",
                f"    for (int {redo} = 0; {redo} < {vf}; {redo}++, {iv}++) {{", *printer.stmts(self.loop.body, "        "),
                "    }",
                f"    if (!({finite_now})) {{ {left} -= {vf}; break; }}",
                *("    " + r for r in reset),
                "}"]

    def vector_loop(self, setup: list[str], step: list[str], left: str) -> list[str]:
        """The vector loop in its branch: `setup` (the carries' first values) and the broadcasts the step needs,
        then whole steps while `left` holds VF iterations."""
        vf = self.vf
        return [f"if ({left} >= {vf}) {{", *("    " + line for line in setup), *("    " + line for line in self.pre),
                f"    for (; {left} >= {vf}; {left} -= {vf}) {{", *("        " + line for line in step), "    }", "}"]


def matrix_prefix(lw: Lowering, elem_type: CType, m: list[VVal | None], t: list[VVal | None],
                  carries: list[VVal]) -> tuple[VVal, VVal]:
    """The VF values of a 2 x 2 linear system `(x, y) = M (x, y)_prev + t`: each lane's matrix m (a, b, c, d)
    and terms t composed with the lane k below it for k = 1, 2, 4, … (`t = M t' + t`, `M = M M'`, the k lowest
    lanes filled with the identity), then applied to the carried values. None is a zero, costing nothing until a
    round fills it in."""
    elem = elem_type.name
    width = lw.width(elem)
    zero = lw.zero(elem_type)
    one = lw.splat(literal(1, elem_type), elem_type)

    def mul(a: VVal | None, b: VVal | None) -> VVal | None:
        return None if a is None or b is None else lw.op("mul", elem, width, a=a.name, b=b.name, hint="p")

    def add(a: VVal | None, b: VVal | None) -> VVal | None:
        return a if b is None else b if a is None else lw.op("add", elem, width, a=a.name, b=b.name, hint="s")

    def shift(v: VVal | None, k: int, identity: VVal | None) -> VVal | None:
        if v is None and identity is None:
            return None  # a zero shifted in zeros
        return lw.op(f"scan_shift{k}", elem, width, a=(v or zero).name, b=(identity or zero).name, hint="below")

    identity = (one, None, None, one)
    k = 1
    while k < lw.vf:
        ms = [shift(m[j], k, identity[j]) for j in range(4)]
        ts = [shift(t[j], k, None) for j in range(2)]
        t = [add(add(mul(m[0], ts[0]), mul(m[1], ts[1])), t[0]), add(add(mul(m[2], ts[0]), mul(m[3], ts[1])), t[1])]
        m = [add(mul(m[0], ms[0]), mul(m[1], ms[2])), add(mul(m[0], ms[1]), mul(m[1], ms[3])),
             add(mul(m[2], ms[0]), mul(m[3], ms[2])), add(mul(m[2], ms[1]), mul(m[3], ms[3]))]
        k *= 2
    cx, cy = carries
    xs = add(add(mul(m[0], cx), mul(m[1], cy)), t[0])
    ys = add(add(mul(m[2], cx), mul(m[3], cy)), t[1])
    if xs is None or ys is None:
        raise Unsupported("a coupled pair with a value that reads no earlier one")
    return xs, ys
