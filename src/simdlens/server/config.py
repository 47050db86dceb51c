"""The server's settings: command line < `initializationOptions` < workspace configuration `simdlens`.

Editors send the same camelCase section the VS Code extension contributes (see `contract.json`).
`Settings.from_mapping` does the conversion and validation; this module only layers the sources,
remembers them so a `workspace/didChangeConfiguration` can replace one layer, and makes sure each
warning about an invalid value reaches the user once, not on every reload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simdlens.config import Settings

SECTION = "simdlens"


def section_of(data: Any) -> Mapping[str, Any] | None:
    """The `simdlens` section of initializationOptions or a didChangeConfiguration payload.

    Accepts both `{"simdlens": {...}}` and the bare section; anything else is ignored.
    """
    if not isinstance(data, Mapping):
        return None
    inner = data.get(SECTION)
    if isinstance(inner, Mapping):
        return inner
    if SECTION in data:  # {"simdlens": null}: the user cleared the section
        return {}
    return data


class ServerConfig:
    """Holds the configuration layers and the settings they make."""

    def __init__(self, base: Settings | None = None) -> None:
        self._base = base or Settings()
        self._init_options: Mapping[str, Any] = {}
        self._workspace: Mapping[str, Any] = {}
        self._shown: set[str] = set()
        self.settings = self._base

    def set_initialization_options(self, data: Any) -> list[str]:
        self._init_options = section_of(data) or {}
        return self._rebuild()

    def set_workspace(self, data: Any) -> list[str]:
        section = section_of(data)
        if section is None and data is not None:
            return [*self._rebuild(), f"workspace configuration section '{SECTION}' is not an object; ignored"]
        self._workspace = section or {}
        return self._rebuild()

    def _rebuild(self) -> list[str]:
        settings, warnings = Settings.from_mapping(self._init_options, self._base)
        settings, more = Settings.from_mapping(self._workspace, settings)
        self.settings = settings
        fresh = [w for w in warnings + more if w not in self._shown]
        self._shown.update(fresh)
        return fresh
