"""Every kernel extracted from the corpus compiles on its own, and a sample of them computes exactly
what the user's original function computes on random data."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from analysis_corpus import CORPUS, analysis_of, corpus_files

from simdlens.core import Kernel, ParamRole

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def _all_kernels() -> list[tuple[str, Kernel]]:
    out = []
    for path in corpus_files():
        fa = analysis_of(path.name)
        for a in fa.analyses:
            k = fa.kernels.get(a.site.loop_id)
            if k is not None:
                out.append((f"{path.name}:{a.site.span.start.line + 1}", k))
    return out


@pytest.fixture(scope="session")
def compile_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Compile every kernel in one gcc and one g++ invocation; map label -> diagnostics ("" = ok)."""
    kernels = _all_kernels()
    d = tmp_path_factory.mktemp("kernels")
    results: dict[str, str] = {}
    for lang, compiler, std in (("c", "gcc", "-std=c11"), ("cpp", "g++", "-std=c++17")):
        files = []
        for n, (label, k) in enumerate(kernels):
            if k.language != lang:
                continue
            f = d / f"k{n}.{'c' if lang == 'c' else 'cpp'}"
            f.write_text(k.preamble + "\n" + k.source)
            files.append((label, f))
        if not files:
            continue
        flags = [compiler, "-c", std, "-Wall", "-Werror=implicit-function-declaration", "-Wno-unused"]
        proc = subprocess.run([*flags, *(str(f) for _, f in files)], cwd=d, capture_output=True, text=True,
                              timeout=300)
        for label, f in files:
            errs = [line for line in proc.stderr.splitlines() if line.startswith(str(f)) and "error" in line]
            results[label] = "\n".join(errs)
    return results


def test_most_corpus_loops_have_kernels() -> None:
    kernels = _all_kernels()
    assert len(kernels) >= 60
    assert len({k.content_hash for _, k in kernels}) == len(kernels)


@pytest.mark.parametrize("label", [label for label, _ in _all_kernels()])
def test_kernel_compiles(label: str, compile_results: dict[str, str]) -> None:
    assert label in compile_results
    assert compile_results[label] == ""


# --------------------------------------------------------------------------------------------------
# Equivalence: original function vs. kernel on the same random data
# --------------------------------------------------------------------------------------------------

# (corpus file, function, argument names of the original call, what the function's return value is
# compared with: True = the kernel's return value, "expr:E" = a C expression over the RESULT values r_<param>, "returned:V" = the
# kernel's return value when it returned from inside the loop, else V; values the original sets
# before its loop, for the kernel's parameters of the same name)
RUN_CASES = [
    ("counted.c", "scale_lt", "out, in, n, k", False, {}),
    ("counted.c", "reverse_fill", "dst, src, n", False, {}),
    ("counted.c", "every_other", "dst, src, n", False, {}),
    ("counted.c", "counter_outside", "a, b, n", True, {}),
    ("counted.c", "while_counter", "a, b, n", False, {"i": "0"}),
    ("counted.c", "pointer_walk", "d, s, n, k", False, {}),
    ("scalars.c", "sum_ints", "a, n", True, {"s": "0"}),
    ("scalars.c", "count_positive", "a, n", True, {"count": "0"}),
    ("scalars.c", "carried_prev", "out, in, n", False, {"prev": "0.0f"}),
    ("scalars.c", "linear_induction", "a, b, n", False, {"s": "0.0f"}),
    ("control.c", "pack_positive", "out, in, n", True, {"j": "0"}),
    ("control.c", "find_in_header", "a, n, key", True, {"key": "(int)(rnd(&seed) * 30)"}),
    ("control.c", "average_bytes", "dst, a, b, n", False, {}),
    ("control.c", "guarded_read", "out, a, n, m", False, {"m": "n / 3"}),
    ("control.c", "signed_chars", "dst, src, n", False, {}),
    ("access.c", "flat_image", "img, src, r, cols", False, {"r": "2", "cols": "n"}),
    ("scalars.c", "argmax", "a, n", "expr:r_simdlens_at", {"best": "o_a[16]", "at": "0"}),
    ("scalars.c", "all_bits", "a, n", "expr:r_simdlens_m ^ r_simdlens_o ^ r_simdlens_x", {"m": "~0u", "o": "0", "x": "0"}),
    ("control.c", "find_first", "a, n, key", "returned:-1", {"key": "(int)(rnd(&seed) * 30)"}),
    ("counted.c", "down_by_three", "dst, n", False, {}),
    ("deps.c", "symbolic_offset", "x, n, k", False, {"k": "3"}),
    ("counted.c", "skip_from", "s, i, n", True, {"i": "1"}),
]


