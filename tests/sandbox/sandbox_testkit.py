"""Helpers shared by the sandbox tests (a uniquely named module: `conftest` is not importable safely
when several test directories each have one)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

needs_compiler = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("clang") is None, reason="no C compiler")


def _bwrap_works() -> bool:
    """bubblewrap is installed *and* can create its namespaces here (containers may forbid it)."""
    if shutil.which("bwrap") is None:
        return False
    from simdlens.sandbox.isolate import Isolation, self_test

    works, _ = asyncio.run(self_test(Isolation.detect()))
    return works


needs_bwrap = pytest.mark.skipif(not _bwrap_works(), reason="bubblewrap missing or unable to create a sandbox here")


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run one async scenario to completion in a fresh event loop."""

    async def main() -> T:
        return await coro_fn()

    return asyncio.run(main())


def scan_json_in_user_folder(name: str, source: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """`simdlens scan --json --no-bench --no-cache --isa avx2` of `source` saved as `name` in a folder the
    sandbox's unprivileged uid can read (pytest's tmp_path is 0700), so the kernel is built in its file context."""
    import json
    import tempfile
    from pathlib import Path

    from simdlens.cli import main

    folder = Path(tempfile.mkdtemp(prefix="simdlens-user-file-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        src = folder / name
        src.write_text(source)
        src.chmod(0o644)
        main(["scan", "--json", "--no-bench", "--no-cache", "--isa", "avx2", str(src)])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc
