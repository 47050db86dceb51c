"""Cache keys: everything a stored result depends on, and nothing else.

Three kinds of result, three kinds of key:

- a *verdict* (is this candidate correct for this kernel?) depends on the kernel's normalised source
  and its harness-relevant shape, the candidate's code and caveats, the ISA, the compiler (path and
  version) and flags, the host's ISA extensions (a candidate the CPU cannot run is `unsupported_cpu`),
  the sandbox limits, and the simdlens, rules-table and harness versions. It does not depend on the
  CPU model, the loop's position, the file name, or where the candidate came from;
- a *measurement* (how fast is it?) depends on all of that plus the CPU model and the benchmark
  settings: a speedup measured on another CPU or with another compiler is never reused;
- a *model proposal* (what did the model write for this kernel?) depends on the kernel, the ISA, the
  endpoint, the model name, the prompt-template version, the sampling parameters and the tables the
  prompt lists intrinsics from.

Versions come from `simdlens.rules.TABLES_VERSION`, `simdlens.sandbox.HARNESS_VERSION` and
`simdlens.model.prompts.TEMPLATE_VERSION` when those modules define them; otherwise from a digest of the
package's own files (tables, harness sources, prompt templates), so an upgrade never serves stale results.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simdlens import __version__
from simdlens.analysis.parse import tokenize
from simdlens.config import BenchSettings, ModelSettings, SandboxSettings
from simdlens.core import Candidate, Kernel

# Bump when the meaning of a stored record changes (its layout, or what the keys cover).
KEY_SCHEMA = 1


@dataclass(frozen=True)
class Toolchain:
    """The compiler a result was produced with, and the user's flags for the file."""

    compiler: str  # resolved path, e.g. "/usr/bin/gcc"
    version: str  # first line of `--version`, e.g. "gcc (Debian 12.2.0-14) 12.2.0"
    flags: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.compiler} ({self.version})" if self.version else self.compiler


@dataclass(frozen=True)
class HostIdentity:
    """The CPU a result was produced on: its model name and the ISA extensions it runs."""

    cpu_model: str
    isa: frozenset[str]


