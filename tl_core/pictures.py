"""A run's pictures for training: decoded once (any that cannot be read left out, and said so), split, and the
views a frozen pass runs over (`tasks.py` builds the image training paths from them)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from . import events
from .data import Dataset, plural, seen_ways
from .inputs import Decoded, Views, decode_images
from .workspace import digest

if TYPE_CHECKING:
    from .tasks import TaskArgs


@dataclass
class Pictures:
    """The run's pictures decoded once; any that could not be read are left out of both sides."""

    decoded: Decoded
    train_idx: list[int]
    val_idx: list[int]
    labels: torch.Tensor     # every example's class index
    views: Views             # what a frozen pass runs over: training views, then validation pictures
    views_key: str           # names those views in the feature cache

    @property
    def train_labels(self) -> torch.Tensor:
        """The labels of the training views (view-major, as Views orders them)."""
        return self.labels[self.train_idx].repeat(self.views.count)

    def pool(self, count: int) -> "Pictures":
        """The same pictures with `count` views of each training picture: the pool an epoch draws one view from."""
        views = Views(self.views.images, self.train_idx, self.val_idx, self.views.preset, self.views.seed, count)
        return dataclasses.replace(self, views=views, views_key=digest(self.views_key, "pool", count))

    def rows_in(self, pool: "Pictures") -> torch.Tensor:
        """Where this run's views sit among a `pool`'s rows: its training views are the pool's first ones
        (`Views` numbers a picture's views the same whatever their count), and validation comes last in both."""
        own = self.views.count * len(self.train_idx)
        return torch.cat([torch.arange(own), torch.arange(pool.views.count * len(self.train_idx), len(pool.views))])

    def seen_as(self) -> str:
        """What a frozen pass over these views sees, in words: "1,200 training pictures as they are and mirrored,
        400 for checking as they are"."""
        return (f"{plural(len(self.train_idx), 'training picture')} {seen_ways(self.views.count)}, "
                f"{len(self.val_idx):,} for checking as they are")

    def val_fields(self, dataset: Dataset) -> dict:
        return {"val_labels": self.labels[self.val_idx], "val_names": self.val_names(dataset)}

    def val_names(self, dataset: Dataset) -> list[str]:
        return [dataset.examples[i].name for i in self.val_idx]

    def counts(self) -> dict:
        return {"train_examples": len(self.train_idx), "views_per_example": self.views.count}

    def split_rows(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A frozen pass's output cut into training views and validation pictures."""
        n = len(self.train_labels)
        return rows[:n], rows[n:]


def read_pictures(args: TaskArgs) -> Pictures:
    examples, config = args.dataset.examples, args.config
    reading = args.reporter("Reading your pictures", "pictures")
    reading(0, len(examples))
    decoded = decode_images(examples, args.backbone.preprocess, on_done=reading)
    if decoded.failed:
        left_out = "; ".join(f"{examples[i].name} ({why})" for i, why in list(decoded.failed.items())[:10])
        args.on_event(events.make(events.NOTE, text=f"{len(decoded.failed)} image(s) could not be read and were left "
                                                    f"out: {left_out}"))
    train_idx = [i for i in args.train_idx if i not in decoded.failed]
    val_idx = [i for i in args.val_idx if i not in decoded.failed]
    views = Views(decoded.images, train_idx, val_idx, config.augment, config.seed)
    views_key = digest(decoded.key, train_idx, val_idx, config.augment, config.seed, "views v2")
    return Pictures(decoded, train_idx, val_idx, args.labels(), views, views_key)
