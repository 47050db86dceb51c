"""The user's flags (from an untrusted compile_commands.json), life without bubblewrap, blame for a
broken original, and cancellation."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from sandbox_kernels import SAXPY, SAXPY_AVX2, cand, make_kernel
from sandbox_testkit import needs_bwrap, needs_compiler, run

from simdlens.config import SandboxSettings, Settings
from simdlens.core import CandidateResult, Footprint, Status
from simdlens.sandbox import Sandbox
from simdlens.sandbox.isolate import Isolation

pytestmark = [needs_compiler, pytest.mark.sandbox]


def _with(kernel, **changes):  # type: ignore[no-untyped-def]
    return type(kernel)(**{**kernel.__dict__, **changes})


@needs_bwrap
def test_hostile_compile_commands_json_runs_nothing_of_its_own(tmp_path: Path, base_settings: Settings) -> None:
    marker = tmp_path / "evil-ran"
    evil = tmp_path / "evil.sh"
    evil.write_text(f"#!/bin/sh\ntouch {marker}\nexec /usr/bin/gcc \"$@\"\n")
    evil.chmod(0o755)
    (tmp_path / "evil.specs").write_text(f"*startfile:\n+ %:getenv(HOME /x) {marker}\n")
    (tmp_path / "rsp").write_text(f"-B{tmp_path}\n")
    for tool in ("as", "ld", "cc1"):
        (tmp_path / tool).symlink_to(evil)
    project = tmp_path / "project"
    project.mkdir()
    (project / "compile_commands.json").write_text(json.dumps([{
        "directory": str(project), "file": "saxpy.c",
        "arguments": [str(evil), f"-fplugin={tmp_path}/evil.so", f"-B{tmp_path}", "-wrapper", f"{evil},x",
                      f"-specs={tmp_path}/evil.specs", f"@{tmp_path}/rsp", "-include", str(evil), "-DSIMDLENS_USER_MACRO=3",
                      "-O3", "-c", "saxpy.c"],
    }]))
    # The original only compiles when the database's -D reached it: allowed flags are used.
    kernel = _with(SAXPY, path=str(project / "saxpy.c"),
                   preamble="#include <stdint.h>\n#if SIMDLENS_USER_MACRO != 3\n#error user macro missing\n#endif")

    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(base_settings) as sandbox:
            return await sandbox.verify(kernel, [cand(kernel, "avx2", SAXPY_AVX2)], bench=False)

    (result,) = run(go)
    assert result.verdict.status == Status.VERIFIED, result.verdict
    assert not marker.exists()


def test_without_bubblewrap_model_code_is_not_run_and_rule_code_runs_with_rlimits(base_settings: Settings) -> None:
    bare = Isolation(bwrap=None)

    async def go(settings: Settings) -> tuple[CandidateResult, ...]:
        async with Sandbox(settings, isolation=bare) as sandbox:
            return await sandbox.verify(SAXPY, [cand(SAXPY, "avx2", SAXPY_AVX2, origin="model:some-llm"),
                                                cand(SAXPY, "avx2", SAXPY_AVX2, origin="rules:elementwise")], bench=False)

    model, rules = run(lambda: go(base_settings))  # (no bwrap: this also exercises rlimits-only runs)
    assert model.verdict.status == Status.REJECTED
    assert "apt-get install bubblewrap" in model.verdict.detail and "\n" not in model.verdict.detail
    assert rules.verdict.status == Status.VERIFIED, rules.verdict
    strict = base_settings.replace(sandbox=SandboxSettings(require_bwrap_for_rules=True))
    _, rules_strict = run(lambda: go(strict))
    assert rules_strict.verdict.status == Status.REJECTED


def test_broken_original_is_blamed_on_the_kernel_not_the_candidate(base_settings: Settings) -> None:
    # The footprint says y[0..n-2], but the loop writes y[n-1] too: the analysis got it wrong.
    kernel = _with(make_kernel("short-footprint", SAXPY.source, SAXPY.signature, SAXPY.params, SAXPY.footprints),
                   footprints=(Footprint("y", "0", "n - 2"), Footprint("x", "0", "n - 1")))

    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(base_settings) as sandbox:
            return await sandbox.verify(kernel, [cand(kernel, "avx2", SAXPY_AVX2)], bench=False)

    (result,) = run(go)
    assert result.verdict.status == Status.REJECTED
    assert "the original loop itself failed" in result.verdict.detail


@needs_bwrap
def test_cancelling_a_kernel_kills_its_running_test(base_settings: Settings) -> None:
    spin = cand(SAXPY, "avx2", SAXPY_AVX2.replace("__m256 va", "for (volatile int k = 0;; k++) {}\n    __m256 va"))
    settings = base_settings.replace(sandbox=SandboxSettings(cpu_seconds=60, wall_seconds=60.0))
    program = f"/sb/check_{spin.key}"

    async def go() -> float:
        async with Sandbox(settings) as sandbox:
            task = asyncio.ensure_future(sandbox.verify(SAXPY, [spin], bench=False))
            for _ in range(400):  # until the test program runs (compiling comes first)
                await asyncio.sleep(0.05)
                if _running(program):
                    break
            assert _running(program)
            started = time.monotonic()
            assert sandbox.cancel(SAXPY.content_hash) == 1
            with pytest.raises(asyncio.CancelledError):
                await task
            return time.monotonic() - started

    assert run(go) < 10
    assert not _running(program)


def _running(program: str) -> bool:
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "cmdline").read_bytes().startswith(program.encode()):
                    return True
            except OSError:
                pass
    return False


def _clang() -> str | None:
    import shutil

    return next((n for n in ("clang", *(f"clang-{v}" for v in range(21, 13, -1))) if shutil.which(n)), None)


@pytest.mark.skipif(_clang() is None, reason="clang not installed")
def test_clang_builds_verify_and_catch_the_same_bugs(base_settings: Settings) -> None:
    from sandbox_kernels import GUARDED, GUARDED_UNCONDITIONAL_LOAD_BUG, SAXPY_REMAINDER_BUG

    settings = base_settings.replace(compiler=_clang())

    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(settings) as sandbox:
            saxpy = await sandbox.verify(SAXPY, [cand(SAXPY, "avx2", SAXPY_AVX2), cand(SAXPY, "avx2", SAXPY_REMAINDER_BUG)], bench=False)
            guarded = await sandbox.verify(GUARDED, [cand(GUARDED, "avx2", GUARDED_UNCONDITIONAL_LOAD_BUG)], bench=False)
            return (*saxpy, *guarded)

    good, remainder, guard = run(go)
    assert good.verdict.status == Status.VERIFIED, good.verdict
    assert remainder.verdict.status == Status.MISMATCH
    assert guard.verdict.status == Status.SANITIZER


def test_candidate_that_does_not_define_the_kernel_function_is_rejected_before_compiling(base_settings: Settings) -> None:
    renamed = cand(SAXPY, "avx2", SAXPY_AVX2.replace("simdlens_kernel", "saxpy_avx2"))

    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(base_settings) as sandbox:
            return await sandbox.verify(SAXPY, [renamed], bench=False)

    (result,) = run(go)
    assert result.verdict.status == Status.REJECTED and "simdlens_kernel()" in result.verdict.detail


@needs_bwrap
def test_closing_the_sandbox_kills_running_tests_and_removes_its_files(base_settings: Settings) -> None:
    spin = cand(SAXPY, "avx2", SAXPY_AVX2.replace("__m256 va", "for (volatile int k = 1;; k++) {}\n    __m256 va"))
    settings = base_settings.replace(sandbox=SandboxSettings(cpu_seconds=60, wall_seconds=60.0))
    program = f"/sb/check_{spin.key}"

    async def go() -> str:
        sandbox = Sandbox(settings)
        root = (await sandbox.status()).build_root
        task = asyncio.ensure_future(sandbox.verify(SAXPY, [spin], bench=False))
        for _ in range(400):
            await asyncio.sleep(0.05)
            if _running(program):
                break
        assert _running(program)
        await sandbox.close()
        with pytest.raises(asyncio.CancelledError):
            await task
        return root

    root = run(go)
    assert not _running(program)
    assert not Path(root).exists()
