"""Bad input through the app: every broken upload or odd setting gives a sentence, and nothing already added is lost.

The readers themselves are tested in tests/data; here each bad input goes through the page's own
uploader or form, and the test checks what a person sees: a plain sentence (never a traceback), the
classes and uploads made before still there, and a page that still takes the next upload.
"""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from apphelpers import YELP, add_photos, errors, folder, jpeg_bytes, make_project, open_page, plain, zip_bytes



def files_in(path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else []


def skipped(at) -> dict[str, str]:
    """The report's 'left out, and why' table as {file name: reason}."""
    tables = [d.value for d in at.dataframe if "why it was left out" in d.value.columns]
    return dict(zip(tables[0]["name"], tables[0]["why it was left out"])) if tables else {}


def counts(at) -> list[str]:
    """'**N photos** in this class' of each class card, in order."""
    return [m.value.split(" in this class")[0] for m in at.markdown if " in this class" in m.value]


# ---------------------------------------------------------------- pictures made for the occasion

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png() -> bytes:
    """A valid PNG of under 100 bytes that declares 30000 x 30000 pixels (900 MP): a decompression bomb."""
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + _png_chunk(b"IEND", b""))


def picture(mode: str, fmt: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, (96, 64), (200, 30, 60, 128)[:len(mode)]).save(out, fmt)
    return out.getvalue()


