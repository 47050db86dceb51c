"""Outer-loop vectorization: the generic lowering of a nest's outer loop, the inner loop inside each step.

The analysis (analysis/outer_vector.py) hands over the nest as one loop over the outer counter whose
accesses are contiguous (or broadcast) in it, with `LoopIR.inner` naming the inner loop. This lowering
is the generic `Lowering` with two changes to the loop skeleton:

- each vector step runs inside the inner loop's header as the user wrote it (`for (int j = 1; j < n;
  j++) { <one step over lanes i..i+W> }`), so the dependence the inner loop carries stays sequential;
- an element the inner loop does not move (`x1[i]` of `x1[i] += A[j][i] * y[j]`) lives in a register
  across the inner loop: loaded before it, stored after it (a vector accumulator over `i`).

The tail is always the scalar remainder (the outer loop's last iterations, the user's own inner loop):
a masked tail would run the whole inner loop once more under a mask.

A triangular nest (`InnerLoop.first/end`: bounds `i + c`) runs the rows every lane shares as the vector
loop and each lane's own first or last rows with the user's inner body (interchanged: the bounds
swapped); an imperfect nest's statements
around the inner loop (`InnerLoop.before/after`) run in the step around it, on the same registers, a
temporary the inner loop sums into (`s += ...`) a register too.

`InterchangeLowering` is the other formulation of the same nest (the loops swapped, rows streamed; an
imperfect nest distributed, its statements around the inner loop as loops of their own):
which one wins depends on the nest (a register accumulator over `i` vs whole cache lines per row), so
both are proposed, verified and measured, and the faster one is offered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from simdlens.analysis.ir import (
    INT32,
    Access,
    Exit,
    Expr,
    If,
    Let,
    Load,
    LoopIR,
    Reduce,
    Stmt,
    Store,
    Var,
    walk_exprs,
    walk_stmts,
)
from simdlens.analysis.nest import mentions, substitute
from simdlens.analysis.outer_vector import GUARD, transposed_row
from simdlens.analysis.ranges import rows_apart
from simdlens.core import Footprint, Kernel, KernelParam
from simdlens.rules.lower import (
    Lowered,
    Lowering,
    Unsupported,
    VVal,
    _Block,
    _identifiers,
    _indent,
    _stmt_exprs,
    access_key,
)
from simdlens.rules.scalar import c_type
from simdlens.rules.tables import IsaTable


class OuterLoopLowering(Lowering):
    def __init__(self, loop: LoopIR, table: IsaTable, rename: Callable[[str], str], *,
                 inner_body: list[str] | None = None, **options: object) -> None:
        if loop.inner is None:
            raise Unsupported("not an outer loop with its inner loop")
        if loop.inner.first and inner_body is None:
            raise Unsupported("a triangular nest's lanes run the inner loop's body as written: it was not found")
        if any(isinstance(x, Reduce) for x in walk_stmts(loop.body)):
            raise Unsupported(f"an element every lane of {loop.iv} sums into: only the interchanged nest sums it "
                              "(a dot product per row of the inner loop)")
        super().__init__(loop, replace(table, tail="scalar"), rename, **options)  # type: ignore[arg-type]
        self.inner = loop.inner
        self.inner_body = inner_body or []
        self.features.add("outer_loop")
        # a triangle's statements around its inner loop run before and after every lane's own rows, which
        # are scalar code on memory: nothing is kept in a register across them
        around = bool(loop.inner.first and (loop.inner.before or loop.inner.after))
        self.kept = {} if around else self._kept_in_registers()
        self.registers: dict[tuple[str, str, int, str], VVal] = {}
        # temporaries set around the inner loop and assigned in it (`s += v` read as `s = s + v`)
        self.summed = {x.name for x in walk_stmts(self.body) if isinstance(x, Let)} & {
            x.name for x in walk_stmts(self.inner.before) if isinstance(x, Let)}
        self.sums: dict[str, VVal] = {}  # their registers in the current step
        self.set_before: dict[str, VVal] = {}  # the other temporaries set before the inner loop, this step
        # a read of the row the previous inner iteration stored (`aa[j-1][i]` of `aa[j][i] = ...`): that
        # store's value, kept in a register across the inner loop (read back, a masked store would not be
        # forwarded to the load, and even a plain one adds its latency to the chain)
        self.row_carry = self._rows_carried()
        self.row_regs: dict[tuple[str, str, int, str], tuple[str, str]] = {}  # store key: (register, first-pass flag)
        self.row_values: dict[tuple[str, str, int, str], VVal] = {}  # this step's value of each carried read
        self.row_updates: list[str] = []

    def _kept_in_registers(self) -> dict[tuple[str, str, int, str], Access]:
        """The written elements the inner loop does not move, touched in every iteration and nowhere else in
        their array."""
        from simdlens.analysis.build import accesses_of

        j = self.inner.iv
        moves = re.compile(rf"(?<![\w.>]){re.escape(j)}(?!\w)")
        accs = accesses_of(self.inner.before + self.body + self.inner.after)
        kept: dict[tuple[str, str, int, str], Access] = {}
        for s in walk_stmts(self.body):
            if not isinstance(s, Store):
                continue
            a = s.access
            if moves.search(f"{a.base} {a.symbolic}") or a.coeff != 1 or access_key(a) not in self.unconditional:
                continue  # (an element touched only under a condition is never read or written speculatively)
            if all(access_key(b) == access_key(a) or (not w and (access_key(b) in self.apart or rows_apart(
                    a, b, self.loop.enclosing))) or (w and self._mirror(b)) for b, w, _s in accs if b.root == a.root):
                kept[access_key(a)] = a  # (besides it, reads the bounds keep off it: lu's A[i][k], A[k][j])
        return kept

    def _mirror(self, b: Access) -> bool:
        """`cov[j][i] = cov[i][j];` after the inner loop (analysis/outer_vector.py, `transposed_row`): it reads
        the register, and the register's store after it writes the one element they share, the diagonal,
        with the same value."""
        after = {access_key(x.access) for x in walk_stmts(self.inner.after) if isinstance(x, Store)}
        stmts = self.inner.before + self.body + self.inner.after
        return access_key(b) in after and transposed_row(b, stmts, self.loop.iv) is not None

    def _rows_carried(self) -> dict[tuple[str, str, int, str], tuple[str, str, int, str]]:
        """Reads (access key) of the element the previous inner iteration stored, with that store's key: the
        array is stored once, in every inner iteration (or under the inner loop's guard alone: other lanes'
        values are never stored), the inner counter steps by 1, and nothing else of the array is read."""
        j = self.inner.iv
        if self.inner.first or not re.search(rf"(?<![\w.>]){re.escape(j)}\s*\+\+|\+\+\s*{re.escape(j)}(?!\w)",
                                             self.inner.header):
            return {}
        top = self.body
        if len(top) == 1 and isinstance(top[0], If) and not top[0].else_ and top[0].cond == Var(GUARD, INT32):
            top = top[0].then
        stores = [x for x in walk_stmts(self.body) if isinstance(x, Store)]
        reads = [x.access for st in walk_stmts(self.body) for e in _stmt_exprs(st) for x in walk_exprs(e) if isinstance(x, Load)]
        flat = re.compile(r"[\s()]")
        out: dict[tuple[str, str, int, str], tuple[str, str, int, str]] = {}
        for st in top:
            if not isinstance(st, Store) or st.access.coeff != 1 or [x.access.root for x in stores].count(st.access.root) != 1:
                continue
            a = st.access
            if not mentions(a.base, j) or mentions(a.symbolic, j) or access_key(a) in self.kept:
                continue  # (an element the inner loop does not move is kept in a register already)
            back = flat.sub("", substitute(a.base, j, f"{j} - 1"))
            found = [b for b in reads if b.root == a.root]
            if found and all((b.coeff, b.offset, b.symbolic, b.index) == (1, a.offset, a.symbolic, None)
                             and flat.sub("", b.base) == back for b in found):
                out.update({access_key(b): access_key(a) for b in found})
        return out

    def _row_read(self, a: Access) -> VVal:
        """The carried read: the register, or memory on the inner loop's first pass."""
        key = access_key(a)
        if key in self.row_values:
            return self.row_values[key]
        reg, first = self.row_regs[self.row_carry[key]]
        w = self.width(a.elem)
        m = self.memory_mask(a)
        text = (self.fill(self.template("load", a.elem.name, w), p=self.address(a)) if m is None else
                self.fill(self.template("maskload", a.elem.name, w), p=self.address(a),
                          m=self.mask_as(m, a.elem.bits).name))
        v = self.emit(f"{first} ? {text} : {reg}", a.elem.name, w, hint=a.root)
        self.row_values[key] = v
        return v

    def expr(self, e: Expr) -> VVal:
        if isinstance(e, Var) and e.name in self.sums:
            return self.sums[e.name]
        if isinstance(e, Var) and e.name not in self.block.env and e.name in self.set_before:
            return self.set_before[e.name]  # a temporary set before the inner loop (its guard): one value per lane
        return super().expr(e)

    def statement(self, s: Stmt) -> None:
        if not (isinstance(s, Let) and s.name in self.summed):
            super().statement(s)
            return
        # a temporary the inner loop sums into (`s = 0` before it, `s += ...` in it): a register across it
        value = self.convert(self.expr(s.value), s.type.name)
        reg = self.sums.get(s.name)
        if reg is None:
            self.sums[s.name] = self.emit(value.name, value.elem, value.width, hint=s.name)
        else:
            self.lines.append(f"{reg.name} = {value.name};")

    def hoists_fixed_loads(self) -> bool:
        return False  # `y[j]` changes with the inner loop, which runs inside the vector loop

    def load(self, a: Access) -> VVal:
        if access_key(a) in self.row_carry and self.row_carry[access_key(a)] in self.row_regs:
            return self._row_read(a)
        reg = self.registers.get(access_key(a))
        if reg is not None:
            # the register itself: a kept element is the only element of its array the body touches, so no
            # read is scheduled before a store it must not see (those are reads of other elements)
            return reg
        return super().load(a)

    def store(self, a: Access, value: VVal) -> None:
        reg = self.registers.get(access_key(a))
        if access_key(a) in self.row_regs:  # the next inner iteration reads it from the register
            value = self.convert(value, a.elem.name)
            self.row_updates.append(f"{self.row_regs[access_key(a)][0]} = {value.name};")
        if reg is None:
            super().store(a, value)
            return
        value = self.convert(value, a.elem.name)
        if self.ctx_mask is not None:  # a store under a condition: the lanes where it holds take the value
            value = self.select(self.mask_as(self.ctx_mask, a.elem.bits), value, reg)
        self.lines.append(f"{reg.name} = {value.name};")

    def _step(self, head: tuple[Stmt, ...], exit_stmt: Exit | None, body: tuple[Stmt, ...],
              tail: str | None) -> list[str]:
        if exit_stmt is not None or tail is not None:
            raise Unsupported("an outer-loop rewrite with an early exit or a masked tail")
        self.block = around = _Block()
        self.lines = []
        self.registers = {}
        self.sums = {}
        for key, a in self.kept.items():  # the accumulators over i, read once before the inner loop
            self.registers[key] = super().load(a)
        self.statements(self.inner.before)  # an imperfect nest's statements before the inner loop (`C *= beta`)
        self.set_before = dict(around.env)
        self.row_regs, self.row_values, self.row_updates = {}, {}, []
        for key in sorted(set(self.row_carry.values())):
            elem = next(x.access.elem for x in walk_stmts(self.body) if isinstance(x, Store) and access_key(x.access) == key)
            zero = self.zero(elem)
            reg, first = self.fresh(f"{key[0]}_row"), self.fresh(f"{key[0]}_first")
            self.lines += [f"{self.ctype_of(zero)} {reg} = {zero.name};", f"int {first} = 1;"]
            self.row_regs[key] = (reg, first)
        before = self.lines
        step = super()._step(head, exit_stmt, body, tail)
        step += [*self.row_updates, *(f"{first} = 0;" for _reg, first in self.row_regs.values())]
        self.row_regs, self.row_values = {}, {}
        self.block, self.lines = around, []
        self.statements(self.inner.after)
        after = [*self.lines, *(self.fill(self.template("store", a.elem.name, self.width(a.elem)), p=self.address(a),
                                          a=self.registers[key].name) + ";" for key, a in self.kept.items())]
        self.registers = {}
        if self.inner.first:
            return self._triangle(before, step, after)
        code = [*before, f"{self.rename(self.inner.header)} {{", *_indent(step), "}", *after]
        trip = self.inner.trip_count.strip().strip("()")
        if self.kept.keys() - self._touched_around() and not (trip.isdigit() and int(trip) > 0):
            # no inner iteration: the nest touches nothing (unless the statements around it do)
            return [f"if (({self.rename(self.inner.trip_count)}) > 0) {{", *_indent(code), "}"]
        return code

    def _touched_around(self) -> set[tuple[str, str, int, str]]:
        """The elements an imperfect nest's statements around the inner loop touch whatever the condition."""
        from simdlens.analysis.build import accesses_of

        return {access_key(a) for s in (*self.inner.before, *self.inner.after) if not isinstance(s, If)
                for a, _w, _s in accesses_of((s,))}

    def _triangle(self, before: list[str], step: list[str], after: list[str]) -> list[str]:
        """A step of a triangular nest: lane k runs rows [first(i+k), end(i+k)) of the inner loop. The rows
        all lanes run, [first(i+W-1), end(i)), are the vector loop; a lane's own rows before and after
        them run the inner loop's body as written, one lane at a time (the lanes are independent, and
        each keeps its rows in order)."""
        i, j, inner = self.loop.iv, self.inner.iv, self.inner
        ct = inner.counter_type
        moves_first, moves_end = mentions(inner.first, i), mentions(inner.end, i)
        lo, hi = self.fresh(f"{j}_from"), self.fresh(f"{j}_to")
        code = [f"/* rows every lane runs: {j} from {lo} to {hi}; each lane's own rows before and after, as written */",
                f"const {ct} {lo} = {self.rename(substitute(inner.first, i, f'{self.iv} + {self.vf - 1}'))};",
                f"const {ct} {hi} = {self.rename(inner.end)};"]
        around = bool(inner.before or inner.after)  # (then nothing is kept in a register: __init__)
        if around:
            code += before  # every lane's statements before its rows, the lanes' own rows included
        if moves_first:
            code += self._own_rows(f"{j} < {lo}", "")
        vector = [*([] if around else before), f"for ({ct} {j} = {lo}; {j} < {hi}; {j}++) {{", *_indent(step), "}",
                  *([] if around else after)]
        code += [f"if ({hi} > {lo}) {{", *_indent(vector), "}"] if self.kept else vector
        if moves_end:
            code += self._own_rows("", f"{lo} > {hi} ? {lo} : {hi}")
        return code + (after if around else [])

    def _own_rows(self, stop: str, start: str) -> list[str]:
        """Each lane's rows the vector loop does not run: from the inner loop's first row (or `start`) while
        the inner loop's own condition (and `stop`) holds, the outer counter being the lane's."""
        i, j, inner = self.loop.iv, self.inner.iv, self.inner
        it = self.loop.iv_type.spelling or c_type(self.loop.iv_type)
        lane, own = self.fresh("lane"), self.fresh(f"{i}_lane")
        cond = f"{j} < {self.rename(inner.end)}" + (f" && {stop}" if stop else "")
        rows = [f"for ({inner.counter_type} {j} = {start or self.rename(inner.first)}; {cond}; {j}++)",
                *_indent(self.inner_body)]
        return [f"for (int {lane} = 0; {lane} < {self.vf}; {lane}++) {{",
                f"    const {it} {own} = {self.iv} + {lane};",
                f"    {{  /* the user's {i}, the lane's */",
                f"        {it} {i} = {own};", *_indent(_indent(rows)), "    }", "}"]


