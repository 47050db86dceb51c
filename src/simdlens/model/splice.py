"""Turn a verified model candidate (a whole C function) into edits of the user's file.

The loop at `Kernel.loop_span` stays in the file as the fallback; the candidate's body goes in front of
it as a block, and a preprocessor guard picks one of the two (so the file still builds without the
ISA flags):

    #if defined(__AVX2__) && defined(__FMA__)
    {                                   <- the candidate's body, kernel parameters replaced by the
        ...                                user's expressions (KernelParam.source)
    }
    #else
    for (...) { original loop }
    #endif

A parameter the body assigns to (`a += 8`) gets a local copy, so the user's variable keeps its value;
a kernel that returns a value must return one of its parameters in the reference (a reduction
variable): the candidate's final `return e;` becomes an assignment to the user's variable.
`splice_edits` returns None whenever it cannot do this safely (helper functions outside the body,
early returns, a guard it cannot derive); the candidate then has no one-click edit.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping

import tree_sitter

from simdlens.analysis.parse import parse
from simdlens.core import Candidate, Kernel, KernelParam, Language, ParamRole, Point, Span, TextEdit
from simdlens.rules.text import (
    edit_guards,
    enclosing_function_start,
    file_includes,
    guard_condition,
    guard_wrap,
    insertion_at,
    instantiation_wrap,
    intrinsics_include,
    line_indent,
    with_leading_pragmas,
)

_SIMPLE = re.compile(r"^[A-Za-z_]\w*((->|\.)[A-Za-z_]\w*|\[[^\[\]]*\])*$")  # needs no parentheses
_INTRINSIC_HEADERS = ("immintrin.h", "x86intrin.h")


def splice_edits(kernel: Kernel, candidate: Candidate, *, guard: str = "ifdef", source: bytes | None = None,
                 macros: Mapping[str, str] | None = None) -> tuple[TextEdit, ...] | None:
    """The edits that put `candidate` into the user's file, or None when that cannot be done safely.

    With `source` (the document's bytes) the guard lines reuse the loop's indentation, `#include`s go
    after the file's own, and helper functions the candidate needs go (guarded) before the enclosing
    function; without it the guard starts on lines of its own (always valid C), includes go at the top,
    and a candidate with helpers cannot be spliced. Only the `ifdef` guard style is produced for model
    candidates (`guard` is accepted for symmetry with the rule engine).
    """
    span = with_leading_pragmas(source, kernel.loop_span) if kernel.loop_span is not None else None
    if macros is None:  # the ISA table names the macros, as it does for the rule engine's guards
        from simdlens.model.intrinsics import intrinsics_for

        macros = intrinsics_for(candidate.isa).macros
    condition = guard_condition(candidate.flags, macros)
    if span is None or not condition:
        return None
    includes, helpers = _split_support(candidate.support)
    block = _inline_body(kernel, candidate.function)
    if block is None:
        return None
    edits: list[TextEdit] = []

    offset, present = file_includes(source, span.start_byte, kernel.language) if source is not None else (0, frozenset())

    def missing(header: str) -> bool:
        return header not in kernel.preamble and f"<{header}>" not in present

    language = kernel.context.language if kernel.context is not None else kernel.language  # the user's file's
    guards = edit_guards(candidate.type_facts, kernel, language)
    if (guards or kernel.instantiation) and language == "cpp":
        includes = [*includes, "type_traits"]  # the guards' std::is_same
    lines = [f"#include <{h}>\n" for h in dict.fromkeys(includes) if h not in _INTRINSIC_HEADERS and missing(h)]
    guarded_include = intrinsics_include(condition)
    if all(missing(h) for h in _INTRINSIC_HEADERS) and (source is None or guarded_include.encode() not in source):
        # guarded like the code using it: the file must still build where the header does not exist (ARM)
        lines.append(guarded_include)
    if lines:
        edits.append(insertion_at(source, offset, "".join(lines)))

    if helpers.strip():
        if source is None or _collides(helpers, source, kernel.language):
            return None
        where = enclosing_function_start(source, span, kernel.language)
        if where is None:
            return None
        point = Point(where[1], 0)
        edits.append(TextEdit(Span(where[0], where[0], point, point),
                              f"#if {condition}\n{helpers.strip()}\n#endif\n\n"))

    indent, line_start = line_indent(source, span)
    prefix_ok = line_start is not None
    suffix_ok = False
    if source is not None:
        line_end = source.find(b"\n", span.end_byte)
        suffix_ok = not source[span.end_byte:line_end if line_end >= 0 else len(source)].strip()
    directive = indent if prefix_ok else ""  # the loop's own indentation already precedes the first one
    if guards:  # the type facts the rewrite was verified under, asserted where it runs (docs/sandbox.md)
        block = _with_guards(block, guards)
    if kernel.instantiation and source is not None:  # a function template: only for the analysed instantiation
        original = source[span.start_byte:span.end_byte].decode("utf-8", "replace")
        block = "\n".join(instantiation_wrap(kernel.instantiation, block.splitlines(), original,
                                             " " * span.start.column))
    body = textwrap.indent(block, indent)
    # The marker names where the rewrite came from; the analysis uses it to leave the rewrite alone.
    marker = f"{indent}/* simdlens {candidate.origin} ({candidate.isa}) */\n"
    before, after = guard_wrap(condition, marker + body, indent, directive_indent=directive, line_start=prefix_ok,
                               line_continues=not suffix_ok)
    edits.append(TextEdit(Span(span.start_byte, span.start_byte, span.start, span.start), before))
    edits.append(TextEdit(Span(span.end_byte, span.end_byte, span.end, span.end), after))
    return tuple(edits)


def _collides(helpers: str, source: bytes, language: Language) -> bool:
    """Whether a file-scope name the helpers define is already used in the user's file."""
    tree = parse(helpers.encode(), language)
    for node in tree.root_node.children:
        declarator = node.child_by_field_name("declarator")
        while declarator is not None and declarator.type not in ("identifier", "type_identifier"):
            declarator = declarator.child_by_field_name("declarator")
        if declarator is not None and declarator.text is not None:
            if re.search(rb"\b" + re.escape(declarator.text) + rb"\b", source):
                return True
        elif node.type not in ("comment", "preproc_include"):
            return True  # something we cannot name: do not risk it
    return False


def _with_guards(block: str, guards: list[str]) -> str:
    """`{ ... }` with the assertion lines first inside the braces."""
    head, brace, rest = block.partition("{")
    if not brace:
        return block
    return head + brace + "\n" + "\n".join("    " + g for g in guards) + rest


def _split_support(support: str) -> tuple[list[str], str]:
    """The headers `support` includes, and the rest of it."""
    headers = re.findall(r"^\s*#\s*include\s*<([^>]+)>\s*$", support, re.MULTILINE)
    rest = re.sub(r"^\s*#\s*include\s*<[^>]+>\s*$", "", support, flags=re.MULTILINE)
    return [h.strip() for h in headers], rest


def _inline_body(kernel: Kernel, function: str) -> str | None:
    """The candidate's body as a block over the user's names, or None when it cannot be inlined."""
    src = function.encode()
    tree = parse(src, kernel.language)
    fn = next((n for n in tree.root_node.children if n.type == "function_definition"), None)
    body = fn.child_by_field_name("body") if fn is not None else None
    if body is None or tree.root_node.has_error:
        return None
    idents = [n for n in _descendants(body) if n.type == "identifier"]
    returns = [n for n in _descendants(body) if n.type == "return_statement"]
    last = body.named_children[-1] if body.named_children else None

    receiver = _receiver(kernel)
    if kernel.return_type is not None and receiver is None:
        return None
    for r in returns:
        if r.id != (last.id if last is not None else -1):
            return None  # an early return cannot become an assignment in the middle of the user's function

    replace: dict[int, str] = {}  # identifier node start byte -> new text
    decls: list[str] = []
    user_names = set(re.findall(r"[A-Za-z_]\w*", " ".join(
        [p.source for p in kernel.params if p.source] + ([receiver] if receiver else []))))
    taken = {n.text.decode() for n in idents if n.text is not None} | user_names
    params = {p.name: p for p in kernel.params}

    # Locals named like something the user's expressions mention would capture it: rename them.
    locals_ = {name for name in _declared(body) if name not in params}
    renamed = {name: _fresh(name, taken) for name in locals_ if name in user_names}

    written = _written(idents, params)
    for name, param in params.items():
        user = param.source or param.name
        if param.role == ParamRole.RESULT:
            user = f"&{user}"  # the kernel gets a pointer to the user's result variable
        if name in written:
            fresh = _fresh(name, taken)
            declaration = _declaration(param, fresh)
            if declaration is None:
                return None
            decls.append(f"{declaration} = {user};")
            renamed[name] = fresh
        elif user != name:
            renamed[name] = user if _SIMPLE.match(user) else f"({user})"
    for n in idents:
        text = n.text.decode() if n.text is not None else ""
        if text in renamed:
            replace[n.start_byte] = renamed[text]

    cuts: list[tuple[int, int, str]] = [(n.start_byte, n.end_byte, replace[n.start_byte]) for n in idents
                                        if n.start_byte in replace]
    if returns:
        r = returns[0]
        value = r.named_children[0] if r.named_children else None
        if value is None:
            cuts.append((r.start_byte, r.end_byte, ""))
        elif receiver is not None:
            cuts = [c for c in cuts if not r.start_byte <= c[0] < r.end_byte]
            expr = _rewrite(src, value.start_byte, value.end_byte,
                            [(a, b, t) for a, b, t in _ident_cuts(idents, replace) if value.start_byte <= a < value.end_byte])
            cuts.append((r.start_byte, r.end_byte, f"{receiver} = {expr};"))
        else:
            return None
    text = _rewrite(src, body.start_byte + 1, body.end_byte - 1,
                    [c for c in cuts if body.start_byte < c[0] < body.end_byte])
    inner = textwrap.dedent(text.strip("\n"))
    lines = [*decls, *inner.splitlines()]
    return "{\n" + "\n".join(("    " + line if line.strip() else "") for line in lines) + "\n}"


def _receiver(kernel: Kernel) -> str | None:
    """The user's variable a returning kernel's value goes to: the parameter its reference returns."""
    if kernel.return_type is None:
        return None
    tree = parse(kernel.source.encode(), kernel.language)
    returns = [n for n in _descendants(tree.root_node) if n.type == "return_statement"]
    if len(returns) != 1 or not returns[0].named_children or returns[0].named_children[0].type != "identifier":
        return None
    name_node = returns[0].named_children[0]
    name = name_node.text.decode() if name_node.text is not None else ""
    param = next((p for p in kernel.params if p.name == name), None)
    if param is None:
        return None
    user = param.source or param.name
    return user if _SIMPLE.match(user) else None


def _descendants(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.children))
    return out


