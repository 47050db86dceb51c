"""`simdlens cache info|clear|path`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simdlens.cache.store import ResultStore
from simdlens.cli import main
from simdlens.config import Settings
from simdlens.core import Status, Verdict


def fill(cache: Path, n: int) -> None:
    with ResultStore.open(Settings(cache_dir=str(cache))) as store:
        for i in range(n):
            store.put_verdict(f"verdict:{i}", Verdict(Status.VERIFIED))
        for i in range(n + 1):  # n hits, 1 miss
            store.get_verdict(f"verdict:{i}")


def test_path_follows_option_environment_and_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("SIMDLENS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert main(["cache", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "xdg" / "simdlens")
    monkeypatch.setenv("SIMDLENS_CACHE_DIR", str(tmp_path / "env"))
    assert main(["cache", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "env")
    assert main(["cache", "path", "--cache-dir", str(tmp_path / "opt")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "opt")
    monkeypatch.delenv("SIMDLENS_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert main(["cache", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "home" / ".cache" / "simdlens")


def test_info_shows_size_entries_and_last_hit_rate(tmp_path: Path, capsys) -> None:
    cache = tmp_path / "c"
    fill(cache, 3)
    assert main(["cache", "info", "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out
    assert str(cache) in out
    assert "entries:     3" in out
    assert "hit rate 75% (3 of 4 lookups" in out
    assert main(["cache", "info", "--json", "--cache-dir", str(cache)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["entries"] == 3 and data["kind"] == "disk" and data["size_bytes"] > 0
    assert data["last_run"]["hit_rate"] == 0.75


def test_info_on_a_fresh_location_says_no_run_yet(tmp_path: Path, capsys) -> None:
    assert main(["cache", "info", "--cache-dir", str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    assert "entries:     0" in out and "no lookups recorded yet" in out


def test_clear_removes_every_entry(tmp_path: Path, capsys) -> None:
    cache = tmp_path / "c"
    fill(cache, 5)
    assert main(["cache", "clear", "--cache-dir", str(cache)]) == 0
    assert "removed 5 entries" in capsys.readouterr().out
    with ResultStore.open(Settings(cache_dir=str(cache))) as store:
        assert store.info().entries == 0 and store.get_verdict("verdict:0") is None


def test_unknown_action_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["cache", "compact"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_info_on_an_unusable_location_fails_with_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    assert main(["cache", "info", "--cache-dir", str(tmp_path / "file" / "c")]) == 1
    err = capsys.readouterr().err
    assert "not usable" in err
