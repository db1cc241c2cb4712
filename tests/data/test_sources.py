"""load_dataset() picks the right reader, and the package imports without torch."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile

import pytest

from tl_core.data import DataError, load_dataset

from datakit import REPO, encode


def test_folder_zip_and_table_are_dispatched(tmp_path, hymenoptera, yelp):
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
