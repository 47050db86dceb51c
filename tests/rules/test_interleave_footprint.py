"""Strided-group rewrites never touch an element the scalar loop does not touch.

The sandbox's AddressSanitizer sees plain vector loads past a buffer, but not the AVX-512 masked loads and
stores of the last step. Here every array of the rewritten kernel is placed flush against an inaccessible
page (once ending at it, once starting after it) for every size 0..70: a block load, a masked load or a
masked store that reaches one element too far faults. The values are not compared (the sandbox does that)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import rule_loops
from rules_support import analyse, needs_compiler

from simdlens.config import Settings
from simdlens.core import ParamRole
from simdlens.rules import propose
from simdlens.rules.scalar import c_type
from simdlens.sandbox.cpu import host_cpu

CASES = ("odd_only", "even_only_u32", "stereo_split", "cmul_f32", "cmul_f64", "rgb_grey", "rgba_sum_i32",
         "interleave3", "interleave4_u32", "aos_scale", "inplace_pair", "step_two", "strided_load", "cmul_mixed",
         "odd_only_reverse", "alpha_u8", "rgb_grey_u8", "interleave_u8", "stereo_split_i16", "stereo_mix_i16",
         "down_by_three", "odd_to_even", "group_cond_read", "group_symbolic",
         "aos_norm_f64", "quad_store_i64", "xyz_store_f64", "six_velocities", "six_first_i32")
REQUIRED = {"avx2": "avx2", "avx512": "avx512f"}

GUARDED_BUFFER = r"""
#include <sys/mman.h>
#include <string.h>
/* `bytes` of memory starting right after (at_end == 0) or ending right before (at_end == 1) a PROT_NONE page */
static char *guarded(size_t bytes, int at_end, void **map, size_t *len) {
    size_t page = 4096, data = (bytes + page - 1) / page * page + page;
    char *m = mmap(0, data + 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(m, page, PROT_NONE);
    mprotect(m + page + data, page, PROT_NONE);
    *map = m; *len = data + 2 * page;
    char *p = at_end ? m + page + data - bytes : m + page;
    memset(p, 0, bytes);
    return p;
}
"""


def _driver(name: str, isa: str) -> str:
    source, analysis, kernel = analyse(name, rule_loops.SPECIAL[name])
    assert kernel is not None, name
    proposal = propose(analysis, kernel, isa, Settings(), source=source)
    assert proposal.candidates, (name, isa, proposal.notes)
    fn = f"k_{name}"
    function = proposal.candidates[0].function.replace(f"{kernel.name}(", f"{fn}(", 1)
    prints = {f.param: f for f in kernel.footprints}
    decls, setup, args, cleanup = [], [], [], []
    for p in kernel.params:
        t = c_type(p.elem) if p.elem is not None else "int"
        if p.role in (ParamRole.COUNT, ParamRole.SCALAR):
            decls.append(f"{t} {p.name} = ({t})({'size' if p.name == kernel.size_param else '3'});")
            args.append(p.name)
        elif p.role == ParamRole.RESULT:
            decls.append(f"{t} {p.name}_value = 0;")
            args.append(f"&{p.name}_value")
        else:
            f = prints[p.name]
            setup.append(f"long long {p.name}_lo = ({f.lo}), {p.name}_count = ({f.hi}) - {p.name}_lo + 1; "
                         f"if ({p.name}_count < 1) {p.name}_count = 1; void *{p.name}_map; size_t {p.name}_len; "
                         f"{t} *{p.name}_buf = ({t} *)guarded({p.name}_count * sizeof({t}), at_end, "
                         f"&{p.name}_map, &{p.name}_len);")
            args.append(f"{p.name}_buf - {p.name}_lo")
            cleanup.append(f"munmap({p.name}_map, {p.name}_len);")
    body = " ".join(decls + setup) + f" {fn}({', '.join(args)}); " + " ".join(cleanup)
    return function + f"\nstatic void run_{name}(int size, int at_end) {{ {body} }}\n"


@needs_compiler
@pytest.mark.parametrize("isa", ("avx2", "avx512"))
def test_strided_groups_stay_inside_the_scalar_footprint(isa: str, tmp_path: Path) -> None:
    if REQUIRED[isa] not in host_cpu().isa:
        pytest.skip(f"this CPU does not run {isa}")
    drivers = [_driver(name, isa) for name in CASES]
    calls = "".join(f"    run_{name}(size, at_end);\n" for name in CASES)
    code = "\n".join(["#include <stdint.h>", "#include <stddef.h>", "#include <immintrin.h>", GUARDED_BUFFER,
                      *drivers, "int main(void) {", "  for (int size = 0; size <= 70; size++)",
                      "   for (int at_end = 0; at_end < 2; at_end++) {", calls, "  }", "  return 0;", "}"])
    src = tmp_path / "footprint.c"
    src.write_text(code)
    exe = tmp_path / "footprint"
    flags = sorted({f for f in re.findall(r"-m[\w-]+", " ".join(_flags(isa)))})
    build = subprocess.run(["gcc", "-O1", "-std=gnu11", *flags, str(src), "-o", str(exe)], capture_output=True,
                           text=True)
    assert build.returncode == 0, build.stderr[:3000]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"a rewrite touched memory outside the scalar loop's footprint ({run.returncode})"


def _flags(isa: str) -> tuple[str, ...]:
    from simdlens.rules.tables import isa_flags

    return isa_flags(isa)
