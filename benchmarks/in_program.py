"""In-program check: is every rewrite simdlens offers as a win faster in a program, as claimed?

The sandbox measures an extracted kernel; the user runs their whole function inside their program. For
every candidate `simdlens scan` offers as a win (`"win": true` in its JSON: verified, and the low end
of its measured range beats `-O3 -march=native` by `summary.WIN_MARGIN` at the deciding sizes), this
script

1. applies the candidate's edits to a copy of its file (as the code action does);
2. builds a program that links the ORIGINAL file and the EDITED file, both with
   `-O3 -march=native -falign-functions=64 -falign-loops=64` (the compiler's best against the rewrite;
   the edited file's ISA guard is on because -march=native enables the ISA). C++ files build with g++
   -std=gnu++17: the edited copy is included inside `namespace aud_edit`, the user's function is called
   by its own (possibly namespace-qualified) C++ name, and only the edited function's pointer and the
   global-array table cross the link with C names; `std::vector<T> &` parameters get vectors;
3. fills the file's global arrays with the same data in both (untouched globals are zero pages: a masked
   store that never writes keeps faulting on them, a cost no initialised program sees), then
   calls the user's own function (found and driven as in `apply_audit.py`: buffers, sizes, scalars) at
   each size of `--sizes` (default 4096 and 1,048,576 elements: in L1/L2 and from memory), both through
   function pointers, in rounds that alternate which variant goes first, each sample repeating the
   call for about 5 ms; the ratio of a round is original / edited time;
4. runs that program in `--processes` separate processes and reports the median of the per-process
   medians, with the min–max of the per-process medians.

A claim "holds" when the in-program ratio at the size it was measured at is above 1.0 (the rewrite is
faster where the user calls it); the table also shows the memory-bound size. Exit status: 0 when every
offered win holds at its claimed size, 1 otherwise, 2 on usage errors.

Usage: .venv/bin/python benchmarks/in_program.py [PATH...] [--isa avx2] [--sizes 4096,1048576]
       [--json rows.json] [--save-scan scan.json] [--from-scan scan.json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply_audit import (
    DRIVER_RUNTIME,
    ROOT,
    Signature,
    Unsupported,
    _compile,
    _compiler,
    _edited_tu,
    apply_edits,
    function_signature,
)

from simdlens.analysis.context.file_context import FileContext
from simdlens.analysis.parse import language_for
from simdlens.sandbox.bench import ROTATING_BUFFERS, branchy_text
from simdlens.sandbox.cpu import host_cpu

BUILD = ["-O3", "-march=native", "-falign-functions=64", "-falign-loops=64", "-ffp-contract=off"]


@dataclass(frozen=True)
class Claim:
    file: Path
    function: str
    line: int
    isa: str
    origin: str
    claimed: dict[int, float]  # n -> median ratio vs -O3 -march=native the scan measured
    candidate: dict  # type: ignore[type-arg]
    nested: int = 1  # how many loops deep its nest goes: its sizes count the nest's iterations (n x n, ...)
    feedback: bool = False  # a recurrence through its scalars (a scan, a filter): driven with stable ones
    rotate: bool = False  # data-dependent branches: each call reads other buffers, as the sandbox's timing does
    units: tuple[tuple[str, str], ...] = ()  # run-time strides and the values its vector path runs at (`incx == 1`)
    ends: tuple[tuple[str, str], ...] = ()  # (end, p): `while (p < end)` with `end` a parameter, passed as p + n


@dataclass(frozen=True)
class InProgram:
    claim: Claim
    ratios: dict[int, tuple[float, float, float]]  # n -> (median, lo, hi) across processes
    note: str = ""

    def holds(self) -> bool:
        sizes = [n for n in self.claim.claimed if n in self.ratios] or list(self.ratios)
        return bool(sizes) and all(self.ratios[n][0] > 1.0 for n in sizes)


def scan(paths: list[Path], isa: str, quick: bool) -> dict:  # type: ignore[type-arg]
    cmd = [sys.executable, "-m", "simdlens", "scan", "--json", "--isa", isa, "--no-cache",
           *(("--quick",) if quick else ()), *map(str, paths)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"in_program: simdlens scan failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)


def offered_wins(doc: dict) -> list[Claim]:  # type: ignore[type-arg]
    """The candidates the product offers as wins (`summary.is_win`, as `scan --json` reports it)."""
    out = []
    for f in doc["files"]:
        for loop in f["loops"]:
            nested = _depth(loop, f["loops"])
            for c in loop["candidates"]:
                if c["status"] != "verified" or not c.get("win"):
                    continue
                sizes = (c.get("measurement") or {}).get("sizes") or []
                claimed = {s["n"]: s["vs_native_autovec"]["median"] for s in sizes if s.get("vs_native_autovec")}
                out.append(Claim(Path(f["path"]), loop.get("function") or "?", loop["range"]["start"]["line"] + 1,
                                 c["isa"], c["origin"], claimed, c, nested, "scan" in loop.get("reason_codes", ()),
                                 _branchy(Path(f["path"]), loop["range"]),
                                 tuple((u["name"], u["unit"]) for u in loop.get("unit_strides", ())),
                                 tuple((e["name"], e["start"]) for e in loop.get("end_pointers", ()))))
    return out


def _size_pointers(lines: list[str], loop_line: int) -> tuple[tuple[str, str], ...]:
    """f2c passes the count by pointer (`i__1 = *n; for (i__ = 1; i__ <= i__1; ++i__)`, or `i <= *n` in the
    header): (`*n`, "n"), so the driver writes the size into that buffer instead of a random int (up to 2^20,
    past every buffer). Read from the loop's function (from its first column-0 line above the loop)."""
    start = next((k for k in range(loop_line, -1, -1) if re.match(r"[A-Za-z_]", lines[k])), 0)
    header, before = lines[loop_line], "\n".join(lines[start:loop_line])
    bounds = {m.group(2) for m in re.finditer(r"\b(\w+)\s*=\s*\*\s*(\w+)\s*;", before)
              if re.search(rf"\b{m.group(1)}\b", header)}
    bounds |= set(re.findall(r"[<>]=?\s*\*\s*(\w+)", header))
    return tuple((f"*{name}", "n") for name in sorted(bounds))