def truncated_jpeg() -> bytes:
    data = jpeg_bytes("bees", 0)
    return data[: len(data) // 3]


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

# (file name, bytes, the reason the page gives; None = the picture is fine and is added)
PHOTOS = {
    "empty file": ("empty.jpg", lambda: b"", "file is empty"),
    "PDF named .jpg": ("invoice.jpg", lambda: PDF, "not an image (looks like a PDF)"),
    "truncated JPEG": ("cut.jpg", truncated_jpeg, "image is damaged (truncated)"),
    "decompression bomb": ("huge.png", bomb_png, "picture too large (900 megapixels; the limit is 80 megapixels)"),
    "CMYK JPEG": ("print.jpg", lambda: picture("CMYK", "JPEG"), None),
    "RGBA PNG": ("logo.png", lambda: picture("RGBA", "PNG"), None),
    "emoji, accents and spaces": ("🐝 abeille d'été (2).jpg", lambda: jpeg_bytes("bees", 1), None),
}


@pytest.mark.parametrize("case", list(PHOTOS))
def test_a_bad_photo_gets_a_sentence_and_the_other_photos_stay(app, home, case):
    from pages.common import engine

    name, make, reason = PHOTOS[case]
    project = make_project(home)
    add_photos(home, project, per_class=6)
    ants_before = files_in(folder(home, project, "photos", "ants"))
    at = open_page(app, "data", project=project["id"])
    bees = at.file_uploader[1]
    assert bees.label == "Add photos of bees"
    bees.set_value([(name, make(), "image/jpeg")]).run()
    said = plain(at)

    if reason is None:  # a picture in an unusual format or with an unusual name is simply added
        assert name in files_in(folder(home, project, "photos", "bees"))
        assert counts(at) == ["**6 photos**", "**7 photos**"]
        assert engine.thumbnail(folder(home, project, "photos", "bees", name)) is not None
    elif case == "truncated JPEG":  # looks like a JPEG until decoded: refused at upload, by name
        assert "1 file was not added to 'bees' because it cannot be read: cut.jpg (image is damaged (truncated))" \
            in said
        assert name not in files_in(folder(home, project, "photos", "bees"))
        assert counts(at) == ["**6 photos**", "**6 photos**"]
    else:  # kept in the class, left out of training, and listed with its reason
        assert "1 file was skipped; the list says why for each." in said
        assert "1 file was left out; the report below says why." in said
        assert skipped(at) == {f"bees/{name}": reason}
    assert files_in(folder(home, project, "photos", "ants")) == ants_before
    assert "Your data is ready for training." in said

    # The page still works: the class has a fresh uploader that takes the next photo.
    at.file_uploader[1].set_value([("next.jpg", jpeg_bytes("bees", 2), "image/jpeg")]).run()
    plain(at)
    assert "next.jpg" in files_in(folder(home, project, "photos", "bees"))
    assert counts(at)[0] == "**6 photos**"


def test_a_class_name_that_cannot_be_a_folder_name_keeps_its_photos_counted(app, home):
    project = make_project(home)
    add_photos(home, project, per_class=6)
    at = open_page(app, "data", project=project["id"])
    at.text_input(key="name_aaaa0001").set_value("ants/wasps").run()
    said = plain(at)
    assert "Saved and trained as 'ants_wasps'" in said
    assert counts(at) == ["**6 photos**", "**6 photos**"]
    assert "has no usable photos" not in said and "Your data is ready for training." in said
    at.text_input(key="name_aaaa0002").set_value("ants_wasps").run()  # would share the first class's folder
    assert "The name 'ants_wasps' is too close to another class" in plain(at)
    assert at.text_input(key="name_aaaa0002").value == "bees"
    assert files_in(folder(home, project, "photos", "bees"))


# ---------------------------------------------------------------- zips

def photos_zip(prefix: str = "photos/", per_class: int = 3) -> bytes:
    return zip_bytes({f"{prefix}{label}/{i}.jpg": jpeg_bytes(label, i) for label in ("ants", "bees")
                      for i in range(per_class)})


def test_a_zip_with_parent_paths_is_unpacked_without_them(app, home):
    project = make_project(home, source="zip")
    hostile = {"../escaped.jpg": jpeg_bytes("ants", 5), "photos/../../escaped2.jpg": jpeg_bytes("ants", 6),
               "/tmp/escaped3.jpg": jpeg_bytes("ants", 7)}
    at = open_page(app, "data", project=project["id"])
    at.file_uploader(key="zip_up").set_value(
        ("slip.zip", zip_bytes({**hostile, **{f"photos/{label}/{i}.jpg": jpeg_bytes(label, i)
                                               for label in ("ants", "bees") for i in range(3)}}),
         "application/zip")).run()
    said = plain(at)
    assert "Using slip.zip." in said and "Your data is ready for training." in said
    assert "3 files in the zip were not unpacked: ../escaped.jpg (unsafe path in the zip (it points outside the " \
           "folder)); photos/../../escaped2.jpg (unsafe path" in said
    assert "/tmp/escaped3.jpg (unsafe path" in said
    assert not list(home.parent.rglob("escaped*")) and not Path("/tmp/escaped3.jpg").exists()


@pytest.mark.parametrize("bad, sentence", [
    (zip_bytes({}), "The zip file is empty; put one folder of pictures per class in it and zip it again."),
    (zip_bytes({"../../a.jpg": b"x", "../b.jpg": b"y"}), "unsafe path"),
    (b"PK\x03\x04 cut short", "This file is not a readable zip archive"),
], ids=["empty zip", "only parent paths", "damaged zip"])
def test_a_bad_zip_gets_a_sentence_and_the_zip_in_use_stays(app, home, bad, sentence):
    project = make_project(home, source="zip")
    at = open_page(app, "data", project=project["id"])
    at.file_uploader(key="zip_up").set_value(("photos.zip", photos_zip(), "application/zip")).run()
    unpacked = sorted(p.relative_to(home) for p in folder(home, project, "zip").rglob("*.jpg"))
    assert len(unpacked) == 6
    at.file_uploader(key="zip_up").set_value(("second.zip", bad, "application/zip")).run()
    said = plain(at)
    assert any(e.startswith("second.zip was not used: ") for e in errors(at))
    assert sentence in said
    assert "Using photos.zip." in said and "Your data is ready for training." in said
    assert sorted(p.relative_to(home) for p in folder(home, project, "zip").rglob("*.jpg")) == unpacked
    # and the next good zip replaces it as usual
    at.file_uploader(key="zip_up").set_value(("third.zip", photos_zip("", 2), "application/zip")).run()
    said = plain(at)
    assert "Using third.zip." in said and "was not used" not in said
    assert len(list(folder(home, project, "zip").rglob("*.jpg"))) == 4


# ---------------------------------------------------------------- tables

LATIN1 = ("text,label\n" + "".join(f'"{t}",{label}\n' for t, label in [
    ("Très bon café", "positive"), ("Crème brûlée parfaite", "positive"), ("Génial, à refaire", "positive"),
    ("Service lent, déçu", "negative"), ("Pâtes froides", "negative"), ("À éviter", "negative"),
])).encode("latin-1")
SEMICOLON = ("text;label\nGreat food, really;pos\nLovely staff, quick;pos\nSo good;pos\n"
             "Awful, cold soup;neg\nNever again;neg\nRude, slow;neg\n").encode()
ONE_CLASS = b"text,label\nGreat,pos\nGood,pos\nNice,pos\nFine,pos\n"


def preview(at) -> list[str]:
    return [text for d in at.dataframe if "example" in d.value.columns for text in d.value["example"]]


def test_a_latin1_table_is_read_with_its_accents(app, home):
    project = make_project(home, "text")
    at = open_page(app, "data", project=project["id"])
    at.file_uploader(key="table_up").set_value(("avis.csv", LATIN1, "text/csv")).run()
    said = plain(at)
    assert "Using avis.csv." in said and "Your data is ready for training." in said
    assert {"Très bon café", "Service lent, déçu"} <= set(preview(at))


def test_a_semicolon_table_keeps_the_commas_in_its_texts(app, home):
    project = make_project(home, "text")
    at = open_page(app, "data", project=project["id"])
    at.file_uploader(key="table_up").set_value(("export.csv", SEMICOLON, "text/csv")).run()
    said = plain(at)
    assert (at.selectbox(key="text_column_pick").value, at.selectbox(key="label_column_pick").value) == \
        ("text", "label")
    assert "Your data is ready for training." in said
    assert {"Great food, really", "Awful, cold soup"} <= set(preview(at))


def test_a_table_with_one_class_says_so_and_blocks_training(app, home):
    project = make_project(home, "text")
    at = open_page(app, "data", project=project["id"])
    at.file_uploader(key="table_up").set_value(("one.csv", ONE_CLASS, "text/csv")).run()
    said = plain(at)
    assert "Add at least two classes." in said and "Fix the problems above before training." in said
    assert at.button(key="next_train").disabled


@pytest.mark.parametrize("bad, sentence", [
    (b"", "The table file is empty"),
    (b"\x00\x01binary\x00\x02", "This file holds binary data, not a text table"),
    (b"PK\x03\x04xlsx", "This looks like an Excel or zip file"),
], ids=["0-byte table", "binary table", "Excel file"])
def test_an_unreadable_table_gets_a_sentence_and_the_table_in_use_stays(app, home, bad, sentence):
    project = make_project(home, "text")
    at = open_page(app, "data", project=project["id"])
    at.file_uploader(key="table_up").set_value(("yelp.txt", YELP.read_bytes(), "text/plain")).run()
    assert "Your data is ready for training." in plain(at)
    at.file_uploader(key="table_up").set_value(("broken.csv", bad, "text/csv")).run()
    said = plain(at)
    assert any(e.startswith("broken.csv was not used: ") for e in errors(at))
    assert sentence in said
    assert "Using yelp.txt." in said and "Your data is ready for training." in said
    assert files_in(folder(home, project, "table")) == ["yelp.txt"]
