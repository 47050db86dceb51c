"""Loop headers normalised to `for (iv = lower; iv cmp upper; iv += step)`: for, range-based for,
while and do-while, with the trip count and the early exits that extra conditions add.
"""

from __future__ import annotations

import re
from typing import Any

import tree_sitter

from simdlens.analysis.build import accesses, counters, expressions, statements, structures, walks
from simdlens.analysis.build.builder import WALK_IV, LoopBuilder
from simdlens.analysis.build.c_types import convert, ctype_of
from simdlens.analysis.build.declarations import Decl, decls_of, kinds_of
from simdlens.analysis.build.syntax import (
    FLIP,
    Unsupported,
    braced_value,
    field_of,
    node_text,
    op_of,
    squash,
    stmts_of,
    unwrap,
)
from simdlens.analysis.ir import (
    INT32,
    INT64,
    UINT64,
    Access,
    CType,
    Exit,
    Let,
    Load,
    Scalar,
    ScalarRole,
    Stmt,
    Unary,
    expr_type,
)
from simdlens.analysis.spans import node_span
from simdlens.core import LoopKind, Reason


def header(lb: LoopBuilder) -> dict[str, Any]:
    node = lb.node
    kind = lb.site.kind
    if node.type == "for_range_loop":
        return range_header(lb, node)
    if kind == LoopKind.FOR:
        return for_header(lb, node)
    if kind == LoopKind.WHILE:
        return while_header(lb, node)
    return do_header(lb, node)


