"""`if (m[i]) out[i] = packed[j++];` (optionally `else out[i] = v;`): unpack / expand, the inverse of a
pack. The next element of `packed` goes to each selected element of `out`; a SIMD rewrite loads as many
as a vector selects and moves them into place with a permutation built from the mask."""

from __future__ import annotations

import tree_sitter

from simdlens.analysis.build import accesses, counters, expressions, scalars
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.c_types import convert
from simdlens.analysis.build.declarations import Decl
from simdlens.analysis.build.syntax import field_of, index_node, op_of, unwrap
from simdlens.analysis.ir import Access, Expand, Expr, Scalar, ScalarRole, Stmt, Var
from simdlens.analysis.spans import node_span
from simdlens.core import Span


def if_expand(lb: LoopBuilder, cnode: tree_sitter.Node, then: list[tree_sitter.Node],
              else_nodes: list[tree_sitter.Node], span: Span, cond: bool) -> list[Stmt] | None:
    """The `Expand` of `if (c) dst[i] = src[j++];` / `if (c) { dst[i] = src[j]; j++; }`, or of TSVC's
    `if (c) { j++; dst[i] = src[j]; }` / `dst[i] = src[++j]` (the element after the counter), or None."""
    if cond or not then or len(then) > 2 or len(else_nodes) > 1:
        return None
    found = counters.stepped_subscript(then, _source_index)
    if found is None or op_of(found[0]) != "=":
        return None
    a, counter, lead = found
    left, src = unwrap(a.child_by_field_name("left")), unwrap(a.child_by_field_name("right"))
    if left is None or left.type != "subscript_expression" or src is None or src.type != "subscript_expression":
        return None
    if not counter or counter in lb.locals or counter == lb.iv:
        return None
    if any(not (span.start_byte <= u.pos < span.end_byte) for u in lb.uses.get(counter, [])):
        return None  # read or written elsewhere in the body: not a plain expand counter
    fill: Expr | None = None
    dst = accesses.access(lb, left)
    if else_nodes:
        other = _assignment(else_nodes[0])
        if other is None or unwrap(other[0]) is None or lb.text(other[0]).replace(" ", "") != lb.text(left).replace(" ", ""):
            return None
        fill = convert(expressions.expr(lb, other[1]), dst.elem)
    if dst.index is not None or dst.coeff != 1:
        return None
    ct = scalars.outer_scalar(lb, counter, src)
    if ct.is_float:
        return None
    base = unwrap(field_of(src, "argument"))
    assert base is not None
    root, base_text, elem, arr = accesses.array_base(lb, base)
    if elem.name != dst.elem.name or root == dst.root:
        return None  # a conversion on the way, or expanding in place
    accesses.note_array(lb, root, arr, elem)
    source = Access(root, base_text, elem, None, 0, "", Var(counter, ct), node_span(src))
    c = expressions.expr(lb, cnode)
    lb.scalars[counter] = Scalar(counter, ct, ScalarRole.COUNTER, decl=(lb.decl_of(counter) or Decl(counter, "")).text)
    lb.written_outer.add(counter)
    return [Expand(c, dst, source, counter, fill, span, lead)]


def _source_index(a: tree_sitter.Node) -> tree_sitter.Node | None:
    """The subscript of the element an assignment reads: `src[j]` of `dst[i] = src[j]`."""
    src = unwrap(a.child_by_field_name("right"))
    return index_node(src) if src is not None and src.type == "subscript_expression" else None


def _assignment(n: tree_sitter.Node) -> tuple[tree_sitter.Node, tree_sitter.Node] | None:
    if n.type != "expression_statement" or not n.named_children:
        return None
    a = unwrap(n.named_children[0])
    if a is None or a.type != "assignment_expression" or op_of(a) != "=":
        return None
    left = unwrap(a.child_by_field_name("left"))
    return (left, field_of(a, "right")) if left is not None else None
