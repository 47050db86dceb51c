"""`simdlens scan` end to end on the real pipeline: analysis, rules, sandbox and the cache on disk.

Expensive work (compiling and testing candidates) happens once, in the module's `first_scan`; later
tests copy its cache directory and assert what a second run costs. `--no-bench` everywhere: timing is
not the point here.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scan_schema import check_sarif, check_scan_json

from simdlens import pipeline
from simdlens.cache.keys import HostIdentity
from simdlens.cli import main
from simdlens.sandbox.cpu import host_cpu

KERNELS = """\
#include <stdint.h>

void scale(float *restrict dst, const float *restrict src, float k, int n) {
    for (int i = 0; i < n; i++)
        dst[i] = src[i] * k;
}

void add_i32(int32_t *restrict d, const int32_t *restrict s, int n) {
    for (int i = 0; i < n; i++)
        d[i] += s[i];
}

void damped_chain(float *a, int n) {
    for (int i = 1; i < n; i++)
        a[i] = a[i] / (1.0f + a[i - 1] * a[i - 1]);
}
"""


def write_tree(root: Path, text: str = KERNELS) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "kernels.c").write_text(text)
    (root / "README.txt").write_text("not C\n")
    return root


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


def scan(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    code = main(["scan", *args])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def scan_process(*args: str) -> Run:
    """`simdlens scan` as a user runs it: its own process, real stderr."""
    done = subprocess.run([sys.executable, "-m", "simdlens", "scan", *args], capture_output=True, text=True,
                          timeout=300, check=False)
    return Run(done.returncode, done.stdout, done.stderr)


def loops_by_line(doc: Any) -> dict[tuple[str, int], dict[str, Any]]:
    return {(Path(f["path"]).name, loop["range"]["start"]["line"]): loop for f in doc["files"] for loop in f["loops"]}


@pytest.fixture(scope="module")
def first_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Any]:
    """One cold scan of the tree: (tree, cache dir, JSON)."""
    root = write_tree(tmp_path_factory.mktemp("tree"))
    cache = tmp_path_factory.mktemp("cache") / "c"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["scan", "--json", "--no-bench", "--cache-dir", str(cache), str(root / "src")])
    assert code == 0
    return root, cache, json.loads(out.getvalue())


def warm_cache(first_scan: tuple[Path, Path, Any], tmp_path: Path) -> Path:
    copy = tmp_path / "cache"
    shutil.copytree(first_scan[1], copy)
    return copy


def test_first_scan_verifies_rewrites_and_judges_every_loop(first_scan) -> None:
    _, _, doc = first_scan
    assert check_scan_json(doc) == []
    loops = loops_by_line(doc)
    assert loops[("kernels.c", 3)]["verdict"] == "vectorizable"
    assert loops[("kernels.c", 13)]["verdict"] == "not_vectorizable"
    assert loops[("kernels.c", 13)]["code"] == "SL201"
    assert doc["counters"]["compiles"] > 0
    verified = [c for loop in loops.values() for c in loop["candidates"] if c["status"] == "verified"]
    assert verified, "the rule engine verified nothing on a scale loop"
    assert all(c["edits"] and c["speedup"] is None for c in verified)  # --no-bench: nothing quoted


def test_second_scan_of_unchanged_tree_compiles_nothing(first_scan, tmp_path, capsys) -> None:
    root, _, doc = first_scan
    cache = warm_cache(first_scan, tmp_path)
    again = scan(capsys, "--json", "--no-bench", "--cache-dir", str(cache), str(root / "src"))
    assert again.code == 0, again.err
    second = again.json
    assert second["counters"]["compiles"] == 0 and second["counters"]["model_calls"] == 0
    assert second["cache"]["misses"] == 0 and second["cache"]["hits"] > 0

    def statuses(d: Any) -> list[tuple[str, str, str]]:
        return [(loop["id"], c["isa"], c["status"]) for f in d["files"] for loop in f["loops"] for c in loop["candidates"]]

    assert statuses(second) == statuses(doc)
    assert all(c["cached"] for f in second["files"] for loop in f["loops"] for c in loop["candidates"])


def test_editing_one_loop_reverifies_only_that_loop(first_scan, tmp_path, capsys) -> None:
    cache = warm_cache(first_scan, tmp_path)
    edited = write_tree(tmp_path / "tree", KERNELS.replace("d[i] += s[i];", "d[i] -= s[i];"))
    run = scan(capsys, "--json", "--no-bench", "--cache-dir", str(cache), str(edited / "src"))
    assert run.code == 0, run.err
    loops = loops_by_line(run.json)
    changed = loops[("kernels.c", 8)]["candidates"]
    assert changed and not any(c["cached"] for c in changed)
    assert run.json["counters"]["compiles"] == len(changed)
    assert all(c["cached"] for c in loops[("kernels.c", 3)]["candidates"])


def test_the_same_loop_moved_to_another_file_and_line_hits_the_cache(first_scan, tmp_path, capsys) -> None:
    cache = warm_cache(first_scan, tmp_path)
    moved = tmp_path / "moved"
    moved.mkdir()
    scale = KERNELS[KERNELS.index("void scale"):KERNELS.index("void add_i32")]
    (moved / "other.c").write_text("#include <stdint.h>\n\n/* moved here */\nstatic int unused;\n\n" + scale)
    run = scan(capsys, "--json", "--no-bench", "--cache-dir", str(cache), str(moved))
    assert run.code == 0, run.err
    (loop,) = run.json["files"][0]["loops"]
    assert loop["range"]["start"]["line"] == 6
    assert loop["candidates"] and all(c["cached"] for c in loop["candidates"])
    assert run.json["counters"]["compiles"] == 0
    # The edits point at where the loop is now.
    verified = [c for c in loop["candidates"] if c["status"] == "verified"]
    assert verified and any(e["range"]["start"]["line"] >= 6 for e in verified[0]["edits"])


@pytest.mark.skipif(shutil.which("clang-19") is None, reason="needs a second compiler (clang-19)")
def test_results_from_another_compiler_are_not_reused(first_scan, tmp_path, capsys) -> None:
    root = first_scan[0]
    cache = warm_cache(first_scan, tmp_path)
    run = scan(capsys, "--json", "--no-bench", "--isa", "avx2", "--compiler", "clang-19", "--cache-dir", str(cache), str(root / "src"))
    assert run.code == 0, run.err
    assert "clang" in run.json["toolchain"]["version"]
    candidates = [c for f in run.json["files"] for loop in f["loops"] for c in loop["candidates"]]
    assert candidates and not any(c["cached"] for c in candidates)
    assert run.json["counters"]["compiles"] == len(candidates)


def test_table_shows_location_verdict_and_reason(first_scan, tmp_path, capsys) -> None:
    root, _, _ = first_scan
    cache = warm_cache(first_scan, tmp_path)
    run = scan(capsys, "--no-bench", "--cache-dir", str(cache), str(root / "src"))
    assert run.code == 0, run.err
    assert "kernels.c:4" in run.out and "kernels.c:14" in run.out
    assert "not vectorizable" in run.out
    assert "verified" in run.out
    assert "3 loop(s)" in run.out


def test_sarif_is_valid_and_reports_loops_with_verified_rewrites(first_scan, tmp_path, capsys) -> None:
    root, _, _ = first_scan
    cache = warm_cache(first_scan, tmp_path)
    out = tmp_path / "scan.sarif"
    run = scan(capsys, "--no-bench", "--sarif", str(out), "--cache-dir", str(cache), str(root / "src"))
    assert run.code == 0, run.err
    sarif = json.loads(out.read_text())
    assert check_sarif(sarif) == []
    results = sarif["runs"][0]["results"]
    assert results and all(r["ruleId"] in ("SL102", "SL103") for r in results)
    lines = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results}
    assert 4 in lines and 14 not in lines  # 1-based; the recurrence has no rewrite
    assert all("verified" in r["message"]["text"].lower() for r in results)


def test_no_verify_compiles_nothing_and_offers_no_edits(tmp_path, capsys) -> None:
    root = write_tree(tmp_path / "t")
    run = scan(capsys, "--json", "--no-verify", "--cache-dir", str(tmp_path / "c"), str(root))
    assert run.code == 0, run.err
    doc = run.json
    assert check_scan_json(doc) == []
    assert doc["counters"]["compiles"] == 0 and doc["verified"] is False
    cands = [c for f in doc["files"] for loop in f["loops"] for c in loop["candidates"]]
    assert cands and all(c["status"] == "unverified" and c["edits"] == [] for c in cands)


def test_positions_are_utf16_and_zero_based(tmp_path, capsys) -> None:
    src = tmp_path / "u.c"
    src.write_text("void f(float *restrict a, int n) {\n    /* 😀 é */ for (int i = 0; i < n; i++) a[i] = 0;\n}\n",
                   encoding="utf-8")
    run = scan(capsys, "--json", "--no-verify", "--no-cache", str(src))
    assert run.code == 0, run.err
    (loop,) = run.json["files"][0]["loops"]
    # "    /* " = 7 units, the emoji 2 UTF-16 units, " é */ " = 6 units.
    assert loop["range"]["start"] == {"line": 1, "character": 15}


def test_binary_huge_and_non_utf8_files_are_skipped_with_one_line_each(tmp_path, capsys) -> None:
    tree = tmp_path / "t"
    write_tree(tree)
    (tree / "src" / "blob.c").write_bytes(b"\x7fELF\x00\x00\x01" * 100)
    (tree / "src" / "latin1.c").write_bytes(b"/* caf\xe9 */\nint x;\n")
    (tree / "src" / "huge.c").write_bytes(b"int x;\n" * 400_000)
    run = scan(capsys, "--no-verify", "--no-cache", str(tree))
    assert run.code == 0
    lines = run.err.strip().splitlines()
    assert len(lines) == 3, run.err
    assert any("blob.c" in ln and "binary" in ln for ln in lines)
    assert any("latin1.c" in ln and "UTF-8" in ln for ln in lines)
    assert any("huge.c" in ln and "MB" in ln for ln in lines)
    assert "kernels.c:4" in run.out  # the good file is still scanned


def test_exit_codes(tmp_path, capsys, monkeypatch) -> None:
    assert scan(capsys, str(tmp_path / "missing.c")).code == 2
    with pytest.raises(SystemExit) as exc:
        main(["scan"])
    assert exc.value.code == 2
    capsys.readouterr()
    (tmp_path / "a.c").write_text("int f(void) { return 0; }\n")
    assert scan(capsys, "--no-verify", "--no-cache", str(tmp_path / "a.c")).code == 0

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the pipeline broke")

    monkeypatch.setattr(pipeline, "scan", broken)
    run = scan(capsys, "--no-verify", "--no-cache", str(tmp_path / "a.c"))
    assert run.code == 1
    assert run.err.strip().splitlines() == [run.err.strip()] and "internal error" in run.err


def test_a_corrupted_cache_is_moved_aside_and_the_scan_succeeds(tmp_path) -> None:
    root = write_tree(tmp_path / "t")
    cache = tmp_path / "c"
    cache.mkdir()
    (cache / "cache.db").write_bytes(b"this is not sqlite" * 50)
    (cache / "00").mkdir()
    (cache / "00" / "junk.val").write_bytes(b"\x00\xff" * 10)
    run = scan_process("--no-verify", "--cache-dir", str(cache), str(root))
    assert run.code == 0, run.err
    assert len(run.err.strip().splitlines()) == 1 and "moved it aside" in run.err
    assert len(list(tmp_path.glob("c.corrupt-*"))) == 1 and cache.is_dir()
    assert "kernels.c:4" in run.out


def test_an_unwritable_cache_location_falls_back_to_memory(tmp_path) -> None:
    root = write_tree(tmp_path / "t")
    (tmp_path / "file").write_text("x")
    run = scan_process("--no-verify", "--cache-dir", str(tmp_path / "file" / "c"), str(root))
    assert run.code == 0, run.err
    assert len(run.err.strip().splitlines()) == 1 and "in-memory" in run.err
    assert "kernels.c:4" in run.out


def test_server_and_cli_scans_share_the_cache_at_once(tmp_path) -> None:
    """Two processes scanning at once (a CLI scan next to the language server's verification)."""
    root = write_tree(tmp_path / "t", KERNELS[:KERNELS.index("void add_i32")])
    cache = tmp_path / "c"
    cmd = [sys.executable, "-m", "simdlens", "scan", "--json", "--no-bench", "--isa", "avx2", "--cache-dir", str(cache),
           str(root)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    docs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "WARNING" not in err
        docs.append(json.loads(out))
    key = [[(c["isa"], c["status"]) for f in d["files"] for loop in f["loops"] for c in loop["candidates"]] for d in docs]
    assert key[0] == key[1]
    third = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert third.returncode == 0
    # Everything is reused except verdicts that blame the moment, not the code (a timeout on a loaded machine).
    transient = sum(1 for _, status in key[0] if status == "timeout")
    assert json.loads(third.stdout)["counters"]["compiles"] <= transient


def test_quick_benchmark_quotes_measured_speedups_and_reuses_them_on_this_cpu_only(tmp_path, capsys,
                                                                                    monkeypatch) -> None:
    src = tmp_path / "scale.c"
    src.write_text(KERNELS[:KERNELS.index("void add_i32")])
    cache = tmp_path / "c"
    isa = "avx512" if host_cpu().runs("avx512") else "avx2"  # verified means it ran: the ISA this CPU has
    run = scan(capsys, "--json", "--quick", "--isa", isa, "--cache-dir", str(cache), str(src))
    assert run.code == 0, run.err
    doc = run.json
    assert check_scan_json(doc) == []
    (loop,) = doc["files"][0]["loops"]
    verified = [c for c in loop["candidates"] if c["status"] == "verified"]
    assert verified
    for c in verified:
        sp = c["speedup"]
        assert sp["n"] == 4096 and sp["vs_scalar"] > 0 and sp["vs_user_flags"] > 0 and sp["vs_native_autovec"] > 0
        assert c["measurement"]["cpu"] == doc["host"]["cpu"]
        assert [s["label"] for s in c["measurement"]["sizes"]] == ["L1"]
    assert loop["code"] in ("SL102", "SL103")
    again = scan(capsys, "--json", "--quick", "--isa", isa, "--cache-dir", str(cache), str(src))
    assert again.json["counters"]["compiles"] == 0
    (loop2,) = again.json["files"][0]["loops"]
    assert [c["speedup"] for c in loop2["candidates"]] == [c["speedup"] for c in loop["candidates"]]
    # The same cache on a machine with another CPU model (same ISA extensions): verdicts would hold,
    # but the speedups were measured elsewhere, so every candidate is benchmarked again.
    real = pipeline.host_identity()
    monkeypatch.setattr(pipeline, "host_identity", lambda: HostIdentity("Another CPU model", real.isa))
    other = scan(capsys, "--json", "--quick", "--isa", isa, "--cache-dir", str(cache), str(src))
    (loop3,) = other.json["files"][0]["loops"]
    assert other.json["counters"]["compiles"] == len(loop3["candidates"]) > 0
    assert not any(c["cached"] for c in loop3["candidates"])


def test_an_untrusted_workspace_compiles_and_runs_nothing(tmp_path) -> None:
    from simdlens.config import Settings

    root = write_tree(tmp_path / "t")
    calls: list[tuple[int, int]] = []
    result = pipeline.scan([str(root)], Settings(trusted=False, cache_dir=str(tmp_path / "c")),
                           lambda done, total, what: calls.append((done, total)))
    assert result.counters.compiles == 0 and result.counters.sandbox_calls == 0 and not result.verified
    assert any("not trusted" in n for n in result.notes)
    (f,) = result.files
    assert f.unverified and all(not lr.results for lr in f.loops)
    assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1] == len(f.unverified)  # progress reaches its total


def test_the_table_reports_a_files_own_errors_on_stderr(tmp_path, capsys, monkeypatch) -> None:
    """The JSON lists a file's errors; the table run must not hide them (the loops it could read still show)."""
    from simdlens.analysis.context import FileContext

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("declarations unreadable")

    monkeypatch.setattr(FileContext, "build", broken)
    src = tmp_path / "f.c"
    src.write_text("void f(float *restrict a, int n) { for (int i = 0; i < n; i++) a[i] *= 2.0f; }\n")
    run = scan(capsys, "--no-verify", "--no-cache", str(src))
    assert run.code == 0
    assert f"simdlens: {src}: cannot read declarations: declarations unreadable" in run.err
