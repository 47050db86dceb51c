"""The sandbox's pure parts: flag allow-list, diagnostics, test plans, statistics, CPU, job queue."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from sandbox_kernels import FMAX, INC, SAXPY, U8ADD

from simdlens.compile_db import CompileDatabase, sanitize_arguments
from simdlens.core import Kernel, Ratio
from simdlens.sandbox import bench, harness
from simdlens.sandbox.compiler import parse_diagnostics
from simdlens.sandbox.cpu import HostCpu, parse_cpuinfo
from simdlens.sandbox.jobs import JobQueue, Progress

# --- compile_commands.json -------------------------------------------------------------------------

HOSTILE_ARGS = [
    "-fplugin=/tmp/evil.so", "-B/tmp/evil", "-B", "/tmp/evil2", "-wrapper", "/tmp/evil.sh,x", "-specs=/tmp/evil.specs",
    "@/tmp/evil.rsp", "-include", "/home/me/.ssh/id_rsa", "-imacros", "/etc/shadow", "-fprofile-use=/tmp/p",
    "-Xclang", "-load", "-mllvm", "-x", "-Wl,-rpath,/tmp", "--sysroot=/tmp/root", "-fdump-tree-all",
    "-I", "inc", "-Isrc", "-isystem", "/opt/lib/include", "-DFOO=1", "-DBAR", "-UBAZ", "-O3", "-std=c11",
    "-mavx2", "-march=haswell", "-ffast-math", "-fno-strict-aliasing", "-c", "main.c", "-o", "main.o",
]


def test_only_allow_listed_flags_survive() -> None:
    flags = sanitize_arguments(HOSTILE_ARGS, "/proj")
    assert flags.include_dirs == ("/proj/inc", "/proj/src", "/opt/lib/include")
    assert flags.defines == (("FOO", "1"), ("BAR", "1"), ("BAZ", None))
    assert flags.opt_level == "-O3" and flags.std == "-std=c11"
    assert flags.flags == ("-mavx2", "-march=haswell", "-ffast-math", "-fno-strict-aliasing")
    kept = " ".join(flags.user_args())
    for bad in ("plugin", "evil", "specs", "@", "id_rsa", "shadow", "profile", "load", "sysroot", "rpath", "dump"):
        assert bad not in kept
    assert any("-fplugin" in d for d in flags.dropped) and any("-wrapper" in d for d in flags.dropped)
    assert not flags.is_native_build  # -march=haswell: the -O3 -march=native build is another one


@pytest.mark.parametrize(("args", "native"), [
    (["-O3", "-march=native"], True), (["-march=native", "-mno-avx512f", "-O3"], True),
    (["-O2", "-march=native"], False), (["-O3"], False), (["-O3", "-march=native", "-march=znver3"], False),
    (["-Ofast", "-march=native"], False)])
def test_a_build_is_native_when_it_is_O3_and_its_last_march_is_native(args: list[str], native: bool) -> None:
    assert sanitize_arguments(args).is_native_build == native


def test_database_compiler_is_used_only_when_allow_listed(tmp_path: Path) -> None:
    (tmp_path / "compile_commands.json").write_text(json.dumps([
        {"directory": str(tmp_path), "file": "main.c", "arguments": ["/tmp/evil/cc", *HOSTILE_ARGS]},
        {"directory": str(tmp_path), "file": "other.c", "command": "/usr/bin/gcc -O1 -DX=2 -c other.c"},
    ]))
    (tmp_path / "sub").mkdir()
    db = CompileDatabase.find(tmp_path / "sub", root=tmp_path)
    assert db is not None
    main = db.flags_for(tmp_path / "main.c")
    assert main.compiler == "" and main.exact and main.opt_level == "-O3"
    other = db.flags_for(tmp_path / "other.c")
    assert other.compiler == "" and other.opt_level == "-O1" and other.define_map() == {"X": "2"}
    trusted = CompileDatabase.find(tmp_path, allowed_compilers=("/usr/bin/gcc*",))
    assert trusted is not None and trusted.flags_for(tmp_path / "other.c").compiler == os.path.realpath("/usr/bin/gcc")
    assert trusted.flags_for(tmp_path / "main.c").compiler == ""  # /tmp/evil/cc is not allow-listed
    header = db.flags_for(tmp_path / "other.h")  # no entry: a neighbour's flags
    assert not header.exact and header.opt_level in ("-O1", "-O3")


@pytest.mark.parametrize("content", ["{not json", "[1, 2, {\"file\": 3}]", "{\"a\": 1}", "\x00\x01binary"])
def test_broken_database_is_ignored_or_empty(tmp_path: Path, content: str) -> None:
    (tmp_path / "compile_commands.json").write_text(content)
    db = CompileDatabase.find(tmp_path)
    assert db is None or db.flags_for(tmp_path / "x.c").user_args() == ("-O2",)


# --- compiler diagnostics --------------------------------------------------------------------------


def test_diagnostics_map_into_function_support_and_wrapper() -> None:
    text = "\n".join([
        "/sb/sl_c_1_check.c:4:2: error: unknown type name 'pixel_t'",
        "function:3:31: error: 'undeclared_thing' undeclared (first use in this function)",
        "function:5:1: warning: unused variable 'q'",
        "support:2:5: error: expected ';' before 'return'",
        "simdlens-wrapper:2:1: error: conflicting types for 'sl_c_1_impl'",
        "/tmp/ccX.s:12: Error: file not found: /etc/passwd",
        "/usr/bin/ld: /sb/x.o: in function `f': undefined reference to `helper'",
    ])
    diags = parse_diagnostics(text)
    assert [d.line for d in diags] == [0, 3, 0, 0, 0, 0]
    assert diags[1].column == 31 and "undeclared_thing" in diags[1].message
    assert diags[0].message.startswith("sl_c_1_check.c line 4")
    assert diags[2].message.startswith("support code line 2")
    assert "signature" in diags[3].message and "assembler" in diags[4].message and "helper" in diags[5].message


# --- test plans ------------------------------------------------------------------------------------


def test_plan_covers_edge_sizes_for_every_width_random_sizes_and_a_large_one() -> None:
    sizes = {c.size for c in harness.check_plan(U8ADD, ("avx2", "avx512"))}
    for w in (32, 64):  # uint8 lanes
        assert {0, 1, 2, w - 1, w, w + 1, 2 * w + 1, 3 * w + 5} <= sizes
    assert harness.LARGE_SIZE in sizes
    assert len([s for s in sizes if 6 <= s <= 5000 and s not in {31, 33, 63, 65, 129, 101, 193, 32, 64}]) >= 3
    assert harness.LARGE_SIZE not in {c.size for c in harness.check_plan(U8ADD, ("avx2",), quick=True)}
    assert harness.check_plan(U8ADD, ("avx2",)) == harness.check_plan(U8ADD, ("avx2",))  # deterministic


def test_plan_tests_may_alias_pairs_at_small_positive_and_negative_offsets() -> None:
    overlap = [c for c in harness.check_plan(INC, ("avx2",)) if c.pair >= 0]
    offsets = {c.offset for c in overlap}
    assert {0, 1, -1, 2, -2, 3, -3, 8, -8} <= offsets
    assert not [c for c in harness.check_plan(SAXPY, ("avx2",)) if c.pair >= 0]  # restrict: none


def test_param_types_and_tolerance_rules() -> None:
    assert [harness.param_type(p) for p in SAXPY.params] == ["float *restrict", "const float *restrict", "float", "int"]
    assert harness.return_type(FMAX) == "float" and harness.return_type(SAXPY) == "void"
    assert harness.uses_tolerance(harness_candidate(("reassociates floating-point additions",)))
    assert harness.uses_tolerance(harness_candidate(("FMA contraction",)))
    assert not harness.uses_tolerance(harness_candidate(("assumes no aliasing",)))


def harness_candidate(caveats: tuple[str, ...]):  # type: ignore[no-untyped-def]
    from sandbox_kernels import cand

    return cand(SAXPY, "avx2", "", caveats=caveats)


def test_kernel_the_harness_cannot_drive_is_reported() -> None:
    from simdlens.core import KernelParam, ParamRole

    odd = type(SAXPY)(**{**SAXPY.__dict__, "params": (KernelParam("p", "struct s *p", ParamRole.IN, None),)})
    with pytest.raises(harness.KernelNotTestable):
        harness.validate(odd)


# --- statistics ------------------------------------------------------------------------------------


def test_ratio_is_median_of_per_process_ratios_with_range() -> None:
    procs = [bench.ProcessTimes({4096: (4096, (1.0, 0.5, 0.2, 0.1))}), bench.ProcessTimes({4096: (4096, (1.2, 0.5, 0.2, 0.1))}),
             bench.ProcessTimes({4096: (4096, (1.1, 0.6, 0.2, 0.1))})]
    (size,) = bench.summarize(procs, (4096,), 3)
    assert size.label == "L1" and not size.memory_bound
    assert size.vs_scalar is not None
    got = size.vs_scalar
    assert (got.median, got.lo, got.hi, got.runs) == pytest.approx((11.0, 10.0, 12.0, 3))
    assert size.vs_scalar.noisy  # 2/11 > 10%
    assert size.vs_native_autovec is not None and size.vs_native_autovec.median == pytest.approx(2.0)
    assert not size.vs_native_autovec.noisy
    assert bench.describe(Ratio(11.0, 10.0, 12.0, 3)) == "11.00x (10.00–12.00), 3 runs, noisy"
    assert [bench.size_label(n) for n in (4096, 65536, 1 << 20)] == ["L1", "L2", "memory"]


def test_branchy_kernels_rotate_buffers() -> None:
    from sandbox_kernels import GUARDED, ICOND

    assert bench.branchy(ICOND) and bench.branchy(GUARDED) and bench.branchy(FMAX)
    assert not bench.branchy(SAXPY) and not bench.branchy(U8ADD)


def test_a_counted_while_loop_is_timed_on_one_buffer() -> None:
    """`while (n--) acc += *a++ * *b++;` has no data-dependent branch: timed like the same `for` loop (one
    buffer, so its "L1" size is L1-resident), while a loop whose own condition reads memory still rotates."""
    def kernel(body: str) -> Kernel:
        return replace(SAXPY, source="float simdlens_kernel(const float *a, unsigned n) {\n" + body + "}\n")

    assert not bench.branchy(kernel("    float acc = 0;\n    while (n--)\n        acc += *a++;\n    return acc;\n"))
    assert not bench.branchy(kernel("    float acc = 0;\n    do { acc += *a++; } while (--n);\n    return acc;\n"))
    assert bench.branchy(kernel("    float acc = 0;\n    while (*a != 0.0f)\n        acc += *a++;\n    return acc;\n"))
    assert bench.branchy(kernel("    float acc = 0;\n    while (n--) { if (*a > 0) acc += *a; a++; }\n    return acc;\n"))


def test_bench_output_parsing() -> None:
    text = "SIZE\t4096\t4096\t1\nVAR\t0\t0.4\t100\nVAR\t1\t0.2\t100\nSIZE\t65536\t65536\t1\nVAR\t0\t0.5\t3\n"
    parsed = bench.parse_bench_output(text, 2)
    assert parsed.sizes == {4096: (4096, (0.4, 0.2))}  # the truncated size is dropped


# --- host CPU --------------------------------------------------------------------------------------


def test_cpuinfo_and_isa_requirements() -> None:
    host = parse_cpuinfo("processor : 0\nmodel name : Test CPU\nflags : fpu sse4_2 avx avx2 fma avx512f avx512vl\n")
    assert host.model == "Test CPU" and host.runs("avx2") and host.runs("sse4")
    assert host.missing_for("avx512") == frozenset({"avx512bw", "avx512dq"})
    assert host.best_isa == "avx2"
    assert not HostCpu("x", frozenset({"avx2"})).runs("avx2")  # avx2 candidates also need fma
    assert not host.runs("neon")


# --- job queue -------------------------------------------------------------------------------------


async def test_queue_limits_concurrency_orders_by_priority_and_cancels_a_kernel() -> None:
    queue = JobQueue(limit=1)
    order: list[str] = []
    events: list[Progress] = []
    gate = asyncio.Event()

    def work(name: str, wait: bool = False):  # type: ignore[no-untyped-def]
        async def run(report) -> str:  # type: ignore[no-untyped-def]
            order.append(name)
            report("check", name)
            if wait:
                await gate.wait()
            return name

        return run

    first = queue.submit("k0", work("first", wait=True), on_progress=events.append)
    low = queue.submit("k1", work("low"), priority=0)
    stale = queue.submit("k2", work("stale"), priority=5)
    high = queue.submit("k3", work("high"), priority=10)
    await asyncio.sleep(0.01)
    assert queue.running == 1 and queue.queued == 3
    assert queue.cancel_kernel("k2") == 1
    gate.set()
    assert await first.result() == "first" and await high.result() == "high" and await low.result() == "low"
    assert order == ["first", "high", "low"]
    with pytest.raises(asyncio.CancelledError):
        await stale.result()
    assert [e.stage for e in events] == ["queued", "started", "check", "done"]


async def test_cancelling_a_running_job_stops_it() -> None:
    queue = JobQueue(limit=2)
    started = asyncio.Event()

    async def forever(report) -> None:  # type: ignore[no-untyped-def]
        started.set()
        await asyncio.sleep(3600)

    job = queue.submit("k", forever)
    await started.wait()
    assert queue.cancel_kernel("k") == 1
    with pytest.raises(asyncio.CancelledError):
        await job.result()
    await asyncio.sleep(0)
    assert queue.running == 0


# --- reading a test run ----------------------------------------------------------------------------


def _result(stdout: str = "", stderr: str = "", **kw):  # type: ignore[no-untyped-def]
    from simdlens.sandbox.isolate import RunResult

    fields = {"returncode": 1, "signal": None, "wall": 0.1, **kw}
    return RunResult(stdout=stdout.encode(), stderr=stderr.encode(), **fields)


def test_check_output_becomes_the_right_verdict() -> None:
    from simdlens.core import Status
    from simdlens.sandbox.isolate import Limits
    from simdlens.sandbox.run import interpret_check

    limits = Limits(wall_seconds=7, output_kb=100)
    marker = "@R\t5\t3\t-1\t0\n@C\t5\t3\t-1\t0\n"
    v = interpret_check(_result(marker + "MISMATCH\t5\t3\tout\t4\t1.5\tnan\t-2\n"), limits)
    assert v.status == Status.MISMATCH and v.counterexample is not None and v.counterexample.overlap == -2
    assert v.detail == "out[4] is nan, expected 1.5 (size 5, seed 3 with pointers overlapping at offset -2)"
    with_k = interpret_check(_result(marker + "MISMATCH\t5\t3\tout\t4\t1.5\tnan\tnone\tk = 64, s = 0.5\n"), limits)
    assert with_k.detail == "out[4] is nan, expected 1.5 (size 5, seed 3, k = 64, s = 0.5)"
    ub = interpret_check(_result(marker, "function:7:12: runtime error: load of misaligned address 0x1 for type 'int'\n"), limits)
    assert ub.status == Status.SANITIZER and ub.detail.startswith("UndefinedBehaviorSanitizer: load of misaligned")
    assert "size 5, seed 3" in ub.detail
    segv = interpret_check(_result(marker, "==1==ERROR: AddressSanitizer: SEGV on unknown address 0x000\n"), limits)
    assert segv.status == Status.CRASH and segv.detail.startswith("crashed (SEGV)")
    assert interpret_check(_result(marker, timed_out=True, returncode=None), limits).status == Status.TIMEOUT
    assert interpret_check(_result(marker, cpu_exceeded=True, returncode=None, signal=24), limits).status == Status.TIMEOUT
    assert interpret_check(_result("PASS\t10\t0\n", returncode=0), limits).status == Status.VERIFIED
    # a kernel with run-time strides: the cases at unit strides (the vector path) and at others (the fallback)
    strided = interpret_check(_result("PASS\t10\t0\t4\n", returncode=0), limits)
    assert strided.detail == ("10 test cases agree with the original exactly (4 at unit strides, the vector path; "
                              "6 at other strides, your loop)")
    assert "strides" not in interpret_check(_result("PASS\t10\t0\t-1\n", returncode=0), limits).detail
    assert "exited before" in interpret_check(_result(marker, returncode=0), limits).detail
    ref = interpret_check(_result("@R\t9\t1\t-1\t0\n", signal=11, returncode=None), limits)
    assert ref.status == Status.REJECTED and "original loop itself failed" in ref.detail  # not the candidate's fault


async def test_build_roots_of_dead_processes_are_swept(tmp_path: Path) -> None:
    import subprocess
    import tempfile

    from simdlens.config import Settings
    from simdlens.sandbox import Sandbox

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = Path(tempfile.gettempdir()) / f"simdlens-sandbox-{dead.pid}-test"
    stale.mkdir()
    (stale / "leftover.o").write_bytes(b"x")
    async with Sandbox(Settings(cache_dir=str(tmp_path))) as sandbox:
        root = Path((await sandbox.status()).build_root)
        assert root.is_dir() and not stale.exists()
    assert not root.exists()
