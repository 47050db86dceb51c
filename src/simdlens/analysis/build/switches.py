"""`switch` and forward `goto` in a loop body as if-converted branches.

    switch (op[i]) { case 0: case 1: A; break; case 2: B; break; default: C; }
        -> if (op[i] == 0 || op[i] == 1) { A } else if (op[i] == 2) { B } else { C }
    if (c) goto next; A; next: B;
        -> if (!c) { A } B

    switch (op[i]) { case 0: A; case 1: B; break; default: C; }     (case 0 falls through)
        -> if (op[i] == 0) { A B } else if (op[i] == 1) { B } else { C }
    if (c1) goto L; A; if (c2) goto L; B; L: C;
        -> if (!c1) { A if (!c2) { B } } C

    if (c1) goto L20; A; goto L30; L20: B; L30: C;               (jumps that do not nest)
        -> if (!c1) { A } if (c1) { B } C                           (each statement under its paths)

Each lane then takes the branch of its own value (blends, masked stores), as for any `if`. A `break` or
`goto` inside a case's statements, a case label that is not a constant, a backward `goto` (a loop inside
the body), one that leaves its label's block, or a jump whose condition the statements after it change
stay unconverted, with the reason saying which.
"""

from __future__ import annotations

import tree_sitter

from simdlens.analysis.build import accesses, expressions, statements
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.syntax import Unsupported, field_of, node_text
from simdlens.analysis.ir import (
    INT32,
    Access,
    Binary,
    Const,
    Expr,
    If,
    Let,
    Load,
    Select,
    Stmt,
    Store,
    Unary,
    Var,
    walk_exprs,
    walk_stmts,
)
from simdlens.analysis.spans import node_span
from simdlens.core import Reason

_STOPS = ("break_statement", "continue_statement", "return_statement", "goto_statement", "labeled_statement")


def switch_statement(lb: LoopBuilder, n: tree_sitter.Node, cond: bool) -> list[Stmt]:
    """The `If` chain a switch on a value of the iteration stands for, or `Unsupported` saying why not."""
    value = expressions.expr(lb, field_of(n, "condition"))
    body = n.child_by_field_name("body")
    cases = [c for c in (body.named_children if body is not None else []) if c.type == "case_statement"]
    groups: list[tuple[list[Expr], list[tree_sitter.Node], bool]] = []  # (labels, statements, has default)
    falls: list[bool] = []  # whether each group runs on into the next one
    labels: list[Expr] = []
    default = False
    for k, case in enumerate(cases):
        label = case.child_by_field_name("value")
        if label is None:
            default = True
        else:
            c = expressions.expr(lb, label)
            if not isinstance(c, Const):
                raise Unsupported("switch", f"the case label '{lb.text(label)}' is not a constant: the switch "
                                  "is not if-converted", label)
            labels.append(c)
        stmts = [s for s in case.named_children if s.type != "comment" and s != label]
        if not stmts:
            continue  # `case 0: case 1:` share the statements that follow
        ends = stmts[-1].type == "break_statement"
        if ends:
            stmts = stmts[:-1]
        for s in stmts:
            if s.type in _STOPS or _contains(s, _STOPS):
                raise Unsupported("switch", "a case leaves or jumps from inside its statements "
                                  f"('{lb.text(s).strip()[:30]}'): the switch is not if-converted", s)
        groups.append((labels, stmts, default))
        falls.append(not ends and k != len(cases) - 1)
        labels, default = [], False
    if labels or default:  # trailing labels without statements: those values do nothing
        groups.append((labels, [], default))
        falls.append(False)
    for k in range(len(groups) - 2, -1, -1):  # a case without break runs its own statements, then the next's
        if falls[k]:
            groups[k] = (groups[k][0], groups[k][1] + groups[k + 1][1], groups[k][2])
    span = node_span(n)
    through = " (cases that fall through run the next case's statements too)" if any(falls) else ""
    lb.reasons.append(Reason("if_convert", f"a switch on {lb.text(field_of(n, 'condition')).strip('() ')}{through}: "
                             "compilers leave a switch in a loop scalar; a SIMD rewrite evaluates every case for all "
                             "lanes and blends the results, each lane keeping its own case's", span))
    # a value no label matches runs the default's statements; so do the default group's own labels (C's
    # labels are distinct, so they match no other group)
    defaults = [stmts for _labels, stmts, is_default in groups if is_default]
    if not [g for g in groups if not g[2] and g[0]]:
        return statements.block(lb, defaults[0], cond) if defaults else []
    chain: tuple[Stmt, ...] = tuple(statements.block(lb, defaults[0], True)) if defaults else ()
    stored = _single_store(chain) if defaults else None  # every case stores one element: one blended store
    for group_labels, stmts, is_default in reversed(groups):
        if is_default or not group_labels:
            continue
        test: Expr = expressions.arith("==", value, group_labels[0], n)
        for c in group_labels[1:]:
            test = Binary("||", test, expressions.arith("==", value, c, n), INT32)
        then = tuple(statements.block(lb, stmts, True))
        mine = _single_store(then)
        if stored is not None and mine is not None and _same_place(mine.access, stored.access):
            stored = Store(stored.access, Select(test, mine.value, stored.value, stored.access.elem), span)
        else:
            stored = None
        chain = (If(test, then, chain, span),)
    return [stored] if stored is not None else list(chain)


