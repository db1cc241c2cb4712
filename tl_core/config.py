"""RunConfig: one dataclass that is a run's record, the CLI's flags and the UI's form at once."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from .data.examples import DataError

ALL = -1  # `unfreeze=ALL` fine-tunes every block
AUTO = -2  # `unfreeze=AUTO`: the engine chooses how many last blocks to fine-tune from the data (`auto.choose`)
NEVER = -1  # `early_stop=NEVER`: no early stop, whatever the mode (0 is the mode's automatic default)
AUTO_MODEL = "auto"  # `model=AUTO_MODEL`: the engine chooses the model from a ranking on the data (`auto.choose`)
AUGMENTATIONS = ("none", "light", "strong")
# Examples the model ranking scores, per kind (`select.sample_data`): a cold ranking's frozen passes cost in
# proportion (three models' scores, warm graphs: about 12 s on 200 pictures, 9.5 on 150, 6.7 on 100, 2 AVX-512 cores).
# Scored on stratified subsets (3-4 seeds) of the four picture sets and read against docs/quality.json's grid
# (commit 8395c07): on 150 every draw chose a cell within 0.7 points of the grid's best (chest_xray_nih took
# unfreeze 3 on all three, as 200 did on one of three); on 100 one draw in four took a model or blocks the grid did
# not train (Lite1 on plant_tomato, Lite2 on chest_xray_nih). The texts' blocks held on every seed at 300 (on 200,
# yelp once took 3 for 2: 94.0 % both).
RANK_SAMPLE = {"image": 150, "text": 300}


def what_trains(unfreeze: int | None, from_scratch: bool = False, blocks: int | None = None,
                short: bool = False) -> str:
    """A fine-tuning choice in the one wording every view uses: the Train slider and its headline, run labels,
    All runs, the comparison's arms, the model card.

    `blocks` is the model's block count, so that N at or above it reads "all blocks" as ALL does; `short`
    gives the form a title uses ("head only", "last 2 blocks"); `unfreeze=None` is an unknown number of blocks.
    """
    if from_scratch:
        said, title = "everything, from scratch", "from scratch"
    elif unfreeze == 0:
        said, title = "only the new head", "head only"
    elif unfreeze is None:
        said, title = "the last blocks", "last blocks"
    elif unfreeze == AUTO:
        said, title = "the blocks chosen from your data", "automatic"
    elif unfreeze < 0 or (blocks is not None and unfreeze >= blocks):
        said, title = "all blocks", "all blocks"
    else:
        title = "last block" if unfreeze == 1 else f"last {unfreeze} blocks"
        said = f"the {title}"
    return title if short else said


UNFREEZE_WORDS = {ALL: "all", AUTO: "auto"}  # how `--unfreeze` spells the choices that are not a number


def unfreeze_flag(unfreeze: int) -> str:
    """`--unfreeze` as a person types it: "all", "auto" or the number (cli_flags reads it back)."""
    return UNFREEZE_WORDS.get(unfreeze, str(unfreeze))


MIN_STEPS_PER_EPOCH = 4  # tiny datasets get smaller batches rather than one step per epoch


def _about(text: str, **cli) -> dict:
    """A field's help text and how `transferlab train` spells it (flag, choices, metavar, group; cli=False hides it).
    Kept beside each field so the CLI, the Train page and this record never need their own copies."""
    return {"help": text, **cli}


@dataclass
class RunConfig:
    data: str = field(metadata=_about("a folder of class folders, a .zip of one, or a CSV/TSV/TXT table"))
    model: str = field(default="", metadata=_about(
        "catalogue name, local weights path, or 'auto' (the best-ranked available model for your data, the "
        "smaller one on a CPU when they score close); default: the embedded model for the data's kind"))
    unfreeze: int = field(default=0, metadata=_about(
        "fine-tune the last N blocks; 0 = only the new head (default); 'all' (or -1) = everything; "
        "'auto' (or -2) = as many as your data's per-block scores and examples per class suggest",
        group="what trains"))
    from_scratch: bool = field(default=False, metadata=_about(
        "random weights, everything trains: the no-transfer baseline", group="what trains"))
    epochs: int = field(default=0, metadata=_about("0 = a sensible number for the chosen mode"))
    lr: float = field(default=0.0, metadata=_about("learning rate of the new head; 0 = a sensible value for the mode"))
    batch_size: int = field(default=0, metadata=_about(
        f"0 = a sensible size for the mode: 32 (16 to fine-tune a text model), smaller on small data so that an "
        f"epoch takes at least {MIN_STEPS_PER_EPOCH} steps"))
    val_split: float = field(default=0.2, metadata=_about(
        "fraction held out for validation when the data has no val/ folder"))
    seed: int = field(default=0, metadata=_about("seed of the split, the new head and the batch order"))
    augment: str = field(default="light", metadata=_about(
        "random changes to training pictures, so the model sees more variety", choices=AUGMENTATIONS))
    early_stop: int = field(default=0, metadata=_about(
        "stop after N epochs without a better val accuracy (the best epoch is kept); 0 = automatic (a few "
        "when pretrained blocks train, never for the head alone); -1 = never"))
    time_limit_s: float = field(default=0.0, metadata=_about(
        "stop this many seconds after the run started, scoring the epoch under way; 0 = none", flag="time-limit"))
    device: str = field(default="auto", metadata=_about(
        "auto (CUDA, then Apple MPS, then the CPU), cpu, cuda, cuda:1, mps"))
    text_column: str | None = field(default=None, metadata=_about(
        "for tables: the column holding the text (name or 0-based index); default: guessed"))
    label_column: str | None = field(default=None, metadata=_about(
        "for tables: the column holding the label; default: guessed"))
    label_names: dict[str, str] = field(default_factory=dict, metadata=_about(
        "train and show the class LABEL as NAME, e.g. 0=negative (repeatable); labels not named keep their own", flag="label-name", metavar="LABEL=NAME"))
    name: str = field(default="", metadata=_about("a label a person gives the run"))
    resume_from: str = field(default="", metadata=_about(
        "keep training run RUN: start from its best model with its data, split and settings, for --epochs more "
        "epochs (default: as many as it had); other flags and DATA are not needed", flag="resume", metavar="RUN"))
    extra: dict = field(default_factory=dict, metadata=_about(
        "room for experiment tags (e.g. {'experiment': ...}); never read by the trainer", cli=False))

    def __post_init__(self) -> None:
        # From scratch everything trains, whatever `unfreeze` says: one spelling (ALL) for one run, so the Train
        # page, the CLI and the comparison write the same config.json and `freeze.Plan` resolves the same count.
        if self.from_scratch:
            self.unfreeze = ALL

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def load(cls, path: Path) -> "RunConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


def field_help(name: str) -> str:
    """The help text of RunConfig's field `name`: what the CLI prints and a form may show under its widget."""
    return _fields()[name].metadata["help"]


