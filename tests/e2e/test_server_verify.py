"""End to end with the real sandbox: verified code actions, applyAndBenchmark, cancellation by an edit.

Benchmarks run in quick mode (one size, three processes); the session-wide cache lets the second
client read what the first one measured, except where a test needs a run of its own.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import (
    DOT_C,
    DOT_HEADER_LINE,
    RECURRENCE_HEADER_LINE,
    lens_title,
    lenses,
    run_command,
    wait_until,
)
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")]

VERIFY_TIMEOUT = 120.0
APPLY = re.compile(r"^(AVX2|AVX-512) \d+\.\dx.* vs your (-O\w+ )?build — apply$")

DRIVER_C = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
float dot(const float *a, const float *b, int n);
float dot_ref(const float *a, const float *b, int n);
int main(void) {
    static const int sizes[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1000, 4097};
    srand(1);
    for (unsigned k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        int n = sizes[k];
        float *a = malloc(sizeof(float) * (n + 1)), *b = malloc(sizeof(float) * (n + 1));
        double magnitude = 0;
        for (int i = 0; i < n; i++) {
            a[i] = (float)rand() / RAND_MAX * 2 - 1;
            b[i] = (float)rand() / RAND_MAX * 2 - 1;
            magnitude += fabs((double)a[i] * b[i]);
        }
        float got = dot(a, b, n), expected = dot_ref(a, b, n);
        if (fabs((double)got - expected) > 1e-5 * magnitude + 1e-6) {
            printf("mismatch n=%d got=%g expected=%g\n", n, got, expected);
            return 1;
        }
        free(a);
        free(b);
    }
    puts("ok");
    return 0;
}
"""


async def _verified_lens(client: LanguageClient, uri: str) -> types.CodeLens:
    async def ready() -> types.CodeLens | None:
        lens = (await lenses(client, uri)).get(DOT_HEADER_LINE)
        title = lens.command.title if lens and lens.command else ""
        if "verifying" in title or "queued" in title or not title:
            return None
        return lens

    lens = None
    deadline = asyncio.get_running_loop().time() + VERIFY_TIMEOUT
    while lens is None and asyncio.get_running_loop().time() < deadline:
        lens = await ready()
        if lens is None:
            await asyncio.sleep(0.25)
    assert lens is not None and lens.command is not None, "verification did not finish"
    assert APPLY.match(lens.command.title), lens.command.title
    return lens


def _compile_and_compare(original: str, edited: str, work: Path) -> str:
    (work / "original.c").write_text(original)
    (work / "edited.c").write_text(edited)
    (work / "driver.c").write_text(DRIVER_C)
    steps = [
        ["gcc", "-O2", "-c", "original.c", "-Ddot=dot_ref", "-Ddamped_chain=damped_chain_ref", "-o", "ref.o"],
        ["gcc", "-O2", "-march=native", "-c", "edited.c", "-o", "edited.o"],
        ["gcc", "-O2", "driver.c", "ref.o", "edited.o", "-lm", "-o", "check"],
        ["./check"],
    ]
    for step in steps:
        done = subprocess.run(step, cwd=work, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"{' '.join(step)}:\n{done.stdout}{done.stderr}"
    return done.stdout.strip()


async def test_code_action_edit_compiles_and_matches_the_original(client: LanguageClient, tmp_path: Path) -> None:
    editor = client.editor  # type: ignore[attr-defined]
    uri = editor.open(tmp_path / "dot.c", DOT_C)
    await _verified_lens(client, uri)
    # Lines typed above the loops: nothing is analysed or verified again; the verified rewrite moves down.
    top = types.Position(1, 0)
    editor.change(uri, [types.TextEdit(range=types.Range(top, top), new_text="/* two\n   lines */\n")])
    await wait_until(lambda: {d.range.start.line for d in client.diagnostics.get(uri, [])}
                     == {DOT_HEADER_LINE + 2, RECURRENCE_HEADER_LINE + 2}, 20, "the diagnostics to move down")
    assert any(m.message.startswith("analysed dot.c v2: 2 loops (0 judged, 2 moved)") for m in client.log_messages)
    moved = (await lenses(client, uri)).get(DOT_HEADER_LINE + 2)
    assert moved is not None and moved.command is not None and APPLY.match(moved.command.title), moved
    original = editor.text(uri)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(editor.position_of(uri, "for (int i = 0", 2), editor.position_of(uri, "for (int i = 0", 2)),
        context=types.CodeActionContext(diagnostics=[])))
    assert actions, "no code action for a verified loop"
    best = actions[0]
    assert isinstance(best, types.CodeAction)
    assert best.kind == "refactor.rewrite.simdlens" and best.is_preferred and best.command is None
    assert re.match(r"^Vectorize with (AVX2|AVX-512) — verified, \d+(\.\d+)?x at \d+[KM]?\b", best.title), best.title
    assert "reassociat" in best.title  # a float sum: the title says the result may differ in rounding
    if best.edit is None:
        best = await client.code_action_resolve_async(best)
    assert best.edit is not None
    assert editor.apply_workspace_edit(best.edit)
    edited = editor.text(uri)
    assert edited != original and "immintrin.h" in edited
    assert _compile_and_compare(original, edited, tmp_path) == "ok"
    # the rewritten loop (vector, tail and the original kept under #else) is not offered again
    await wait_until(lambda: not [d for d in client.diagnostics.get(uri, []) if str(d.code) in ("SL101", "SL102")],
                     20, "the rewritten loop to stop being offered")
    assert [d for d in client.diagnostics[uri] if str(d.code) == "SL201"]  # damped_chain is still there
    assert not [lens for lens in (await lenses(client, uri)).values() if lens.command and "apply" in lens.command.title]


