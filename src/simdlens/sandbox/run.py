"""Verify (and benchmark) the candidates of one kernel: build, run the differential test, read the
outcome as a `Verdict`, then time the survivors.

Per kernel, once (a `KernelBuild`, kept while the kernel is unchanged): the reference's checking
object, the check driver object, and later the three benchmark builds of the reference. Per candidate:
its checking object (compile errors come from here), a link, one sandboxed run of the whole test plan,
and, when it passed, its two benchmark objects (at the user's flags and at -O3 -march=native).

Who gets blamed: the driver prints "@R"/"@C" before calling the reference/candidate, so a crash,
sanitizer report or timeout while the *reference* runs is the kernel's problem (REJECTED, "cannot
verify"), not the candidate's.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import signal
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from simdlens import summary
from simdlens.analysis.typefacts import type_fact_failure
from simdlens.compile_db import CompileFlags
from simdlens.config import Settings
from simdlens.core import Candidate, CandidateResult, Counterexample, Kernel, Measurement, Status, Verdict
from simdlens.sandbox import bench as protocol
from simdlens.sandbox import harness
from simdlens.sandbox.compiler import (
    ALIGN_FLAGS,
    ASAN_CANDIDATE,
    ASAN_REF,
    CompileOutcome,
    Compiler,
    Toolchain,
    candidate_flags,
    language_flags,
)
from simdlens.sandbox.cpu import ISA_FLAGS, HostCpu
from simdlens.sandbox.isolate import INSTALL_HINT, Isolation, Limits, Mount, RunResult

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, str], None]  # (stage, message)
# Every variant object carries its own copy of the user's file context, so a function or variable the
# file defines (not `static`) is defined in each: the copies are identical, the linker keeps one.
SHARED_CONTEXT = ("-Wl,--allow-multiple-definition",)


@dataclass
class Environment:
    """What a Sandbox found on this machine; shared by every kernel it verifies."""

    settings: Settings
    isolation: Isolation
    toolchain: Toolchain | None
    host: HostCpu
    root: Path  # private build root, readable by the sandboxed uid
    compiler: Compiler | None

    def limits(self, *, asan: bool) -> Limits:
        s = self.settings.sandbox
        # The driver's own progress markers need ~30 KB for a full plan: never cap below 64 KB.
        return Limits(cpu_seconds=s.cpu_seconds, memory_mb=None if asan else s.memory_mb, wall_seconds=s.wall_seconds,
                      tmpfs_mb=s.tmpfs_mb, output_kb=max(s.output_kb, 64))

    def asan_env(self) -> dict[str, str]:
        mb = self.settings.sandbox.memory_mb
        return {
            "ASAN_OPTIONS": f"detect_leaks=0:allocator_may_return_null=0:max_allocation_size_mb={mb}:"
                            f"hard_rss_limit_mb={mb}:symbolize=0:abort_on_error=0:exitcode=86:detect_odr_violation=0",
            "UBSAN_OPTIONS": "print_stacktrace=0:halt_on_error=1:exitcode=87",
        }


def _symbol(candidate: Candidate) -> str:
    return f"sl_c_{candidate.key}"


@dataclass
class KernelBuild:
    """The per-kernel build directory and what has been built in it."""

    env: Environment
    kernel: Kernel
    user: CompileFlags
    directory: Path
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # A build is not a verdict: these only say the objects exist (a failure is a REJECTED verdict instead).
    check_built: bool = False  # the reference and the check driver
    bench_built: set[bool] = field(default_factory=set)  # the three baselines (True: of the nest)
    # Which context the reference was built in, said in the verdicts ("" = the user's file context).
    context_note: str = ""

    @property
    def compiler(self) -> Compiler:
        assert self.env.compiler is not None
        return self.env.compiler

    @property
    def lang(self) -> tuple[str, ...]:
        return language_flags(self.kernel.language, self.user)

    def user_flags(self) -> tuple[str, ...]:
        return (*self.lang, *self.user.user_args(), *self.context_flags())

    def _non_opt(self) -> tuple[str, ...]:
        return (*self.lang, *self.user.flags, *self.user.define_args(), *self.context_flags())

    def native_flags(self) -> tuple[str, ...]:
        """The user's flags but for the optimisation: -O3 -march=native (the compiler's best effort)."""
        return (*self._non_opt(), "-O3", "-march=native")

    def _user_dirs(self) -> tuple[str, ...]:
        if self.kernel.context is None:
            return ()
        here = os.path.dirname(os.path.abspath(self.kernel.context.path)) if self.kernel.context.path else ""
        dirs = (here, *self.user.include_dirs) if here else self.user.include_dirs
        return tuple(d for d in dict.fromkeys(dirs) if os.path.isdir(d) and self._reachable(d))

    def _reachable(self, directory: str) -> bool:
        """Whether the sandbox's compiler can read `directory` (as root it runs as an unprivileged uid,
        which a 0700 directory on the way keeps out)."""
        if not self.env.isolation.sandboxed or not getattr(self.env.isolation, "drop_uid", False):
            return True
        path = Path(directory)
        try:
            return bool(path.stat().st_mode & stat.S_IROTH) and all(
                p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))
        except OSError:
            return False

    def context_flags(self) -> tuple[str, ...]:
        """Where the user's file finds its own headers: its directory (`"..."`) and its -I directories."""
        dirs = self._user_dirs()
        here = dirs[0] if dirs and self.kernel.context is not None and self.kernel.context.path else ""
        return (*(("-iquote", here) if here else ()), *(f"-I{d}" for d in dirs if d != here))

    def mounts(self) -> tuple[Mount, ...]:
        """The user's source and include directories, read-only at the same path (compiles only)."""
        return tuple(Mount(Path(d), d) for d in self._user_dirs())

    def write(self, name: str, text: str) -> None:
        (self.directory / name).write_text(text, encoding="utf-8")

    async def ensure_check(self) -> Verdict | None:
        """Reference + check driver objects, once per kernel: None when built, else the REJECTED
        verdict every candidate of the kernel gets."""
        async with self.lock:
            if not self.check_built:
                failure = await self._build_check()
                if failure is not None:
                    return failure  # not remembered: it may have been the machine (a timeout under load)
                self.check_built = True
            return None

    async def _build_check(self) -> Verdict | None:
        """Build the reference in the user's file context; when that context does not build here (a
        header the sandbox cannot see, a file that does not compile on its own), fall back to the
        synthesised preamble, whose kernel asserts the same type facts. A misread type never falls back."""
        kernel = self.kernel
        here = os.path.dirname(os.path.abspath(kernel.context.path)) if kernel.context and kernel.context.path else ""
        if kernel.context is not None and here and not self._reachable(here):
            self.kernel = kernel = replace(kernel, context=None)
            self.context_note = ("reference built from simdlens's reading of your declarations, not in your file "
                                 f"(the sandbox's unprivileged user cannot read {here})")
        if kernel.context is not None:
            self.kernel = replace(kernel, language=kernel.context.language)
            failure, why = await self._build_check_in_context()
            if failure is None:
                self.context_note = ""
                return None
            if why is None or "time limit" in why:  # a type fact or the harness (the same in any context), or load
                return failure
            log.info("kernel %s: the user's file context does not build (%s); using the synthesised preamble",
                     kernel.loop_id, why)
            self.kernel = replace(kernel, context=None)
            self.context_note = (f"reference built from simdlens's reading of your declarations, not in your file "
                                 f"(it does not compile on its own here: {why})")
        failure, _ = await self._build_check_in_context()
        return failure

    async def _build_check_in_context(self) -> tuple[Verdict | None, str | None]:
        """(None, None) when built; else (the verdict, why the context failed when another may work)."""
        try:
            self.write("ref_check.c", harness.variant_source(self.kernel, "sl_ref", self.kernel.source))
            self.write("driver_check.c", harness.driver_source(self.kernel, ("sl_ref", "sl_cand")))
        except harness.KernelNotTestable as exc:
            return Verdict(Status.REJECTED, f"the harness cannot test this kernel: {exc}"), None
        # The original gets the candidate's sanitizers too: its own UB (a misaligned load, say) must
        # show up while it runs (blamed on the kernel), not first in a candidate that kept its loop.
        ref_flags = (*self.user_flags(), "-fwrapv", *ASAN_CANDIDATE)
        ref, driver = await asyncio.gather(
            self.compiler.compile(self.directory, "ref_check.c", "ref_check.o", self.kernel.language, ref_flags,
                                  mounts=self.mounts()),
            self.compiler.compile(self.directory, "driver_check.c", "driver_check.o", self.kernel.language,
                                  (*self.lang, *self.user.define_args(), "-O0", *ASAN_REF)),  # compile time matters more
        )
        misread = type_fact_failure(ref.diagnostics)
        if misread is not None:
            return Verdict(Status.REJECTED, f"cannot verify: {misread}", diagnostics=ref.diagnostics), None
        for what, outcome in (("the original loop", ref), ("the test driver", driver)):
            if not outcome.ok:
                first = outcome.diagnostics[0].message if outcome.diagnostics else outcome.stderr[-300:]
                return (Verdict(Status.REJECTED, f"{what} does not compile in the sandbox: {first}"),
                        first if outcome is ref else None)
        return None, None

    async def ensure_bench(self, nest: bool = False) -> str | None:
        """The three baseline builds of the reference (of its nest when `nest`), once per kernel: None
        when built, else why not."""
        async with self.lock:
            if nest not in self.bench_built:
                failure = await self._build_bench(nest)
                if failure is not None:
                    return failure
                self.bench_built.add(nest)
            return None

    async def _build_bench(self, nest: bool) -> str | None:
        tc = self.compiler.toolchain
        variants = {
            "scalar": (*self._non_opt(), *tc.scalar_flags(), *ALIGN_FLAGS),
            "user": (*self.user_flags(), *ALIGN_FLAGS),
            "native": (*self.native_flags(), *ALIGN_FLAGS),
        }
        jobs = []
        for name, flags in variants.items():
            stem = f"{bench_prefix(nest)}ref_{name}"
            text = (harness.nest_variant_source(self.kernel, f"sl_ref_{name}", self.kernel.source) if nest
                    else harness.variant_source(self.kernel, f"sl_ref_{name}", self.kernel.source))
            self.write(f"{stem}.c", text)
            jobs.append(self.compiler.compile(self.directory, f"{stem}.c", f"{stem}.o", self.kernel.language, flags,
                                              mounts=self.mounts()))
        for outcome in await asyncio.gather(*jobs):
            if not outcome.ok:
                return f"baseline build failed: {outcome.diagnostics[0].message if outcome.diagnostics else ''}"
        return None


