"""Source-text plumbing for rewrites: renaming, finding the loop in a kernel, indentation, includes,
and the preprocessor guard that keeps a rewritten file buildable without the ISA flags.

Everything here works on text and byte offsets; nothing knows about vectorization. Used by the rule
engine and by the model's splicing (`simdlens.model.splice`), so both write the same guards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from simdlens.analysis.nest import expression_pattern
from simdlens.analysis.parse import parse
from simdlens.analysis.typefacts import describe, fact_assertion
from simdlens.core import Kernel, Language, ParamRole, Point, Span, TextEdit, TypeFact

_LOOPS = ("for_statement", "while_statement", "do_statement", "for_range_loop")


def rename_text(text: str, renames: dict[str, str]) -> str:
    """Replace each user expression (`p->x`, `v.size()`, `n`) by its kernel name, longest first."""
    for src in sorted(renames, key=len, reverse=True):
        dst = renames[src]
        if not src or src == dst:
            continue
        text = re.sub(expression_pattern(src), dst, text)
    return text


def kernel_loop_span(function: str, language: Language) -> tuple[int, int] | None:
    """Character offsets of the loop statement at the top level of the kernel function's body."""
    data = function.encode("utf-8")
    tree = parse(data, language)
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            body = node.child_by_field_name("body")
            if body is None:
                return None
            for child in body.named_children:
                if child.type in _LOOPS:
                    start = len(data[:child.start_byte].decode("utf-8"))
                    end = len(data[:child.end_byte].decode("utf-8"))
                    return start, end
            return None
        stack.extend(reversed(node.named_children))
    return None


def for_body_lines(loop_text: str, column: int, language: Language) -> list[str] | None:
    """The body of the `for` statement `loop_text` as the user wrote it (its first line starts at
    `column` in the file; later lines lose that much indentation), or None if it is not a `for`."""
    prefix = "void simdlens_probe(void) {\n"
    data = (prefix + loop_text + "\n}").encode("utf-8")
    root = parse(data, language).root_node
    fn = next((n for n in root.named_children if n.type == "function_definition"), None)
    block = fn.child_by_field_name("body") if fn is not None else None
    loops = [n for n in block.named_children if n.type != "comment"] if block is not None else []
    if len(loops) != 1 or loops[0].type != "for_statement" or loops[0].has_error:
        return None
    body = loops[0].child_by_field_name("body")
    if body is None:
        return None
    lines = data[body.start_byte:body.end_byte].decode("utf-8").splitlines()
    out = [lines[0]]
    for x in lines[1:]:
        lead = len(x) - len(x.lstrip(" \t"))
        out.append(x[min(lead, column):])
    return out


def inner_for_body_lines(block_text: str, language: Language) -> list[str] | None:
    """The body of the one `for` statement among the statements `block_text` (an outer loop's body, its
    braces removed), as the user wrote it; None unless there is exactly one."""
    data = ("void simdlens_probe(void) {\n" + block_text + "\n}").encode("utf-8")
    root = parse(data, language).root_node
    fn = next((n for n in root.named_children if n.type == "function_definition"), None)
    block = fn.child_by_field_name("body") if fn is not None else None
    loops = [n for n in block.named_children if n.type == "for_statement"] if block is not None else []
    if len(loops) != 1 or loops[0].has_error:
        return None
    return for_body_lines(data[loops[0].start_byte:loops[0].end_byte].decode("utf-8"), 0, language)


def line_indent(source: bytes | None, span: Span) -> tuple[str, int | None]:
    """The whitespace before the loop on its first line and that line's start byte (None when the
    loop does not start its line, or the source is unknown)."""
    if source is None:
        return " " * span.start.column, None
    line_start = source.rfind(b"\n", 0, span.start_byte) + 1
    prefix = source[line_start:span.start_byte]
    if prefix.strip():
        indent = re.match(rb"[ \t]*", prefix)
        return (indent.group(0).decode() if indent else ""), None
    return prefix.decode("utf-8", "replace"), line_start