def _single_store(stmts: tuple[Stmt, ...]) -> Store | None:
    return stmts[0] if len(stmts) == 1 and isinstance(stmts[0], Store) and stmts[0].access.index is None else None


def _same_place(a: Access, b: Access) -> bool:
    return (a.root, a.base, a.coeff, a.offset, a.symbolic) == (b.root, b.base, b.coeff, b.offset, b.symbolic)


def goto_skip(lb: LoopBuilder, nodes: list[tree_sitter.Node], i: int) -> tuple[list[Stmt], int, Expr | None] | None:
    """`if (c) goto L; A; L: B` in one block: (`[if (!c) { A }]`, the index of `L: B`, and `c` when A ends the
    iteration with `continue`, so that B runs only where c holds), or None. Several
    such gotos convert when every goto of the body has this shape and their jumps nest (`if (c2) goto L;`
    inside A, to the same L or to a label inside A); one that crosses another's label does not."""
    name = _goto_target(nodes[i])
    if name is None:
        return None
    n = nodes[i]
    for j in range(i + 1, len(nodes)):
        target = nodes[j]
        if target.type == "labeled_statement" and lb.text(target.child_by_field_name("label") or target) == name:
            break
    else:
        return None
    whole = lb.body_node
    if whole is None or not _nested_forward_gotos(whole):
        return None  # another jump or another label could reach the code between
    c = expressions.expr(lb, field_of(n, "condition"))
    skipped = _skip_to(lb, nodes[i + 1:j], name)
    if any(x.type == "continue_statement" for x in nodes[i + 1:j]):
        # `if (c) goto L; A; continue; L: B`: B runs only where c holds, which is tested again after A
        written = {a.root for a, w, _ in accesses.accesses_of(tuple(skipped)) if w}
        assigned = lb.written_outer | {x.name for x in walk_stmts(tuple(skipped)) if isinstance(x, Let)}
        if any((isinstance(x, Load) and x.access.root in written) or (isinstance(x, Var) and x.name in assigned)
               for x in walk_exprs(c)):
            raise Unsupported("goto", f"`goto {name}` skips statements that change what its condition reads, and "
                              "`continue` skips the label's: the paths cannot be told apart after them", n)
        label_cond: Expr | None = c
    else:
        label_cond = None
    lb.reasons[:] = [r for r in lb.reasons if r.code != "goto"]  # reported by the uses walk: converted now
    lb.reasons.append(Reason("if_convert", f"`goto {name}` skips the rest of the iteration where its condition "
                             "holds: read as an `if` around the skipped statements, which a SIMD rewrite runs for all "
                             "lanes under a mask", node_span(n)))
    return [If(Unary("!", c, INT32), tuple(skipped), (), node_span(n))], j, label_cond


def _skip_to(lb: LoopBuilder, nodes: list[tree_sitter.Node], name: str) -> list[Stmt]:
    """The statements before label `name`, where another `if (c) goto name;` skips the rest of them (one
    scope: a variable declared before that jump is read after it)."""
    lb.scopes.append(set())
    try:
        return _skip_in_scope(lb, nodes, name)
    finally:
        lb.scopes.pop()


def _skip_in_scope(lb: LoopBuilder, nodes: list[tree_sitter.Node], name: str) -> list[Stmt]:
    for k, n in enumerate(nodes):
        if _goto_target(n) == name:
            head = statements.block_in_scope(lb, nodes[:k], True)
            c = expressions.expr(lb, field_of(n, "condition"))
            rest = _skip_in_scope(lb, nodes[k + 1:], name)
            return [*head, If(Unary("!", c, INT32), tuple(rest), (), node_span(n))]
    return statements.block_in_scope(lb, nodes, True)


