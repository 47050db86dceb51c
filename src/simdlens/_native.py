"""Which copy of the analysis hot path runs: the mypyc-compiled extensions, or their Python source.

The install compiles `HOT_MODULES` with mypyc when it can (see setup.py). Both are the same source, so
results are the same (tests/unit/test_native.py compares them); only speed differs. The Python source
is used instead when

- no extension was built (no C compiler or Python headers at install time),
- `SIMDLENS_PURE_PYTHON` is set (debugging, or comparing the two),
- a module's source is newer than its extension: in an editable checkout an edit must take effect at
  once, and a compiled copy of the old code would silently shadow it.

The choice is all or nothing: compiled modules of one group call each other natively, so mixing a
compiled module with the source of another would still run some of the old code.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

# The IR builder's modules (the package's __init__ only re-exports), the IR, legality, the loop finder and
# node spans; a literal, because setup.py reads it without importing the package.
HOT_MODULES = (
    "simdlens.analysis.build.accesses", "simdlens.analysis.build.bit_copies", "simdlens.analysis.build.builder",
    "simdlens.analysis.build.c_types",
    "simdlens.analysis.build.complex_values", "simdlens.analysis.build.counters",
    "simdlens.analysis.build.declarations", "simdlens.analysis.build.expands", "simdlens.analysis.build.expressions",
    "simdlens.analysis.build.headers", "simdlens.analysis.build.loop", "simdlens.analysis.build.macros",
    "simdlens.analysis.build.reroll",
    "simdlens.analysis.build.scalars", "simdlens.analysis.build.statements", "simdlens.analysis.build.structures",
    "simdlens.analysis.build.switches",
    "simdlens.analysis.build.syntax", "simdlens.analysis.build.uses", "simdlens.analysis.build.walks",
    "simdlens.analysis.inductions", "simdlens.analysis.ir", "simdlens.analysis.legality", "simdlens.analysis.loops", "simdlens.analysis.spans")
# A wheel's files are unpacked one after another: a source a moment newer than its extension is no edit.
_EDIT_SLACK_S = 2.0


@dataclass(frozen=True)
class HotPath:
    compiled: bool
    why: str  # one line for `simdlens doctor`


def module_files(package_dir: Path, module: str) -> tuple[Path, Path | None]:
    """The .py file of `module` under `package_dir` (the `simdlens` folder) and its compiled
    extension (None when there is none)."""
    rel = module.split(".")[1:]
    folder = package_dir.joinpath(*rel[:-1])
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        ext = folder / (rel[-1] + suffix)
        if ext.exists():
            return folder / (rel[-1] + ".py"), ext
    return folder / (rel[-1] + ".py"), None


def decide(package_dir: Path, environ: Mapping[str, str]) -> HotPath:
    """Whether the compiled hot path can run, and why (not)."""
    if environ.get("SIMDLENS_PURE_PYTHON"):
        return HotPath(False, "Python source (SIMDLENS_PURE_PYTHON is set)")
    stale = []
    missing = []
    for module in HOT_MODULES:
        source, ext = module_files(package_dir, module)
        if ext is None:
            missing.append(source.name)
            continue
        try:
            if source.stat().st_mtime > ext.stat().st_mtime + _EDIT_SLACK_S:
                stale.append(source.name)
        except OSError:
            pass  # an install without the .py: the extension is all there is
    if missing and len(missing) < len(HOT_MODULES):  # an install from before these modules joined the hot path
        return HotPath(False, f"Python source ({', '.join(missing)} not compiled: the install predates them; "
                              "reinstall to recompile)")
    if missing:
        return HotPath(False, "Python source (not compiled at install: no C compiler or Python headers; "
                              "see setup.py)")
    if stale:
        return HotPath(False, f"Python source ({', '.join(stale)} changed since compiled; reinstall to recompile)")
    return HotPath(True, "compiled with mypyc")


class SourceFirst(importlib.abc.MetaPathFinder):
    """Imports the hot modules from their .py files even where a compiled extension sits beside them."""

    def __init__(self, package_dir: Path) -> None:
        self.package_dir = package_dir

    def find_spec(self, fullname: str, path: object = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in HOT_MODULES:
            return None
        source, _ext = module_files(self.package_dir, fullname)
        return importlib.util.spec_from_file_location(fullname, source) if source.exists() else None


_PACKAGE_DIR = Path(__file__).resolve().parent
HOT_PATH = decide(_PACKAGE_DIR, os.environ)
if not HOT_PATH.compiled and any(module_files(_PACKAGE_DIR, m)[1] is not None for m in HOT_MODULES):
    if "reinstall" in HOT_PATH.why:  # an edit, or an install older than the hot path
        log.warning("simdlens analysis: %s", HOT_PATH.why)
    sys.meta_path.insert(0, SourceFirst(_PACKAGE_DIR))
