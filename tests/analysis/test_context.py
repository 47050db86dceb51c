"""File context: includes, macros, typedefs (also from local headers), structs, globals, scalar types."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdlens.analysis.context import MAX_HEADER_BYTES, FileContext
from simdlens.core import Language


def build(tmp_path: Path, source: str, name: str = "main.c", language: Language = "c", **kw: object) -> FileContext:
    path = tmp_path / name
    path.write_text(source)
    return FileContext.build(source.encode(), str(path), language, **kw)  # type: ignore[arg-type]


def test_typedef_chain_through_a_local_header(tmp_path: Path) -> None:
    (tmp_path / "types.h").write_text("#ifndef TYPES_H\n#define TYPES_H\ntypedef unsigned char byte_t;\n#endif\n")
    (tmp_path / "local.h").write_text('#pragma once\n#include "types.h"\ntypedef byte_t pixel_t;\n#define WIDTH 640\n')
    ctx = build(tmp_path, '#include <stdint.h>\n#include "local.h"\ntypedef pixel_t luma_t;\n')
    t = ctx.resolve_type("luma_t")
    assert t is not None and (t.name, t.spelling) == ("uint8", "luma_t")
    assert ctx.resolve_type("const pixel_t").name == "uint8"  # type: ignore[union-attr]
    assert ctx.macro_value("WIDTH") == 640
    assert ctx.includes == ("#include <stdint.h>", '#include "local.h"')
    assert ctx.system_includes == ("#include <stdint.h>",)
    assert [Path(h).name for h in ctx.headers] == ["local.h", "types.h"]
    # The preamble a kernel needs: the chain, in order, without the unreadable-in-a-sandbox #include.
    assert ctx.preamble(["luma_t"]).splitlines() == [
        "typedef unsigned char byte_t;", "typedef byte_t pixel_t;", "typedef pixel_t luma_t;",
    ]


def test_include_dirs_missing_headers_and_cycles(tmp_path: Path) -> None:
    inc = tmp_path / "include" / "proj"
    inc.mkdir(parents=True)
    (inc / "cfg.h").write_text('#include "cfg.h"\n#include "loop.h"\ntypedef float real_t;\n')
    (inc / "loop.h").write_text('#include "cfg.h"\n#define N 256\n')
    src = '#include "missing.h"\n#include <proj/cfg.h>\n#include <stdio.h>\n'
    ctx = build(tmp_path, src, include_dirs=[tmp_path / "include"])
    assert ctx.resolve_type("real_t").name == "float"  # type: ignore[union-attr]
    assert ctx.macro_value("N") == 256
    assert ctx.notes == ()
    assert build(tmp_path, src).resolve_type("real_t") is None  # not found without the include dir


def test_oversized_header_is_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "big.h").write_text("typedef int big_t;\n" + "/* pad */\n" * (MAX_HEADER_BYTES // 10 + 1))
    ctx = build(tmp_path, '#include "big.h"\n')
    assert ctx.resolve_type("big_t") is None
    assert len(ctx.notes) == 1 and "big.h" in ctx.notes[0]


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("char", "int8"), ("signed char", "int8"), ("unsigned char", "uint8"), ("short", "int16"),
        ("short int", "int16"), ("unsigned short", "uint16"), ("int", "int32"), ("signed", "int32"),
        ("unsigned", "uint32"), ("unsigned int", "uint32"), ("long", "int64"), ("long int", "int64"),
        ("unsigned long", "uint64"), ("long long", "int64"), ("unsigned long long int", "uint64"),
        ("long unsigned", "uint64"), ("float", "float"), ("double", "double"), ("_Bool", "uint8"),
        ("bool", "uint8"), ("int8_t", "int8"), ("uint8_t", "uint8"), ("int16_t", "int16"), ("uint16_t", "uint16"),
        ("int32_t", "int32"), ("uint32_t", "uint32"), ("int64_t", "int64"), ("uint64_t", "uint64"),
        ("size_t", "uint64"), ("ssize_t", "int64"), ("ptrdiff_t", "int64"), ("intptr_t", "int64"),
        ("uintptr_t", "uint64"), ("std::int32_t", "int32"), ("std::size_t", "uint64"), ("::uint16_t", "uint16"),
        ("const volatile float", "float"), ("static const unsigned char", "uint8"), ("float const", "float"),
        ("int_fast16_t", "int64"),
    ],
)
def test_scalar_spellings(spelling: str, name: str) -> None:
    ctx = FileContext.build(b"", "x.c", "c")
    t = ctx.resolve_type(spelling)
    assert t is not None and t.name == name


@pytest.mark.parametrize(
    "spelling",
    ["long double", "float *", "struct point", "std::vector<float>", "unknown_t", "", "int int", "unsigned float",
     "other::int32_t", "__m256"],
)
def test_unsupported_or_unknown_spellings_give_none(spelling: str) -> None:
    assert FileContext.build(b"", "x.c", "c").resolve_type(spelling) is None


def test_qualifiers_are_reported_separately_including_through_typedefs() -> None:
    ctx = FileContext.build(b"typedef const volatile int reg_t;\n", "x.c", "c")
    assert ctx.qualifiers("const float *__restrict") == {"const", "restrict"}
    assert ctx.qualifiers("reg_t") == {"const", "volatile"}
    assert ctx.qualifiers("static _Atomic int") == {"static", "atomic"}
    assert ctx.resolve_type("reg_t").name == "int32"  # type: ignore[union-attr]


MACROS = """\
#define LEN 1024
#define HALF (LEN/2)
#define MASK (1u << 4) - 1
#define NEG (-7 / 2)
#define BYTES (sizeof(double) * HALF)
#define SQUARE(x) ((x) * (x))
#define NAME "simd"
#define LOOP LOOP
#define CAST ((int)3)
#define GONE 1
#undef GONE
enum { A = 2, B, C = B * 10 };
static const int ROWS = HALF + 1;
const float SCALE = 2.0f;
"""


def test_integer_macros_enums_and_const_globals() -> None:
    ctx = FileContext.build(MACROS.encode(), "x.c", "c", defines={"FROM_FLAGS": "12"})
    assert ctx.macro_value("LEN") == 1024
    assert ctx.macro_value("HALF") == 512
    assert ctx.macro_value("MASK") == 15
    assert ctx.macro_value("NEG") == -3  # C division truncates toward zero
    assert ctx.macro_value("BYTES") == 4096
    assert ctx.macro_value("CAST") == 3
    assert ctx.macro_value("FROM_FLAGS") == 12
    for name in ("SQUARE", "NAME", "LOOP", "GONE", "A", "missing"):
        assert ctx.macro_value(name) is None
    assert "SQUARE" in ctx.function_macros
    assert (ctx.int_constant("A"), ctx.int_constant("B"), ctx.int_constant("C")) == (2, 3, 30)
    assert ctx.int_constant("ROWS") == 513
    assert ctx.int_constant("SCALE") is None
    assert ctx.eval_int("LEN - 1") == 1023
    assert ctx.eval_int("n - 1") is None
    assert ctx.eval_int("LEN / 0") is None


def test_macro_values_drop_comments_but_keep_strings() -> None:
    ctx = FileContext.build(b'#define C /* three */ 3 // x\n#define S "a // b"\n#define B \\\n  (C * 2)\n', "x.c", "c")
    assert ctx.macros["C"] == "3"
    assert ctx.macros["S"] == '"a // b"'
    assert ctx.macro_value("B") == 6


def test_a_file_define_overrides_a_command_line_define() -> None:
    ctx = FileContext.build(b"#define N 8\n", "x.c", "c", defines={"N": "4", "M": "2"})
    assert ctx.macro_value("N") == 8 and ctx.macro_value("M") == 2


def test_preprocessor_conditionals_follow_known_macros() -> None:
    src = """\
