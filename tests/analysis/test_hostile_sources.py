"""Hostile sources: nesting of every kind, deeper than any real code, and huge lines. The analysis
answers each with a verdict (a deep loop: "too deeply nested", the same in the pure-Python and the
compiled build, which used to overflow the C stack), finds every loop of a deep nest, and never
crashes. Time bounds are in benchmarks/ (analysis_speed.py, lsp_latency.py --nested)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap

import pytest

from simdlens.analysis import TOO_DEEP, analyze_file
from simdlens.analysis.loops import MAX_NESTING, find_loops, nested_beyond
from simdlens.analysis.parse import parse
from simdlens.core import LoopRole, LoopVerdict


def hostile(kind: str, n: int) -> str:
    """A loop nested `n` deep in one way (or `n` loops nested in each other)."""
    loop = "for (int i = 0; i < n; i++) "
    return {
        "sum": "void f(float *a, float *b, int n) { " + loop + "a[i] = " + " + ".join(["b[i]"] * n) + "; }\n",
        "braces": "void f(float *a, int n) { " + loop + "{" * n + "a[i] = 0;" + "}" * n + " }\n",
        "casts": "void f(float *a, int n) { " + loop + "a[i] = " + "(float)" * n + "a[i]; }\n",
        "subscripts": "void f(int *a, int n) { " + loop + "a[i] = " + "a[" * n + "i" + "]" * n + "; }\n",
        "parens": "void f(float *a, int n) { " + loop + "a[i] = " + "(" * n + "a[i]" + ")" * n + "; }\n",
        "ifs": "void f(float *a, int n) { " + loop + "{ " + "if (a[i] > 0) " * n + "a[i] = 0; } }\n",
        "else ifs": "void f(float *a, int n) { " + loop + "{ if (a[i] > 0) a[i] = 0; "
                    + "else if (a[i] > 1) a[i] = 1; " * n + "} }\n",
        "calls": "float g(float); void f(float *a, int n) { " + loop + "a[i] = " + "g(" * n + "a[i]" + ")" * n + "; }\n",
        "ternaries": "void f(float *a, int n) { " + loop + "a[i] = " + "a[i] > 0 ? a[i] : " * n + "0; }\n",
        "unary minus": "void f(float *a, int n) { " + loop + "a[i] = " + "- " * n + "a[i]; }\n",
        "braces around the loop": "void f(float *a, int n) { " + "{" * n + loop + "a[i] = 0;" + "}" * n + " }\n",
        "loops": "void f(float *a, int n) {\n" + "for (int i = 0; i < n; i++)\n" * n + "a[0] += 1;\n}\n",
    }[kind]


KINDS = ["sum", "braces", "casts", "subscripts", "parens", "ifs", "else ifs", "calls", "ternaries", "unary minus",
         "braces around the loop", "loops"]
DEEPER_THAN_THE_LIMIT = {"sum", "braces", "casts", "subscripts", "ifs", "else ifs", "calls", "ternaries"}


@pytest.mark.parametrize("kind", KINDS)
def test_nesting_beyond_the_limit_gets_a_verdict_and_a_reason(kind: str) -> None:
    source = hostile(kind, 3 * MAX_NESTING).encode()
    fa = analyze_file(source, "deep.c", "c")
    assert fa.analyses, kind
    for a in fa.analyses:
        assert a.verdict in tuple(LoopVerdict)
        assert all(r.code != "internal_error" for r in a.reasons), (kind, a.reasons)
    if kind in DEEPER_THAN_THE_LIMIT:
        (a,) = fa.analyses
        assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
        assert [r.message for r in a.reasons] == [TOO_DEEP]


def test_a_loop_just_within_the_limit_is_analysed() -> None:
    fa = analyze_file(hostile("sum", 60).encode(), "sum.c", "c")
    (a,) = fa.analyses
    assert a.verdict != LoopVerdict.NOT_VECTORIZABLE, a.reasons


@pytest.mark.parametrize("kind", KINDS)
def test_nested_beyond_measures_the_depth_exactly(kind: str) -> None:
    tree = parse(hostile(kind, 300).encode(), "c")
    node = next(n for n in _walk(tree.root_node) if n.type == "for_statement")
    depth = _depth(node)
    assert not nested_beyond(node, depth)
    assert nested_beyond(node, depth - 1)


def _walk(node):  # type: ignore[no-untyped-def]
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        todo.extend(reversed(n.children))


def _depth(node) -> int:  # type: ignore[no-untyped-def]
    best, todo = 0, [(node, 0)]
    while todo:
        n, d = todo.pop()
        best = max(best, d)
        todo.extend((c, d + 1) for c in n.children)
    return best


def test_every_loop_of_a_deep_nest_is_found_with_its_depth_and_parent() -> None:
    n = 3000
    source = hostile("loops", n).encode()
    sites = find_loops(parse(source, "c"), source, "nest.c", "c")
    assert [s.depth for s in sites] == list(range(n))
    assert [s.role for s in sites] == [LoopRole.OUTER] * (n - 1) + [LoopRole.INNERMOST]
    assert all(s.function == "f" for s in sites)
    assert len({s.loop_id for s in sites}) == n
    for outer, inner in itertools.pairwise(sites):
        assert outer.span.contains(inner.span)


def test_a_big_nest_keeps_its_ids_across_layout_and_changes_them_on_an_edit() -> None:
    source = hostile("loops", 400).encode()
    ids = [s.loop_id for s in find_loops(parse(source, "c"), source, "nest.c", "c")]
    relaid = source.replace(b"\n", b"\n   \t").replace(b"; i++)", b";i++ )")
    assert [s.loop_id for s in find_loops(parse(relaid, "c"), relaid, "nest.c", "c")] == ids
    edited = source.replace(b"a[0] += 1;", b"a[0] += 2;")
    new = [s.loop_id for s in find_loops(parse(edited, "c"), edited, "nest.c", "c")]
    assert not set(new) & set(ids)  # the innermost loop changed, hence every loop around it


def test_a_huge_line_is_analysed() -> None:
    source = ("void f(float *a, int n) { for (int i = 0; i < n; i++) a[i] = 0; }" + " " * 2_000_000
              + "int x;" * 50_000 + "\n").encode()
    fa = analyze_file(source, "wide.c", "c")
    (a,) = fa.analyses
    assert a.verdict != LoopVerdict.NOT_VECTORIZABLE


RUN_ONE = textwrap.dedent("""
    import json, sys
    from simdlens.analysis import analyze_file
    from simdlens._native import HOT_PATH
    fa = analyze_file(sys.stdin.buffer.read(), "deep.c", "c")
    print(json.dumps({"compiled": HOT_PATH.compiled,
                      "reasons": [r.message for a in fa.analyses for r in a.reasons]}))
