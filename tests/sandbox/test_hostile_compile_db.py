"""A hostile compile_commands.json: its compiler never runs outside the sandbox, an allow-list glob
cannot be walked out of with `..` or symlinks, and the sandbox binds no directory the workspace controls.

Every planted "compiler" is a script that creates a marker file outside the workspace; each test
asserts the marker does not exist.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_kernels import SAXPY as KERNEL
from sandbox_testkit import needs_bwrap, needs_compiler, run

from simdlens import compile_db
from simdlens.compile_db import CompileDatabase, trusted_compiler
from simdlens.config import Settings
from simdlens.pipeline import toolchain_for
from simdlens.sandbox.compiler import Toolchain, find_toolchain, runnable_name, toolchain_mounts
from simdlens.sandbox.isolate import Isolation

SAXPY = "void saxpy(float *restrict y, const float *restrict x, float a, int n) {\n" \
        "    for (int i = 0; i < n; i++)\n        y[i] += a * x[i];\n}\n"
SYSTEM_GCC = shutil.which("gcc") or ""


def plant(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(workspace, its script "compiler", the marker the script would create outside the workspace)."""
    workspace = tmp_path / "ws"
    (workspace / "tools").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    marker = outside / "ran"
    script = workspace / "tools" / "x86_64-linux-gnu-gcc"
    script.write_text(f"#!/bin/sh\necho ran \"$@\" >> {marker}\nexec /usr/bin/gcc \"$@\"\n")
    script.chmod(0o755)
    return workspace, script, marker


def test_dot_dot_in_a_database_path_does_not_pass_a_glob(tmp_path: Path) -> None:
    workspace, script, _ = plant(tmp_path)
    sneaky = "/usr/bin/" + "../" * 2 + str(script).lstrip("/")
    assert os.path.realpath(sneaky) == str(script)
    assert trusted_compiler(sneaky, ("/usr/bin/*gcc*",)) == ""
    relative = os.path.relpath(script, workspace / "src")
    assert trusted_compiler(relative, ("/usr/bin/*gcc*", "*gcc*"), str(workspace / "src")) == ""
    # `*` never crosses a `/`: a glob for one directory does not cover its subdirectories.
    assert trusted_compiler(str(script), (f"{tmp_path}/*",)) == ""
    assert trusted_compiler(str(script), (f"{workspace}/tools/*",)) == str(script)  # named exactly: the user's choice


def test_a_symlink_is_judged_by_the_file_it_points_to(tmp_path: Path) -> None:
    workspace, script, _ = plant(tmp_path)
    trusted_dir = tmp_path / "trusted-bin"
    trusted_dir.mkdir()
    (trusted_dir / "gcc").symlink_to(script)  # an allow-listed name pointing into the workspace
    with compile_db.scoped_workspace_roots([workspace]):
        assert trusted_compiler(str(trusted_dir / "gcc"), (f"{trusted_dir}/*",)) == ""
    if SYSTEM_GCC:
        # A workspace symlink to the system compiler: allowed, and what runs is the real file (the
        # workspace cannot swap the link between the check and the run).
        (workspace / "gcc").symlink_to(SYSTEM_GCC)
        assert trusted_compiler(str(workspace / "gcc"), ("/usr/bin/*gcc*",)) == os.path.realpath(SYSTEM_GCC)
        # The user's glob names /usr/bin/gcc, a symlink: its real file is trusted.
        assert trusted_compiler("/usr/bin/gcc", ("/usr/bin/gcc*",)) == os.path.realpath(SYSTEM_GCC)


def test_the_database_compiler_is_resolved_before_it_is_reported(tmp_path: Path) -> None:
    workspace, script, _ = plant(tmp_path)
    (workspace / "compile_commands.json").write_text(json.dumps([
        {"directory": str(workspace), "file": "a.c", "arguments": ["/usr/bin/../.." + str(script), "-c", "a.c"]},
        {"directory": str(workspace), "file": "b.c", "arguments": ["tools/x86_64-linux-gnu-gcc", "-c", "b.c"]},
    ]))
    db = CompileDatabase.load(workspace / "compile_commands.json", ("/usr/bin/*gcc*",))
    assert db is not None
    assert db.flags_for(workspace / "a.c").compiler == ""
    assert db.flags_for(workspace / "b.c").compiler == ""


def test_toolchain_mounts_never_bind_a_directory_outside_the_system(tmp_path: Path) -> None:
    _, script, _ = plant(tmp_path)
    assert toolchain_mounts((str(script),)) is None  # the old rule bound two levels up: the whole workspace
    assert Toolchain(str(script), str(script), "gcc", "gcc 12").mounts == ()
    if SYSTEM_GCC:
        assert toolchain_mounts((SYSTEM_GCC,)) == ()  # /usr is bound read-only anyway


