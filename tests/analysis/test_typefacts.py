"""Type facts compile to assertions that accept exactly the machine type simdlens assumed: the same
float type, an integer of the same size and signedness (whatever its spelling), and reject a complex,
a struct, a wider float, or a user's `#define float double` (docs/sandbox.md, "Type facts")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from simdlens.analysis.typefacts import fact_assertion, type_fact_failure
from simdlens.core import CompileDiagnostic, TypeFact

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("g++") is None, reason="gcc not installed")

C_PRELUDE = "#include <complex.h>\n#include <stdbool.h>\ntypedef struct { float re, im; } cpx;\n"
CPP_PRELUDE = "#include <complex>\n#include <type_traits>\nstruct cpx { float re, im; };\n"

# (declared element type, assumed canonical type, holds?)
C_CASES = [
    ("float", "float", True), ("const float", "float", True), ("double", "double", True),
    ("float complex", "float", False), ("long double", "double", False), ("cpx", "float", False),
    ("double", "float", False), ("long long", "int64", True), ("long", "int64", True), ("char", "int8", True),
    ("unsigned char", "uint8", True), ("unsigned", "int32", False), ("short", "int32", False),
    ("bool", "bool", True), ("bool", "uint8", False), ("cpx", "int64", False), ("int", "float", False),
]
CPP_CASES = [
    ("float", "float", True), ("const float", "float", True), ("std::complex<float>", "float", False),
    ("long double", "double", False), ("cpx", "int64", False), ("long long", "int64", True),
    ("unsigned short", "uint16", True), ("int", "uint32", False), ("bool", "bool", True), ("bool", "uint8", False),
]


def _compiles(tmp_path: Path, language: str, declared: str, fact: TypeFact, prelude: str, *, literal: bool) -> bool:
    src = tmp_path / ("t.cpp" if language == "cpp" else "t.c")
    body = "\n    ".join(fact_assertion(fact, language, literal_types=literal).splitlines())
    src.write_text(f"{prelude}void f({declared} *a) {{\n    {body}\n    (void)a;\n}}\n")
    cc = "g++" if language == "cpp" else "gcc"
    done = subprocess.run([cc, "-fsyntax-only", "-x", "c++" if language == "cpp" else "c", str(src)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        assert "simdlens type fact: a[] is" in done.stderr, done.stderr  # failed on the fact, not elsewhere
    return done.returncode == 0


@pytest.mark.parametrize(("declared", "assumed", "holds"), C_CASES)
def test_c_facts(tmp_path: Path, declared: str, assumed: str, holds: bool) -> None:
    fact = TypeFact("a[0]", assumed, "a[]")
    assert _compiles(tmp_path, "c", declared, fact, C_PRELUDE, literal=True) is holds
    assert _compiles(tmp_path, "c", declared, fact, C_PRELUDE, literal=False) is holds


@pytest.mark.parametrize(("declared", "assumed", "holds"), CPP_CASES)
def test_cpp_facts(tmp_path: Path, declared: str, assumed: str, holds: bool) -> None:
    assert _compiles(tmp_path, "cpp", declared, TypeFact("a[0]", assumed, "a[]"), CPP_PRELUDE, literal=True) is holds


def test_a_macro_that_renames_float_cannot_rewrite_the_sandbox_assertion(tmp_path: Path) -> None:
    fact = TypeFact("a[0]", "float", "a[]")
    assert not _compiles(tmp_path, "c", "float", fact, C_PRELUDE + "#define float double\n", literal=True)
    assert not _compiles(tmp_path, "cpp", "float", fact, CPP_PRELUDE + "#define float double\n", literal=True)


def test_the_failure_reads_as_one_line_naming_the_array_and_the_type() -> None:
    gcc = CompileDiagnostic(4, 5, "error", 'static assertion failed: "simdlens type fact: c[] is float"')
    clang = CompileDiagnostic(0, 0, "error", "simdlens-type-facts line 4: static assertion failed due to requirement "
                              "'__builtin_types_compatible_p(_Complex float, float)': simdlens type fact: c[] is float")
    for d in (gcc, clang):
        assert type_fact_failure((d,)) == "simdlens misread the type of c[] (the compiler says it is not float)"
    wide = CompileDiagnostic(0, 0, "error", 'static assertion failed: "simdlens type fact: n is a signed 32-bit integer"')
    assert type_fact_failure((wide,)) == ("simdlens misread the type of n "
                                          "(the compiler says it is not a signed 32-bit integer)")
    assert type_fact_failure((CompileDiagnostic(1, 1, "error", "expected ';'"),)) is None
