"""The workspace: TRANSFERLAB_HOME moves it, and files are replaced whole or not at all."""
from __future__ import annotations

import pytest

from tl_core import workspace
from tl_core.workspace import cache_dir, digest, home, read_json, write_atomic, write_json


def test_transferlab_home_moves_everything(workspace):
    assert home() == workspace and cache_dir("decoded") == workspace / "cache" / "decoded"
    assert (workspace / "cache" / "decoded").is_dir()


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "status.json"
    write_json(path, {"state": "running"})

    def broken(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(workspace.os, "fsync", broken)
    with pytest.raises(OSError):
        write_atomic(path, "{}")
    assert read_json(path) == {"state": "running"}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_read_json_gives_the_default_for_a_missing_or_partial_file(tmp_path):
    (tmp_path / "partial.json").write_text('{"state": "runn')
    assert read_json(tmp_path / "partial.json", {}) == {}
    assert read_json(tmp_path / "missing.json") is None


def test_digest_is_stable_and_tells_inputs_apart():
    assert digest("a", [1, 2], {"k": 1}) == digest("a", [1, 2], {"k": 1})
    assert digest("a", [1, 2]) != digest("a", [2, 1])
    assert len(digest("x")) == 20
