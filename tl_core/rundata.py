"""A run's data, opened one way for everyone: training, preparing ahead, explaining and the app's pages.

    data = open_run_data(config)
    data.dataset, data.report, data.train_idx, data.val_idx

Before, each of them read the source, renamed the labels and split on its own, so a change to any of
those steps had to be made in four places to keep the examples explained the ones trained on.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import RunConfig
from .data import DataError, Dataset, Example, Report, load_dataset, make_report, rename_labels


@dataclass(frozen=True)
class RunData:
    """The examples a run trains on, its data report and the split the report was made with."""

    dataset: Dataset
    report: Report

    @property
    def train_idx(self) -> list[int]:
        return self.report.train_idx

    @property
    def val_idx(self) -> list[int]:
        return self.report.val_idx

    @property
    def val_examples(self) -> list[Example]:
        """The validation examples, never trained on: the ones to explain a model with."""
        return [self.dataset.examples[i] for i in self.val_idx]


def open_run_data(config: RunConfig) -> RunData:
    """Read `config.data` as training does: a zip from its copy unpacked once into the workspace, the labels
    renamed as `config.label_names` says (so the model's classes are those names), checked and split.

    Data that cannot train is refused with the report's errors, each saying what to fix.
    """
    source = load_dataset(config.data, text_column=config.text_column, label_column=config.label_column)
    dataset = rename_labels(source, config.label_names)
    report = make_report(dataset, config.val_split, config.seed)
    if not report.ok:
        raise DataError(" ".join(report.errors))
    return RunData(dataset, report)
