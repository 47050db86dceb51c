"""Reversed accesses: lanes whose elements run backwards in memory (stride -1 in lane order), such as
`d[i] = s[n - 1 - i]` or `dst[n - 1 - i] = src[i]` in a downward loop.

The W lanes of a step touch W consecutive elements, lane 0 the highest and lane W-1 the lowest. A load reads
that block with one plain vector load (its lowest address is lane W-1's element) and turns it round with the
table's `reverse` permute; a store turns the value round and stores the block contiguously. The block is
exactly the elements the W iterations touch, so the footprint is the scalar loop's.

The masked last step (AVX-512) runs only its first `left` lanes, which touch the `left` elements from lane
`left - 1`'s up: it loads / stores those under the tail mask (a prefix of the register) at that address and
permutes with the index (W - 1 - k + left) mod W, which maps register element j to lane left - 1 - j and back
(permutexvar reads only the low bits of each index, so no "mod" is needed). That needs the table's
`reverse_tail` op; without it the masked step keeps the gather / scatter.

Accesses under a condition keep the lowering's general path (gathers, scatters, lane stores).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simdlens.analysis.ir import Access

if TYPE_CHECKING:
    from simdlens.rules.lower import Lowering, VVal


class ReversedAccesses:
    """Contiguous block loads / stores plus a lane reversal for the stride -1 accesses of one `Lowering`."""

    def __init__(self, low: Lowering) -> None:
        self.low = low

    def _usable(self, a: Access, guard: VVal | None) -> str | None:
        """The `reverse` op to use for `a` this step ("reverse" or "reverse_tail"), or None for the general path."""
        low = self.low
        if a.coeff is None or low.stride(a) != -1:
            return None
        width = low.width(a.elem)
        ops = low.t.ops  # exact rows only: a w128 permute is wrong for a half-filled register
        if ("load", a.elem.name, width) not in ops or ("store", a.elem.name, width) not in ops:
            return None
        if guard is None:
            return "reverse" if ("reverse", a.elem.name, width) in ops else None
        if low.ctx_mask is not None or guard is not low.tail_mask:
            return None  # a conditional access: the general path
        if not all((op, a.elem.name, width) in ops for op in ("reverse_tail", "maskload", "maskstore")):
            return None
        return "reverse_tail"

    def _address(self, a: Access, lane: str) -> str:
        """The address of the element lane `lane` (C text) of a stride -1 access touches."""
        low = self.low
        index = f"{a.coeff} * ({low.base}) + {a.offset} - ({lane})"
        if a.symbolic:
            index += f" + ({low.rename(a.symbolic)})"
        return f"&{low.rename(a.base)}[{index}]"

    def _tail_lanes(self) -> str:
        """C text: how many lanes the masked step runs (the tail mask is a prefix of the lanes)."""
        low = self.low
        m = low.tail_mask
        assert m is not None
        lane = next((f"int{b}" for b in (8, 16, 32, 64)  # any lane width whose register holds vf lanes
                     if low.t.op("mbits", f"int{b}", low.vf * b) is not None), m.elem)
        bits = low.fill(low.template("mbits", lane, low.vf * int(lane[3:])), m=m.name)
        return f"__builtin_popcountll({bits})"

    def load(self, a: Access, guard: VVal | None) -> VVal | None:
        """The lanes of `a` from its block, or None when `a` is not a plain reversed access."""
        op = self._usable(a, guard)
        if op is None:
            return None
        low = self.low
        elem, width = a.elem.name, low.width(a.elem)
        hint = _hint(a.root)
        low.features.add("reverse")
        if op == "reverse":
            block = low.op("load", elem, width, hint=f"{hint}_blk", p=self._address(a, str(low.vf - 1)))
            return low.op("reverse", elem, width, hint=hint, a=block.name)
        assert guard is not None
        lanes = low.fresh("lanes")
        low.lines.append(f"const int {lanes} = {self._tail_lanes()};")
        m = low.mask_as(guard, a.elem.bits)
        block = low.op("maskload", elem, width, hint=f"{hint}_blk", p=self._address(a, f"{lanes} - 1"), m=m.name)
        return low.op("reverse_tail", elem, width, hint=hint, a=block.name, x=lanes)

    def store(self, a: Access, value: VVal, guard: VVal | None) -> bool:
        """Store `value` to a plain reversed access (True), or leave it to the general path (False)."""
        op = self._usable(a, guard)
        if op is None:
            return False
        low = self.low
        elem, width = a.elem.name, low.width(a.elem)
        low.features.add("reverse")
        if op == "reverse":
            turned = low.op("reverse", elem, width, hint=_hint(a.root), a=value.name)
            low.lines.append(low.fill(low.template("store", elem, width), p=self._address(a, str(low.vf - 1)),
                                      a=turned.name) + ";")
            return True
        assert guard is not None
        lanes = low.fresh("lanes")
        low.lines.append(f"const int {lanes} = {self._tail_lanes()};")
        turned = low.op("reverse_tail", elem, width, hint=_hint(a.root), a=value.name, x=lanes)
        m = low.mask_as(guard, a.elem.bits)
        low.lines.append(low.fill(low.template("maskstore", elem, width), p=self._address(a, f"{lanes} - 1"),
                                  m=m.name, a=turned.name) + ";")
        return True


def _hint(root: str) -> str:
    from simdlens.rules.lower import _hint as lower_hint

    return lower_hint(root)
