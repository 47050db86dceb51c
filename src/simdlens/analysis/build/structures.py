"""Arrays of structures as strided arrays of one member type (docs/analysis.md, "Arrays of structures").

`p[i].y` of `vec3 *p` (`struct { float x, y, z; }`) is element 3*i + 1 of `((float *)(p))`: the members
of consecutive structures form one strided array of their common scalar type, which the strided-group
lowering (rules/interleave.py) reads with loads and shuffles like `z[3*i + 1]`. The layout (sizeof,
member offsets) is clang's (`clang_facts.RecordLayout`), used only when it divides into whole elements
of the member type; the kernel and every rewrite assert it at compile time (`kernel._type_facts`), so
a misread layout fails to build instead of verifying.

Read here: `p[e].f`, `p[e].f[k]` (a constant k in a fixed-size array member), `p[e].a.f` (a member of a
nested structure) for an affine e, and the same through `p->` of a pointer the loop walks; p a pointer,
an array, or a C++ std::vector / std::array / std::span of structures (its storage is `p.data()`), and
`x.f` of a range-based for's `x` over one of them (`bind_range`). Other shapes keep the builder's reason.
"""

from __future__ import annotations

import re

import tree_sitter

from simdlens.analysis.build import accesses
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.syntax import Unsupported, index_node, node_text, op_of, squash, unwrap
from simdlens.analysis.ir import Access, CType
from simdlens.analysis.spans import node_span

# bytes of each canonical scalar type a member may have
_BYTES = {"int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4, "int64": 8, "uint64": 8,
          "float": 4, "double": 8}
# the element type of a container's declaration, `std::vector<Particle>` -> "Particle"
_ITEM = re.compile(r"^(?:std::)?\w+\s*<\s*([^,>]+)")
_QUALIFIERS = ("const", "volatile", "struct", "class")
# a member of `{0}` assigned or stepped: `p.x = `, `p.v[1] += `, `++p.x`, `p.pos.x--`
_MEMBER_WRITE = (r"(?<![\w.>]){0}\s*\.[\w.\s]*(?:\[[^\]]*\]\s*)?(?:(?:[-+*/%&|^]|<<|>>)?=(?!=)|\+\+|--)"
                 r"|(?:\+\+|--)\s*{0}\s*\.")
# the harness misaligns its buffers by multiples of 8 bytes: a structure aligned beyond that is not tested
MAX_ALIGN = 8