def for_header(lb: LoopBuilder, node: tree_sitter.Node) -> dict[str, Any]:
    init = node.child_by_field_name("initializer")
    cond = unwrap(node.child_by_field_name("condition"))
    updates = node.children_by_field_name("update")
    lb.body_node = node.child_by_field_name("body")
    declared = False
    lower = ""
    iv = ""
    iv_type: CType | None = None
    if init is not None:
        if init.type == "declaration":
            ds = decls_of(init, kinds_of(lb.tree.language))
            values = [d.child_by_field_name("value") for d in init.children_by_field_name("declarator")]
            if len(ds) == 1 and values[0] is not None and ds[0].pointer == 1 and not ds[0].extents:
                return walks.pointer_for_header(lb, node, ds[0], values[0])
            container = _begin_of(lb, values[0]) if len(ds) == 1 and values[0] is not None else None
            if container is not None:
                return iterator_header(lb, node, ds[0].name, container)
            if len(ds) != 1 or values[0] is None or ds[0].pointer or ds[0].extents:
                raise Unsupported("unsupported_loop", "the loop header declares more than one counter or a "
                                  "pointer", init)
            first = values[0]
            if first.type == "initializer_list":  # `for (std::size_t i{}; ...)`, `i{0}`
                inner = braced_value(first)
                if isinstance(inner, bool):
                    if not inner:
                        raise Unsupported("unsupported_loop", "the counter's brace initialiser holds several values",
                                          init)
                    lower = "0"
                else:
                    lower = lb.text(inner)
            else:
                lower = lb.text(first)
            iv, declared = ds[0].name, True
            iv_type = ctype_of(ds[0].type, lb.ctx)
            if iv_type is None:
                raise Unsupported("unknown_type", f"unknown counter type '{ds[0].type}'", init)
        elif init.type == "assignment_expression" and op_of(init) == "=":
            left = unwrap(init.child_by_field_name("left"))
            if left is None or left.type != "identifier":
                raise Unsupported("unsupported_loop", "the loop header initialises something other than a counter",
                                  init)
            iv, lower = lb.text(left), lb.text(init.child_by_field_name("right"))
        else:
            raise Unsupported("unsupported_loop", "the loop header initialises several variables", init)
    if cond is None:
        raise Unsupported("not_counted", "the loop has no condition: it runs until a break", node)
    exits: list[Stmt] = []
    conjuncts = counters.conjuncts(cond)
    step_info: tuple[str, int] | None = None
    walkers: dict[str, int] = {}
    flat_updates: list[tree_sitter.Node] = []
    for u in updates:
        flat_updates.extend(counters.comma_parts(lb, u) if u.type == "comma_expression" else [u])
    counter_cmp = None
    if not iv:
        # no initialiser: the counter is whatever the condition compares and the update steps
        for u in flat_updates:
            name = counters.updated_name(u)
            if name and any(counters.cmp_on(c, name) for c in conjuncts):
                iv = name
                break
    counter_test: tuple[str, str] | None = None
    for c in conjuncts:
        if iv and counter_cmp is None:
            counter_test = counters.cmp_on(c, iv)
            if counter_test is not None:
                counter_cmp = c
    if not iv or counter_cmp is None or counter_test is None:
        raise Unsupported("not_counted", "the loop condition does not compare a counter with a bound", cond)
    for u in flat_updates:
        name = counters.updated_name(u)
        if name == iv:
            if step_info is not None:
                raise Unsupported("unsupported_loop", f"{iv} is updated twice in the header", u)
            step_info = (iv, counters.step_of(lb, u, iv))
        elif name and lb.is_pointer(name):
            walkers[name] = walkers.get(name, 0) + counters.step_of(lb, u, name)
        else:
            raise Unsupported("unsupported_loop", f"the loop header updates '{lb.text(u)}'", u)
    if step_info is None:
        raise Unsupported("not_counted", f"the loop header does not step {iv}", node)
    step = step_info[1]
    decl = None if declared else lb.decl_of(iv)
    if iv_type is None:
        if decl is None:
            raise Unsupported("unknown_type", f"cannot find the declaration of the counter {iv}", node)
        if decl.pointer and not decl.extents and not init and len(conjuncts) == 1:  # `for (; p < end; p++)`
            ended = walks.end_pointer_header(lb, node, counter_cmp, lb.body_node, {**walkers, iv: step})
            if ended is not None:
                return ended
        if decl.pointer or decl.extents:
            raise Unsupported("unsupported_loop", f"the counter {iv} is a pointer", node)
        iv_type = ctype_of(decl.type, lb.ctx)
        if iv_type is None:
            raise Unsupported("unknown_type", f"unknown counter type '{decl.type}'", node)
        if not lower:
            lower = iv
    if iv_type.is_float:
        raise Unsupported("float_counter", f"the counter {iv} is a floating-point variable", node)
    lb.iv, lb.iv_type = iv, iv_type
    cmp, upper = counter_test
    register_bound(lb, counter_cmp, iv)
    if init is not None and declared:
        for v in init.children_by_field_name("declarator"):
            val = v.child_by_field_name("value")
            if val is not None and val.type == "initializer_list":
                braced = braced_value(val)
                val = braced if isinstance(braced, tree_sitter.Node) else None
            if val is not None:
                lb.safe(lambda val=val: expressions.expr(lb, val))
    elif init is not None:
        lb.safe(lambda: expressions.expr(lb, field_of(init, "right")))
    trip = counters.trip_count(lb, lower, upper, cmp, step, iv_type, counter_cmp)
    walks.walk_setup(lb, lb.body_node)
    for name, w in walkers.items():
        lb.walkers[name] = lb.walkers.get(name, 0) + w
    if lb.walkers and (squash(lower) != "0" or step != 1):
        # `for (; n >= 8; n -= 8) { ...; p += 8; }`: iterations are not the counter's values
        if len(conjuncts) > 1:
            raise Unsupported("pointer_walk", "pointers advance in a loop with several conditions that does "
                              "not count from 0 by 1", node)
        lb.count_readable = squash(lower) == iv  # `for (i = 1; …)`: the value on entry is not the first one
        return walks.walk_counted_by(lb, iv, iv_type, step, trip, node, skip=None)
    for c in conjuncts:
        if c is counter_cmp:
            continue
        # Conditions after the counter test are only evaluated while the counter is in range.
        e = expressions.expr(lb, c)
        exits.append(Exit(Unary("!", e, INT32), "break", span=node_span(c)))
    if exits:
        lb.written_outer.add(iv)
    return {"lower": lower.strip(), "upper": upper.strip(), "cmp": cmp, "step": step, "trip": trip,
            "declared": declared, "exits": exits}


