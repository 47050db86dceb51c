"""Tree-sitter helpers shared by the IR builder: node text, parentheses, fields and operators, the
refusal exception (`Unsupported`), and the operator tables.
"""

from __future__ import annotations

import re

import tree_sitter

from simdlens.analysis.ir import ReduceOp
from simdlens.analysis.spans import node_span
from simdlens.core import Reason

IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def node_text(node: tree_sitter.Node | None) -> str:
    t = node.text if node is not None else None
    return t.decode("utf-8", "replace") if t is not None else ""


def squash(text: str) -> str:
    return "".join(text.split())


LOOP_TYPES = frozenset({"for_statement", "while_statement", "do_statement", "for_range_loop"})


class Unsupported(Exception):
    def __init__(self, code: str, message: str, node: tree_sitter.Node | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.node = node
        self._reason: Reason | None = None

    @property
    def reason(self) -> Reason:
        # made when asked: some refusals are caught and dropped at once (`row_varies`: read the row another way)
        if self._reason is None:
            self._reason = Reason(self.code, self.message, node_span(self.node) if self.node is not None else None)
        return self._reason


ARITH = {"+", "-", "*", "/", "%", "&", "|", "^"}

CMP = {"<", "<=", ">", ">=", "==", "!="}

FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}

REDUCE_OPS = {"+": ReduceOp.ADD, "-": ReduceOp.SUB, "*": ReduceOp.MUL, "&": ReduceOp.AND, "|": ReduceOp.OR,
              "^": ReduceOp.XOR}


CONTROL = {"goto_statement": ("goto", "uses goto"),
           "gnu_asm_expression": ("asm", "contains inline assembly"), "asm_statement": ("asm", "contains inline assembly"),
           "labeled_statement": ("goto", "contains a label (goto target)"),
           "try_statement": ("exception", "contains try/catch"), "throw_statement": ("exception", "throws")}


def _wrapper_kind_ids() -> frozenset[int]:
    """Kind ids that are `parenthesized_expression` / `condition_clause` in the C or the C++ grammar (a
    cheap pre-test: most nodes `unwrap` sees are neither, and reading an int costs less than a name)."""
    from simdlens.analysis.parse import grammar

    ids: set[int] = set()
    for g in (grammar("c"), grammar("cpp")):
        ids.update(i for i in range(g.node_kind_count)
                   if g.node_kind_for_id(i) in ("parenthesized_expression", "condition_clause"))
    return frozenset(ids)


WRAPPER_KIND_IDS = _wrapper_kind_ids()


def unwrap(node: tree_sitter.Node | None) -> tree_sitter.Node | None:
    while node is not None and node.kind_id in WRAPPER_KIND_IDS and node.type in ("parenthesized_expression",
                                                                                  "condition_clause"):
        inner = [c for c in node.named_children if c.type != "comment"]
        if len(inner) != 1:
            return node
        node = inner[0]
    return node


def field_of(node: tree_sitter.Node, name: str) -> tree_sitter.Node:
    c = node.child_by_field_name(name)
    if c is None:
        raise Unsupported("unsupported", f"cannot read this {node.type.replace('_', ' ')}", node)
    return c


def op_of(node: tree_sitter.Node) -> str:
    o = node.child_by_field_name("operator")
    return o.type if o is not None else ""  # an operator token's node type is its text


def stmts_of(node: tree_sitter.Node | None) -> list[tree_sitter.Node]:
    if node is None:
        return []
    if node.type == "compound_statement":
        return [c for c in node.named_children if c.type != "comment"]
    return [node]


def index_node(sub: tree_sitter.Node) -> tree_sitter.Node:
    idx = sub.child_by_field_name("index")
    if idx is None:
        lst = sub.child_by_field_name("indices")
        if lst is not None:
            kids = [c for c in lst.named_children if c.type != "comment"]
            if len(kids) == 1:
                return kids[0]
        raise Unsupported("unsupported", "unsupported subscript", sub)
    return idx


def braced_value(init: tree_sitter.Node) -> tree_sitter.Node | bool | None:
    """A C++ brace initialiser of a scalar (`float acc{}`, `std::size_t i{0}`, `float t{a[i] * b[i]}`): the
    one expression it holds, True for `{}` (the value 0), False when it holds more (or designators)."""
    items = [c for c in init.named_children if c.type != "comment"]
    if not items:
        return True
    if len(items) == 1 and items[0].type not in ("initializer_list", "initializer_pair"):
        return items[0]
    return False
