"""Scans carried in a scalar: `s += a[i]; b[i] = s;` (a running sum), `s = s * c + a[i]; b[i] = s;` (a
first-order recurrence) and `if (a[i] > 0) x = a[i]; b[i] = x;` (a last value seen, held).

One vector step computes the scalar's VF values at once, then runs the other statements of the body
with them as ordinary lanes. For a `Running` update the lanes are combined as in `rules.scan` (log2(VF)
rounds of `scan_shift{k}` and add, or multiply-add for the factors) and finished with the carried value
(table row `last_lane` of the previous step's values). For a `Hold` the combining step is a blend:

    value[j] = selected[j] ? value[j] : value[j - k];   selected[j] |= selected[j - k]

after which lane j holds the value of the last selected lane at or below it, and the lanes no selected
lane reaches take the carried value. Nothing is computed, only moved: exact for every type, NaN and -0.0
included. Statements ahead of the update read the previous values: the values moved up one lane, the
carried value in lane 0. The remainder runs the loop's own statements with the scalar set from the
carried value.
"""

from __future__ import annotations

from simdlens.analysis.ir import Hold, If, LoopIR, Running, Store
from simdlens.analysis.scans import ScalarScan, scalar_scan, state_scan
from simdlens.rules.lower import Lowered, Lowering, Unsupported, VVal, _Block, ctype
from simdlens.rules.scalar import ScalarPrinter, c_type
from simdlens.rules.scan import matrix_prefix