def field_choices(name: str) -> tuple[str, ...] | None:
    """The allowed values of RunConfig's field `name`, or None where any value of its type goes."""
    return _fields()[name].metadata.get("choices")


def _fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(RunConfig)}


def check_settings(config: RunConfig) -> None:
    """Settings a person can get wrong in a form, refused with what to change."""
    if config.epochs < 0 or config.epochs > 1000:
        raise DataError(f"Epochs must be between 1 and 1000 (or 0 for automatic), not {config.epochs}.")
    if config.lr < 0 or config.lr > 1:
        raise DataError(f"A learning rate of {config.lr} is out of range: use a value above 0 and at most 1 "
                        "(typical: 0.0001 to 0.01), or 0 for automatic.")
    if config.early_stop < NEVER:
        raise DataError(f"Early stop must be a number of epochs, 0 for automatic or -1 for never, not {config.early_stop}.")
    if config.batch_size < 0:
        raise DataError("Batch size must be at least 1 (or 0 for automatic).")
    if config.time_limit_s < 0:
        raise DataError(f"A time limit of {config.time_limit_s} seconds is impossible: use 0 for none, or more.")
    if not 0 < config.val_split <= 0.9:
        raise DataError("The validation share must be between 0.05 and 0.9 (e.g. 0.2 for 20 %).")