def bench_prefix(nest: bool) -> str:
    return "nest_" if nest else ""


class KernelRun:
    """Verifying one batch of candidates of one kernel."""

    def __init__(self, build: KernelBuild, progress: ProgressFn | None = None) -> None:
        self.build = build
        self.env = build.env
        self.progress = progress or (lambda stage, message: None)
        self.timed_in_nest = False  # the measurements are of the loop's nest (Kernel.nest)

    @property
    def kernel(self) -> Kernel:
        """The kernel as built: in the user's file context, or (fallback) with the synthesised preamble."""
        return self.build.kernel

    def _isa_flags(self, candidate: Candidate) -> tuple[str, ...]:
        """ISA flags, plus -ffp-contract=off unless contraction is allowed: gcc contracts a*b+c (also
        `_mm256_add_ps(_mm256_mul_ps(..))`) into FMA once -mfma is on, which the original (built
        without -mfma) never does - a silent semantic change the caveats must declare."""
        contract_ok = (harness.uses_tolerance(candidate) or self.env.settings.allow_contraction
                       or any(f.startswith("-ffp-contract") for f in self.build.user.flags))
        return (*ISA_FLAGS.get(candidate.isa, ()), *candidate_flags(candidate.flags),
                *(() if contract_ok else ("-ffp-contract=off",)))

    async def verify(self, candidates: tuple[Candidate, ...], *, bench: bool, quick: bool) -> tuple[CandidateResult, ...]:
        verdicts: dict[int, Verdict] = {}
        pending: list[int] = []
        for i, c in enumerate(candidates):
            pre = self.precheck(c)
            if pre is not None:
                verdicts[i] = pre
            else:
                pending.append(i)
        if pending:
            failure = await self.build.ensure_check()
            if failure is not None:
                for i in pending:
                    verdicts[i] = failure
                pending = []
        for i in pending:
            self.progress("check", f"testing candidate {i + 1}/{len(candidates)} ({candidates[i].origin})")
            verdicts[i] = await self.check(candidates[i], quick=quick)
        measurements: dict[int, Measurement] = {}
        notes: dict[int, str] = {}
        winners = [i for i in pending if verdicts[i].status == Status.VERIFIED]
        if bench and winners and self.env.settings.bench.enabled:
            self.progress("bench", f"timing {len(winners)} candidate(s)")
            measurements, note = await self.benchmark([candidates[i] for i in winners], quick=quick)
            if note:
                for i in winners:
                    notes[i] = note
        results = []
        for i, c in enumerate(candidates):
            v = verdicts[i]
            if i in notes:
                v = Verdict(v.status, f"{v.detail}; {notes[i]}".strip("; "), v.counterexample, v.diagnostics)
            elif i in winners and self.timed_in_nest:
                v = Verdict(v.status, f"{v.detail}; timed in its loop nest".strip("; "), v.counterexample, v.diagnostics)
            if i in pending and self.build.context_note:  # say which reference the verdict is about
                v = Verdict(v.status, f"{v.detail} ({self.build.context_note})", v.counterexample, v.diagnostics)
            elif v.status == Status.VERIFIED and self.kernel.context is not None:
                v = Verdict(v.status, f"{v.detail}, built in your file's context", v.counterexample, v.diagnostics)
            results.append(CandidateResult(candidate=c, verdict=v, measurement=measurements.get(winners.index(i)) if i in winners else None))
        return tuple(results)

    def precheck(self, candidate: Candidate) -> Verdict | None:
        if self.env.toolchain is None or self.env.compiler is None:
            return Verdict(Status.REJECTED, "no C compiler found: install gcc or clang (apt-get install gcc)")
        if not self.env.isolation.sandboxed:
            if candidate.origin.startswith("model:"):
                return Verdict(Status.REJECTED, f"model-written code is only run in a sandbox: {INSTALL_HINT}")
            if self.env.settings.sandbox.require_bwrap_for_rules:
                return Verdict(Status.REJECTED, f"the sandbox is required by the settings: {INSTALL_HINT}")
        if candidate.isa not in ISA_FLAGS:
            return Verdict(Status.REJECTED, f"unknown ISA {candidate.isa!r}")
        if not re.search(rf"\b{re.escape(self.kernel.name)}\s*\(", candidate.function):
            return Verdict(Status.REJECTED, f"the candidate does not define {self.kernel.name}() with the kernel's signature")
        return None

    async def check(self, candidate: Candidate, *, quick: bool) -> Verdict:
        build, kernel = self.build, self.kernel
        sym = _symbol(candidate)
        self.build.write(f"{sym}_check.c", harness.variant_source(kernel, sym, candidate.function, support=candidate.support,
                                                                  vector=True, facts=candidate.type_facts))
        flags = (*build.user_flags(), *self._isa_flags(candidate), "-fwrapv", *ASAN_CANDIDATE)
        outcome = await build.compiler.compile(build.directory, f"{sym}_check.c", f"{sym}_check.o", kernel.language, flags, pch=True,
                                               mounts=build.mounts())
        if not outcome.ok:
            misread = type_fact_failure(outcome.diagnostics)
            if misread is not None:
                return Verdict(Status.COMPILE_ERROR, misread, diagnostics=outcome.diagnostics)
            first = outcome.diagnostics[0]
            where = f"line {first.line}: " if first.line else ""
            return Verdict(Status.COMPILE_ERROR, f"{where}{first.message}", diagnostics=outcome.diagnostics)
        missing = self.env.host.missing_for(candidate.isa) | self.env.host.missing_for_flags(candidate.flags)
        if missing:
            return Verdict(Status.UNSUPPORTED_CPU, f"compiled, not run: this CPU lacks {', '.join(sorted(missing))}")
        exe = f"check_{candidate.key}"
        link = await build.compiler.link(build.directory, ("driver_check.o", "ref_check.o", f"{sym}_check.o"), exe,
                                         kernel.language, (*ASAN_CANDIDATE, f"-Wl,--defsym=sl_cand={sym}", *SHARED_CONTEXT))
        if not link.ok:
            first = link.diagnostics[0]
            return Verdict(Status.COMPILE_ERROR, first.message, diagnostics=link.diagnostics)
        plan = harness.check_plan(kernel, (candidate.isa,), quick=quick)
        mode = harness.data_mode(candidate)
        mount = Mount(build.directory, "/sb")
        argv = [f"{self.env.isolation.path(mount)}/{exe}", "check", str(mode), harness.encode_plan(plan)]
        result = await self.env.isolation.run(argv, mounts=(mount, *build.compiler.toolchain.mounts), cwd=mount,
                                              limits=self.env.limits(asan=True), env=self.env.asan_env())
        log.debug("check run %s: %.3f s, %d cases", exe, result.wall, len(plan))
        return interpret_check(result, self.env.limits(asan=True), tolerant=mode == harness.DATA_TOLERANT,
                               zero_sign=mode == harness.DATA_ZERO_SIGN)

    async def benchmark(self, candidates: list[Candidate], *, quick: bool) -> tuple[dict[int, Measurement], str]:
        """Time the candidates against the three baselines: in the loop's nest when the kernel has one
        (`Kernel.nest`; the loop alone when the nest does not build), else the loop alone."""
        if self.kernel.nest is not None:
            out, note = await self._benchmark(candidates, quick=quick, nest=True)
            if not note:
                self.timed_in_nest = bool(out)
                return out, note
            log.info("the nest of %s was not timed (%s): timing the loop alone", self.kernel.loop_id, note)
        return await self._benchmark(candidates, quick=quick, nest=False)

    async def _benchmark(self, candidates: list[Candidate], *, quick: bool, nest: bool) -> tuple[dict[int, Measurement], str]:
        build, kernel = self.build, self.kernel
        timed = kernel.nest if nest and kernel.nest is not None else kernel
        prefix = bench_prefix(nest)
        failure = await build.ensure_bench(nest)
        if failure is not None:
            return {}, f"not timed: {failure}"
        syms = [_symbol(c) for c in candidates]
        # the candidate built at -O3 -march=native too, under its own symbol (the link keeps one of equal
        # names), unless that is the user's build already
        native_syms = [] if build.user.is_native_build else [f"{sym}_native" for sym in syms]
        for i, (c, sym) in enumerate(zip(candidates, syms, strict=True)):
            builds = [(sym, (*build.user_flags(), *self._isa_flags(c), *ALIGN_FLAGS))]
            if native_syms:
                builds.append((native_syms[i], (*build.native_flags(), *self._isa_flags(c), *ALIGN_FLAGS)))
            outcomes = await asyncio.gather(*(self._bench_object(c, name, flags, nest=nest) for name, flags in builds))
            for (name, _), outcome in zip(builds, outcomes, strict=True):
                if not outcome.ok:
                    at = " at -O3 -march=native" if name in native_syms else ""
                    return {}, f"not timed: the benchmark build{at} failed"
        variants = ("sl_ref_scalar", "sl_ref_user", "sl_ref_native", *syms, *native_syms)
        tag = hashlib.sha256("\0".join((prefix, *variants)).encode()).hexdigest()[:12]
        build.write(f"driver_bench_{tag}.c", harness.driver_source(timed, variants))
        driver = await build.compiler.compile(build.directory, f"driver_bench_{tag}.c", f"driver_bench_{tag}.o", kernel.language,
                                              (*build.lang, *build.user.define_args(), "-O2", *ALIGN_FLAGS))
        objs = (f"driver_bench_{tag}.o", f"{prefix}ref_scalar.o", f"{prefix}ref_user.o", f"{prefix}ref_native.o",
                *(f"{prefix}{s}_bench.o" for s in (*syms, *native_syms)))
        exe = f"bench_{tag}"
        link = await build.compiler.link(build.directory, objs, exe, kernel.language, SHARED_CONTEXT) if driver.ok else driver
        if not link.ok:
            return {}, "not timed: the benchmark build failed"
        settings = self.env.settings.bench
        sizes = harness.bench_sizes(timed, settings.effective_sizes(quick), quick=quick)
        buffers = protocol.ROTATING_BUFFERS if protocol.branchy(kernel) else 1
        mount = Mount(build.directory, "/sb")
        argv = [f"{self.env.isolation.path(mount)}/{exe}", "bench", ",".join(map(str, sizes)), str(protocol.ROUNDS),
                str(protocol.SAMPLE_NS), str(protocol.WARMUP_NS), str(buffers)]
        real = harness.real_size_set(timed)
        by_trip = timed.size_param is None or timed.size_scale != (1, 1)
        tc = build.compiler.toolchain
        undecided = list(range(len(candidates)))
        out: dict[int, Measurement] = {}
        processes = []  # every batch's: a re-measured rewrite is judged on all its processes
        for batch in range(1 + protocol.REMEASURES):
            for k in range(max(1, settings.processes)):
                self_limits = self.env.limits(asan=False)
                result = await self.env.isolation.run(argv, mounts=(mount, *build.compiler.toolchain.mounts), cwd=mount,
                                                      limits=self_limits)
                if result.returncode != 0:
                    log.info("benchmark process %d failed: %s", k, describe_failure(result, self_limits))
                    if out:
                        return out, ""
                    return {}, f"not timed: the benchmark run failed ({describe_failure(result, self_limits)})"
                processes.append(protocol.parse_bench_output(result.stdout.decode(errors="replace"), len(variants)))
            for i in undecided:
                sizes_m = protocol.summarize(processes, sizes, 3 + i, native_index=3 + len(syms) + i if native_syms else None, real=real,
                                             by_trip=by_trip, trim=min(batch, 1))
                if sizes_m:
                    out[i] = protocol.measurement(sizes_m, tc.version, self.env.host.model, build.user.user_args())
            # a batch that cannot decide a candidate is joined by a fresh one (bench.py, REMEASURES)
            undecided = [i for i in undecided if i in out and summary.undecided(out[i])]
            if not undecided:
                break
            if batch < protocol.REMEASURES:
                self.progress("bench", f"measuring {len(undecided)} candidate(s) again: the first measurement was noisy")
        if not out:  # every size skipped (its bounds leave the loop empty or outside the arrays): never silent
            return {}, f"not timed: no benchmark size of {','.join(map(str, sizes))} ran"
        return out, ""

    async def _bench_object(self, candidate: Candidate, symbol: str, flags: tuple[str, ...], *, nest: bool) -> CompileOutcome:
        """One benchmark build of a candidate, defining `symbol` (of its nest when `nest`)."""
        build = self.build
        source = f"{bench_prefix(nest)}{symbol}_bench.c"
        if nest:
            build.write(source, harness.nest_variant_source(self.kernel, symbol, candidate.function,
                                                            support=candidate.support, vector=True))
        else:
            build.write(source, harness.variant_source(self.kernel, symbol, candidate.function, support=candidate.support,
                                                       vector=True, facts=candidate.type_facts))
        return await build.compiler.compile(build.directory, source, f"{bench_prefix(nest)}{symbol}_bench.o",
                                            self.kernel.language, flags, pch=not nest, mounts=build.mounts())