BEGIN_CALL = re.compile(r"(?:std::)?c?begin\((\w+(?:\.\w+)*)\)|(\w+(?:\.\w+)*)\.c?begin\(\)")
_END = re.compile(r"(?:std::)?c?end\((\w+(?:\.\w+)*)\)|(\w+(?:\.\w+)*)\.c?end\(\)")


def _begin_of(lb: LoopBuilder, value: tree_sitter.Node) -> tree_sitter.Node | None:
    """The container `v` of an iterator initialised to `v.begin()`, `v.cbegin()` or `std::begin(v)`."""
    v = unwrap(value)
    if v is None or v.type != "call_expression" or not BEGIN_CALL.fullmatch(squash(lb.text(v))):
        return None
    f = field_of(v, "function")
    if f.type == "field_expression":
        return unwrap(f.child_by_field_name("argument"))
    args = [a for a in field_of(v, "arguments").named_children if a.type != "comment"]
    return unwrap(args[0]) if len(args) == 1 else None


def iterator_header(lb: LoopBuilder, node: tree_sitter.Node, it: str, container: tree_sitter.Node) -> dict[str, Any]:
    """`for (auto it = v.begin(); it != v.end(); ++it)` over a std::vector, std::array or array: `*it` is v[k],
    as in a range-based for by reference; anything else done with `it` is refused."""
    lb.body_node = node.child_by_field_name("body")
    cond = unwrap(node.child_by_field_name("condition"))
    updates = node.children_by_field_name("update")
    name = squash(lb.text(container))
    ends = _END.fullmatch(squash(lb.text(field_of(cond, "right")))) if cond is not None and \
        cond.type == "binary_expression" and op_of(cond) in ("!=", "<") else None
    if cond is None or ends is None or (ends.group(1) or ends.group(2)) != name \
            or squash(lb.text(field_of(cond, "left"))) != it:
        raise Unsupported("unsupported_loop", f"an iterator loop that does not stop at {name}.end()", node)
    if len(updates) != 1 or squash(lb.text(updates[0])) not in (f"++{it}", f"{it}++"):
        raise Unsupported("unsupported_loop", f"an iterator loop that does not step {it} by one", node)
    body = lb.text(lb.body_node) if lb.body_node is not None else ""
    moved = (r"(?:\+\+|--)\s*{0}\b|\b{0}\s*(?:\+\+|--)|(?<![\w.>*]){0}\s*[-+]?=(?!=)").format(re.escape(it))
    if re.search(moved, body):  # `it++`, `++it`, `it += 2`, `it = …` (not `*it = …`)
        raise Unsupported("unsupported_loop", f"the body moves the iterator {it}", node)
    acc, upper = _container_walk(lb, container, node)
    lb.iterators[it] = acc
    lb.reasons.append(Reason("iterator_for", f"an iterator loop over {name}: counted by a synthetic counter",
                             lb.site.header))
    return {"lower": "0", "upper": upper, "cmp": "<", "step": 1, "trip": f"(({upper}) > 0 ? ({upper}) : 0)",
            "declared": True, "exits": []}


def _container_walk(lb: LoopBuilder, rng: tree_sitter.Node, node: tree_sitter.Node) -> tuple[Access, str]:
    """The element k of container `rng` counted by the synthetic counter, and its element count."""
    root, base, elem, d = accesses.array_base(lb, rng)
    upper = _element_count(lb, rng, d, node)
    accesses.note_array(lb, root, d, elem)
    return Access(root, base, elem, 1, 0, "", None, node_span(rng)), upper