class InterchangeLowering(Lowering):
    """The same nest with its loops swapped: the inner loop's header outside, the outer counter's loop
    vectorized inside it (contiguous rows streamed one after another), its remainder the inner loop's
    body as the user wrote it. Legal whenever the outer-loop rewrite is: every dependence joins two
    iterations of the same outer counter (analysis/outer_vector.py), whose order over `j` both keep."""

    def __init__(self, loop: LoopIR, table: IsaTable, rename: Callable[[str], str], **options: object) -> None:
        if loop.inner is None:
            raise Unsupported("not an outer loop with its inner loop")
        if any(isinstance(x, Let) for x in walk_stmts(loop.inner.before + loop.inner.after)):
            raise Unsupported("a nest whose statements around the inner loop keep a temporary is not interchanged "
                              "(one value per outer iteration); the outer-loop rewrite keeps it in a register")
        inner = loop.inner
        self.header: str = inner.header
        self.bounds: list[str] = []
        self.whole = loop  # the statements around the inner loop run over the outer loop's own range
        if inner.first:
            taken = _identifiers(loop)
            loop, self.header, self.bounds = _swapped_triangle(loop)
            if {loop.lower, loop.upper} & taken:
                raise Unsupported(f"the names {loop.lower} and {loop.upper} the swapped triangle needs are taken")
        super().__init__(loop, table, rename, **options)  # type: ignore[arg-type]
        self.inner = inner
        self.options = {k: v for k, v in options.items() if k != "scalar_body"}
        self.features.add("interchange")

    def build(self) -> Lowered:
        lowered = super().build()
        code = [f"{self.rename(self.header)} {{", *(self.rename(b) for b in self.bounds), *_indent(lowered.code), "}"]
        caveats, features = list(lowered.caveats), set(lowered.features)
        # an imperfect nest, distributed: the statements before the inner loop for every i, the swapped nest,
        # the statements after it for every i (each i keeps its order: its lanes depend on no other i)
        around: list[list[str]] = []
        for stmts in (self.inner.before, self.inner.after):
            if not stmts:
                around.append([])
                continue
            part = Lowering(replace(self.whole, body=stmts, inner=None), self.t, self.rename,
                            **self.options).build()  # type: ignore[arg-type]
            caveats += [c for c in part.caveats if c not in caveats]
            features |= set(part.features)
            around.append(["{", *_indent(part.code), "}"])
        nest, replay = [*around[0], *code, *around[1]], self._replayed_counters()
        if replay:  # no outer iteration: the user's nest leaves the inner counter as it was, so nothing runs
            whole = self.whole
            nest = [f"if (({self.rename(whole.lower)}) {whole.cmp} ({self.rename(whole.upper)})) {{", *_indent(nest), "}"]
        return Lowered([*nest, *replay], lowered.vf, tuple(caveats), frozenset(features))

    def _replayed_counters(self) -> list[str]:
        """Counters the function declares (`int i, j;` at its top) end where the user's nest leaves them:
        swapped, the loops would leave other values when one of them runs no iteration. After the
        swapped nest (which runs only when the outer loop would), the user's headers around an empty
        body set them (the compiler computes it, or drops it when nothing reads them)."""
        whole, inner = self.whole, self.inner
        outer_own = whole.iv_declared_in_loop
        inner_own = re.match(rf"\s*for\s*\(\s*{re.escape(inner.iv)}\s*=", inner.header) is None
        if outer_own and inner_own:
            return []
        i = whole.iv
        head = f"for ({i} = {whole.lower}; {i} {whole.cmp} {whole.upper}; {i}++)"
        body = "{ }" if inner_own else f"{self.rename(inner.header)} {{ }}"
        return ["/* the counters end where the user's nest leaves them */", f"{self.rename(head)} {body}"]