def with_leading_pragmas(source: bytes | None, span: Span) -> Span:
    """`span` widened to the `#pragma` lines directly above the loop (`GCC unroll`, `omp simd`, ...).

    A loop pragma belongs to its loop: an edit that replaces only the loop would leave the pragma in
    front of whatever replaces it, which does not compile. Widened, the pragma moves with the original
    loop into the fallback branch.
    """
    if source is None:
        return span
    line_start = source.rfind(b"\n", 0, span.start_byte) + 1
    if source[line_start:span.start_byte].strip():
        return span
    start, line = span.start_byte, span.start.line
    while line_start > 0:
        prev = source.rfind(b"\n", 0, line_start - 1) + 1
        text = source[prev:line_start]
        if not text.strip().startswith((b"#pragma", b"_Pragma")):
            break
        start, line, line_start = prev + len(text) - len(text.lstrip()), line - 1, prev
    if start == span.start_byte:
        return span
    return Span(start, span.end_byte, Point(line, start - line_start), span.end)


def file_includes(source: bytes, before: int, language: Language = "c") -> tuple[int, frozenset[str]]:
    """Where a new `#include` goes (after the last unconditional file-scope `#include` above `before`)
    and the headers those includes name, e.g. `<immintrin.h>`, `"util.h"`.

    Parsed, not pattern-matched: an `#include` in a comment, inside an `#if` block or below the loop
    neither counts as present nor decides where the new one goes.
    """
    offset = 0
    names: set[str] = set()
    for node in parse(source, language).root_node.children:
        if node.start_byte >= before:
            break
        if node.type == "preproc_include":
            path = node.child_by_field_name("path")
            if path is not None:
                names.add(source[path.start_byte:path.end_byte].decode("utf-8", "replace"))
            offset = node.end_byte
    return offset, frozenset(names)


def insertion_at(source: bytes | None, offset: int, text: str) -> TextEdit:
    """Insert whole lines of `text` at `offset`, starting a new line if `offset` is not at one."""
    if source is None:
        return TextEdit(Span(0, 0, Point(0, 0), Point(0, 0)), text)
    line_start = source.rfind(b"\n", 0, offset) + 1
    at = Span(offset, offset, Point(source.count(b"\n", 0, offset), offset - line_start),
              Point(source.count(b"\n", 0, offset), offset - line_start))
    return TextEdit(at, ("" if offset == line_start else "\n") + text)


def include_edit(source: bytes, before: int, language: Language = "c", condition: str = "") -> TextEdit | None:
    """Insert `#include <immintrin.h>` after the file's includes above `before`, if it is missing.

    With a `condition` the include is guarded like the code that uses it, so the file still builds
    where the header does not exist (another architecture); an identical guarded include counts as present.
    """
    offset, names = file_includes(source, before, language)
    if names & {"<immintrin.h>", "<x86intrin.h>"}:
        return None
    text = intrinsics_include(condition)
    if condition and text.encode() in source:
        return None
    return insertion_at(source, offset, text)


def guard_condition(flags: Iterable[str], macros: Mapping[str, str] | None = None) -> str:
    """`("-mavx2", "-mfma")` -> `defined(__AVX2__) && defined(__FMA__)`; "" when no -m flag is given.

    The macro comes from `macros` (the ISA table's flag -> macro) when it names one, else from gcc's and
    clang's rule that -mx defines __X__.
    """
    names = [(macros or {}).get(f) or f"__{f[2:].upper().replace('-', '_')}__" for f in flags if f.startswith("-m")]
    return " && ".join(dict.fromkeys(f"defined({m})" for m in names))


def intrinsics_include(condition: str = "") -> str:
    """The `#include <immintrin.h>` line(s), guarded like the code using them when there is a condition
    (so the file still builds where the header does not exist, e.g. on ARM)."""
    return f"#if {condition}\n#include <immintrin.h>\n#endif\n" if condition else "#include <immintrin.h>\n"


def guard_wrap(condition: str, vector: str, indent: str, *, directive_indent: str = "", line_start: bool = True,
               line_continues: bool = False) -> tuple[str, str]:
    """The text before and after the original loop that turns it into

        #if <condition>
        <vector>
        #else
        <original loop>
        #endif

    `vector` is already indented; `indent` goes before the original loop's first line, and
    `directive_indent` before `#else` and `#endif` (the `#if` follows whatever precedes the insertion).
    `line_start`: only indentation precedes the insertion point (else the guard starts a new line);
    `line_continues`: code follows the loop on its last line (it moves to a line of its own).
    """
    before = ("" if line_start else "\n") + f"#if {condition}\n{vector}\n{directive_indent}#else\n{indent}"
    after = f"\n{directive_indent}#endif" + ("\n" + indent if line_continues else "")
    return before, after


