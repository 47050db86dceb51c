"""Settings: one frozen `Settings` value, built in layers.

    defaults  <  environment (SIMDLENS_*)  <  command line / initializationOptions / workspace config

`Settings.from_mapping` takes the editor's `simdlens` configuration section (camelCase keys, as
contributed by the VS Code extension) and returns the settings plus one warning per invalid value;
an invalid value falls back to its default, it never stops the tool.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ISA_CHOICES = ("auto", "avx2", "avx512", "sse4")
VERIFY_ON_CHOICES = ("open", "save", "demand")
VERBOSITY_CHOICES = ("all", "verified", "off")
GUARD_CHOICES = ("ifdef", "dispatch")  # how a rewrite stays buildable without the ISA flag


def default_cache_dir() -> Path:
    env = os.environ.get("SIMDLENS_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "simdlens" if xdg else Path.home() / ".cache" / "simdlens"


@dataclass(frozen=True)
class ModelSettings:
    base_url: str = ""  # empty = no model
    name: str = ""
    api_key_env: str = "SIMDLENS_MODEL_API_KEY"  # the *name* of the variable holding the key
    temperature: float = 0.2
    top_p: float = 0.95
    max_tokens: int = 2048
    samples: int = 1
    rounds: int = 3
    timeout: float = 60.0  # read timeout per request, seconds
    connect_timeout: float = 5.0
    max_concurrent: int = 2
    loop_budget: float = 180.0  # seconds of model + sandbox time per loop
    alternatives: bool = False  # also ask for loops the rules already cover

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.name)


@dataclass(frozen=True)
class SandboxSettings:
    cpu_seconds: int = 20
    memory_mb: int = 2048
    wall_seconds: float = 30.0
    tmpfs_mb: int = 64
    output_kb: int = 256
    require_bwrap_for_rules: bool = False


@dataclass(frozen=True)
class BenchSettings:
    sizes: tuple[int, ...] = (4096, 65536, 1048576)
    processes: int = 5
    quick: bool = False  # one size (the L1 one)
    enabled: bool = True

    def effective_sizes(self, quick: bool = False) -> tuple[int, ...]:
        """The sizes a run measures: only the first (L1-resident) one when this run or the settings say quick."""
        return self.sizes[:1] if quick or self.quick else self.sizes


@dataclass(frozen=True)
class Settings:
    isa: str = "auto"
    compiler: str = ""  # "" = find gcc, then clang
    extra_flags: tuple[str, ...] = ()
    compile_commands_dir: str = ""
    allowed_compilers: tuple[str, ...] = ()  # compile_commands.json compilers the user trusts (glob)
    verify_on: str = "open"
    allow_contraction: bool = False  # FMA contraction allowed (then a caveat)
    guard: str = "ifdef"
    header_language: str = "c"  # language of .h files
    diagnostics: str = "all"
    trusted: bool = True  # False: nothing from the workspace is compiled or run
    cache_dir: str = ""  # "" = default_cache_dir()
    cache_size_mb: int = 1024
    jobs: int = 0  # 0 = cores - 1, at least 1
    model: ModelSettings = field(default_factory=ModelSettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    bench: BenchSettings = field(default_factory=BenchSettings)

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else default_cache_dir()

    @property
    def job_limit(self) -> int:
        return self.jobs if self.jobs > 0 else max(1, (os.cpu_count() or 2) - 1)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, base: Settings | None = None) -> tuple[Settings, list[str]]:
        """Overlay an editor configuration section (camelCase) onto `base`; returns warnings."""
        return _overlay(base or cls(), data or {}, "simdlens")


def _snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


_CHOICES: dict[str, tuple[str, ...]] = {
    "isa": ISA_CHOICES, "verify_on": VERIFY_ON_CHOICES, "diagnostics": VERBOSITY_CHOICES, "guard": GUARD_CHOICES,
    "header_language": ("c", "cpp"),
}


def _overlay(obj: Any, data: Mapping[str, Any], prefix: str) -> tuple[Any, list[str]]:
    warnings: list[str] = []
    changes: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(obj)}
    for raw_key, value in data.items():
        name = _snake(str(raw_key))
        where = f"{prefix}.{raw_key}"
        if name not in fields:
            warnings.append(f"unknown setting {where} ignored")
            continue
        current = getattr(obj, name)
        if dataclasses.is_dataclass(current):
            if isinstance(value, Mapping):
                sub, sub_warnings = _overlay(current, value, where)
                changes[name] = sub
                warnings.extend(sub_warnings)
            else:
                warnings.append(f"{where} must be an object; using defaults")
            continue
        converted = _convert(current, value)
        if converted is None or (name in _CHOICES and converted not in _CHOICES[name]):
            allowed = f" (one of {', '.join(_CHOICES[name])})" if name in _CHOICES else ""
            warnings.append(f"invalid value {value!r} for {where}{allowed}; using {current!r}")
            continue
        changes[name] = converted
    return dataclasses.replace(obj, **changes), warnings


def _convert(current: Any, value: Any) -> Any:
    """Coerce `value` to the type of `current`, or None when it does not fit."""
    if isinstance(current, bool):
        return value if isinstance(value, bool) else None
    if isinstance(current, int):
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
    if isinstance(current, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        return float(value) if ok else None
    if isinstance(current, str):
        return value if isinstance(value, str) else None
    if isinstance(current, tuple):
        if isinstance(value, list | tuple) and all(isinstance(v, type(current[0]) if current else (str, int)) for v in value):
            return tuple(value)
        return None
    return None
