"""Build hook: compile the analysis hot path with mypyc when this machine can, else stay pure Python.

Everything else about the package is in pyproject.toml. The modules in `simdlens._native.HOT_MODULES`
are ordinary typed Python; mypyc turns them into C extensions that analyse a file about 1.5x faster
(benchmarks/analysis_speed.py). A machine without Python headers or a C compiler, or a build failure of
any kind, gets the same modules as Python source: the install never fails for the sake of speed.

    SIMDLENS_PURE_PYTHON=1 pip install .    # skip compiling
    pip install --no-build-isolation .      # offline: uses the mypy installed, plain Python without one
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

GROUP = "simdlens_native"  # mypyc's shared library for the group: simdlens_native__mypyc.*.so


def _hot_modules() -> list[str]:
    """`HOT_MODULES` of src/simdlens/_native.py, read without importing the package (not installed yet)."""
    tree = ast.parse(Path("src/simdlens/_native.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "HOT_MODULES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise LookupError("HOT_MODULES not found in src/simdlens/_native.py")


def _say(message: str) -> None:
    print(f"simdlens setup: {message}", file=sys.stderr)


def _can_compile() -> str:
    """Why this machine cannot build C extensions for this Python ('' when it can)."""
    if os.environ.get("SIMDLENS_PURE_PYTHON"):
        return "SIMDLENS_PURE_PYTHON is set"
    include = sysconfig.get_paths().get("include") or ""
    if not (Path(include) / "Python.h").exists():
        return f"no Python headers ({include}/Python.h; install python3-dev)"
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None and shutil.which("cc") is None:
        return f"no C compiler ({cc})"
    return ""


def _extensions() -> list[Extension]:
    why = _can_compile()
    if why:
        _say(f"pure Python analysis: {why}")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as e:
        _say(f"pure Python analysis: mypyc is not available ({e})")
        return []
    try:
        paths = [str(Path("src", *m.split("."))) + ".py" for m in _hot_modules()]
        return list(mypycify(paths, opt_level="3", group_name=GROUP))
    except BaseException as e:  # mypyc exits through SystemExit on a type error
        _say(f"pure Python analysis: mypyc could not translate the hot path ({type(e).__name__}: {e})")
        return []


_translated: list[Extension] | None = None  # mypyc's extensions, once per process


class OptionalBuildExt(build_ext):
    """Builds the compiled hot path as a whole or not at all: a group half built would not import.

    mypyc translates the modules here, when the extensions are really built, not when setup.py is
    loaded: pip loads it three times per install (requirements, metadata, wheel)."""

    def finalize_options(self) -> None:
        global _translated
        if _translated is None:  # commands finalize this one several times: translate once
            _translated = _extensions()
        self.distribution.ext_modules = list(_translated)
        super().finalize_options()

    def run(self) -> None:
        if not self.extensions:
            self._remove_compiled()  # a build folder or checkout may hold an earlier compiled build
            return
        try:
            super().run()
        except Exception as e:  # CompileError, LinkError, OSError...
            _say(f"pure Python analysis: compiling failed ({type(e).__name__}: {e})")
            self._remove_compiled()
            self.extensions = []

    def _remove_compiled(self) -> None:
        for name in [GROUP + "__mypyc", *_hot_modules()]:
            Path(self.get_ext_fullpath(name)).unlink(missing_ok=True)


# A stand-in until build_ext runs: with it the wheel is marked as holding compiled code.
setup(ext_modules=[Extension(GROUP + "__mypyc", sources=[])], cmdclass={"build_ext": OptionalBuildExt})