def member_access(lb: LoopBuilder, n: tree_sitter.Node) -> Access | None:
    """The member `n` of a structure the loop moves over, as an access of the strided view; None when
    `n` is not such a member (the caller's own reading and reasons apply). Raises `Unsupported` with the
    layout's reason when it is one but cannot be read as lanes."""
    element: tree_sitter.Node | None = None  # `k` of `p[i].v[k]`
    field = n
    if n.type == "subscript_expression":
        inner = unwrap(n.child_by_field_name("argument"))
        if inner is None or inner.type != "field_expression":
            return None
        element, field = index_node(n), inner
    elif n.type != "field_expression":
        return None
    names: list[str] = []  # `p[i].pos.x`: the path "pos.x" into the structure
    while True:
        obj = unwrap(field.child_by_field_name("argument"))
        name_node = field.child_by_field_name("field")
        if obj is None or name_node is None:
            return None
        names.insert(0, node_text(name_node))
        arrow = op_of(field) == "->" or node_text(field)[len(node_text(obj)):].lstrip(") \t\n").startswith("->")
        if not arrow and obj.type == "identifier" and node_text(obj) in lb.struct_refs:
            obj = lb.struct_refs[node_text(obj)]  # `v.x` with `const vec3 &v = p[i].vel;`: p[i].vel.x
        if arrow or obj.type != "field_expression":
            break
        field = obj
    fname = ".".join(names)
    idx: tree_sitter.Node | None = None
    ranged = False  # `p.x` of a range-based for's p
    if not arrow and obj.type == "subscript_expression":
        holder = unwrap(obj.child_by_field_name("argument"))
        idx = index_node(obj)
        if holder is None or holder.type != "identifier" or accesses.invariant_index(lb, idx):
            return None  # the same structure in every iteration: a loop-invariant member
        root = node_text(holder)
    elif arrow and obj.type == "identifier" and node_text(obj) in lb.walkers:
        root = node_text(obj)
    elif not arrow and obj.type == "identifier" and node_text(obj) in lb.record_walks:
        root, ranged = lb.record_walks[node_text(obj)], True  # `p.x` of `for (auto &p : ps)`: ps[k].x
    else:
        return None
    text = squash(node_text(n))
    real = lb.walk_alias.get(root, root)
    d = lb.decl_of(real)
    if d is None:
        raise Unsupported("unknown_identifier", f"cannot find the declaration of {real}", n)
    one_level = not (d.pointer or d.extents) if d.container else d.pointer + len(d.extents) == 1
    if not one_level:
        raise Unsupported("array_of_structs", f"{text}: {real} is not a one-level array of structures", n)
    ctx = lb.ctx
    found = ctx.element_layout(real, lb.node.start_byte, lb.site.function or "") if hasattr(
        ctx, "element_layout") else None
    if found is None:
        raise Unsupported("array_of_structs", f"{text} is a member of an array of structures ({real}): its "
                          "layout (sizeof, member offsets) is taken from clang, which gave no facts for it", n)
    spelling, kind, layout = found
    spelling = " ".join(w for w in spelling.split() if w not in ("const", "volatile"))
    if layout is None:
        what = "a union: its members share their bytes" if kind == "union" else f"clang gives no layout for it ({kind})"
        raise Unsupported("array_of_structs", f"{text}: the elements of {real} are '{spelling}', {what}", n)
    member = layout.field(fname)
    if member is None or not member.scalar:
        raise Unsupported("array_of_structs", f"{text}: the member {fname} of '{spelling}' is not a plain number "
                          "(a structure, a class such as a container, a pointer, bit-field, bool, enum or complex): not read as lanes", n)
    k = 0
    if element is not None:
        at = accesses.affine(lb, element)
        if member.count <= 1 or at is None or at.coeff != 0 or at.sym or not 0 <= at.offset < member.count:
            raise Unsupported("array_of_structs", f"{text}: only a constant index within the member array "
                              f"{fname}[{member.count}] is read as a strided access", n)
        k = at.offset
    elif member.count > 1:
        raise Unsupported("pointer_value", f"uses the member array {text} as a value", n)
    size = _BYTES[member.scalar]
    elem = CType(member.scalar, CType(member.scalar, "").c)
    if layout.size % size or member.offset % size:
        raise Unsupported("array_of_structs", f"{text}: the layout of '{spelling}' (sizeof {layout.size}, "
                          f"{fname} at byte {member.offset}) is not a whole number of {elem.c} elements: its "
                          "members are not one strided array", n)
    if layout.align > MAX_ALIGN:
        raise Unsupported("array_of_structs", f"{text}: '{spelling}' is aligned to {layout.align} bytes; the "
                          f"sandbox tests structures aligned to at most {MAX_ALIGN}", n)
    before = lb.arrays.get(real)
    if before is not None and (before.record == 0 or before.elem.name != elem.name):
        other = ", ".join(f"{m}" for m, _ in before.members) or "the whole structure"
        raise Unsupported("array_of_structs", f"{text}: the loop reads '{spelling}' as {before.elem.c} ({other}) "
                          f"and as {elem.c} ({fname}): a strided view has one element type (mixed members "
                          "are not rewritten)", n)
    stride = layout.size // size
    offset = member.offset // size + k
    if idx is not None:
        aff = accesses.affine(lb, idx)
        if aff is None:
            raise Unsupported("array_of_structs", f"{text}: an array of structures indexed by a computed "
                              "subscript is not rewritten", n)
        scaled = aff.scale(stride)
        coeff, off, sym = scaled.coeff, scaled.offset + offset, scaled.symbolic
    elif ranged:  # element k of the range-based for's synthetic counter
        coeff, off, sym = stride, offset, ""
    else:
        if root in lb.walk_strides:  # `p += inc` of structures: a stride in structures, not in members
            raise Unsupported("array_of_structs", f"{text}: a pointer to structures stepped by the run-time "
                              f"stride {lb.walk_strides[root]} is not rewritten", n)
        coeff, off, sym = lb.walkers[root] * stride, lb.walked.get(root, 0) * stride + offset, ""
    accesses.note_array(lb, real, d, elem)
    arr = lb.arrays[real]
    path = f"{fname}[0]" if member.count > 1 else fname
    members = arr.members if any(m == path for m, _ in arr.members) else (*arr.members, (path, member.offset))
    lb.arrays[real] = arr.with_record(stride, spelling, layout.size, members)
    storage = f"{real}.data()" if d.container else real  # the kernel passes a container's storage as `real`
    return Access(real, f"(({elem.c} *)({storage}))", elem, coeff, off, sym, None, node_span(n))


def whole_record(lb: LoopBuilder, name: str, node: tree_sitter.Node) -> Unsupported:
    """Why a range-based for's structure used as a value (an argument, an assignment) is not rewritten."""
    return Unsupported("array_of_structs", f"uses the structure {name} (each element of {lb.record_walks[name]}) as "
                       "a whole value: only its members that are numbers are read as lanes", node)


def holds_records(lb: LoopBuilder, name: str, node: tree_sitter.Node) -> bool:
    """Whether the elements of the array or container `name` are structures: the builder's own reading
    of its element type says so (`accesses.elem_of`), and their members are read by `member_access`."""
    d = lb.decl_of(name)
    if d is None:
        return False
    try:
        accesses.elem_of(lb, d, node, 1)
    except Unsupported as e:
        return e.code == "array_of_structs"
    return False


def bind_range(lb: LoopBuilder, var: str, root: str, spelled: str, reference: bool, node: tree_sitter.Node) -> None:
    """`for (auto &p : ps)`, `for (const Particle &p : ps)`, `for (Particle p : arr)` over structures: `p.f`
    is the member f of element k, read by `member_access`. A copy the body changes is not the element."""
    d = lb.decl_of(root)
    assert d is not None
    m = _ITEM.match(d.type) if d.container else None
    element = m.group(1) if m is not None else d.type
    words = [w for w in spelled.split() if w not in _QUALIFIERS]
    if words != ["auto"] and words != [w for w in element.split() if w not in _QUALIFIERS]:
        raise Unsupported("type_error", f"the loop variable {var} ('{spelled}') is not of the element type of "
                          f"{root} ('{element}')", node)
    body = lb.text(lb.body_node) if lb.body_node is not None else ""
    if not reference and re.search(_MEMBER_WRITE.format(re.escape(var)), body):
        raise Unsupported("array_of_structs", f"{var} is a copy of each structure of {root} and the body changes "
                          "it: not the element, not rewritten", node)
    lb.record_walks[var] = root
