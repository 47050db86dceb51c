"""How long `simdlens scan --no-verify` takes on a hostile tree, next to the same tree without the hostile
entries: FIFOs named *.c, includes of /proc and /dev files, a compile_commands.json symlinked to
/proc/kmsg, binary and non-UTF-8 files, a 600 KB line, hostile names. The goal is a bounded answer
(`--bound`, default 60 s per scan); the tests (tests/cli/test_scan_hostile_tree.py) check behaviour only.

    python benchmarks/hostile_scan.py [--rounds 5] [--bound 60]

Prints the median wall time of each tree over interleaved rounds and the load average; exits 1 when a
scan exceeded the bound or failed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOOP = "void f{n}(float *restrict a, const float *restrict b, int n) {{\n    for (int i = 0; i < n; i++)\n        a[i] = b[i] * 2.0f;\n}}\n"


def benign_tree(root: Path) -> None:
    root.mkdir()
    for i in range(12):
        (root / f"k{i}.c").write_text(LOOP.format(n=i))


def hostile_tree(root: Path) -> None:
    benign_tree(root)
    os.mkfifo(root / "fifo.c")
    (root / "kmsg.h").symlink_to("/proc/kmsg")
    (root / "zero.h").symlink_to("/dev/zero")
    os.mkfifo(root / "pipe.h")
    (root / "includes.c").write_text('#include "/proc/kmsg"\n#include "kmsg.h"\n#include "zero.h"\n#include "pipe.h"\n'
                                     + LOOP.format(n=100))
    (root / "proc_link.c").symlink_to("/proc/self/environ")
    (root / "binary.c").write_bytes(b"\x7fELF\x00" + bytes(range(256)) * 8)
    (root / "latin1.c").write_bytes(b"/* caf\xe9 */\n" + LOOP.format(n=101).encode())
    (root / "huge_line.c").write_text("// " + "x" * 600_000 + "\n" + LOOP.format(n=102))
    (root / "new\nline.c").write_text(LOOP.format(n=103))
    (root / "compile_commands.json").symlink_to("/proc/kmsg")


def scan_seconds(tree: Path, bound: float) -> float | None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tree.parent / "cache")}
    start = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "simdlens", "scan", "--json", "--no-verify", "--no-cache", str(tree)],
                              env=env, capture_output=True, timeout=bound)
    except subprocess.TimeoutExpired:
        return None
    return time.monotonic() - start if done.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bound", type=float, default=60.0, help="seconds one scan may take")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="simdlens-hostile-") as tmp:
        trees = {"benign": Path(tmp) / "benign", "hostile": Path(tmp) / "hostile"}
        benign_tree(trees["benign"])
        hostile_tree(trees["hostile"])
        times: dict[str, list[float]] = {name: [] for name in trees}
        failed = False
        for _ in range(args.rounds):  # interleaved: load changes hit both trees alike
            for name, tree in trees.items():
                seconds = scan_seconds(tree, args.bound)
                if seconds is None:
                    print(f"{name}: scan failed or took longer than {args.bound:g} s")
                    failed = True
                else:
                    times[name].append(seconds)
    load = os.getloadavg()
    for name, values in times.items():
        if values:
            print(f"{name}: median {statistics.median(values):.2f} s over {len(values)} scans "
                  f"(min {min(values):.2f}, max {max(values):.2f})")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