def _element_count(lb: LoopBuilder, rng: tree_sitter.Node, d: Decl | None, node: tree_sitter.Node) -> str:
    """How many elements container `rng` has, as C text; the loop is counted by the synthetic counter."""
    if d is None or (d.pointer and not d.container):
        raise Unsupported("unsupported_loop", "range-based for over a pointer", node)
    if d.container in ("vector", "span"):
        upper = f"{squash(lb.text(rng))}.size()"
        lb.scalars[upper] = Scalar(upper, UINT64, ScalarRole.INVARIANT)
    elif d.container == "array":
        m = re.search(r",\s*([^>]+)>", d.type)
        upper = m.group(1).strip() if m else ""
    elif d.extents and not d.is_param:
        upper = d.extents[0]
    else:
        upper = ""
    if not upper:
        raise Unsupported("unsupported_loop", f"cannot tell how many elements {lb.text(rng)} has", node)
    lb.iv, lb.iv_type = WALK_IV, UINT64
    return upper


def range_header(lb: LoopBuilder, node: tree_sitter.Node) -> dict[str, Any]:
    """`for (T &x : v)` / `for (T x : v)` over a std::vector, std::array or array: x is v[k]."""
    lb.body_node = node.child_by_field_name("body")
    rng = unwrap(node.child_by_field_name("right"))
    decl = node.child_by_field_name("declarator")
    if rng is None or decl is None or rng.type not in ("identifier", "field_expression"):
        raise Unsupported("unsupported_loop", "range-based for over something other than a named container", node)
    reference = decl.type == "reference_declarator"
    name_node = decl.named_child(0) if reference else decl
    if name_node is None or name_node.type != "identifier":
        raise Unsupported("unsupported_loop", "range-based for with a structured binding", node)
    spelled = " ".join(lb.text(node.child_by_field_name("type")).split())
    name = lb.text(name_node)
    pre: list[Stmt] = []
    if rng.type == "identifier" and structures.holds_records(lb, lb.text(rng), rng):
        # structures: `p.x` is a strided member of element k (build/structures.py)
        upper = _element_count(lb, rng, lb.decl_of(lb.text(rng)), node)
        structures.bind_range(lb, name, lb.text(rng), spelled, reference, node)
    else:
        acc, upper = _container_walk(lb, rng, node)
        elem = acc.elem
        var_t = elem if spelled in ("auto", "") else ctype_of(spelled, lb.ctx)
        if var_t is None:
            raise Unsupported("unknown_type", f"unknown type '{spelled}'", node)
        if reference and var_t.name != elem.name:
            raise Unsupported("type_error", "a reference of another type than the elements", node)
        if reference:
            lb.references[name] = acc
        else:
            lb.locals[name] = var_t
            lb.scalars[name] = Scalar(name, var_t, ScalarRole.LOCAL)
            pre.append(Let(name, var_t, convert(Load(acc), var_t), node_span(decl)))
    lb.reasons.append(Reason("range_for", f"a range-based for over {lb.text(rng)}: counted by a synthetic "
                             "counter", lb.site.header))
    return {"lower": "0", "upper": upper, "cmp": "<", "step": 1, "trip": f"(({upper}) > 0 ? ({upper}) : 0)",
            "declared": True, "exits": pre}