def _goto_target(n: tree_sitter.Node) -> str | None:
    """L of `if (c) goto L;` / `if (c) { goto L; }` (no else), else None."""
    if n.type != "if_statement" or n.child_by_field_name("alternative") is not None:
        return None
    then = statements.stmts_of(n.child_by_field_name("consequence"))
    if len(then) != 1 or then[0].type != "goto_statement":
        return None
    label = then[0].child_by_field_name("label")
    return node_text(label) if label is not None else None


def _nested_forward_gotos(body: tree_sitter.Node) -> bool:
    """Every goto of the body is `if (c) goto L;` in the block of its label L, before it; labels are
    unique; and a jump that starts between another jump and its label lands at or before that label."""
    labels: dict[str, tree_sitter.Node] = {}
    jumps: list[tuple[int, int]] = []  # (start of the `if`, start of its label)
    gotos: list[tree_sitter.Node] = []
    for x in _all_nodes(body):
        if x.type == "labeled_statement":
            name = node_text(x.child_by_field_name("label") or x)
            if name in labels:
                return False
            labels[name] = x
        elif x.type == "goto_statement":
            gotos.append(x)
    for g in gotos:
        owner = g.parent
        if owner is not None and owner.type == "compound_statement":
            owner = owner.parent
        label = labels.get(node_text(g.child_by_field_name("label") or g))
        if owner is None or owner.type != "if_statement" or _goto_target(owner) is None or label is None:
            return False
        if owner.parent is None or label.parent is None or owner.parent.id != label.parent.id:
            return False  # not in the label's block
        if label.start_byte < owner.end_byte:
            return False  # a backward jump: a loop inside the body
        jumps.append((owner.start_byte, label.start_byte))
    for a_from, a_to in jumps:
        for b_from, b_to in jumps:
            if a_from < b_from < a_to < b_to:
                return False  # b starts inside a's skip and lands past a's label
    return True


def _contains(n: tree_sitter.Node, kinds: tuple[str, ...]) -> bool:
    stack = list(n.children)
    while stack:
        x = stack.pop()
        if x.type in kinds:
            return True
        stack.extend(x.children)
    return False


def goto_paths(lb: LoopBuilder, nodes: list[tree_sitter.Node], i: int) -> list[Stmt] | None:
    """Forward gotos that do not nest (an `if/else` written `if (c) goto L20; A; goto L30; L20: B; L30: C;`,
    TSVC s1161 and s279): the statements of `nodes[i:]`, each under the condition that execution reaches it
    (an `||` of the paths of jump decisions leading there), or None when the block has another shape.

    Every goto and label of the body must be one of these statements (`if (c) goto L;`, `goto L;`, `L: S`),
    each jump forward, each label once. A path condition is evaluated again where it guards a statement,
    so the statements between a jump and that statement must not write what its condition reads."""
    whole = lb.body_node
    if whole is None or any(n.parent is None or n.parent.id != whole.id for n in nodes):
        return None  # only the top level of the loop body
    items = nodes[i:]
    labels = {lb.text(n.child_by_field_name("label") or n): k for k, n in enumerate(items)
              if n.type == "labeled_statement"}
    top = {n.id for n in items}
    for x in _all_nodes(whole):
        if x.type == "labeled_statement" and x.id not in top:
            return None
        if x.type == "goto_statement":
            owner = x.parent
            if owner is not None and owner.type == "compound_statement":
                owner = owner.parent
            if owner is None or (owner.id not in top and x.parent is not None and x.parent.id != whole.id):
                return None
    if len(labels) != sum(1 for n in items if n.type == "labeled_statement"):
        return None  # a label twice
    conds: list[Expr] = []
    written: list[set[str]] = []  # per condition: what the statements since its jump wrote
    reach: dict[int, list[frozenset[tuple[int, bool]]]] = {0: [frozenset()]}
    out: list[Stmt] = []
    for k, n in enumerate(items):
        paths = _simplified(reach.get(k, []))
        node = n
        if n.type == "labeled_statement":
            inner = [c for c in n.named_children if c.type not in ("statement_identifier", "comment")]
            if not inner:
                reach.setdefault(k + 1, []).extend(paths)
                continue
            node = inner[0]
        target = _goto_target(node)
        if target is None and node.type == "expression_statement" and node.named_child_count == 0:
            reach.setdefault(k + 1, []).extend(paths)
            continue
        if target is None and node.type == "goto_statement":
            label = lb.text(node.child_by_field_name("label") or node)
            if labels.get(label, -1) <= k:
                return None  # backward: a loop inside the body
            reach.setdefault(labels[label], []).extend(paths)
            continue  # nothing falls through an unconditional jump
        if target is not None:
            if labels.get(target, -1) <= k:
                return None
            c = expressions.expr(lb, field_of(node, "condition"))
            conds.append(c)
            written.append(set())
            j = len(conds) - 1
            reach.setdefault(labels[target], []).extend(p | {(j, True)} for p in paths)
            reach.setdefault(k + 1, []).extend(p | {(j, False)} for p in paths)
            continue
        if node.type in _STOPS or _contains(node, _STOPS):
            return None
        if not paths:
            continue  # no path reaches it
        guarded = paths != [frozenset()]
        try:
            stmts = statements.statement(lb, node, guarded)
        except Unsupported as e:  # as block_in_scope does: the reason, and the statement left out
            lb.reasons.append(e.reason)
            stmts = []
        used = {j for p in paths for j, _ in p}
        if any(_reads(conds[j]) & written[j] for j in used):
            return None  # a condition's inputs changed since its jump: evaluating it here would differ
        if guarded:
            out.append(If(_condition(paths, conds), tuple(stmts), (), node_span(node)))
        else:
            out.extend(stmts)
        writes = _writes(stmts)
        for w in written:
            w |= writes
        reach.setdefault(k + 1, []).extend(paths)
    lb.reasons[:] = [r for r in lb.reasons if r.code != "goto"]  # converted
    lb.reasons.append(Reason("if_convert", "the gotos of the body jump forward only: each statement runs where "
                             "the jumps' conditions lead to it (an if/else written with gotos), which a SIMD "
                             "rewrite evaluates for all lanes under masks", node_span(items[0])))
    return out


