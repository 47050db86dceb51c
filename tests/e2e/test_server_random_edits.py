"""A random editing session against the real server, as VS Code (UTF-16) and as Neovim (UTF-8): a few
hundred edits with line breaks of every kind (a lone "\\r" included) and multi-byte characters, hovers
in between; afterwards the document's diagnostics equal those of a fresh open of the same text, and
the server logged no error."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

EDITS = 300
START = """\
#include <stddef.h>

float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void scale(float *restrict y, const float *restrict x, float k, int n) {
    for (int i = 0; i < n; i++) y[i] = k * x[i];
}
"""
TAIL = "\nvoid tail(float *restrict y, const float *restrict x, int n) {\n    for (int i = 0; i < n; i++) y[i] += x[i];\n}\n"
DELETABLE = set(" xé😀中\r\n\t")  # deleting these never unbalances a brace: most loops survive the session
# Text typed in: whole loops (so that some survive), line breaks, multi-byte characters, bits of code.
PIECES = ["for (int i = 0; i < n; i++) y[i] += x[i];\n", "\r", "\r\n", "\n", "é", "😀", "中", "{}", ";", " ",
          "x", "()", "int t = 0;\r", "\t", "s += a[i];"]


class LspText:
    """The editor's copy of the text, with LSP's lines ("\\n", "\\r\\n" or a lone "\\r" end one)."""

    def __init__(self, text: str, encoding: str) -> None:
        self.text = text
        self.encoding = encoding

    def _units(self, s: str) -> int:
        if self.encoding == "utf-8":
            return len(s.encode())
        if self.encoding == "utf-16":
            return len(s.encode("utf-16-le")) // 2
        return len(s)

    def position(self, index: int) -> types.Position:
        line, start = 0, 0
        i = 0
        while i < index:
            c = self.text[i]
            if c in "\r\n":
                step = 2 if self.text[i : i + 2] == "\r\n" else 1
                if i + step > index:
                    break
                line += 1
                i += step
                start = i
            else:
                i += 1
        return types.Position(line, self._units(self.text[start:index]))

    def boundary(self, rng: random.Random) -> int:
        """A random index that is not between the halves of a "\\r\\n"."""
        index = rng.randint(0, len(self.text))
        if 0 < index < len(self.text) and self.text[index - 1 : index + 1] == "\r\n":
            index -= 1
        return index


async def _diagnostics_of(client: LanguageClient, uri: str, version: int) -> list[tuple[object, ...]]:
    while True:
        params = await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 120)
        if params.uri == uri and params.version == version:
            return sorted((d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character,
                           str(d.code), d.message, d.severity) for d in params.diagnostics)


@pytest.mark.simdlens_settings({"verifyOn": "demand", "diagnostics": "all"})
async def test_random_edits_end_with_the_diagnostics_of_a_fresh_open(client: LanguageClient, tmp_path: Path) -> None:
    encoding = str(client.editor.codec.encoding)  # type: ignore[attr-defined]
    encoding = str(getattr(client.editor.codec.encoding, "value", encoding))  # type: ignore[attr-defined]
    rng = random.Random(17)
    uri = (tmp_path / "edited.c").as_uri()
    text = LspText(START, encoding)
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="c", version=1, text=START)))
    version = 1
    for step in range(EDITS):
        changes: list[types.TextDocumentContentChangeEvent] = []
        for _ in range(rng.choice((1, 1, 2, 3))):  # each change applies to the text the previous one left
            a, b = sorted((text.boundary(rng), text.boundary(rng)))
            b = a + min(b - a, rng.randint(0, 3))
            if 0 < b < len(text.text) and text.text[b - 1 : b + 1] == "\r\n":
                b -= 1
            if not set(text.text[a:b]) <= DELETABLE:
                b = a
            new = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))
            rng_ = types.Range(text.position(a), text.position(b))
            text.text = text.text[:a] + new + text.text[b:]
            changes.append(types.TextDocumentContentChangePartial(range=rng_, text=new))
        version += 1
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version), changes))
        if step % 25 == 0:  # the server answers meanwhile, anywhere in the text
            where = text.position(text.boundary(rng))
            await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), where))
            await client.text_document_code_action_async(types.CodeActionParams(
                types.TextDocumentIdentifier(uri), types.Range(where, where), types.CodeActionContext(diagnostics=[])))
        if step % 40 == 39:
            await asyncio.sleep(0.4)  # let an analysis run: the incremental path, not only the last full one
    end = text.position(len(text.text))
    text.text += TAIL  # a loop the random text around cannot have broken
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=version + 1),
        [types.TextDocumentContentChangePartial(range=types.Range(end, end), text=TAIL)]))
    edited = await _diagnostics_of(client, uri, version + 1)

    fresh_uri = (tmp_path / "fresh.c").as_uri()
    waiting = asyncio.ensure_future(_diagnostics_of(client, fresh_uri, 1))
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=fresh_uri, language_id="c", version=1, text=text.text)))
    fresh = await waiting
    assert edited  # the loops that survived the edits are reported
    assert edited == fresh
    errors = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
    assert not errors