class CarriedScanLowering(Lowering):
    """Lower a loop `scalar_scan` recognises; every other shape raises `Unsupported`."""

    def build(self) -> Lowered:
        loop: LoopIR = self.loop
        found = scalar_scan(loop)
        if found is None:
            raise Unsupported("the scalar carried through the loop has a shape the scan rule does not cover")
        if loop.moved:
            raise Unsupported(f"the loop moves {loop.moved[0].name}, read after it: the scan rule does not advance it")
        elem = found.elem.name
        vf, iv = self.vf, self.iv
        width = self.width(elem)
        ct = c_type(found.elem)
        printer = ScalarPrinter(iv, self.rename)
        var = self.rename(found.var)
        out, left = self.counter_start()
        carry = self.fresh("carry")
        carried = VVal(carry, elem, width)

        self.block, self.lines, self.base = _Block(), [], iv
        for n, s in enumerate(loop.body[:found.index]):
            if n not in found.before:
                self.statement(s)
        upd = found.update
        if isinstance(upd, Running):
            values = self.running(upd, found, carried)
        else:
            assert isinstance(upd, If) and isinstance(upd.then[0], Hold)
            values = self.held(upd, upd.then[0], found, carried)
        mark = len(self.lines)  # what follows uses the values: with a finiteness test, only when it passes
        if found.before:
            self.block.env[found.var] = self.op("scan_shift1", elem, width, a=values.name, b=carry, hint="previous")
            for n in sorted(found.before):
                self.statement(loop.body[n])
        self.block.env[found.var] = values
        self.statements(loop.body[found.index + 1:])
        after, self.lines = self.lines[mark:], self.lines[:mark]
        take_carry = f"{carry} = {self.fill(self.template('last_lane', elem, width), a=values.name)};"
        spill = self.fresh("lanes")
        to_scalar = (f"{{ {ct} {spill}[{vf}]; {self.fill(self.template('store', elem, width), p=spill, a=carry)}; "
                     f"{var} = {spill}[0]; }}")
        set_carry = f"{carry} = {self.fill(self.template('set1', elem, width), x=var)};"
        if isinstance(upd, Running) and upd.factor is not None:
            if any(isinstance(s, Store) for n, s in enumerate(loop.body[:found.index]) if n not in found.before):
                raise Unsupported("a store ahead of the recurrence would run before its step is known to be finite")
            # combined factors can meet inf * 0 or inf - inf where the scalar order does not: a step with a
            # non-finite value redoes its iterations in scalar, in the loop's order
            zero = self.zero(found.elem)
            finite = self.compare("eq", self.op("sub", elem, width, a=values.name, b=values.name, hint="zeroes"), zero)
            bits = self.fill(self.template("mbits", finite.elem, finite.width), m=finite.name)
            redo = self.fresh("lane")
            full = hex((1 << vf) - 1)
            step = [*self.lines,
                    f"if (({bits} & {full}u) == {full}u) {{", *("    " + x for x in after), f"    {take_carry}",
                    f"    {iv} += {vf};",
                    "} else {",
                    f"    {to_scalar}",
                    f"    for (int {redo} = 0; {redo} < {vf}; {redo}++, {iv}++) {{",
                    *printer.stmts(loop.body, "        "), "    }",
                    f"    {set_carry}",
                    f"    if (!({var} - {var} == 0)) {{ {left} -= {vf}; break; }}",
                    "}"]
            self.caveat("a vector step whose values are not all finite is recomputed in scalar, in the loop's order")
        else:
            step = [*self.lines, *after, take_carry, f"{iv} += {vf};"]
        vector = [f"if ({left} >= {vf}) {{",
                  f"    {self.ctype_of(values)} {carry} = {self.fill(self.template('set1', elem, width), x=var)};",
                  *("    " + line for line in self.pre),
                  f"    for (; {left} >= {vf}; {left} -= {vf}) {{",
                  *("        " + line for line in step),
                  "    }",
                  f"    {to_scalar}",
                  "}"]
        epilogue = self.remainder(printer, left)
        self.features.add("scan")
        return Lowered([*out, *vector, *epilogue], vf, tuple(self.caveats), frozenset(self.features))

    def running(self, upd: Running, found: ScalarScan, carry: VVal) -> VVal:
        """The VF values of `s = factor * s + value` from the carried one."""
        elem = found.elem.name
        width = self.width(elem)
        zero = self.zero(found.elem)
        sums = self.convert(self.expr(upd.value), elem)
        factor = self.convert(self.expr(upd.factor), elem) if upd.factor is not None else None
        one = self.splat("1", found.elem) if factor is not None else zero
        k = 1
        while k < self.vf:
            shifted = self.op(f"scan_shift{k}", elem, width, a=sums.name, b=zero.name, hint="shifted")
            if factor is not None:
                shifted = self.op("mul", elem, width, a=factor.name, b=shifted.name, hint="scaled")
            sums = self.op("add", elem, width, a=sums.name, b=shifted.name, hint="sums")
            if factor is not None:
                below = self.op(f"scan_shift{k}", elem, width, a=factor.name, b=one.name, hint="below")
                factor = self.op("mul", elem, width, a=factor.name, b=below.name, hint="factor")
            k *= 2
        base = carry if factor is None else self.op("mul", elem, width, a=factor.name, b=carry.name, hint="scaled")
        if found.elem.is_float:
            what = "additions and multiplications" if upd.factor is not None else "additions"
            self.caveat(f"reassociates the floating-point {what} that update `{upd.var}` (a SIMD scan combines "
                        "within each vector first)")
        return self.op("add", elem, width, a=sums.name, b=base.name, hint="values")

    def held(self, upd: If, hold: Hold, found: ScalarScan, carry: VVal) -> VVal:
        """The VF values of `if (c) x = v;`: each lane takes the value of the last selected lane at or below
        it, the carried value where there is none."""
        elem = found.elem.name
        width = self.width(elem)
        bits = found.elem.bits
        lane = f"int{bits}"
        selected = self.cond(upd.cond)
        values = self.under(selected, lambda: self.convert(self.expr(hold.value), elem))
        selected = self.mask_as(selected, bits)
        filler = self.zero(found.elem)
        no_lane = self.zero(ctype(lane))
        k = 1
        while k < self.vf:
            below = self.op(f"scan_shift{k}", elem, width, a=values.name, b=filler.name, hint="below")
            values = self.select(selected, values, below)
            if self.t.op("mask_up", lane, width) is not None:  # mask registers: a shift of the bits
                moved = self.op("mask_up", lane, width, mask_out=True, hint="m", a=selected.name, b=str(k))
            else:  # vector masks: the lanes move like values, no lane selected below lane 0
                moved = self.op(f"scan_shift{k}", lane, width, mask_out=True, hint="m", a=selected.name, b=no_lane.name)
            selected = self.mor(selected, moved)
            k *= 2
        self.features.add("hold")
        return self.select(selected, values, carry)