#ifdef USE_DOUBLE
typedef double real;
#elif defined(USE_HALF) && USE_HALF > 1
typedef short real;
#else
typedef float real;
#endif
#if __STDC_VERSION__ >= 199901L
typedef int modern_t;
#endif
"""
    assert FileContext.build(src.encode(), "x.c", "c").resolve_type("real").name == "float"  # type: ignore[union-attr]
    with_double = FileContext.build(src.encode(), "x.c", "c", defines={"USE_DOUBLE": "1"})
    assert with_double.resolve_type("real").name == "double"  # type: ignore[union-attr]
    half = FileContext.build(src.encode(), "x.c", "c", defines={"USE_HALF": "2"})
    assert half.resolve_type("real").name == "int16"  # type: ignore[union-attr]
    assert FileContext.build(src.encode(), "x.c", "c").resolve_type("modern_t") is not None


STRUCTS = """\
#define NP 64
typedef struct { float x[NP], y[NP]; int count; } particles_t;
struct pixel { unsigned char r, g, b; };
typedef struct node { struct node *next; const double *restrict w; } node_t, *node_p;
"""


def test_struct_fields_with_types_and_extents() -> None:
    ctx = FileContext.build(STRUCTS.encode(), "x.c", "c")
    p = ctx.struct_of("particles_t")
    assert p is not None
    x = p.field("x")
    assert x is not None and (x.type, x.extents, x.extent) == ("float", ("NP",), "NP")
    assert ctx.int_constant(x.extent) == 64
    assert [f.name for f in p.fields] == ["x", "y", "count"]
    pix = ctx.struct_of("struct pixel")
    assert pix is not None and [(f.name, f.type) for f in pix.fields] == [("r", "unsigned char"), ("g", "unsigned char"),
                                                                          ("b", "unsigned char")]
    node = ctx.struct_of("const node_t")
    assert node is not None and node.name == "node"
    w = node.field("w")
    assert w is not None and (w.pointer, w.const, w.restrict) == (1, True, True)
    assert ctx.pointee("node_p") == "struct node"
    assert ctx.struct_of(ctx.pointee("node_p") or "") is node
    assert ctx.pointee("const float *restrict") == "const float"
    assert ctx.pointee("float") is None
    assert "typedef struct { float x[NP], y[NP]; int count; } particles_t;" in ctx.preamble(["particles_t"])
    assert ctx.preamble(["particles_t"]).startswith("#define NP 64")


def test_cpp_using_aliases_classes_and_namespaces() -> None:
    src = """\
