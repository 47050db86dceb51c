"""Containment (issue 3 §5): real hostile candidates, and what a user would check afterwards.

Every hostile candidate tries its attack first; if the attack *works* it then computes the right
answer (so an escape would show up as `verified`), and if the attack fails it aborts. The verdict
therefore names what happened, and the observable side effects are checked on the host.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from sandbox_kernels import INT32, cand, fp, make_kernel, n_param
from sandbox_testkit import needs_bwrap, needs_compiler, run

from simdlens.config import BenchSettings, SandboxSettings, Settings
from simdlens.core import CandidateResult, KernelParam, ParamRole, Status
from simdlens.sandbox import Sandbox

pytestmark = [needs_compiler, needs_bwrap, pytest.mark.sandbox]

SECRET = "SIMDLENS-FAKE-SECRET-7f3a9c"
KERNEL = make_kernel(
    "hostile",
    "void simdlens_kernel(int32_t *restrict a, const int32_t *restrict b, int n) {\n"
    "    for (int i = 0; i < n; i++) a[i] = b[i] + 1;\n}\n",
    "void simdlens_kernel(int32_t *restrict a, const int32_t *restrict b, int n)",
    (KernelParam("a", "int32_t *restrict a", ParamRole.OUT, INT32, restrict=True),
     KernelParam("b", "const int32_t *restrict b", ParamRole.IN, INT32, restrict=True), n_param()),
    (fp("a"), fp("b")),
    preamble="#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <signal.h>\n"
             "#include <unistd.h>\n#include <sys/socket.h>\n#include <netinet/in.h>\n#include <arpa/inet.h>",
)
MARKERS: list[str] = []
CORRECT = "    for (int i = 0; i < n; i++) a[i] = b[i] + 1;\n"


def hostile(body: str) -> str:
    return ("void simdlens_kernel(int32_t *restrict a, const int32_t *restrict b, int n) {\n"
            "    (void)_mm256_setzero_si256();\n" + body + CORRECT + "}\n")


class World:
    """The host-side things an attack could reach: a fake $HOME with a key, a project, a listener."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.project = root / "project"
        (self.home / ".ssh").mkdir(parents=True)
        self.project.mkdir()
        self.key = self.home / ".ssh" / "id_rsa"
        self.key.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n", encoding="utf-8")
        (self.project / "main.c").write_text("int main(void) { return 0; }\n", encoding="utf-8")
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]

    def connections(self) -> int:
        count = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


def attacks(w: World) -> dict[str, str]:
    return {
        "read_secrets": hostile(
            f'    FILE *f = fopen("{w.key}", "r"); FILE *g = fopen("/etc/passwd", "r");\n'
            "    if (!f || !g) abort();\n"
            "    char buf[256]; while (fgets(buf, sizeof buf, f)) { fputs(buf, stdout); fputs(buf, stderr); }\n"
            "    while (fgets(buf, sizeof buf, g)) fputs(buf, stdout);\n"),
        "write_home_and_project": hostile(
            f'    FILE *f = fopen("{w.home}/pwned.txt", "w"); FILE *g = fopen("{w.project}/pwned.c", "w");\n'
            "    if (!f || !g) abort();\n    fputs(\"x\", f); fputs(\"x\", g); fclose(f); fclose(g);\n"),
        "tcp_connect": hostile(
            "    int s = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in sa; memset(&sa, 0, sizeof sa);\n"
            f"    sa.sin_family = AF_INET; sa.sin_port = htons({w.port}); sa.sin_addr.s_addr = inet_addr(\"127.0.0.1\");\n"
            "    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) abort();\n"
            '    (void)!write(s, "stolen", 6);\n'),
        "shell": hostile(
            f"    if (system(\"/bin/sh -c 'cat {w.key} > {w.home}/copied && touch {w.project}/shell-was-here'\") != 0) abort();\n"),
        "fork_bomb": hostile("    for (;;) (void)fork();\n"),
        "spin_ignoring_sigterm": hostile("    signal(SIGTERM, SIG_IGN);\n    for (volatile int k = 0;; k++) {}\n"),
        "allocate_50gb": hostile("    char *p = (char *)malloc(50ull << 30);\n    if (!p) abort();\n    memset(p, 1, 50ull << 30);\n"),
        "fill_tmp": hostile(
            '    FILE *f = fopen("/tmp/fill", "w"); static char blk[1 << 20]; memset(blk, 7, sizeof blk);\n'
            "    if (!f) abort();\n    for (int k = 0; k < 100000; k++) if (fwrite(blk, 1, sizeof blk, f) != sizeof blk || fflush(f)) abort();\n"),
        # Would work in an empty network namespace and under RLIMIT_NPROC: only the seccomp filter stops them.
        "unix_socketpair": hostile("    int sv[2];\n    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) abort();\n"),
        "one_fork": hostile("    pid_t p = fork();\n    if (p < 0) abort();\n    if (p == 0) _exit(0);\n"),
        "print_gigabytes": hostile(
            "    static char blk[1 << 16]; memset(blk, 'A', sizeof blk);\n"
            "    for (long k = 0; k < (1L << 15); k++) fwrite(blk, 1, sizeof blk, stdout);\n"),
    }


def incbin_support(w: World) -> str:
    return (f'__asm__(".pushsection .rodata\\n.incbin \\"{w.key}\\"\\n.incbin \\"/etc/passwd\\"\\n.popsection");\n')


