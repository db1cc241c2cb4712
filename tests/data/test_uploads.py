"""Browser uploads and typed texts, and their round trip through disk to the training process."""

from __future__ import annotations

import pytest

from tl_core.data import DataError, images_from_uploads, load_dataset, save_texts, save_uploads, texts_from_lists

from datakit import encode

JPEG = encode("JPEG")


def test_uploads_are_checked_in_memory():
    dataset = images_from_uploads({
        "cats": [("a.jpg", JPEG), ("report.jpg", b"%PDF-1.5"), (".DS_Store", b"\x00")],
        " dogs ": [("b.png", encode("PNG")), ("song.mp3", b"ID3")],
    })
    assert dataset.classes == ["cats", "dogs"]
    assert [(e.label, e.name, e.data is not None, e.path) for e in dataset.examples] == [
        ("cats", "a.jpg", True, None), ("dogs", "b.png", True, None)]
    assert {s.name: s.reason for s in dataset.skipped} == {
        "report.jpg": "not an image (looks like a PDF)",
        "song.mp3": "not a supported picture type (a .mp3 file); use JPEG, PNG, WebP, BMP, GIF or TIFF",
    }


def test_save_uploads_round_trip_keeps_names_and_stays_inside(tmp_path):
    uploads = {
        "bees 🐝": [("été à Paris 🌞.jpg", JPEG), ("photo.jpg", JPEG), ("PHOTO.jpg", JPEG), ("trip/photo.jpg", JPEG)],
        "ants": [("../../escape.jpg", JPEG), ("..", JPEG), (".hidden.jpg", JPEG), ("C:\\Users\\me\\a b.jpg", JPEG),
                 ("Thumbs.db", b"\xd0")],
    }
    dest = save_uploads(uploads, tmp_path / "run" / "data")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "run/data/ants/a b.jpg", "run/data/ants/escape.jpg", "run/data/ants/unnamed",
        "run/data/bees 🐝/PHOTO (2).jpg", "run/data/bees 🐝/photo (3).jpg", "run/data/bees 🐝/photo.jpg",
        "run/data/bees 🐝/été à Paris 🌞.jpg",
    ]
    dataset = load_dataset(dest)
    assert dataset.classes == ["ants", "bees 🐝"] and len(dataset.examples) == 6
    assert [(s.name, s.reason.split(" (")[0]) for s in dataset.skipped] == [("ants/unnamed", "not a supported picture type")]


def test_save_uploads_makes_unsafe_class_names_safe(tmp_path):
    dest = save_uploads({"../up": [("a.jpg", JPEG)], "..": [("b.jpg", JPEG)]}, tmp_path / "d")
    assert sorted(p.name for p in dest.iterdir()) == ["_._up", "unnamed"]


def test_texts_from_lists_drops_blank_lines():
    dataset = texts_from_lists({"greeting": ["hello", "  ", "", " hi there \n"], "bye": ["see you"]})
    assert [(e.label, e.name, e.text) for e in dataset.examples] == [
        ("greeting", "greeting #1", "hello"), ("greeting", "greeting #2", "hi there"), ("bye", "bye #1", "see you")]
    assert dataset.classes == ["bye", "greeting"]


def test_a_class_needs_a_name():
    with pytest.raises(DataError, match="Every class needs a name"):
        texts_from_lists({" ": ["text"]})


def test_save_texts_round_trip(tmp_path):
    typed = {"long class name for short texts": ["ok", 'tab\there, "quotes"\nand a new line'], "b": ["yes"]}
    path = save_texts(typed, tmp_path / "texts.tsv")
    assert path.read_text(encoding="utf-8").startswith("text\tlabel\n")
    dataset = load_dataset(path)
    assert [(e.text, e.label) for e in dataset.examples] == [
        ("ok", "long class name for short texts"),
        ('tab\there, "quotes"\nand a new line', "long class name for short texts"),
        ("yes", "b")]