def _swapped_triangle(loop: LoopIR) -> tuple[LoopIR, str, list[str]]:
    """A triangle's loops swapped: the inner counter's whole range outside (`j` from first(lowest i) to
    end(highest i)), and for each `j` the outer counters whose rows hold it (`j >= i + a` is
    `i <= j - a`, `j < i + b` is `i > j - b`), as the vector loop's bounds (empty ones run nothing)."""
    inner = loop.inner
    assert inner is not None
    i, j = loop.iv, inner.iv
    lo_i, hi_i = loop.lower, loop.upper if loop.cmp == "<" else f"({loop.upper}) + 1"
    (ilo, ihi), (jmin, jmax) = (lo_i, hi_i), (inner.first, inner.end)
    if mentions(inner.first, i):
        top = f"({j}) - ({substitute(inner.first, i, '0')}) + 1"
        ihi, jmin = f"(({hi_i}) < {top} ? ({hi_i}) : {top})", substitute(inner.first, i, lo_i)
    if mentions(inner.end, i):
        bottom = f"({j}) - ({substitute(inner.end, i, '0')}) + 1"
        ilo, jmax = f"(({lo_i}) > {bottom} ? ({lo_i}) : {bottom})", substitute(inner.end, i, f"({hi_i}) - 1")
    first, end = f"{i}_from", f"{i}_to"  # named: the vector loop and its remainder read them
    it = loop.iv_type.spelling or c_type(loop.iv_type)
    bounds = [f"    const {it} {first} = {ilo};  /* the {i} whose rows hold {j} */", f"    const {it} {end} = {ihi};"]
    swapped = replace(loop, lower=first, upper=end, cmp="<", trip_count=f"{end} - {first}")
    return swapped, f"for ({inner.counter_type} {j} = {jmin}; {j} < {jmax}; {j}++)", bounds


