"""make_report(): what blocks training, what only warns, and duplicates that would mislead."""

from __future__ import annotations

import json

from tl_core.data import (Dataset, Example, images_from_uploads, load_image_folder, load_text_table, make_report,
                          texts_from_lists)

from datakit import encode, stray_quotes, write_tree


def test_a_healthy_dataset(hymenoptera):
    report = make_report(load_image_folder(hymenoptera))
    assert report.ok and report.errors == [] and report.warnings == []
    assert report.counts == {"ants": 194, "bees": 204}
    assert report.train_counts == {"ants": 124, "bees": 121} and report.val_counts == {"ants": 70, "bees": 83}
    assert json.loads(json.dumps(report.to_dict()))["ok"] is True


def test_one_class_only():
    report = make_report(texts_from_lists({"a": ["x", "y", "z", "w", "v"]}))
    assert not report.ok and report.errors == ["Add at least two classes."]


def test_a_class_with_one_example():
    report = make_report(texts_from_lists({"ants": ["a1", "a2", "a3", "a4", "a5"], "bees": ["b1"]}))
    assert report.errors == [
        "Class 'bees' has only 1 example; each class needs at least 2 (5 or more recommended)."]
    assert report.val_counts == {"ants": 1, "bees": 0}


def test_no_validation_possible():
    report = make_report(texts_from_lists({"a": ["x"], "b": ["y"]}))
    assert any(e.startswith("No examples left for validation") for e in report.errors)
    assert report.train_counts == {} and report.val_counts == {}


def test_few_examples_and_imbalance_warn_only():
    report = make_report(texts_from_lists({"ants": [f"a{i}" for i in range(20)], "bees": ["b1", "b2", "b3", "b4"]}))
    assert report.ok
    assert report.warnings == [
        "Class 'bees' has only 4 examples; 5 or more per class give more reliable results.",
        "'ants' has 5× more examples than 'bees'; the model may favour 'ants', so add more 'bees' examples if you can.",
    ]


def test_duplicates_across_train_and_val_and_across_classes(tmp_path):
    same, other = encode("PNG", color=(1, 2, 3)), encode("PNG", color=(9, 9, 9))
    write_tree(tmp_path, {
        "train/ants/a.png": same, "val/ants/a copy.png": same,  # crosses the split
        "train/bees/b.png": other, "train/ants/b again.png": other,  # crosses classes
        "train/bees/c.png": encode("PNG", color=(5, 5, 5)), "val/bees/d.png": encode("PNG", color=(6, 6, 6)),
    })
    report = make_report(load_image_folder(tmp_path))
    assert report.duplicates == [("train/ants/b again.png", "train/bees/b.png"),
                                 ("train/ants/a.png", "val/ants/a copy.png")]
    found = [w for w in report.warnings if w.startswith("Found")]
    assert found[0].startswith("Found 1 identical pair with different labels (e.g. 'train/ants/b again.png'")
    assert found[1].startswith("Found 1 identical pair split across training and validation")
    assert len(found) == 2
    assert json.loads(json.dumps(report.to_dict()))["duplicates"][0] == ["train/ants/b again.png", "train/bees/b.png"]


def test_text_duplicates_ignore_case_and_spacing():
    report = make_report(texts_from_lists({"a": ["Hello  World", "hello world", "x", "y"], "b": ["p", "q", "r"]}))
    assert report.duplicates == [("a #1", "a #2")]


def test_duplicates_in_a_table_with_quotes_name_the_rows_that_are_copies(yelp):
    lines = stray_quotes(yelp.read_text(encoding="utf-8").splitlines())
    report = make_report(load_text_table("\n".join(lines).encode()))
    sentence = {f"row {n}": line.split("\t")[0].casefold() for n, line in enumerate(lines, start=1)}
    assert len(report.duplicates) == 4
    for first, second in report.duplicates:
        assert " ".join(sentence[first].split()) == " ".join(sentence[second].split())
    assert report.summary == "1,000 lines read, 1,000 examples."
    assert report.to_dict()["summary"] == report.summary


def test_uploaded_duplicates_are_found_in_memory():
    jpeg = encode("JPEG")
    report = make_report(images_from_uploads({"a": [("1.jpg", jpeg)], "b": [("2.jpg", jpeg)]}))
    assert report.duplicates == [("1.jpg", "2.jpg")]


def test_given_split_with_a_class_missing_from_train():
    examples = [Example("a", "1", text="1", split="train"), Example("a", "2", text="2", split="val"),
                Example("b", "3", text="3", split="val"), Example("b", "4", text="4", split="val")]
    report = make_report(Dataset("text", examples, ["a", "b"], [], []))
    assert report.errors == ["Class 'b' has no training examples; move some of its pictures into the train folder."]


def test_skipped_and_notes_reach_the_warnings(tmp_path):
    write_tree(tmp_path, {"a/1.jpg": encode("JPEG"), "a/2.jpg": b"", "b/3.png": encode("PNG", color=(0, 0, 0)),
                          "c/readme.txt": b"hi"})
    report = make_report(load_image_folder(tmp_path))
    assert [(s.name, s.reason) for s in report.skipped][0] == ("a/2.jpg", "file is empty")
    assert "2 files were skipped; the list says why for each." in report.warnings
    assert "Folder 'c' has no usable pictures, so it is not a class." in report.warnings
