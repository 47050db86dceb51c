"""Strided groups: accesses `b[S*i + o]` to one array with a constant stride S (2, 3, 4) done with full-width
loads and stores of the contiguous block plus shuffles, instead of gathers and lane-by-lane stores.

For a step of W lanes, the accesses to one base with the same stride and symbolic part cover offsets
o_min..o_max of a block of W*S consecutive elements starting at element S*base + o_min (more blocks, W*S
elements apart, when the offsets span more than one stride). Loads read the block as S registers and pick
the lanes of each offset with the table's `deinterleave{S}_{p}` op; stores combine one value per position
with `interleave{S}_{r}` and store the S registers (masked by the written positions when the loop does not
write every position: elements it never writes are never written).

Footprints: a load block holds only elements between the first and the last one the scalar loop reads,
except when the group's highest offset is not the last position of its block (`d[i] = b[2*i]`: the block of
the last lane ends one element past b[2*(n-1)]). Then the vector loop runs only while one more iteration
follows (`reserve = 1`), whose elements lie above the block. Where that cannot work (a reverse loop: the
elements above are the ones it did first; 64 byte lanes) AVX-512 loads the block's last register under a
constant mask that stops at the last touched element, and AVX2 keeps the gather. The masked last step
(AVX-512) masks its block loads element by element to exactly the scalar loop's range.

Stores of a group are delayed until the last member's value exists, so a group is combined only when every
store to its array is an unconditional top-level statement and nothing in between reads a written element.
Anything else keeps the lowering's general path (gathers, scatters, lane stores).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simdlens.analysis.ir import Access, Exit, If, Load, Pack, Stmt, Store, walk_exprs, walk_stmts

if TYPE_CHECKING:
    from simdlens.rules.lower import Lowering, VVal

MAX_STRIDE = 6  # records of 6 floats (x, y, z, vx, vy, vz) have de-interleave rows for 32-bit lanes
GroupKey = tuple[str, str, str, int]  # (root, base, symbolic, coeff)


def group_key(a: Access) -> GroupKey:
    assert a.coeff is not None
    return (a.root, a.base, a.symbolic, a.coeff)


@dataclass
class LoadGroup:
    """Unconditional loads of one base and stride: blocks of W*S elements from offset `low` up."""

    stride: int
    low: int  # lowest offset the scalar loop touches (block 0 starts there)
    high: int  # highest offset it touches
    offsets: frozenset[int]  # offsets served from the blocks

    @property
    def blocks(self) -> int:
        return (self.high - self.low) // self.stride + 1

    @property
    def overread(self) -> int:
        """Elements the last lane's block reads past the highest element the scalar loop touches there."""
        return self.low + self.blocks * self.stride - 1 - self.high


@dataclass
class StoreGroup:
    """Top-level unconditional stores of one base and stride, combined into one block per step."""

    stride: int
    low: int
    offsets: frozenset[int]  # written offsets, all inside [low, low + stride)
    members: int  # store statements per step (a position stored twice: the later value wins)


@dataclass
class _StepState:
    registers: dict[tuple[GroupKey, int], list[VVal]] = field(default_factory=dict)
    lanes: dict[tuple[GroupKey, int], VVal] = field(default_factory=dict)
    pending: dict[GroupKey, dict[int, VVal]] = field(default_factory=dict)
    seen: dict[GroupKey, int] = field(default_factory=dict)
    masks: dict[str, VVal] = field(default_factory=dict)
    tail_lanes: str = ""