def while_header(lb: LoopBuilder, node: tree_sitter.Node) -> dict[str, Any]:
    cond = unwrap(node.child_by_field_name("condition"))
    body = node.child_by_field_name("body")
    lb.body_node = body
    if cond is None:
        raise Unsupported("not_counted", "the loop has no condition", node)
    # while (n--) / while (n-- > 0): a pointer walk counted by n
    counted = None
    if cond.type == "update_expression" and op_of(cond) == "--" and counters.is_postfix(cond):
        counted = unwrap(cond.child_by_field_name("argument"))
    elif cond.type == "binary_expression" and op_of(cond) in (">", "!="):
        left, right = unwrap(cond.child_by_field_name("left")), unwrap(cond.child_by_field_name("right"))
        if (left is not None and left.type == "update_expression" and op_of(left) == "--" and counters.is_postfix(left)
                and right is not None and lb.text(right).strip() == "0"):
            counted = unwrap(left.child_by_field_name("argument"))
    if counted is not None and counted.type == "identifier":
        name = lb.text(counted)
        decl = lb.decl_of(name)
        t = ctype_of(decl.type, lb.ctx) if decl is not None and not decl.pointer else None
        if t is None or t.is_float:
            raise Unsupported("unknown_type", f"cannot type the count {name}", cond)
        walks.walk_setup(lb, body)
        indexed = body is not None and re.search(r"\[[^\]]*(?<![\w.>])" + re.escape(name) + r"\b", lb.text(body))
        if not lb.walkers and not indexed:  # `while (n--) a[n] = …` indexes by the count itself
            raise Unsupported("not_counted", f"while ({name}--) without pointers that advance or arrays indexed "
                              f"by {name}: nothing to index by", node)
        lb.iv, lb.iv_type = WALK_IV, INT64
        lb.pointer_walk = True
        lb.count_var = name
        lb.count_move = (-1, -1)  # tested once more than the body runs, and decremented by that test too
        lb.count_read_offset = -1  # the test has decremented it before the body runs
        # the count itself: passed in, counted down by the loop (the body reads it through count_value)
        lb.scalars[name] = Scalar(name, t, ScalarRole.INVARIANT, decl=decl.text if decl else "")
        return {"lower": "0", "upper": name, "cmp": "<", "step": 1, "trip": f"(({name}) > 0 ? ({name}) : 0)",
                "declared": True, "exits": []}
    conjuncts = counters.conjuncts(cond)
    # `while (p < end && *p == ' ') p++;`: a walk to end that leaves early where the rest of the test fails
    # (read only while p is in range, as the `&&` reads it)
    ended = walks.end_pointer_header(lb, node, conjuncts[0] if len(conjuncts) > 1 else cond, body)
    if ended is not None:
        for c in conjuncts[1:]:
            ended["exits"].append(Exit(Unary("!", expressions.expr(lb, c), INT32), "break", span=node_span(c)))
        return ended
    stmts = stmts_of(body)
    last = stmts[-1] if stmts else None
    if last is None or last.type != "expression_statement" or not last.named_children:
        raise Unsupported("not_counted", "the while loop does not end by stepping a counter", node)
    upd = last.named_children[0]
    name = counters.updated_name(upd)
    counter_cmp = next((c for c in conjuncts if name and counters.cmp_on(c, name) is not None), None)
    if not name or counter_cmp is None:
        raise Unsupported("not_counted", "the while loop is not counted (no counter compared with a bound and "
                          "stepped at the end of the body)", cond)
    step = counters.step_of(lb, upd, name)
    decl = lb.decl_of(name)
    if decl is not None and decl.pointer and not decl.extents:  # `while (p < end && *p != ',') p++;`
        raise Unsupported("not_counted", f"the loop steps the pointer {name} while a condition on it holds "
                          f"({' '.join(lb.text(cond).split())}): only a pointer walked to an end with nothing else in its "
                          "condition is counted (`while (p < end)`, an early exit inside the body)", cond)
    t = ctype_of(decl.type, lb.ctx) if decl is not None and not decl.pointer and not decl.extents else None
    if t is None or t.is_float:
        raise Unsupported("unknown_type", f"cannot type the counter {name}", cond)
    lb.iv, lb.iv_type = name, t
    lb.exclude = last
    if statements.has_continue(body):
        raise Unsupported("not_counted", f"'continue' skips the increment of {name} at the end of the body", node)
    cmp, upper = counters.cmp_on(counter_cmp, name)  # type: ignore[misc]
    register_bound(lb, counter_cmp, name)
    trip = counters.trip_count(lb, name, upper, cmp, step, t, counter_cmp)
    if node.type == "while_statement":
        walks.walk_setup(lb, body)
        if lb.walkers:  # `while (blk > 0u) { *d++ = ...; blk--; }`: the CMSIS-DSP style
            if len(conjuncts) > 1:
                raise Unsupported("pointer_walk", "pointers advance in a while loop with several conditions",
                                  node)
            return walks.walk_counted_by(lb, name, t, step, trip, node, skip=last)
    exits: list[Stmt] = []
    for c in conjuncts:
        if c is not counter_cmp:
            e = expressions.expr(lb, c)
            exits.append(Exit(Unary("!", e, INT32), "break", span=node_span(c)))
    return {"lower": name, "upper": upper.strip(), "cmp": cmp, "step": step, "trip": trip, "declared": False,
            "exits": exits}