def _element_units(name: str, units: tuple[tuple[str, str], ...]) -> list[tuple[int, str]]:
    """(index, unit) of the strides read through the buffer `name` (`*incx`, `steps[0]`)."""
    out = []
    for stride, unit in units:
        m = re.fullmatch(r"\*(\w+)|(\w+)\[(\d+)\]", stride)
        if m is not None and name in (m.group(1), m.group(2)):
            out.append((int(m.group(3) or 0), unit))
    return out


def _branchy(path: Path, span: dict) -> bool:  # type: ignore[type-arg]
    """Whether the loop at `span` of `path` has data-dependent branches (`sandbox.bench.branchy_text`)."""
    try:
        lines = (path if path.is_absolute() else ROOT / path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    return branchy_text("\n".join(lines[span["start"]["line"]:span["end"]["line"] + 1]))


def _depth(loop: dict, loops: list[dict]) -> int:  # type: ignore[type-arg]
    """How many loops deep the nest around and inside `loop` goes (1: a loop alone): its sizes count the
    iterations of the whole nest (n x n, n x n x n), as the scan counts them."""
    mine = [x for x in loops if x.get("function") == loop.get("function")]
    def level(x: dict) -> int:  # type: ignore[type-arg]
        return sum(1 for o in mine if o is not x and _inside(x["range"], o["range"]))
    return 1 + max((level(x) for x in mine if x is loop or _inside(x["range"], loop["range"])
                    or _inside(loop["range"], x["range"])), default=0)


def _inside(inner: dict, outer: dict) -> bool:  # type: ignore[type-arg]
    start = (outer["start"]["line"], outer["start"]["character"]) < (inner["start"]["line"], inner["start"]["character"])
    return start and (inner["end"]["line"], inner["end"]["character"]) <= (outer["end"]["line"], outer["end"]["character"])


def global_arrays(source: bytes, path: Path, language: str) -> list[tuple[str, int]]:
    """(name, dimensions) of the file's writable global arrays of numbers: a function over globals (TSVC's
    `void s000(void)`) reads them, so the program fills them with the same data for both variants."""
    ctx = FileContext.build(source, str(path), language)  # type: ignore[arg-type]
    out = []
    for g in ctx.globals.values():
        t = ctx.resolve_type(g.type)
        if g.extents and all(g.extents) and not g.pointer and not g.const and t is not None and not t.is_complex:
            out.append((g.name, len(g.extents)))
    return out


def _fill_globals(arrays: list[tuple[str, int]]) -> list[str]:
    """main()'s first lines: each global array filled like a buffer (integers as indices below the smallest
    row count, so that an index array stays inside what it indexes), and copied into the edited file's."""
    if not arrays:
        return []
    L = ["    size_t aud_rows = (size_t)-1;"]
    for name, _ in arrays:
        L.append(f"    if (sizeof {name} / sizeof {name}[0] < aud_rows) aud_rows = sizeof {name} / sizeof {name}[0];")
    L.append("    aud_rng = 0x2545F4914F6CDD1Dull;")
    for k, (name, dims) in enumerate(arrays):
        first = f"&{name}" + "[0]" * dims
        L.append(f"    {{ __typeof__({first}) p = {first}; typedef __typeof__(*p) T;")
        L.append(f"      aud_fill(p, sizeof {name} / sizeof *p, sizeof *p, AUD_ISFLT(T), AUD_ISSGN(T), AUD_ISBOOL(T), 0, "
                 f"!AUD_ISFLT(T), aud_rows);")
        L.append(f"      memcpy(aud_edit_globals[{k}], p, sizeof {name}); }}")
    return L


def _mentions(text: str, names: dict[str, str]) -> bool:
    return any(w in names for w in re.findall(r"[A-Za-z_]\w*", text))


def _renamed(text: str, names: dict[str, str]) -> str:
    """An extent as the driver spells it: the function's parameters are the driver's variables."""
    return re.sub(r"[A-Za-z_]\w*", lambda m: names.get(m.group(0), m.group(0)), text)


def timing_driver(sig: Signature, sizes: list[int], rounds: int, arrays: list[tuple[str, int]],
                  language: str = "c", nested: int = 1, feedback: bool = False, rotate: bool = False,
                  units: tuple[tuple[str, str], ...] = (), ends: tuple[tuple[str, str], ...] = ()) -> str:
    """A main() that times the original and the edited function, alternating, at each size. In C++ the
    edited function keeps its C++ type; only the two exported objects have C linkage (see `edit_unit`).
    Float scalars are 0.75, or 0.25 for a recurrence through them (`feedback`): a filter whose every
    coefficient is 0.75 overflows within a few hundred samples and both versions then time their
    non-finite fallback, where a real filter is stable (the sandbox times such kernels the same way).
    For the same reason a recurrence's float arrays (factors read per element, `g[m] * (d[m] + b[m-1])`)
    are drawn from [-1, 1) instead of [-4, 4), as the sandbox's timing data are. A loop with data-dependent
    branches (`rotate`) reads other data on each call up to 64K elements (ROTATING_BUFFERS copies of every
    buffer parameter, each call the next): on one unchanged input the branch predictor learns the
    scalar loop's branches, which a program working through its data does not see. A run-time stride
    the rewrite guards (`units`: `incx == 1`) takes that value: the claim is for the vector path (at
    other strides both versions run the user's loop). An end pointer (`ends`: `while (p < end)`) is
    passed as the pointer it bounds plus the size."""
    flt = "0.25" if feedback else "0.75"
    P = sig.params
    cpp = language == "cpp"
    link = 'extern "C" ' if cpp else "extern "
    L = [f"{link}__typeof__(&{sig.name}) aud_edit_ptr;", f"{link}void *aud_edit_globals[];",
         *(["#include <vector>"] if cpp else []),
         DRIVER_RUNTIME.replace("AUD_SIZES", "1"),
         "#include <time.h>",
         "static double aud_now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); "
         "return t.tv_sec * 1e9 + t.tv_nsec; }",
         "static volatile double aud_sink;"]
    for i, p in enumerate(P):
        L.append(f"typedef {p.ctype} aud_t{i};")
    L.append("int main(void) {")
    if feedback:
        L.append("    aud_span = 1.0;")
    L += _fill_globals(arrays)
    matrices = [p for p in P if p.kind == "matrix"]
    if matrices and cpp:
        raise Unsupported("a 2-D array parameter of a C++ function is not driven")
    own = {p.name: f"aud_s{i}" for i, p in enumerate(P) if p.kind in ("size", "dim", "scalar")}
    fixed = [e for m in matrices for e in m.extents if e and not _mentions(e, own)]
    if matrices and len(fixed) == sum(len(m.extents) for m in matrices):
        # Declared sizes (`A[LEN][LEN]`): the code's own size, timed once; every size or extent parameter
        # takes the smallest declared extent (the loops cannot run past any of them).
        L.append("    static const size_t aud_ns[] = {" + " * ".join(f"(size_t)({e})" for e in matrices[0].extents)
                 + "};")
        L.append("    size_t aud_ext = (size_t)-1;")
        L += [f"    if ((size_t)({e}) < aud_ext) aud_ext = (size_t)({e});" for e in fixed]
        extent = "aud_ext"
    else:
        L.append(f"    static const size_t aud_ns[] = {{{', '.join(map(str, sizes))}}};")
        # a nest d loops deep (`A[n][m]`, flat `M[r * n + c]`): every size or extent parameter the d-th
        # root of the count, so the nest runs about that many iterations, as the scan counts them
        depth = max([nested, *(len(m.extents) for m in matrices)]) if matrices or nested > 1 else 0
        extent = f"(size_t)llround(pow((double)n, 1.0 / {depth}))" if depth else ""
    L.append(f"    __typeof__(&{sig.name}) volatile aud_fn[2] = {{&{sig.name}, aud_edit_ptr}};")
    L.append("    for (size_t si = 0; si < sizeof aud_ns / sizeof aud_ns[0]; si++) {")
    L.append("    size_t n = aud_ns[si], cnt = 8 * n + 128;")
    L.append(f"    size_t aud_r = {f'n <= 65536 ? {ROTATING_BUFFERS} : 1' if rotate else '1'};")
    L.append("    aud_rng = 0x9E3779B97F4A7C15ull ^ n;")
    args: list[list[str]] = [[], []]
    for i, p in enumerate(P):
        t = f"aud_t{i}"
        if p.kind == "matrix":
            elems = " * ".join(f"(size_t)({_renamed(e, own)})" for e in p.extents)
            for v in (0, 1):
                L.append(f"    {t} *aud_m{v}_{i} = ({t} *)malloc({elems} * sizeof({t}) + 64);")
            L.append(f"    aud_fill(aud_m0_{i}, {elems}, sizeof({t}), AUD_ISFLT({t}), AUD_ISSGN({t}), AUD_ISBOOL({t}), "
                     f"0, 0, n);")
            L.append(f"    memcpy(aud_m1_{i}, aud_m0_{i}, {elems} * sizeof({t}));")
            for v in (0, 1):
                args[v].append(f"(void *)aud_m{v}_{i}")
        elif p.kind in ("size", "dim") and extent:
            L.append(f"    {t} aud_s{i} = ({t}){extent};")
            args[0].append(f"aud_s{i}")
            args[1].append(f"aud_s{i}")
        elif p.kind == "buffer":
            for v in (0, 1):
                L.append(f"    {t} *aud_b{v}_{i} = ({t} *)malloc(aud_r * cnt * sizeof({t}) + 64);")
            L.append(f"    aud_fill(aud_b0_{i}, aud_r * cnt, sizeof({t}), AUD_ISFLT({t}), AUD_ISSGN({t}), "
                     f"AUD_ISBOOL({t}), 0, {int(p.index_like)}, n);")
            for k, unit in _element_units(p.name, units):  # a stride read through the buffer, in every copy
                L.append(f"    for (size_t aud_u = 0; aud_u < aud_r; aud_u++) aud_b0_{i}[32 + aud_u * cnt + {k}] = "
                         f"({t})({unit});")
            L.append(f"    memcpy(aud_b1_{i}, aud_b0_{i}, aud_r * cnt * sizeof({t}));")
            for v in (0, 1):
                args[v].append(f"aud_b{v}_{i} + 32 + aud_q % aud_r * cnt")
        elif p.kind == "vector":
            L.append(f"    std::vector<{t}> aud_v0_{i}(n);")
            L.append(f"    if (n) aud_fill(aud_v0_{i}.data(), n, sizeof({t}), AUD_ISFLT({t}), AUD_ISSGN({t}), "
                     f"AUD_ISBOOL({t}), 0, {int(p.index_like)}, n);")
            L.append(f"    std::vector<{t}> aud_v1_{i} = aud_v0_{i};")
            for v in (0, 1):
                args[v].append(f"aud_v{v}_{i}")
        elif p.kind == "size":
            L.append(f"    {t} aud_s{i} = ({t})n;")
            args[0].append(f"aud_s{i}")
            args[1].append(f"aud_s{i}")
        elif p.kind == "dim":
            L.append(f"    {t} aud_s{i} = ({t})3;")
            args[0].append(f"aud_s{i}")
            args[1].append(f"aud_s{i}")
        elif p.kind == "scalar" and p.name in dict(units):
            L.append(f"    {t} aud_s{i} = ({t})({dict(units)[p.name]});")
            args[0].append(f"aud_s{i}")
            args[1].append(f"aud_s{i}")
        elif p.kind == "scalar":
            L.append(f"    {t} aud_s{i} = AUD_ISFLT({t}) ? ({t}){flt} : ({t})(1 + (long)(aud_next() % 7));")
            args[0].append(f"aud_s{i}")
            args[1].append(f"aud_s{i}")
        else:
            raise Unsupported(f"parameter {p.name}: a {p.kind} is not driven by the timing program")
    index = {p.name: i for i, p in enumerate(P)}
    for end, start in ends:
        if end not in index or start not in index or P[index[start]].kind != "buffer":
            raise Unsupported(f"the end pointer {end} of {start} is not a parameter pair the program can pass")
        for v in (0, 1):
            args[v][index[end]] = f"({args[v][index[start]]}) + n"
    calls = []
    for v in (0, 1):
        call = f"aud_fn[{v}]({', '.join(args[v])})"
        value = f"(__UINTPTR_TYPE__)({call})" if sig.returns_pointer else call  # a search's pointer: its address
        calls.append(f"{call};" if sig.returns_void else f"aud_sink += (double){value};")
    L.append(f"    long aud_q = 0; double one = aud_now(); {calls[0]} one = aud_now() - one;")
    L.append("    long reps = one > 0 ? (long)(5e6 / one) : 1000; if (reps < 1) reps = 1;")
    L.append(f"    for (int r = 0; r < {rounds}; r++) {{")
    L.append("        double ns[2];")
    L.append("        for (int k = 0; k < 2; k++) {")
    L.append("            int v = (r + k) % 2;")
    L.append("            double t0 = aud_now();")
    L.append(f"            if (v == 0) for (aud_q = 0; aud_q < reps; aud_q++) {{ {calls[0]} }}")
    L.append(f"            else for (aud_q = 0; aud_q < reps; aud_q++) {{ {calls[1]} }}")
    L.append("            ns[v] = (aud_now() - t0) / reps; }")
    L.append('        printf("n=%zu orig=%.1f edit=%.1f\\n", n, ns[0], ns[1]); }')
    for i, p in enumerate(P):
        if p.kind in ("buffer", "matrix"):
            b = "b" if p.kind == "buffer" else "m"
            L.append(f"    free(aud_{b}0_{i}); free(aud_{b}1_{i});")
    L.append("    }")
    L.append("    return 0; }")
    return "\n".join(L) + "\n"


def edit_unit(edited_path: Path, edited: str, fn: str, language: str, arrays: list[tuple[str, int]]) -> str:
    """The translation unit exporting the EDITED function and the addresses of its copies of the file's
    globals (C++: the edited file sits in namespace aud_edit, so its globals are aud_edit::name)."""
    scope = "aud_edit::" if language == "cpp" else ""
    link = 'extern "C" ' if language == "cpp" else ""
    return (_edited_tu(edited_path, edited, fn, language) + f"{link}void *aud_edit_globals[];\n"
            "void *aud_edit_globals[] = {" + "".join(f"(void *)&{scope}{name}, " for name, _ in arrays) + "0};\n")


def _link(cc: str, work: Path) -> tuple[bool, str]:
    """Links driver.o and edit_tu.o. C: only the two exported objects stay global in edit_tu.o (every other
    name of the edited file is a duplicate of the original's). C++: the namespace keeps the edited names
    apart; only extern "C" functions escape it, and then they are localized as in C."""
    cmd = [cc, str(work / "driver.o"), str(work / "edit_tu.o"), "-lm", "-o", str(work / "timing")]
    localize = ["objcopy", "--keep-global-symbol=aud_edit_ptr", "--keep-global-symbol=aud_edit_globals",
                str(work / "edit_tu.o")]
    if cc == "gcc":
        subprocess.run(localize, check=True, cwd=work)
        return _compile(cmd, work)
    ok, msg = _compile(cmd, work)
    if not ok:
        subprocess.run(localize, check=True, cwd=work)
        ok, msg = _compile(cmd, work)
    return ok, msg


def measure(claim: Claim, sizes: list[int], rounds: int, processes: int, work: Path) -> InProgram:
    path = claim.file if claim.file.is_absolute() else ROOT / claim.file
    language = language_for(path) or "c"
    ext = ".cpp" if language == "cpp" else ".c"
    original = path.read_bytes().decode("utf-8")
    edited = apply_edits(original, claim.candidate["edits"])
    work.mkdir(parents=True, exist_ok=True)
    (work / f"original{ext}").write_text(original, encoding="utf-8")
    (work / f"edited{ext}").write_text(edited, encoding="utf-8")
    line0 = claim.line - 1
    try:
        sig = function_signature(original.encode("utf-8"), language, line0, original.splitlines()[line0],
                                 pointer_return=True)
        arrays = global_arrays(original.encode("utf-8"), path, language)
        driver = timing_driver(sig, sizes, rounds, arrays, language, claim.nested, claim.feedback, claim.rotate,
                               claim.units + _size_pointers(original.splitlines(), line0), claim.ends)
    except Unsupported as e:
        return InProgram(claim, {}, f"skipped: {e}")
    (work / f"driver{ext}").write_text(f"#include \"{work / f'original{ext}'}\"\n" + driver, encoding="utf-8")
    (work / f"edit_tu{ext}").write_text(edit_unit(work / f"edited{ext}", edited, sig.name, language, arrays),
                                        encoding="utf-8")
    cc = _compiler(language)
    inc = ["-I", str(path.parent)]
    std = ["-std=gnu++17"] if language == "cpp" else []
    for src, obj in ((f"driver{ext}", "driver.o"), (f"edit_tu{ext}", "edit_tu.o")):
        ok, msg = _compile([cc, *std, *BUILD, "-w", *inc, "-c", str(work / src), "-o", str(work / obj)], work)
        if not ok:
            return InProgram(claim, {}, f"skipped: build failed: {msg}")
    ok, msg = _link(cc, work)
    if not ok:
        return InProgram(claim, {}, f"skipped: link failed: {msg}")
    per_process: dict[int, list[float]] = {}
    for _ in range(processes):
        proc = subprocess.run([str(work / "timing")], capture_output=True, text=True, timeout=600, cwd=work)
        if proc.returncode != 0:
            return InProgram(claim, {}, f"skipped: the timing program failed (exit {proc.returncode})")
        out = proc.stdout
        rounds_by_n: dict[int, list[float]] = {}
        for line in out.splitlines():
            fields = dict(kv.split("=") for kv in line.split())
            n, orig, edit = int(fields["n"]), float(fields["orig"]), float(fields["edit"])
            if edit > 0:
                rounds_by_n.setdefault(n, []).append(orig / edit)
        for n, rs in rounds_by_n.items():
            per_process.setdefault(n, []).append(statistics.median(rs))
    ratios = {n: (statistics.median(v), min(v), max(v)) for n, v in per_process.items()}
    return InProgram(claim, ratios)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", type=Path, help="C/C++ files or directories (default: benchmarks/corpus/)")
    ap.add_argument("--isa", default=None, help="the ISA to rewrite for (default: the best this CPU runs)")
    ap.add_argument("--sizes", default="4096,1048576", help="element counts to call the function with")
    ap.add_argument("--rounds", type=int, default=9, help="alternating rounds per process (default 9)")
    ap.add_argument("--processes", type=int, default=3, help="separate processes (default 3)")
    ap.add_argument("--quick", action="store_true", help="pass --quick to the scan (claims at one size)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    ap.add_argument("--from-scan", type=Path, help="use this saved `scan --json` document instead of scanning")
    ap.add_argument("--save-scan", type=Path, help="also write the scan's --json document (every loop, every candidate)")
    args = ap.parse_args(argv)
    isa = args.isa or host_cpu().best_isa
    if isa is None:
        print("in_program: this CPU runs neither AVX2 nor AVX-512", file=sys.stderr)
        return 2
    paths = [p.resolve() for p in (args.paths or [ROOT / "benchmarks" / "corpus"])]
    sizes = [int(s) for s in args.sizes.split(",")]
    document = (json.loads(args.from_scan.read_text(encoding="utf-8")) if args.from_scan
                else scan(paths, isa, args.quick))
    if args.save_scan:
        args.save_scan.write_text(json.dumps(document, indent=1), encoding="utf-8")
    claims = offered_wins(document)
    rows = []
    with tempfile.TemporaryDirectory(prefix="simdlens-inprog-") as tmp:
        for k, claim in enumerate(claims):
            row = measure(claim, sizes, args.rounds, args.processes, Path(tmp) / str(k))
            rows.append(row)
            print(f"  {claim.file.name}:{claim.line} {claim.function} {claim.isa}: "
                  f"{row.note or ', '.join(f'{n}: {r[0]:.2f}x' for n, r in row.ratios.items())}", file=sys.stderr)
    print(f"| loop | ISA | rule | claimed vs -O3 native | in program, {' / '.join(map(str, sizes))} elements | holds |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        c = row.claim
        claimed = ", ".join(f"{v:.2f}x at {n}" for n, v in sorted(c.claimed.items()))
        measured = row.note or " / ".join(f"{m:.2f}x ({lo:.2f}–{hi:.2f})" + ("" if n in sizes else f" at {n}")
                                          for n, (m, lo, hi) in sorted(row.ratios.items()))  # (a declared size)
        print(f"| {c.file.name}:{c.line} `{c.function}` | {c.isa} | {c.origin} | {claimed} | {measured} | "
              f"{'yes' if row.holds() else 'no' if not row.note else '—'} |")
    measured_rows = [r for r in rows if not r.note]
    held = sum(1 for r in measured_rows if r.holds())
    print(f"\n{len(claims)} offered win(s); {len(measured_rows)} driven in a program; {held} faster there as claimed.")
    if args.json:
        args.json.write_text(json.dumps([{"file": str(r.claim.file), "line": r.claim.line, "function": r.claim.function,
                                          "isa": r.claim.isa, "origin": r.claim.origin, "claimed": r.claim.claimed,
                                          "in_program": {str(n): v for n, v in r.ratios.items()}, "note": r.note}
                                         for r in rows], indent=1), encoding="utf-8")
    return 0 if held == len(measured_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
