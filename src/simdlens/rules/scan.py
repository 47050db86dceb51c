"""The running-sum rule: `b[i] = b[i - 1] + term(i)` as an in-register SIMD scan.

One vector step computes VF prefix sums at once (log2(VF) shift-and-add rounds, the shifts being
table rows `scan_shift1`, `scan_shift2`, … that move lanes up by k and shift in zeros), adds the carry
(every lane holding the last sum of the previous step, table row `last_lane`), stores the VF sums and
takes the new carry. The recurrence left on the critical path is one add and one permute per VF
elements instead of one add per element. The remainder runs the user's own statement.

Integer sums wrap exactly as the scalar loop's; float sums are reassociated (a caveat), which the
sandbox checks with its summation tolerance.
"""

from __future__ import annotations

from dataclasses import replace

from simdlens.analysis.ir import Load, LoopIR
from simdlens.analysis.scans import FirstOrderScan, first_order_scan
from simdlens.rules.lower import Lowered, Lowering, Unsupported, _Block
from simdlens.rules.scalar import ScalarPrinter, c_type


class ScanLowering(Lowering):
    """Lower a loop `first_order_scan` recognises; every other shape raises `Unsupported`."""

    def scan(self) -> FirstOrderScan:
        scan = first_order_scan(self.loop)
        if scan is None:
            raise Unsupported("the running sum has a shape the scan rule does not cover")
        return scan

    def build(self) -> Lowered:
        loop: LoopIR = self.loop
        scan = self.scan()
        elem = scan.elem.name
        vf, iv = self.vf, self.iv
        width = self.width(elem)
        printer = ScalarPrinter(iv, self.rename)
        out = [f"{c_type(loop.iv_type)} {iv} = {self.rename(loop.lower)};" if loop.iv_declared_in_loop
               else f"{iv} = {self.rename(loop.lower)};"]
        left = self.fresh("left")
        out.append(f"long long {left} = (long long)({self.rename(loop.trip_count)});")
        previous = printer.expr(Load(replace(scan.target, offset=scan.target.offset - 1)))
        carry = self.fresh("carry")

        # one step: the terms of VF iterations, their prefix sums, plus the carry
        self.block, self.lines, self.base = _Block(), [], iv
        sums = self.convert(self.expr(scan.term), elem)
        k = 1
        while k < vf:
            shifted = self.op(f"scan_shift{k}", elem, width, a=sums.name, hint="shifted")
            sums = self.op("add", elem, width, a=sums.name, b=shifted.name, hint="sums")
            k *= 2
        sums = self.op("add", elem, width, a=sums.name, b=carry, hint="sums")
        step = [*self.lines,
                self.fill(self.template("store", elem, width), p=self.address(scan.target), a=sums.name) + ";",
                f"{carry} = {self.fill(self.template('last_lane', elem, width), a=sums.name)};",
                f"{iv} += {vf};"]
        splat = self.fill(self.template("set1", elem, width), x=previous)
        vector = [f"if ({left} >= {vf}) {{",
                  f"    {self.ctype_of(sums)} {carry} = {splat};",
                  *self.pre_lines(),
                  f"    for (; {left} >= {vf}; {left} -= {vf}) {{",
                  *("        " + line for line in step),
                  "    }",
                  "}"]
        inc = f"{iv}++"
        epilogue = [f"for (; {iv} {loop.cmp} {self.rename(loop.upper)}; {inc}) {{",
                    *printer.stmts(loop.body, "    "), "}"]
        if loop.runs_at_least_once:  # a do-while: the counted remainder, not the re-tested bound
            epilogue[0] = f"for (; {left} > 0; {left}--, {inc}) {{"
        self.features.add("scan")
        if scan.elem.is_float:
            self.caveat("reassociates floating-point additions (a SIMD scan sums within each vector first)")
        return Lowered([*out, *vector, *epilogue], vf, tuple(self.caveats), frozenset(self.features))

    def pre_lines(self) -> list[str]:
        """Broadcasts of loop invariants the term needs, inside the vector branch."""
        return ["    " + line for line in self.pre]
