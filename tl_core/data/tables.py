"""Read labelled texts from the tables people export from spreadsheets: CSV, TSV, semicolon CSV, any encoding."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .examples import DataError, Dataset, Example, Skipped, make_dataset, plural

MAX_TEXT_CHARS = 5000  # longer texts are cut: text models read a few hundred tokens at most
_DELIMITERS = ("\t", ";", ",")  # on a tie the earlier wins: tabs and semicolons rarely occur inside text
_SAMPLE_CHARS = 65536
_SAMPLE_ROWS = 500
# Header words that mark the first row as names rather than an example.
_TEXT_WORDS = {"text", "texts", "sentence", "review", "content", "comment", "message", "body", "document", "tweet"}
_LABEL_WORDS = {"label", "labels", "class", "category", "target", "sentiment", "tag", "intent", "topic"}


@dataclass
class _Table:
    columns: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as a spreadsheet shows it, cells)


def table_columns(source: Path | bytes) -> list[str]:
    """Column names, or "column 1", "column 2", ... when the table has no header, for a column picker."""
    return _read_table(source).columns


def load_text_table(
    source: Path | bytes, *, text_column: str | int | None = None, label_column: str | int | None = None
) -> Dataset:
    """Labelled texts from a table; columns by name or 0-based index, otherwise guessed.

    The guess takes a column headed like "text", else the one with the longest average text, and as the
    label the other column (with more than two: one headed like "label", else the one with the fewest
    distinct values). Headers win over lengths so a table of short texts with long class names still
    reads the right way round.
    """
    table = _read_table(source)
    if len(table.columns) < 2:
        raise DataError("The table needs two columns, one with the text and one with its label; add a label column.")
    if not table.rows:
        raise DataError("The table has a header but no rows; add one row per example with its text and label.")
    text_index = None if text_column is None else _column_index(table.columns, text_column)
    label_index = None if label_column is None else _column_index(table.columns, label_column)
    text_index, label_index = _default_columns(table, text_index, label_index)
    if text_index == label_index:
        raise DataError("The text and the label must come from two different columns; choose another column.")
    examples: list[Example] = []
    skipped: list[Skipped] = []
    cut = 0
    for number, cells in table.rows:
        text, label = _cell(cells, text_index).strip(), _cell(cells, label_index).strip()
        if not label:
            skipped.append(Skipped(f"row {number}", "no label"))
        elif not text:
            skipped.append(Skipped(f"row {number}", "empty text"))
        else:
            cut += len(text) > MAX_TEXT_CHARS
            examples.append(Example(label=label, name=f"row {number}", text=text[:MAX_TEXT_CHARS]))
    if not examples:
        raise DataError("No row has both a text and a label; check that the right columns were chosen.")
    return make_dataset("text", examples, skipped, [cut_note(cut)] if cut else [])


def cut_note(count: int) -> str:
    """The note shown when long texts were shortened."""
    verb = "was" if count == 1 else "were"
    return f"{plural(count, 'text')} {verb} longer than {MAX_TEXT_CHARS:,} characters and {verb} cut."


def _read_table(source: Path | bytes) -> _Table:
    text = _decode(_read_bytes(source))
    sample = text[:_SAMPLE_CHARS]
    delimiter = _delimiter(sample, truncated=len(text) > len(sample))
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise DataError(f"The table cannot be read ({error}); save it again as CSV or TSV.") from None
    numbered = [(i, r) for i, r in enumerate(records, start=1) if any(cell.strip() for cell in r)]
    if not numbered:
        raise DataError("The table has no rows; add one row per example with its text and label.")
    first = numbered[0][1]
    has_header = _looks_like_header(first, [r for _, r in numbered[1:_SAMPLE_ROWS]])
    rows = numbered[1:] if has_header else numbered
    width = max([len(first)] + [len(r) for _, r in rows[:_SAMPLE_ROWS]])
    names = [cell.strip() for cell in first] if has_header else []
    return _Table(_unique_names(names, width), rows)


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

    Parsing with csv (rather than counting characters per line) respects quoted fields, so commas inside
    quoted texts and newlines inside cells do not mislead the guess.
    """
    best, best_score = _DELIMITERS[0], (False, 0.0)
    for delimiter in _DELIMITERS:
        try:
            records = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if r]
        except csv.Error:
            continue
        records = records[:-1] if truncated and len(records) > 1 else records
        widths = Counter(len(r) for r in records[:_SAMPLE_ROWS])
        if not widths:
            continue
        width, count = widths.most_common(1)[0]
        score = (width >= 2, count / sum(widths.values()))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _looks_like_header(first: list[str], body: list[list[str]]) -> bool:
    """Whether the first row names the columns: a known name, or a cell unlike the rest of its column."""
    if any(cell.strip().lower() in _TEXT_WORDS | _LABEL_WORDS for cell in first):
        return True
    for index, cell in enumerate(first):
        values = [v for v in (_cell(row, index).strip() for row in body) if v]
        if not values or not cell.strip():
            continue
        if all(_is_number(v) for v in values) and not _is_number(cell):
            return True
        distinct = set(values)
        if len(values) >= 20 and len(distinct) <= max(2, len(values) // 10) and cell.strip() not in distinct:
            return True
    return False


def _default_columns(table: _Table, text_index: int | None, label_index: int | None) -> tuple[int, int]:
    sample = [cells for _, cells in table.rows[:_SAMPLE_ROWS]]
    columns = range(len(table.columns))
    if text_index is None:
        candidates = [i for i in columns if i != label_index]
        named = [i for i in candidates if table.columns[i].lower() in _TEXT_WORDS]
        average = {i: sum(len(_cell(r, i)) for r in sample) / len(sample) for i in candidates}
        text_index = named[0] if named else max(candidates, key=lambda i: average[i])
    if label_index is None:
        others = [i for i in columns if i != text_index]
        named = [i for i in others if table.columns[i].lower() in _LABEL_WORDS]
        distinct = {i: len({_cell(r, i).strip() for r in sample} - {""}) for i in others}
        label_index = named[0] if named else min(others, key=lambda i: (distinct[i] == 0, distinct[i]))
    return text_index, label_index


def _column_index(columns: list[str], wanted: str | int) -> int:
    if isinstance(wanted, int):
        if 0 <= wanted < len(columns):
            return wanted
        raise DataError(f"There is no column {wanted}; the table has {len(columns)} columns, numbered from 0.")
    for match in (lambda c: c == wanted, lambda c: c.casefold() == str(wanted).strip().casefold()):
        found = [i for i, name in enumerate(columns) if match(name)]
        if found:
            return found[0]
    raise DataError(f"There is no column named '{wanted}'; the columns are: {', '.join(columns)}.")


def _unique_names(names: list[str], width: int) -> list[str]:
    """Header names padded to the table's width, blanks named "column N", repeats made distinct."""
    result: list[str] = []
    for index in range(width):
        name = names[index] if index < len(names) and names[index] else f"column {index + 1}"
        candidate, n = name, 2
        while candidate in result:
            candidate, n = f"{name} ({n})", n + 1
        result.append(candidate)
    return result


def _cell(row: list[str], index: int) -> str:
    return row[index] if index < len(row) else ""


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