class StateScanLowering(Lowering):
    """Lower a loop `state_scan` recognises (two scalars carrying a 2 x 2 linear state, a biquad in Direct Form
    II transposed): one step computes both scalars' VF new values with `rules.scan.matrix_prefix`, their
    previous values as those moved up one lane (lane 0 from the carries), then runs the body's other
    statements with them: a statement ahead of a scalar's update reads its previous value, one after it the
    new value."""

    def build(self) -> Lowered:
        loop: LoopIR = self.loop
        found = state_scan(loop)
        if found is None:
            raise Unsupported("the two carried scalars have a shape the state rule does not cover")
        if loop.moved:
            raise Unsupported(f"the loop moves {loop.moved[0].name}, read after it: the state rule does not advance it")
        t = found.elem
        elem, vf, iv = t.name, self.vf, self.iv
        width = self.width(elem)
        printer = ScalarPrinter(iv, self.rename)
        names = [self.rename(v) for v in found.vars]
        out, left = self.counter_start()
        carries = [VVal(self.fresh("state"), elem, width) for _ in found.vars]

        self.block, self.lines, self.base = _Block(), [], iv
        m = [None if e is None else self.convert(self.expr(e), elem) for e in found.matrix]
        terms = [None if e is None else self.convert(self.expr(e), elem) for e in found.terms]
        news = matrix_prefix(self, t, m, terms, carries)
        mark = len(self.lines)  # the body's statements run only when the step's values are all finite
        for var, new, carry in zip(found.vars, news, carries, strict=True):
            self.block.env[var] = self.op("scan_shift1", elem, width, a=new.name, b=carry.name, hint="previous")
        for n, s in enumerate(loop.body):
            if n in found.carries:
                self.block.env[found.vars[found.carries.index(n)]] = news[found.carries.index(n)]
            else:
                self.statement(s)
        after, self.lines = self.lines[mark:], self.lines[:mark]
        # products of the composed updates overflow or meet inf * 0 where the loop's order does not: such a step
        # is redone in scalar, and a non-finite state ends the vector loop
        zero = self.zero(t)
        ok = [self.compare("eq", self.op("sub", elem, width, a=v.name, b=v.name, hint="zeroes"), zero) for v in news]
        finite = self.mand(ok[0], ok[1])
        bits = self.fill(self.template("mbits", finite.elem, finite.width), m=finite.name)
        full, redo, spill = hex((1 << vf) - 1), self.fresh("lane"), self.fresh("lanes")
        take = [f"{c.name} = {self.fill(self.template('last_lane', elem, width), a=v.name)};"
                for c, v in zip(carries, news, strict=True)]
        to_scalar = (f"{{ {c_type(t)} {spill}[{vf}]; " + " ".join(
            f"{self.fill(self.template('store', elem, width), p=spill, a=c.name)}; {x} = {spill}[0];"
            for c, x in zip(carries, names, strict=True)) + " }")
        set_carries = [f"{c.name} = {self.fill(self.template('set1', elem, width), x=x)};"
                       for c, x in zip(carries, names, strict=True)]
        finite_now = " && ".join(f"{x} - {x} == 0" for x in names)
        step = [*self.lines,
                f"if (({bits} & {full}u) == {full}u) {{", *("    " + x for x in after), *("    " + x for x in take),
                f"    {iv} += {vf};",
                "} else {",
                f"    {to_scalar}",
                f"    for (int {redo} = 0; {redo} < {vf}; {redo}++, {iv}++) {{", *printer.stmts(loop.body, "        "),
                "    }",
                *("    " + x for x in set_carries),
                f"    if (!({finite_now})) {{ {left} -= {vf}; break; }}",
                "}"]
        vt = self.ctype_of(news[0])
        vector = [f"if ({left} >= {vf}) {{", *(f"    {vt} {x}" for x in set_carries), *("    " + x for x in self.pre),
                  f"    for (; {left} >= {vf}; {left} -= {vf}) {{", *("        " + x for x in step), "    }",
                  f"    {to_scalar}", "}"]
        epilogue = [f"for (; {iv} {loop.cmp} {self.rename(loop.upper)}; {iv}++) {{", *printer.stmts(loop.body, "    "),
                    "}"]
        if loop.runs_at_least_once:  # a do-while: the counted remainder, not the re-tested bound
            epilogue[0] = f"for (; {left} > 0; {left}--, {iv}++) {{"
        self.features.add("scan")
        self.caveat("reassociates the floating-point additions and multiplications that update "
                    f"`{found.vars[0]}` and `{found.vars[1]}` (a SIMD scan composes the 2 x 2 updates of each "
                    "vector's iterations first)")
        self.caveat("a vector step whose values are not all finite is recomputed in scalar, in the loop's order")
        return Lowered([*out, *vector, *epilogue], vf, tuple(self.caveats), frozenset(self.features))
