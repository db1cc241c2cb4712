"""A table file as rows of cells: its encoding, its delimiter, and whether its quotes are CSV quoting.

`tables.py` decides what the rows mean (header, text and label columns); this module only reads them,
and says for each row which lines of the file it came from, so every line can be accounted for.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from .examples import DataError

# On a tie the earlier wins: tabs and semicolons rarely occur inside text.
DELIMITERS = {"\t": "tab", ";": "semicolon", ",": "comma"}
SAMPLE_ROWS = 500
_SAMPLE_CHARS = 65536


class Row(NamedTuple):
    number: int  # the row as a spreadsheet shows it: records counted from 1, blank ones too
    lines: tuple[int, int]  # the first and last line of the file it was read from
    cells: list[str]


def read_records(source: Path | bytes) -> tuple[list[Row], str]:
    """Every record of the file, blank ones too, and the delimiter that splits them."""
    text = _decode(_read_bytes(source))
    sample = text[:_SAMPLE_CHARS]
    delimiter = _delimiter(sample, truncated=len(text) > len(sample))
    return _records(text, delimiter), delimiter


def _records(text: str, delimiter: str) -> list[Row]:
    """The file's rows: CSV quoting where the file uses it, otherwise one row per line.

    A plain `sentence<TAB>label` file often has quote characters inside its sentences. Read as CSV, a
    sentence that starts with `"` opens a quoted cell that runs on, through tabs and line breaks, to the
    next quote before a tab: a user's 1,000-line review table came back as 748 rows, one of them 5,000+
    characters of several reviews under one label (issue #12); yelp_labelled.txt with 5% of its
    sentences quoted as people type them came back as 778 rows. So quotes count as CSV quoting only
    when every quote in the file belongs to a quoted cell as a CSV writer (RFC 4180) writes one: opening
    at a cell's start, doubled inside, closing at its end. Python's csv writer always passes
    (tests/data/test_fuzz.py), while one quote inside a sentence shows the file does not quote. Such a
    file is read once per line and once as lenient CSV, and the reading with more rows of the common
    width wins, a tie going to the lines: the lines win for quoted sentences, lenient CSV for quoted
    cells with commas beside a stray inch mark. A file whose only quotes pair up exactly like CSV
    quoting is read as CSV, since the two cannot be told apart; the summary then names each row that
    spans several lines.
    """
    if _quotes_are_csv(text, delimiter):
        return _parse(text, delimiter, csv.QUOTE_MINIMAL)
    by_line = _parse(text, delimiter, csv.QUOTE_NONE)
    try:
        as_csv = _parse(text, delimiter, csv.QUOTE_MINIMAL)
    except DataError:  # a stray quote ran a "cell" past csv's size limit
        return by_line
    return as_csv if common_width(as_csv)[1] > common_width(by_line)[1] else by_line


def _parse(text: str, delimiter: str, quoting: int) -> list[Row]:
    """The records csv reads with this quoting, each with the lines it came from."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    rows: list[Row] = []
    try:
        for number, cells in enumerate(reader, start=1):
            rows.append(Row(number, (rows[-1].lines[1] + 1 if rows else 1, reader.line_num), cells))
    except csv.Error as error:
        raise DataError(f"The table cannot be read ({error}); save it again as CSV or TSV.") from None
    return rows


def _quotes_are_csv(text: str, delimiter: str) -> bool:
    """Whether every quote character belongs to a quoted cell written the way a CSV writer writes one."""
    edge = re.escape(delimiter) + r"\r\n"
    quoted_cell = re.compile(rf'(?<![^{edge}])"(?:[^"]|"")*"(?=[{edge}]|\Z)')
    return '"' not in quoted_cell.sub("", text)


def common_width(rows: list[Row]) -> tuple[int, int]:
    """The number of cells most non-blank rows have, and how many rows have it."""
    widths = Counter(len(row.cells) for row in rows if not blank(row))
    return widths.most_common(1)[0] if widths else (0, 0)


def blank(row: Row) -> bool:
    return not any(cell.strip() for cell in row.cells)


def _read_bytes(source: Path | bytes) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        try:
            data = Path(source).read_bytes()
        except FileNotFoundError:
            raise DataError(f"The file '{source}' was not found; check the path.") from None
        except OSError as error:
            raise DataError(f"The file '{source}' cannot be read ({error.strerror or error}).") from None
    if not data.strip():
        raise DataError("The table file is empty; add one row per example with its text and label.")
    return data


def _decode(data: bytes) -> str:
    """Text from bytes in the encodings spreadsheets write: UTF-8 (with or without BOM), UTF-16, Windows-1252."""
    if data.startswith(b"PK\x03\x04"):
        raise DataError("This looks like an Excel or zip file, not a text table; save it as CSV (comma or tab separated).")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
    elif data.startswith(codecs.BOM_UTF8):
        text = data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace")
    else:
        text = _decode_without_bom(data)
    if "\x00" in text:
        raise DataError("This file holds binary data, not a text table; save it as CSV or TSV.")
    return text


def _decode_without_bom(data: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1")  # maps every byte, so this last guess always succeeds


def _delimiter(sample: str, truncated: bool) -> str:
    """The delimiter that splits the most rows into the same number (at least 2) of cells.

    The rows are read as the whole file will be (see `_records`), so commas inside quoted cells, line
    breaks inside cells and quotes inside sentences do not mislead the guess.
    """
    best, best_score = next(iter(DELIMITERS)), (False, 0.0)
    for delimiter in DELIMITERS:
        try:
            rows = [row for row in _records(sample, delimiter) if not blank(row)]
        except DataError:
            continue
        rows = rows[:-1] if truncated and len(rows) > 1 else rows
        if not rows:
            continue
        width, count = common_width(rows[:SAMPLE_ROWS])
        score = (width >= 2, count / len(rows[:SAMPLE_ROWS]))
        if score > best_score:
            best, best_score = delimiter, score
    return best
