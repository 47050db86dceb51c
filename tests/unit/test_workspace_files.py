"""Reading a workspace file: only regular files, never /proc, /sys or /dev, bounded in bytes; a FIFO or
a procfs file gives a one-line reason at once instead of blocking."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from simdlens.workspace_files import UnreadableFile, is_regular_file, read_workspace_file


def read_in_thread(path: Path, max_bytes: int = 1 << 20) -> bytes | str:
    """The read, run on a thread joined with a hang guard: a blocking read fails the test, not the suite."""
    out: list[bytes | str] = []

    def go() -> None:
        try:
            out.append(read_workspace_file(path, max_bytes))
        except UnreadableFile as exc:
            out.append(str(exc))

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive(), f"reading {path} blocked"
    return out[0]


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    f = tmp_path / "a.c"
    f.write_bytes(b"int x;\n" * 1000)
    assert read_in_thread(f) == b"int x;\n" * 1000
    assert is_regular_file(f)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "loop.c"
    os.mkfifo(fifo)
    assert not is_regular_file(fifo)
    reason = read_in_thread(fifo)
    assert isinstance(reason, str) and "not a regular file" in reason and "\n" not in reason


@pytest.mark.parametrize("target", ["/proc/kmsg", "/proc/self/status", "/dev/zero", "/dev/urandom", "/sys/kernel/notes"])
def test_system_files_are_refused_even_through_a_symlink(tmp_path: Path, target: str) -> None:
    link = tmp_path / "header.h"
    link.symlink_to(target)
    assert not is_regular_file(link)
    for path in (Path(target), link):
        reason = read_in_thread(path)
        assert isinstance(reason, str) and "\n" not in reason, reason


def test_the_byte_bound_holds_whatever_the_size_says(tmp_path: Path) -> None:
    big = tmp_path / "big.c"
    big.write_bytes(b"x" * 5000)
    reason = read_in_thread(big, max_bytes=4096)
    assert isinstance(reason, str) and "larger than 4 KB" in reason


def test_a_missing_or_dangling_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "dangling.h").symlink_to(tmp_path / "nowhere")
    for path in (tmp_path / "missing.h", tmp_path / "dangling.h", tmp_path, tmp_path / "nul\0.h"):
        assert not is_regular_file(path)
        reason = read_in_thread(path)
        assert isinstance(reason, str) and "\n" not in reason
