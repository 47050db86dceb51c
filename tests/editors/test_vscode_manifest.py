"""The VS Code extension's package.json contributes exactly what the server understands.

Every setting the server reads (src/simdlens/server/contract.json when the server ships one, else the
`Settings` dataclass itself) is a `simdlens.*` setting with the same default, type and choices, and
every contributed setting is one the server reads, apart from the extension's own launch/trace ones.
The server's commands are contributed for the palette; the extension registers only its own.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from simdlens import config
from simdlens.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "vscode-extension" / "package.json"
EXTENSION_TS = ROOT / "vscode-extension" / "src" / "extension.ts"
CONTRACT = ROOT / "src" / "simdlens" / "server" / "contract.json"

EXTENSION_ONLY_SETTINGS = ("simdlens.server.", "simdlens.trace.")
EXTENSION_COMMANDS = {"simdlens.restartServer", "simdlens.showOutput"}
# the server's command ids as issue 7 defines them; contract.json, when present, is the authority
SERVER_COMMANDS = {"simdlens.applyAndBenchmark", "simdlens.verifyLoop", "simdlens.showReport", "simdlens.clearCache"}

JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", tuple: "array"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _settings_leaves(obj: Any, prefix: str = "simdlens") -> dict[str, tuple[str, Any, tuple[str, ...] | None]]:
    """`simdlens.model.baseUrl` -> (json type, default as JSON, choices) for every leaf of Settings."""
    choices: dict[str, tuple[str, ...]] = getattr(config, "_CHOICES", {})
    out: dict[str, tuple[str, Any, tuple[str, ...] | None]] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}.{_camel(f.name)}"
        if dataclasses.is_dataclass(value):
            out.update(_settings_leaves(value, key))
            continue
        default = list(value) if isinstance(value, tuple) else value
        out[key] = (JSON_TYPES[type(value)], default, choices.get(f.name) if prefix == "simdlens" else None)
    return out


def _contract_leaves(node: dict[str, Any], prefix: str = "simdlens") -> dict[str, dict[str, Any]]:
    """contract.json settings, nested or dotted, down to the entries that describe one setting."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in node.items():
        full = key if key.startswith(prefix + ".") else f"{prefix}.{key}"
        if isinstance(value, dict) and not ({"type", "default"} & value.keys()):
            out.update(_contract_leaves(value, full))
        else:
            out[full] = value if isinstance(value, dict) else {"default": value}
    return out


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    if not PACKAGE.exists():
        pytest.fail(f"{PACKAGE} is missing")
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def contributed(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    props: dict[str, dict[str, Any]] = manifest["contributes"]["configuration"]["properties"]
    return {k: v for k, v in props.items() if not k.startswith(EXTENSION_ONLY_SETTINGS)}


@pytest.fixture(scope="module")
def contract() -> dict[str, Any] | None:
    return json.loads(CONTRACT.read_text(encoding="utf-8")) if CONTRACT.exists() else None


def test_every_server_setting_is_contributed_and_nothing_else(
    contributed: dict[str, dict[str, Any]], contract: dict[str, Any] | None
) -> None:
    server_keys = set(_contract_leaves(contract["settings"])) if contract else set(_settings_leaves(Settings()))
    source = "contract.json" if contract else "Settings"
    assert sorted(server_keys - contributed.keys()) == [], f"settings in {source} missing from package.json"
    assert sorted(contributed.keys() - server_keys) == [], f"package.json settings the server ({source}) does not read"


def test_defaults_types_and_choices_match_settings(contributed: dict[str, dict[str, Any]]) -> None:
    for key, (json_type, default, choices) in _settings_leaves(Settings()).items():
        if key not in contributed:
            continue  # reported by the test above
        prop = contributed[key]
        assert prop["type"] == json_type, key
        assert prop["default"] == default, key
        if choices is not None:
            assert prop.get("enum") == list(choices), key
        assert prop.get("description") or prop.get("markdownDescription"), f"{key} has no description"
        assert prop.get("scope") in {"application", "machine", "machine-overridable", "window", "resource"}, key


def test_contract_defaults_match_package_json(
    contributed: dict[str, dict[str, Any]], contract: dict[str, Any] | None
) -> None:
    if contract is None:
        pytest.skip(f"{CONTRACT.name} not written by the server yet; Settings is the reference")
    for key, entry in _contract_leaves(contract["settings"]).items():
        if key in contributed and "default" in entry:
            assert contributed[key]["default"] == entry["default"], key


def test_contributed_defaults_are_accepted_by_the_server_unchanged(contributed: dict[str, dict[str, Any]]) -> None:
    """The whole section as VS Code would send it with every default: no warning, same Settings."""
    section: dict[str, Any] = {}
    for key, prop in contributed.items():
        node = section
        *parents, leaf = key.split(".")[1:]
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = prop["default"]
    settings, warnings = Settings.from_mapping(section)
    assert warnings == []
    assert settings == Settings()
    for key, prop in contributed.items():  # every offered choice is one the server accepts
        for choice in prop.get("enum", []):
            _, warned = Settings.from_mapping({key.split(".", 1)[1]: choice})
            assert warned == [], f"{key}={choice!r}: {warned}"


def test_server_commands_are_contributed_and_not_registered_by_the_extension(
    manifest: dict[str, Any], contract: dict[str, Any] | None
) -> None:
    server = set(contract["commands"]) if contract else SERVER_COMMANDS
    commands = {c["command"] for c in manifest["contributes"]["commands"]}
    assert commands == server | EXTENSION_COMMANDS
    source = EXTENSION_TS.read_text(encoding="utf-8")
    registered = set(re.findall(r"registerCommand\(\s*(?:EXTENSION_COMMANDS\.(\w+)|'([\w.]+)')", source))
    ids = {re.search(rf"{name}: '([\w.]+)'", source).group(1) if name else literal  # type: ignore[union-attr]
           for name, literal in registered}
    assert ids == EXTENSION_COMMANDS
    listed = re.search(r"SERVER_COMMANDS = \[(.*?)\]", source, re.S)
    assert listed is not None and set(re.findall(r"'([\w.]+)'", listed.group(1))) == server


def test_limited_mode_in_untrusted_workspaces(manifest: dict[str, Any]) -> None:
    untrusted = manifest["capabilities"]["untrustedWorkspaces"]
    assert untrusted["supported"] == "limited"
    restricted = set(untrusted["restrictedConfigurations"])
    # whatever picks an executable, a compiler or where code is sent must come from user settings only
    for key in ("simdlens.server.path", "simdlens.server.python", "simdlens.compiler", "simdlens.extraFlags",
                "simdlens.compileCommandsDir", "simdlens.allowedCompilers", "simdlens.model.baseUrl", "simdlens.trusted"):
        assert key in restricted, key
    assert manifest["activationEvents"] == ["onLanguage:c", "onLanguage:cpp"]
