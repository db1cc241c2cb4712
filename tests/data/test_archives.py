"""Zips: both common layouts, and every way a zip can try to escape, explode or confuse."""

from __future__ import annotations

import io
import stat
import uuid
import zipfile
from pathlib import Path

import pytest

from tl_core.data import DataError, load_image_zip
from tl_core.data import archives

from datakit import encode

JPEG = encode("JPEG")


def make_zip(members: dict[str, bytes]) -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return stream.getvalue()


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir())


@pytest.fixture
def ant_pictures(hymenoptera) -> dict[str, bytes]:
    """Two real photos per class."""
    files = {}
    for label in ("ants", "bees"):
        for path in sorted((hymenoptera / "train" / label).glob("*.jpg"))[:2]:
            files[f"{label}/{path.name}"] = path.read_bytes()
    return files


def test_classes_at_the_zip_root(tmp_path, ant_pictures):
    path = tmp_path / "pics.zip"
    path.write_bytes(make_zip(ant_pictures))
    dataset = load_image_zip(path, tmp_path / "out")
    assert dataset.classes == ["ants", "bees"] and len(dataset.examples) == 4
    assert sorted(e.name for e in dataset.examples) == sorted(ant_pictures)
    assert all(e.path.read_bytes() == ant_pictures[e.name] for e in dataset.examples)


def test_classes_under_one_top_folder(tmp_path, ant_pictures):
    dataset = load_image_zip(make_zip({f"insects/{k}": v for k, v in ant_pictures.items()}), tmp_path / "out")
    assert dataset.classes == ["ants", "bees"] and dataset.examples[0].name.startswith("insects/ants/")


def test_train_and_val_in_a_zip(tmp_path, ant_pictures):
    members = {f"{'train' if i % 2 else 'val'}/{k}": v for i, (k, v) in enumerate(ant_pictures.items())}
    dataset = load_image_zip(make_zip(members), tmp_path / "out")
    assert sorted(e.split for e in dataset.examples) == ["train", "train", "val", "val"]


def test_zip_slip_writes_nothing_outside(tmp_path):
    outside = f"evil-{uuid.uuid4().hex}.jpg"
    members = {
        "ants/a.jpg": JPEG, "bees/b.jpg": JPEG,
        f"../{outside}": JPEG,
        f"ants/../../{outside}": JPEG,
        f"/tmp/{outside}": JPEG,
        f"..\\{outside}": JPEG,
    }
    target = tmp_path / "box" / "out"
    dataset = load_image_zip(make_zip(members), target)
    assert files_under(tmp_path) == ["box/out/ants/a.jpg", "box/out/bees/b.jpg"]
    assert not Path("/tmp", outside).exists()
    unsafe = [s for s in dataset.skipped if s.reason.startswith("unsafe path")]
    assert len(unsafe) == 4


def test_symlink_members_are_not_created(tmp_path):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("ants/a.jpg", JPEG)
        archive.writestr("bees/b.jpg", JPEG)
        link = zipfile.ZipInfo("bees/passwords.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    dataset = load_image_zip(stream.getvalue(), tmp_path / "out")
    assert not (tmp_path / "out" / "bees" / "passwords.jpg").exists()
    assert [(s.name, s.reason) for s in dataset.skipped] == [
        ("bees/passwords.jpg", "a symbolic link (links are not followed)")]


def test_declared_size_limit_stops_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_ZIP_BYTES", 10_000)
    members = {"ants/a.bmp": b"\x00" * 6000, "bees/b.bmp": b"\x00" * 6000}  # 12 kB unpacked, tiny zipped
    with pytest.raises(DataError, match="unpacks to more than"):
        load_image_zip(make_zip(members), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_written_bytes_are_counted_even_if_the_directory_lies(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "_check_declared_size", lambda members: None)  # as if sizes were forged
    monkeypatch.setattr(archives, "MAX_ZIP_BYTES", 10_000)
    members = {"ants/a.bmp": b"\x00" * 6000, "bees/b.bmp": b"\x00" * 6000}
    with pytest.raises(DataError, match="unpacks to more than"):
        load_image_zip(make_zip(members), tmp_path / "out")
    assert files_under(tmp_path / "out") == []


def test_file_count_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_ZIP_FILES", 3)
    members = {f"ants/{i}.jpg": JPEG for i in range(5)}
    with pytest.raises(DataError, match="holds 5 files; the limit is 3"):
        load_image_zip(make_zip(members), tmp_path / "out")


def test_nested_zip_is_skipped_with_a_note(tmp_path):
    inner = make_zip({"x/y.jpg": JPEG})
    dataset = load_image_zip(make_zip({"ants/a.jpg": JPEG, "bees/b.jpg": JPEG, "bees/more.zip": inner}),
                             tmp_path / "out")
    assert len(dataset.examples) == 2
    assert [s.name for s in dataset.skipped] == ["bees/more.zip"]
    assert dataset.notes == ["The zip contains 1 other zip file (bees/more.zip); unzip it and add the pictures directly."]


def test_mac_and_windows_leftovers_are_ignored(tmp_path):
    members = {"ants/a.jpg": JPEG, "bees/b.jpg": JPEG, "__MACOSX/ants/._a.jpg": b"\x00\x05", ".DS_Store": b"\x00",
               "bees/.DS_Store": b"\x00", "bees/Thumbs.db": b"\xd0", "ants/desktop.ini": b"[x]"}
    dataset = load_image_zip(make_zip(members), tmp_path / "out")
    assert dataset.skipped == [] and len(dataset.examples) == 2
    assert files_under(tmp_path / "out") == ["ants/a.jpg", "bees/b.jpg"]


@pytest.mark.parametrize("members", [{}, {"__MACOSX/._x": b"\x00", "empty folder/": b""}])
def test_empty_zip(members, tmp_path):
    with pytest.raises(DataError, match="^The zip file is empty"):
        load_image_zip(make_zip(members), tmp_path / "out")


def test_damaged_zip(tmp_path):
    data = make_zip({"ants/a.jpg": JPEG})
    with pytest.raises(DataError, match="not a readable zip"):
        load_image_zip(data[: len(data) // 2], tmp_path / "out")
    with pytest.raises(DataError, match="was not found"):
        load_image_zip(tmp_path / "missing.zip", tmp_path / "out")


def test_a_corrupted_member_is_skipped_not_fatal(tmp_path):
    data = bytearray(make_zip({"ants/a.jpg": JPEG, "bees/b.jpg": JPEG, "bees/c.jpg": JPEG}))
    data[data.index(JPEG[:50]) + 40] ^= 0xFF  # flip a byte inside the first stored member: its CRC fails
    dataset = load_image_zip(bytes(data), tmp_path / "out")
    assert [(s.name, s.reason) for s in dataset.skipped] == [
        ("ants/a.jpg", "could not be unpacked (damaged in the zip, or an unusable name)")]


def test_nothing_usable_in_the_zip(tmp_path):
    with pytest.raises(DataError, match=r"No usable pictures were found in the zip \(1 file skipped"):
        load_image_zip(make_zip({"../x.jpg": JPEG}), tmp_path / "out")
