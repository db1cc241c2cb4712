"""Read labelled texts from the tables people export from spreadsheets or type by hand: CSV, TSV, semicolon
CSV, any encoding, quotes inside sentences; and say what became of every line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .examples import DataError, Dataset, Example, Skipped, make_dataset, plural
from .table_rows import DELIMITERS, SAMPLE_ROWS, Row, blank, common_width, read_records

MAX_TEXT_CHARS = 5000  # longer texts are cut: text models read a few hundred tokens at most
_NAMED = 5  # rows named one by one in a sentence; the rest are counted
# Header words that mark the first row as names rather than an example.
_TEXT_WORDS = {"text", "texts", "sentence", "review", "content", "comment", "message", "body", "document", "tweet"}
_LABEL_WORDS = {"label", "labels", "class", "category", "target", "sentiment", "tag", "intent", "topic"}


@dataclass
class _Table:
    columns: list[str]
    rows: list[Row]  # without the header and empty rows
    lines: int  # lines in the file
    header: Row | None
    empty: list[int]  # numbers of the empty rows
    delimiter: str


def table_columns(source: Path | bytes) -> list[str]:
    """Column names, or "column 1", "column 2", ... when the table has no header, for a column picker."""
    return _read_table(source).columns


def guess_columns(source: Path | bytes) -> tuple[str, str]:
    """The (text, label) column names `load_text_table` reads when it is given no columns: a form that
    offers column pickers starts from them, so leaving them alone reads the table as before."""
    table = _read_table(source)
    if len(table.columns) < 2 or not table.rows:
        raise DataError("The table needs two columns and at least one row to guess which holds the text.")
    text_index, label_index = _default_columns(table, None, None)
    return table.columns[text_index], table.columns[label_index]


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
    width = len(table.columns)
    examples: list[Example] = []
    skipped: list[Skipped] = []
    cut: list[str] = []
    for row in table.rows:
        name = f"row {row.number}"
        text, label = _cell(row.cells, text_index).strip(), _cell(row.cells, label_index).strip()
        if any(cell.strip() for cell in row.cells[width:]):
            skipped.append(Skipped(name, f"it has {len(row.cells)} cells but the table has {width} columns; "
                                         f"take out the extra {DELIMITERS[table.delimiter]}"))
        elif not label:
            skipped.append(Skipped(name, "no label"))
        elif not text:
            skipped.append(Skipped(name, "empty text"))
        else:
            if len(text) > MAX_TEXT_CHARS:
                cut.append(name)
            examples.append(Example(label=label, name=name, text=text[:MAX_TEXT_CHARS]))
    if not examples:
        raise DataError("No row has both a text and a label; check that the right columns were chosen.")
    return make_dataset("text", examples, skipped, [cut_note(cut)] if cut else [],
                        summary=_summary(table, len(examples), [s.name for s in skipped], cut))


def cut_note(names: list[str]) -> str:
    """The note shown when long texts were shortened, naming them."""
    verb = _was(names)
    return (f"{plural(len(names), 'text')} {verb} longer than {MAX_TEXT_CHARS:,} characters and {verb} cut: "
            f"{_listed(names)}.")


def _summary(table: _Table, examples: int, skipped: list[str], cut: list[str]) -> str:
    """Every line of the file accounted for: '1,001 lines read, 1,000 examples: row 1 is the header.'

    A person who knows how many lines their file has sees at once when rows went missing, and which.
    Rows are numbered as a spreadsheet shows them, which is the line number unless a cell spans lines.
    """
    details = [f"row {table.header.number} is the header"] if table.header else []
    merged = [row for row in table.rows if row.lines[0] != row.lines[1]]
    if merged:
        spans = [f"row {row.number} (lines {row.lines[0]}–{row.lines[1]})" for row in merged]
        details.append(f"{_listed(spans)} {_was(merged, 'spans', 'span')} several lines, "
                       "as a quoted cell holds line breaks")
    if table.empty:
        details.append(f"{_listed([f'row {n}' for n in table.empty])} {_was(table.empty, 'is', 'are')} empty")
    if skipped:
        details.append(f"{_listed(skipped)} {_was(skipped)} skipped")
    if cut:
        details.append(f"{_listed(cut)} {_was(cut)} cut to {MAX_TEXT_CHARS:,} characters")
    head = f"{plural(table.lines, 'line')} read, {plural(examples, 'example')}"
    return head + (": " + "; ".join(details) if details else "") + "."


def _listed(names: list[str]) -> str:
    """'row 3', 'row 3 and row 9', 'row 3, row 9, row 10, row 12, row 20 and 12 more'."""
    if len(names) > _NAMED + 1:
        return f"{', '.join(names[:_NAMED])} and {len(names) - _NAMED:,} more"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _was(items: list, one: str = "was", more: str = "were") -> str:
    return one if len(items) == 1 else more


def _read_table(source: Path | bytes) -> _Table:
    records, delimiter = read_records(source)
    empty = {row.number for row in records if blank(row)}
    filled = [row for row in records if row.number not in empty]
    if not filled:
        raise DataError("The table has no rows; add one row per example with its text and label.")
    first = filled[0]
    has_header = _looks_like_header(first.cells, [row.cells for row in filled[1:SAMPLE_ROWS]])
    rows = filled[1:] if has_header else filled
    width = max(len(first.cells) if has_header else 0, common_width(rows[:SAMPLE_ROWS])[0])
    names = [cell.strip() for cell in first.cells] if has_header else []
    return _Table(_unique_names(names, width), rows, records[-1].lines[1], first if has_header else None,
                  sorted(empty), delimiter)


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
    sample = [row.cells for row in table.rows[:SAMPLE_ROWS]]
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