class StridedGroups:
    """The strided groups of one loop for one `Lowering`, and their code in each vector step."""

    def __init__(self, low: Lowering) -> None:
        self.low = low
        self.loads: dict[GroupKey, LoadGroup] = {}
        self.stores: dict[GroupKey, StoreGroup] = {}
        self._state = _StepState()
        self._block: object = None
        self.origins: dict[str, tuple[GroupKey, int, int]] = {}  # lanes -> (load group, block, position)
        t = low.t
        if t.tail == "masked" and t.mask != "kmask":
            return  # masked tails are prefix masks of mask registers here
        if any(isinstance(s, Exit) for s in walk_stmts(low.body)):
            return  # search loops stop mid-step: their reads follow their own footprint rules
        self._plan()

    @property
    def reserve(self) -> int:
        """Iterations that must remain after a vector step: 1 when a load block overreads and the ISA has no
        mask registers to cut the block's last register short."""
        if self._masks_blocks:
            return 0
        return 1 if any(g.overread > 0 for g in self.loads.values()) else 0

    @property
    def _masks_blocks(self) -> bool:
        """Cut an overreading block short with a constant mask instead of stopping one iteration early: only
        where stopping early cannot work (a reverse loop; 64 lanes, whose tail mask could not hold 64 lanes
        left). A masked load every step measured 0.78x of the early stop on `d[i] = b[2*i+1]` (AVX-512)."""
        return self.low.t.mask == "kmask" and (self.low.vf >= 64 or self.low.loop.step < 0)

    # ---- planning -------------------------------------------------------------------------------

    def _stride(self, a: Access) -> int | None:
        if a.coeff is None:
            return None
        s = a.coeff * abs(self.low.loop.step)
        return s if 2 <= s <= MAX_STRIDE else None

    def _has_ops(self, prefix: str, stride: int, elem: str) -> bool:
        width = self.low.width(elem)  # exact rows only: a w128 shuffle is wrong for a half-filled register
        return all((f"{prefix}{stride}_{k}", elem, width) in self.low.t.ops for k in range(stride))

    def _plan(self) -> None:
        from simdlens.rules.lower import Unsupported, _memory, access_key, schedule

        low = self.low
        body = low.body
        loads: list[Access] = []
        stores: list[Access] = []
        for s in walk_stmts(body):
            ld, st = _memory(s) if not isinstance(s, If) else ([], [])
            if isinstance(s, If):  # its condition's loads; nested statements are walked on their own
                ld = [x.access for x in walk_exprs(s.cond) if isinstance(x, Load)]
            loads += ld
            stores += [x for x in st if isinstance(s, Store)]
            if isinstance(s, Pack):
                stores.append(s.dst)
        top_stores = {id(s.access) for s in body if isinstance(s, Store)}
        by_root: dict[str, list[Access]] = {}
        for a in loads + stores:
            by_root.setdefault(a.root, []).append(a)
        stored_roots = {a.root for a in stores}

        def root_is_one_group(root: str) -> bool:
            """A written array whose accesses are all one strided group inside one block: no element of it
            is reached through two groups, so per-group ordering is enough."""
            accs = by_root[root]
            if any(a.coeff is None for a in accs) or len({group_key(a) for a in accs}) != 1:
                return False
            stride = self._stride(accs[0])
            offsets = {a.offset for a in accs}
            return stride is not None and max(offsets) - min(offsets) < stride

        # loads: the footprint is every unconditional access of the group (reads and writes)
        footprint: dict[GroupKey, set[int]] = {}
        served: dict[GroupKey, set[int]] = {}
        for a in loads + stores:
            stride = self._stride(a)
            if stride is None or access_key(a) not in low.unconditional:
                continue
            if a.root in stored_roots and not root_is_one_group(a.root):
                continue
            if not self._has_ops("deinterleave", stride, a.elem.name):
                continue
            if (a.root in stored_roots and not self._has_ops("interleave", stride, a.elem.name)
                    and sum(1 for x in stores if x.root == a.root) > 1
                    and low.t.op("gather", a.elem.name, low.width(a.elem)) is not None):
                # stored lane by lane, and blocks are reloaded after every store: several stores a step cost
                # more reloads than gathers (6-float particles, x, y, z stored: 0.12x of gcc vs 0.28x)
                continue
            footprint.setdefault(group_key(a), set()).add(a.offset)
            if any(a is x for x in loads):
                served.setdefault(group_key(a), set()).add(a.offset)
        for key, offsets in served.items():
            stride = key[3] * abs(low.loop.step)
            touched = footprint[key]
            group = LoadGroup(stride, min(touched), max(touched), frozenset(offsets))
            if group.overread > 0 and not self._masks_blocks and low.loop.step < 0:
                continue  # the elements past the block's last lane are the ones a reverse loop did first
            self.loads[key] = group

        # stores: one group per written array whose writes are all top-level statements of one group
        try:
            order, _ = schedule(body, low.loop.step)
        except Unsupported:
            return  # the lowering refuses the loop itself, with this reason
        for root in sorted(stored_roots):
            accs = [a for a in stores if a.root == root]
            if not root_is_one_group(root) or any(id(a) not in top_stores for a in accs):
                continue
            a0 = accs[0]
            stride = self._stride(a0)
            assert stride is not None
            elem = a0.elem.name
            written = frozenset(a.offset for a in accs)
            if not self._has_ops("interleave", stride, elem):
                continue
            if len(written) < stride and not self._can_mask(elem):
                continue
            if not self._stores_can_wait(order, root, written):
                continue
            self.stores[group_key(a0)] = StoreGroup(stride, min(written), written, len(accs))

    def _can_mask(self, elem: str) -> bool:
        """A store of only some positions: a masked store, with a constant lane mask on vector-mask ISAs."""
        t, width = self.low.t, self.low.width(elem)
        if t.op("maskstore", elem, width) is None:
            return False
        return t.mask == "kmask" or t.op("setr", f"int{width // self.low.vf}", width) is not None

    def _stores_can_wait(self, order: tuple[Stmt, ...], root: str, offsets: frozenset[int]) -> bool:
        """No statement reads an element of the group that an earlier statement of the step stored (those
        stores wait for the group's last member). Offsets of one group differ by less than the stride, so
        a load at offset o sees exactly the elements the stores at offset o write."""
        from simdlens.rules.lower import _memory

        stored: set[int] = set()
        for s in order:
            ld, st = _memory(s)
            if any(a.root == root and a.offset in stored for a in ld):
                return False
            stored |= {a.offset for a in st if a.root == root}
        return True

    # ---- code in a step -------------------------------------------------------------------------

    def _step_state(self) -> _StepState:
        if self._block is not self.low.block:  # a new vector step: nothing loaded or pending yet
            self._block = self.low.block
            self._state = _StepState()
        return self._state

    def _index(self, key: GroupKey, start: int) -> str:
        low = self.low
        _, base, symbolic, coeff = key
        index = f"{coeff} * ({low.base})" + (f" + {start}" if start > 0 else f" - {-start}" if start else "")
        if symbolic:
            index += f" + ({low.rename(symbolic)})"
        return f"&{low.rename(base)}[{index}]"

    def _tail_lanes(self, state: _StepState) -> str:
        """C text: how many lanes the masked step runs (the tail mask is a prefix of the lanes)."""
        low = self.low
        if not state.tail_lanes:
            assert low.tail_mask is not None
            m = low.tail_mask
            lane = next((f"int{b}" for b in (8, 16, 32, 64)  # any lane width whose register holds vf lanes
                         if low.t.op("mbits", f"int{b}", low.vf * b) is not None), m.elem)
            bits = low.fill(low.template("mbits", lane, low.vf * int(lane[3:])), m=m.name)
            state.tail_lanes = low.fresh("lanes")
            low.lines.append(f"const int {state.tail_lanes} = __builtin_popcountll({bits});")
        return state.tail_lanes

    def _prefix_mask(self, count: str, first: int, elem: str) -> VVal:
        """A mask register selecting elements `first`.. of a register whose elements before `count` are wanted."""
        low = self.low
        vf = low.vf
        ct = low.t.mask_ctype(vf)
        if count.isdigit():  # a constant mask (the main loop's last block register)
            text = f"({ct}){hex((1 << max(0, min(vf, int(count) - first))) - 1)}"
        else:
            rest = f"({count} - {first})" if first else f"({count})"
            text = (f"({ct})({rest} >= {vf} ? {hex((1 << vf) - 1)}ULL : {rest} <= 0 ? 0ULL : "
                    f"(1ULL << {rest}) - 1)")
        state = self._step_state()
        if text not in state.masks:  # the same prefix serves every array of the step
            state.masks[text] = low.emit(text, f"int{low.width(elem) // vf}", low.width(elem), True, "m")
        return state.masks[text]

    def load(self, a: Access) -> VVal | None:
        """The lanes of `a` from its group's block, or None when `a` is not served by a group."""
        from simdlens.rules.lower import access_key

        low = self.low
        if a.coeff is None:
            return None
        key = group_key(a)
        group = self.loads.get(key)
        if group is None or a.offset not in group.offsets or access_key(a) not in low.unconditional:
            return None
        state = self._step_state()
        cached = state.lanes.get((key, a.offset))
        if cached is not None:
            return cached
        s, vf = group.stride, low.vf
        block, position = divmod(a.offset - group.low, s)
        elem, width = a.elem.name, low.width(a.elem)
        regs = state.registers.get((key, block))
        if regs is None:
            start = group.low + block * s
            regs = []
            # elements of the block up to the highest one its last active lane touches
            last = s - 1 if block < group.blocks - 1 else group.high - start
            count = ""
            if low.tail_mask is not None:
                count = f"({self._tail_lanes(state)} - 1) * {s} + {last + 1}"
            elif last < s - 1 and self._masks_blocks:
                count = str((vf - 1) * s + last + 1)
            for r in range(s):
                address = self._index(key, start + r * vf)
                if count and not (count.isdigit() and int(count) - r * vf >= vf):
                    m = self._prefix_mask(count, r * vf, elem)
                    regs.append(low.op("maskload", elem, width, hint=f"{_hint(key[0])}_blk", p=address, m=m.name))
                else:
                    regs.append(low.op("load", elem, width, hint=f"{_hint(key[0])}_blk", p=address))
            state.registers[(key, block)] = regs
        low.features.add("strided")
        operands = dict(zip("abcdef", (v.name for v in regs), strict=False))
        lanes = low.emit(low.fill(low.template(f"deinterleave{s}_{position}", elem, width), **operands), elem, width,
                         hint=_hint(key[0]))
        state.lanes[(key, a.offset)] = lanes
        self.origins[lanes.name] = (key, block, position)
        return lanes

    def store(self, a: Access, value: VVal) -> bool:
        """Take a store of a group (True: done, or waiting for the group's other members); False: the
        lowering's general path stores it."""
        low = self.low
        if a.coeff is None:
            return False
        key = group_key(a)
        state = self._step_state()
        group = self.stores.get(key)
        if group is None or low.ctx_mask is not None:
            self._forget(state, a.root)  # the general path writes memory now
            return False
        pending = state.pending.setdefault(key, {})
        pending[a.offset] = value
        state.seen[key] = state.seen.get(key, 0) + 1
        if state.seen[key] < group.members:
            return True
        low.features.add("strided")
        s, vf = group.stride, low.vf
        elem, width = a.elem.name, low.width(a.elem)
        filler = next(iter(pending.values()))
        values = [pending.get(group.low + p, filler) for p in range(s)]
        operands = dict(zip("abcd", (v.name for v in values), strict=False))
        count = f"{self._tail_lanes(state)} * {s}" if low.tail_mask is not None else ""
        shuffled = self._byte_shuffled(group, values, state, elem, width) if not count else None
        for r in range(s):
            v = shuffled[r] if shuffled is not None else low.emit(
                low.fill(low.template(f"interleave{s}_{r}", elem, width), **operands), elem, width, hint=_hint(key[0]))
            address = self._index(key, group.low + r * vf)
            m = self._written(group, r, elem, width, count)
            if m is None:
                low.lines.append(low.fill(low.template("store", elem, width), p=address, a=v.name) + ";")
            else:
                low.lines.append(low.fill(low.template("maskstore", elem, width), p=address, m=m.name,
                                          a=v.name) + ";")
        del state.pending[key]
        state.seen[key] = 0
        self._forget(state, a.root)
        return True

    def _byte_shuffled(self, group: StoreGroup, values: list[VVal], state: _StepState, elem: str,
                       width: int) -> list[VVal] | None:
        """The store's block registers as one byte shuffle of a load group's block registers each, when every
        position of the group is a fixed byte permutation (or a copy) of a position of the same load group
        (`d[4*i] = s[4*i + 2]; ... `: RGBA to BGRA; two swapped and byte-swapped halves of a 64-bit word), and a
        group is a whole number of bytes dividing the shuffle's 16-byte block; else None (de- and re-interleave)."""
        low = self.low
        size = width // low.vf // 8  # bytes per element
        if (len(group.offsets) != group.stride or 16 % (group.stride * size)
                or low.t.op("permute_bytes", elem, width) is None):
            return None
        sources: set[GroupKey] = set()
        picks: list[int] = []
        for v in values:
            source, moved = low.byte_picks.get(v.name, (v.name, tuple(range(size))))
            origin = self.origins.get(source)
            if origin is None or origin[1] != 0 or len(moved) != size:
                return None
            key, _, position = origin
            sources.add(key)
            picks += [b if b < 0 else position * size + b for b in moved]
        if len(sources) != 1:
            return None
        (key,) = sources
        regs = state.registers.get((key, 0))
        if regs is None or self.loads[key].low != group.low or self.loads[key].stride != group.stride:
            return None
        block = [b if b < 0 else k // len(picks) * len(picks) + b for k in range(16) for b in [picks[k % len(picks)]]]
        control = low.hoist(low.fill(low.template("byte_control", "int8", width),
                                     args=", ".join(map(str, block * (max(width, 128) // 128)))), "int8", width,
                            hint="byte_order")
        low.features.add("permute_bytes")
        return [low.op("permute_bytes", elem, width, a=r.name, b=control.name, hint="swapped") for r in regs]

    @staticmethod
    def _forget(state: _StepState, root: str) -> None:
        """`root` changed in memory: later loads of this step read its blocks again."""
        for k in [k for k in state.registers if k[0][0] == root]:
            del state.registers[k]
        for k in [k for k in state.lanes if k[0][0] == root]:
            del state.lanes[k]

    def _written(self, group: StoreGroup, r: int, elem: str, width: int, count: str) -> VVal | None:
        """The mask of block register r's elements the loop writes (None: all of them, unmasked)."""
        low = self.low
        vf = low.vf
        wanted = [(r * vf + j) % group.stride + group.low in group.offsets for j in range(vf)]
        if all(wanted) and not count:
            return None
        if low.t.mask == "kmask":
            pattern = sum(1 << j for j, w in enumerate(wanted) if w)
            ct = low.t.mask_ctype(vf)
            lane_bits = f"int{width // vf}"
            if count:
                prefix = self._prefix_mask(count, r * vf, elem)
                if all(wanted):
                    return prefix
                return low.emit(f"({ct})({prefix.name} & {hex(pattern)})", lane_bits, width, True, "m")
            return low.emit(f"({ct}){hex(pattern)}", lane_bits, width, True, "m")
        bits = width // vf
        args = ", ".join("-1" if w else "0" for w in wanted)
        lane_t = f"int{bits}"
        m = low.hoist(low.fill(low.template("setr", lane_t, width), args=args), lane_t, width, hint="m")
        return dataclasses.replace(m, mask=True)


def _hint(root: str) -> str:
    return re.sub(r"\W", "_", root)[:12] or "v"
