"""The host CPU: its model name and the ISA extensions it runs, and whether a candidate may run here.

A candidate written for an ISA the host lacks is compiled (so its compile errors are still reported)
but never run: its verdict is `unsupported_cpu`, never `verified`.

The extension names are the Linux kernel's `/proc/cpuinfo` flag names ("avx2", "avx512f", ...).
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path

# What each candidate ISA needs from the host (kernel flag names), and the compiler flags it builds with.
ISA_REQUIREMENTS: dict[str, frozenset[str]] = {
    "sse4": frozenset({"sse4_2"}),
    "avx2": frozenset({"avx2", "fma"}),
    "avx512": frozenset({"avx512f", "avx512vl", "avx512bw", "avx512dq"}),
}
ISA_FLAGS: dict[str, tuple[str, ...]] = {
    "sse4": ("-msse4.2",),
    "avx2": ("-mavx2", "-mfma"),
    "avx512": ("-mavx2", "-mfma", "-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq"),
}
# Vector register width in bytes, for choosing the sizes at which remainder bugs show.
ISA_VECTOR_BYTES: dict[str, int] = {"sse4": 16, "avx2": 32, "avx512": 64}


@dataclass(frozen=True)
class HostCpu:
    model: str
    isa: frozenset[str]

    def missing_for(self, isa: str) -> frozenset[str]:
        """The extensions candidate ISA `isa` needs that this host lacks (empty = it can run)."""
        needed = ISA_REQUIREMENTS.get(isa)
        if needed is None:
            return frozenset({isa})  # an ISA we know nothing about never runs
        return needed - self.isa

    def missing_for_flags(self, flags: tuple[str, ...]) -> frozenset[str]:
        """The extensions a candidate's extra `-m` flags ("-mavx512vbmi2") need that this host lacks."""
        from simdlens.rules.tables import cpu_features  # the ISA tables name each flag's CPU feature

        features = cpu_features()
        needed = {features.get(f, f.removeprefix("-m")) for f in flags if f.startswith("-m") and "=" not in f}
        return frozenset(needed - self.isa)

    def runs(self, isa: str) -> bool:
        return not self.missing_for(isa)

    @property
    def best_isa(self) -> str | None:
        """The widest candidate ISA this host runs ("auto" in the settings)."""
        for isa in ("avx512", "avx2", "sse4"):
            if self.runs(isa):
                return isa
        return None


def parse_cpuinfo(text: str) -> HostCpu:
    """Model name and flags of the first processor listed in a /proc/cpuinfo text."""
    model = ""
    flags: frozenset[str] = frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
        if model and flags:
            break
    return HostCpu(model=model or platform.processor() or "unknown CPU", isa=flags)


@functools.cache
def host_cpu() -> HostCpu:
    """This machine's CPU (read once per process)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return HostCpu(model=platform.processor() or "unknown CPU", isa=frozenset())
    return parse_cpuinfo(text)
