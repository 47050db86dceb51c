"""The histogram rule: `h[idx[i]] += w(i)` (or `h[idx[i]]++`) with equal indices inside a vector.

A gather-add-scatter loses updates when two lanes name the same bin. With conflict detection (the ISA
table has a `conflict` row: AVX-512 CD) one step

    prev[k] = the nearest lower lane with the same index (-1: none), from vpconflictd + vplzcntd
    while some lane has a prev:  sums[k] += sums[prev[k]]; prev[k] = prev[prev[k]]   (pointer jumping)
    h[idx] = gather(h, idx) + sums, scattered (lanes write lowest first: the group's last lane wins)

leaves in the last lane of each group of equal indices the sum of the group's weights; the pointer
jumping takes log2 of the longest group's rounds. Without it (AVX2: no conflict detection, no
scatter) the known emulation: a vector whose lanes are all different bins is gathered, added and
stored lane by lane; a vector with a repeated bin runs its iterations in scalar. Measurement decides
whether either beats the scalar loop. Integer bins are exact; float bins reassociate (a caveat).
"""

from __future__ import annotations

from simdlens.analysis.histograms import HistogramUpdate, histogram_update
from simdlens.rules.lower import Lowered, Lowering, Unsupported, _Block
from simdlens.rules.scalar import ScalarPrinter, c_type


class HistogramLowering(Lowering):
    """Lower a loop `histogram_update` recognises; every other shape raises `Unsupported`."""

    def update(self) -> HistogramUpdate:
        hist = histogram_update(self.loop)
        if hist is None or hist.target.symbolic:
            raise Unsupported("the histogram update has a shape the histogram rule does not cover")
        return hist

    def build(self) -> Lowered:
        loop = self.loop
        hist = self.update()
        elem = hist.elem.name
        vf, iv = self.vf, self.iv
        width = self.width(elem)
        printer = ScalarPrinter(iv, self.rename)
        out, left = self.counter_start()

        self.block, self.lines, self.base = _Block(), [], iv
        pointer, bins = self.lane_indices(hist.target)
        weights = self.convert(self.expr(hist.term), elem)
        if self.t.op("conflict", "int32", self.width("int32")) is not None:
            step = self._conflict_step(pointer, bins.name, weights.name, elem, width)
        else:
            step = self._distinct_step(pointer, bins.name, weights.name, elem, width, printer)
        vector = [f"if ({left} >= {vf}) {{",
                  *("    " + line for line in self.pre),
                  f"    for (; {left} >= {vf}; {left} -= {vf}) {{",
                  *("        " + line for line in step),
                  "    }",
                  "}"]
        epilogue = [f"for (; {iv} {loop.cmp} {self.rename(loop.upper)}; {iv}++) {{",
                    *printer.stmts(loop.body, "    "), "}"]
        if loop.runs_at_least_once:  # a do-while: the counted remainder, not the re-tested bound
            epilogue[0] = f"for (; {left} > 0; {left}--, {iv}++) {{"
        self.features.add("histogram")
        if hist.elem.is_float and "conflict" in self.features:  # lane-by-lane stores keep the loop's order
            self.caveat("reassociates floating-point additions (the weights of one bin within a vector are "
                        "added together before they meet the bin)")
        return Lowered([*out, *vector, *epilogue], vf, tuple(self.caveats), frozenset(self.features))

    def _conflict_step(self, pointer: str, bins: str, weights: str, elem: str, width: int) -> list[str]:
        """AVX-512 CD: sum the weights of equal bins by pointer jumping, then one gather-add-scatter."""
        i32 = self.width("int32")
        conflicts = self.op("conflict", "int32", i32, a=bins, hint="conflicts")
        prev = self.op("conflict_prev", "int32", i32, a=conflicts.name, hint="prev")
        pending = self.op("has_conflict", "int32", i32, mask_out=True, a=conflicts.name, hint="pending")
        sums = self.emit(weights, elem, width, hint="sums")
        earlier = self.fresh("earlier")
        fill = self.fill
        jump = [f"while ({pending.name}) {{",
                f"    {self.ctype_of(sums)} {earlier} = "
                f"{fill(self.template('lane_from', elem, width), a=prev.name, b=sums.name)};",
                f"    {sums.name} = {fill(self.template('mask_add', elem, width), a=sums.name, m=pending.name, b=earlier)};",
                f"    {prev.name} = {fill(self.template('mask_lane_from', 'int32', i32), a=prev.name, m=pending.name, b=prev.name)};",
                f"    {pending.name} = {fill(self.template('mask_nonneg', 'int32', i32), m=pending.name, a=prev.name)};",
                "}"]
        lines = [*self.lines, *jump]
        self.lines = []
        old = self.op("gather", elem, width, p=pointer, a=bins, hint="old")
        total = self.op("add", elem, width, a=old.name, b=sums.name, hint="total")
        self.lines.append(self.fill(self.template("scatter", elem, width), p=pointer, a=bins, t=total.name) + ";")
        self.features.add("conflict")
        return [*lines, *self.lines, f"{self.iv} += {self.vf};"]

    def _distinct_step(self, pointer: str, bins: str, weights: str, elem: str, width: int,
                       printer: ScalarPrinter) -> list[str]:
        """No conflict detection: a vector of distinct bins is gathered, added and stored lane by lane;
        one with a repeated bin runs its iterations in scalar, in the loop's order."""
        i32 = self.width("int32")
        repeat = self.fill(self.template("lanes_repeat", "int32", i32), a=bins)
        lines = [*self.lines, f"if (!({repeat})) {{"]
        self.lines = []
        old = self.op("gather", elem, width, p=pointer, a=bins, hint="old")
        total = self.op("add", elem, width, a=old.name, b=weights, hint="total")
        at, value, k = self.fresh("bin_at"), self.fresh("bin_value"), self.fresh("k")
        spill = [f"int {at}[{self.vf}];", f"{c_type(self.update().elem)} {value}[{self.vf}];",
                 self.fill(self.template("store", "int32", i32), p=at, a=bins) + ";",
                 self.fill(self.template("store", elem, width), p=value, a=total.name) + ";",
                 f"for (int {k} = 0; {k} < {self.vf}; {k}++) {pointer}[{at}[{k}]] = {value}[{k}];",
                 f"{self.iv} += {self.vf};"]
        redo = self.fresh("lane")
        return [*lines, *("    " + line for line in [*self.lines, *spill]),
                "} else {",
                f"    for (int {redo} = 0; {redo} < {self.vf}; {redo}++, {self.iv}++) {{",
                *printer.stmts(self.loop.body, "        "), "    }",
                "}"]