def do_header(lb: LoopBuilder, node: tree_sitter.Node) -> dict[str, Any]:
    """`do { ...; i++; } while (i < n);` (or `do { ... } while (++i < n);`): the counted while form,
    except that the first iteration runs before the test, so the trip count is max(1, the while
    loop's)."""
    cond = unwrap(node.child_by_field_name("condition"))
    stepped = prefix_step_test(cond) if cond is not None else None
    if stepped is not None and cond is not None:
        header = do_prefix_header(lb, node, cond, *stepped)
    else:
        stmts = stmts_of(node.child_by_field_name("body"))
        last = stmts[-1] if stmts else None
        name = counters.updated_name(last.named_children[0]) if (
            last is not None and last.type == "expression_statement" and last.named_children) else ""
        on_counter = counters.cmp_on(cond, name) if cond is not None and name else None
        if on_counter is None:
            raise Unsupported("unsupported_loop", "do-while: only `do { …; i++; } while (i < n);` (a counter "
                              "stepped at the end of the body or by `++i` in the test, and compared with a "
                              "bound) is normalised", cond or node)
        if on_counter[0] == "!=":
            raise Unsupported("not_counted", f"do-while with '{name} != …': when {name} starts at the bound the "
                              "loop does not stop there", cond)
        try:
            header = while_header(lb, node)
        except Unsupported as e:
            raise Unsupported(e.code, e.message.replace("the while loop", "the do-while loop"), e.node) from None
    name, t, step = lb.iv, lb.iv_type, header["step"]
    # The forced first iteration steps the counter before any test: from the end of its range it wraps
    # around, and the test then holds again (an unsigned counter counting down from 0, a narrow one).
    if t.bits < 32 or (not t.signed and step < 0):
        raise Unsupported("not_counted", f"do-while with a{' narrow' if t.bits < 32 else 'n unsigned'} counter "
                          f"{name} ({t.spelling or t.name}) counting {'down' if step < 0 else 'up'}: the first "
                          "step can wrap it around before the test", cond)
    trip = header["trip"]
    lower, cmp = header["lower"], header["cmp"]
    if not t.signed and step > 0 and cmp in ("<", "<="):
        # From the top of its range the first step wraps the counter to 0, where the test holds again
        # (`i = UINT_MAX` runs n + 1 times). Count the first iteration, then the while loop from the
        # stepped value, in the counter's type: the same count whenever nothing wraps.
        unsigned = "unsigned int" if t.bits == 32 else "unsigned long long"
        after = counters.trip_count(lb, f"(({unsigned})(({lower}) + {step}u))", header["upper"], cmp, step, t, cond or node)
        header["trip"] = f"(1 + {after})"
        header["once"] = True
        return header
    if trip.isdigit():
        trip = str(max(1, int(trip)))
    elif trip.endswith(" : 0)"):  # `(first test holds ? count : 0)`: a failing first test still runs once
        trip = trip[:-len(" : 0)")] + " : 1)"
    else:
        trip = f"(({trip}) > 0 ? ({trip}) : 1)"
    header["trip"] = trip
    header["once"] = True
    return header


