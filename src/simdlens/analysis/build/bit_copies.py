"""`memcpy` between a loop temporary and an array element of the same size: the way C code reads a float's
bits (`uint32_t u; memcpy(&u, &src[i], 4);`, the fp32 -> bf16 rounding of ML code) without breaking
strict aliasing. Copying an element's bytes into a temporary of another type is a load of that element
as the temporary's type, and the other way round a store: the access keeps the array as its root (the
dependence and overlap tests see the same bytes) and reads it through a cast base,
`((const uint32_t *)(src))[i]`, as the complex parts are read. A copy between two temporaries (a value's
bits, `memcpy(&f, &u, 4)`) is a BIT_CAST call, which the rules lower to a register cast; so is reading a
union temporary through another member than the one last written (`v.f = x[i]; out[i] = v.u >> 16;`).
"""

from __future__ import annotations

import re
from dataclasses import replace

import tree_sitter

from simdlens.analysis.build import accesses
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.c_types import convert, ctype_of
from simdlens.analysis.build.syntax import Unsupported, field_of, op_of, squash, unwrap
from simdlens.analysis.ir import Access, Call, CType, Expr, Let, Load, Scalar, ScalarRole, Stmt, Store, Var
from simdlens.analysis.spans import node_span

# Call name: the bits of its one argument as the call's type (of the same size)
BIT_CAST = "simdlens_bit_cast"

# Scalar.decl of a union temporary: its IR type is the member last written, not its declared type
UNION_TEMPORARY = "union temporary"

MEMCPY = frozenset({"memcpy", "__builtin_memcpy", "std::memcpy", "memmove", "__builtin_memmove", "std::memmove"})


def bit_copy(lb: LoopBuilder, call: tree_sitter.Node) -> list[Stmt]:
    """The statement `memcpy(dst, src, size)` as a Let of the temporary or a Store of the element."""
    name = squash(lb.text(field_of(call, "function")))
    args = [a for a in field_of(call, "arguments").named_children if a.type != "comment"]
    if len(args) != 3:
        raise Unsupported("call", f"calls {name}", call)
    dst, src, size = args
    local_dst, local_src = _local(lb, dst), _local(lb, src)
    if local_dst and local_src:  # a computed value's bits as another type (bf16 -> fp32: `memcpy(&f, &u, 4)`)
        to, source = lb.locals[local_dst], lb.locals[local_src]
        if to.bits != source.bits or to.is_complex or source.is_complex or _bytes(lb, size, to, dst) != to.bits // 8:
            raise Unsupported("bit_cast", f"{name} copies {lb.text(size)} bytes between {local_src} "
                              f"('{source.spelling}') and {local_dst} ('{to.spelling}'): not the whole of both", call)
        lb.local_aff.pop(local_dst, None)
        return [Let(local_dst, to, Call(BIT_CAST, (Var(local_src, source),), to), node_span(call))]
    if not local_dst and not local_src:
        raise Unsupported("call", f"{name} copies between arrays: not rewritten (only an element copied to or "
                          "from a loop temporary of the same size is)", call)
    local = local_dst or local_src
    t = lb.locals[local]
    element = unwrap(src if local_dst else dst) or (src if local_dst else dst)
    acc = _element(lb, element)
    if acc is None:
        raise Unsupported("call", f"{name} copies {lb.text(element)}: only one array element "
                          f"(&a[i], a + i, or a walking pointer) is copied to or from {local}", call)
    if acc.elem.is_complex or acc.elem.bits != t.bits:
        raise Unsupported("bit_cast", f"{name} copies {lb.text(size)} bytes between {local} ('{t.spelling}') "
                          f"and {lb.text(element)} ('{acc.elem.spelling}'): not the same size", call)
    if _bytes(lb, size, t, element, acc.root) != t.bits // 8:
        raise Unsupported("bit_cast", f"{name} copies {lb.text(size)} bytes, not the {t.bits // 8} bytes of {local} "
                          f"('{t.spelling}')", call)
    arr = lb.arrays.get(acc.root)
    if arr is not None and t != acc.elem:
        lb.arrays[acc.root] = replace(arr, bytes_copied=True)
    seen = _seen_as(acc, t, read_only=bool(local_dst))
    if local_dst:
        lb.local_aff.pop(local, None)
        return [Let(local, t, Load(seen), node_span(call))]
    return [Store(seen, Var(local, t), node_span(call))]


def _seen_as(acc: Access, t: CType, *, read_only: bool) -> Access:
    """The element read or written as `t` (the same bytes: `t` has the element's size)."""
    if t == acc.elem:
        return acc
    const = "const " if read_only else ""
    return Access(acc.root, f"(({const}{t.c} *)({acc.base}))", t, acc.coeff, acc.offset, acc.symbolic, acc.index,
                  acc.span)


