"""The compiled analysis hot path: when it runs, and that it gives exactly what the Python source gives."""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simdlens import _native
from simdlens._native import HOT_MODULES, SourceFirst, decide

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _fake_package(tmp_path: Path, *, compiled: bool) -> Path:
    pkg = tmp_path / "simdlens"
    for module in HOT_MODULES:
        rel = module.split(".")[1:]
        folder = pkg.joinpath(*rel[:-1])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{rel[-1]}.py").write_text("WHERE = 'source'\n")
        if compiled:
            (folder / f"{rel[-1]}{SUFFIX}").write_bytes(b"\x7fELF")
    return pkg


def test_without_extensions_the_source_runs(tmp_path: Path) -> None:
    got = decide(_fake_package(tmp_path, compiled=False), {})
    assert not got.compiled
    assert "not compiled" in got.why


def test_fresh_extensions_run(tmp_path: Path) -> None:
    assert decide(_fake_package(tmp_path, compiled=True), {}).compiled


def test_an_edited_source_wins_over_its_stale_extension(tmp_path: Path) -> None:
    pkg = _fake_package(tmp_path, compiled=True)
    edited = pkg / "analysis" / "legality.py"
    later = edited.stat().st_mtime + 60
    os.utime(edited, (later, later))
    got = decide(pkg, {})
    assert not got.compiled
    assert "legality.py changed since compiled" in got.why


def test_a_source_unpacked_just_after_its_extension_is_not_an_edit(tmp_path: Path) -> None:
    pkg = _fake_package(tmp_path, compiled=True)
    source = pkg / "analysis" / "build" / "loop.py"
    t = source.stat().st_mtime + 0.5
    os.utime(source, (t, t))
    assert decide(pkg, {}).compiled


def test_an_install_older_than_a_hot_module_says_so(tmp_path: Path) -> None:
    pkg = _fake_package(tmp_path, compiled=True)
    (pkg / "analysis" / "build" / f"switches{SUFFIX}").unlink()  # compiled before switches.py joined the hot path
    got = decide(pkg, {})
    assert not got.compiled
    assert "switches.py not compiled" in got.why and "reinstall" in got.why
    assert "no C compiler" not in got.why


def test_the_environment_can_ask_for_the_source(tmp_path: Path) -> None:
    got = decide(_fake_package(tmp_path, compiled=True), {"SIMDLENS_PURE_PYTHON": "1"})
    assert not got.compiled
    assert "SIMDLENS_PURE_PYTHON" in got.why


def test_source_first_finder_points_hot_modules_at_their_py_file(tmp_path: Path) -> None:
    pkg = _fake_package(tmp_path, compiled=True)
    finder = SourceFirst(pkg)
    spec = finder.find_spec("simdlens.analysis.build.loop")
    assert spec is not None and spec.origin == str(pkg / "analysis" / "build" / "loop.py")
    assert finder.find_spec("simdlens.analysis.kernel") is None  # not a hot module: normal import


def test_the_running_copy_is_the_one_decided() -> None:
    import simdlens.analysis.build.loop as build

    origin = Path(build.__file__ or "")
    assert (origin.suffix == ".py") == (not _native.HOT_PATH.compiled)


def test_ci_runs_the_compiled_analysis() -> None:
    if not os.environ.get("SIMDLENS_EXPECT_COMPILED"):
        pytest.skip("set by .ci/run, which makes sure the analysis is compiled")
    assert _native.HOT_PATH.compiled, _native.HOT_PATH.why


def _scan(pure: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != "SIMDLENS_PURE_PYTHON"}
    if pure:
        env["SIMDLENS_PURE_PYTHON"] = "1"
    paths = [str(ROOT / p) for p in ("tests/fixtures/corpus", "examples", "benchmarks/corpus")]
    done = subprocess.run([sys.executable, "-m", "simdlens", "scan", "--json", "--no-verify", "--no-cache", *paths],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_compiled_and_source_analysis_agree_on_every_corpus_loop() -> None:
    if not _native.HOT_PATH.compiled:
        pytest.skip(f"the analysis is not compiled here: {_native.HOT_PATH.why}")
    compiled, source = _scan(pure=False), _scan(pure=True)
    assert '"verdict"' in compiled
    assert compiled == source
