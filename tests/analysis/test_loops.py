"""Finding loops: kinds, depths, enclosing functions, spans, roles and stable ids."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdlens.analysis.loops import constant_trip_count, find_loops, identity_text, normalized_text
from simdlens.analysis.parse import language_for, parse
from simdlens.core import Language, LoopKind, LoopRole, LoopSite


def loops_of(source: str, language: Language = "c") -> tuple[LoopSite, ...]:
    data = source.encode()
    return find_loops(parse(data, language), data, f"t.{'c' if language == 'c' else 'cpp'}", language)


def text(source: str, span_start: int, span_end: int) -> str:
    return source.encode()[span_start:span_end].decode()


C_NEST = """\
void nest(float *a, int n) {
    for (int i = 0; i < n; i++) {
        int j = 0;
        while (j < n) {
            do {
                a[i] += 1.0f;
            } while (a[i] < 0.0f);
            j++;
        }
    }
}
"""


def test_every_kind_at_every_depth_in_a_function() -> None:
    sites = loops_of(C_NEST)
    assert [(s.kind, s.depth, s.function) for s in sites] == [
        (LoopKind.FOR, 0, "nest"), (LoopKind.WHILE, 1, "nest"), (LoopKind.DO_WHILE, 2, "nest"),
    ]
    assert [s.role for s in sites] == [LoopRole.OUTER, LoopRole.OUTER, LoopRole.INNERMOST]
    assert all(s.path == "t.c" and s.language == "c" for s in sites)


def test_header_and_body_spans() -> None:
    sites = loops_of(C_NEST)
    for_, while_, do_ = sites
    assert text(C_NEST, for_.header.start_byte, for_.header.end_byte) == "for (int i = 0; i < n; i++)"
    assert text(C_NEST, while_.header.start_byte, while_.header.end_byte) == "while (j < n)"
    assert text(C_NEST, do_.header.start_byte, do_.header.end_byte) == "do"
    assert text(C_NEST, do_.body.start_byte, do_.body.end_byte).startswith("{\n                a[i] += 1.0f;")
    assert text(C_NEST, do_.span.start_byte, do_.span.end_byte).endswith("while (a[i] < 0.0f);")
    # Points agree with bytes: line 2 (0-based 1), column 4.
    assert (for_.span.start.line, for_.span.start.column) == (1, 4)
    assert for_.header.start == for_.span.start and for_.header.end.line == 1
    assert for_.span.end.line == 9


CPP = """\
#include <vector>
struct Grid {
    std::vector<float> v;
    void clear() { for (auto &x : v) x = 0.0f; }
    template <typename F> void each(F f) { for (std::size_t i = 0; i < v.size(); ++i) f(v[i]); }
};
void Grid_scale(Grid &g, float k) {
    auto scale = [&](std::vector<float> &w) {
        for (std::size_t i = 0; i < w.size(); i++) { w[i] *= k; }
    };
    scale(g.v);
}
namespace img {
template <typename T>
T total(const T *p, int n) { T s = 0; int i = 0; while (i < n) { s += p[i]; i++; } return s; }
}
float Grid_sum(const Grid &g);
int Matrix::rows() const { int r = 0; do { r++; } while (r < 4); return r; }
"""


def test_cpp_methods_lambdas_templates_and_range_for() -> None:
    sites = loops_of(CPP, "cpp")
    assert [(s.kind, s.function, s.depth) for s in sites] == [
        (LoopKind.FOR, "Grid::clear", 0),
        (LoopKind.FOR, "Grid::each", 0),
        (LoopKind.FOR, "<lambda>", 0),
        (LoopKind.WHILE, "total", 0),
        (LoopKind.DO_WHILE, "Matrix::rows", 0),
    ]
    assert text(CPP, sites[0].header.start_byte, sites[0].header.end_byte) == "for (auto &x : v)"
    assert text(CPP, sites[3].header.start_byte, sites[3].header.end_byte) == "while (i < n)"
    assert text(CPP, sites[4].header.start_byte, sites[4].header.end_byte) == "do"
    assert text(CPP, sites[3].body.start_byte, sites[3].body.end_byte) == "{ s += p[i]; i++; }"


def test_loops_inside_a_lambda_inside_a_loop_count_depth_from_the_lambda() -> None:
    src = """\
