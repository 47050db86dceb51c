"""End to end, no verification needed: diagnostics, hover, settings, and input that must not hurt."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from conftest import (
    DOT_C,
    DOT_HEADER_LINE,
    RECURRENCE_HEADER_LINE,
    diagnostic_codes,
    lens_title,
    run_command,
    wait_until,
)
from lsprotocol import types
from pytest_lsp import LanguageClient

ON_DEMAND = {"verifyOn": "demand"}


@pytest.mark.simdlens_settings({"verifyOn": "demand", "cacheDir": tempfile.mkdtemp(prefix="simdlens-e2e-own-")})
async def test_open_a_c_file_diagnostics_hover_report(client: LanguageClient, tmp_path: Path) -> None:
    """Nothing verified (on demand): diagnostics, lens, hover, the report and clearing the cache."""
    editor = client.editor  # type: ignore[attr-defined]
    uri = editor.open(tmp_path / "dot.c", DOT_C)
    codes = await wait_until(lambda: diagnostic_codes(client, uri), 10, "diagnostics")
    assert codes[DOT_HEADER_LINE] == "SL101"
    assert codes[RECURRENCE_HEADER_LINE] == "SL201"
    by_line = {d.range.start.line: d for d in client.diagnostics[uri]}
    assert "not vectorizable" in by_line[RECURRENCE_HEADER_LINE].message
    assert all(d.source == "simdlens" for d in by_line.values())
    assert by_line[DOT_HEADER_LINE].severity in (types.DiagnosticSeverity.Hint, types.DiagnosticSeverity.Information)
    # the range is the loop header
    header = by_line[DOT_HEADER_LINE].range
    assert (header.start.character, header.end.character) == (4, 4 + len("for (int i = 0; i < n; i++)"))
    # on demand: the lens offers to verify, nothing ran
    assert await lens_title(client, uri, DOT_HEADER_LINE) == "not verified: verify on demand — click to verify"

    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=editor.position_of(uri, "for (int i = 1", 3)))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert "not vectorizable" in hover.contents.value
    assert hover.range is not None and hover.range.start.line == RECURRENCE_HEADER_LINE
    nothing = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 0)))
    assert nothing is None

    report = await run_command(client, "simdlens.showReport", uri)
    assert report["markdown"].startswith("# simdlens report: dot.c")
    assert "## Line 11" in report["markdown"] and "not vectorizable" in report["markdown"]
    assert [d.uri for d in client.shown_documents] == [report["uri"]]
    cleared = await run_command(client, "simdlens.clearCache")
    assert cleared["cleared"] >= 0 and "error" not in cleared


@pytest.mark.simdlens_settings({"verifyOn": "demand", "diagnostics": "all"})
async def test_configuration_change_is_applied(client: LanguageClient, tmp_path: Path) -> None:
    uri = client.editor.open(tmp_path / "dot.c", DOT_C)  # type: ignore[attr-defined]
    await wait_until(lambda: diagnostic_codes(client, uri), 10, "diagnostics")
    client.set_configuration({"simdlens": {"verifyOn": "demand", "diagnostics": "off", "isa": "neon"}})
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await wait_until(lambda: uri in client.diagnostics and not client.diagnostics[uri], 10, "diagnostics to go away")
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("simdlens.isa" in w and "neon" in w for w in warnings)
    # the same invalid value again: no second warning
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    client.set_configuration({"simdlens": {"verifyOn": "demand", "diagnostics": "all", "isa": "neon"}})
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await wait_until(lambda: client.diagnostics.get(uri), 10, "diagnostics to return")
    assert sum("neon" in m.message for m in client.messages) == 1


@pytest.mark.simdlens_settings(ON_DEMAND)
async def test_huge_binary_and_unknown_documents(client: LanguageClient, tmp_path: Path) -> None:
    editor = client.editor  # type: ignore[attr-defined]
    huge = "int x;\n" * 400_000  # 2.8 MB
    huge_uri = editor.open(tmp_path / "huge.c", huge)
    binary_uri = editor.open(tmp_path / "blob.c", "\x00\x01\x02ELF" * 100)
    latin1_uri = editor.open(tmp_path / "latin1.c", "int caf\udce9 = 1;\n")  # a Latin-1 byte the editor kept raw
    await wait_until(lambda: sum("skipped" in m.message for m in client.messages) >= 3, 20, "skip messages")
    skipped = [m.message for m in client.messages if "skipped" in m.message]
    assert any("huge.c" in m and "2 MB" in m for m in skipped)
    assert any("blob.c" in m and "binary" in m for m in skipped)
    assert any("latin1.c" in m and "not UTF-8" in m for m in skipped)
    for uri in (huge_uri, binary_uri, latin1_uri, (tmp_path / "never-opened.c").as_uri()):
        ident = types.TextDocumentIdentifier(uri=uri)
        assert await client.text_document_hover_async(types.HoverParams(text_document=ident, position=types.Position(0, 0))) is None
        assert not await client.text_document_code_lens_async(types.CodeLensParams(text_document=ident))
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=ident, range=types.Range(types.Position(0, 0), types.Position(0, 1)),
            context=types.CodeActionContext(diagnostics=[])))
        assert not actions
    assert not client.diagnostics.get(huge_uri)
    # the server is still alive and well
    uri = editor.open(tmp_path / "dot.c", DOT_C)
    await wait_until(lambda: diagnostic_codes(client, uri), 10, "diagnostics after bad input")


@pytest.mark.simdlens_settings({"compiler": "/nonexistent/bin/cc"})
async def test_missing_compiler(client: LanguageClient, tmp_path: Path) -> None:
    uri = client.editor.open(tmp_path / "dot.c", DOT_C)  # type: ignore[attr-defined]
    codes = await wait_until(lambda: diagnostic_codes(client, uri), 10, "diagnostics")
    assert codes[DOT_HEADER_LINE] == "SL101" and codes[RECURRENCE_HEADER_LINE] == "SL201"
    title = await lens_title(client, uri, DOT_HEADER_LINE)
    assert title.startswith("not verified: no C compiler found")


@pytest.mark.simdlens_settings({"trusted": False})
async def test_untrusted_workspace_compiles_nothing(client: LanguageClient, tmp_path: Path) -> None:
    uri = client.editor.open(tmp_path / "dot.c", DOT_C)  # type: ignore[attr-defined]
    await wait_until(lambda: diagnostic_codes(client, uri), 10, "diagnostics")
    assert await lens_title(client, uri, DOT_HEADER_LINE) == "not verified: workspace not trusted: nothing is compiled or run"
    answer = await run_command(client, "simdlens.verifyLoop", uri)
    assert answer["queued"] == 0 and "not trusted" in answer["reason"]
    assert client.progress_reports == {}  # no verification ever started



@pytest.mark.simdlens_settings(ON_DEMAND)
async def test_lenses_are_resolved_lazily_by_clients_that_can(client: LanguageClient, tmp_path: Path) -> None:
    """Neovim declares `codeLens.resolveSupport` for "command": its lenses come bare and are resolved
    one by one; VS Code's profile does not, so its lenses carry their commands at once."""
    uri = client.editor.open(tmp_path / "dot.c", DOT_C)  # type: ignore[attr-defined]
    await wait_until(lambda: diagnostic_codes(client, uri), 10, "diagnostics")
    raw = await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert raw and {lens.range.start.line for lens in raw} == {DOT_HEADER_LINE, RECURRENCE_HEADER_LINE}
    caps = client.capabilities
    support = caps.text_document.code_lens.resolve_support if caps and caps.text_document and \
        caps.text_document.code_lens else None
    if support is not None and "command" in support.properties:
        assert all(lens.command is None and isinstance(lens.data, dict) for lens in raw)
        resolved = await client.code_lens_resolve_async(raw[0])
        assert resolved.command is not None and resolved.command.title == \
            "not verified: verify on demand — click to verify"
        assert resolved.command.command == "simdlens.verifyLoop"
    else:
        assert all(lens.command is not None for lens in raw)


async def test_the_server_tells_the_editor_its_resolved_isa(client: LanguageClient) -> None:
    """The status item shows what `isa: auto` resolved to: in the initialize result and as `simdlens/status`."""
    from simdlens.config import Settings
    from simdlens.pipeline import target_isas

    expected = list(target_isas(Settings()))
    assert expected and "auto" not in expected
    experimental = client.initialize_result.capabilities.experimental  # type: ignore[attr-defined]
    assert experimental == {"simdlens": {"isa": expected}}
    statuses = await wait_until(lambda: client.statuses, 10, "a simdlens/status notification")  # type: ignore[attr-defined]
    assert list(getattr(statuses[-1], "isa", None) or statuses[-1]["isa"]) == expected
    chosen = "sse4" if expected == ["avx2"] else "avx2"  # another ISA than `auto` resolved to
    client.set_configuration({"simdlens": {"isa": chosen, "verifyOn": "demand"}})
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await wait_until(lambda: len(client.statuses) >= 2, 10, "a second simdlens/status")  # type: ignore[attr-defined]
    last = client.statuses[-1]  # type: ignore[attr-defined]
    assert list(getattr(last, "isa", None) or last["isa"]) == [chosen]