@functools.cache
def _package_digest(module: str, patterns: tuple[str, ...]) -> str:
    """A digest of a package's files: the fallback version of tables, harness and prompts."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return "absent"
    root = Path(getattr(mod, "__file__", "") or "").parent
    h = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(root.rglob(pattern)):
            if "__pycache__" in path.parts:
                continue
            h.update(str(path.relative_to(root)).encode())
            try:
                h.update(path.read_bytes())
            except OSError:
                continue
    return "files:" + h.hexdigest()[:16]


def _declared_version(module: str, attr: str, patterns: tuple[str, ...]) -> str:
    try:
        value = getattr(importlib.import_module(module), attr, None)
    except ImportError:
        value = None
    return str(value) if value is not None else _package_digest(module, patterns)


def tables_version() -> str:
    return _declared_version("simdlens.rules", "TABLES_VERSION", ("*.toml", "*.py"))


def harness_version() -> str:
    return _declared_version("simdlens.sandbox", "HARNESS_VERSION", ("*.py", "*.c", "*.h"))


def prompt_version() -> str:
    return _declared_version("simdlens.model.prompts", "TEMPLATE_VERSION", ("*.py", "templates/*"))


def _digest(kind: str, identity: dict[str, Any]) -> str:
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=_jsonable)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(str(v) for v in value)
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def kernel_identity(kernel: Kernel) -> dict[str, Any]:
    """The kernel as the harness and the compiler see it: everything a build or a verdict depends on.

    The one definition of "the same kernel", used for cache keys here and for the sandbox's per-kernel
    build directories (`kernel_build_key`). The text enters as its token stream (`content_hash`), so
    the same loop re-indented, re-commented, moved to another line or file is the same kernel; the
    lines of preprocessor directives enter too, because there a line break or the space in
    `#define F (x)` changes the meaning, and text that stringizes (`#x`) enters verbatim.
    Positions, file names and the loop id are deliberately absent.
    """
    return {
        "hash": kernel.content_hash,
        "directives": _directive_lines(kernel.preamble + "\n" + kernel.source),
        "name": kernel.name,
        "language": kernel.language,
        "signature": " ".join(kernel.signature.split()),
        "return_type": kernel.return_type,
        "params": [(p.name, " ".join(p.decl.split()), p.role.value, p.elem, p.restrict) for p in kernel.params],
        "footprints": [(f.param, f.lo, f.hi, f.guarded, f.indexes) for f in kernel.footprints],
        "trip_count": kernel.trip_count,
        "size_param": kernel.size_param,
        "facts": sorted(kernel.facts),
        "may_alias": sorted(kernel.may_alias),
    }


_DIRECTIVE = re.compile(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", re.MULTILINE)
_FUNCTION_LIKE = re.compile(r"#\s*define\s+[A-Za-z_]\w*\(")


def _directive_lines(text: str) -> list[str]:
    """Each preprocessor directive of `text` as one line of tokens (layout inside a line does not matter);
    the whole text verbatim when a macro stringizes (`#x` turns the spacing of its argument into data)."""
    lines = []
    for m in _DIRECTIVE.finditer(text):
        line = m.group(0).replace("\\\n", " ").strip()
        tokens = tokenize(line)
        if "#" in tokens[1:]:
            return ["verbatim", text]
        if tokens[1:2] == ["include"]:  # a header name may contain spaces
            lines.append(" ".join(line.split()))
        else:
            lines.append(("function-like " if _FUNCTION_LIKE.match(line) else "") + " ".join(tokens))
    return lines


def kernel_build_key(kernel: Kernel, compiler: Iterable[str], flags: Iterable[str]) -> str:
    """A short name for the sandbox's build of `kernel` with one compiler and the user's flags."""
    return _digest("build", {"kernel": kernel_identity(kernel), "compiler": list(compiler),
                             "flags": list(flags)}).split(":", 1)[1][:24]


def candidate_identity(candidate: Candidate) -> dict[str, Any]:
    """The code that is compiled and the caveats that set the comparison tolerance (not the edits)."""
    return {
        "isa": candidate.isa,
        "function": candidate.function,
        "support": candidate.support,
        "flags": list(candidate.flags),
        "caveats": sorted(candidate.caveats),
        "type_facts": [(f.expr, f.type) for f in candidate.type_facts],  # asserted in its build
    }


def _versions() -> dict[str, Any]:
    return {"schema": KEY_SCHEMA, "simdlens": __version__, "tables": tables_version(), "harness": harness_version()}


def verdict_key(kernel: Kernel, candidate: Candidate, toolchain: Toolchain, host_isa: Iterable[str],
                sandbox: SandboxSettings, allow_contraction: bool = False) -> str:
    return _digest("verdict", {
        **_versions(),
        "kernel": kernel_identity(kernel),
        "candidate": candidate_identity(candidate),
        "compiler": [toolchain.compiler, toolchain.version],
        "flags": list(toolchain.flags),
        "host_isa": sorted(host_isa),
        "sandbox": [sandbox.cpu_seconds, sandbox.memory_mb, sandbox.wall_seconds, sandbox.tmpfs_mb],
        "allow_contraction": allow_contraction,
    })


def measurement_key(verdict: str, cpu_model: str, bench: BenchSettings, quick: bool) -> str:
    """`verdict` (a verdict key) already covers kernel, candidate, compiler and flags."""
    return _digest("measure", {"verdict": verdict, "cpu": cpu_model, "sizes": list(bench.effective_sizes(quick)),
                               "processes": bench.processes})


def proposal_key(kernel: Kernel, isa: str, model: ModelSettings, allow_contraction: bool = False) -> str:
    return _digest("proposal", {
        "schema": KEY_SCHEMA, "simdlens": __version__, "tables": tables_version(), "prompt": prompt_version(),
        "kernel": kernel_identity(kernel), "isa": isa,
        "endpoint": model.base_url.rstrip("/"), "model": model.name,
        "sampling": [model.temperature, model.top_p, model.max_tokens, model.samples, model.rounds],
        "alternatives": model.alternatives, "allow_contraction": allow_contraction,
    })
