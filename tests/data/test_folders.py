"""Image folders: the real hymenoptera set, and the layouts and leftovers people's folders really have."""

from __future__ import annotations

from collections import Counter

import pytest
from PIL import ImageFile

from tl_core.data import DataError, load_image_folder

from datakit import encode, write_tree

JPEG = encode("JPEG")
PNG = encode("PNG")


def test_hymenoptera_keeps_its_train_val_split(hymenoptera, monkeypatch):
    def decode(self):
        raise AssertionError("listing a dataset decoded a picture")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)  # listing stays fast: headers only, no pixels
    dataset = load_image_folder(hymenoptera)
    assert dataset.kind == "image" and dataset.classes == ["ants", "bees"]
    assert Counter(e.split for e in dataset.examples) == {"train": 245, "val": 153}
    assert Counter((e.split, e.label) for e in dataset.examples) == {
        ("train", "ants"): 124, ("train", "bees"): 121, ("val", "ants"): 70, ("val", "bees"): 83}
    assert dataset.skipped == [] and dataset.notes == []
    first = dataset.examples[0]
    assert first.name == "train/ants/0013035.jpg" and first.path.is_file() and first.data is None


def test_classes_at_the_root(tmp_path):
    write_tree(tmp_path, {"cats/a.jpg": JPEG, "dogs/b.png": PNG})
    dataset = load_image_folder(tmp_path)
    assert dataset.classes == ["cats", "dogs"]
    assert [(e.label, e.name, e.split) for e in dataset.examples] == [("cats", "cats/a.jpg", None),
                                                                    ("dogs", "dogs/b.png", None)]


def test_one_wrapping_folder_is_looked_through(tmp_path):
    write_tree(tmp_path, {"my pets/cats/a.jpg": JPEG, "my pets/dogs/b.jpg": JPEG, "README.md": b"hi"})
    dataset = load_image_folder(tmp_path)
    assert dataset.classes == ["cats", "dogs"]
    assert dataset.examples[0].name == "my pets/cats/a.jpg"
    assert [(s.name, s.reason) for s in dataset.skipped] == [("README.md", "not inside a class folder")]


@pytest.mark.parametrize("val_name", ["val", "valid", "Validation", "test"])
def test_validation_folder_names(tmp_path, val_name):
    write_tree(tmp_path, {"train/cats/a.jpg": JPEG, f"{val_name}/cats/b.jpg": JPEG})
    assert [e.split for e in load_image_folder(tmp_path).examples] == ["train", "val"]


def test_a_lone_train_folder_is_not_a_split(tmp_path):
    write_tree(tmp_path, {"train/cats/a.jpg": JPEG, "train/dogs/b.jpg": JPEG})
    dataset = load_image_folder(tmp_path)
    assert dataset.classes == ["cats", "dogs"] and {e.split for e in dataset.examples} == {None}


def test_nested_pictures_belong_to_their_class_folder(tmp_path):
    write_tree(tmp_path, {"cats/2023/summer/a.jpg": JPEG, "dogs/b.jpg": JPEG})
    assert [e.label for e in load_image_folder(tmp_path).examples] == ["cats", "dogs"]


def test_bad_files_are_skipped_with_reasons(tmp_path):
    write_tree(tmp_path, {
        "cats/ok.jpg": JPEG,
        "cats/empty.jpg": b"",
        "cats/report.jpg": b"%PDF-1.4 not really",
        "cats/notes.jpg": b"just some text",
        "cats/broken.png": PNG[:-20],
        "cats/slides.docx": b"PK\x03\x04",
        "loose.jpg": JPEG,
    })
    dataset = load_image_folder(tmp_path)
    assert [e.name for e in dataset.examples] == ["cats/ok.jpg"]
    assert {s.name: s.reason for s in dataset.skipped} == {
        "loose.jpg": "not inside a class folder",
        "cats/broken.png": "image is damaged (truncated)",
        "cats/empty.jpg": "file is empty",
        "cats/notes.jpg": "not an image (looks like text)",
        "cats/report.jpg": "not an image (looks like a PDF)",
        "cats/slides.docx": "not a supported picture type (a .docx file); use JPEG, PNG, WebP, BMP, GIF or TIFF",
    }


def test_os_junk_and_hidden_files_are_ignored_silently(tmp_path):
    write_tree(tmp_path, {
        "cats/a.jpg": JPEG, "cats/.DS_Store": b"\x00\x00", "cats/Thumbs.db": b"\xd0\xcf", "cats/desktop.ini": b"[x]",
        "cats/._a.jpg": b"\x00\x05\x16\x07", ".hidden/x.jpg": JPEG, "__MACOSX/cats/._a.jpg": b"\x00",
        ".DS_Store": b"\x00",
    })
    dataset = load_image_folder(tmp_path)
    assert [e.name for e in dataset.examples] == ["cats/a.jpg"]
    assert dataset.skipped == [] and dataset.classes == ["cats"]


def test_names_with_spaces_unicode_and_emoji(tmp_path):
    write_tree(tmp_path, {"chats noirs 🐈/été à Paris 🌞.jpg": JPEG, "chiens/b b.jpg": JPEG})
    dataset = load_image_folder(tmp_path)
    assert dataset.classes == ["chats noirs 🐈", "chiens"]
    assert dataset.examples[0].name == "chats noirs 🐈/été à Paris 🌞.jpg"


def test_an_empty_class_folder_is_noted(tmp_path):
    write_tree(tmp_path, {"cats/a.jpg": JPEG, "dogs/notes.txt": b"todo"})
    dataset = load_image_folder(tmp_path)
    assert dataset.classes == ["cats"]
    assert dataset.notes == ["Folder 'dogs' has no usable pictures, so it is not a class."]


def test_no_classes_is_an_error_saying_what_to_do(tmp_path):
    write_tree(tmp_path / "loose", {"a.jpg": JPEG})
    with pytest.raises(DataError, match="1 file skipped, e.g. a.jpg: not inside a class folder"):
        load_image_folder(tmp_path / "loose")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="No class folders with pictures were found in 'empty'"):
        load_image_folder(tmp_path / "empty")


def test_not_a_folder(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        load_image_folder(tmp_path / "missing")
