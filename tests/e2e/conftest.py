"""pytest-lsp fixtures: the real `simdlens serve` in a subprocess, driven as VS Code and as Neovim.

Every scenario runs once per client (their capabilities differ: UTF-16 vs UTF-8 positions, lens
refresh support, code-action resolve properties). `LspSpecificationWarning`s are errors. The client
applies `workspace/applyEdit` to its own copy of the document and sends the `didChange`, as an editor
does. Settings for one test come from its `simdlens_settings` marker (initializationOptions).

The result cache is shared by all tests of a session, so the second client mostly reads what the first
one verified; tests that must see a real verification run use their own cache directory.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.workspace import PositionCodec, TextDocument
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

CLIENTS = ("visual-studio-code", "neovim")
SHARED_CACHE = tempfile.mkdtemp(prefix="simdlens-e2e-cache-")

# A float dot product (gcc does not vectorize it without -ffast-math: rewrites win), a recurrence
# (never vectorizable), and an element-wise loop.
DOT_C = """\
#include <stddef.h>

float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void damped_chain(float *a, int n) {
    for (int i = 1; i < n; i++)
        a[i] = a[i] / (1.0f + a[i - 1] * a[i - 1]);
}
"""
DOT_HEADER_LINE = 4  # 0-based line of `for (...)` in dot()
RECURRENCE_HEADER_LINE = 10


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "simdlens_settings(dict): initializationOptions for the e2e server")


class Editor:
    """The client's side of the documents: what an editor holds and sends."""

    def __init__(self, client: LanguageClient, encoding: str) -> None:
        self.client = client
        self.codec = PositionCodec(encoding)
        self.docs: dict[str, TextDocument] = {}

    def open(self, path: Path, text: str, language_id: str = "c") -> str:
        uri = path.as_uri()
        self.docs[uri] = TextDocument(uri, text, 1, language_id, position_codec=self.codec)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)))
        return uri

    def text(self, uri: str) -> str:
        return self.docs[uri].source

    def version(self, uri: str) -> int:
        return int(self.docs[uri].version or 0)

    def change(self, uri: str, edits: list[types.TextEdit]) -> None:
        """Apply edits (all against the current text) and send them as one didChange."""
        doc = self.docs[uri]
        ordered = sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True)
        changes: list[types.TextDocumentContentChangeEvent] = []
        for edit in ordered:
            change = types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
            doc.apply_change(change)
            changes.append(change)
        doc.version = self.version(uri) + 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
            content_changes=changes))

    def position_of(self, uri: str, needle: str, after: int = 0) -> types.Position:
        """The client-unit position of `needle` in the document."""
        doc = self.docs[uri]
        offset = doc.source.index(needle)
        line = doc.source.count("\n", 0, offset)
        column = offset - (doc.source.rfind("\n", 0, offset) + 1) + after
        return doc.position_to_client_units(types.Position(line, column))  # type: ignore[arg-type]

    def apply_workspace_edit(self, edit: types.WorkspaceEdit) -> bool:
        if edit.document_changes:
            for change in edit.document_changes:
                if not isinstance(change, types.TextDocumentEdit):
                    return False
                uri = change.text_document.uri
                if change.text_document.version is not None and change.text_document.version != self.version(uri):
                    return False
                self.change(uri, [e for e in change.edits if isinstance(e, types.TextEdit)])
            return True
        for uri, edits in (edit.changes or {}).items():
            self.change(uri, list(edits))
        return True


async def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def diagnostic_codes(client: LanguageClient, uri: str) -> dict[int, str]:
    return {d.range.start.line: str(d.code) for d in client.diagnostics.get(uri, [])}


async def run_command(client: LanguageClient, command: str, *arguments: Any) -> dict[str, Any]:
    """Execute a simdlens command; its result is always a JSON object."""
    answer = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=command, arguments=list(arguments)))
    assert isinstance(answer, dict), answer
    return answer


async def lenses(client: LanguageClient, uri: str) -> dict[int, types.CodeLens]:
    """The document's lenses, each with its command: resolved (`codeLens/resolve`) when the server sent
    it without one, as an editor does for the lenses it shows."""
    found = await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    resolved = [lens if lens.command is not None else await client.code_lens_resolve_async(lens)
                for lens in found or []]
    return {lens.range.start.line: lens for lens in resolved}


async def lens_title(client: LanguageClient, uri: str, line: int) -> str:
    lens = (await lenses(client, uri)).get(line)
    return lens.command.title if lens and lens.command else ""


@pytest_lsp.fixture(
    params=CLIENTS,
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "simdlens", "serve", "--stdio"],
        server_env={**os.environ, "SIMDLENS_CACHE_DIR": SHARED_CACHE, "PYTHONUNBUFFERED": "1"},
    ),
)
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    marker = request.node.get_closest_marker("simdlens_settings")
    options: dict[str, Any] = {"bench": {"quick": True, "processes": 3, "sizes": [4096]}, "jobs": 1}
    if marker is not None:
        for key, value in marker.args[0].items():
            options[key] = {**options.get(key, {}), **value} if isinstance(value, dict) else value
    lsp_client.set_configuration({"simdlens": options})
    capabilities = client_capabilities(request.param)
    result = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=capabilities, initialization_options={"simdlens": options},
        workspace_folders=[types.WorkspaceFolder(uri=Path(tempfile.gettempdir()).as_uri(), name="tmp")]))
    lsp_client.initialize_result = result  # type: ignore[attr-defined]
    negotiated = result.capabilities.position_encoding or "utf-16"
    editor = Editor(lsp_client, str(getattr(negotiated, "value", negotiated)))
    lsp_client.editor = editor  # type: ignore[attr-defined]

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        applied = editor.apply_workspace_edit(params.edit)
        return types.ApplyWorkspaceEditResult(applied=applied, failure_reason=None if applied else "stale version")

    lsp_client.statuses = []  # type: ignore[attr-defined]

    @lsp_client.feature("simdlens/status")
    def status(params: Any) -> None:
        lsp_client.statuses.append(params)  # type: ignore[attr-defined]

    @lsp_client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def refresh_lenses(params: None) -> None:
        lsp_client.lens_refreshes = getattr(lsp_client, "lens_refreshes", 0) + 1  # type: ignore[attr-defined]

    yield

    await lsp_client.shutdown_session()
