"""editors/helix/languages.toml: Helix is not packaged by Debian 12, so the snippet is checked, not run.

It must be valid TOML, start `simdlens serve` next to clangd for C and C++, and its `config.simdlens`
(what Helix sends as initializationOptions and answers to workspace/configuration for "simdlens")
must be settings the server accepts without a warning.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from simdlens.config import Settings

SNIPPET = Path(__file__).resolve().parents[2] / "editors" / "helix" / "languages.toml"


def test_snippet_starts_simdlens_for_c_and_cpp_with_valid_settings() -> None:
    config = tomllib.loads(SNIPPET.read_text(encoding="utf-8"))
    server = config["language-server"]["simdlens"]
    assert [server["command"], *server["args"]] == ["simdlens", "serve"]
    languages = {lang["name"]: lang["language-servers"] for lang in config["language"]}
    assert languages == {"c": ["clangd", "simdlens"], "cpp": ["clangd", "simdlens"]}
    section = server["config"]["simdlens"]
    settings, warnings = Settings.from_mapping(section)
    assert warnings == []
    assert (settings.isa, settings.verify_on) == (section["isa"], section["verifyOn"])

