"""Which compile_commands.json applies to a file: never one above the workspace root unless configured
explicitly (one planted in a shared /tmp must not apply to every file below it), and reading one never
holds the lock other lookups need."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from simdlens import compile_db
from simdlens.compile_db import flags_for_file, scoped_workspace_roots

SOURCE = """void f(float *restrict a, const float *restrict b, int n)
{
#ifdef NEVER_DEFINED
    for (int i = 0; i < n; i++)
        a[i] = b[i] + 1.0f;
#endif
    for (int i = 0; i < n; i++)
        a[i] = b[i] * 2.0f;
}
"""


def planted(tmp_path: Path) -> tuple[Path, Path]:
    """(a shared, world-writable directory holding a planted database, a workspace below it)."""
    shared = tmp_path / "shared"
    workspace = shared / "ws"
    (workspace / "src").mkdir(parents=True)
    shared.chmod(0o1777)
    source = workspace / "src" / "f.c"
    source.write_text(SOURCE)
    entry = {"directory": str(source.parent), "file": str(source), "arguments": ["cc", "-DPLANTED=1", "-c", "f.c"]}
    (shared / "compile_commands.json").write_text(json.dumps([entry]))
    return shared, workspace


def test_a_database_above_the_workspace_root_is_not_used(tmp_path: Path) -> None:
    shared, workspace = planted(tmp_path)
    source = str(workspace / "src" / "f.c")
    with scoped_workspace_roots([workspace]):
        assert flags_for_file(source).defines == ()
    with scoped_workspace_roots([]):  # no root at all: the file's own directory only
        assert flags_for_file(source).defines == ()
    with scoped_workspace_roots([shared]):  # the database is inside this root
        assert flags_for_file(source).define_map() == {"PLANTED": "1"}
    # Configured explicitly: used, whatever the roots.
    with scoped_workspace_roots([workspace]):
        assert flags_for_file(source, str(shared)).define_map() == {"PLANTED": "1"}


def test_a_database_inside_the_workspace_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    _, workspace = planted(tmp_path)
    (workspace / "build").mkdir()
    entry = {"directory": str(workspace / "src"), "file": "f.c", "arguments": ["cc", "-DOWN=1", "-c", "f.c"]}
    (workspace / "build" / "compile_commands.json").write_text(json.dumps([entry]))
    with scoped_workspace_roots([workspace]):
        assert flags_for_file(str(workspace / "src" / "f.c")).define_map() == {"OWN": "1"}


def _scan_loops(target: Path, cwd: Path, *extra: str) -> int:
    env = {**os.environ, "SIMDLENS_PURE_PYTHON": "1", "XDG_CACHE_HOME": str(cwd / ".cache")}
    done = subprocess.run([sys.executable, "-m", "simdlens", "scan", "--json", "--no-verify", *extra, str(target)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)  # a hang guard
    assert done.returncode == 0, done.stderr
    return sum(len(f["loops"]) for f in json.loads(done.stdout)["files"])


def test_scan_ignores_a_database_planted_in_a_shared_parent(tmp_path: Path) -> None:
    shared, workspace = planted(tmp_path)
    # With the planted entry for f.c, the loop under `#ifdef NEVER_DEFINED` would be known dead (1 loop).
    assert _scan_loops(workspace, shared) == 2  # run from the shared directory: it is not a root
    assert _scan_loops(workspace / "src" / "f.c", workspace) == 2
    assert _scan_loops(workspace, shared, "--compile-commands-dir", str(shared)) == 1  # explicit: used


def test_reading_a_database_does_not_hold_the_lock_other_lookups_need(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slow_dir, fast_dir = tmp_path / "slow", tmp_path / "fast"
    for d, macro in ((slow_dir, "SLOW"), (fast_dir, "FAST")):
        d.mkdir()
        (d / "compile_commands.json").write_text(json.dumps(
            [{"directory": str(d), "file": "a.c", "arguments": ["cc", f"-D{macro}=1", "-c", "a.c"]}]))
    release = threading.Event()
    real_load = compile_db.CompileDatabase.load

    def load(path: Path, allowed: tuple[str, ...] = ()) -> compile_db.CompileDatabase | None:
        if path.parent == slow_dir:
            release.wait(timeout=60)  # a read that takes long (a slow disk)
        return real_load(path, allowed)

    monkeypatch.setattr(compile_db.CompileDatabase, "load", staticmethod(load))
    slow = threading.Thread(target=flags_for_file, args=(str(slow_dir / "a.c"),), daemon=True)
    slow.start()
    result: list[dict[str, str]] = []
    fast = threading.Thread(target=lambda: result.append(flags_for_file(str(fast_dir / "a.c")).define_map()), daemon=True)
    fast.start()
    fast.join(timeout=60)
    blocked = fast.is_alive()
    release.set()
    slow.join(timeout=60)
    assert not blocked and result == [{"FAST": "1"}]


def test_a_database_that_is_a_fifo_or_proc_file_costs_its_flags_only(tmp_path: Path) -> None:
    for name, make in (("fifo", os.mkfifo), ("proc", lambda p: os.symlink("/proc/kmsg", p))):
        d = tmp_path / name
        d.mkdir()
        make(d / "compile_commands.json")
        out: list[tuple[str, ...]] = []
        t = threading.Thread(target=lambda d=d, out=out: out.append(flags_for_file(str(d / "a.c")).user_args()), daemon=True)
        t.start()
        t.join(timeout=60)
        assert not t.is_alive(), f"{name}: the lookup blocked"
        assert out == [("-O2",)]
