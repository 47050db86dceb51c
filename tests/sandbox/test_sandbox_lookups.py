"""What the sandbox looks up rather than computes itself: the user's flags come from the one cached
compile_commands.json lookup (re-read when the file changes), the sizes a run measures from
`BenchSettings.effective_sizes`, and a kernel's build is found by `cache.keys.kernel_build_key`.
A kernel's build state is never a verdict."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from sandbox_kernels import SAXPY, make_kernel
from sandbox_testkit import needs_compiler, run

from simdlens import compile_db
from simdlens.config import BenchSettings, Settings
from simdlens.core import Status
from simdlens.sandbox import Sandbox


def _with(kernel, **changes):  # type: ignore[no-untyped-def]
    return type(kernel)(**{**kernel.__dict__, **changes})


def _write_db(project: Path, define: str) -> None:
    (project / "compile_commands.json").write_text(json.dumps([
        {"directory": str(project), "file": "saxpy.c", "arguments": ["cc", "-O1", f"-DSCALE={define}", "-c", "saxpy.c"]},
    ]))


def test_user_flags_come_from_one_cached_lookup_that_rereads_an_edited_database(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    _write_db(project, "2")
    loads = []
    real_load = compile_db.CompileDatabase.load

    def counting_load(path: Path, allowed: tuple[str, ...] = ()) -> compile_db.CompileDatabase | None:
        loads.append(path)
        return real_load(path, allowed)

    monkeypatch.setattr(compile_db.CompileDatabase, "load", staticmethod(counting_load))
    kernel = _with(SAXPY, path=str(project / "saxpy.c"))
    sandbox = Sandbox(Settings(cache_dir=str(tmp_path / "cache"), extra_flags=("-DEXTRA=1",)))
    first = sandbox.user_flags(kernel)
    assert first.opt_level == "-O1" and first.define_map() == {"SCALE": "2", "EXTRA": "1"}
    # The pipeline's lookup for the same file is the same parse.
    assert compile_db.flags_for_file(str(project / "saxpy.c")).define_map() == {"SCALE": "2"}
    assert sandbox.user_flags(kernel) == first
    assert len(loads) == 1

    # Same size, new content (an editor's save): read again, and the new macro is what the sandbox uses.
    _write_db(project, "3")
    stat = (project / "compile_commands.json").stat()
    os.utime(project / "compile_commands.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert sandbox.user_flags(kernel).define_map() == {"SCALE": "3", "EXTRA": "1"}
    assert len(loads) == 2


def test_a_broken_database_costs_its_flags_not_the_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "compile_commands.json").write_text("[" * 100_000)  # too deeply nested for the JSON parser
    with caplog.at_level(logging.WARNING):
        flags = compile_db.flags_for_file(str(tmp_path / "x.c"))
    assert flags.user_args() == ("-O2",)
    assert any("not a readable compilation database" in r.getMessage() for r in caplog.records)


def test_effective_sizes_are_the_first_size_when_quick() -> None:
    bench = BenchSettings(sizes=(4096, 65536, 1048576))
    assert bench.effective_sizes() == (4096, 65536, 1048576)
    assert bench.effective_sizes(quick=True) == (4096,)
    assert BenchSettings(sizes=(4096, 65536), quick=True).effective_sizes() == (4096,)


@needs_compiler
@pytest.mark.sandbox
def test_a_built_kernel_is_not_a_verdict(base_settings: Settings) -> None:
    """Building the original and the driver says nothing about a candidate: `ensure_check` gives None
    when built, and a REJECTED verdict (for every candidate) when the original does not compile."""
    broken = make_kernel("broken-ref", SAXPY.source.replace("y[i] = ", "y[i] = undeclared_name + "),
                         SAXPY.signature, SAXPY.params, SAXPY.footprints)

    async def go() -> tuple[object, object]:
        async with Sandbox(base_settings) as sandbox:
            good_build = await sandbox._build_for(SAXPY)
            bad_build = await sandbox._build_for(broken)
            return await good_build.ensure_check(), await bad_build.ensure_check()

    good, bad = run(go)
    assert good is None
    assert bad is not None and bad.status == Status.REJECTED  # type: ignore[attr-defined]
    assert "does not compile in the sandbox" in bad.detail  # type: ignore[attr-defined]


def test_a_relaid_out_kernel_reuses_its_build_and_a_changed_one_does_not(tmp_path: Path) -> None:
    sandbox = Sandbox(Settings(cache_dir=str(tmp_path / "cache")))
    relaid = _with(SAXPY, source=SAXPY.source.replace("    for", "    /* hot */\n        for"), loop_id="elsewhere",
                   path=str(tmp_path / "moved.c"))
    changed = _with(SAXPY, preamble="#define A(x) x\n" + SAXPY.preamble)
    changed_layout = _with(SAXPY, preamble="#define A (x) x\n" + SAXPY.preamble)

    async def go() -> list[int]:
        try:
            builds = [await sandbox._build_for(k) for k in (SAXPY, relaid, changed, changed_layout)]
            return [id(b) for b in builds]
        finally:
            await sandbox.close()

    base, same, other, other_layout = run(go)
    assert base == same
    assert len({base, other, other_layout}) == 3
