"""Whether a loop may run on SIMD lanes, and why: dependences, aliasing, scalars, control flow.

`judge(site, loop, reasons, ctx)` takes the IR from `build` and decides the verdict:

- NOT_VECTORIZABLE when anything blocks it: a blocking reason from the builder (goto, calls, volatile,
  a scalar recurrence, ...), a loop-carried dependence shorter than the narrowest SIMD width, a scatter
  whose iterations may hit the same element, an unknown dependence;
- VECTORIZABLE_WITH_CHECKS when it is safe only if pointers do not overlap (`alias_checks`) or an
  unknown distance is large enough (a runtime check);
- VECTORIZABLE otherwise, with a summary reason ("elementwise", "reduction", "search", "pack") and
  informational reasons for what a rewrite must respect (float reassociation, guarded loads, ...).

The lowering contract the dependence test assumes: a vector step executes the body's statements in
order, each for all lanes (the loads of a statement before its store). Under it a dependence from an
earlier statement to a later one is harmless at any width; a dependence going backwards (same
statement, or to an earlier statement) with distance d is harmless for up to d lanes (`max_lanes`);
a backward dependence between statements that do not form a cycle is removed by reordering them
(fact "reorder": hoist those loads above the stores).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from simdlens.analysis.build import accesses_of, element_root, strip_implicit_casts
from simdlens.analysis.checksums import running_pair
from simdlens.analysis.histograms import histogram_update
from simdlens.analysis.inductions import induction_affine, induction_subscript
from simdlens.analysis.ir import (
    IV,
    Access,
    ArgReduce,
    Array,
    Binary,
    Call,
    Carry,
    Cast,
    Const,
    Exit,
    Expand,
    Expr,
    Hold,
    If,
    LastValue,
    Let,
    Load,
    LoopIR,
    Pack,
    Reduce,
    ReduceOp,
    Running,
    ScalarRole,
    Select,
    Step,
    Stmt,
    Store,
    Unary,
    Var,
    exclusive_ifs,
    walk_exprs,
    walk_stmts,
)
from simdlens.analysis.ranges import other_row_of_walk, outside_walk
from simdlens.analysis.scans import (
    MatrixScan,
    SecondOrderScan,
    cancelling_factor,
    cancelling_reason,
    first_order_scan,
    matrix_scan,
    recurrence_detail,
    row_difference,
    row_subscript,
    scalar_scan,
    second_order_scan,
    state_scan,
)
from simdlens.core import Analysis, LoopRole, LoopSite, LoopVerdict, Reason

# Reason codes that describe a vectorizable loop rather than block it.
INFORMATIONAL = frozenset({
    "elementwise", "reduction", "search", "pack", "float_reduction", "minmax", "argminmax", "induction", "peel",
    "distance", "split", "reorder", "gather", "scatter", "guarded_load", "masked_store", "math_call", "fma_call",
    "pointer_walk", "if_convert", "last_value", "outer_vectorizable", "guarded_division", "range_for", "iterator_for",
    "unrolled",
    "scan", "histogram", "expand",
    "macro_expanded", "semantic_facts",  # notes on where the reading came from (analysis.clang_facts)
    "instantiation",  # the template instantiation a loop in a template was read for (context.templates)
})
# Codes of loops that are SIMD code already (fact "already_vectorized"): never proposed again.
ALREADY_VECTORIZED = frozenset({"intrinsics", "simdlens_rewrite"})
# Codes that need a runtime check rather than block.
CHECKS = frozenset({"may_alias", "symbolic_distance", "rows_may_overlap", "runtime_stride"})

def _stepped_by(loop: LoopIR, a: Access, stride: str) -> bool:
    """`x[ix]` where `ix += stride` walks the subscript."""
    found = induction_subscript(a)
    return found is not None and any(isinstance(s, Step) and s.var == found[0]
                                     and isinstance(v := strip_implicit_casts(s.step), Var) and v.name == stride
                                     for s in loop.body)


_WIDTHS = (("SSE", 128), ("AVX2", 256), ("AVX-512", 512))


def judge(site: LoopSite, loop: LoopIR | None, reasons: tuple[Reason, ...], ctx: Any = None) -> Analysis:
    """The verdict for one loop, with its reasons, facts, alias checks and lane limit."""
    if loop is None:
        rs = reasons or (Reason("unsupported_loop", "the loop could not be normalised", site.header),)
        facts = {"outer"} if site.role != LoopRole.INNERMOST else set()
        if any(r.code in ALREADY_VECTORIZED for r in rs):
            facts.add("already_vectorized")
        return Analysis(site, LoopVerdict.NOT_VECTORIZABLE, rs, None, frozenset(facts))
    j = _Judge(site, loop)
    j.globals = getattr(ctx, "globals", {}) or {}
    j.reasons.extend(reasons)
    j.run()
    return j.result()


class _Judge:
    def __init__(self, site: LoopSite, loop: LoopIR) -> None:
        self.site = site
        self.loop = loop
        self.globals: Any = {}  # the file's global variables (name -> declaration), from the context
        self.reasons: list[Reason] = []
        self.facts: set[str] = set()
        self.alias: set[tuple[str, str]] = set()
        self.max_lanes: int | None = None
        self.accs = accesses_of(loop.body)
        self.stmts = walk_stmts(loop.body)  # every statement, nested ones included

    # ---- verdict ------------------------------------------------------------------------------------

    def result(self) -> Analysis:
        codes = {r.code for r in self.reasons}
        for c in codes:
            if c in ("pointer_walk", "range_for", "iterator_for"):
                self.facts.add(c)
            elif c == "outer_vectorizable":
                self.facts.add("outer")
            elif c == "math_call":
                self.facts.add("svml")
            elif c == "fma_call":
                self.facts.add("fma_call")
        # blocking reasons first, then checks, then the rest; in their order within each group
        blocking: list[Reason] = []
        checks: list[Reason] = []
        rest: list[Reason] = []
        for r in self.reasons:
            if r.code in CHECKS:
                checks.append(r)
            elif r.code in INFORMATIONAL:
                rest.append(r)
            else:
                blocking.append(r)
        if blocking:
            verdict = LoopVerdict.NOT_VECTORIZABLE
            rs = blocking + checks + rest
        else:
            verdict = LoopVerdict.VECTORIZABLE_WITH_CHECKS if checks else LoopVerdict.VECTORIZABLE
            summary = self._summary()
            self.reasons.insert(0, summary)
            rs = [summary, *checks, *rest]
        return Analysis(self.site, verdict, tuple(_dedupe(rs)), self.loop, frozenset(self.facts),
                        tuple(sorted(self.alias)), self.max_lanes)

    def _summary(self) -> Reason:
        stmts = self.stmts
        if any(isinstance(s, Exit) for s in stmts):
            ex = next(s for s in stmts if isinstance(s, Exit))
            if "search_with_stores" in self.facts:
                return Reason("search", "a search loop that stores before it leaves: compilers do not vectorize an "
                              "early exit with stores; a SIMD rewrite tests a whole vector (compare + movemask), stores "
                              "the vectors before the exit lane whole and finishes the exit vector's lanes up to the "
                              "exit in scalar", ex.span or self.site.header)
            return Reason("search", "a search loop: leaves at the first iteration where its exit condition holds; "
                          "a SIMD rewrite tests a whole vector at once (compare + movemask) and finds the first lane "
                          "with a bit scan", ex.span or self.site.header)
        if any(isinstance(s, Expand) for s in stmts):
            xp = next(s for s in stmts if isinstance(s, Expand))
            return Reason("expand", f"unpacks consecutive elements of {xp.src.base} into the elements of {xp.dst.base} "
                          "where the condition holds (expand, the inverse of a pack): compilers leave it scalar; a "
                          "SIMD rewrite loads as many elements as a vector selects and moves them into place with a "
                          "permutation built from the mask (AVX-512 vexpand; AVX2 a permutation from pdep)", xp.span)
        if any(isinstance(s, Pack) for s in stmts):
            pk = next(s for s in stmts if isinstance(s, Pack))
            k = sum(1 for s in stmts if isinstance(s, Pack) and s.counter == pk.counter and s.dst.root == pk.dst.root)
            run = (f"; {k} stores in turn at the counter {pk.counter}, some under a condition (an induction "
                   "advanced under a condition): the rewrite interleaves their values and masks lane by lane "
                   "first") if k > 1 else ""
            return Reason("pack", f"packs the selected elements into consecutive elements of {pk.dst.base} (compress): "
                          "where each one lands depends on how many were selected before it, so compilers leave it "
                          "scalar; a SIMD rewrite moves each vector's selected lanes next to each other and stores "
                          f"them together (AVX-512 vcompress; AVX2 a permutation built from the mask){run}", pk.span)
        reds = [s for s in stmts if isinstance(s, (Reduce, ArgReduce))]
        lasts = sorted({s.var for s in stmts if isinstance(s, LastValue)})
        if lasts and not reds and not any(isinstance(s, Store) for s in stmts):
            return Reason("last_value", f"{', '.join(lasts)} keeps the value of the last iteration whose condition "
                          "holds: a SIMD rewrite tests a whole vector (compare + movemask) and takes the value of its "
                          "highest such lane (a bit scan)", self.site.header)
        if "histogram" in self.facts:
            hist = histogram_update(self.loop)
            assert hist is not None
            index = hist.target.index
            while isinstance(index, Cast):
                index = index.operand
            bins = (f"{hist.target.base}[{index.access.base}[{self.loop.iv}]]" if isinstance(index, Load)
                    else _show(hist.target, self.loop.iv))
            return Reason("histogram", f"a histogram update of {bins}: two iterations may add to the same bin, so "
                          "compilers leave it scalar; AVX-512 finds the equal indices of a vector (vpconflictd), adds "
                          "their weights together and scatters one total per bin", self.site.header)
        if "state_scan" in self.facts or "running_pair" in self.facts:
            return next(r for r in self.reasons if r.code == "scan")
        if "scalar_scan" in self.facts:
            upd = next(x for x in stmts if isinstance(x, Running | Hold))
            if isinstance(upd, Hold):
                return Reason("scan", f"a last value seen: {upd.var} is set only where the condition holds and every "
                              "iteration reads it. Compilers leave this scalar; a SIMD rewrite computes a vector of "
                              "its values at once (a prefix of the selected lanes, then the value carried from the "
                              "previous vector)", self.site.header)
            what = ("a first-order linear recurrence carried in the scalar " + upd.var if upd.factor is not None
                    else "a running sum carried in the scalar " + upd.var)
            how = ", reassociating the " + ("additions and multiplications" if upd.factor is not None
                                            else "additions") if upd.type.is_float else ""
            return Reason("scan", f"{what}, read on every iteration. Compilers do not vectorize it; a SIMD scan "
                          f"does{how}: log2(lanes) shift-and-add steps per vector and one carried value",
                          self.site.header)
        if "scan" in self.facts:
            if "second_order" in self.facts:
                return Reason("scan", "a second-order linear recurrence: each element is a constant combination of "
                              "the two before it plus a term. Compilers leave this recurrence scalar; a SIMD rewrite "
                              "computes a vector of results at once from the filter's impulse response and the two "
                              "results carried from the previous vector", self.site.header)
            if "matrix_scan" in self.facts:
                pair = matrix_scan(self.loop)
                assert pair is not None
                x, y, i = pair.x.base, pair.y.base, self.loop.iv
                return Reason("scan", f"coupled linear recurrences ({x}[{i}] and {y}[{i}] from {x}[{i}-1] and "
                              f"{y}[{i}-1]): "
                              "a 2 x 2 linear system carried from each iteration to the next. Compilers leave it "
                              "scalar; a SIMD scan combines the 2 x 2 matrices and terms of a vector's iterations "
                              "in log2(lanes) rounds and carries the two last results between vectors",
                              self.site.header)
            what = ("a first-order linear recurrence: each element is a multiple of the one before it plus a "
                    "term" if "linear_recurrence" in self.facts else "a running sum: each element adds the one before it")
            coupled = first_order_scan(self.loop)
            if coupled is not None and coupled.coupled and isinstance(coupled.after[0], Store):
                x, y = coupled.after[0].access.base, coupled.target.base
                what = (f"coupled recurrences ({x}[i] from {y}[i-1], {y}[i] from {x}[i]): substituting {x}[i], {y} "
                        f"alone is {what[:1].lower() + what[1:]}, and {x} follows from it")
            return Reason("scan", f"{what}. Compilers leave this recurrence scalar; a SIMD scan computes a vector "
                          "of results at once", self.site.header)
        if reds:
            names = sorted({s.var if isinstance(s, Reduce) else s.value_var or s.index_var for s in reds})
            kinds = sorted({_red_word(s) for s in reds})
            return Reason("reduction", f"{', '.join(kinds)} of {', '.join(names)}", self.site.header)
        def shown(a: Access) -> str:
            # a container's storage, the parts of a complex array (`((float *)(c))`), the bits of an element
            # (`((const uint32_t *)(src))`): the user's name
            return a.root if a.base in (a.root + ".data()", f"(&{a.root}[0][0])") or (
                a.base.startswith("((") and a.base.endswith((f" *)({a.root}))", f" *)({a.root}.data()))"))) else a.base

        written = sorted({shown(a) for a, w, _ in self.accs if w})
        read = sorted({shown(a) for a, w, _ in self.accs if not w} - set(written))
        msg = "independent iterations"
        if written:
            msg += ": writes " + ", ".join(written)
        if read:
            msg += ", reads " + ", ".join(read)
        return Reason("elementwise", msg, self.site.header)

    # ---- analysis ----------------------------------------------------------------------------------

    def run(self) -> None:
        self._scalars()
        self._control()
        self._dependences()
        self._aliasing()
        self._strides()

    def _strides(self) -> None:
        """Run-time strides the IR reads as unit: the rewrite's vector code runs only while they are."""
        for name, unit in self.loop.unit_strides:
            used = sorted({a.root for a, _w, _s in self.accs if a.stride == name}
                          | {a.base for a, _w, _s in self.accs if a.index is not None and _stepped_by(self.loop, a, name)})
            self.facts.add("runtime_stride")
            self.reasons.append(Reason("runtime_stride", f"{name} is a stride known only at run time ("
                                       f"{', '.join(used) or 'a walking pointer'}): a rewrite runs its vector loop "
                                       f"when {name} == {unit} and your loop otherwise", self.site.header))

    def _scalars(self) -> None:
        state = self._state()
        for s in self.stmts:
            if isinstance(s, Carry | Running) and s.var in state:
                continue
            if isinstance(s, Reduce):
                if s.type.is_float and s.op in (ReduceOp.ADD, ReduceOp.SUB, ReduceOp.MUL):
                    self.facts.add("float_reduction")
                    self.reasons.append(Reason("float_reduction", f"vectorizing reorders the floating-point "
                                               f"{'additions' if s.op != ReduceOp.MUL else 'multiplications'} into "
                                               f"{s.var}: the result can differ in the last bits", s.span))
                if s.op in (ReduceOp.MIN, ReduceOp.MAX):
                    self.facts.add("minmax")
                    if s.type.is_float:
                        if s.cmp in ("fmin", "fmax"):
                            text = (f"NaN elements are ignored (a NaN start gives way to the first number), and "
                                    f"which of -0.0 / +0.0 a tie keeps is the compiler's choice of {s.cmp}()'s "
                                    f"operand order")
                        else:
                            text = (f"a NaN element never replaces {s.var} (compare '{s.cmp}'), but a NaN start value "
                                    f"stays, and which of -0.0 / +0.0 survives a tie depends on the order; a rewrite "
                                    f"must keep that")
                        self.reasons.append(Reason("minmax", f"running {s.op.value} of {s.var}: {text}", s.span))
                if s.access is not None:
                    self.facts.add("memory_reduction")
            elif isinstance(s, ArgReduce):
                self.facts.add("argminmax")
                tie = "first" if s.cmp in ("<", ">") else "last"
                word = f"arg{'max' if s.cmp in ('>', '>=') else 'min'}"
                if s.call:  # `m = fmaxf(m, v); if (m == v) k = i;` (ggml)
                    self.reasons.append(Reason("argminmax", f"{word} kept with {s.call}(): {s.value_var} and its index "
                                               f"{s.index_var} (the last index whose element is at least the best so "
                                               "far wins; a NaN element is never taken); compilers leave it scalar, a "
                                               f"SIMD {word} keeps each lane's best value and index", s.span))
                elif s.at_index is None:
                    also = "".join(f"; {v} is set to a value of the outer loop when the best changes in this loop"
                                   for v, _ in s.also)
                    self.reasons.append(Reason("argminmax", f"{word}: {s.value_var} and its index {s.index_var} "
                                               f"({tie} index wins ties){also}", s.span))
                else:  # `if (x[i] > x[best]) best = i;`
                    self.reasons.append(Reason("argminmax", f"{word} written against the array: {s.index_var} is "
                                               "set only under a condition that reads the element at it, which "
                                               f"compilers treat as a recurrence; a SIMD {word} keeps each "
                                               "lane's best value and index and compares the lanes after the "
                                               f"loop ({tie} index wins ties, a NaN element is never taken)", s.span))
            elif isinstance(s, Step):
                self.facts.add("induction")
                step = strip_implicit_casts(s.step)
                step = strip_implicit_casts(step.operand) if isinstance(step, Unary) and step.op == "-" else step
                by = "a constant" if isinstance(step, Const) else "the same amount"  # or a run-time stride
                self.reasons.append(Reason("induction", f"{s.var} steps by {by} each iteration: computed "
                                           "from the lane number", s.span))
            elif isinstance(s, Carry) and _through_itself(s, self.stmts):
                self.reasons.append(Reason("recurrence", f"{s.var} is computed from its own previous value through "
                                           "the temporaries of the body, in a form no scan computes (a scan "
                                           "needs a multiple of it plus a term, and for integers a plain sum): "
                                           "a recurrence", s.span))
            elif isinstance(s, Carry):
                self.facts.add("peel")
                if _is_counter(s.value, self.loop) or _is_carried_var(s.value, self.stmts):
                    self.facts.add("wrap_around")
                    back = "one lane" if _is_counter(s.value, self.loop) else "one lane further"
                    self.reasons.append(Reason("peel", f"{s.var} is a wrap-around variable (it takes the previous "
                                               "iteration's counter): compilers do not see through it; after the "
                                               "first iterations, which are peeled, an element indexed by it is a "
                                               f"contiguous load {back} back", s.span))
                else:
                    self.reasons.append(Reason("peel", f"{s.var} carries the previous iteration's value: the first "
                                               "iteration is peeled and the rest shifts by one lane", s.span))
            elif isinstance(s, Pack):
                self.facts.add("compress")
            elif isinstance(s, LastValue):
                self.facts.add("last_value")
                self.reasons.append(Reason("last_value", f"{s.var} is set only where the condition holds and keeps its "
                                           "value otherwise: the last such iteration's value is kept", s.span))
            elif isinstance(s, Running | Hold):
                self._scalar_scan(s)
            elif isinstance(s, Expand):
                self.facts.add("expand")
        for sc in self.loop.scalars:
            if sc.role == "local" and sc.live_out:  # a StrEnum: comparing with its value is exact
                self.facts.add("last_value")
                self.reasons.append(Reason("last_value", f"{sc.name} is used after the loop: its last value is kept",
                                           self.site.header))

    def _state(self) -> tuple[str, ...]:
        """The two scalars of a 2 x 2 linear state carried through the body (`state_scan`), their reason given."""
        found = state_scan(self.loop)
        if found is None:
            return ()
        one, two = found.vars
        span = self.loop.body[found.carries[0]].span
        if found.subtracts:
            self.reasons.append(Reason("recurrence", f"{one} and {two} carry a 2 x 2 linear state through the body "
                                       "(a biquad in Direct Form II transposed), but the update subtracts a state "
                                       "value: a SIMD scan composes the updates of a vector's iterations, where "
                                       "such terms cancel, and the reassociated result can differ from the loop's "
                                       "beyond any tolerance that can be checked; with the feedback coefficients "
                                       "stored negated and added (as CMSIS-DSP stores them: z1 = b1*x + a1*y + z2) "
                                       "it is vectorized: a recurrence", span))
            return found.vars
        self.facts.update(("scan", "state_scan"))
        self.reasons.append(Reason("scan", f"{one} and {two} carry a 2 x 2 linear state from each iteration to the "
                                   "next (a biquad's state in Direct Form II transposed, a coupled resonator): "
                                   "compilers leave this recurrence scalar; a SIMD rewrite composes the 2 x 2 "
                                   "updates of a vector's iterations in log2(lanes) shift-and-multiply rounds and "
                                   "carries the two state values between vectors, reassociating the "
                                   "floating-point arithmetic", span))
        return found.vars

    def _scalar_scan(self, s: Running | Hold) -> None:
        """A scalar read in the body and carried from iteration to iteration: a scan when the body has the
        shape `scalar_scan` covers, a recurrence otherwise."""
        found = scalar_scan(self.loop)
        pair = running_pair(self.loop) if found is None else None
        if pair is not None:  # Adler-32 / Fletcher: s1 += x[i]; s2 += s1;
            self.facts.update(("scan", "running_pair"))
            data = pair.data.access.base if isinstance(pair.data, Load) else "the element"
            weights = "k, k-1, ..., 1" if pair.after else "k-1, ..., 1, 0"
            # bytes: psadbw and pmaddubsw; 16-bit words: pairwise adds and pmaddwd
            plain, weighted = ("psadbw", "pmaddubsw + pmaddwd") if pair.data_bits == 8 else ("pairwise adds", "pmaddwd on the low and high bytes")
            self.reasons.append(Reason(
                "scan", f"{pair.first} is a running sum of {data} and {pair.second} the running sum of "
                f"{pair.first} (the two sums of an Adler-32 or Fletcher checksum): every addition into "
                f"{pair.second} waits for the one into {pair.first}, so compilers leave it scalar. A SIMD "
                f"rewrite takes a block of k elements at once: {pair.first} gains their sum ({plain}), "
                f"{pair.second} gains k times {pair.first} before the block plus the elements weighted "
                f"{weights} ({weighted}); exact modulo 2^{pair.elem.bits}, whatever the grouping", s.span))
            return
        if found is None:
            what = "updated from its own value" if isinstance(s, Running) else "set only under a condition"
            self.reasons.append(Reason("recurrence", f"{s.var} is {what} and read in the loop, in a body the scan "
                                       "rule does not cover (other carried values, conditional stores, or its "
                                       "inputs read it): a recurrence", s.span))
            return
        self.facts.update(("scan", "scalar_scan"))
        if isinstance(s, Hold):
            self.facts.add("hold")
            self.reasons.append(Reason("scan", f"{s.var} keeps the value of the last iteration whose condition held "
                                       "and is read on every iteration: compilers leave this conditional "
                                       "recurrence scalar; a SIMD rewrite propagates the last selected lane's "
                                       "value across each vector in log2(lanes) shift-and-blend steps and carries "
                                       "it between vectors (exact: values are only moved, never computed)", s.span))
            return
        if s.factor is not None:
            self.facts.add("linear_recurrence")
        if s.type.is_float:
            self.facts.add("float_reduction")
            self.reasons.append(Reason("float_reduction", f"a SIMD scan reorders the floating-point operations that "
                                       f"update {s.var}: the stored values can differ in the last bits", s.span))

    def _control(self) -> None:
        stmts = self.stmts
        kinds = {type(s) for s in stmts}  # IR statement classes are final
        if Exit in kinds:
            self.facts.add("search")
            if any(isinstance(s, Exit) and s.kind == "return" for s in stmts):
                self.facts.add("return")
            if any(isinstance(s, (Store, Pack)) or (isinstance(s, Reduce) and s.access is not None) for s in stmts):
                self.facts.add("search_with_stores")
        if If in kinds:
            self.facts.add("if_convert")
            if any(isinstance(s, If) and any(isinstance(x, Store) for x in walk_stmts(s.then + s.else_))
                   for s in stmts):
                self.facts.add("masked_store")
                self.reasons.append(Reason("masked_store", "stores only under a condition: needs masked stores",
                                           self.site.header))
        guarded = _guarded_accesses(self.loop.body)
        cond_roots = sorted(_guarded_roots_of(guarded))
        spans = {a.root: a.span for a, _w, _g in guarded}
        if any(_guarded_division(s) for s in self.loop.body):
            self.facts.add("guarded_division")
            self.reasons.append(Reason("guarded_division", "divides integers only under a condition: a rewrite must "
                                       "not divide in the other lanes (division by zero traps)", self.site.header))
        if cond_roots:
            self.facts.add("guarded_load")
            for r in cond_roots:
                self.reasons.append(Reason("guarded_load", f"{r} is read only under a condition: a rewrite must not "
                                           "read it speculatively (masked loads)", spans.get(r)))
        if any(acc.index is not None and not write and not self._walks_with_loop(acc) for acc, write, _ in self.accs):
            self.facts.add("gather")

    # ---- dependences --------------------------------------------------------------------------------

    def _dependences(self) -> None:
        iv = self.loop.iv
        loop = self.loop
        accs = self.accs
        index_of = {id(s): k for k, s in enumerate(loop.body)}
        by_root: dict[str, list[tuple[int, Access, bool, Stmt]]] = {}
        for n, (acc, is_write, top) in enumerate(accs):
            by_root.setdefault(acc.root, []).append((n, acc, is_write, top))
        edges: set[tuple[int, int]] = self._scalar_edges()
        backward: list[tuple[int, int, int, Access, Access, str]] = []  # (src stmt, dst stmt, k, w, a, kind)
        for root, items in sorted(by_root.items()):
            writes = [x for x in items if x[2]]
            if not writes:
                continue
            arr = loop.array(root)
            for wn, w, _ww, wtop in writes:
                for an, a, aw, atop in items:
                    if an == wn or (aw and an < wn):
                        continue  # each write pair once
                    if isinstance(wtop, Reduce) and wtop is atop and wtop.access is not None and (
                            a == wtop.access or a == w):
                        continue  # a memory reduction's own read-modify-write
                    si, ai = index_of[id(wtop)], index_of[id(atop)]
                    self._pair(w, si, a, ai, aw, arr, edges, backward)
        lanes: list[int] = []
        scan = first_order_scan(loop) if backward else None
        second = second_order_scan(loop) if backward and scan is None else None
        matrix = matrix_scan(loop) if backward and scan is None and second is None else None
        for src, dst, k, w, a, kind in backward:
            cyclic = src == dst or _reaches(edges, dst, src)
            if scan is not None and k == 1 and w.root == scan.target.root:
                self._scan_found(scan)
                continue
            if second is not None and k in (1, 2) and w.root == second.target.root:
                self._scan_found(second)
                continue
            if matrix is not None and k == 1 and w.root in (matrix.x.root, matrix.y.root):
                self._scan_found(matrix)
                continue
            if not cyclic:
                self.facts.add("reorder")
                self.reasons.append(Reason("reorder", f"{_show(a, iv)} and {_show(w, iv)} ({kind}, distance {k}) need the "
                                           "statements reordered (loads hoisted above the stores)", a.span))
                continue
            lanes.append(k)
            if k == 1:
                cancelling = cancelling_factor(loop) if kind == "flow" else None
                detail = recurrence_detail(loop, w.root) if kind == "flow" and cancelling is None else None
                message = (cancelling_reason(f"{_show(w, iv)} = f * {_show(a, iv)} + t", cancelling)
                           if cancelling is not None else _recurrence_message(w, a, kind, k, iv)
                           + (f": {detail}" if detail else ""))
                self.reasons.append(Reason("recurrence", message, a.span))
            else:
                elem = (loop.array(w.root) or _dummy(w)).elem
                fits = [f"{isa} ({bits // elem.bits} lanes)" for isa, bits in _WIDTHS if bits // elem.bits <= k]
                nofit = [f"{isa} ({bits // elem.bits} lanes)" for isa, bits in _WIDTHS if bits // elem.bits > k]
                if not fits:
                    self.reasons.append(Reason("recurrence", _recurrence_message(w, a, kind, k, iv)
                                               + f"; no SIMD width of {elem.name} is that narrow", a.span))
                else:
                    msg = f"{_show(a, iv)} / {_show(w, iv)}: distance {k}, safe for up to {k} lanes: {', '.join(fits)}"
                    if nofit:
                        msg += f"; not {', '.join(nofit)}"
                    self.reasons.append(Reason("distance", msg, a.span))
        if lanes:
            self.max_lanes = min(lanes)

    def _scan_found(self, scan: Any) -> None:
        """The one recurrence is a running sum: a SIMD scan handles it (reassociating float additions)."""
        self.facts.add("scan")
        if isinstance(scan, SecondOrderScan):
            self.facts.add("second_order")
        elif isinstance(scan, MatrixScan):
            self.facts.update(("matrix_scan", "linear_recurrence"))
        elif scan.factor is not None:
            self.facts.add("linear_recurrence")
        if scan.elem.is_float:
            self.facts.add("float_reduction")
            self.reasons.append(Reason("float_reduction", "a SIMD scan reorders the floating-point operations of "
                                       "the recurrence: the results can differ in the last bits", scan.target.span))

    def _scalar_edges(self) -> set[tuple[int, int]]:
        """Statement i defines a temporary that statement j > i uses: i must stay before j."""
        edges: set[tuple[int, int]] = set()
        defs: dict[str, list[int]] = {}
        for k, s in enumerate(self.loop.body):
            for x in walk_stmts((s,)):
                if isinstance(x, Let):
                    defs.setdefault(x.name, []).append(k)
        if not defs:
            return edges  # no temporaries: nothing orders the statements
        for k, s in enumerate(self.loop.body):
            for name in _vars_used(s):
                for d in defs.get(name, ()):
                    if d < k:
                        edges.add((d, k))
        return edges

    def _pair(self, w: Access, si: int, a: Access, ai: int, a_is_write: bool, arr: Array | None,
              edges: set[tuple[int, int]], backward: list[tuple[int, int, int, Access, Access, str]]) -> None:
        iv = self.loop.iv
        loop = self.loop
        if w.index is not None or a.index is not None:
            w2, a2 = self._unit_walk(w, si), self._unit_walk(a, ai)
            if w2.index is not None or a2.index is not None:
                self._indirect(w, a, a_is_write)
                return
            w, a = w2, a2  # `x[j]` of a second counter stepping with the loop: an affine walk
        fixed, walk = (w, a) if (w.coeff or 0) == 0 else (a, w)
        if other_row_of_walk(fixed, walk, loop.lower, loop.upper, loop.cmp, loop.step, loop.enclosing):
            return  # `A[i][j]` against the column `A[k][j]` walking rows `k < i` only
        if w.base != a.base:
            rows = row_subscript(w.base, w.root), row_subscript(a.base, a.root)
            if arr is not None and not arr.pointer and rows[0] is not None and rows[1] is not None:
                d = row_difference(rows[0], rows[1])
                if d is not None and d != 0:
                    return  # different rows of a true 2-D array
                if d is None:
                    self.alias.add(tuple(sorted((w.base, a.base))))  # type: ignore[arg-type]
                    self.reasons.append(Reason("rows_may_overlap", f"{w.base} and {a.base} may be the same row: "
                                               "needs a runtime check", a.span))
                    return
            else:
                self.alias.add(tuple(sorted((w.base, a.base))))  # type: ignore[arg-type]
                self.reasons.append(Reason("may_alias", f"{w.base} and {a.base} may point into the same storage: "
                                           "needs a runtime overlap check", a.span))
                return
        c1, c2 = w.coeff or 0, a.coeff or 0
        c1 *= loop.step
        c2 *= loop.step
        # in iteration units: element = c*k + o (+ symbolic), k = 0, 1, 2, ...
        if c1 == 0 and c2 == 0:
            if w.symbolic == a.symbolic and w.offset != a.offset:
                return
            if w.symbolic != a.symbolic:
                self.reasons.append(Reason("unknown_dependence", f"{_show(w, iv)} and {_show(a, iv)} may be the same "
                                           "element", a.span))
                return
            if not a_is_write and si < ai and isinstance(self.loop.body[si], Store):
                # TSVC s257: `a[i] = aa[j][i] - a[i-1]; aa[j][i] = a[i] + bb[j][i];` over j
                self.reasons.append(Reason("recurrence", f"{_show(w, iv)} is written on every iteration and read only "
                                           f"after that write in the same iteration ({_show(a, iv)}): a value kept in "
                                           "memory, not carried from one iteration to the next; a SIMD rewrite would "
                                           "keep it in a register and store its last value after the loop, which "
                                           "the rules do not do yet", a.span))
                return
            self.reasons.append(Reason("recurrence" if not a_is_write else "invariant_store",
                                       f"{_show(w, iv)} is written on every iteration and "
                                       f"{'read' if not a_is_write else 'written'} again ({_show(a, iv)}): a recurrence "
                                       "through memory", a.span))
            return
        if c1 == 0 or c2 == 0:
            fixed, walk = (w, a) if c1 == 0 else (a, w)
            if outside_walk(fixed, walk, loop.lower, loop.upper, loop.cmp, loop.step, loop.enclosing):
                return  # `x[i]` against `x[j]` for j < i: the walk never reaches the fixed element
            if c1 == 0:
                self.reasons.append(Reason("invariant_store", f"{_show(w, iv)} is written on every iteration while "
                                           f"{_show(a, iv)} walks the same array", w.span))
                return
            if a.symbolic == w.symbolic and (a.offset - w.offset) % c1 != 0:
                return
            self.facts.add("split")
            self.reasons.append(Reason("split", f"{_show(a, iv)} reads the element that {_show(w, iv)} overwrites in one "
                                       "iteration: the loop is split there (one-time dependence)", a.span))
            return
        if (c1, c2) == (1, -1) and w.base == a.base and not a_is_write and loop.step == 1 and ai <= si:
            # `x = a[n - 1 - i] ...; a[i] = x;`: the walks cross once. Iterations before the crossing read elements
            # not written yet, those after it elements written before it: two halves, each independent
            self.facts.add("split")
            self.reasons.append(Reason("split", f"{_show(a, iv)} walks {a.base} backwards while {_show(w, iv)} "
                                       "writes it forwards: until the two meet the loop reads old elements, after "
                                       "that elements it has already written; the loop is split where they cross "
                                       "and each half is vectorized", a.span))
            return
        if w.symbolic != a.symbolic:
            if c1 == c2:
                self.facts.add("symbolic_dependence")
                self.alias.add(tuple(sorted((_addr(w), _addr(a)))))  # type: ignore[arg-type]
                self.reasons.append(Reason("symbolic_distance", f"{_show(w, iv)} and {_show(a, iv)} are a distance apart "
                                           "that is unknown until run time: needs a runtime check", a.span))
                return
            self.reasons.append(Reason("unknown_dependence", f"{_show(w, iv)} and {_show(a, iv)} may touch the same element "
                                       "in different iterations", a.span))
            return
        if c1 != c2:
            g = math.gcd(abs(c1), abs(c2))
            if (a.offset - w.offset) % g != 0:
                return  # GCD test: never the same element
            ks = self._enumerate(w, a)
            if ks is None:
                self.reasons.append(Reason("unknown_dependence", f"{_show(w, iv)} and {_show(a, iv)} may touch the same "
                                           "element in different iterations (the GCD test cannot rule it out)", a.span))
                return
        else:
            diff = w.offset - a.offset
            if diff % c1 != 0:
                return
            ks = [diff // c1]  # a's iteration minus w's iteration
        # one dependence per direction is enough: the closest one limits the lanes
        pos = [k for k in ks if k > 0]
        neg = [k for k in ks if k < 0]
        picked = ([min(pos)] if pos else []) + ([max(neg)] if neg else []) + ([0] if 0 in ks else [])
        for k in picked:
            self._distance(k, w, si, a, ai, a_is_write, edges, backward)

    def _enumerate(self, w: Access, a: Access) -> list[int] | None:
        """Every iteration distance at which `w` and `a` touch the same element, by enumerating the
        iterations of a loop with constant bounds (None when the bounds are not constants)."""
        loop = self.loop
        try:
            lower, trip = int(loop.lower), int(loop.trip_count)
        except ValueError:
            return None
        if trip > 1 << 16 or w.coeff is None or a.coeff is None:
            return None
        c1, c2 = w.coeff * loop.step, a.coeff * loop.step
        o1, o2 = w.coeff * lower + w.offset, a.coeff * lower + a.offset
        out: set[int] = set()
        for x in range(trip):
            e = c1 * x + o1 - o2
            if e % c2 == 0:
                y = e // c2
                if 0 <= y < trip:
                    out.add(y - x)
        return sorted(out)

    def _distance(self, k: int, w: Access, si: int, a: Access, ai: int, a_is_write: bool,
                  edges: set[tuple[int, int]], backward: list[tuple[int, int, int, Access, Access, str]]) -> None:
        """Classify one dependence: `a` touches `w`'s element k iterations after `w` (k < 0: before)."""
        iv = self.loop.iv
        if k == 0:
            if si != ai and not _exclusive(self.loop, si, ai):
                edges.add((min(si, ai), max(si, ai)))
            return
        if k > 0:  # w first (iteration t), then a (iteration t + k)
            src, dst, dist = si, ai, k
            kind = "output dependence" if a_is_write else "flow"
        else:  # a first, then w
            src, dst, dist = ai, si, -k
            kind = "output dependence" if a_is_write else "anti"
        if src < dst:
            edges.add((src, dst))
            return
        if kind == "anti":
            if src != dst:
                # the load must see the old value: hoisting it above the earlier store (node splitting)
                # is always possible, since loads of old values never wait for anything
                self.facts.add("reorder")
                self.reasons.append(Reason("reorder", f"{_show(a, iv)} must be loaded before {_show(w, iv)} is stored "
                                           f"(it reads the old value, {dist} iteration(s) ahead): hoist the load "
                                           "(node splitting)", a.span))
            return  # within one statement its loads happen before its store anyway
        backward.append((src, dst, dist, w, a, kind))

    def _walks_with_loop(self, acc: Access) -> bool:
        """`x[j + c]` with `j++` once per iteration: contiguous, neither a gather nor a scatter."""
        found = induction_subscript(acc)
        return found is not None and induction_affine(self.loop, acc, False).index is None

    def _unit_walk(self, acc: Access, at: int) -> Access:
        """`x[j + c]` with `j++` once per iteration as an affine access (j's Step before statement `at`
        adds one), or `acc` unchanged."""
        found = induction_subscript(acc)
        if found is None:
            return acc
        steps = [k for k, s in enumerate(self.loop.body) if isinstance(s, Step) and s.var == found[0]]
        return induction_affine(self.loop, acc, bool(steps) and steps[0] < at)

    def _indirect(self, w: Access, a: Access, a_is_write: bool) -> None:
        iv = self.loop.iv
        if w.index is not None and isinstance(w.index, Var) and any(
                isinstance(s, Pack) and s.counter == w.index.name for s in self.stmts):
            if a_is_write and a.index == w.index and a.root == w.root:
                return  # two packs at one counter (`j++; a[j] = x; if (c) { j++; a[j] = y; }`): in turn, never the same element
            self.reasons.append(Reason("pack_in_place", f"packs into {w.base} while also accessing it "
                                       f"({_show(a, iv)})", a.span))
            return
        if w.index is not None and self._histogram(w):
            return
        if w.index is not None:
            self.reasons.append(Reason("scatter_conflict", f"{_show(w, iv)} writes through an index array and "
                                       f"{_show(a, iv)} touches the same array: iterations may hit the same element",
                                       w.span))
            return
        self.reasons.append(Reason("indirect_dependence", f"{_show(a, iv)} reads through an index array the elements "
                                   f"{_show(w, iv)} writes: the dependence is unknown", a.span))

    def _histogram(self, w: Access) -> bool:
        """The conflicting scatter is a histogram update: conflict detection handles equal bins."""
        hist = histogram_update(self.loop)
        if hist is None or hist.target.root != w.root:
            return False
        if "histogram" not in self.facts:
            self.facts.add("histogram")
            if hist.elem.is_float:
                self.facts.add("float_reduction")
                self.reasons.append(Reason("float_reduction", "the weights that fall into one bin within a vector are "
                                           "added together before they meet the bin: float bins can differ in the "
                                           "last bits", w.span))
        return True

    # ---- aliasing -----------------------------------------------------------------------------------

    def _aliasing(self) -> None:
        iv = self.loop.iv
        accs = self.accs
        written = {a.root for a, w, _ in accs if w}
        packed = {id(s.dst) for s in self.stmts if isinstance(s, Pack)}
        for a, w, _ in accs:
            if w and a.index is not None and id(a) not in packed and "histogram" not in self.facts and not any(
                    x.root == a.root for x, ww, _ in accs if x is not a and not (ww and x.index is a.index)) \
                    and not self._walks_with_loop(a):
                self.facts.add("scatter")
                if not any(r.code == "scatter" for r in self.reasons):
                    self.reasons.append(Reason("scatter", f"writes {_show(a, iv)} through an index array (scatter: "
                                               "AVX-512; duplicate indices keep the last write, as the scalar loop "
                                               "does)", a.span))
        roots = sorted({a.root for a, _, _ in accs})
        spans = {a.root: a.span for a, _, _ in accs}
        for i, r1 in enumerate(roots):
            for r2 in roots[i + 1:]:
                if r1 not in written and r2 not in written:
                    continue
                a1, a2 = self.loop.array(r1), self.loop.array(r2)
                if a1 is None or a2 is None:
                    continue
                if _may_alias(r1, a1, r2, a2):
                    self.alias.add((r1, r2))
                    self.reasons.append(Reason("may_alias", f"{r1} and {r2} are pointers without restrict and may "
                                               "overlap: needs a runtime overlap check",
                                               spans.get(r1 if r1 in written else r2)))
        # A scalar read through a pointer (`p->scale`) or a global scalar may sit inside an array the
        # loop writes: the check proves it does not.
        for sc in self.loop.scalars:
            g = self.globals.get(sc.name)
            is_global = g is not None and getattr(g, "text", None) == sc.decl and bool(sc.decl)
            element = element_root(sc.name)  # `*incx`, `dims[0]` (build/accesses.py)
            if not is_global and (("->" not in sc.name and not element) or sc.role != ScalarRole.INVARIANT):
                continue
            # a scalar the loop updates may also be read back through any pointer
            candidates = written if sc.role == ScalarRole.INVARIANT else {a.root for a, _w, _s in self.accs}
            for r in sorted(candidates):
                arr = self.loop.array(r)
                if arr is None or not arr.pointer or arr.restrict or r == (element or sc.name.split("->")[0]):
                    continue
                if arr.elem.name != sc.type.name and arr.elem.name not in _CHAR_TYPES and (
                        arr.elem.name.lstrip("u") != sc.type.name.lstrip("u")):
                    continue
                self.alias.add((f"&{sc.name}", r))
                what = "reads" if sc.role == ScalarRole.INVARIANT else "updates"
                self.reasons.append(Reason("may_alias", f"{r} may point at {sc.name}, which the loop {what} on every "
                                           "iteration: needs a runtime check", spans.get(r)))


def _red_word(s: Reduce | ArgReduce) -> str:
    if isinstance(s, ArgReduce):
        return "argmax" if s.cmp in (">", ">=") else "argmin"
    return {ReduceOp.ADD: "sum", ReduceOp.SUB: "sum", ReduceOp.MUL: "product", ReduceOp.AND: "and-reduction",
            ReduceOp.OR: "or-reduction", ReduceOp.XOR: "xor-reduction", ReduceOp.MIN: "min", ReduceOp.MAX: "max"}[s.op]


def _is_counter(e: Expr, loop: LoopIR) -> bool:
    while isinstance(e, Cast):
        e = e.operand
    return isinstance(e, IV)


def _through_itself(carry: Carry, stmts: Iterable[Stmt]) -> bool:
    """`t = x[i] + s; s = t * t;`: the carried value is computed from itself through temporaries of the body
    (the linear ones became scans when the loop was built)."""
    lets = {s.name: s.value for s in stmts if isinstance(s, Let)}
    seen: set[str] = set()
    todo = [x.name for x in walk_exprs(carry.value) if isinstance(x, Var) and x.name in lets]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for x in walk_exprs(lets[name]):
            if isinstance(x, Var):
                if x.name == carry.var:
                    return True
                if x.name in lets:
                    todo.append(x.name)
    return False


def _is_carried_var(e: Expr, stmts: Iterable[Stmt]) -> bool:
    """`im2 = im1` where im1 is itself carried: the second level of a wrap-around."""
    while isinstance(e, Cast):
        e = e.operand
    return isinstance(e, Var) and any(isinstance(s, Carry) and s.var == e.name for s in stmts)


def _dedupe(rs: Iterable[Reason]) -> list[Reason]:
    seen: set[tuple[str, str]] = set()
    out = []
    for r in rs:
        k = (r.code, r.message)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


def _show(a: Access, iv: str = "i") -> str:
    """The access as the user would write it."""
    base = a.root if a.base.startswith(("(&", "((")) else a.base  # a flattened 2-D array, a complex one's parts
    if a.index is not None:
        return f"{base}[...]"
    parts = []
    if a.coeff:
        parts.append(iv if a.coeff == 1 else f"{a.coeff}*{iv}")
    if a.symbolic:
        parts.append(a.symbolic)
    if a.offset or not parts:
        parts.append(str(a.offset))
    txt = "+".join(parts).replace("+-", "-")
    return f"{base}[{txt}]"


def _addr(a: Access) -> str:
    return f"{a.base}+{a.symbolic}" if a.symbolic else a.base


def _dummy(a: Access) -> Array:
    return Array(a.root, a.elem, pointer=True)


def _recurrence_message(w: Access, a: Access, kind: str, k: int, iv: str) -> str:
    when = "one iteration earlier" if k == 1 else f"{k} iterations earlier"
    if kind == "flow":
        return f"{_show(a, iv)} reads {_show(w, iv)}'s element written {when}: a recurrence"
    if kind == "anti":
        return f"{_show(w, iv)} overwrites what {_show(a, iv)} still has to read {when.replace('earlier', 'later')}"
    return f"{_show(w, iv)} and {_show(a, iv)} write the same element {k} iteration(s) apart"


def _reaches(edges: set[tuple[int, int]], start: int, goal: int) -> bool:
    todo, seen = [start], {start}
    while todo:
        x = todo.pop()
        if x == goal:
            return True
        for s, d in edges:
            if s == x and d not in seen:
                seen.add(d)
                todo.append(d)
    return False


def _vars_used(s: Stmt) -> set[str]:
    out: set[str] = set()
    exprs: list[Expr] = []
    for x in walk_stmts((s,)):
        if isinstance(x, (Store, Let, Carry, Reduce, Hold)):
            exprs.append(x.value)
        elif isinstance(x, Running):
            exprs.extend((x.value, *((x.factor,) if x.factor is not None else ())))
        elif isinstance(x, If):
            exprs.append(x.cond)
        elif isinstance(x, Exit):
            exprs.append(x.cond)
            if x.value is not None:
                exprs.append(x.value)
        elif isinstance(x, Pack):
            exprs.extend((x.cond, x.value))
        elif isinstance(x, Expand):
            exprs.extend((x.cond, *((x.fill,) if x.fill is not None else ())))
        elif isinstance(x, ArgReduce):
            exprs.extend((x.value, x.index, *(e for _, e in x.also)))
    for e in exprs:
        for y in walk_exprs(e):
            if isinstance(y, Var):
                out.add(y.name)
    return out


_CHAR_TYPES = frozenset({"int8", "uint8"})


def _may_alias(r1: str, a1: Array, r2: str, a2: Array) -> bool:
    """Whether storage reached through roots r1 and r2 may overlap (C's rules, LP64)."""
    if a1.restrict or a2.restrict:
        return False
    # strict aliasing: differently typed objects do not overlap (char types and signed/unsigned twins may,
    # and so may bytes memcpy copies: it reads any object and gives allocated storage the copied type)
    if not a1.bytes_copied and not a2.bytes_copied and (a1.elem.name != a2.elem.name and a1.elem.name not in _CHAR_TYPES and a2.elem.name not in _CHAR_TYPES
            and a1.elem.name.lstrip("u") != a2.elem.name.lstrip("u")):
        return False
    m1, m2 = "->" in r1 or "." in r1, "->" in r2 or "." in r2
    if not a1.pointer and not a2.pointer:
        if m1 and m2:
            # p->x vs q->x: the same member of possibly the same object
            o1, f1 = _member_split(r1)
            o2, f2 = _member_split(r2)
            return f1 == f2 and o1 != o2 and ("->" in r1 and "->" in r2)
        return False
    if a1.pointer and a2.pointer:
        return True
    arr, ptr = (a1, a2) if not a1.pointer else (a2, a1)
    arr_root = r1 if not a1.pointer else r2
    if "->" in arr_root:
        return True  # an array member of a struct reached through a pointer
    if arr.is_global:
        return True
    return not ptr.is_param and bool(ptr.decl)  # a local pointer may point into a local array


def _member_split(r: str) -> tuple[str, str]:
    i = max(r.rfind("->"), r.rfind("."))
    return r[:i], r[i:].lstrip("->.")


def _guarded_accesses(body: tuple[Stmt, ...]) -> list[tuple[Access, bool, bool]]:
    """(access, is_write, only under a condition) for every access."""
    out: list[tuple[Access, bool, bool]] = []
    for s in body:
        _guarded_stmt(s, False, out)
    return out


# Module-level walkers rather than nested closures: a recursive closure is a reference cycle, and a
# file's worth of them made the cyclic garbage collector the slowest step of the analysis.
def _guarded_expr(e: Expr, guard: bool, out: list[tuple[Access, bool, bool]]) -> None:
    t = type(e)  # IR expression classes are final: comparing types is exact and cheaper than isinstance
    if t is Load:
        out.append((e.access, False, guard))  # type: ignore[union-attr]
        if e.access.index is not None:  # type: ignore[union-attr]
            _guarded_expr(e.access.index, guard, out)  # type: ignore[union-attr]
    elif t is Binary:
        _guarded_expr(e.lhs, guard, out)  # type: ignore[union-attr]
        _guarded_expr(e.rhs, guard or e.op in ("&&", "||"), out)  # type: ignore[union-attr]
    elif t is Cast or t is Unary:
        _guarded_expr(e.operand, guard, out)  # type: ignore[union-attr]
    elif t is Select:
        _guarded_expr(e.cond, guard, out)  # type: ignore[union-attr]
        _guarded_expr(e.then, True, out)  # type: ignore[union-attr]
        _guarded_expr(e.else_, True, out)  # type: ignore[union-attr]
    elif t is Call:
        for sub in e.args:  # type: ignore[union-attr]
            _guarded_expr(sub, guard, out)


def _guarded_stmt(s: Stmt, guard: bool, out: list[tuple[Access, bool, bool]]) -> None:
    if isinstance(s, Store):
        _guarded_expr(s.value, guard, out)
        out.append((s.access, True, guard))
    elif isinstance(s, (Let, Carry, Reduce, ArgReduce, Hold)):
        _guarded_expr(s.value, guard, out)
    elif isinstance(s, Running):
        _guarded_expr(s.value, guard, out)
        if s.factor is not None:
            _guarded_expr(s.factor, guard, out)
    elif isinstance(s, If):
        _guarded_expr(s.cond, guard, out)
        for x in s.then + s.else_:
            _guarded_stmt(x, True, out)
    elif isinstance(s, Exit):
        _guarded_expr(s.cond, guard, out)
        if s.value is not None:
            _guarded_expr(s.value, True, out)
    elif isinstance(s, Pack):
        _guarded_expr(s.cond, guard, out)
        always = isinstance(s.cond, Const) and s.cond.value != 0  # a store of a pack run made on every pass
        _guarded_expr(s.value, guard or not always, out)
        out.append((s.dst, True, True))


def _exclusive(loop: LoopIR, i: int, j: int) -> bool:
    """Top-level statements i and j never run in the same iteration (`ir.exclusive_ifs`)."""
    def fixed(name: str) -> bool:
        sc = loop.scalar(name)
        return sc is not None and sc.role == ScalarRole.INVARIANT

    written = {a.root for a, w, _ in accesses_of(loop.body) if w}
    return exclusive_ifs(loop.body[i], loop.body[j], written, fixed)


def _signature(a: Access) -> tuple[object, ...]:
    return (a.base, a.coeff, a.offset, a.symbolic, a.index)


def guarded_roots(loop: LoopIR) -> set[str]:
    """Arrays with an element read only under a condition (an element no unconditional access
    touches): a rewrite must not load those speculatively, and a harness must not allocate them."""
    return _guarded_roots_of(_guarded_accesses(loop.body))


def _guarded_roots_of(accs: list[tuple[Access, bool, bool]]) -> set[str]:
    sure = {_signature(a) for a, _w, g in accs if not g}
    return {a.root for a, w, g in accs if g and not w and _signature(a) not in sure}


def _guarded_division(s: Stmt, guard: bool = False) -> bool:
    if isinstance(s, If):
        return _division_in(s.cond, guard) or any(_guarded_division(x, True) for x in s.then + s.else_)
    g = guard or isinstance(s, Pack)
    # (the classes, not getattr(s, "cond", None): compiled, a missing attribute raises and clears an error)
    v = s.value if isinstance(s, _WITH_VALUE) else None
    if v is not None and not isinstance(v, str) and _division_in(v, g):
        return True
    c = s.cond if isinstance(s, (Exit, Pack, Expand)) else None
    return c is not None and not isinstance(c, str) and _division_in(c, g)


_WITH_VALUE = (Store, Let, Reduce, ArgReduce, Carry, LastValue, Running, Hold, Exit, Pack)  # the statements with a `value`


def _division_in(e: Expr, g: bool) -> bool:
    """An integer division or remainder evaluated only under a condition (`g`) in `e`."""
    t = type(e)
    if t is Binary:
        if g and e.op in ("/", "%") and not e.type.is_float:  # type: ignore[union-attr]
            return True
        return _division_in(e.lhs, g) or _division_in(e.rhs, g or e.op in ("&&", "||"))  # type: ignore[union-attr]
    if t is Cast or t is Unary:
        return _division_in(e.operand, g)  # type: ignore[union-attr]
    if t is Select:
        return _division_in(e.cond, g) or _division_in(e.then, True) or _division_in(e.else_, True)  # type: ignore[union-attr]
    if t is Call:
        return any(_division_in(c, g) for c in e.args)  # type: ignore[union-attr]
    return False


def refine_outer(outer: Analysis, inner: Analysis, source: bytes = b"") -> Analysis:
    """An outer loop whose only inner loop carries a recurrence along its own counter, while each outer
    iteration works on its own row of true 2-D arrays: vectorize the outer level instead."""
    loop = inner.loop
    if (outer.loop is not None or loop is None or inner.verdict != LoopVerdict.NOT_VECTORIZABLE
            or outer.site.role != LoopRole.OUTER):
        return outer
    if any(r.code != "recurrence" for r in inner.reasons if r.code not in INFORMATIONAL):
        return outer
    if any(sc.role.value not in ("invariant", "local") for sc in loop.scalars):
        return outer
    rows: set[str] = set()
    for a, _w, _s in accesses_of(loop.body):
        arr = loop.array(a.root)
        row = row_subscript(a.base, a.root)
        if arr is None or arr.pointer or row is None or a.index is not None:
            return outer
        rows.add(row)
    if len(rows) != 1:
        return outer
    row = next(iter(rows))
    if not re.fullmatch(r"[A-Za-z_]\w*", row) or row == loop.iv:
        return outer
    header = source[outer.site.header.start_byte:outer.site.header.end_byte].decode("utf-8", "replace")
    if not re.search(r"(\+\+|--)\s*" + row + r"\b|\b" + row + r"\s*(\+\+|--|\+=|-=)", header):
        return outer  # the row must be the outer loop's own counter
    from dataclasses import replace

    site = replace(outer.site, role=LoopRole.OUTER_VECTORIZABLE)
    reason = Reason("outer_vectorizable", f"the inner loop carries a recurrence along {loop.iv}, but each value of "
                    f"{row} works on its own row: vectorize across {row} (outer-loop vectorization)", outer.site.header)
    return Analysis(site, LoopVerdict.NOT_VECTORIZABLE, (reason, *outer.reasons), None, outer.facts | {"outer"})
