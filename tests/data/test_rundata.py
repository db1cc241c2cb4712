"""open_run_data(): a run's data opened one way for training, preparing ahead, explaining and the pages."""

from __future__ import annotations

import json
import zipfile

import pytest

from tl_core import RunConfig, open_run_data
from tl_core.data import DataError, load_dataset, make_report, split

from datakit import encode, write_tree


def test_the_report_owns_the_split_it_counted(hymenoptera):
    dataset = load_dataset(hymenoptera)
    report = make_report(dataset, 0.3, 5)
    assert (report.train_idx, report.val_idx) == split(dataset, 0.3, 5)
    assert sum(report.val_counts.values()) == len(report.val_idx)
    assert "train_idx" not in json.loads(json.dumps(report.to_dict()))  # the run record stays small


def test_a_folder_is_read_split_and_checked_as_training_reads_it(hymenoptera):
    data = open_run_data(RunConfig(data=str(hymenoptera), val_split=0.3, seed=5))
    assert data.report.ok and data.dataset.classes == ["ants", "bees"]
    assert (data.train_idx, data.val_idx) == split(load_dataset(hymenoptera), 0.3, 5)
    assert data.val_examples == [data.dataset.examples[i] for i in data.val_idx]


def test_labels_are_renamed_before_the_check_so_the_model_learns_the_names(yelp):
    data = open_run_data(RunConfig(data=str(yelp), label_names={"0": "negative", "1": "positive"}))
    assert data.dataset.classes == ["negative", "positive"]
    assert set(data.report.counts) == {"negative", "positive"}


def test_data_that_cannot_train_is_refused_with_what_to_fix(tmp_path):
    write_tree(tmp_path / "one", {"ants/a.png": encode(), "ants/b.png": encode(color=(1, 2, 3))})
    with pytest.raises(DataError, match="Add at least two classes"):
        open_run_data(RunConfig(data=str(tmp_path / "one")))


def test_a_zip_is_read_from_its_copy_in_the_workspace(tmp_path, workspace):
    source = tmp_path / "pics.zip"
    with zipfile.ZipFile(source, "w") as archive:
        for name in ("a/1.png", "a/2.png", "b/3.png", "b/4.png"):
            archive.writestr(name, encode(color=(len(name), ord(name[-5]), 9)))
    data = open_run_data(RunConfig(data=str(source)))
    unzipped = workspace / "cache" / "unzipped"
    assert all(e.path.is_relative_to(unzipped) for e in data.dataset.examples)
    assert open_run_data(RunConfig(data=str(source))).val_examples == data.val_examples
