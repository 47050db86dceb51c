"""Second-order running sums (Adler-32, Fletcher): `s1 += buf[i]; s2 += s1;` (analysis.checksums).

One vector step takes a block of VF elements (one register of them: 32 bytes on AVX2). Over the block s1
gains the elements' sum and s2 gains VF * (s1 before the block) + sum_j (VF - j) * x[j]. The vector loop
keeps three registers of 32-bit lanes, each lane a partial sum:

    before += sums;                 // s1's partial sums before this block: VF times them go into s2
    sums   += block_sum(x);         // psadbw (bytes) or a pairwise add: the elements' sum
    weighted += block_wsum(x);      // pmaddubsw with VF..1 + pmaddwd (bytes): the weighted sum

and after it s2 += done * s1 + VF * sum(before) + sum(weighted), s1 += sum(sums), in the sums' unsigned
type: every operation is an addition or a multiplication modulo 2^32 (2^64 for 64-bit sums, whose registers
hold 64-bit lanes: table row `pair_sums` widens each step's 32-bit partial sums), so any grouping gives the
loop's values exactly. The table rows `block_sum` / `block_wsum` say how one register is summed per element type;
a type without them has no rewrite. When s2 adds s1's value before the update (`s2 += s1; s1 += x[i];`),
s2 ends lower by the elements' sum. The remainder runs the loop's own statements.
"""

from __future__ import annotations

from simdlens.analysis.checksums import RunningPair, running_pair
from simdlens.analysis.ir import expr_type
from simdlens.rules.lower import Lowered, Lowering, Unsupported, _Block
from simdlens.rules.scalar import ScalarPrinter, c_type

# The lanes the partial sums are kept in, by the sums' width, whatever their signedness: unsigned lanes wrap.
_LANES = {32: "uint32", 64: "uint64"}


class ChecksumLowering(Lowering):
    """Lower a loop `running_pair` recognises; every other shape raises `Unsupported`."""

    def pair(self) -> RunningPair:
        found = running_pair(self.loop)
        if found is None:
            raise Unsupported("the two running sums have a shape the checksum rule does not cover")
        return found

    def _choose_vf(self, max_lanes: int | None) -> int:
        # one lane per element: the sums exist only as the block's partial sums in wider lanes
        return self.t.vector_bits // expr_type(self.pair().data).bits

    def build(self) -> Lowered:
        loop, pair, vf, iv = self.loop, self.pair(), self.vf, self.iv
        if loop.moved or loop.inner is not None or loop.unit_strides:
            raise Unsupported("the checksum rule covers counted loops over contiguous elements only")
        data = expr_type(pair.data).name
        bits = self.t.vector_bits
        for op in ("block_sum", "block_wsum"):
            if self.t.op(op, data, bits) is None:
                raise Unsupported(f"{self.t.name} has no {op} row for {data} elements (the checksum rule)")
        lanes_t = _LANES[pair.elem.bits]
        # 64-bit sums: the rows' 32-bit partial sums added in pairs into 64-bit lanes first (table row)
        widen = lanes_t != "uint32"
        if widen and self.t.op("pair_sums", "uint32", bits) is None:
            raise Unsupported(f"{self.t.name} has no pair_sums row for 64-bit sums (the checksum rule)")
        vt = self.t.vtype(lanes_t, bits)
        assert vt is not None
        first, second = self.rename(pair.first), self.rename(pair.second)
        out, left = self.counter_start()
        start = self.fresh("first_left")
        before, sums, weighted = self.fresh("before"), self.fresh("sums"), self.fresh("weighted")

        def add(acc: str, value: str) -> str:
            if widen:
                value = self.emit(value, "uint32", bits, hint="part").name
                value = self.fill(self.template("pair_sums", "uint32", bits), a=value)
            return f"{acc} = {self.fill(self.template('add', lanes_t, bits), a=acc, b=value)};"

        def one_step() -> list[str]:
            self.block, self.lines, self.base = _Block(), [], iv
            x = self.expr(pair.data)
            block_sum = self.fill(self.template("block_sum", data, bits), a=x.name)
            block_wsum = self.fill(self.template("block_wsum", data, bits), a=x.name)
            step = [f"{before} = {self.fill(self.template('add', lanes_t, bits), a=before, b=sums)};"]
            step += [add(sums, block_sum), add(weighted, block_wsum)]  # emit() adds the widened parts' lines
            return [*self.lines, *step, f"{iv} += {vf};"]

        # two blocks an iteration, as an expert unrolls it: the loop's count, compare and branch are a large
        # part of a 7-instruction step
        twice = [*one_step(), *one_step()]
        step = one_step()

        u = f"{lanes_t}_t"
        lanes = bits // pair.elem.bits
        spill, k = self.fresh("lanes"), self.fresh("k")
        t_sums, t_before, t_weighted = self.fresh("sum"), self.fresh("sum_before"), self.fresh("sum_weighted")
        store = self.template("store", lanes_t, bits)
        ct = c_type(pair.elem)
        # s2 += s1 before the update: each iteration adds s1 without its own element
        own = f" - {t_sums}" if not pair.after else ""
        fold = [f"{u} {spill}[3][{lanes}];",
                f"{self.fill(store, p=f'{spill}[0]', a=sums)};",
                f"{self.fill(store, p=f'{spill}[1]', a=before)};",
                f"{self.fill(store, p=f'{spill}[2]', a=weighted)};",
                f"{u} {t_sums} = 0, {t_before} = 0, {t_weighted} = 0;",
                f"for (int {k} = 0; {k} < {lanes}; {k}++) {{ {t_sums} += {spill}[0][{k}]; "
                f"{t_before} += {spill}[1][{k}]; {t_weighted} += {spill}[2][{k}]; }}",
                f"{second} = ({ct})(({u}){second} + ({u})({start} - {left}) * ({u}){first} + {vf}u * {t_before} "
                f"+ {t_weighted}{own});",
                f"{first} = ({ct})(({u}){first} + {t_sums});"]
        zero = self.fill(self.template("set1", lanes_t, bits), x="0")
        vector = [f"if ({left} >= {vf}) {{",
                  f"    long long {start} = {left};",
                  f"    {vt} {before} = {zero}, {sums} = {zero}, {weighted} = {zero};",
                  *("    " + line for line in self.pre),
                  f"    for (; {left} >= {2 * vf}; {left} -= {2 * vf}) {{",
                  *("        " + line for line in twice),
                  "    }",
                  f"    for (; {left} >= {vf}; {left} -= {vf}) {{",
                  *("        " + line for line in step),
                  "    }",
                  *("    " + line for line in fold),
                  "}"]
        printer = ScalarPrinter(iv, self.rename)
        epilogue = self.remainder(printer, left)
        self.features.add("checksum")
        return Lowered([*out, *vector, *epilogue], vf, tuple(self.caveats), frozenset(self.features))