def _kernel_of(file: str, function: str) -> Kernel:
    fa = analysis_of(file)
    for a in fa.analyses:
        if a.site.function == function:
            k = fa.kernels.get(a.site.loop_id)
            assert k is not None, f"no kernel for {file}:{function}"
            return k
    raise AssertionError(f"no loop in {function}")


def _driver(file: str, function: str, call: str, compare_return: bool | str, init: dict[str, str],
            k: Kernel) -> str:
    pad, cap = 16, 4096
    lines = [f'#include "{CORPUS / file}"', "#include <stdlib.h>", "#include <string.h>", "#include <stdio.h>",
             k.preamble, k.source.replace("simdlens_kernel", "kernel_under_test"),
             "static double rnd(unsigned *s) { *s = *s * 1103515245u + 12345u; return (double)((*s >> 8) % 2000) / 250.0 - 4.0; }",
             "int main(int argc, char **argv) {", " unsigned seed = (unsigned)atoi(argv[1]); int n = atoi(argv[2]);",
             " int fails = 0;"]
    kargs, oargs = [], {}
    for p in k.params:
        t = p.elem.c if p.elem else "int"
        if p.role in (ParamRole.IN, ParamRole.OUT, ParamRole.INOUT):
            lines += [f" {t} *o_{p.name} = malloc(sizeof({t}) * {cap}), *k_{p.name} = malloc(sizeof({t}) * {cap});",
                      f" for (int q = 0; q < {cap}; q++) o_{p.name}[q] = ({t})(rnd(&seed) * 30);",
                      f" memcpy(k_{p.name}, o_{p.name}, sizeof({t}) * {cap});"]
            star = "(void *)" if "(*" in p.decl else ""
            kargs.append(f"{star}(k_{p.name} + {pad})")
            oargs[p.name] = f"{star}(o_{p.name} + {pad})"
        elif p.role == ParamRole.RESULT:
            lines.append(f" {t} r_{p.name} = {init.get(p.source, '0')};")
            kargs.append(f"&r_{p.name}")
        else:
            # the size drives the trip count; values the original sets before its loop are set likewise
            value = init.get(p.name, "n" if p.name == k.size_param else f"({t})(rnd(&seed) * 4)")
            lines.append(f" {t} v_{p.name} = {value};")
            kargs.append(f"v_{p.name}")
            oargs[p.name] = f"v_{p.name}"
    args = ", ".join(oargs.get(a.strip(), f"v_{a.strip()}") for a in call.split(","))
    kcall = f"kernel_under_test({', '.join(kargs)})"
    if isinstance(compare_return, str) and compare_return.startswith("expr:"):
        got = compare_return[len("expr:"):]
        lines.append(f" __typeof__({function}({args})) want = {function}({args});")
        lines.append(f" {kcall};")
        lines.append(f" __typeof__(want) got = {got};")
        lines.append(' if (memcmp(&want, &got, sizeof want)) { printf("result differs\\n"); fails++; }')
    elif isinstance(compare_return, str) and compare_return.startswith("returned:") and k.return_type:
        flag = next(p.name for p in k.params if p.name.startswith("simdlens_returned"))
        lines.append(f" {k.return_type.c} want = {function}({args});")
        lines.append(f" {k.return_type.c} got = {kcall};")
        lines.append(f" if (!r_{flag}) got = {compare_return[len('returned:'):]};")
        lines.append(' if (memcmp(&want, &got, sizeof want)) { printf("return differs\\n"); fails++; }')
    elif compare_return and k.return_type is not None:
        lines.append(f" {k.return_type.c} want = {function}({args});")
        lines.append(f" {k.return_type.c} got = {kcall};")
        lines.append(' if (memcmp(&want, &got, sizeof want)) { printf("return differs\\n"); fails++; }')
    else:
        lines.append(f" {function}({args});")
        lines.append(f" {kcall};")
    for p in k.params:
        if p.role in (ParamRole.IN, ParamRole.OUT, ParamRole.INOUT):
            t = p.elem.c if p.elem else "int"
            lines.append(f' if (memcmp(o_{p.name}, k_{p.name}, sizeof({t}) * {cap})) {{ printf("{p.name} differs\\n"); fails++; }}')
    lines += [" return fails != 0;", "}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def run_binaries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("equiv")
    out: dict[str, Path] = {}
    srcs = []
    for file, function, call, ret, init in RUN_CASES:
        k = _kernel_of(file, function)
        src = d / f"{function}.c"
        src.write_text(_driver(file, function, call, ret, init, k))
        srcs.append((function, src))
    # one compiler process per binary is unavoidable for linking; keep it -O1 and in a loop
    for function, src in srcs:
        exe = d / function
        proc = subprocess.run(["gcc", "-std=c11", "-O1", "-w", "-o", str(exe), str(src), "-lm"], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        out[function] = exe
    return out


@pytest.mark.parametrize("case", RUN_CASES, ids=[c[1] for c in RUN_CASES])
def test_kernel_matches_original(case: tuple[str, str, str, bool | str, dict[str, str]], run_binaries: dict[str, Path]) -> None:
    exe = run_binaries[case[1]]
    for seed, n in ((1, 100), (2, 37), (3, 0), (4, 1), (5, 1000)):
        proc = subprocess.run([str(exe), str(seed), str(n)], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, f"seed {seed} n {n}: {proc.stdout}"


def _only_kernel(src: str, path: str) -> Kernel:
    from simdlens.analysis import analyze_file

    fa = analyze_file(src.encode(), path, "c")
    ks = list(fa.kernels.values())
    assert len(ks) == 1
    return ks[0]


def test_content_hash_ignores_layout_comments_and_file_name() -> None:
    a = _only_kernel("#define K 3\nvoid f(float *restrict a, int n) {\n for (int i = 0; i < n; i++) a[i] *= K;\n}\n",
                     "one.c")
    b = _only_kernel("/* moved */\n#define K 3\n\n\nvoid f(float *restrict a,int n){for(int i=0;i<n;i++)\n"
                     "    a[i] *= K; // same loop\n}\n", "elsewhere/two.c")
    c = _only_kernel("#define K 4\nvoid f(float *restrict a, int n) {\n for (int i = 0; i < n; i++) a[i] *= K;\n}\n",
                     "one.c")
    assert a.content_hash == b.content_hash
    assert a.content_hash != c.content_hash  # the macro's value is part of the kernel


def test_kernel_keeps_user_names_and_records_renames() -> None:
    src = ("struct img { float *px; int w; };\n"
           "void f(struct img *p, const float *restrict g, float k) {\n"
           "  for (int x = 0; x < p->w; x++) p->px[x] = g[x] * k;\n}\n")
    k = _only_kernel(src, "r.c")
    by_name = {p.name: p for p in k.params}
    assert by_name["p_px"].source == "p->px" and by_name["p_w"].source == "p->w"
    assert by_name["g"].source == "" and by_name["g"].decl == "const float *restrict g"
    assert by_name["p_w"].role == ParamRole.COUNT and k.size_param == "p_w"
    assert "p_px[x] = g[x] * k;" in k.source
    assert k.may_alias == ()  # g is restrict


# --------------------------------------------------------------------------------------------------
# Footprints: every C kernel of the corpus runs under AddressSanitizer with each array allocated to
# exactly its footprint; a touch outside it is a reported overflow.
# --------------------------------------------------------------------------------------------------


def _footprint_driver(n: int, k: Kernel) -> str:
    size = 37
    lines = [k.preamble, k.source.replace("simdlens_kernel", f"kernel_{n}"), "#include <stdlib.h>",
             f"int run_{n}(void) {{"]
    args = []
    for p in k.params:
        if p.role in (ParamRole.COUNT, ParamRole.SCALAR):
            t = p.elem.c if p.elem else "int"
            value = size if p.name == k.size_param else (3 if p.role == ParamRole.COUNT else 2)
            lines.append(f" {t} {p.name} = ({t}){value};")
    fps = {f.param: f for f in k.footprints}
    for p in k.params:
        f = fps.get(p.name)
        if f is not None:
            lines.append(f" long long lo_{p.name} = (long long)({f.lo}), hi_{p.name} = (long long)({f.hi});")
            lines.append(f" if (hi_{p.name} < lo_{p.name}) hi_{p.name} = lo_{p.name};")
    for p in k.params:
        t = p.elem.c if p.elem else "int"
        if p.role in (ParamRole.IN, ParamRole.OUT, ParamRole.INOUT):
            f = fps[p.name]
            lines.append(f" {t} *buf_{p.name} = malloc(sizeof({t}) * (size_t)(hi_{p.name} - lo_{p.name} + 1));")
            fill = (f"({t})(lo_{f.indexes} + q % (hi_{f.indexes} - lo_{f.indexes} + 1))" if f.indexes
                    else f"({t})((q * 7) % 5)")
            lines.append(f" for (long long q = 0; q <= hi_{p.name} - lo_{p.name}; q++) buf_{p.name}[q] = {fill};")
            decl = p.decl.replace("const ", "")
            lines.append(f" {decl} = (void *)(buf_{p.name} - lo_{p.name});")
            args.append(p.name)
        elif p.role == ParamRole.RESULT:
            lines.append(f" {t} r_{p.name} = 0;")
            args.append(f"&r_{p.name}")
        else:
            args.append(p.name)
    lines.append(f" kernel_{n}({', '.join(args)});")
    for p in k.params:
        if p.role in (ParamRole.IN, ParamRole.OUT, ParamRole.INOUT):
            lines.append(f" free(buf_{p.name});")
    lines += [" return 0;", "}"]
    return "\n".join(lines) + "\n"


def test_footprints_cover_every_access(tmp_path: Path) -> None:
    kernels = [(label, k) for label, k in _all_kernels() if k.language == "c"]
    files = []
    for n, (_label, k) in enumerate(kernels):
        f = tmp_path / f"fp{n}.c"
        f.write_text(_footprint_driver(n, k))
        files.append(f)
    main = tmp_path / "main.c"
    calls = "\n".join(f"    {{ int run_{n}(void); fprintf(stderr, \"kernel {n}\\n\"); run_{n}(); }}"
                      for n in range(len(kernels)))
    main.write_text(f"#include <stdio.h>\nint main(void) {{\n{calls}\n    return 0;\n}}\n")
    exe = tmp_path / "fp"
    proc = subprocess.run(["gcc", "-std=c11", "-O0", "-w", "-fsanitize=address", "-o", str(exe), str(main),
                           *(str(f) for f in files), "-lm"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        last = [line for line in run.stderr.splitlines() if line.startswith("kernel ")][-1]
        label = kernels[int(last.split()[1])][0]
        pytest.fail(f"{label}: access outside the footprint\n{run.stderr[-2000:]}")


def test_a_loop_without_observable_effect_has_no_kernel() -> None:
    from simdlens.analysis import analyze_file

    src = b"void f(const int *a, int n) { for (int i = 0; i < n; i++) { if (a[i] == 3) break; } }\n"
    fa = analyze_file(src, "dead.c", "c")
    assert fa.analyses[0].verdict.value == "vectorizable"
    assert dict(fa.kernels) == {}
