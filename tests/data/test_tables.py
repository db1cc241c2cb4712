"""Text tables as spreadsheets and people really write them."""

from __future__ import annotations

from collections import Counter

import pytest

from tl_core.data import MAX_TEXT_CHARS, DataError, guess_columns, load_text_table, table_columns

from datakit import DATASETS, stray_quotes


def texts(dataset) -> list[tuple[str, str]]:
    return [(e.text, e.label) for e in dataset.examples]


def test_yelp_sentences(yelp):
    dataset = load_text_table(yelp)
    assert dataset.kind == "text" and dataset.classes == ["0", "1"]
    assert len(dataset.examples) == 1000 and Counter(e.label for e in dataset.examples) == {"0": 500, "1": 500}
    first = dataset.examples[0]
    assert (first.text, first.label, first.name) == ("Wow... Loved this place.", "1", "row 1")
    assert dataset.skipped == [] and dataset.notes == []
    assert dataset.summary == "1,000 lines read, 1,000 examples."
    assert table_columns(yelp) == ["column 1", "column 2"]


@pytest.mark.parametrize("name", ["yelp_labelled.txt", "ag_news.tsv", "sms_spam.tsv"])
def test_every_line_of_the_real_tables_is_one_example(name):
    path = DATASETS / "sentences" / name
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == path.read_bytes().count(b"\n")  # what `wc -l` says
    dataset = load_text_table(path)
    assert texts(dataset) == [tuple(line.split("\t")) for line in lines]
    assert dataset.summary == f"{len(lines):,} lines read, {len(lines):,} examples."


def test_a_tsv_with_quotes_inside_sentences_keeps_one_example_per_line(yelp):
    lines = stray_quotes(yelp.read_text(encoding="utf-8").splitlines())
    assert sum('"' in line for line in lines) > 0.05 * len(lines)
    dataset = load_text_table("\n".join(lines).encode() + b"\n")
    assert texts(dataset) == [tuple(line.split("\t")) for line in lines]
    assert [e.name for e in dataset.examples] == [f"row {n}" for n in range(1, 1001)]
    assert dataset.notes == [] and dataset.skipped == []
    assert dataset.summary == "1,000 lines read, 1,000 examples."


def test_the_summary_accounts_for_every_line():
    data = (b'text,label\n"line one\nline two, still text",a\n"she said ""hi""",b\nplain,a\n\n,b\nx,\n'
            + b"w" * 6000 + b",a\n")
    dataset = load_text_table(data)
    assert len(dataset.examples) == 4
    assert dataset.summary == (
        "9 lines read, 4 examples: row 1 is the header; row 2 (lines 2–3) spans several lines, as a quoted cell "
        "holds line breaks; row 5 is empty; row 6 and row 7 were skipped; row 8 was cut to 5,000 characters.")


def test_long_lists_of_rows_are_named_then_counted():
    data = "".join(f"text {n}\t\n" for n in range(1, 21)).encode() + b"kept\tpos\n"
    summary = load_text_table(data).summary
    assert summary == ("21 lines read, 1 example: row 1, row 2, row 3, row 4, row 5 and 15 more were skipped.")


def test_quoted_cells_beside_a_stray_inch_mark_still_read_as_csv():
    data = b'text,label\n"well, that was nice",pos\n"no, never, again",neg\na 5" screen,pos\n'
    assert texts(load_text_table(data)) == [("well, that was nice", "pos"), ("no, never, again", "neg"),
                                            ('a 5" screen', "pos")]


def test_a_row_with_an_extra_cell_is_skipped_not_cut_short():
    lines = [f"sentence number {n}\t{n % 2}" for n in range(30)] + ["one\ttwo\t1"]
    dataset = load_text_table("\n".join(lines).encode())
    assert table_columns("\n".join(lines).encode()) == ["column 1", "column 2"]
    assert len(dataset.examples) == 30
    assert [(s.name, s.reason) for s in dataset.skipped] == [
        ("row 31", "it has 3 cells but the table has 2 columns; take out the extra tab")]


def test_columns_by_name_and_index_override_the_guess():
    data = b"id,label,review\n1,pos,great food\n2,neg,awful\n3,pos,lovely\n"
    assert table_columns(data) == ["id", "label", "review"]
    assert texts(load_text_table(data))[0] == ("great food", "pos")
    assert texts(load_text_table(data, text_column="label", label_column=0))[0] == ("pos", "1")
    assert texts(load_text_table(data, text_column="REVIEW"))[0] == ("great food", "pos")
    with pytest.raises(DataError, match="no column named 'stars'; the columns are: id, label, review"):
        load_text_table(data, label_column="stars")
    with pytest.raises(DataError, match="no column 7"):
        load_text_table(data, text_column=7)
    with pytest.raises(DataError, match="two different columns"):
        load_text_table(data, text_column=2, label_column="review")


def test_longest_column_is_the_text_when_unnamed():
    data = b"pos,a long enough sentence here\nneg,another fairly long sentence\n"
    assert texts(load_text_table(data)) == [("a long enough sentence here", "pos"),
                                            ("another fairly long sentence", "neg")]