def nest_overlap_test(loop: LoopIR, kernel: Kernel, pairs: tuple[tuple[str, str], ...],
                      rename: Callable[[str], str]) -> str:
    """The run-time condition under which a nest rewrite is correct: the analysis's guard (the columns fit
    in a row of a flat matrix), and for pointers that may overlap, the elements each touches over the
    whole nest (the kernel's footprints) are disjoint, or, for an in-place call (`f(x, x)`), the two are
    the same pointer and every iteration touches the same element of both, reading before it writes (a
    vector step loads all its lanes before storing them)."""
    by_root = {p.source or p.name: p for p in kernel.params}
    tests = [f"({rename(loop.inner.guard)})"] if loop.inner is not None and loop.inner.guard else []
    if pairs and any(p.source for p in kernel.params):
        raise Unsupported("a nest whose arrays the kernel renames cannot be checked for overlap at run time")
    prints = {f.param: f for f in kernel.footprints}
    for x, y in pairs:
        px, py = by_root.get(x), by_root.get(y)
        if px is None or py is None or px.elem is None or py.elem is None or px.name not in prints \
                or py.name not in prints:
            raise Unsupported(f"cannot bound the accesses of {x} and {y} for a run-time check")
        (x_lo, x_hi), (y_lo, y_hi) = (_bounds(p, prints[p.name], rename) for p in (px, py))
        disjoint = f"({x_hi} <= {y_lo} || {y_hi} <= {x_lo})"
        if _same_elements_in_place(loop, x, y):
            disjoint = f"({disjoint} || {x_lo} == {y_lo})"
        tests.append(disjoint)
    return " && ".join(tests) or "1"


