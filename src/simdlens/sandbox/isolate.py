"""Run one untrusted program (a compiler on candidate code, or a test driver) in isolation.

With bubblewrap (`bwrap`) every run gets:

- new user, pid, net, ipc, uts and cgroup namespaces (`--unshare-all --unshare-user`), and no further
  user namespaces inside (`--disable-userns`): no network at all, no view of other processes;
- an empty root: only `/usr` (read-only, with the merged-usr `/bin`, `/lib`, `/lib64` symlinks), a
  fresh `/proc` and minimal `/dev`, a private size-capped tmpfs on `/tmp`, and the one build directory
  of this kernel (read-write while compiling, read-only while running). No `/etc`, nothing of `$HOME`
  or of the user's project; the environment is cleared;
- `--die-with-parent --new-session`; when simdlens runs as root the whole thing runs as uid/gid 65534,
  because the kernel does not enforce RLIMIT_NPROC for uid 0;
- rlimits set by `prlimit` before the program starts: CPU seconds, address space (not for
  AddressSanitizer builds, which reserve terabytes of shadow memory: their memory is capped by
  ASAN_OPTIONS instead), file size, open files, processes, core size 0;
- a wall-clock timeout that kills the sandbox's pid 1 (taking every process in its pid namespace with
  it), and a cap on captured output (the run is killed when it prints more).

Without bubblewrap (`Isolation.sandboxed` is False) only the rlimits, the uid drop, the process group
kill and the output cap apply; the caller decides what may run like that (rule code only).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

UNPRIVILEGED_ID = 65534  # "nobody" on Debian/Ubuntu/Fedora
STDERR_CAP = 64 * 1024
INSTALL_HINT = "install bubblewrap: apt-get install bubblewrap"
BASE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C", "LC_ALL": "C"}


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 20
    memory_mb: int | None = 2048  # RLIMIT_AS; None for AddressSanitizer builds (see module doc)
    wall_seconds: float = 30.0
    tmpfs_mb: int = 64
    output_kb: int = 256
    nproc: int = 64  # counts threads, and every sandbox running as the same uid
    nofile: int = 64
    fsize_mb: int = 64


@dataclass(frozen=True)
class Mount:
    host: Path
    inside: str
    writable: bool = False


@dataclass(frozen=True)
class RunResult:
    returncode: int | None  # exit status when the program exited normally
    signal: int | None  # the signal that ended it
    stdout: bytes
    stderr: bytes
    wall: float
    timed_out: bool = False  # killed at the wall-clock limit
    output_exceeded: bool = False  # killed for printing more than the cap
    cpu_exceeded: bool = False  # ended by the CPU-time rlimit (SIGXCPU / SIGKILL at the hard limit)
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not (self.timed_out or self.output_exceeded)


class Isolation:
    """How programs are run here: bubblewrap when available, else rlimits alone."""

    def __init__(self, bwrap: str | None, prlimit: str | None = None) -> None:
        self.bwrap = bwrap
        self.prlimit = prlimit or shutil.which("prlimit")
        self.drop_uid = os.geteuid() == 0

    @classmethod
    def detect(cls) -> Isolation:
        return cls(shutil.which("bwrap"))

    @property
    def sandboxed(self) -> bool:
        return self.bwrap is not None

    def path(self, mount: Mount) -> str:
        """Where the program sees `mount`: its inside path under bwrap, the host path without."""
        return mount.inside if self.sandboxed else str(mount.host)

    def prepare_dir(self, path: Path) -> None:
        """Make a host directory usable by the sandboxed uid (only matters when running as root)."""
        if self.drop_uid:
            os.chown(path, UNPRIVILEGED_ID, UNPRIVILEGED_ID)
            path.chmod(0o755)

    def _limit_args(self, limits: Limits) -> list[str]:
        if not self.prlimit:
            raise RuntimeError("prlimit (util-linux) not found: cannot limit sandboxed programs")
        args = [
            "/usr/bin/prlimit" if self.sandboxed else self.prlimit,
            f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
            f"--nproc={limits.nproc}", f"--nofile={limits.nofile}", "--core=0",
            f"--fsize={limits.fsize_mb << 20}",
        ]
        if limits.memory_mb is not None:
            args.append(f"--as={limits.memory_mb << 20}")
        return [*args, "--"]

    def _bwrap_args(self, mounts: tuple[Mount, ...], cwd: str, limits: Limits, env: dict[str, str], info_fd: int) -> list[str]:
        assert self.bwrap is not None
        args = [
            self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--hostname", "sandbox", "--clearenv", "--info-fd", str(info_fd),
            "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
            "--proc", "/proc", "--dev", "/dev", "--size", str(limits.tmpfs_mb << 20), "--tmpfs", "/tmp",
        ]
        for m in mounts:
            if not str(m.host).startswith("/usr/"):
                args += ["--bind" if m.writable else "--ro-bind", str(m.host), m.inside]
        for key, value in env.items():
            args += ["--setenv", key, value]
        return [*args, "--chdir", cwd]

    async def run(
        self, argv: list[str], *, mounts: tuple[Mount, ...] = (), cwd: Mount | None = None,
        limits: Limits = Limits(), env: dict[str, str] | None = None,
    ) -> RunResult:
        """Run `argv` (paths as `self.path(mount)` gives them) isolated; never raises for what the
        program does. Cancelling the awaiting task kills the program and everything it started."""
        full_env = {**BASE_ENV, **(env or {})}
        workdir = self.path(cwd) if cwd else "/tmp"
        info_r, info_w = os.pipe() if self.sandboxed else (-1, -1)
        try:
            if self.sandboxed:
                command = [*self._bwrap_args(mounts, workdir, limits, full_env, info_w), "--",
                           *self._limit_args(limits), *argv]
                spawn_env: dict[str, str] = {"PATH": "/usr/bin:/bin"}
                spawn_cwd = "/"
            else:
                command = [*self._limit_args(limits), *argv]
                spawn_env = full_env
                spawn_cwd = str(cwd.host) if cwd else "/"
            drop = {"user": UNPRIVILEGED_ID, "group": UNPRIVILEGED_ID, "extra_groups": []} if self.drop_uid else {}
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=spawn_env, cwd=spawn_cwd, start_new_session=True,
                pass_fds=(info_w,) if self.sandboxed else (), **drop,  # type: ignore[arg-type]
            )
        except BaseException:
            for fd in (info_r, info_w):
                if fd >= 0:
                    os.close(fd)
            raise
        if info_w >= 0:
            os.close(info_w)
        try:
            return await self._supervise(proc, started, limits, info_r)
        finally:
            if info_r >= 0:
                os.close(info_r)

    async def _supervise(self, proc: asyncio.subprocess.Process, started: float, limits: Limits, info_r: int) -> RunResult:
        assert proc.stdout is not None and proc.stderr is not None
        out_cap = limits.output_kb * 1024
        exceeded = asyncio.Event()

        async def drain(stream: asyncio.StreamReader, cap: int, sink: bytearray) -> None:
            # Past the cap: flag it (the run gets killed) but keep reading to EOF, so the pipe closes.
            while chunk := await stream.read(65536):
                room = cap - len(sink)
                if room > 0:
                    sink += chunk[:room]
                if len(chunk) > room:
                    exceeded.set()

        stdout, stderr = bytearray(), bytearray()
        readers = asyncio.gather(drain(proc.stdout, out_cap, stdout), drain(proc.stderr, STDERR_CAP, stderr))
        waiter = asyncio.ensure_future(proc.wait())
        overflow = asyncio.ensure_future(exceeded.wait())
        timed_out = False
        try:
            done, _ = await asyncio.wait({waiter, overflow}, timeout=limits.wall_seconds, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                timed_out = True
            if timed_out or exceeded.is_set():
                await self._kill_tree(proc, info_r)
            await asyncio.wait_for(waiter, timeout=10)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(readers, timeout=2)
        except BaseException:  # cancelled (the kernel's loop changed) or failed: leave nothing running
            await asyncio.shield(self._kill_tree(proc, info_r))
            raise
        finally:
            overflow.cancel()
            readers.cancel()
            with contextlib.suppress(BaseException):
                await readers
            transport = getattr(proc, "_transport", None)  # a pipe held open by a stray writer
            if transport is not None:
                transport.close()
        wall = time.monotonic() - started
        rc = proc.returncode
        sig: int | None = None
        if rc is not None and rc < 0:
            sig, rc = -rc, None
        elif rc is not None and self.sandboxed and rc > 128 and rc - 128 < 65:
            sig, rc = rc - 128, None  # bwrap reports a signalled child as 128 + signal
        killed_by_us = timed_out or exceeded.is_set()
        cpu = not killed_by_us and sig in (signal.SIGXCPU, signal.SIGKILL)
        return RunResult(
            returncode=None if killed_by_us else rc, signal=None if killed_by_us else sig,
            stdout=bytes(stdout), stderr=bytes(stderr), wall=wall, timed_out=timed_out,
            output_exceeded=exceeded.is_set() and not timed_out, cpu_exceeded=cpu,
        )

    async def _kill_tree(self, proc: asyncio.subprocess.Process, info_r: int) -> None:
        """Kill the sandbox's pid 1 (the kernel then kills its whole pid namespace) and the group."""
        child = _read_child_pid(info_r) if info_r >= 0 else None
        if child is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(proc.wait(), timeout=10)
        if child is not None:  # wait until the namespace is really gone
            deadline = time.monotonic() + 5
            while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)


def _read_child_pid(fd: int) -> int | None:
    os.set_blocking(fd, False)
    data = b""
    with contextlib.suppress(BlockingIOError, OSError):
        while chunk := os.read(fd, 4096):
            data += chunk
    try:
        pid = json.loads(data.decode()).get("child-pid")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


async def self_test(isolation: Isolation) -> tuple[bool, str]:
    """Run `/bin/true` in the sandbox: (works, one-line explanation). Used by `simdlens doctor`."""
    if not isolation.sandboxed:
        return False, f"bubblewrap not found ({INSTALL_HINT})"
    try:
        result = await isolation.run(["/bin/true"], limits=Limits(wall_seconds=10))
    except (OSError, RuntimeError) as exc:
        return False, f"bubblewrap failed to start: {exc}"
    if result.returncode == 0:
        return True, f"bubblewrap works ({result.wall * 1000:.0f} ms per run)"
    reason = result.stderr.decode(errors="replace").strip().splitlines()
    return False, f"bubblewrap cannot create a sandbox here: {reason[-1] if reason else result}"
