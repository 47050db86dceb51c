"""Generic lowering of a loop's IR to intrinsic C through an ISA table.

One vectorization factor VF (lanes) is chosen for the whole loop: vector_bits / the widest element type.
A value of type T then fills VF * bits(T) bits of a register (a uint8 value next to int32 ones is 64
bits of an xmm register), and every operation is looked up in the table by (op, T, that width). The
loop becomes

    preheader (broadcasts of invariants, reduction accumulators: N copies, N from the ISA table)
    main loop: VF iterations per step, all loads of a step before its stores; with reductions N steps
        per iteration, step k into accumulator copy k, then single steps
    remainder: the original scalar statements (tail = "scalar") or one masked step (tail = "masked")
    reduction combine (the copies vector by vector, then lane by lane in C with the loop's own operator)

Anything the tables or this lowering cannot express raises `Unsupported` with a one-line reason; the
rule engine turns it into a note, never into a wrong candidate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from simdlens.analysis import mathcalls
from simdlens.analysis.build.bit_copies import BIT_CAST
from simdlens.analysis.build.complex_values import COMPLEX_MULTIPLY, COMPLEX_TERM
from simdlens.analysis.inductions import induction_subscript, unit_induction
from simdlens.analysis.ir import (
    IV,
    Access,
    ArgReduce,
    Binary,
    Call,
    Carry,
    Cast,
    Const,
    CType,
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
    expr_type,
    substitute_var,
    walk_exprs,
    walk_stmts,
)
from simdlens.analysis.ranges import outside_walk
from simdlens.rules.byte_permute import BytePermutation, byte_permutation
from simdlens.rules.divide import (
    NoDivisionPlan,
    constant_value,
    inline_division_locals,
    let_value,
    lower_division,
    lower_division_through_double,
    magic_divisor,
    narrow_division,
)
from simdlens.rules.interleave import StridedGroups
from simdlens.rules.reverse import ReversedAccesses
from simdlens.rules.round_convert import ROUND_TO_INT32, rounded_stores
from simdlens.rules.saturate import _inline, saturating_stores
from simdlens.rules.scalar import BUILTIN_C, ScalarPrinter, c_type, literal
from simdlens.rules.tables import IsaTable
from simdlens.rules.value_range import type_range, value_range


class Unsupported(Exception):
    """The rules cannot vectorize this loop; the message is the user-facing reason."""


_CMP = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
_SWAP = {"lt": "gt", "gt": "lt", "le": "ge", "ge": "le", "eq": "eq", "ne": "ne"}
_NEGATE_INT = {"le": "gt", "ge": "lt", "ne": "eq"}  # integer only: float compares are false on NaN
_ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div", "&": "and", "|": "or", "^": "xor",
          "<<": "shl", ">>": "shr", "avg": "avg", "adds": "adds", "subs": "subs",
          "min": "min", "max": "max"}
_CALLS = {"sqrtf": "sqrt", "sqrt": "sqrt", "fabsf": "abs", "fabs": "abs", "fmaf": "fma", "fma": "fma",
          "fminf": "fmin", "fmin": "fmin", "fmaxf": "fmax", "fmax": "fmax",
          "rintf": "rint", "rint": "rint", "nearbyintf": "nearbyint", "nearbyint": "nearbyint",
          "floorf": "floor", "floor": "floor", "ceilf": "ceil", "ceil": "ceil", "truncf": "trunc", "trunc": "trunc",
          "roundf": "round", "round": "round",
          "copysignf": "copysign", "copysign": "copysign", "fdimf": "fdim", "fdim": "fdim",
          "__builtin_popcount": "popcount", "__builtin_popcountl": "popcount", "__builtin_popcountll": "popcount"}


# Names for the temporaries an operator makes (numbered from the second one on): readable rewrites.
_RESULT_NAMES = {"add": "sum", "sub": "diff", "mul": "prod", "div": "quot", "min": "smaller", "max": "larger",
                 "and": "bits_and", "or": "bits_or", "xor": "bits_xor", "shl": "shifted", "shr": "shifted",
                 "avg": "avg", "adds": "sat_sum", "subs": "sat_diff", "mul_from32_signed": "prod",
                 "mul_from32_unsigned": "prod"}


def ctype(name: str) -> CType:
    return CType(name, BUILTIN_C[name])


@dataclass(frozen=True)
class VVal:
    """A vector value held in C variable `name`: `elem` lanes filling `width` bits (a mask when `mask`)."""

    name: str
    elem: str
    width: int
    mask: bool = False


@dataclass(frozen=True)
class Lowered:
    """The vector code for one loop (no ISA guard, no alias check: the caller adds those)."""

    code: list[str]
    vf: int
    caveats: tuple[str, ...]
    features: frozenset[str]  # what the rewrite used: "reduction", "select", "search", "convert", ...


@dataclass
class _Block:
    """Per-step state: temporaries defined so far and stores waiting until all loads are done."""

    # the vector this step stored at an access (whole, unmasked): a later read one element back is built from it
    stored: dict[tuple[str, str, int, str], VVal] = field(default_factory=dict)

    env: dict[str, VVal] = field(default_factory=dict)
    stepped: set[str] = field(default_factory=set)
    preloaded: dict[tuple[str, str, int, str], VVal] = field(default_factory=dict)
    loaded: dict[tuple[str, str, int, str], VVal] = field(default_factory=dict)  # plain loads since the last store
    widened: dict[tuple[str, str], VVal] = field(default_factory=dict)  # conversions of this step's loads


def access_key(a: Access) -> tuple[str, str, int, str]:
    return (a.root, a.base, a.offset, a.symbolic)


class Lowering:
    """Lower one `LoopIR` for one table; build once per naming context (user file or kernel)."""

    def __init__(self, loop: LoopIR, table: IsaTable, rename: Callable[[str], str], *,
                 allow_contraction: bool = False, max_lanes: int | None = None,
                 scalar_body: list[str] | None = None, sums_in_16_bits: bool = True):
        self.loop = loop
        self.scalar_body = scalar_body  # the user's own loop body for the scalar remainder (None: print the IR)
        self.t = table
        self.rename = rename
        self.allow_contraction = allow_contraction
        self.features: set[str] = set()
        self.caveats: list[str] = []
        self.pre: list[str] = []  # preheader lines
        self.lines: list[str] = []  # current block's lines
        self._hoisted: dict[str, str] = {}
        self._taken = _identifiers(loop)
        self._taken |= {x for name in list(self._taken) for x in re.findall(r"[A-Za-z_]\w*", rename(name))}
        self._taken |= {x for a in loop.arrays for x in re.findall(r"[A-Za-z_]\w*", rename(a.root))}
        self._roots = {_hint(a.root) for a in loop.arrays}
        self._counter = 0
        self.body = demote_body(rounded_stores(saturating_stores(loop.body, loop), loop), table, sums_in_16_bits)
        self.guarded = False  # a step may stop before its stores and leave the block to the scalar loop
        self.summed_call: Call | None = None  # the call a sum reduction adds, while its value is lowered (`reduce`)
        # `acc += abs(x - y)` on bytes: psadbw sums 8 byte differences per 64-bit lane, so a loop made only
        # of such sums runs one lane per byte (32 / 64) instead of one per 32-bit accumulator lane
        self.sad_vars: set[str] = set()
        # these idioms read a body of sums only; a temporary `int d = a[i] - b[i]; s += d < 0 ? -d : d;` is
        # read through (the spelled-out sum, as the user's compiler sees it after inlining d)
        sums = sums_of_locals(self.body, loop) or self.body
        if (max_lanes is None and sums and all(_sad_pair(s) is not None for s in sums)
                and table.op("sad", "uint8", table.vector_bits) is not None):
            self.body = sums
            self.sad_vars = {s.var for s in self.body if isinstance(s, Reduce)}
        # `n += buf[i] == '\n'` on bytes: 0/1 bytes added into byte counters, folded into 64-bit sums with
        # psadbw every 255 steps (before a counter could wrap), one lane per byte
        self.count_vars: set[str] = set()
        self.count_bytes: dict[tuple[str, int], VVal] = {}  # (var, accumulator copy) -> its byte counters
        if (max_lanes is None and not self.sad_vars and sums
                and all(_count_cond(s) is not None for s in sums)
                and table.op("sad", "uint8", table.vector_bits) is not None):
            self.body = sums
            self.count_vars = {s.var for s in self.body if isinstance(s, Reduce)}
        # `acc += a[i] * b[i]` on 8/16-bit values into a 32-bit acc: pmaddwd multiplies 16-bit lanes and adds
        # neighbouring products into one int32 lane, so the loop runs one lane per 16-bit value
        self.madd_vars: set[str] = set()
        if (max_lanes is None and not self.sad_vars and not self.count_vars and sums
                and all(_madd_pair(s) is not None for s in sums)
                and table.op("madd", "int16", table.vector_bits) is not None):
            self.body = sums
            self.madd_vars = {s.var for s in self.body if isinstance(s, Reduce)}
        # `if (img[i] > m) m = img[i]` with int m over bytes: the lanes keep bytes (32 / 64 per register),
        # start at the byte type's identity and meet m only in the fold after the loop
        self.narrowed: set[str] = set()
        if max_lanes is None and not self.sad_vars and not self.madd_vars and not self.count_vars:
            narrow = narrow_minmax(self.body, table)
            if narrow is not None:
                self.body, self.narrowed = narrow
        # a narrowing store packed from whole registers -> the private temporaries its source is computed from
        self.packed_lets: dict[int, tuple[Stmt, ...]] = {}
        self.body = self._attach_packed_temporaries(self.body)
        self.packed_stores: set[int] = set()  # those of them storing whole registers (`_choose_vf` decides)
        self.vf = self._choose_vf(max_lanes)
        self.iv = rename(loop.iv)
        self.base = self.iv  # C expression: the lowest element index of the current step
        # the counter's lanes as a vector carried from step to step (`counter_lanes`); set by `build`
        self.carry_counter = False
        self.counter_vector: VVal | None = None
        self.counter_init: list[str] = []  # its first value, computed right before the vector loop
        self.tail_mask: VVal | None = None
        self.ctx_mask: VVal | None = None
        self.unconditional = _unconditional_accesses(
            self.body + tuple(let for lets in self.packed_lets.values() for let in lets))
        self.block = _Block()
        self.reductions: dict[str, VVal] = {}
        self.arg_lanes: dict[str, tuple[VVal, VVal]] = {}
        # independent accumulators (`accumulators`): copy 0 is `reductions` / `arg_lanes`, the others are here
        self.copies = 1
        self.copy = 0
        self.spare: dict[tuple[str, int], VVal] = {}
        self.spare_args: dict[tuple[str, int], tuple[VVal, VVal]] = {}
        self.arg_values: dict[str, str] = {}  # argmin/argmax (by `_arg_key`) -> the C variable of its best value
        self.arg_origins: dict[str, str] = {}  # argmin/argmax -> the C variable of its index at the first iteration
        self.inductions: dict[str, str] = {}  # var -> its step as C text
        self.carried: dict[str, Expr] = {}  # var -> its value one iteration earlier, as an expression
        # var -> the register carrying its value from the previous step's last lane (its value reads elements the
        # loop overwrites later: `a[i] = s * e[i]; s = b[i] + c[i]; b[i] = ...`); self.carried then holds the
        # value of the iteration itself
        self.carried_regs: dict[str, str] = {}
        # a store's access -> the register holding the element before its first lane (the previous step's
        # last): `b[i] = ...; a[i] = b[i - 1] + ...` reads b[i - 1] from registers, not from a store just made
        self.forwards: dict[tuple[str, str, int, str], str] = {}
        self.forward_resets: list[str] = []  # each forwarding register set from memory again
        self.left: str | None = None  # the count of iterations left (counter_start names it)
        self.split_roots: set[str] = set()
        self.stored_roots = {s.access.root for s in walk_stmts(loop.body) if isinstance(s, Store)} | {
            s.dst.root for s in walk_stmts(loop.body) if isinstance(s, Pack | Expand)}
        self.byte_picks: dict[str, tuple[str, tuple[int, ...]]] = {}  # permute_bytes result -> (source, picks)
        self.strided = StridedGroups(self)  # constant-stride groups: block loads/stores + shuffles
        stores = [s.access for s in walk_stmts(loop.body) if isinstance(s, Store)]
        # reads at a fixed index the loops' bounds keep off every element stored (lu's `A[i][k]`, k < i <= j)
        self.apart = {access_key(x.access) for st in walk_stmts(loop.body) for e in _stmt_exprs(st) for x in walk_exprs(e)
                      if isinstance(x, Load) and x.access.coeff == 0 and x.access.root in self.stored_roots
                      and all(outside_walk(x.access, w, loop.lower, loop.upper, loop.cmp, loop.step, loop.enclosing)
                              for w in stores if w.root == x.access.root)}
        self.reversed = ReversedAccesses(self)  # stride -1: a block load/store + a lane reversal

    # ---- names and emission ----------------------------------------------------------------------

    def fresh(self, hint: str) -> str:
        """A C name that clashes with nothing in the loop: `hint` itself if free, else numbered."""
        hint = re.sub(r"\W", "_", hint) or "t"
        numbered = hint in ("t", "m", "k", "lane", "bits") or hint in self._roots
        while True:
            self._counter += 1
            name = f"{hint}{self._counter}" if numbered else hint
            numbered = True
            if name not in self._taken:
                self._taken.add(name)
                return name

    def ctype_of(self, v: VVal) -> str:
        if v.mask and self.t.mask == "kmask":
            return self.t.mask_ctype(self.vf)
        vt = self.t.vtype(v.elem, v.width)
        if vt is None:
            raise Unsupported(f"no {self.t.name} register holds {self.vf} {v.elem} lanes")
        return vt

    def emit(self, text: str, elem: str, width: int, mask: bool = False, hint: str = "t") -> VVal:
        v = VVal(self.fresh(hint), elem, width, mask)
        self.lines.append(f"{self.ctype_of(v)} {v.name} = {text};")
        return v

    def hoist(self, text: str, elem: str, width: int, hint: str = "k") -> VVal:
        key = f"{elem}/{width}/{text}"
        probe = VVal("", elem, width)
        if key not in self._hoisted:
            name = self.fresh(hint)
            self.pre.append(f"const {self.ctype_of(probe)} {name} = {text};")
            self._hoisted[key] = name
        return VVal(self._hoisted[key], elem, width)

    def hoisted_names(self) -> set[str]:
        """The values computed once before the loop."""
        return set(self._hoisted.values())

    def template(self, op: str, elem: str, width: int) -> str:
        text = self.t.op(op, elem, width)
        if text is None:
            raise Unsupported(f"{self.t.name} has no {op} for {self.vf} {elem} lanes")
        return text

    def fill(self, template: str, **fields: str) -> str:
        fields.setdefault("full", hex((1 << self.vf) - 1))
        return re.sub(r"\{(\w+)\}", lambda m: fields[m.group(1)], template)

    def op(self, op: str, elem: str, width: int, *, mask_out: bool = False, hint: str = "t", **fields: str) -> VVal:
        return self.emit(self.fill(self.template(op, elem, width), **fields), elem, width, mask_out, hint)

    def width(self, t: CType | str) -> int:
        name = t if isinstance(t, str) else t.name
        return self.vf * ctype(name).bits

    # ---- choosing the vectorization factor ------------------------------------------------------

    def _choose_vf(self, max_lanes: int | None) -> int:
        bits: set[int] = set()
        packed = {id(s): s for s in self.body if isinstance(s, Store) and self._whole_register_pack(s) is not None}
        for s in walk_stmts(self.body):
            if isinstance(s, Reduce) and s.var in self.sad_vars:
                bits.add(8)  # its lanes are the bytes; the 32-bit difference never exists as a vector
            elif isinstance(s, Reduce) and s.var in self.count_vars:
                bits.add(8)  # byte compares, byte counters
            elif isinstance(s, Reduce) and s.var in self.madd_vars:
                bits.add(16)  # one lane per 16-bit operand; products exist only as pair sums
            elif id(s) not in packed:
                bits |= self._lane_bits(s)
        # the narrowest packed store decides the lanes (a wider one stores several whole registers); one
        # narrower than what the rest needs is computed in its source's lanes instead, which may widen them
        while packed:
            widest = max(bits | {min(p.access.elem.bits for p in packed.values())})
            narrower = [k for k, p in packed.items() if p.access.elem.bits < widest]
            if not narrower:
                break
            for k in narrower:
                bits |= self._lane_bits(packed.pop(k))
        lane_bits = bits | ({min(p.access.elem.bits for p in packed.values())} if packed else set())
        widest = max(lane_bits or {32})
        vf = self.t.vector_bits // widest
        if max_lanes is not None and max_lanes < vf:  # a dependence distance caps the lanes: use a narrower register
            fit = 1 << (max(max_lanes, 1).bit_length() - 1)
            if fit * widest < 128 or self.t.vtype("int", fit * widest) is None:
                raise Unsupported(f"a dependence allows only {max_lanes} lanes, too few for {self.t.name}")
            vf = fit
        all_bits = bits | {p.access.elem.bits for p in packed.values()}
        if vf * min(all_bits or {32}) < 32:
            raise Unsupported(f"mixes {min(all_bits)}-bit and {max(all_bits)}-bit elements too narrow for {self.t.name}")
        # stores of whole registers only: a dependence may have left fewer lanes than one register of them
        self.packed_stores = {k for k, p in packed.items() if vf * p.access.elem.bits >= self.t.vector_bits}
        return vf

    def _lane_bits(self, s: Stmt) -> set[int]:
        """The element widths statement `s` computes in lanes (not its nested statements'), each needing
        one register of the loop's lanes."""
        bits: set[int] = set()
        exprs = (s.cond,) if isinstance(s, Exit) else tuple(_stmt_exprs(s))  # an exit's value is scalar
        source = _narrowing_clamp(s) if isinstance(s, Store) else None  # packed one register at a time
        if isinstance(s, Store) and source is not None and self.t.op(
                f"narrow_sat_{s.access.elem.name}", expr_type(source).name, self.t.vector_bits) is not None:
            exprs = (source,)  # one saturating pack of the source's lanes: the clamp's int lanes never exist
        for e in exprs:
            nodes = walk_exprs(e)
            # `(float)1.0`: a constant converted where it stands is a broadcast of the converted value
            folded = {id(x.operand) for x in nodes
                      if isinstance(x, Cast) and isinstance(x.operand, Const) and x.type.is_float}
            for x in nodes:
                if isinstance(x, Binary) and (x.op in _CMP or x.op in ("&&", "||")):
                    continue  # a condition is a mask; its int result type holds no lanes
                if isinstance(x, Unary) and x.op == "!":
                    continue
                if id(x) in folded:
                    continue
                bits.add(expr_type(x).bits)
        if isinstance(s, Store):
            bits.add(s.access.elem.bits)
        if isinstance(s, Expand):
            bits.add(s.dst.elem.bits)
        if isinstance(s, Reduce | Let | Step | Carry | ArgReduce | LastValue | Running | Hold):
            bits.add(s.type.bits)
        if isinstance(s, ArgReduce):
            scalar = self.loop.scalar(s.index_var)
            bits.add(scalar.type.bits if scalar else 32)
        return bits

    def _whole_register_pack(self, s: Store, lets: tuple[Stmt, ...] | None = None) -> tuple[str, Expr] | None:
        """(table row, source) of a top-level narrowing store whose source (contiguous loads, invariants, the
        private temporaries `lets` and arithmetic no wider than itself) the table packs from whole registers
        into one: a clamp to the stored range (`narrow_sat_<T>_x<k>`) or a plain conversion, which keeps the
        low bits (`narrow_<T>_x<k>`). The loop then runs one lane per stored element, the source in k registers."""
        if self.loop.step != 1:
            return None
        lets = self.packed_lets.get(id(s), ()) if lets is None else lets
        source, row = _narrowing_clamp(s), "narrow_sat"
        if source is None:
            source, row = _narrowing_conversion(s), "narrow"
        if source is None:
            return None
        t, xt = s.access.elem, expr_type(source)
        row = f"{row}_{t.name}_x{xt.bits // t.bits}"
        if self.t.op(row, xt.name, self.t.vector_bits) is None:
            return None
        stored = {st.access.root for st in walk_stmts(self.body) if isinstance(st, Store)}
        defined: set[str] = set()
        for st in (*lets, Store(s.access, source, s.span)):
            for inner in walk_stmts((st,)):
                if (isinstance(inner, Store) and inner is not st) or not isinstance(inner, Let | If | Store) or (isinstance(inner, Let) and (
                        inner.type.bits > xt.bits or (inner is not st and inner.name not in defined))):
                    return None  # `if (v < 0) v = 0;` only of a temporary already computed in these lanes
                for x in (y for e in _stmt_exprs(inner) for y in walk_exprs(e)):
                    if isinstance(x, Load):
                        if x.access.coeff != 1 or x.access.root in stored:
                            return None
                    elif isinstance(x, Var):
                        scalar = self.loop.scalar(x.name)
                        if x.name not in defined and (scalar is None or scalar.role != ScalarRole.INVARIANT):
                            return None  # a counter, or a temporary computed elsewhere: one value per lane of the step
                    elif not isinstance(x, Const | Cast | Binary | Unary | Call | Select) or expr_type(x).bits > xt.bits \
                            or (isinstance(x, Binary) and x.op in ("&&", "||")):
                        return None
            if isinstance(st, Let):
                defined.add(st.name)
        return row, source

    def _attach_packed_temporaries(self, body: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
        """`float s = x[i] * k; s = clamp(s); q[i] = (int16_t)s` with s read and assigned nowhere else: the
        temporaries right before a narrowing store (and `if`s that only reassign them) go with it, computed for
        each register it packs."""
        dropped: set[int] = set()
        for k, s in enumerate(body):
            if not isinstance(s, Store) or (_narrowing_clamp(s) is None and _narrowing_conversion(s) is None):
                continue
            j = k
            while j > 0 and isinstance(body[j - 1], Let | If) and j - 1 not in dropped:
                j -= 1
            for first in range(j, k):
                lets = body[first:k]
                names = {st.name for st in walk_stmts(lets) if isinstance(st, Let)}
                outside = [b for n, b in enumerate(body) if not first <= n <= k]
                if any(sc is None or sc.live_out for sc in map(self.loop.scalar, names)) or any(
                        names & _stmt_names(b) for b in outside):
                    continue
                if self._whole_register_pack(s, lets) is not None:
                    self.packed_lets[id(s)] = lets
                    dropped.update(range(first, k))
                break
        return tuple(st for n, st in enumerate(body) if n not in dropped)

    # ---- values ----------------------------------------------------------------------------------

    def splat(self, text: str, t: CType) -> VVal:
        return self.hoist(self.fill(self.template("set1", t.name, self.width(t)), x=text), t.name, self.width(t))

    def splat_here(self, text: str, t: CType) -> VVal:
        """A broadcast of a value that changes every step (emitted in the step, not hoisted)."""
        return self.op("set1", t.name, self.width(t), x=text)

    def zero(self, t: CType) -> VVal:
        return self.splat(literal(0, t), t)

    def counter_lanes(self) -> VVal:
        """The loop counter in every lane (lane k: iv + k * step). In a loop that runs its steps straight
        through it is one vector carried from step to step, one add per step as a hand-written loop keeps
        its index vector (not a broadcast of the counter and an add in every step)."""
        it = self.loop.iv_type
        w = self.width(it)
        lanes = self.iota(it, str(abs(self.loop.step)))
        if not self.carry_counter:
            return self.op("add", it.name, w, a=self.splat_here(self.base, it).name, b=lanes.name)
        if self.counter_vector is None:
            v = VVal(self.fresh(f"{_hint(self.iv)}_lanes"), it.name, w)
            start = VVal(self.fresh(f"{_hint(self.iv)}_start"), it.name, w)
            self.counter_init = [
                f"const {self.ctype_of(start)} {start.name} = {self.fill(self.template('set1', it.name, w), x=self.iv)};",
                f"{self.ctype_of(v)} {v.name} = {self.fill(self.template('add', it.name, w), a=start.name, b=lanes.name)};"]
            self.counter_vector = v
        return self.counter_vector

    def iota(self, t: CType, scale: str = "1") -> VVal:
        if t.is_float:
            raise Unsupported("a floating-point induction (lane values would round differently)")
        args = ", ".join(f"({c_type(t)})({k} * ({scale}))" if scale != "1" else str(k) for k in range(self.vf))
        return self.hoist(self.fill(self.template("setr", t.name, self.width(t)), args=args), t.name,
                          self.width(t), hint="lane")

    def convert(self, v: VVal, dst: str) -> VVal:
        if v.elem == dst:
            return v
        s, d = ctype(v.elem), ctype(dst)
        if not s.is_float and not d.is_float and s.bits == d.bits:
            return VVal(v.name, dst, v.width)  # same bits: C's conversion keeps the bit pattern
        direct = self.t.convert(v.elem, dst, self.width(d))
        if direct is not None:
            self.features.add("convert")
            return self.emit(self.fill(direct, a=v.name), dst, self.width(d))
        for mid in _intermediates(s, d):
            hop = self.t.convert(v.elem, mid.name, self.width(mid))
            same = not s.is_float and not mid.is_float and s.bits == mid.bits
            last = self.t.convert(mid.name, dst, self.width(d))
            if (hop is not None or same) and last is not None:
                return self.convert(self.convert(v, mid.name), dst)
        raise Unsupported(f"{self.t.name}: no conversion from {v.elem} to {dst}")

    def expr(self, e: Expr) -> VVal:
        t = expr_type(e)
        if isinstance(e, Const):
            return self.splat(literal(e.value, t), t)
        if isinstance(e, Cast) and isinstance(e.operand, Const):  # `(real_t)1.0`: converted once, as C does
            return self.splat(f"(({c_type(t)})({literal(e.operand.value, e.operand.type)}))", t)
        if isinstance(e, Binary | Cast) and not t.is_float and self._invariant_int(e):
            # `(long)r * cols` in a row's loop: computed once in scalar, as C computes it, and broadcast (a
            # lane-wise multiply of 64-bit lanes would need AVX-512)
            return self.splat(ScalarPrinter(self.iv, self.rename).expr(e), t)
        if isinstance(e, Binary | Call | Cast) and not t.is_float:
            perm = byte_permutation(e)  # a byte swap written out: one byte shuffle, not shifts, masks and ors
            if perm is not None and self.t.op("permute_bytes", t.name, self.width(t)) is not None:
                return self.permute_bytes(perm, t)
        if isinstance(e, Var):
            if e.name in self.block.env:
                return self.block.env[e.name]
            if e.name in self.inductions:
                return self.induction_value(e.name, t)
            if e.name in self.carried and e.name not in self.carried_regs:
                return self.convert(self.expr(self.carried[e.name]), t.name)
            scalar = self.loop.scalar(e.name)
            if scalar is not None and scalar.role.value not in ("invariant", "local"):
                raise Unsupported(f"`{e.name}` ({scalar.role.value}) is read inside the loop body")
            return self.splat(self.rename(e.name), t)
        if isinstance(e, IV):
            return self.convert(self.counter_lanes(), t.name)
        if isinstance(e, Load):
            return self.load(e.access)
        if isinstance(e, Cast):
            if isinstance(e.operand, Load):  # a loaded value is never reassigned: convert it once per step
                v = self.expr(e.operand)
                key = (v.name, t.name)
                if key not in self.block.widened:
                    self.block.widened[key] = self.convert(v, t.name)
                return self.block.widened[key]
            return self.convert(self.expr(e.operand), t.name)
        if isinstance(e, Unary):
            return self.unary(e)
        if isinstance(e, Binary):
            if e.op in _CMP or e.op in ("&&", "||"):
                return self.mask_value(self.cond(e), t)
            return self.binary(e)
        if isinstance(e, Select):
            bounded = _min_max(e)
            if bounded is not None and (not isinstance(bounded, Binary)
                                        or self.t.op(bounded.op, t.name, self.width(t)) is not None):
                return self.expr(bounded)  # `x > K ? K : x`, `a > b ? a : b`: one min/max, not a compare and a blend
            self.features.add("select")
            m = self.cond(e.cond)
            shared = self._preload_shared(_sure_reads(e.then) & _sure_reads(e.else_),
                                          [x.access for x in walk_exprs(e.then) if isinstance(x, Load)])
            then = self.under(m, lambda: self.convert(self.expr(e.then), t.name))
            other = self.under(self.mnot(m), lambda: self.convert(self.expr(e.else_), t.name))
            for read in shared:  # loaded under this ?:'s own mask: not valid outside it
                del self.block.preloaded[read]
            return self.select(m, then, other)
        if isinstance(e, Call):
            return self.call(e)
        raise Unsupported(f"expression {type(e).__name__} is not supported")

    def permute_bytes(self, perm: BytePermutation, t: CType) -> VVal:
        """The bytes of each lane of `perm.source` rearranged by the table's byte shuffle (rules/byte_permute.py)."""
        w = self.width(t)
        source = self.convert(self.expr(perm.source), t.name)
        blocks = max(w, 128) // 128  # the control fills the whole register, one pattern per 128-bit block
        control = self.hoist(self.fill(self.template("byte_control", "int8", w),
                                       args=", ".join(str(b) for b in perm.control() * blocks)), "int8", w,
                             hint="byte_order")
        self.features.add("permute_bytes")
        result = self.op("permute_bytes", t.name, w, a=source.name, b=control.name, hint="swapped")
        self.byte_picks[result.name] = (source.name, perm.picks)  # a strided group may fold it into its shuffle
        return result

    def _invariant(self, name: str) -> bool:
        sc = self.loop.scalar(name)
        return sc is not None and sc.role == ScalarRole.INVARIANT

    def _invariant_int(self, e: Expr) -> bool:
        """`e` is integer arithmetic (no division: it could trap) on constants and loop-invariant scalars."""
        for x in walk_exprs(e):
            if isinstance(x, Binary):
                if x.op not in ("+", "-", "*", "&", "|", "^", "<<", ">>") or x.type.is_float:
                    return False
            elif isinstance(x, Cast):
                if x.type.is_float or expr_type(x.operand).is_float:
                    return False
            elif isinstance(x, Var):
                scalar = self.loop.scalar(x.name)
                if (scalar is None or scalar.role.value != "invariant" or x.name in self.block.env
                        or x.name in self.inductions or x.name in self.carried):
                    return False
            elif not isinstance(x, Const):
                return False
        return True

    def unary(self, e: Unary) -> VVal:
        t = e.type
        if e.op == "!":
            return self.mask_value(self.mnot(self.cond(e.operand)), t)
        a = self.convert(self.expr(e.operand), t.name)
        w = self.width(t)
        if e.op == "-":
            if t.is_float:
                return self.op("neg", t.name, w, a=a.name)
            return self.op("sub", t.name, w, a=self.zero(t).name, b=a.name)
        if e.op == "~":
            return self.op("not", t.name, w, a=a.name)
        if e.op in ("abs", "abs_sat"):
            if e.op == "abs_sat":
                self.features.add("saturate")
            return self.op(e.op, t.name, w, a=a.name)
        raise Unsupported(f"unary operator {e.op}")

    def binary(self, e: Binary) -> VVal:
        t = e.type
        if e.op in ("/", "%") and not t.is_float:  # no SIMD integer divide: shifts, or a multiply-high (divide.py)
            divisor = magic_divisor(e)
            if divisor is None and constant_value(e.rhs) is None:
                try:
                    return lower_division_through_double(self, e)
                except NoDivisionPlan as exc:
                    raise Unsupported(str(exc)) from None
            if divisor is None:
                return self.expr(_divide_by_power_of_two(e))
            try:
                return lower_division(self, e, divisor)
            except NoDivisionPlan as exc:
                raise Unsupported(str(exc)) from None
        name = _ARITH.get(e.op)
        if name is None:
            raise Unsupported(f"operator {e.op}")
        if name == "avg":
            self.features.add("byte_avg")
        if name in ("adds", "subs"):
            self.features.add("saturate")
        w = self.width(t)
        product, addend = ((e.lhs, e.rhs) if isinstance(e.lhs, Binary) and e.lhs.op == "*"
                           else (e.rhs, e.lhs))  # `c + a*b` (`C[i][j] += A[i][k] * B[k][j]`) too
        if (self.allow_contraction and t.is_float and e.op == "+"
                and isinstance(product, Binary) and product.op == "*"):
            a, b = self.expr(product.lhs), self.expr(product.rhs)
            c = self.expr(addend)
            self.caveat("contracts a*b+c into a fused multiply-add (one rounding instead of two)")
            return self.op("fma", t.name, w, a=a.name, b=b.name, c=c.name)
        if name == "mul" and t.bits == 64 and not t.is_float:
            widened = _product_from32(e)
            if widened is not None and self.t.op(widened, t.name, w) is not None:
                name = widened  # one even-lane multiply of the widened lanes
        lhs = self.convert(self.expr(e.lhs), t.name)
        count = e.rhs.value if name in ("shl", "shr") and isinstance(e.rhs, Const) else None
        if isinstance(count, int) and 0 <= count < t.bits and self.t.op(name + "i", t.name, w) is not None:
            # by a constant: the lanes' own shift (16-bit lanes have no variable one)
            return self.op(name + "i", t.name, w, a=lhs.name, x=str(count), hint="shifted")
        rhs = self.convert(self.expr(e.rhs), t.name)
        return self.op(name, t.name, w, a=lhs.name, b=rhs.name, hint=_RESULT_NAMES.get(name, "t"))

    def call(self, e: Call) -> VVal:
        if e.func == ROUND_TO_INT32:
            return self.round_to_int32(e)
        if e.func == BIT_CAST:  # the same lanes' bits as another type of their size: no instruction
            v = self.expr(e.args[0])
            return self.emit(self.fill(self.template("reinterpret", e.type.name, v.width), a=v.name), e.type.name,
                             v.width, hint="bits")
        name = _CALLS.get(e.func.removeprefix("std::"))
        if e.func == COMPLEX_TERM:  # rules/complex_reduce.py takes only one accumulator as the whole body
            raise Unsupported("a complex sum or dot product is rewritten only as the whole body of its loop "
                              "(acc += a[i] * conjf(b[i]))")
        if e.func in COMPLEX_MULTIPLY:  # rules/complex_multiply.py takes only the plain shape
            raise Unsupported("a complex multiply is rewritten only as the whole body of a loop over consecutive "
                              "elements counting up by 1 (c[i] = a[i] * b[i])")
        if name is None:
            known = mathcalls.lookup(e.func, cpp=False)
            if known is not None and known.note:  # why the table has no vector version of it
                raise Unsupported(f"{e.func}() {known.note}")
            raise Unsupported(f"call to {e.func}()")
        t = e.type
        if name == "popcount":  # counted in the argument's own lanes, then converted to the int C returns
            v = self.expr(e.args[0])
            self.features.add("popcount")
            if e is self.summed_call and self.t.op("popcount_sum", v.elem, v.width) is not None:
                # only summed: lanes that add up to the total, kept in the argument's width (no narrowing to
                # the int C returns and widening back to the sum's type: the counts are small)
                sums = self.op("popcount_sum", v.elem, v.width, hint="bits_set", a=v.name)
                return VVal(sums.name, f"int{ctype(v.elem).bits}", sums.width)
            return self.convert(self.op("popcount", v.elem, v.width, hint="bits_set", a=v.name), t.name)
        args = [self.convert(self.expr(a), t.name).name for a in e.args]
        if name == "fma":
            self.caveat("uses fused multiply-add as the source's fma() does")
            return self.op("fma", t.name, self.width(t), a=args[0], b=args[1], c=args[2])
        if name in ("fmin", "fmax"):
            zero = [i for i, a in enumerate(e.args) if _zero_constant(a)]
            if zero and not any(_nonzero_constant(a) for a in e.args):
                # a tie gives the constant (gcc 12 and clang 19 at -O0..-O3 with glibc 2.36: the constant goes
                # second, fmaxf keeps the second) and a NaN operand the other: max(v, K) is exactly that
                other, const = args[1 - zero[0]], args[zero[0]]
                return self.op(name[1:], t.name, self.width(t), a=other, b=const)
            if not any(_nonzero_constant(a) for a in e.args):
                # gcc treats fmin/fmax as commutative and picks the operand order itself (differently at
                # -O0 and -O2), so for a +0/-0 pair no rewrite can match the user's build bit for bit
                raise Unsupported(f"{e.func}() of two values that can both be zero: the sign of the zero it "
                                  f"returns depends on the operand order the compiler picks")
            return self.op(name, t.name, self.width(t), a=args[0], b=args[1])
        if len(args) == 2:  # copysign, fdim
            return self.op(name, t.name, self.width(t), a=args[0], b=args[1])
        return self.op(name, t.name, self.width(t), a=args[0])

    def round_to_int32(self, e: Call) -> VVal:
        """cvtps2dq of the clamped float, after a check that stops the step where a lane is outside the
        exact range (rules/round_convert.py); the scalar loop then runs the rest as the user wrote it."""
        clamped, inside = e.args
        m = self.cond(inside)
        bits = self.fresh("inside")
        full = hex((1 << self.vf) - 1)
        self.lines.append(f"unsigned long long {bits} = {self.fill(self.template('mbits', m.elem, m.width), m=m.name)}"
                          f" & {full}ULL;")
        self.lines.append(f"if ({bits} != {full}ULL) break;  /* a NaN or out-of-range lane: the scalar loop gives C's value */")
        self.guarded = True
        self.features.add("convert")
        x = self.convert(self.expr(clamped), "float")
        return self.emit(self.fill(self.template("round_to_int32", "float", x.width), a=x.name), "int32", x.width,
                         hint="rounded")

    # ---- masks -----------------------------------------------------------------------------------

    def under(self, m: VVal, build: Callable[[], VVal]) -> VVal:
        saved = self.ctx_mask
        self.ctx_mask = m if saved is None else self.mand(saved, m)
        try:
            return build()
        finally:
            self.ctx_mask = saved

    def cond(self, e: Expr) -> VVal:
        """`e` as a mask (true lanes = C truth)."""
        if isinstance(e, Binary) and e.op in _CMP:
            e = self._strict(e)
            ot = e.operand_type
            a = self.convert(self.expr(e.lhs), ot.name)
            b = self.convert(self.expr(e.rhs), ot.name)
            return self.compare(_CMP[e.op], a, b)
        if isinstance(e, Binary) and e.op in ("&&", "||"):
            left = self.cond(e.lhs)
            guard = left if e.op == "&&" else self.mnot(left)
            right = self.under(guard, lambda: self.cond(e.rhs))
            return self.mand(left, right) if e.op == "&&" else self.mor(left, right)
        if isinstance(e, Unary) and e.op == "!":
            return self.mnot(self.cond(e.operand))
        if isinstance(e, Cast) and not expr_type(e).is_float and not expr_type(e.operand).is_float \
                and expr_type(e.operand).bits <= expr_type(e).bits:
            return self.cond(e.operand)  # widening keeps zero / non-zero
        v = self.expr(e)
        return self.compare("ne", v, self.zero(ctype(v.elem)))

    def _strict(self, e: Binary) -> Binary:
        """`x >= K` as `x > K - 1` and `x <= K` as `x < K + 1` on integer lanes the table compares only
        strictly (AVX2's pcmpgt): one compare instead of a compare and a not."""
        lhs, rhs, op = e.lhs, e.rhs, e.op
        if isinstance(lhs, Const) and not isinstance(rhs, Const):
            lhs, rhs, op = rhs, lhs, {"<=": ">=", ">=": "<=", "<": ">", ">": "<"}.get(op, op)
        t = expr_type(lhs)
        if op not in ("<=", ">=") or not isinstance(rhs, Const) or t.is_float:
            return e
        w = self.width(t)
        if self.t.op(_CMP[op], t.name, w) is not None or self.t.op(_SWAP[_CMP[op]], t.name, w) is not None:
            return e
        k, strict = (int(rhs.value) - 1, ">") if op == ">=" else (int(rhs.value) + 1, "<")
        if self.t.op(_CMP[strict], t.name, w) is None and self.t.op(_SWAP[_CMP[strict]], t.name, w) is None:
            return e
        lo, hi = _int_range(t)
        if not lo <= k <= hi or expr_type(rhs).name != t.name:
            return e
        return Binary(strict, lhs, Const(k, t, str(k)), e.type)

    def compare(self, op: str, a: VVal, b: VVal) -> VVal:
        t = ctype(a.elem)
        lane = f"int{t.bits}"
        text = self.t.op(op, a.elem, a.width)
        if text is not None:
            return self.emit(self.fill(text, a=a.name, b=b.name), lane, a.width, True, "m")
        swapped = _SWAP[op]
        if swapped != op and self.t.op(swapped, a.elem, a.width) is not None:
            return self.compare(swapped, b, a)
        if not t.is_float and op in _NEGATE_INT:
            return self.mnot(self.compare(_NEGATE_INT[op], a, b))
        raise Unsupported(f"{self.t.name} has no {op} compare for {a.elem}")

    def mask_as(self, m: VVal, bits: int) -> VVal:
        """`m` with lanes of `bits` bits (vector masks only; mask registers have no lane width)."""
        if self.t.mask == "kmask" or int(m.elem[3:]) == bits:
            return m
        v = self.convert(VVal(m.name, m.elem, m.width), f"int{bits}")
        return VVal(v.name, v.elem, v.width, True)

    def mand(self, a: VVal, b: VVal) -> VVal:
        b = self.mask_as(b, int(a.elem[3:]))
        return self.op("mand", a.elem, a.width, mask_out=True, hint="m", a=a.name, b=b.name)

    def mor(self, a: VVal, b: VVal) -> VVal:
        b = self.mask_as(b, int(a.elem[3:]))
        return self.op("mor", a.elem, a.width, mask_out=True, hint="m", a=a.name, b=b.name)

    def mnot(self, a: VVal) -> VVal:
        return self.op("mnot", a.elem, a.width, mask_out=True, hint="m", a=a.name)

    def mask_value(self, m: VVal, t: CType) -> VVal:
        """C's value of a comparison (1 / 0) as `t` lanes."""
        m32 = self.mask_as(m, 32)
        v = self.op("mtoint", "int32", self.width("int32"), m=m32.name)
        return self.convert(v, t.name)

    def select(self, m: VVal, then: VVal, other: VVal) -> VVal:
        m = self.mask_as(m, ctype(then.elem).bits)
        for arm, op in ((then, "select_zero_then"), (other, "select_zero_else")):
            if self._is_zero(arm) and self.t.op(op, then.elem, then.width) is not None:
                return self.op(op, then.elem, then.width, m=m.name, t=then.name, e=other.name)
        return self.op("select", then.elem, then.width, m=m.name, t=then.name, e=other.name)

    def _is_zero(self, v: VVal) -> bool:
        """Whether `v` is the broadcast constant 0 of its lanes."""
        t = ctype(v.elem)
        template = self.t.op("set1", v.elem, v.width)
        return template is not None and self._hoisted.get(
            f"{v.elem}/{v.width}/{self.fill(template, x=literal(0, t))}") == v.name

    def memory_mask(self, a: Access) -> VVal | None:
        guard = None if access_key(a) in self.unconditional else self.ctx_mask
        if guard is None:
            return self.tail_mask
        return guard if self.tail_mask is None else self.mand(guard, self.tail_mask)

    # ---- memory ----------------------------------------------------------------------------------

    def stride(self, a: Access) -> int | None:
        """Elements between neighbouring lanes of an access (None: indirect, `a[idx[i]]`)."""
        if a.coeff is None:
            return 1 if self.induction_index(a) is not None else None
        return a.coeff * abs(self.loop.step)

    def induction_index(self, a: Access) -> str | None:
        """Lane 0's index of `x[j + c]` where `j++` runs once every iteration of a counter stepping by 1:
        lanes k read x[j + c + k] (plus one once the step ran), a contiguous access."""
        found = induction_subscript(a)
        if found is None or found[0] not in self.inductions or not unit_induction(self.loop, found[0]):
            return None
        name, off = found
        off += 1 if name in self.block.stepped else 0
        return self.rename(name) + (f" + {off}" if off > 0 else f" - {-off}" if off else "")

    def address(self, a: Access) -> str:
        """The address of lane 0's element of a contiguous access."""
        if a.coeff is None:
            index = self.induction_index(a)
            assert index is not None
            return f"&{self.rename(a.base)}[{index}]"
        first = self.base if a.coeff == 1 else f"{a.coeff} * {self.base}"
        index = first + (f" + {a.offset}" if a.offset > 0 else f" - {-a.offset}" if a.offset else "")
        if a.symbolic:
            index += f" + ({self.rename(a.symbolic)})"
        return f"&{self.rename(a.base)}[{index}]"

    def lane_indices(self, a: Access) -> tuple[str, VVal]:
        """(pointer, int32 lane indices relative to it) for a strided or indirect access."""
        if a.elem.bits < 32 and a.coeff is None:  # measured, see docs/rules.md "Byte and 16-bit tables"
            raise Unsupported(f"indirect access {a.base}[...] of {a.elem.name} elements: no {a.elem.bits}-bit gather "
                              f"(a 32-bit gather would read past the table's end, and lane-by-lane loads were slower "
                              f"than the scalar loop in simdlens's own benchmarks)")
        if a.elem.bits < 32:
            raise Unsupported(f"{self.t.name} has no gather/scatter of {a.elem.name} elements ({a.base}[...])")
        pointer = self.rename(a.base) if not a.symbolic else f"&{self.rename(a.base)}[{self.rename(a.symbolic)}]"
        i32 = ctype("int32")
        if a.coeff is None:
            assert a.index is not None
            it = expr_type(a.index)
            if it.is_float or it.bits > 32 or (it.bits == 32 and not it.signed):
                raise Unsupported(f"indirect access {a.base}[...] with a {it.name} index (gathers take int32)")
            return pointer, self.convert(self.expr(a.index), "int32")
        start = f"{a.coeff} * ({self.base}) + {a.offset}"
        first = self.splat_here(f"(int)({start})", i32)
        steps = self.iota(i32, str(self.stride(a)))
        return pointer, self.op("add", "int32", self.width(i32), a=first.name, b=steps.name)

    def load(self, a: Access) -> VVal:
        if a.coeff is None and self.carried:
            a = self.carried_affine(a) or a
        if access_key(a) in self.block.preloaded:
            return self.block.preloaded[access_key(a)]
        w = self.width(a.elem)
        m = self.memory_mask(a)
        stride = self.stride(a)
        if stride == 0:  # one element for every lane
            if a.root in self.stored_roots and a.root not in self.split_roots and access_key(a) not in self.apart:
                raise Unsupported(f"{a.base}[...] is read at a fixed index while {a.root} is written "
                                  f"(a one-time dependence: needs loop splitting)")
            if access_key(a) not in self.unconditional:
                raise Unsupported(f"{a.base}[{a.offset}] is read only under a condition")
            index = f"{a.offset}" + (f" + ({self.rename(a.symbolic)})" if a.symbolic else "")
            if a.symbolic and not a.offset:  # `y[j]`, not `y[0 + (j)]`
                index = self.rename(a.symbolic)
            if a.root not in self.stored_roots and self.hoists_fixed_loads():  # `A[i][k]` of C[i][j] += A[i][k] * B[k][j]
                return self.splat(f"{self.rename(a.base)}[{index}]", a.elem)
            return self.splat_here(f"{self.rename(a.base)}[{index}]", a.elem)  # read in the step: never speculative
        if stride != 1:
            grouped = self.strided.load(a)
            if grouped is None:
                grouped = self.reversed.load(a, m)
            if grouped is not None:
                return grouped
            self.features.add("gather" if a.coeff is None else "strided")
            pointer, lanes = self.lane_indices(a)
            if m is None:
                return self.op("gather", a.elem.name, w, hint=_hint(a.root), p=pointer, a=lanes.name)
            m = self.mask_as(m, a.elem.bits)
            return self.op("maskgather", a.elem.name, w, hint=_hint(a.root), p=pointer, a=lanes.name, m=m.name,
                           e=self.zero(a.elem).name)
        if m is None and a.coeff == 1:
            forwarded = self.forwarded(a)
            if forwarded is not None:
                return forwarded
        if m is None:  # `x[i] * x[i]` loads x[i] once (`x[j]` moves when j steps: loaded each time)
            if access_key(a) not in self.block.loaded or a.coeff is None:
                self.block.loaded[access_key(a)] = self.op("load", a.elem.name, w, hint=_hint(a.root), p=self.address(a))
            return self.block.loaded[access_key(a)]
        if self.t.op("maskload", a.elem.name, w) is None:
            raise Unsupported(f"{self.t.name} cannot load {a.elem.name} elements under a mask "
                              f"(guarded load of {a.base})")
        if self.ctx_mask is not None:
            self.features.add("masked")
        m = self.mask_as(m, a.elem.bits)
        return self.op("maskload", a.elem.name, w, hint=_hint(a.root), p=self.address(a), m=m.name)

    def forwarded(self, a: Access) -> VVal | None:
        """`a` one element before what this step stored (a flow dependence of distance 1 the schedule put
        after its store) as that vector moved up one lane, lane 0 from the previous step: reading it back
        from memory right after the store would stall on store-to-load forwarding of a misaligned load.
        Only for an array stored once per iteration, unconditionally, in a loop without carried values; a
        split loop sets the register again before its second half (its first half ends in scalar)."""
        key = (a.root, a.base, a.offset + 1, a.symbolic)
        stored = self.block.stored.get(key)
        if stored is None or stored.elem != a.elem.name or self.carried or self.loop.step != 1:
            return None
        if "search" in self.features:
            return None  # a search's alignment runs scalar iterations after the register's first value
        writes = [s for s in walk_stmts(self.loop.body) if isinstance(s, Store) and s.access.root == a.root]
        if len(writes) != 1 or writes[0] not in self.loop.body or self.left is None \
                or self.t.op("scan_shift1", a.elem.name, stored.width) is None:
            return None
        if key not in self.forwards:
            reg = self.fresh(f"{_hint(a.root)}_before")
            first = ScalarPrinter(self.iv, self.rename).expr(Load(a))
            splat = self.fill(self.template("set1", a.elem.name, stored.width), x=f"({self.left} > 0 ? {first} : 0)")
            self.pre.append(f"{self.ctype_of(stored)} {reg} = {splat};")
            self.forwards[key] = reg
            self.forward_resets.append(f"{reg} = {splat};")
        return self.op("scan_shift1", a.elem.name, stored.width, a=stored.name, b=self.forwards[key], hint=_hint(a.root))

    def hoists_fixed_loads(self) -> bool:
        """An element read at a fixed index is broadcast once before the loop when the loop surely runs
        (a positive constant trip count: the scalar loop reads it too, so the read is not speculative)."""
        trip = self.loop.trip_count.strip().strip("()")
        return trip.isdigit() and int(trip) > 0 and not self.carried

    def store(self, a: Access, value: VVal) -> None:
        """Stores happen where the schedule puts their statement; a condition always applies to them."""
        self.block.loaded.clear()  # a later load may read what this store writes
        value = self.convert(value, a.elem.name)
        m = self.ctx_mask
        if self.tail_mask is not None:
            m = self.tail_mask if m is None else self.mand(m, self.tail_mask)
        w = self.width(a.elem)
        stride = self.stride(a)
        if stride is None:
            raise Unsupported(f"scatter to {a.base}[...] with possible index conflicts is not supported")
        if stride == 0:
            raise Unsupported(f"every iteration stores to the same element of {a.base}")
        if stride != 1:
            if self.strided.store(a, value) or self.reversed.store(a, value, m):
                return
            op = "scatter" if m is None else "maskscatter"
            self.features.add("strided")
            if self.t.op(op, a.elem.name, w) is None:  # no scatter: vector compute, lane stores in order
                self.lane_stores(a, value, m, stride)
                return
            pointer, index = self.lane_indices(a)
            fields = {"p": pointer, "a": index.name, "t": value.name}
            if m is not None:
                fields["m"] = self.mask_as(m, a.elem.bits).name
            self.lines.append(self.fill(self.template(op, a.elem.name, w), **fields) + ";")
            return
        if m is None:
            self.lines.append(self.fill(self.template("store", a.elem.name, w), p=self.address(a), a=value.name) + ";")
            if a.coeff == 1:
                self.block.stored[access_key(a)] = value
            return
        if self.t.op("maskstore", a.elem.name, w) is None and not self.t.test_store_mask:
            raise Unsupported(f"{self.t.name} cannot store {a.elem.name} elements under a mask "
                              f"(conditional store to {a.base})")
        if self.ctx_mask is not None:
            self.features.add("masked")
        m = self.mask_as(m, a.elem.bits)
        if self.t.test_store_mask:
            self.tested_store(a, value, m, w)
            return
        self.lines.append(self.fill(self.template("maskstore", a.elem.name, w), p=self.address(a), m=m.name,
                                    a=value.name) + ";")

    def tested_store(self, a: Access, value: VVal, m: VVal, w: int) -> None:
        """A contiguous store under a vector mask, its lanes tested first (`test_store_mask`, ISA table): no
        lane selected stores nothing, every lane one plain store, a mix the masked store, or the selected
        lanes one by one where the ISA has no masked store for the type (never an unselected element)."""
        bits, address = self.fresh("bits"), self.address(a)
        full = hex((1 << (w // a.elem.bits)) - 1)
        # a partly filled register's movemask has bits past its lanes: only the lanes' own count
        self.lines.append(f"const unsigned {bits} = ({self.fill(self.template('mbits', m.elem, m.width), m=m.name)}) "
                          f"& {full}u;")
        whole = self.fill(self.template("store", a.elem.name, w), p=address, a=value.name)
        self.lines.append(f"if ({bits} == {full}u) {whole};")
        masked = self.t.op("maskstore", a.elem.name, w)
        if masked is not None:
            self.lines.append(f"else if ({bits} != 0) {self.fill(masked, p=address, m=m.name, a=value.name)};")
            return
        lanes, k, left = self.fresh(f"{_hint(a.root)}_lanes"), self.fresh("k"), self.fresh("left_bits")
        spill = self.fill(self.template("store", a.elem.name, w), p=lanes, a=value.name)
        self.lines.append(f"else if ({bits} != 0) {{ {c_type(a.elem)} {lanes}[{w // a.elem.bits}]; {spill}; "
                          f"for (unsigned {left} = {bits}; {left} != 0; {left} &= {left} - 1) {{ "
                          f"const int {k} = __builtin_ctz({left}); ({address})[{k}] = {lanes}[{k}]; }} }}")

    def lane_stores(self, a: Access, value: VVal, m: VVal | None, stride: int) -> None:
        """A strided store without a scatter instruction: spill the lanes, store them one by one in
        iteration order (only the selected ones under a mask)."""
        t = a.elem
        lanes, k = self.fresh(f"{_hint(a.root)}_lanes"), self.fresh("k")
        spill = self.fill(self.template("store", t.name, value.width), p=lanes, a=value.name)
        sym = f" + ({self.rename(a.symbolic)})" if a.symbolic else ""
        target = f"{self.rename(a.base)}[{a.coeff} * ({self.base}) + {a.offset}{sym} + {k} * {stride}]"
        line = f"{{ {c_type(t)} {lanes}[{self.vf}]; {spill}; for (int {k} = 0; {k} < {self.vf}; {k}++) "
        if m is None:
            self.lines.append(line + f"{target} = {lanes}[{k}]; }}")
            return
        m = self.mask_as(m, t.bits)
        bits = self.fill(self.template("mbits", m.elem, m.width), m=m.name)
        self.lines.append(line + f"if (({bits}) >> {k} & 1) {target} = {lanes}[{k}]; }}")

    def pack(self, s: Pack) -> None:
        """`if (cond) dst[counter++] = value`: store the selected lanes contiguously, count them."""
        self.block.loaded.clear()
        t = s.dst.elem
        w = self.width(t)
        compress = self.t.op("compress", t.name, w)
        if compress is None:
            raise Unsupported(f"compress into {s.dst.base}[{s.counter}++] needs AVX-512 (vpcompress)"
                              if self.t.mask != "kmask" else f"{self.t.name} has no compress of {t.name} elements")
        from simdlens.sandbox.cpu import host_cpu  # an extension beyond the ISA: only if this CPU runs it

        lacking = self.t.missing_on_host(compress, host_cpu().isa)
        if lacking:
            raise Unsupported(f"compress of {t.name} elements needs {' '.join(lacking)} (vpcompressb/w), "
                              f"which this CPU lacks")
        m = self.cond(s.cond)
        for extra in (self.ctx_mask, self.tail_mask):
            if extra is not None:
                m = self.mand(m, extra)
        value = self.convert(self.expr(s.value), t.name)
        counter = self.rename(s.counter)
        self.features.add("compress")
        self.lines.append(self.fill(self.template("compress", t.name, w), p=f"&{self.rename(s.dst.base)}[{counter}{_lead(s.lead)}]",
                                    m=m.name, a=value.name) + ";")
        bits = self.fill(self.template("mbits", m.elem, m.width), m=m.name)
        self.lines.append(f"{counter} += __builtin_popcountll({bits});")

    def pack_run(self, run: tuple[Pack, ...]) -> None:
        """TSVC s123's `j++; a[j] = x; if (c) { j++; a[j] = y; }`: k stores in turn at one counter. Iteration r's
        stores go to slots r*k .. r*k + k-1 of the step's sequence, so the k values and their masks are
        interleaved lane by lane (table rows `interleave<k>_<q>`: register q of a0 b0 a1 b1 ...) and each of
        the k registers is compressed in order (the selected lanes stored contiguously, counted)."""
        k, first = len(run), run[0]
        if any(p not in self.body for p in run):
            raise Unsupported("a run of packs under a condition")
        if self.t.mask == "kmask":
            raise Unsupported(f"{self.t.name}: interleaving the masks of {k} packs at one counter needs vector "
                              "masks (its masks are mask registers)")
        t = first.dst.elem
        w = self.width(t)
        self.block.loaded.clear()
        values, masks = [], []
        for p in run:
            m = self.cond(p.cond)
            for extra in (self.ctx_mask, self.tail_mask):
                if extra is not None:
                    m = self.mand(m, extra)
            masks.append(self.mask_as(m, t.bits))
            values.append(self.convert(self.expr(p.value), t.name))
        counter = self.rename(first.counter)
        names = "abcd"
        for q in range(k):
            op = f"interleave{k}_{q}"
            v = self.emit(self.fill(self.template(op, t.name, w), **{names[j]: values[j].name for j in range(k)}),
                          t.name, w)
            me = masks[0].elem
            m = self.emit(self.fill(self.template(op, me, w), **{names[j]: masks[j].name for j in range(k)}),
                          me, w, True, "m")
            self.features.add("compress")
            self.lines.append(self.fill(self.template("compress", t.name, w),
                                        p=f"&{self.rename(first.dst.base)}[{counter}{_lead(first.lead)}]",
                                        m=m.name, a=v.name) + ";")
            bits = self.fill(self.template("mbits", m.elem, m.width), m=m.name)
            self.lines.append(f"{counter} += __builtin_popcountll({bits});")

    def expand(self, s: Expand) -> None:
        """`if (cond) dst[i] = src[counter++]`: load as many elements from src[counter] as lanes are selected,
        move them to the selected lanes (table row `expand_load`), store them there, count them."""
        self.block.loaded.clear()
        t = s.dst.elem
        w = self.width(t)
        load = self.t.op("expand_load", t.name, w)
        if load is None:
            raise Unsupported(f"{self.t.name} has no expand of {t.name} elements")
        from simdlens.sandbox.cpu import host_cpu  # an extension beyond the ISA: only if this CPU runs it

        lacking = self.t.missing_on_host(load, host_cpu().isa)
        if lacking:
            raise Unsupported(f"expand of {t.name} elements needs {' '.join(lacking)}, which this CPU lacks")
        m = self.cond(s.cond)
        for extra in (self.ctx_mask, self.tail_mask):
            if extra is not None:
                m = self.mand(m, extra)
        m = self.mask_as(m, t.bits)
        counter = self.rename(s.counter)
        self.features.add("expand")
        moved = self.emit(self.fill(load, p=f"&{self.rename(s.src.base)}[{counter}{_lead(s.lead)}]", m=m.name), t.name, w,
                          hint="moved")
        if s.fill is None:
            self.under(m, lambda: self._stored(s.dst, moved))
        else:
            other = self.under(self.mnot(m), lambda: self.convert(self.expr(s.fill), t.name))  # type: ignore[arg-type]
            self.store(s.dst, self.select(m, moved, other))
        bits = self.fill(self.template("mbits", m.elem, m.width), m=m.name)
        self.lines.append(f"{counter} += __builtin_popcountll({bits});")

    def _stored(self, a: Access, value: VVal) -> VVal:
        self.store(a, value)
        return value

    # ---- statements ------------------------------------------------------------------------------

    def statements(self, body: tuple[Stmt, ...]) -> None:
        for s in body:
            self.statement(s)

    def statement(self, s: Stmt) -> None:
        if isinstance(s, Store) and id(s) in self.packed_stores:
            self._pack_registers(s)
        elif isinstance(s, Store):
            narrowed = self._narrowing_pack(s)
            self.store(s.access, narrowed if narrowed is not None else self.expr(s.value))
        elif isinstance(s, Let):
            self.block.env[s.name] = self.convert(self.expr(s.value), s.type.name)
        elif isinstance(s, If):
            self.features.add("select")
            m = self.cond(s.cond)
            shared = self._preload_shared(
                _unconditional_accesses(s.then) & _unconditional_accesses(s.else_) if s.else_ else set(),
                [a for st in s.then for a in _memory(st)[0]])
            saved = dict(self.block.env)
            self.under(m, lambda: self._run(s.then))
            then_env = self.block.env
            self.block.env = dict(saved)
            if s.else_:
                self.under(self.mnot(m), lambda: self._run(s.else_))
            else_env = self.block.env
            self.block.env = self._merge(m, saved, then_env, else_env)
            for key in shared:  # loaded under this if's own mask: not valid outside it
                del self.block.preloaded[key]
        elif isinstance(s, Reduce):
            self.reduce(s)
        elif isinstance(s, ArgReduce):
            self.arg_reduce(s)
        elif isinstance(s, Step):
            if self.ctx_mask is not None or s.var not in self.inductions:
                raise Unsupported(f"`{s.var}` is stepped under a condition (a compress/pack counter)")
            self.features.add("induction")
            self.block.stepped.add(s.var)
        elif isinstance(s, Exit):
            raise Unsupported("an early exit that is not at the top of the loop body")
        elif isinstance(s, Pack):
            run = _pack_run_of(s, self.body)
            if len(run) > 1:
                if s is run[0]:
                    self.pack_run(run)
            else:
                self.pack(s)
        elif isinstance(s, Expand):
            self.expand(s)
        elif isinstance(s, LastValue):
            self.last_value(s)
        elif isinstance(s, Carry):
            if s.var not in self.carried:
                raise Unsupported(f"`{s.var}` carries a value into the next iteration under a condition")
        else:
            raise Unsupported(f"statement {type(s).__name__}")

    def _narrowing_pack(self, s: Store) -> VVal | None:
        """`dst[i] = x < L ? L : x > H ? H : x` with [L, H] exactly dst's range and x a wider signed integer: one
        saturating pack (table rows `narrow_sat_<type>`) clamps and narrows; None otherwise. A store the
        loop does not pack from whole registers (`_pack_registers`) computes its private temporaries here."""
        self.statements(self.packed_lets.get(id(s), ()))  # another statement's lanes decided: computed in them
        x = _narrowing_clamp(s)
        if x is None:
            return None
        t, xt = s.access.elem, expr_type(x)
        template = self.t.op(f"narrow_sat_{t.name}", xt.name, self.width(xt))
        if template is None:
            return None
        return self.emit(self.fill(template, a=self.expr(x).name), t.name, self.width(t))

    def _pack_registers(self, s: Store) -> None:
        """A narrowing store of whole registers (`_whole_register_pack`): its source (after the store's private
        temporaries) computed for consecutive runs of lanes, each a whole register, k of them packed into
        one register of the stored type (the table row: packs/packus, then a lane permute) and stored. A
        store wider than the loop's narrowest packed one stores several registers a step (int16 at a byte
        store's 32 lanes: two)."""
        pack = self._whole_register_pack(s)
        assert pack is not None
        row, x = pack
        t, xt = s.access.elem, expr_type(x)
        stores = self.width(t) // self.t.vector_bits
        if stores > 1 and (self.tail_mask is not None or self.stride(s.access) != 1):
            raise Unsupported(f"a narrowing store to {s.access.base} of {stores} registers a step under a tail mask "
                              f"or strided")
        template = self.template(row, xt.name, self.t.vector_bits)
        k = xt.bits // t.bits
        vf, base, loaded, env = self.vf, self.base, self.block.loaded, self.block.env
        try:
            for r in range(stores):
                names = []
                self.vf = vf // (stores * k)
                for j in range(r * k, (r + 1) * k):
                    self.base = base if j == 0 else f"{base} + {j * self.vf}"
                    self.block.loaded = {}  # a load of the other run's lanes is another register
                    self.block.env = dict(env)
                    self.statements(self.packed_lets.get(id(s), ()))
                    names.append(self.expr(x).name)
                self.vf = vf // stores
                self.base = base if r == 0 else f"{base} + {r * self.vf}"
                packed = self.emit(self.fill(template, **dict(zip("abcd", names, strict=False))), t.name, self.width(t))
                self.store(s.access, packed)
        finally:
            self.vf, self.base, self.block.loaded, self.block.env = vf, base, loaded, env
        self.block.loaded.clear()  # a later load may read what these stores wrote
        if stores > 1:
            self.block.stored.pop(access_key(s.access), None)  # no one register holds all the stored lanes

    def last_value(self, s: LastValue) -> None:
        """`if (c) last = v;`: the highest lane of this step whose condition holds sets last (bit scan)."""
        m = self.ctx_mask
        if self.tail_mask is not None:
            m = self.tail_mask if m is None else self.mand(m, self.tail_mask)
        value = self.convert(self.expr(s.value), s.type.name)
        spill, lanes = self.fresh("lanes"), self.fresh("lane")
        store = self.fill(self.template("store", s.type.name, value.width), p=spill, a=value.name) + ";"
        var = self.rename(s.var)
        self.features.add("last_value")
        if m is None:  # every lane assigns: the last one wins
            self.lines.append(f"{{ {c_type(s.type)} {spill}[{self.vf}]; {store} {var} = {spill}[{self.vf - 1}]; }}")
            return
        bits = self.fill(self.template("mbits", m.elem, m.width), m=m.name)
        self.lines.append(f"{{ unsigned long long {lanes} = ({bits}) & {hex((1 << self.vf) - 1)}ULL;")
        self.lines.append(f"  if ({lanes}) {{ {c_type(s.type)} {spill}[{self.vf}]; {store} "
                          f"{var} = {spill}[63 - __builtin_clzll({lanes})]; }} }}")

    def _preload_shared(self, both: set[tuple[str, str, int, str]], loads: list[Access]) -> list[tuple[str, str, int, str]]:
        """Load once, under the mask the current `if` / `?:` runs under, what both its branches surely read
        (a `switch` whose cases all read raw[i]: one masked load, not one per case); `loads` are the then
        side's. Arrays the loop never writes only; the caller drops the keys after the branches."""
        keys: list[tuple[str, str, int, str]] = []
        for a in loads:
            key = access_key(a)
            if (key in both and key not in keys and key not in self.block.preloaded and a.coeff is not None
                    and a.root not in self.stored_roots and key not in self.unconditional):
                self.block.preloaded[key] = self.load(a)
                keys.append(key)
        return keys

    def _merge(self, m: VVal, before: dict[str, VVal], then_env: dict[str, VVal],
               else_env: dict[str, VVal]) -> dict[str, VVal]:
        """The locals after an if-converted `if`: a value reassigned in either branch becomes a blend
        (lanes where the condition held take the then-value); names declared inside a branch end with it."""
        merged = dict(before)
        for name, old in before.items():
            a, b = then_env.get(name, old), else_env.get(name, old)
            if a is not old or b is not old:
                merged[name] = self.select(m, a, self.convert(b, a.elem))
        return merged

    def _run(self, body: tuple[Stmt, ...]) -> VVal:
        self.statements(body)
        return VVal("", "int32", 0)

    # ---- reductions ------------------------------------------------------------------------------

    def identity(self, op: ReduceOp, t: CType) -> str:
        if op == ReduceOp.MUL:
            return literal(1, t)
        if op == ReduceOp.AND:
            return literal(-1, t)
        return literal(0, t)

    def accumulator(self, s: Reduce) -> VVal:
        acc = self.reductions.get(s.var) if self.copy == 0 else self.spare.get((s.var, self.copy))
        if acc is None:
            t = s.type
            w = self.width(t)
            start = self.rename(s.var) if s.op in (ReduceOp.MIN, ReduceOp.MAX) else self.identity(s.op, t)
            if s.var in self.narrowed:  # the narrow type's identity: m itself may not fit the lanes
                lo, hi = _int_range(t)
                start = literal(lo if s.op == ReduceOp.MAX else hi, t)
                self.features.add("need_start")
            name = self.fresh(f"{s.var}_acc" + (str(self.copy) if self.copy else ""))
            acc = VVal(name, t.name, w)
            init = self.fill(self.template("set1", t.name, w), x=start)
            self.pre.append(f"{self.ctype_of(acc)} {name} = {init};")
            if self.copy == 0:
                self.reductions[s.var] = acc
            else:
                self.spare[(s.var, self.copy)] = acc
        return acc

    def accumulators(self, body: tuple[Stmt, ...]) -> int:
        """Independent accumulators per reduction: enough to cover the latency of the op on the
        accumulator chain at the rate the loop can start steps (ISA table `[[reduction]]` rows)."""
        loads = {access_key(x.access) for st in walk_stmts(body) for e in _stmt_exprs(st) for x in walk_exprs(e)
                 if isinstance(x, Load)}
        chains: list[tuple[str, str]] = []
        for st in walk_stmts(body):
            if isinstance(st, Reduce):
                if st.var in self.sad_vars:
                    chains.append(("add", "uint64"))
                elif st.var in self.count_vars:
                    chains.append(("add", "uint8"))  # the byte counter; psadbw runs once per 255 iterations
                else:
                    chains.append(({ReduceOp.ADD: "add", ReduceOp.SUB: "add"}.get(st.op, st.op.name.lower()),
                                   st.type.name))
            elif isinstance(st, ArgReduce):
                chains.append(("argmin" if st.cmp == "<" else "argmax", st.type.name))
        return max((self.t.accumulators(op, elem, len(loads)) for op, elem in chains), default=1)

    def store_steps(self, body: tuple[Stmt, ...]) -> int:
        """Steps per iteration for a loop whose narrowest store fills part of a register (int16 results of
        float lanes: 16 of 32 bytes): as many as fill a whole one, so the loop's own count, compare and
        branch are paid per register stored, as a hand-unrolled loop does (at most `max_accumulators`)."""
        bits = [s.access.elem.bits for s in walk_stmts(body) if isinstance(s, Store)]
        if not bits or self.sad_vars or self.count_vars or self.madd_vars:
            return 1
        return max(1, min(self.t.max_accumulators, self.t.vector_bits // (self.vf * min(bits))))

    def _short_step(self, step: list[str]) -> bool:
        """Whether an element-wise loop's step is short enough (`short_step` vector instructions, ISA table) that
        its count, compare and branch cost as much as part of the work: it then runs twice an iteration, as an
        expert unrolls a byte loop (to_upper 0.90x -> see docs/benchmarks.md "Session 11 (narrow)")."""
        if self.reductions or self.arg_lanes or self.carried or self.carried_regs or self.forwards or self.count_vars:
            return False
        return sum(1 for line in step if not line.lstrip().startswith("/*")) <= self.t.short_step

    def reduce(self, s: Reduce) -> None:
        t = s.type
        self.features.add("reduction")
        spread = "per lane" if self.copies == 1 else f"per lane in {self.copies} accumulators"
        if t.is_float and s.op in (ReduceOp.ADD, ReduceOp.SUB):
            self.caveat(f"reassociates floating-point additions (partial sums {spread})")
        if t.is_float and s.op == ReduceOp.MUL:
            self.caveat(f"reassociates floating-point multiplications (partial products {spread})")
        if s.cmp in ("fmin", "fmax"):
            self.check_fmin_fmax(s)
        if s.var in self.sad_vars:
            self.sad_reduce(s)
            return
        if s.var in self.madd_vars:
            self.madd_reduce(s)
            return
        if s.var in self.count_vars:
            self.count_reduce(s)
            return
        acc = self.accumulator(s)
        bare = s.value
        while isinstance(bare, Cast):
            bare = bare.operand
        # a sum of calls whose lanes need only add up to the right total (popcount: psadbw's pair sums)
        self.summed_call = bare if isinstance(bare, Call) and s.op == ReduceOp.ADD and self.ctx_mask is None \
            and self.tail_mask is None else None
        value = self.convert(self.expr(s.value), t.name)
        self.summed_call = None
        mask = self.ctx_mask if self.tail_mask is None else (
            self.tail_mask if self.ctx_mask is None else self.mand(self.ctx_mask, self.tail_mask))
        w = self.width(t)
        minmax = "max" if s.op == ReduceOp.MAX else "min"
        if s.op in (ReduceOp.MIN, ReduceOp.MAX) and not t.is_float and self.t.op(minmax, t.name, w) is not None:
            new = self.op(minmax, t.name, w, a=acc.name, b=value.name)  # integers: which of two equals wins is moot
            if mask is not None:
                new = self.select(mask, new, acc)
        elif s.cmp in ("fmin", "fmax") and self.t.op(minmax, t.name, w) is not None:
            new = self.op(minmax, t.name, w, a=value.name, b=acc.name)  # value > acc ? value : acc: NaN keeps acc
            if mask is not None:
                new = self.select(mask, new, acc)
        elif s.op in (ReduceOp.MIN, ReduceOp.MAX):
            better = self.compare(_CMP[_lane_cmp(s)], value, acc)
            if mask is not None:
                better = self.mand(better, mask)
            new = self.select(better, value, acc)
        else:
            if mask is not None:
                value = self.select(mask, value, self.splat(self.identity(s.op, t), t))
            name = {"+": "add", "-": "add", "*": "mul", "&": "and", "|": "or", "^": "xor"}[s.op.value]
            new = self.op(name, t.name, w, a=acc.name, b=value.name)
        self.lines.append(f"{acc.name} = {new.name};")

    def check_fmin_fmax(self, s: Reduce) -> None:
        """`m = fmaxf(m, v)`: the lanes keep `v > m ? v : m` (a NaN element keeps m, as fmaxf does); a NaN start
        re-runs the user's call (`_rerun_fixup`). The sign of a zero result is left open, as C and gcc leave it,
        so the check compares zeros without their sign: only where the loop stores no float that the looser
        comparison would cover too."""
        if self.ctx_or_guarded(s):
            raise Unsupported(f"a conditional {s.cmp}() reduction (its NaN-start re-run needs every iteration)")
        if any((isinstance(x, Store) and x.access.elem.is_float) or (isinstance(x, Reduce | ArgReduce) and x.type.is_float
                                                                    and x.cmp not in ("fmin", "fmax"))
               for x in walk_stmts(self.body)):
            raise Unsupported(f"a {s.cmp}() reduction beside floating-point stores or other float reductions: the sign "
                              f"of its zero result is the compiler's choice, and a check that lets it differ would "
                              f"not see theirs")
        self.caveat(f"the sign of a zero {s.cmp}() result is the compiler's choice (C leaves a +0/-0 tie open and gcc "
                    f"passes the operands in either order, even within one program): the rewrite may return the other zero")

    def sad_reduce(self, s: Reduce) -> None:
        """`acc += abs(x - y)` on uint8: per-8-byte sums of absolute differences into uint64 lanes."""
        pair = _sad_pair(s)
        assert pair is not None
        self.features.add("sad")
        w = self.width("uint8")
        acc = self.reductions.get(s.var) if self.copy == 0 else self.spare.get((s.var, self.copy))
        if acc is None:
            acc = VVal(self.fresh(f"{s.var}_acc" + (str(self.copy) if self.copy else "")), "uint64", w)
            self.pre.append(f"{self.ctype_of(acc)} {acc.name} = "
                            f"{self.fill(self.template('set1', 'uint64', w), x='0')};")
            if self.copy == 0:
                self.reductions[s.var] = acc
            else:
                self.spare[(s.var, self.copy)] = acc
        # masked (tail) lanes load as zero in both operands: |0 - 0| adds nothing
        x, y = (self.convert(self.expr(e), "uint8") for e in pair)
        sums = self.op("sad", "uint8", w, a=x.name, b=y.name)
        new = self.op("add", "uint64", w, a=acc.name, b=sums.name)
        self.lines.append(f"{acc.name} = {new.name};")

    def count_reduce(self, s: Reduce) -> None:
        """`acc += (byte compare)`: in the main loop 0/1 bytes into a byte counter (`build` folds it with
        psadbw every 255 steps); in a masked tail step straight into the 64-bit sums."""
        cond = _count_cond(s)
        assert cond is not None
        self.features.add("count")
        u8 = ctype("uint8")
        w = self.width(u8)
        acc = self.reductions.get(s.var)
        if acc is None:
            acc = VVal(self.fresh(f"{s.var}_acc"), "uint64", w)
            self.pre.append(f"{self.ctype_of(acc)} {acc.name} = {self.fill(self.template('set1', 'uint64', w), x='0')};")
            self.reductions[s.var] = acc
        m = self.cond(cond)
        if self.tail_mask is not None:
            m = self.mand(m, self.tail_mask)
        if self.tail_mask is None and self.t.mask == "vector":  # a true lane is -1: subtracting it counts
            counter = self._count_counter(s.var, w)
            new = self.op("sub", "uint8", w, a=counter.name, b=self.mask_as(m, 8).name)
            self.lines.append(f"{counter.name} = {new.name};")
            return
        ones = self.select(m, self.splat(literal(1, u8), u8), self.zero(u8))
        if self.tail_mask is not None:
            sums = self.op("sad", "uint8", w, a=ones.name, b=self.zero(u8).name)
            new = self.op("add", "uint64", w, a=acc.name, b=sums.name)
            self.lines.append(f"{acc.name} = {new.name};")
            return
        counter = self._count_counter(s.var, w)
        new = self.op("add", "uint8", w, a=counter.name, b=ones.name)
        self.lines.append(f"{counter.name} = {new.name};")

    def _count_counter(self, var: str, w: int) -> VVal:
        counter = self.count_bytes.get((var, self.copy))
        if counter is None:
            counter = VVal(self.fresh(f"{var}_bytes"), "uint8", w)
            self.count_bytes[(var, self.copy)] = counter
        return counter

    def _count_blocks(self, left: str, main: list[str], vf: int) -> list[str]:
        """The main loop of a byte-count reduction (`main`: `vf` elements, one add into each byte counter it
        uses): blocks of at most 255 iterations, each ending with the byte counters folded into the 64-bit sums."""
        reserve = self.strided.reserve
        u8 = ctype("uint8")
        zero = self.zero(u8)
        block = self.fresh("block")
        text = "\n".join(main)
        used = {key: b for key, b in self.count_bytes.items() if re.search(rf"\b{b.name}\b", text)}
        decls = [f"{self.ctype_of(b)} {b.name} = {zero.name};" for b in used.values()]
        flush = []
        for (var, _), b in used.items():
            acc = self.reductions[var]
            sums = self.fill(self.template("sad", "uint8", b.width), a=b.name, b=zero.name)
            flush.append(f"{acc.name} = {self.fill(self.template('add', 'uint64', acc.width), a=acc.name, b=sums)};")
        return ["/* byte counters, folded into the 64-bit sums every 255 iterations (before a counter could wrap) */",
                f"while ({left} >= {vf + reserve}) {{", *_indent(decls),
                f"    long long {block} = " + (f"({left} - {reserve}) / {vf};" if reserve else f"{left} / {vf};"),
                f"    if ({block} > 255) {block} = 255;",
                f"    for (; {block} > 0; {block}--, {left} -= {vf}) {{", *_indent(main, "        "), "    }",
                *_indent(flush), "}"]

    def madd_reduce(self, s: Reduce) -> None:
        """`acc += x * y` with x, y in int16's range: pmaddwd's pair sums added into int32 lanes (modulo
        2^32, as the scalar's int additions; masked tail lanes load as zero and add nothing)."""
        pair = _madd_pair(s)
        assert pair is not None
        self.features.add("madd")
        w = self.width("int16")
        acc = self.reductions.get(s.var) if self.copy == 0 else self.spare.get((s.var, self.copy))
        if acc is None:
            acc = VVal(self.fresh(f"{s.var}_acc" + (str(self.copy) if self.copy else "")), "int32", w)
            self.pre.append(f"{self.ctype_of(acc)} {acc.name} = {self.fill(self.template('set1', 'int32', w), x='0')};")
            if self.copy == 0:
                self.reductions[s.var] = acc
            else:
                self.spare[(s.var, self.copy)] = acc
        x, y = (self.convert(self.expr(e), "int16") for e in pair)
        sums = self.op("madd", "int16", w, a=x.name, b=y.name)
        new = self.op("add", "int32", w, a=acc.name, b=sums.name)
        self.lines.append(f"{acc.name} = {new.name};")

    def arg_reduce(self, s: ArgReduce) -> None:
        if self.loop.step != 1:
            raise Unsupported("argmin/argmax over a reverse loop")
        self.features.add("argminmax")
        index_scalar = self.loop.scalar(s.index_var)
        it = index_scalar.type if index_scalar else self.loop.iv_type
        if s.cmp in ("<=", ">=") and (it.is_float or not it.signed or it.bits < 32):
            raise Unsupported(f"argmin/argmax with a non-strict comparison (last index wins) into a {it.name} index "
                              "(its lanes start at the type's lowest value, which needs a signed 32/64-bit index)")
        t = s.type
        key = _arg_key(s)
        if s.call and key not in self.arg_values:
            self.check_fmax_argindex(s)
        lanes = self.arg_lanes if self.copy == 0 else {v: x for (v, j), x in self.spare_args.items() if j == self.copy}
        if key not in self.arg_values:
            self.arg_values[key] = self.rename(s.value_var) if s.value_var else self._value_at_index(s)
        if key not in self.arg_origins and s.cmp in ("<", ">"):
            self.arg_origins[key] = self._index_origin(s, it)
        if key not in lanes:
            suffix = str(self.copy) if self.copy else ""
            best = VVal(self.fresh(f"{s.value_var or s.index_var + '_value'}_lanes{suffix}"), t.name, self.width(t))
            where = VVal(self.fresh(f"{s.index_var}_lanes{suffix}"), it.name, self.width(it))
            self.pre.append(f"{self.ctype_of(best)} {best.name} = "
                            f"{self.fill(self.template('set1', t.name, best.width), x=self.arg_values[key])};")
            # last index wins (`>=`): a lane that never took an element holds the lowest index value, so the
            # fold can tell it from a lane that took one equal to the start value
            start = _lowest_index(it) if s.cmp in ("<=", ">=") else self.rename(s.index_var)
            self.pre.append(f"{self.ctype_of(where)} {where.name} = "
                            f"{self.fill(self.template('set1', it.name, where.width), x=start)};")
            if self.copy == 0:
                self.arg_lanes[key] = (best, where)
            else:
                self.spare_args[(key, self.copy)] = (best, where)
            lanes[key] = (best, where)
        best, where = lanes[key]
        value = self.convert(self.expr(s.value), t.name)
        index = self.convert(self.expr(s.index), it.name)
        better = self.compare(_CMP[s.cmp], value, best)
        mask = self.ctx_mask if self.tail_mask is None else (
            self.tail_mask if self.ctx_mask is None else self.mand(self.ctx_mask, self.tail_mask))
        if mask is not None:
            better = self.mand(better, mask)
        new_best = self.select(better, value, best)
        new_where = self.select(better, index, where)
        self.lines.append(f"{best.name} = {new_best.name};")
        self.lines.append(f"{where.name} = {new_where.name};")

    def check_fmax_argindex(self, s: ArgReduce) -> None:
        """`m = fmaxf(m, v); if (m == v) k = i;` runs as `v >= m` per lane, the same index for every start but a
        NaN one (fmaxf drops it for the first number): then the whole loop runs in scalar. A zero `m` keeps the
        sign the compiler's operand order gives, so when `m` can be read after the loop the check lets it differ."""
        call = s.call + ("f" if s.type.name == "float" else "")  # fmaxf / fmax: the C name the user called
        if s not in self.body:
            raise Unsupported(f"a conditional {call}() argmin/argmax (its NaN-start fallback needs every iteration)")
        assert self.left is not None
        self.pre.append(f"if ({self.rename(s.value_var)} != {self.rename(s.value_var)}) {self.left} = 0;  "
                        f"/* a NaN start: {call}() drops it for the first number, so the scalar loop runs it all */")
        if not s.value_read:
            return
        if any((isinstance(x, Store) and x.access.elem.is_float) or (isinstance(x, Reduce | ArgReduce) and x is not s
                                                                    and x.type.is_float) for x in walk_stmts(self.body)):
            raise Unsupported(f"a {call}() argmin/argmax whose best value is read after the loop, beside "
                              f"floating-point stores or reductions: the sign of its zero value is the compiler's "
                              f"choice, and a check that lets it differ would not see theirs")
        self.caveat(f"the sign of a zero {call}() result {s.value_var} is the compiler's choice (C leaves a +0/-0 "
                    f"tie open and gcc passes the operands in either order): the rewrite may keep the other zero; "
                    f"the index {s.index_var} is exact")

    def _index_origin(self, s: ArgReduce, it: CType) -> str:
        """Ties go to the earliest iteration, which the fold finds by comparing indices counted from the
        first iteration's, in the index type's unsigned width (`blockSize - blkCnt` of a walk counted down
        wraps where the iterations do not). The index must advance by a positive constant per iteration."""
        def invariant(name: str) -> bool:
            scalar = self.loop.scalar(name)
            return scalar is not None and scalar.role is ScalarRole.INVARIANT

        step = _iv_coefficient(s.index, invariant)
        if step is None or step <= 0 or it.is_float:
            raise Unsupported("argmin/argmax whose index does not advance with the iterations: the lanes' "
                              "indices cannot say which came first")
        name = self.fresh(f"{s.index_var}_origin")
        first = ScalarPrinter(f"({self.rename(self.loop.lower)})", self.rename).expr(s.index)
        self.pre.append(f"const {_unsigned_c(it)} {name} = ({_unsigned_c(it)})({first});")
        return name

    def _value_at_index(self, s: ArgReduce) -> str:
        """`if (x[i] > x[best]) best = i;` keeps no best value: a variable holding x[best], read only
        when the loop runs (the scalar loop reads it on its first iteration, not before)."""
        assert s.at_index is not None
        name = self.fresh(f"{s.index_var}_value")
        at = ScalarPrinter(self.iv, self.rename).expr(s.at_index)
        self.pre.append(f"{c_type(s.type)} {name} = ({self.rename(self.loop.trip_count)}) > 0 ? {at} : "
                        f"{literal(0, s.type)};")
        return name

    # ---- the whole loop -------------------------------------------------------------------------

    def remainder(self, printer: ScalarPrinter, left: str) -> list[str]:
        """The iterations left after a scan's vector loop, as the loop's own statements (`left`: the count)."""
        loop, iv = self.loop, self.iv
        head = f"for (; {iv} {loop.cmp} {self.rename(loop.upper)}; {iv}++) {{"
        if loop.runs_at_least_once:  # a do-while: the counted remainder, not the re-tested bound
            head = f"for (; {left} > 0; {left}--, {iv}++) {{"
        return [head, *printer.stmts(loop.body, "    "), "}"]

    def counter_start(self) -> tuple[list[str], str]:
        """The counter set to its first value and a count of the iterations left: (lines, its name)."""
        loop, iv = self.loop, self.iv
        first = f"{iv} = {self.rename(loop.lower)};"
        left = self.left = self.fresh("left")
        return [f"{c_type(loop.iv_type)} {first}" if loop.iv_declared_in_loop else first,
                f"long long {left} = (long long)({self.rename(loop.trip_count)});"], left

    def build(self) -> Lowered:
        loop = self.loop
        if loop.step == 0:
            raise Unsupported("a loop whose counter does not move")
        body = self.body
        assigned = {s.name for s in walk_stmts(body) if isinstance(s, Let)}
        # temporaries used after the loop: the last iteration always runs in the scalar remainder, so they
        # keep the value the original leaves in them
        last_values = [sc.name for sc in loop.scalars
                       if sc.role == ScalarRole.LOCAL and sc.live_out and sc.name in assigned]
        exits = [s for s in walk_stmts(body) if isinstance(s, Exit)]
        if last_values and (exits or any(isinstance(s, Carry) for s in body)):
            raise Unsupported(f"`{last_values[0]}` is used after the loop: its last value would have to come "
                              "from the last lane of a loop that may leave early or carries a value")
        # after a `break` the counter (from 0 by 1) holds the iterations run, as without one: `_moves` uses it
        if loop.moved and (any(e.kind == "return" for e in exits) or loop.step != 1 or loop.lower.strip() != "0"):
            raise Unsupported("pointers or counts the loop moves are used after it, and this loop does not count "
                              "its iterations from 0 by 1 without leaving early")
        head: tuple[Stmt, ...] = ()
        exit_stmt: Exit | None = None
        if exits:
            k = next((n for n, s in enumerate(body) if not isinstance(s, Let | Store)), len(body))
            if len(exits) > 1 or k >= len(body) or body[k] is not exits[0]:
                raise Unsupported("an early exit that is not the first statement of the loop body")
            head, exit_stmt, body = body[:k], exits[0], body[k + 1:]
            _check_stores_before_exit(head, exit_stmt)
            self.features.add("search")
        outer = frozenset(sc.name for sc in loop.scalars if sc.role == ScalarRole.LOCAL and sc.decl)
        printer = ScalarPrinter(self.iv, self.rename, outer=outer)
        for s in body:
            if isinstance(s, Step):
                if s.type.is_float:
                    raise Unsupported(f"floating-point induction `{s.var}` (lanes would round differently)")
                self.inductions[s.var] = f"({printer.expr(s.step)})"
        if loop.step < 0:
            self.features.add("reverse")
        depth = self._carries(body, exit_stmt)

        split = self._split_point(body, exit_stmt)
        if split is not None and any(isinstance(x, ArgReduce) and x.call for x in walk_stmts(body)):
            raise Unsupported("an fmaxf()/fminf() argmin/argmax in a loop vectorized in two halves")
        if last_values and split is not None:
            raise Unsupported(f"`{last_values[0]}` is used after the loop, which is vectorized in two halves")
        last = 1 if last_values else 0  # iterations kept for the scalar remainder
        vf, iv = self.vf, self.iv
        if exit_stmt is None and split is None and not self.carried:
            self.copies = max(self.accumulators(body), self.store_steps(body))
        out, left = self.counter_start()
        for decl in loop.setup:  # `end` of `while (p < end)`: the vector code counts instead
            out += [f"(void){m.group(1)};" for m in [re.search(r"(\w+)\s*=", decl)] if m]
        start = self.fresh("start")
        peel: list[str] = []
        peeled = ""
        if self.carried:  # the first iteration reads the value from before the loop: run it in scalar
            peeled = self.fresh("peeled")
            inc = f"{iv} += {loop.step};" if loop.step > 0 else f"{iv} -= {-loop.step};"
            once = [f"if ({left} > 0) {{", *printer.stmts(loop.body, "    "), f"    {inc}", f"    {left}--;", "}"]
            peel = [*once * depth, f"const {c_type(loop.iv_type)} {peeled} = {iv};"]
            for var, reg in self.carried_regs.items():  # the value the next iteration reads, in every lane
                elem = self._carried_type(var)
                vt = self.ctype_of(VVal(reg, elem, self.width(elem)))
                peel.append(f"{vt} {reg} = {self.fill(self.template('set1', elem, self.width(elem)), x=self.rename(var))};")
        self.carry_counter = exit_stmt is None and loop.step > 0  # no step leaves early: the lanes stay in step
        main = self._step(head, exit_stmt, body, tail=None)
        if self.copies == 1 and exit_stmt is None and split is None and self._short_step(main):
            self.copies = 2
        align = self._search_alignment(head, exit_stmt) if exit_stmt is not None else None
        step_text = f"{iv} += {vf * loop.step};" if loop.step > 0 else f"{iv} -= {-vf * loop.step};"
        advance = [step_text] + [f"{self.rename(v)} += {vf} * {st};" for v, st in self.inductions.items()]
        if self.counter_vector is not None:
            it = self.loop.iv_type
            by = self.splat(str(vf * loop.step), it)
            advance.append(f"{self.counter_vector.name} = "
                           f"{self.fill(self.template('add', it.name, self.counter_vector.width), a=self.counter_vector.name, b=by.name)};")
        reserve = max(self.strided.reserve, last)  # elements the scalar remainder must keep for itself
        loop_lines = [f"for (; {left} >= {vf + reserve}; {left} -= {vf}) {{", *_indent(main + advance), "}"]
        if self.count_vars:
            loop_lines = self._count_blocks(left, main + advance, vf)
        if self.copies > 1:  # the same step with accumulator copy j; the loop above then runs at most copies - 1 times
            unrolled: list[str] = []
            for copy in range(self.copies):
                self.copy = copy
                unrolled += self._step(head, exit_stmt, body, tail=None) + advance
            self.copy = 0
            span = self.copies * vf
            why = ("each into its own accumulators (they do not wait for each other)" if self.reductions or self.arg_lanes
                   else "so that each iteration stores whole registers" if self.store_steps(body) > 1
                   else "a short step: the loop's count and branch are paid once for both")
            first = (self._count_blocks(left, unrolled, span) if self.count_vars else
                     [f"for (; {left} >= {span + reserve}; {left} -= {span}) {{", *_indent(unrolled), "}"])
            loop_lines = [f"/* {self.copies} vector steps per iteration, {why} */", *first, *loop_lines]
        if align is not None and exit_stmt is not None:
            # scalar iterations until the searched array is aligned to a whole vector: from then on every
            # vector load stays inside one aligned block holding an element the scalar loop reads
            go = self.fresh("go")
            k = len(head)
            address, chunk = align
            loop_lines = [f"int {go} = 1;",
                          f"for (; {left} > 0 && ((__UINTPTR_TYPE__)(const void *){address} & {chunk - 1}) != 0; "
                          f"{left}--, {iv}++) {{",
                          *printer.stmts(loop.body[:k], "    "),
                          f"    if ({printer.expr(exit_stmt.cond)}) {{ {go} = 0; break; }}",
                          *printer.stmts(loop.body[k + 1:], "    "), "}",
                          f"if ({go})", *loop_lines]

        tail_lines: list[str] = []
        masked_tail = (self.t.tail == "masked" and exit_stmt is None and not last_values and not self.guarded
                       and not self.carried_regs)  # a register carry takes the last lane of whole steps
        if masked_tail:
            mask_t = self.t.mask_ctype(vf)
            tm = VVal(self.fresh("tail"), "int32", self.width("int32"), True)
            self.tail_mask = tm
            block = self._step(head, exit_stmt, body, tail=left)
            self.tail_mask = None
            moved = [f"{iv} += ({c_type(loop.iv_type)})({left} * {loop.step});" if loop.step > 0
                     else f"{iv} -= ({c_type(loop.iv_type)})({left} * {-loop.step});"]
            moved += [f"{self.rename(v)} += {left} * {st};" for v, st in self.inductions.items()]
            tail_lines = [f"if ({left} > 0) {{",
                          f"    const {mask_t} {tm.name} = ({mask_t})((1ULL << {left}) - 1);",
                          *_indent(block + moved), "}"]
        combine = self._combine(printer, start)
        if self.carried:  # hand the values at the start of iteration iv on to the scalar epilogue
            now = ScalarPrinter(iv, self.rename)
            for s in body:
                if isinstance(s, Carry) and s.var in self.carried_regs:  # lane 0 holds the last step's last value
                    elem = self._carried_type(s.var)
                    spill = self.fresh("spill")
                    combine.append(f"{{ {c_type(ctype(elem))} {spill}[{vf}]; "
                                   f"{self.fill(self.template('store', elem, self.width(elem)), p=spill, a=self.carried_regs[s.var])}; "
                                   f"{self.rename(s.var)} = {spill}[0]; }}")
                elif isinstance(s, Carry):
                    combine.append(f"if ({iv} != {peeled}) {self.rename(s.var)} = {now.expr(self.carried[s.var])};")
        epilogue: list[str] = []
        if not masked_tail:
            inc = {1: f"{iv}++", -1: f"{iv}--"}.get(loop.step, f"{iv} += {loop.step}")
            epilogue = [f"for (; {iv} {loop.cmp} {self.rename(loop.upper)}; {inc}) {{",
                        *printer.stmts(loop.body, "    "), "}"]
            if self.scalar_body:  # the remaining iterations, as the user wrote them
                epilogue = [f"for (; {iv} {loop.cmp} {self.rename(loop.upper)}; {inc}) {self.scalar_body[0]}",
                            *self.scalar_body[1:]]
            if loop.runs_at_least_once:  # a do-while: re-testing the bound would skip a forced first iteration
                epilogue[0] = f"for (; {left} > 0; {left}--, {inc}) {{"
        if exit_stmt is not None:
            where = (f"inside the aligned {align[1]}-byte block of the last element it checks"
                     if align is not None else "never past the loop's bound")
            self.caveat(f"reads up to {vf - 1} elements past the one where the loop stops ({where})")
        fixups = [f"const {c_type(loop.iv_type)} {start} = {iv};"] if combine and "need_start" in self.features else []
        self.features.discard("need_start")
        if split is not None:  # the same vector code over both halves; each half ends with a counted remainder
            inc = f"{iv} += {loop.step}" if loop.step > 0 else f"{iv} -= {-loop.step}"
            counted = [] if masked_tail else [f"for (; {left} > 0; {left}--, {inc}) {{",
                                               *printer.stmts(loop.body, "    "), "}"]
            rest = self.fresh("rest")
            vector = [*loop_lines, *tail_lines]
            if self.counter_init:  # set up again in each half (the scalar iterations between move the counter)
                vector = ["{", *_indent([*self.counter_init, *vector]), "}"]
            half = [*vector, *counted]
            out[-1] = (f"long long {rest} = (long long)({self.rename(loop.trip_count)}), "
                       f"{left} = {split} < 0 ? 0 : {split} > {rest} ? {rest} : {split};")
            code = [*out, *self.pre, f"{rest} -= {left};", *half, f"{left} = {rest};", *self.forward_resets, *half,
                    *self._moves()]
            return Lowered(code, vf, tuple(self.caveats), frozenset(self.features))
        code = [*out, *self.pre, *peel, *fixups, *self.counter_init, *loop_lines, *tail_lines, *combine, *epilogue,
                *self._moves()]
        return Lowered(code, vf, tuple(self.caveats), frozenset(self.features))

    def _carries(self, body: tuple[Stmt, ...], exit_stmt: Exit | None) -> int:
        """Each carried scalar's value as an expression of the iteration that reads it; returns how many
        first iterations read a value from before the loop (2 for `im2 = im1; im1 = i;`: peeled)."""
        carries = [(n, s) for n, s in enumerate(body) if isinstance(s, Carry)]
        if carries and exit_stmt is not None:
            raise Unsupported("a carried value in a loop with an early exit")
        at = {s.var: n for n, s in carries}
        lets = _plain_temporaries(body, {s.var for _, s in carries})
        depth: dict[str, int] = {}
        for n, s in reversed(carries):  # `im2 = im1; im1 = i;`: im1 is resolved first
            source = _bare_var(s.value)
            if source is not None and source in at:
                if at[source] < n or source not in self.carried:
                    raise Unsupported(f"`{s.var}` is carried from `{source}` after `{source}` is reassigned")
                # im2 is what im1 held one iteration earlier: a two-deep wrap-around
                self.carried[s.var] = _shift(self.carried[source], self.loop, self.stored_roots, s.var)
                depth[s.var] = depth[source] + 1
            else:
                earlier = _before(lets, body, n)
                try:
                    self.carried[s.var] = _shift(s.value, self.loop, self.stored_roots, s.var, earlier)
                except Unsupported:
                    value = _inline(s.value, earlier)
                    why = _overwritten_read(value, body, n, self.loop)
                    if why is not None:
                        raise Unsupported(f"`{s.var}` is carried from {why}") from None
                    self.carried[s.var] = value  # computed at the top of each step, moved up one lane
                    self.carried_regs[s.var] = self.fresh(f"{s.var}_carry")
                depth[s.var] = 1
            self.features.add("peel")
        return max(depth.values(), default=0)

    def carried_affine(self, a: Access) -> Access | None:
        """`x[im1 + c]` with im1 carrying the counter: the contiguous access `x[i - 1 + c]`."""
        idx, off = a.index, 0
        if isinstance(idx, Binary) and idx.op in ("+", "-") and isinstance(idx.rhs, Const) \
                and isinstance(idx.rhs.value, int):
            off, idx = (idx.rhs.value if idx.op == "+" else -idx.rhs.value), idx.lhs
        name = _bare_var(idx) if idx is not None else None
        if name is None or name not in self.carried:
            return None
        value = self.carried[name]
        while isinstance(value, Binary) and value.op in ("+", "-") and isinstance(value.rhs, Const) \
                and isinstance(value.rhs.value, int):
            off += value.rhs.value if value.op == "+" else -value.rhs.value
            value = value.lhs
        if not isinstance(value, IV):
            return None
        return Access(a.root, a.base, a.elem, 1, off, a.symbolic, None, a.span)

    def _moves(self) -> list[str]:
        """Leave walking pointers and counts where the original loop leaves them: the vector code indexes
        off their entry values, and the counter (from 0 by 1) now holds the number of iterations run."""
        out = []
        for mv in self.loop.moved:
            runs = self.iv if mv.every == 1 else f"({self.iv} / {mv.every})"
            extra = f" + ({mv.extra})" if mv.extra else ""
            out.append(f"{self.rename(mv.name)} += ({mv.per_iteration}) * {runs}{extra};")
        return out

    def _search_alignment(self, head: tuple[Stmt, ...], exit_stmt: Exit) -> tuple[str, int] | None:
        """(address of the searched element, vector bytes) when the exit test reads one array at one
        offset, so that aligned steps never read beyond the block of an element the scalar loop reads."""
        if self.loop.step != 1:
            return None
        exprs = [exit_stmt.cond, *(s.value for s in head if isinstance(s, Let))]
        loads = {access_key(x.access): x.access for e in exprs for x in walk_exprs(e) if isinstance(x, Load)}
        if len(loads) != 1:
            return None
        a = next(iter(loads.values()))
        if a.coeff != 1:
            return None
        return self.address(a).replace(self.base, self.iv, 1), self.width(a.elem) // 8

    def _split_point(self, body: tuple[Stmt, ...], exit_stmt: Exit | None) -> str | None:
        """For `a[i] = a[k] + ...` (a[k] read while the loop writes a): how many iterations read the old
        a[k] (C text), so the loop can run as two halves in which a[k] is invariant; for `x = a[k - i] ...;
        a[i] = x;` how many iterations come before the walks cross (the first half reads elements not written
        yet, the second only elements the first wrote). None if no such read."""
        loop = self.loop
        fixed = [x.access for st in walk_stmts(body) for e in _stmt_exprs(st) for x in walk_exprs(e)
                 if isinstance(x, Load) and x.access.coeff in (0, -1) and x.access.root in self.stored_roots
                 and access_key(x.access) not in self.apart]
        if not fixed:
            return None
        if loop.inner is not None:
            raise Unsupported("an element the nest writes is read at a fixed index: the halves would need the "
                              "inner loop in their scalar part")
        crossing = fixed[0].coeff == -1
        what = (f"{fixed[0].base}[...] read backwards while the loop writes it forwards" if crossing else
                f"{fixed[0].base}[...] read at a fixed index while the loop writes it")
        if exit_stmt is not None or abs(loop.step) != 1 or any(
                isinstance(st, Reduce | ArgReduce | Carry | Step | Pack | Expand) for st in walk_stmts(body)):
            raise Unsupported(f"{what}, together with a reduction, exit or carried value")
        if len({(a.root, a.base, a.offset, a.symbolic, a.coeff) for a in fixed}) != 1:
            raise Unsupported(f"{what}, at more than one index")
        a = fixed[0]
        stores = [st.access for st in walk_stmts(body) if isinstance(st, Store) and st.access.root == a.root]
        if len({(x.coeff, x.base, x.offset, x.symbolic) for x in stores}) != 1 or stores[0].coeff != 1 \
                or stores[0].base != a.base or (crossing and loop.step != 1):
            raise Unsupported(f"{what}, stored in a way simdlens cannot split at")
        self.split_roots.add(a.root)
        self.features.add("split")
        st = stores[0]

        def index(x: Access) -> str:
            return f"{x.offset}" + (f" + ({self.rename(x.symbolic)})" if x.symbolic else "")

        lower = f"({self.rename(loop.lower)})"
        if crossing:  # iterations i >= lower with k - i >= i + o (read at or after the element written)
            room = f"((long long)({index(a)}) - (long long)({index(st)}) - 2 * (long long){lower})"
            return f"(({room} + 2) / 2)"  # C's division truncates: no iteration when room < 0
        writer = f"({index(a)} - ({index(st)}))"  # the iteration that writes a[k] (and reads it last)
        count = f"({writer} - {lower} + 1)" if loop.step > 0 else f"({lower} - {writer} + 1)"
        return f"((long long){count})"

    def _step(self, head: tuple[Stmt, ...], exit_stmt: Exit | None, body: tuple[Stmt, ...],
              tail: str | None) -> list[str]:
        """The lines of one vector step (all VF lanes, or the first `tail` lanes under the tail mask)."""
        self.block = _Block()
        self.lines = []
        lines = self.lines
        if self.loop.step < 0:
            lanes = f"({tail} - 1)" if tail else str(self.vf - 1)
            span = f"{lanes} * {-self.loop.step}"
            self.base = self.fresh("base")
            lines.append(f"const {c_type(self.loop.iv_type)} {self.base} = {self.iv} - ({span});")
        else:
            self.base = self.iv
        # stores before the exit happen only in steps no lane leaves: the exit test comes first, and a step
        # holding the exit lane is redone by the scalar loop, which stores exactly the lanes up to it
        stores_first = tuple(s for s in head if isinstance(s, Store))
        self.statements(tuple(s for s in head if not isinstance(s, Store)))
        if exit_stmt is not None:
            m = self.cond(exit_stmt.cond)
            bits = self.fresh("bits")
            lines.append(f"unsigned long long {bits} = {self.fill(self.template('mbits', m.elem, m.width), m=m.name)}"
                         f" & {hex((1 << self.vf) - 1)}ULL;")
            if stores_first:
                lines.append(f"if ({bits}) break;")
                self.features.add("stores_before_exit")
            elif not body:  # nothing else happens in these iterations: jump to the exiting one
                lane = f"__builtin_ctzll({bits})" if self.loop.step > 0 else f"(63 - __builtin_clzll({bits}))"
                found = f"{self.base} + {lane}" + (f" * {abs(self.loop.step)}" if abs(self.loop.step) != 1 else "")
                lines.append(f"if ({bits}) {{ {self.iv} = {found}; break; }}")
            else:  # the scalar loop redoes this step and stops where the source stops
                lines.append(f"if ({bits}) break;")
        self.statements(stores_first)
        moves = self._carried_registers()
        order, preload = schedule(body, self.loop.step, self._invariant)
        for st in body:  # loads that must see the memory as it was before this step's stores
            for a in _memory(st)[0]:
                if access_key(a) in preload and access_key(a) not in self.block.preloaded:
                    self.block.preloaded[access_key(a)] = self.load(a)
        self.statements(order)
        lines += moves
        for key, reg in self.forwards.items():  # the next step's element before its first lane
            if key in self.block.stored and tail is None:
                v = self.block.stored[key]
                lines.append(f"{reg} = {self.fill(self.template('last_lane', v.elem, v.width), a=v.name)};")
        return lines

    def _carried_registers(self) -> list[str]:
        """Each register-carried scalar's lanes for this step: its value at this step's iterations (computed
        before any store: they read elements the step overwrites), moved up one lane with the previous step's
        last value in lane 0. Returns the lines that carry this step's last value into the next step."""
        moves = []
        for var, reg in self.carried_regs.items():
            elem = self._carried_type(var)
            width = self.width(elem)
            now = self.convert(self.expr(self.carried[var]), elem)
            self.block.env[var] = self.op("scan_shift1", elem, width, a=now.name, b=reg, hint=var)
            moves.append(f"{reg} = {self.fill(self.template('last_lane', elem, width), a=now.name)};")
        return moves

    def _carried_type(self, var: str) -> str:
        sc = self.loop.scalar(var)
        return sc.type.name if sc is not None else expr_type(self.carried[var]).name

    def _combine(self, printer: ScalarPrinter, start: str) -> list[str]:
        """Fold the lanes of each reduction into the scalar variable, in C, with the loop's own operators."""
        out: list[str] = []
        vf = self.vf
        reduces = {s.var: s for s in walk_stmts(self.body) if isinstance(s, Reduce)}
        out += self._merge_copies(reduces)
        out += self._merge_arg_copies()
        for var, acc in self.reductions.items():
            s = reduces[var]
            t = s.type
            wide = {"sad": "uint64", "madd": "int32"}.get(
                "sad" if var in self.sad_vars or var in self.count_vars else "madd" if var in self.madd_vars else "")
            folded = self._vector_fold(acc, s, op="add") if wide is not None else None
            if folded is not None:  # the uint64 / int32 lane sums, added modulo 2^bits like the scalar's additions
                lines, top = folded
                unsigned = "unsigned long long" if wide == "uint64" else "unsigned"
                out += ["{", *_indent(lines), f"    {self.rename(var)} = ({c_type(t)})(({unsigned}){self.rename(var)} "
                        f"+ ({unsigned}){top});", "}"]
                continue
            if var in self.sad_vars or var in self.count_vars:  # sum the uint64 lanes, then add modulo 2^bits
                lanes, k, total = self.fresh(f"{var}_lane"), self.fresh("k"), self.fresh(f"{var}_total")
                n = acc.width // 64
                store = self.fill(self.template("store", "uint64", acc.width), p=lanes, a=acc.name)
                name = self.rename(var)
                out += [f"{{ unsigned long long {lanes}[{n}], {total} = 0; {store};",
                        f"  for (int {k} = 0; {k} < {n}; {k}++) {total} += {lanes}[{k}];",
                        f"  {name} = ({c_type(t)})((unsigned long long){name} + {total}); }}"]
                continue
            lanes, k, name = self.fresh(f"{var}_lane"), self.fresh("k"), self.rename(var)
            count = acc.width // ctype(acc.elem).bits  # vf, or vf / 2 for pmaddwd's pair sums
            if var in self.madd_vars:  # int32 pair sums, added modulo 2^bits like the scalar's additions
                store = self.fill(self.template("store", "int32", acc.width), p=lanes, a=acc.name)
                out += [f"{{ int {lanes}[{count}]; {store};",
                        f"  for (int {k} = 0; {k} < {count}; {k}++) {name} = ({c_type(t)})((unsigned){name} "
                        f"+ (unsigned){lanes}[{k}]); }}"]
                continue
            reassociated = t.is_float and s.op in (ReduceOp.ADD, ReduceOp.MUL)  # per-lane partial sums already
            folded = self._vector_fold(acc, s) if not t.is_float or reassociated else None
            if folded is not None:  # halves and shifts in registers: no spill, no lane loop
                lines, top = folded
                if s.op in (ReduceOp.MIN, ReduceOp.MAX):
                    seen = f"{self.iv} != {start} && " if var in self.narrowed else ""
                    lines.append(f"if ({seen}{top} {s.cmp} {name}) {name} = {top};")
                else:
                    lines.append(f"{name} = {name} {s.op.value} {top};")
                out += ["{", *_indent(lines), "}"]
                continue
            store = self.fill(self.template("store", t.name, acc.width), p=lanes, a=acc.name)
            if s.op in (ReduceOp.MIN, ReduceOp.MAX):
                fold = f"if ({lanes}[{k}] {_lane_cmp(s)} {name}) {name} = {lanes}[{k}];"
                if var in self.narrowed:  # lanes that saw no element hold the identity, which m must not meet
                    top, above = self.fresh(f"{var}_best"), ">" if s.op == ReduceOp.MAX else "<"
                    out += [f"{{ {c_type(t)} {lanes}[{vf}]; {store}; {c_type(t)} {top} = {lanes}[0];",
                            f"  for (int {k} = 0; {k} < {vf}; {k}++) {top} = {lanes}[{k}] {above} {top} ? "
                            f"{lanes}[{k}] : {top};  /* branch-free: the compiler vectorizes it */",
                            f"  if ({self.iv} != {start} && {top} {s.cmp} {name}) {name} = {top}; }}"]
                    continue
            else:
                op = "-" if s.op == ReduceOp.SUB else s.op.value
                fold = f"{name} = {name} {op} {lanes}[{k}];"
            out += [f"{{ {c_type(t)} {lanes}[{vf}]; {store};",
                    f"  for (int {k} = 0; {k} < {vf}; {k}++) {fold} }}"]
            if s.cmp in ("fmin", "fmax"):
                out += self._rerun_fixup(s, start)
            elif t.is_float and s.op in (ReduceOp.MIN, ReduceOp.MAX):
                out += self._zero_fixup(s, printer, start)
        arg_copies = [(v, x) for v, x in self.arg_lanes.items()]
        arg_copies += [(v, x) for (v, _), x in sorted(self.spare_args.items(), key=lambda kv: kv[0][1])]
        taken: dict[str, str] = {}  # whether the fold has taken a lane yet (last index wins; `also` variables)
        for key, (best, where) in arg_copies:  # the fold takes the best value, then the lowest index
            ar = next(x for x in walk_stmts(self.body) if isinstance(x, ArgReduce) and _arg_key(x) == key)
            it = ctype(where.elem)
            b, i = self.arg_values[key], self.rename(ar.index_var)
            bv, bi, k = self.fresh(f"{b}_lane"), self.fresh(f"{ar.index_var}_lane"), self.fresh("k")
            if key not in taken and (ar.cmp in ("<=", ">=") or ar.also):
                taken[key] = self.fresh(f"{ar.index_var}_taken")
                out.append(f"int {taken[key]} = 0;")
            mark = f" {taken[key]} = 1;" if key in taken else ""
            if ar.cmp in ("<=", ">="):  # the best value, then the highest index of a lane that took an element
                got, strict = taken[key], ar.cmp[0]
                out += [f"{{ {c_type(ar.type)} {bv}[{vf}]; {c_type(it)} {bi}[{vf}];",
                        f"  {self.fill(self.template('store', ar.type.name, best.width), p=bv, a=best.name)};",
                        f"  {self.fill(self.template('store', it.name, where.width), p=bi, a=where.name)};",
                        f"  for (int {k} = 0; {k} < {vf}; {k}++)",
                        f"    if ({bi}[{k}] != {_lowest_index(it)} && ({bv}[{k}] {strict} {b} || ({bv}[{k}] == {b} && "
                        f"(!{got} || {bi}[{k}] > {i})))) {{ {b} = {bv}[{k}]; {i} = {bi}[{k}]; {got} = 1; }} }}"]
                continue
            origin, u = self.arg_origins[key], _unsigned_c(it)
            out += [f"{{ {c_type(ar.type)} {bv}[{vf}]; {c_type(it)} {bi}[{vf}];",
                    f"  {self.fill(self.template('store', ar.type.name, best.width), p=bv, a=best.name)};",
                    f"  {self.fill(self.template('store', it.name, where.width), p=bi, a=where.name)};",
                    f"  for (int {k} = 0; {k} < {vf}; {k}++)",
                    f"    if ({bv}[{k}] {ar.cmp} {b} || ({bv}[{k}] == {b} && ({u})({bi}[{k}] - {origin}) < "
                    f"({u})({i} - {origin}))) {{ {b} = {bv}[{k}]; {i} = {bi}[{k}];{mark} }} }}"]
        done: set[str] = set()
        for key, _lanes in arg_copies:  # `xindex = i;` beside the moving index: set when a lane won
            ar = next(x for x in walk_stmts(self.body) if isinstance(x, ArgReduce) and _arg_key(x) == key)
            if ar.also and key not in done:
                done.add(key)
                sets = " ".join(f"{self.rename(v)} = {printer.expr(e)};" for v, e in ar.also)
                out.append(f"if ({taken[key]}) {{ {sets} }}")
        return out

    def _vector_fold(self, acc: VVal, s: Reduce, op: str | None = None) -> tuple[list[str], str] | None:
        """The lanes of an accumulator combined with its own operation (`op`: the lanes' own sum for psadbw /
        pmaddwd lanes): exact for integer min, max, wrapping add and the bit operations (associative), a
        reassociation for float sums and products (already made per lane). The lines, and the C name of
        the result; None when the table lacks a step (the caller spills and folds in C)."""
        op = op or {ReduceOp.MIN: "min", ReduceOp.MAX: "max", ReduceOp.ADD: "add", ReduceOp.AND: "and",
                    ReduceOp.OR: "or", ReduceOp.XOR: "xor", ReduceOp.MUL: "mul"}.get(s.op)
        elem, bits = acc.elem, ctype(acc.elem).bits
        if op is None or (elem != s.type.name and op != "add"):
            return None
        w, steps = acc.width, []
        while w > bits:
            half = w // 2
            needed = ["fold_half", op] + (["fold_low"] if w > 128 else [])
            if any(self.t.op(x, elem, w if x.startswith("fold") else max(half, 128)) is None for x in needed):
                return None
            steps.append(w)
            w = half
        if self.t.op("lane0", elem, 128) is None:
            return None
        saved, self.lines = self.lines, []
        v = acc
        for w in steps:
            half = w // 2
            out = max(half, 128)  # the register the half lives in
            hi = self.emit(self.fill(self.template("fold_half", elem, w), a=v.name, x=str(half // 8)), elem, out, hint="hi")
            lo = self.emit(self.fill(self.template("fold_low", elem, w), a=v.name), elem, out, hint="lo") if w > 128 else v
            v = self.op(op, elem, out, hint="fold", a=lo.name, b=hi.name)
        top, lane = self.fresh(f"{s.var}_top"), c_type(ctype(elem))
        self.lines.append(f"{lane} {top} = ({lane}){self.fill(self.template('lane0', elem, 128), a=v.name)};")
        lines, self.lines = self.lines, saved
        return lines, top

    def _merge_copies(self, reduces: dict[str, Reduce]) -> list[str]:
        """Fold accumulator copies 1.. into copy 0, vector by vector, with the reduction's own operation
        (min/max: the loop's comparison and a blend, so NaN and ties behave as in the lane fold)."""
        saved, self.lines = self.lines, []
        for (var, _), spare in sorted(self.spare.items(), key=lambda kv: kv[0][1]):
            acc, s = self.reductions[var], reduces[var]
            if var in self.sad_vars:
                new = self.op("add", "uint64", acc.width, a=acc.name, b=spare.name)
            elif s.op in (ReduceOp.MIN, ReduceOp.MAX):
                minmax = "max" if s.op == ReduceOp.MAX else "min"
                if not s.type.is_float and self.t.op(minmax, acc.elem, acc.width) is not None:
                    new = self.op(minmax, acc.elem, acc.width, a=acc.name, b=spare.name)
                else:
                    new = self.select(self.compare(_CMP[_lane_cmp(s)], spare, acc), spare, acc)
            else:
                name = {"+": "add", "-": "add", "*": "mul", "&": "and", "|": "or", "^": "xor"}[s.op.value]
                new = self.op(name, acc.elem, acc.width, a=acc.name, b=spare.name)
            self.lines.append(f"{acc.name} = {new.name};")
        merged, self.lines = self.lines, saved
        return merged

    def _merge_arg_copies(self) -> list[str]:
        """Fold argmin/argmax copies 1.. into copy 0 vector by vector with the lane fold's own rule (better, or
        equal and earlier: the index counted from the first iteration's, unsigned), so one lane fold of vf
        lanes runs after the loop, not one per copy (per row, in a matrix's row loop). First index wins only."""
        saved, self.lines = self.lines, []
        origins: dict[str, VVal] = {}
        for (key, copy), (best, where) in sorted(self.spare_args.items(), key=lambda kv: kv[0][1]):
            ar = next(x for x in walk_stmts(self.body) if isinstance(x, ArgReduce) and _arg_key(x) == key)
            it, w = ctype(where.elem), where.width
            u = f"uint{it.bits}"
            if ar.cmp not in ("<", ">") or it.is_float or self.t.op("sub", it.name, w) is None or not any(
                    self.t.op(op, u, w) is not None for op in ("lt", "gt")):
                continue
            best0, where0 = self.arg_lanes[key]
            if key not in origins:
                origins[key] = self.splat_here(self.arg_origins[key], it)
            origin = origins[key]
            since = [self.op("sub", it.name, w, a=x.name, b=origin.name) for x in (where, where0)]
            earlier = self.compare("lt", VVal(since[0].name, u, w), VVal(since[1].name, u, w))
            tie = self.mand(self.compare("eq", best, best0), earlier)
            take = self.mor(self.compare(_CMP[ar.cmp], best, best0), tie)
            new_best, new_where = self.select(take, best, best0), self.select(take, where, where0)
            self.lines += [f"{best0.name} = {new_best.name};", f"{where0.name} = {new_where.name};"]
            del self.spare_args[(key, copy)]
        merged, self.lines = self.lines, saved
        return merged

    def _zero_fixup(self, s: Reduce, printer: ScalarPrinter, start: str) -> list[str]:
        """Lanes cannot tell +0 from -0 apart in order; when the result is a zero, find the scalar's one."""
        if self.ctx_or_guarded(s):
            raise Unsupported("a conditional floating-point min/max reduction")
        lets = {x.name: x.value for x in self.body if isinstance(x, Let)}
        k = self.fresh("k")
        scan = ScalarPrinter(k, self.rename, inline=lets)
        value = scan.expr(s.value)
        name, t = self.rename(s.var), c_type(s.type)
        init = self.fresh(f"{s.var}_init")
        self.pre.append(f"const {t} {init} = {name};")
        self.features.add("need_start")
        step = f" += {self.loop.step}"
        strict = s.cmp in ("<", ">")
        take = f"{{ {name} = {k}_v; break; }}" if strict else f"{name} = {k}_v;"
        guard = f"{name} == 0 && !({init} == 0)" if strict else f"{name} == 0"
        return [f"if ({guard}) {{",
                f"    for ({c_type(self.loop.iv_type)} {k} = {start}; {k} != {self.iv}; {k}{step}) {{",
                f"        {t} {k}_v = {value};",
                f"        if ({k}_v == 0) {take}",
                "    }", "}"]

    def _rerun_fixup(self, s: Reduce, start: str) -> list[str]:
        """fmaxf/fminf: the lanes' `value > acc ? value : acc` is the running max (equal non-zero floats have
        equal bits; NaN elements are skipped either way) unless the start is NaN, which fmaxf drops for the
        first number: then the user's own call re-runs over the vector part."""
        k = self.fresh("k")
        lets = {x.name: x.value for x in self.body if isinstance(x, Let)}
        rerun = ScalarPrinter(k, self.rename, inline=lets).stmt(s, " " * 8)
        name, t = self.rename(s.var), c_type(s.type)
        init = self.fresh(f"{s.var}_init")
        self.pre.append(f"const {t} {init} = {name};")
        self.features.add("need_start")
        return [f"if ({init} != {init}) {{  /* a NaN start: fmaxf drops it for the first number */",
                f"    {name} = {init};",
                f"    for ({c_type(self.loop.iv_type)} {k} = {start}; {k} != {self.iv}; {k} += {self.loop.step}) {{",
                *rerun, "    }", "}"]

    def ctx_or_guarded(self, s: Reduce) -> bool:
        return s not in self.body

    # ---- inductions ------------------------------------------------------------------------------

    def induction_value(self, var: str, t: CType) -> VVal:
        """`var` inside a step: lane k sees var + k*step, plus one step once its Step statement ran."""
        step = self.inductions[var]
        lanes = self.op("add", t.name, self.width(t), a=self.splat_here(self.rename(var), t).name,
                        b=self.iota(t, step).name)
        if var in self.block.stepped:
            lanes = self.op("add", t.name, self.width(t), a=lanes.name, b=self.splat(step, t).name)
        return lanes

    def caveat(self, text: str) -> None:
        if text not in self.caveats:
            self.caveats.append(text)


# --------------------------------------------------------------------------------------------------
# Analysis helpers over the IR
# --------------------------------------------------------------------------------------------------


def _lane_cmp(s: Reduce) -> str:
    """The comparison a min/max reduction's lanes and lane fold use: `value > acc` (`<`) keeps the running
    value on a NaN element, as fmaxf/fminf do (a NaN start is `_rerun_fixup`'s)."""
    return {"fmax": ">", "fmin": "<"}.get(s.cmp, s.cmp)


def _check_stores_before_exit(head: tuple[Stmt, ...], exit_stmt: Exit) -> None:
    """The exit test is computed before the stores that precede it in the source: it must not read
    what they write (nor may the temporaries it uses)."""
    stored = {s.access.root for s in head if isinstance(s, Store)}
    if not stored:
        return
    read = {x.access.root for e in (exit_stmt.cond, *(s.value for s in head if isinstance(s, Let)))
            for x in walk_exprs(e) if isinstance(x, Load)}
    if stored & read:
        raise Unsupported(f"the exit test reads {', '.join(sorted(stored & read))}, which the loop stores to "
                          "before it")
    rewritten = {x.access.root for s in head if isinstance(s, Store) for x in walk_exprs(s.value) if isinstance(x, Load)}
    if stored & rewritten:  # the scalar loop may run the exit iteration's stores twice: they must not accumulate
        raise Unsupported(f"a store before the exit reads {', '.join(sorted(stored & rewritten))}, which the loop "
                          "stores to")
    if any(isinstance(s, Let) and n > next(k for k, x in enumerate(head) if isinstance(x, Store))
           for n, s in enumerate(head)):
        raise Unsupported("a temporary computed after a store that precedes the exit")


def _stmt_names(s: Stmt) -> set[str]:
    """The variables a statement (and any nested in it) reads or assigns."""
    names: set[str] = set()
    for st in walk_stmts((s,)):
        names |= {x for e in _stmt_exprs(st) for x in _names_in(e)}
        names |= {v for f in ("name", "var", "index_var") if isinstance(v := getattr(st, f, None), str)}
        access = getattr(st, "access", None)
        if isinstance(access, Access) and isinstance(access.index, Expr):
            names |= _names_in(access.index)
    return names


def _stmt_exprs(s: Stmt) -> Iterator[Expr]:
    if isinstance(s, Store | Let | Reduce | Carry | LastValue | Hold):
        yield s.value
    elif isinstance(s, Running):
        yield s.value
        if s.factor is not None:
            yield s.factor
    elif isinstance(s, ArgReduce):
        yield s.value
        yield s.index
    elif isinstance(s, Step):
        yield s.step
    elif isinstance(s, If | Exit):
        yield s.cond
        if isinstance(s, Exit) and s.value is not None:
            yield s.value
    elif isinstance(s, Pack):
        yield s.cond
        yield s.value
    elif isinstance(s, Expand):
        yield s.cond
        if s.fill is not None:
            yield s.fill


def _identifiers(loop: LoopIR) -> set[str]:
    names: set[str] = {loop.iv}
    texts = [loop.lower, loop.upper, loop.trip_count]
    for s in walk_stmts(loop.body):
        for e in _stmt_exprs(s):
            for x in walk_exprs(e):
                if isinstance(x, Var):
                    names.add(x.name)
                if isinstance(x, Load):
                    texts += [x.access.base, x.access.symbolic]
        if isinstance(s, Let | Reduce | Step | Carry | LastValue | Running | Hold):
            names.add(s.name if isinstance(s, Let) else s.var)
        if isinstance(s, Store):
            texts += [s.access.base, s.access.symbolic]
        if isinstance(s, Expand):
            names.add(s.counter)
            texts += [s.src.base, s.dst.base, s.dst.symbolic]
    for text in texts:
        names.update(re.findall(r"[A-Za-z_]\w*", text))
    names.update(a.root for a in loop.arrays)
    names.update(s.name for s in loop.scalars)
    return names


def _unconditional_accesses(body: tuple[Stmt, ...]) -> set[tuple[str, str, int, str]]:
    """Accesses every iteration performs: reading them for all lanes is not speculative."""
    keys: set[tuple[str, str, int, str]] = set()
    for s in body:
        if isinstance(s, Store):
            keys.add(access_key(s.access))
        if isinstance(s, If) and s.else_:  # what both branches do, the iteration does
            keys |= _unconditional_accesses(s.then) & _unconditional_accesses(s.else_)
        if isinstance(s, If | Exit | Expand):  # an expand's fill is read only where its condition fails
            keys |= _sure_reads(s.cond)
        elif not isinstance(s, Pack):
            for e in _stmt_exprs(s):
                keys |= _sure_reads(e)
    return keys


def _sure_reads(e: Expr) -> set[tuple[str, str, int, str]]:
    """The loads evaluating `e` surely performs (not those behind `&&`, `||` or only one side of `?:`)."""
    if isinstance(e, Load):
        return {access_key(e.access)} | (_sure_reads(e.access.index) if e.access.index is not None else set())
    if isinstance(e, Unary | Cast):
        return _sure_reads(e.operand)
    if isinstance(e, Binary):
        return _sure_reads(e.lhs) | (_sure_reads(e.rhs) if e.op not in ("&&", "||") else set())
    if isinstance(e, Select):
        return _sure_reads(e.cond) | (_sure_reads(e.then) & _sure_reads(e.else_))
    if isinstance(e, Call):
        return {k for a in e.args for k in _sure_reads(a)}
    return set()


def _min_max(e: Select) -> Expr | None:
    """`x > K ? K : o` as min(K, o) and `x < K ? K : o` as max(K, o), where o is x or the other bound's
    `x < L ? L : x` (L <= K): the table's min is `a < b ? a : b` (max: `a > b ? a : b`), the very C
    expression, NaN and signed zeros included; `>=`/`<=` only where equality cannot tell K from x (an
    integer, or K != 0)."""
    side = _bound_of(e)
    if side is None:
        return _pick(e)
    kind, k, x, other = side
    t = e.type
    if not _same_expr(other, x):
        inner = _bound_of(other) if isinstance(other, Select) else None
        if inner is None or inner[0] == kind or not _same_expr(inner[2], x) or not _same_expr(inner[3], x):
            return None  # only the other bound's clamp of the same x
        lo, hi = (inner[1], k) if kind == "hi" else (k, inner[1])
        if not lo <= hi:
            return None
    return Binary("min" if kind == "hi" else "max", Const(k, t, literal(k, t)), other, t)


def _pick(e: Select) -> Expr | None:
    """`x > y ? x : y` as max(x, y) and `x < y ? x : y` as min(x, y) (either arm order): the table's max is
    `a > b ? a : b`, min `a < b ? a : b`, exactly (NaN and equal floats give b); `>=`/`<=` for integers,
    where equal values are the same value."""
    c, t = e.cond, e.type
    if not isinstance(c, Binary) or c.op not in ("<", "<=", ">", ">=") or expr_type(c.lhs).name != t.name \
            or expr_type(c.rhs).name != t.name or (c.op in ("<=", ">=") and t.is_float):
        return None
    x, y = c.lhs, c.rhs
    if _same_expr(e.then, x) and _same_expr(e.else_, y):  # x > y ? x : y
        return Binary("max" if c.op in (">", ">=") else "min", x, y, t)
    if _same_expr(e.then, y) and _same_expr(e.else_, x) and not t.is_float:  # x > y ? y : x (ties: same value)
        return Binary("min" if c.op in (">", ">=") else "max", x, y, t)
    return None


def _clamp(e: Expr) -> tuple[int | float, int | float, Expr] | None:
    """(L, H, x) for x clamped to [L, H] by two constant bounds: `x < L ? L : x > H ? H : x` (any order)
    or `min(max(x, L), H)` (the saturate pass's form)."""
    if isinstance(e, Select):
        outer = _bound_of(e)
        inner = _bound_of(outer[3]) if outer is not None and isinstance(outer[3], Select) else None
        if outer is None or inner is None or outer[0] == inner[0]:
            return None
        if _same_expr(outer[2], outer[3]) and _same_expr(inner[2], inner[3]):  # `m > L ? m : L`, m x's other bound
            x = inner[2]
        elif _same_expr(inner[2], outer[2]) and _same_expr(inner[3], outer[2]):
            x = outer[2]
        else:
            return None
        lo, hi = sorted((outer[1], inner[1]))
        return (lo, hi, x) if lo <= hi else None
    if isinstance(e, Binary) and e.op in ("min", "max"):
        k, other = (e.lhs, e.rhs) if isinstance(e.lhs, Const) else (e.rhs, e.lhs)
        if not isinstance(k, Const) or not isinstance(other, Binary) or other.op not in ("min", "max") \
                or other.op == e.op:
            return None
        k2, x = (other.lhs, other.rhs) if isinstance(other.lhs, Const) else (other.rhs, other.lhs)
        if not isinstance(k2, Const) or isinstance(x, Const):
            return None
        lo, hi = (k.value, k2.value) if e.op == "max" else (k2.value, k.value)
        return (lo, hi, x) if lo <= hi else None
    return None


def _narrowing_clamp(s: Stmt) -> Expr | None:
    """The source x of `dst[i] = clamp(x, dst's range)` with x a wider signed integer (the narrower value an
    int clamp widened, `(int)src[i]` of an int16, when there is one): one saturating pack stores it."""
    if not isinstance(s, Store) or s.access.elem.is_float:
        return None
    t = s.access.elem
    cast = isinstance(s.value, Cast)
    clamp = _clamp(s.value.operand if isinstance(s.value, Cast) else s.value)
    if clamp is None or (cast and expr_type(s.value).is_float):
        return None
    lo, hi, x = clamp
    narrower = _narrow_source(x)
    if narrower is not None and expr_type(narrower).signed and expr_type(narrower).bits > t.bits:
        x = narrower  # `(int)src[i]` of an int16: packed from its own 16-bit lanes
    xt = expr_type(x)
    if xt.is_float or not xt.signed or xt.bits <= t.bits or (lo, hi) != _int_range(t):
        return None
    return x


def _narrowing_conversion(s: Stmt) -> Expr | None:
    """The source of `dst[i] = (T)x` with x a wider integer, or a float as wide as int32 (converted to int32 first,
    as C's conversion truncates toward zero): the store keeps the low bits of each value."""
    if not isinstance(s, Store) or s.access.elem.is_float or not isinstance(s.value, Cast):
        return None
    x, t = s.value.operand, s.access.elem
    xt = expr_type(x)
    if xt.is_float:
        return Cast(x, ctype("int32"), implicit=True) if xt.bits == 32 and t.bits < 32 else None
    return x if xt.bits > t.bits else None


def _bound_of(e: Select) -> tuple[str, int | float, Expr, Expr] | None:
    """("hi" | "lo", K, x, the other arm) for `x > K ? K : other` / `x < K ? K : other` (and K on the left)."""
    c, t = e.cond, e.type
    if not isinstance(c, Binary) or c.op not in ("<", "<=", ">", ">=") or expr_type(c.lhs).name != t.name:
        return None
    x, op, k = c.lhs, c.op, c.rhs
    if isinstance(x, Const) and not isinstance(k, Const):
        x, k, op = k, x, {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
    arm, other = e.then, e.else_
    if not t.is_float and isinstance(_constant_arm(e.else_, t), Const) and not isinstance(_constant_arm(arm, t), Const):
        # `x > K ? x : K` is `x <= K ? K : x`: the comparison negated (for integers: no NaN to order)
        arm, other, op = e.else_, e.then, {">": "<=", ">=": "<", "<": ">=", "<=": ">"}[op]
    arm = _constant_arm(arm, t)
    if not isinstance(k, Const) or not isinstance(arm, Const) or arm.value != k.value or isinstance(x, Const):
        return None
    if op in ("<=", ">=") and t.is_float and k.value == 0:
        return None  # x == +-0: C returns K's zero, min/max x's
    return ("hi" if op in (">", ">=") else "lo"), k.value, x, other


def _constant_arm(arm: Expr, t: CType) -> Expr:
    while isinstance(arm, Cast) and isinstance(arm.operand, Const) and arm.type.name == t.name:
        arm = arm.operand
    return arm


def _same_expr(a: Expr, b: Expr) -> bool:
    from simdlens.rules.saturate import _same

    return _same(a, b)


def _product_from32(e: Binary) -> str | None:
    """The even-lane multiply that gives 64-bit product `e` exactly, when both factors' values fit 32 bits
    (`(int64_t)a[i] * b[i]` of int32 arrays): the table op for signed or unsigned 32-bit factors."""
    ranges = (value_range(e.lhs), value_range(e.rhs))
    if all(lo >= -(1 << 31) and hi < (1 << 31) for lo, hi in ranges):
        return "mul_from32_signed"
    if all(lo >= 0 and hi < (1 << 32) for lo, hi in ranges):
        return "mul_from32_unsigned"
    return None


def _nonzero_constant(e: Expr) -> bool:
    """A constant other than +-0 (NaN included): no +0/-0 tie can involve it."""
    while isinstance(e, Cast | Unary) and (not isinstance(e, Unary) or e.op == "-"):
        e = e.operand
    return isinstance(e, Const) and e.value != 0


def _zero_constant(e: Expr) -> bool:
    """A +0 or -0 constant (`0.0f`, `-0.0`, `(float)0`)."""
    while isinstance(e, Cast | Unary) and (not isinstance(e, Unary) or e.op == "-"):
        e = e.operand
    return isinstance(e, Const) and e.value == 0


def _divide_by_power_of_two(e: Binary) -> Expr:
    """`x / 2^k` and `x % 2^k` with C's truncation toward zero, as shifts and masks: unsigned x >> k and
    x & (2^k - 1); signed q = (x + (negative ? 2^k - 1 : 0)) >> k (arithmetic) and x - (q << k)."""
    t, x, d = e.type, e.lhs, e.rhs
    while isinstance(d, Cast) and not d.type.is_float:  # `a / 2` with a long: the int 2 converted
        d = d.operand
    if not isinstance(d, Const) or isinstance(d.value, float) or int(d.value) <= 0 \
            or int(d.value) & (int(d.value) - 1) or int(d.value) >= 1 << (t.bits - 1):
        raise Unsupported("integer division or % by a value that is not a compile-time constant "
                          "(no SIMD integer divide)")
    k = int(d.value).bit_length() - 1
    if k == 0:
        return x if e.op == "/" else Const(0, t)
    if not t.signed:
        return Binary(">>", x, Const(k, t), t) if e.op == "/" else Binary("&", x, Const((1 << k) - 1, t), t)
    u = ctype(f"uint{t.bits}")
    sign = Cast(Binary(">>", x, Const(t.bits - 1, t), t), u, implicit=False)  # all ones when x < 0
    bias = Cast(Binary(">>", sign, Const(t.bits - k, u), u), t, implicit=False)  # 2^k - 1 when x < 0
    q = Binary(">>", Binary("+", x, bias, t), Const(k, t), t)
    return q if e.op == "/" else Binary("-", x, Binary("<<", q, Const(k, t), t), t)


def sums_of_locals(body: tuple[Stmt, ...], loop: LoopIR) -> tuple[Stmt, ...]:
    """A body of temporaries and sums as the sums alone, each temporary's value (converted to its declared
    type) written where it is read; () when the body holds anything else, a read cannot be replaced, or a
    temporary's last value is used after the loop."""
    values: dict[str, Expr] = {}
    out: list[Stmt] = []

    def inlined(e: Expr) -> Expr | None:
        for name, value in values.items():
            e2 = substitute_var(e, name, value)
            if e2 is None:
                return None
            e = e2
        return e

    for s in body:
        if isinstance(s, Let) and s.name not in values:
            scalar = loop.scalar(s.name)
            if scalar is not None and scalar.live_out:
                return ()
            value = inlined(s.value)
            if value is None:
                return ()
            values[s.name] = let_value(s, value)
        elif isinstance(s, Reduce) and s.access is None and s.var not in values:
            value = inlined(s.value)
            if value is None:
                return ()
            out.append(replace(s, value=value))
        else:
            return ()
    return tuple(out)


def _sad_pair(s: Stmt) -> tuple[Expr, Expr] | None:
    """(x, y) when `s` is `acc += abs(x - y)` with x, y uint8 widened to int and acc an integer of >= 32
    bits (abs of a difference of two bytes is 0..255: any such accumulator holds it exactly)."""
    if not isinstance(s, Reduce) or s.op != ReduceOp.ADD or s.type.is_float or s.type.bits < 32:
        return None
    v = s.value
    if isinstance(v, Cast) and not expr_type(v.operand).is_float and not v.type.is_float:
        v = v.operand
    if isinstance(v, Call) and _CALLS.get(v.func) == "popcount" and len(v.args) == 1:
        # the bits of zero-extended bytes: each byte's count, summed by psadbw against zero, one lane per byte
        byte = _narrow_source(v.args[0])
        if byte is None or expr_type(byte).name != "uint8":
            return None
        u8 = ctype("uint8")
        return Call(v.func, (byte,), u8), Const(0, u8)
    diff = _abs_difference(v)
    if diff is None:
        return None
    x, y = _narrow_source(diff.lhs), _narrow_source(diff.rhs)
    if x is None or y is None or expr_type(x).name != "uint8" or expr_type(y).name != "uint8":
        return None
    return x, y


def _abs_difference(v: Expr) -> Binary | None:
    """The int32 difference `x - y` whose absolute value `v` is: `abs(x - y)`, or the select image code
    writes, `x > y ? x - y : y - x` (any comparison of x and y, the arms that make it non-negative)."""
    if isinstance(v, Unary) and v.op == "abs" and v.type.name == "int32" and isinstance(v.operand, Binary) \
            and v.operand.op == "-" and v.operand.type.name == "int32":
        return v.operand
    if not (isinstance(v, Select) and isinstance(v.cond, Binary) and v.cond.op in ("<", "<=", ">", ">=")
            and v.type.name == "int32"):
        return None
    negated = _sign_select(v)
    if negated is not None:
        return negated
    if not (isinstance(v.then, Binary) and isinstance(v.else_, Binary)):
        return None
    p, q = v.cond.lhs, v.cond.rhs
    larger, smaller = (v.then, v.else_) if v.cond.op in (">", ">=") else (v.else_, v.then)  # p > q: p - q
    if not (isinstance(larger, Binary) and isinstance(smaller, Binary) and larger.op == smaller.op == "-"
            and _same_expr(larger.lhs, p) and _same_expr(larger.rhs, q)
            and _same_expr(smaller.lhs, q) and _same_expr(smaller.rhs, p)):
        return None
    return larger


def _sign_select(v: Select) -> Binary | None:
    """`d` when `v` is |d| written as a select on d's sign, d a difference (`FFABS(a - b)`: `(a - b) >= 0 ?
    (a - b) : -(a - b)`, or `d < 0 ? -d : d`)."""
    assert isinstance(v.cond, Binary)
    d = v.cond.lhs
    if not (isinstance(d, Binary) and d.op == "-" and d.type.name == "int32" and isinstance(v.cond.rhs, Const)
            and v.cond.rhs.value == 0):
        return None
    plain, negative = (v.then, v.else_) if v.cond.op in (">", ">=") else (v.else_, v.then)
    if _same_expr(plain, d) and isinstance(negative, Unary) and negative.op == "-" and _same_expr(negative.operand, d):
        return d
    return None


def _count_cond(s: Stmt) -> Expr | None:
    """The byte comparison `c` when `s` is `acc += c` (C's 0 / 1) with c comparing 8-bit values (after
    narrowing) and acc an integer of >= 32 bits; None otherwise."""
    if not isinstance(s, Reduce) or s.op != ReduceOp.ADD or s.type.is_float or s.type.bits < 32 or s.access:
        return None
    v = s.value
    while isinstance(v, Cast) and not v.type.is_float and not expr_type(v.operand).is_float:
        v = v.operand
    if not (isinstance(v, Binary) and (v.op in _CMP or v.op in ("&&", "||"))) and not (
            isinstance(v, Unary) and v.op == "!"):
        return None
    cond = _demote_cond(v)
    for x in walk_exprs(cond):
        if isinstance(x, Binary) and x.op in _CMP and (expr_type(x.lhs).bits != 8 or expr_type(x.rhs).bits != 8):
            return None
        if isinstance(x, Load | Var | IV | Call) and expr_type(x).bits != 8:
            return None
    return cond


def _madd_pair(s: Stmt) -> tuple[Expr, Expr] | None:
    """(x, y) when `s` is `acc += x * y` with x, y integers widened from at most 16 bits that int16 holds
    (int8, uint8, int16) and acc a 32-bit integer."""
    if not isinstance(s, Reduce) or s.op != ReduceOp.ADD or s.type.is_float or s.type.bits != 32 or s.access:
        return None
    v = s.value
    if isinstance(v, Cast) and not expr_type(v.operand).is_float and expr_type(v.operand).bits == 32:
        v = v.operand
    if not (isinstance(v, Binary) and v.op == "*" and v.type.bits == 32 and not v.type.is_float):
        return None
    x, y = _narrow_source(v.lhs), _narrow_source(v.rhs)
    if x is None or y is None or any(expr_type(e).name not in ("int8", "uint8", "int16") for e in (x, y)):
        return None
    return x, y


def narrow_minmax(body: tuple[Stmt, ...], table: IsaTable) -> tuple[tuple[Stmt, ...], set[str]] | None:
    """A body made only of integer min/max reductions of values widened from one narrower integer
    type, reduced in that type (the table must have its min/max), or None."""
    out: list[Stmt] = []
    narrow: CType | None = None
    for s in body:
        if not (isinstance(s, Reduce) and s.op in (ReduceOp.MIN, ReduceOp.MAX) and s.access is None
                and not s.type.is_float and s.cmp in _CMP):
            return None
        src = _narrow_source(s.value)
        if src is None:
            return None
        t = expr_type(src)
        if t.is_float or (narrow is not None and t.name != narrow.name) or not _represents(s.type, t):
            return None
        if table.op("max" if s.op == ReduceOp.MAX else "min", t.name, table.vector_bits) is None:
            return None
        narrow = t
        out.append(Reduce(s.var, s.op, src, t, s.cmp, s.span, s.access))
    if not out:
        return None
    return tuple(out), {s.var for s in out if isinstance(s, Reduce)}


def _int_range(t: CType) -> tuple[int, int]:
    if t.signed:
        return -(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1
    return 0, (1 << t.bits) - 1


def _intermediates(s: CType, d: CType) -> list[CType]:
    """Types a conversion s -> d may pass through without changing C's result."""
    out = []
    for name in ("int16", "int32", "uint32", "int64", "float", "double"):
        mid = ctype(name)
        if name in (s.name, d.name):
            continue
        if s.is_float and not d.is_float and name == "int32" and d.bits <= 32 and d.name != "uint32":
            out.append(mid)  # float -> int32 -> narrower int: identical wherever C defines the result
        elif _represents(mid, s):
            out.append(mid)
    return out


def _represents(big: CType, small: CType) -> bool:
    if small.is_float:
        return big.name == "double" and small.name == "float"
    if big.is_float:
        return small.bits <= (24 if big.name == "float" else 53) - (0 if small.signed else 1)
    if small.signed:
        return big.signed and big.bits > small.bits
    return big.bits > small.bits


def _bare_var(e: Expr) -> str | None:
    while isinstance(e, Cast):
        e = e.operand
    return e.name if isinstance(e, Var) else None


def _plain_temporaries(body: tuple[Stmt, ...], carried: set[str]) -> dict[str, Expr]:
    """Temporaries assigned once, unconditionally, at the top level of the body and never from a carried
    value: a carried copy of one (`s = b[i] * c[i]; a[i] = s + t; t = s;`) is its expression one iteration back."""
    counts: dict[str, int] = {}
    for x in walk_stmts(body):
        if isinstance(x, Let):
            counts[x.name] = counts.get(x.name, 0) + 1
    return {x.name: x.value for x in body if isinstance(x, Let) and counts[x.name] == 1
            and not (_names_in(x.value) & carried)}


def _before(lets: dict[str, Expr], body: tuple[Stmt, ...], n: int) -> dict[str, Expr]:
    """The temporaries of `lets` assigned before statement n (their value when it runs)."""
    earlier = {x.name for x in body[:n] if isinstance(x, Let)}
    return {k: v for k, v in lets.items() if k in earlier}


def _overwritten_read(e: Expr, body: tuple[Stmt, ...], n: int, loop: LoopIR) -> str | None:
    """None when `e`, the value statement n carries, reads of the arrays the loop writes only elements no
    iteration has written yet when it runs (written at the top level after statement n, at the same element
    or a later one: `s = b[i] + c[i]; b[i] = ...`), so that computing it for a whole step before the step's
    stores is exact; otherwise what it reads that is not (for the reason)."""
    for x in walk_exprs(e):
        if isinstance(x, Var):
            sc = loop.scalar(x.name)
            if sc is None or sc.role.value != "invariant":
                return f"`{x.name}`, which changes in the loop"
        if not isinstance(x, Load):
            continue
        a = x.access
        for k, st in enumerate(body):
            if not any(_writes_root(w, a.root) for w in walk_stmts((st,))):
                continue
            if k <= n or not isinstance(st, Store):
                return (f"{a.base}[...], which the loop writes before it in the same iteration: it depends on "
                        "its own previous value (a recurrence)")
            w = st.access
            if a.coeff != 1 or w.coeff != 1 or (a.base, a.symbolic) != (w.base, w.symbolic) or a.offset < w.offset:
                return f"{a.base}[...], elements an earlier iteration of the loop wrote"
    return None


def _writes_root(s: Stmt, root: str) -> bool:
    return (isinstance(s, Store) and s.access.root == root) or (isinstance(s, Pack | Expand) and s.dst.root == root)


def _names_in(e: Expr) -> set[str]:
    return {y.name for y in walk_exprs(e) if isinstance(y, Var)}


def _shift(e: Expr, loop: LoopIR, stored: set[str], var: str, lets: dict[str, Expr] | None = None) -> Expr:
    """`e` as it was one iteration earlier (for a carried value), or `Unsupported`."""
    if isinstance(e, Const):
        return e
    if isinstance(e, IV):
        return Binary("-", e, Const(loop.step, loop.iv_type), e.type)
    if isinstance(e, Var) and lets is not None and e.name in lets and e.name != var:
        value = lets[e.name]
        shifted = _shift(value, loop, stored, var, {k: v for k, v in lets.items() if k != e.name})
        return shifted if expr_type(value).name == e.type.name else Cast(shifted, e.type, implicit=True)
    if isinstance(e, Var):
        scalar = loop.scalar(e.name)
        if e.name == var or (scalar is not None and scalar.role.value != "invariant"):
            raise Unsupported(f"`{var}` is carried from a value that is not a plain function of the counter")
        return e
    if isinstance(e, Load):
        a = e.access
        if a.coeff is None or a.root in stored:
            raise Unsupported(f"`{var}` is carried from {a.base}[...], which the loop writes or indexes indirectly")
        return Load(Access(a.root, a.base, a.elem, a.coeff, a.offset - a.coeff * loop.step, a.symbolic, None, a.span))
    if isinstance(e, Unary):
        return Unary(e.op, _shift(e.operand, loop, stored, var, lets), e.type)
    if isinstance(e, Cast):
        return Cast(_shift(e.operand, loop, stored, var, lets), e.type, e.implicit)
    if isinstance(e, Binary):
        return Binary(e.op, _shift(e.lhs, loop, stored, var, lets), _shift(e.rhs, loop, stored, var, lets), e.type)
    if isinstance(e, Select):
        return Select(_shift(e.cond, loop, stored, var, lets), _shift(e.then, loop, stored, var, lets),
                      _shift(e.else_, loop, stored, var, lets), e.type)
    if isinstance(e, Call):
        return Call(e.func, tuple(_shift(x, loop, stored, var, lets) for x in e.args), e.type)
    raise Unsupported(f"`{var}` is carried from an expression simdlens cannot shift")


def _lead(lead: int) -> str:
    """The subscript's distance from the counter of a pack/expand whose counter steps first (` + 1`)."""
    return f" + {lead}" if lead else ""


def _lowest_index(t: CType) -> str:
    """The lowest value of a signed index type, as C: no iteration of a counted loop has it."""
    return "(-2147483647 - 1)" if t.bits == 32 else "(-9223372036854775807LL - 1)"


def _pack_run_of(s: Pack, body: tuple[Stmt, ...]) -> tuple[Pack, ...]:
    """The consecutive packs of `body` at `s`'s counter and array that `s` belongs to (itself alone if none)."""
    if s not in body:
        return (s,)
    at = body.index(s)
    same = [isinstance(x, Pack) and x.counter == s.counter and x.dst.root == s.dst.root for x in body]
    lo, hi = at, at + 1
    while lo > 0 and same[lo - 1]:
        lo -= 1
    while hi < len(body) and same[hi]:
        hi += 1
    return tuple(x for x in body[lo:hi] if isinstance(x, Pack))


def _arg_key(s: ArgReduce) -> str:
    """What names an argmin/argmax in the lowering: its value variable, or its index when it has none."""
    return s.value_var or s.index_var


def _indent(lines: list[str], by: str = "    ") -> list[str]:
    return [by + line for line in lines]


def _hint(root: str) -> str:
    return re.sub(r"\W", "_", root)[:12] or "v"


# --------------------------------------------------------------------------------------------------
# Ordering the statements of one vector step
# --------------------------------------------------------------------------------------------------


def _memory(s: Stmt) -> tuple[list[Access], list[Access]]:
    """(loads, stores) of a statement, nested ones included."""
    loads: list[Access] = []
    stores: list[Access] = []
    for x in walk_stmts((s,)):
        if isinstance(x, Store):
            stores.append(x.access)
        for e in _stmt_exprs(x):
            loads += [y.access for y in walk_exprs(e) if isinstance(y, Load)]
    return loads, stores


def _names_used(s: Stmt) -> set[str]:
    return {y.name for x in walk_stmts((s,)) for e in _stmt_exprs(x) for y in walk_exprs(e) if isinstance(y, Var)}


def own_names(body: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
    """`body` with each later assignment of a temporary assigned twice (`t = a[i] + b[i]; a[i] = t + c[i-1];
    t = c[i] * d[i]; c[i] = t;`) given its own name up to the next one, so that only real dependences
    order a vector step's statements. The names live only in the lowering's environment; the scalar
    remainder keeps the user's, and with them the value a temporary has after the loop."""
    counts: dict[str, int] = {}
    for s in body:
        if isinstance(s, Let):
            counts[s.name] = counts.get(s.name, 0) + 1
    nested = {x.name for s in body if not isinstance(s, Let) for x in walk_stmts((s,)) if isinstance(x, Let)}
    for name in [k for k, c in counts.items() if c > 1 and k not in nested]:
        renamed: list[Stmt] = []
        version, current_var = 0, None
        for s in body:
            if current_var is not None and isinstance(s, Let | Store):
                value = substitute_var(s.value, name, current_var)
                index = s.access.index if isinstance(s, Store) else None
                if value is None or (index is not None and name in {v.name for v in walk_exprs(index) if isinstance(v, Var)}):
                    break
                s = Let(s.name, s.type, value, s.span) if isinstance(s, Let) else Store(s.access, value, s.span)
            elif current_var is not None and name in _names_used(s):
                break  # read inside a statement this renaming does not rewrite: keep the user's name
            if isinstance(s, Let) and s.name == name:
                version += 1
                if version > 1:
                    current_var = Var(f"{name}'{version}", s.type)
                    s = Let(current_var.name, s.type, s.value, s.span)
            renamed.append(s)
        else:
            body = tuple(renamed)
    return body


def schedule(body: tuple[Stmt, ...], step: int, fixed: Callable[[str], bool] = lambda _: False
             ) -> tuple[tuple[Stmt, ...], set[tuple[str, str, int, str]]]:
    """The statements of one vector step in a valid order, and the loads to issue before all of them.

    Program order, except where a vector step must differ: a load of an element an earlier iteration
    wrote must come after that store; a load of an element a later iteration writes must read the old
    value, so it is issued at the start of the step ("preloaded") or, if it also has to see another
    store, ordered before the store; of two stores to one element the later iteration's comes last.
    Two statements that never run in the same iteration (`if (c)` and `if (!c)`, `exclusive_ifs`; `fixed`
    names the loop's invariant scalars) have no order within one: only across iterations.
    Raises `Unsupported` when the constraints conflict."""
    body = own_names(body)
    n = len(body)
    mem = [_memory(s) for s in body]
    written = {st.root for m in mem for st in m[1]}
    apart = {(i, j) for i in range(n) for j in range(n) if i != j and exclusive_ifs(body[i], body[j], written, fixed)}
    after: dict[int, set[int]] = {j: set() for j in range(n)}  # j must come after every i in after[j]

    def same(a: Access, b: Access) -> bool:
        """Whether the two can touch one element: `q[2*i]` and `q[2*i + 1]` never do (other parity), nor
        `a[i + 1]` and `a[i + 2]` when i steps by 5 (the elements iterations touch are `coeff * step` apart)."""
        return (a.root == b.root and a.base == b.base and a.symbolic == b.symbolic and a.affine
                and a.coeff is not None and a.coeff == b.coeff and a.coeff != 0
                and (a.offset - b.offset) % (a.coeff * step) == 0)

    def later(x: Access, y: Access) -> int:
        """> 0 when the iteration touching an element through `y` comes after the one through `x`."""
        assert x.coeff is not None
        return (x.offset - y.offset) * step * x.coeff

    sees: set[tuple[int, tuple[str, str, int, str]]] = set()  # loads that must see a store of this step
    for i in range(n):
        for j in range(n):
            for ld in mem[j][0]:
                for st in mem[i][1]:
                    if i != j and same(ld, st):
                        d = later(ld, st)
                        if d < 0 or (d == 0 and i < j and (i, j) not in apart):
                            after[j].add(i)  # j reads what i wrote (this step or before)
                            sees.add((j, access_key(ld)))
            if i == j:
                continue
            for sj in mem[j][1]:
                for si in mem[i][1]:
                    if same(sj, si) and (later(si, sj) > 0 or (si.offset == sj.offset and i < j)):
                        after[j].add(i)  # i's write belongs to an earlier iteration: j overwrites it
        defined = {s.name for s in walk_stmts((body[i],)) if isinstance(s, Let)}
        for j in range(i + 1, n):
            if defined & _names_used(body[j]):
                after[j].add(i)
            if _names_used(body[i]) & {s.name for s in walk_stmts((body[j],)) if isinstance(s, Let)}:
                after[j].add(i)  # j assigns a temporary i still reads (one own_names could not rename)
    unconditional = _unconditional_accesses(body)
    preload: set[tuple[str, str, int, str]] = set()
    for j in range(n):  # loads that must read the old value of an element a store of this step changes
        for i in range(n):
            if i == j:
                continue
            for ld in mem[j][0]:
                for st in mem[i][1]:
                    if same(ld, st) and (later(ld, st) > 0 or (ld.offset == st.offset and j < i and (i, j) not in apart)):
                        key = access_key(ld)
                        if key in unconditional and not any(k == key for _, k in sees):
                            preload.add(key)
                        else:
                            after[i].add(j)
    order: list[int] = []
    done: set[int] = set()
    while len(order) < n:
        ready = [k for k in range(n) if k not in done and after[k] <= done]
        if not ready:
            raise Unsupported("the statements' dependences leave no order for a vector step")
        order.append(ready[0])
        done.add(ready[0])
    return tuple(body[k] for k in order), preload


# --------------------------------------------------------------------------------------------------
# Narrowing: arithmetic C promoted to int that can be done in the narrow element type
# --------------------------------------------------------------------------------------------------

_WRAPPING = ("+", "-", "&", "|", "^")


def demote_body(body: tuple[Stmt, ...], table: IsaTable | None = None, sums_in_16_bits: bool = True) -> tuple[Stmt, ...]:
    """Rewrite stores and temporaries of narrow elements whose value only wraps (and narrow compares) to
    narrow types, so that a byte loop runs 32 (AVX2) or 64 (AVX-512) lanes wide instead of 8 or 16.
    Shifts by a constant stay narrow where `table` shifts lanes of that width; with `sums_in_16_bits`, also a
    shifted sum of narrow values whose values fit 16 bits (`_shift_in_16_bits`)."""
    shifts = frozenset((op, t) for op in ("shli", "shri") for t in ("int8", "uint8", "int16", "uint16")
                       if table is not None and table.op(op, t, table.vector_bits) is not None)
    if sums_in_16_bits:
        shifts |= {_SUMS_16}
    return tuple(_demote_stmt(s, shifts) for s in inline_division_locals(body))


def _demote_stmt(s: Stmt, shifts: frozenset[tuple[str, str]] = frozenset()) -> Stmt:
    if isinstance(s, Let) and 8 <= s.type.bits < 32 and not s.type.is_float:  # `uint8_t m = a[i] + b[i];`
        narrow = _demote(s.value.operand if isinstance(s.value, Cast) else s.value, s.type, shifts)
        return s if narrow is None else Let(s.name, s.type, narrow, s.span)
    if isinstance(s, Store) and s.access.elem.bits < 32 and not s.access.elem.is_float:
        value = s.value.operand if isinstance(s.value, Cast) else s.value
        narrow = _demote(value, s.access.elem, shifts)
        if narrow is not None:
            return Store(s.access, narrow, s.span)
        if _clamp(value) is not None:
            return s  # a clamp and a narrowing: one saturating pack (`_narrowing_pack`) reads it whole
        return Store(s.access, _demote_conds(s.value), s.span)
    if isinstance(s, If):
        return If(_demote_cond(s.cond), tuple(_demote_stmt(x, shifts) for x in s.then),
                  tuple(_demote_stmt(x, shifts) for x in s.else_), s.span)
    if isinstance(s, Exit):
        return Exit(_demote_cond(s.cond), s.kind, s.value, s.span, s.var, s.address)
    if isinstance(s, Store):  # wide lanes: `tag[i] == 3` widens tag once for every compare, not each mask
        return Store(s.access, _demote_conds(s.value, constants=False), s.span)
    if isinstance(s, Pack) and s.dst.elem.bits < 32 and not s.dst.elem.is_float:  # byte / 16-bit compress
        narrow = _demote(s.value.operand if isinstance(s.value, Cast) else s.value, s.dst.elem, shifts)
        return Pack(_demote_cond(s.cond), s.dst, s.counter, s.value if narrow is None else narrow, s.span)
    return s


def _narrow_source(e: Expr) -> Expr | None:
    """The narrower-typed expression `e` was widened from (an implicit/explicit integer widening)."""
    if isinstance(e, Cast) and not e.type.is_float and not expr_type(e.operand).is_float \
            and expr_type(e.operand).bits < e.type.bits:
        return e.operand
    return None


def _demote(e: Expr, t: CType, shifts: frozenset[tuple[str, str]] = frozenset()) -> Expr | None:
    """`e` computed in narrow type `t` with the same low bits, or None. `shifts`: the (op, type) pairs of
    constant shifts the target has."""
    et = expr_type(e)
    if et.is_float:
        return None
    if isinstance(e, Const):
        return Const(int(e.value), t, e.text)
    if isinstance(e, Cast) and not expr_type(e.operand).is_float and expr_type(e.operand).bits > et.bits >= t.bits:
        inner = _demote(e.operand, t, shifts)  # `(char)(ch - 32)`: a narrowing keeps the low bits t holds
        if inner is not None:
            return inner
    src = _narrow_source(e)
    if src is not None:
        st = expr_type(src)
        if st.bits == t.bits:
            narrowed = _demote(src, t) if isinstance(src, Cast) else None
            if narrowed is not None:
                return narrowed
            return src if st.name == t.name else Cast(src, t, implicit=True)
        if st.bits < t.bits:
            return Cast(src, t, implicit=True)
        return None
    if isinstance(e, Load | Var) and et.bits == t.bits:
        return e
    if isinstance(e, Binary):
        avg = _avg(e, t)
        if avg is not None:
            return avg
        if e.op in _WRAPPING or (e.op == "*" and t.bits == 16):
            lhs, rhs = _demote(e.lhs, t, shifts), _demote(e.rhs, t, shifts)
            if lhs is not None and rhs is not None:
                return Binary(e.op, lhs, rhs, t)
        if e.op in ("<<", ">>"):
            return _demote_shift(e, t, shifts)
        if e.op in ("/", "%"):
            return narrow_division(e, t, _demote)  # by a constant, on 16-bit lanes (divide.py)
        return None
    if isinstance(e, Unary) and e.op in ("-", "~"):
        inner = _demote(e.operand, t, shifts)
        return Unary(e.op, inner, t) if inner is not None else None
    if isinstance(e, Select):
        then, other = _demote(e.then, t, shifts), _demote(e.else_, t, shifts)
        if then is not None and other is not None:
            return Select(_demote_cond(e.cond), then, other, t)
    return None


def _demote_shift(e: Binary, t: CType, shifts: frozenset[tuple[str, str]]) -> Expr | None:
    """A shift by a constant below t's width in t's lanes: `x << c` keeps the low bits of x's low bits;
    `x >> c` only when x is a t-wide value widened (zero- or sign-extended as the narrow shift fills)."""
    count = e.rhs if isinstance(e.rhs, Const) else None
    c = count.value if count is not None else None
    if count is None or not isinstance(c, int) or c < 0:
        return None
    if c >= t.bits:  # `(sum of bytes) >> 8` stored as a byte: the sum's own 16 bits may hold it
        return _shift_in_16_bits(e, t, c, shifts) if e.op == ">>" else None
    if e.op == "<<":
        lhs = _demote(e.lhs, t, shifts) if ("shli", t.name) in shifts else None
        return Binary("<<", lhs, Const(c, t, count.text), t) if lhs is not None else None
    src = _narrow_source(e.lhs)
    if src is None or expr_type(src).bits > t.bits:
        return _shift_in_16_bits(e, t, c, shifts)
    st = ctype(("int" if expr_type(src).signed else "uint") + str(t.bits))  # widened as C widens it, to t's width
    if ("shri", st.name) not in shifts:
        return None
    value = src if expr_type(src).name == st.name else Cast(src, st, implicit=True)
    shifted = Binary(">>", value, Const(c, st, count.text), st)  # the source's own signedness picks the fill
    return shifted if st.name == t.name else Cast(shifted, t, implicit=True)


_SUMS_16 = ("sums", "int16")  # in demote's `shifts`: shifted sums of narrow values may run in 16-bit lanes


def _shift_in_16_bits(e: Binary, t: CType, count: int, shifts: frozenset[tuple[str, str]]) -> Expr | None:
    """`x >> c` stored to 8 or 16 bits, x a sum of products of narrow values whose every value fits 16 bits
    (`(77 * r + 150 * g + 29 * b) >> 8` of bytes): x in 16-bit lanes (its wrapping arithmetic is exact there),
    the shift of the lanes' type whose range holds x's values."""
    if _SUMS_16 not in shifts:
        return None
    lo, hi = value_range(e.lhs)
    wide = next((w for w in (ctype("uint16"), ctype("int16")) if type_range(w.name)[0] <= lo and hi <= type_range(w.name)[1]), None)
    if wide is None or t.bits > 16 or count >= 16 or ("shri", wide.name) not in shifts:
        return None
    inner = _demote(e.lhs, wide, shifts)
    if inner is None:
        return None
    shifted = Binary(">>", inner, Const(count, wide), wide)
    return shifted if wide.name == t.name else Cast(shifted, t, implicit=True)


def _avg(e: Binary, t: CType) -> Expr | None:
    """`(a + b + 1) >> 1` over zero-extended unsigned narrow values: a rounding average."""
    if e.op != ">>" or not isinstance(e.rhs, Const) or e.rhs.value != 1 or t.signed:
        return None
    s = e.lhs
    if not (isinstance(s, Binary) and s.op == "+"):
        return None
    pair = None
    if isinstance(s.rhs, Const) and s.rhs.value == 1 and isinstance(s.lhs, Binary) and s.lhs.op == "+":
        pair = (s.lhs.lhs, s.lhs.rhs)
    elif isinstance(s.lhs, Binary) and s.lhs.op == "+" and isinstance(s.lhs.rhs, Const) and s.lhs.rhs.value == 1:
        pair = (s.lhs.lhs, s.rhs)
    if pair is None:
        return None
    sources = [_narrow_source(x) for x in pair]
    if any(x is None or expr_type(x).name != t.name for x in sources):
        return None
    a, b = sources
    assert a is not None and b is not None
    return Binary("avg", a, b, t)


def _demote_cond(e: Expr, constants: bool = True) -> Expr:
    """Compares of two narrow values (and of one with a constant, unless `constants` is False) in the
    narrow type."""
    if isinstance(e, Binary) and e.op in _CMP:
        a, b = _narrow_source(e.lhs), _narrow_source(e.rhs)
        if constants and a is None and b is not None and isinstance(e.lhs, Const) and _fits(e.lhs, expr_type(b)):
            return Binary(e.op, Const(int(e.lhs.value), expr_type(b), e.lhs.text), b, e.type)
        if constants and b is None and a is not None and isinstance(e.rhs, Const) and _fits(e.rhs, expr_type(a)):
            return Binary(e.op, a, Const(int(e.rhs.value), expr_type(a), e.rhs.text), e.type)
        if a is not None and b is not None and expr_type(a).name == expr_type(b).name:
            return Binary(e.op, a, b, e.type)
        return e
    if isinstance(e, Binary) and e.op in ("&&", "||"):
        return Binary(e.op, _demote_cond(e.lhs, constants), _demote_cond(e.rhs, constants), e.type)
    if isinstance(e, Unary) and e.op == "!":
        return Unary("!", _demote_cond(e.operand, constants), e.type)
    return e


def _demote_conds(e: Expr, constants: bool = True) -> Expr:
    if isinstance(e, Select):
        return Select(_demote_cond(e.cond, constants), _demote_conds(e.then, constants),
                      _demote_conds(e.else_, constants), e.type)
    if isinstance(e, Cast):
        return Cast(_demote_conds(e.operand, constants), e.type, e.implicit)
    return e


def _fits(c: Const, t: CType) -> bool:
    if t.is_float or isinstance(c.value, float):
        return False
    lo = -(1 << (t.bits - 1)) if t.signed else 0
    hi = (1 << (t.bits - 1)) - 1 if t.signed else (1 << t.bits) - 1
    return lo <= int(c.value) <= hi


__all__ = ["Lowered", "Lowering", "ScalarPrinter", "Unsupported", "VVal", "demote_body"]


def _iv_coefficient(e: Expr, invariant: Callable[[str], bool]) -> int | None:
    """How much the integer expression `e` advances per iteration (`i + off`: 1, `n - (k - i)`: 1), or
    None when it is not the counter times a constant plus values the loop does not change."""
    if isinstance(e, IV):
        return 1
    if isinstance(e, Const):
        return 0 if not e.type.is_float else None
    if isinstance(e, Var):
        return 0 if invariant(e.name) else None
    if isinstance(e, Cast):
        return None if e.type.is_float or expr_type(e.operand).is_float else _iv_coefficient(e.operand, invariant)
    if isinstance(e, Binary) and e.op in ("+", "-") and not e.type.is_float:
        a, b = _iv_coefficient(e.lhs, invariant), _iv_coefficient(e.rhs, invariant)
        return None if a is None or b is None else (a + b if e.op == "+" else a - b)
    if isinstance(e, Binary) and e.op == "*" and not e.type.is_float:
        a, b = _iv_coefficient(e.lhs, invariant), _iv_coefficient(e.rhs, invariant)
        if a is None or b is None:
            return None
        if a == 0 and isinstance(e.lhs, Const) and isinstance(e.lhs.value, int):
            return e.lhs.value * b
        if b == 0 and isinstance(e.rhs, Const) and isinstance(e.rhs.value, int):
            return a * e.rhs.value
        return 0 if a == 0 and b == 0 else None
    return None


def _unsigned_c(t: CType) -> str:
    """The unsigned C integer type as wide as `t`."""
    return {8: "unsigned char", 16: "unsigned short", 32: "unsigned int", 64: "unsigned long long"}[t.bits]