void outer(int *a, int n) {
    for (int i = 0; i < n; i++) {
        auto f = [&](int m) { for (int j = 0; j < m; j++) a[j] = i; };
        f(n);
    }
}
"""
    outer, inner = loops_of(src, "cpp")
    assert (outer.function, outer.depth, outer.role) == ("outer", 0, LoopRole.INNERMOST)
    assert (inner.function, inner.depth, inner.role) == ("<lambda>", 0, LoopRole.INNERMOST)


def test_a_syntax_error_elsewhere_does_not_hide_well_formed_loops() -> None:
    src = """\
void good1(float *a, int n) { for (int i = 0; i < n; i++) a[i] = 0.0f; }
int broken(int x { return x +; }
void good2(float *a, int n) {
    for (int i = 0; i < n; i++)
        a[i] *= 2.0f;
}
"""
    tree = parse(src.encode(), "c")
    assert tree.root_node.has_error
    sites = loops_of(src)
    assert [s.span.start.line for s in sites] == [0, 3]
    assert [s.function for s in sites] == ["good1", "good2"]
    assert text(src, sites[1].header.start_byte, sites[1].header.end_byte) == "for (int i = 0; i < n; i++)"


def test_keywords_in_comments_strings_macros_and_do_while_tails_are_not_loops() -> None:
    src = """\
#define FOREVER for (;;)
/* for (i = 0; i < n; i++) is a comment */
const char *msg = "while (1) { }";
void f(int n) { do { n--; } while (n > 0); }
void do_stuff(int fortune, int whilst) { (void)fortune; (void)whilst; }
"""
    sites = loops_of(src)
    assert [s.kind for s in sites] == [LoopKind.DO_WHILE]


@pytest.mark.parametrize(
    ("inner", "role"),
    [
        ("for (int k = 0; k < 3; k++)", LoopRole.OUTER_VECTORIZABLE),
        ("for (int k = 0; k <= 3; ++k)", LoopRole.OUTER_VECTORIZABLE),
        ("for (k = 1; k < 8; k += 1)", LoopRole.OUTER_VECTORIZABLE),
        ("for (int k = 0; k < 8; k++)", LoopRole.OUTER),  # 8 iterations: the inner loop itself fills AVX2
        ("for (int k = 0; k < m; k++)", LoopRole.OUTER),  # unknown trip count
        ("for (int k = 0; k < 3; k += 2)", LoopRole.OUTER),
    ],
)
def test_outer_vectorizable_for_a_perfect_nest_with_a_short_constant_inner_loop(inner: str, role: LoopRole) -> None:
    src = f"""\
void xf(float (*o)[4], const float (*x)[4], int n, int m) {{
    int k;
    for (int i = 0; i < n; i++) {{
        /* rows */
        {inner}
            o[i][k] = 2.0f * x[i][k];
    }}
}}
""".replace("int k = 0", "k = 0")
    outer, inner_site = loops_of(src)
    assert outer.role == role
    assert inner_site.role == LoopRole.INNERMOST
    assert inner_site.depth == 1


def test_an_imperfect_nest_is_just_outer() -> None:
    src = """\
void f(float (*o)[3], int n) {
    for (int i = 0; i < n; i++) {
        o[i][0] = 0.0f;
        for (int k = 0; k < 3; k++) o[i][k] += 1.0f;
    }
}
"""
    assert loops_of(src)[0].role == LoopRole.OUTER


def test_constant_trip_count() -> None:
    src = b"void f(void) { for (int k = 2; k != 5; k++) ; for (int k = 0; k < 0x10; k++) ; }"
    tree = parse(src, "c")
    fors = [n for n in _walk(tree.root_node) if n.type == "for_statement"]
    assert [constant_trip_count(n) for n in fors] == [3, 16]


def _walk(node):  # type: ignore[no-untyped-def]
    yield node
    for c in node.children:
        yield from _walk(c)


BASE = """\
void f(float *a, const float *b, int n) {
    for (int i = 0; i < n; i++) {
        a[i] = b[i] * 2.0f;
    }
}
"""


def test_ids_survive_moves_and_reformatting_but_not_edits() -> None:
    (base,) = loops_of(BASE)
    moved = "\n\n/* a new comment */\nint unrelated;\n" + BASE
    assert loops_of(moved)[0].loop_id == base.loop_id
    reformatted = BASE.replace("for (int i = 0; i < n; i++) {", "for(int i=0;i<n;i++){ // hot").replace(
        "a[i] = b[i] * 2.0f;", "a[i]=b[i]*2.0f; /* scale */")
    assert loops_of(reformatted)[0].loop_id == base.loop_id
    edited = BASE.replace("* 2.0f", "* 3.0f")
    assert loops_of(edited)[0].loop_id != base.loop_id
    joined = BASE.replace("a[i] = b[i] * 2.0f;", "a[i] = b[i] * - -2.0f;")
    assert loops_of(joined)[0].loop_id != loops_of(BASE.replace("a[i] = b[i] * 2.0f;", "a[i] = b[i] * --2.0f;"))[0].loop_id
    renamed = BASE.replace("void f(", "void g(")
    assert loops_of(renamed)[0].loop_id != base.loop_id


def test_identical_loops_get_distinct_ids_by_occurrence_and_function() -> None:
    body = "for (int i = 0; i < n; i++) a[i] = 0;"
    src = f"void f(int *a, int n) {{ {body} {body} }}\nvoid g(int *a, int n) {{ {body} }}\n"
    ids = [s.loop_id for s in loops_of(src)]
    assert len(set(ids)) == 3
    # The first copy in f keeps its id when the second is deleted.
    assert loops_of(f"void f(int *a, int n) {{ {body} }}\n")[0].loop_id == ids[0]


def test_normalized_text_is_the_token_stream() -> None:
    src = b"void f(int *a) { for (int i=0; i<4; i++) /* x */ a[i] = i; }"
    tree = parse(src, "c")
    loop = next(n for n in _walk(tree.root_node) if n.type == "for_statement")
    assert normalized_text(loop, src) == "for ( int i = 0 ; i < 4 ; i ++ ) a [ i ] = i ;"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (b"a[i] = b[i]+c[i];", b"a [ i ]=b[i] + c [i] ;", True),
        (b"x = a & &b;", b"x = a && b;", False),
        (b"int i = 0;", b"inti = 0;", False),
        (b"x = y - -1;", b"x = y--1;", False),
        (b"p->q", b"p - > q", False),
        (b"x = 1 + 2; // c", b"x = 1 + 2; /* d */", True),
        (b's = "a b";', b's = "a  b";', False),
        (b"x = 1e -5;", b"x = 1e-5;", False),  # `1e-5` is one number, `1e -5` is not
        (b"x = 1e - 5;", b"x = 1e  -5;", True),
        (b"x = step - 1;", b"x = step-1;", True),
        (b"x = 1; // don't", b"x = 1;", True),  # a quote inside a comment is still a comment
        (b's = "a // b"; /* c */', b's = "a // b";', True),
        (b's = "a // b";', b's = "a //  b";', False),
    ],
)
def test_identity_text_is_layout_insensitive_and_token_exact(a: bytes, b: bytes, same: bool) -> None:
    assert (identity_text(a) == identity_text(b)) is same


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXPECTED_EXAMPLE_LOOPS = {
    "image_filter.c": ["adjust_brightness", "adjust_contrast", "box_blur_row", "invert"],
    "audio_mixer.c": ["mix", "soft_clip", "peak", "one_pole_lowpass", "biquad"],
    "dot_product.c": ["dot_f32", "dot_i16", "saxpy"],
    "search.c": ["find_byte", "count_byte", "string_length"],
    "particles.cpp": ["Particles::integrate", "Particles::apply_gravity", "damp", "kinetic_energy"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_EXAMPLE_LOOPS))
def test_bundled_examples_parse_cleanly_and_their_loops_are_found(name: str) -> None:
    path = EXAMPLES / name
    data = path.read_bytes()
    language = language_for(path)
    assert language is not None
    tree = parse(data, language)
    assert not tree.root_node.has_error
    sites = find_loops(tree, data, str(path), language)
    assert [s.function for s in sites] == EXPECTED_EXAMPLE_LOOPS[name]
    assert all(s.role == LoopRole.INNERMOST and s.depth == 0 for s in sites)


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("g++") is None, reason="needs gcc and g++")
def test_bundled_examples_compile_without_warnings(tmp_path: Path) -> None:
    for path in sorted(EXAMPLES.iterdir()):
        compiler = "g++" if path.suffix == ".cpp" else "gcc"
        done = subprocess.run([compiler, "-c", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(tmp_path / "x.o"), str(path)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{path.name}: {done.stderr}"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["c", "cpp"]))
def test_find_loops_never_raises_on_random_bytes(data: bytes, language: Language) -> None:
    data = b"void f(int n) { for (;;) { while (n) do ; while (0); } }" + data
    sites = find_loops(parse(data, language), data, "r.c", language)
    assert all(s.span.contains(s.body) and s.span.contains(s.header) for s in sites)


NEST_BODY = "for (int i = 0; i < n; i++) { while (n > i) { do { n--; } while (n > 100); } }"


@pytest.mark.parametrize(
    ("wrapper", "function"),
    [
        ("void plain(int n) {{ {body} }}", "plain"),
        ("struct K {{ void method(int n) {{ {body} }} }};", "K::method"),
        ("struct K {{ void out(int n); }};\nvoid K::out(int n) {{ {body} }}", "K::out"),
        ("void host(int m) {{ auto f = [](int n) {{ {body} }}; f(m); }}", "<lambda>"),
        ("template <typename T> T tmpl(T n) {{ {body} return n; }}", "tmpl"),
        ("namespace ns {{ class C {{ public: template <class T> void deep(T n) {{ {body} }} }}; }}", "C::deep"),
    ],
)
def test_every_kind_at_every_depth_in_each_kind_of_function(wrapper: str, function: str) -> None:
    sites = loops_of(wrapper.format(body=NEST_BODY), "cpp")
    assert [(s.kind, s.depth, s.function) for s in sites] == [
        (LoopKind.FOR, 0, function), (LoopKind.WHILE, 1, function), (LoopKind.DO_WHILE, 2, function),
    ]
    assert [s.role for s in sites] == [LoopRole.OUTER, LoopRole.OUTER, LoopRole.INNERMOST]


# The definition `identity_text` had until session 3 (a regex over the chunks joined by \x01): loop ids
# must not change when its implementation does, or every cached result would be orphaned.
_FORMER_KEEP_SPACE = re.compile(
    rb"\x01(?:(?<=[\w.$]\x01)(?=[\w.$'\"])|(?<=\+\x01)(?=[+=])|(?<=-\x01)(?=[-=>])|(?<=[*/%^!=]\x01)(?==)"
    rb"|(?<=&\x01)(?=[&=])|(?<=\|\x01)(?=[|=])|(?<=<\x01)(?=[<=:%])|(?<=>\x01)(?=[>=*])|(?<=:\x01)(?=[:>])"
    rb"|(?<=/\x01)(?=[/*])|(?<==\x01)(?=>)|(?<=%\x01)(?=[:>=])|(?<=#\x01)(?=#))"
)


def _former_compact(text: bytes) -> bytes:
    return _FORMER_KEEP_SPACE.sub(b" ", b"\x01".join(text.split())).replace(b"\x01", b"")


_TOKEN = st.sampled_from([b"a", b"i", b"x1", b"_n", b"0", b"1.5f", b".", b"$", b"+", b"-", b"*", b"/", b"%", b"^", b"!",
                          b"=", b"&", b"|", b"<", b">", b":", b"#", b"?", b",", b";", b"(", b")", b"[", b"]", b"{",
                          b"}", b"~", b"@", b"\\", b"`"])
_GAP = st.sampled_from([b"", b" ", b"  ", b"\n", b"\t", b"\r\n", b"\x0b"])
_TOKEN_SOUP = st.lists(st.tuples(_TOKEN, _GAP), max_size=40).map(
    lambda pairs: b"".join(t + g for t, g in pairs)
).filter(lambda t: b"//" not in t and b"/*" not in t)  # comments: the same code before and after


@given(_TOKEN_SOUP)
@settings(max_examples=1500, deadline=None)
def test_identity_text_keeps_the_ids_it_always_gave(text: bytes) -> None:
    assert identity_text(text) == _former_compact(text)