# --------------------------------------------------------------------------------------------------
# Reading a check run
# --------------------------------------------------------------------------------------------------


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def describe_failure(result: RunResult, limits: Limits) -> str:
    if result.timed_out:
        return f"did not finish within {limits.wall_seconds:g} s (wall clock)"
    if result.output_exceeded:
        return f"printed more than {limits.output_kb} KB of output"
    if result.cpu_exceeded:
        return f"exceeded the CPU-time limit of {limits.cpu_seconds} s"
    if result.signal is not None:
        return f"killed by {_signal_name(result.signal)}"
    return f"exited with status {result.returncode}"


def _last_marker(stdout: str) -> tuple[str, str] | None:
    """(who, "size N, seed S[, overlap O]") of the last call the driver started."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("@") and line.count("\t") >= 4:
            who, size, seed, pair, off = line[1:].split("\t")[:5]
            where = f"size {size}, seed {seed}" + (f", pointers overlapping at offset {off}" if pair != "-1" else "")
            return who, where
    return None


_MEMORY_WORDS = ("allocation-size-too-big", "out of memory", "out-of-memory", "rss limit", "calloc-overflow",
                 "requested allocation size", "allocator is out of memory", "Cannot allocate", "failed to allocate")
_CRASH_WORDS = ("SEGV", "BUS", "FPE", "ILL", "ABRT", "stack-overflow")


def _sanitizer_summary(stderr: str) -> tuple[Status, str] | None:
    """The first sanitizer report in `stderr`: memory exhaustion and signals are crashes, the rest
    (out-of-bounds, use-after-free, undefined behaviour) are sanitizer findings."""
    lines = stderr.splitlines()
    for line in lines:
        if "ERROR: AddressSanitizer" in line or "hard rss limit exhausted" in line:
            kind = line.split("AddressSanitizer", 1)[-1].lstrip(": ").strip()
            if any(w in line for w in _MEMORY_WORDS):
                return Status.CRASH, "exceeded the memory limit"
            short = kind.split(" on address")[0].split(" on unknown address")[0]
            if any(w in kind for w in _CRASH_WORDS):
                return Status.CRASH, f"crashed ({short})"
            access = next((ln.strip().split(" at ")[0] for ln in lines if ln.strip().startswith(("READ of size", "WRITE of size"))), "")
            return Status.SANITIZER, f"AddressSanitizer: {short}" + (f" ({access})" if access else "")
        if "runtime error:" in line:
            return Status.SANITIZER, "UndefinedBehaviorSanitizer: " + line.split("runtime error:", 1)[1].strip()[:200]
    return None


def interpret_check(result: RunResult, limits: Limits, *, tolerant: bool = False, zero_sign: bool = False) -> Verdict:
    stdout = result.stdout.decode(errors="replace")
    stderr = result.stderr.decode(errors="replace")
    marker = _last_marker(stdout)
    where = f" at {marker[1]}" if marker else ""
    blame_reference = marker is not None and marker[0] == "R"

    def fail(status: Status, text: str) -> Verdict:
        if blame_reference:
            return Verdict(Status.REJECTED, f"cannot verify: the original loop itself failed{where}: {text}")
        return Verdict(status, f"{text}{where}")

    for line in stdout.splitlines():
        if line.startswith("MISMATCH\t"):
            parts = line.split("\t")
            if len(parts) >= 8:
                overlap = None if parts[7] == "none" else int(parts[7])
                ce = Counterexample(size=int(parts[1]), seed=int(parts[2]), array=parts[3], index=int(parts[4]),
                                    expected=parts[5], got=parts[6], overlap=overlap)
                where_ov = f" with pointers overlapping at offset {overlap}" if overlap is not None else ""
                if len(parts) >= 9 and parts[8].strip():  # the case's scalar parameters, e.g. "k = 64"
                    where_ov += f", {parts[8].strip()}"
                name = "the return value" if ce.array == "return" else f"{ce.array}[{ce.index}]"
                return Verdict(Status.MISMATCH, f"{name} is {ce.got}, expected {ce.expected} (size {ce.size}, seed {ce.seed}{where_ov})", ce)
    if result.timed_out:
        return fail(Status.TIMEOUT, f"did not finish within {limits.wall_seconds:g} s (wall clock)")
    if result.output_exceeded:
        return fail(Status.CRASH, f"printed more than {limits.output_kb} KB of output")
    if result.cpu_exceeded:
        return fail(Status.TIMEOUT, f"exceeded the CPU-time limit of {limits.cpu_seconds} s")
    san = _sanitizer_summary(stderr)
    if san is not None:
        return fail(*san)
    if result.returncode == 0:
        for line in reversed(stdout.splitlines()):
            if line.startswith("PASS\t"):
                parts = line.split("\t")
                rule = ("within the documented float tolerance" if tolerant else
                        "exactly, but for the sign of a zero fmaxf/fminf result" if zero_sign else "exactly")
                units = int(parts[3]) if len(parts) > 3 and parts[3].lstrip("-").isdigit() else -1
                paths = (f" ({units} at unit strides, the vector path; {int(parts[1]) - units} at other strides, "
                         "your loop)") if units >= 0 else ""
                return Verdict(Status.VERIFIED, f"{parts[1]} test cases agree with the original {rule}{paths}")
        return fail(Status.CRASH, "exited before the test finished")
    if result.signal is not None:
        return fail(Status.CRASH, f"killed by {_signal_name(result.signal)}")
    return fail(Status.CRASH, f"exited with status {result.returncode} before the test finished")
