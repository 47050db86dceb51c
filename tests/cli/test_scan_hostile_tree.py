"""`simdlens scan` on a hostile tree, run as a user would (a subprocess): a FIFO named `*.c`, includes
of /proc files, a compile_commands.json symlinked into /proc, binary and non-UTF-8 files, huge lines,
hostile file names. The scan ends, exits 0, reports every readable loop and gives each skipped file
one line - never a traceback, never a hang (the subprocess timeout is only a hang guard)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LOOP = "void f{n}(float *restrict a, const float *restrict b, int n) {{\n    for (int i = 0; i < n; i++)\n        a[i] = b[i] * 2.0f;\n}}\n"


def hostile_tree(root: Path) -> dict[str, str]:
    """Build the tree; returns file name -> what the scan must say about it ("loop" or a skip reason)."""
    root.mkdir()
    expect: dict[str, str] = {}
    os.mkfifo(root / "fifo.c")
    expect["fifo.c"] = "not a regular file"
    (root / "kmsg.c").write_text('#include "/proc/kmsg"\n#include "/dev/zero"\n' + LOOP.format(n=1))
    expect["kmsg.c"] = "loop"
    (root / "kmsg.h").symlink_to("/proc/kmsg")
    (root / "zero.h").symlink_to("/dev/zero")
    os.mkfifo(root / "pipe.h")
    (root / "via_links.c").write_text('#include "kmsg.h"\n#include "zero.h"\n#include "pipe.h"\n' + LOOP.format(n=2))
    expect["via_links.c"] = "loop"
    (root / "proc_link.c").symlink_to("/proc/self/environ")
    expect["proc_link.c"] = "not a regular file"
    (root / "binary.c").write_bytes(b"\x7fELF\x00\x00\x01" + bytes(range(256)) * 8)
    expect["binary.c"] = "binary file"
    (root / "latin1.c").write_bytes(b"/* caf\xe9 */\n" + LOOP.format(n=3).encode())
    expect["latin1.c"] = "not UTF-8"
    (root / "huge_line.c").write_text("// " + "x" * 600_000 + "\n" + LOOP.format(n=4))
    expect["huge_line.c"] = "loop"
    (root / "too_big.c").write_text(LOOP.format(n=5) + "int pad;\n" * 400_000)
    expect["too_big.c"] = "larger than"
    for i, name in enumerate(["-rf.c", "new\nline.c", "space name.c", "quote\"'.c", "semi;colon $(x).c"]):
        (root / name).write_text(LOOP.format(n=10 + i))
        expect[name] = "loop"
    weird = os.fsencode(root) + b"/\xff\xfe.c"  # not UTF-8: Python surrogate-escapes it
    with open(weird, "wb") as f:
        f.write(LOOP.format(n=20).encode())
    expect[os.fsdecode(b"\xff\xfe.c")] = "loop"
    (root / "compile_commands.json").symlink_to("/proc/kmsg")
    return expect


def scan(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SIMDLENS_PURE_PYTHON": "1", "HOME": str(cwd), "XDG_CACHE_HOME": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", "simdlens", "scan", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, errors="surrogateescape", timeout=300)  # a hang guard, not a speed goal


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("hostile")
    root = base / "tree"
    return root, hostile_tree(root)


def test_json_scan_of_a_hostile_tree(tree: tuple[Path, dict[str, str]]) -> None:
    root, expect = tree
    done = scan(["--json", "--no-verify", "--isa", "avx2", str(root)], root.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    with_loops = {os.path.basename(f["path"]) for f in report["files"] if f["loops"]}
    skip_lines = [ln for ln in done.stderr.splitlines() if ln.startswith("simdlens: skipped ")]
    for name, what in expect.items():
        if what == "loop":
            assert name in with_loops, (name, sorted(with_loops))
        else:
            assert name not in with_loops
            assert any(name in ln and what in ln for ln in skip_lines), (name, skip_lines)
    # The bad compile_commands.json is one warning line, and the scan went on without its flags.
    assert sum("compile_commands.json" in ln for ln in done.stderr.splitlines()) == 1, done.stderr


def test_table_scan_of_a_hostile_tree(tree: tuple[Path, dict[str, str]]) -> None:
    root, _ = tree
    done = scan(["--no-verify", "--isa", "avx2", str(root)], root.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def test_a_fifo_named_explicitly_is_skipped_not_waited_for(tree: tuple[Path, dict[str, str]]) -> None:
    root, _ = tree
    done = scan(["--json", "--no-verify", str(root / "fifo.c"), str(root / "kmsg.c")], root.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fifo.c: not a regular file" in done.stderr
