"""RunConfig: one dataclass that is a run's record, the CLI's flags and the UI's form at once."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

ALL = -1  # `unfreeze=ALL` fine-tunes every block
AUGMENTATIONS = ("none", "light", "strong")


def what_trains(unfreeze: int, from_scratch: bool = False) -> str:
    """A fine-tuning choice in the words every view uses: the Train slider, run labels, All runs, the model card."""
    if from_scratch:
        return "everything, from scratch"
    if unfreeze == 0:
        return "only the new head"
    if unfreeze < 0:
        return "all blocks"
    return "the last block" if unfreeze == 1 else f"the last {unfreeze} blocks"


@dataclass
class RunConfig:
    data: str                          # folder of class sub-folders, a .zip of one, or a CSV/TSV/TXT table
    model: str = ""                    # catalogue name or a local weights path; "" = the embedded default for the data's kind
    unfreeze: int = 0                  # fine-tune the last N blocks; 0 = only the new head; -1 (ALL) = everything
    from_scratch: bool = False         # random weights, everything trains: the baseline transfer learning is compared with
    epochs: int = 0                    # 0 = a sensible number for the chosen mode
    lr: float = 0.0                    # learning rate of the new head; 0 = a sensible value for the mode
    batch_size: int = 0                # 0 = a sensible size for the mode (32; 16 to fine-tune a text model)
    val_split: float = 0.2             # fraction held out for validation when the data has no val/ folder
    seed: int = 0
    augment: str = "light"             # "none" | "light" | "strong"
    early_stop: int = 0                # stop after this many epochs without a better val accuracy; 0 = never
    time_limit_s: float = 0.0          # stop this long after the run started, scoring the epoch under way; 0 = none
    device: str = "auto"               # "auto" picks CUDA, then Apple MPS, then the CPU
    text_column: str | None = None     # for tables: which column holds the text (name or 0-based index); None = guess
    label_column: str | None = None    # for tables: which column holds the label; None = guess
    label_names: dict[str, str] = field(default_factory=dict)  # label in the data -> class name to train and show,
    #                                    e.g. {"0": "negative"}; labels not named keep their own
    name: str = ""                     # a label a person gives the run
    extra: dict = field(default_factory=dict)  # room for experiment tags (e.g. {"experiment": "..."}); never read by the trainer

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def load(cls, path: Path) -> "RunConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))
