"""The de-interleave / interleave rows of the ISA tables do what their names say, on this CPU.

`deinterleave{S}_{p}` takes the S registers of a block of S*W consecutive elements and must give, in
lane k, element S*k + p; `interleave{S}_{r}` takes one register per position of the stride and must
give block register r (element j = lane (r*W + j) / S of position (r*W + j) % S). Every row of both
tables (8- to 64-bit lanes) is run on index data (all block elements distinct) in one program per table, so a wrong shuffle immediate or index vector
fails here, not in a user's loop."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from rules_support import needs_compiler

from simdlens.rules.tables import isa_flags, load_isa
from simdlens.sandbox.cpu import host_cpu

C_TYPE = {"int8": "signed char", "uint8": "unsigned char", "int16": "short", "uint16": "unsigned short",
          "int32": "int", "uint32": "unsigned", "int64": "long long", "uint64": "unsigned long long",
          "float": "float", "double": "double"}
BITS = {"int8": 8, "uint8": 8, "int16": 16, "uint16": 16, "int32": 32, "uint32": 32, "int64": 64, "uint64": 64,
        "float": 32, "double": 64}
WIDE = ("int32", "uint32", "int64", "uint64", "float", "double")
OP = re.compile(r"(de)?interleave(\d)_(\d)$")
REQUIRED = {"avx2": "avx2", "avx512": "avx512f"}


def _checks(isa: str) -> tuple[list[str], int]:
    t = load_isa(isa)
    out: list[str] = []
    for (op, elem, width), template in sorted(t.ops.items()):
        m = OP.match(op)
        if m is None:
            continue
        de, stride, which = m.group(1) is not None, int(m.group(2)), int(m.group(3))
        lanes = width // BITS[elem]
        ct, vt = C_TYPE[elem], t.vtype(elem, width)
        load, store = t.op("load", elem, width), t.op("store", elem, width)
        assert vt and load and store, (isa, op, elem, width)
        names = "abcdef"[:stride]
        n = len(out)
        if de:  # the block holds element g in slot g; position `which`, lane k must be element stride*k + which
            fill = f"for (int g = 0; g < {stride * lanes}; g++) in[g] = ({ct})(g + 1);"
            want = f"({ct})({stride} * k + {which} + 1)"
        else:  # register `which` of the interleaved block: element j is slot which*W + j
            fill = (f"for (int q = 0; q < {stride}; q++) for (int k = 0; k < {lanes}; k++) "
                    f"in[q * {lanes} + k] = ({ct})({stride} * k + q + 1);")
            want = f"({ct})({which * lanes} + k + 1)"
        regs = " ".join(f"{vt} {x} = {load.replace('{p}', f'&in[{i * lanes}]')};" for i, x in enumerate(names))
        expr = template
        for x in names:
            expr = expr.replace("{" + x + "}", x)
        out.append(
            f"static int check{n}(void) {{ {ct} in[{stride * lanes}], got[{lanes}]; {fill} {regs}\n"
            f"  {vt} r = {expr};\n"
            f"  {store.replace('{p}', 'got').replace('{a}', 'r')};\n"
            f"  for (int k = 0; k < {lanes}; k++) if (got[k] != {want}) {{ "
            f"printf(\"%s %s w%d lane %d\\n\", \"{op}\", \"{elem}\", {width}, k); return 1; }}\n"
            f"  return 0; }}")
    return out, len(out)


@needs_compiler
@pytest.mark.parametrize("isa", ("avx2", "avx512"))
def test_interleave_rows_move_the_right_elements(isa: str, tmp_path: Path) -> None:
    if REQUIRED[isa] not in host_cpu().isa:
        pytest.skip(f"this CPU does not run {isa}")
    checks, n = _checks(isa)
    assert n >= (40 if isa == "avx2" else 100), n  # stride 2 for 32/64-bit lanes, 3 and 4 for 32-bit lanes
    main = "int main(void) { int bad = 0;\n" + "".join(f"  bad += check{i}();\n" for i in range(n)) + \
        "  return bad != 0; }"
    code = "\n".join(["#include <immintrin.h>", "#include <stdio.h>", *checks, main])
    src = tmp_path / f"{isa}_interleave.c"
    src.write_text(code)
    exe = tmp_path / "check"
    build = subprocess.run(["gcc", "-O1", "-std=gnu11", *isa_flags(isa), str(src), "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[:3000]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout[:3000]


def test_both_tables_cover_stride_two_for_32_and_64_bit_lanes() -> None:
    for isa in ("avx2", "avx512"):
        t = load_isa(isa)
        for elem in WIDE:
            for op in ("deinterleave2_0", "deinterleave2_1", "interleave2_0", "interleave2_1"):
                assert t.op(op, elem, t.vector_bits) is not None, (isa, op, elem)
        for stride in (3, 4):
            for elem in ("float", "int32", "uint32"):
                assert t.op(f"deinterleave{stride}_{stride - 1}", elem, t.vector_bits) is not None
                assert t.op(f"interleave{stride}_{stride - 1}", elem, t.vector_bits) is not None