def _local(lb: LoopBuilder, n: tree_sitter.Node) -> str:
    """The loop temporary `&u` points at, or ""."""
    n = unwrap(n) or n
    if n.type == "pointer_expression" and op_of(n) == "&":
        arg = unwrap(field_of(n, "argument"))
        if arg is not None and arg.type == "identifier" and lb.text(arg) in lb.locals:
            return lb.text(arg)
    return ""


def _element(lb: LoopBuilder, n: tree_sitter.Node) -> Access | None:
    """The array element an address names: `&a[i]`, `&*p`, `a + i`, `p` or `p++` (read as `*(…)`)."""
    if n.type == "pointer_expression" and op_of(n) == "&":
        arg = unwrap(field_of(n, "argument"))
        if arg is None or arg.type not in ("subscript_expression", "pointer_expression"):
            return None
        return accesses.access(lb, arg)
    if n.type in ("identifier", "binary_expression", "update_expression"):
        return accesses.deref(lb, n, n, node_span(n))
    return None


def _bytes(lb: LoopBuilder, size: tree_sitter.Node, t: CType, element: tree_sitter.Node, root: str = "") -> int | None:
    """The byte count a size argument gives: a constant, or `sizeof` of the temporary, the element or a type."""
    n = unwrap(size) or size
    if n.type == "sizeof_expression":
        inner = n.child_by_field_name("value") or n.child_by_field_name("type")
        text = squash(lb.text(inner)).strip("()") if inner is not None else ""
        if text in lb.locals:
            return lb.locals[text].bits // 8
        address = squash(lb.text(element))
        if text in (address.removeprefix("&"), f"*{address}", f"*({address})") or (
                root and re.fullmatch(rf"\*\s*{re.escape(root)}|{re.escape(root)}\s*\[.*\]", text)):
            return t.bits // 8  # an element (`sizeof src[i]`, `sizeof *src`): checked to be t's size by the caller
        ct = ctype_of(text, lb.ctx)
        return ct.bits // 8 if ct is not None else None
    return lb.int_text(lb.text(n))


def union_local(lb: LoopBuilder, name: str, type_text: str) -> bool:
    """Register a body temporary of a union type whose members are scalars of one size (the bits of one
    value seen as several types); False for any other type."""
    struct_of = getattr(lb.ctx, "struct_of", None)
    record = struct_of(type_text) if struct_of is not None else None
    if record is None or record.kind != "union" or not record.fields:
        return False
    members: dict[str, CType] = {}
    for f in record.fields:
        t = ctype_of(f.type, lb.ctx) if not (f.pointer or f.extents or f.volatile or f.atomic) else None
        if t is None or t.is_complex:
            return False
        members[f.name] = t
    if len({t.bits for t in members.values()}) != 1:
        return False
    lb.unions[name] = members
    lb.union_member.pop(name, None)
    return True


def union_write(lb: LoopBuilder, name: str, member: str, value: Expr, cond: bool, n: tree_sitter.Node) -> list[Stmt]:
    """`v.f = value`: the union temporary now holds a value of f's type."""
    t = lb.unions[name].get(member)
    if t is None:
        raise Unsupported("bit_cast", f"the union {name} has no scalar member {member}", n)
    if cond:  # which member holds the bits would depend on the branch taken
        raise Unsupported("bit_cast", f"writes the union member {name}.{member} under a condition", n)
    lb.locals[name] = t
    lb.scalars[name] = Scalar(name, t, ScalarRole.LOCAL, decl=UNION_TEMPORARY)
    lb.union_member[name] = member
    return [Let(name, t, convert(value, t), node_span(n))]


def union_read(lb: LoopBuilder, name: str, member: str, n: tree_sitter.Node) -> Expr:
    """`v.u`: the value last written, or its bits as u's type."""
    t = lb.unions[name].get(member)
    if t is None:
        raise Unsupported("bit_cast", f"the union {name} has no scalar member {member}", n)
    written = lb.union_member.get(name)
    if written is None:
        raise Unsupported("bit_cast", f"reads {name}.{member} before the iteration writes a member of {name}", n)
    held = lb.locals[name]
    return Var(name, held) if written == member else Call(BIT_CAST, (Var(name, held),), t)


def union_member_of(lb: LoopBuilder, n: tree_sitter.Node) -> tuple[str, str] | None:
    """(temporary, member) for `v.m` of a union temporary of the body, else None."""
    if not lb.unions:  # most bodies declare no union: nothing to read
        return None
    n = unwrap(n) or n
    if n.type != "field_expression" or op_of(n) == "->":
        return None
    arg = unwrap(n.child_by_field_name("argument"))
    if arg is None or arg.type != "identifier" or lb.text(arg) not in lb.unions:
        return None
    return lb.text(arg), lb.text(n.child_by_field_name("field"))