def _all_nodes(n: tree_sitter.Node) -> list[tree_sitter.Node]:
    out, stack = [], [n]
    while stack:
        x = stack.pop()
        out.append(x)
        stack.extend(x.children)
    return out


def _simplified(paths: list[frozenset[tuple[int, bool]]]) -> list[frozenset[tuple[int, bool]]]:
    """The same condition with fewer paths: `p && c || p && !c` is `p`, and a path that contains another
    is implied by it."""
    now = set(paths)
    changed = True
    while changed:
        changed = False
        for p in list(now):
            for j, v in p:
                twin = (p - {(j, v)}) | {(j, not v)}
                if twin in now:
                    now -= {p, twin}
                    now.add(p - {(j, v)})
                    changed = True
                    break
            if changed:
                break
        now = {p for p in now if not any(q < p for q in now)}
    return sorted(now, key=lambda p: sorted(p))


def _condition(paths: list[frozenset[tuple[int, bool]]], conds: list[Expr]) -> Expr:
    """`||` over the paths of `&&` over their decisions (a jump taken: its condition; not taken: its negation)."""
    out: Expr | None = None
    for p in paths:
        term: Expr | None = None
        for j, taken in sorted(p):
            d = conds[j] if taken else Unary("!", conds[j], INT32)
            term = d if term is None else Binary("&&", term, d, INT32)
        assert term is not None  # the empty path (always) is never guarded
        out = term if out is None else Binary("||", out, term, INT32)
    assert out is not None
    return out


def _reads(e: Expr) -> set[str]:
    return {x.access.root if isinstance(x, Load) else x.name for x in walk_exprs(e) if isinstance(x, Load | Var)}


def _writes(stmts: list[Stmt]) -> set[str]:
    out: set[str] = set()
    for s in walk_stmts(tuple(stmts)):
        if isinstance(s, Store):
            out.add(s.access.root)
        name = getattr(s, "var", None) or getattr(s, "name", None)
        if isinstance(name, str):
            out.add(name)
    return out


def is_goto(n: tree_sitter.Node) -> bool:
    """`if (c) goto L;`."""
    return _goto_target(n) is not None


def backward_jumps(lb: LoopBuilder, label: tree_sitter.Node) -> None:
    """Raise the reason a `goto` back to `label` (later in the body) keeps the loop scalar, if there is one."""
    name = lb.text(label.child_by_field_name("label") or label)
    whole = lb.body_node
    for x in _all_nodes(whole) if whole is not None else []:
        if x.type == "goto_statement" and x.start_byte > label.start_byte \
                and lb.text(x.child_by_field_name("label") or x) == name:
            lb.reasons[:] = [r for r in lb.reasons if r.code != "goto"]  # this one says more
            raise Unsupported("goto", f"`goto {name}` jumps back: part of the iteration repeats until a condition "
                              "fails, a loop inside the body that runs a different number of times per element; "
                              "neither compilers nor the SIMD rules vectorize it", x)
