"""The sandbox: compile every candidate, test it against the scalar original, and time it — isolated.

Public API (used by the pipeline, the CLI and the server; keep it stable):

    sandbox = Sandbox(settings)                       # cheap; finds compilers/bwrap on first use
    results = await sandbox.verify(kernel, candidates, bench=True, quick=False, priority=0, bypass=False,
                                   on_progress=None)  # -> tuple[CandidateResult, ...], one per candidate
    job = sandbox.submit(kernel, candidates, ...)     # the same, as a `Job` (job.result(), job.cancel())
    sandbox.cancel(kernel.content_hash)               # cancel that kernel's queued and running jobs
    info = await sandbox.status()                     # compiler, host CPU, isolation (for `doctor`)
    await sandbox.close()                             # kill what runs, remove the build directory

`verify` never raises for a bad candidate: every failure is a `Verdict` (verified, mismatch,
compile_error, crash, sanitizer, timeout, unsupported_cpu, rejected). It queues behind other kernels
(`Settings.job_limit` run at once; higher `priority` first); `bypass=True` skips the queue for a
caller that already holds a job slot (the model's repair loop inside a verification job). Cancelling
the awaiting task, or `cancel(kernel_hash)`, kills the kernel's compilers and test programs.

Modules: harness (test programs), compiler (gcc/clang, flags, PCH), isolate (bubblewrap, rlimits),
run (one kernel's verification), bench (timing protocol), cpu (host ISA), jobs (queue).
See docs/sandbox.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import stat
import tempfile
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from simdlens.cache.keys import kernel_build_key
from simdlens.compile_db import CompileFlags, flags_for_file, sanitize_arguments
from simdlens.config import Settings
from simdlens.core import Candidate, CandidateResult, Kernel, Status, Verdict
from simdlens.sandbox.compiler import Compiler, Toolchain, find_toolchain
from simdlens.sandbox.cpu import HostCpu, host_cpu
from simdlens.sandbox.isolate import Isolation, Limits, self_test
from simdlens.sandbox.jobs import Job, JobQueue, Progress, ProgressCallback
from simdlens.sandbox.run import Environment, KernelBuild, KernelRun

__all__ = ["HostCpu", "Job", "Progress", "Sandbox", "SandboxStatus", "host_cpu"]

log = logging.getLogger(__name__)
MAX_KERNEL_BUILDS = 64
ROOT_PREFIX = "simdlens-sandbox-"


# Where the build root goes when $TMPDIR is private (0700) and the sandbox runs as another uid: a
# directory of our own, 0711 (others may traverse it, never list it), in a shared temp directory.
SHARED_TEMP_DIRS = ("/tmp", "/var/tmp")


def build_base(drop_uid: bool) -> Path:
    """A directory for the build root that the sandboxed uid can reach: $TMPDIR when it can, else a
    0711 directory of ours in /tmp or /var/tmp. RuntimeError (one line) when there is none."""
    tmp = Path(tempfile.gettempdir())
    if not drop_uid or _traversable_by_others(tmp):
        return tmp
    for shared in SHARED_TEMP_DIRS:
        if not _traversable_by_others(Path(shared)):
            continue
        own = Path(shared) / f"simdlens-{os.geteuid()}"
        try:
            os.mkdir(own, 0o711)
        except FileExistsError:
            pass
        except OSError:
            continue
        try:
            st = os.lstat(own)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            continue  # someone else's, or a symlink: not ours to use
        os.chmod(own, 0o711)
        log.info("%s is private: the sandbox's build directories go to %s", tmp, own)
        return own
    raise RuntimeError(f"the sandbox user cannot reach {tmp} (mode 0700?) and no shared temp directory is usable: "
                       "set TMPDIR to a directory others may traverse (chmod o+x)")


def _traversable_by_others(path: Path) -> bool:
    real = Path(os.path.realpath(path))
    for p in (real, *real.parents):
        try:
            if not os.stat(p).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _sweep_stale_roots(base: Path) -> None:
    """Remove build roots left by simdlens processes that died without closing (SIGKILL, OOM)."""
    for path in base.glob(f"{ROOT_PREFIX}*-*"):
        pid_text = path.name[len(ROOT_PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            if path.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


@dataclass(frozen=True)
class SandboxStatus:
    compiler: str  # "gcc 12.2.0 (/usr/bin/gcc)" or ""
    cpu: HostCpu
    isolated: bool  # bubblewrap in use
    build_root: str


class Sandbox:
    def __init__(self, settings: Settings, *, host: HostCpu | None = None, isolation: Isolation | None = None) -> None:
        self.settings = settings
        self._host = host
        self._isolation = isolation
        self._env: Environment | None = None
        self._env_lock: asyncio.Lock | None = None
        self._queue: JobQueue | None = None
        self._builds: OrderedDict[str, KernelBuild] = OrderedDict()
        self._compilers: dict[str, Compiler | None] = {}
        self._cleanup: weakref.finalize[..., object] | None = None

    # -- set-up -------------------------------------------------------------------------------------

    async def _environment(self) -> Environment:
        if self._env is not None:
            return self._env
        if self._env_lock is None:
            self._env_lock = asyncio.Lock()
        async with self._env_lock:
            if self._env is None:
                isolation = self._isolation or Isolation.detect()
                if self._isolation is None and isolation.sandboxed:
                    works, why = await self_test(isolation)
                    if not works:  # e.g. user namespaces disabled: never pretend to isolate
                        log.warning("sandbox unusable, model code will not run: %s", why)
                        isolation = Isolation(bwrap=None)
                toolchain = await find_toolchain(self.settings.compiler, isolation)
                base = build_base(isolation.drop_uid)
                _sweep_stale_roots(base)
                root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-", dir=base))
                root.chmod(0o755)
                self._cleanup = weakref.finalize(self, shutil.rmtree, str(root), True)  # even if never closed
                pch_root = root / "pch"
                pch_root.mkdir()
                isolation.prepare_dir(pch_root)
                env = Environment(self.settings, isolation, toolchain, self._host or host_cpu(), root, None)
                env.compiler = self._make_compiler(toolchain, env) if toolchain else None
                self._env = env
        assert self._env is not None
        return self._env

    def _make_compiler(self, toolchain: Toolchain, env: Environment) -> Compiler:
        limits = Limits(cpu_seconds=max(env.settings.sandbox.cpu_seconds, 20), memory_mb=max(env.settings.sandbox.memory_mb, 2048),
                        wall_seconds=max(env.settings.sandbox.wall_seconds, 60.0), tmpfs_mb=max(env.settings.sandbox.tmpfs_mb, 64),
                        output_kb=1024)
        pch_cache: Path | None = self.settings.cache_path / "pch"
        return Compiler(toolchain, env.isolation, limits, env.root / "pch", pch_cache)

    def _queue_(self) -> JobQueue:
        if self._queue is None:
            self._queue = JobQueue(self.settings.job_limit)
        return self._queue

    def user_flags(self, kernel: Kernel) -> CompileFlags:
        """The user's flags for the kernel's file (compile_commands.json, sanitized) plus extra flags."""
        flags = flags_for_file(kernel.path, self.settings.compile_commands_dir, self.settings.allowed_compilers)
        if self.settings.extra_flags:
            extra = sanitize_arguments(list(self.settings.extra_flags))
            flags = CompileFlags(
                compiler=flags.compiler, include_dirs=flags.include_dirs, defines=(*flags.defines, *extra.defines),
                flags=(*flags.flags, *extra.flags), std=extra.std or flags.std, opt_level=extra.opt_level or flags.opt_level,
                dropped=(*flags.dropped, *extra.dropped), exact=flags.exact,
            )
        return flags

    async def _build_for(self, kernel: Kernel) -> KernelBuild:
        env = await self._environment()
        user = await asyncio.to_thread(self.user_flags, kernel)  # a big compile_commands.json takes a while
        compiler = env.compiler
        if user.compiler and not env.isolation.sandboxed:
            log.info("compile_commands.json compiler %s not used: a database's compiler only runs in the sandbox", user.compiler)
        elif user.compiler:
            if user.compiler not in self._compilers:
                tc = await find_toolchain(user.compiler, env.isolation)  # probed inside the sandbox
                self._compilers[user.compiler] = self._make_compiler(tc, env) if tc else None
            compiler = self._compilers[user.compiler] or compiler
        tc = compiler.toolchain if compiler else None
        key = kernel_build_key(kernel, (tc.cc, tc.cxx, tc.version) if tc else (), user.user_args())
        build = self._builds.get(key)
        if build is None:
            directory = env.root / key
            directory.mkdir(exist_ok=True)
            env.isolation.prepare_dir(directory)
            kernel_env = env if compiler is env.compiler else Environment(env.settings, env.isolation, compiler.toolchain if compiler else None,
                                                                          env.host, env.root, compiler)
            build = KernelBuild(kernel_env, kernel, user, directory)
            self._builds[key] = build
            while len(self._builds) > MAX_KERNEL_BUILDS:
                _, old = self._builds.popitem(last=False)
                shutil.rmtree(old.directory, ignore_errors=True)
        self._builds.move_to_end(key)
        return build

    # -- the API ------------------------------------------------------------------------------------

    async def _verify_now(self, kernel: Kernel, candidates: tuple[Candidate, ...], bench: bool, quick: bool,
                          report: Callable[[str, str], None]) -> tuple[CandidateResult, ...]:
        try:
            build = await self._build_for(kernel)
            return await KernelRun(build, report).verify(tuple(candidates), bench=bench, quick=quick)
        except (OSError, RuntimeError) as exc:  # the machine, not the candidate: say so on every result
            log.warning("sandbox failure: %s", exc)
            verdict = Verdict(Status.REJECTED, f"sandbox failure: {exc}")
            return tuple(CandidateResult(c, verdict) for c in candidates)

    def submit(self, kernel: Kernel, candidates: tuple[Candidate, ...] | list[Candidate], *, bench: bool = True,
               quick: bool = False, priority: int = 0, on_progress: ProgressCallback | None = None) -> Job[tuple[CandidateResult, ...]]:
        """Queue a verification; the Job's `result()` gives what `verify` returns."""
        cands = tuple(candidates)

        async def work(report: Callable[[str, str], None]) -> tuple[CandidateResult, ...]:
            return await self._verify_now(kernel, cands, bench, quick, report)

        return self._queue_().submit(kernel.content_hash, work, priority=priority, on_progress=on_progress)

    async def verify(self, kernel: Kernel, candidates: tuple[Candidate, ...] | list[Candidate], *, bench: bool = True,
                     quick: bool = False, priority: int = 0, bypass: bool = False,
                     on_progress: ProgressCallback | None = None) -> tuple[CandidateResult, ...]:
        """Verify (and, when `bench`, time) every candidate of one kernel; one result per candidate."""
        if not candidates:
            return ()
        if bypass:
            def report(stage: str, message: str) -> None:
                if on_progress is not None:
                    try:
                        on_progress(Progress(kernel.content_hash, stage, message))
                    except Exception:  # a broken callback must not break verification
                        log.exception("progress callback failed")

            return await self._verify_now(kernel, tuple(candidates), bench, quick, report)
        job = self.submit(kernel, candidates, bench=bench, quick=quick, priority=priority, on_progress=on_progress)
        try:
            return await job.result()
        except asyncio.CancelledError:
            job.cancel()
            raise

    def cancel(self, kernel_hash: str) -> int:
        """Cancel the queued and running jobs of one kernel (its loop changed)."""
        return self._queue.cancel_kernel(kernel_hash) if self._queue else 0

    async def status(self) -> SandboxStatus:
        env = await self._environment()
        tc = env.toolchain
        return SandboxStatus(compiler=f"{tc.version} ({tc.cc})" if tc else "", cpu=env.host,
                             isolated=env.isolation.sandboxed, build_root=str(env.root))

    async def close(self) -> None:
        if self._queue is not None:
            await self._queue.close()
        if self._env is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._env.root, ignore_errors=True)
            if self._cleanup is not None:
                self._cleanup.detach()
            self._env = None
        self._builds.clear()

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