async def test_apply_and_benchmark(client: LanguageClient, tmp_path: Path) -> None:
    editor = client.editor  # type: ignore[attr-defined]
    uri = editor.open(tmp_path / "dot.c", DOT_C)
    lens = await _verified_lens(client, uri)
    assert lens.command is not None and lens.command.command == "simdlens.applyAndBenchmark"
    answer = await run_command(client, lens.command.command, *(lens.command.arguments or []))
    assert answer["applied"] is True, answer
    assert answer["verified"] is True, answer
    assert answer["speedup"] > 0
    assert "immintrin.h" in editor.text(uri)
    assert any(m.message.startswith("simdlens: applied AVX") for m in client.messages)
    titles = [lens.command.title for lens in (await lenses(client, uri)).values() if lens.command]
    assert any(re.match(r"^applied (AVX2|AVX-512): verified, \d+\.\dx", t) for t in titles), titles
    assert _compile_and_compare(DOT_C, editor.text(uri), tmp_path) == "ok"


@pytest.mark.simdlens_settings({"bench": {"quick": False, "processes": 5, "sizes": [4096, 65536, 1048576]}})
async def test_editing_a_loop_cancels_its_verification(client: LanguageClient, tmp_path: Path) -> None:
    editor = client.editor  # type: ignore[attr-defined]
    # a loop nobody has verified yet (a fresh kernel: not in the session cache)
    source = DOT_C.replace("s += a[i] * b[i];", "s += a[i] * b[i] + 0.5f;")
    uri = editor.open(tmp_path / "cancel.c", source)
    await wait_until(lambda: client.progress_reports, 30, "verification to start")
    assert (await lens_title(client, uri, DOT_HEADER_LINE)).startswith("verifying")
    reports = next(iter(client.progress_reports.values()))
    assert isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].cancellable
    start = editor.position_of(uri, "0.5f")
    end = types.Position(start.line, start.character + len("0.5f"))
    editor.change(uri, [types.TextEdit(range=types.Range(start, end), new_text="0.25f")])
    await wait_until(lambda: any("cancelling verification" in m.message for m in client.log_messages), 20,
                     "the running verification to be cancelled")
    # the edited loop is verified afresh once typing pauses (a new progress bar) ...
    await wait_until(lambda: len(client.progress_reports) >= 2, 30, "the edited loop's verification to start")
    token = list(client.progress_reports)[-1]
    # ... and the user cancels it from the progress bar
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))

    async def lens_now() -> str:
        return await lens_title(client, uri, DOT_HEADER_LINE)

    deadline = asyncio.get_running_loop().time() + 20
    while (title := await lens_now()) != "not verified: verification cancelled":
        assert asyncio.get_running_loop().time() < deadline, f"lens still says {title!r}"
        await asyncio.sleep(0.1)
    ended = client.progress_reports[token][-1]
    assert isinstance(ended, types.WorkDoneProgressEnd)