@needs_compiler
def test_version_probes_and_cache_keys_do_not_run_a_database_compiler(tmp_path: Path) -> None:
    workspace, script, marker = plant(tmp_path)
    (workspace / "a.c").write_text(SAXPY)
    (workspace / "compile_commands.json").write_text(json.dumps([
        {"directory": str(workspace), "file": "a.c", "arguments": [str(script), "-O2", "-c", "a.c"]}]))
    # Even when the user allow-lists the workspace script itself, it is not a system toolchain.
    settings = Settings(allowed_compilers=(f"{workspace}/tools/*",))
    with compile_db.scoped_workspace_roots([workspace]):
        flags = compile_db.flags_for_file(str(workspace / "a.c"), "", settings.allowed_compilers)
        assert flags.compiler == str(script)
        kernel = dataclasses.replace(KERNEL, path=str(workspace / "a.c"))
        identity = run(lambda: toolchain_for(settings, kernel))
        assert identity.compiler == str(script) and identity.version.startswith("file ")  # identified, not run
        bwrap = shutil.which("bwrap")
        for isolation in ([Isolation(bwrap)] if bwrap else []) + [Isolation(None)]:
            assert run(lambda iso=isolation: find_toolchain(str(script), iso)) is None  # type: ignore[misc]
    assert not marker.exists()


def _scan(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"), "SIMDLENS_PURE_PYTHON": "1"}
    return subprocess.run([sys.executable, "-m", "simdlens", "scan", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)  # a hang guard, not a speed goal


@needs_bwrap
@needs_compiler
@pytest.mark.skipif(not SYSTEM_GCC, reason="no gcc")
def test_scan_with_a_hostile_database_runs_nothing_of_it(tmp_path: Path) -> None:
    workspace, script, marker = plant(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    (workspace / "bin").mkdir()
    (workspace / "bin" / "gcc").symlink_to(script)
    (workspace / "evil.specs").write_text(f"*startfile:\n+ %:getenv(HOME /x) {marker}\n")
    (workspace / "rsp").write_text(f"-B{workspace / 'tools'}\n-wrapper {script},x\n")
    for tool in ("as", "ld", "cc1", "collect2"):
        (workspace / "tools" / tool).symlink_to(script)
    (workspace / "a.c").write_text(SAXPY)
    (workspace / "b.c").write_text(SAXPY.replace("saxpy", "saxpy_b"))
    hostile = ["-wrapper", f"{script},x", f"-B{workspace / 'tools'}", "-B", str(workspace / "tools"),
               f"-fplugin={workspace}/evil.so", f"-specs={workspace}/evil.specs", f"@{workspace}/rsp",
               "-include", "/proc/self/environ", "-imacros", "/proc/kmsg", "-DFROM_DB=1", "-O2"]
    (workspace / "compile_commands.json").write_text(json.dumps([
        {"directory": str(workspace), "file": "a.c", "arguments": ["/usr/bin/../.." + str(script), *hostile, "-c", "a.c"]},
        {"directory": str(workspace), "file": "b.c", "arguments": ["bin/gcc", *hostile, "-c", "b.c"]},
    ]))
    done = _scan(["--json", "--no-bench", "--isa", "avx2", "--allow-compiler", "/usr/bin/*gcc*",
                  "--allow-compiler", f"{workspace}/bin/*", str(workspace)], workspace, home)
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), marker.read_text()
    report = json.loads(done.stdout)
    statuses = [c["status"] for f in report["files"] for lp in f["loops"] for c in lp["candidates"]]
    assert "verified" in statuses, report  # simdlens's own compiler did the work, in the sandbox
    assert "Traceback" not in done.stderr


def test_a_compiler_is_run_by_its_name_only_through_system_links(tmp_path: Path) -> None:
    workspace, _, _ = plant(tmp_path)
    if SYSTEM_GCC:
        (workspace / "gcc").symlink_to(SYSTEM_GCC)
        # A link the workspace owns could be swapped after the check: the resolved file runs instead.
        assert runnable_name(str(workspace / "gcc")) == os.path.realpath(SYSTEM_GCC)
        assert runnable_name("/usr/bin/gcc") == "/usr/bin/gcc"  # root's own links keep the driver's name


@needs_bwrap
@pytest.mark.skipif(shutil.which("clang-19") is None, reason="no clang-19")
def test_a_resolved_clang_still_compiles_cpp_as_clangxx() -> None:
    real = os.path.realpath(shutil.which("clang-19") or "")
    tc = run(lambda: find_toolchain(real, Isolation(shutil.which("bwrap"))))
    assert tc is not None and tc.family == "clang" and os.path.basename(tc.cxx).startswith("clang++")