def test_windows_1252_and_latin_1():
    data = "text;label\ncafé “crème” – naïve;pos\nÜbel;neg\n".encode("cp1252")
    assert texts(load_text_table(data)) == [("café “crème” – naïve", "pos"), ("Übel", "neg")]
    latin = "grüße aus Köln\tde\n\x81bonjour à tous\tfr\n".encode("latin-1")  # 0x81: not cp1252
    assert texts(load_text_table(latin)) == [("grüße aus Köln", "de"), ("\x81bonjour à tous", "fr")]


def test_utf8_bom_does_not_stick_to_the_first_name():
    data = "\ufefftext,label\nhello,a\nbye,b\n".encode("utf-8")
    assert table_columns(data) == ["text", "label"]
    assert texts(load_text_table(data, text_column="text")) == [("hello", "a"), ("bye", "b")]


def test_utf16_from_excel():
    data = "text\tlabel\nhallo wereld\tnl\nhello world\ten\n".encode("utf-16")
    assert texts(load_text_table(data)) == [("hallo wereld", "nl"), ("hello world", "en")]


def test_semicolon_delimiter_with_commas_in_text():
    data = b"text;label\nwell, that was nice;pos\nno, never, again;neg\nfine;pos\n"
    assert texts(load_text_table(data)) == [("well, that was nice", "pos"), ("no, never, again", "neg"),
                                            ("fine", "pos")]


def test_quoted_fields_with_newlines_commas_and_quotes():
    data = b'text,label\n"line one\nline two, still text",a\n"she said ""hi""",b\nplain,a\n'
    dataset = load_text_table(data)
    assert texts(dataset) == [("line one\nline two, still text", "a"), ('she said "hi"', "b"), ("plain", "a")]
    assert [e.name for e in dataset.examples] == ["row 2", "row 3", "row 4"]


def test_missing_labels_and_empty_texts_are_skipped_by_row():
    data = b"text,label\ngood,pos\nno label here,\n   ,neg\n\nbad,neg\nshort row\n"
    dataset = load_text_table(data)
    assert texts(dataset) == [("good", "pos"), ("bad", "neg")]
    assert [(s.name, s.reason) for s in dataset.skipped] == [
        ("row 3", "no label"), ("row 4", "empty text"), ("row 7", "no label")]


def test_labels_stay_text_numeric_or_not():
    dataset = load_text_table(b"text,label\na,1\nb,01\nc,1.0\nd,positive\n")
    assert dataset.classes == ["01", "1", "1.0", "positive"]


def test_a_single_class_still_loads():
    dataset = load_text_table(b"text,label\nhello,greeting\nhi,greeting\n")
    assert dataset.classes == ["greeting"] and len(dataset.examples) == 2


def test_long_texts_are_cut_with_a_note():
    long = "word " * 4000  # 20,000 characters
    dataset = load_text_table(f"text\tlabel\n{long}\ta\n{long}\tb\nshort\ta\n".encode())
    assert [len(e.text) for e in dataset.examples] == [MAX_TEXT_CHARS, MAX_TEXT_CHARS, 5]
    assert dataset.notes == ["2 texts were longer than 5,000 characters and were cut: row 2 and row 3."]
    assert dataset.summary == ("4 lines read, 3 examples: row 1 is the header; "
                               "row 2 and row 3 were cut to 5,000 characters.")


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"  \n\n", "empty"),
    (b"just one column\nanother line\n", "needs two columns"),
    (b"text,label\n", "header but no rows"),
    (b"text,label\n,\n,x\n", "No row has both a text and a label"),
    (b"PK\x03\x04\x14\x00", "Excel or zip"),
    (b"a,b\x00c\n", "binary data"),
])
def test_unusable_tables(data, message):
    with pytest.raises(DataError, match=message):
        load_text_table(data)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="was not found"):
        load_text_table(tmp_path / "nope.csv")


@pytest.mark.parametrize("data, expected", [
    (b"id,label,review\n1,pos,Great food and friendly staff\n2,neg,Cold soup and a long wait\n", ("review", "label")),
    (b"category;sentence\nspam;Win a free phone now, click here\nham;See you at dinner tonight\n",
     ("sentence", "category")),
    (b"Loved this place, would come again\t1\nThe worst service I have had\t0\n", ("column 1", "column 2")),
])
def test_guess_columns_names_what_load_text_table_reads_by_itself(data, expected):
    assert guess_columns(data) == expected
    text, label = guess_columns(data)
    assert texts(load_text_table(data)) == texts(load_text_table(data, text_column=text, label_column=label))


def test_guess_columns_of_the_real_tables(yelp):
    assert guess_columns(yelp) == ("column 1", "column 2")


@pytest.mark.parametrize("data", [b"just one column\nanother line\n", b"text,label\n"])
def test_guess_columns_refuses_a_table_it_cannot_read_with_a_sentence(data):
    with pytest.raises(DataError, match="needs two columns and at least one row"):
        guess_columns(data)
