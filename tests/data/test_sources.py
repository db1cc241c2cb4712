"""load_dataset() picks the right reader, and the package imports without torch."""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import zipfile

import pytest

from tl_core.data import DataError, load_dataset

from datakit import REPO, encode


def test_folder_zip_and_table_are_dispatched(tmp_path, hymenoptera, yelp, workspace):
    assert load_dataset(str(hymenoptera)).kind == "image"
    assert len(load_dataset(yelp).examples) == 1000
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("a/1.jpg", encode("JPEG"))
        archive.writestr("b/2.jpg", encode("JPEG"))
    (tmp_path / "pics.ZIP").write_bytes(stream.getvalue())
    assert load_dataset(tmp_path / "pics.ZIP").classes == ["a", "b"]
    (tmp_path / "t.csv").write_text("text,label\nhi,a\nyo,b\n")
    assert load_dataset(tmp_path / "t.csv", text_column="text", label_column=1).classes == ["a", "b"]


def test_what_cannot_be_read(tmp_path, hymenoptera):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp_path / "nothing")
    (tmp_path / "paper.pdf").write_bytes(b"%PDF")
    with pytest.raises(DataError, match="'paper.pdf' is not a dataset TransferLab can read"):
        load_dataset(tmp_path / "paper.pdf")
    with pytest.raises(DataError, match="apply only to tables"):
        load_dataset(hymenoptera, text_column="text")


def test_importing_the_package_does_not_import_torch():
    script = "import sys, tl_core.data; print('torch' in sys.modules, 'timm' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.split() == ["False", "False"]


def _zip_file(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_zip_is_unpacked_once_into_the_workspace_and_no_temporary_folder_is_left(tmp_path, workspace,
                                                                                     monkeypatch):
    temp = tmp_path / "system-temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    source = _zip_file(tmp_path / "pics.zip", {"a/1.jpg": encode("JPEG"), "b/2.jpg": encode("JPEG")})
    first = load_dataset(source)
    unzipped = workspace / "cache" / "unzipped"
    (folder,) = [p for p in unzipped.iterdir()]  # one finished folder, no staging copy beside it
    assert (folder / ".unpacked").exists()
    assert all(e.path.is_file() and e.path.is_relative_to(folder) for e in first.examples)
    assert not any(temp.iterdir())
    again = load_dataset(source)
    assert [(e.label, e.path) for e in again.examples] == [(e.label, e.path) for e in first.examples]
    assert [p for p in unzipped.iterdir()] == [folder]


def test_a_half_unpacked_zip_is_unpacked_again(tmp_path, workspace):
    source = _zip_file(tmp_path / "pics.zip", {"a/1.jpg": encode("JPEG"), "b/2.jpg": encode("JPEG")})
    (folder,) = [e.path.parents[1] for e in load_dataset(source).examples[:1]]
    (folder / ".unpacked").unlink()
    (folder / "b" / "2.jpg").unlink()  # as a crash before the marker would leave it
    assert load_dataset(source).classes == ["a", "b"]
    assert not load_dataset(source).skipped