def instantiation_wrap(condition: str, vector: list[str], original: str, indent: str) -> list[str]:
    """In a function template analysed for one instantiation, the vector lines compiled only for it:

        if constexpr (<condition>) { <vector> } else { <original loop> }

    (every other instantiation keeps the original loop; the discarded branch is never instantiated, so its
    intrinsics and type assertions are not checked there). `original` is the loop's text as in the file,
    its later lines indented by `indent` and more; the result's lines are relative to `indent`."""
    first, *rest = original.split("\n")
    kept = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in rest]
    return [f"if constexpr ({condition}) {{", *("    " + x for x in vector), "} else {",
            *("    " + x if x else x for x in (first, *kept)), "}"]


def enclosing_function_start(source: bytes, span: Span, language: Language) -> tuple[int, int] | None:
    """(byte, line) where the file-scope function holding `span` starts, for inserting a helper before it."""
    tree = parse(source, language)
    node = tree.root_node.descendant_for_byte_range(span.start_byte, span.end_byte)
    while node is not None and node.type != "function_definition":
        node = node.parent
    if node is None or node.parent is None or node.parent.type != "translation_unit":
        return None
    start = node.start_byte
    # keep a template<> or attribute line attached to its function: insert above the function's line
    line_start = source.rfind(b"\n", 0, start) + 1
    return line_start, source.count(b"\n", 0, line_start)


def local_scalar_types(function: str, language: Language, span: tuple[int, int]) -> dict[str, str]:
    """The declared types of the plain scalars declared inside `function[span[0]:span[1]]` (the loop of
    a kernel): `{"t": "REAL", "i": "unsigned"}`. A declaration simdlens cannot spell (`auto`, an
    anonymous struct, a pointer or array declarator) is left out."""
    data = function.encode("utf-8")
    lo, hi = len(function[:span[0]].encode("utf-8")), len(function[:span[1]].encode("utf-8"))
    out: dict[str, str] = {}
    stack = [parse(data, language).root_node]
    while stack:
        node = stack.pop()
        if node.end_byte <= lo or node.start_byte >= hi:
            continue
        if node.type == "declaration" and node.start_byte >= lo:
            type_node = node.child_by_field_name("type")
            parts = [data[c.start_byte:c.end_byte].decode("utf-8", "replace") for c in node.named_children
                     if c.type == "type_qualifier" or (type_node is not None and c.id == type_node.id)]
            type_text = re.sub(r"\b(?:constexpr|static|register)\b\s*", "", " ".join(parts)).strip()
            if type_node is None or not type_text or "{" in type_text or type_text == "auto":
                continue
            for decl in node.children_by_field_name("declarator"):
                target = decl.child_by_field_name("declarator") if decl.type == "init_declarator" else decl
                if target is not None and target.type == "identifier":
                    out[data[target.start_byte:target.end_byte].decode("utf-8", "replace")] = type_text
            continue
        stack.extend(node.named_children)
    return out


def edit_guards(facts: tuple[TypeFact, ...], kernel: Kernel, language: Language) -> list[str]:
    """The facts, as compile-time assertions at the top of the vector block of the user's edit: they
    cost nothing at run time and stop the build if a type the rewrite relies on changes later
    (docs/sandbox.md, "Type facts"). Only facts whose expression means the same in the user's scope."""
    same_name = {p.name for p in kernel.params if not p.source and p.role != ParamRole.RESULT}
    lines: list[str] = []
    for fact in facts:
        if "[]" not in fact.subject and fact.type not in ("float", "double"):
            continue  # counters and integer scalars: the vector code converts them explicitly
        head = re.match(r"[A-Za-z_]\w*", fact.expr)
        if (head is not None and head.group(0) in same_name) or fact.expr.startswith(("((", "*(")):
            message = f"simdlens: this rewrite needs {fact.subject} to be {describe(fact.type)}"
            lines += fact_assertion(fact, language, message=message).splitlines()
    return lines
