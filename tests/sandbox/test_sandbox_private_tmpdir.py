"""Run as root with a private (0700) TMPDIR, the sandbox still verifies: its build directories go where
the unprivileged sandbox uid can reach them (before, every candidate was rejected with
`bwrap: Can't find source path …: Permission denied`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from sandbox_kernels import SAXPY, SAXPY_AVX2, cand
from sandbox_testkit import needs_bwrap, needs_compiler, run

from simdlens.config import Settings
from simdlens.core import CandidateResult, Status
from simdlens.sandbox import Sandbox, build_base

pytestmark = [needs_compiler, pytest.mark.sandbox]


def test_a_reachable_tmpdir_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's own tmp_path sits under a 0700 directory
    try:
        shared.chmod(0o755)
        monkeypatch.setattr(tempfile, "tempdir", str(shared))
        assert build_base(drop_uid=True) == shared
        assert build_base(drop_uid=False) == shared
    finally:
        shutil.rmtree(shared)


@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop happens only as root")
def test_root_with_a_private_tmpdir_still_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   base_settings: Settings) -> None:
    private = tmp_path / "private-tmp"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    base = build_base(drop_uid=True)
    assert base != private and os.stat(base).st_mode & 0o777 == 0o711 and os.stat(base).st_uid == 0

    async def go() -> tuple[tuple[CandidateResult, ...], str]:
        async with Sandbox(base_settings) as sandbox:
            root = (await sandbox.status()).build_root
            return await sandbox.verify(SAXPY, [cand(SAXPY, "avx2", SAXPY_AVX2)], bench=False), root

    (result,), root = run(go)
    assert result.verdict.status == Status.VERIFIED, result.verdict
    assert "Permission denied" not in result.verdict.detail
    assert root.startswith(str(base)) and not Path(root).exists()  # removed at close
