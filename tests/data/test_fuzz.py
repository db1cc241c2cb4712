"""Arbitrary bytes never crash a reader: each returns a result or raises DataError, quickly. And any table
written by a CSV writer, or typed one example per line with stray quotes, reads back row for row."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tl_core.data import DataError, load_image_zip, load_text_table, read_image
from tl_core.data.examples import plural

from datakit import encode, noise_jpeg

# No example database: it would leave a .hypothesis/ folder in the repository.
SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = [encode(fmt, size=(6, 5)) for fmt in ("PNG", "GIF", "BMP", "TIFF", "WEBP")] + [noise_jpeg((16, 16))]


def _zip_seed() -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a/1.png", SEEDS[0])
        archive.writestr("b/2.gif", SEEDS[1])
    return stream.getvalue()


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """A valid file with a few bytes changed and maybe cut short: reaches deep into the decoders."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(1, len(data)))])


def _prefixed(prefixes: list[bytes]):
    return st.builds(lambda p, rest: p + rest, st.sampled_from(prefixes), st.binary(max_size=300))


MAGICS = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBP"]


@pytest.mark.filterwarnings("ignore::UserWarning:PIL.*")  # Pillow notes corrupt data on the way to DataError
@SETTINGS
@given(st.one_of(st.binary(max_size=300), _prefixed(MAGICS), mutated(SEEDS)))
def test_read_image_never_crashes(data):
    try:
        image = read_image(data, draft_size=4)
    except DataError:
        return
    assert image.mode == "RGB"


@SETTINGS
@given(st.one_of(st.binary(max_size=300), _prefixed([b"PK\x03\x04", b"PK\x05\x06"]), mutated([_zip_seed()])))
def test_load_image_zip_never_crashes(data):
    with tempfile.TemporaryDirectory() as folder:
        try:
            dataset = load_image_zip(data, Path(folder) / "out")
        except DataError:
            return
        assert dataset.examples and all(Path(folder) in e.path.parents for e in dataset.examples)


@SETTINGS
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode),
                 st.lists(st.tuples(st.text(max_size=20), st.sampled_from(["a", "b", "", '"'])), max_size=8)
                 .map(lambda rows: "\n".join(f"{t},{label}" for t, label in rows).encode("cp1252", "replace"))))
def test_load_text_table_never_crashes(data):
    try:
        dataset = load_text_table(data)
    except DataError:
        return
    assert dataset.examples and all(e.text and e.label for e in dataset.examples)


# Text as people type it, with every character a table's quoting must survive.
CELL_CHARS = st.sampled_from(list('ab Z.!\'"“é') + [",", ";", "\t", "\n", "\r"])


@SETTINGS
@given(st.sampled_from([",", ";", "\t"]), st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
       st.lists(st.tuples(st.text(CELL_CHARS, min_size=1, max_size=25).filter(str.strip),
                          st.sampled_from(["pos", "neg", "mixed"])), min_size=1, max_size=30))
def test_a_table_written_by_a_csv_writer_reads_back_row_for_row(delimiter, quoting, rows):
    stream = io.StringIO(newline="")
    writer = csv.writer(stream, delimiter=delimiter, quoting=quoting)
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    dataset = load_text_table(stream.getvalue().encode())
    assert [(e.text, e.label) for e in dataset.examples] == [(text.strip(), label) for text, label in rows]
    assert [e.name for e in dataset.examples] == [f"row {n}" for n in range(2, len(rows) + 2)]


SENTENCE_CHARS = st.sampled_from(list("ab Z.!,;'\"“é"))


@st.composite
def stray_quote_lines(draw) -> list[tuple[str, str]]:
    """`sentence<TAB>label` lines, no header, quotes anywhere in the sentences and in one at least between
    two letters (`a"b`), which no CSV writer writes: the file cannot be using CSV quoting."""
    sentence = st.text(SENTENCE_CHARS, min_size=2, max_size=30).map(str.strip).filter(lambda s: len(s) >= 2)
    rows = draw(st.lists(st.tuples(sentence, st.sampled_from(["0", "1"])), min_size=1, max_size=40))
    index = draw(st.integers(0, len(rows) - 1))
    at = draw(st.integers(0, len(rows[index][0])))
    text, label = rows[index]
    rows[index] = (f'{text[:at]}a"b{text[at:]}', label)
    return rows


@SETTINGS
@given(stray_quote_lines(), st.sampled_from(["\n", "\r\n"]))
def test_a_tsv_with_stray_quotes_reads_back_one_example_per_line(rows, newline):
    data = "".join(f"{text}\t{label}{newline}" for text, label in rows).encode()
    dataset = load_text_table(data)
    assert [(e.text, e.label) for e in dataset.examples] == rows
    assert dataset.summary == f"{plural(len(rows), 'line')} read, {plural(len(rows), 'example')}."