def _processes_of(markers: list[str]) -> list[str]:
    """Processes whose command line mentions one of `markers` (this test's sandbox root and
    candidate programs; other sessions' sandboxes are not ours to judge)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if any(m in cmd for m in markers):
                found.append(cmd)
    return found


@pytest.fixture(scope="session")
def outcome(tmp_path_factory: pytest.TempPathFactory, base_settings: Settings) -> tuple[World, dict[str, CandidateResult], dict[str, float]]:
    """(the world, verdict per attack, seconds per attack); `markers` identify our processes."""
    w = World(tmp_path_factory.mktemp("hostile-world"))
    settings = base_settings.replace(
        sandbox=SandboxSettings(cpu_seconds=3, wall_seconds=5.0, tmpfs_mb=16, memory_mb=1024, output_kb=256),
        bench=BenchSettings(enabled=False),
    )
    kernel = make_kernel("hostile", KERNEL.source, KERNEL.signature, KERNEL.params, KERNEL.footprints, preamble=KERNEL.preamble)
    kernel = type(kernel)(**{**kernel.__dict__, "path": str(w.project / "main.c")})
    named = {name: cand(kernel, "avx2", fn, origin="model:hostile") for name, fn in attacks(w).items()}
    named["incbin"] = cand(kernel, "avx2", hostile(""), origin="model:hostile", support=incbin_support(w))
    seconds: dict[str, float] = {}

    async def go() -> dict[str, CandidateResult]:
        out: dict[str, CandidateResult] = {}
        async with Sandbox(settings) as sandbox:
            MARKERS.append((await sandbox.status()).build_root)
            MARKERS.extend(f"/sb/check_{c.key}" for c in named.values())
            for name, c in named.items():  # one at a time, to time each run
                started = time.monotonic()
                (out[name],) = await sandbox.verify(kernel, [c], bench=False)
                seconds[name] = time.monotonic() - started
        return out

    return w, run(go), seconds


def test_secrets_do_not_come_back(outcome: tuple[World, dict[str, CandidateResult], dict[str, float]]) -> None:
    _, results, _ = outcome
    everything = repr(results)
    assert SECRET not in everything and "root:x:0:0" not in everything
    assert results["read_secrets"].verdict.status == Status.CRASH
    assert "SIGABRT" in results["read_secrets"].verdict.detail  # fopen failed: nothing to read


def test_no_file_appears_in_home_or_project(outcome: tuple[World, dict[str, CandidateResult], dict[str, float]]) -> None:
    w, results, _ = outcome
    assert sorted(p.name for p in w.home.rglob("*")) == [".ssh", "id_rsa"]
    assert sorted(p.name for p in w.project.iterdir()) == ["main.c"]
    assert results["write_home_and_project"].verdict.status == Status.CRASH
    assert results["shell"].verdict.status == Status.CRASH  # the shell ran, but could touch nothing


def test_listener_sees_no_connection(outcome: tuple[World, dict[str, CandidateResult], dict[str, float]]) -> None:
    w, results, _ = outcome
    assert w.connections() == 0
    assert results["tcp_connect"].verdict.status == Status.CRASH


@pytest.mark.parametrize("name", ["fork_bomb", "spin_ignoring_sigterm"])
def test_runaway_programs_time_out_and_leave_nothing_behind(outcome: tuple[World, dict[str, CandidateResult], dict[str, float]], name: str) -> None:
    _, results, seconds = outcome
    v = results[name].verdict
    assert v.status == Status.TIMEOUT, v
    assert "limit" in v.detail or "within" in v.detail
    assert seconds[name] < 5.0 + 8.0  # wall limit + compile and teardown
    assert _processes_of(MARKERS) == []


@pytest.mark.parametrize("name", ["unix_socketpair", "one_fork"])
def test_seccomp_filter_refuses_sockets_and_processes(outcome: tuple[World, dict[str, CandidateResult], dict[str, float]], name: str) -> None:
    v = outcome[1][name].verdict
    assert v.status == Status.CRASH and "SIGABRT" in v.detail, v


def test_huge_allocation_hits_the_memory_limit(outcome: tuple[World, dict[str, CandidateResult], dict[str, float]]) -> None:
    v = outcome[1]["allocate_50gb"].verdict
    assert v.status == Status.CRASH and "memory limit" in v.detail


def test_filling_tmp_stops_at_the_private_tmpfs(outcome: tuple[World, dict[str, CandidateResult], dict[str, float]]) -> None:
    v = outcome[1]["fill_tmp"].verdict
    assert v.status == Status.CRASH and ("SIGABRT" in v.detail or "SIGXFSZ" in v.detail)
    assert not Path("/tmp/fill").exists()


def test_printing_gigabytes_is_cut_off(outcome: tuple[World, dict[str, CandidateResult], dict[str, float]]) -> None:
    _, results, seconds = outcome
    v = results["print_gigabytes"].verdict
    assert v.status == Status.CRASH and "256 KB of output" in v.detail
    assert seconds["print_gigabytes"] < 10


def test_incbin_of_host_files_fails_to_compile(outcome: tuple[World, dict[str, CandidateResult], dict[str, float]]) -> None:
    v = outcome[1]["incbin"].verdict
    assert v.status == Status.COMPILE_ERROR
    assert any("assembler" in d.message or "incbin" in d.message or "No such file" in d.message for d in v.diagnostics)


def test_every_hostile_run_ended_within_its_limits(outcome: tuple[World, dict[str, CandidateResult], dict[str, float]]) -> None:
    _, results, seconds = outcome
    assert MARKERS and all(s < 13.0 for s in seconds.values()), seconds
    assert all(r.verdict.status != Status.VERIFIED for r in results.values())
    assert _processes_of(MARKERS) == []
    assert os.path.exists("/tmp") and not Path("/tmp/fill").exists()
