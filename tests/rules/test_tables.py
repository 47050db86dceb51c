"""The ISA tables: they load and validate, every template compiles with the table's own -m flags (so a
typo in an intrinsic name or an argument fails here, not in a user's editor), and the lookup API the
model's prompt builder uses gives names, semantics and flags."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from rules_support import needs_compiler

from simdlens.rules.tables import (
    ELEMENT_TYPES,
    TableError,
    _build,
    available_isas,
    isa_flags,
    known_intrinsics,
    load_isa,
)

TABLES = ("avx2", "avx512")
C_TYPE = {"int8": "signed char", "uint8": "unsigned char", "int16": "short", "uint16": "unsigned short",
          "int32": "int", "uint32": "unsigned", "int64": "long long", "uint64": "unsigned long long",
          "float": "float", "double": "double"}
BITS = {"int8": 8, "uint8": 8, "int16": 16, "uint16": 16, "int32": 32, "uint32": 32, "int64": 64,
        "uint64": 64, "float": 32, "double": 64}
STATEMENT_OPS = ("store", "maskstore", "scatter", "maskscatter", "compress")
INDEXED_OPS = ("gather", "maskgather", "scatter", "maskscatter", "lane_from")  # {a} holds int32 lane indices
# the operand type of a `reinterpret` row, by its result type
REINTERPRETED = {"float": "int32", "int32": "float", "uint32": "float", "double": "int64", "int64": "double",
                 "uint64": "double"}


def _instances(isa: str) -> list[str]:
    """One C statement per (op, type, width) template and per conversion, with typed operands."""
    t = load_isa(isa)
    lines: list[str] = []

    def vec(elem: str, width: int) -> str:
        vt = t.vtype(elem, max(width, 128) if width < 128 else width)
        assert vt is not None, (isa, elem, width)
        return vt

    def mask(elem: str, width: int) -> str:
        lanes = width // BITS[elem]
        return t.mask_ctype(lanes) if t.mask == "kmask" else vec(f"int{BITS[elem]}", width)

    n = 0
    for (op, elem, width), template in sorted(t.ops.items()):
        n += 1
        lanes = width // BITS[elem]
        is_mask_op = op in ("mand", "mor", "mnot")
        operand = mask(elem, width) if is_mask_op else vec(elem, width)
        index = vec("int32", lanes * 32) if op in INDEXED_OPS else operand
        if op == "reinterpret":  # its operand: the lanes of the other kind of the same size
            index = vec(REINTERPRETED[elem], width)
        decl = [f"{index} a{n} = {{0}};",
                f"{operand} b{n} = {{0}}, c{n} = {{0}}, d{n} = {{0}}, t{n} = {{0}}, e{n} = {{0}}, f{n} = {{0}};",
                f"{mask(elem, width)} m{n} = {{0}};", f"{C_TYPE[elem]} buf{n}[64] = {{0}};"]
        text = template
        for key, value in {"a": f"a{n}", "b": f"b{n}", "c": f"c{n}", "d": f"d{n}", "t": f"t{n}", "e": f"e{n}", "f": f"f{n}", "m": f"m{n}",
                           "p": f"buf{n}", "x": "1", "args": ", ".join(["1"] * lanes),
                           "full": hex((1 << lanes) - 1)}.items():
            text = text.replace("{" + key + "}", value)
        body = f"{text};" if op in STATEMENT_OPS else f"__auto_type r{n} = {text}; sink(&r{n});"
        lines.append("{ " + " ".join(decl) + " " + body + " }")
    for (src, dst, width), template in sorted(t.converts.items()):
        n += 1
        lanes = width // BITS[dst]
        src_width = lanes * BITS[src]
        text = template.replace("{a}", f"a{n}")
        lines.append(f"{{ {vec(src, src_width)} a{n} = {{0}}; __auto_type r{n} = {text}; sink(&r{n}); }}")
    return lines


@pytest.mark.parametrize("isa", TABLES)
def test_table_loads_and_covers_the_basics(isa: str) -> None:
    t = load_isa(isa)
    for elem in ELEMENT_TYPES:
        width = t.vector_bits
        for op in ("load", "store", "set1", "add", "sub", "select", "eq"):
            assert t.op(op, elem, width) is not None, (op, elem)
    assert t.mask in ("vector", "kmask")


@pytest.mark.parametrize("isa", TABLES)
def test_every_declared_intrinsic_is_used_by_a_template(isa: str) -> None:
    t = load_isa(isa)
    used = set()
    for text in [*t.ops.values(), *t.converts.values()]:
        used.update(t.intrinsics_in(text))
    unused = sorted(name for name, i in t.intrinsics.items() if i.isa == isa and name not in used)
    assert not unused, f"declared but never used (so never compile-checked): {unused}"


@needs_compiler
@pytest.mark.parametrize("isa", TABLES)
def test_every_template_compiles_with_the_table_flags(isa: str, tmp_path: Path) -> None:
    lines = _instances(isa)
    code = "\n".join(["#include <immintrin.h>", "void sink(void *p);", "void all(void) {", *lines, "}"])
    path = tmp_path / f"{isa}_all.c"
    path.write_text(code)
    flags = list(isa_flags(isa))
    proc = subprocess.run(["gcc", "-O1", "-std=gnu11", "-Werror=implicit-function-declaration", *flags,
                           "-c", str(path), "-o", str(tmp_path / "all.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[:3000]
    # and every declared intrinsic of this table appeared in that file
    referenced = set(re.findall(r"\b_mm\w+|\b_p(?:ext|dep)_u(?:32|64)\b", code))
    missing = sorted(n for n, i in load_isa(isa).intrinsics.items() if i.isa == isa and n not in referenced)
    assert not missing


def test_lookup_api_for_prompts_and_prechecks() -> None:
    assert set(TABLES) <= set(available_isas())
    avx2 = load_isa("avx2")
    add = avx2.intrinsics["_mm256_add_epi32"]
    assert add.elem == "int32" and "wrap" in add.semantics and add.flags == ("-mavx2",)
    assert avx2.intrinsics["_mm256_fmadd_ps"].flags == ("-mfma",)
    assert isa_flags("avx2") == ("-mavx2", "-mfma", "-mbmi2")  # BMI2: AVX2 compress (pdep / pext)
    assert avx2.intrinsics["_pext_u64"].flags == ("-mbmi2",)
    assert "-mavx512bw" in isa_flags("avx512")
    known = known_intrinsics()
    assert known["_mm256_add_epi32"] == "avx2" and known["_mm512_add_epi32"] == "avx512"
    assert avx2.flags_for("x = _mm256_fmadd_ps(a, b, c); y = _mm256_add_ps(a, b);") == ("-mavx2", "-mfma")
    # semantics that matter are written down: unsigned compare idiom, min/max NaN operand order
    assert "unsigned" in avx2.semantics[("gt", "uint32")]
    assert "NaN" in avx2.intrinsics["_mm256_min_ps"].semantics


def test_malformed_tables_are_rejected_with_the_place() -> None:
    base = {"isa": {"name": "x", "vector_bits": 256, "mask": "vector", "tail": "scalar", "base_flags": ["-mx"]},
            "flags": {"-mx": {"macro": "__X__", "cpu": "x", "target": "x"}},
            "intrinsics": {"_mm256_add_epi32": {"elem": "int32", "sem": "add"}}}
    ok = dict(base, op=[{"op": "add", "types": ["int32"], "w256": "_mm256_add_epi32({a}, {b})"}])
    assert _build("x", ok, None).op("add", "int32", 256) == "_mm256_add_epi32({a}, {b})"
    typo = dict(base, op=[{"op": "add", "types": ["int32"], "w256": "_mm256_add_epi23({a}, {b})"}])
    with pytest.raises(TableError, match=r"op #1 \(add\).*_mm256_add_epi23"):
        _build("x", typo, None)
    with pytest.raises(TableError, match="unknown element type"):
        _build("x", dict(base, op=[{"op": "add", "types": ["int33"], "w256": "_mm256_add_epi32({a})"}]), None)
    with pytest.raises(TableError, match="placeholder"):
        _build("x", dict(base, op=[{"op": "add", "types": ["int32"], "w256": "_mm256_add_epi32({q})"}]), None)
    with pytest.raises(TableError, match="no ISA table"):
        load_isa("avx9000")