def prefix_step_test(cond: tree_sitter.Node) -> tuple[str, int, str, tree_sitter.Node] | None:
    """`++i < n` / `n > --i`: (counter, step, comparison with the counter on the left, bound), else None."""
    if cond.type != "binary_expression" or op_of(cond) not in ("<", "<=", ">", ">=", "!="):
        return None
    for side, other, flip in (("left", "right", False), ("right", "left", True)):
        u = unwrap(cond.child_by_field_name(side))
        bound = cond.child_by_field_name(other)
        if u is None or bound is None or u.type != "update_expression" or counters.is_postfix(u):
            continue
        arg = unwrap(u.child_by_field_name("argument"))
        if arg is not None and arg.type == "identifier":
            op = FLIP[op_of(cond)] if flip else op_of(cond)
            return node_text(arg), (1 if op_of(u) == "++" else -1), op, bound
    return None


def do_prefix_header(lb: LoopBuilder, node: tree_sitter.Node, cond: tree_sitter.Node, name: str, step: int, cmp: str,
                     bound: tree_sitter.Node) -> dict[str, Any]:
    """`do { body } while (++i < n);`: the body runs at i, then i is stepped and tested."""
    if cmp == "!=":
        raise Unsupported("not_counted", f"do-while with '{name} != …': when {name} starts at the bound the "
                          "loop does not stop there", cond)
    lb.body_node = node.child_by_field_name("body")
    decl = lb.decl_of(name)
    t = ctype_of(decl.type, lb.ctx) if decl is not None and not decl.pointer and not decl.extents else None
    if t is None or t.is_float:
        raise Unsupported("unknown_type", f"cannot type the counter {name}", cond)
    lb.iv, lb.iv_type = name, t
    got = lb.safe(lambda: expressions.expr(lb, bound))  # typed, so the names it uses become kernel parameters
    if got is not None and expr_type(got).is_float:
        lb.reasons.append(Reason("float_counter", "the bound is a floating-point value", node_span(bound)))
    upper = lb.text(bound).strip()
    trip = counters.trip_count(lb, name, upper, cmp, step, t, cond)
    return {"lower": name, "upper": upper, "cmp": cmp, "step": step, "trip": trip, "declared": False,
            "exits": []}


def register_bound(lb: LoopBuilder, c: tree_sitter.Node, iv: str) -> None:
    """Type the bound so the variables it names are known (kernels pass them in)."""
    for side in ("left", "right"):
        x = unwrap(c.child_by_field_name(side))
        if x is not None and not (x.type == "identifier" and lb.text(x) == iv):
            _bound_elements(lb, x)
            got = lb.safe(lambda x=x: expressions.expr(lb, x))
            if got is not None and expr_type(got).is_float:
                lb.reasons.append(Reason("float_counter", "the bound is a floating-point value", node_span(x)))


def _bound_elements(lb: LoopBuilder, bound: tree_sitter.Node) -> None:
    """The elements a bound reads through memory (`k < dims[0]`, f2c's `i <= *n`) as invariant scalars the
    kernel passes as values; a read no value describes is refused (the kernel could not declare it)."""
    stack = [bound]
    while stack:
        x = stack.pop()
        if x.type == "sizeof_expression":
            continue
        if x.type == "subscript_expression" or (x.type == "pointer_expression" and op_of(x) == "*"):
            if accesses.invariant_element(lb, x) is None:
                lb.reasons.append(Reason("not_counted", f"the bound reads {squash(lb.text(x))} through memory, "
                                         "not one element at a constant index of a pointer the loop leaves alone",
                                         node_span(x)))
            continue
        stack.extend(x.named_children)
