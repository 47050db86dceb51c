"""Reading a file the workspace names (a source, an included header, a compile_commands.json).

A workspace is untrusted input: a FIFO named `x.c` blocks `open()` until a writer comes, a
`#include "/proc/kmsg"` or a compile_commands.json symlinked into /proc passes `is_file()` with size 0
and its `read()` never ends, a character device streams forever. So every read here:

- resolves the path (realpath) and refuses anything in /proc, /sys or /dev, checked again on the open
  file's device, so a symlink swapped after the check gains nothing;
- opens with O_NONBLOCK (a FIFO never makes `open` wait) and reads only a regular file (fstat);
- is bounded in bytes (`max_bytes`, also when the file grows while read) and in time (`seconds`,
  checked between chunks: a local regular file always makes progress).

Failures are `UnreadableFile` with a one-line reason, never a traceback.
"""

from __future__ import annotations

import functools
import os
import stat
import time

SYSTEM_PSEUDO_DIRS = ("/proc", "/sys", "/dev")
READ_SECONDS = 10.0
CHUNK = 1 << 20


class UnreadableFile(Exception):
    """Why a workspace file was not read, in one line (`str(exc)`)."""


@functools.cache
def _pseudo_devices() -> frozenset[int]:
    devices = set()
    for d in SYSTEM_PSEUDO_DIRS:
        try:
            devices.add(os.stat(d).st_dev)
        except OSError:
            continue
    return frozenset(devices)


def in_pseudo_filesystem(real: str) -> bool:
    """True for a resolved path in /proc, /sys or /dev."""
    return any(real == d or real.startswith(d + "/") for d in SYSTEM_PSEUDO_DIRS)


def is_regular_file(path: str | os.PathLike[str]) -> bool:
    """A regular file outside /proc, /sys and /dev (symlinks followed); never blocks, never raises."""
    try:
        real = os.path.realpath(path)
        if in_pseudo_filesystem(real):
            return False
        st = os.stat(real)
    except (OSError, ValueError):  # ValueError: a NUL in the name
        return False
    return stat.S_ISREG(st.st_mode) and st.st_dev not in _pseudo_devices()


def read_workspace_file(path: str | os.PathLike[str], max_bytes: int, *, seconds: float = READ_SECONDS) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; `UnreadableFile` (one line) otherwise."""
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError) as exc:
        raise UnreadableFile(f"unreadable ({exc})") from None
    if in_pseudo_filesystem(real):
        raise UnreadableFile(f"{real} is a system file (/proc, /sys or /dev); not read")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:
        raise UnreadableFile(f"unreadable ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile("not a regular file (a FIFO, device or socket); not read")
        if st.st_dev in _pseudo_devices():
            raise UnreadableFile("a system file (/proc, /sys or /dev); not read")
        if st.st_size > max_bytes:
            raise UnreadableFile(f"larger than {_size(max_bytes)}; not read")
        deadline = time.monotonic() + seconds
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(CHUNK, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise UnreadableFile(f"larger than {_size(max_bytes)}; not read")
            if time.monotonic() > deadline:
                raise UnreadableFile(f"still reading after {seconds:g} s; not read")
        return b"".join(chunks)
    except BlockingIOError:
        raise UnreadableFile("not ready for reading; not read") from None
    except OSError as exc:
        raise UnreadableFile(f"unreadable ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def _size(n: int) -> str:
    return f"{n >> 20} MB" if n >= 1 << 20 else f"{n >> 10} KB"