def _declared(body: tree_sitter.Node) -> set[str]:
    names = set()
    for n in _descendants(body):
        if n.type == "declaration":
            for d in n.children_by_field_name("declarator"):
                node: tree_sitter.Node | None = d
                while node is not None and node.type != "identifier":
                    node = node.child_by_field_name("declarator")
                if node is not None and node.text is not None:
                    names.add(node.text.decode())
    return names


def _written(idents: list[tree_sitter.Node], params: dict[str, KernelParam]) -> set[str]:
    """Parameters the body assigns to, increments, or takes the address of."""
    out = set()
    for n in idents:
        name = n.text.decode() if n.text is not None else ""
        parent = n.parent
        if name not in params or parent is None:
            continue
        assigned = parent.type == "assignment_expression" and parent.child_by_field_name("left") == n
        address_taken = parent.type == "pointer_expression" and bool(parent.children) and parent.children[0].type == "&"
        if assigned or address_taken or parent.type == "update_expression":
            out.add(name)
    return out


def _declaration(param: KernelParam, name: str) -> str | None:
    """The parameter's declaration with another name ("const float *a" -> "const float *a_v")."""
    decl, count = re.subn(rf"\b{re.escape(param.name)}\s*$", name, param.decl.strip())
    return decl if count == 1 else None


def _fresh(name: str, taken: set[str]) -> str:
    candidate = f"{name}_v"
    i = 2
    while candidate in taken:
        candidate = f"{name}_v{i}"
        i += 1
    taken.add(candidate)
    return candidate


def _ident_cuts(idents: list[tree_sitter.Node], replace: dict[int, str]) -> list[tuple[int, int, str]]:
    return [(n.start_byte, n.end_byte, replace[n.start_byte]) for n in idents if n.start_byte in replace]


def _rewrite(src: bytes, start: int, end: int, cuts: list[tuple[int, int, str]]) -> str:
    out = src[start:end]
    for a, b, text in sorted(cuts, reverse=True):
        out = out[:a - start] + text.encode() + out[b - start:]
    return out.decode(errors="replace")
