"""Incremental editing: the document stays equal to a fresh parse and reports exactly what changed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simdlens.analysis.document import ChangedLoops, SourceDocument
from simdlens.analysis.loops import find_loops
from simdlens.analysis.parse import parse
from simdlens.core import Language, LoopSite

SRC = """\
#include <stddef.h>
#define N 64

void scale(float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] * 2.0f;
}

void blur(float (*o)[N], const float (*x)[N], int h) {
    for (int y = 1; y < h - 1; y++) {
        for (int k = 1; k < N - 1; k++)
            o[y][k] = (x[y][k - 1] + x[y][k] + x[y][k + 1]) / 3.0f;
    }
}

int find(const unsigned char *p, int n, unsigned char key) {
    int i = 0;
    while (i < n) { if (p[i] == key) return i; i++; }
    return -1;
}
"""


def fresh(doc: SourceDocument) -> tuple[LoopSite, ...]:
    return find_loops(parse(doc.source, doc.language), doc.source, doc.path, doc.language)


def edit_text(doc: SourceDocument, old: str, new: str) -> ChangedLoops:
    start = doc.source.index(old.encode())
    return doc.apply_edit(start, start + len(old.encode()), new.encode())


def test_a_one_line_edit_inside_a_loop_reports_exactly_that_loop() -> None:
    doc = SourceDocument(SRC.encode(), "k.c", "c")
    before = {s.function: s.loop_id for s in doc.sites if s.depth == 0}
    changed = edit_text(doc, "b[i] * 2.0f", "b[i] * 3.0f")
    (new_scale,) = [s for s in doc.sites if s.function == "scale"]
    assert changed == ChangedLoops(changed=(new_scale.loop_id,), previous=(before["scale"],), context_changed=False)
    assert changed.current == (new_scale.loop_id,)
    assert doc.sites == fresh(doc)
    assert b"3.0f" in doc.source


def test_an_edit_in_an_inner_loop_changes_the_inner_and_its_outer_loop() -> None:
    doc = SourceDocument(SRC.encode(), "k.c", "c")
    old = [s.loop_id for s in doc.sites if s.function == "blur"]
    changed = edit_text(doc, "/ 3.0f", "* (1.0f / 3.0f)")
    new = [s.loop_id for s in doc.sites if s.function == "blur"]
    assert set(changed.changed) == set(new) and set(changed.previous) == set(old)
    assert not changed.added and not changed.removed
    assert doc.sites == fresh(doc)


def test_moving_loops_keeps_their_ids_and_reports_nothing() -> None:
    doc = SourceDocument(SRC.encode(), "k.c", "c")
    ids = [s.loop_id for s in doc.sites]
    lines = [s.span.start.line for s in doc.sites]
    changed = doc.apply_edit(0, 0, b"/* licence\n   header */\n\n")
    assert not changed
    assert [s.loop_id for s in doc.sites] == ids
    assert [s.span.start.line for s in doc.sites] == [line + 3 for line in lines]
    assert doc.sites == fresh(doc)
    # Re-indenting a loop also keeps its id.
    changed = edit_text(doc, "        a[i] = b[i] * 2.0f;", "  a[i]  =  b[i]*2.0f;  // doubled")
    assert not changed.added and not changed.removed and not changed.changed


def test_adding_and_removing_loops() -> None:
    doc = SourceDocument(SRC.encode(), "k.c", "c")
    anchor = "    return -1;\n"
    added = edit_text(doc, anchor, "    for (int j = 0; j < n; j++) p[j] = 0;\n" + anchor)
    assert len(added.added) == 1 and not added.removed and not added.changed
    new_site = doc.site(added.added[0])
    assert new_site is not None and new_site.function == "find"
    assert doc.sites == fresh(doc)
    removed = edit_text(doc, "    for (int j = 0; j < n; j++) p[j] = 0;\n", "")
    assert removed.removed == added.added and not removed.added
    assert doc.sites == fresh(doc)


def test_edits_outside_functions_say_the_context_may_be_stale() -> None:
    doc = SourceDocument(SRC.encode(), "k.c", "c")
    changed = edit_text(doc, "#define N 64", "#define N 128")
    assert changed.context_changed
    assert not changed.changed  # the loops' own text is unchanged
    assert doc.sites == fresh(doc)


def test_breaking_and_repairing_a_function() -> None:
    doc = SourceDocument(SRC.encode(), "k.c", "c")
    ids = [s.loop_id for s in doc.sites]
    edit_text(doc, "void blur(float (*o)[N], const float (*x)[N], int h) {", "void blur(float (*o)[N], const float")
    assert doc.sites == fresh(doc)
    edit_text(doc, "void blur(float (*o)[N], const float", "void blur(float (*o)[N], const float (*x)[N], int h) {")
    assert doc.sites == fresh(doc)
    assert [s.loop_id for s in doc.sites] == ids


def test_lsp_changes_in_utf16_with_non_ascii_text_and_full_replacement() -> None:
    src = "// héllo 😀\nvoid f(int *a, int n) { for (int i = 0; i < n; i++) a[i] = 1; }\n"
    doc = SourceDocument(src.encode(), "k.c", "c")
    # UTF-16: replace the "1" on line 1; the emoji on line 0 must not shift anything.
    col16 = src.splitlines()[1].index("= 1;") + 2
    changed = doc.apply_lsp_change(((1, col16), (1, col16 + 1)), "2", "utf-16")
    assert len(changed.changed) == 1
    assert doc.source.decode().splitlines()[1].endswith("a[i] = 2; }")
    # UTF-16 on line 0 after the emoji: append text at the end of the comment.
    end16 = len("// héllo 😀".encode("utf-16-le")) // 2
    doc.apply_lsp_change(((0, end16), (0, end16)), " ✓", "utf-16")
    assert doc.source.decode().splitlines()[0] == "// héllo 😀 ✓"
    # UTF-8 positions count bytes.
    doc.apply_lsp_change(((0, 0), (0, 2)), "/*", "utf-8")
    doc.apply_lsp_change(((0, len("/* héllo 😀 ✓".encode())), (0, len("/* héllo 😀 ✓".encode()))), " */", "utf-8")
    assert doc.source.decode().splitlines()[0] == "/* héllo 😀 ✓ */"
    assert doc.sites == fresh(doc)
    replaced = doc.apply_lsp_change(None, "int x;\n")
    assert len(replaced.removed) == 1 and doc.sites == ()


_snippets = st.sampled_from([
    "", "\n", " ", "}", "{", "(", ")", ";", "for (int q = 0; q < 4; q++) ", "while (n--) ", "do ", " while (0);",
    "x = 1;", "/*", "*/", "//", "int g(void) { for (;;) break; }\n", "é", "a[i] += 1;", "#define Z 1\n", "\"",
])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 12), _snippets, st.booleans()), min_size=1, max_size=8),
       st.sampled_from(["c", "cpp"]))
def test_random_edits_keep_the_document_equal_to_a_fresh_parse(
    edits: list[tuple[float, int, str, bool]], language: Language
) -> None:
    doc = SourceDocument(SRC.encode(), "k.c", language)
    for i, (where, length, text, look) in enumerate(edits):
        start = int(where * len(doc.source))
        before = set(doc.loop_ids)
        changed = doc.apply_edit(start, start + length, text.encode())
        after = set(doc.loop_ids)
        # What the edit reports accounts exactly for the change in the set of ids.
        assert after - before == set(changed.added) | set(changed.changed)
        assert before - after == set(changed.removed) | set(changed.previous)
        expected = find_loops(doc.tree, doc.source, doc.path, language)
        assert doc.loop_ids == tuple(s.loop_id for s in expected)
        # One loop read on its own is up to date even while the others' positions are deferred.
        if expected:
            probe = expected[i % len(expected)]
            assert doc.site(probe.loop_id) == probe
        if look or i == len(edits) - 1:
            # The loops are exactly those of the incrementally parsed tree...
            assert doc.sites == expected
            # ...which is the tree a fresh parse gives whenever the text is well-formed. (With syntax
            # errors tree-sitter's error recovery may legitimately differ between the two.)
            if not doc.tree.root_node.has_error:
                assert str(doc.tree.root_node) == str(parse(doc.source, language).root_node)
                assert doc.sites == fresh(doc)
