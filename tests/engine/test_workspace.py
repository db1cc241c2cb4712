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


def test_caches_are_trimmed_oldest_first_and_the_unpacked_data_is_never_touched(workspace):
    import os

    from tl_core.workspace import touch_cache, trim_caches

    files = []
    for age, name in enumerate(["frozen/a.safetensors", "decoded/b.npy", "onnx/c.onnx", "frozen/d.safetensors"]):
        path = cache_dir(name.split("/")[0]) / name.split("/")[1]
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1e9 + age, 1e9 + age))
        files.append(path)
    unpacked = cache_dir("unzipped") / "abc" / "ants" / "1.jpg"
    unpacked.parent.mkdir(parents=True)
    unpacked.write_bytes(b"x" * 10_000)
    touch_cache(files[0])  # used just now: it stays
    assert trim_caches(limit_bytes=2500) == files[1:3]
    assert [f.exists() for f in files] == [True, False, False, True] and unpacked.exists()
    assert trim_caches(limit_bytes=2500) == []