""")


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "n"), [("sum", 35_000), ("braces", 50_000), ("casts", 50_000),
                                         ("subscripts", 50_000), ("ifs", 20_000), ("calls", 30_000)])
def test_nesting_that_overflowed_the_compiled_build_is_refused_in_a_live_process(kind: str, n: int) -> None:
    """The sizes that killed the mypyc build with SIGSEGV (issue 17), in a child process: a crash is a
    failed test, not a dead test run. Whichever build is installed runs it (CI installs the compiled one)."""
    done = subprocess.run([sys.executable, "-c", RUN_ONE], input=hostile(kind, n).encode(), capture_output=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    answer = json.loads(done.stdout)
    assert TOO_DEEP in answer["reasons"], answer


def test_an_edit_deep_inside_nested_braces_updates_the_document() -> None:
    """Finding the function around an edit walked up `parent` from the edit: minutes at this depth."""
    from simdlens.analysis.document import SourceDocument

    source = hostile("braces", 20_000).encode()
    doc = SourceDocument(source, "deep.c", "c")
    (before,) = doc.loop_ids
    at = source.index(b"a[i] = 0;")
    changed = doc.apply_edit(at, at + 1, b"b")
    (after,) = doc.loop_ids
    assert after != before
    assert changed.changed == (after,) and changed.previous == (before,)
    assert doc.sites[0].function == "f"