#include <cstdint>
#include <vector>
using sample_t = std::int16_t;
namespace dsp {
typedef float gain_t;
class Voice {
public:
    float env[16];
    std::vector<float> buf;
    static int count;
    void render(float *out, int n);
};
}
"""
    ctx = FileContext.build(src.encode(), "x.cpp", "cpp")
    assert ctx.resolve_type("sample_t").name == "int16"  # type: ignore[union-attr]
    assert ctx.resolve_type("gain_t").name == "float"  # type: ignore[union-attr]
    voice = ctx.struct_of("Voice")
    assert voice is not None and voice.kind == "class"
    assert [(f.name, f.type, f.extents, f.static) for f in voice.fields] == [
        ("env", "float", ("16",), False), ("buf", "std::vector<float>", (), False), ("count", "int", (), True),
    ]


def test_global_declarations() -> None:
    src = """\
#define H 480
#define W 640
static float image[H][W];
extern volatile int flag;
const unsigned char *restrict lut, table[256];
double *const out;
int f(void);
float scale = 1.5f;
"""
    ctx = FileContext.build(src.encode(), "x.c", "c")
    g = ctx.globals
    assert set(g) == {"image", "flag", "lut", "table", "out", "scale"}
    assert (g["image"].type, g["image"].extents, g["image"].static, g["image"].pointer) == ("float", ("H", "W"), True, 0)
    assert g["flag"].volatile and g["flag"].extern
    assert (g["lut"].pointer, g["lut"].restrict, g["lut"].const) == (1, True, True)
    assert (g["table"].pointer, g["table"].extents, g["table"].const) == (0, ("256",), True)
    assert g["out"].pointer == 1 and not g["out"].const
    assert g["scale"].init == "1.5f"
    assert "f" not in g


def test_broken_source_never_raises() -> None:
    ctx = FileContext.build(b"typedef struct { int x[ } broken;\n#define\n#if (\n#endif\nenum { A = , B };\n", "x.c", "c")
    assert ctx.resolve_type("broken") is None
    assert ctx.eval_int("((1") is None
    assert FileContext.build(b"\xff\xfe\x00garbage", "x.c", "c").typedefs == {}


_fragments = st.sampled_from([
    "#define A 1\n", "#define B (A << 3)\n", "#if A\n", "#ifdef B\n", "#else\n", "#endif\n", "typedef int t;\n",
    "typedef t u;\n", "struct s { int x[B]; };\n", "enum { E = B / 0 };\n", "int g[", "];\n", "#include \"x.h\"\n",
    "using v = u;\n", "(", ")", "{", "}", ";", "\xff", "\x00",
])


@settings(max_examples=80, deadline=None)
@given(st.lists(_fragments, max_size=20), st.sampled_from(["c", "cpp"]), st.text(max_size=30))
def test_random_declarations_and_spellings_never_raise(parts: list[str], language: Language, spelling: str) -> None:
    ctx = FileContext.build("".join(parts).encode("utf-8", "surrogatepass"), "/nonexistent/x.c", language)
    ctx.resolve_type(spelling)
    ctx.qualifiers(spelling)
    ctx.struct_of(spelling)
    ctx.pointee(spelling)
    ctx.eval_int(spelling)
    for name in ("A", "B", "E", "t", "u", "v"):
        ctx.int_constant(name)
        ctx.resolve_type(name)
    ctx.preamble(["B", "u", "s"])


def test_preamble_follows_undef_and_redefinition() -> None:
    src = b"#define N 4\n#undef N\n#define N 8\n#define GONE 1\n#undef GONE\ntypedef int v[N];\n"
    ctx = FileContext.build(src, "x.c", "c")
    assert ctx.preamble(["v", "GONE"]).splitlines() == ["#define N 8", "typedef int v[N];"]
    assert ctx.macro_value("N") == 8