def _bounds(p: KernelParam, f: Footprint, rename: Callable[[str], str]) -> tuple[str, str]:
    assert p.elem is not None
    base = f"(const {p.elem.c} *)(const void *){rename(p.name)}"

    def at(index: str) -> str:
        return f"(__UINTPTR_TYPE__)({base})" if index == "0" else f"(__UINTPTR_TYPE__)({base} + {index})"

    hi = str(int(f.hi) + 1) if f.hi.isdigit() else f"({rename(f.hi)}) + 1"
    return at(f.lo if f.lo.lstrip("-").isdigit() else f"({rename(f.lo)})"), at(hi)


def _same_elements_in_place(loop: LoopIR, x: str, y: str) -> bool:
    """Whether the nest stays correct when `x` and `y` are the same pointer: every access of either is the
    same element of the step (one offset, one row), one of them is only read, and no statement reads
    either after a statement wrote one (the scalar nest reads element i before writing it)."""
    from simdlens.analysis.build import accesses_of

    # an imperfect nest's statements around the inner loop are part of each step, in order
    body = (*loop.inner.before, *loop.body, *loop.inner.after) if loop.inner is not None else loop.body
    mine = [(a, w) for a, w, _s in accesses_of(body) if a.root in (x, y)]
    if any(a.coeff != 1 or a.base != a.root for a, _w in mine):
        return False
    if len({(a.offset, a.symbolic, a.elem.name) for a, _w in mine}) != 1:
        return False
    if len({a.root for a, w in mine if w}) > 1:
        return False
    written = False
    # the inner loop's body runs again after itself: a read there of an element it does not move (`x[i]`)
    # follows its own earlier writes
    fixed = loop.inner is not None and any(not mentions(f"{a.base} {a.symbolic}", loop.inner.iv)
                                           for a, _w, _s in accesses_of(loop.body) if a.root in (x, y))
    order = (*loop.inner.before, *loop.body, *loop.body, *loop.inner.after) if fixed and loop.inner else body
    for s in order:
        touched = [(a, w) for a, w, _s in accesses_of((s,)) if a.root in (x, y)]
        if written and any(not w for _a, w in touched):
            return False
        written = written or any(w for _a, w in touched)
    return True
